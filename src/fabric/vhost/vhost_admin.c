/* What the control plane and the SCSI core ask of the vhost-user-scsi fabric about its
 * front-ends (vhost_ctl_ops): each connected front-end listed as a session (fabric "vhost")
 * with its I/O statistics, and PREEMPT AND ABORT reaching the tasks of its nexus. */
#include "fabric/vhost/vhost_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/lu.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

int vhost_admin_session_list(struct vhost_fabric *f, struct fabric_session_info **out, unsigned *n)
{
	struct list_node *node;

	list_for_each(node, &f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(node, struct vhost_ctrl, node);
		struct vu_dev *dev = c->dev;
		struct fabric_session_info *v, *i;
		unsigned inflight = 0;
		bool first = true;

		if (!dev || dev->closing)
			continue;
		v = realloc(*out, (*n + 1) * sizeof(**out));
		if (!v)
			return -ENOMEM;
		*out = v;
		i = &v[(*n)++];
		memset(i, 0, sizeof(*i));
		snprintf(i->fabric, sizeof(i->fabric), "vhost");
		snprintf(i->initiator, sizeof(i->initiator), "%s", dev->nexus.initiator);
		snprintf(i->target, sizeof(i->target), "%s", dev->nexus.target);
		snprintf(i->portal, sizeof(i->portal), "vhost-user");
		/* The socket (the initiator name has it whole). */
		snprintf(i->peer, sizeof(i->peer), "%.*s", (int)sizeof(i->peer) - 1, c->path);
		i->tpgt = dev->nexus.tpgt;
		i->login_time = dev->connect_time;
		/* Each request queue's statistics and in-flight count are written by its worker
		 * only; read here with relaxed loads (scsi/stats.h). */
		for (unsigned q = 2; q < VHOST_MAX_QUEUES; q++) {
			struct vu_vq *vq = &dev->vq[q];

			if (!vq->num)
				continue;
			scsi_stats_add(&i->stats, &vq->stats);
			inflight += atomic_load_explicit(&vq->inflight, memory_order_relaxed);
			if (vq->running && first) {
				i->worker = (unsigned)(vq->w - dev->d->workers);
				first = false;
			}
			i->max_cmds += vq->num;
		}
		i->in_flight = inflight;
	}
	return 0;
}

/* ---- PREEMPT AND ABORT ---- */

struct vhost_abort_msg {
	struct vhost_fabric *f;
	struct lu *lu;	/* held */
	unsigned n;
	uint64_t ids[];
};

struct vhost_abort_vq {
	struct vu_vq *vq;
	struct lu *lu;	/* held */
};

/* The queue's worker: its tasks on lu end with VIRTIO_SCSI_S_ABORTED (vs_task_done). */
static void vhost_abort_on_worker(void *arg)
{
	struct vhost_abort_vq *a = arg;
	struct vu_vq *vq = a->vq;
	unsigned marked = 0;

	for (unsigned i = 0; vq->slots && i < vq->num; i++) {
		struct vs_req *r = &vq->slots[i];

		if (r->busy && r->st.lu == a->lu && !r->aborted) {
			r->aborted = true;
			marked++;
		}
	}
	if (marked)
		log_info("vhost %s: queue %u: PREEMPT AND ABORT: %u task(s) will end ABORTED",
			 vq->dev->name, vq->index, marked);
	lu_put(a->lu);
	free(a);
}

static void vhost_abort_main(void *arg)
{
	struct vhost_abort_msg *m = arg;
	struct list_node *node;

	list_for_each(node, &m->f->ctrls)
	{
		struct vhost_ctrl *c = list_entry(node, struct vhost_ctrl, node);
		struct vu_dev *dev = c->dev;
		bool hit = false;

		for (unsigned i = 0; dev && i < m->n; i++)
			hit |= m->ids[i] == dev->nexus.id;
		if (!hit)
			continue;
		log_info("vhost %s: PREEMPT AND ABORT on LU %s reaches this front-end", dev->name,
			 m->lu->cfg.serial);
		/* Rings on their way to stop (a message, a new view, closing) drain their tasks
		 * anyway; only a ring running with no stop posted may be sent work: its worker
		 * runs the call before any later stop. */
		if (dev->closing || dev->stopping)
			continue;
		for (unsigned q = 2; q < VHOST_MAX_QUEUES; q++) {
			struct vu_vq *vq = &dev->vq[q];
			struct vhost_abort_vq *a;

			if (!vq->running)
				continue;
			a = malloc(sizeof(*a));
			if (!a) {
				log_err("vhost %s: out of memory for PREEMPT AND ABORT", dev->name);
				continue;
			}
			a->vq = vq;
			a->lu = m->lu;
			lu_get(m->lu);
			if (ev_call(vq->w->loop, vhost_abort_on_worker, a) < 0) {
				log_err("vhost %s: out of memory for PREEMPT AND ABORT", dev->name);
				lu_put(m->lu);
				free(a);
			}
		}
	}
	lu_put(m->lu);
	free(m);
}

void vhost_admin_lu_abort_tasks(struct vhost_fabric *f, struct lu *lu, const uint64_t *ids,
				unsigned n)
{
	struct vhost_abort_msg *m;

	if (!n)
		return;
	m = malloc(sizeof(*m) + n * sizeof(ids[0]));
	if (!m) {
		log_err("vhost: out of memory for PREEMPT AND ABORT");
		return;
	}
	m->f = f;
	m->lu = lu;
	m->n = n;
	memcpy(m->ids, ids, n * sizeof(ids[0]));
	lu_get(lu);
	if (ev_call(f->d->main_loop, vhost_abort_main, m) < 0) {
		log_err("vhost: out of memory for PREEMPT AND ABORT");
		lu_put(lu);
		free(m);
	}
}
