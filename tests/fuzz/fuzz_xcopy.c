/* libFuzzer: EXTENDED COPY (invar-2026.3) parameter lists, decoded and then run for real
 * through scsi_task_setup/scsi_task_execute on two RAM LUs of one LUN view (RAM completes
 * synchronously without a worker), followed by RECEIVE COPY RESULTS for the same list id.
 * Input: one flags byte, then the parameter list. Flag bit 0 overwrites the designator of every
 * CSCD descriptor slot with the NAA of LU 0 or 1 (alternating), so the fuzzer reaches the copy
 * engine and not only "not reachable"; bit 1 sends from nexus 2. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "scsi/xcopy.h"
#include "target/target.h"
#include "util/byteorder.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct it_nexus nexus[2] = {
	{ .id = 1, .initiator = "iqn.2026-01.fuzz:init1", .target = "iqn.2026-01.fuzz:tgt",
	  .tpgt = 1, .rel_port_id = 1 },
	{ .id = 2, .initiator = "iqn.2026-01.fuzz:init2", .target = "iqn.2026-01.fuzz:tgt",
	  .tpgt = 1, .rel_port_id = 1 },
};

static struct lu *lus[2];
static struct lun_view view;
static int done_calls;

static void task_done(struct scsi_task *t)
{
	done_calls++;
}

static void init_once(void)
{
	char err[256];

	if (lus[0])
		return;
	log_set_level(LOG_ERR);
	for (int i = 0; i < 2; i++) {
		struct lu_config cfg = { .backstore = "ram", .size = 4u << 20,
					 .profile = "invar-2026.3" };
		char seed[64];

		snprintf(seed, sizeof(seed), "iqn.2026-01.fuzz:tgt/%d", i);
		if (lu_create(&cfg, seed, &lus[i], err, sizeof(err)) < 0)
			abort();
		view.lus[i] = lus[i];
	}
	view.count = 2;
}

static void run(const struct it_nexus *nx, const uint8_t *cdb, const uint8_t *out, uint32_t len)
{
	struct scsi_task t;

	memset(&t, 0, sizeof(t));
	lu_get(lus[0]);
	t.lu = lus[0];
	t.nexus = nx;
	t.view = &view;
	memcpy(t.cdb, cdb, 16);
	t.cdb_len = 16;
	t.exp_xfer_len = len ? len : 1024;
	t.done = task_done;
	done_calls = 0;
	if (scsi_task_setup(&t) == 0) {
		if (t.data_out_len) {
			uint32_t n = t.data_out_len < len ? t.data_out_len : len;

			if (scsi_task_alloc_buf(&t, t.data_out_len) < 0)
				abort();
			memcpy(t.buf, out, n);
		}
		scsi_task_execute(&t);
		if (done_calls != 1)
			abort();
	}
	scsi_task_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t cdb[16] = { OP_EXTENDED_COPY }, *pl;
	const struct it_nexus *nx;
	uint32_t len;

	init_once();
	if (size < 1 || size > 1 + XCOPY_MAX_PARAM_LEN + 64)
		return 0;
	nx = &nexus[(data[0] >> 1) & 1];
	len = (uint32_t)size - 1;
	pl = malloc(len ? len : 1);
	if (!pl)
		return 0;
	memcpy(pl, data + 1, len);
	if (data[0] & 1)
		for (uint32_t off = XCOPY_HDR_LEN, i = 0; off + XCOPY_CSCD_LEN <= len;
		     off += XCOPY_CSCD_LEN, i++)
			memcpy(pl + off + 8, lus[i & 1]->cfg.naa, 8);
	put_be32(cdb + 10, len);
	run(nx, cdb, pl, len);
	/* Then what the copy manager remembers about that list id. */
	for (uint8_t sa = 0; sa <= 4; sa++) {
		uint8_t rcr[16] = { OP_RECEIVE_COPY_RESULTS, sa, len ? pl[0] : 0 };

		put_be32(rcr + 10, 1024);
		run(nx, rcr, NULL, 0);
	}
	free(pl);
	return 0;
}
