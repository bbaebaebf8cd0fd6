/* Unit tests for the split virtqueue walker (src/fabric/vhost/virtq.c) on a fake guest memory:
 * chains, indirect tables, the used ring, EVENT_IDX, and every way a guest can break a queue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "fabric/vhost/virtq.h"
#include "fabric/vhost/vu_le.h"

#define QSZ 8
#define RAM 65536
/* Guest layout: descriptors at 0, avail at 0x1000, used at 0x2000, buffers from 0x4000. */
#define G_DESC 0x0
#define G_AVAIL 0x1000
#define G_USED 0x2000
#define G_BUF 0x4000
#define G_BASE 0x100000	/* guest-physical address of the region */

static uint8_t *ram;
static struct vu_mem mem;
static struct virtq q;
static struct virtq_elem e;

static int setup(void **state)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	memset(&mem, 0, sizeof(mem));
	mem.n = 1;
	mem.r[0] = (struct vu_mem_region){ .gpa = G_BASE, .size = RAM, .uva = 0, .hva = ram };
	virtq_init(&q, &mem, QSZ, ram + G_DESC, ram + G_AVAIL, ram + G_USED, 0, true, true);
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	ram = NULL;
	return 0;
}

static void desc(uint8_t *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = table + 16 * i;

	vu_put64(d, addr);
	vu_put32(d + 8, len);
	vu_put16(d + 12, flags);
	vu_put16(d + 14, next);
}

/* Makes head available (the next avail slot). */
static void offer(uint16_t head)
{
	uint16_t idx = vu_get16(ram + G_AVAIL + 2);

	vu_put16(ram + G_AVAIL + 4 + 2 * (idx % QSZ), head);
	vu_put16(ram + G_AVAIL + 2, (uint16_t)(idx + 1));
}

static void test_chain(void **state)
{
	desc(ram, 0, G_BASE + G_BUF, 51, VIRTQ_DESC_F_NEXT, 1);
	desc(ram, 1, G_BASE + G_BUF + 0x100, 512, VIRTQ_DESC_F_NEXT, 2);
	desc(ram, 2, G_BASE + G_BUF + 0x400, 108, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	desc(ram, 3, G_BASE + G_BUF + 0x800, 4096, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&q, &e), 0);		/* nothing offered yet */
	offer(0);
	assert_int_equal(virtq_pop(&q, &e), 1);
	assert_int_equal(e.head, 0);
	assert_int_equal(e.nout, 2);
	assert_int_equal(e.nin, 2);
	assert_true(e.out_len == 563 && e.in_len == 4204);
	assert_ptr_equal(e.iov[0].iov_base, ram + G_BUF);
	assert_ptr_equal(e.iov[3].iov_base, ram + G_BUF + 0x800);
	assert_int_equal(virtq_pop(&q, &e), 0);
	/* the used ring: element then index */
	virtq_push(&q, 0, 4204);
	assert_int_equal(vu_get16(ram + G_USED + 2), 1);
	assert_int_equal(vu_get32(ram + G_USED + 4), 0);
	assert_int_equal(vu_get32(ram + G_USED + 8), 4204);
}

static void test_indirect(void **state)
{
	uint8_t *it = ram + 0x3000;

	desc(it, 0, G_BASE + G_BUF, 51, VIRTQ_DESC_F_NEXT, 2);
	desc(it, 2, G_BASE + G_BUF + 0x100, 108, VIRTQ_DESC_F_WRITE, 0);
	desc(ram, 5, G_BASE + 0x3000, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(5);
	assert_int_equal(virtq_pop(&q, &e), 1);
	assert_int_equal(e.head, 5);
	assert_true(e.nout == 1 && e.nin == 1 && e.out_len == 51 && e.in_len == 108);
}

static void expect_broken(const char *why)
{
	assert_int_equal(virtq_pop(&q, &e), -EIO);
	if (!strstr(q.why, why))
		fail_msg("broken for '%s', expected '%s'", q.why, why);
}

static void test_loop(void **state)
{
	desc(ram, 0, G_BASE + G_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(ram, 1, G_BASE + G_BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_broken("loops");
}

static void test_indirect_loop_and_nesting(void **state)
{
	uint8_t *it = ram + 0x3000;

	desc(it, 0, G_BASE + G_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(it, 1, G_BASE + G_BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(ram, 0, G_BASE + 0x3000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("loops");
	setup(state);
	desc(it, 0, G_BASE + 0x3000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc(ram, 0, G_BASE + 0x3000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("nested");
	setup(state);
	desc(ram, 0, G_BASE + 0x3000, 20, VIRTQ_DESC_F_INDIRECT, 0);	/* not whole descriptors */
	offer(0);
	expect_broken("indirect table");
	setup(state);
	desc(ram, 0, G_BASE + RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);	/* runs off the region */
	offer(0);
	expect_broken("outside");
	setup(state);
	desc(ram, 0, G_BASE + 0x3000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(0);
	expect_broken("inside a chain");
	setup(state);
	q.indirect = false;
	desc(ram, 0, G_BASE + 0x3000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("not negotiated");
}

static void test_bad_addresses_and_indices(void **state)
{
	desc(ram, 0, G_BASE + RAM - 10, 20, 0, 0);		/* past the end of guest memory */
	offer(0);
	expect_broken("outside guest memory");
	setup(state);
	desc(ram, 0, 0x10, 20, 0, 0);				/* below the region */
	offer(0);
	expect_broken("outside guest memory");
	setup(state);
	desc(ram, 0, UINT64_MAX - 4, 20, 0, 0);			/* wraps */
	offer(0);
	expect_broken("outside guest memory");
	setup(state);
	offer(QSZ);						/* head past the table */
	expect_broken("past");
	setup(state);
	desc(ram, 0, G_BASE + G_BUF, 16, VIRTQ_DESC_F_NEXT, 200);	/* next past the table */
	offer(0);
	expect_broken("past");
	setup(state);
	vu_put16(ram + G_AVAIL + 2, QSZ + 1);			/* more entries than the queue */
	expect_broken("ahead");
	setup(state);
	desc(ram, 0, G_BASE + G_BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(ram, 1, G_BASE + G_BUF, 16, 0, 0);			/* readable after writable */
	offer(0);
	expect_broken("readable descriptor after");
}

static void test_too_many_segments(void **state)
{
	uint8_t *it = ram + 0x8000;	/* 1024 descriptors fit before 0xc000 */

	for (unsigned i = 0; i < VIRTQ_MAX_IOV + 1; i++)
		desc(it, i, G_BASE + G_BUF, 1, i < VIRTQ_MAX_IOV ? VIRTQ_DESC_F_NEXT : 0,
		     (uint16_t)(i + 1));
	desc(ram, 0, G_BASE + 0x8000, (VIRTQ_MAX_IOV + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("segments");
}

static void test_event_idx(void **state)
{
	for (unsigned i = 0; i < 3; i++) {
		desc(ram, i, G_BASE + G_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
		offer((uint16_t)i);
	}
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(virtq_pop(&q, &e), 1);
	/* avail_event asks for a kick at the next entry; nothing new arrived meanwhile */
	assert_false(virtq_enable_kicks(&q));
	assert_int_equal(vu_get16(ram + G_USED + 4 + 8 * QSZ), 3);
	offer(0);
	assert_true(virtq_enable_kicks(&q));
	virtq_push(&q, 0, 16);
	assert_true(virtq_should_notify(&q));		/* the first one always */
	/* the driver wants an interrupt once used idx passes 2 */
	vu_put16(ram + G_AVAIL + 4 + 2 * QSZ, 2);
	virtq_push(&q, 1, 16);
	assert_false(virtq_should_notify(&q));		/* used idx 2: event 2 not passed */
	virtq_push(&q, 2, 16);
	assert_true(virtq_should_notify(&q));		/* used idx 3 passed event 2 */
	/* without EVENT_IDX: the avail flags decide */
	q.event_idx = false;
	vu_put16(ram + G_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_notify(&q));
	vu_put16(ram + G_AVAIL, 0);
	assert_true(virtq_should_notify(&q));
}

static void test_wraparound(void **state)
{
	/* base near 65535: indices wrap, ring slots are index % size */
	virtq_init(&q, &mem, QSZ, ram + G_DESC, ram + G_AVAIL, ram + G_USED, 65534, true, true);
	vu_put16(ram + G_AVAIL + 2, 65534);
	for (unsigned i = 0; i < 4; i++) {
		desc(ram, i, G_BASE + G_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
		offer((uint16_t)i);
	}
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&q, &e), 1);
		assert_int_equal(e.head, i);
		virtq_push(&q, e.head, 1);
	}
	assert_int_equal(vu_get16(ram + G_USED + 2), 2);
	assert_int_equal(virtq_pop(&q, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_loop_and_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_addresses_and_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
