/* SCSI Command, Data-Out, R2T, Data-In and SCSI Response (RFC 7143 11.3-11.8): a command PDU
 * becomes a struct scsi_task; write data is collected (immediate, unsolicited, R2T-solicited);
 * read data and status go back with residuals against the Expected Data Transfer Length. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt/worker.h"
#include "scsi/lu.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "target/target.h"
#include "util/byteorder.h"
#include "util/log.h"

static void iscsi_task_scsi_done(struct scsi_task *st);

/* Write-buffer accounting (iscsi_wbuf_charge): the daemon-wide sum counts 4 KiB units. */
#define WBUF_UNIT_SHIFT 12

static uint32_t wbuf_units(uint32_t bytes)
{
	return (uint32_t)(((uint64_t)bytes + (1u << WBUF_UNIT_SHIFT) - 1) >> WBUF_UNIT_SHIFT);
}

void iscsi_task_get(struct iscsi_task *t)
{
	t->refs++;
}

void iscsi_task_put(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	struct iscsi_session *s;

	if (--t->refs)
		return;
	s = c->sess;
	if (t->tmf_wait) {
		iscsi_tmf_wait_release(t->tmf_wait);
		t->tmf_wait = NULL;
	}
	if (t->xabort) {
		iscsi_xabort_put(t->xabort);
		t->xabort = NULL;
	}
	if (t->wbuf_charged) {
		pcount_sub(&iscsi_fabric_get(c->d)->wbuf, wbuf_units(t->wbuf_charged));
		if (s)
			s->wbuf_bytes -= t->wbuf_charged;
	}
	scsi_task_release(&t->st);
	iscsi_view_put(t->view);
	list_del(&t->node);
	if (s)
		s->ntasks--;
	free(t);
	if (c->closing)
		iscsi_conn_teardown_check(c);
}

/* The task has its answer (or will never get one): it no longer counts against the CmdSN
 * window, and the owner's reference goes. Queued PDUs keep their own references. */
static void iscsi_task_finish(struct iscsi_task *t)
{
	if (t->state == ISCSI_TASK_DONE)
		return;
	t->state = ISCSI_TASK_DONE;
	if (t->conn->sess && t->conn->sess->active)
		__atomic_fetch_sub(&t->conn->sess->active, 1, __ATOMIC_RELAXED);
	iscsi_task_put(t);
}

void iscsi_task_abort(struct iscsi_task *t)
{
	if (t->aborted)
		return;
	t->aborted = true;
	t->st.aborted = true;
	/* I/O in flight: the buffer is the backstore's until done() (which finishes the task). */
	if (!t->in_scsi)
		iscsi_task_finish(t);
}

struct iscsi_task *iscsi_task_find(struct iscsi_session *s, uint32_t itt)
{
	struct list_node *n;

	list_for_each(n, &s->tasks)
	{
		struct iscsi_task *t = list_entry(n, struct iscsi_task, node);

		if (t->itt == itt && t->state != ISCSI_TASK_DONE && !t->aborted)
			return t;
	}
	return NULL;
}

/* Residual against EDTL (RFC 7143 11.4.5): overflow when the command wanted to move more than
 * EDTL, underflow when it moved less. */
static void iscsi_task_residual(const struct iscsi_task *t, bool *overflow, bool *underflow,
				uint32_t *residual)
{
	const struct scsi_task *st = &t->st;
	uint32_t want = 0, edtl = t->edtl;

	*overflow = *underflow = false;
	*residual = 0;
	if (st->dir == SCSI_DIR_READ) {
		want = st->data_in_len;
		if (!t->cmd_read)
			edtl = 0;
	} else if (st->dir == SCSI_DIR_WRITE) {
		want = st->data_out_len;
		if (!t->cmd_write)
			edtl = 0;
	}
	if (want > edtl) {
		*overflow = true;
		*residual = want - edtl;
	} else if (want < edtl) {
		*underflow = true;
		*residual = edtl - want;
	}
}

static int iscsi_task_queue_data_in(struct iscsi_task *t, bool with_status)
{
	struct iscsi_conn *c = t->conn;
	const struct scsi_task *st = &t->st;
	uint32_t total = st->data_in_len, off = 0, mrdsl = c->sess->p.max_xmit_dsl;
	uint32_t burst = c->sess->p.max_burst, residual;
	bool overflow, underflow;

	if (total > t->edtl)
		total = t->edtl;
	if (total > st->buf_len)
		total = st->buf_len;
	iscsi_task_residual(t, &overflow, &underflow, &residual);
	while (off < total) {
		struct iscsi_pdu_hdr h = {
			.opcode = ISCSI_OP_DATA_IN,
			.itt = t->itt,
			.data_in = { .ttt = ISCSI_RSVD_TAG, .datasn = t->datasn++, .buffer_offset = off },
		};
		uint32_t len = total - off;
		uint32_t burst_left = burst - (off % burst);
		bool last = false;

		if (len > mrdsl)
			len = mrdsl;
		if (len > burst_left)
			len = burst_left;
		last = off + len == total;
		/* F ends each Data-In sequence of at most MaxBurstLength (RFC 7143 11.7.1). */
		h.data_in.final = last || len == burst_left;
		if (last && with_status) {
			/* Phase collapse (RFC 7143 11.7.3): status in the last Data-In. */
			h.data_in.final = true;
			h.data_in.status_present = true;
			h.data_in.overflow = overflow;
			h.data_in.underflow = underflow;
			h.data_in.status = st->status;
			h.data_in.residual = residual;
			iscsi_conn_fill_sn(c, &h, true);
		} else {
			/* StatSN is reserved without the S bit (RFC 7143 11.7.4). */
			iscsi_conn_fill_sn(c, &h, false);
			h.statsn = 0;
		}
		if (iscsi_conn_queue(c, &h, st->buf + off, len, t, NULL) < 0)
			return -EPIPE;
		off += len;
	}
	return total ? 1 : 0;
}

static void iscsi_task_queue_response(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	const struct scsi_task *st = &t->st;
	struct iscsi_pdu_hdr h = { .opcode = ISCSI_OP_SCSI_RSP, .itt = t->itt };
	uint8_t *sense = NULL;
	uint32_t slen = 0;

	if (st->sense_len) {
		/* RFC 7143 11.4.7: SenseLength (2 bytes) then the sense data. */
		slen = 2u + st->sense_len;
		sense = malloc(slen);
		if (!sense) {
			iscsi_conn_close(c, "out of memory for sense");
			return;
		}
		put_be16(sense, st->sense_len);
		memcpy(sense + 2, st->sense, st->sense_len);
	}
	iscsi_task_residual(t, &h.scsi_rsp.overflow, &h.scsi_rsp.underflow, &h.scsi_rsp.residual);
	h.scsi_rsp.response = 0x00;	/* Command Completed at Target */
	h.scsi_rsp.status = st->status;
	iscsi_conn_fill_sn(c, &h, true);
	h.scsi_rsp.expdatasn = st->dir == SCSI_DIR_WRITE ? t->r2tsn : t->datasn;
	iscsi_conn_queue(c, &h, sense, slen, NULL, sense);
}

/* Data (reads) and status for a completed task, then the task is finished. */
static void iscsi_task_respond(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	const struct scsi_task *st = &t->st;
	bool collapse = st->status == SCSI_STATUS_GOOD && !st->sense_len;
	int sent = 0;

	/* Count the response out of the window first so MaxCmdSN in it opens the slot. */
	if (c->sess->active)
		__atomic_fetch_sub(&c->sess->active, 1, __ATOMIC_RELAXED);
	t->state = ISCSI_TASK_DONE;
	if (st->dir == SCSI_DIR_READ && t->cmd_read && st->data_in_len &&
	    st->buf)
		sent = iscsi_task_queue_data_in(t, collapse);
	if (sent < 0)
		goto out;
	if (!sent || !collapse)
		iscsi_task_queue_response(t);
out:
	iscsi_task_put(t);	/* the owner's reference; queued PDUs hold theirs */
	iscsi_conn_flush_soon(c);
}

static void iscsi_task_execute(struct iscsi_task *t)
{
	t->state = ISCSI_TASK_EXEC;
	t->in_scsi = true;
	iscsi_task_get(t);
	scsi_task_execute(&t->st);	/* done() may run before this returns */
	iscsi_task_put(t);
}

static void iscsi_task_scsi_done(struct scsi_task *st)
{
	struct iscsi_task *t = st->fabric_priv;
	struct iscsi_conn *c = t->conn;

	t->in_scsi = false;
	if (t->tmf_wait) {
		struct iscsi_tmf_wait *w = t->tmf_wait;

		t->tmf_wait = NULL;
		iscsi_tmf_wait_release(w);
	}
	if (t->xabort) {
		struct iscsi_xabort *x = t->xabort;

		t->xabort = NULL;
		iscsi_xabort_put(x);
	}
	if (t->aborted || c->closing) {
		iscsi_task_finish(t);
		return;
	}
	iscsi_task_respond(t);
}

static int iscsi_task_send_r2t(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	struct iscsi_r2t *r = NULL;
	struct iscsi_pdu_hdr h = { .opcode = ISCSI_OP_R2T, .itt = t->itt };
	uint32_t len;
	unsigned i;

	for (i = 0; i < ISCSI_MAX_R2T_TRACK; i++)
		if (!t->r2t[i].active) {
			r = &t->r2t[i];
			break;
		}
	if (!r)
		return -ENOSPC;
	len = t->xfer_len - t->r2t_next_offset;
	if (len > c->sess->p.max_burst)
		len = c->sess->p.max_burst;
	r->active = true;
	r->ttt = iscsi_conn_next_ttt(c);
	r->offset = t->r2t_next_offset;
	r->len = len;
	r->received = 0;
	r->next_datasn = 0;
	t->r2t_next_offset += len;
	t->r2t_outstanding++;

	/* RFC 7143 11.8. */
	memcpy(h.lun, t->lun_raw, 8);
	h.r2t.ttt = r->ttt;
	iscsi_conn_fill_sn(c, &h, false);
	h.r2t.r2tsn = t->r2tsn++;
	h.r2t.buffer_offset = r->offset;
	h.r2t.ddtl = r->len;
	return iscsi_conn_queue(c, &h, NULL, 0, NULL, NULL);
}

static uint32_t iscsi_task_solicited_total(const struct iscsi_task *t)
{
	return t->xfer_len > t->unsol_len ? t->xfer_len - t->unsol_len : 0;
}

/* Next step of a write: solicit what is missing, execute once everything is in. */
static void iscsi_task_write_progress(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	uint32_t max_r2t = c->sess->p.max_outstanding_r2t;

	if (max_r2t > ISCSI_MAX_R2T_TRACK)
		max_r2t = ISCSI_MAX_R2T_TRACK;
	while (t->state == ISCSI_TASK_DATA_OUT && t->r2t_outstanding < max_r2t &&
	       t->r2t_next_offset < t->xfer_len) {
		if (iscsi_task_send_r2t(t) < 0)
			break;
	}
	if (t->unsol_received < t->unsol_len)
		return;
	if (t->state == ISCSI_TASK_DRAIN) {
		/* After a data digest error RFC 7143 7.8 (b) makes the response wait for the data of
		 * every outstanding R2T; otherwise solicited data still in flight is dropped as late
		 * data. */
		if (t->drain_r2ts && t->r2t_outstanding)
			return;
		iscsi_task_respond(t);
		return;
	}
	if (t->solicited_received < iscsi_task_solicited_total(t))
		return;
	iscsi_task_execute(t);
}

static void iscsi_scsi_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t *bhs,
			      const char *why)
{
	log_warn("iscsi %s: SCSI command rejected: %s", c->peer, why);
	iscsi_conn_send_reject(c, reason, bhs);
}

/* A WRITE's buffer (xfer_len bytes, allocated and zeroed before its data arrives) is counted
 * against the session's budget and the daemon's (limits session_write_mb, write_buffer_mb):
 * without them, 128 WRITE PDUs of 32 MiB each, and no data, would pin 4 GiB of one session.
 * A session's only outstanding write is always within its own budget, so any command can
 * make progress; the daemon's budget holds for every write (a daemon under attack answers
 * BUSY rather than run out of memory). The daemon-wide sum is kept in 4 KiB units in
 * per-thread slots (a 32-bit sum covers 16 TiB): workers may overshoot it by a command each.
 * Returns SR_OK when counted, else the outcome to answer (nothing counted): TASK SET FULL over
 * the session's budget, BUSY over the daemon's. */
static enum sense_reason iscsi_wbuf_charge(struct iscsi_session *s, struct iscsi_task *t)
{
	struct iscsi_fabric *f = iscsi_fabric_get(s->d);
	uint32_t units = wbuf_units(t->xfer_len);

	if (s->wbuf_bytes && s->wbuf_bytes + t->xfer_len > s->wbuf_budget)
		return SR_TASK_SET_FULL;
	if (((uint64_t)pcount_sum(&f->wbuf) + units) << WBUF_UNIT_SHIFT > s->wbuf_daemon_budget)
		return SR_BUSY;
	pcount_add(&f->wbuf, units);
	s->wbuf_bytes += t->xfer_len;
	t->wbuf_charged = t->xfer_len;
	return SR_OK;
}

void iscsi_scsi_cmd_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
		       const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
		       const uint8_t *data)
{
	struct iscsi_session *s = c->sess;
	const struct iscsi_scsi_cmd_fields *cmd = &h->scsi_cmd;
	bool rd = cmd->read, wr = cmd->write, final = cmd->final;
	uint32_t edtl = cmd->edtl;
	struct iscsi_task *t;
	uint64_t lun;
	uint32_t imm_copy;
	int cdb_len;

	/* RFC 7143 11.3: data only with W; unsolicited data only when negotiated and within
	 * FirstBurstLength (and never more than EDTL). */
	if (h->data_len && (!wr || !s->p.immediate_data || h->data_len > s->p.first_burst ||
			    h->data_len > edtl)) {
		iscsi_scsi_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs, "bad immediate data");
		return;
	}
	if (!final && (!wr || s->p.initial_r2t)) {
		iscsi_scsi_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs, "unsolicited data not allowed");
		return;
	}
	/* Immediate commands bypass the CmdSN window (RFC 7143 4.2.2.1), so bound them here: with
	 * max_cmds already in flight one more is refused (RFC 7143 11.17.1, reason 0x06). */
	if (h->immediate && s->active >= s->max_cmds) {
		iscsi_scsi_reject(c, ISCSI_REJECT_IMM_CMD_REJECT, bhs, "too many immediate commands");
		return;
	}
	if (iscsi_task_find(s, h->itt)) {
		iscsi_scsi_reject(c, ISCSI_REJECT_TASK_IN_PROGRESS, bhs, "ITT already in use");
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		iscsi_conn_close(c, "out of memory for task");
		return;
	}
	cdb_len = iscsi_cdb_from_pdu(h, ahs, ahs_len, t->st.cdb, sizeof(t->st.cdb));
	if (cdb_len < 0) {
		free(t);
		iscsi_scsi_reject(c, ISCSI_REJECT_INVALID_PDU_FIELD, bhs, "bad extended CDB AHS");
		return;
	}
	t->conn = c;
	t->refs = 1;
	t->itt = h->itt;
	t->cmdsn = h->cmdsn;
	t->edtl = edtl;
	t->cmd_read = rd;
	t->cmd_write = wr;
	memcpy(t->lun_raw, h->lun, 8);
	t->view = s->view;
	t->view->refs++;
	list_add_tail(&s->tasks, &t->node);
	s->ntasks++;
	__atomic_fetch_add(&s->active, 1, __ATOMIC_RELAXED);

	lun = iscsi_lun_decode(h->lun);
	t->st.worker = c->w;
	t->st.nexus = &s->nexus;
	t->st.view = t->view->v;
	t->st.lun = lun;
	if (lun < INVAR_MAX_LUNS && t->view->v->lus[lun]) {
		/* t->view (a reference, dropped after scsi_task_release) holds the LU. */
		t->st.lu = t->view->v->lus[lun];
		t->st.lu_borrowed = true;
	}
	t->st.cdb_len = (uint16_t)cdb_len;
	switch (cmd->attr) {
	case 0: t->st.attr = SCSI_ATTR_UNTAGGED; break;
	case 1: t->st.attr = SCSI_ATTR_SIMPLE; break;
	case 2: t->st.attr = SCSI_ATTR_ORDERED; break;
	case 3: t->st.attr = SCSI_ATTR_HEAD_OF_QUEUE; break;
	default: t->st.attr = SCSI_ATTR_ACA; break;
	}
	t->st.exp_xfer_len = edtl;
	t->st.fabric_dir = wr ? SCSI_DIR_WRITE : rd ? SCSI_DIR_READ : SCSI_DIR_NONE;
	t->st.done = iscsi_task_scsi_done;
	t->st.fabric_priv = t;

	/* Unsolicited data the initiator sends: the immediate data alone when F is set, else up
	 * to FirstBurstLength (RFC 7143 13.14). */
	t->unsol_len = final ? h->data_len : (edtl < s->p.first_burst ? edtl : s->p.first_burst);
	t->unsol_received = h->data_len;

	if (scsi_task_setup(&t->st) < 0) {
		/* Complete already (CHECK CONDITION): drain unsolicited data, then respond. */
		t->state = ISCSI_TASK_DRAIN;
		iscsi_task_write_progress(t);
		return;
	}
	t->setup_ok = true;
	if (t->st.dir == SCSI_DIR_WRITE && wr) {
		enum sense_reason full;

		t->xfer_len = t->st.data_out_len < t->edtl ? t->st.data_out_len : t->edtl;
		full = t->xfer_len ? iscsi_wbuf_charge(s, t) : SR_OK;
		if (full != SR_OK) {
			/* Over a write-buffer budget: not executed, retryable; its data is drained. */
			scsi_task_set_sense(&t->st, full);
			t->st.dir = SCSI_DIR_NONE;
			t->state = ISCSI_TASK_DRAIN;
			t->xfer_len = 0;
			iscsi_task_write_progress(t);
			return;
		}
		if (t->xfer_len && scsi_task_alloc_buf(&t->st, t->xfer_len) < 0) {
			scsi_task_set_sense(&t->st, SR_OUT_OF_RESOURCES);
			t->state = ISCSI_TASK_DRAIN;
			t->xfer_len = 0;
			iscsi_task_write_progress(t);
			return;
		}
		imm_copy = h->data_len < t->xfer_len ? h->data_len : t->xfer_len;
		if (imm_copy)
			memcpy(t->st.buf, data, imm_copy);
	}
	t->r2t_next_offset = t->unsol_len;
	t->state = ISCSI_TASK_DATA_OUT;
	iscsi_task_write_progress(t);
}

/* A Data-Out sequence error (bad DataSN, offset or TTT). RFC 7143 7.1.4.1 lets a target at
 * ERL 0 end the command rather than the connection: the task stops collecting, drains what
 * the initiator still sends unsolicited, and completes with CHECK CONDITION, ABORTED COMMAND /
 * DATA PHASE ERROR. The connection and session stay up. */
static void iscsi_data_out_error(struct iscsi_conn *c, struct iscsi_task *t, const char *why)
{
	log_warn("iscsi %s: ITT 0x%x: %s; failing the command", c->peer, t->itt, why);
	if (t->state != ISCSI_TASK_DATA_OUT)
		return;
	t->state = ISCSI_TASK_DRAIN;
	t->xfer_len = t->r2t_next_offset < t->xfer_len ? t->r2t_next_offset : t->xfer_len;
	t->st.dir = SCSI_DIR_NONE;	/* nothing was transferred as far as residuals go */
	scsi_task_set_sense(&t->st, SR_ABORTED_DATA_PHASE);
}

int iscsi_data_out_hdr(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h, uint8_t **dest)
{
	struct iscsi_session *s = c->sess;
	struct iscsi_task *t = NULL;
	struct list_node *n;
	const struct iscsi_data_out_fields *dout = &h->data_out;
	uint32_t off = dout->buffer_offset, len = h->data_len, datasn = dout->datasn;
	uint32_t ttt = dout->ttt;

	*dest = NULL;
	c->direct_len = 0;
	/* Aborted tasks still drain their data: look them up too (not finished ones). */
	list_for_each(n, &s->tasks)
	{
		struct iscsi_task *x = list_entry(n, struct iscsi_task, node);

		if (x->itt == h->itt &&
		    (x->state == ISCSI_TASK_DATA_OUT || x->state == ISCSI_TASK_DRAIN)) {
			t = x;
			break;
		}
	}
	if (!t) {
		/* Late data for a command already answered or aborted: dropped. */
		log_debug("iscsi %s: Data-Out for unknown ITT 0x%x dropped", c->peer, h->itt);
		return 0;
	}
	if (ttt == ISCSI_RSVD_TAG) {
		/* Unsolicited (RFC 7143 11.7.4/11.7.5): in order, DataSN from 0, within the first
		 * burst. */
		if (datasn != t->unsol_next_datasn)
			iscsi_data_out_error(c, t, "bad DataSN in unsolicited Data-Out");
		else if (off != t->unsol_received || (uint64_t)off + len > t->unsol_len)
			iscsi_data_out_error(c, t, "bad offset in unsolicited Data-Out");
	} else {
		struct iscsi_r2t *r = NULL;
		unsigned i;

		for (i = 0; i < ISCSI_MAX_R2T_TRACK; i++)
			if (t->r2t[i].active && t->r2t[i].ttt == ttt) {
				r = &t->r2t[i];
				break;
			}
		if (!r)
			iscsi_data_out_error(c, t, "Data-Out with unknown TTT");
		else if (datasn != r->next_datasn)
			iscsi_data_out_error(c, t, "bad DataSN in solicited Data-Out");
		else if (off != r->offset + r->received || (uint64_t)r->received + len > r->len)
			iscsi_data_out_error(c, t, "bad offset in solicited Data-Out");
	}
	iscsi_task_get(t);
	c->data_task = t;
	if (t->state == ISCSI_TASK_DATA_OUT && !t->aborted && t->st.buf && off < t->xfer_len) {
		*dest = t->st.buf + off;
		c->direct_len = t->xfer_len - off < len ? t->xfer_len - off : len;
	}
	return 0;
}

void iscsi_data_out_done(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			 struct iscsi_task *t)
{
	uint32_t len = h->data_len;

	if (!t)
		return;
	if (h->data_out.ttt == ISCSI_RSVD_TAG) {
		t->unsol_received += len;
		t->unsol_next_datasn++;
		/* F ends the unsolicited sequence, possibly early. */
		if (h->data_out.final && t->unsol_received < t->unsol_len) {
			t->unsol_len = t->unsol_received;
			if (t->r2t_next_offset > t->unsol_len && !t->r2t_outstanding)
				t->r2t_next_offset = t->unsol_len;
		}
	} else {
		unsigned i;

		for (i = 0; i < ISCSI_MAX_R2T_TRACK; i++) {
			struct iscsi_r2t *r = &t->r2t[i];

			if (!r->active || r->ttt != h->data_out.ttt)
				continue;
			r->received += len;
			r->next_datasn++;
			t->solicited_received += len;
			if (r->received == r->len) {
				r->active = false;
				t->r2t_outstanding--;
			}
			break;
		}
	}
	if (t->aborted || c->closing)
		return;
	if (t->state == ISCSI_TASK_DATA_OUT || t->state == ISCSI_TASK_DRAIN)
		iscsi_task_write_progress(t);
}

/* RFC 7143 7.8: the Data-Out was rejected and its payload is discarded. Recovery R2Ts are an
 * ERL 1 tool, so we take option (b): the task stops collecting, waits for the rest of the data
 * already asked for (the F bit of every outstanding R2T's sequence), and ends with CHECK
 * CONDITION, ABORTED COMMAND / PROTOCOL SERVICE CRC ERROR. It never executes, so the damaged
 * payload, which went straight into the task buffer, is never written. */
void iscsi_data_out_digest_error(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
				 struct iscsi_task *t)
{
	if (!t)
		return;		/* late data for a finished command: nothing to fail */
	if (t->state == ISCSI_TASK_DATA_OUT) {
		iscsi_data_out_error(c, t, "data digest error in Data-Out");
		scsi_task_set_sense(&t->st, SR_ABORTED_PROTOCOL_CRC);
		t->drain_r2ts = true;
	}
	iscsi_data_out_done(c, h, t);
}
