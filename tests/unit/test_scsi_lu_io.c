/* The LU I/O path's write gate (src/scsi/lu_io.h): writes take the fast path while no exclusive
 * range (COMPARE AND WRITE, ORWRITE, WRITE ATOMIC) is wanted; an exclusive range waits for the
 * fast-path writes to drain and for the slow-path writes it overlaps, never for the others;
 * writes overlapping a held range wait for it; overlapping requests keep their order; and, with
 * threads, no write of a range ever runs while the range is held. A RAM LU whose backstore holds
 * the asynchronous requests until the test completes them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <cmocka.h>

#include "backstore/backstore.h"
#include "scsi/lu.h"
#include "scsi/lu_io.h"

#define KIB 1024u

static struct backstore_ops held_ops;
static struct bs_io *pending[32];
static unsigned npending;

/* Requests lu_io_start() makes (bs.priv is their struct lu_io) are held until complete_io();
 * the synchronous ones of a range holder (backstore_io_sync) run now on the RAM backstore. */
static void held_submit(struct backstore *bs, struct bs_io *io)
{
	if (io->priv == (void *)container_of(io, struct lu_io, bs)) {
		assert_true(npending < 32);
		pending[npending++] = io;
		return;
	}
	bs_ram_ops.submit(bs, io);
}

/* Run held request i on the RAM backstore; its completion goes through the gate. */
static void complete_io(unsigned i)
{
	struct bs_io *io = pending[i];
	struct lu_io *lio = container_of(io, struct lu_io, bs);

	assert_true(i < npending);
	memmove(pending + i, pending + i + 1, (npending - i - 1) * sizeof(pending[0]));
	npending--;
	/* The RAM backstore calls io->done itself: lu_io's completion. */
	bs_ram_ops.submit(lio->lu->bs, io);
}

static bool is_pending(const struct lu_io *io)
{
	for (unsigned i = 0; i < npending; i++)
		if (pending[i] == &io->bs)
			return true;
	return false;
}

static unsigned index_of(const struct lu_io *io)
{
	for (unsigned i = 0; i < npending; i++)
		if (pending[i] == &io->bs)
			return i;
	fail_msg("not pending");
	return 0;
}

static struct lu *held_lu(void)
{
	struct lu_config c;
	struct lu *lu;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.backstore, sizeof(c.backstore), "ram");
	c.size = 1 << 20;
	assert_int_equal(lu_create(&c, "iqn.2026-01.test:luio/0", &lu, err, sizeof(err)), 0);
	held_ops = bs_ram_ops;
	held_ops.submit = held_submit;
	lu->bs->ops = &held_ops;
	npending = 0;
	return lu;
}

static int done_res[16];
static unsigned done_count;

static void io_done(struct lu_io *io, int res)
{
	done_res[done_count++ % 16] = res;
}

static unsigned granted_count;

static void excl_granted(struct lu_io *io)
{
	granted_count++;
}

static uint8_t data[64 * KIB];

static void write_at(struct lu *lu, struct lu_io *io, uint64_t off, uint64_t len)
{
	lu_io_start(io, lu, NULL, BS_OP_WRITE, 0, off, len, data, io_done, NULL);
}

static void test_fast_path(void **state)
{
	struct lu *lu = held_lu();
	struct lu_io w, r;

	done_count = 0;
	write_at(lu, &w, 0, 4 * KIB);
	assert_true(is_pending(&w));
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 1);
	assert_true(list_empty(&lu->io_gate.held));	/* no lock, no list */
	/* Reads are never gated or counted. */
	lu_io_start(&r, lu, NULL, BS_OP_READ, 0, 0, 4 * KIB, data, io_done, NULL);
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 1);
	complete_io(index_of(&w));
	complete_io(index_of(&r));
	assert_int_equal(done_count, 2);
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 0);
	lu_put(lu);
}

/* An exclusive range waits for the fast-path writes in flight (their ranges are unknown), then
 * only for overlapping writes; writes that do not overlap it go on meanwhile. */
static void test_excl_drains_fast_writes(void **state)
{
	struct lu *lu = held_lu();
	struct lu_io w1, w2, w3, w4, caw;

	done_count = granted_count = 0;
	write_at(lu, &w1, 0, 4 * KIB);			/* fast path */
	assert_false(lu_io_acquire(&caw, lu, NULL, 512 * KIB, 4 * KIB, excl_granted, NULL));
	assert_int_equal(atomic_load(&lu->io_gate.excl), 1);
	/* Wanted: new writes take the slow path, listed; one elsewhere is not held back. */
	write_at(lu, &w2, 64 * KIB, 4 * KIB);
	assert_true(is_pending(&w2));
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 1);
	/* The last fast-path write completes: the range is granted though w2 is in flight. */
	complete_io(index_of(&w1));
	assert_int_equal(granted_count, 1);
	/* Held: an overlapping write waits (not submitted), another one does not. */
	write_at(lu, &w3, 512 * KIB + 2 * KIB, 4 * KIB);
	assert_false(is_pending(&w3));
	write_at(lu, &w4, 516 * KIB, 4 * KIB);		/* adjacent, not overlapping */
	assert_true(is_pending(&w4));
	lu_io_release(&caw);
	assert_true(is_pending(&w3));
	assert_int_equal(atomic_load(&lu->io_gate.excl), 0);
	complete_io(index_of(&w2));
	complete_io(index_of(&w3));
	complete_io(index_of(&w4));
	assert_int_equal(done_count, 4);
	assert_true(list_empty(&lu->io_gate.held) && list_empty(&lu->io_gate.waiting));
	/* Back on the fast path. */
	write_at(lu, &w1, 0, 4 * KIB);
	assert_true(list_empty(&lu->io_gate.held));
	complete_io(index_of(&w1));
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 0);
	lu_put(lu);
}

/* Overlapping requests keep their order: a write queued behind a held range goes before an
 * exclusive range queued after it, which then waits for that write to complete. */
static void test_order(void **state)
{
	struct lu *lu = held_lu();
	struct lu_io e1, e2, e3, w;

	done_count = granted_count = 0;
	assert_true(lu_io_acquire(&e1, lu, NULL, 0, 8 * KIB, excl_granted, NULL));
	write_at(lu, &w, 4 * KIB, 8 * KIB);
	assert_false(is_pending(&w));
	assert_false(lu_io_acquire(&e2, lu, NULL, 8 * KIB, 4 * KIB, excl_granted, NULL));
	/* A range that conflicts with nothing is held at once, beside e1. */
	assert_true(lu_io_acquire(&e3, lu, NULL, 32 * KIB, 4 * KIB, excl_granted, NULL));
	lu_io_release(&e1);
	assert_true(is_pending(&w));
	assert_int_equal(granted_count, 0);		/* e2 overlaps w, now in flight */
	complete_io(index_of(&w));
	assert_int_equal(granted_count, 1);
	assert_int_equal(done_count, 1);
	lu_io_release(&e2);
	lu_io_release(&e3);
	assert_int_equal(atomic_load(&lu->io_gate.excl), 0);
	lu_put(lu);
}

/* A range holder's synchronous calls do not pass the gate; UNMAP is gated like a write, FLUSH
 * is not. */
static void test_sync_and_ops(void **state)
{
	struct lu *lu = held_lu();
	struct lu_io e, u, f;
	uint8_t b[4 * KIB];

	done_count = 0;
	assert_true(lu_io_acquire(&e, lu, NULL, 0, 4 * KIB, excl_granted, NULL));
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(lu_io_sync(&e, BS_OP_WRITE, BS_IO_FUA, 0, sizeof(b), b), 0);
	memset(b, 0, sizeof(b));
	assert_int_equal(lu_io_sync(&e, BS_OP_READ, 0, 0, sizeof(b), b), 0);
	assert_int_equal(b[100], 0x5a);
	lu_io_start(&u, lu, NULL, BS_OP_UNMAP, 0, 0, 4 * KIB, NULL, io_done, NULL);
	assert_false(is_pending(&u));
	lu_io_start(&f, lu, NULL, BS_OP_FLUSH, 0, 0, 0, NULL, io_done, NULL);
	assert_true(is_pending(&f));
	lu_io_release(&e);
	assert_true(is_pending(&u));
	complete_io(index_of(&u));
	complete_io(index_of(&f));
	assert_int_equal(done_count, 2);
	lu_put(lu);
}

static void test_write_flags_and_reasons(void **state)
{
	struct lu *lu = held_lu();

	atomic_store(&lu->mode.wce, true);
	assert_int_equal(lu_io_write_flags(lu, false), 0);
	assert_int_equal(lu_io_write_flags(lu, true), BS_IO_FUA);
	atomic_store(&lu->mode.wce, false);
	assert_int_equal(lu_io_write_flags(lu, false), BS_IO_FUA);
	assert_int_equal(lu_io_reason(-EIO, true), SR_MEDIUM_ERROR_WRITE);
	assert_int_equal(lu_io_reason(-EIO, false), SR_MEDIUM_ERROR_READ);
	assert_int_equal(lu_io_reason(-ENOSPC, true), SR_SPACE_ALLOC_FAILED);
	assert_int_equal(lu_io_reason(-EBUSY, true), SR_BUSY);
	assert_int_equal(lu_io_reason(-EAGAIN, false), SR_TASK_SET_FULL);
	assert_int_equal(lu_io_reason(-EINVAL, false), SR_HARDWARE_ERROR);
	lu_put(lu);
}

/* ---- threads: writers on every "worker", one COMPARE AND WRITE-like holder ------------------ */

#define SLOT (4 * KIB)
#define NSLOTS 4
#define WRITERS 2
#define ROUNDS 2000
#define MAX_SECONDS 5

static struct lu *mt_lu;
static atomic_int slot_writing[NSLOTS];
static atomic_bool slot0_held;
static atomic_int violations;
static atomic_bool stop;

static void spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

/* The writers' requests run on the submitting thread (or the one that granted them), in
 * place, watching for a holder of slot 0. */
static void mt_submit(struct backstore *bs, struct bs_io *io)
{
	unsigned slot = (unsigned)(io->offset / SLOT);

	if (io->op == BS_OP_WRITE && io->priv == (void *)container_of(io, struct lu_io, bs)) {
		atomic_fetch_add(&slot_writing[slot], 1);
		if (slot == 0 && atomic_load(&slot0_held))
			atomic_fetch_add(&violations, 1);
		spin(500);
		if (slot == 0 && atomic_load(&slot0_held))
			atomic_fetch_add(&violations, 1);
		atomic_fetch_sub(&slot_writing[slot], 1);
	}
	bs_ram_ops.submit(bs, io);
}

struct mt_write {
	struct lu_io io;
	atomic_bool done;
};

static void mt_write_done(struct lu_io *io, int res)
{
	struct mt_write *w = container_of(io, struct mt_write, io);

	if (res)
		atomic_fetch_add(&violations, 1);
	atomic_store(&w->done, true);
}

static void *mt_writer(void *arg)
{
	static uint8_t buf[SLOT];
	uint64_t rng = (uintptr_t)arg * 2654435761u + 1;
	struct mt_write w;

	while (!atomic_load(&stop)) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		atomic_store(&w.done, false);
		/* Half of them to slot 0, the held one. */
		lu_io_start(&w.io, mt_lu, NULL, BS_OP_WRITE, 0,
			    (rng >> 40) & 1 ? 0 : (rng >> 33) % NSLOTS * SLOT, SLOT, buf,
			    mt_write_done, NULL);
		while (!atomic_load(&w.done))
			sched_yield(); /* a waiting write is submitted by the thread that releases */
	}
	return NULL;
}

static atomic_bool mt_granted;

static void mt_excl_granted(struct lu_io *io)
{
	atomic_store(&mt_granted, true);
}

static void test_threads(void **state)
{
	pthread_t th[WRITERS];
	time_t end = time(NULL) + MAX_SECONDS;
	unsigned r;
	struct lu_io e;

	mt_lu = held_lu();
	held_ops.submit = mt_submit;
	atomic_store(&stop, false);
	atomic_store(&violations, 0);
	for (uintptr_t i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, mt_writer, (void *)i), 0);
	/* The host may have fewer cores than threads: every wait yields, and the test is
	 * bounded in time as well as in rounds. */
	for (r = 0; r < ROUNDS && time(NULL) < end; r++) {
		atomic_store(&mt_granted, false);
		if (lu_io_acquire(&e, mt_lu, NULL, 0, SLOT, mt_excl_granted, NULL))
			atomic_store(&mt_granted, true);
		while (!atomic_load(&mt_granted))
			sched_yield();
		atomic_store(&slot0_held, true);
		if (atomic_load(&slot_writing[0]))
			atomic_fetch_add(&violations, 1);
		spin(5000);
		if (atomic_load(&slot_writing[0]))
			atomic_fetch_add(&violations, 1);
		atomic_store(&slot0_held, false);
		lu_io_release(&e);
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&violations), 0);
	assert_true(r > 100);
	assert_int_equal(atomic_load(&mt_lu->io_gate.excl), 0);
	assert_int_equal(pcount_sum(&mt_lu->io_gate.fast), 0);
	assert_true(list_empty(&mt_lu->io_gate.held) && list_empty(&mt_lu->io_gate.waiting));
	lu_put(mt_lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_path),
		cmocka_unit_test(test_excl_drains_fast_writes),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_sync_and_ops),
		cmocka_unit_test(test_write_flags_and_reasons),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
