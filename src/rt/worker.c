#include "rt/worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "util/list.h"
#include "util/log.h"

#define WORKER_RING_ENTRIES 256

/* The one per-thread context: which worker this thread is. */
static __thread struct worker *worker_current;

struct worker *worker_self(void)
{
	return worker_current;
}

static void worker_ring_reap(struct worker *w)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&w->ring, head, cqe)
	{
		struct uring_req *req = io_uring_cqe_get_data(cqe);

		n++;
		if (req)
			req->cb(req, cqe->res);
	}
	io_uring_cq_advance(&w->ring, n);
	w->ring_inflight -= n;
}

static void worker_ring_event(struct ev_fd *h, uint32_t events)
{
	struct worker *w = container_of(h, struct worker, ring_ev);
	uint64_t v;

	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker %u: ring eventfd: %s", w->id, strerror(errno));
	/* Callbacks may queue new SQEs (short transfers); they go out in the pass hook. */
	worker_ring_reap(w);
}

static void worker_submit_retry(struct ev_timer *t)
{
	worker_ring_flush(container_of(t, struct worker, submit_retry));
}

void worker_ring_flush(struct worker *w)
{
	int ret;

	if (!w->ring_queued)
		return;
	ret = io_uring_submit(&w->ring);
	if (ret == -EBUSY || ret == -EAGAIN) {
		/* The completion queue is full or the kernel is short of memory: make room by
		 * reaping, try once more, and otherwise retry shortly. Without the timer the SQEs
		 * would wait for an unrelated event, and a quiet connection would stall. */
		worker_ring_reap(w);
		ret = io_uring_submit(&w->ring);
		if (ret == -EBUSY || ret == -EAGAIN) {
			ev_timer_arm(w->loop, &w->submit_retry, 1);
			return;
		}
	}
	if (ret < 0) {
		log_err("worker %u: io_uring_submit: %s", w->id, strerror(-ret));
		return;
	}
	w->ring_inflight += (unsigned)ret;
	w->ring_queued -= (unsigned)ret > w->ring_queued ? w->ring_queued : (unsigned)ret;
}

void worker_defer(struct worker *w, struct worker_defer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	list_add_tail(&w->deferred, &d->node);
}

void worker_defer_cancel(struct worker_defer *d)
{
	if (!d->queued)
		return;
	d->queued = false;
	list_del(&d->node);
}

/* A deferred fn may defer again (itself or others): those run in this same call. */
static void worker_run_deferred(struct worker *w)
{
	while (!list_empty(&w->deferred)) {
		struct worker_defer *d = list_first(&w->deferred, struct worker_defer, node);

		list_del(&d->node);
		d->queued = false;
		d->fn(d);
	}
}

static void worker_pass_hook(void *arg)
{
	struct worker *w = arg;

	if (w->ring_ready) {
		worker_ring_flush(w);
		/* Completions that arrived while we were busy: reap without waiting for the
		 * eventfd. */
		if (io_uring_cq_ready(&w->ring))
			worker_ring_reap(w);
	}
	worker_run_deferred(w);
	if (w->ring_ready)
		worker_ring_flush(w);
}

struct io_uring_sqe *worker_ring_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe;

	if (!w || !w->ring_ready)
		return NULL;
	sqe = io_uring_get_sqe(&w->ring);
	if (!sqe) {
		worker_ring_flush(w);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

void worker_ring_queue(struct worker *w, struct io_uring_sqe *sqe, struct uring_req *req)
{
	io_uring_sqe_set_data(sqe, req);
	w->ring_queued++;
}

int worker_init(struct worker *w, void *owner, unsigned id)
{
	struct io_uring_params p;
	int ret, efd;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->owner = owner;
	list_init(&w->deferred);
	w->loop = ev_loop_new();
	if (!w->loop)
		return -ENOMEM;
	ev_loop_set_pass_hook(w->loop, worker_pass_hook, w);

	memset(&p, 0, sizeof(p));
	ret = io_uring_queue_init_params(WORKER_RING_ENTRIES, &w->ring, &p);
	if (ret < 0) {
		/* io_uring may be disabled (sysctl, seccomp): backstores fall back to sync I/O. */
		log_warn("worker %u: io_uring unavailable (%s); using synchronous I/O", id,
			 strerror(-ret));
		goto out_ok;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		ret = -errno;
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&w->ring, efd);
	if (ret < 0)
		goto err_efd;
	w->ring_ev.cb = worker_ring_event;
	ret = ev_fd_add(w->loop, &w->ring_ev, efd, EPOLLIN);
	if (ret < 0)
		goto err_efd;
	w->ring_ready = true;
	w->submit_retry.cb = worker_submit_retry;
out_ok:
	return 0;

err_efd:
	close(efd);
err_ring:
	io_uring_queue_exit(&w->ring);
	ev_loop_free(w->loop);
	w->loop = NULL;
	return ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];
	int ret;

	worker_current = w;
	snprintf(name, sizeof(name), "invar-w%u", w->id);
	pthread_setname_np(pthread_self(), name);
	ret = ev_loop_run(w->loop);
	if (ret < 0)
		log_err("worker %u: event loop failed: %s", w->id, strerror(-ret));
	worker_current = NULL;
	return NULL;
}

int worker_start(struct worker *w)
{
	int ret = pthread_create(&w->thread, NULL, worker_main, w);

	return ret ? -ret : 0;
}

void worker_stop(struct worker *w)
{
	if (!w->loop)
		return;
	ev_loop_stop(w->loop);
	pthread_join(w->thread, NULL);
}

void worker_fini(struct worker *w)
{
	if (!w->loop)
		return;
	if (w->ring_ready) {
		/* Drain what is still in flight so no CQE names freed memory. */
		while (w->ring_inflight) {
			struct io_uring_cqe *cqe;

			worker_ring_flush(w);
			if (io_uring_wait_cqe(&w->ring, &cqe) < 0)
				break;
			worker_ring_reap(w);
		}
		worker_run_deferred(w); /* what the drained completions produced */
		ev_timer_cancel(w->loop, &w->submit_retry);
		ev_fd_del(w->loop, &w->ring_ev);
		close(w->ring_ev.fd);
		io_uring_queue_exit(&w->ring);
		w->ring_ready = false;
	}
	ev_loop_free(w->loop);
	w->loop = NULL;
}
