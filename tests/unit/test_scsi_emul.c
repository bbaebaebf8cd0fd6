/* The SCSI emulation driven directly through scsi_task_setup/execute on a RAM LU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backstore/fault.h"
#include "scsi/cdb.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "target/target.h"
#include "util/byteorder.h"

#define BLOCKS 2048u
#define BS 512u

static struct lu *lu;
static struct lun_view view;
static struct it_nexus nx1 = { .id = 1, .initiator = "iqn.2026-01.test:init", .target =
				       "iqn.2026-01.test:tgt", .tpgt = 1, .rel_port_id = 1 };
static struct it_nexus nx2 = { .id = 2, .initiator = "iqn.2026-01.test:init2", .target =
				       "iqn.2026-01.test:tgt", .tpgt = 1, .rel_port_id = 1 };
static int done_calls;

static void task_done(struct scsi_task *t)
{
	done_calls++;
}

/* Runs one command to completion; returns the status. The task is left for inspection and
 * released by the next call. */
static struct scsi_task task;

static int run_on(struct lu *l, const struct it_nexus *nx, const uint8_t *cdb, unsigned cdb_len,
		  const void *out, uint32_t out_len, uint32_t edtl)
{
	scsi_task_release(&task);
	memset(&task, 0, sizeof(task));
	if (l)
		lu_get(l);
	task.lu = l;
	task.nexus = nx;
	task.view = &view;
	memcpy(task.cdb, cdb, cdb_len);
	task.cdb_len = 16;
	task.exp_xfer_len = edtl;
	task.done = task_done;
	done_calls = 0;
	if (scsi_task_setup(&task) < 0) {
		assert_int_equal(done_calls, 0);
		return task.status;
	}
	if (task.data_out_len) {
		uint32_t n = task.data_out_len < edtl ? task.data_out_len : edtl;

		assert_int_equal(scsi_task_alloc_buf(&task, n), 0);
		memcpy(task.buf, out, n < out_len ? n : out_len);
	}
	scsi_task_execute(&task);
	assert_int_equal(done_calls, 1);
	return task.status;
}

static int run(const uint8_t *cdb, unsigned cdb_len, const void *out, uint32_t out_len)
{
	return run_on(lu, &nx1, cdb, cdb_len, out, out_len, out_len ? out_len : 65536);
}

#define RUN(...) run((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), \
		     NULL, 0)

static void assert_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(task.status, SCSI_STATUS_CHECK_CONDITION);
	if (task.sense[0] == 0x72) {
		assert_int_equal(task.sense[1] & 0xf, key);
		assert_int_equal(task.sense[2], asc);
		assert_int_equal(task.sense[3], ascq);
	} else {
		assert_int_equal(task.sense[0] & 0x7f, 0x70);
		assert_int_equal(task.sense[2] & 0xf, key);
		assert_int_equal(task.sense[12], asc);
		assert_int_equal(task.sense[13], ascq);
	}
}

/* The LU these tests drive is pinned to invar-2026.2, whose answers they check (it was the
 * default when they were written; invar-2026.3's are in test_scsi_sbc3.c, test_scsi_pr.c...). */
static int setup(void **state)
{
	struct lu_config cfg = { .backstore = "ram", .size = BLOCKS * BS, .profile = "invar-2026.2" };
	char err[256] = "";

	assert_int_equal(lu_create(&cfg, "iqn.2026-01.test:tgt/0", &lu, err, sizeof(err)), 0);
	memset(&view, 0, sizeof(view));
	view.lus[0] = lu;
	view.lus[3] = lu;
	view.count = 2;
	/* Clear the POWER ON unit attentions of both nexuses. */
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_UNIT_ATTENTION, 0x29, 0x00);
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	run_on(lu, &nx2, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	scsi_task_release(&task);
	lu_put(lu);
	lu = NULL;
	return 0;
}

static void test_identity_stable(void **state)
{
	struct lu_config cfg = { .backstore = "ram", .size = 1 << 20 };
	struct lu *a, *b;
	char err[256];

	assert_int_equal(lu_create(&cfg, "seed-x", &a, err, sizeof(err)), 0);
	assert_int_equal(lu_create(&cfg, "seed-x", &b, err, sizeof(err)), 0);
	assert_string_equal(a->cfg.serial, b->cfg.serial);
	assert_memory_equal(a->cfg.naa, b->cfg.naa, 8);
	assert_int_equal(a->cfg.naa_len, 8);
	assert_int_equal(a->cfg.naa[0] >> 4, 3);	/* NAA 3h: locally assigned */
	assert_int_equal(a->num_blocks, (1 << 20) / 512);
	lu_put(a);
	lu_put(b);
	strcpy(cfg.profile, "no-such-profile");
	assert_int_equal(lu_create(&cfg, "seed-x", &a, err, sizeof(err)), -EINVAL);
}

static void test_inquiry_standard(void **state)
{
	assert_int_equal(RUN(OP_INQUIRY, 0, 0, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 96);
	assert_int_equal(task.buf[0], 0x00);
	assert_int_equal(task.buf[2], 0x06);
	assert_int_equal(task.buf[3], 0x12);
	assert_int_equal(task.buf[4], 91);
	assert_int_equal(task.buf[7] & 0x02, 0x02);
	assert_memory_equal(task.buf + 8, "INVAR   ", 8);
	assert_memory_equal(task.buf + 16, "invar disk      ", 16);
	assert_int_equal(get_be16(task.buf + 58), 0x00a0);
	assert_int_equal(get_be16(task.buf + 62), 0x0460);
	assert_int_equal(get_be16(task.buf + 64), 0x04c0);

	/* Allocation length respected. */
	assert_int_equal(RUN(OP_INQUIRY, 0, 0, 0, 36, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 36);

	/* EVPD=0 with a page code. */
	assert_int_equal(RUN(OP_INQUIRY, 0, 0x80, 0, 255, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(task.sense[15], 0xc0 | 0x08 | 7);
	assert_int_equal(task.sense[17], 2);
}

static void test_inquiry_vpd(void **state)
{
	const uint8_t *p, *end;
	bool naa = false, relport = false, name = false;

	assert_int_equal(RUN(OP_INQUIRY, 1, 0x00, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[1], 0x00);
	assert_int_equal(get_be16(task.buf + 2), 6);
	assert_memory_equal(task.buf + 4, ((uint8_t[]){ 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 }), 6);

	assert_int_equal(RUN(OP_INQUIRY, 1, 0x80, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(get_be16(task.buf + 2), strlen(lu->cfg.serial));
	assert_memory_equal(task.buf + 4, lu->cfg.serial, strlen(lu->cfg.serial));

	assert_int_equal(RUN(OP_INQUIRY, 1, 0x83, 1, 0, 0), SCSI_STATUS_GOOD);
	p = task.buf + 4;
	end = task.buf + 4 + get_be16(task.buf + 2);
	assert_true(end <= task.buf + task.data_in_len);
	while (p < end) {
		if ((p[1] & 0x0f) == 3) {
			naa = true;
			assert_int_equal(p[3], 8);
			assert_memory_equal(p + 4, lu->cfg.naa, 8);
		}
		if ((p[1] & 0x3f) == 0x14) {
			relport = true;
			assert_int_equal(get_be16(p + 6), 1);
		}
		if ((p[1] & 0x3f) == 0x18) {
			name = true;
			assert_string_equal((const char *)p + 4, "iqn.2026-01.test:tgt,t,0x0001");
			assert_int_equal(p[3] % 4, 0);
		}
		p += 4 + p[3];
	}
	assert_true(naa && relport && name);

	assert_int_equal(RUN(OP_INQUIRY, 1, 0xb0, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(get_be16(task.buf + 2), 0x3c);
	assert_int_equal(get_be32(task.buf + 8), (32u << 20) / BS);
	assert_int_equal(RUN(OP_INQUIRY, 1, 0xb1, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(get_be16(task.buf + 4), 1);
	assert_int_equal(RUN(OP_INQUIRY, 1, 0xb2, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_INQUIRY, 1, 0x86, 0, 255, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_read_capacity(void **state)
{
	assert_int_equal(RUN(OP_READ_CAPACITY_10, 0, 0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 8);
	assert_int_equal(get_be32(task.buf), BLOCKS - 1);
	assert_int_equal(get_be32(task.buf + 4), BS);
	assert_int_equal(RUN(OP_READ_CAPACITY_10, 0, 0, 0, 0, 1, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);

	assert_int_equal(RUN(OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32,
			     0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 32);
	assert_int_equal(get_be64(task.buf), BLOCKS - 1);
	assert_int_equal(get_be32(task.buf + 8), BS);
	assert_int_equal(task.buf[14] & 0xc0, 0xc0);	/* LBPME, LBPRZ (invar-2026.2, ram) */

	/* Allocation length 8. */
	assert_int_equal(RUN(OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8,
			     0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 8);
	/* Unknown service action of SERVICE ACTION IN(16). */
	assert_int_equal(RUN(OP_SERVICE_ACTION_IN_16, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32,
			     0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static const uint8_t *find_page(const uint8_t *b, unsigned len, unsigned start, uint8_t page)
{
	for (unsigned off = start; off + 2 <= len; off += 2 + b[off + 1])
		if ((b[off] & 0x3f) == page)
			return b + off;
	return NULL;
}

static void test_mode_sense(void **state)
{
	const uint8_t *pg;

	assert_int_equal(RUN(OP_MODE_SENSE_6, 0, 0x3f, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[0], task.data_in_len - 1);
	assert_int_equal(task.buf[2] & 0x80, 0);	/* not write protected */
	assert_int_equal(task.buf[3], 8);
	assert_int_equal(get_be32(task.buf + 4), BLOCKS);
	assert_int_equal(get_be24(task.buf + 9), BS);
	pg = find_page(task.buf, task.data_in_len, 12, 0x08);
	assert_non_null(pg);
	assert_int_equal(pg[1], 0x12);
	assert_int_equal(pg[2] & 0x04, 0x04);	/* WCE */
	pg = find_page(task.buf, task.data_in_len, 12, 0x0a);
	assert_non_null(pg);
	assert_int_equal(pg[2] & 0x04, 0);	/* D_SENSE */

	/* DBD, changeable values of the caching page. */
	assert_int_equal(RUN(OP_MODE_SENSE_6, 0x08, 0x48, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[3], 0);
	assert_int_equal(task.buf[4], 0x08);
	assert_int_equal(task.buf[6], 0x04);

	/* MODE SENSE(10) with a long LBA block descriptor. */
	assert_int_equal(RUN(OP_MODE_SENSE_10, 0x10, 0x0a, 0, 0, 0, 0, 1, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(get_be16(task.buf), task.data_in_len - 2);
	assert_int_equal(task.buf[4] & 1, 1);
	assert_int_equal(get_be16(task.buf + 6), 16);
	assert_int_equal(get_be64(task.buf + 8), BLOCKS);
	assert_int_equal(task.buf[24], 0x0a);

	/* Saved values. */
	assert_int_equal(RUN(OP_MODE_SENSE_6, 0, 0xc8, 0, 255, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x39, 0x00);
	/* Unknown page. */
	assert_int_equal(RUN(OP_MODE_SENSE_6, 0, 0x05, 0, 255, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Truncation to the allocation length. */
	assert_int_equal(RUN(OP_MODE_SENSE_6, 0, 0x3f, 0, 4, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 4);
}

static void test_mode_select(void **state)
{
	uint8_t caching[4 + 20] = { 0, 0, 0, 0, 0x08, 0x12, 0x00 };
	uint8_t control[4 + 12] = { 0, 0, 0, 0, 0x0a, 0x0a, 0x04, 0x10, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t bad[4 + 12];
	uint8_t cdb[6] = { OP_MODE_SELECT_6, 0x10, 0, 0, sizeof(caching), 0 };

	assert_true(atomic_load(&lu->mode.wce));
	assert_int_equal(run(cdb, 6, caching, sizeof(caching)), SCSI_STATUS_GOOD);
	assert_false(atomic_load(&lu->mode.wce));

	/* The other nexus hears about it, this one does not. */
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	run_on(lu, &nx2, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
	assert_sense(SK_UNIT_ATTENTION, 0x2a, 0x01);

	/* A non-changeable bit. */
	memcpy(bad, control, sizeof(bad));
	bad[4 + 3] = 0x00;
	cdb[4] = sizeof(bad);
	assert_int_equal(run(cdb, 6, bad, sizeof(bad)), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x26, 0x00);
	assert_int_equal(task.sense[15], 0x80 | 0x08 | 4);	/* C/D = 0: parameter list */
	assert_int_equal(task.sense[17], 7);

	/* D_SENSE on: errors now come back in descriptor format. */
	cdb[4] = sizeof(control);
	assert_int_equal(run(cdb, 6, control, sizeof(control)), SCSI_STATUS_GOOD);
	assert_true(atomic_load(&lu->mode.dsense));
	assert_int_equal(RUN(0xc0, 0, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(task.sense[0], 0x72);
	assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);

	/* SP=1 and PF=0. */
	cdb[1] = 0x11;
	assert_int_equal(run(cdb, 6, control, sizeof(control)), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x39, 0x00);
	cdb[1] = 0x00;
	assert_int_equal(run(cdb, 6, control, sizeof(control)), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);

	/* SWP: software write protect. */
	control[8] = 0x08;
	cdb[1] = 0x10;
	assert_int_equal(run(cdb, 6, control, sizeof(control)), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_MODE_SENSE_6, 0, 0x0a, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[2] & 0x80, 0x80);
	assert_int_equal(run((uint8_t[10]){ OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, 10,
			     (uint8_t[BS]){ 0 }, BS),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_DATA_PROTECT, 0x27, 0x00);
	control[8] = 0;

	/* Back to the defaults for the other tests. */
	control[6] = 0;
	caching[6] = 0x04;
	cdb[1] = 0x10;
	assert_int_equal(run(cdb, 6, control, sizeof(control)), SCSI_STATUS_GOOD);
	cdb[4] = sizeof(caching);
	assert_int_equal(run(cdb, 6, caching, sizeof(caching)), SCSI_STATUS_GOOD);
	assert_false(atomic_load(&lu->mode.dsense));
	run_on(lu, &nx2, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
}

static void test_report_luns(void **state)
{
	assert_int_equal(RUN(OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 24);
	assert_int_equal(get_be32(task.buf), 16);
	assert_memory_equal(task.buf + 8, ((uint8_t[8]){ 0, 0 }), 8);
	assert_memory_equal(task.buf + 16, ((uint8_t[8]){ 0, 3 }), 8);
	/* Well-known LUs only: none. */
	assert_int_equal(RUN(OP_REPORT_LUNS, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(get_be32(task.buf), 0);
	/* Allocation length < 16. */
	assert_int_equal(RUN(OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(RUN(OP_REPORT_LUNS, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
}

static void test_write_read(void **state)
{
	uint8_t data[4 * BS];
	uint8_t w10[10] = { OP_WRITE_10, 0x08, 0, 0, 0x01, 0x00, 0, 0, 4, 0 };

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(run(w10, 10, data, sizeof(data)), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_out_len, sizeof(data));
	assert_int_equal(RUN(OP_READ_16, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 4, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, sizeof(data));
	assert_memory_equal(task.buf, data, sizeof(data));
	assert_int_equal(RUN(OP_READ_12, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 1, 0, 0), SCSI_STATUS_GOOD);
	assert_memory_equal(task.buf, data + BS, BS);
	/* READ(6) with length 0 reads 256 blocks. */
	assert_int_equal(RUN(OP_READ_6, 0, 0x01, 0x00, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 256 * BS);
	assert_memory_equal(task.buf, data, sizeof(data));
	/* Zero blocks: no data, GOOD. */
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 0);

	/* EDTL smaller than the transfer: only the whole blocks received are written. */
	memset(data, 0xaa, sizeof(data));
	w10[8] = 2;
	assert_int_equal(run_on(lu, &nx1, w10, 10, data, sizeof(data), BS), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0x01, 0x00, 0, 0, 2, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[0], 0xaa);
	assert_int_equal(task.buf[BS], (uint8_t)(BS * 7 + 3));
}

static void test_verify(void **state)
{
	uint8_t data[2 * BS];
	uint8_t v10[10] = { OP_VERIFY_10, 0x02, 0, 0, 0x02, 0x00, 0, 0, 2, 0 };
	uint8_t w10[10] = { OP_WRITE_10, 0, 0, 0, 0x02, 0x00, 0, 0, 2, 0 };

	memset(data, 0x5a, sizeof(data));
	assert_int_equal(run(w10, 10, data, sizeof(data)), SCSI_STATUS_GOOD);
	assert_int_equal(run(v10, 10, data, sizeof(data)), SCSI_STATUS_GOOD);
	data[700] ^= 0xff;
	assert_int_equal(run(v10, 10, data, sizeof(data)), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_MISCOMPARE, 0x1d, 0x00);
	assert_int_equal(task.sense[0], 0xf0);
	assert_int_equal(get_be32(task.sense + 3), 700);
	/* BYTCHK=0: no data-out, nothing compared. */
	v10[1] = 0;
	assert_int_equal(run(v10, 10, NULL, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_out_len, 0);
	assert_int_equal(task.data_in_len, 0);
	/* BYTCHK=11b: one block against each. */
	v10[1] = 0x06;
	data[700] ^= 0xff;
	assert_int_equal(run(v10, 10, data, BS), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_out_len, BS);
}

static void test_errors(void **state)
{
	/* LBA out of range, including an overflowing LBA+length. */
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0x08, 0x00, 0, 0, 1, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0x07, 0xff, 0, 0, 1, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0x08, 0x00, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0x08, 0x01, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(RUN(OP_READ_16, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
			     0, 2, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* Invalid opcode. */
	assert_int_equal(RUN(0xc0, 0, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);
	/* RDPROTECT without protection information. */
	assert_int_equal(RUN(OP_READ_10, 0x20, 0, 0, 0, 0, 0, 0, 1, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* NACA in the control byte. */
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0x04), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Transfer over the block limits (32 MiB) on an LU big enough to hold it. */
	struct lu_config cfg = { .backstore = "ram", .size = 64u << 20 };
	struct lu *big;
	char err[256];
	uint8_t r12[12] = { OP_READ_12, 0, 0, 0, 0, 0, 0, 0x01, 0, 0x01, 0, 0 };

	assert_int_equal(lu_create(&cfg, "big", &big, err, sizeof(err)), 0);
	run_on(big, &nx1, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
	assert_int_equal(run_on(big, &nx1, r12, 12, NULL, 0, 65536), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(task.sense[17], 6);
	r12[7] = 0;
	assert_int_equal(run_on(big, &nx1, r12, 12, NULL, 0, 512), SCSI_STATUS_GOOD);
	scsi_task_release(&task);
	memset(&task, 0, sizeof(task));
	lu_put(big);
}

static void test_unmapped_lun(void **state)
{
	uint8_t inq[6] = { OP_INQUIRY, 0, 0, 0, 96, 0 };
	uint8_t tur[6] = { OP_TEST_UNIT_READY };
	uint8_t rs[6] = { OP_REQUEST_SENSE, 0, 0, 0, 18, 0 };

	assert_int_equal(run_on(NULL, &nx1, inq, 6, NULL, 0, 96), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[0], 0x7f);
	assert_int_equal(run_on(NULL, &nx1, tur, 6, NULL, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x25, 0x00);
	assert_int_equal(run_on(NULL, &nx1, rs, 6, NULL, 0, 18), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[2], SK_ILLEGAL_REQUEST);
	assert_int_equal(task.buf[12], 0x25);
}

static void test_unit_attention_and_reset(void **state)
{
	uint8_t rs[6] = { OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
	uint8_t inq[6] = { OP_INQUIRY, 0, 0, 0, 96, 0 };

	scsi_lu_reset(lu, &nx1);
	/* INQUIRY is not affected... */
	assert_int_equal(run(inq, 6, NULL, 0), SCSI_STATUS_GOOD);
	/* ...REQUEST SENSE returns and clears it... */
	assert_int_equal(run(rs, 6, NULL, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[2], SK_UNIT_ATTENTION);
	assert_int_equal(task.buf[12], 0x29);
	assert_int_equal(task.buf[13], 0x03);
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	/* ...and the other nexus gets it on its next command. */
	run_on(lu, &nx2, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
	assert_sense(SK_UNIT_ATTENTION, 0x29, 0x03);

	/* A nexus new to the LU starts with POWER ON. */
	struct it_nexus nx3 = nx2;

	nx3.id = 3;
	run_on(lu, &nx3, (uint8_t[10]){ OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, 10, NULL, 0, BS);
	assert_sense(SK_UNIT_ATTENTION, 0x29, 0x00);
	scsi_nexus_loss(lu, &nx3);
}

/* Many I_T nexuses on one LU (more than the lock-free hint holds, so the locked path and its
 * record index are used too): each starts with POWER ON exactly once, a UA for all reaches each
 * once, a nexus that went away starts over, and the others keep their state. */
static void test_many_nexuses(void **state)
{
	const uint64_t base = 1000, n = 3 * LU_NEXUS_HINT_SLOTS;
	uint64_t id;

	for (id = base; id < base + n; id++) {
		assert_int_equal(lu_ua_take(lu, id), UA_POWER_ON);
		assert_int_equal(lu_ua_take(lu, id), -1);
	}
	lu_ua_establish_all(lu, UA_CAPACITY_CHANGED, 0);
	for (id = base; id < base + n; id++) {
		assert_int_equal(lu_ua_peek(lu, id), UA_CAPACITY_CHANGED);
		assert_int_equal(lu_ua_take(lu, id), UA_CAPACITY_CHANGED);
		assert_int_equal(lu_ua_take(lu, id), -1);
	}
	assert_int_equal(lu_ua_take(lu, nx1.id), UA_CAPACITY_CHANGED);
	assert_int_equal(lu_ua_take(lu, nx2.id), UA_CAPACITY_CHANGED);
	for (id = base; id < base + n; id += 2)
		lu_nexus_gone(lu, id);
	for (id = base; id < base + n; id++)
		assert_int_equal(lu_ua_take(lu, id), id % 2 ? -1 : UA_POWER_ON);
	for (id = base; id < base + n; id++)
		lu_nexus_gone(lu, id);
	assert_int_equal(lu_ua_take(lu, nx1.id), -1);
	assert_int_equal(lu_ua_take(lu, nx2.id), -1);
}

static void test_start_stop_reserve(void **state)
{
	assert_int_equal(RUN(OP_START_STOP_UNIT, 0, 0, 0, 0x00, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x02);
	assert_int_equal(RUN(OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x02);
	assert_int_equal(RUN(OP_INQUIRY, 0, 0, 0, 36, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_START_STOP_UNIT, 0, 0, 0, 0x01, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);

	assert_int_equal(RUN(OP_RESERVE_6, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	run_on(lu, &nx2, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
	assert_int_equal(task.status, SCSI_STATUS_RESERVATION_CONFLICT);
	run_on(lu, &nx2, (uint8_t[6]){ OP_INQUIRY, 0, 0, 0, 36, 0 }, 6, NULL, 0, 36);
	assert_int_equal(task.status, SCSI_STATUS_GOOD);
	assert_int_equal(RUN(OP_RELEASE_6, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	run_on(lu, &nx2, (uint8_t[6]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0);
	assert_int_equal(task.status, SCSI_STATUS_GOOD);
}

static void test_report_opcodes(void **state)
{
	/* All commands. */
	assert_int_equal(RUN(OP_MAINTENANCE_IN, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_true(get_be32(task.buf) >= 8 * 20);
	assert_int_equal(task.buf[4], OP_TEST_UNIT_READY);
	/* One command: READ(10) usage data. */
	assert_int_equal(RUN(OP_MAINTENANCE_IN, 0x0c, 1, OP_READ_10, 0, 0, 0, 0, 1, 0, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[1] & 7, 3);
	assert_int_equal(get_be16(task.buf + 2), 10);
	assert_int_equal(task.buf[4], OP_READ_10);
	/* READ CAPACITY(16) by service action. */
	assert_int_equal(RUN(OP_MAINTENANCE_IN, 0x0c, 2, 0x9e, 0, 0x10, 0, 0, 1, 0, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[1] & 7, 3);
	assert_int_equal(task.buf[5], 0x10);
	/* Unsupported opcode. */
	assert_int_equal(RUN(OP_MAINTENANCE_IN, 0x0c, 1, 0xc0, 0, 0, 0, 0, 1, 0, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[1] & 7, 1);
}

/* ---- thin provisioning, WRITE SAME, COMPARE AND WRITE (invar-2026.2) --------------------- */

static int run_out(const uint8_t *cdb, const void *out, uint32_t out_len)
{
	return run_on(lu, &nx1, cdb, 16, out, out_len, out_len);
}

static void write_blocks(uint64_t lba, uint32_t n, uint8_t val)
{
	uint8_t cdb[16] = { OP_WRITE_16 };
	uint8_t *b = malloc(n * BS);

	memset(b, val, n * BS);
	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
	assert_int_equal(run_out(cdb, b, n * BS), SCSI_STATUS_GOOD);
	free(b);
}

/* Reads n blocks at lba and checks each byte is val. */
static void expect_blocks(uint64_t lba, uint32_t n, uint8_t val)
{
	uint8_t cdb[16] = { OP_READ_16 };

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
	assert_int_equal(run_on(lu, &nx1, cdb, 16, NULL, 0, n * BS), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, n * BS);
	for (uint32_t i = 0; i < n * BS; i++)
		if (task.buf[i] != val)
			fail_msg("byte %u of LBA %llu+: %#x, want %#x", i, (unsigned long long)lba,
				 task.buf[i], val);
}

static int unmap_list(const uint64_t (*d)[2], unsigned nd, uint8_t cdb1)
{
	uint8_t cdb[16] = { OP_UNMAP, cdb1 };
	uint8_t p[8 + 16 * 300] = { 0 };
	uint32_t len = 8 + 16 * nd;

	put_be16(p, (uint16_t)(len - 2));
	put_be16(p + 2, (uint16_t)(16 * nd));
	for (unsigned i = 0; i < nd; i++) {
		put_be64(p + 8 + 16 * i, d[i][0]);
		put_be32(p + 8 + 16 * i + 8, (uint32_t)d[i][1]);
	}
	put_be16(cdb + 7, (uint16_t)len);
	return run_out(cdb, p, len);
}

/* Under WCE=0 a deallocation is durable before GOOD like a write: UNMAP and WRITE SAME with
 * UNMAP end with a flush (its failure is the command's); under WCE=1 they do not flush. */
static void test_unmap_wce0_flushes(void **state)
{
	uint8_t ws[16] = { OP_WRITE_SAME_16, 0x08 }; /* UNMAP=1, zero data */
	char err[128];

	put_be64(ws + 2, 100);
	put_be32(ws + 10, 8);
	assert_int_equal(bs_fault_add("flush=eio", err, sizeof(err)), 0);
	atomic_store(&lu->mode.wce, false);
	assert_int_equal(unmap_list((const uint64_t[][2]){ { 1, 2 } }, 1, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_MEDIUM_ERROR, 0x0c, 0x00);
	assert_int_equal(run_out(ws, (uint8_t[BS]){ 0 }, BS), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_MEDIUM_ERROR, 0x0c, 0x00);
	atomic_store(&lu->mode.wce, true);
	assert_int_equal(unmap_list((const uint64_t[][2]){ { 1, 2 } }, 1, 0), SCSI_STATUS_GOOD);
	assert_int_equal(run_out(ws, (uint8_t[BS]){ 0 }, BS), SCSI_STATUS_GOOD);
	bs_fault_clear();
	atomic_store(&lu->mode.wce, false);
	assert_int_equal(unmap_list((const uint64_t[][2]){ { 1, 2 } }, 1, 0), SCSI_STATUS_GOOD);
	assert_int_equal(run_out(ws, (uint8_t[BS]){ 0 }, BS), SCSI_STATUS_GOOD);
	expect_blocks(1, 2, 0);
	atomic_store(&lu->mode.wce, true);
}

static void test_unmap(void **state)
{
	write_blocks(0, 64, 0xa5);
	assert_int_equal(unmap_list((const uint64_t[][2]){ { 1, 2 }, { 10, 20 }, { 40, 0 } }, 3, 0),
			 SCSI_STATUS_GOOD);
	expect_blocks(0, 1, 0xa5);
	expect_blocks(1, 2, 0);
	expect_blocks(3, 7, 0xa5);
	expect_blocks(10, 20, 0);
	expect_blocks(30, 34, 0xa5);
	/* The last block is fine; one past it is out of range, and nothing was unmapped. */
	assert_int_equal(unmap_list((const uint64_t[][2]){ { BLOCKS - 1, 1 } }, 1, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(unmap_list((const uint64_t[][2]){ { 0, 1 }, { BLOCKS - 1, 2 } }, 2, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	expect_blocks(0, 1, 0xa5);
	assert_int_equal(unmap_list((const uint64_t[][2]){ { UINT64_MAX, 1 } }, 1, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* More descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (256). */
	{
		static uint64_t d[257][2];

		for (unsigned i = 0; i < 257; i++) {
			d[i][0] = i;
			d[i][1] = 1;
		}
		assert_int_equal(unmap_list((const uint64_t(*)[2])d, 257, 0),
				 SCSI_STATUS_CHECK_CONDITION);
		assert_sense(SK_ILLEGAL_REQUEST, 0x26, 0x00);
	}
	/* ANCHOR without ANC_SUP. */
	assert_int_equal(unmap_list((const uint64_t[][2]){ { 0, 1 } }, 1, 0x01),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Parameter list shorter than its header; empty list is fine. */
	assert_int_equal(run_out((uint8_t[16]){ OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 4 },
				 (uint8_t[4]){ 0 }, 4),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x1a, 0x00);
	assert_int_equal(RUN(OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
}

static void test_write_same(void **state)
{
	uint8_t blk[BS];
	uint8_t cdb[16];

	/* WRITE SAME(10): one block replicated. */
	memset(blk, 0x3c, BS);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = OP_WRITE_SAME_10;
	put_be32(cdb + 2, 100);
	put_be16(cdb + 7, 16);
	assert_int_equal(run_out(cdb, blk, BS), SCSI_STATUS_GOOD);
	expect_blocks(100, 16, 0x3c);
	/* UNMAP with non-zero data writes; with zero data deallocates (reads zeroes). */
	cdb[1] = 0x08;
	assert_int_equal(run_out(cdb, blk, BS), SCSI_STATUS_GOOD);
	expect_blocks(100, 16, 0x3c);
	memset(blk, 0, BS);
	assert_int_equal(run_out(cdb, blk, BS), SCSI_STATUS_GOOD);
	expect_blocks(100, 16, 0);
	/* 0 blocks with WSNZ=1; ANCHOR; beyond the end; too long; wrong data-out size. */
	put_be16(cdb + 7, 0);
	assert_int_equal(run_out(cdb, blk, BS), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	put_be16(cdb + 7, 1);
	cdb[1] = 0x18;
	assert_int_equal(run_out(cdb, blk, BS), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	cdb[1] = 0;
	put_be32(cdb + 2, BLOCKS);
	assert_int_equal(run_out(cdb, blk, BS), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	put_be32(cdb + 2, 0);
	assert_int_equal(run_on(lu, &nx1, cdb, 16, blk, BS, 2 * BS), SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(run_on(lu, &nx1, cdb, 16, blk, BS, BS / 2), SCSI_STATUS_CHECK_CONDITION);

	/* WRITE SAME(16), and NDOB: zeroes with no data-out. */
	write_blocks(200, 8, 0x77);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = OP_WRITE_SAME_16;
	cdb[1] = 0x01;
	put_be64(cdb + 2, 202);
	put_be32(cdb + 10, 4);
	assert_int_equal(run_out(cdb, NULL, 0), SCSI_STATUS_GOOD);
	expect_blocks(200, 2, 0x77);
	expect_blocks(202, 4, 0);
	expect_blocks(206, 2, 0x77);
	/* (MAXIMUM WRITE SAME LENGTH is 65536 blocks; this LU is smaller, so the range check
	 * answers first.) */
	put_be32(cdb + 10, 65537);
	assert_int_equal(run_out(cdb, NULL, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
}

static void test_compare_and_write(void **state)
{
	uint8_t cdb[16] = { OP_COMPARE_AND_WRITE };
	uint8_t d[4 * BS];

	write_blocks(300, 2, 'A');
	put_be64(cdb + 2, 300);
	cdb[13] = 2;
	memset(d, 'A', 2 * BS);
	memset(d + 2 * BS, 'B', 2 * BS);
	assert_int_equal(run_out(cdb, d, sizeof(d)), SCSI_STATUS_GOOD);
	expect_blocks(300, 2, 'B');
	/* Miscompare: INFORMATION is the offset of the first differing byte; nothing written. */
	memset(d, 'B', 2 * BS);
	d[BS + 17] = 'X';
	memset(d + 2 * BS, 'C', 2 * BS);
	assert_int_equal(run_out(cdb, d, sizeof(d)), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_MISCOMPARE, 0x1d, 0x00);
	assert_int_equal(task.sense[0], 0xf0);	/* fixed, VALID */
	assert_int_equal(get_be32(task.sense + 3), BS + 17);
	expect_blocks(300, 2, 'B');
	/* Limits and sizes: > MAXIMUM COMPARE AND WRITE LENGTH is not representable (255 max);
	 * data-out not 2 x blocks; beyond the end. */
	assert_int_equal(run_on(lu, &nx1, cdb, 16, d, sizeof(d), 3 * BS),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	cdb[13] = 0;
	assert_int_equal(run_on(lu, &nx1, cdb, 16, d, sizeof(d), 0), SCSI_STATUS_GOOD);
	put_be64(cdb + 2, BLOCKS - 1);
	cdb[13] = 2;
	assert_int_equal(run_out(cdb, d, sizeof(d)), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* Nothing stays behind: no range held or waiting, no write counted, writes on the fast
	 * path again (no sticky COMPARE AND WRITE mode). */
	assert_int_equal(atomic_load(&lu->io_gate.excl), 0);
	assert_true(list_empty(&lu->io_gate.held) && list_empty(&lu->io_gate.waiting));
	write_blocks(310, 1, 0x11);
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 0);
	expect_blocks(310, 1, 0x11);
}

static void test_get_lba_status(void **state)
{
	uint8_t cdb[16] = { OP_SERVICE_ACTION_IN_16, SA_GET_LBA_STATUS };

	put_be64(cdb + 2, 5);
	put_be32(cdb + 10, 24);
	assert_int_equal(run_on(lu, &nx1, cdb, 16, NULL, 0, 24), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 24);
	assert_int_equal(get_be32(task.buf), 20);
	assert_int_equal(get_be64(task.buf + 8), 5);
	assert_int_equal(get_be32(task.buf + 16), BLOCKS - 5);
	assert_int_equal(task.buf[20], 0);	/* mapped: ram has no holes to report */
	put_be64(cdb + 2, BLOCKS);
	assert_int_equal(run_on(lu, &nx1, cdb, 16, NULL, 0, 24), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
}

/* invar-2026.1 is released: LUs pinned to it answer exactly as before invar-2026.2 existed.
 * The expected bytes were captured from the build before thin provisioning was added. */
static void check_frozen_2026_1(const char *backstore, const char *path)
{
	static const uint8_t b0[64] = { 0x00, 0xb0, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x08,
					0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00 };
	static const uint8_t b2[8] = { 0x00, 0xb2, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t vpd0[10] = { 0x00, 0x00, 0x00, 0x06, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	struct lu_config cfg = { .size = BLOCKS * BS };
	struct lu *old;
	char err[256] = "";

	strcpy(cfg.backstore, backstore);
	strcpy(cfg.profile, "invar-2026.1");
	if (path)
		strcpy(cfg.path, path);
	assert_int_equal(lu_create(&cfg, "frozen", &old, err, sizeof(err)), 0);
	run_on(old, &nx1, (uint8_t[16]){ OP_TEST_UNIT_READY }, 6, NULL, 0, 0); /* POWER ON UA */

	assert_int_equal(run_on(old, &nx1, (uint8_t[16]){ OP_INQUIRY, 1, 0xb0, 0, 255 }, 6, NULL,
				0, 255),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, sizeof(b0));
	assert_memory_equal(task.buf, b0, sizeof(b0));
	assert_int_equal(run_on(old, &nx1, (uint8_t[16]){ OP_INQUIRY, 1, 0xb2, 0, 255 }, 6, NULL,
				0, 255),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, sizeof(b2));
	assert_memory_equal(task.buf, b2, sizeof(b2));
	assert_int_equal(run_on(old, &nx1, (uint8_t[16]){ OP_INQUIRY, 1, 0x00, 0, 255 }, 6, NULL,
				0, 255),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, sizeof(vpd0));
	assert_memory_equal(task.buf, vpd0, sizeof(vpd0));
	assert_int_equal(run_on(old, &nx1, (uint8_t[16]){ OP_SERVICE_ACTION_IN_16, 0x10, [13] = 32 },
				16, NULL, 0, 32),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[14], 0);	/* LBPME = LBPRZ = 0 */
	/* REPORT SUPPORTED OPERATION CODES: the 33 commands of 2026.1, 268 bytes as before. */
	assert_int_equal(run_on(old, &nx1,
				(uint8_t[16]){ OP_MAINTENANCE_IN, 0x0c, [8] = 0x10, [9] = 0xff },
				12, NULL, 0, 0x10ff),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 268);

	/* The new commands do not exist in 2026.1. */
	{
		static const uint8_t cdbs[][16] = {
			{ OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24 },
			{ OP_WRITE_SAME_10, 0, 0, 0, 0, 0, 0, 0, 1 },
			{ OP_WRITE_SAME_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
			{ OP_COMPARE_AND_WRITE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
		};

		for (size_t i = 0; i < sizeof(cdbs) / sizeof(cdbs[0]); i++) {
			assert_int_equal(run_on(old, &nx1, cdbs[i], 16, NULL, 0, 1024),
					 SCSI_STATUS_CHECK_CONDITION);
			assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);
		}
		/* GET LBA STATUS: an unknown service action of a known opcode. */
		assert_int_equal(run_on(old, &nx1,
					(uint8_t[16]){ OP_SERVICE_ACTION_IN_16, SA_GET_LBA_STATUS,
						       [13] = 24 },
					16, NULL, 0, 24),
				 SCSI_STATUS_CHECK_CONDITION);
		assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	}
	scsi_task_release(&task);
	memset(&task, 0, sizeof(task));
	lu_put(old);
}

static void test_profile_2026_1_frozen(void **state)
{
	char dir[] = "/tmp/invar-emul-XXXXXX", path[64];

	check_frozen_2026_1("ram", NULL);
	check_frozen_2026_1("null", NULL);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/d.img", dir);
	check_frozen_2026_1("file", path);
	unlink(path);
	rmdir(dir);
}

static void test_vpd_2026_2(void **state)
{
	assert_int_equal(RUN(OP_INQUIRY, 1, 0xb0, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[4] & 1, 1);			/* WSNZ */
	assert_int_equal(task.buf[5], 255);			/* MAX COMPARE AND WRITE */
	assert_int_equal(get_be32(task.buf + 20), (512u << 20) / BS);	/* MAX UNMAP LBA COUNT */
	assert_int_equal(get_be32(task.buf + 24), 256);		/* MAX UNMAP DESCRIPTORS */
	assert_int_equal(get_be32(task.buf + 28), 4096 / BS);	/* OPTIMAL UNMAP GRANULARITY */
	assert_int_equal(get_be64(task.buf + 36), (32u << 20) / BS); /* MAX WRITE SAME */
	assert_int_equal(RUN(OP_INQUIRY, 1, 0xb2, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 8);
	assert_int_equal(task.buf[5], 0x80 | 0x40 | 0x20 | 0x04);	/* LBPU LBPWS LBPWS10 LBPRZ */
	assert_int_equal(task.buf[6] & 7, 2);				/* thin */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_stable),
		cmocka_unit_test(test_inquiry_standard),
		cmocka_unit_test(test_inquiry_vpd),
		cmocka_unit_test(test_read_capacity),
		cmocka_unit_test(test_mode_sense),
		cmocka_unit_test(test_mode_select),
		cmocka_unit_test(test_report_luns),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unmapped_lun),
		cmocka_unit_test(test_unit_attention_and_reset),
		cmocka_unit_test(test_start_stop_reserve),
		cmocka_unit_test(test_report_opcodes),
		cmocka_unit_test(test_vpd_2026_2),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_unmap_wce0_flushes),
		cmocka_unit_test(test_write_same),
		cmocka_unit_test(test_get_lba_status),
		cmocka_unit_test(test_compare_and_write),
		cmocka_unit_test(test_profile_2026_1_frozen),
		cmocka_unit_test(test_many_nexuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
