/* libFuzzer: CDB decoding and dispatch (src/scsi) through scsi_task_setup/scsi_task_execute,
 * called the way the iSCSI fabric calls them, on a fresh RAM or null LU per input (RAM and null
 * complete synchronously without a worker).
 * Input: one config byte (block size, backstore), then up to 32 commands, each
 *   flags (nexus, LUN, fabric direction), CDB length, EDTL (24 bits), the CDB,
 *   data-out length (16 bits), data-out bytes.
 * Several commands per input let state carry over: unit attentions, MODE SELECT then MODE
 * SENSE, RESERVE from one nexus then commands from the other, START STOP UNIT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "target/target.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct it_nexus nexus[2] = {
	{ .id = 1, .initiator = "iqn.2026-01.fuzz:init1", .target = "iqn.2026-01.fuzz:tgt",
	  .tpgt = 1, .rel_port_id = 1 },
	{ .id = 2, .initiator = "iqn.2026-01.fuzz:init2", .target = "iqn.2026-01.fuzz:tgt",
	  .tpgt = 1, .rel_port_id = 1 },
};

static int done_calls;

static void task_done(struct scsi_task *t)
{
	done_calls++;
}

static void run_one(struct lu *lu, const struct lun_view *view, struct fz *f)
{
	struct scsi_task t;
	uint8_t fl = fz_u8(f);
	uint32_t dlen;
	uint8_t *dout;

	memset(&t, 0, sizeof(t));
	t.lun = (fl >> 1) & 3;
	t.lu = view->lus[t.lun];
	if (t.lu)
		lu_get(t.lu);
	t.nexus = &nexus[fl & 1];
	t.view = view;
	t.fabric_dir = (enum scsi_dir)((fl >> 3) % 3);
	t.attr = (enum scsi_task_attr)((fl >> 5) % 5);
	/* The fabric always hands over at least the 16 BHS bytes. */
	t.cdb_len = (uint16_t)(16 + fz_u8(f) % (SCSI_CDB_MAX - 16 + 1));
	t.exp_xfer_len = fz_u8(f);
	t.exp_xfer_len = t.exp_xfer_len << 16 | fz_u16(f);
	fz_bytes(f, t.cdb, t.cdb_len);
	t.done = task_done;
	dlen = fz_u16(f);
	dout = malloc(dlen ? dlen : 1);
	dlen = (uint32_t)fz_bytes(f, dout, dlen);

	done_calls = 0;
	if (scsi_task_setup(&t) < 0) {
		if (done_calls || t.status == SCSI_STATUS_GOOD)
			abort();	/* failed setup: status set, done() not called */
		goto out;
	}
	/* As scsi_cmd.c does: keep min(data_out_len, EDTL) bytes, only for a write the
	 * initiator flagged as one; the rest of what it sends is dropped. */
	if (t.dir == SCSI_DIR_WRITE && t.fabric_dir == SCSI_DIR_WRITE) {
		uint32_t xfer = t.data_out_len < t.exp_xfer_len ? t.data_out_len : t.exp_xfer_len;

		if (xfer) {
			if (scsi_task_alloc_buf(&t, xfer) < 0)
				abort();
			memcpy(t.buf, dout, dlen < xfer ? dlen : xfer);
		}
	}
	scsi_task_execute(&t);
	if (done_calls != 1)
		abort();
	if (t.sense_len > SCSI_SENSE_MAX)
		abort();
	/* What the fabric will send from: data_in_len bytes of buf (it clamps to buf_len and
	 * EDTL, so reading them must stay in bounds). */
	if (t.dir == SCSI_DIR_READ && t.buf && t.data_in_len) {
		uint32_t n = t.data_in_len < t.buf_len ? t.data_in_len : t.buf_len;
		volatile uint8_t sink = 0;

		for (uint32_t i = 0; i < n; i += 512)
			sink ^= t.buf[i];
		sink ^= t.buf[n - 1];
		(void)sink;
	}
out:
	free(dout);
	scsi_task_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t cfgb = fz_u8(&f);
	struct lu_config cfg;
	struct lun_view view;
	struct lu *lu = NULL;
	char err[256];
	int i;

	log_set_level(LOG_ERR);
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.backstore, (cfgb & 2) ? "null" : "ram");
	cfg.block_size = (cfgb & 1) ? 4096 : 512;
	cfg.size = (uint64_t)cfg.block_size * 64;
	if (lu_create(&cfg, "iqn.2026-01.fuzz:tgt/0", &lu, err, sizeof(err)) < 0) {
		fprintf(stderr, "lu_create: %s\n", err);
		abort();
	}
	memset(&view, 0, sizeof(view));
	view.lus[0] = lu;
	view.lus[1] = lu;	/* the same LU at two LUNs */
	view.count = 2;		/* LUN 2 and 3: not mapped */
	for (i = 0; i < 32 && f.left; i++)
		run_one(lu, &view, &f);
	lu_put(lu);
	return 0;
}
