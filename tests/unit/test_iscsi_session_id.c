/* Session identity is per target portal group (RFC 7143 4.4.1): the reinstatement lookup and
 * the TSIH lookup match only sessions of the connection's portal group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fabric/iscsi/iscsi.h"
#include "fabric/iscsi/iscsi_internal.h"
#include "target/daemon.h"

#define INIT "iqn.2026-01.test:host"
#define TGT "iqn.2026-01.test:disk"

static struct iscsi_session *fake_session(struct daemon *d, uint16_t tsih, uint16_t tpgt)
{
	struct iscsi_session *s = calloc(1, sizeof(*s));
	const char *why = NULL;

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
	if (iscsi_session_register(s, &why) < 0) {
		free(s);
		return NULL;
	}
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
	invar_limits_defaults(&d->limits);
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

/* max_sessions and max_sessions_per_target: checked and counted under the registry lock. */
static void test_session_limits(void **state)
{
	struct daemon *d = calloc(1, sizeof(*d));
	static char t1, t2;	/* only compared as pointers, never dereferenced */
	struct iscsi_session *a, *b, *c, *e;

	pthread_mutex_init(&d->lock, NULL);
	list_init(&d->portals);
	invar_limits_defaults(&d->limits);
	d->limits.max_sessions = 3;
	d->limits.max_sessions_per_target = 2;
	assert_int_equal(iscsi_fabric_init(d), 0);
	a = fake_session(d, 1, 1);
	b = fake_session(d, 2, 1);
	assert_non_null(a);
	assert_non_null(b);
	a->target = (struct target *)&t1;
	b->target = (struct target *)&t1;
	c = calloc(1, sizeof(*c));
	atomic_init(&c->refcnt, 1);
	list_init(&c->tasks);
	list_init(&c->held);
	c->d = d;
	c->target = (struct target *)&t1;
	list_init(&c->gnode);
	{
		const char *why = NULL;

		/* A third session on t1: over max_sessions_per_target. */
		assert_int_equal(iscsi_session_register(c, &why), -EUSERS);
		assert_string_equal(why, "max_sessions_per_target reached");
		/* On t2 it fits; then a fourth session of any kind is over max_sessions. */
		c->target = (struct target *)&t2;
		assert_int_equal(iscsi_session_register(c, &why), 0);
		e = fake_session(d, 4, 1);
		assert_null(e);
	}
	a->target = b->target = c->target = NULL;
	iscsi_session_end(a);
	iscsi_session_end(b);
	iscsi_session_end(c);
	iscsi_fabric_fini(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_per_portal_group),
		cmocka_unit_test(test_session_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
