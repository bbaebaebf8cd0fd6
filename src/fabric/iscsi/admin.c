/* What the control plane asks of the iSCSI fabric about sessions (fabric_ops.session_list,
 * session_end): who is logged in, with what, and ending one. Runs on the main thread; reads
 * the session registry under the fabric lock. Every field it copies is fixed at login but the
 * in-flight count, which the session's worker keeps with relaxed atomics. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/worker.h"
#include "target/daemon.h"
#include "target/target.h"

static void session_info(const struct iscsi_session *s, struct fabric_session_info *i)
{
	const struct iscsi_params *p = &s->p;

	memset(i, 0, sizeof(*i));
	strcpy(i->fabric, "iscsi");
	i->id = s->tsih;
	i->discovery = s->type != ISCSI_SESSION_NORMAL;
	snprintf(i->initiator, sizeof(i->initiator), "%s", p->initiator_name);
	memcpy(i->isid, s->isid, sizeof(i->isid));
	if (!i->discovery)
		snprintf(i->target, sizeof(i->target), "%s", s->nexus.target);
	snprintf(i->portal, sizeof(i->portal), "%s", s->local_portal);
	i->tpgt = s->nexus.tpgt;
	snprintf(i->peer, sizeof(i->peer), "%s", s->peer);
	snprintf(i->chap_user, sizeof(i->chap_user), "%s", s->chap_user);
	i->mutual_chap = s->mutual_chap;
	i->header_digest = p->header_digest;
	i->data_digest = p->data_digest;
	i->initial_r2t = p->initial_r2t;
	i->immediate_data = p->immediate_data;
	i->max_recv_dsl = p->max_recv_dsl;
	i->max_xmit_dsl = p->max_xmit_dsl;
	i->max_burst = p->max_burst;
	i->first_burst = p->first_burst;
	i->max_outstanding_r2t = p->max_outstanding_r2t;
	i->max_cmds = s->max_cmds;
	i->in_flight = __atomic_load_n(&s->active, __ATOMIC_RELAXED);
	i->worker = s->w ? s->w->id : 0;
	i->login_time = s->login_time;
	scsi_stats_add(&i->stats, &s->stats);	/* relaxed loads: the worker keeps counting */
}

int iscsi_ops_session_list(struct daemon *d, struct fabric_session_info **out, unsigned *n)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct fabric_session_info *v = NULL;
	struct list_node *pos;
	unsigned cnt = 0, i = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&f->lock);
	list_for_each(pos, &f->sessions)
		cnt++;
	if (cnt) {
		v = calloc(cnt, sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&f->lock);
			return -ENOMEM;
		}
	}
	list_for_each(pos, &f->sessions)
	{
		struct iscsi_session *s = list_entry(pos, struct iscsi_session, gnode);

		if (!s->killed)
			session_info(s, &v[i++]);
	}
	pthread_mutex_unlock(&f->lock);
	*out = v;
	*n = i;
	return 0;
}

int iscsi_ops_session_end(struct daemon *d, uint16_t id, bool logout, unsigned wait_s)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct iscsi_session *found = NULL;
	struct list_node *pos;
	unsigned matches = 0;

	pthread_mutex_lock(&f->lock);
	list_for_each(pos, &f->sessions)
	{
		struct iscsi_session *s = list_entry(pos, struct iscsi_session, gnode);

		if (s->tsih == id && !s->killed) {
			found = s;
			matches++;
		}
	}
	if (matches == 1)
		iscsi_session_get(found);
	pthread_mutex_unlock(&f->lock);
	if (!matches)
		return -ENOENT;
	/* TSIHs wrap after 65,535 logins: never guess between two live sessions. */
	if (matches > 1)
		return -EEXIST;
	if (logout && found->type == ISCSI_SESSION_NORMAL)
		return iscsi_session_request_logout(found, wait_s, "the operator asked");
	found->kill_why = "dropped by the operator (session drop)";
	iscsi_session_kill_async(found);	/* takes over the reference */
	return 0;
}
