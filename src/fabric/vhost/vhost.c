/* The vhost-user back-end on the main loop: controllers' listening sockets, one front-end
 * connection per controller, the message state machine, and starting and stopping the rings on
 * the workers (vhost_internal.h has the threading rules; vscsi.c serves the rings). */
#include "fabric/vhost/vhost_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scsi/lu.h"
#include "scsi/lun_view.h"
#include "scsi/scsi.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

#define VHOST_FEATURES                                                                  \
	((1ull << VU_F_VERSION_1) | (1ull << VU_F_INDIRECT_DESC) | (1ull << VU_F_EVENT_IDX) | \
	 (1ull << VU_F_PROTOCOL_FEATURES) | (1ull << VU_F_SCSI_HOTPLUG) |                     \
	 (1ull << VU_F_SCSI_CHANGE))
/* QEMU passes the virtio-scsi device bits its own device model negotiated with the guest
 * (INOUT, HOTPLUG, CHANGE, T10_PI: bits 0-3) even when we did not offer them (7.2 filters
 * HOTPLUG through what we offer, not CHANGE); INOUT and T10_PI change nothing here and are
 * accepted. */
#define VHOST_FEATURES_ACCEPTED (VHOST_FEATURES | 0xfull)
#define VHOST_PFEATURES ((1ull << VU_PF_MQ) | (1ull << VU_PF_REPLY_ACK))

static void vhost_dev_rx(struct ev_fd *e, uint32_t events);
static void vhost_dev_resume(struct vu_dev *dev);

/* ---- rings: start on a worker, stop and drain ---- */

static void vhost_vq_notify(struct worker_defer *df)
{
	struct vu_vq *vq = container_of(df, struct vu_vq, notify);
	uint64_t one = 1;

	vq->notify_pending = false;
	if (vq->call_fd >= 0 && virtq_should_notify(&vq->q) &&
	    write(vq->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("vhost %s: queue %u: call: %s", vq->dev->name, vq->index,
			  strerror(errno));
}

/* A ring (re)started: one interrupt on its call fd, whatever the ring holds. A ring restarts
 * when the front-end replaces its call fd (QEMU does, when the guest sets up MSI-X): a
 * completion signalled on the old fd just before may never reach the guest, which then waits
 * for it forever (seen: a guest hung in its SCSI scan with the used ring one entry ahead of
 * what it had been told). A spurious interrupt costs the driver one look at the used ring. */
void vhost_vq_signal_start(struct vu_vq *vq)
{
	uint64_t one = 1;

	if (vq->call_fd >= 0 && write(vq->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("vhost %s: queue %u: call: %s", vq->dev->name, vq->index,
			  strerror(errno));
}

static void vhost_vq_kick_cb(struct ev_fd *e, uint32_t events)
{
	struct vu_vq *vq = container_of(e, struct vu_vq, kick_ev);
	uint64_t n;

	/* One read takes the whole count. Only one: the fd is the front-end's, and were it
	 * blocking, a second read would stall this worker until the next kick. */
	if (read(e->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("vhost %s: queue %u: kick: %s", vq->dev->name, vq->index, strerror(errno));
	vscsi_vq_kick(vq);
}

/* Worker: start serving. */
static void vhost_vq_start_cb(void *arg)
{
	struct vu_vq *vq = arg;

	vq->notify.fn = vhost_vq_notify;
	vq->kick_ev.cb = vhost_vq_kick_cb;
	if (ev_fd_add(vq->w->loop, &vq->kick_ev, vq->kick_fd, EPOLLIN) < 0) {
		log_err("vhost %s: queue %u: cannot watch its kick fd", vq->dev->name, vq->index);
		vq->kick_ev.fd = -1;
		vq->broken = true;
		return;
	}
	vscsi_vq_kick(vq);	/* what arrived before we watched */
	vhost_vq_signal_start(vq);
}

/* Worker: in-flight count reached 0 while stopping. Flushes the last notification and hands
 * the ring back to the main thread. */
void vhost_vq_drained(struct vu_vq *vq)
{
	if (vq->notify_pending) {
		worker_defer_cancel(&vq->notify);
		vhost_vq_notify(&vq->notify);
	}
	ev_call_post(vq->dev->d->main_loop, &vq->stopped_item);
}

/* Worker: stop taking requests; report back once those in flight are done. */
static void vhost_vq_stop_cb(void *arg)
{
	struct vu_vq *vq = arg;

	vq->stopping = true;
	if (vq->kick_ev.fd >= 0)
		ev_fd_del(vq->w->loop, &vq->kick_ev);
	vq->kick_ev.fd = -1;
	if (atomic_load_explicit(&vq->inflight, memory_order_relaxed) == 0)
		vhost_vq_drained(vq);
}

void vhost_vq_broken(struct vu_vq *vq)
{
	uint64_t one = 1;

	log_warn("vhost %s: queue %u is broken (%s); not served until the front-end sets it up "
		 "again", vq->dev->name, vq->index, vq->q.why);
	vq->broken = true;
	if (vq->kick_ev.fd >= 0)
		ev_fd_del(vq->w->loop, &vq->kick_ev);
	vq->kick_ev.fd = -1;
	/* The closest vhost-user has to NEEDS_RESET: the vring error eventfd. */
	if (vq->err_fd >= 0 && write(vq->err_fd, &one, sizeof(one)) < 0)
		log_debug("vhost %s: queue %u: err fd: %s", vq->dev->name, vq->index,
			  strerror(errno));
}

static void vhost_vq_free_slots(struct vu_vq *vq)
{
	if (vq->slots) {
		for (unsigned i = 0; i < vq->num; i++)
			free(vq->slots[i].e);
		free(vq->slots);
	}
	free(vq->spare);
	vq->slots = NULL;
	vq->spare = NULL;
}

/* Main: a worker handed the ring back. */
static void vhost_vq_stopped_cb(void *arg)
{
	struct vu_vq *vq = arg;
	struct vu_dev *dev = vq->dev;

	vq->running = false;
	vq->base = vq->q.last_avail;
	vhost_vq_free_slots(vq);
	if (--dev->stopping == 0)
		vhost_dev_resume(dev);
}

static bool vhost_vq_runnable(const struct vu_vq *vq)
{
	const struct vu_dev *dev = vq->dev;

	return vq->index != VHOST_EVENT_VQ && vq->kicked && vq->enabled && vq->addr_set &&
	       vq->num && dev->mem.n && !vq->running && !vq->broken && !dev->closing;
}

bool vhost_vq_map(struct vu_dev *dev, const struct vu_vq *vq, uint8_t **desc, uint8_t **avail,
		  uint8_t **used)
{
	uint64_t dl, al, ul;

	virtq_ring_sizes(vq->num, &dl, &al, &ul);
	*desc = vu_mem_uva(&dev->mem, vq->desc_uva, dl);
	*avail = vu_mem_uva(&dev->mem, vq->avail_uva, al);
	*used = vu_mem_uva(&dev->mem, vq->used_uva, ul);
	return *desc && *avail && *used && !((uintptr_t)*desc & 15) &&
	       !((uintptr_t)*avail & 1) && !((uintptr_t)*used & 3);
}

static void vhost_vq_start(struct vu_vq *vq)
{
	struct vu_dev *dev = vq->dev;
	struct daemon *d = dev->d;
	uint8_t *desc, *avail, *used;
	unsigned widx;

	if (!vhost_vq_map(dev, vq, &desc, &avail, &used)) {
		uint64_t one = 1;

		log_warn("vhost %s: queue %u: ring addresses outside guest memory or misaligned; "
			 "not served", dev->name, vq->index);
		vq->broken = true;
		if (vq->err_fd >= 0 && write(vq->err_fd, &one, sizeof(one)) < 0)
			log_debug("vhost %s: queue %u: err fd: %s", dev->name, vq->index,
				  strerror(errno));
		return;
	}
	vq->slots = calloc(vq->num, sizeof(*vq->slots));
	vq->spare = malloc(sizeof(*vq->spare));
	if (!vq->slots || !vq->spare)
		goto nomem;
	for (unsigned i = 0; i < vq->num; i++) {
		vq->slots[i].vq = vq;
		vq->slots[i].e = malloc(sizeof(*vq->slots[i].e));
		if (!vq->slots[i].e)
			goto nomem;
	}
	virtq_init(&vq->q, &dev->mem, vq->num, desc, avail, used, vq->base,
		   dev->features & (1ull << VU_F_EVENT_IDX),
		   dev->features & (1ull << VU_F_INDIRECT_DESC));
	/* The control queue beside the first request queue; request queues round the workers. */
	widx = vq->index == VHOST_CTRL_VQ ? 0 : vq->index - 2;
	vq->w = &d->workers[(dev->ctrl ? dev->ctrl->connections : 0) % d->nworkers];
	vq->w = &d->workers[((unsigned)(vq->w - d->workers) + widx) % d->nworkers];
	vq->broken = false;
	vq->stopping = false;
	vq->notify_pending = false;
	atomic_store(&vq->inflight, 0);
	vq->kick_ev.fd = -1;
	vq->running = true;
	vq->start_item.fn = vhost_vq_start_cb;
	vq->start_item.arg = vq;
	ev_call_post(vq->w->loop, &vq->start_item);
	return;
nomem:
	log_err("vhost %s: queue %u: out of memory for its requests", dev->name, vq->index);
	vhost_vq_free_slots(vq);
}

static void vhost_vq_stop(struct vu_vq *vq)
{
	if (!vq->running)
		return;
	vq->dev->stopping++;
	vq->stop_item.fn = vhost_vq_stop_cb;
	vq->stop_item.arg = vq;
	vq->stopped_item.fn = vhost_vq_stopped_cb;
	vq->stopped_item.arg = vq;
	ev_call_post(vq->w->loop, &vq->stop_item);
}

static void vhost_dev_start_rings(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++)
		if (vhost_vq_runnable(&dev->vq[i]))
			vhost_vq_start(&dev->vq[i]);
	vhost_evq_start(dev);
}

/* ---- the connection ---- */

static void vhost_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vhost_dev_free(struct vu_dev *dev)
{
	struct vhost_fabric *f;

	log_info("vhost %s: front-end gone (%s)", dev->name, dev->close_why);
	vhost_evq_free(dev);
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++) {
		struct vu_vq *vq = &dev->vq[i];

		vhost_close_fd(&vq->kick_fd);
		vhost_close_fd(&vq->call_fd);
		vhost_close_fd(&vq->err_fd);
		vhost_vq_free_slots(vq);
	}
	vu_mem_unmap(&dev->mem);
	for (unsigned i = 0; i < dev->rx_nfds; i++)
		close(dev->rx_fds[i]);
	if (dev->view) {
		for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
			if (dev->view->lus[i])
				scsi_nexus_loss(dev->view->lus[i], &dev->nexus);
		lun_view_put(dev->view);
	}
	if (dev->target)
		target_put(dev->target);
	if (dev->ctrl)
		dev->ctrl->dev = NULL;
	f = dev->f;
	free(dev);
	if (--f->ndevs == 0 && f->quiescing && f->quiesce_done) {
		void (*done)(void *arg) = f->quiesce_done;

		f->quiesce_done = NULL;
		ev_timer_cancel(f->d->main_loop, &f->quiesce_timer);
		done(f->quiesce_arg);
	}
}

/* Drops the front-end: stops reading, stops the rings, frees once they are back. */
static void vhost_dev_close(struct vu_dev *dev, const char *why)
{
	if (dev->closing)
		return;
	dev->closing = true;
	snprintf(dev->close_why, sizeof(dev->close_why), "%s", why);
	ev_fd_del(dev->d->main_loop, &dev->ev);
	vhost_close_fd(&dev->fd);
	vhost_evq_stop(dev);
	if (dev->has_pending) {
		for (unsigned i = 0; i < dev->pending.nfds; i++)
			vhost_close_fd(&dev->pending.fds[i]);
		dev->has_pending = false;
	}
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++)
		vhost_vq_stop(&dev->vq[i]);
	if (!dev->stopping)
		vhost_dev_free(dev);
}

static int vhost_send(struct vu_dev *dev, const uint8_t *buf, size_t len)
{
	ssize_t r = send(dev->fd, buf, len, MSG_NOSIGNAL);

	if (r != (ssize_t)len) {
		vhost_dev_close(dev, r < 0 ? "reply: send failed" : "reply: short send");
		return -EPIPE;
	}
	return 0;
}

static int vhost_reply_u64(struct vu_dev *dev, uint32_t req, uint64_t v)
{
	uint8_t out[VU_HDR_SIZE + 8];

	return vhost_send(dev, out, vu_msg_reply_u64(out, req, v));
}

/* Ring messages take effect with that ring stopped; the memory table, features and reset with
 * every ring stopped. */
static bool vhost_msg_needs_stop(struct vu_dev *dev, const struct vu_msg *m)
{
	unsigned idx;

	switch (m->request) {
	case VU_SET_MEM_TABLE:
	case VU_SET_FEATURES:
	case VU_RESET_OWNER:
		for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++)
			if (dev->vq[i].running)
				return true;
		return false;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		idx = m->state.index;
		break;
	case VU_SET_VRING_ADDR:
		idx = m->addr.index;
		break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		idx = (unsigned)(m->u64 & VU_VRING_IDX_MASK);
		break;
	default:
		return false;
	}
	return idx < VHOST_MAX_QUEUES && dev->vq[idx].running;
}

static void vhost_stop_for(struct vu_dev *dev, const struct vu_msg *m)
{
	unsigned idx = VHOST_MAX_QUEUES;

	switch (m->request) {
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE: idx = m->state.index; break;
	case VU_SET_VRING_ADDR: idx = m->addr.index; break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR: idx = (unsigned)(m->u64 & VU_VRING_IDX_MASK); break;
	default: break;
	}
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++)
		if (idx == VHOST_MAX_QUEUES || i == idx)
			vhost_vq_stop(&dev->vq[i]);
}

static void vhost_reset(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++) {
		struct vu_vq *vq = &dev->vq[i];

		vhost_close_fd(&vq->kick_fd);
		vhost_close_fd(&vq->call_fd);
		vhost_close_fd(&vq->err_fd);
		vq->num = 0;
		vq->addr_set = vq->kicked = vq->enabled = vq->broken = false;
		vq->base = 0;
	}
	vu_mem_unmap(&dev->mem);
	dev->features = 0;
	dev->features_set = false;
	vs_evq_init(&dev->evq);	/* events for the driver that is gone */
}

/* Eventfds come from the front-end: made non-blocking, so that no read or write of one can stall
 * a worker (a hostile front-end could hand over a blocking eventfd with a full counter). The
 * flag is shared with the front-end's copy; QEMU's are non-blocking already. */
static int vhost_take_eventfd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return fd;
}

/* Handles a decoded message with the rings it concerns stopped. Returns 0, or -1 when the
 * connection was closed. Takes the fds it keeps out of m (the caller closes the rest). */
static int vhost_handle(struct vu_dev *dev, struct vu_msg *m)
{
	bool ack = m->need_reply && (dev->pfeatures & (1ull << VU_PF_REPLY_ACK));
	struct vu_vq *vq = NULL;
	char err[160] = "";
	unsigned idx = 0;
	int r;

	/* The event queue runs on this thread: stopped for any message, started again with the
	 * rings (vhost_dev_start_rings). */
	vhost_evq_stop(dev);
	switch (m->request) {
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE: idx = m->state.index; goto ring;
	case VU_SET_VRING_ADDR: idx = m->addr.index; goto ring;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR: idx = (unsigned)(m->u64 & VU_VRING_IDX_MASK); goto ring;
	default: break;
	}
	goto dispatch;
ring:
	if (idx >= VHOST_MAX_QUEUES) {
		snprintf(err, sizeof(err), "%s: queue %u (we have %u)", vu_request_name(m->request),
			 idx, VHOST_MAX_QUEUES);
		goto fail;
	}
	vq = &dev->vq[idx];
dispatch:
	switch (m->request) {
	case VU_GET_FEATURES:
		return vhost_reply_u64(dev, m->request, VHOST_FEATURES) ? -1 : 0;
	case VU_SET_FEATURES:
		if (m->u64 & ~VHOST_FEATURES_ACCEPTED) {
			snprintf(err, sizeof(err), "SET_FEATURES 0x%llx: not offered",
				 (unsigned long long)m->u64);
			goto fail;
		}
		dev->features = m->u64;
		dev->features_set = true;
		break;
	case VU_GET_PROTOCOL_FEATURES:
		return vhost_reply_u64(dev, m->request, VHOST_PFEATURES) ? -1 : 0;
	case VU_SET_PROTOCOL_FEATURES:
		if (m->u64 & ~VHOST_PFEATURES) {
			snprintf(err, sizeof(err), "SET_PROTOCOL_FEATURES 0x%llx: not offered",
				 (unsigned long long)m->u64);
			goto fail;
		}
		dev->pfeatures = m->u64;
		ack = m->need_reply && (dev->pfeatures & (1ull << VU_PF_REPLY_ACK));
		break;
	case VU_GET_QUEUE_NUM:
		return vhost_reply_u64(dev, m->request, VHOST_MAX_QUEUES) ? -1 : 0;
	case VU_SET_OWNER:
		break;
	case VU_RESET_OWNER:
		vhost_reset(dev);
		break;
	case VU_SET_MEM_TABLE:
		vu_mem_unmap(&dev->mem);
		r = vu_mem_map(&dev->mem, m, err, sizeof(err));
		if (r < 0)
			goto fail;
		log_debug("vhost %s: memory table of %u regions", dev->name, dev->mem.n);
		break;
	case VU_SET_VRING_NUM:
		if (m->state.num == 0 || m->state.num > VIRTQ_MAX_SIZE ||
		    (m->state.num & (m->state.num - 1))) {
			snprintf(err, sizeof(err), "queue %u: size %u", idx, m->state.num);
			goto fail;
		}
		vq->num = (uint16_t)m->state.num;
		vq->broken = false;
		break;
	case VU_SET_VRING_ADDR:
		vq->desc_uva = m->addr.desc;
		vq->avail_uva = m->addr.avail;
		vq->used_uva = m->addr.used;
		vq->addr_set = true;
		vq->broken = false;
		break;
	case VU_SET_VRING_BASE:
		if (m->state.num > 0xffff) {
			snprintf(err, sizeof(err), "queue %u: base %u", idx, m->state.num);
			goto fail;
		}
		vq->base = (uint16_t)m->state.num;
		vq->broken = false;
		break;
	case VU_GET_VRING_BASE: {
		uint8_t out[VU_HDR_SIZE + 8];

		/* Stopped and drained (vhost_msg_needs_stop): the ring is ours to report. */
		vhost_close_fd(&vq->kick_fd);
		vq->kicked = false;
		vq->broken = false;
		if (!(dev->features & (1ull << VU_F_PROTOCOL_FEATURES)))
			vq->enabled = false;
		return vhost_send(dev, out,
				  vu_msg_reply_state(out, m->request, idx, vq->base)) ? -1 : 0;
	}
	case VU_SET_VRING_KICK:
		if (m->u64 & VU_VRING_NOFD) {
			snprintf(err, sizeof(err), "queue %u: polling mode (no kick fd)", idx);
			goto fail;
		}
		vhost_close_fd(&vq->kick_fd);
		vq->kick_fd = vhost_take_eventfd(m->fds[0]);
		m->fds[0] = -1;
		vq->kicked = true;
		vq->broken = false;
		/* Without protocol features a ring is enabled when it starts (vhost-user.rst). */
		if (!(dev->features & (1ull << VU_F_PROTOCOL_FEATURES)))
			vq->enabled = true;
		break;
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR: {
		int *fd = m->request == VU_SET_VRING_CALL ? &vq->call_fd : &vq->err_fd;

		vhost_close_fd(fd);
		if (!(m->u64 & VU_VRING_NOFD)) {
			*fd = vhost_take_eventfd(m->fds[0]);
			m->fds[0] = -1;
		}
		break;
	}
	case VU_SET_VRING_ENABLE:
		if (m->state.num > 1) {
			snprintf(err, sizeof(err), "queue %u: enable %u", idx, m->state.num);
			goto fail;
		}
		vq->enabled = m->state.num;
		break;
	default:
		snprintf(err, sizeof(err), "%s: not handled", vu_request_name(m->request));
		goto fail;
	}
	if (ack && vhost_reply_u64(dev, m->request, 0))
		return -1;
	return 0;
fail:
	log_warn("vhost %s: %s; closing the connection", dev->name, err);
	vhost_dev_close(dev, err);
	return -1;
}

static void vhost_msg_close_fds(struct vu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		vhost_close_fd(&m->fds[i]);
	m->nfds = 0;
}

/* The target's LUNs changed: a new view, with every ring stopped (workers read dev->view with
 * no lock). SPC-4: REPORTED LUNS DATA HAS CHANGED on every LU the nexus now sees. */
static void vhost_dev_swap_view(struct vu_dev *dev)
{
	struct lun_view *nv = lun_view_get(dev->d, dev->target, dev->nexus.initiator), *old;

	dev->refresh_view = false;
	if (!nv) {
		log_err("vhost %s: out of memory refreshing the LUN view; closing", dev->name);
		vhost_dev_close(dev, "out of memory for a LUN view");
		return;
	}
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
		if (nv->lus[i])
			lu_ua_establish(nv->lus[i], dev->nexus.id, UA_LUNS_CHANGED);
	old = dev->view;
	dev->view = nv;
	/* HOTPLUG: the guest learns of each LUN that came or went without a manual rescan. */
	vhost_evq_view_changed(dev, old, nv);
	lun_view_put(old);
	log_info("vhost %s: LUN view refreshed (%u LUNs)", dev->name, nv->count);
}

static void vhost_dev_refresh_view(struct vu_dev *dev)
{
	bool running = false;

	if (dev->closing)
		return;
	dev->refresh_view = true;
	if (dev->has_pending || dev->stopping)
		return;	/* vhost_dev_resume swaps it */
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++)
		running |= dev->vq[i].running;
	if (!running) {
		vhost_dev_swap_view(dev);
		return;
	}
	if (ev_fd_mod(dev->d->main_loop, &dev->ev, 0) < 0) {
		vhost_dev_close(dev, "cannot pause the socket");
		return;
	}
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++)
		vhost_vq_stop(&dev->vq[i]);
}

/* Every ring the held message needed stopped is back (or nothing was held). */
static void vhost_dev_resume(struct vu_dev *dev)
{
	if (dev->closing) {
		vhost_dev_free(dev);
		return;
	}
	if (dev->refresh_view)
		vhost_dev_swap_view(dev);
	if (dev->has_pending) {
		dev->has_pending = false;
		if (vhost_handle(dev, &dev->pending) < 0) {
			vhost_msg_close_fds(&dev->pending);
			return;
		}
		vhost_msg_close_fds(&dev->pending);
	}
	vhost_dev_start_rings(dev);
	if (ev_fd_mod(dev->d->main_loop, &dev->ev, EPOLLIN) < 0)
		vhost_dev_close(dev, "cannot watch the socket");
	else
		vhost_dev_rx(&dev->ev, EPOLLIN);	/* what came while we waited */
}

/* One whole message is in dev->rx with its fds. Returns false when reading must pause (the
 * message waits for rings to stop) or the connection closed. */
static bool vhost_dev_message(struct vu_dev *dev)
{
	char err[160];
	struct vu_msg m;
	int r;

	r = vu_msg_decode(dev->rx, dev->rx_len, dev->rx_fds, dev->rx_nfds, &m, err, sizeof(err));
	dev->rx_len = 0;
	dev->rx_nfds = 0;	/* the fds are in m now */
	if (r < 0) {
		vhost_msg_close_fds(&m);
		log_warn("vhost %s: bad message: %s; closing the connection", dev->name, err);
		vhost_dev_close(dev, err);
		return false;
	}
	log_debug("vhost %s: %s", dev->name, vu_request_name(m.request));
	if (vhost_msg_needs_stop(dev, &m)) {
		dev->pending = m;
		dev->has_pending = true;
		if (ev_fd_mod(dev->d->main_loop, &dev->ev, 0) < 0) {
			vhost_dev_close(dev, "cannot pause the socket");
			return false;
		}
		vhost_stop_for(dev, &m);
		return false;
	}
	r = vhost_handle(dev, &m);
	vhost_msg_close_fds(&m);
	if (r < 0)
		return false;
	vhost_dev_start_rings(dev);
	return true;
}

static void vhost_dev_rx(struct ev_fd *e, uint32_t events)
{
	struct vu_dev *dev = container_of(e, struct vu_dev, ev);

	while (!dev->closing && !dev->has_pending && !dev->stopping) {
		union {
			char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} cm;
		size_t want = VU_HDR_SIZE;
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				     .msg_controllen = sizeof(cm.buf) };
		struct cmsghdr *c;
		bool fd_overflow = false;
		ssize_t r;

		if (dev->rx_len >= VU_HDR_SIZE) {
			char err[128];

			want = vu_msg_total(dev->rx, err, sizeof(err));
			if (!want) {
				log_warn("vhost %s: bad message header: %s; closing the connection",
					 dev->name, err);
				vhost_dev_close(dev, err);
				return;
			}
		}
		if (dev->rx_len == want) {
			if (!vhost_dev_message(dev))
				return;
			continue;
		}
		iov.iov_base = dev->rx + dev->rx_len;
		iov.iov_len = want - dev->rx_len;
		r = recvmsg(dev->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			vhost_dev_close(dev, strerror(errno));
			return;
		}
		if (r == 0) {
			vhost_dev_close(dev, "the front-end closed the connection");
			return;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			unsigned n;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (unsigned i = 0; i < n; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (dev->rx_nfds < VU_MAX_FDS)
					dev->rx_fds[dev->rx_nfds++] = fd;
				else {
					close(fd);
					fd_overflow = true;
				}
			}
		}
		if (fd_overflow || (mh.msg_flags & MSG_CTRUNC)) {
			log_warn("vhost %s: more than %u fds with a message; closing the connection",
				 dev->name, VU_MAX_FDS);
			vhost_dev_close(dev, "too many fds");
			return;
		}
		dev->rx_len += (size_t)r;
	}
}

static struct vu_dev *vhost_dev_new(struct vhost_ctrl *ctrl, int fd)
{
	struct daemon *d = ctrl->f->d;
	struct vu_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->ctrl = ctrl;
	dev->f = ctrl->f;
	dev->d = d;
	dev->fd = fd;
	dev->connect_time = (int64_t)time(NULL);
	snprintf(dev->name, sizeof(dev->name), "%s#%u", ctrl->path, ctrl->connections);
	for (unsigned i = 0; i < VHOST_MAX_QUEUES; i++) {
		dev->vq[i].dev = dev;
		dev->vq[i].index = i;
		dev->vq[i].kick_fd = dev->vq[i].call_fd = dev->vq[i].err_fd = -1;
		dev->vq[i].kick_ev.fd = -1;
	}
	/* The I_T nexus: initiator port "vhost-user:PATH" (docs/design/vhost-user-scsi.md). */
	dev->nexus.id = atomic_fetch_add(&d->next_nexus_id, 1) + 1;
	snprintf(dev->nexus.initiator, sizeof(dev->nexus.initiator), "vhost-user:%s", ctrl->path);
	snprintf(dev->nexus.target, sizeof(dev->nexus.target), "%s", ctrl->target);
	dev->nexus.tpgt = 1;
	dev->nexus.rel_port_id = 1;
	dev->nexus.tmf_supported = NEXUS_TMF_ABORT_TASK | NEXUS_TMF_ABORT_TASK_SET |
				   NEXUS_TMF_CLEAR_TASK_SET | NEXUS_TMF_LU_RESET |
				   NEXUS_TMF_IT_NEXUS_RESET | NEXUS_TMF_QUERY_TASK;
	dev->nexus.port_ops = &daemon_port_ops;
	dev->nexus.port_ctx = d;
	dev->target = target_find_get(d, ctrl->target);
	if (!dev->target) {
		log_warn("vhost %s: target %s does not exist; refusing the front-end", dev->name,
			 ctrl->target);
		free(dev);
		return NULL;
	}
	dev->nexus.alua = &dev->target->alua;
	dev->nexus.alua_slot = ALUA_MAX_GROUPS;
	dev->view = lun_view_get(d, dev->target, dev->nexus.initiator);
	if (!dev->view) {
		target_put(dev->target);
		free(dev);
		return NULL;
	}
	if (vhost_evq_init(dev) < 0) {
		lun_view_put(dev->view);
		target_put(dev->target);
		free(dev);
		return NULL;
	}
	return dev;
}

static void vhost_ctrl_accept(struct ev_fd *e, uint32_t events)
{
	struct vhost_ctrl *ctrl = container_of(e, struct vhost_ctrl, lev);

	for (;;) {
		int fd = accept4(e->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vu_dev *dev;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("vhost %s: accept: %s", ctrl->path, strerror(errno));
			return;
		}
		if (ctrl->dev || ctrl->f->quiescing) {
			log_warn("vhost %s: %s; refusing a front-end", ctrl->path,
				 ctrl->dev ? "a front-end is already connected" : "shutting down");
			close(fd);
			continue;
		}
		ctrl->connections++;
		dev = vhost_dev_new(ctrl, fd);
		if (!dev) {
			close(fd);
			continue;
		}
		ctrl->f->ndevs++;
		dev->ev.cb = vhost_dev_rx;
		if (ev_fd_add(ctrl->f->d->main_loop, &dev->ev, fd, EPOLLIN) < 0) {
			dev->ctrl = NULL;
			snprintf(dev->close_why, sizeof(dev->close_why), "cannot watch the socket");
			close(fd);
			vhost_dev_free(dev);
			continue;
		}
		ctrl->dev = dev;
		log_info("vhost %s: front-end connected (target %s)", dev->name, ctrl->target);
	}
}

/* ---- controllers ---- */

static int vhost_ops_add(void *priv, const char *path, const char *iqn, char *err,
			 size_t err_len)
{
	return vhost_ctrl_add(priv, path, iqn, err, err_len);
}

static int vhost_ops_del(void *priv, const char *path)
{
	return vhost_ctrl_delete(priv, path);
}

static void vhost_ops_foreach(void *priv,
			      void (*fn)(const char *path, const char *iqn, int connected,
					 void *arg),
			      void *arg)
{
	vhost_ctrl_foreach(priv, fn, arg);
}

static void vhost_ops_luns_changed(void *priv, struct target *t)
{
	struct vhost_fabric *f = priv;
	struct list_node *n;

	list_for_each(n, &f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(n, struct vhost_ctrl, node);

		if (c->dev && c->dev->target == t)
			vhost_dev_refresh_view(c->dev);
	}
}

/* target delete: the front-ends serving t are dropped (their rings drain first); the
 * controllers stay, and refuse front-ends until a target of that name exists again. */
static int vhost_ops_target_frontends(void *priv, struct target *t, bool drop)
{
	struct vhost_fabric *f = priv;
	struct list_node *n;
	int count = 0;

	list_for_each(n, &f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(n, struct vhost_ctrl, node);

		if (!c->dev || c->dev->target != t || c->dev->closing)
			continue;
		count++;
		if (drop) {
			log_info("vhost %s: target %s deleted; dropping the front-end",
				 c->dev->name, c->target);
			vhost_dev_close(c->dev, "target deleted");
		}
	}
	return count;
}

static int vhost_ops_session_list(void *priv, struct fabric_session_info **out, unsigned *n)
{
	return vhost_admin_session_list(priv, out, n);
}

static void vhost_ops_lu_abort_tasks(void *priv, struct lu *lu, const uint64_t *ids, unsigned n)
{
	vhost_admin_lu_abort_tasks(priv, lu, ids, n);
}

static const struct vhost_ctl_ops vhost_ctl_ops = {
	.add = vhost_ops_add,
	.del = vhost_ops_del,
	.foreach = vhost_ops_foreach,
	.target_luns_changed = vhost_ops_luns_changed,
	.target_frontends = vhost_ops_target_frontends,
	.session_list = vhost_ops_session_list,
	.lu_abort_tasks = vhost_ops_lu_abort_tasks,
};

struct vhost_fabric *vhost_fabric_new(struct daemon *d)
{
	struct vhost_fabric *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->d = d;
	list_init(&f->ctrls);
	d->vhost = &vhost_ctl_ops;
	d->vhost_priv = f;
	return f;
}

static struct vhost_ctrl *vhost_ctrl_find(struct vhost_fabric *f, const char *path)
{
	struct list_node *n;

	list_for_each(n, &f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(n, struct vhost_ctrl, node);

		if (!strcmp(c->path, path))
			return c;
	}
	return NULL;
}

int vhost_ctrl_add(struct vhost_fabric *f, const char *path, const char *iqn, char *err,
		   size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vhost_ctrl *c;
	struct stat st;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path) || !*path) {
		snprintf(err, err_len, "socket path must be 1 to %zu bytes", sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	if (iscsi_name_validate(iqn) < 0) {
		snprintf(err, err_len, "bad target name '%s'", iqn);
		return -EINVAL;
	}
	if (vhost_ctrl_find(f, path)) {
		snprintf(err, err_len, "%s is already a vhost-user controller", path);
		return -EEXIST;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	c->f = f;
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->target, sizeof(c->target), "%s", iqn);
	memcpy(sa.sun_path, path, strlen(path));
	/* A socket left by an earlier run is replaced; anything else there is not ours. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, err_len, "%s exists and is not a socket", path);
			ret = -EEXIST;
			goto fail;
		}
		unlink(path);
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->lfd, 4) < 0) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		goto fail;
	}
	c->lev.cb = vhost_ctrl_accept;
	ret = ev_fd_add(f->d->main_loop, &c->lev, c->lfd, EPOLLIN);
	if (ret < 0) {
		snprintf(err, err_len, "%s: cannot watch the socket", path);
		unlink(path);
		goto fail;
	}
	list_add_tail(&f->ctrls, &c->node);
	log_info("vhost-user-scsi controller %s for target %s", path, iqn);
	return 0;
fail:
	if (c->lfd >= 0)
		close(c->lfd);
	free(c);
	return ret;
}

static void vhost_ctrl_free(struct vhost_ctrl *c)
{
	ev_fd_del(c->f->d->main_loop, &c->lev);
	close(c->lfd);
	unlink(c->path);
	list_del(&c->node);
	if (c->dev) {
		struct vu_dev *dev = c->dev;

		dev->ctrl = NULL;
		c->dev = NULL;
		vhost_dev_close(dev, "controller deleted");
	}
	free(c);
}

int vhost_ctrl_delete(struct vhost_fabric *f, const char *path)
{
	struct vhost_ctrl *c = vhost_ctrl_find(f, path);

	if (!c)
		return -ENOENT;
	vhost_ctrl_free(c);
	return 0;
}

void vhost_ctrl_foreach(struct vhost_fabric *f,
			void (*fn)(const char *path, const char *iqn, int connected, void *arg),
			void *arg)
{
	struct list_node *n;

	list_for_each(n, &f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(n, struct vhost_ctrl, node);

		fn(c->path, c->target, c->dev != NULL, arg);
	}
}

static void vhost_quiesce_timeout(struct ev_timer *t)
{
	struct vhost_fabric *f = container_of(t, struct vhost_fabric, quiesce_timer);
	void (*done)(void *arg) = f->quiesce_done;

	log_warn("vhost: %u front-end(s) still draining after 10 s; stopping anyway", f->ndevs);
	f->quiesce_done = NULL;
	if (done)
		done(f->quiesce_arg);
}

void vhost_fabric_quiesce(struct vhost_fabric *f, void (*done)(void *arg), void *arg)
{
	struct list_node *n;

	if (f->quiescing)
		return;	/* a second SIGTERM: the first one's done() is still to come */
	f->quiescing = true;
	f->quiesce_done = done;
	f->quiesce_arg = arg;
	if (!f->ndevs) {
		f->quiesce_done = NULL;
		done(arg);
		return;
	}
	f->quiesce_timer.cb = vhost_quiesce_timeout;
	ev_timer_arm(f->d->main_loop, &f->quiesce_timer, 10000);
	list_for_each(n, &f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(n, struct vhost_ctrl, node);

		if (c->dev)
			vhost_dev_close(c->dev, "shutting down");
	}
}

void vhost_fabric_free(struct vhost_fabric *f)
{
	if (!f)
		return;
	if (f->ndevs) {
		/* Rings that never drained (vhost_fabric_quiesce timed out): left as they are. */
		log_warn("vhost: leaving %u front-end(s) behind at exit", f->ndevs);
		return;
	}
	ev_timer_cancel(f->d->main_loop, &f->quiesce_timer);
	while (!list_empty(&f->ctrls))
		vhost_ctrl_free(list_entry(f->ctrls.next, struct vhost_ctrl, node));
	f->d->vhost = NULL;
	f->d->vhost_priv = NULL;
	free(f);
}

int vhost_spec_parse(const char *spec, char *path, size_t path_len, char *iqn, size_t iqn_len)
{
	const char *comma = strrchr(spec, ',');

	if (!comma || strncmp(comma + 1, "target=", 7) || comma == spec ||
	    (size_t)(comma - spec) >= path_len || strlen(comma + 8) >= iqn_len || !comma[8])
		return -EINVAL;
	memcpy(path, spec, (size_t)(comma - spec));
	path[comma - spec] = '\0';
	snprintf(iqn, iqn_len, "%s", comma + 8);
	return 0;
}
