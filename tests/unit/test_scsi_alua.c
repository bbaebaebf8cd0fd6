/* ALUA (SPC-4 5.15): the REPORT TARGET PORT GROUPS encoder byte by byte, the portal group
 * registry, and the command path of a invar-2026.3 LU through two port groups: TPGS, RTPG, the
 * per-state command rules and the ASYMMETRIC ACCESS STATE CHANGED unit attention. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/alua.h"
#include "scsi/alua_groups.h"
#include "scsi/cdb.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/byteorder.h"

/* ---- the encoder ---- */

static const struct alua_rtpg_group two[] = {
	{ .id = 1, .state = ALUA_ACTIVE_OPTIMIZED, .status = ALUA_STATUS_NONE, .rel_port = 1 },
	{ .id = 2, .state = ALUA_STANDBY, .status = ALUA_STATUS_IMPLICIT, .rel_port = 2 },
};

static void test_encode_length_only(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x18,				/* RETURN DATA LENGTH 24 */
		0x00, 0x8f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,	/* group 1: AO, T/U/S/AN/AO */
		0x00, 0x00, 0x00, 0x01,				/* relative port 1 */
		0x02, 0x8f, 0x00, 0x02, 0x00, 0x02, 0x00, 0x01,	/* group 2: standby, implicit */
		0x00, 0x00, 0x00, 0x02,				/* relative port 2 */
	};
	uint8_t b[64];

	assert_int_equal(alua_rtpg_encode(b, sizeof(b), false, 30, two, 2), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
}

static void test_encode_extended(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x1c,				/* RETURN DATA LENGTH 28 */
		0x10, 0x1e, 0x00, 0x00,				/* FORMAT TYPE 001b, 30 s */
		0x00, 0x8f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x01,
		0x02, 0x8f, 0x00, 0x02, 0x00, 0x02, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x02,
	};
	uint8_t b[64];

	assert_int_equal(alua_rtpg_encode(b, sizeof(b), true, 30, two, 2), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
}

static void test_encode_bounded(void **state)
{
	uint8_t b[16];

	memset(b, 0xee, sizeof(b));
	/* The full length is reported; nothing is written past cap. */
	assert_int_equal(alua_rtpg_encode(b, 10, true, 0, two, 2), 32);
	assert_int_equal(get_be32(b), 28);
	assert_int_equal(b[4], 0x10);
	assert_int_equal(b[9], 0x8f);
	assert_int_equal(b[10], 0xee);
	assert_int_equal(alua_rtpg_encode(b, sizeof(b), false, 0, NULL, 0), 4);
	assert_int_equal(get_be32(b), 0);
}

/* ---- the registry and names ---- */

static void test_groups_registry(void **state)
{
	struct alua_groups g;
	enum alua_state s;

	memset(&g, 0, sizeof(g));
	assert_int_equal(alua_group_ref(&g, 0), -EINVAL);
	assert_int_equal(alua_group_ref(&g, 1), 0);
	assert_int_equal(alua_group_ref(&g, 7), 1);
	assert_int_equal(alua_group_ref(&g, 1), 0);	/* a second portal in group 1 */
	assert_int_equal(atomic_load(&g.slot[0].portals), 2);
	alua_group_unref(&g, 1);
	alua_group_unref(&g, 1);
	alua_group_unref(&g, 1);			/* never below zero */
	assert_int_equal(atomic_load(&g.slot[0].portals), 0);
	assert_int_equal(alua_group_slot(&g, 1), 0);	/* the slot keeps its tag */
	assert_int_equal(alua_group_slot(&g, 9), -ENOENT);
	for (unsigned tag = 100; tag < 100 + ALUA_MAX_GROUPS - 2; tag++)
		assert_true(alua_group_ref(&g, (uint16_t)tag) >= 0);
	assert_int_equal(alua_group_ref(&g, 5000), -ENOSPC);

	assert_int_equal(alua_state_parse("standby", &s), 0);
	assert_int_equal(s, ALUA_STANDBY);
	assert_int_equal(alua_state_parse("active/non-optimized", &s), 0);
	assert_int_equal(s, ALUA_ACTIVE_NON_OPTIMIZED);
	assert_int_equal(alua_state_parse("offline", &s), -EINVAL);
	assert_string_equal(alua_state_name(ALUA_TRANSITIONING), "transitioning");
}

/* ---- the command path ---- */

#define IQN "iqn.2026-01.test:alua"

static struct daemon *d;
static struct target *tgt;
static struct lu *lu, *old_lu;
static struct it_nexus nx1 = { .id = 11, .initiator = "iqn.2026-01.test:i", .target = IQN,
			       .tpgt = 1, .rel_port_id = 1 };
static struct it_nexus nx2 = { .id = 12, .initiator = "iqn.2026-01.test:i", .target = IQN,
			       .tpgt = 2, .rel_port_id = 2 };
static struct scsi_task task;
static int done_calls;

static void task_done(struct scsi_task *t)
{
	done_calls++;
}

static int run_on(struct lu *l, const struct it_nexus *nx, const uint8_t *cdb, unsigned len)
{
	scsi_task_release(&task);
	memset(&task, 0, sizeof(task));
	lu_get(l);
	task.lu = l;
	task.nexus = nx;
	memcpy(task.cdb, cdb, len);
	task.cdb_len = 16;
	task.exp_xfer_len = 4096;
	task.done = task_done;
	done_calls = 0;
	if (scsi_task_setup(&task) < 0)
		return task.status;
	scsi_task_execute(&task);
	assert_int_equal(done_calls, 1);
	return task.status;
}

#define RUN(nx, ...) run_on(lu, nx, (const uint8_t[]){ __VA_ARGS__ }, \
			    sizeof((const uint8_t[]){ __VA_ARGS__ }))
#define TUR(nx) RUN(nx, OP_TEST_UNIT_READY, 0, 0, 0, 0, 0)
#define RTPG(nx, fmt) RUN(nx, OP_MAINTENANCE_IN, (uint8_t)((fmt) << 5 | 0x0a), 0, 0, 0, 0, 0, 0, \
			  0x10, 0, 0, 0)

static void assert_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(task.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(task.sense[0] & 0x7f, 0x70);
	assert_int_equal(task.sense[2] & 0xf, key);
	assert_int_equal(task.sense[12], asc);
	assert_int_equal(task.sense[13], ascq);
}

static int setup(void **state)
{
	struct lu_config cfg = { .backstore = "ram", .size = 1 << 20, .profile = "invar-2026.3" };
	struct lu_config old = { .backstore = "ram", .size = 1 << 20, .profile = "invar-2026.2" };
	char err[256] = "";

	d = calloc(1, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	list_init(&d->targets);
	list_init(&d->portals);
	assert_int_equal(target_create(d, IQN, &tgt), 0);
	assert_int_equal(lu_create(&cfg, IQN "/0", &lu, err, sizeof(err)), 0);
	assert_int_equal(target_lun_add(d, tgt, 0, lu), 0);
	assert_int_equal(lu_create(&old, IQN "/1", &old_lu, err, sizeof(err)), 0);
	/* Two portals: group 1 and group 2, as the iSCSI portals register them. */
	assert_int_equal(alua_group_ref(&d->alua_groups, 1), 0);
	assert_int_equal(alua_group_ref(&d->alua_groups, 2), 1);
	nx1.alua = nx2.alua = &tgt->alua;
	nx1.alua_slot = 0;
	nx2.alua_slot = 1;
	/* Clear the POWER ON unit attentions. */
	assert_int_equal(TUR(&nx1), SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(TUR(&nx2), SCSI_STATUS_CHECK_CONDITION);
	return 0;
}

static int teardown(void **state)
{
	scsi_task_release(&task);
	lu_put(old_lu);
	target_delete(d, IQN);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return 0;
}

static void test_tpgs(void **state)
{
	uint8_t inq[6] = { OP_INQUIRY, 0, 0, 0, 96, 0 };

	assert_int_equal(run_on(lu, &nx1, inq, 6), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[5] & 0x30, 0x10);		/* TPGS 01b: implicit ALUA */
	/* invar-2026.2 keeps answering TPGS 00b and has no REPORT TARGET PORT GROUPS. */
	run_on(old_lu, &nx1, (const uint8_t[]){ OP_TEST_UNIT_READY, 0, 0, 0, 0, 0 }, 6);
	assert_int_equal(run_on(old_lu, &nx1, inq, 6), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[5], 0);
	assert_int_equal(run_on(old_lu, &nx1,
				(const uint8_t[]){ OP_MAINTENANCE_IN, 0x0a, 0, 0, 0, 0, 0, 0, 0x10,
						   0, 0, 0 },
				12),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_rtpg(void **state)
{
	assert_int_equal(RTPG(&nx2, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 28);
	assert_int_equal(get_be32(task.buf), 24);
	assert_int_equal(get_be16(task.buf + 4 + 2), 1);	/* group 1, port 1 */
	assert_int_equal(get_be16(task.buf + 4 + 10), 1);
	assert_int_equal(get_be16(task.buf + 16 + 2), 2);	/* group 2, port 2 */
	assert_int_equal(get_be16(task.buf + 16 + 10), 2);
	assert_int_equal(task.buf[4] & 0x0f, ALUA_ACTIVE_OPTIMIZED);
	assert_int_equal(RTPG(&nx1, 1), SCSI_STATUS_GOOD);
	assert_int_equal(task.data_in_len, 32);
	assert_int_equal(task.buf[4], 0x10);
	assert_int_equal(task.buf[5], 30);			/* IMPLICIT TRANSITION TIME */
	assert_int_equal(RTPG(&nx1, 2), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void test_standby(void **state)
{
	assert_int_equal(alua_set_state(d, tgt, 9, ALUA_STANDBY), -ENOENT);
	assert_int_equal(alua_set_state(d, tgt, 2, ALUA_STANDBY), 0);
	/* Every nexus learns of the change once (SPC-4 5.15.2.5). */
	assert_int_equal(TUR(&nx1), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_UNIT_ATTENTION, 0x2a, 0x06);
	assert_int_equal(TUR(&nx1), SCSI_STATUS_GOOD);
	assert_int_equal(TUR(&nx2), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_UNIT_ATTENTION, 0x2a, 0x06);
	/* Through the standby group: media access is refused, identification still works. */
	assert_int_equal(TUR(&nx2), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x0b);
	assert_int_equal(RUN(&nx2, OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x0b);
	assert_int_equal(RUN(&nx2, OP_INQUIRY, 0, 0, 0, 96, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(&nx2, OP_MODE_SENSE_6, 0, 0x3f, 0, 255, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RUN(&nx2, OP_REQUEST_SENSE, 0, 0, 0, 18, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[2] & 0xf, SK_NOT_READY);
	assert_int_equal(task.buf[12], 0x04);
	assert_int_equal(task.buf[13], 0x0b);
	assert_int_equal(RTPG(&nx2, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[16] & 0x0f, ALUA_STANDBY);
	assert_int_equal(task.buf[16 + 5], ALUA_STATUS_IMPLICIT);
	/* Group 1 is untouched. */
	assert_int_equal(RUN(&nx1, OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0), SCSI_STATUS_GOOD);
	/* The same state again changes nothing and reports nothing. */
	assert_int_equal(alua_set_state(d, tgt, 2, ALUA_STANDBY), 0);
	assert_int_equal(TUR(&nx1), SCSI_STATUS_GOOD);
}

static void test_unavailable_transitioning(void **state)
{
	assert_int_equal(alua_set_state(d, tgt, 2, ALUA_UNAVAILABLE), 0);
	TUR(&nx1);
	TUR(&nx2);	/* the unit attention */
	assert_int_equal(RUN(&nx2, OP_MODE_SENSE_6, 0, 0x3f, 0, 255, 0),
			 SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x0c);
	assert_int_equal(RUN(&nx2, OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0),
			 SCSI_STATUS_GOOD);
	assert_int_equal(alua_set_state(d, tgt, 2, ALUA_TRANSITIONING), 0);
	TUR(&nx2);
	assert_int_equal(TUR(&nx2), SCSI_STATUS_CHECK_CONDITION);
	assert_sense(SK_NOT_READY, 0x04, 0x0a);
	assert_int_equal(alua_set_state(d, tgt, 2, ALUA_ACTIVE_NON_OPTIMIZED), 0);
	TUR(&nx2);
	assert_int_equal(RUN(&nx2, OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0), SCSI_STATUS_GOOD);
	assert_int_equal(RTPG(&nx2, 0), SCSI_STATUS_GOOD);
	assert_int_equal(task.buf[16] & 0x0f, ALUA_ACTIVE_NON_OPTIMIZED);
	assert_int_equal(alua_set_state(d, tgt, 2, ALUA_ACTIVE_OPTIMIZED), 0);
	TUR(&nx1);
	TUR(&nx2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_length_only),
		cmocka_unit_test(test_encode_extended),
		cmocka_unit_test(test_encode_bounded),
		cmocka_unit_test(test_groups_registry),
		cmocka_unit_test_setup_teardown(test_tpgs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtpg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standby, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unavailable_transitioning, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
