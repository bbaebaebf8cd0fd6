/* LU capacity change (src/scsi/lu_capacity.h): growth publishes the new capacity and queues
 * CAPACITY DATA HAS CHANGED once per nexus; bad sizes, read-only LUs and unforced shrinks are
 * refused with a reason and change nothing; a shrink drops the capacity at once, waits for the
 * writes in flight in the cut-off tail, refuses the writes that reach the gate after the drop,
 * and only then shrinks the backstore; listeners hear of each change. A RAM LU whose backstore
 * holds asynchronous requests until the test completes them (as test_scsi_lu_io.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "backstore/backstore.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lu_capacity.h"
#include "scsi/lu_io.h"
#include "scsi/migsm.h"

#define KIB 1024ull
#define MIB (1024 * KIB)

static struct backstore_ops held_ops;
static struct bs_io *pending[8];
static unsigned npending;

static void held_submit(struct backstore *bs, struct bs_io *io)
{
	if (io->priv == (void *)container_of(io, struct lu_io, bs)) {
		assert_true(npending < 8);
		pending[npending++] = io;
		return;
	}
	bs_ram_ops.submit(bs, io);
}

/* Run the oldest held request on the RAM backstore; its completion goes through the gate. */
static void complete_first(void)
{
	struct bs_io *io = pending[0];

	assert_true(npending > 0);
	memmove(pending, pending + 1, (npending - 1) * sizeof(pending[0]));
	npending--;
	bs_ram_ops.submit(container_of(io, struct lu_io, bs)->lu->bs, io);
}

static struct lu *held_lu(bool readonly)
{
	struct lu_config c;
	struct lu *lu;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.backstore, sizeof(c.backstore), "ram");
	c.size = MIB;
	c.readonly = readonly;
	assert_int_equal(lu_create(&c, "iqn.2026-01.test:cap/0", &lu, err, sizeof(err)), 0);
	held_ops = bs_ram_ops;
	held_ops.submit = held_submit;
	lu->bs->ops = &held_ops;
	npending = 0;
	return lu;
}

#define NOT_DONE 1

/* Each write's result lands in the int its priv names (NOT_DONE until then). */
static void io_done(struct lu_io *io, int res)
{
	int *out = io->priv;

	assert_int_equal(*out, NOT_DONE);
	*out = res;
}

static uint8_t data[64 * KIB];

static void write_at(struct lu *lu, struct lu_io *io, uint64_t off, uint64_t len, int *res)
{
	*res = NOT_DONE;
	lu_io_start(io, lu, NULL, BS_OP_WRITE, 0, off, len, data, io_done, res);
}

static struct lu_resize_result later;
static unsigned later_calls;

static void resize_done(void *arg, const struct lu_resize_result *r)
{
	assert_ptr_equal(arg, &later);
	later = *r;
	later_calls++;
}

struct heard {
	unsigned calls;
	uint64_t old_blocks, new_blocks;
};

static void heard_change(struct lu *lu, uint64_t old_blocks, uint64_t new_blocks, void *arg)
{
	struct heard *h = arg;

	h->calls++;
	h->old_blocks = old_blocks;
	h->new_blocks = new_blocks;
}

/* Growth: the backstore first, then the capacity, then one UA per nexus, then listeners. */
static void test_grow(void **state)
{
	struct lu *lu = held_lu(false);
	struct heard h = { 0 };
	struct lu_listener l = { .capacity_changed = heard_change, .arg = &h };
	struct lu_resize_result r;

	/* Two nexuses known to the LU, their POWER ON taken. */
	assert_int_equal(lu_ua_take(lu, 1), UA_POWER_ON);
	assert_int_equal(lu_ua_take(lu, 2), UA_POWER_ON);
	lu_listener_add(lu, &l);
	assert_int_equal(lu_set_capacity(lu, 4 * MIB, 0, NULL, NULL, NULL, &r), 0);
	assert_int_equal(r.res, 0);
	assert_int_equal(r.old_bytes, MIB);
	assert_int_equal(r.new_bytes, 4 * MIB);
	assert_int_equal(lu_num_blocks(lu), 4 * MIB / 512);
	assert_int_equal(backstore_size(lu->bs), 4 * MIB);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.old_blocks, MIB / 512);
	assert_int_equal(h.new_blocks, 4 * MIB / 512);
	for (uint64_t n = 1; n <= 2; n++) {
		assert_int_equal(lu_ua_take(lu, n), UA_CAPACITY_CHANGED);
		assert_int_equal(lu_ua_take(lu, n), -1); /* exactly once */
	}
	/* A nexus new to the LU gets POWER ON, which covers it. */
	assert_int_equal(lu_ua_take(lu, 3), UA_POWER_ON);
	assert_int_equal(lu_ua_take(lu, 3), -1);

	/* The same size again: nothing changes, no UA, no listener call. */
	assert_int_equal(lu_set_capacity(lu, 4 * MIB, 0, NULL, NULL, NULL, &r), 0);
	assert_int_equal(r.old_bytes, r.new_bytes);
	assert_int_equal(lu_ua_take(lu, 1), -1);
	assert_int_equal(h.calls, 1);
	/* Re-read: RAM has no size of its own, so the capacity stays. */
	assert_int_equal(lu_set_capacity(lu, 0, 0, NULL, NULL, NULL, &r), 0);
	assert_int_equal(r.new_bytes, 4 * MIB);
	lu_listener_del(lu, &l);
	lu_put(lu);
}

/* Refusals: each with its errno and a reason, the LU untouched. */
static void test_refused(void **state)
{
	struct lu *lu = held_lu(false), *ro = held_lu(true);
	struct lu_resize_result r;

	assert_int_equal(lu_ua_take(lu, 1), UA_POWER_ON);
	assert_int_equal(lu_set_capacity(lu, MIB + 100, 0, NULL, NULL, NULL, &r), -EINVAL);
	assert_non_null(strstr(r.msg, "multiple of the block size"));
	assert_int_equal(lu_set_capacity(lu, MIB / 2, 0, NULL, NULL, NULL, &r), -EPERM);
	assert_non_null(strstr(r.msg, "force"));
	assert_int_equal(lu_set_capacity(ro, 2 * MIB, 0, NULL, NULL, NULL, &r), -EROFS);
	assert_non_null(strstr(r.msg, "read-only"));
	/* Migrating. */
	atomic_store(&lu->mig.state, MIG_PRE_COPY);
	assert_int_equal(lu_set_capacity(lu, 2 * MIB, 0, NULL, NULL, NULL, &r), -EBUSY);
	assert_non_null(strstr(r.msg, "migrating"));
	atomic_store(&lu->mig.state, MIG_RUNNING);
	atomic_store(&lu->maint.state, SBC_MAINT_SANITIZE);
	assert_int_equal(lu_set_capacity(lu, 2 * MIB, 0, NULL, NULL, NULL, &r), -EBUSY);
	assert_non_null(strstr(r.msg, "SANITIZE"));
	atomic_store(&lu->maint.state, SBC_MAINT_NONE);
	assert_int_equal(lu_num_blocks(lu), MIB / 512);
	assert_int_equal(backstore_size(lu->bs), MIB);
	assert_int_equal(lu_ua_take(lu, 1), -1);
	/* The backstore refuses (past what it can map): the capacity stays. */
	assert_int_equal(lu_set_capacity(lu, 1ull << 62, 0, NULL, NULL, NULL, &r), -ENOSPC);
	assert_int_equal(lu_num_blocks(lu), MIB / 512);
	assert_int_equal(lu_ua_take(lu, 1), -1);
	lu_put(ro);
	lu_put(lu);
}

/* A shrink with nothing in flight finishes at once. */
static void test_shrink_idle(void **state)
{
	struct lu *lu = held_lu(false);
	struct lu_resize_result r;
	struct lu_io w;
	int res = NOT_DONE;

	assert_int_equal(lu_ua_take(lu, 1), UA_POWER_ON);
	assert_int_equal(lu_set_capacity(lu, MIB / 4, LU_RESIZE_SHRINK, NULL, NULL, NULL, &r), 0);
	assert_int_equal(r.new_bytes, MIB / 4);
	assert_int_equal(lu_num_blocks(lu), MIB / 4 / 512);
	assert_int_equal(backstore_size(lu->bs), MIB / 4);
	assert_int_equal(lu_ua_take(lu, 1), UA_CAPACITY_CHANGED);
	/* A write admitted before (by an older capacity) is refused: LBA OUT OF RANGE. */
	write_at(lu, &w, MIB / 2, 4 * KIB, &res);
	assert_int_equal(res, -ERANGE);
	assert_int_equal(lu_io_reason(-ERANGE, true), SR_LBA_OUT_OF_RANGE);
	/* So is a read that reaches the shrunk backstore (-EINVAL there). */
	res = NOT_DONE;
	lu_io_start(&w, lu, NULL, BS_OP_READ, 0, MIB / 2, 4 * KIB, data, io_done, &res);
	assert_int_equal(res, -ERANGE);
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 0);
	lu_put(lu);
}

/* A shrink waits for the writes in flight (their ranges are unknown to the gate); a write to
 * the tail arriving meanwhile waits behind it and is then refused; writes below the new end
 * go on. The backstore shrinks only after the drain. */
static void test_shrink_drains(void **state)
{
	struct lu *lu = held_lu(false);
	struct lu_resize_result r;
	struct lu_io w_tail, w_low, w_late_tail, w_late_low;
	int r_tail, r_low, r_late_tail, r_late_low;

	assert_int_equal(lu_ua_take(lu, 1), UA_POWER_ON);
	later_calls = 0;
	write_at(lu, &w_tail, MIB - 64 * KIB, 64 * KIB, &r_tail);	/* fast path, in the tail */
	write_at(lu, &w_low, 0, 4 * KIB, &r_low);			/* fast path, kept range */
	assert_int_equal(npending, 2);
	assert_int_equal(lu_set_capacity(lu, MIB / 2, LU_RESIZE_SHRINK, NULL, resize_done, &later,
					 &r),
			 1);
	/* The capacity dropped at once, and the UA with it; the backstore not yet. */
	assert_int_equal(lu_num_blocks(lu), MIB / 2 / 512);
	assert_int_equal(backstore_size(lu->bs), MIB);
	assert_int_equal(lu_ua_take(lu, 1), UA_CAPACITY_CHANGED);
	/* A second change meanwhile is refused. */
	assert_int_equal(lu_set_capacity(lu, 2 * MIB, 0, NULL, NULL, NULL, &r), -EBUSY);
	/* Admitted earlier, arriving now: the tail write waits, then is refused; the low one
	 * goes on. */
	write_at(lu, &w_late_tail, MIB - 8 * KIB, 4 * KIB, &r_late_tail);
	write_at(lu, &w_late_low, 8 * KIB, 4 * KIB, &r_late_low);
	assert_int_equal(r_late_tail, NOT_DONE);
	assert_int_equal(npending, 3);				/* w_late_low submitted */
	complete_first();					/* w_tail */
	assert_int_equal(r_tail, 0);
	assert_int_equal(later_calls, 0);			/* w_low still in flight */
	assert_int_equal(r_late_tail, NOT_DONE);
	complete_first();					/* w_low */
	assert_int_equal(later_calls, 1);
	assert_int_equal(later.res, 0);
	assert_int_equal(later.old_bytes, MIB);
	assert_int_equal(later.new_bytes, MIB / 2);
	assert_int_equal(backstore_size(lu->bs), MIB / 2);
	assert_int_equal(lu_ua_take(lu, 1), -1);	/* once */
	/* The late tail write was granted after the release and refused before the backstore. */
	assert_int_equal(r_late_tail, -ERANGE);
	assert_int_equal(r_low, 0);
	assert_int_equal(npending, 1);
	complete_first();					/* w_late_low */
	assert_int_equal(r_late_low, 0);
	assert_int_equal(pcount_sum(&lu->io_gate.fast), 0);
	assert_int_equal(atomic_load(&lu->io_gate.excl), 0);
	assert_true(list_empty(&lu->io_gate.held));
	/* Growing again works and exposes zeroes (the RAM backstore zeroes the new range). */
	assert_int_equal(lu_set_capacity(lu, MIB, 0, NULL, NULL, NULL, &r), 0);
	lu_put(lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_shrink_idle),
	    cmocka_unit_test(test_shrink_drains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
