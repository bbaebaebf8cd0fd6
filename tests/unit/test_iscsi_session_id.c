/* Session identity is per target portal group (RFC 7143 4.4.1): the reinstatement lookup and
 * the TSIH lookup match only sessions of the connection's portal group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/daemon.h"
#include "fabric/iscsi/iscsi.h"
#include "fabric/iscsi/iscsi_internal.h"

#define INIT "iqn.2026-01.test:host"
#define TGT "iqn.2026-01.test:disk"

static struct iscsi_session *fake_session(struct daemon *d, uint16_t tsih, uint16_t tpgt)
{
	struct iscsi_session *s = calloc(1, sizeof(*s));

	atomic_init(&s->refcnt, 1);
	s->d = d;
	s->type = ISCSI_SESSION_NORMAL;
	list_init(&s->tasks);
	list_init(&s->held);
	list_init(&s->gnode);
	memcpy(s->isid, "\x80\x12\x34\x56\x78\x9a", 6);
	memcpy(s->nexus.isid, s->isid, 6);
	strcpy(s->nexus.initiator, INIT);
	strcpy(s->nexus.target, TGT);
	s->nexus.tpgt = tpgt;
	s->tsih = tsih;
	iscsi_session_register(s);
	return s;
}

static void test_identity_per_portal_group(void **state)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct iscsi_session *s1, *found;
	const uint8_t isid[6] = { 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a };

	pthread_mutex_init(&d->lock, NULL);
	list_init(&d->portals);
	assert_int_equal(iscsi_fabric_init(d), 0);
	s1 = fake_session(d, 7, 1);

	/* The same initiator port logging in through portal group 2 is a new I_T nexus: it must
	 * not reinstate (close) the session of group 1. */
	assert_null(iscsi_session_find(d, INIT, isid, TGT, 2));
	found = iscsi_session_find(d, INIT, isid, TGT, 1);
	assert_ptr_equal(found, s1);
	iscsi_session_put(found);
	/* Different ISID or target: another session either way. */
	assert_null(iscsi_session_find(d, INIT, (const uint8_t *)"\x80\0\0\0\0\1", TGT, 1));
	assert_null(iscsi_session_find(d, INIT, isid, "iqn.2026-01.test:other", 1));

	/* A TSIH names a session only inside its portal group. */
	assert_null(iscsi_session_find_tsih(d, 7, 2));
	found = iscsi_session_find_tsih(d, 7, 1);
	assert_ptr_equal(found, s1);
	iscsi_session_put(found);

	iscsi_session_end(s1);
	iscsi_fabric_fini(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_per_portal_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
