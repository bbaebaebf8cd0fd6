/* A per-thread event loop: epoll for fds, a timer list, and a cross-thread call queue.
 * Every loop is run by exactly one thread; everything registered on it is touched only by that
 * thread, except ev_call(), which any thread may use to run a function on the loop's thread. */
#ifndef INVAR_RT_EVLOOP_H
#define INVAR_RT_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include "util/list.h"

struct ev_loop;

/* An fd watched by a loop. cb gets the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR...). */
struct ev_fd {
	int fd;
	uint32_t events;
	void (*cb)(struct ev_fd *h, uint32_t events);
};

/* A one-shot timer; re-arm it from its callback for periodic work. */
struct ev_timer {
	struct list_node node;
	uint64_t due_ms;
	bool armed;
	void (*cb)(struct ev_timer *t);
};

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);
/* Runs until ev_loop_stop(); returns 0 or -errno. */
int ev_loop_run(struct ev_loop *loop);
/* Thread-safe: asks the loop to return from ev_loop_run() after the current iteration. */
void ev_loop_stop(struct ev_loop *loop);

int ev_fd_add(struct ev_loop *loop, struct ev_fd *h, int fd, uint32_t events);
int ev_fd_mod(struct ev_loop *loop, struct ev_fd *h, uint32_t events);
void ev_fd_del(struct ev_loop *loop, struct ev_fd *h);

void ev_timer_arm(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms);
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t);

/* Thread-safe: queue fn(arg) to run on the loop's thread. Returns 0 or -ENOMEM. Not for the
 * per-command path: it takes a mutex. Used for connection hand-off, session reinstatement,
 * resets that span threads, and shutdown. */
int ev_call(struct ev_loop *loop, void (*fn)(void *arg), void *arg);

/* ev_call() with memory the caller provides, so it cannot fail: for a wake-up that must not be
 * lost (a task waiting on another thread's work, scsi/lu_io.c). Set fn and arg; the item must
 * stay valid, and not be posted again, until fn has started. Thread-safe. */
struct ev_call_item {
	struct list_node node;
	void (*fn)(void *arg);
	void *arg;
	bool heap;		/* private: ev_call()'s own, freed after fn */
};
void ev_call_post(struct ev_loop *loop, struct ev_call_item *it);

/* fn(arg) runs on the loop's thread after every pass (after fd callbacks, calls and timers):
 * used to submit a pass's io_uring SQEs in one syscall. One hook per loop. */
void ev_loop_set_pass_hook(struct ev_loop *loop, void (*fn)(void *arg), void *arg);

uint64_t ev_now_ms(void);

#endif
