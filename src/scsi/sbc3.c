/* The short SBC-3 commands of profile invar-2026.3: ORWRITE(16), WRITE ATOMIC(16), PRE-FETCH
 * (10/16), READ DEFECT DATA (10/12), and SPC-4's REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
 * Dispatch has already decoded LBA and length (cdb_decode_rw), checked the usage masks,
 * xxPROTECT, the range and write protection. The long ones (SANITIZE, FORMAT UNIT) live in
 * sbc_maint.c. */
#include <errno.h>
#include <string.h>

#include "backstore/backstore.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "util/byteorder.h"

static uint32_t write_flags(const struct scsi_task *t)
{
	struct cdb_rw rw;

	cdb_decode_rw(t->cdb, &rw);
	return lu_io_write_flags(t->lu, rw.fua);
}

/* ---- ORWRITE(16), SBC-3 5.10 --------------------------------------------------------------
 * The data-out is ORed into the medium. Read, OR and write happen while the task holds its
 * range, like COMPARE AND WRITE (lu_io.h), so no other write of those blocks lands between the
 * read and the write. */

enum sense_reason sbc3_setup_orwrite(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;

	/* SBC-3 6.5.3: more than MAXIMUM TRANSFER LENGTH is an invalid field. */
	if (t->nblocks > lu->profile->limits.max_xfer_bytes / lu->block_size) {
		sense_field_pointer(x, true, 10, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	t->dir = t->nblocks ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	t->data_out_len = t->nblocks * lu->block_size;
	return SR_OK;
}

/* The range is held: buf is the data-out, then the medium as read; t->nblocks the blocks that
 * arrived. The read and the write are asynchronous (lu_io_held_start): the worker serves other
 * commands meanwhile, and no write of the range can interleave. */
static void orwrite_end(struct lu_io *io, int res, bool write)
{
	struct scsi_task *t = io->priv;
	struct sense_extra x = { 0 };

	lu_io_release(io);
	if (res == -EIO) {
		x.info_valid = true;
		x.info = t->lba;
	}
	scsi_task_complete(t, res < 0 ? lu_io_reason(res, write) : SR_OK, &x);
}

static void orwrite_written(struct lu_io *io, int res)
{
	orwrite_end(io, res, true);
}

static void orwrite_read(struct lu_io *io, int res)
{
	struct scsi_task *t = io->priv;
	uint32_t len = t->nblocks * t->lu->block_size;

	if (res < 0) {
		orwrite_end(io, res, false);
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		t->buf[len + i] |= t->buf[i];
	lu_io_held_start(io, BS_OP_WRITE, write_flags(t), t->lba * t->lu->block_size, len,
			 t->buf + len, orwrite_written);
}

static void orwrite_run(struct lu_io *io)
{
	struct scsi_task *t = io->priv;
	uint32_t len = t->nblocks * t->lu->block_size;

	lu_io_held_start(io, BS_OP_READ, 0, t->lba * t->lu->block_size, len, t->buf + len,
			 orwrite_read);
}

void sbc3_orwrite(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	/* Like WRITE: only whole blocks that arrived (EDTL < transfer length, SAM-5 5.4.3). */
	uint32_t len = scsi_task_data_out_received(t) / lu->block_size * lu->block_size;

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	t->nblocks = len / lu->block_size;
	if (scsi_task_alloc_buf(t, 2 * len) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	if (lu_io_acquire(&t->io, lu, t->worker, t->lba * lu->block_size, len, orwrite_run, t))
		orwrite_run(&t->io);
}

/* ---- WRITE ATOMIC(16), SBC-4 5.48 -----------------------------------------------------------
 * Limits from the profile (VPD 0xB0). The write is one backstore call while the task holds its
 * range (lu_io.h): no other write of those blocks can interleave with it.
 * ATOMIC BOUNDARY is not supported (MAXIMUM ATOMIC BOUNDARY SIZE 0), so a non-zero one is an
 * invalid field. */

#define WA_OFF_BOUNDARY 10

enum sense_reason sbc3_setup_write_atomic(struct scsi_task *t, struct sense_extra *x)
{
	struct lu *lu = t->lu;
	const struct scsi_profile *p = lu->profile;
	uint32_t bsz = lu->block_size;
	uint32_t align = p->atomic_align_bytes / bsz ? p->atomic_align_bytes / bsz : 1;
	uint32_t gran = p->atomic_gran_bytes / bsz ? p->atomic_gran_bytes / bsz : 1;

	if (get_be16(t->cdb + WA_OFF_BOUNDARY) != 0) {
		sense_field_pointer(x, true, WA_OFF_BOUNDARY, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	/* SBC-4 5.48: beyond MAXIMUM ATOMIC TRANSFER LENGTH, or not a multiple of the
	 * granularity, is an invalid TRANSFER LENGTH; an LBA off the alignment an invalid LBA. */
	if (t->nblocks > p->max_atomic_bytes / bsz || t->nblocks % gran) {
		sense_field_pointer(x, true, 12, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (t->lba % align) {
		sense_field_pointer(x, true, 2, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	t->dir = t->nblocks ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	t->data_out_len = t->nblocks * bsz;
	return SR_OK;
}

static void write_atomic_done(struct lu_io *io, int res)
{
	struct scsi_task *t = io->priv;
	struct sense_extra x = { 0 };
	enum sense_reason r = SR_OK;

	lu_io_release(io);
	if (res < 0) {
		r = lu_io_reason(res, true);
		x.info_valid = res == -EIO;
		x.info = t->lba;
	}
	scsi_task_complete(t, r, &x);
}

static void write_atomic_run(struct lu_io *io)
{
	struct scsi_task *t = io->priv;

	lu_io_held_start(io, BS_OP_WRITE, write_flags(t), t->lba * t->lu->block_size,
			 t->data_out_len, t->buf, write_atomic_done);
}

void sbc3_write_atomic(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint32_t len = t->data_out_len;
	struct sense_extra x = { 0 };

	if (len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	/* All or nothing: a write whose data did not all arrive is not done in part. */
	if (scsi_task_data_out_received(t) < len) {
		sense_field_pointer(&x, true, 12, 7);
		scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, &x);
		return;
	}
	if (lu_io_acquire(&t->io, lu, t->worker, t->lba * lu->block_size, len, write_atomic_run,
			  t))
		write_atomic_run(&t->io);
}

/* ---- PRE-FETCH(10/16), SBC-3 5.11 and 5.12 ---------------------------------------------------
 * The "cache" is where the backstore stages data for reads: the host page cache for the file
 * backstore (BS_OP_PREFETCH is POSIX_FADV_WILLNEED), memory itself for ram/null, which answer
 * -EOPNOTSUPP (nothing to stage: every block is already there). invar does not own the page
 * cache, so its capacity is what the profile promises per command, prefetch_cache_bytes: a
 * range that fits is staged whole and answered CONDITION MET; a larger one has its first
 * prefetch_cache_bytes staged and is answered GOOD (SBC-3: "as many as fit"). WILLNEED queues
 * the readahead without waiting for it, so IMMED=0 and IMMED=1 both answer once the kernel has
 * accepted it. */

#define PF_FITS (1u << 0) /* t->core_flags while the BS_OP_PREFETCH is in flight */

static void prefetch_done(struct lu_io *io, int res)
{
	struct scsi_task *t = io->priv;
	bool fits = t->core_flags & PF_FITS;

	t->core_flags = 0;
	if (res == -EOPNOTSUPP) {
		fits = true; /* the backstore holds its data in memory */
	} else if (res < 0) {
		scsi_task_complete(t, lu_io_reason(res, false), NULL);
		return;
	}
	/* SBC-3 5.11: CONDITION MET when the whole range fits the cache. */
	scsi_task_complete(t, fits ? SR_CONDITION_MET : SR_OK, NULL);
}

void sbc3_prefetch(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint64_t window = lu->profile->prefetch_cache_bytes;
	/* PREFETCH LENGTH 0: from the LBA to the end of the medium. */
	uint64_t nb = lu_num_blocks(lu);
	uint64_t blocks = t->nblocks ? t->nblocks : nb > t->lba ? nb - t->lba : 0;
	uint64_t len = blocks * lu->block_size;

	t->core_flags = len <= window ? PF_FITS : 0;
	lu_io_start(&t->io, lu, t->worker, BS_OP_PREFETCH, 0, t->lba * lu->block_size,
		    len <= window ? len : window, NULL, prefetch_done, t);
}

/* ---- READ DEFECT DATA(10/12), SBC-3 5.17 and 5.18 ---------------------------------------------
 * Emulated media have no defects: the answer is an empty list in the requested format, with
 * PLISTV/GLISTV set for the lists asked for (each is valid, and empty). */

#define RDD_REQ_PLIST 0x10
#define RDD_REQ_GLIST 0x08
#define RDD_FORMAT_MASK 0x07
#define RDD_HDR10_LEN 4
#define RDD_HDR12_LEN 8

static uint8_t rdd_flags(const struct scsi_task *t)
{
	return t->cdb[0] == OP_READ_DEFECT_DATA_10 ? t->cdb[2] : t->cdb[1];
}

enum sense_reason sbc3_setup_read_defect(struct scsi_task *t, struct sense_extra *x)
{
	/* SBC-3 6.2: short block (000b), long block (011b), bytes from index (100b), physical
	 * sector (101b). 001b, 010b and 111b are reserved; 110b is vendor specific and invar
	 * defines no vendor format. */
	switch (rdd_flags(t) & RDD_FORMAT_MASK) {
	case 0x0:
	case 0x3:
	case 0x4:
	case 0x5:
		break;
	default:
		sense_field_pointer(x, true, t->cdb[0] == OP_READ_DEFECT_DATA_10 ? 2 : 1, 2);
		return SR_INVALID_FIELD_IN_CDB;
	}
	return scsi_setup_alloc_in(t, x);
}

void sbc3_read_defect(struct scsi_task *t)
{
	uint8_t b[RDD_HDR12_LEN] = { 0 };
	uint8_t f = rdd_flags(t);

	/* Byte 1: PLISTV, GLISTV, LIST FORMAT; then DEFECT LIST LENGTH 0 (2 bytes in the (10)
	 * header; the (12) header has GENERATION CODE 0, "not supported", and 4 bytes). */
	b[1] = f & (RDD_REQ_PLIST | RDD_REQ_GLIST | RDD_FORMAT_MASK);
	scsi_task_complete(t,
			   scsi_task_data_in(t, b, t->cdb[0] == OP_READ_DEFECT_DATA_10
							   ? RDD_HDR10_LEN
							   : RDD_HDR12_LEN),
			   NULL);
}

/* ---- REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS, SPC-4 6.40 -----------------------------------
 * From what the fabric carries out on this nexus (it_nexus.tmf_supported). REPD=1 adds the
 * extended bytes; TMFTMOV is 0: no timeouts are reported. */

#define RSTMF_REPD 0x80
#define RSTMF_BASIC_LEN 4
#define RSTMF_EXT_LEN 16

void sbc3_report_tmf(struct scsi_task *t)
{
	uint32_t m = t->nexus ? t->nexus->tmf_supported : 0;
	uint8_t b[RSTMF_EXT_LEN] = { 0 };
	bool repd = t->cdb[2] & RSTMF_REPD;

	if (t->data_in_max < RSTMF_BASIC_LEN) {
		struct sense_extra x = { 0 };

		/* SPC-4 6.40: an ALLOCATION LENGTH below 4 is an invalid field. */
		sense_field_pointer(&x, true, 6, 7);
		scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, &x);
		return;
	}
	b[0] = (m & NEXUS_TMF_ABORT_TASK ? 0x80 : 0) | (m & NEXUS_TMF_ABORT_TASK_SET ? 0x40 : 0) |
	       (m & NEXUS_TMF_CLEAR_ACA ? 0x20 : 0) | (m & NEXUS_TMF_CLEAR_TASK_SET ? 0x10 : 0) |
	       (m & NEXUS_TMF_LU_RESET ? 0x08 : 0) | (m & NEXUS_TMF_QUERY_TASK ? 0x04 : 0) |
	       (m & NEXUS_TMF_TARGET_RESET ? 0x02 : 0);
	b[1] = m & NEXUS_TMF_IT_NEXUS_RESET ? 0x01 : 0;
	if (repd)
		b[3] = RSTMF_EXT_LEN - RSTMF_BASIC_LEN; /* ADDITIONAL DATA LENGTH */
	scsi_task_complete(t, scsi_task_data_in(t, b, repd ? RSTMF_EXT_LEN : RSTMF_BASIC_LEN),
			   NULL);
}
