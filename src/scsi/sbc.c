/* SBC-3 block commands: READ CAPACITY, READ/WRITE/VERIFY/WRITE AND VERIFY of every size and
 * SYNCHRONIZE CACHE. Dispatch has already decoded the LBA and length into t->lba/t->nblocks,
 * checked xxPROTECT, the range and write protection; I/O goes to the backstore as one bs_io. */
#include <errno.h>
#include <string.h>

#include "backstore/backstore.h"
#include "core/lu.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "util/byteorder.h"
#include "util/log.h"

/* t->core_flags while a bs_io is in flight. */
#define CF_READ (1u << 0)
#define CF_WRITE (1u << 1)
#define CF_VERIFY (1u << 2)	/* compare data-out (first half of buf) with the medium */
#define CF_VERIFY_ONE (1u << 3) /* BYTCHK 11b: one block of data-out against every block */
#define CF_FLUSH (1u << 4)
#define CF_NO_DATA_IN (1u << 5) /* read only to check the medium (VERIFY BYTCHK=0) */

#define BYTCHK_NONE 0
#define BYTCHK_COMPARE 1
#define BYTCHK_ONE_BLOCK 3

static bool is_verify(uint8_t op)
{
	return op == OP_VERIFY_10 || op == OP_VERIFY_12 || op == OP_VERIFY_16;
}

static bool is_read(uint8_t op)
{
	return op == OP_READ_6 || op == OP_READ_10 || op == OP_READ_12 || op == OP_READ_16;
}

enum sense_reason sbc_setup_rw(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;
	const struct scsi_cmd *c = t->cmd;
	uint32_t max_blocks = lu->profile->limits.max_xfer_bytes / lu->block_size;
	uint32_t xfer_blocks = t->nblocks;
	struct cdb_rw rw;

	cdb_decode_rw(t->cdb, &rw);
	if (c->id == SCMD_SYNC_CACHE_10 || c->id == SCMD_SYNC_CACHE_16)
		return SR_OK;
	if (is_verify(t->cdb[0])) {
		switch (rw.bytchk) {
		case BYTCHK_NONE: xfer_blocks = 0; break;
		case BYTCHK_COMPARE: break;
		case BYTCHK_ONE_BLOCK: xfer_blocks = t->nblocks ? 1 : 0; break;
		default:
			sense_field_pointer(x, true, 1, 2);
			return SR_INVALID_FIELD_IN_CDB;
		}
	}
	/* SBC-3 6.5.3: a transfer longer than MAXIMUM TRANSFER LENGTH is an invalid field. It
	 * also bounds the buffers a task can make us allocate (a comparing VERIFY reads the
	 * whole range). VERIFY without a compare only reads what fits (sbc_verify). */
	if (t->nblocks > max_blocks && (xfer_blocks || !is_verify(t->cdb[0]))) {
		sense_field_pointer(x, true, rw.len_off, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (is_read(t->cdb[0])) {
		t->dir = SCSI_DIR_READ;
		t->data_in_max = xfer_blocks * lu->block_size;
	} else if (xfer_blocks) {
		t->dir = SCSI_DIR_WRITE;
		t->data_out_len = xfer_blocks * lu->block_size;
	} else {
		t->dir = SCSI_DIR_NONE;
	}
	return SR_OK;
}

static enum sense_reason errno_reason(int res, bool write)
{
	switch (res) {
	case -EIO: return write ? SR_MEDIUM_ERROR_WRITE : SR_MEDIUM_ERROR_READ;
	case -ENOSPC:
	case -EDQUOT: return SR_SPACE_ALLOC_FAILED;
	case -EROFS: return SR_WRITE_PROTECTED;
	case -ENOMEM: return SR_OUT_OF_RESOURCES;
	default: return SR_HARDWARE_ERROR;
	}
}

/* The first byte where the data-out and the medium differ, or -1. */
static long verify_compare(const struct scsi_task *t, uint32_t out_len, uint32_t med_len)
{
	const uint8_t *out = t->buf, *med = t->buf + out_len;

	if (t->core_flags & CF_VERIFY_ONE) {
		for (uint32_t off = 0; off < med_len; off++)
			if (med[off] != out[off % out_len])
				return (long)off;
		return -1;
	}
	for (uint32_t off = 0; off < out_len; off++)
		if (out[off] != med[off])
			return (long)off;
	return -1;
}

static void sbc_io_done(struct bs_io *io, int res)
{
	struct scsi_task *t = io->priv;
	uint32_t flags = t->core_flags;
	struct sense_extra x = { 0 };

	t->core_flags = 0;
	if (res < 0) {
		log_debug("lu io %s at %llu+%llu failed: %d",
			  flags & CF_WRITE ? "write" : flags & CF_FLUSH ? "flush" : "read",
			  (unsigned long long)io->offset, (unsigned long long)io->len, res);
		t->data_in_len = 0;
		if (res == -EIO && !(flags & CF_FLUSH)) {
			/* SPC-4 4.5.3: INFORMATION is the first LBA of the failed range. */
			x.info_valid = true;
			x.info = t->lba;
		}
		scsi_task_complete(t, errno_reason(res, flags & (CF_WRITE | CF_FLUSH)), &x);
		return;
	}
	if (flags & CF_VERIFY) {
		uint32_t out_len = (flags & CF_VERIFY_ONE) ? t->lu->block_size : (uint32_t)io->len;
		long off = verify_compare(t, out_len, (uint32_t)io->len);

		if (off >= 0) {
			/* SBC-3 5.33: INFORMATION = offset of the first miscompared byte. */
			x.info_valid = true;
			x.info = (uint64_t)off;
			scsi_task_complete(t, SR_MISCOMPARE, &x);
			return;
		}
	} else if ((flags & CF_READ) && !(flags & CF_NO_DATA_IN)) {
		t->data_in_len = (uint32_t)io->len;
	}
	scsi_task_complete(t, SR_OK, NULL);
}

static void sbc_submit(struct scsi_task *t, enum bs_opcode op, uint32_t flags, uint64_t len,
		       void *buf, uint32_t cf)
{
	t->core_flags = cf;
	memset(&t->io, 0, sizeof(t->io));
	t->io.op = op;
	t->io.flags = flags;
	t->io.offset = op == BS_OP_FLUSH ? 0 : t->lba * t->lu->block_size;
	t->io.len = len;
	t->io.buf = buf;
	t->io.worker = t->worker;
	t->io.done = sbc_io_done;
	t->io.priv = t;
	backstore_submit(t->lu->bs, &t->io);
}

void sbc_read(struct scsi_task *t)
{
	uint32_t len = t->data_in_max;

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (scsi_task_alloc_buf(t, len) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	sbc_submit(t, BS_OP_READ, 0, len, t->buf, CF_READ);
}

/* Data-out actually received: the SCSI length, cut to EDTL and to what the fabric stored. */
static uint32_t data_out_received(const struct scsi_task *t)
{
	uint32_t n = t->data_out_len;

	if (n > t->exp_xfer_len)
		n = t->exp_xfer_len;
	if (!t->buf)
		return 0;
	if (n > t->buf_len)
		n = t->buf_len;
	return n;
}

void sbc_write(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	struct cdb_rw rw;
	uint32_t flags = 0;
	/* Only whole blocks that arrived are written (EDTL < transfer length: SAM-5 5.4.3). */
	uint32_t len = data_out_received(t) / lu->block_size * lu->block_size;

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	cdb_decode_rw(t->cdb, &rw);
	/* FUA, WRITE AND VERIFY (the data must be on the medium to be verified) and a disabled
	 * write cache all make the write durable before GOOD. */
	if (rw.fua || !atomic_load_explicit(&lu->wce, memory_order_relaxed) ||
	    t->cdb[0] == OP_WRITE_VERIFY_10 || t->cdb[0] == OP_WRITE_VERIFY_12 ||
	    t->cdb[0] == OP_WRITE_VERIFY_16)
		flags |= BS_IO_FUA;
	sbc_submit(t, BS_OP_WRITE, flags, len, t->buf, CF_WRITE);
}

void sbc_verify(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint64_t med_len = (uint64_t)t->nblocks * lu->block_size;
	struct cdb_rw rw;
	uint32_t out_len;

	cdb_decode_rw(t->cdb, &rw);
	if (t->nblocks == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (rw.bytchk == BYTCHK_NONE) {
		/* SBC-3 5.33: check the medium can be read. Ranges past the transfer limit are
		 * only range-checked (done in setup): nothing to read them into. */
		if (med_len > lu->profile->limits.max_xfer_bytes) {
			scsi_task_complete(t, SR_OK, NULL);
			return;
		}
		if (scsi_task_alloc_buf(t, (uint32_t)med_len) < 0) {
			scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
			return;
		}
		sbc_submit(t, BS_OP_READ, 0, med_len, t->buf, CF_READ | CF_NO_DATA_IN);
		return;
	}
	out_len = data_out_received(t);
	if (out_len < t->data_out_len) {
		/* Nothing to compare the medium with. */
		scsi_task_complete(t, SR_PARAM_LIST_LENGTH_ERROR, NULL);
		return;
	}
	out_len = t->data_out_len;
	if (scsi_task_alloc_buf(t, out_len + (uint32_t)med_len) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	sbc_submit(t, BS_OP_READ, 0, med_len, t->buf + out_len,
		   CF_READ | CF_NO_DATA_IN | CF_VERIFY |
			   (rw.bytchk == BYTCHK_ONE_BLOCK ? CF_VERIFY_ONE : 0));
}

void sbc_sync_cache(struct scsi_task *t)
{
	/* IMMED is honoured by simply completing after the flush: GOOD then means more. */
	sbc_submit(t, BS_OP_FLUSH, 0, 0, NULL, CF_FLUSH);
}

/* ---- READ CAPACITY, SBC-3 5.15 and 5.16 -------------------------------------------------- */

#define RC_PMI 0x01

enum sense_reason sbc_setup_read_capacity_10(struct scsi_task *t, struct sense_extra *x)
{
	/* SBC-3 5.15: with PMI=0 the LOGICAL BLOCK ADDRESS field shall be zero. */
	if (!(t->cdb[8] & RC_PMI) && get_be32(t->cdb + 2) != 0) {
		sense_field_pointer(x, true, 2, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	t->dir = SCSI_DIR_READ;
	t->data_in_max = 8;
	return SR_OK;
}

void sbc_read_capacity_10(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint64_t last = lu->num_blocks - 1;
	uint8_t b[8];

	/* Too large for 32 bits: FFFFFFFFh tells the initiator to use READ CAPACITY(16). */
	put_be32(b, last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	put_be32(b + 4, lu->block_size);
	scsi_task_complete(t, scsi_task_data_in(t, b, sizeof(b)), NULL);
}

void sbc_read_capacity_16(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint8_t b[32];

	memset(b, 0, sizeof(b));
	put_be64(b, lu->num_blocks - 1);
	put_be32(b + 8, lu->block_size);
	/* b[12]: P_TYPE/PROT_EN 0; b[13]: one logical block per physical block; b[14-15]:
	 * LBPME=0, LBPRZ=0, lowest aligned LBA 0. */
	scsi_task_complete(t, scsi_task_data_in(t, b, sizeof(b)), NULL);
}
