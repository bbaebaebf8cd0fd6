/* Inside the user backstore: the per-LU device, its per-worker queues and a handler's
 * attachment. Threads: the hub (socket, registry, attach/detach) runs on the main thread;
 * queue q of every device is touched only by worker q, which learns about attach and detach
 * through ev_call(). */
#ifndef INVAR_BACKSTORE_USER_INTERNAL_H
#define INVAR_BACKSTORE_USER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backstore/backstore.h"
#include "backstore/user/ring.h"
#include "rt/evloop.h"
#include "rt/worker.h"
#include "util/list.h"

#define USER_RING_ENTRIES 256		/* commands in flight per queue */
#define USER_DATA_SIZE (64u << 20)	/* data area per queue (sparse memfd) */
#define USER_DATA_UNIT 4096u		/* allocation granule of the data area: small I/Os stay
					 * packed, not one per 64 KiB (cache sets) */
#define USER_DATA_UNITS (USER_DATA_SIZE / USER_DATA_UNIT)
#define USER_PEND_MAX 4096		/* commands waiting per queue, then TASK SET FULL */
#define USER_LENT_DETACHING (1u << 31)

struct user_dev;
struct user_attach;

struct user_slot {
	struct bs_io *io;	/* NULL: orphaned by a timed-out synchronous wait */
	uint32_t unit, nunits;	/* data area units held */
	bool own_buf;		/* io->buf is ours (malloc): a READ lent without F_READ_IN_PLACE */
	uint64_t deadline_ms;
};

struct user_queue {
	struct user_dev *dev;
	unsigned idx;
	struct ev_loop *loop;		/* worker idx's loop; NULL in tests */
	struct worker *worker;		/* worker idx; NULL in tests (kicks then go out at once) */
	struct worker_defer pass;	/* end of the worker's pass: kick, drain, announce sleep */
	bool kick_pending;		/* commands published since the handler was last woken */
	bool daemon_awake;		/* F_CPL_WAKE_FLAG: we stored 0 in daemon_sleeping */

	/* The attachment as this worker sees it; NULL while no handler serves the queue. */
	struct user_attach *att;
	struct invar_ring_queue *rq;
	uint8_t *cmd_ring, *cpl_ring, *data;
	int cmd_efd;
	struct ev_fd cpl_ev;
	bool cpl_registered;
	bool broken;			/* stop using att: it is being killed */
	uint64_t features;		/* accepted by the handler */
	uint32_t cmd_prod, cpl_cons;

	struct ring_slot rs[USER_RING_ENTRIES];
	struct user_slot slots[USER_RING_ENTRIES];
	uint32_t free_slots[USER_RING_ENTRIES];
	uint32_t nfree;
	uint32_t inflight;
	uint64_t data_map[USER_DATA_UNITS / 64];	/* 1 = unit in use */
	/* READ data lent to tasks (BS_IO_LEND) stays in use until the task has sent it. A task
	 * returns it on this worker (units cleared at once) or, rarely, on another thread (bits
	 * parked in returned_map, merged by data_alloc). lent counts buffers out, with
	 * USER_LENT_DETACHING set once the handler is detached: the memory is released (lent_att
	 * told to the hub) only when the last one is back. */
	atomic_uint lent;
	struct user_attach *lent_att;
	_Atomic uint64_t returned_map[USER_DATA_UNITS / 64];
	atomic_bool returned_any;

	/* FIFO of commands waiting for a handler or for room, oldest first. */
	struct bs_io *pend[USER_PEND_MAX];
	uint64_t pend_since[USER_PEND_MAX];
	uint32_t pend_head, pend_count;
	struct ev_timer timer;		/* deadlines of waiting and in-flight commands */

	/* A synchronous command (backstore_io_sync) waits on the ring on this thread; other
	 * completions seen meanwhile are kept here and finished from deferred_timer. */
	int32_t sync_slot;		/* -1: none */
	int32_t sync_res;
	bool sync_done;
	struct ring_cpl_view deferred[USER_RING_ENTRIES];
	uint32_t ndeferred;
	struct ev_timer deferred_timer;
};

struct user_dev {
	char name[INVAR_HANDLER_NAME_MAX + 1];
	uint64_t size;
	atomic_int refs;
	struct list_node node;		/* hub registry */
	bool registered;
	struct user_attach *att;	/* hub's view (main thread, under the hub lock) */
	unsigned nq;
	struct user_queue *q;		/* nq queues, one per worker */
};

enum user_att_state { ATT_HELLO, ATT_WAIT_READY, ATT_LIVE, ATT_DETACHING };

struct user_qcall {
	struct user_attach *att;
	struct user_queue *q;
};

struct user_attach {
	struct list_node node;		/* hub connection list */
	enum user_att_state state;
	int sock;
	struct ev_fd sock_ev;
	pid_t pid;
	int pidfd;
	uint8_t msg[1024];		/* one message being received */
	size_t msg_len;

	struct user_dev *dev;		/* from HELLO, holds a reference */
	struct ring_layout lay;
	uint8_t *shm;
	int memfd;
	int *efds;			/* 2 per queue: cmd, cpl */
	uint64_t offered, features;
	atomic_uint detach_left;	/* queues that have not detached yet */
	atomic_bool killing;
	struct user_qcall *calls;	/* one per queue, for ev_call */
};

/* queue.c: the per-worker ring runtime. */
void user_queue_init(struct user_queue *q, struct user_dev *dev, unsigned idx,
		     struct ev_loop *loop);
void user_queue_submit(struct user_queue *q, struct bs_io *io);
/* Synchronous: runs io to completion on the ring (or fails it), then io->done. */
void user_queue_submit_sync(struct user_queue *q, struct bs_io *io);
/* Worker side of attach / detach (called through ev_call, or directly in tests). */
void user_queue_attach(struct user_queue *q, struct user_attach *att);
void user_queue_detach(struct user_queue *q);
/* bs_io.buf_return of a lent READ buffer; any thread. */
void user_queue_buf_return(struct bs_io *io);
/* Takes every completion the handler published. */
void user_queue_drain(struct user_queue *q);
/* Deadline pass: BUSY / TASK SET FULL for commands waited too long; hung handler detection. */
void user_queue_expire(struct user_queue *q, uint64_t now_ms);

/* hub.c */
uint32_t user_hub_wait_ms(void);
uint32_t user_hub_io_timeout_ms(void);
/* From a worker: the handler broke the ring or hung; kill it (asynchronously). */
void user_hub_attach_broken(struct user_attach *att, const char *why);
/* From a worker: this queue has detached from att. */
void user_hub_queue_detached(struct user_attach *att);
int user_hub_dev_open(struct user_dev *dev, char *err, size_t err_len);
void user_hub_dev_close(struct user_dev *dev);

#endif
