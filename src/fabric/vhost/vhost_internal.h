/* The vhost-user-scsi fabric's private structures (docs/design/vhost-user-scsi.md).
 *
 * Threads. A controller (struct vhost_ctrl: a listening UNIX socket) and its connected
 * front-end (struct vu_dev: the vhost-user socket, features, memory table, ring settings, the
 * I_T nexus) live on the main loop. Each started request queue and the control queue (struct
 * vu_vq) run on one worker each: its kick eventfd is watched on that worker's loop, its
 * requests and their backstore I/O run there, and only that worker touches the ring, its slots
 * and its counters while it runs. The main thread changes a ring's settings, the memory table
 * or the device only while every ring is stopped: a message that would is held (dev->pending),
 * each running ring is asked to stop (ev_call_post to its worker), the worker stops watching the
 * kick, waits for its requests in flight to complete and posts back; when the last ring is
 * back the message is handled, and the rings that should run are started again. So no lock is
 * taken on the request path and guest memory is never unmapped under a request. */
#ifndef INVAR_FABRIC_VHOST_INTERNAL_H
#define INVAR_FABRIC_VHOST_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "fabric/vhost/vhost.h"
#include "fabric/vhost/virtq.h"
#include "fabric/vhost/vs_event.h"
#include "fabric/vhost/vu_mem.h"
#include "fabric/vhost/vu_msg.h"
#include "rt/evloop.h"
#include "rt/worker.h"
#include "scsi/limits.h"
#include "scsi/lu_capacity.h"
#include "scsi/nexus.h"
#include "scsi/stats.h"
#include "scsi/task.h"
#include "util/list.h"

/* Queues: 0 control, 1 event, 2.. requests (virtio 1.1 5.6.2). */
#define VHOST_CTRL_VQ 0
#define VHOST_EVENT_VQ 1
#define VHOST_MAX_QUEUES 66	/* control, event and up to 64 request queues */

struct daemon;
struct fabric_session_info;
struct target;
struct lun_view;
struct vu_dev;
struct vu_vq;

/* One request of a queue: slot[head] while the chain with that head is in flight. */
struct vs_req {
	struct scsi_task st;
	struct vu_vq *vq;
	struct virtq_elem *e;
	bool busy;
	uint64_t tag;			/* virtio-scsi id */
	/* Where the response header goes (the first bytes of the in segments). */
	struct iovec resp_iov[8];
	unsigned resp_niov;
	uint32_t in_data_len;		/* the guest's data-in room after the response header */
	unsigned in_first;		/* index in e->iov of the first data-in segment */
	unsigned out_first;		/* and of data-out after the request header */
	unsigned out_count;
	uint32_t out_data_len;
	bool tmf_logged;		/* control queue: the TMF's arrival is logged */
	bool aborted;			/* PREEMPT AND ABORT: answer VIRTIO_SCSI_S_ABORTED */
	uint64_t tmf_start_ms;
};

struct vu_vq {
	struct vu_dev *dev;
	unsigned index;

	/* Settings: main thread, changed only while the ring is stopped. */
	uint16_t num;
	bool addr_set;
	uint64_t desc_uva, avail_uva, used_uva;
	uint16_t base;			/* SET_VRING_BASE */
	int kick_fd, call_fd, err_fd;	/* -1: none */
	bool kicked;			/* a kick fd arrived since the last GET_VRING_BASE */
	bool enabled;			/* SET_VRING_ENABLE (on at kick without protocol features) */
	bool running;			/* main's view: started on w and not yet stopped */

	/* The worker's while running. */
	struct worker *w;
	struct ev_fd kick_ev;
	struct virtq q;
	bool broken;
	bool stopping;
	atomic_uint inflight;		/* written by w only; read by the control queue's worker */
	struct vs_req *slots;		/* num of them */
	struct virtq_elem *spare;	/* virtq_pop's target, swapped into the slot */
	struct worker_defer notify;
	bool notify_pending;
	struct ev_call_item start_item, stop_item, stopped_item;
	/* This queue's share of the nexus's I/O statistics (scsi/stats.h): written by w only,
	 * summed by the main thread (session_list); kept for the connection's life. */
	struct scsi_stats stats;
	/* The control queue: a TMF waiting for the request queues to drain. */
	struct vs_req *ctrl_wait;
	struct ev_timer ctrl_timer;
};

/* A capacity listener on the LU behind one LUN of a device's view (vhost_evq.c). */
struct vhost_lu_listener {
	struct lu_listener l;
	struct vu_dev *dev;
	struct lu *lu;			/* registered on it; NULL: not registered */
	uint16_t lun;
};

struct vhost_ctrl {
	struct list_node node;
	struct vhost_fabric *f;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char target[INVAR_NAME_MAX + 1];
	int lfd;
	struct ev_fd lev;
	struct vu_dev *dev;		/* the front-end being served, or NULL */
	unsigned connections;
};

struct vu_dev {
	struct vhost_ctrl *ctrl;	/* NULL once the controller is deleted */
	struct vhost_fabric *f;
	struct daemon *d;
	char name[128];			/* for log lines: "PATH#N" */
	int fd;
	struct ev_fd ev;
	uint8_t rx[VU_MAX_MSG];
	size_t rx_len;
	int rx_fds[VU_MAX_FDS];
	unsigned rx_nfds;

	uint64_t features;
	uint64_t pfeatures;
	bool features_set;
	struct vu_mem mem;

	struct vu_vq vq[VHOST_MAX_QUEUES];
	unsigned stopping;		/* rings asked to stop, not yet back */
	bool has_pending;
	struct vu_msg pending;		/* the message waiting for them */
	bool refresh_view;		/* a new LUN view waits for them too */
	bool closing;
	char close_why[128];

	/* SCSI: one I_T nexus per controller connection. */
	struct it_nexus nexus;
	struct target *target;
	struct lun_view *view;
	int64_t connect_time;		/* seconds since the epoch */

	/* The event queue (vhost_evq.c), main thread: the ring is served there, not on a worker;
	 * events wait in evq for the guest's buffers. */
	struct vs_evq evq;
	bool evq_live;			/* started: its kick is watched on the main loop */
	struct ev_fd evq_kick;
	struct virtq_elem *evq_elem;
	struct vhost_lu_listener *listen;	/* INVAR_MAX_LUNS: one per LUN of the view */
};

struct vhost_fabric {
	struct daemon *d;
	struct list_node ctrls;		/* struct vhost_ctrl, main thread */
	unsigned ndevs;			/* front-ends not yet freed (closing ones too) */
	bool quiescing;			/* shutting down: refuse front-ends */
	void (*quiesce_done)(void *arg);
	void *quiesce_arg;
	struct ev_timer quiesce_timer;
};

/* vhost.c: the ring's three parts in guest memory, whole and aligned (virtio 1.1 2.6), or false. */
bool vhost_vq_map(struct vu_dev *dev, const struct vu_vq *vq, uint8_t **desc, uint8_t **avail,
		  uint8_t **used);
/* vhost.c: one interrupt on the ring's call fd, when it (re)starts (any thread owning it). */
void vhost_vq_signal_start(struct vu_vq *vq);
/* vscsi.c: the virtio-scsi device on a running queue (its worker). */
void vscsi_vq_kick(struct vu_vq *vq);
/* Completes a request (its response is written): used ring, slot free, stop check. */
void vscsi_req_finish(struct vs_req *r, uint32_t written);
/* vhost.c: a running queue's worker found it broken (guest error): stop serving it. */
void vhost_vq_broken(struct vu_vq *vq);
/* vhost.c: the queue's in-flight count reached 0 while it is stopping. */
void vhost_vq_drained(struct vu_vq *vq);

/* vhost_admin.c, main thread: what the control plane asks (vhost_ctl_ops). */
int vhost_admin_session_list(struct vhost_fabric *f, struct fabric_session_info **out,
			     unsigned *n);
/* Any thread: posts to the main thread, which has each matching device's running request
 * queues mark their tasks on lu (on their workers). */
void vhost_admin_lu_abort_tasks(struct vhost_fabric *f, struct lu *lu, const uint64_t *ids,
				unsigned n);

/* vhost_evq.c: the event queue, main thread. init after the view is taken (registers the
 * capacity listeners), free before it is dropped. start/stop: the ring, when it can run (start
 * does nothing otherwise); stopped around every vhost-user message. post: an event for the
 * guest if it negotiated that kind (HOTPLUG, CHANGE), queued until it has a buffer.
 * view_changed: a new LUN view replaces old: RESCAN/REMOVED events, listeners moved. */
int vhost_evq_init(struct vu_dev *dev);
void vhost_evq_free(struct vu_dev *dev);
void vhost_evq_start(struct vu_dev *dev);
void vhost_evq_stop(struct vu_dev *dev);
void vhost_evq_post(struct vu_dev *dev, uint32_t event, uint16_t lun, uint32_t reason);
void vhost_evq_view_changed(struct vu_dev *dev, const struct lun_view *old,
			    const struct lun_view *nv);

#endif
