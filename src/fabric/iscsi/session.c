/* iSCSI sessions: the CmdSN window and in-order delivery (RFC 7143 4.2.2.1), the session
 * registry used for reinstatement (RFC 7143 6.3.5), LUN views and the end of a session. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt/worker.h"
#include "scsi/lu.h"
#include "scsi/scsi.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

struct iscsi_session *iscsi_session_new(struct iscsi_conn *c)
{
	struct iscsi_session *s = calloc(1, sizeof(*s));
	struct invar_limits lim;

	if (!s)
		return NULL;
	daemon_limits_get(c->d, &lim);
	atomic_init(&s->refcnt, 1);	/* the connection's, handed to the registry */
	s->d = c->d;
	s->w = c->w;
	s->conn = c;
	s->max_cmds = lim.max_cmds;	/* fixed for the session's life */
	s->wbuf_budget = (uint64_t)lim.session_write_mb << 20;
	s->wbuf_daemon_budget = (uint64_t)lim.write_buffer_mb << 20;
	if (iscsi_local_portal(c->fd, s->local_portal, sizeof(s->local_portal)) < 0)
		s->local_portal[0] = '\0';
	list_init(&s->tasks);
	list_init(&s->held);
	list_init(&s->gnode);
	return s;
}

void iscsi_session_get(struct iscsi_session *s)
{
	atomic_fetch_add(&s->refcnt, 1);
}

void iscsi_session_put(struct iscsi_session *s)
{
	if (atomic_fetch_sub(&s->refcnt, 1) != 1)
		return;
	free(s);
}

int iscsi_session_register(struct iscsi_session *s, const char **why)
{
	struct iscsi_fabric *f = iscsi_fabric_get(s->d);
	struct invar_limits l, *lim = &l;
	unsigned all = 0, here = 0;
	struct list_node *n;

	daemon_limits_get(s->d, &l);	/* not under f->lock: daemon.lock is never taken inside it */
	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *o = list_entry(n, struct iscsi_session, gnode);

		all++;
		if (s->target && o->target == s->target)
			here++;
	}
	if (all >= lim->max_sessions || (s->target && here >= lim->max_sessions_per_target)) {
		pthread_mutex_unlock(&f->lock);
		*why = all >= lim->max_sessions ? "max_sessions reached"
						 : "max_sessions_per_target reached";
		return -EUSERS;
	}
	list_add_tail(&f->sessions, &s->gnode);
	s->registered = true;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

struct iscsi_session *iscsi_session_find(struct daemon *d, const char *initiator,
					 const uint8_t isid[6], const char *target_iqn,
					 uint16_t tpgt)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct iscsi_session *found = NULL;
	struct list_node *n;

	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);

		if (s->type == ISCSI_SESSION_NORMAL && s->nexus.tpgt == tpgt &&
		    !memcmp(s->isid, isid, 6) && !strcmp(s->nexus.initiator, initiator) &&
		    !strcmp(s->nexus.target, target_iqn)) {
			found = s;
			iscsi_session_get(s);
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}

struct iscsi_session *iscsi_session_find_tsih(struct daemon *d, uint16_t tsih, uint16_t tpgt)
{
	struct iscsi_fabric *f = iscsi_fabric_get(d);
	struct iscsi_session *found = NULL;
	struct list_node *n;

	pthread_mutex_lock(&f->lock);
	list_for_each(n, &f->sessions)
	{
		struct iscsi_session *s = list_entry(n, struct iscsi_session, gnode);

		if (s->tsih == tsih && s->nexus.tpgt == tpgt) {
			found = s;
			iscsi_session_get(s);
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}

static void iscsi_session_kill_cb(void *arg)
{
	struct iscsi_session *s = arg;

	if (s->conn && !s->conn->closing)
		iscsi_conn_close(s->conn, s->kill_why ? s->kill_why
					     : "session closed (reinstatement or target change)");
	iscsi_session_put(s);
}

void iscsi_session_kill_async(struct iscsi_session *s)
{
	/* The caller's reference travels with the call. */
	s->killed = true;
	if (ev_call(s->w->loop, iscsi_session_kill_cb, s) < 0) {
		log_err("iscsi: cannot queue session close");
		iscsi_session_put(s);
	}
}

void iscsi_view_put(struct iscsi_view *v)
{
	if (!v || --v->refs)
		return;
	lun_view_put(v->v);
	free(v);
}

static struct iscsi_view *iscsi_view_new(struct iscsi_session *s)
{
	struct iscsi_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->v = lun_view_get(s->d, s->target, s->nexus.initiator);
	if (!v->v) {
		free(v);
		return NULL;
	}
	v->refs = 1;
	return v;
}

int iscsi_session_attach_view(struct iscsi_session *s)
{
	s->view = iscsi_view_new(s);
	return s->view ? 0 : -ENOMEM;
}

static void iscsi_session_refresh_cb(void *arg)
{
	struct iscsi_session *s = arg;
	struct iscsi_view *nv, *old;
	unsigned i;

	if (!s->conn || s->conn->closing || !s->target || !s->view)
		goto out;
	nv = iscsi_view_new(s);
	if (!nv) {
		log_err("iscsi: out of memory refreshing a LUN view; closing the session");
		iscsi_conn_close(s->conn, "out of memory");
		goto out;
	}
	/* SPC-4 6.37 / SAM-5: REPORTED LUNS DATA HAS CHANGED on every LU the nexus can see. */
	for (i = 0; i < INVAR_MAX_LUNS; i++)
		if (nv->v->lus[i])
			lu_ua_establish(nv->v->lus[i], s->nexus.id, UA_LUNS_CHANGED);
	old = s->view;
	s->view = nv;
	iscsi_view_put(old);
out:
	iscsi_session_put(s);
}

void iscsi_session_refresh_view_async(struct iscsi_session *s)
{
	if (ev_call(s->w->loop, iscsi_session_refresh_cb, s) < 0) {
		log_err("iscsi: cannot queue LUN view refresh");
		iscsi_session_put(s);
	}
}

void iscsi_session_nexus_loss(struct iscsi_session *s)
{
	if (s->nexus_lost || !s->view)
		return;
	s->nexus_lost = true;
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
		if (s->view->v->lus[i])
			scsi_nexus_loss(s->view->v->lus[i], &s->nexus);
}

void iscsi_session_end(struct iscsi_session *s)
{
	struct iscsi_fabric *f = iscsi_fabric_get(s->d);

	if (s->view) {
		iscsi_session_nexus_loss(s);
		iscsi_view_put(s->view);
		s->view = NULL;
	}
	if (s->registered) {
		pthread_mutex_lock(&f->lock);
		list_del(&s->gnode);
		s->registered = false;
		pthread_mutex_unlock(&f->lock);
	}
	if (s->target) {
		target_put(s->target);
		s->target = NULL;
	}
	log_info("iscsi: session tsih %u ended", s->tsih);
	iscsi_session_put(s);
}

uint32_t iscsi_session_max_cmdsn(const struct iscsi_session *s)
{
	unsigned avail = s->active >= s->max_cmds ? 0 : s->max_cmds - s->active;

	/* MaxCmdSN = ExpCmdSN - 1 closes the window (RFC 7143 4.2.2.1). */
	return s->exp_cmdsn + avail - 1;
}

int iscsi_session_cmdsn_check(struct iscsi_session *s, bool immediate, uint32_t cmdsn)
{
	uint32_t max = iscsi_session_max_cmdsn(s);

	if (immediate)
		return 1;	/* immediate delivery: not ordered, CmdSN not advanced */
	if (iscsi_sn_lt(cmdsn, s->exp_cmdsn) || iscsi_sn_gt(cmdsn, max))
		return -1;
	return cmdsn == s->exp_cmdsn ? 1 : 0;
}

void iscsi_session_cmdsn_advance(struct iscsi_session *s)
{
	s->exp_cmdsn++;
}

int iscsi_session_hold(struct iscsi_session *s, const struct iscsi_pdu_hdr *h,
		       const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
		       const uint8_t *data)
{
	uint32_t cmdsn = h->cmdsn;
	uint32_t dlen = h->data_len;
	struct iscsi_held *hd;
	struct list_node *pos;

	if (s->nheld >= s->max_cmds)
		return -ENOSPC;
	list_for_each(pos, &s->held)
	{
		struct iscsi_held *o = list_entry(pos, struct iscsi_held, node);

		if (o->cmdsn == cmdsn)
			return 0;	/* duplicate: ignore like an out-of-window command */
		if (iscsi_sn_gt(o->cmdsn, cmdsn))
			break;
	}
	hd = calloc(1, sizeof(*hd));
	if (!hd)
		return -ENOMEM;
	hd->cmdsn = cmdsn;
	hd->hdr = *h;
	memcpy(hd->bhs, bhs, ISCSI_BHS_LEN);
	if (ahs_len) {
		hd->ahs = malloc(ahs_len);
		if (!hd->ahs)
			goto nomem;
		memcpy(hd->ahs, ahs, ahs_len);
		hd->ahs_len = ahs_len;
	}
	if (dlen) {
		hd->data = malloc(dlen);
		if (!hd->data)
			goto nomem;
		memcpy(hd->data, data, dlen);
		hd->data_len = dlen;
	}
	list_insert_after(pos->prev, &hd->node);
	s->nheld++;
	return 0;
nomem:
	free(hd->ahs);
	free(hd);
	return -ENOMEM;
}

void iscsi_session_run_held(struct iscsi_session *s)
{
	struct iscsi_conn *c = s->conn;
	struct iscsi_held *hd;

	while (c && !c->closing && (hd = list_first(&s->held, struct iscsi_held, node)) &&
	       hd->cmdsn == s->exp_cmdsn) {
		list_del(&hd->node);
		s->nheld--;
		iscsi_session_cmdsn_advance(s);
		iscsi_conn_process(c, &hd->hdr, hd->bhs, hd->ahs, hd->ahs_len, hd->data);
		free(hd->ahs);
		free(hd->data);
		free(hd);
	}
}
