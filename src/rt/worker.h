/* Worker threads: each runs its own event loop and io_uring. A connection, its session, its
 * tasks and their backstore I/O all live on one worker, so the per-command path takes no lock
 * that another thread contends. */
#ifndef INVAR_RT_WORKER_H
#define INVAR_RT_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <liburing.h>

#include "rt/evloop.h"
#include "util/list.h"


/* Embed this in anything submitted to a worker's ring; io_uring user_data points at it.
 * cb runs on the worker's thread with the CQE result (>= 0 or -errno). */
struct uring_req {
	void (*cb)(struct uring_req *req, int res);
};

/* Work that runs once at the end of the current event-loop pass, after the pass's fd events
 * and ring completions: e.g. one send for all the responses a pass produced. Embed it; set fn
 * once. Only on the worker's thread. */
struct worker_defer {
	struct list_node node;
	bool queued;
	void (*fn)(struct worker_defer *d);
};

struct worker {
	unsigned id;
	pthread_t thread;
	void *owner;		/* what runs the worker (the daemon); the runtime never looks */
	struct ev_loop *loop;
	struct io_uring ring;
	bool ring_ready;
	struct ev_fd ring_ev;	/* eventfd registered with the ring */
	unsigned ring_queued;	/* SQEs prepared but not yet submitted */
	unsigned ring_inflight;
	struct ev_timer submit_retry;	/* armed when the kernel refused a submit (EAGAIN/EBUSY) */
	struct list_node deferred;	/* struct worker_defer, run at the end of the pass */
	/* Connections placed on this worker and not yet torn down: daemon_pick_worker() adds one,
	 * the fabric drops it when the connection is gone (worker_conn_done). Read by the main
	 * thread to place the next connection. */
	atomic_uint nconns;
};

int worker_init(struct worker *w, void *owner, unsigned id);
int worker_start(struct worker *w);
void worker_stop(struct worker *w);	/* asks the loop to stop and joins the thread */
void worker_fini(struct worker *w);

/* The worker running on this thread, or NULL on the main thread. */
struct worker *worker_self(void);

/* Get an SQE on w's ring (flushing the queue to the kernel if it is full); NULL on failure.
 * Prepare it with io_uring_prep_*(), then call worker_ring_queue(w, sqe, req). SQEs are
 * submitted in one io_uring_submit() at the end of each event-loop pass (and when the SQ
 * fills), so many commands received in one read cost one syscall. Only on w's thread. */
struct io_uring_sqe *worker_ring_sqe(struct worker *w);
void worker_ring_queue(struct worker *w, struct io_uring_sqe *sqe, struct uring_req *req);
/* Submit what is queued now. */
void worker_ring_flush(struct worker *w);

/* A connection placed on w (daemon_pick_worker or a direct start) has ended. */
static inline void worker_conn_done(struct worker *w)
{
	atomic_fetch_sub_explicit(&w->nconns, 1, memory_order_relaxed);
}

/* Run d->fn at the end of this pass (once, however often it is deferred meanwhile). */
void worker_defer(struct worker *w, struct worker_defer *d);
/* Take d off the list if it is queued (before freeing what embeds it). */
void worker_defer_cancel(struct worker_defer *d);

#endif
