/* The copy manager: EXTENDED COPY (LID1, SPC-4 6.4), RECEIVE COPY RESULTS (SPC-4 6.18) and the
 * Third-party Copy VPD page (SPC-4 7.8.17), profile invar-2026.3.
 *
 * Security (the CVE-2020-28374 class): a CSCD descriptor names a LU by designator. It is resolved
 * ONLY among the LUs of the issuing session's LUN view (task->view), never through a list of
 * every LU the daemon serves, so an initiator can copy from or to nothing it could not read or
 * write itself. Every participating LU is then checked like a command sent to it: capacity,
 * block size, readiness, RESERVE held by another nexus, write protection of the destination.
 *
 * Data moves through one bounded buffer (XCOPY_CHUNK_BYTES) per copy: read a chunk from the
 * source, write it to the destination, repeat, each I/O asynchronous on the task's worker, so the
 * worker serves other commands between chunks (a backstore that completes inline yields through
 * ev_call after each chunk). Copy status is kept per (I_T nexus, list identifier) in
 * lu->xcopy for RECEIVE COPY RESULTS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "rt/worker.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lun_view.h"
#include "scsi/nexus.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "scsi/xcopy.h"
#include "util/byteorder.h"
#include "util/log.h"

_Static_assert(XCOPY_MAX_DESC_LIST_LEN >= XCOPY_CSCD_LEN + XCOPY_B2B_LEN,
	       "one CSCD and one segment must fit the descriptor list");

/* ---- parameter list decoder (pure) ------------------------------------------------------- */

/* Parameter list header, SPC-4 6.4.3.1 (LID1). */
#define HDR_LIST_ID 0
#define HDR_FLAGS 1
#define HDR_CSCD_LEN 2
#define HDR_SEG_LEN 8
#define HDR_INLINE_LEN 12
#define FLAG_STR 0x20
#define USAGE_SHIFT 3
#define USAGE_MASK 0x03
#define PRIORITY_MASK 0x07

/* CSCD descriptor fields (identification descriptor, SPC-4 6.4.5.6). */
#define CSCD_TYPE 0
#define CSCD_PDT 1		/* bits 7-6 LU ID TYPE (ignored, SPC-4), bit 5 NUL (obsolete) */
#define CSCD_CODE_SET 4
#define CSCD_DESIG_TYPE 5
#define CSCD_DESIG_LEN 7
#define CSCD_DESIG 8
#define CSCD_DESIG_MAX 20
#define CSCD_BLOCK_LEN 29	/* DISK BLOCK LENGTH, block device type specific parameters */

/* Segment descriptor fields (SPC-4 6.4.6.1, 6.4.6.5). */
#define SEG_TYPE 0
#define SEG_FLAGS 1
#define SEG_DESC_LEN 2		/* bytes after this field */
#define SEG_SRC 4
#define SEG_DST 6
#define SEG_NBLOCKS 10
#define SEG_SRC_LBA 12
#define SEG_DST_LBA 20
#define SEG_DC 0x02
#define SEG_CAT 0x01

static enum sense_reason param_field(struct sense_extra *x, unsigned byte, int bit)
{
	sense_field_pointer(x, false, byte, bit);
	return SR_INVALID_FIELD_IN_PARAM;
}

static enum sense_reason decode_cscd(const uint8_t *d, uint16_t off, struct xcopy_cscd *c,
				     struct sense_extra *x)
{
	/* Only the identification descriptor: the others name fabric ports (FC, SAS, IP...) a
	 * copy manager inside an iSCSI target cannot reach. */
	if (d[CSCD_TYPE] != XCOPY_DESC_ID) {
		sense_field_pointer(x, false, off + CSCD_TYPE, 7);
		return SR_UNSUPPORTED_CSCD_TYPE;
	}
	c->offset = off;
	c->peripheral_type = d[CSCD_PDT] & 0x1f;
	c->code_set = d[CSCD_CODE_SET] & 0x0f;
	c->desig_type = d[CSCD_DESIG_TYPE] & 0x0f;
	c->assoc = (d[CSCD_DESIG_TYPE] >> 4) & 0x03;
	c->desig_len = d[CSCD_DESIG_LEN];
	if (c->desig_len > CSCD_DESIG_MAX)
		return param_field(x, off + CSCD_DESIG_LEN, 7);
	memcpy(c->desig, d + CSCD_DESIG, c->desig_len);
	c->block_len = get_be24(d + CSCD_BLOCK_LEN);
	return SR_OK;
}

enum sense_reason xcopy_decode(const uint8_t *pl, uint32_t len, struct xcopy_params *out,
			       struct sense_extra *x)
{
	uint32_t cscd_len, seg_len, inline_len, off, end;

	memset(out, 0, sizeof(*out));
	if (len < XCOPY_HDR_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	out->list_id = pl[HDR_LIST_ID];
	out->str = pl[HDR_FLAGS] & FLAG_STR;
	out->list_id_usage = (pl[HDR_FLAGS] >> USAGE_SHIFT) & USAGE_MASK;
	out->priority = pl[HDR_FLAGS] & PRIORITY_MASK;
	if (out->list_id_usage == 0x1)
		return param_field(x, HDR_FLAGS, 4);
	if (out->list_id_usage == XCOPY_LIST_NONE && out->list_id != 0)
		return param_field(x, HDR_LIST_ID, 7);
	cscd_len = get_be16(pl + HDR_CSCD_LEN);
	seg_len = get_be32(pl + HDR_SEG_LEN);
	inline_len = get_be32(pl + HDR_INLINE_LEN);

	/* Lengths first, in 64 bits so hostile values cannot wrap: the descriptor lists must
	 * fit our limit and the bytes actually sent. */
	if ((uint64_t)cscd_len + seg_len > XCOPY_MAX_DESC_LIST_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	if (inline_len > XCOPY_MAX_INLINE) {
		sense_field_pointer(x, false, HDR_INLINE_LEN, 7);
		return SR_INLINE_DATA_EXCEEDED;
	}
	if ((uint64_t)XCOPY_HDR_LEN + cscd_len + seg_len + inline_len > len)
		return SR_PARAM_LIST_LENGTH_ERROR;

	off = XCOPY_HDR_LEN;
	end = XCOPY_HDR_LEN + cscd_len;
	while (off < end) {
		enum sense_reason r;

		if (out->n_cscd == XCOPY_MAX_CSCD)
			return SR_TOO_MANY_CSCD;
		/* Every CSCD descriptor type we accept is 32 bytes. */
		if (end - off < XCOPY_CSCD_LEN) {
			if (pl[off] != XCOPY_DESC_ID) {
				sense_field_pointer(x, false, off, 7);
				return SR_UNSUPPORTED_CSCD_TYPE;
			}
			return param_field(x, HDR_CSCD_LEN, 7);
		}
		r = decode_cscd(pl + off, (uint16_t)off, &out->cscd[out->n_cscd], x);
		if (r != SR_OK)
			return r;
		out->n_cscd++;
		off += XCOPY_CSCD_LEN;
	}

	end = off + seg_len;
	while (off < end) {
		const uint8_t *d = pl + off;
		struct xcopy_segment *s;
		uint32_t dlen;

		if (out->n_seg == XCOPY_MAX_SEGMENTS)
			return SR_TOO_MANY_SEGMENTS;
		if (end - off < 4)
			return param_field(x, HDR_SEG_LEN, 7);
		if (d[SEG_TYPE] != XCOPY_DESC_B2B) {
			sense_field_pointer(x, false, off + SEG_TYPE, 7);
			return SR_UNSUPPORTED_SEGMENT_TYPE;
		}
		dlen = 4u + get_be16(d + SEG_DESC_LEN);
		if (dlen != XCOPY_B2B_LEN)
			return param_field(x, off + SEG_DESC_LEN, 7);
		if (end - off < dlen)
			return param_field(x, HDR_SEG_LEN, 7);
		s = &out->seg[out->n_seg++];
		s->offset = (uint16_t)off;
		s->dc = d[SEG_FLAGS] & SEG_DC;
		s->cat = d[SEG_FLAGS] & SEG_CAT;
		s->src = get_be16(d + SEG_SRC);
		s->dst = get_be16(d + SEG_DST);
		s->nblocks = get_be16(d + SEG_NBLOCKS);
		s->src_lba = get_be64(d + SEG_SRC_LBA);
		s->dst_lba = get_be64(d + SEG_DST_LBA);
		off += dlen;
	}
	return SR_OK;
}

/* ---- advertised limits ------------------------------------------------------------------- */

static const uint8_t impl_desc_codes[] = { XCOPY_DESC_B2B, XCOPY_DESC_ID };

/* Log2 of a power of two (granularities are reported that way). */
static uint8_t log2u(uint32_t v)
{
	uint8_t n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

unsigned xcopy_op_params(uint8_t *b)
{
	unsigned len = 44 + sizeof(impl_desc_codes);

	memset(b, 0, len);
	put_be32(b, len - 4);				/* AVAILABLE DATA */
	b[4] = 0x01;					/* SNLID: list id usage 11b works */
	put_be16(b + 8, XCOPY_MAX_CSCD);
	put_be16(b + 10, XCOPY_MAX_SEGMENTS);
	put_be32(b + 12, XCOPY_MAX_DESC_LIST_LEN);
	put_be32(b + 16, XCOPY_MAX_SEGMENT_BYTES);
	put_be32(b + 20, XCOPY_MAX_INLINE);
	put_be32(b + 24, 0);				/* HELD DATA LIMIT: none held */
	put_be32(b + 28, 0);				/* no stream devices */
	put_be16(b + 34, XCOPY_TOTAL_CONCURRENT);
	b[36] = XCOPY_TOTAL_CONCURRENT;			/* MAXIMUM CONCURRENT COPIES */
	b[37] = log2u(512);				/* DATA SEGMENT GRANULARITY: a block */
	b[38] = 0;
	b[39] = 0;
	b[43] = sizeof(impl_desc_codes);
	memcpy(b + 44, impl_desc_codes, sizeof(impl_desc_codes));
	return len;
}

/* Third-party Copy VPD page (SPC-4 7.8.17): descriptors after the 4-byte page header, each
 * padded to a multiple of 4 bytes. */
#define TPC_SUPPORTED_CMDS 0x0001
#define TPC_PARAMETER_DATA 0x0004
#define TPC_SUPPORTED_DESCS 0x0008
#define TPC_GENERAL_COPY_OPS 0x8001

static unsigned tpc_desc(uint8_t *d, uint16_t type, unsigned body_len)
{
	unsigned padded = (body_len + 3) & ~3u;

	put_be16(d, type);
	put_be16(d + 2, (uint16_t)padded);
	return 4 + padded;
}

unsigned xcopy_vpd_page(uint8_t *b)
{
	uint8_t *d = b + 4;
	unsigned n;

	/* Supported Commands: EXTENDED COPY (LID1) and the RECEIVE COPY RESULTS actions. */
	{
		static const uint8_t cmds[] = { OP_EXTENDED_COPY, 1, SA_XCOPY_LID1,
						OP_RECEIVE_COPY_RESULTS, 4, SA_RCR_COPY_STATUS,
						SA_RCR_RECEIVE_DATA, SA_RCR_OP_PARAMS,
						SA_RCR_FAILED_SEGMENT };

		memset(d, 0, 4 + 1 + sizeof(cmds) + 3);
		d[4] = sizeof(cmds);
		memcpy(d + 5, cmds, sizeof(cmds));
		d += tpc_desc(d, TPC_SUPPORTED_CMDS, 1 + sizeof(cmds));
	}
	/* Parameter Data. */
	memset(d, 0, 32);
	put_be16(d + 8, XCOPY_MAX_CSCD);
	put_be16(d + 10, XCOPY_MAX_SEGMENTS);
	put_be32(d + 12, XCOPY_MAX_DESC_LIST_LEN);
	put_be32(d + 16, XCOPY_MAX_INLINE);
	d += tpc_desc(d, TPC_PARAMETER_DATA, 28);
	/* Supported Descriptors. */
	n = 1 + sizeof(impl_desc_codes);
	memset(d, 0, 4 + ((n + 3) & ~3u));
	d[4] = sizeof(impl_desc_codes);
	memcpy(d + 5, impl_desc_codes, sizeof(impl_desc_codes));
	d += tpc_desc(d, TPC_SUPPORTED_DESCS, n);
	/* General Copy Operations. */
	memset(d, 0, 36);
	put_be32(d + 4, XCOPY_TOTAL_CONCURRENT);
	put_be32(d + 8, XCOPY_TOTAL_CONCURRENT);
	put_be32(d + 12, XCOPY_MAX_SEGMENT_BYTES);
	d[16] = log2u(512);
	d += tpc_desc(d, TPC_GENERAL_COPY_OPS, 32);

	put_be16(b + 2, (uint16_t)(d - b - 4));
	return (unsigned)(d - b);
}

/* ---- copy status records (per LU, under lu->lock) --------------------------------------- */

#define CM_IN_PROGRESS 0x00
#define CM_DONE_GOOD 0x01
#define CM_DONE_ERRORS 0x02

struct xcopy_record {
	bool used;
	bool active;			/* the EXTENDED COPY is still running */
	bool forget;			/* free it when it completes (usage 10b, nexus gone) */
	bool status_unread;		/* completed, COPY STATUS not yet returned */
	bool failure_unread;		/* completed with an error, FAILED SEGMENT not yet read */
	uint8_t list_id;
	uint64_t nexus_id;
	uint64_t seq;			/* age, for evicting the oldest completed record */
	uint8_t cm_status;
	uint16_t segs_done;
	uint64_t bytes_done;
	uint8_t status;			/* SCSI status of the command */
	uint8_t sense_len;
	uint8_t sense[SCSI_SENSE_MAX];
};

struct xcopy_lu {
	unsigned active;		/* EXTENDED COPY commands running on this copy manager */
	uint64_t seq;
	struct xcopy_record rec[XCOPY_MAX_HELD];
};

static struct xcopy_lu *xlu_get(struct lu *lu)
{
	if (!lu->xcopy)
		lu->xcopy = calloc(1, sizeof(struct xcopy_lu));
	return lu->xcopy;
}

static struct xcopy_record *rec_find(struct xcopy_lu *xl, uint64_t nexus_id, uint8_t list_id)
{
	for (unsigned i = 0; i < XCOPY_MAX_HELD; i++)
		if (xl->rec[i].used && xl->rec[i].nexus_id == nexus_id &&
		    xl->rec[i].list_id == list_id)
			return &xl->rec[i];
	return NULL;
}

/* A slot for a new record: free, else the oldest completed one. NULL if all are running. */
static struct xcopy_record *rec_alloc(struct xcopy_lu *xl)
{
	struct xcopy_record *old = NULL;

	for (unsigned i = 0; i < XCOPY_MAX_HELD; i++) {
		struct xcopy_record *r = &xl->rec[i];

		if (!r->used)
			return r;
		if (!r->active && (!old || r->seq < old->seq))
			old = r;
	}
	return old;
}

static void rec_release_if_read(struct xcopy_record *r)
{
	if (!r->active && !r->status_unread && !r->failure_unread)
		memset(r, 0, sizeof(*r));
}

void xcopy_nexus_gone(struct lu *lu, uint64_t nexus_id)
{
	struct xcopy_lu *xl;

	pthread_mutex_lock(&lu->lock);
	xl = lu->xcopy;
	for (unsigned i = 0; xl && i < XCOPY_MAX_HELD; i++) {
		struct xcopy_record *r = &xl->rec[i];

		if (!r->used || r->nexus_id != nexus_id)
			continue;
		if (r->active) {
			r->forget = true;
			r->nexus_id = 0;	/* ids start at 1: never found again */
		}
		else
			memset(r, 0, sizeof(*r));
	}
	pthread_mutex_unlock(&lu->lock);
}

/* ---- EXTENDED COPY ----------------------------------------------------------------------- */

enum sense_reason xcopy_setup_extended_copy(struct scsi_task *t, struct sense_extra *x)
{
	uint32_t plen = get_be32(t->cdb + 10);

	/* Bound what a command can make us buffer before any data arrives. */
	if (plen > XCOPY_MAX_PARAM_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	if (plen && plen < XCOPY_HDR_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	t->dir = plen ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	t->data_out_len = plen;
	return SR_OK;
}

enum phase { PH_IDLE, PH_READING, PH_READ_DONE, PH_WRITING, PH_WRITE_DONE };

struct xcopy_job {
	struct scsi_task *t;
	struct xcopy_params p;
	struct lu *src[XCOPY_MAX_SEGMENTS], *dst[XCOPY_MAX_SEGMENTS];
	struct xcopy_record *rec;	/* NULL with list id usage 11b */
	unsigned cur;			/* segment being copied */
	uint64_t seg_done;		/* blocks of it copied */
	uint32_t chunk_blocks;
	uint64_t bytes_done;
	uint8_t *buf;
	struct lu_io io;
	enum phase phase;
	int res;
	bool running, again, finished;
};

/* The LU a CSCD descriptor names, among the LUs this session can address: NAA designators
 * (SPC-4 7.8.6.6) with LU association, compared with each viewed LU's VPD 0x83 NAA. */
static struct lu *cscd_resolve(const struct scsi_task *t, const struct xcopy_cscd *c)
{
	const struct lun_view *v = t->view;

	if (c->desig_type != 0x3 || c->assoc != 0 || c->code_set != 0x1 || !c->desig_len)
		return NULL;
	if (!v) {
		/* No view (unit tests, internal callers): only the addressed LU is visible. */
		if (t->lu && t->lu->cfg.naa_len == c->desig_len &&
		    !memcmp(t->lu->cfg.naa, c->desig, c->desig_len))
			return t->lu;
		return NULL;
	}
	for (unsigned l = 0; l < INVAR_MAX_LUNS; l++) {
		struct lu *lu = v->lus[l];

		if (lu && lu->cfg.naa_len == c->desig_len &&
		    !memcmp(lu->cfg.naa, c->desig, c->desig_len))
			return lu;
	}
	return NULL;
}

static void segment_pointer(struct sense_extra *x, uint16_t off)
{
	/* SPC-4 4.5.2.4.5: SKSV, SD=0 (relative to the parameter list), the segment's offset. */
	x->sks_valid = true;
	x->sks[0] = 0x80;
	x->sks[1] = (uint8_t)(off >> 8);
	x->sks[2] = (uint8_t)off;
}

static bool lu_unready(struct lu *lu)
{
	return atomic_load(&lu->medium.stopped) || atomic_load(&lu->medium.ejected);
}

static bool lu_write_protected(struct lu *lu)
{
	return (lu->bs && lu->bs->read_only) || atomic_load(&lu->mode.swp);
}

static bool lu_reserved_by_other(struct lu *lu, uint64_t me)
{
	uint64_t holder = __atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED);

	return holder && holder != me;
}

/* Resolve and check every segment before any data moves. SR_OK, or the reason (sense filled);
 * *conflict for RESERVATION CONFLICT. */
static enum sense_reason job_validate(struct xcopy_job *j, struct sense_extra *x, bool *conflict)
{
	const struct scsi_task *t = j->t;
	uint64_t me = t->nexus ? t->nexus->id : 0;

	for (unsigned i = 0; i < j->p.n_seg; i++) {
		const struct xcopy_segment *s = &j->p.seg[i];
		const struct xcopy_cscd *cs, *cd;
		struct lu *src, *dst;

		if (s->src >= j->p.n_cscd || s->dst >= j->p.n_cscd) {
			segment_pointer(x, s->offset);
			return SR_COPY_TARGET_UNREACHABLE;
		}
		cs = &j->p.cscd[s->src];
		cd = &j->p.cscd[s->dst];
		if (cs->peripheral_type != 0 || cd->peripheral_type != 0) {
			segment_pointer(x, s->offset);
			return SR_COPY_TARGET_WRONG_TYPE;
		}
		src = cscd_resolve(t, cs);
		dst = cscd_resolve(t, cd);
		if (!src || !dst || lu_unready(src) || lu_unready(dst)) {
			if (!src || !dst)
				log_info("EXTENDED COPY: CSCD %u not in the session's LUN view",
					 !src ? s->src : s->dst);
			segment_pointer(x, s->offset);
			return SR_COPY_TARGET_UNREACHABLE;
		}
		if (cs->block_len != src->block_size)
			return param_field(x, cs->offset + CSCD_BLOCK_LEN, 7);
		if (cd->block_len != dst->block_size)
			return param_field(x, cd->offset + CSCD_BLOCK_LEN, 7);
		if (src->block_size != dst->block_size) {
			segment_pointer(x, s->offset);
			return SR_INVALID_COPY_OPERATION;
		}
		if ((uint64_t)s->nblocks * src->block_size > XCOPY_MAX_SEGMENT_BYTES)
			return param_field(x, s->offset + SEG_NBLOCKS, 7);
		uint64_t src_nb = lu_num_blocks(src), dst_nb = lu_num_blocks(dst);

		if (s->src_lba > src_nb || s->nblocks > src_nb - s->src_lba ||
		    s->dst_lba > dst_nb || s->nblocks > dst_nb - s->dst_lba) {
			segment_pointer(x, s->offset);
			return SR_COPY_ABORTED;
		}
		if (lu_reserved_by_other(src, me) || lu_reserved_by_other(dst, me)) {
			*conflict = true;
			return SR_OK;
		}
		if (s->nblocks && lu_write_protected(dst))
			return SR_WRITE_PROTECTED;
		j->src[i] = src;
		j->dst[i] = dst;
	}
	return SR_OK;
}

static void job_free(struct xcopy_job *j)
{
	free(j->buf);
	free(j);
}

/* Publish the outcome in the record and complete the task. */
static void job_finish(struct xcopy_job *j, enum sense_reason r, const struct sense_extra *x)
{
	struct scsi_task *t = j->t;
	struct lu *lu = t->lu;
	struct xcopy_lu *xl;

	scsi_task_set_sense_extra(t, r, x);
	pthread_mutex_lock(&lu->lock);
	xl = lu->xcopy;
	if (xl && xl->active)
		xl->active--;
	if (j->rec) {
		struct xcopy_record *rec = j->rec;

		rec->active = false;
		rec->cm_status = r == SR_OK ? CM_DONE_GOOD : CM_DONE_ERRORS;
		rec->bytes_done = j->bytes_done;
		rec->segs_done = (uint16_t)j->cur;
		rec->status = t->status;
		rec->sense_len = t->sense_len;
		memcpy(rec->sense, t->sense, t->sense_len);
		rec->status_unread = true;
		rec->failure_unread = r != SR_OK;
		if (rec->forget)
			memset(rec, 0, sizeof(*rec));
	}
	pthread_mutex_unlock(&lu->lock);
	j->finished = true;
	t->done(t);
}

static void job_run(struct xcopy_job *j);

static void job_io_done(struct lu_io *io, int res)
{
	struct xcopy_job *j = io->priv;

	j->res = res;
	j->phase = j->phase == PH_READING ? PH_READ_DONE : PH_WRITE_DONE;
	job_run(j);
}

/* One chunk read from src or written to dst, through the LU I/O path like any command's: a
 * write passes dst's write gate (COMPARE AND WRITE ranges, lu_io.h), with FUA when dst's
 * write cache is off. */
static void job_io(struct xcopy_job *j, struct lu *lu, enum bs_opcode op, uint64_t offset,
		   uint64_t len)
{
	lu_io_start(&j->io, lu, j->t->worker, op,
		    op == BS_OP_WRITE ? lu_io_write_flags(lu, false) : 0, offset, len, j->buf,
		    job_io_done, j);
}

static void job_fail_io(struct xcopy_job *j, bool write)
{
	const struct xcopy_segment *s = &j->p.seg[j->cur];
	struct sense_extra x = { 0 };

	log_debug("EXTENDED COPY segment %u %s failed: %d", j->cur, write ? "write" : "read",
		  j->res);
	segment_pointer(&x, s->offset);
	x.info_valid = true;
	x.info = (write ? s->dst_lba : s->src_lba) + j->seg_done;
	job_finish(j, write ? SR_COPY_WRITE_ERROR : SR_COPY_READ_ERROR, &x);
}

static void job_publish_progress(struct xcopy_job *j)
{
	if (!j->rec)
		return;
	pthread_mutex_lock(&j->t->lu->lock);
	/* SEGMENTS PROCESSED: the ones whose every block has been written. */
	j->rec->segs_done = (uint16_t)(j->cur + (j->cur < j->p.n_seg &&
						 j->seg_done >= j->p.seg[j->cur].nblocks));
	j->rec->bytes_done = j->bytes_done;
	pthread_mutex_unlock(&j->t->lu->lock);
}

/* One step of the state machine; issues at most one I/O. */
static void job_step(struct xcopy_job *j)
{
	const struct xcopy_segment *s;
	uint32_t bs;

	switch (j->phase) {
	case PH_READ_DONE:
		if (j->res < 0) {
			job_fail_io(j, false);
			return;
		}
		s = &j->p.seg[j->cur];
		bs = j->dst[j->cur]->block_size;
		j->phase = PH_WRITING;
		job_io(j, j->dst[j->cur], BS_OP_WRITE, (s->dst_lba + j->seg_done) * bs,
		       (uint64_t)j->chunk_blocks * bs);
		return;
	case PH_WRITE_DONE:
		if (j->res < 0) {
			job_fail_io(j, true);
			return;
		}
		j->seg_done += j->chunk_blocks;
		j->bytes_done += (uint64_t)j->chunk_blocks * j->dst[j->cur]->block_size;
		j->phase = PH_IDLE;
		job_publish_progress(j);
		break;
	case PH_IDLE:
		break;
	default:
		return;		/* an I/O is in flight */
	}
	if (j->t->aborted) {
		job_finish(j, SR_ABORTED_CMD_CLEARED, NULL);
		return;
	}
	while (j->cur < j->p.n_seg && j->seg_done >= j->p.seg[j->cur].nblocks) {
		j->cur++;
		j->seg_done = 0;
	}
	if (j->cur == j->p.n_seg) {
		job_publish_progress(j);
		job_finish(j, SR_OK, NULL);
		return;
	}
	s = &j->p.seg[j->cur];
	bs = j->src[j->cur]->block_size;
	j->chunk_blocks = XCOPY_CHUNK_BYTES / bs;
	if (j->chunk_blocks > s->nblocks - j->seg_done)
		j->chunk_blocks = (uint32_t)(s->nblocks - j->seg_done);
	j->phase = PH_READING;
	job_io(j, j->src[j->cur], BS_OP_READ, (s->src_lba + j->seg_done) * bs,
	       (uint64_t)j->chunk_blocks * bs);
}

static void job_resume(void *arg)
{
	struct xcopy_job *j = arg;

	j->again = false;
	job_run(j);
}

/* Trampoline: an I/O that completes inside submit (ram, null, or a synchronous fallback) only
 * flags another step, so a long copy never recurses. On a worker, such a step is deferred to
 * the loop's next pass so other commands run between chunks. */
static void job_run(struct xcopy_job *j)
{
	if (j->running) {
		j->again = true;
		return;
	}
	j->running = true;
	do {
		j->again = false;
		job_step(j);
		if (j->again && !j->finished && j->t->worker &&
		    ev_call(j->t->worker->loop, job_resume, j) == 0) {
			j->running = false;
			return;
		}
	} while (j->again && !j->finished);
	j->running = false;
	if (j->finished)
		job_free(j);
}

void xcopy_extended_copy(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	struct sense_extra x = { 0 };
	struct xcopy_job *j;
	struct xcopy_lu *xl;
	enum sense_reason r;
	bool conflict = false;
	uint32_t len = scsi_task_data_out_received(t);

	if (t->data_out_len == 0) {
		/* SPC-4 6.4.1: a zero PARAMETER LIST LENGTH is not an error; nothing to copy. */
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (len < t->data_out_len) {
		scsi_task_complete(t, SR_PARAM_LIST_LENGTH_ERROR, NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	j->t = t;
	r = xcopy_decode(t->buf, len, &j->p, &x);
	if (r == SR_OK)
		r = job_validate(j, &x, &conflict);
	if (r != SR_OK || conflict) {
		free(j);
		scsi_task_complete(t, conflict ? SR_RESERVATION_CONFLICT : r, &x);
		return;
	}

	pthread_mutex_lock(&lu->lock);
	xl = xlu_get(lu);
	if (!xl) {
		r = SR_OUT_OF_RESOURCES;
	} else if (xl->active >= XCOPY_TOTAL_CONCURRENT) {
		r = SR_OK;
		conflict = true;	/* BUSY below */
	} else if (j->p.list_id_usage != XCOPY_LIST_NONE && t->nexus) {
		struct xcopy_record *rec = rec_find(xl, t->nexus->id, j->p.list_id);

		if (rec && rec->active) {
			sense_field_pointer(&x, false, HDR_LIST_ID, 7);
			r = SR_OPERATION_IN_PROGRESS;
		} else {
			if (!rec)
				rec = rec_alloc(xl);
			if (rec) {
				memset(rec, 0, sizeof(*rec));
				rec->used = true;
				rec->active = true;
				rec->nexus_id = t->nexus->id;
				rec->list_id = j->p.list_id;
				rec->forget = j->p.list_id_usage == XCOPY_LIST_DISCARD;
				rec->seq = ++xl->seq;
				rec->cm_status = CM_IN_PROGRESS;
				j->rec = rec;
			}
		}
	}
	if (r == SR_OK && !conflict)
		xl->active++;
	pthread_mutex_unlock(&lu->lock);
	if (r != SR_OK || conflict) {
		free(j);
		/* SAM-5 5.3.1: a full copy manager is temporarily unable; the initiator retries. */
		scsi_task_complete(t, conflict ? SR_BUSY : r, &x);
		return;
	}
	j->buf = malloc(XCOPY_CHUNK_BYTES);
	if (!j->buf) {
		job_finish(j, SR_OUT_OF_RESOURCES, NULL);
		job_free(j);
		return;
	}
	j->phase = PH_IDLE;
	job_run(j);
}

/* ---- RECEIVE COPY RESULTS (SPC-4 6.18, LID1 service actions) ----------------------------- */

#define RCR_LIST_ID 2

enum sense_reason xcopy_setup_receive(struct scsi_task *t, struct sense_extra *x)
{
	t->dir = SCSI_DIR_READ;
	t->data_in_max = get_be32(t->cdb + 10);
	return SR_OK;
}

/* TRANSFER COUNT with the smallest unit that fits 32 bits (SPC-4 6.18.3: 00h bytes, 01h KiB,
 * 02h MiB, 03h GiB). */
static void put_transfer_count(uint8_t *units, uint8_t *count, uint64_t bytes)
{
	uint8_t u = 0;

	while (bytes > UINT32_MAX && u < 3) {
		bytes >>= 10;
		u++;
	}
	*units = u;
	put_be32(count, bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes);
}

void xcopy_receive_copy_results(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint8_t sa = t->cdb[1] & 0x1f, list_id = t->cdb[RCR_LIST_ID];
	uint8_t b[64 + SCSI_SENSE_MAX];
	struct xcopy_record *rec = NULL;
	unsigned len = 0;
	struct sense_extra x = { 0 };

	memset(b, 0, sizeof(b));
	if (sa == SA_RCR_OP_PARAMS) {
		len = xcopy_op_params(b);
		scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
		return;
	}
	pthread_mutex_lock(&lu->lock);
	if (lu->xcopy && t->nexus)
		rec = rec_find(lu->xcopy, t->nexus->id, list_id);
	if (rec) {
		switch (sa) {
		case SA_RCR_COPY_STATUS:
			put_be32(b, 8);
			b[4] = rec->cm_status;
			put_be16(b + 5, rec->segs_done);
			put_transfer_count(&b[7], b + 8, rec->bytes_done);
			len = 12;
			if (!rec->active) {
				rec->status_unread = false;
				rec_release_if_read(rec);
			}
			break;
		case SA_RCR_RECEIVE_DATA:
			/* Block -> block segments hold no data (HELD DATA LIMIT 0). */
			put_be32(b, 0);
			len = 4;
			break;
		case SA_RCR_FAILED_SEGMENT:
			/* SPC-4 6.18.5: while running, or after success, nothing to report. */
			if (rec->active || !rec->failure_unread) {
				put_be32(b, 0);
				len = 4;
				break;
			}
			put_be32(b, 56u + rec->sense_len);
			b[57] = rec->status;
			put_be16(b + 58, rec->sense_len);
			memcpy(b + 60, rec->sense, rec->sense_len);
			len = 60u + rec->sense_len;
			rec->failure_unread = false;
			rec_release_if_read(rec);
			break;
		}
	}
	pthread_mutex_unlock(&lu->lock);
	if (!rec) {
		/* No EXTENDED COPY with this list identifier from this I_T nexus is known. */
		sense_field_pointer(&x, true, RCR_LIST_ID, 7);
		scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, &x);
		return;
	}
	scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
}
