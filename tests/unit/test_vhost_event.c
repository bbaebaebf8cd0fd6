/* Unit tests for virtio-scsi's event queue (src/fabric/vhost/vs_event.c): the bounded buffering
 * of events while the driver has posted no buffers, EVENTS_MISSED when the bound is exceeded,
 * the wire form, and delivery into the buffers of a split virtqueue on fake guest memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "fabric/vhost/vs_event.h"
#include "fabric/vhost/vu_le.h"

#define QSZ 8
#define RAM 65536
#define G_DESC 0x0
#define G_AVAIL 0x1000
#define G_USED 0x2000
#define G_BUF 0x4000
#define G_BASE 0x100000

static uint8_t *ram;
static struct vu_mem mem;
static struct virtq q;
static struct virtq_elem e;
static struct vs_evq eq;

static int setup(void **state)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	memset(&mem, 0, sizeof(mem));
	mem.n = 1;
	mem.r[0] = (struct vu_mem_region){.gpa = G_BASE, .size = RAM, .uva = 0, .hva = ram};
	virtq_init(&q, &mem, QSZ, ram + G_DESC, ram + G_AVAIL, ram + G_USED, 0, false, false);
	vs_evq_init(&eq);
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	ram = NULL;
	return 0;
}

/* Posts buffer i (descriptor i, 16 bytes at G_BUF + 32 * i, device-writable unless flags say). */
static void post(unsigned i, uint32_t len, uint16_t flags)
{
	uint8_t *d = ram + G_DESC + 16 * i;
	uint16_t idx = vu_get16(ram + G_AVAIL + 2);

	vu_put64(d, G_BASE + G_BUF + 32 * i);
	vu_put32(d + 8, len);
	vu_put16(d + 12, flags);
	vu_put16(d + 14, 0);
	memset(ram + G_BUF + 32 * i, 0xee, 32);
	vu_put16(ram + G_AVAIL + 4 + 2 * (idx % QSZ), (uint16_t)i);
	vu_put16(ram + G_AVAIL + 2, (uint16_t)(idx + 1));
}

static const uint8_t *buf(unsigned i)
{
	return ram + G_BUF + 32 * i;
}

static uint16_t used_idx(void)
{
	return vu_get16(ram + G_USED + 2);
}

static void test_wire_form(void **state)
{
	uint8_t out[VS_EVENT_SIZE];

	assert_false(vs_evq_take(&eq, out));
	assert_true(vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 1, VS_EVT_RESET_RESCAN));
	assert_true(vs_evq_push(&eq, VS_T_PARAM_CHANGE, 300, 0x2a | 0x09 << 8));
	assert_true(vs_evq_take(&eq, out));
	assert_int_equal(vu_get32(out), VS_T_TRANSPORT_RESET);
	/* LUN: 1, target 0, LUN 1 in SAM single-level form (Linux reads lun[2] << 8 | lun[3]) */
	assert_int_equal(out[4], 1);
	assert_int_equal(out[5], 0);
	assert_int_equal(out[6], 0);
	assert_int_equal(out[7], 1);
	assert_int_equal(vu_get32(out + 12), VS_EVT_RESET_RESCAN);
	assert_true(vs_evq_take(&eq, out));
	assert_int_equal(vu_get32(out), VS_T_PARAM_CHANGE);
	assert_int_equal(out[6], 0x40 | 1);	/* 300 = 0x12c: flat space addressing */
	assert_int_equal(out[7], 0x2c);
	assert_int_equal(out[12], 0x2a);	/* asc */
	assert_int_equal(out[13], 0x09);	/* ascq */
	assert_false(vs_evq_pending(&eq));
}

/* No buffer posted: events wait (in order), up to the bound. */
static void test_kept_until_buffers(void **state)
{
	for (unsigned i = 0; i < 5; i++)
		assert_true(
		    vs_evq_push(&eq, VS_T_TRANSPORT_RESET, (uint16_t)i, VS_EVT_RESET_RESCAN));
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 0);	/* no buffers yet */
	assert_int_equal(eq.count, 5);
	assert_int_equal(used_idx(), 0);
	post(0, 16, VIRTQ_DESC_F_WRITE);
	post(1, 16, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 2);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(vu_get32(ram + G_USED + 4 + 4), 16);	/* used len */
	assert_int_equal(buf(0)[7], 0);
	assert_int_equal(buf(1)[7], 1);
	assert_int_equal(vu_get32(buf(0)), VS_T_TRANSPORT_RESET);	/* no EVENTS_MISSED */
	assert_int_equal(buf(0)[16], 0xee);	/* nothing past the 16 bytes */
	assert_int_equal(eq.count, 3);
	/* the driver reposts: the rest go */
	post(0, 16, VIRTQ_DESC_F_WRITE);
	post(1, 32, VIRTQ_DESC_F_WRITE);
	post(2, 16, VIRTQ_DESC_F_WRITE);
	post(3, 16, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 3);
	assert_int_equal(buf(0)[7], 2);
	assert_int_equal(buf(1)[7], 3);
	assert_int_equal(buf(2)[7], 4);
	assert_false(vs_evq_pending(&eq));
	/* buffer 3 stays posted for the next event, which goes at once */
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 0);
	assert_true(vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 9, VS_EVT_RESET_REMOVED));
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 1);
	assert_int_equal(buf(3)[7], 9);
	assert_int_equal(vu_get32(buf(3) + 12), VS_EVT_RESET_REMOVED);
}

/* More than the bound: the newest are dropped, the next event delivered says EVENTS_MISSED, and
 * the flag is given once. */
static void test_bound_and_missed(void **state)
{
	for (unsigned i = 0; i < VS_EVQ_MAX; i++)
		assert_true(
		    vs_evq_push(&eq, VS_T_TRANSPORT_RESET, (uint16_t)i, VS_EVT_RESET_RESCAN));
	assert_false(vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 99, VS_EVT_RESET_RESCAN));
	assert_false(vs_evq_push(&eq, VS_T_PARAM_CHANGE, 98, 0x092a));
	assert_int_equal(eq.count, VS_EVQ_MAX);
	assert_int_equal(eq.dropped, 2);
	assert_true(eq.missed);
	post(0, 16, VIRTQ_DESC_F_WRITE);
	post(1, 16, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 2);
	assert_int_equal(vu_get32(buf(0)), VS_T_TRANSPORT_RESET | VS_T_EVENTS_MISSED);
	assert_int_equal(buf(0)[7], 0);
	assert_int_equal(vu_get32(buf(1)), VS_T_TRANSPORT_RESET);	/* flag given once */
	assert_int_equal(buf(1)[7], 1);
	assert_int_equal(eq.count, VS_EVQ_MAX - 2);
	/* room again: a new event is kept */
	assert_true(vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 50, VS_EVT_RESET_RESCAN));
	assert_int_equal(eq.count, VS_EVQ_MAX - 1);
}

/* Dropped while nothing else waits (all delivered since): a NO_EVENT with the flag. */
static void test_missed_alone(void **state)
{
	uint8_t out[VS_EVENT_SIZE];

	for (unsigned i = 0; i <= VS_EVQ_MAX; i++)
		vs_evq_push(&eq, VS_T_TRANSPORT_RESET, (uint16_t)i, VS_EVT_RESET_RESCAN);
	for (unsigned i = 0; i < VS_EVQ_MAX; i++)
		assert_true(vs_evq_take(&eq, out));
	assert_false(vs_evq_pending(&eq));
	eq.missed = true;	/* as if the drop came after the last delivery */
	assert_true(vs_evq_pending(&eq));
	post(0, 16, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vs_evq_flush(&eq, &q, &e), 1);
	assert_int_equal(vu_get32(buf(0)), VS_T_NO_EVENT | VS_T_EVENTS_MISSED);
	assert_int_equal(buf(0)[4], 0);
	assert_false(vs_evq_pending(&eq));
}

/* A buffer the device cannot write, or too small: the queue breaks, the event stays queued. */
static void test_bad_buffers(void **state)
{
	vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 1, VS_EVT_RESET_RESCAN);
	post(0, 8, VIRTQ_DESC_F_WRITE);
	assert_int_equal(vs_evq_flush(&eq, &q, &e), -EIO);
	assert_non_null(strstr(q.why, "event buffer of 8"));
	assert_int_equal(eq.count, 1);
	assert_int_equal(used_idx(), 0);

	setup(state);
	vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 1, VS_EVT_RESET_RESCAN);
	post(0, 16, 0);	/* device-readable */
	assert_int_equal(vs_evq_flush(&eq, &q, &e), -EIO);
	assert_int_equal(eq.count, 1);

	setup(state);
	vs_evq_push(&eq, VS_T_TRANSPORT_RESET, 1, VS_EVT_RESET_RESCAN);
	post(0, 16, VIRTQ_DESC_F_WRITE);
	vu_put64(ram + G_DESC, G_BASE + RAM - 8);	/* runs past guest memory */
	assert_int_equal(vs_evq_flush(&eq, &q, &e), -EIO);
	assert_int_equal(eq.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wire_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kept_until_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_and_missed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missed_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_buffers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
