/* The virtio-scsi device (virtio 1.1 5.6) on a running queue, on its worker: request queues
 * turn each chain into a struct scsi_task for the SCSI core, as the iSCSI fabric does
 * (scsi_task_setup, then execute, then the response); the control queue answers task
 * management and asynchronous-notification requests.
 *
 * Layouts (VIRTIO_F_VERSION_1: little-endian; cdb_size 32 and sense_size 96, the defaults QEMU
 * keeps for vhost-user-scsi):
 *   request   lun[8] le64 id  u8 task_attr  u8 prio  u8 crn  cdb[32]             51 bytes
 *   response  le32 sense_len  le32 resid  le16 status_qualifier  u8 status  u8 response
 *             sense[96]                                                          108 bytes
 *   TMF       le32 type(0)  le32 subtype  lun[8]  le64 id      -> u8 response
 *   AN        le32 type(1|2)  lun[8]  le32 event_requested   -> le32 event_actual, u8 response
 * Data-out follows the request in the readable segments, data-in the response in the
 * writable ones. READ and WRITE move their data straight between guest memory and the
 * backstore (task->iov); other commands go through the task buffer, copied here. */
#include "fabric/vhost/vhost_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fabric/vhost/vu_le.h"
#include "scsi/lu.h"
#include "scsi/lun_view.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "util/log.h"

#define VS_CDB_SIZE 32
#define VS_SENSE_SIZE 96
#define VS_REQ_SIZE (19 + VS_CDB_SIZE)
#define VS_RESP_SIZE (12 + VS_SENSE_SIZE)
#define VS_TMF_REQ_SIZE 24
#define VS_AN_REQ_SIZE 16
#define VS_TMF_WAIT_MS 60000	/* longest a TMF waits for the commands in flight */

/* Response codes (virtio 1.1 5.6.6.1). */
enum {
	VS_S_OK = 0,
	VS_S_OVERRUN = 1,
	VS_S_ABORTED = 2,
	VS_S_BAD_TARGET = 3,
	VS_S_RESET = 4,
	VS_S_BUSY = 5,
	VS_S_TRANSPORT_FAILURE = 6,
	VS_S_TARGET_FAILURE = 7,
	VS_S_NEXUS_FAILURE = 8,
	VS_S_FAILURE = 9,
	VS_S_FUNCTION_SUCCEEDED = 10,
	VS_S_FUNCTION_REJECTED = 11,
	VS_S_INCORRECT_LUN = 12,
};

/* Control queue types and TMF subtypes (virtio 1.1 5.6.6.2). */
enum {
	VS_T_TMF = 0,
	VS_T_AN_QUERY = 1,
	VS_T_AN_SUBSCRIBE = 2,
};
enum {
	VS_TMF_ABORT_TASK = 0,
	VS_TMF_ABORT_TASK_SET = 1,
	VS_TMF_CLEAR_ACA = 2,
	VS_TMF_CLEAR_TASK_SET = 3,
	VS_TMF_I_T_NEXUS_RESET = 4,
	VS_TMF_LOGICAL_UNIT_RESET = 5,
	VS_TMF_QUERY_TASK = 6,
	VS_TMF_QUERY_TASK_SET = 7,
};

/* Copies len bytes between buf and the segments iov[0..n) after skip bytes of them. */
static size_t vs_iov_copy(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len,
			  bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + skip, (char *)buf + done, l);
		else
			memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

/* Cuts the first skip bytes off iov[first..first+*n) in place; returns the new first index
 * and updates *n. */
static unsigned vs_iov_skip(struct iovec *iov, unsigned first, unsigned *n, size_t skip)
{
	while (*n && skip) {
		if (skip < iov[first].iov_len) {
			iov[first].iov_base = (char *)iov[first].iov_base + skip;
			iov[first].iov_len -= skip;
			return first;
		}
		skip -= iov[first].iov_len;
		first++;
		(*n)--;
	}
	/* Drop empty leading segments too. */
	while (*n && !iov[first].iov_len) {
		first++;
		(*n)--;
	}
	return first;
}

/* Keeps only the first len bytes of iov[first..first+*n). */
static void vs_iov_trim(struct iovec *iov, unsigned first, unsigned *n, size_t len)
{
	unsigned i;

	for (i = 0; i < *n && len; i++) {
		if (iov[first + i].iov_len >= len) {
			iov[first + i].iov_len = len;
			len = 0;
		} else {
			len -= iov[first + i].iov_len;
		}
	}
	*n = i;
}

static void vs_notify_soon(struct vu_vq *vq)
{
	if (!vq->notify_pending) {
		vq->notify_pending = true;
		worker_defer(vq->w, &vq->notify);
	}
}

void vscsi_req_finish(struct vs_req *r, uint32_t written)
{
	struct vu_vq *vq = r->vq;

	virtq_push(&vq->q, r->e->head, written);
	r->busy = false;
	vs_notify_soon(vq);
	atomic_store_explicit(&vq->inflight,
			      atomic_load_explicit(&vq->inflight, memory_order_relaxed) - 1,
			      memory_order_relaxed);
	if (vq->stopping && atomic_load_explicit(&vq->inflight, memory_order_relaxed) == 0)
		vhost_vq_drained(vq);
}

/* The response header (and no task) for a request the core never saw. */
static void vs_respond_code(struct vs_req *r, uint8_t response)
{
	uint8_t resp[VS_RESP_SIZE] = { 0 };

	vu_put32(resp + 4, r->in_data_len);	/* resid: nothing transferred */
	resp[11] = response;
	vs_iov_copy(r->resp_iov, r->resp_niov, 0, resp, sizeof(resp), true);
	vscsi_req_finish(r, VS_RESP_SIZE);
}

static void vs_task_done(struct scsi_task *st)
{
	struct vs_req *r = st->fabric_priv;
	struct virtq_elem *e = r->e;
	uint8_t resp[VS_RESP_SIZE] = { 0 };
	uint32_t moved = 0, sense_len = st->sense_len;

	if (r->aborted) {
		/* PREEMPT AND ABORT by another nexus (vhost_admin.c): SPC-4 aborts the task; a
		 * virtio request still needs an answer, and this is virtio-scsi's. */
		scsi_task_release(st);
		vs_respond_code(r, VS_S_ABORTED);
		return;
	}
	if (st->dir == SCSI_DIR_READ && st->data_in_len) {
		if (st->iov) {
			moved = st->data_in_len;	/* already in guest memory */
		} else if (st->buf) {
			uint32_t n = st->data_in_len < st->buf_len ? st->data_in_len : st->buf_len;

			if (n > r->in_data_len)
				n = r->in_data_len;
			moved = (uint32_t)vs_iov_copy(e->iov + r->in_first, e->nin - (r->in_first - e->nout),
						      0, st->buf, n, true);
		}
	} else if (st->dir == SCSI_DIR_WRITE) {
		moved = scsi_task_data_out_received(st);
	}
	if (sense_len > VS_SENSE_SIZE)
		sense_len = VS_SENSE_SIZE;
	vu_put32(resp, sense_len);
	if (st->dir == SCSI_DIR_READ || (st->dir != SCSI_DIR_WRITE && r->in_data_len))
		vu_put32(resp + 4, r->in_data_len > moved ? r->in_data_len - moved : 0);
	else
		vu_put32(resp + 4, r->out_data_len > moved ? r->out_data_len - moved : 0);
	resp[10] = st->status;
	resp[11] = VS_S_OK;
	memcpy(resp + 12, st->sense, sense_len);
	vs_iov_copy(r->resp_iov, r->resp_niov, 0, resp, sizeof(resp), true);
	scsi_task_release(st);
	vscsi_req_finish(r, VS_RESP_SIZE + (st->dir == SCSI_DIR_READ ? moved : 0));
}

/* Decodes virtio-scsi's LUN field (virtio 1.1 5.6.6.1: byte 0 is 1, byte 1 the target, bytes
 * 2-3 the LUN in SAM single-level format). -1: not target 0 of this controller. */
static int vs_lun(const uint8_t lun[8], uint64_t *out)
{
	if (lun[0] != 1 || lun[1] != 0)
		return -1;
	*out = ((uint64_t)(lun[2] & 0x3f) << 8) | lun[3];
	return 0;
}

static void vs_request(struct vu_vq *vq, struct vs_req *r)
{
	struct vu_dev *dev = vq->dev;
	struct virtq_elem *e = r->e;
	struct scsi_task *st = &r->st;
	uint8_t req[VS_REQ_SIZE];
	unsigned nout = e->nout, nin = e->nin;
	uint64_t lun;

	r->aborted = false;
	if (e->out_len < VS_REQ_SIZE || e->in_len < VS_RESP_SIZE) {
		snprintf(vq->q.why, sizeof(vq->q.why), "request of %llu/%llu bytes (need %u/%u)",
			 (unsigned long long)e->out_len, (unsigned long long)e->in_len, VS_REQ_SIZE,
			 VS_RESP_SIZE);
		goto broken;
	}
	vs_iov_copy(e->iov, e->nout, 0, req, sizeof(req), false);
	/* The response header: at most 8 segments (Linux uses one). */
	r->resp_niov = 0;
	{
		size_t left = VS_RESP_SIZE;

		for (unsigned i = e->nout; i < e->nout + e->nin && left; i++) {
			size_t l = e->iov[i].iov_len < left ? e->iov[i].iov_len : left;

			if (!l)
				continue;
			if (r->resp_niov == 8) {
				snprintf(vq->q.why, sizeof(vq->q.why),
					 "response header in more than 8 segments");
				goto broken;
			}
			r->resp_iov[r->resp_niov].iov_base = e->iov[i].iov_base;
			r->resp_iov[r->resp_niov].iov_len = l;
			r->resp_niov++;
			left -= l;
		}
	}
	r->out_first = vs_iov_skip(e->iov, 0, &nout, VS_REQ_SIZE);
	r->out_count = nout;
	r->out_data_len = (uint32_t)(e->out_len - VS_REQ_SIZE);
	r->in_first = vs_iov_skip(e->iov, e->nout, &nin, VS_RESP_SIZE);
	r->in_data_len = (uint32_t)(e->in_len - VS_RESP_SIZE);
	r->tag = vu_get64(req + 8);

	if (vs_lun(req, &lun) < 0) {
		vs_respond_code(r, VS_S_BAD_TARGET);
		return;
	}
	memset(st, 0, sizeof(*st));
	st->worker = vq->w;
	st->nexus = &dev->nexus;
	st->nexus_stats = &vq->stats;	/* the nexus's statistics, this queue's share */
	st->view = dev->view;
	st->lun = lun;
	if (lun < INVAR_MAX_LUNS && dev->view->lus[lun]) {
		st->lu = dev->view->lus[lun];	/* the connection's view holds it */
		st->lu_borrowed = true;
	}
	memcpy(st->cdb, req + 19, VS_CDB_SIZE);
	st->cdb_len = VS_CDB_SIZE;
	/* task_attr: VIRTIO_SCSI_S_SIMPLE 0, ORDERED 1, HEAD 2, ACA 3 (virtio 1.1 5.6.6.1). */
	switch (req[16]) {
	case 1: st->attr = SCSI_ATTR_ORDERED; break;
	case 2: st->attr = SCSI_ATTR_HEAD_OF_QUEUE; break;
	case 3: st->attr = SCSI_ATTR_ACA; break;
	default: st->attr = SCSI_ATTR_SIMPLE; break;
	}
	if (r->out_data_len) {
		st->fabric_dir = SCSI_DIR_WRITE;
		st->exp_xfer_len = r->out_data_len;
	} else if (r->in_data_len) {
		st->fabric_dir = SCSI_DIR_READ;
		st->exp_xfer_len = r->in_data_len;
	}
	st->done = vs_task_done;
	st->fabric_priv = r;
	if (scsi_task_setup(st) < 0) {
		vs_task_done(st);
		return;
	}
	if (st->dir == SCSI_DIR_WRITE && st->data_out_len && scsi_task_iov_direct(st)) {
		/* Straight from guest memory: the whole blocks the guest supplied (all of them
		 * unless its buffer is short: SAM-5 5.4.3, the rest is residual). Never a bounce,
		 * so a guest cannot make invard allocate for its writes. */
		uint32_t bsz = st->lu->block_size;
		uint32_t n = st->data_out_len < r->out_data_len ? st->data_out_len : r->out_data_len;
		unsigned cnt = r->out_count;

		n = n / bsz * bsz;
		if (n) {
			vs_iov_trim(e->iov, r->out_first, &cnt, n);
			st->iov = e->iov + r->out_first;
			st->iovcnt = cnt;
			st->iov_len = n;
		}
	} else if (st->dir == SCSI_DIR_WRITE && st->data_out_len) {
		/* Parameter data of other commands (MODE SELECT, UNMAP, WRITE SAME...): small,
		 * bounded by their CDBs; copied into the task buffer. */
		uint32_t n = st->data_out_len < r->out_data_len ? st->data_out_len : r->out_data_len;

		if (n && scsi_task_alloc_buf(st, n) < 0) {
			scsi_task_set_sense(st, SR_OUT_OF_RESOURCES);
			vs_task_done(st);
			return;
		}
		st->buf_len = (uint32_t)vs_iov_copy(e->iov + r->out_first, r->out_count, 0, st->buf,
						    n, false);
	} else if (st->dir == SCSI_DIR_READ && scsi_task_iov_direct(st) && st->data_in_max) {
		unsigned n = nin;

		if (r->in_data_len < st->data_in_max) {
			/* A READ into a buffer smaller than the transfer: virtio-scsi's OVERRUN,
			 * rather than a bounce buffer of up to the transfer length. */
			scsi_task_release(st);
			vs_respond_code(r, VS_S_OVERRUN);
			return;
		}
		vs_iov_trim(e->iov, r->in_first, &n, st->data_in_max);
		st->iov = e->iov + r->in_first;
		st->iovcnt = n;
		st->iov_len = st->data_in_max;
	}
	scsi_task_execute(st);
	return;
broken:
	/* Not answered: the queue stops being served (vhost_vq_broken). */
	r->busy = false;
	atomic_store_explicit(&vq->inflight,
			      atomic_load_explicit(&vq->inflight, memory_order_relaxed) - 1,
			      memory_order_relaxed);
	vhost_vq_broken(vq);
	if (vq->stopping && atomic_load_explicit(&vq->inflight, memory_order_relaxed) == 0)
		vhost_vq_drained(vq);
}

/* ---- the control queue ---- */

/* Task management runs after the requests in flight on every request queue of the device have
 * completed: those commands are answered before the function's response (they completed before
 * it took effect), and the guest's error handler owns no command any more once it has the
 * response. */
static bool vs_dev_idle(struct vu_dev *dev)
{
	for (unsigned i = 2; i < VHOST_MAX_QUEUES; i++)
		if (atomic_load_explicit(&dev->vq[i].inflight, memory_order_relaxed))
			return false;
	return true;
}

static void vs_ctrl_respond(struct vs_req *r, const uint8_t *resp, size_t len)
{
	vs_iov_copy(r->e->iov + r->e->nout, r->e->nin, 0, (void *)resp, len, true);
	vscsi_req_finish(r, (uint32_t)len);
}

static uint8_t vs_tmf(struct vu_dev *dev, uint32_t subtype, const uint8_t lunf[8])
{
	uint64_t lun;
	struct lu *lu;

	if (vs_lun(lunf, &lun) < 0)
		return VS_S_BAD_TARGET;
	lu = lun < INVAR_MAX_LUNS ? dev->view->lus[lun] : NULL;
	switch (subtype) {
	case VS_TMF_ABORT_TASK:
	case VS_TMF_ABORT_TASK_SET:
	case VS_TMF_CLEAR_TASK_SET:
		/* Every command of the nexus has completed (vs_dev_idle): nothing left to abort. */
		return lu ? VS_S_FUNCTION_SUCCEEDED : VS_S_INCORRECT_LUN;
	case VS_TMF_QUERY_TASK:
	case VS_TMF_QUERY_TASK_SET:
		/* SAM-5 7.9: FUNCTION COMPLETE: the task (set) is not in the task set. */
		return lu ? VS_S_OK : VS_S_INCORRECT_LUN;
	case VS_TMF_LOGICAL_UNIT_RESET:
		if (!lu)
			return VS_S_INCORRECT_LUN;
		scsi_lu_reset(lu, &dev->nexus);
		log_info("vhost %s: LOGICAL UNIT RESET of LUN %llu", dev->name,
			 (unsigned long long)lun);
		return VS_S_FUNCTION_SUCCEEDED;
	case VS_TMF_I_T_NEXUS_RESET:
		for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
			if (dev->view->lus[i])
				scsi_nexus_loss(dev->view->lus[i], &dev->nexus);
		log_info("vhost %s: I_T NEXUS RESET", dev->name);
		return VS_S_FUNCTION_SUCCEEDED;
	default:
		return VS_S_FUNCTION_REJECTED;
	}
}

/* Returns false when the request has to wait (TMF while commands are in flight). */
static bool vs_ctrl(struct vu_vq *vq, struct vs_req *r)
{
	struct vu_dev *dev = vq->dev;
	struct virtq_elem *e = r->e;
	uint8_t req[VS_TMF_REQ_SIZE] = { 0 }, resp[5] = { 0 };
	uint32_t type;

	if (e->out_len < 4) {
		snprintf(vq->q.why, sizeof(vq->q.why), "control request of %llu bytes",
			 (unsigned long long)e->out_len);
		return true;
	}
	vs_iov_copy(e->iov, e->nout, 0, req, e->out_len < sizeof(req) ? e->out_len : sizeof(req),
		    false);
	type = vu_get32(req);
	if (type == VS_T_TMF) {
		if (e->out_len < VS_TMF_REQ_SIZE || e->in_len < 1) {
			snprintf(vq->q.why, sizeof(vq->q.why), "TMF request of %llu/%llu bytes",
				 (unsigned long long)e->out_len, (unsigned long long)e->in_len);
			return true;
		}
		if (!r->tmf_logged) {
			r->tmf_logged = true;
			r->tmf_start_ms = ev_now_ms();
			log_info("vhost %s: TMF %u on LUN %u/%u", dev->name, vu_get32(req + 4),
				 req[2] & 0x3f, req[3]);
		}
		if (!vs_dev_idle(dev)) {
			if (ev_now_ms() - r->tmf_start_ms < VS_TMF_WAIT_MS)
				return false;
			/* A command that never completes (a backstore that hangs): the guest gets
			 * an answer rather than an error handler blocked forever. */
			log_warn("vhost %s: TMF %u: commands still in flight after %u s; answering "
				 "FAILURE", dev->name, vu_get32(req + 4), VS_TMF_WAIT_MS / 1000);
			resp[0] = VS_S_FAILURE;
			vs_ctrl_respond(r, resp, 1);
			return true;
		}
		resp[0] = vs_tmf(dev, vu_get32(req + 4), req + 8);
		vs_ctrl_respond(r, resp, 1);
		return true;
	}
	if (type == VS_T_AN_QUERY || type == VS_T_AN_SUBSCRIBE) {
		if (e->out_len < VS_AN_REQ_SIZE || e->in_len < 5) {
			snprintf(vq->q.why, sizeof(vq->q.why), "AN request of %llu/%llu bytes",
				 (unsigned long long)e->out_len, (unsigned long long)e->in_len);
			return true;
		}
		/* No asynchronous events are reported: event_actual 0, OK (virtio 1.1 5.6.6.2). */
		vu_put32(resp, 0);
		resp[4] = VS_S_OK;
		vs_ctrl_respond(r, resp, 5);
		return true;
	}
	snprintf(vq->q.why, sizeof(vq->q.why), "control request type %u", type);
	return true;
}

static void vs_ctrl_retry(struct ev_timer *t);

void vscsi_vq_kick(struct vu_vq *vq)
{
	while (!vq->broken && !vq->stopping && !vq->ctrl_wait) {
		struct virtq_elem *tmp;
		struct vs_req *r;
		int rc = virtq_pop(&vq->q, vq->spare);

		if (rc < 0) {
			vhost_vq_broken(vq);
			return;
		}
		if (rc == 0) {
			if (virtq_enable_kicks(&vq->q))
				continue;
			return;
		}
		r = &vq->slots[vq->spare->head];
		if (r->busy) {
			snprintf(vq->q.why, sizeof(vq->q.why), "head %u reused while in flight",
				 vq->spare->head);
			vhost_vq_broken(vq);
			return;
		}
		tmp = r->e;
		r->e = vq->spare;
		vq->spare = tmp;
		r->busy = true;
		atomic_store_explicit(&vq->inflight,
				      atomic_load_explicit(&vq->inflight, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		if (vq->index == VHOST_CTRL_VQ) {
			vq->q.why[0] = '\0';
			r->tmf_logged = false;
			if (!vs_ctrl(vq, r)) {
				/* Wait for the request queues to drain, then answer. */
				vq->ctrl_wait = r;
				vq->ctrl_timer.cb = vs_ctrl_retry;
				ev_timer_arm(vq->w->loop, &vq->ctrl_timer, 5);
				return;
			}
			if (vq->q.why[0]) {
				r->busy = false;
				atomic_store_explicit(&vq->inflight,
						      atomic_load_explicit(&vq->inflight,
									   memory_order_relaxed) - 1,
						      memory_order_relaxed);
				vhost_vq_broken(vq);
				if (vq->stopping &&
				    !atomic_load_explicit(&vq->inflight, memory_order_relaxed))
					vhost_vq_drained(vq);
				return;
			}
			continue;
		}
		vs_request(vq, r);
	}
}

static void vs_ctrl_retry(struct ev_timer *t)
{
	struct vu_vq *vq = container_of(t, struct vu_vq, ctrl_timer);
	struct vs_req *r = vq->ctrl_wait;

	if (!r)
		return;
	if (!vs_ctrl(vq, r)) {
		ev_timer_arm(vq->w->loop, &vq->ctrl_timer, 5);
		return;
	}
	vq->ctrl_wait = NULL;
	vscsi_vq_kick(vq);
}
