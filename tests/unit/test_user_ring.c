/* The user backstore's ring as the daemon sees it: layout, mailbox negotiation, and the checks
 * on every completion an untrusted handler writes (unknown, stale and duplicate tags, bad
 * sizes, a wild producer index), plus what happens to commands when the handler goes away. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "user_ring_harness.h"

static void test_layout(void **state)
{
	struct ring_layout l;

	assert_int_equal(ring_layout_compute(&l, 2, 256, 64 << 20), 0);
	assert_true(l.queue_offset >= sizeof(struct invar_ring_mailbox));
	assert_int_equal(l.cmd_ring_offset, sizeof(struct invar_ring_queue));
	assert_true(l.cpl_ring_offset >= l.cmd_ring_offset + 256 * 64);
	assert_true(l.data_offset >= l.cpl_ring_offset + 256 * 32);
	assert_int_equal(l.data_offset % 4096, 0);
	assert_int_equal(l.shm_size, l.queue_offset + 2 * l.queue_stride);
	assert_int_equal(ring_layout_compute(&l, 2, 100, 64 << 20), -EINVAL); /* not 2^n */
	assert_int_equal(ring_layout_compute(&l, 0, 256, 64 << 20), -EINVAL);
	assert_int_equal(ring_layout_compute(&l, 127, 256, 64 << 20), -EINVAL); /* > 253 fds */
	assert_int_equal(ring_layout_compute(&l, 1, 256, 1000), -EINVAL);
}

static void test_mailbox_accept(void **state)
{
	struct invar_ring_mailbox mb;
	struct ring_layout l;
	uint64_t acc;
	char err[160];

	ring_layout_compute(&l, 1, 256, 1 << 20);
	ring_mailbox_init(&mb, &l, 1 << 30, 512, INVAR_RING_F_FUA | INVAR_RING_F_UNMAP);
	assert_int_equal(mb.magic, INVAR_RING_MAGIC);
	assert_int_equal(mb.mailbox_size, 256);
	mb.handler_version_major = INVAR_RING_VERSION_MAJOR;
	mb.handler_features = INVAR_RING_F_FUA;
	assert_int_equal(ring_mailbox_accept(&mb, mb.daemon_features, &acc, err, sizeof(err)), 0);
	assert_int_equal(acc, INVAR_RING_F_FUA);
	mb.handler_features = INVAR_RING_F_WRITE_ZEROES; /* never offered */
	assert_int_equal(ring_mailbox_accept(&mb, mb.daemon_features, &acc, err, sizeof(err)),
			 -EPROTO);
	mb.handler_features = 0;
	mb.handler_version_major = 2;
	assert_int_equal(ring_mailbox_accept(&mb, mb.daemon_features, &acc, err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "version"));
}

static void test_cpl_check(void **state)
{
	struct ring_slot slots[4] = { { 7, true }, { 1, false }, { 3, true }, { 0, false } };
	struct invar_ring_cpl c = { .entry_size = 32, .result = -EIO, .tag = ring_tag(0, 7) };
	struct ring_cpl_view v;
	char err[160];
	uint32_t n;

	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), 0);
	assert_int_equal(v.slot, 0);
	assert_int_equal(v.result, -EIO);
	c.result = -ENOENT; /* not one the SCSI layer maps: reported as -EIO */
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), 0);
	assert_int_equal(v.result, -EIO);
	c.result = 12345;
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), 0);
	assert_int_equal(v.result, -EIO);
	c.result = -EBUSY;
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), 0);
	assert_int_equal(v.result, -EBUSY);
	c.tag = ring_tag(0, 6); /* stale generation */
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), -EPROTO);
	c.tag = ring_tag(1, 1); /* not in flight: a duplicate */
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), -EPROTO);
	c.tag = ring_tag(4, 0); /* no such slot */
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), -EPROTO);
	c.tag = ring_tag(2, 3);
	c.entry_size = 16;
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), -EPROTO);
	c.entry_size = 64; /* larger than the stride */
	assert_int_equal(ring_cpl_check(&c, 32, slots, 4, &v, err, sizeof(err)), -EPROTO);
	assert_int_equal(ring_cpl_avail(10, 5, 256, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ring_cpl_avail(3, 0xfffffffe, 256, &n), 0); /* wrapped */
	assert_int_equal(n, 5);
	assert_int_equal(ring_cpl_avail(300, 0, 256, &n), -EPROTO);
	assert_int_equal(ring_cpl_avail(0, 1, 256, &n), -EPROTO); /* producer went back */
}

/* Commands reach the ring encoded; completions finish them with their result and data. */
static void test_queue_roundtrip(void **state)
{
	struct harness *h = harness_new();
	struct invar_ring_cmd c0, c1;

	harness_submit(h, 0);
	harness_submit(h, 1);
	assert_int_equal(((struct invar_ring_queue *)h->base)->cmd_prod, 2);
	c0 = harness_cmd(h, 0);
	c1 = harness_cmd(h, 1);
	assert_int_equal(c0.opcode, INVAR_OP_READ);
	assert_int_equal(c1.opcode, INVAR_OP_WRITE);
	assert_int_equal(c1.offset, 4096);
	assert_int_equal(c1.length, 4096);
	/* The write's data is in the data area at the offset the command names. */
	assert_int_equal(h->base[h->att.lay.data_offset + c1.data_offset], 1);
	/* The handler "reads" 0xab into the read's buffer, completes both out of order. */
	memset(h->base + h->att.lay.data_offset + c0.data_offset, 0xab, 4096);
	harness_cpl(h, 0, c1.tag, 0, 32);
	harness_cpl(h, 1, c0.tag, 0, 32);
	harness_publish(h, 2);
	user_queue_drain(&h->q);
	assert_false(h->q.broken);
	assert_int_equal(h->done_count[0], 1);
	assert_int_equal(h->done_count[1], 1);
	assert_int_equal(h->done_res[0], 0);
	assert_int_equal(h->buf[0][4095], 0xab);
	assert_int_equal(h->q.inflight, 0);
	harness_free(h);
}

/* A duplicate completion breaks the ring; nothing completes twice, and the commands still
 * in flight fail with BUSY (retryable) when the handler is detached. */
static void test_queue_duplicate_then_detach(void **state)
{
	struct harness *h = harness_new();
	struct invar_ring_cmd c0;

	harness_submit(h, 0);
	harness_submit(h, 1);
	c0 = harness_cmd(h, 0);
	harness_cpl(h, 0, c0.tag, 0, 32);
	harness_cpl(h, 1, c0.tag, 0, 32);
	harness_publish(h, 2);
	user_queue_drain(&h->q);
	assert_true(h->q.broken);
	assert_int_equal(h->done_count[0], 1);
	assert_int_equal(h->done_count[1], 0);
	/* A broken ring is not read again, whatever the handler publishes. */
	harness_cpl(h, 2, harness_cmd(h, 1).tag, 0, 32);
	harness_publish(h, 3);
	user_queue_drain(&h->q);
	assert_int_equal(h->done_count[1], 0);
	user_queue_detach(&h->q);
	assert_int_equal(h->done_count[1], 1);
	assert_int_equal(h->done_res[1], -EBUSY);
	/* With no handler, a new command waits (pending), it is not failed at once. */
	harness_submit(h, 2);
	assert_int_equal(h->done_count[2], 0);
	assert_int_equal(h->q.pend_count, 1);
	user_queue_expire(&h->q, ev_now_ms() + 3600 * 1000);
	assert_int_equal(h->done_count[2], 1);
	assert_int_equal(h->done_res[2], -EBUSY);
	harness_free(h);
}

static void test_queue_wild_index(void **state)
{
	struct harness *h = harness_new();

	harness_submit(h, 0);
	harness_publish(h, 1000);
	user_queue_drain(&h->q);
	assert_true(h->q.broken);
	assert_int_equal(h->done_count[0], 0);
	harness_free(h);
	/* harness_free detached: the command got BUSY exactly once (checked in the fuzzer). */
}

/* Runs what the worker would at the end of its pass (worker_run_deferred). */
static void run_deferred(struct worker *w)
{
	while (!list_empty(&w->deferred)) {
		struct worker_defer *d = list_first(&w->deferred, struct worker_defer, node);

		list_del(&d->node);
		d->queued = false;
		d->fn(d);
	}
}

static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Ring 1.1 wake-ups: one cmd eventfd write per worker pass however many commands it issued;
 * with F_CPL_WAKE_FLAG, daemon_sleeping is 0 while the worker serves the queue and 1 before it
 * may sleep, and completions published while it was 0 (so without an eventfd) are taken by
 * the end-of-pass re-check, never lost. */
static void test_queue_wakeups(void **state)
{
	struct harness *h = harness_new();
	struct invar_ring_queue *rq = (struct invar_ring_queue *)h->base;
	int cmd_efd, cpl_efd;
	struct worker w;

	memset(&w, 0, sizeof(w));
	list_init(&w.deferred);
	user_queue_detach(&h->q);
	h->efds[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->efds[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->att.features = INVAR_RING_F_ALL_V1_1;
	h->q.worker = &w;
	user_queue_attach(&h->q, &h->att);
	assert_int_equal(rq->daemon_sleeping, 1);

	rq->handler_sleeping = 1;
	harness_submit(h, 0);
	harness_submit(h, 2);
	assert_int_equal(rq->cmd_prod, 2);		/* published at once */
	assert_int_equal(rq->daemon_sleeping, 0);	/* serving: no cpl eventfd needed */
	assert_int_equal(efd_count(h->efds[0]), 0);	/* the kick waits for the pass end */
	/* The handler completes the first command now: it sees daemon_sleeping 0 and writes no
	 * eventfd. The pass end must still take it. */
	harness_cpl(h, 0, harness_cmd(h, 0).tag, 0, 32);
	harness_publish(h, 1);
	run_deferred(&w);
	assert_int_equal(efd_count(h->efds[0]), 1);	/* one wake-up for both commands */
	assert_int_equal(h->done_count[0], 1);
	assert_int_equal(h->done_count[2], 0);
	assert_int_equal(rq->cpl_cons, 1);
	assert_int_equal(rq->daemon_sleeping, 1);	/* the worker may sleep now */

	/* The handler is awake: no eventfd for the next command. */
	rq->handler_sleeping = 0;
	harness_submit(h, 4);
	run_deferred(&w);
	assert_int_equal(efd_count(h->efds[0]), 0);
	cmd_efd = h->efds[0];
	cpl_efd = h->efds[1];
	harness_free(h);
	close(cmd_efd);
	close(cpl_efd);
}


/* Zero-copy READs (BS_IO_LEND): the data stays in the data area and the task gets a pointer
 * to it; its units stay taken until the buffer comes back, and a handler detached meanwhile is
 * released only when the last lent buffer has been returned. */
static void test_queue_lend(void **state)
{
	struct harness *h = harness_new();
	struct backstore bs;
	struct bs_io *io = &h->io[0];
	struct invar_ring_cmd c;
	uint8_t *data;

	h->att.features = h->q.features = INVAR_RING_F_ALL_V1_1; /* READ_IN_PLACE */
	memset(&bs, 0, sizeof(bs));
	bs.priv = &h->dev;
	memset(io, 0, sizeof(*io));
	io->op = BS_OP_READ;
	io->flags = BS_IO_LEND;
	io->offset = 8192;
	io->len = 4096;
	io->done = harness_done;
	io->priv = h;
	io->bs = &bs;
	user_queue_submit(&h->q, io);
	c = harness_cmd(h, 0);
	data = h->base + h->att.lay.data_offset + c.data_offset;
	memset(data, 0x5a, 4096);
	harness_cpl(h, 0, c.tag, 0, 32);
	harness_publish(h, 1);
	user_queue_drain(&h->q);
	assert_int_equal(h->done_count[0], 1);
	assert_int_equal(h->done_res[0], 0);
	assert_ptr_equal(io->buf, data);	/* no copy: the data area itself */
	assert_non_null(io->buf_return);
	assert_int_equal(atomic_load(&h->q.lent), 1);
	/* The lent unit is not handed to the next command. */
	harness_submit(h, 2);
	assert_true(harness_cmd(h, 1).data_offset != c.data_offset);
	harness_cpl(h, 1, harness_cmd(h, 1).tag, 0, 32);
	harness_publish(h, 2);
	user_queue_drain(&h->q);

	/* Detached while the task still sends from it: the memory is kept. */
	atomic_store(&h->att.detach_left, 1);
	user_queue_detach(&h->q);
	assert_int_equal(atomic_load(&h->att.detach_left), 1);
	io->buf_return(io);	/* from a non-worker thread: parked in returned_map */
	assert_null(io->buf);
	assert_int_equal(atomic_load(&h->q.lent), 0);
	assert_int_equal(atomic_load(&h->att.detach_left), 0);	/* now released */

	/* Re-attached: every unit is free again. */
	user_queue_attach(&h->q, &h->att);
	harness_submit(h, 4);
	assert_int_equal(harness_cmd(h, 0).data_offset, 0);
	harness_free(h);
}


static void alloc_done(struct bs_io *io, int res)
{
	assert_int_equal(res, 0);
}

/* The data area allocator under churn: I/Os of 4 KiB to 300 KiB, completed in random order,
 * never get overlapping or out-of-area buffers, and small ones stay packed at the start. */
static void test_queue_data_alloc(void **state)
{
	enum { N = 64, MAXLEN = 300 << 10 };
	struct harness *h = harness_new();
	static struct bs_io io[N];
	static uint8_t buf[MAXLEN];
	uint64_t off[N], len[N];
	bool busy[N] = { false };
	uint32_t tag_prod = 0, cpl_prod = 0;
	uint64_t tags[N];
	unsigned seed = 7, round, i, j;

	for (round = 0; round < 2000; round++) {
		i = (unsigned)rand_r(&seed) % N;
		if (!busy[i]) {
			struct invar_ring_cmd c;

			memset(&io[i], 0, sizeof(io[i]));
			io[i].op = BS_OP_READ;
			io[i].len = 4096 * (1 + (uint64_t)rand_r(&seed) % (MAXLEN / 4096));
			io[i].buf = buf;
			io[i].done = alloc_done;
			user_queue_submit(&h->q, &io[i]);
			assert_int_equal(h->q.pend_count, 0);
			c = harness_cmd(h, tag_prod++);
			off[i] = c.data_offset;
			len[i] = c.length;
			tags[i] = c.tag;
			assert_true(off[i] + len[i] <= USER_DATA_SIZE);
			for (j = 0; j < N; j++)
				if (j != i && busy[j])
					assert_true(off[i] + len[i] <= off[j] || off[j] + len[j] <= off[i]);
			busy[i] = true;
		} else {
			harness_cpl(h, cpl_prod, tags[i], 0, 32);
			harness_publish(h, ++cpl_prod);
			user_queue_drain(&h->q);
			assert_false(h->q.broken);
			busy[i] = false;
		}
	}
	for (i = 0; i < N; i++)
		if (busy[i]) {
			harness_cpl(h, cpl_prod, tags[i], 0, 32);
			harness_publish(h, ++cpl_prod);
		}
	user_queue_drain(&h->q);
	assert_int_equal(h->q.inflight, 0);
	/* Everything free again: a 4 KiB I/O takes the first unit. */
	harness_submit(h, 0);
	assert_int_equal(harness_cmd(h, tag_prod).data_offset, 0);
	harness_free(h);
}


/* A handler that did not accept F_READ_IN_PLACE (built against 1.0) keeps the 1.0 contract:
 * the data is copied out of the data area when the completion is taken, into a buffer the
 * queue lends instead, and the data area unit is free at once. */
static void test_queue_lend_copy(void **state)
{
	struct harness *h = harness_new();
	struct backstore bs;
	struct bs_io *io = &h->io[0];
	struct invar_ring_cmd c;
	uint8_t *data;

	memset(&bs, 0, sizeof(bs));
	bs.priv = &h->dev;
	memset(io, 0, sizeof(*io));
	io->op = BS_OP_READ;
	io->flags = BS_IO_LEND;
	io->len = 8192;
	io->done = harness_done;
	io->priv = h;
	io->bs = &bs;
	user_queue_submit(&h->q, io);
	c = harness_cmd(h, 0);
	data = h->base + h->att.lay.data_offset + c.data_offset;
	memset(data, 0x77, 8192);
	harness_cpl(h, 0, c.tag, 0, 32);
	harness_publish(h, 1);
	user_queue_drain(&h->q);
	assert_int_equal(h->done_res[0], 0);
	assert_non_null(io->buf);
	assert_true((uint8_t *)io->buf != data);
	assert_int_equal(((uint8_t *)io->buf)[8191], 0x77);
	assert_int_equal(atomic_load(&h->q.lent), 0);
	memset(data, 0, 8192); /* the handler may reuse it now: the copy is unaffected */
	assert_int_equal(((uint8_t *)io->buf)[0], 0x77);
	harness_submit(h, 2);
	assert_int_equal(harness_cmd(h, 1).data_offset, 0); /* unit 0 was free again */
	io->buf_return(io);
	assert_null(io->buf);
	/* A failed READ lends nothing (and frees what it allocated). */
	memset(io, 0, sizeof(*io));
	io->op = BS_OP_READ;
	io->flags = BS_IO_LEND;
	io->len = 4096;
	io->done = harness_done;
	io->priv = h;
	io->bs = &bs;
	user_queue_submit(&h->q, io);
	harness_cpl(h, 1, harness_cmd(h, 2).tag, -EIO, 32);
	harness_publish(h, 2);
	user_queue_drain(&h->q);
	assert_int_equal(h->done_res[0], -EIO);
	assert_null(io->buf);
	assert_null(io->buf_return);
	harness_free(h);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_mailbox_accept),
		cmocka_unit_test(test_cpl_check),
		cmocka_unit_test(test_queue_roundtrip),
		cmocka_unit_test(test_queue_duplicate_then_detach),
		cmocka_unit_test(test_queue_wild_index),
		cmocka_unit_test(test_queue_wakeups),
		cmocka_unit_test(test_queue_lend),
		cmocka_unit_test(test_queue_lend_copy),
		cmocka_unit_test(test_queue_data_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
