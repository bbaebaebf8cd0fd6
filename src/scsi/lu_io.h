/* The one LU I/O path. Every request a command makes of a LU's backstore (SBC-3 reads, writes,
 * flushes and the rest in sbc.c and sbc3.c; SANITIZE and FORMAT UNIT in sbc_maint.c; EXTENDED
 * COPY in xcopy.c) is built here, every request that changes the medium passes the write gate
 * here, the volatile write cache setting becomes FUA here, and every backstore error becomes a
 * sense reason here.
 *
 * The write gate. SBC-3 5.2 wants the read, compare and write of COMPARE AND WRITE atomic with
 * respect to every other command that writes the same logical blocks; ORWRITE (SBC-3 5.10) and
 * WRITE ATOMIC (SBC-4 5.48) want the same. Such a command holds its byte range exclusively
 * (lu_io_acquire() to lu_io_release()) and runs its backstore calls meanwhile, asynchronously
 * (lu_io_held_start(); lu_io_sync() is the synchronous form). A write overlapping a range held, or waiting to be held, waits for it, queued
 * (no thread blocks); other writes never wait.
 *
 * Writes are asynchronous, on every worker that has a session to the LU, so the gate must not
 * cost them a lock: while no exclusive range is held or waiting (gate.excl == 0), a write only
 * counts itself in a per-thread slot of gate.fast and reads gate.excl (util/pcount.h, the
 * "count, then read the flag" side of a Dekker pair), like the previous scheme did. Once an
 * exclusive range is wanted, writes take the slow path: under gate.lock they are listed with
 * their range until they complete, so a later exclusive range knows exactly which of them
 * overlap it. The writes that took the fast path before are not listed: an exclusive range is
 * granted only once gate.fast has drained to zero (raise excl, then sum the slots), which takes
 * at most the latency of the writes already in flight. Their completions, seeing excl raised,
 * re-run the grant. So a COMPARE AND WRITE waits for the slowest write in flight when it
 * arrives, even one elsewhere on the LU (on a busy disk with FUA writes, tens to hundreds of
 * ms); the writes themselves never wait for it unless they overlap it. Tracking the ranges of
 * the lock-free writes per worker would remove that wait.
 *
 * A waiter is granted on whichever thread releases what it waited for, and continues on its own
 * worker through ev_call_post() (memory in struct lu_io: a wake-up cannot be lost to ENOMEM).
 * Among overlapping requests the order of arrival holds, so neither writes nor exclusive
 * holders starve. Reads are not gated, as before: a READ racing a COMPARE AND WRITE may see
 * its range before or after the write. */
#ifndef INVAR_SCSI_LU_IO_H
#define INVAR_SCSI_LU_IO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backstore/backstore.h"
#include "rt/evloop.h"
#include "rt/pcount.h"
#include "scsi/sense.h"
#include "util/list.h"

struct lu;
struct worker;

/* One per LU (lu->io_gate). */
struct lu_io_gate {
	pthread_mutex_t lock;		/* held and waiting */
	atomic_uint excl;		/* exclusive ranges held or waiting; 0: fast path */
	struct pcount fast;		/* writes in flight that took the fast path */
	struct list_node held;		/* struct lu_io: exclusive ranges, slow-path writes */
	struct list_node waiting;	/* struct lu_io, in order of arrival */
};

/* One I/O of a command (the task's, a copy's, a maintenance operation's). */
struct lu_io {
	struct bs_io bs;		/* the backstore request (BS_IO_LEND: bs.buf, bs.buf_return) */
	struct lu *lu;
	void (*done)(struct lu_io *io, int res);
	void *priv;			/* the caller's */
	/* Private to lu_io.c: the write gate. */
	uint8_t gate;			/* enum in lu_io.c */
	bool held;			/* on gate.held (else on gate.waiting, or on neither) */
	struct list_node node;
	uint64_t first, end;		/* bytes [first, end) held or written */
	struct worker *worker;		/* where it goes on once granted */
	void (*granted)(struct lu_io *io);
	struct lu_io *grant_next;	/* granted in one pass, dispatched after the lock */
	struct ev_call_item wake;
};

void lu_io_gate_init(struct lu_io_gate *g);
void lu_io_gate_fini(struct lu_io_gate *g);

/* Start op on lu: [offset, offset + len) bytes, buf, bs flags (BS_IO_*), from worker w (NULL:
 * the backstore completes before this returns). done(io, res) runs on w, possibly before this
 * returns. WRITE, UNMAP, WRITE ZEROES, WRITE SAME and COMPARE AND WRITE pass the write gate;
 * READ, FLUSH and PREFETCH do not. WRITE SAME's buf is one logical block. */
void lu_io_start(struct lu_io *io, struct lu *lu, struct worker *w, enum bs_opcode op,
		 uint32_t flags, uint64_t offset, uint64_t len, void *buf,
		 void (*done)(struct lu_io *io, int res), void *priv);

/* lu_io_start() with scatter-gather data (READ or WRITE; bs_io.iov: exactly len bytes, kept by
 * the caller until done). */
void lu_io_start_iov(struct lu_io *io, struct lu *lu, struct worker *w, enum bs_opcode op,
		     uint32_t flags, uint64_t offset, uint64_t len, struct iovec *iov,
		     unsigned iovcnt, void (*done)(struct lu_io *io, int res), void *priv);

/* The bs flags for a write: FUA when the command asks for it or the caching mode page has WCE=0
 * (SBC-3 6.4.5: with the volatile write cache disabled, GOOD means on the medium). */
uint32_t lu_io_write_flags(const struct lu *lu, bool fua);

/* Hold [offset, offset + len) of lu exclusively: no write to it is in flight, and none starts,
 * until lu_io_release(). Returns true when held now; else false, and granted(io) runs later on
 * w (on this thread when w is NULL). io->priv = priv either way. */
bool lu_io_acquire(struct lu_io *io, struct lu *lu, struct worker *w, uint64_t offset,
		   uint64_t len, void (*granted)(struct lu_io *io), void *priv);
void lu_io_release(struct lu_io *io);
/* One asynchronous backstore call by the holder of a range (io as acquired, the gate's state
 * untouched): done(io, res) runs on the worker given to lu_io_acquire(), possibly before this
 * returns. io->priv stays the caller's. */
void lu_io_held_start(struct lu_io *io, enum bs_opcode op, uint32_t flags, uint64_t offset,
		      uint64_t len, void *buf, void (*done)(struct lu_io *io, int res));
/* One synchronous backstore call by the holder of a range (io as acquired): 0 or -errno. */
int lu_io_sync(struct lu_io *io, enum bs_opcode op, uint32_t flags, uint64_t offset,
	       uint64_t len, void *buf);

/* A backstore result (-errno) as the command's outcome: EIO is a MEDIUM ERROR (write: WRITE
 * ERROR), ENOSPC/EDQUOT SPACE ALLOCATION FAILED, EROFS WRITE PROTECTED, ENOMEM INSUFFICIENT
 * RESOURCES; a backstore that asks for a retry (the user backstore: no handler attached, its
 * ring full, or it died holding the command) gets BUSY for EBUSY and TASK SET FULL for EAGAIN,
 * without sense (SAM-5 5.3.1); anything else is INTERNAL TARGET FAILURE. */
enum sense_reason lu_io_reason(int res, bool write);

#endif
