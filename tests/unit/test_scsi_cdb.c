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
	assert_true(scsi_opcode_has_sa(OP_SERVICE_ACTION_IN_16));
	assert_false(scsi_opcode_has_sa(OP_READ_10));
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
	assert_int_equal(st[0], SCMD_COUNT);
}

static void count_profile_cmd(uint8_t opcode, uint16_t sa, const char *name, void *arg)
{
	(*(unsigned *)arg)++;
	assert_non_null(name);
}

static void test_profile(void **state)
{
	const struct scsi_profile *p = scsi_profile_find(NULL);
	unsigned n = 0;

	assert_non_null(p);
	assert_ptr_equal(scsi_profile_find(""), p);
	assert_ptr_equal(scsi_profile_find("invar-2026.1"), p);
	assert_null(scsi_profile_find("invar-1999.1"));
	scsi_profile_cmd_foreach(p, count_profile_cmd, &n);
	assert_int_equal(n, (unsigned)__builtin_popcountll(p->cmds));
	assert_true(scsi_profile_mode_state_len(p) <= 64);
	assert_non_null(scsi_profile_mode_page(p, 0x08, 0));
	assert_null(scsi_profile_mode_page(p, 0x08, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
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
