/* Target-initiated Async Messages (RFC 7143 11.9). Used for the live-migration handover: a
 * session of a target whose LUs moved away is asked to log out (AsyncEvent 1, Parameter3 =
 * the seconds it has), and dropped if it has not within that time plus a second. Either way
 * the initiator logs in again and the login is redirected (login.c).
 *
 * libiscsi (1.19) answers AsyncEvent 1 with an immediate Logout, then reconnects to the
 * portal it was first given and follows the redirect, replaying the commands it had in flight;
 * the Linux initiator logs out and its recovery logs in again. The drop is the bound for
 * initiators that ignore the event. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

#define ISCSI_ASYNC_LOGOUT_REQUESTED 1

struct logout_req {
	struct iscsi_session *s;	/* reference */
	unsigned wait_s;
	const char *why;		/* for the log */
};

static void iscsi_logout_deadline(struct ev_timer *t)
{
	struct iscsi_conn *c = container_of(t, struct iscsi_conn, logout_timer);

	if (!c->closing)
		iscsi_conn_close(c, "no logout after the target asked for one");
}

static void iscsi_request_logout_cb(void *arg)
{
	struct logout_req *r = arg;
	struct iscsi_session *s = r->s;
	struct iscsi_conn *c = s->conn;
	/* Parameter3: the time the initiator has to log out (RFC 7143 11.9.1). */
	struct iscsi_pdu_hdr msg = {
		.opcode = ISCSI_OP_ASYNC,
		.itt = ISCSI_RSVD_TAG,
		.async = { .event = ISCSI_ASYNC_LOGOUT_REQUESTED, .param3 = (uint16_t)r->wait_s },
	};

	if (!c || c->closing || c->phase != ISCSI_PHASE_FULL_FEATURE)
		goto out;
	iscsi_conn_fill_sn(c, &msg, true);
	c->logout_timer.cb = iscsi_logout_deadline;
	if (iscsi_conn_queue(c, &msg, NULL, 0, NULL, NULL) < 0) {
		iscsi_conn_close(c, "cannot queue the logout request");
		goto out;
	}
	log_info("iscsi %s: asked session tsih %u to log out within %u s (%s)", c->peer, s->tsih,
		 r->wait_s, r->why);
	iscsi_conn_flush(c);
	if (!c->closing)
		ev_timer_arm(c->w->loop, &c->logout_timer, (uint64_t)r->wait_s * 1000 + 1000);
out:
	iscsi_session_put(s);
	free(r);
}

int iscsi_session_request_logout(struct iscsi_session *s, unsigned wait_s, const char *why)
{
	struct logout_req *r = malloc(sizeof(*r));

	if (!r) {
		iscsi_session_put(s);
		return -ENOMEM;
	}
	r->s = s;
	r->wait_s = wait_s > 3600 ? 3600 : wait_s;
	r->why = why;
	if (ev_call(s->w->loop, iscsi_request_logout_cb, r) < 0) {
		iscsi_session_put(s);
		free(r);
		return -ENOMEM;
	}
	return 0;
}

void iscsi_ops_request_logout(struct daemon *d, struct target *t, unsigned wait_s)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct list_node *n;

	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);

		if (s->target != t || s->type != ISCSI_SESSION_NORMAL)
			continue;
		iscsi_session_get(s);
		/* On failure that session keeps answering BUSY until it goes. */
		iscsi_session_request_logout(s, wait_s, "its LUs moved");
	}
	pthread_mutex_unlock(&f->lock);
}
