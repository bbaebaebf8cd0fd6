/* PREEMPT AND ABORT (SPC-4 5.12.11.5) through the command path: the preempting command reaches
 * the layers above through the nexus's scsi_port_ops with exactly the preempted nexuses, and a
 * nexus without hooks (nothing above) still completes the command. Also the reset and nexus
 * loss hooks of the LU feature table: RESERVE(6) goes with its nexus and with a reset, a
 * persistent reservation survives both. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/cdb.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/pr_lu.h"
#include "scsi/scsi.h"
#include "util/byteorder.h"

#define PR_SA_REGISTER 0x00
#define PR_SA_RESERVE 0x01
#define PR_SA_PREEMPT_AND_ABORT 0x05
#define PR_TYPE_WRITE_EXCLUSIVE 0x1

static struct {
	unsigned calls;
	void *ctx;
	struct lu *lu;
	uint64_t ids[8];
	unsigned n;
} hook;

static void hook_abort(void *ctx, struct lu *lu, const uint64_t *ids, unsigned n)
{
	hook.calls++;
	hook.ctx = ctx;
	hook.lu = lu;
	hook.n = n;
	memcpy(hook.ids, ids, (n < 8 ? n : 8) * sizeof(ids[0]));
}

static const struct scsi_port_ops test_port_ops = { .lu_abort_tasks = hook_abort };
static int ctx_token;

static struct it_nexus nx_a = { .id = 21, .initiator = "iqn.2026-01.test:a", .isid = { 1 },
				.target = "iqn.2026-01.test:t", .tpgt = 1, .rel_port_id = 1,
				.port_ops = &test_port_ops, .port_ctx = &ctx_token };
static struct it_nexus nx_b = { .id = 22, .initiator = "iqn.2026-01.test:b", .isid = { 2 },
				.target = "iqn.2026-01.test:t", .tpgt = 1, .rel_port_id = 1,
				.port_ops = &test_port_ops, .port_ctx = &ctx_token };
static struct it_nexus nx_c = { .id = 23, .initiator = "iqn.2026-01.test:c", .isid = { 3 },
				.target = "iqn.2026-01.test:t", .tpgt = 1, .rel_port_id = 1 };

static struct lu *lu;
static struct scsi_task task;
static int done_calls;

static void task_done(struct scsi_task *t)
{
	done_calls++;
}

/* Runs cdb from nx with data-out param (len bytes) and returns the status. */
static int run(const struct it_nexus *nx, const uint8_t *cdb, unsigned cdb_len,
	       const uint8_t *param, uint32_t len)
{
	scsi_task_release(&task);
	memset(&task, 0, sizeof(task));
	lu_get(lu);
	task.lu = lu;
	task.nexus = nx;
	memcpy(task.cdb, cdb, cdb_len);
	task.cdb_len = 16;
	task.exp_xfer_len = len;
	task.fabric_dir = len ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	task.done = task_done;
	done_calls = 0;
	if (scsi_task_setup(&task) < 0)
		return task.status;
	if (task.data_out_len) {
		assert_int_equal(task.data_out_len, len);
		assert_int_equal(scsi_task_alloc_buf(&task, len), 0);
		memcpy(task.buf, param, len);
	}
	scsi_task_execute(&task);
	assert_int_equal(done_calls, 1);
	return task.status;
}

static int prout(const struct it_nexus *nx, uint8_t sa, uint8_t type, uint64_t key,
		 uint64_t sa_key)
{
	uint8_t cdb[10] = { OP_PERSISTENT_RESERVE_OUT, sa, type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };

	put_be64(p, key);
	put_be64(p + 8, sa_key);
	return run(nx, cdb, sizeof(cdb), p, sizeof(p));
}

static int tur(const struct it_nexus *nx)
{
	static const uint8_t cdb[6] = { OP_TEST_UNIT_READY };

	return run(nx, cdb, sizeof(cdb), NULL, 0);
}

/* Takes every pending unit attention of nx (a few at most). */
static void clear_ua(const struct it_nexus *nx)
{
	for (int i = 0; i < 8 && tur(nx) != SCSI_STATUS_GOOD; i++)
		;
	assert_int_equal(task.status, SCSI_STATUS_GOOD);
}

static int setup(void **state)
{
	struct lu_config cfg = { .backstore = "ram", .size = 1 << 20, .profile = "invar-2026.3" };
	char err[256] = "";

	assert_int_equal(lu_create(&cfg, "iqn.2026-01.test:t/0", &lu, err, sizeof(err)), 0);
	assert_non_null(lu->pr);
	/* Clear the POWER ON unit attentions. */
	clear_ua(&nx_a);
	clear_ua(&nx_b);
	clear_ua(&nx_c);
	memset(&hook, 0, sizeof(hook));
	return 0;
}

static int teardown(void **state)
{
	scsi_task_release(&task);
	lu_put(lu);
	return 0;
}

static void test_preempt_and_abort_reaches_fabric(void **state)
{
	assert_int_equal(prout(&nx_a, PR_SA_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
	assert_int_equal(prout(&nx_b, PR_SA_REGISTER, 0, 0, 0xb), SCSI_STATUS_GOOD);
	assert_int_equal(prout(&nx_b, PR_SA_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, 0xb, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(hook.calls, 0);

	/* A preempts B's reservation and registration: B's tasks are aborted, once. */
	assert_int_equal(prout(&nx_a, PR_SA_PREEMPT_AND_ABORT, PR_TYPE_WRITE_EXCLUSIVE, 0xa, 0xb),
			 SCSI_STATUS_GOOD);
	assert_int_equal(hook.calls, 1);
	assert_ptr_equal(hook.ctx, &ctx_token);
	assert_ptr_equal(hook.lu, lu);
	assert_int_equal(hook.n, 1);
	assert_true(hook.ids[0] == nx_b.id);
	/* And B is told: REGISTRATIONS PREEMPTED (2A/05). */
	assert_int_equal(tur(&nx_b), SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(task.sense[12], 0x2a);
	assert_int_equal(task.sense[13], 0x05);
}

static void test_preempt_and_abort_without_hooks(void **state)
{
	/* C has no layer above (port_ops NULL): the command still completes GOOD. */
	assert_int_equal(prout(&nx_a, PR_SA_REGISTER, 0, 0, 0xa), SCSI_STATUS_GOOD);
	assert_int_equal(prout(&nx_c, PR_SA_REGISTER, 0, 0, 0xc), SCSI_STATUS_GOOD);
	assert_int_equal(prout(&nx_c, PR_SA_PREEMPT_AND_ABORT, PR_TYPE_WRITE_EXCLUSIVE, 0xc, 0xa),
			 SCSI_STATUS_GOOD);
	assert_int_equal(hook.calls, 0);
}

/* The feature table's nexus-loss and reset rows: RESERVE(6) is released by either (SPC-2
 * 5.5.1, SAM-5 6.3.4), a persistent reservation by neither (SPC-4 5.12.1). */
static void test_reset_and_nexus_loss_rows(void **state)
{
	static const uint8_t reserve6[6] = { 0x16 };

	assert_int_equal(run(&nx_a, reserve6, 6, NULL, 0), SCSI_STATUS_GOOD);
	assert_true(__atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED) == nx_a.id);
	scsi_lu_reset(lu, &nx_b);
	assert_true(__atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED) == 0);
	clear_ua(&nx_a);	/* the LUN RESET unit attention */
	assert_int_equal(run(&nx_a, reserve6, 6, NULL, 0), SCSI_STATUS_GOOD);
	scsi_nexus_loss(lu, &nx_b);
	assert_true(__atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED) == nx_a.id);
	scsi_nexus_loss(lu, &nx_a);
	assert_true(__atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED) == 0);

	clear_ua(&nx_c);
	assert_int_equal(prout(&nx_c, PR_SA_REGISTER, 0, 0, 0xc), SCSI_STATUS_GOOD);
	assert_int_equal(prout(&nx_c, PR_SA_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, 0xc, 0),
			 SCSI_STATUS_GOOD);
	scsi_target_reset(lu, &nx_b);
	scsi_nexus_loss(lu, &nx_c);
	assert_true(atomic_load(&lu->pr->reserved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_preempt_and_abort_reaches_fabric, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_preempt_and_abort_without_hooks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_nexus_loss_rows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
