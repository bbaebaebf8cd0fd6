/* The event queue of a vhost-user-scsi device, served on the main thread (vs_event.h has the
 * wire form and the bounded buffering), and where its events come from:
 *  - the controller's LUN view changes (lun add/delete, an ACL change): TRANSPORT_RESET with
 *    RESCAN for a LUN that appeared, REMOVED for one that went (VIRTIO_SCSI_F_HOTPLUG);
 *  - a LU's capacity changes (struct lu_listener): PARAM_CHANGE with asc/ascq 2A/09, CAPACITY
 *    DATA HAS CHANGED (VIRTIO_SCSI_F_CHANGE); Linux's virtio_scsi rescans that device.
 * Events are rare and made on the main thread, which also owns the memory table and the ring
 * settings; so unlike the request queues this ring is not handed to a worker: the main loop
 * watches its kick, and it is stopped (synchronously) before any vhost-user message is handled
 * and started again after. */
#include "fabric/vhost/vhost_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "scsi/lu.h"
#include "scsi/lu_capacity.h"
#include "scsi/lun_view.h"
#include "target/daemon.h"
#include "util/log.h"

/* A capacity change seen on some thread, carried to the main loop. */
struct vhost_cap_msg {
	struct vhost_fabric *f;
	uint64_t nexus_id;
	struct lu *lu;	/* compared, never dereferenced */
	uint16_t lun;
};

static void vhost_evq_notify(struct vu_vq *vq)
{
	uint64_t one = 1;

	if (vq->call_fd >= 0 && virtq_should_notify(&vq->q) &&
	    write(vq->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("vhost %s: event queue: call: %s", vq->dev->name, strerror(errno));
}

static void vhost_evq_flush(struct vu_dev *dev)
{
	struct vu_vq *vq = &dev->vq[VHOST_EVENT_VQ];
	int n;

	if (!dev->evq_live)
		return;
	n = vs_evq_flush(&dev->evq, &vq->q, dev->evq_elem);
	if (n > 0) {
		log_debug("vhost %s: %d event(s) delivered", dev->name, n);
		vhost_evq_notify(vq);
	}
	if (n < 0) {
		uint64_t one = 1;

		log_warn("vhost %s: event queue is broken (%s); not served until the front-end "
			 "sets it up again",
			 dev->name, vq->q.why);
		vhost_evq_stop(dev);
		vq->broken = true;
		if (vq->err_fd >= 0 && write(vq->err_fd, &one, sizeof(one)) < 0)
			log_debug("vhost %s: event queue: err fd: %s", dev->name, strerror(errno));
	}
}

static void vhost_evq_kick_cb(struct ev_fd *e, uint32_t events)
{
	struct vu_dev *dev = container_of(e, struct vu_dev, evq_kick);
	uint64_t n;

	/* One read, as for the request queues: the fd is the front-end's. */
	if (read(e->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("vhost %s: event queue: kick: %s", dev->name, strerror(errno));
	vhost_evq_flush(dev);
}

void vhost_evq_start(struct vu_dev *dev)
{
	struct vu_vq *vq = &dev->vq[VHOST_EVENT_VQ];
	uint8_t *desc, *avail, *used;

	if (dev->evq_live || dev->closing || !vq->kicked || !vq->enabled || !vq->addr_set ||
	    !vq->num || !dev->mem.n || vq->broken || vq->kick_fd < 0)
		return;
	if (!vhost_vq_map(dev, vq, &desc, &avail, &used)) {
		log_warn("vhost %s: event queue: ring addresses outside guest memory or "
			 "misaligned; not served",
			 dev->name);
		vq->broken = true;
		return;
	}
	virtq_init(&vq->q, &dev->mem, vq->num, desc, avail, used, vq->base,
		   dev->features & (1ull << VU_F_EVENT_IDX),
		   dev->features & (1ull << VU_F_INDIRECT_DESC));
	dev->evq_kick.cb = vhost_evq_kick_cb;
	if (ev_fd_add(dev->d->main_loop, &dev->evq_kick, vq->kick_fd, EPOLLIN) < 0) {
		log_err("vhost %s: event queue: cannot watch its kick fd", dev->name);
		return;
	}
	dev->evq_live = true;
	vhost_evq_flush(dev);	/* events that waited for the ring */
	vhost_vq_signal_start(vq);
}

void vhost_evq_stop(struct vu_dev *dev)
{
	struct vu_vq *vq = &dev->vq[VHOST_EVENT_VQ];

	if (!dev->evq_live)
		return;
	ev_fd_del(dev->d->main_loop, &dev->evq_kick);
	dev->evq_live = false;
	/* Every buffer taken was used at once: nothing is in flight. */
	vq->base = vq->q.last_avail;
}

void vhost_evq_post(struct vu_dev *dev, uint32_t event, uint16_t lun, uint32_t reason)
{
	uint64_t need =
	    event == VS_T_PARAM_CHANGE ? 1ull << VU_F_SCSI_CHANGE : 1ull << VU_F_SCSI_HOTPLUG;

	if (dev->closing || !(dev->features & need))
		return;	/* the driver did not ask for these events */
	if (event == VS_T_PARAM_CHANGE)
		log_info("vhost %s: event PARAM_CHANGE %02X/%02X on LUN %u", dev->name,
			 reason & 0xff, reason >> 8 & 0xff, lun);
	else
		log_info("vhost %s: event TRANSPORT_RESET %s on LUN %u", dev->name,
			 reason == VS_EVT_RESET_RESCAN ? "RESCAN" : "REMOVED", lun);
	if (!vs_evq_push(&dev->evq, event, lun, reason))
		log_warn("vhost %s: %u events wait for the guest's event buffers; event %u on "
			 "LUN %u dropped (the next one says EVENTS_MISSED)",
			 dev->name, VS_EVQ_MAX, event, lun);
	vhost_evq_flush(dev);
}

static void vhost_cap_main(void *arg)
{
	struct vhost_cap_msg *m = arg;
	struct list_node *n;

	list_for_each(n, &m->f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(n, struct vhost_ctrl, node);
		struct vu_dev *dev = c->dev;

		if (!dev || dev->nexus.id != m->nexus_id || dev->closing ||
		    dev->view->lus[m->lun] != m->lu)
			continue;
		vhost_evq_post(dev, VS_T_PARAM_CHANGE, m->lun, 0x2a | 0x09 << 8);
	}
	free(m);
}

/* lu_listener: any thread, under lu.lock. */
static void vhost_cap_changed(struct lu *lu, uint64_t old_blocks, uint64_t new_blocks, void *arg)
{
	struct vhost_lu_listener *ll = arg;
	struct vhost_cap_msg *m = malloc(sizeof(*m));

	if (m) {
		m->f = ll->dev->f;
		m->nexus_id = ll->dev->nexus.id;
		m->lu = lu;
		m->lun = ll->lun;
		if (ev_call(ll->dev->d->main_loop, vhost_cap_main, m) == 0)
			return;
		free(m);
	}
	log_warn("vhost %s: out of memory; no PARAM_CHANGE event for LUN %u", ll->dev->name,
		 ll->lun);
}

/* Registers a capacity listener on each LU of the view, and only those. */
static void vhost_evq_listen(struct vu_dev *dev, const struct lun_view *v)
{
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++) {
		struct vhost_lu_listener *ll = &dev->listen[i];
		struct lu *want = v ? v->lus[i] : NULL;

		if (ll->lu == want)
			continue;
		if (ll->lu)
			lu_listener_del(ll->lu, &ll->l);
		ll->lu = want;
		if (want) {
			ll->dev = dev;
			ll->lun = (uint16_t)i;
			ll->l.capacity_changed = vhost_cap_changed;
			ll->l.arg = ll;
			lu_listener_add(want, &ll->l);
		}
	}
}

int vhost_evq_init(struct vu_dev *dev)
{
	vs_evq_init(&dev->evq);
	dev->evq_kick.fd = -1;
	dev->evq_elem = malloc(sizeof(*dev->evq_elem));
	dev->listen = calloc(INVAR_MAX_LUNS, sizeof(*dev->listen));
	if (!dev->evq_elem || !dev->listen) {
		free(dev->evq_elem);
		free(dev->listen);
		dev->evq_elem = NULL;
		dev->listen = NULL;
		return -ENOMEM;
	}
	vhost_evq_listen(dev, dev->view);
	return 0;
}

void vhost_evq_free(struct vu_dev *dev)
{
	vhost_evq_stop(dev);
	if (dev->listen)
		vhost_evq_listen(dev, NULL);	/* before the view's references go */
	free(dev->listen);
	free(dev->evq_elem);
	dev->listen = NULL;
	dev->evq_elem = NULL;
}

void vhost_evq_view_changed(struct vu_dev *dev, const struct lun_view *old,
			    const struct lun_view *nv)
{
	vhost_evq_listen(dev, nv);
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++) {
		struct lu *a = old ? old->lus[i] : NULL, *b = nv->lus[i];

		if (a == b)
			continue;
		if (a)
			vhost_evq_post(dev, VS_T_TRANSPORT_RESET, (uint16_t)i,
				       VS_EVT_RESET_REMOVED);
		if (b)
			vhost_evq_post(dev, VS_T_TRANSPORT_RESET, (uint16_t)i, VS_EVT_RESET_RESCAN);
	}
}
