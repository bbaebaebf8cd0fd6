/* The RPC methods (docs/RPC.md). Each has a params struct filled by the decoder table in
 * rpc.c; handlers return 0 with c->result set, or fail through rpc_fail() with -errno. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/compat.h"
#include "ctl/config.h"
#include "ctl/ctl.h"
#include "ctl/lunspec.h"
#include "ctl/portalspec.h"
#include "ctl/rpc_internal.h"
#include "invar/version.h"
#include "scsi/alua_groups.h"
#include "scsi/lu.h"
#include "scsi/profile.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

#define P_STR(st, f, req, maxl) \
	{ .name = #f, .type = RPC_PARAM_STRING, .required = req, .offset = offsetof(st, f), .max_len = maxl }
#define P_INT(st, f, req, lo, hi, dflt)                                                   \
	{ .name = #f, .type = RPC_PARAM_INT, .required = req, .offset = offsetof(st, f),     \
	  .min = lo, .max = hi, .def = dflt }
#define P_BOOL(st, f) { .name = #f, .type = RPC_PARAM_BOOL, .offset = offsetof(st, f) }
#define METHOD(n, fn_, ptab, pst, mut)                                                     \
	{ .name = n, .fn = fn_, .params = ptab, .nparams = sizeof(ptab) / sizeof(ptab[0]), \
	  .params_size = sizeof(pst), .mutates = mut }
#define METHOD0(n, fn_) { .name = n, .fn = fn_ }

static int fail_errno(struct rpc_call *c, int ret, const char *what)
{
	return rpc_fail(c, ret, "%s: %s", what, strerror(-ret));
}

static struct target *find_target(struct rpc_call *c, const char *iqn)
{
	struct target *t = target_find_get(c->d, iqn);

	if (!t)
		rpc_fail(c, -ENOENT, "no target %s", iqn);
	return t;
}

static bool need_fabric(struct rpc_call *c)
{
	if (c->d->fabric)
		return true;
	rpc_fail(c, -ENOTSUP, "no fabric is running");
	return false;
}

/* ---- rpc_version ---- */

static int m_rpc_version(struct rpc_call *c, const void *p)
{
	c->result = json_pack("{s:s, s:{s:i, s:i}, s:i}", "version", INVAR_VERSION_STRING, "rpc",
			      "major", INVAR_RPC_VERSION_MAJOR, "minor", INVAR_RPC_VERSION_MINOR,
			      "config_version", INVAR_CONFIG_VERSION);
	return 0;
}

/* ---- targets ---- */

struct p_target {
	const char *iqn;
	bool force;
};

static const struct rpc_param target_create_params[] = {
	P_STR(struct p_target, iqn, true, INVAR_NAME_MAX),
};

static int m_target_create(struct rpc_call *c, const void *pv)
{
	const struct p_target *p = pv;
	int ret = target_create(c->d, p->iqn, NULL);

	if (ret == -EINVAL)
		return rpc_fail(c, ret,
				"iqn: '%s' is not a valid iSCSI name (iqn./eui./naa. form; lower "
				"case letters, digits, '-', '.', ':')",
				p->iqn);
	if (ret == -EEXIST)
		return rpc_fail(c, ret, "target %s already exists", p->iqn);
	if (ret < 0)
		return fail_errno(c, ret, p->iqn);
	c->result = json_pack("{s:s}", "iqn", p->iqn);
	return 0;
}

static const struct rpc_param target_delete_params[] = {
	P_STR(struct p_target, iqn, true, INVAR_NAME_MAX),
	P_BOOL(struct p_target, force),
};

static int m_target_delete(struct rpc_call *c, const void *pv)
{
	const struct p_target *p = pv;
	struct target *t = find_target(c, p->iqn);
	int sessions = 0, frontends = 0, closed = 0, ret;

	if (!t)
		return c->code;
	if (c->d->fabric && c->d->fabric->target_session_count)
		sessions = c->d->fabric->target_session_count(c->d, t);
	/* A vhost-user-scsi front-end (a running guest's disk) counts as a session. */
	if (c->d->vhost && c->d->vhost->target_frontends)
		frontends = c->d->vhost->target_frontends(c->d->vhost_priv, t, false);
	if (sessions + frontends > 0 && !p->force) {
		target_put(t);
		return rpc_fail(c, -EBUSY,
				"target %s has %d session%s logged in; use force to close them",
				p->iqn, sessions + frontends, sessions + frontends == 1 ? "" : "s");
	}
	if (sessions > 0 && c->d->fabric->target_close_sessions)
		closed = c->d->fabric->target_close_sessions(c->d, t);
	if (frontends > 0)
		closed = (closed < 0 ? 0 : closed) +
			 c->d->vhost->target_frontends(c->d->vhost_priv, t, true);
	target_put(t);
	ret = target_delete(c->d, p->iqn);
	if (ret < 0)
		return fail_errno(c, ret, p->iqn);
	c->result = json_pack("{s:s, s:i}", "iqn", p->iqn, "sessions_closed", closed < 0 ? 0 : closed);
	return 0;
}

/* One target's entry in target_list: name, tpgt, session count, LUNs. */
static json_t *target_json(struct rpc_call *c, const struct ctl_target *ct)
{
	struct target *t = target_find_get(c->d, ct->iqn);
	json_t *o, *luns = json_array();
	int sessions = 0;
	size_t i;

	for (i = 0; luns && i < ct->nluns; i++)
		json_array_append_new(luns, ctl_lun_to_json(ct->luns[i].lun, &ct->luns[i].cfg));
	if (t && c->d->fabric && c->d->fabric->target_session_count)
		sessions = c->d->fabric->target_session_count(c->d, t);
	o = json_pack("{s:s, s:i, s:i, s:o?}", "iqn", ct->iqn, "tpgt", t ? t->tpgt : 1, "sessions",
		      sessions, "luns", luns);
	if (t)
		target_put(t);
	return o;
}

static int m_target_list(struct rpc_call *c, const void *pv)
{
	struct ctl_config cfg;
	json_t *arr;
	size_t i;

	if (ctl_config_snapshot(c->d, &cfg) < 0)
		return rpc_fail(c, -ENOMEM, "out of memory");
	arr = json_array();
	for (i = 0; arr && i < cfg.ntargets; i++)
		json_array_append_new(arr, target_json(c, &cfg.targets[i]));
	ctl_config_free(&cfg);
	c->result = json_pack("{s:o?}", "targets", arr);
	return 0;
}

/* ---- LUNs ---- */

struct p_lun {
	const char *iqn;
	int64_t lun;
	const char *backstore;
	const char *path;
	int64_t size;
	const char *serial;
	const char *naa;
	int64_t block_size;
	const char *profile;
	bool readonly;
	bool removable;
};

static const struct rpc_param lun_add_params[] = {
	P_STR(struct p_lun, iqn, true, INVAR_NAME_MAX),
	P_INT(struct p_lun, lun, false, 0, INVAR_MAX_LUNS - 1, -1),
	P_STR(struct p_lun, backstore, true, 15),
	P_STR(struct p_lun, path, false, 4095),
	P_INT(struct p_lun, size, false, 0, INT64_MAX, 0),
	P_STR(struct p_lun, serial, false, INVAR_SERIAL_MAX),
	P_STR(struct p_lun, naa, false, 34),
	P_INT(struct p_lun, block_size, false, 0, 4096, 0),
	P_STR(struct p_lun, profile, false, 31),
	P_BOOL(struct p_lun, readonly),
	P_BOOL(struct p_lun, removable),
};

static int m_lun_add(struct rpc_call *c, const void *pv)
{
	const struct p_lun *p = pv;
	struct lu_config cfg;
	struct target *t;
	char err[512] = "";
	unsigned lun;
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	if (ctl_lu_set_backstore(&cfg, p->backstore, err, sizeof(err)) < 0 ||
	    (p->path && ctl_lu_set_path(&cfg, p->path, err, sizeof(err)) < 0) ||
	    (p->serial && ctl_lu_set_serial(&cfg, p->serial, err, sizeof(err)) < 0) ||
	    (p->naa && ctl_naa_parse(p->naa, cfg.naa, &cfg.naa_len, err, sizeof(err)) < 0) ||
	    (p->block_size && ctl_lu_set_block_size(&cfg, (uint64_t)p->block_size, err,
						    sizeof(err)) < 0) ||
	    (p->profile && ctl_lu_set_profile(&cfg, p->profile, err, sizeof(err)) < 0))
		return rpc_fail(c, -EINVAL, "%s", err);
	/* Only a file's path is a path (user: the handler NAME, rbd: POOL/IMAGE,...). */
	if (p->path && p->path[0] != '/' && !strcmp(cfg.backstore, "file"))
		return rpc_fail(c, -EINVAL, "path: must be absolute (the daemon's working "
					    "directory is not the client's)");
	cfg.size = (uint64_t)p->size;
	cfg.readonly = p->readonly;
	cfg.removable = p->removable;
	if (ctl_lu_config_check(&cfg, err, sizeof(err)) < 0)
		return rpc_fail(c, -EINVAL, "%s", err);
	t = find_target(c, p->iqn);
	if (!t)
		return c->code;
	ret = ctl_lun_add(c->d, t, (int)p->lun, &cfg, &lun, err, sizeof(err));
	if (ret < 0) {
		target_put(t);
		return rpc_fail(c, ret, "%s", err[0] ? err : strerror(-ret));
	}
	/* Answer with what was created, identity resolved. */
	pthread_mutex_lock(&c->d->lock);
	if (t->lus[lun])
		ctl_lu_config_resolved(t->lus[lun], &cfg);
	pthread_mutex_unlock(&c->d->lock);
	target_put(t);
	c->result = ctl_lun_to_json(lun, &cfg);
	if (c->result)
		json_object_set_new(c->result, "iqn", json_string(p->iqn));
	log_info("%s: LUN %u added (%s%s%s)", p->iqn, lun, cfg.backstore, cfg.path[0] ? " " : "",
		 cfg.path);
	return 0;
}

/* An existing LUN: lun_delete and lu_describe. */
static const struct rpc_param lun_params[] = {
	P_STR(struct p_lun, iqn, true, INVAR_NAME_MAX),
	P_INT(struct p_lun, lun, true, 0, INVAR_MAX_LUNS - 1, -1),
};

static int m_lun_delete(struct rpc_call *c, const void *pv)
{
	const struct p_lun *p = pv;
	struct target *t = find_target(c, p->iqn);
	int ret;

	if (!t)
		return c->code;
	ret = target_lun_del(c->d, t, (unsigned)p->lun);
	target_put(t);
	if (ret == -ENOENT)
		return rpc_fail(c, ret, "target %s has no LUN %lld", p->iqn, (long long)p->lun);
	if (ret < 0)
		return fail_errno(c, ret, p->iqn);
	c->result = json_pack("{s:s, s:I}", "iqn", p->iqn, "lun", (json_int_t)p->lun);
	return 0;
}

static const struct rpc_param lun_list_params[] = {
	P_STR(struct p_lun, iqn, true, INVAR_NAME_MAX),
};

static int m_lun_list(struct rpc_call *c, const void *pv)
{
	const struct p_lun *p = pv;
	struct ctl_config cfg;
	json_t *luns = NULL;
	bool found = false;
	size_t i, j;

	if (ctl_config_snapshot(c->d, &cfg) < 0)
		return rpc_fail(c, -ENOMEM, "out of memory");
	for (i = 0; i < cfg.ntargets; i++) {
		if (strcmp(cfg.targets[i].iqn, p->iqn))
			continue;
		found = true;
		luns = json_array();
		for (j = 0; luns && j < cfg.targets[i].nluns; j++)
			json_array_append_new(luns, ctl_lun_to_json(cfg.targets[i].luns[j].lun,
								    &cfg.targets[i].luns[j].cfg));
		break;
	}
	ctl_config_free(&cfg);
	if (!found)
		return rpc_fail(c, -ENOENT, "no target %s", p->iqn);
	c->result = json_pack("{s:s, s:o?}", "iqn", p->iqn, "luns", luns);
	return 0;
}

/* ---- compatibility description, profiles (src/ctl/compat.c) ---- */

static int m_lu_describe(struct rpc_call *c, const void *pv)
{
	const struct p_lun *p = pv;
	struct target *t = find_target(c, p->iqn);
	struct lu *lu;

	if (!t)
		return c->code;
	pthread_mutex_lock(&c->d->lock);
	lu = t->lus[p->lun];
	if (lu)
		lu_get(lu);
	pthread_mutex_unlock(&c->d->lock);
	target_put(t);
	if (!lu)
		return rpc_fail(c, -ENOENT, "target %s has no LUN %lld", p->iqn, (long long)p->lun);
	c->result = compat_describe_lu(lu, p->iqn, (unsigned)p->lun);
	lu_put(lu);
	if (!c->result)
		return rpc_fail(c, -ENOMEM, "out of memory");
	return 0;
}

static void profile_json(const struct scsi_profile *sp, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:b, s:b}", "name", sp->name, "summary",
					     sp->summary, "draft", sp->draft, "default",
					     sp == scsi_profile_find(NULL)));
}

static int m_profile_list(struct rpc_call *c, const void *pv)
{
	const struct scsi_profile *def = scsi_profile_find(NULL);
	json_t *arr = json_array();

	if (arr)
		scsi_profile_foreach(profile_json, arr);
	c->result = json_pack("{s:o?, s:s?}", "profiles", arr, "default", def ? def->name : NULL);
	return c->result ? 0 : rpc_fail(c, -ENOMEM, "out of memory");
}

/* ---- portals ---- */

struct p_portal {
	const char *address;
	int64_t tpg;
};

static const struct rpc_param portal_add_params[] = {
	P_STR(struct p_portal, address, true, 128),
	P_INT(struct p_portal, tpg, false, 1, CTL_TPG_MAX, CTL_TPG_DEFAULT),
};

static const struct rpc_param portal_params[] = {
	P_STR(struct p_portal, address, true, 128),
};

static int m_portal_add(struct rpc_call *c, const void *pv)
{
	const struct p_portal *p = pv;
	char addr[128], err[256];
	int ret;

	if (ctl_portal_normalize(p->address, addr, sizeof(addr), err, sizeof(err)) < 0)
		return rpc_fail(c, -EINVAL, "%s", err);
	if (!need_fabric(c))
		return c->code;
	ret = c->d->fabric->portal_add(c->d, addr, (unsigned)p->tpg);
	if (ret == -EEXIST)
		return rpc_fail(c, ret, "portal %s already exists", addr);
	if (ret == -ENOSPC)
		return rpc_fail(c, ret, "portal group %u would exceed %d portal groups",
				(unsigned)p->tpg, ALUA_MAX_GROUPS);
	if (ret < 0)
		return rpc_fail(c, ret, "cannot listen on %s: %s", addr, strerror(-ret));
	c->result = json_pack("{s:s, s:i}", "address", addr, "tpg", (int)p->tpg);
	return 0;
}

static int m_portal_delete(struct rpc_call *c, const void *pv)
{
	const struct p_portal *p = pv;
	char addr[128], err[256];
	int ret;

	if (ctl_portal_normalize(p->address, addr, sizeof(addr), err, sizeof(err)) < 0)
		return rpc_fail(c, -EINVAL, "%s", err);
	if (!need_fabric(c))
		return c->code;
	ret = c->d->fabric->portal_del(c->d, addr);
	if (ret == -ENOENT)
		return rpc_fail(c, ret, "no portal %s", addr);
	if (ret < 0)
		return rpc_fail(c, ret, "cannot remove portal %s: %s", addr, strerror(-ret));
	c->result = json_pack("{s:s}", "address", addr);
	return 0;
}

struct portal_list_ctx {
	json_t *portals, *details;
};

static void portal_list_one(const char *addr_port, unsigned tpg, void *arg)
{
	struct portal_list_ctx *x = arg;

	json_array_append_new(x->portals, json_string(addr_port));
	json_array_append_new(x->details,
			      json_pack("{s:s, s:i}", "address", addr_port, "tpg", (int)tpg));
}

/* "portals" stays the list of addresses RPC 1.0 clients know; "details" adds each tag. */
static int m_portal_list(struct rpc_call *c, const void *pv)
{
	struct portal_list_ctx x = { json_array(), json_array() };

	if (x.portals && x.details && c->d->fabric && c->d->fabric->portal_foreach)
		c->d->fabric->portal_foreach(c->d, portal_list_one, &x);
	c->result = json_pack("{s:o?, s:o?}", "portals", x.portals, "details", x.details);
	return 0;
}

/* ---- ALUA (SPC-4 5.15): the access state of a target's port groups ---- */

struct p_alua {
	const char *iqn;
	int64_t tpg;
	const char *state;
};

static const struct rpc_param alua_set_params[] = {
	P_STR(struct p_alua, iqn, true, INVAR_NAME_MAX),
	P_INT(struct p_alua, tpg, true, 1, CTL_TPG_MAX, 0),
	P_STR(struct p_alua, state, true, 32),
};

static const struct rpc_param alua_list_params[] = {
	P_STR(struct p_alua, iqn, true, INVAR_NAME_MAX),
};

static int m_alua_set(struct rpc_call *c, const void *pv)
{
	const struct p_alua *p = pv;
	enum alua_state s;
	struct target *t;
	int ret;

	if (alua_state_parse(p->state, &s) < 0)
		return rpc_fail(c, -EINVAL,
				"state: expected active/optimized, active/non-optimized, standby, "
				"unavailable or transitioning");
	t = target_find_get(c->d, p->iqn);
	if (!t)
		return rpc_fail(c, -ENOENT, "no target %s", p->iqn);
	ret = alua_set_state(c->d, t, (uint16_t)p->tpg, s);
	target_put(t);
	if (ret == -ENOENT)
		return rpc_fail(c, ret, "no portal group %u (no portal was ever added with it)",
				(unsigned)p->tpg);
	if (ret < 0)
		return rpc_fail(c, ret, "cannot set the state: %s", strerror(-ret));
	c->result = json_pack("{s:s, s:i, s:s}", "iqn", p->iqn, "tpg", (int)p->tpg, "state",
			      alua_state_name(s));
	return 0;
}

static int m_alua_list(struct rpc_call *c, const void *pv)
{
	const struct p_alua *p = pv;
	const struct alua_groups *g = &c->d->alua_groups;
	json_t *arr = json_array();
	struct target *t;
	unsigned last = 0;

	t = target_find_get(c->d, p->iqn);
	if (!t) {
		json_decref(arr);
		return rpc_fail(c, -ENOENT, "no target %s", p->iqn);
	}
	/* Ascending tag order: repeatedly take the smallest tag above the last one. */
	for (;;) {
		int best = -1;
		unsigned best_tag = 0;

		for (int i = 0; i < ALUA_MAX_GROUPS; i++) {
			unsigned tag = atomic_load(&g->slot[i].tag);

			if (tag > last && (best < 0 || tag < best_tag)) {
				best = i;
				best_tag = tag;
			}
		}
		if (best < 0)
			break;
		json_array_append_new(arr, json_pack("{s:i, s:s, s:i}", "tpg", (int)best_tag,
						     "state",
						     alua_state_name(alua_target_state(
							     &t->alua, (unsigned)best)),
						     "portals",
						     (int)atomic_load(&g->slot[best].portals)));
		last = best_tag;
	}
	target_put(t);
	c->result = json_pack("{s:s, s:o?}", "iqn", p->iqn, "groups", arr);
	return 0;
}

/* ---- config ---- */

struct p_config {
	const char *path;
};

static const struct rpc_param config_save_params[] = {
	P_STR(struct p_config, path, false, 4095),
};

static int m_config_save(struct rpc_call *c, const void *pv)
{
	const struct p_config *p = pv;
	struct ctl_config cfg;
	char path[PATH_MAX], err[512];
	int ret;

	if (p->path && p->path[0] != '/')
		return rpc_fail(c, -EINVAL, "path: must be absolute");
	if (p->path)
		snprintf(path, sizeof(path), "%s", p->path);
	else if (snprintf(path, sizeof(path), "%s/invar.json", c->d->data_dir) >=
		 (int)sizeof(path))
		return rpc_fail(c, -ENAMETOOLONG, "data directory path too long");
	if (ctl_config_snapshot(c->d, &cfg) < 0)
		return rpc_fail(c, -ENOMEM, "out of memory");
	ret = ctl_config_save_file(&cfg, path, err, sizeof(err));
	ctl_config_free(&cfg);
	if (ret < 0)
		return rpc_fail(c, ret, "%s", err);
	log_info("configuration saved to %s", path);
	c->result = json_pack("{s:s}", "path", path);
	return 0;
}

static int m_config_show(struct rpc_call *c, const void *pv)
{
	struct ctl_config cfg;

	if (ctl_config_snapshot(c->d, &cfg) < 0)
		return rpc_fail(c, -ENOMEM, "out of memory");
	cfg.redact_secrets = true;	/* secrets only ever go to the 0600 saved file */
	c->result = ctl_config_to_json(&cfg);
	ctl_config_free(&cfg);
	if (!c->result)
		return rpc_fail(c, -ENOMEM, "out of memory");
	return 0;
}

const struct rpc_method rpc_methods[] = {
	METHOD0("rpc_version", m_rpc_version),
	METHOD("target_create", m_target_create, target_create_params, struct p_target, true),
	METHOD("target_delete", m_target_delete, target_delete_params, struct p_target, true),
	METHOD0("target_list", m_target_list),
	METHOD("lun_add", m_lun_add, lun_add_params, struct p_lun, true),
	METHOD("lun_delete", m_lun_delete, lun_params, struct p_lun, true),
	METHOD("lun_list", m_lun_list, lun_list_params, struct p_lun, false),
	METHOD("lu_describe", m_lu_describe, lun_params, struct p_lun, false),
	METHOD0("profile_list", m_profile_list),
	METHOD("portal_add", m_portal_add, portal_add_params, struct p_portal, true),
	METHOD("portal_delete", m_portal_delete, portal_params, struct p_portal, true),
	METHOD0("portal_list", m_portal_list),
	METHOD("alua_set", m_alua_set, alua_set_params, struct p_alua, true),
	METHOD("alua_list", m_alua_list, alua_list_params, struct p_alua, false),
	METHOD("config_save", m_config_save, config_save_params, struct p_config, true),
	METHOD0("config_show", m_config_show),
};

const size_t rpc_nmethods = sizeof(rpc_methods) / sizeof(rpc_methods[0]);
