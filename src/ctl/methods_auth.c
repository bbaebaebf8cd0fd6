/* RPC methods for access control (docs/RPC.md "Access control"): CHAP credentials, ACL entries
 * with LUN maps, portal binding. Every change is made on a copy of the target's auth and swapped
 * in under daemon.lock (ctl_auth_apply); sessions refresh their LUN views after ACL changes.
 * Secrets go in, never out: answers say "secret_set". */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl/config_auth.h"
#include "ctl/ctl.h"
#include "ctl/lunspec.h"
#include "ctl/rpc_internal.h"
#include "target/acl.h"
#include "target/daemon.h"
#include "target/target.h"

#define A_STR(st, f, req, maxl) \
	{ .name = #f, .type = RPC_PARAM_STRING, .required = req, .offset = offsetof(st, f), .max_len = maxl }
#define A_INT(st, f, req, lo, hi, dflt)                                                   \
	{ .name = #f, .type = RPC_PARAM_INT, .required = req, .offset = offsetof(st, f),     \
	  .min = lo, .max = hi, .def = dflt }
#define A_BOOL(st, f) { .name = #f, .type = RPC_PARAM_BOOL, .offset = offsetof(st, f) }
#define A_METHOD(n, fn_, ptab, pst)                                                        \
	{ .name = n, .fn = fn_, .params = ptab, .nparams = sizeof(ptab) / sizeof(ptab[0]), \
	  .params_size = sizeof(pst), .mutates = true }

/* Which auth a call edits: a target's, or (no iqn) the discovery sessions'. On success *t holds
 * a reference (or NULL for discovery) and *copy a private copy to edit. */
static int auth_begin(struct rpc_call *c, const char *iqn, struct target **t,
		      struct target_auth *copy)
{
	int ret;

	*t = NULL;
	if (iqn) {
		*t = target_find_get(c->d, iqn);
		if (!*t)
			return rpc_fail(c, -ENOENT, "no target %s", iqn);
	}
	pthread_mutex_lock(&c->d->lock);
	ret = target_auth_copy(copy, *t ? &(*t)->auth : &c->d->discovery_auth);
	pthread_mutex_unlock(&c->d->lock);
	if (ret < 0) {
		if (*t)
			target_put(*t);
		return rpc_fail(c, ret, "out of memory");
	}
	return 0;
}

/* Swap the edited copy in. What a committed change can do to live sessions: nothing (CHAP secrets apply to the next
 * login), end the sessions it no longer admits (portal binding), or also change which LUNs the
 * admitted ones see (ACL entries and LUN maps). */
enum auth_effect {
	AUTH_NEXT_LOGIN,
	AUTH_ACCESS,
	AUTH_ACCESS_LUNS,
};

static int auth_commit(struct rpc_call *c, struct target *t, struct target_auth *copy,
		       enum auth_effect effect)
{
	int ret = ctl_auth_apply(c->d, t ? &t->auth : &c->d->discovery_auth, copy);

	target_auth_free(copy);
	if (!ret && t && effect == AUTH_ACCESS_LUNS)
		target_auth_changed(c->d, t);
	else if (!ret && t && effect == AUTH_ACCESS)
		target_access_changed(c->d, t);
	if (t)
		target_put(t);
	if (ret < 0)
		return rpc_fail(c, ret, "out of memory");
	return 0;
}

static void auth_abort(struct target *t, struct target_auth *copy)
{
	target_auth_free(copy);
	if (t)
		target_put(t);
}

/* ---- chap_set / chap_clear ---- */

struct p_chap {
	const char *iqn;
	const char *initiator;
	const char *user;
	const char *secret;
	bool mutual;
};

static const struct rpc_param chap_set_params[] = {
	A_STR(struct p_chap, iqn, false, INVAR_NAME_MAX),
	A_STR(struct p_chap, initiator, false, INVAR_NAME_MAX),
	A_STR(struct p_chap, user, true, CHAP_USER_MAX),
	A_STR(struct p_chap, secret, true, CHAP_SECRET_MAX),
	A_BOOL(struct p_chap, mutual),
};

static const struct rpc_param chap_clear_params[] = {
	A_STR(struct p_chap, iqn, false, INVAR_NAME_MAX),
	A_STR(struct p_chap, initiator, false, INVAR_NAME_MAX),
	A_BOOL(struct p_chap, mutual),
};

static struct chap_cred *chap_slot(struct rpc_call *c, const struct p_chap *p,
				   struct target_auth *a)
{
	struct acl_entry *e;

	if (p->initiator) {
		if (!p->iqn || p->mutual) {
			rpc_fail(c, -EINVAL, "initiator: needs iqn, and not mutual (an ACL entry "
					     "holds the initiator's credentials only)");
			return NULL;
		}
		e = target_auth_acl_find(a, p->initiator);
		if (!e) {
			rpc_fail(c, -ENOENT, "no ACL entry for that initiator");
			return NULL;
		}
		return &e->chap;
	}
	return p->mutual ? &a->mutual : &a->chap;
}

static int m_chap_set(struct rpc_call *c, const void *pv)
{
	const struct p_chap *p = pv;
	struct target_auth copy;
	struct chap_cred *slot;
	struct target *t;
	char err[160];

	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	slot = chap_slot(c, p, &copy);
	if (!slot) {
		auth_abort(t, &copy);
		return c->code;
	}
	if (chap_cred_set(slot, p->user, p->secret, err, sizeof(err)) < 0) {
		auth_abort(t, &copy);
		return rpc_fail(c, -EINVAL, "%s", err);
	}
	if (auth_commit(c, t, &copy, AUTH_NEXT_LOGIN))
		return c->code;
	c->result = json_pack("{s:s, s:b}", "user", p->user, "secret_set", 1);
	return 0;
}

static int m_chap_clear(struct rpc_call *c, const void *pv)
{
	const struct p_chap *p = pv;
	struct target_auth copy;
	struct chap_cred *slot;
	struct target *t;

	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	slot = chap_slot(c, p, &copy);
	if (!slot) {
		auth_abort(t, &copy);
		return c->code;
	}
	chap_cred_clear(slot);
	if (auth_commit(c, t, &copy, AUTH_NEXT_LOGIN))
		return c->code;
	c->result = json_object();
	return 0;
}

/* ---- acl_add / acl_delete / acl_lun_map / acl_list ---- */

struct p_acl {
	const char *iqn;
	const char *initiator;
	int64_t lun;
	int64_t target_lun;
};

static const struct rpc_param acl_params[] = {
	A_STR(struct p_acl, iqn, true, INVAR_NAME_MAX),
	A_STR(struct p_acl, initiator, true, INVAR_NAME_MAX),
};

static const struct rpc_param acl_map_params[] = {
	A_STR(struct p_acl, iqn, true, INVAR_NAME_MAX),
	A_STR(struct p_acl, initiator, true, INVAR_NAME_MAX),
	A_INT(struct p_acl, lun, true, 0, INVAR_MAX_LUNS - 1, 0),
	A_INT(struct p_acl, target_lun, true, 0, INVAR_MAX_LUNS - 1, 0),
};

static const struct rpc_param acl_list_params[] = {
	A_STR(struct p_acl, iqn, true, INVAR_NAME_MAX),
};

static int m_acl_add(struct rpc_call *c, const void *pv)
{
	const struct p_acl *p = pv;
	struct target_auth copy;
	struct target *t;
	int ret;

	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	ret = target_auth_acl_add(&copy, p->initiator, NULL);
	if (ret < 0) {
		auth_abort(t, &copy);
		return rpc_fail(c, ret, "initiator: %s",
				ret == -EINVAL ? "not a valid iSCSI name (iqn./eui./naa., lower case)"
				: ret == -EEXIST ? "already in the ACL"
				: ret == -ENOSPC ? "the ACL is full" : strerror(-ret));
	}
	/* The first entry closes the target to everyone else: their sessions lose their LUNs. */
	if (auth_commit(c, t, &copy, AUTH_ACCESS_LUNS))
		return c->code;
	c->result = json_pack("{s:s}", "initiator", p->initiator);
	return 0;
}

static int m_acl_delete(struct rpc_call *c, const void *pv)
{
	const struct p_acl *p = pv;
	struct target_auth copy;
	struct target *t;

	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	if (target_auth_acl_del(&copy, p->initiator) < 0) {
		auth_abort(t, &copy);
		return rpc_fail(c, -ENOENT, "no ACL entry for that initiator");
	}
	if (auth_commit(c, t, &copy, AUTH_ACCESS_LUNS))
		return c->code;
	c->result = json_object();
	return 0;
}

static int m_acl_lun_map(struct rpc_call *c, const void *pv)
{
	const struct p_acl *p = pv;
	struct target_auth copy;
	struct acl_entry *e;
	struct target *t;

	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	e = target_auth_acl_find(&copy, p->initiator);
	if (!e) {
		auth_abort(t, &copy);
		return rpc_fail(c, -ENOENT, "no ACL entry for that initiator");
	}
	if (acl_entry_map(e, (unsigned)p->lun, (unsigned)p->target_lun) < 0) {
		auth_abort(t, &copy);
		return rpc_fail(c, -EEXIST, "LUN %d is already mapped for that initiator",
				(int)p->lun);
	}
	if (auth_commit(c, t, &copy, AUTH_ACCESS_LUNS))
		return c->code;
	c->result = json_pack("{s:i, s:i}", "lun", (int)p->lun, "target_lun", (int)p->target_lun);
	return 0;
}

static int m_acl_list(struct rpc_call *c, const void *pv)
{
	const struct p_acl *p = pv;
	struct target_auth copy;
	struct target *t;

	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	c->result = ctl_auth_to_json(&copy, false);
	auth_abort(t, &copy);
	if (!c->result)
		return rpc_fail(c, -ENOMEM, "out of memory");
	return 0;
}

/* ---- target_portal_bind / target_portal_unbind ---- */

struct p_bind {
	const char *iqn;
	const char *address;
};

static const struct rpc_param bind_params[] = {
	A_STR(struct p_bind, iqn, true, INVAR_NAME_MAX),
	A_STR(struct p_bind, address, true, 128),
};

static int m_portal_bind(struct rpc_call *c, const void *pv, bool bind)
{
	const struct p_bind *p = pv;
	struct target_auth copy;
	char addr[ACL_PORTAL_LEN], err[256];
	struct target *t;
	int ret;

	if (ctl_portal_normalize(p->address, addr, sizeof(addr), err, sizeof(err)) < 0)
		return rpc_fail(c, -EINVAL, "%s", err);
	if (auth_begin(c, p->iqn, &t, &copy))
		return c->code;
	ret = bind ? target_auth_portal_add(&copy, addr) : target_auth_portal_del(&copy, addr);
	if (ret < 0) {
		auth_abort(t, &copy);
		return rpc_fail(c, ret, "%s", ret == -EEXIST   ? "already bound to that portal"
					     : ret == -ENOSPC ? "too many portals"
					     : ret == -ENOENT ? "not bound to that portal"
							      : strerror(-ret));
	}
	/* Unbinding a portal ends the sessions that came in through it (a login there would now
	 * be refused); binding the first portal unbinds all the others. */
	if (auth_commit(c, t, &copy, AUTH_ACCESS))
		return c->code;
	c->result = json_pack("{s:s}", "address", addr);
	return 0;
}

static int m_target_portal_bind(struct rpc_call *c, const void *pv)
{
	return m_portal_bind(c, pv, true);
}

static int m_target_portal_unbind(struct rpc_call *c, const void *pv)
{
	return m_portal_bind(c, pv, false);
}

const struct rpc_method rpc_auth_methods[] = {
	A_METHOD("chap_set", m_chap_set, chap_set_params, struct p_chap),
	A_METHOD("chap_clear", m_chap_clear, chap_clear_params, struct p_chap),
	A_METHOD("acl_add", m_acl_add, acl_params, struct p_acl),
	A_METHOD("acl_delete", m_acl_delete, acl_params, struct p_acl),
	A_METHOD("acl_lun_map", m_acl_lun_map, acl_map_params, struct p_acl),
	{ .name = "acl_list", .fn = m_acl_list, .params = acl_list_params, .nparams = 1,
	  .params_size = sizeof(struct p_acl) },
	A_METHOD("target_portal_bind", m_target_portal_bind, bind_params, struct p_bind),
	A_METHOD("target_portal_unbind", m_target_portal_unbind, bind_params, struct p_bind),
};

const size_t rpc_auth_nmethods = sizeof(rpc_auth_methods) / sizeof(rpc_auth_methods[0]);
