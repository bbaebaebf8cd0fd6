/* One queue of a user device: the ring between worker `idx` and the handler thread serving it.
 * Everything here runs on that worker's thread (attach and detach arrive through ev_call), so
 * the per-command path takes no lock; the only shared state is the ring itself, read through
 * private copies and checked (ring.c). A handler that breaks the rules is killed, never
 * trusted again; its commands are failed with a retryable status only once it is gone. */
#include "backstore/user/user_internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define USER_TICK_MS 100	/* deadline checks while anything waits or is in flight */

static void user_queue_timer_cb(struct ev_timer *t);
static void user_queue_deferred_cb(struct ev_timer *t);
static void user_queue_pump(struct user_queue *q);
static void user_queue_pass(struct worker_defer *d);

void user_queue_init(struct user_queue *q, struct user_dev *dev, unsigned idx,
		     struct ev_loop *loop)
{
	uint32_t i;

	memset(q, 0, sizeof(*q));
	q->dev = dev;
	q->idx = idx;
	q->loop = loop;
	q->cmd_efd = -1;
	q->sync_slot = -1;
	for (i = 0; i < USER_RING_ENTRIES; i++)
		q->free_slots[i] = USER_RING_ENTRIES - 1 - i;
	q->nfree = USER_RING_ENTRIES;
	q->timer.cb = user_queue_timer_cb;
	q->deferred_timer.cb = user_queue_deferred_cb;
	q->pass.fn = user_queue_pass;
}

/* ---- data area: first fit over 64 KiB units --------------------------------------------- */

static bool unit_used(const struct user_queue *q, uint32_t u)
{
	return q->data_map[u / 64] >> (u % 64) & 1;
}

static void units_set(struct user_queue *q, uint32_t u, uint32_t n, bool used)
{
	for (uint32_t i = u; i < u + n; i++) {
		if (used)
			q->data_map[i / 64] |= 1ull << (i % 64);
		else
			q->data_map[i / 64] &= ~(1ull << (i % 64));
	}
}

/* Units returned by tasks on other threads become free. */
static void data_merge_returned(struct user_queue *q)
{
	uint32_t w;

	atomic_store_explicit(&q->returned_any, false, memory_order_relaxed);
	for (w = 0; w < USER_DATA_UNITS / 64; w++)
		if (atomic_load_explicit(&q->returned_map[w], memory_order_relaxed))
			q->data_map[w] &= ~atomic_exchange(&q->returned_map[w], 0);
}

static bool data_alloc(struct user_queue *q, uint64_t len, uint32_t *unit, uint32_t *nunits)
{
	uint32_t n = (uint32_t)((len + USER_DATA_UNIT - 1) / USER_DATA_UNIT), run = 0, u, w;

	if (atomic_load_explicit(&q->returned_any, memory_order_acquire))
		data_merge_returned(q);
	if (n == 1) { /* the common case: the first free bit */
		for (w = 0; w < USER_DATA_UNITS / 64; w++) {
			if (~q->data_map[w]) {
				*unit = w * 64 + (uint32_t)__builtin_ctzll(~q->data_map[w]);
				*nunits = 1;
				units_set(q, *unit, 1, true);
				return true;
			}
		}
		return false;
	}
	/* First fit for a run of n, a whole word at a time where it is all used or all free. */
	for (u = 0; u < USER_DATA_UNITS;) {
		uint64_t word = q->data_map[u / 64];

		if (u % 64 == 0 && (word == ~0ull || word == 0)) {
			if (word == ~0ull) {
				run = 0;
			} else if (run + 64 >= n) {
				u += n - run;
				run = n;
			} else {
				run += 64;
			}
			if (run < n) {
				u += 64;
				continue;
			}
		} else {
			run = unit_used(q, u) ? 0 : run + 1;
			u++;
		}
		if (run == n) {
			*unit = u - n;
			*nunits = n;
			units_set(q, *unit, n, true);
			return true;
		}
	}
	return false;
}

/* ---- timers ------------------------------------------------------------------------------ */

static bool user_queue_idle(const struct user_queue *q)
{
	return !q->pend_count && !q->inflight;
}

/* Keep the deadline timer armed exactly while something waits or is in flight, so an idle
 * queue leaves nothing registered on the loop (the device may be freed). */
static void user_queue_timer_update(struct user_queue *q)
{
	if (!q->loop)
		return;
	if (user_queue_idle(q)) {
		if (q->timer.armed)
			ev_timer_cancel(q->loop, &q->timer);
	} else if (!q->timer.armed) {
		ev_timer_arm(q->loop, &q->timer, USER_TICK_MS);
	}
}

/* ---- issuing ----------------------------------------------------------------------------- */

static uint8_t user_opcode(enum bs_opcode op)
{
	switch (op) {
	case BS_OP_READ: return INVAR_OP_READ;
	case BS_OP_WRITE: return INVAR_OP_WRITE;
	case BS_OP_FLUSH: return INVAR_OP_FLUSH;
	case BS_OP_UNMAP: return INVAR_OP_UNMAP;
	case BS_OP_WRITE_ZEROES: return INVAR_OP_WRITE_ZEROES;
	case BS_OP_PREFETCH: break;	/* answered in user_submit(), never queued */
	case BS_OP_WRITE_SAME:
	case BS_OP_COMPARE_AND_WRITE: break;	/* not offered (can_write_same, can_caw) */
	}
	return 0;
}

static void user_queue_kick(struct user_queue *q)
{
	uint64_t one = 1;

	q->kick_pending = false;
	/* Pairs with the handler's store of handler_sleeping and its re-check of cmd_prod. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->rq->handler_sleeping, __ATOMIC_RELAXED) &&
	    write(q->cmd_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("user %s: queue %u: cmd eventfd: %s", q->dev->name, q->idx,
			 strerror(errno));
}

/* The worker is serving this queue in the current pass: completions need no eventfd until it
 * is about to sleep, and user_queue_pass must run before it does. */
static void user_queue_busy(struct user_queue *q)
{
	if (!q->worker)
		return;
	if (!q->daemon_awake && (q->features & INVAR_RING_F_CPL_WAKE_FLAG)) {
		__atomic_store_n(&q->rq->daemon_sleeping, 0, __ATOMIC_RELAXED);
		q->daemon_awake = true;
	}
	worker_defer(q->worker, &q->pass);
}

/* F_CPL_WAKE_FLAG: tells the handler the worker may sleep from now on, so it must write the
 * cpl eventfd; then looks once more (the handler may have published before it saw the flag).
 * Pairs with the handler's publish, full barrier, load of daemon_sleeping. False: completions
 * are waiting, take them before sleeping. */
static bool user_queue_may_sleep(struct user_queue *q)
{
	if (!(q->features & INVAR_RING_F_CPL_WAKE_FLAG))
		return true; /* a 1.0 handler writes the eventfd after every batch */
	__atomic_store_n(&q->rq->daemon_sleeping, 1, __ATOMIC_RELAXED);
	q->daemon_awake = false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->rq->cpl_prod, __ATOMIC_ACQUIRE) == q->cpl_cons;
}

/* Puts io on the ring. Returns false (io untouched) when it has to wait: no handler, no free
 * slot or no room in the data area. Returns true once io is issued or completed. */
static bool user_queue_issue(struct user_queue *q, struct bs_io *io)
{
	uint8_t opcode = user_opcode(io->op);
	uint32_t slot, unit = 0, nunits = 0, flags = 0;
	uint64_t data_off = 0;
	struct user_slot *s;
	bool own_buf = false;

	if (!q->att || q->broken || !q->nfree)
		return false;
	if (!opcode || (io->op == BS_OP_UNMAP && !(q->features & INVAR_RING_F_UNMAP)) ||
	    (io->op == BS_OP_WRITE_ZEROES && !(q->features & INVAR_RING_F_WRITE_ZEROES))) {
		io->done(io, -EOPNOTSUPP);
		return true;
	}
	if (io->op == BS_OP_READ || io->op == BS_OP_WRITE) {
		if (io->len > USER_DATA_SIZE) {
			io->done(io, -EINVAL);
			return true;
		}
		if (!data_alloc(q, io->len, &unit, &nunits))
			return false;
		/* A lent READ buffer is the data area itself only if the handler promised to leave it
		 * alone after the completion (F_READ_IN_PLACE); otherwise a private one. */
		if (io->op == BS_OP_READ && (io->flags & BS_IO_LEND) &&
		    !(q->features & INVAR_RING_F_READ_IN_PLACE)) {
			io->buf = malloc(io->len);
			if (!io->buf) {
				units_set(q, unit, nunits, false);
				io->done(io, -ENOMEM);
				return true;
			}
			own_buf = true;
		}
		data_off = (uint64_t)unit * USER_DATA_UNIT;
		if (io->op == BS_OP_WRITE)
			memcpy(q->data + data_off, io->buf, io->len);
	}
	if (io->op == BS_OP_WRITE && (io->flags & BS_IO_FUA)) {
		if (q->features & INVAR_RING_F_FUA) {
			flags |= INVAR_CMD_F_FUA;
		} else {
			/* Never claim durability the handler did not promise. */
			units_set(q, unit, nunits, false);
			io->done(io, -EOPNOTSUPP);
			return true;
		}
	}

	slot = q->free_slots[--q->nfree];
	s = &q->slots[slot];
	s->io = io;
	s->unit = unit;
	s->nunits = nunits;
	s->own_buf = own_buf;
	s->deadline_ms = ev_now_ms() + user_hub_io_timeout_ms();
	q->rs[slot].gen++;
	q->rs[slot].busy = true;
	q->inflight++;
	ring_cmd_encode(q->cmd_ring + (size_t)(q->cmd_prod & (USER_RING_ENTRIES - 1)) *
					  sizeof(struct invar_ring_cmd),
			opcode, flags, ring_tag(slot, q->rs[slot].gen), io->offset,
			io->op == BS_OP_FLUSH ? 0 : io->len, data_off);
	q->cmd_prod++;
	__atomic_store_n(&q->rq->cmd_prod, q->cmd_prod, __ATOMIC_RELEASE);
	/* Published at once (a polling handler starts on it now), but one wake-up per pass. */
	q->kick_pending = true;
	if (q->worker)
		user_queue_busy(q);
	else
		user_queue_kick(q);
	return true;
}

static void user_queue_pend(struct user_queue *q, struct bs_io *io)
{
	uint32_t i;

	if (q->pend_count == USER_PEND_MAX) {
		io->done(io, -EAGAIN); /* TASK SET FULL */
		return;
	}
	i = (q->pend_head + q->pend_count) % USER_PEND_MAX;
	q->pend[i] = io;
	q->pend_since[i] = ev_now_ms();
	q->pend_count++;
	user_queue_timer_update(q);
}

/* Issues waiting commands in order, as far as the ring takes them. */
static void user_queue_pump(struct user_queue *q)
{
	while (q->pend_count) {
		struct bs_io *io = q->pend[q->pend_head];

		if (!user_queue_issue(q, io))
			break;
		q->pend_head = (q->pend_head + 1) % USER_PEND_MAX;
		q->pend_count--;
	}
	user_queue_timer_update(q);
}

void user_queue_submit(struct user_queue *q, struct bs_io *io)
{
	/* Never overtake a waiting command: SCSI ordering is the initiator's, keep it FIFO. */
	if (q->pend_count || !user_queue_issue(q, io))
		user_queue_pend(q, io);
	user_queue_timer_update(q);
}

/* ---- completion -------------------------------------------------------------------------- */

static void user_queue_broken(struct user_queue *q, const char *why)
{
	if (q->broken)
		return;
	q->broken = true;
	log_err("user %s: queue %u: handler broke the ring: %s", q->dev->name, q->idx, why);
	user_hub_attach_broken(q->att, why);
}

/* buf_return of a READ buffer the queue allocated itself (see user_queue_issue). */
static void user_own_buf_return(struct bs_io *io)
{
	free(io->buf);
	io->buf = NULL;
	io->buf_return = NULL;
}

/* Releases a slot and finishes its command with res. */
static void user_slot_finish(struct user_queue *q, uint32_t slot, int res)
{
	struct user_slot *s = &q->slots[slot];
	struct bs_io *io = s->io;

	if (io && io->op == BS_OP_READ && s->own_buf && res != 0) {
		free(io->buf);
		io->buf = NULL;
	} else if (io && res == 0 && io->op == BS_OP_READ) {
		uint8_t *data = q->data + (uint64_t)s->unit * USER_DATA_UNIT;

		if (s->own_buf) {
			/* A handler without F_READ_IN_PLACE: lend a copy, as 1.0 copied. */
			memcpy(io->buf, data, io->len);
			io->buf_return = user_own_buf_return;
		} else if (io->flags & BS_IO_LEND) {
			/* Zero-copy: the task sends its Data-In from the data area; the units stay
			 * taken until user_queue_buf_return. */
			io->buf = data;
			io->buf_return = user_queue_buf_return;
			io->lend = (uint64_t)q->idx << 48 | (uint64_t)s->unit << 24 | s->nunits;
			atomic_fetch_add(&q->lent, 1);
			s->nunits = 0;
		} else {
			memcpy(io->buf, data, io->len);
		}
	}
	if (s->nunits)
		units_set(q, s->unit, s->nunits, false);
	s->io = NULL;
	s->own_buf = false;
	s->nunits = 0;
	q->rs[slot].busy = false;
	q->free_slots[q->nfree++] = slot;
	q->inflight--;
	if (!io)
		return;
	if (res == 0)
		io->done_bytes = io->len;
	if ((int32_t)slot == q->sync_slot) {
		q->sync_res = res;
		q->sync_done = true;
		return;
	}
	io->done(io, res);
}

void user_queue_drain(struct user_queue *q)
{
	uint32_t prod, n;
	char why[160];

	if (!q->att || q->broken)
		return;
	prod = __atomic_load_n(&q->rq->cpl_prod, __ATOMIC_ACQUIRE);
	if (ring_cpl_avail(prod, q->cpl_cons, USER_RING_ENTRIES, &n) < 0) {
		snprintf(why, sizeof(why), "completion index %u, consumer at %u", prod,
			 q->cpl_cons);
		user_queue_broken(q, why);
		return;
	}
	/* Up to prod, not n entries: a done() below may drain too (a synchronous wait). */
	while ((int32_t)(prod - q->cpl_cons) > 0) {
		uint8_t entry[sizeof(struct invar_ring_cpl)];
		struct ring_cpl_view v;

		/* A private copy: the handler may rewrite the entry while we look at it. */
		memcpy(entry,
		       q->cpl_ring + (size_t)(q->cpl_cons & (USER_RING_ENTRIES - 1)) * sizeof(entry),
		       sizeof(entry));
		if (ring_cpl_check(entry, sizeof(entry), q->rs, USER_RING_ENTRIES, &v, why,
				   sizeof(why)) < 0) {
			user_queue_broken(q, why);
			return;
		}
		q->cpl_cons++;
		if (q->sync_slot >= 0 && (int32_t)v.slot != q->sync_slot) {
			/* Not now: we are inside a synchronous wait; the slot stays in flight
			 * (busy marks it so a duplicate is still caught) until the timer. */
			q->rs[v.slot].busy = false;
			q->deferred[q->ndeferred++] = v;
			continue;
		}
		user_slot_finish(q, v.slot, v.result);
		if (!q->att || q->broken)
			return;
	}
	/* One store per batch: the handler reads cpl_cons only when its ring looks full. */
	__atomic_store_n(&q->rq->cpl_cons, q->cpl_cons, __ATOMIC_RELEASE);
	if (q->sync_slot < 0)
		user_queue_pump(q);
}

static void user_queue_cpl_cb(struct ev_fd *h, uint32_t events)
{
	struct user_queue *q = container_of(h, struct user_queue, cpl_ev);
	uint64_t v;

	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("user %s: queue %u: cpl eventfd: %s", q->dev->name, q->idx,
			 strerror(errno));
	user_queue_busy(q);
	user_queue_drain(q);
}

/* Runs at the end of every worker pass in which the queue was busy, just before the worker
 * may sleep in epoll_wait: one cmd eventfd write for all the commands of the pass (if the
 * handler sleeps), then completions published meanwhile are taken without an eventfd, and,
 * with F_CPL_WAKE_FLAG, the handler is told to wake us for the next ones. */
static void user_queue_pass(struct worker_defer *d)
{
	struct user_queue *q = container_of(d, struct user_queue, pass);

	while (q->att && !q->broken) {
		if (q->kick_pending)
			user_queue_kick(q);
		if (__atomic_load_n(&q->rq->cpl_prod, __ATOMIC_ACQUIRE) != q->cpl_cons)
			user_queue_drain(q);
		else if (user_queue_may_sleep(q))
			break;
	}
}


static void user_queue_deferred_cb(struct ev_timer *t)
{
	struct user_queue *q = container_of(t, struct user_queue, deferred_timer);

	while (q->ndeferred) {
		struct ring_cpl_view v = q->deferred[--q->ndeferred];

		q->rs[v.slot].busy = true; /* parked, see user_queue_drain */
		user_slot_finish(q, v.slot, v.result);
	}
	user_queue_pump(q);
}

/* ---- deadlines --------------------------------------------------------------------------- */

void user_queue_expire(struct user_queue *q, uint64_t now_ms)
{
	uint32_t wait = user_hub_wait_ms(), i;

	/* A command in the handler past its deadline: the handler is hung. Kill it; its
	 * commands fail (BUSY) when it is gone. */
	if (q->att && !q->broken) {
		for (i = 0; i < USER_RING_ENTRIES; i++) {
			if (q->rs[i].busy && q->slots[i].deadline_ms <= now_ms) {
				user_queue_broken(q, "a command timed out in the handler");
				break;
			}
		}
	}
	/* Waiting too long: no handler -> BUSY; a handler but no room -> TASK SET FULL. Both
	 * are retryable (SAM-5 5.3). The head is the oldest, so stop at the first young one. */
	while (q->pend_count && q->pend_since[q->pend_head] + wait <= now_ms) {
		struct bs_io *io = q->pend[q->pend_head];

		q->pend_head = (q->pend_head + 1) % USER_PEND_MAX;
		q->pend_count--;
		io->done(io, q->att && !q->broken ? -EAGAIN : -EBUSY);
	}
}

static void user_queue_timer_cb(struct ev_timer *t)
{
	struct user_queue *q = container_of(t, struct user_queue, timer);

	user_queue_expire(q, ev_now_ms());
	user_queue_timer_update(q);
}

/* ---- attach / detach (worker side) ------------------------------------------------------- */

void user_queue_attach(struct user_queue *q, struct user_attach *att)
{
	uint8_t *base = att->shm + att->lay.queue_offset + (uint64_t)q->idx * att->lay.queue_stride;

	q->att = att;
	q->broken = false;
	q->features = att->features;
	q->rq = (struct invar_ring_queue *)base;
	q->cmd_ring = base + att->lay.cmd_ring_offset;
	q->cpl_ring = base + att->lay.cpl_ring_offset;
	q->data = base + att->lay.data_offset;
	q->cmd_efd = att->efds[2 * q->idx];
	q->cmd_prod = 0;
	q->cpl_cons = 0;
	/* Every lent buffer came back before the previous handler was released (detach). */
	for (uint32_t w = 0; w < USER_DATA_UNITS / 64; w++)
		atomic_store_explicit(&q->returned_map[w], 0, memory_order_relaxed);
	atomic_store(&q->returned_any, false);
	q->kick_pending = false;
	/* Until the worker serves the queue, the handler must wake it for every completion. */
	q->daemon_awake = false;
	if (q->features & INVAR_RING_F_CPL_WAKE_FLAG)
		__atomic_store_n(&q->rq->daemon_sleeping, 1, __ATOMIC_RELEASE);
	q->cpl_ev.fd = att->efds[2 * q->idx + 1];
	if (q->loop) {
		q->cpl_ev.cb = user_queue_cpl_cb;
		if (ev_fd_add(q->loop, &q->cpl_ev, att->efds[2 * q->idx + 1], EPOLLIN) == 0)
			q->cpl_registered = true;
		else
			user_queue_broken(q, "cannot watch the completion eventfd");
	}
	log_info("user %s: queue %u: handler attached", q->dev->name, q->idx);
	user_queue_pump(q);
}

void user_queue_detach(struct user_queue *q)
{
	struct user_attach *att = q->att;
	uint32_t i, failed = 0;

	if (!att)
		return;
	if (q->cpl_registered)
		ev_fd_del(q->loop, &q->cpl_ev);
	q->cpl_registered = false;
	q->att = NULL;
	q->broken = false;
	q->rq = NULL;
	q->cmd_efd = -1;
	q->ndeferred = 0;
	q->kick_pending = false;
	q->daemon_awake = false;
	if (q->worker)
		worker_defer_cancel(&q->pass);
	if (q->deferred_timer.armed)
		ev_timer_cancel(q->loop, &q->deferred_timer);
	/* The handler is gone: whatever it had not completed may or may not have reached the
	 * medium. Fail it with BUSY so the initiator resends it; never resend it ourselves,
	 * where it could land behind a newer write. Slots go back first: done() may submit. */
	for (i = 0; i < USER_RING_ENTRIES; i++) {
		if (q->rs[i].busy || q->slots[i].nunits || q->slots[i].io) {
			q->slots[i].nunits = 0;
			q->rs[i].busy = true;
			user_slot_finish(q, i, -EBUSY);
			failed++;
		}
	}
	memset(q->data_map, 0, sizeof(q->data_map));
	log_info("user %s: queue %u: handler detached; %u command%s in flight failed with BUSY",
		 q->dev->name, q->idx, failed, failed == 1 ? "" : "s");
	user_queue_timer_update(q);
	/* Tasks still sending Data-In from the data area keep the memory mapped: the last one to
	 * return its buffer tells the hub instead (user_queue_buf_return). */
	q->lent_att = att;
	if (atomic_fetch_or(&q->lent, USER_LENT_DETACHING) == 0) {
		atomic_store(&q->lent, 0);
		q->lent_att = NULL;
		user_hub_queue_detached(att);
	} else {
		log_info("user %s: queue %u: released once tasks have sent the data they hold",
			 q->dev->name, q->idx);
	}
}

/* ---- synchronous commands ---------------------------------------------------------------- */

/* For backstore_io_sync (COMPARE AND WRITE): issue on this worker's queue and wait for the
 * completion right here, with the same deadline as any command. */
void user_queue_submit_sync(struct user_queue *q, struct bs_io *io)
{
	uint64_t deadline = ev_now_ms() + user_hub_io_timeout_ms();
	uint32_t slot;
	int res;

	if (q->pend_count || !q->att || q->broken || !q->nfree) {
		io->done(io, q->att ? -EAGAIN : -EBUSY);
		return;
	}
	slot = q->free_slots[q->nfree - 1];
	if (!user_queue_issue(q, io))
		goto busy;
	if (q->kick_pending) /* we wait right here, not at the end of the pass */
		user_queue_kick(q);
	if (q->rs[slot].busy && q->slots[slot].io == io) {
		q->sync_slot = (int32_t)slot;
		q->sync_done = false;
		while (!q->sync_done && q->att && !q->broken) {
			struct pollfd p = { .fd = q->cpl_ev.fd, .events = POLLIN };
			uint64_t now = ev_now_ms();

			if (now >= deadline) {
				user_queue_broken(q, "a synchronous command timed out");
				break;
			}
			if (user_queue_may_sleep(q) &&
			    poll(&p, 1, (int)(deadline - now > 100 ? 100 : deadline - now)) > 0) {
				uint64_t v;

				if (read(p.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					break;
			}
			user_queue_drain(q);
		}
		q->sync_slot = -1;
		if (q->ndeferred && q->loop)
			ev_timer_arm(q->loop, &q->deferred_timer, 0);
		if (!q->sync_done) {
			q->slots[slot].io = NULL; /* orphaned: detach will release it */
			goto busy;
		}
		res = q->sync_res;
		io->done(io, res);
	}
	/* else: completed (or failed) inside user_queue_issue */
	return;
busy:
	io->done(io, -EBUSY);
}

/* ---- lent READ buffers ------------------------------------------------------------------- */

void user_queue_buf_return(struct bs_io *io)
{
	struct user_dev *dev = io->bs->priv;
	struct user_queue *q = &dev->q[io->lend >> 48];
	uint32_t unit = (uint32_t)(io->lend >> 24) & 0xffffff, n = (uint32_t)io->lend & 0xffffff;
	struct user_attach *att;
	uint32_t u;

	io->buf = NULL;
	io->buf_return = NULL;
	if (q->worker && worker_self() == q->worker) {
		units_set(q, unit, n, false);
	} else {
		/* Another thread (a task released off its worker): data_alloc merges these. */
		for (u = unit; u < unit + n; u++)
			atomic_fetch_or(&q->returned_map[u / 64], 1ull << (u % 64));
		atomic_store_explicit(&q->returned_any, true, memory_order_release);
	}
	if (atomic_fetch_sub(&q->lent, 1) != (USER_LENT_DETACHING | 1))
		return;
	/* The last one out after the handler was detached: the memory may go now. */
	att = q->lent_att;
	q->lent_att = NULL;
	atomic_store(&q->lent, 0);
	user_hub_queue_detached(att);
}
