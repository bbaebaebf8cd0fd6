/* SBC-3 block commands: READ CAPACITY, READ/WRITE/VERIFY/WRITE AND VERIFY of every size,
 * SYNCHRONIZE CACHE, and (profile invar-2026.2) WRITE SAME, UNMAP, GET LBA STATUS and COMPARE
 * AND WRITE. Dispatch has already decoded the LBA and length into t->lba/t->nblocks,
 * checked xxPROTECT, the range and write protection; I/O goes to the backstore through the LU
 * I/O path (scsi/lu_io.h). */
#include <errno.h>
#include <string.h>

#include "backstore/backstore.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
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
#define CF_UNMAP (1u << 6)	/* one UNMAP descriptor: go on with the next */
#define CF_FLUSH_AFTER (1u << 7) /* a deallocation under WCE=0: a flush before GOOD */

/* UNMAP and WRITE SAME's deallocation change the medium like a write, and under WCE=0 a write
 * is on stable storage before GOOD (SBC-3 4.18, the caching page). A hole punch lives in the
 * file system's metadata until something syncs it (a power cut brought the old data back:
 * docs/design/durability.md), so under WCE=0 a flush follows it. */
static bool dealloc_needs_flush(const struct lu *lu)
{
	return lu_io_write_flags(lu, false) & BS_IO_FUA;
}

/* The largest block size lu_create() accepts. */
#define SBC_MAX_BLOCK 4096

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

static void sbc_unmap_next(struct scsi_task *t, int res);
static void sbc_io(struct scsi_task *t, enum bs_opcode op, uint32_t flags, uint64_t offset,
		   uint64_t len, void *buf, uint32_t cf);

static void sbc_io_done(struct lu_io *lio, int res)
{
	struct scsi_task *t = lio->priv;
	struct bs_io *io = &lio->bs;
	uint32_t flags = t->core_flags;
	struct sense_extra x = { 0 };

	t->core_flags = 0;
	if (flags & CF_UNMAP) {
		sbc_unmap_next(t, res);
		return;
	}
	if ((flags & CF_FLUSH_AFTER) && res >= 0) {
		sbc_io(t, BS_OP_FLUSH, 0, 0, 0, NULL, CF_FLUSH);
		return;
	}
	if (res < 0) {
		if (res != -EBUSY && res != -EAGAIN)
			log_debug("lu io %s at %llu+%llu failed: %d",
				  flags & CF_WRITE ? "write" : flags & CF_FLUSH ? "flush" : "read",
				  (unsigned long long)io->offset, (unsigned long long)io->len, res);
		t->data_in_len = 0;
		if (res == -EIO && !(flags & CF_FLUSH)) {
			/* SPC-4 4.5.3: INFORMATION is the first LBA of the failed range. */
			x.info_valid = true;
			x.info = t->lba;
		}
		scsi_task_complete(t, lu_io_reason(res, flags & (CF_WRITE | CF_FLUSH)), &x);
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
		if ((io->flags & BS_IO_LEND) && !io->buf_return) {
			/* a lending backstore must lend on success: never GOOD without data */
			t->data_in_len = 0;
			scsi_task_complete(t, SR_HARDWARE_ERROR, NULL);
			return;
		}
		if (io->buf_return) { /* lent (sbc_read): Data-In goes out from it */
			t->buf = io->buf;
			t->buf_len = (uint32_t)io->len;
			t->buf_cap = 0;
			t->buf_lent = true;
		}
	}
	scsi_task_complete(t, SR_OK, NULL);
}

/* Every backstore request of these commands goes through the LU I/O path, which gates the
 * ones that change the medium (lu_io.h: COMPARE AND WRITE's range lock). */
static void sbc_io(struct scsi_task *t, enum bs_opcode op, uint32_t flags, uint64_t offset,
		   uint64_t len, void *buf, uint32_t cf)
{
	t->core_flags = cf;
	lu_io_start(&t->io, t->lu, t->worker, op, flags, offset, len, buf, sbc_io_done, t);
}

/* At the task's LBA. */
static void sbc_submit(struct scsi_task *t, enum bs_opcode op, uint32_t flags, uint64_t len,
		       void *buf, uint32_t cf)
{
	sbc_io(t, op, flags, op == BS_OP_FLUSH ? 0 : t->lba * t->lu->block_size, len, buf, cf);
}

void sbc_read(struct scsi_task *t)
{
	uint32_t len = t->data_in_max;

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (t->iov && t->iov_len == len) {
		/* Straight into the initiator's memory (vhost-user): no task buffer, no copy. */
		t->core_flags = CF_READ;
		lu_io_start_iov(&t->io, t->lu, t->worker, BS_OP_READ, 0, t->lba * t->lu->block_size,
				len, t->iov, t->iovcnt, sbc_io_done, t);
		return;
	}
	/* A backstore with the data in memory it can lend (the user backstore's ring) saves the
	 * task buffer and a copy. */
	if (t->lu->bs->can_lend && !t->buf) {
		sbc_submit(t, BS_OP_READ, BS_IO_LEND, len, NULL, CF_READ);
		return;
	}
	if (scsi_task_alloc_buf(t, len) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	sbc_submit(t, BS_OP_READ, 0, len, t->buf, CF_READ);
}

void sbc_write(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	struct cdb_rw rw;
	uint32_t flags;
	/* Only whole blocks that arrived are written (EDTL < transfer length: SAM-5 5.4.3). */
	uint32_t len = scsi_task_data_out_received(t) / lu->block_size * lu->block_size;

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	cdb_decode_rw(t->cdb, &rw);
	/* FUA, WRITE AND VERIFY (the data must be on the medium to be verified) and a disabled
	 * write cache all make the write durable before GOOD. */
	flags = lu_io_write_flags(lu, rw.fua || t->cdb[0] == OP_WRITE_VERIFY_10 ||
					      t->cdb[0] == OP_WRITE_VERIFY_12 ||
					      t->cdb[0] == OP_WRITE_VERIFY_16);
	if (t->iov && t->iov_len == len) {
		/* Straight from the initiator's memory (vhost-user). */
		t->core_flags = CF_WRITE;
		lu_io_start_iov(&t->io, lu, t->worker, BS_OP_WRITE, flags, t->lba * lu->block_size,
				len, t->iov, t->iovcnt, sbc_io_done, t);
		return;
	}
	if (t->iov) {
		/* A fabric sets iov only for the whole transfer (scsi_task_iov_direct). */
		scsi_task_complete(t, SR_HARDWARE_ERROR, NULL);
		return;
	}
	sbc_io(t, BS_OP_WRITE, flags, t->lba * lu->block_size, len, t->buf, CF_WRITE);
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
	out_len = scsi_task_data_out_received(t);
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
#define RC16_LBPME 0x80
#define RC16_LBPRZ 0x40

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
	uint64_t last = lu_num_blocks(lu) - 1;
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
	put_be64(b, lu_num_blocks(lu) - 1);
	put_be32(b + 8, lu->block_size);
	/* b[12]: P_TYPE/PROT_EN 0; b[13]: LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (one logical
	 * block per physical block unless the profile names a larger physical block); b[14-15]:
	 * LBPME, LBPRZ (profiles with logical block provisioning only), lowest aligned LBA 0. */
	for (uint32_t phys = lu->profile->phys_block_bytes; phys > lu->block_size; phys >>= 1)
		b[13]++;
	if (lu->profile->lbp && lu->bs->can_unmap)
		b[14] = RC16_LBPME | (lu->bs->unmap_zeroes ? RC16_LBPRZ : 0);
	scsi_task_complete(t, scsi_task_data_in(t, b, sizeof(b)), NULL);
}

/* ---- WRITE SAME(10/16), SBC-3 5.41 and 5.42 ----------------------------------------------- */

enum sense_reason sbc_setup_write_same(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;
	const struct scsi_block_limits *l = &lu->profile->limits;
	struct cdb_rw rw;

	cdb_decode_rw(t->cdb, &rw);
	if (rw.anchor) {
		/* ANC_SUP=0 in VPD 0xB2 (SBC-3 5.42: ANCHOR set without support). */
		sense_field_pointer(x, true, 1, 4);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (rw.unmap && !lu->bs->can_unmap) {
		sense_field_pointer(x, true, 1, 3);
		return SR_INVALID_FIELD_IN_CDB;
	}
	/* WSNZ=1: 0 blocks is refused; every profile with WRITE SAME sets it. A transfer beyond
	 * MAXIMUM WRITE SAME LENGTH is an invalid field too (SBC-3 6.5.3). */
	if ((t->nblocks == 0 && (l->wsnz || !l->max_ws_bytes)) ||
	    (uint64_t)t->nblocks * lu->block_size > l->max_ws_bytes) {
		sense_field_pointer(x, true, rw.len_off, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (rw.ndob) {
		t->dir = SCSI_DIR_NONE;
	} else {
		t->dir = SCSI_DIR_WRITE;
		t->data_out_len = lu->block_size;
	}
	return SR_OK;
}

static bool all_zero(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

void sbc_write_same(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint32_t bsz = lu->block_size;
	uint64_t off = t->lba * bsz, len = (uint64_t)t->nblocks * bsz;
	uint8_t blk[SBC_MAX_BLOCK];
	struct cdb_rw rw;
	bool zero = true;

	cdb_decode_rw(t->cdb, &rw);
	if (bsz > SBC_MAX_BLOCK) {
		scsi_task_complete(t, SR_HARDWARE_ERROR, NULL);
		return;
	}
	if (!rw.ndob) {
		/* Exactly one block of data-out: less cannot be replicated, more means the
		 * initiator and we disagree about the command (SAM-5 5.4.3 overrun). */
		if (scsi_task_data_out_received(t) < bsz) {
			scsi_task_complete(t, SR_PARAM_LIST_LENGTH_ERROR, NULL);
			return;
		}
		if (t->exp_xfer_len != bsz) {
			scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, NULL);
			return;
		}
		zero = all_zero(t->buf, bsz);
	}
	/* SBC-3 4.7.3.4: with UNMAP set the blocks may be deallocated when that reads back as
	 * the data given, i.e. zero data on an LBPRZ backstore; otherwise they are written. */
	if (zero && rw.unmap && lu->bs->unmap_zeroes) {
		sbc_io(t, BS_OP_UNMAP, 0, off, len, NULL,
		       CF_WRITE | (dealloc_needs_flush(lu) ? CF_FLUSH_AFTER : 0));
		return;
	}
	/* A backstore that replicates the block itself (rbd: one request for the whole range). */
	if (lu->bs->can_write_same) {
		if (rw.ndob) {
			if (scsi_task_alloc_buf(t, bsz) < 0) {
				scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
				return;
			}
			memset(t->buf, 0, bsz);
		}
		sbc_io(t, BS_OP_WRITE_SAME, lu_io_write_flags(lu, false), off, len, t->buf,
		       CF_WRITE);
		return;
	}
	if (!rw.ndob)
		memcpy(blk, t->buf, bsz);
	else
		memset(blk, 0, bsz);
	/* len <= max_ws_bytes: bounded by the profile like any transfer. */
	if (scsi_task_alloc_buf(t, (uint32_t)len) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	for (uint64_t o = 0; o < len; o += bsz)
		memcpy(t->buf + o, blk, bsz);
	sbc_io(t, BS_OP_WRITE, lu_io_write_flags(lu, false), off, len, t->buf, CF_WRITE);
}

/* ---- UNMAP, SBC-3 5.28 --------------------------------------------------------------------- */

#define UNMAP_ANCHOR 0x01

enum sense_reason sbc_setup_unmap(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;
	uint32_t len = get_be16(t->cdb + 7);

	if (!lu->bs->can_unmap)
		return SR_INVALID_OPCODE;
	if (t->cdb[1] & UNMAP_ANCHOR) {
		/* ANC_SUP=0 in VPD 0xB2: SBC-3 5.28.1 makes ANCHOR an invalid field then. */
		sense_field_pointer(x, true, 1, 0);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (atomic_load_explicit(&lu->medium.stopped, memory_order_relaxed))
		return SR_NOT_READY_STOPPED;
	if (lu->bs->read_only || atomic_load_explicit(&lu->mode.swp, memory_order_relaxed))
		return SR_WRITE_PROTECTED;
	t->dir = len ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	t->data_out_len = len;
	return SR_OK;
}

/* Check a received UNMAP parameter list against the LU and its profile; *n_desc descriptors. */
static enum sense_reason unmap_check(const struct lu *lu, const uint8_t *p, uint32_t len,
				     uint32_t *n_desc, struct sense_extra *x)
{
	const struct scsi_block_limits *l = &lu->profile->limits;
	uint64_t total = 0, lba, cap = lu_num_blocks(lu);
	uint32_t nb;
	enum sense_reason r;

	r = cdb_unmap_parse(p, len, n_desc, x);
	if (r != SR_OK)
		return r;
	/* SBC-3 5.28.2: more descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, or more
	 * blocks than MAXIMUM UNMAP LBA COUNT, is INVALID FIELD IN PARAMETER LIST. */
	if (*n_desc > l->max_unmap_desc) {
		sense_field_pointer(x, false, 2, -1);
		return SR_INVALID_FIELD_IN_PARAM;
	}
	for (uint32_t i = 0; i < *n_desc; i++) {
		cdb_unmap_desc(p, i, &lba, &nb);
		if (lba > cap || nb > cap - lba)
			return SR_LBA_OUT_OF_RANGE;
		total += nb;
	}
	if (total > l->max_unmap_bytes / lu->block_size) {
		sense_field_pointer(x, false, UNMAP_HDR_LEN + 8, -1);
		return SR_INVALID_FIELD_IN_PARAM;
	}
	return SR_OK;
}

/* The descriptors run one after the other: t->nblocks is the next one, t->lba the count; then,
 * under WCE=0, a flush (t->nblocks past the count once it is sent). */
static void sbc_unmap_next(struct scsi_task *t, int res)
{
	struct lu *lu = t->lu;
	uint64_t lba;
	uint32_t nb;

	if (res < 0) {
		scsi_task_complete(t, lu_io_reason(res, true), NULL);
		return;
	}
	while (t->nblocks < t->lba) {
		cdb_unmap_desc(t->buf, t->nblocks++, &lba, &nb);
		if (!nb)
			continue;
		sbc_io(t, BS_OP_UNMAP, 0, lba * lu->block_size,
				 (uint64_t)nb * lu->block_size, NULL, CF_UNMAP);
		return;
	}
	if (t->nblocks == t->lba && dealloc_needs_flush(lu)) {
		t->nblocks++;
		sbc_io(t, BS_OP_FLUSH, 0, 0, 0, NULL, CF_UNMAP);
		return;
	}
	scsi_task_complete(t, SR_OK, NULL);
}

void sbc_unmap(struct scsi_task *t)
{
	struct sense_extra x = { 0 };
	uint32_t got = scsi_task_data_out_received(t), n;
	enum sense_reason r;

	if (t->data_out_len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (got < t->data_out_len) {
		scsi_task_complete(t, SR_PARAM_LIST_LENGTH_ERROR, NULL);
		return;
	}
	r = unmap_check(t->lu, t->buf, got, &n, &x);
	if (r != SR_OK) {
		scsi_task_complete(t, r, &x);
		return;
	}
	t->lba = n;
	t->nblocks = 0;
	sbc_unmap_next(t, 0);
}

/* ---- GET LBA STATUS, SBC-3 5.20 ------------------------------------------------------------ */

#define LBAS_HDR_LEN 8
#define LBAS_DESC_LEN 16
#define LBAS_MAX_DESC 64	/* buffer bound; the profile's max_lba_status_desc is the answer */
#define LBAS_MAPPED 0
#define LBAS_DEALLOCATED 1

enum sense_reason sbc_setup_get_lba_status(struct scsi_task *t, struct sense_extra *x)
{
	t->lba = get_be64(t->cdb + 2);
	if (t->lba >= lu_num_blocks(t->lu))
		return SR_LBA_OUT_OF_RANGE;
	return scsi_setup_alloc_in(t, x);
}

void sbc_get_lba_status(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint64_t bsz = lu->block_size, blk = t->lba;
	uint8_t b[LBAS_HDR_LEN + LBAS_DESC_LEN * LBAS_MAX_DESC];
	unsigned n = 0, max = lu->profile->limits.max_lba_status_desc;
	uint64_t cap = lu_num_blocks(lu);

	if (max == 0 || max > LBAS_MAX_DESC)
		max = LBAS_MAX_DESC;
	if (t->data_in_max >= LBAS_HDR_LEN + LBAS_DESC_LEN &&
	    (t->data_in_max - LBAS_HDR_LEN) / LBAS_DESC_LEN < max)
		max = (t->data_in_max - LBAS_HDR_LEN) / LBAS_DESC_LEN;
	else if (t->data_in_max < LBAS_HDR_LEN + LBAS_DESC_LEN)
		max = 1;
	memset(b, 0, sizeof(b));
	while (blk < cap && n < max) {
		uint64_t len, end;
		bool mapped;
		int r = backstore_lba_status(lu->bs, blk * bsz, &len, &mapped);
		uint8_t *d;

		if (r < 0) {
			scsi_task_complete(t, lu_io_reason(r, false), NULL);
			return;
		}
		/* Blocks a file-system granule only partly covers count as mapped. */
		end = mapped ? (blk * bsz + len + bsz - 1) / bsz : (blk * bsz + len) / bsz;
		if (end <= blk) {
			end = blk + 1;
			mapped = true;
		}
		if (end > cap)
			end = cap;
		if (end - blk > UINT32_MAX)
			end = blk + UINT32_MAX;
		d = b + LBAS_HDR_LEN + (n - 1) * LBAS_DESC_LEN;
		if (n && d[12] == (mapped ? LBAS_MAPPED : LBAS_DEALLOCATED) &&
		    (uint64_t)get_be32(d + 8) + (end - blk) <= UINT32_MAX) {
			put_be32(d + 8, get_be32(d + 8) + (uint32_t)(end - blk));
		} else {
			d = b + LBAS_HDR_LEN + n * LBAS_DESC_LEN;
			put_be64(d, blk);
			put_be32(d + 8, (uint32_t)(end - blk));
			d[12] = mapped ? LBAS_MAPPED : LBAS_DEALLOCATED;
			n++;
		}
		blk = end;
	}
	/* PARAMETER DATA LENGTH: the bytes after itself. */
	put_be32(b, 4 + n * LBAS_DESC_LEN);
	scsi_task_complete(t, scsi_task_data_in(t, b, LBAS_HDR_LEN + n * LBAS_DESC_LEN), NULL);
}

/* ---- COMPARE AND WRITE, SBC-3 5.2 ---------------------------------------------------------- */

enum sense_reason sbc_setup_caw(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;

	if (t->nblocks > lu->profile->limits.max_caw_blocks) {
		sense_field_pointer(x, true, 13, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	/* The data-out is exactly verify data then write data. An initiator that means to send
	 * something else (e.g. 256 blocks truncated to a NUMBER OF LOGICAL BLOCKS of 0) has a
	 * CDB that does not describe its command: refuse it rather than guess. */
	if (t->exp_xfer_len != 2 * t->nblocks * lu->block_size) {
		sense_field_pointer(x, true, 13, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (t->nblocks == 0) {
		t->dir = SCSI_DIR_NONE; /* not an error: nothing to compare or write */
		return SR_OK;
	}
	t->dir = SCSI_DIR_WRITE;
	t->data_out_len = 2 * t->nblocks * lu->block_size; /* verify data, then write data */
	return SR_OK;
}

/* Once the task holds [LBA, LBA + NUMBER OF LOGICAL BLOCKS) (lu_io.h): read, compare and, on
 * a match, write, so no other write of those blocks lands between the read and the write
 * (SBC-3 5.2). Each step is asynchronous (lu_io_held_start): the worker serves other commands
 * meanwhile. buf: verify data, write data, the medium. Atomic against this daemon's writers;
 * a backstore shared with other daemons offers BS_OP_COMPARE_AND_WRITE instead (rbd). */
static void caw_async_end(struct lu_io *io, int res, long off)
{
	struct scsi_task *t = io->priv;
	struct sense_extra x = { 0 };
	enum sense_reason r = SR_OK;

	lu_io_release(io);
	if (res < 0) {
		r = lu_io_reason(res, off == -2);
		x.info_valid = res == -EIO;
		x.info = t->lba;
	} else if (off >= 0) {
		r = SR_MISCOMPARE;
		x.info_valid = true;
		x.info = (uint64_t)off;
	}
	scsi_task_complete(t, r, &x);
}

static void caw_async_written(struct lu_io *io, int res)
{
	caw_async_end(io, res, -2);
}

static void caw_async_read(struct lu_io *io, int res)
{
	struct scsi_task *t = io->priv;
	struct lu *lu = t->lu;
	uint32_t len = t->nblocks * lu->block_size;
	struct cdb_rw rw;

	if (res < 0) {
		caw_async_end(io, res, -1);
		return;
	}
	for (uint32_t i = 0; i < len; i++) {
		if (t->buf[i] != t->buf[2 * len + i]) {
			caw_async_end(io, 0, (long)i);
			return;
		}
	}
	cdb_decode_rw(t->cdb, &rw);
	lu_io_held_start(io, BS_OP_WRITE, lu_io_write_flags(lu, rw.fua), t->lba * lu->block_size,
			 len, t->buf + len, caw_async_written);
}

static void caw_async_run(struct lu_io *io)
{
	struct scsi_task *t = io->priv;
	uint32_t len = t->nblocks * t->lu->block_size;

	lu_io_held_start(io, BS_OP_READ, 0, t->lba * t->lu->block_size, len, t->buf + 2 * len,
			 caw_async_read);
}

/* BS_OP_COMPARE_AND_WRITE done: the backstore compared and wrote atomically, or (-EOPNOTSUPP)
 * declined this range. */
static void caw_backstore_done(struct lu_io *io, int res)
{
	struct scsi_task *t = io->priv;
	struct lu *lu = t->lu;
	uint32_t len = t->nblocks * lu->block_size;
	struct sense_extra x = { 0 };
	enum sense_reason r = SR_OK;

	if (res == -EOPNOTSUPP) {
		/* buf: verify data, write data, then the medium as read. */
		if (scsi_task_alloc_buf(t, 3 * len) < 0) {
			scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
			return;
		}
		if (lu_io_acquire(&t->io, lu, t->worker, t->lba * lu->block_size, len,
				  caw_async_run, t))
			caw_async_run(&t->io);
		return;
	}

	if (res == -EILSEQ) {
		/* SBC-3 5.2: MISCOMPARE, INFORMATION = offset of the first differing byte. */
		r = SR_MISCOMPARE;
		x.info_valid = true;
		x.info = io->bs.miscompare;
	} else if (res < 0) {
		r = lu_io_reason(res, true);
		x.info_valid = res == -EIO;
		x.info = t->lba;
	}
	scsi_task_complete(t, r, &x);
}

void sbc_compare_and_write(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint32_t len = t->nblocks * lu->block_size;
	struct cdb_rw rw;

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (scsi_task_data_out_received(t) < t->data_out_len) {
		scsi_task_complete(t, SR_PARAM_LIST_LENGTH_ERROR, NULL);
		return;
	}
	if (t->exp_xfer_len != t->data_out_len) {
		scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, NULL);
		return;
	}
	/* A backstore that compares and writes atomically itself (rbd: atomic across gateways,
	 * asynchronous): buf is verify data then write data, as it arrived. */
	if (lu->bs->can_caw) {
		cdb_decode_rw(t->cdb, &rw);
		lu_io_start(&t->io, lu, t->worker, BS_OP_COMPARE_AND_WRITE,
			    lu_io_write_flags(lu, rw.fua), t->lba * lu->block_size, len, t->buf,
			    caw_backstore_done, t);
		return;
	}
	/* buf: verify data, write data, then the medium as read. */
	if (scsi_task_alloc_buf(t, 3 * len) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	/* Writes to the range in flight, or waiting for it, go first; then caw_async_run (here, or
	 * later on this worker). */
	if (lu_io_acquire(&t->io, lu, t->worker, t->lba * lu->block_size, len, caw_async_run, t))
		caw_async_run(&t->io);
}
