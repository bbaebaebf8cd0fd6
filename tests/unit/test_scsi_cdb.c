/* CDB field decode (SBC-3 5.x) and usage-mask checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/profile.h"

static void test_rw6(void **state)
{
	uint8_t cdb[6] = { OP_READ_6, 0xff, 0x12, 0x34, 0x00, 0x00 };
	struct cdb_rw rw;

	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.lba, 0x1f1234);	/* 21 bits: the top 3 of byte 1 are not LBA */
	assert_int_equal(rw.nblocks, 256);	/* 0 means 256 */
	cdb[0] = OP_WRITE_6;
	cdb[4] = 7;
	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.nblocks, 7);
	assert_false(rw.fua);
}

static void test_rw10(void **state)
{
	uint8_t cdb[10] = { OP_READ_10, 0x18, 0xde, 0xad, 0xbe, 0xef, 0, 0x01, 0x02, 0 };
	struct cdb_rw rw;

	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.lba, 0xdeadbeef);
	assert_int_equal(rw.nblocks, 0x102);
	assert_true(rw.dpo);
	assert_true(rw.fua);
	assert_int_equal(rw.protect, 0);
	assert_int_equal(rw.len_off, 7);
	cdb[0] = OP_WRITE_10;
	cdb[1] = 0x60;
	cdb[7] = cdb[8] = 0;
	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.protect, 3);
	assert_int_equal(rw.nblocks, 0);	/* no 256 rule beyond 6-byte CDBs */
	assert_false(rw.fua);
}

static void test_rw12(void **state)
{
	uint8_t cdb[12] = { OP_WRITE_12, 0x08, 0, 0, 0x10, 0, 0x00, 0x01, 0x00, 0x00, 0, 0 };
	struct cdb_rw rw;

	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.lba, 0x1000);
	assert_int_equal(rw.nblocks, 0x10000);
	assert_true(rw.fua);
	cdb[0] = OP_READ_12;
	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.len_off, 6);
}

static void test_rw16(void **state)
{
	uint8_t cdb[16] = { OP_READ_16, 0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
			    0, 0, 0x08, 0x00, 0, 0 };
	struct cdb_rw rw;

	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.lba, 0x0123456789abcdefull);
	assert_int_equal(rw.nblocks, 0x800);
	assert_int_equal(rw.len_off, 10);
	cdb[0] = OP_WRITE_16;
	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.nblocks, 0x800);
}

static void test_verify_bytchk(void **state)
{
	uint8_t cdb[10] = { OP_VERIFY_10, 0x02, 0, 0, 0, 1, 0, 0, 4, 0 };
	struct cdb_rw rw;

	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.bytchk, 1);
	assert_false(rw.fua);
	cdb[1] = 0x06;
	assert_true(cdb_decode_rw(cdb, &rw));
	assert_int_equal(rw.bytchk, 3);
}

static void test_not_block(void **state)
{
	uint8_t cdb[6] = { OP_INQUIRY };
	struct cdb_rw rw;

	assert_false(cdb_decode_rw(cdb, &rw));
}

static void test_alloc_len(void **state)
{
	uint8_t inq[6] = { OP_INQUIRY, 0, 0, 0x01, 0x04, 0 };
	uint8_t rl[12] = { OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0 };
	uint8_t ms10[10] = { OP_MODE_SENSE_10, 0, 0x3f, 0, 0, 0, 0, 0x02, 0x00, 0 };
	uint8_t rc16[16] = { OP_SERVICE_ACTION_IN_16, 0x10, [13] = 32 };

	assert_int_equal(cdb_alloc_len(inq), 0x104);
	assert_int_equal(cdb_alloc_len(rl), 0x1000);
	assert_int_equal(cdb_alloc_len(ms10), 0x200);
	assert_int_equal(cdb_alloc_len(rc16), 32);
}

static void test_usage_check(void **state)
{
	const struct scsi_cmd *c;
	uint8_t cdb[16] = { OP_READ_10, 0x1a, 0, 0, 0, 1, 0x1f, 0, 1, 0 };
	struct sense_extra x = { 0 };

	c = scsi_cmd_lookup(cdb);
	assert_non_null(c);
	assert_string_equal(c->name, "READ(10)");
	assert_true(cdb_check_usage(cdb, c->usage, c->cdb_len, &x));
	assert_false(x.sks_valid);

	/* Reserved bit 5 of the group byte. */
	cdb[6] = 0x20;
	assert_false(cdb_check_usage(cdb, c->usage, c->cdb_len, &x));
	assert_true(x.sks_valid);
	assert_int_equal(x.sks[0], 0x80 | 0x40 | 0x08 | 5);
	assert_int_equal(x.sks[1], 0);
	assert_int_equal(x.sks[2], 6);

	/* NACA in the control byte. */
	cdb[6] = 0;
	cdb[9] = 0x04;
	memset(&x, 0, sizeof(x));
	assert_false(cdb_check_usage(cdb, c->usage, c->cdb_len, &x));
	assert_int_equal(x.sks[2], 9);
	assert_int_equal(x.sks[0] & 0x07, 2);
}

static void test_lookup_sa(void **state)
{
	uint8_t rc16[16] = { OP_SERVICE_ACTION_IN_16, SA_READ_CAPACITY_16 };
	uint8_t bad[16] = { OP_SERVICE_ACTION_IN_16, 0x11 };
	uint8_t unknown[16] = { 0xc0 };

	assert_string_equal(scsi_cmd_lookup(rc16)->name, "READ CAPACITY(16)");
	assert_null(scsi_cmd_lookup(bad));
	assert_null(scsi_cmd_lookup(unknown));
	assert_true(scsi_opcode_has_sa(NULL, OP_SERVICE_ACTION_IN_16));
	assert_false(scsi_opcode_has_sa(NULL, OP_READ_10));
}

static void count_cmd(const struct scsi_cmd *c, void *arg)
{
	unsigned *st = arg;
	unsigned key = (unsigned)c->opcode << 16 | (c->sa == SCMD_NO_SA ? 0 : c->sa);

	assert_true(st[0] == 0 || key > st[1]);	/* ascending */
	assert_int_equal(c->usage[0], c->opcode);
	assert_int_equal(cdb_group_len(c->opcode), c->cdb_len);
	st[0]++;
	st[1] = key;
}

static void test_table_foreach(void **state)
{
	unsigned st[2] = { 0, 0 };

	scsi_cmd_foreach(count_cmd, st);
	assert_true(st[0] >= SCMD_GET_LBA_STATUS + 1 && st[0] <= SCMD_COUNT);
	/* Every row's id is unique and maps back to the row. */
	for (unsigned id = 0; id < SCMD_COUNT; id++) {
		const struct scsi_cmd *c = scsi_cmd_get((enum scsi_cmd_id)id);

		if (c)
			assert_int_equal(c->id, id);
	}
}

static void count_profile_cmd(uint8_t opcode, uint16_t sa, const char *name, void *arg)
{
	(*(unsigned *)arg)++;
	assert_non_null(name);
}

static void test_profile(void **state)
{
	const struct scsi_profile *p = scsi_profile_find("invar-2026.2");
	const struct scsi_profile *def = scsi_profile_find(NULL);
	unsigned n = 0;

	const struct scsi_profile *old = scsi_profile_find("invar-2026.1");

	/* invar-2026.3 is released and the newest: the default. */
	assert_non_null(def);
	assert_ptr_equal(scsi_profile_find(""), def);
	assert_ptr_equal(scsi_profile_find("invar-2026.3"), def);
	assert_false(def->draft);
	assert_non_null(p);
	assert_false(p->draft);
	/* 2026.3 is 2026.2 plus commands: nothing removed, the same mode pages. */
	for (unsigned w = 0; w < SCMD_WORDS; w++)
		assert_int_equal(p->cmds.w[w] & ~def->cmds.w[w], 0);
	assert_ptr_equal(p->mode_pages, def->mode_pages);
	assert_non_null(old);
	assert_ptr_not_equal(old, p);
	/* 2026.2 is 2026.1 plus commands: nothing removed, shared pages. */
	for (unsigned w = 0; w < SCMD_WORDS; w++)
		assert_int_equal(old->cmds.w[w] & ~p->cmds.w[w], 0);
	assert_ptr_equal(old->vpd_pages, p->vpd_pages);
	assert_ptr_equal(old->mode_pages, p->mode_pages);
	assert_false(old->lbp);
	assert_null(scsi_profile_find("invar-1999.1"));
	scsi_profile_cmd_foreach(p, count_profile_cmd, &n);
	assert_int_equal(n, (unsigned)(__builtin_popcountll(p->cmds.w[0]) +
					 __builtin_popcountll(p->cmds.w[1])));
	assert_true(scsi_profile_mode_state_len(p) <= 64);
	assert_non_null(scsi_profile_mode_page(p, 0x08, 0));
	assert_null(scsi_profile_mode_page(p, 0x08, 1));
}

/* A released profile names only commands that have a dispatch row (a draft may be ahead of its
 * code while it is being built). */
static void check_profile_rows(const struct scsi_profile *p, void *arg)
{
	unsigned *n = arg;

	(*n)++;
	if (p->draft)
		return;
	for (unsigned id = 0; id < SCMD_COUNT; id++)
		if (scsi_profile_has_cmd(p, (enum scsi_cmd_id)id))
			assert_non_null(scsi_cmd_get((enum scsi_cmd_id)id));
}

static void test_profile_rows(void **state)
{
	unsigned n = 0;

	(void)state;
	scsi_profile_foreach(check_profile_rows, &n);
	assert_true(n >= 2);
	/* The default is never a draft. */
	assert_false(scsi_profile_find(NULL)->draft);
}

static void test_unmap_parse(void **state)
{
	uint8_t p[64] = { 0 };
	struct sense_extra x = { 0 };
	uint32_t n = 99;
	uint64_t lba;
	uint32_t nb;

	/* Empty list: nothing to do. */
	assert_int_equal(cdb_unmap_parse(p, 0, &n, &x), SR_OK);
	assert_int_equal(n, 0);
	/* Shorter than the header. */
	for (uint32_t len = 1; len < UNMAP_HDR_LEN; len++)
		assert_int_equal(cdb_unmap_parse(p, len, &n, &x), SR_PARAM_LIST_LENGTH_ERROR);
	/* Header only, no descriptors. */
	assert_int_equal(cdb_unmap_parse(p, 8, &n, &x), SR_OK);
	assert_int_equal(n, 0);
	/* Two descriptors. */
	p[1] = 6 + 32;
	p[3] = 32;
	p[8 + 7] = 5;	/* LBA 5 */
	p[8 + 11] = 3;	/* 3 blocks */
	p[24 + 6] = 1;	/* LBA 256 */
	p[24 + 10] = 1;	/* 256 blocks */
	assert_int_equal(cdb_unmap_parse(p, 40, &n, &x), SR_OK);
	assert_int_equal(n, 2);
	cdb_unmap_desc(p, 0, &lba, &nb);
	assert_int_equal(lba, 5);
	assert_int_equal(nb, 3);
	cdb_unmap_desc(p, 1, &lba, &nb);
	assert_int_equal(lba, 256);
	assert_int_equal(nb, 256);
	/* A partial last descriptor is ignored (SBC-3 5.28.2). */
	p[3] = 32 + 8;
	p[1] = 6 + 40;
	assert_int_equal(cdb_unmap_parse(p, 48, &n, &x), SR_OK);
	assert_int_equal(n, 2);
	/* Lengths claiming more than was sent. */
	p[3] = 32;
	p[1] = 6 + 32;
	assert_int_equal(cdb_unmap_parse(p, 39, &n, &x), SR_PARAM_LIST_LENGTH_ERROR);
	assert_true(x.sks_valid);
	p[1] = 0xff;
	assert_int_equal(cdb_unmap_parse(p, 40, &n, &x), SR_PARAM_LIST_LENGTH_ERROR);
	p[1] = 6 + 32;
	p[2] = 1;	/* 288 bytes of descriptors */
	assert_int_equal(cdb_unmap_parse(p, 40, &n, &x), SR_PARAM_LIST_LENGTH_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_rows),
		cmocka_unit_test(test_unmap_parse),
		cmocka_unit_test(test_rw6),
		cmocka_unit_test(test_rw10),
		cmocka_unit_test(test_rw12),
		cmocka_unit_test(test_rw16),
		cmocka_unit_test(test_verify_bytchk),
		cmocka_unit_test(test_not_block),
		cmocka_unit_test(test_alloc_len),
		cmocka_unit_test(test_usage_check),
		cmocka_unit_test(test_lookup_sa),
		cmocka_unit_test(test_table_foreach),
		cmocka_unit_test(test_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
