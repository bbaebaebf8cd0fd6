/* SANITIZE (SBC-3 5.30) and FORMAT UNIT (SBC-3 5.3): operations over the whole medium, profile
 * invar-2026.3.
 *
 * How they run: one struct maint_op per LU drives the medium chunk by chunk through the
 * backstore, asynchronously, on the worker that received the command: each chunk is one bs_io;
 * its completion arms a 0 ms timer on that worker's loop, whose callback submits the next one.
 * So no thread blocks for more than one chunk, other connections on the worker keep being
 * served between chunks, and no helper thread or cross-thread completion exists. The operation
 * belongs to the LU, not to the command: with IMMED the command is answered once the
 * parameters are checked; without it, at the end; a command aborted meanwhile (ABORT TASK, a
 * reset, the connection closing) is answered at the next chunk boundary and the operation goes
 * on (SBC-3 4.11: task management does not stop a sanitize).
 *
 * While one runs, lu->maint.state says so and dispatch answers every command but INQUIRY, REPORT
 * LUNS and REQUEST SENSE with NOT READY, SANITIZE IN PROGRESS (04/1B) or FORMAT IN PROGRESS
 * (04/04), with the progress indication in the sense-key specific bytes (REQUEST SENSE returns
 * the same). A chunk that fails (EIO, ENOSPC) ends the operation: the command, if still
 * waiting, gets the backstore's error, never GOOD; the LU is left in sanitize failure mode
 * (medium commands get MEDIUM ERROR, SANITIZE COMMAND FAILED, until a SANITIZE succeeds or, if
 * the failed one had AUSE set, EXIT FAILURE MODE) or with MEDIUM FORMAT CORRUPTED until a FORMAT
 * UNIT succeeds.
 *
 * What happens to the data: OVERWRITE writes the initialization pattern (repeated to fill each
 * block, inverted between passes when INVERT is set) over every block, COUNT times; BLOCK
 * ERASE and FORMAT UNIT deallocate every block (BS_OP_UNMAP: hole punch on a file, zeroes in
 * RAM), so reads return zeroes; a backstore that cannot deallocate has zeroes written instead.
 * Every operation ends with a flush: when it reports success the result is durable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "rt/worker.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "util/byteorder.h"
#include "util/list.h"
#include "util/log.h"

/* Bytes per chunk: a pattern write, or a deallocation (cheap per byte, so larger). */
#define MAINT_WRITE_CHUNK (1u << 20)
#define MAINT_UNMAP_CHUNK (64u << 20)
/* Pattern writes (OVERWRITE, and zeroes where a backstore cannot deallocate) are paced to this
 * rate. They are background work sharing the worker and the backing device with every other LU
 * and connection; unpaced, a sanitize would take the device's whole write bandwidth (and the
 * page cache) until it ends. 128 MiB/s is about what a disk sustains, so an overwrite takes the
 * time a real one would (1 TiB in a little over 2 hours). Deallocation is not paced. */
#define MAINT_WRITE_BYTES_PER_SEC (128ull << 20)
/* An OVERWRITE pattern is at most one block; lu_create() accepts blocks up to 4096 bytes. */
#define MAINT_PATTERN_MAX 4096

enum maint_kind {
	MK_OVERWRITE,	/* write op->chunk (the pattern) over the medium, op->passes times */
	MK_ERASE,	/* deallocate (or zero) the medium */
};

struct maint_op {
	struct lu *lu;			/* holds a reference */
	struct worker *worker;		/* where the chunks run; NULL: synchronously (unit tests) */
	struct scsi_task *task;		/* still waiting for the result, or NULL */
	int running;			/* SBC_MAINT_SANITIZE or SBC_MAINT_FORMAT */
	bool ause;
	enum maint_kind kind;
	enum bs_opcode erase_op;	/* MK_ERASE: BS_OP_UNMAP, BS_OP_WRITE_ZEROES or BS_OP_WRITE */
	uint64_t size, off;		/* bytes: the medium, and how far this pass got */
	unsigned pass, passes;
	bool invert;
	bool flushed;
	int res;			/* first error, 0 while fine */
	bool again;			/* synchronous driver: the last chunk has completed */
	uint8_t pattern[MAINT_PATTERN_MAX];
	uint32_t pattern_len;
	uint8_t *chunk;			/* pattern-filled (OVERWRITE) or zero (erase fallback) */
	uint32_t chunk_len;
	struct lu_io io;
	struct ev_timer timer;
	uint64_t start_ms;		/* when the operation started (pacing) */
	uint64_t written;		/* bytes of pattern or zeroes written so far (pacing) */
};

/* ---- admission while an operation runs or has failed --------------------------------------- */

static void put_progress(struct sense_extra *x, unsigned progress)
{
	/* SPC-4 4.5.2.4.4 progress indication: SKSV, then PROGRESS INDICATION (of 65536). */
	x->sks_valid = true;
	x->sks[0] = 0;
	x->sks[1] = (uint8_t)(progress >> 8);
	x->sks[2] = (uint8_t)progress;
}

enum sense_reason sbc_maint_sense(struct lu *lu, struct sense_extra *x)
{
	switch (atomic_load(&lu->maint.state)) {
	case SBC_MAINT_SANITIZE:
		put_progress(x, atomic_load(&lu->maint.progress));
		return SR_NOT_READY_SANITIZE;
	case SBC_MAINT_FORMAT:
		put_progress(x, atomic_load(&lu->maint.progress));
		return SR_NOT_READY_FORMAT;
	case SBC_MAINT_SANITIZE_FAILED: return SR_SANITIZE_FAILED;
	case SBC_MAINT_FORMAT_FAILED: return SR_MEDIUM_FORMAT_CORRUPTED;
	default: return SR_OK;
	}
}

static bool is_sanitize(const struct scsi_cmd *c)
{
	return c->id == SCMD_SANITIZE_OVERWRITE || c->id == SCMD_SANITIZE_BLOCK_ERASE ||
	       c->id == SCMD_SANITIZE_EXIT_FAILURE;
}

enum sense_reason sbc_maint_admit(const struct scsi_task *t, const struct scsi_cmd *c,
				  struct sense_extra *x)
{
	int m = atomic_load(&t->lu->maint.state);

	switch (m) {
	case SBC_MAINT_SANITIZE:
	case SBC_MAINT_FORMAT:
		/* SBC-3 4.11 / 5.3: INQUIRY, REPORT LUNS and REQUEST SENSE only. */
		if (c->flags & SCMD_F_UA_EXEMPT)
			return SR_OK;
		return sbc_maint_sense(t->lu, x);
	case SBC_MAINT_SANITIZE_FAILED:
		/* Failure mode: a new SANITIZE (or EXIT FAILURE MODE) is the way out. */
		if (!(c->flags & SCMD_F_MEDIUM) || is_sanitize(c))
			return SR_OK;
		return SR_SANITIZE_FAILED;
	case SBC_MAINT_FORMAT_FAILED:
		if (!(c->flags & SCMD_F_MEDIUM) || c->id == SCMD_FORMAT_UNIT || is_sanitize(c))
			return SR_OK;
		return SR_MEDIUM_FORMAT_CORRUPTED;
	default:
		return SR_OK;
	}
}

/* ---- the chunk engine -------------------------------------------------------------------- */

static void maint_step(struct maint_op *op);

static unsigned maint_progress(const struct maint_op *op)
{
	uint64_t total = op->size * op->passes, done = op->size * op->pass + op->off;

	if (!total)
		return 0;
	return (unsigned)(done * 65535 / total);
}

static void maint_answer(struct maint_op *op, enum sense_reason r)
{
	struct scsi_task *t = op->task;

	if (!t)
		return;
	op->task = NULL;
	scsi_task_complete(t, r, NULL);
}

/* The waiting command's answer. A failed operation has changed the medium and left the LU in
 * failure mode, so even a backstore's request for a retry (EBUSY, EAGAIN) is reported as the
 * failure it ended in, never as BUSY or TASK SET FULL, which would say nothing was done. */
static enum sense_reason maint_reason(int res)
{
	if (res == -EBUSY || res == -EAGAIN)
		return SR_HARDWARE_ERROR;
	return res < 0 ? lu_io_reason(res, true) : SR_OK;
}

static void maint_finish(struct maint_op *op)
{
	struct lu *lu = op->lu;
	int failed = op->running == SBC_MAINT_SANITIZE ? SBC_MAINT_SANITIZE_FAILED
						       : SBC_MAINT_FORMAT_FAILED;

	atomic_store(&lu->maint.progress, 0);
	atomic_store(&lu->maint.ause, op->ause);
	atomic_store(&lu->maint.state, op->res < 0 ? failed : SBC_MAINT_NONE);
	if (op->res < 0)
		log_warn("lu %s: %s failed at byte %llu: %s", lu->cfg.serial,
			 op->running == SBC_MAINT_SANITIZE ? "SANITIZE" : "FORMAT UNIT",
			 (unsigned long long)op->off, strerror(-op->res));
	else
		log_info("lu %s: %s done", lu->cfg.serial,
			 op->running == SBC_MAINT_SANITIZE ? "SANITIZE" : "FORMAT UNIT");
	maint_answer(op, maint_reason(op->res));
	free(op->chunk);
	lu_put(lu);
	free(op);
}

static void maint_timer_cb(struct ev_timer *tm)
{
	maint_step(container_of(tm, struct maint_op, timer));
}

/* How long to wait before the next chunk so writes stay at MAINT_WRITE_BYTES_PER_SEC. */
static uint64_t maint_pace_ms(const struct maint_op *op)
{
	uint64_t due = op->start_ms + op->written * 1000 / MAINT_WRITE_BYTES_PER_SEC;
	uint64_t now = ev_now_ms();

	return due > now ? due - now : 0;
}

static void maint_io_done(struct lu_io *lio, int res)
{
	struct maint_op *op = lio->priv;
	const struct bs_io *io = &lio->bs;

	if (res < 0 && !op->res)
		op->res = res;
	if (res == 0 && io->op != BS_OP_FLUSH) {
		if (io->op == BS_OP_WRITE)
			op->written += io->len;
		op->off += io->len;
		if (op->off >= op->size && op->pass + 1 < op->passes) {
			op->pass++;
			op->off = 0;
		}
	}
	atomic_store(&op->lu->maint.progress, maint_progress(op));
	/* An aborted command (TMF, connection gone) is let go now; the operation goes on. */
	if (op->task && op->task->aborted)
		maint_answer(op, SR_ABORTED_CMD_CLEARED);
	if (op->worker)
		ev_timer_arm(op->worker->loop, &op->timer, maint_pace_ms(op));
	else
		op->again = true;
}

/* OVERWRITE: each block starts with the pattern, repeated to fill it; odd passes invert it
 * when INVERT is set (SBC-3 5.30.2.2). */
static void maint_fill_chunk(struct maint_op *op)
{
	uint8_t x = op->invert && (op->pass & 1) ? 0xff : 0x00;
	uint32_t bsz = op->lu->block_size;

	for (uint32_t b = 0; b < op->chunk_len; b += bsz)
		for (uint32_t i = 0; i < bsz; i++)
			op->chunk[b + i] = op->pattern[i % op->pattern_len] ^ x;
}

/* Submit the next chunk, or finish. */
static void maint_step(struct maint_op *op)
{
	uint64_t left;

	if (op->res < 0 || op->flushed) {
		maint_finish(op);
		return;
	}
	if (op->pass >= op->passes || (op->pass + 1 == op->passes && op->off >= op->size)) {
		/* Every block done: make it durable before reporting success. */
		op->flushed = true;
		lu_io_start(&op->io, op->lu, op->worker, BS_OP_FLUSH, 0, 0, 0, NULL, maint_io_done,
			    op);
		return;
	}
	left = op->size - op->off;
	if (op->kind == MK_OVERWRITE || op->erase_op == BS_OP_WRITE) {
		if (op->kind == MK_OVERWRITE && op->off == 0)
			maint_fill_chunk(op);
		/* No FUA: the flush at the end makes the whole operation durable. */
		lu_io_start(&op->io, op->lu, op->worker, BS_OP_WRITE, 0, op->off,
			    left < op->chunk_len ? left : op->chunk_len, op->chunk, maint_io_done,
			    op);
	} else {
		lu_io_start(&op->io, op->lu, op->worker, op->erase_op, 0, op->off,
			    left < MAINT_UNMAP_CHUNK ? left : MAINT_UNMAP_CHUNK, NULL,
			    maint_io_done, op);
	}
}

/* Claim the LU (lu->maint.state from none or a failure to running) and start. The task is answered
 * now with IMMED, else when the operation ends. */
static void maint_start(struct scsi_task *t, struct maint_op *op, bool immed)
{
	struct lu *lu = t->lu;
	int cur = atomic_load(&lu->maint.state);

	if (cur == SBC_MAINT_SANITIZE || cur == SBC_MAINT_FORMAT ||
	    !atomic_compare_exchange_strong(&lu->maint.state, &cur, op->running)) {
		enum sense_reason r = cur == SBC_MAINT_FORMAT ? SR_NOT_READY_FORMAT
							      : SR_NOT_READY_SANITIZE;

		/* Another command got there first (dispatch admitted both). */
		free(op->chunk);
		free(op);
		scsi_task_complete(t, r, NULL);
		return;
	}
	atomic_store(&lu->maint.progress, 0);
	lu_get(lu);
	op->lu = lu;
	op->worker = t->worker;
	op->size = lu_num_blocks(lu) * lu->block_size;
	op->timer.cb = maint_timer_cb;
	op->start_ms = ev_now_ms();
	log_info("lu %s: %s started", lu->cfg.serial,
		 op->running == SBC_MAINT_SANITIZE ? "SANITIZE" : "FORMAT UNIT");
	if (immed) {
		scsi_task_complete(t, SR_OK, NULL);
	} else {
		op->task = t;
	}
	if (op->worker) {
		maint_step(op);
		return;
	}
	/* No worker (unit tests): every backstore completes synchronously then; drive it here. */
	for (;;) {
		op->again = false;
		bool last = op->res < 0 || op->flushed;

		maint_step(op);
		if (last || !op->again)
			return;
	}
}

/* The medium becomes zeroes: deallocated where the backstore can (and reads back zeroes),
 * else zeroes written. */
static int maint_setup_erase(struct maint_op *op, const struct lu *lu)
{
	op->kind = MK_ERASE;
	op->passes = 1;
	if (lu->bs->can_unmap && lu->bs->unmap_zeroes) {
		op->erase_op = BS_OP_UNMAP;
	} else if (lu->bs->can_unmap) {
		op->erase_op = BS_OP_WRITE_ZEROES;
	} else {
		op->erase_op = BS_OP_WRITE;
		op->chunk_len = MAINT_WRITE_CHUNK;
		op->chunk = calloc(1, op->chunk_len);
		if (!op->chunk)
			return -ENOMEM;
	}
	return 0;
}

/* ---- SANITIZE, SBC-3 5.30 ------------------------------------------------------------------ */

#define SAN_IMMED 0x80
#define SAN_AUSE 0x20
#define SAN_OFF_PLL 7
#define SAN_OW_HDR 4
#define SAN_OW_INVERT 0x80
#define SAN_OW_TEST 0x60
#define SAN_OW_COUNT 0x1f

enum sense_reason sbc_maint_setup_sanitize(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;
	uint32_t pll = get_be16(t->cdb + SAN_OFF_PLL);
	const struct scsi_cmd *c = t->cmd;

	if (c->id == SCMD_SANITIZE_OVERWRITE) {
		/* SBC-3 5.30.2: the list is the 4-byte header and a pattern of 1 to block-size
		 * bytes; any other length is an invalid PARAMETER LIST LENGTH. */
		if (pll <= SAN_OW_HDR || pll > lu->block_size + SAN_OW_HDR) {
			sense_field_pointer(x, true, SAN_OFF_PLL, 7);
			return SR_INVALID_FIELD_IN_CDB;
		}
	} else if (pll != 0) {
		/* BLOCK ERASE and EXIT FAILURE MODE take no parameter list. */
		sense_field_pointer(x, true, SAN_OFF_PLL, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (lu->bs->read_only || atomic_load_explicit(&lu->mode.swp, memory_order_relaxed))
		return SR_WRITE_PROTECTED;
	t->dir = pll ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	t->data_out_len = pll;
	return SR_OK;
}

/* Check a received OVERWRITE parameter list and copy it into op. */
static enum sense_reason sanitize_overwrite_params(const struct scsi_task *t, struct maint_op *op,
						   struct sense_extra *x)
{
	const uint8_t *p = t->buf;
	uint32_t got = scsi_task_data_out_received(t), plen;

	if (got < t->data_out_len)
		return SR_PARAM_LIST_LENGTH_ERROR;
	plen = get_be16(p + 2);
	/* TEST (bits 6-5) is reserved for vendor test modes: none here. */
	if (p[0] & SAN_OW_TEST) {
		sense_field_pointer(x, false, 0, 6);
		return SR_INVALID_FIELD_IN_PARAM;
	}
	/* OVERWRITE COUNT 0 and an INITIALIZATION PATTERN LENGTH of 0 or more than a block are
	 * refused as INVALID FIELD IN CDB, the answer libiscsi's conformance suite requires. */
	if (!(p[0] & SAN_OW_COUNT) || plen == 0 || plen > t->lu->block_size) {
		sense_field_pointer(x, true, SAN_OFF_PLL, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (plen > got - SAN_OW_HDR) {
		/* The pattern is longer than the list that carries it. */
		sense_field_pointer(x, false, 2, 7);
		return SR_PARAM_LIST_LENGTH_ERROR;
	}
	op->kind = MK_OVERWRITE;
	op->passes = p[0] & SAN_OW_COUNT;
	op->invert = p[0] & SAN_OW_INVERT;
	op->pattern_len = plen;
	memcpy(op->pattern, p + SAN_OW_HDR, plen);
	op->chunk_len = MAINT_WRITE_CHUNK;
	op->chunk = malloc(op->chunk_len);
	return op->chunk ? SR_OK : SR_OUT_OF_RESOURCES;
}

void sbc_maint_sanitize(struct scsi_task *t)
{
	const struct scsi_cmd *c = t->cmd;
	struct lu *lu = t->lu;
	struct sense_extra x = { 0 };
	struct maint_op *op;
	enum sense_reason r;

	if (c->id == SCMD_SANITIZE_EXIT_FAILURE) {
		int failed = SBC_MAINT_SANITIZE_FAILED;

		/* SBC-3 5.30.4: only after a failed sanitize that had AUSE set; outside failure
		 * mode there is nothing to leave. */
		if (atomic_load(&lu->maint.state) == SBC_MAINT_SANITIZE_FAILED &&
		    !atomic_load(&lu->maint.ause)) {
			sense_field_pointer(&x, true, 1, 4);
			scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, &x);
			return;
		}
		atomic_compare_exchange_strong(&lu->maint.state, &failed, SBC_MAINT_NONE);
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	op->running = SBC_MAINT_SANITIZE;
	op->ause = t->cdb[1] & SAN_AUSE;
	if (c->id == SCMD_SANITIZE_OVERWRITE)
		r = sanitize_overwrite_params(t, op, &x);
	else
		r = maint_setup_erase(op, lu) < 0 ? SR_OUT_OF_RESOURCES : SR_OK;
	if (r != SR_OK) {
		free(op->chunk);
		free(op);
		scsi_task_complete(t, r, &x);
		return;
	}
	maint_start(t, op, t->cdb[1] & SAN_IMMED);
}

/* ---- FORMAT UNIT, SBC-3 5.3 -------------------------------------------------------------------
 * The CDB has no parameter list length: with FMTDATA=1 the list is what the initiator sends
 * (the iSCSI expected transfer length), bounded. Protection information is not supported
 * (FMTPINFO is refused by the usage mask, PROTECTION FIELD USAGE and the long header's P_I
 * fields must be zero); no defects can be added (DEFECT LIST LENGTH must be 0); IP (an
 * initialization pattern) is not supported: the medium always becomes zeroes. */

#define FU_LONGLIST 0x20
#define FU_FMTDATA 0x10
#define FU_FORMAT_MASK 0x07
#define FU_PARAM_MAX 4096
#define FU_SHORT_HDR 4
#define FU_LONG_HDR 8
#define FU_PFU_MASK 0x07
#define FU_FOV 0x80
#define FU_DPRY 0x40
#define FU_DCRT 0x20
#define FU_STPF 0x10
#define FU_IP 0x08
#define FU_IMMED 0x02

enum sense_reason sbc_maint_setup_format(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;
	uint32_t hdr = t->cdb[1] & FU_LONGLIST ? FU_LONG_HDR : FU_SHORT_HDR;

	if (lu->bs->read_only || atomic_load_explicit(&lu->mode.swp, memory_order_relaxed))
		return SR_WRITE_PROTECTED;
	if (!(t->cdb[1] & FU_FMTDATA)) {
		t->dir = SCSI_DIR_NONE;
		return SR_OK;
	}
	switch (t->cdb[1] & FU_FORMAT_MASK) {
	case 0x0:
	case 0x3:
	case 0x4:
	case 0x5:
		break;
	default:
		sense_field_pointer(x, true, 1, 2);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (t->exp_xfer_len < hdr)
		return SR_PARAM_LIST_LENGTH_ERROR;
	t->dir = SCSI_DIR_WRITE;
	t->data_out_len = t->exp_xfer_len < FU_PARAM_MAX ? t->exp_xfer_len : FU_PARAM_MAX;
	return SR_OK;
}

/* Check a FORMAT UNIT parameter list (short or long header, SBC-3 5.3.2). *immed: the header's
 * IMMED bit. */
enum sense_reason sbc_maint_format_params(const uint8_t *p, uint32_t len, bool longlist,
					  bool *immed, struct sense_extra *x)
{
	uint32_t hdr = longlist ? FU_LONG_HDR : FU_SHORT_HDR;
	uint32_t dll;

	*immed = false;
	if (len < hdr)
		return SR_PARAM_LIST_LENGTH_ERROR;
	dll = longlist ? get_be32(p + 4) : get_be16(p + 2);
	if (p[0] & FU_PFU_MASK) {
		sense_field_pointer(x, false, 0, 2);
		return SR_INVALID_FIELD_IN_PARAM;
	}
	if (longlist && p[3]) {
		/* P_I_INFORMATION, PROTECTION INTERVAL EXPONENT. */
		sense_field_pointer(x, false, 3, cdb_top_bit(p[3]));
		return SR_INVALID_FIELD_IN_PARAM;
	}
	/* FOV=0: DPRY, DCRT, STPF and IP must be zero (defaults). With FOV=1 only the ones that
	 * change nothing here: DPRY/DCRT (no defect lists to use or certify against), STPF. */
	if ((p[1] & FU_IP) || (!(p[1] & FU_FOV) && (p[1] & (FU_DPRY | FU_DCRT | FU_STPF)))) {
		sense_field_pointer(x, false, 1, cdb_top_bit(p[1] & (FU_DPRY | FU_DCRT | FU_STPF |
								       FU_IP)));
		return SR_INVALID_FIELD_IN_PARAM;
	}
	if (dll != 0) {
		sense_field_pointer(x, false, longlist ? 4 : 2, 7);
		return SR_INVALID_FIELD_IN_PARAM;
	}
	*immed = p[1] & FU_IMMED;
	return SR_OK;
}

void sbc_maint_format(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	struct sense_extra x = { 0 };
	enum sense_reason r = SR_OK;
	struct maint_op *op;
	bool immed = false;

	if (t->cdb[1] & FU_FMTDATA) {
		uint32_t got = scsi_task_data_out_received(t);

		r = sbc_maint_format_params(t->buf, got, t->cdb[1] & FU_LONGLIST, &immed, &x);
		if (r != SR_OK) {
			scsi_task_complete(t, r, &x);
			return;
		}
	}
	op = calloc(1, sizeof(*op));
	if (!op || maint_setup_erase(op, lu) < 0) {
		if (op)
			free(op->chunk);
		free(op);
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	op->running = SBC_MAINT_FORMAT;
	maint_start(t, op, immed);
}
