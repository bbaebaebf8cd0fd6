/* RPC methods for the resource limits at run time (docs/RPC.md "limits_get / limits_set"): the
 * --limit keys, read and changed on a running daemon. A change is validated as a whole (each
 * range, then the checks between limits) before anything is replaced, applies to what starts
 * after it (each limit's "applies", target/tunables.c), and is kept by config_save like a
 * --limit given at start. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "ctl/rpc_internal.h"
#include "target/daemon.h"
#include "target/tunables.h"
#include "util/log.h"

/* One optional integer param per limit, named by its key. Absent = -1 (the decoder fills def,
 * which is outside [min, max], so a client cannot send it). */
#define LIMITS_MAX 16
#define L_INT(i, key)                                                                     \
	{ .name = key, .type = RPC_PARAM_INT, .offset = offsetof(struct p_limits, v) +       \
							 (i) * sizeof(int64_t),              \
	  .min = 0, .max = UINT32_MAX, .def = -1 }

struct p_limits {
	int64_t v[LIMITS_MAX];
};

/* Names as in invar_limit_descs (checked at every call, so a limit added there and not here
 * is noticed rather than silently unsettable: limits_get lists it, limits_set refuses it). */
static const struct rpc_param limits_set_params[] = {
	L_INT(0, "login_timeout"),
	L_INT(1, "max_sessions"),
	L_INT(2, "max_sessions_per_target"),
	L_INT(3, "max_cmds"),
	L_INT(4, "max_recv_data_segment_length"),
	L_INT(5, "max_burst_length"),
	L_INT(6, "first_burst_length"),
};
_Static_assert(sizeof(limits_set_params) / sizeof(limits_set_params[0]) <= LIMITS_MAX,
	       "p_limits too small");

static json_t *limits_json(const struct invar_limits *l)
{
	json_t *vals = json_object(), *keys = json_array();
	unsigned i;

	if (!vals || !keys)
		goto nomem;
	for (i = 0; i < invar_limit_ndescs; i++) {
		const struct invar_limit_desc *d = &invar_limit_descs[i];
		json_t *k = json_pack("{s:s, s:i, s:i, s:i, s:i, s:s, s:s}", "key", d->key, "value",
				      (json_int_t)invar_limits_get(l, d), "default",
				      (json_int_t)d->def, "min", (json_int_t)d->min, "max",
				      (json_int_t)d->max, "what", d->what, "applies", d->applies);

		if (!k || json_array_append_new(keys, k) < 0 ||
		    json_object_set_new(vals, d->key, json_integer(invar_limits_get(l, d))) < 0)
			goto nomem;
	}
	/* "o" steals both references, on failure too. */
	return json_pack("{s:o, s:o}", "limits", vals, "keys", keys);
nomem:
	json_decref(vals);
	json_decref(keys);
	return NULL;
}

static int m_limits_get(struct rpc_call *c, const void *pv)
{
	struct invar_limits l;

	daemon_limits_get(c->d, &l);
	c->result = limits_json(&l);
	if (!c->result)
		return rpc_fail(c, -ENOMEM, "out of memory");
	return 0;
}

static int m_limits_set(struct rpc_call *c, const void *pv)
{
	const struct p_limits *p = pv;
	struct invar_limits l;
	char err[160];
	unsigned i, changed = 0;

	/* The main thread is the only writer: read, edit the copy, replace. */
	daemon_limits_get(c->d, &l);
	for (i = 0; i < sizeof(limits_set_params) / sizeof(limits_set_params[0]); i++) {
		const char *key = limits_set_params[i].name;

		if (p->v[i] < 0)
			continue;
		if (!invar_limit_find(key))
			return rpc_fail(c, RPC_ERR_INTERNAL, "limit '%s' is not known", key);
		if (invar_limits_set(&l, key, (unsigned long long)p->v[i], err, sizeof(err)) < 0)
			return rpc_fail(c, RPC_ERR_INVALID_PARAMS, "%s", err);
		changed++;
	}
	if (!changed)
		return rpc_fail(c, RPC_ERR_INVALID_PARAMS, "no limit given (keys: see limits_get)");
	if (invar_limits_check(&l, err, sizeof(err)) < 0)
		return rpc_fail(c, -EINVAL, "%s", err);
	daemon_limits_replace(c->d, &l);
	for (i = 0; i < sizeof(limits_set_params) / sizeof(limits_set_params[0]); i++)
		if (p->v[i] >= 0)
			log_info("ctl: limit %s set to %lld", limits_set_params[i].name,
				 (long long)p->v[i]);
	c->result = limits_json(&l);
	if (!c->result)
		return rpc_fail(c, -ENOMEM, "out of memory");
	return 0;
}

const struct rpc_method rpc_limits_methods[] = {
	{ .name = "limits_get", .fn = m_limits_get },
	{ .name = "limits_set", .fn = m_limits_set, .params = limits_set_params,
	  .nparams = sizeof(limits_set_params) / sizeof(limits_set_params[0]),
	  .params_size = sizeof(struct p_limits), .mutates = true },
};

const size_t rpc_limits_nmethods = sizeof(rpc_limits_methods) / sizeof(rpc_limits_methods[0]);
