/* The iSCSI fabric's registration with the daemon: struct fabric_ops for the control plane and
 * the fabric-wide session/connection registry. */
#include "fabric/iscsi/iscsi.h"
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "rt/worker.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

struct iscsi_fabric *iscsi_fabric_get(struct daemon *d)
{
	return d->fabric_priv;
}

/* Calls fn on every session logged in to t, under the fabric lock; returns how many. fn must not
 * block: it hands work to the session's own worker. */
static int iscsi_foreach_target_session(struct daemon *d, struct target *t,
					void (*fn)(struct iscsi_session *s))
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct list_node *n;
	int count = 0;

	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);

		if (s->target != t)
			continue;
		if (fn)
			fn(s);
		count++;
	}
	pthread_mutex_unlock(&f->lock);
	return count;
}

static void iscsi_session_refresh_view(struct iscsi_session *s)
{
	iscsi_session_get(s);
	iscsi_session_refresh_view_async(s);	/* on the session's own worker */
}

static void iscsi_session_kill(struct iscsi_session *s)
{
	iscsi_session_get(s);
	iscsi_session_kill_async(s);
}

void iscsi_target_close_other_sessions(struct daemon *d, struct target *t,
					struct iscsi_session *except)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct list_node *n;

	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);

		if (s->target == t && s != except)
			iscsi_session_kill(s);
	}
	pthread_mutex_unlock(&f->lock);
}

static void iscsi_ops_luns_changed(struct daemon *d, struct target *t)
{
	iscsi_foreach_target_session(d, t, iscsi_session_refresh_view);
}

static int iscsi_ops_close_sessions(struct daemon *d, struct target *t)
{
	return iscsi_foreach_target_session(d, t, iscsi_session_kill);
}

static int iscsi_ops_session_count(struct daemon *d, struct target *t)
{
	return iscsi_foreach_target_session(d, t, NULL);
}

/* RFC 7143 leaves it to the target when an initiator loses its authorization; we end its
 * sessions at once (connection closed, tasks aborted, as at ERL 0 connection loss), so a removed
 * initiator cannot go on with I/O through a session it opened before. The same for a session
 * that came in through a portal the target is no longer bound to: a login there would now be
 * refused. The ACL is read from a copy taken under daemon.lock, so daemon.lock is never taken
 * inside the fabric lock. */
static int iscsi_ops_target_access_changed(struct daemon *d, struct target *t)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct target_auth a;
	struct list_node *n;
	int closed = 0;

	pthread_mutex_lock(&d->lock);
	if (target_auth_copy(&a, &t->auth) < 0) {
		pthread_mutex_unlock(&d->lock);
		log_err("iscsi: out of memory checking sessions against the ACL of %s", t->iqn);
		return -ENOMEM;
	}
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);
		const struct chap_cred *cred;
		char name[64];

		bool denied, unbound;

		if (s->target != t)
			continue;
		denied = target_auth_check(&a, s->nexus.initiator, &cred) == ACL_DENY;
		unbound = s->local_portal[0] && !target_auth_portal_ok(&a, s->local_portal);
		if (!denied && !unbound)
			continue;
		log_sanitize(name, sizeof(name), s->nexus.initiator, sizeof(s->nexus.initiator));
		if (denied)
			log_info("iscsi: closing session tsih %u: '%s' is no longer in the ACL of %s",
				 s->tsih, name, t->iqn);
		else
			log_info("iscsi: closing session tsih %u of '%s': %s is no longer bound to "
				 "portal %s", s->tsih, name, t->iqn, s->local_portal);
		iscsi_session_kill(s);
		closed++;
	}
	pthread_mutex_unlock(&f->lock);
	target_auth_free(&a);
	return closed;
}

static void iscsi_conn_kill_cb(void *arg)
{
	struct iscsi_conn *c = arg;

	if (!c->closing)
		iscsi_conn_close(c, "shutdown");
	iscsi_conn_put(c);
}

/* How long shutdown waits for connections to finish closing before stopping the workers. */
#define ISCSI_SHUTDOWN_WAIT_MS 3000u

static void iscsi_ops_shutdown(struct daemon *d)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct list_node *n;

	iscsi_portal_close_all(d);
	pthread_mutex_lock(&f->lock);
	f->shutting_down = true;
	list_for_each(n, &f->conns)
	{
		struct iscsi_conn *c = list_entry(n, struct iscsi_conn, gnode);

		iscsi_conn_get(c);
		if (ev_call(c->w->loop, iscsi_conn_kill_cb, c) < 0)
			iscsi_conn_put(c);
	}
	pthread_mutex_unlock(&f->lock);
	/* Wait, bounded, while the workers still run, until every connection is freed: a close
	 * finishes in calls the worker queues to itself (tasks aborted, deferred free), and once
	 * its loop stops nothing would run them. What remains after the bound (a backstore I/O
	 * that never completes) is abandoned with its loop, as before. */
	for (unsigned ms = 0; ms < ISCSI_SHUTDOWN_WAIT_MS; ms += 2) {
		bool empty;

		pthread_mutex_lock(&f->lock);
		empty = list_empty(&f->conns);
		pthread_mutex_unlock(&f->lock);
		if (empty)
			return;
		usleep(2000);
	}
	log_warn("iscsi: connections still closing after %u ms at shutdown",
		 ISCSI_SHUTDOWN_WAIT_MS);
}

static const struct fabric_ops iscsi_fabric_ops = {
	.portal_add = iscsi_portal_add,
	.portal_del = iscsi_portal_del,
	.portal_foreach = iscsi_portal_foreach,
	.target_luns_changed = iscsi_ops_luns_changed,
	.target_close_sessions = iscsi_ops_close_sessions,
	.target_session_count = iscsi_ops_session_count,
	.shutdown = iscsi_ops_shutdown,
	.lu_abort_tasks = iscsi_ops_lu_abort_tasks,
	.target_access_changed = iscsi_ops_target_access_changed,
	.target_request_logout = iscsi_ops_request_logout,
	.session_list = iscsi_ops_session_list,
	.session_end = iscsi_ops_session_end,
};

int iscsi_fabric_init(struct daemon *d)
{
	struct iscsi_fabric *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->d = d;
	pthread_mutex_init(&f->lock, NULL);
	list_init(&f->sessions);
	list_init(&f->conns);
	/* A daemon context built without daemon_init() (unit tests, fuzzers) would otherwise have
	 * every limit at 0: no session, no command window. */
	if (!d->limits.max_cmds)
		invar_limits_defaults(&d->limits);
	d->fabric_priv = f;
	d->fabric = &iscsi_fabric_ops;
	return 0;
}

void iscsi_fabric_fini(struct daemon *d)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);

	if (!f)
		return;
	iscsi_portal_close_all(d);
	/* Workers have stopped: connections left on the list are abandoned with their loops. */
	d->fabric = NULL;
	d->fabric_priv = NULL;
	pthread_mutex_destroy(&f->lock);
	free(f);
}
