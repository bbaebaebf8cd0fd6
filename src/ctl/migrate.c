/* The lu_migrate RPC and the compatibility callbacks of the migration channel (migrate.h). The
 * migration itself runs on the main loop (mig/channel.c); the RPC answers when it ends. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/compat.h"
#include "ctl/migrate.h"
#include "ctl/rpc_internal.h"
#include "mig/channel.h"
#include "mig/mig_handover.h"
#include "scsi/scsi.h"
#include "target/daemon.h"

/* ---- compatibility callbacks ------------------------------------------------------------- */

static char *ctl_mig_describe(const struct lu *lu, const char *iqn, unsigned lun)
{
	json_t *desc = compat_describe_lu(lu, iqn, lun);
	char *text = desc ? json_dumps(desc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(desc);
	return text;
}

static int ctl_mig_check(const char *src_desc, const struct lu *ref, const char *iqn,
			 unsigned lun, void (*reason)(const char *reason, void *arg), void *arg,
			 char *err, size_t err_len)
{
	json_t *src = NULL, *dst = NULL;
	json_error_t je;
	int ret;

	src = json_loads(src_desc, 0, &je);
	dst = compat_describe_lu(ref, iqn, lun);
	if (!src || !dst) {
		snprintf(err, err_len, "%s", !src ? "source description is not JSON"
						 : "out of memory");
		ret = -1;
	} else {
		ret = compat_check(src, dst, reason, arg, err, err_len);
	}
	json_decref(src);
	json_decref(dst);
	return ret;
}

const struct mig_compat_ops ctl_mig_compat_ops = {
	.describe = ctl_mig_describe,
	.check = ctl_mig_check,
};

/* ---- lu_migrate ------------------------------------------------------------------------- */

struct p_migrate {
	const char *iqn;
	int64_t lun;
	const char *to;
	const char *portal;	/* optional: where logins go after the move */
};

static const struct rpc_param lu_migrate_params[] = {
	{ .name = "iqn", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_migrate, iqn), .max_len = INVAR_NAME_MAX },
	{ .name = "lun", .type = RPC_PARAM_INT, .required = true,
	  .offset = offsetof(struct p_migrate, lun), .min = 0, .max = INVAR_MAX_LUNS - 1 },
	{ .name = "to", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_migrate, to), .max_len = 300 },
	{ .name = "portal", .type = RPC_PARAM_STRING,
	  .offset = offsetof(struct p_migrate, portal), .max_len = MIG_REDIRECT_MAX },
};

/* The migration ended: answer the call that started it. */
static void lu_migrate_done(void *arg, const struct mig_outcome *o)
{
	struct rpc_async *a = arg;
	struct rpc_call *c = rpc_async_call(a);

	if (o->code) {
		rpc_fail(c, o->code, "%s", o->msg);
	} else {
		c->result = json_pack("{s:s, s:s, s:I, s:f, s:f, s:s?}", "state", "migrated", "to",
				      o->to, "lun", (json_int_t)o->lun, "total_ms", o->total_ms,
				      "pause_ms", o->pause_ms, "redirect",
				      o->redirect[0] ? o->redirect : NULL);
		if (!c->result)
			rpc_fail(c, -ENOMEM, "out of memory");
	}
	rpc_async_done(a);
}

static int m_lu_migrate(struct rpc_call *c, const void *pv)
{
	const struct p_migrate *p = pv;
	struct rpc_async *a;
	char err[512];
	int ret;

	if (!c->d->mig)
		return rpc_fail(c, -EOPNOTSUPP, "this daemon has no migration context");
	a = rpc_async_begin(c);
	if (!a)
		return rpc_fail(c, -EOPNOTSUPP, "lu_migrate answers on the control socket only");
	ret = mig_source_start(c->d->mig, p->iqn, (unsigned)p->lun, p->to, p->portal,
			       lu_migrate_done, a, err, sizeof(err));
	if (ret < 0)
		return rpc_fail(c, ret, "%s", err);	/* answered now: rpc.c drops a */
	return 0;
}

const struct rpc_method rpc_mig_methods[] = {
	{ .name = "lu_migrate", .fn = m_lu_migrate, .params = lu_migrate_params,
	  .nparams = sizeof(lu_migrate_params) / sizeof(lu_migrate_params[0]),
	  .params_size = sizeof(struct p_migrate), .mutates = true },
};
const size_t rpc_mig_nmethods = sizeof(rpc_mig_methods) / sizeof(rpc_mig_methods[0]);
