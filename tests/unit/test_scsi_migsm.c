/* The live-migration state machine: the transition table (every pair of state and event), the
 * rule that every failure before the switch-over returns to a serving state, and the command
 * gate (BUSY outside serving states, drain of admitted commands). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/lu.h"
#include "scsi/migsm.h"
#include "scsi/scsi.h"
#include "scsi/task.h"

/* The whole expected table: -1 = no transition. */
static const int expect[MIG_STATE_COUNT][MIG_EVENT_COUNT] = {
	[MIG_RUNNING] = { [MIG_EV_START] = MIG_PRE_COPY, [MIG_EV_STOP_COPY] = -1,
			  [MIG_EV_SWITCHED] = -1, [MIG_EV_ABORT] = -1, [MIG_EV_FAIL] = -1,
			  [MIG_EV_RESUME] = MIG_RESUMING, [MIG_EV_RESUMED] = -1,
			  [MIG_EV_RECOVER] = -1, [MIG_EV_HANDED_OVER] = -1 },
	[MIG_PRE_COPY] = { [MIG_EV_START] = -1, [MIG_EV_STOP_COPY] = MIG_STOP_COPY,
			   [MIG_EV_SWITCHED] = -1, [MIG_EV_ABORT] = MIG_RUNNING,
			   [MIG_EV_FAIL] = MIG_RUNNING, [MIG_EV_RESUME] = -1,
			   [MIG_EV_RESUMED] = -1, [MIG_EV_RECOVER] = -1,
			   [MIG_EV_HANDED_OVER] = -1 },
	[MIG_STOP_COPY] = { [MIG_EV_START] = -1, [MIG_EV_STOP_COPY] = -1,
			    [MIG_EV_SWITCHED] = MIG_STOP, [MIG_EV_ABORT] = MIG_RUNNING,
			    [MIG_EV_FAIL] = MIG_RUNNING, [MIG_EV_RESUME] = -1,
			    [MIG_EV_RESUMED] = -1, [MIG_EV_RECOVER] = -1,
			    [MIG_EV_HANDED_OVER] = -1 },
	[MIG_STOP] = { [MIG_EV_START] = -1, [MIG_EV_STOP_COPY] = -1, [MIG_EV_SWITCHED] = -1,
		       [MIG_EV_ABORT] = -1, [MIG_EV_FAIL] = MIG_ERROR, [MIG_EV_RESUME] = -1,
		       [MIG_EV_RESUMED] = -1, [MIG_EV_RECOVER] = -1, [MIG_EV_HANDED_OVER] = -1 },
	[MIG_RESUMING] = { [MIG_EV_START] = -1, [MIG_EV_STOP_COPY] = -1, [MIG_EV_SWITCHED] = -1,
			   [MIG_EV_ABORT] = MIG_STOP, [MIG_EV_FAIL] = MIG_STOP,
			   [MIG_EV_RESUME] = -1, [MIG_EV_RESUMED] = MIG_RUNNING,
			   [MIG_EV_RECOVER] = -1, [MIG_EV_HANDED_OVER] = -1 },
	[MIG_ERROR] = { [MIG_EV_START] = -1, [MIG_EV_STOP_COPY] = -1, [MIG_EV_SWITCHED] = -1,
			[MIG_EV_ABORT] = -1, [MIG_EV_FAIL] = -1, [MIG_EV_RESUME] = -1,
			[MIG_EV_RESUMED] = -1, [MIG_EV_RECOVER] = MIG_RUNNING,
			[MIG_EV_HANDED_OVER] = MIG_STOP },
};

static void test_table(void **state)
{
	for (int s = 0; s < MIG_STATE_COUNT; s++)
		for (int e = 0; e < MIG_EVENT_COUNT; e++) {
			enum mig_state to = MIG_ERROR;
			int r = migsm_next((enum mig_state)s, (enum mig_event)e, &to);

			if (expect[s][e] < 0) {
				assert_int_equal(r, -EINVAL);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(to, expect[s][e]);
			}
		}
	assert_true(migsm_serving(MIG_RUNNING));
	assert_true(migsm_serving(MIG_PRE_COPY));
	for (int s = MIG_STOP_COPY; s < MIG_STATE_COUNT; s++)
		assert_false(migsm_serving((enum mig_state)s));
	assert_string_equal(migsm_state_name(MIG_STOP_COPY), "stop-copy");
	assert_string_equal(migsm_event_name(MIG_EV_HANDED_OVER), "handed-over");
}

/* Walk every path of the source from RUNNING that has not passed SWITCHED: an ABORT or FAIL
 * anywhere on it lands in a serving state. */
static void test_abort_before_switch_serves(void **state)
{
	enum mig_state path[] = { MIG_RUNNING, MIG_PRE_COPY, MIG_STOP_COPY };

	for (unsigned i = 1; i < sizeof(path) / sizeof(path[0]); i++) {
		enum mig_state to;

		assert_int_equal(migsm_next(path[i], MIG_EV_ABORT, &to), 0);
		assert_true(migsm_serving(to));
		assert_int_equal(migsm_next(path[i], MIG_EV_FAIL, &to), 0);
		assert_true(migsm_serving(to));
	}
	/* A destination failing while loading never served and never will. */
	{
		enum mig_state to;

		assert_int_equal(migsm_next(MIG_RESUMING, MIG_EV_FAIL, &to), 0);
		assert_int_equal(to, MIG_STOP);
	}
}

static struct lu *ram_lu(void)
{
	struct lu_config c;
	struct lu *lu;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.backstore, sizeof(c.backstore), "ram");
	c.size = 1 << 20;
	assert_int_equal(lu_create(&c, "iqn.2026-01.test:sm/0", &lu, err, sizeof(err)), 0);
	return lu;
}

static void test_gate(void **state)
{
	struct lu *lu = ram_lu();
	struct scsi_task t;
	uint8_t tur[6] = { 0 };

	assert_int_equal(lu_mig_state(lu), MIG_RUNNING);
	assert_true(lu_mig_admit(lu));
	assert_false(lu_mig_drained(lu));			/* one command in flight */
	assert_int_equal(lu_mig_event(lu, MIG_EV_STOP_COPY), -EINVAL);
	assert_int_equal(lu_mig_state(lu), MIG_RUNNING);
	assert_int_equal(lu_mig_event(lu, MIG_EV_START), 0);
	assert_true(lu_mig_admit(lu));				/* PRE_COPY serves */
	assert_int_equal(lu_mig_event(lu, MIG_EV_STOP_COPY), 0);
	assert_false(lu_mig_admit(lu));				/* held off: BUSY */
	lu_mig_release(lu);
	lu_mig_release(lu);
	assert_true(lu_mig_drained(lu));

	/* Through scsi_task_setup: TEST UNIT READY is BUSY in STOP_COPY and is not counted;
	 * after the abort it runs again and is counted until released. */
	memset(&t, 0, sizeof(t));
	lu_get(lu);
	t.lu = lu;
	memcpy(t.cdb, tur, sizeof(tur));
	t.cdb_len = 6;
	assert_int_equal(scsi_task_setup(&t), -1);
	assert_int_equal(t.status, SCSI_STATUS_BUSY);
	scsi_task_release(&t);
	assert_int_equal(pcount_sum(&lu->mig.inflight), 0);
	assert_int_equal(lu_mig_event(lu, MIG_EV_ABORT), 0);
	assert_int_equal(lu_mig_state(lu), MIG_RUNNING);
	memset(&t, 0, sizeof(t));
	lu_get(lu);
	t.lu = lu;
	memcpy(t.cdb, tur, sizeof(tur));
	t.cdb_len = 6;
	assert_int_equal(scsi_task_setup(&t), 0);
	assert_true(t.mig_counted);
	assert_int_equal(pcount_sum(&lu->mig.inflight), 1);
	scsi_task_release(&t);
	assert_int_equal(pcount_sum(&lu->mig.inflight), 0);
	lu_put(lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_abort_before_switch_serves),
		cmocka_unit_test(test_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
