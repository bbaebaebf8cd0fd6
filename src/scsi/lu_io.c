/* The one LU I/O path and its write gate (lu_io.h explains both). */
#include <errno.h>
#include <string.h>

#include "rt/worker.h"
#include "scsi/lu.h"
#include "scsi/lu_io.h"

enum gate_kind {
	GATE_NONE = 0,	/* not gated (reads, flushes), or done with the gate */
	GATE_FAST,	/* a write counted in gate.fast, listed nowhere */
	GATE_WRITE,	/* a write on the slow path: waiting, or listed as held until it completes */
	GATE_EXCL,	/* an exclusive range: waiting, or held until lu_io_release() */
};

void lu_io_gate_init(struct lu_io_gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	atomic_init(&g->excl, 0);
	list_init(&g->held);
	list_init(&g->waiting);
}

void lu_io_gate_fini(struct lu_io_gate *g)
{
	pthread_mutex_destroy(&g->lock);
}

static bool op_changes_medium(enum bs_opcode op)
{
	return op == BS_OP_WRITE || op == BS_OP_UNMAP || op == BS_OP_WRITE_ZEROES ||
	       op == BS_OP_WRITE_SAME || op == BS_OP_COMPARE_AND_WRITE;
}

/* The one place a bs_io is built. */
static void bs_io_build(struct bs_io *bs, struct worker *w, enum bs_opcode op, uint32_t flags,
			uint64_t offset, uint64_t len, void *buf)
{
	memset(bs, 0, sizeof(*bs));
	bs->op = op;
	bs->flags = flags;
	bs->offset = offset;
	bs->len = len;
	bs->buf = buf;
	bs->worker = w;
}

uint32_t lu_io_write_flags(const struct lu *lu, bool fua)
{
	return fua || !atomic_load_explicit(&lu->mode.wce, memory_order_relaxed) ? BS_IO_FUA : 0;
}

enum sense_reason lu_io_reason(int res, bool write)
{
	switch (res) {
	case -EIO: return write ? SR_MEDIUM_ERROR_WRITE : SR_MEDIUM_ERROR_READ;
	case -ENOSPC:
	case -EDQUOT: return SR_SPACE_ALLOC_FAILED;
	case -EROFS: return SR_WRITE_PROTECTED;
	case -ENOMEM: return SR_OUT_OF_RESOURCES;
	case -EBUSY: return SR_BUSY;
	case -EAGAIN: return SR_TASK_SET_FULL;
	case -ERANGE: return SR_LBA_OUT_OF_RANGE;
	default: return SR_HARDWARE_ERROR;
	}
}

/* ---- the gate -------------------------------------------------------------------------- */

static bool overlap(const struct lu_io *a, const struct lu_io *b)
{
	return a->first < b->end && b->first < a->end;
}

/* Whether a and b may not run together: they overlap and one is exclusive. */
static bool conflict(const struct lu_io *a, const struct lu_io *b)
{
	return (a->gate == GATE_EXCL || b->gate == GATE_EXCL) && overlap(a, b);
}

/* Under g->lock: may waiter w be granted now? Not while a held range or an earlier waiter
 * conflicts with it (arrival order among overlapping requests), and an exclusive range not
 * before the fast-path writes, whose ranges nobody knows, have drained. */
static bool gate_can_grant(struct lu_io_gate *g, struct lu_io *w, int *fast_drained)
{
	struct list_node *n;

	list_for_each(n, &g->held)
		if (conflict(list_entry(n, struct lu_io, node), w))
			return false;
	list_for_each(n, &g->waiting) {
		struct lu_io *e = list_entry(n, struct lu_io, node);

		if (e == w)
			break;
		if (conflict(e, w))
			return false;
	}
	if (w->gate == GATE_EXCL) {
		/* excl was raised before this sum (under the lock, in gate_enter): a write that
		 * counted itself later saw it and took the slow path. */
		if (*fast_drained < 0)
			*fast_drained = pcount_sum(&g->fast) == 0;
		return *fast_drained;
	}
	return true;
}

/* Under g->lock: move every waiter that may run to held; returns them, chained. */
static struct lu_io *gate_grant(struct lu_io_gate *g)
{
	struct lu_io *first = NULL, **tail = &first;
	struct list_node *n, *tmp;
	int fast_drained = -1;

	list_for_each_safe(n, tmp, &g->waiting) {
		struct lu_io *w = list_entry(n, struct lu_io, node);

		if (!gate_can_grant(g, w, &fast_drained))
			continue;
		list_del(&w->node);
		list_add_tail(&g->held, &w->node);
		w->held = true;
		w->grant_next = NULL;
		*tail = w;
		tail = &w->grant_next;
	}
	return first;
}

static void gate_wake(void *arg)
{
	struct lu_io *io = arg;

	io->granted(io);
}

/* After g->lock: let each granted waiter go on, on its own worker (never nested in the
 * caller's completion), or here when it has none (unit tests: every backstore is
 * synchronous there). skip: the caller itself, which goes on by returning. */
static void gate_dispatch(struct lu_io *granted, struct lu_io *skip)
{
	while (granted) {
		struct lu_io *io = granted;

		granted = io->grant_next;
		if (io == skip)
			continue;
		if (!io->worker) {
			io->granted(io);
			continue;
		}
		io->wake.fn = gate_wake;
		io->wake.arg = io;
		io->wake.heap = false;
		ev_call_post(io->worker->loop, &io->wake);
	}
}

/* Queue io (GATE_WRITE or GATE_EXCL, range set) and grant what can run. True when io itself
 * was granted: the caller goes on now; else io->granted(io) runs once it is. */
static bool gate_enter(struct lu_io_gate *g, struct lu_io *io)
{
	struct lu_io *granted;
	bool now;

	pthread_mutex_lock(&g->lock);
	if (io->gate == GATE_EXCL)
		atomic_fetch_add(&g->excl, 1);
	io->held = false;
	list_add_tail(&g->waiting, &io->node);
	granted = gate_grant(g);
	/* Read under the lock: once it is dropped another thread may grant io, and then io
	 * goes on through its granted() instead. */
	now = io->held;
	pthread_mutex_unlock(&g->lock);
	gate_dispatch(granted, io);
	return now;
}

/* io (held) is done: unlist it and grant what waited for it. */
static void gate_leave(struct lu_io_gate *g, struct lu_io *io)
{
	struct lu_io *granted;

	pthread_mutex_lock(&g->lock);
	list_del(&io->node);
	io->held = false;
	if (io->gate == GATE_EXCL)
		atomic_fetch_sub(&g->excl, 1);
	granted = gate_grant(g);
	pthread_mutex_unlock(&g->lock);
	gate_dispatch(granted, NULL);
}

/* A fast-path write completed while an exclusive range is wanted: it may have been the last
 * one that range waited for. */
static void gate_kick(struct lu_io_gate *g)
{
	struct lu_io *granted;

	pthread_mutex_lock(&g->lock);
	granted = gate_grant(g);
	pthread_mutex_unlock(&g->lock);
	gate_dispatch(granted, NULL);
}

/* ---- I/O ------------------------------------------------------------------------------- */

/* Past the LU's capacity now (a shrink since the command was admitted). */
static bool beyond_capacity(const struct lu_io *io)
{
	uint64_t cap = lu_num_blocks(io->lu) * io->lu->block_size;

	return io->bs.offset > cap || io->bs.len > cap - io->bs.offset;
}

static void lu_io_bs_done(struct bs_io *bs, int res)
{
	struct lu_io *io = container_of(bs, struct lu_io, bs);
	struct lu_io_gate *g = &io->lu->io_gate;

	/* A read admitted before a shrink and submitted after the backstore shrank finds it
	 * out of range (-EINVAL): LBA OUT OF RANGE, as it would be if admitted now. */
	if (res == -EINVAL && beyond_capacity(io))
		res = -ERANGE;

	switch (io->gate) {
	case GATE_FAST:
		/* "Uncount, then read the flag": the pair of gate_can_grant()'s "raise, then sum". */
		pcount_sub(&g->fast, 1);
		if (atomic_load(&g->excl))
			gate_kick(g);
		break;
	case GATE_WRITE:
		gate_leave(g, io);
		break;
	default:
		break;
	}
	io->gate = GATE_NONE;
	io->done(io, res);
}

/* A write that passed the gate (counted in gate.fast, or listed): submit it, unless the LU
 * shrank below it since the command was admitted (scsi/lu_capacity.h). Read after the count,
 * so a shrink that dropped the capacity before this read either waits for this write or is
 * not yet past its own drain, which then finds this write listed: none reaches the backstore
 * past the end once the backstore shrinks. */
static void write_submit(struct lu_io *io)
{
	if (beyond_capacity(io)) {
		lu_io_bs_done(&io->bs, -ERANGE);
		return;
	}
	backstore_submit(io->lu->bs, &io->bs);
}

/* A slow-path write that waited for an exclusive range: submit it on its own worker. */
static void write_granted(struct lu_io *io)
{
	write_submit(io);
}

/* io->bs is built: through the gate (a write) and to the backstore. */
static void lu_io_go(struct lu_io *io, struct lu *lu, struct worker *w, enum bs_opcode op,
		     uint64_t offset, uint64_t len, void (*done)(struct lu_io *io, int res),
		     void *priv)
{
	struct lu_io_gate *g = &lu->io_gate;

	if (op == BS_OP_WRITE_SAME)
		io->bs.same_len = lu->block_size; /* buf: one logical block */
	io->bs.done = lu_io_bs_done;
	io->bs.priv = io;
	io->lu = lu;
	io->done = done;
	io->priv = priv;
	io->worker = w;
	io->gate = GATE_NONE;
	if (!op_changes_medium(op)) {
		backstore_submit(lu->bs, &io->bs);
		return;
	}
	/* "Count, then read the flag" (util/pcount.h): either this write sees excl raised, or the
	 * exclusive range that raised it sees this write counted and waits for it. */
	pcount_add(&g->fast, 1);
	if (atomic_load(&g->excl) == 0) {
		io->gate = GATE_FAST;
		write_submit(io);
		return;
	}
	pcount_sub(&g->fast, 1);
	io->gate = GATE_WRITE;
	io->first = offset;
	io->end = offset + len;
	io->granted = write_granted;
	if (gate_enter(g, io))
		write_submit(io);
}

void lu_io_start(struct lu_io *io, struct lu *lu, struct worker *w, enum bs_opcode op,
		 uint32_t flags, uint64_t offset, uint64_t len, void *buf,
		 void (*done)(struct lu_io *io, int res), void *priv)
{
	bs_io_build(&io->bs, w, op, flags, offset, len, buf);
	lu_io_go(io, lu, w, op, offset, len, done, priv);
}

void lu_io_start_iov(struct lu_io *io, struct lu *lu, struct worker *w, enum bs_opcode op,
		     uint32_t flags, uint64_t offset, uint64_t len, struct iovec *iov,
		     unsigned iovcnt, void (*done)(struct lu_io *io, int res), void *priv)
{
	bs_io_build(&io->bs, w, op, flags, offset, len, NULL);
	io->bs.iov = iov;
	io->bs.iovcnt = iovcnt;
	lu_io_go(io, lu, w, op, offset, len, done, priv);
}

bool lu_io_acquire(struct lu_io *io, struct lu *lu, struct worker *w, uint64_t offset,
		   uint64_t len, void (*granted)(struct lu_io *io), void *priv)
{
	io->lu = lu;
	io->worker = w;
	io->priv = priv;
	io->granted = granted;
	io->gate = GATE_EXCL;
	io->first = offset;
	io->end = offset + len;
	return gate_enter(&lu->io_gate, io);
}

void lu_io_release(struct lu_io *io)
{
	gate_leave(&io->lu->io_gate, io);
	io->gate = GATE_NONE;
}

static void lu_io_held_bs_done(struct bs_io *bs, int res)
{
	struct lu_io *io = container_of(bs, struct lu_io, bs);

	io->done(io, res);
}

void lu_io_held_start(struct lu_io *io, enum bs_opcode op, uint32_t flags, uint64_t offset,
		      uint64_t len, void *buf, void (*done)(struct lu_io *io, int res))
{
	bs_io_build(&io->bs, io->worker, op, flags, offset, len, buf);
	io->done = done;
	io->bs.done = lu_io_held_bs_done;
	io->bs.priv = io;
	backstore_submit(io->lu->bs, &io->bs);
}

int lu_io_sync(struct lu_io *io, enum bs_opcode op, uint32_t flags, uint64_t offset,
	       uint64_t len, void *buf)
{
	bs_io_build(&io->bs, NULL, op, flags, offset, len, buf);
	return backstore_io_sync(io->lu->bs, &io->bs);
}
