/* One task set per LU across sessions (SAM-5 8.6, TST=000b): LOGICAL UNIT RESET and CLEAR TASK
 * SET abort every initiator's tasks on the LU, and PREEMPT AND ABORT the preempted nexuses'.
 * Sessions live on different workers, so each gets an ev_call() that aborts its own tasks on
 * its own thread; a shared counter (sessions still to visit + aborted tasks whose I/O is still
 * in flight) says when all of them are gone, and the TMF response waits for that. */
#include "fabric/iscsi/iscsi_internal.h"

#include <stdlib.h>

#include "rt/worker.h"
#include "scsi/lu.h"
#include "target/daemon.h"
#include "util/log.h"

struct iscsi_xabort {
	atomic_uint pending;		/* ours + one per session call + one per in-flight task */
	struct lu *lu;			/* reference */
	bool cleared_ua;		/* CLEAR TASK SET: 2F/00 to sessions that lost tasks */
	struct iscsi_conn *origin;	/* reference; its worker runs the TMF completion */
	struct iscsi_tmf_wait *w;	/* NULL: nobody waits (PREEMPT AND ABORT) */
};

struct iscsi_xabort_call {
	struct iscsi_xabort *x;
	struct iscsi_session *s;	/* reference */
};

static void iscsi_xabort_free(struct iscsi_xabort *x)
{
	lu_put(x->lu);
	if (x->origin)
		iscsi_conn_put(x->origin);
	free(x);
}

/* On the TMF's worker: every aborted task is gone, the response may go. */
static void iscsi_xabort_finish_cb(void *arg)
{
	struct iscsi_xabort *x = arg;

	iscsi_tmf_wait_release(x->w);
	iscsi_xabort_free(x);
}

void iscsi_xabort_put(struct iscsi_xabort *x)
{
	if (atomic_fetch_sub(&x->pending, 1) != 1)
		return;
	if (!x->w) {
		iscsi_xabort_free(x);
		return;
	}
	if (ev_call(x->origin->w->loop, iscsi_xabort_finish_cb, x) < 0) {
		/* Only at shutdown: the connection is going away with its response. */
		log_err("iscsi: cannot deliver a task-set abort completion");
		iscsi_xabort_free(x);
	}
}

/* On the session's worker. */
static void iscsi_xabort_session_cb(void *arg)
{
	struct iscsi_xabort_call *call = arg;
	struct iscsi_xabort *x = call->x;
	struct iscsi_session *s = call->s;
	struct list_node *n, *tmp;
	unsigned aborted = 0;

	free(call);
	if (s->conn && !s->conn->closing) {
		/* Dropping the last task may end the session: hold it while walking. */
		iscsi_session_get(s);
		list_for_each_safe(n, tmp, &s->tasks)
		{
			struct iscsi_task *t = list_entry(n, struct iscsi_task, node);

			if (t->st.lu != x->lu || t->state == ISCSI_TASK_DONE || t->aborted)
				continue;
			iscsi_task_get(t);
			if (t->in_scsi && !t->xabort) {
				t->xabort = x;
				atomic_fetch_add(&x->pending, 1);
			}
			iscsi_task_abort(t);
			iscsi_task_put(t);
			aborted++;
		}
		if (aborted) {
			log_info("iscsi: aborted %u task(s) of session tsih %u for another nexus",
				 aborted, s->tsih);
			if (x->cleared_ua)
				lu_ua_establish(x->lu, s->nexus.id, UA_CMDS_CLEARED);
		}
		iscsi_session_put(s);
	}
	iscsi_session_put(s);
	iscsi_xabort_put(x);
}

/* Abort the tasks on lu of every normal session other than `except` for which pick() is true
 * (under the fabric lock: it may read only what is fixed at login). w, when not NULL, is held
 * until they are all gone. */
static void iscsi_xabort_start(struct daemon *d, struct lu *lu, struct iscsi_conn *origin,
			       struct iscsi_tmf_wait *w, bool cleared_ua,
			       const struct iscsi_session *except,
			       bool (*pick)(const struct iscsi_session *s, void *arg), void *arg)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct iscsi_xabort *x = calloc(1, sizeof(*x));
	struct list_node *n;

	if (!x) {
		log_err("iscsi: out of memory aborting other sessions' tasks");
		return;
	}
	atomic_init(&x->pending, 1);
	lu_get(lu);
	x->lu = lu;
	x->cleared_ua = cleared_ua;
	if (w) {
		iscsi_conn_get(origin);
		x->origin = origin;
		x->w = w;
		w->waiting++;
	}
	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);
		struct iscsi_xabort_call *call;

		if (s == except || s->type != ISCSI_SESSION_NORMAL || (pick && !pick(s, arg)))
			continue;
		call = malloc(sizeof(*call));
		if (!call) {
			log_err("iscsi: out of memory aborting session tsih %u's tasks", s->tsih);
			continue;
		}
		iscsi_session_get(s);
		atomic_fetch_add(&x->pending, 1);
		call->x = x;
		call->s = s;
		if (ev_call(s->w->loop, iscsi_xabort_session_cb, call) < 0) {
			atomic_fetch_sub(&x->pending, 1);
			iscsi_session_put(s);
			free(call);
		}
	}
	pthread_mutex_unlock(&f->lock);
	iscsi_xabort_put(x);
}

void iscsi_taskset_abort_others(struct iscsi_conn *c, struct lu *lu, struct iscsi_tmf_wait *w,
				bool cleared_ua)
{
	iscsi_xabort_start(c->d, lu, c, w, cleared_ua, c->sess, NULL, NULL);
}

struct ids_arg {
	const uint64_t *ids;
	unsigned n;
};

static bool pick_by_id(const struct iscsi_session *s, void *arg)
{
	const struct ids_arg *a = arg;

	for (unsigned i = 0; i < a->n; i++)
		if (a->ids[i] == s->nexus.id)
			return true;
	return false;
}

void iscsi_ops_lu_abort_tasks(struct daemon *d, struct lu *lu, const uint64_t *ids, unsigned n)
{
	struct ids_arg a = { ids, n };

	if (n)
		iscsi_xabort_start(d, lu, NULL, NULL, false, NULL, pick_by_id, &a);
}
