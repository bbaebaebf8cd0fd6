/* RPC methods for sessions (docs/RPC.md "session_list / session_logout / session_drop"): who
 * is logged in, through which portal, with which parameters and credentials, how busy; and
 * ending one, politely (the initiator is asked to log out) or not. The fabric does the work
 * (fabric_ops.session_list, session_end); this file turns it into JSON. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/rpc_internal.h"
#include "target/daemon.h"
#include "util/hex.h"
#include "util/log.h"

#define SESSION_LOGOUT_WAIT_S 10	/* default time the initiator has to log out */

struct p_session {
	const char *iqn;
	int64_t id;
	int64_t wait;
};

static const struct rpc_param session_list_params[] = {
	{ .name = "iqn", .type = RPC_PARAM_STRING, .offset = offsetof(struct p_session, iqn),
	  .max_len = 223 },
};

static const struct rpc_param session_end_params[] = {
	{ .name = "id", .type = RPC_PARAM_INT, .required = true,
	  .offset = offsetof(struct p_session, id), .min = 1, .max = 65535 },
	{ .name = "wait", .type = RPC_PARAM_INT, .offset = offsetof(struct p_session, wait),
	  .min = 0, .max = 3600, .def = SESSION_LOGOUT_WAIT_S },
};

static json_t *session_json(const struct fabric_session_info *i, time_t now)
{
	char isid[2 * sizeof(i->isid) + 1], when[32];
	struct tm tm;
	time_t t = (time_t)i->login_time;

	hex_encode(isid, i->isid, sizeof(i->isid));
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s?, s:s, s:i, s:s, s:s?, s:b, s:s, s:s, "
			 "s:{s:I, s:I, s:I, s:I, s:I, s:b, s:b}, s:i, s:i, s:i, s:s, s:I}",
			 "fabric", i->fabric, "id", (int)i->id,
			 "type", i->discovery ? "discovery" : "normal",
			 "initiator", i->initiator, "isid", isid,
			 "target", i->discovery ? NULL : i->target,
			 "portal", i->portal, "tpgt", (int)i->tpgt, "peer", i->peer,
			 "chap_user", i->chap_user[0] ? i->chap_user : NULL,
			 "mutual_chap", i->mutual_chap,
			 "header_digest", i->header_digest ? "CRC32C" : "None",
			 "data_digest", i->data_digest ? "CRC32C" : "None",
			 "params",
			 "max_recv_data_segment_length", (json_int_t)i->max_recv_dsl,
			 "initiator_max_recv_data_segment_length", (json_int_t)i->max_xmit_dsl,
			 "max_burst_length", (json_int_t)i->max_burst,
			 "first_burst_length", (json_int_t)i->first_burst,
			 "max_outstanding_r2t", (json_int_t)i->max_outstanding_r2t,
			 "initial_r2t", i->initial_r2t, "immediate_data", i->immediate_data,
			 "max_cmds", (int)i->max_cmds, "in_flight", (int)i->in_flight,
			 "worker", (int)i->worker, "login_time", when,
			 "age_s", (json_int_t)(now > t ? now - t : 0));
}

/* A vhost-user-scsi front-end (fabric "vhost"): one I_T nexus per connected QEMU; no login
 * parameters; ended with `vhost delete`, not by id (0). */
static json_t *vhost_session_json(const struct fabric_session_info *i, time_t now)
{
	char when[32];
	struct tm tm;
	time_t t = (time_t)i->login_time;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:s, s:I}",
			 "fabric", i->fabric, "id", 0, "type", "normal", "initiator", i->initiator,
			 "target", i->target, "portal", i->portal, "tpgt", (int)i->tpgt, "peer",
			 i->peer, "max_cmds", (int)i->max_cmds, "in_flight", (int)i->in_flight,
			 "worker", (int)i->worker, "login_time", when, "age_s",
			 (json_int_t)(now > t ? now - t : 0));
}

static int m_session_list(struct rpc_call *c, const void *pv)
{
	const struct p_session *p = pv;
	struct fabric_session_info *v = NULL;
	time_t now = time(NULL);
	json_t *arr;
	unsigned n = 0;
	int ret;

	if ((!c->d->fabric || !c->d->fabric->session_list) &&
	    (!c->d->vhost || !c->d->vhost->session_list))
		return rpc_fail(c, -EOPNOTSUPP, "no fabric lists sessions");
	ret = c->d->fabric && c->d->fabric->session_list ? c->d->fabric->session_list(c->d, &v, &n)
							 : 0;
	if (ret == 0 && c->d->vhost && c->d->vhost->session_list)
		ret = c->d->vhost->session_list(c->d->vhost_priv, &v, &n);
	if (ret < 0) {
		free(v);
		return rpc_fail(c, ret, "cannot list sessions: %s", strerror(-ret));
	}
	arr = json_array();
	for (unsigned i = 0; arr && i < n; i++) {
		if (p->iqn && strcmp(p->iqn, v[i].target))
			continue;
		if (json_array_append_new(arr, strcmp(v[i].fabric, "vhost")
						   ? session_json(&v[i], now)
						   : vhost_session_json(&v[i], now)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(v);
	c->result = arr ? json_pack("{s:o}", "sessions", arr) : NULL;
	if (!c->result)
		return rpc_fail(c, -ENOMEM, "out of memory");
	return 0;
}

static int session_end(struct rpc_call *c, const struct p_session *p, bool logout)
{
	int ret;

	if (!c->d->fabric || !c->d->fabric->session_end)
		return rpc_fail(c, -EOPNOTSUPP, "no fabric ends sessions");
	ret = c->d->fabric->session_end(c->d, (uint16_t)p->id, logout, (unsigned)p->wait);
	if (ret == -ENOENT)
		return rpc_fail(c, ret, "no session %lld", (long long)p->id);
	if (ret == -EEXIST)
		return rpc_fail(c, ret, "two live sessions have id %lld; drop them by target",
				(long long)p->id);
	if (ret < 0)
		return rpc_fail(c, ret, "session %lld: %s", (long long)p->id, strerror(-ret));
	log_info("ctl: session %lld %s", (long long)p->id,
		 logout ? "asked to log out" : "dropped");
	c->result = json_pack("{s:I, s:s}", "id", (json_int_t)p->id, "action",
			      logout ? "logout requested" : "dropped");
	return c->result ? 0 : rpc_fail(c, -ENOMEM, "out of memory");
}

static int m_session_logout(struct rpc_call *c, const void *pv)
{
	return session_end(c, pv, true);
}

static int m_session_drop(struct rpc_call *c, const void *pv)
{
	return session_end(c, pv, false);
}

#define S_METHOD(n, fn_, ptab, mut)                                                         \
	{ .name = n, .fn = fn_, .params = ptab, .nparams = sizeof(ptab) / sizeof(ptab[0]),  \
	  .params_size = sizeof(struct p_session), .mutates = mut, .keeps_config = true }

const struct rpc_method rpc_session_methods[] = {
	S_METHOD("session_list", m_session_list, session_list_params, false),
	S_METHOD("session_logout", m_session_logout, session_end_params, true),
	S_METHOD("session_drop", m_session_drop, session_end_params, true),
};

const size_t rpc_session_nmethods = sizeof(rpc_session_methods) / sizeof(rpc_session_methods[0]);
