#include "rt/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "util/log.h"

struct ev_loop {
	int epfd;
	struct ev_fd wake;	/* eventfd: ev_call() and ev_loop_stop() */
	struct list_node timers; /* sorted by due_ms */
	pthread_mutex_t call_lock;
	struct list_node calls;
	atomic_bool stop;
	void (*pass_hook)(void *arg);
	void *pass_arg;
};

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ev_wake_cb(struct ev_fd *h, uint32_t events)
{
	uint64_t v;

	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("event loop wake read: %s", strerror(errno));
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	int efd;

	if (!loop)
		return NULL;
	list_init(&loop->timers);
	list_init(&loop->calls);
	pthread_mutex_init(&loop->call_lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto err;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		goto err_ep;
	loop->wake.cb = ev_wake_cb;
	if (ev_fd_add(loop, &loop->wake, efd, EPOLLIN) < 0)
		goto err_efd;
	return loop;

err_efd:
	close(efd);
err_ep:
	close(loop->epfd);
err:
	pthread_mutex_destroy(&loop->call_lock);
	free(loop);
	return NULL;
}

void ev_loop_free(struct ev_loop *loop)
{
	struct list_node *n, *t;

	if (!loop)
		return;
	list_for_each_safe(n, t, &loop->calls)
	{
		struct ev_call_item *it = list_entry(n, struct ev_call_item, node);

		list_del(n);
		if (it->heap)
			free(it);
	}
	close(loop->wake.fd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->call_lock);
	free(loop);
}

static void ev_kick(struct ev_loop *loop)
{
	uint64_t one = 1;

	if (write(loop->wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("event loop kick: %s", strerror(errno));
}

void ev_loop_stop(struct ev_loop *loop)
{
	atomic_store(&loop->stop, true);
	ev_kick(loop);
}

int ev_fd_add(struct ev_loop *loop, struct ev_fd *h, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	h->fd = fd;
	h->events = events;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int ev_fd_mod(struct ev_loop *loop, struct ev_fd *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (h->events == events)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		return -errno;
	h->events = events;
	return 0;
}

void ev_fd_del(struct ev_loop *loop, struct ev_fd *h)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

void ev_timer_arm(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms)
{
	struct list_node *pos;

	if (t->armed)
		list_del(&t->node);
	t->due_ms = ev_now_ms() + after_ms;
	t->armed = true;
	/* Timers are few (a handful per connection); a sorted list is enough. */
	for (pos = loop->timers.prev; pos != &loop->timers; pos = pos->prev)
		if (list_entry(pos, struct ev_timer, node)->due_ms <= t->due_ms)
			break;
	list_insert_after(pos, &t->node);
}

void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t)
{
	if (!t->armed)
		return;
	list_del(&t->node);
	t->armed = false;
}

void ev_call_post(struct ev_loop *loop, struct ev_call_item *it)
{
	pthread_mutex_lock(&loop->call_lock);
	list_add_tail(&loop->calls, &it->node);
	pthread_mutex_unlock(&loop->call_lock);
	ev_kick(loop);
}

int ev_call(struct ev_loop *loop, void (*fn)(void *arg), void *arg)
{
	struct ev_call_item *it = malloc(sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->fn = fn;
	it->arg = arg;
	it->heap = true;
	ev_call_post(loop, it);
	return 0;
}

static void ev_run_calls(struct ev_loop *loop)
{
	struct list_node batch, *n, *t;

	list_init(&batch);
	pthread_mutex_lock(&loop->call_lock);
	if (!list_empty(&loop->calls)) {
		/* splice the queue into batch */
		batch.next = loop->calls.next;
		batch.prev = loop->calls.prev;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		list_init(&loop->calls);
	}
	pthread_mutex_unlock(&loop->call_lock);
	list_for_each_safe(n, t, &batch)
	{
		struct ev_call_item *it = list_entry(n, struct ev_call_item, node);
		bool heap = it->heap; /* a caller's item may be gone once fn has run */

		list_del(n);
		it->fn(it->arg);
		if (heap)
			free(it);
	}
}

static int ev_next_timeout(struct ev_loop *loop)
{
	struct ev_timer *t = list_first(&loop->timers, struct ev_timer, node);
	uint64_t now;

	if (!t)
		return -1;
	now = ev_now_ms();
	return t->due_ms <= now ? 0 : (int)(t->due_ms - now);
}

static void ev_run_timers(struct ev_loop *loop)
{
	uint64_t now = ev_now_ms();
	struct ev_timer *t;

	while ((t = list_first(&loop->timers, struct ev_timer, node)) && t->due_ms <= now) {
		list_del(&t->node);
		t->armed = false;
		t->cb(t);
	}
}

void ev_loop_set_pass_hook(struct ev_loop *loop, void (*fn)(void *arg), void *arg)
{
	loop->pass_hook = fn;
	loop->pass_arg = arg;
}

int ev_loop_run(struct ev_loop *loop)
{
	struct epoll_event evs[64];
	int i, n;

	while (!atomic_load(&loop->stop)) {
		n = epoll_wait(loop->epfd, evs, 64, ev_next_timeout(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			struct ev_fd *h = evs[i].data.ptr;

			h->cb(h, evs[i].events);
		}
		ev_run_calls(loop);
		ev_run_timers(loop);
		if (loop->pass_hook)
			loop->pass_hook(loop->pass_arg);
	}
	ev_run_calls(loop);
	return 0;
}
