/* Unit tests for the foundations (util, rt, target): CRC32C, iSCSI name validation, the event loop
 * (timers, cross-thread calls) and a worker's io_uring round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "rt/evloop.h"
#include "rt/worker.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

static void test_crc32c_vectors(void **state)
{
	uint8_t buf[32];

	/* RFC 3720 B.4 test vectors. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(crc32c(buf, sizeof(buf)), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(crc32c(buf, sizeof(buf)), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(crc32c(buf, sizeof(buf)), 0x46dd794e);
	/* Incremental equals one-shot. */
	uint32_t c = crc32c_init();
	c = crc32c_update(c, buf, 10);
	c = crc32c_update(c, buf + 10, 22);
	assert_int_equal(crc32c_final(c), 0x46dd794e);
}

static void test_byteorder(void **state)
{
	uint8_t b[8];

	put_be64(b, 0x0102030405060708ull);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[7], 8);
	assert_true(get_be64(b) == 0x0102030405060708ull);
	put_be24(b, 0xabcdef);
	assert_int_equal(get_be24(b), 0xabcdef);
	put_le32(b, 0x11223344);
	assert_int_equal(b[0], 0x44);
	assert_int_equal(get_le32(b), 0x11223344);
}

static void test_iscsi_names(void **state)
{
	assert_int_equal(iscsi_name_validate("iqn.2026-11.org.invar:default"), 0);
	assert_int_equal(iscsi_name_validate("eui.0123456789abcdef"), 0);
	assert_int_equal(iscsi_name_validate("naa.52004567ba64678d"), 0);
	assert_int_equal(iscsi_name_validate(""), -EINVAL);
	assert_int_equal(iscsi_name_validate("iqn.2026-11.org.invar:UPPER"), -EINVAL);
	assert_int_equal(iscsi_name_validate("iqn.2026-11.org.invar:sp ace"), -EINVAL);
	assert_int_equal(iscsi_name_validate("iqn.2026-11.org.invar:\x01"), -EINVAL);
	assert_int_equal(iscsi_name_validate("foo.bar"), -EINVAL);
	assert_int_equal(iscsi_name_validate("eui.0123"), -EINVAL);
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "iqn.", 4);
	longname[224] = '\0';
	assert_int_equal(iscsi_name_validate(longname), -EINVAL);
	longname[223] = '\0';
	assert_int_equal(iscsi_name_validate(longname), 0);
}

struct timer_ctx {
	struct ev_loop *loop;
	struct ev_timer a, b;
	int order[2];
	int n;
};

static void timer_a(struct ev_timer *t)
{
	struct timer_ctx *c = container_of(t, struct timer_ctx, a);
	c->order[c->n++] = 'a';
	ev_loop_stop(c->loop);
}

static void timer_b(struct ev_timer *t)
{
	struct timer_ctx *c = container_of(t, struct timer_ctx, b);
	c->order[c->n++] = 'b';
}

static void test_evloop_timers(void **state)
{
	struct timer_ctx c = { 0 };

	c.loop = ev_loop_new();
	assert_non_null(c.loop);
	c.a.cb = timer_a;
	c.b.cb = timer_b;
	ev_timer_arm(c.loop, &c.a, 30);
	ev_timer_arm(c.loop, &c.b, 5);
	uint64_t t0 = ev_now_ms();
	assert_int_equal(ev_loop_run(c.loop), 0);
	assert_true(ev_now_ms() - t0 >= 30);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.order[0], 'b');
	assert_int_equal(c.order[1], 'a');
	ev_loop_free(c.loop);
}

struct call_ctx {
	struct ev_loop *loop;
	pthread_t caller;
	pthread_t ran_on;
	int calls;
};

static void call_fn(void *arg)
{
	struct call_ctx *c = arg;
	c->ran_on = pthread_self();
	if (++c->calls == 100)
		ev_loop_stop(c->loop);
}

static void *caller_thread(void *arg)
{
	struct call_ctx *c = arg;
	for (int i = 0; i < 100; i++)
		assert_int_equal(ev_call(c->loop, call_fn, c), 0);
	return NULL;
}

static void test_evloop_cross_thread_call(void **state)
{
	struct call_ctx c = { 0 };

	c.loop = ev_loop_new();
	assert_non_null(c.loop);
	assert_int_equal(pthread_create(&c.caller, NULL, caller_thread, &c), 0);
	assert_int_equal(ev_loop_run(c.loop), 0);
	pthread_join(c.caller, NULL);
	assert_int_equal(c.calls, 100);
	assert_true(pthread_equal(c.ran_on, pthread_self()));
	ev_loop_free(c.loop);
}

struct ring_ctx {
	struct worker *w;
	struct uring_req req;
	int res;
	int fds[2];
	char buf[8];
	int done;
};

static void ring_done(struct uring_req *req, int res)
{
	struct ring_ctx *c = container_of(req, struct ring_ctx, req);
	c->res = res;
	c->done = 1;
	ev_loop_stop(c->w->loop);
}

static void ring_submit_on_worker(void *arg)
{
	struct ring_ctx *c = arg;
	struct io_uring_sqe *sqe = worker_ring_sqe(c->w);

	assert_ptr_equal(worker_self(), c->w);
	assert_non_null(sqe);
	io_uring_prep_read(sqe, c->fds[0], c->buf, sizeof(c->buf), 0);
	c->req.cb = ring_done;
	worker_ring_queue(c->w, sqe, &c->req);
}

static void test_worker_ring(void **state)
{
	struct daemon d;
	struct ring_ctx c = { 0 };
	char dir[] = "/tmp/invar-unit-XXXXXX";

	assert_non_null(mkdtemp(dir));
	assert_int_equal(daemon_init(&d, dir, 1), 0);
	c.w = &d.workers[0];
	if (!c.w->ring_ready) {
		daemon_fini(&d);
		skip();
	}
	assert_int_equal(pipe(c.fds), 0);
	assert_int_equal(write(c.fds[1], "invar!!", 8), 8);
	assert_int_equal(worker_start(c.w), 0);
	assert_int_equal(ev_call(c.w->loop, ring_submit_on_worker, &c), 0);
	pthread_join(c.w->thread, NULL); /* the completion stops the loop */
	assert_int_equal(c.done, 1);
	assert_int_equal(c.res, 8);
	assert_string_equal(c.buf, "invar!!");
	/* daemon_fini stops workers; this one already returned, so only join-free teardown. */
	for (unsigned i = 0; i < d.nworkers; i++)
		worker_fini(&d.workers[i]);
	d.nworkers = 0;
	daemon_fini(&d);
	close(c.fds[0]);
	close(c.fds[1]);
	rmdir(dir);
}

/* Placement: fewest live connections wins, so sessions spread even when every client opens
 * (and closes) a discovery connection before its login, which plain round robin would put
 * all on one worker. */
static void test_pick_worker_least_loaded(void **state)
{
	struct daemon d;
	char dir[] = "/tmp/invar-unit-XXXXXX";
	struct worker *a, *b, *c;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(daemon_init(&d, dir, 2), 0);
	for (int i = 0; i < 4; i++) {
		/* a short-lived discovery connection, then the session's connection */
		a = daemon_pick_worker(&d);
		worker_conn_done(a);
		b = daemon_pick_worker(&d);
		(void)b;
	}
	assert_int_equal(atomic_load(&d.workers[0].nconns), 2);
	assert_int_equal(atomic_load(&d.workers[1].nconns), 2);
	/* the less loaded worker gets the next one, whatever the rotation says */
	c = daemon_pick_worker(&d);
	worker_conn_done(&d.workers[c == &d.workers[0] ? 1 : 0]);
	worker_conn_done(&d.workers[c == &d.workers[0] ? 1 : 0]);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(daemon_pick_worker(&d), &d.workers[c == &d.workers[0] ? 1 : 0]);
	assert_int_equal(atomic_load(&d.workers[0].nconns), 3);
	assert_int_equal(atomic_load(&d.workers[1].nconns), 3);
	daemon_fini(&d);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_byteorder),
		cmocka_unit_test(test_iscsi_names),
		cmocka_unit_test(test_evloop_timers),
		cmocka_unit_test(test_evloop_cross_thread_call),
		cmocka_unit_test(test_worker_ring),
		cmocka_unit_test(test_pick_worker_least_loaded),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
