/* Profile invar-2026.3's SBC-3 commands (src/scsi/sbc3.c, src/scsi/sbc_maint.c) driven through
 * scsi_task_setup/execute on RAM LUs: CDB and parameter decoding, answers, and that 2026.2 still
 * lacks them. Without a worker, SANITIZE and FORMAT UNIT run to completion inside execute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "target/target.h"
#include "util/byteorder.h"

#define BLOCKS 2048u
#define BS 512u

static struct lu *lu3, *lu2;
static struct lun_view view;
static struct it_nexus nx = { .id = 1, .initiator = "iqn.2026-01.test:init",
			      .target = "iqn.2026-01.test:tgt", .tpgt = 1, .rel_port_id = 1,
			      .tmf_supported = NEXUS_TMF_ABORT_TASK | NEXUS_TMF_LU_RESET };
static struct scsi_task task;
static int done_calls;

static void task_done(struct scsi_task *t)
{
	done_calls++;
}

static int run_on(struct lu *l, const uint8_t *cdb, unsigned cdb_len, const void *out,
		  uint32_t out_len)
{
	scsi_task_release(&task);
	memset(&task, 0, sizeof(task));
	lu_get(l);
	task.lu = l;
	task.nexus = &nx;
	task.view = &view;
	memcpy(task.cdb, cdb, cdb_len);
	task.cdb_len = 16;
	task.exp_xfer_len = out_len ? out_len : 65536;
	task.done = task_done;
	done_calls = 0;
	if (scsi_task_setup(&task) < 0)
		return task.status;
	if (task.data_out_len) {
		assert_int_equal(scsi_task_alloc_buf(&task, task.data_out_len), 0);
		memcpy(task.buf, out, out_len < task.data_out_len ? out_len : task.data_out_len);
	}
	scsi_task_execute(&task);
	assert_int_equal(done_calls, 1);
	return task.status;
}

#define CDB(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define RUN3(...) run_on(lu3, CDB(__VA_ARGS__), NULL, 0)
#define RUN2(...) run_on(lu2, CDB(__VA_ARGS__), NULL, 0)

static void assert_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(task.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(task.sense[0] & 0x7f, 0x70);
	assert_int_equal(task.sense[2] & 0xf, key);
	assert_int_equal(task.sense[12], asc);
	assert_int_equal(task.sense[13], ascq);
}

static void make_lu(struct lu **l, const char *profile, const char *seed)
{
	struct lu_config cfg = { .backstore = "ram", .size = BLOCKS * BS };
	char err[256] = "";

	snprintf(cfg.profile, sizeof(cfg.profile), "%s", profile);
	assert_int_equal(lu_create(&cfg, seed, l, err, sizeof(err)), 0);
	/* The POWER ON unit attention. */
	run_on(*l, CDB(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), NULL, 0);
	assert_sense(SK_UNIT_ATTENTION, 0x29, 0x00);
}

static int setup(void **state)
{
	make_lu(&lu3, "invar-2026.3", "iqn.2026-01.test:tgt/0");
	make_lu(&lu2, "invar-2026.2", "iqn.2026-01.test:tgt/1");
	view.lus[0] = lu3;
	view.lus[1] = lu2;
	view.count = 2;
	return 0;
}

static int teardown(void **state)
{
	scsi_task_release(&task);
	lu_put(lu3);
	lu_put(lu2);
	return 0;
}

/* Fill [lba, lba+n) with byte v through WRITE(10). */
static void fill(uint32_t lba, uint32_t n, uint8_t v)
{
	uint8_t *b = malloc(n * BS);

	memset(b, v, n * BS);
	assert_int_equal(run_on(lu3, CDB(OP_WRITE_10, 0, 0, 0, (uint8_t)(lba >> 8), (uint8_t)lba,
					 0, 0, (uint8_t)n, 0),
				b, n * BS),
			 SCSI_STATUS_GOOD);
	free(b);
}

/* Whether every byte of [lba, lba+n) reads as v. */
static bool reads_as(uint32_t lba, uint32_t n, uint8_t v)
{
	assert_int_equal(RUN3(OP_READ_10, 0, 0, 0, (uint8_t)(lba >> 8), (uint8_t)lba, 0, 0,
			      (uint8_t)n, 0),
			 SCSI_STATUS_GOOD);
	for (uint32_t i = 0; i < n * BS; i++)
		if (task.buf[i] != v)
			return false;
	return true;
}

static void test_2026_2_unchanged(void **state)
{
	/* The new opcodes stay INVALID COMMAND OPERATION CODE on invar-2026.2... */
	assert_int_equal(RUN2(OP_FORMAT_UNIT, 0, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);
	assert_int_equal(RUN2(OP_PRE_FETCH_10, 0, 0, 0, 0, 0, 0, 0, 1, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);
	assert_int_equal(RUN2(OP_SANITIZE, 0x02, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);
	assert_int_equal(RUN2(OP_ORWRITE_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x20, 0x00);
	/* ...MAINTENANCE IN keeps answering an unknown service action as a bad field... */
	assert_int_equal(RUN2(OP_MAINTENANCE_IN, 0x0d, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* ...and VPD 0xB0's atomic fields and 0xB1's WABEREQ stay zero. */
	assert_int_equal(RUN2(OP_INQUIRY, 1, 0xb0, 0, 255, 0), SCSI_STATUS_GOOD);
	for (unsigned i = 44; i < 64; i++)
		assert_int_equal(task.buf[i], 0);
	assert_int_equal(RUN2(OP_INQUIRY, 1, 0xb1, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[7], 0);
}

static void test_vpd_2026_3(void **state)
{
	assert_int_equal(RUN3(OP_INQUIRY, 1, 0xb0, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(get_be32(task.buf + 44), (1u << 20) / BS);	/* MAX ATOMIC XFER */
	assert_int_equal(get_be32(task.buf + 48), 4096 / BS);		/* ATOMIC ALIGNMENT */
	assert_int_equal(get_be32(task.buf + 52), 4096 / BS);		/* ATOMIC GRANULARITY */
	assert_int_equal(get_be32(task.buf + 56), 0);			/* no boundaries */
	assert_int_equal(get_be32(task.buf + 60), 0);
	assert_int_equal(RUN3(OP_INQUIRY, 1, 0xb1, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[7], 0x40);				/* WABEREQ 01b */
}

static void test_read_defect_data(void **state)
{
	/* (10): REQ_PLIST + REQ_GLIST, long block format: 4-byte header, empty list. */
	assert_int_equal(RUN3(OP_READ_DEFECT_DATA_10, 0, 0x18 | 3, 0, 0, 0, 0, 0, 32, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 4);
	assert_int_equal(task.buf[1], 0x18 | 3);
	assert_int_equal(get_be16(task.buf + 2), 0);
	/* Only the GLIST asked for: only GLISTV. */
	assert_int_equal(RUN3(OP_READ_DEFECT_DATA_10, 0, 0x08, 0, 0, 0, 0, 0, 32, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[1], 0x08);
	/* Allocation length truncates. */
	assert_int_equal(RUN3(OP_READ_DEFECT_DATA_10, 0, 0x10, 0, 0, 0, 0, 0, 2, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 2);
	/* Reserved format 001b. */
	assert_int_equal(RUN3(OP_READ_DEFECT_DATA_10, 0, 0x01, 0, 0, 0, 0, 0, 32, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(get_be16(task.sense + 16), 2);				/* field: byte 2 */
	/* (12): flags in byte 1, 8-byte header with a 4-byte length. */
	assert_int_equal(RUN3(OP_READ_DEFECT_DATA_12, 0x10 | 5, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 8);
	assert_int_equal(task.buf[1], 0x10 | 5);
	assert_int_equal(get_be32(task.buf + 4), 0);
}

static void test_report_tmf(void **state)
{
	assert_int_equal(RUN3(OP_MAINTENANCE_IN, 0x0d, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 4);
	assert_int_equal(task.buf[0], 0x80 | 0x08);	/* ATS, LURS: what the nexus says */
	assert_int_equal(task.buf[1], 0);
	/* REPD: the 16-byte extended form. */
	assert_int_equal(RUN3(OP_MAINTENANCE_IN, 0x0d, 0x80, 0, 0, 0, 0, 0, 0, 16, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 16);
	assert_int_equal(task.buf[3], 12);
	/* ALLOCATION LENGTH < 4. */
	assert_int_equal(RUN3(OP_MAINTENANCE_IN, 0x0d, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Reserved bits of byte 2. */
	assert_int_equal(RUN3(OP_MAINTENANCE_IN, 0x0d, 0x01, 0, 0, 0, 0, 0, 0, 16, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_orwrite(void **state)
{
	uint8_t d[2 * BS];

	fill(10, 2, 0x0f);
	memset(d, 0xf0, sizeof(d));
	assert_int_equal(run_on(lu3, CDB(OP_ORWRITE_16, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 2,
					 0, 0),
				d, sizeof(d)),
			 SCSI_STATUS_GOOD);
	assert_true(reads_as(10, 2, 0xff));
	/* ORPROTECT is refused (no protection information). */
	assert_int_equal(RUN3(OP_ORWRITE_16, 0x20, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Past the end. */
	assert_int_equal(RUN3(OP_ORWRITE_16, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 1, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
}

static void test_write_atomic(void **state)
{
	uint8_t d[8 * BS];

	memset(d, 0x5a, sizeof(d));
	/* 8 blocks at LBA 16: aligned, a multiple of the granularity. */
	assert_int_equal(run_on(lu3, CDB(OP_WRITE_ATOMIC_16, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0,
					 8, 0, 0),
				d, sizeof(d)),
			 SCSI_STATUS_GOOD);
	assert_true(reads_as(16, 8, 0x5a));
	/* Misaligned LBA, bad granularity, an ATOMIC BOUNDARY, beyond the maximum. */
	assert_int_equal(RUN3(OP_WRITE_ATOMIC_16, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(get_be16(task.sense + 16), 2);
	assert_int_equal(RUN3(OP_WRITE_ATOMIC_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(get_be16(task.sense + 16), 12);
	assert_int_equal(RUN3(OP_WRITE_ATOMIC_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(get_be16(task.sense + 16), 10);
	assert_int_equal(RUN3(OP_WRITE_ATOMIC_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x08, 0,
			      0),
			 SCSI_STATUS_CHECK_CONDITION);
	/* (The LU is exactly the maximum, 2048 blocks: more is first out of range.) */
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* 0 blocks: nothing, GOOD. */
	assert_int_equal(RUN3(OP_WRITE_ATOMIC_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_GOOD);
}

static void test_prefetch(void **state)
{
	/* RAM holds its data in memory: the range is in the "cache", CONDITION MET. */
	assert_int_equal(RUN3(OP_PRE_FETCH_10, 0x02, 0, 0, 0, 0, 0, 0, 16, 0),
			 SCSI_STATUS_CONDITION_MET);
	assert_int_equal(RUN3(OP_PRE_FETCH_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_CONDITION_MET);
	assert_int_equal(RUN3(OP_PRE_FETCH_10, 0, 0, 0, 0x08, 0x01, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* Byte 1 bits other than IMMED are reserved. */
	assert_int_equal(RUN3(OP_PRE_FETCH_10, 0x01, 0, 0, 0, 0, 0, 0, 1, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_sanitize(void **state)
{
	uint8_t p[4 + BS + 4];

	/* OVERWRITE with a 4-byte pattern, 2 passes, INVERT: the last pass is inverted. */
	fill(0, 4, 'a');
	memset(p, 0, sizeof(p));
	p[0] = 0x80 | 2;
	put_be16(p + 2, 4);
	memset(p + 4, 0x0f, 4);
	assert_int_equal(run_on(lu3, CDB(OP_SANITIZE, 0x01, 0, 0, 0, 0, 0, 0, 8, 0), p, 8),
			 SCSI_STATUS_GOOD);
	assert_true(reads_as(0, 4, 0xf0));
	assert_true(reads_as(BLOCKS - 4, 4, 0xf0));
	assert_int_equal(atomic_load(&lu3->maint.state), SBC_MAINT_NONE);
	/* PARAMETER LIST LENGTH must be 5 .. block size + 4. */
	assert_int_equal(run_on(lu3, CDB(OP_SANITIZE, 0x01, 0, 0, 0, 0, 0, 0, 4, 0), p, 4),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(run_on(lu3, CDB(OP_SANITIZE, 0x01, 0, 0, 0, 0, 0, 0x02, 0x05, 0), p,
				BS + 5),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* OVERWRITE COUNT 0; TEST field set. */
	p[0] = 0;
	assert_int_equal(run_on(lu3, CDB(OP_SANITIZE, 0x01, 0, 0, 0, 0, 0, 0, 8, 0), p, 8),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	p[0] = 0x20 | 1;
	assert_int_equal(run_on(lu3, CDB(OP_SANITIZE, 0x01, 0, 0, 0, 0, 0, 0, 8, 0), p, 8),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x26, 0x00);
	/* BLOCK ERASE: zeroes everywhere; it takes no parameter list. IMMED answers early. */
	assert_int_equal(RUN3(OP_SANITIZE, 0x80 | 0x02, 0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_true(reads_as(0, 4, 0));
	assert_true(reads_as(BLOCKS - 4, 4, 0));
	assert_int_equal(RUN3(OP_SANITIZE, 0x02, 0, 0, 0, 0, 0, 0, 8, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* CRYPTOGRAPHIC ERASE is not offered: an unsupported service action. ZNR is refused. */
	assert_int_equal(RUN3(OP_SANITIZE, 0x03, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(RUN3(OP_SANITIZE, 0x40 | 0x02, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_sanitize_states(void **state)
{
	/* Running: NOT READY, SANITIZE IN PROGRESS with the progress; INQUIRY still answers;
	 * REQUEST SENSE reports the same. */
	atomic_store(&lu3->maint.state, SBC_MAINT_SANITIZE);
	atomic_store(&lu3->maint.progress, 0x8000);
	assert_int_equal(RUN3(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x1b);
	assert_int_equal(task.sense[15], 0x80);
	assert_int_equal(get_be16(task.sense + 16), 0x8000);
	assert_int_equal(RUN3(OP_INQUIRY, 0, 0, 0, 36, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN3(OP_REQUEST_SENSE, 0, 0, 0, 18, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[2] & 0xf, SK_NOT_READY);
	assert_int_equal(task.buf[12], 0x04);
	assert_int_equal(task.buf[13], 0x1b);
	assert_int_equal(get_be16(task.buf + 16), 0x8000);
	atomic_store(&lu3->maint.state, SBC_MAINT_FORMAT);
	assert_int_equal(RUN3(OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x04);
	/* Failure mode without AUSE: medium commands fail, EXIT FAILURE MODE is refused, a new
	 * SANITIZE clears it. */
	atomic_store(&lu3->maint.state, SBC_MAINT_SANITIZE_FAILED);
	atomic_store(&lu3->maint.ause, false);
	assert_int_equal(RUN3(OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_MEDIUM_ERROR, 0x31, 0x03);
	assert_int_equal(RUN3(OP_SANITIZE, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(RUN3(OP_SANITIZE, 0x02, 0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN3(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	/* With AUSE: EXIT FAILURE MODE leaves it (with a parameter list it is refused). */
	atomic_store(&lu3->maint.state, SBC_MAINT_SANITIZE_FAILED);
	atomic_store(&lu3->maint.ause, true);
	assert_int_equal(RUN3(OP_SANITIZE, 0x1f, 0, 0, 0, 0, 0, 0, 8, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(RUN3(OP_SANITIZE, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN3(OP_TEST_UNIT_READY, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
}

static void test_format_unit(void **state)
{
	uint8_t h[8] = { 0 };
	bool immed;
	struct sense_extra x = { 0 };

	/* FMTDATA=0: the medium becomes zeroes. */
	fill(100, 4, 0x77);
	assert_int_equal(RUN3(OP_FORMAT_UNIT, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
	assert_true(reads_as(100, 4, 0));
	/* FMTPINFO (protection information) is refused. */
	assert_int_equal(RUN3(OP_FORMAT_UNIT, 0x80, 0, 0, 0, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
	/* FMTDATA=1, short header with IMMED. */
	fill(100, 4, 0x77);
	h[1] = 0x02;
	assert_int_equal(run_on(lu3, CDB(OP_FORMAT_UNIT, 0x10, 0, 0, 0, 0), h, 4),
			 SCSI_STATUS_GOOD);
	assert_true(reads_as(100, 4, 0));
	/* PROTECTION FIELD USAGE, a defect list, IP, DCRT without FOV: invalid parameters. */
	h[0] = 1;
	assert_int_equal(run_on(lu3, CDB(OP_FORMAT_UNIT, 0x10, 0, 0, 0, 0), h, 4),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x26, 0x00);
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0, 0, 8 }, 4, false, &immed, &x),
			 SR_INVALID_FIELD_IN_PARAM);
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0x88, 0, 0 }, 4, false, &immed,
						 &x),
			 SR_INVALID_FIELD_IN_PARAM);
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0x20, 0, 0 }, 4, false, &immed,
						 &x),
			 SR_INVALID_FIELD_IN_PARAM);
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0xa2, 0, 0 }, 4, false, &immed,
						 &x),
			 SR_OK);
	assert_true(immed);
	/* Long header: DEFECT LIST LENGTH is 4 bytes; P_I_INFORMATION must be 0. */
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0, 0, 0, 0, 0, 0, 0 }, 8, true,
						 &immed, &x),
			 SR_OK);
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0, 0, 0x10, 0, 0, 0, 0 }, 8,
						 true, &immed, &x),
			 SR_INVALID_FIELD_IN_PARAM);
	assert_int_equal(sbc_maint_format_params((uint8_t[]){ 0, 0, 0, 0 }, 4, true, &immed, &x),
			 SR_PARAM_LIST_LENGTH_ERROR);
	/* A reserved DEFECT LIST FORMAT with FMTDATA. */
	memset(h, 0, sizeof(h));
	assert_int_equal(run_on(lu3, CDB(OP_FORMAT_UNIT, 0x10 | 1, 0, 0, 0, 0), h, 4),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2026_2_unchanged),
		cmocka_unit_test(test_vpd_2026_3),
		cmocka_unit_test(test_read_defect_data),
		cmocka_unit_test(test_report_tmf),
		cmocka_unit_test(test_orwrite),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_states),
		cmocka_unit_test(test_format_unit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
