/* The `lun_resize` RPC (docs/RPC.md "lun_resize"): a LU's capacity changed at run time through
 * the core's one entry point, lu_set_capacity() (scsi/lu_capacity.h). A shrink that has to
 * wait for writes in flight answers when it has finished (rpc_async_begin). The saved config
 * takes the new size once the answer is a success (rpc.c saves after every mutating method). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/rpc_internal.h"
#include "scsi/lu.h"
#include "scsi/lu_capacity.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

struct p_resize {
	const char *iqn;
	int64_t lun;
	int64_t size;		/* bytes; 0 = absent */
	bool reread;		/* the backstore's own size (grown outside invard) */
	bool force;		/* allow an explicit shrink */
};

static const struct rpc_param lun_resize_params[] = {
	{ .name = "iqn", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_resize, iqn), .max_len = INVAR_NAME_MAX },
	{ .name = "lun", .type = RPC_PARAM_INT, .required = true,
	  .offset = offsetof(struct p_resize, lun), .min = 0, .max = INVAR_MAX_LUNS - 1 },
	{ .name = "size", .type = RPC_PARAM_INT, .offset = offsetof(struct p_resize, size),
	  .min = 1, .max = INT64_MAX, .def = 0 },
	{ .name = "reread", .type = RPC_PARAM_BOOL, .offset = offsetof(struct p_resize, reread) },
	{ .name = "force", .type = RPC_PARAM_BOOL, .offset = offsetof(struct p_resize, force) },
};

/* What the answer names; kept with the async handle. */
struct resize_call {
	struct rpc_async *a;
	char iqn[INVAR_NAME_MAX + 1];
	unsigned lun;
};

static void resize_answer(struct rpc_call *c, const char *iqn, unsigned lun,
			  const struct lu_resize_result *r)
{
	if (r->res < 0) {
		rpc_fail(c, r->res, "%s LUN %u: %s", iqn, lun, r->msg);
		return;
	}
	c->result = json_pack("{s:s, s:I, s:I, s:I, s:b}", "iqn", iqn, "lun", (json_int_t)lun,
			      "old_size", (json_int_t)r->old_bytes, "size",
			      (json_int_t)r->new_bytes, "changed", r->old_bytes != r->new_bytes);
	if (!c->result)
		rpc_fail(c, -ENOMEM, "out of memory");
	else if (r->old_bytes != r->new_bytes)
		log_info("%s: LUN %u resized from %llu to %llu bytes", iqn, lun,
			 (unsigned long long)r->old_bytes, (unsigned long long)r->new_bytes);
}

/* A shrink finished after waiting for writes: on the main loop, after m_lun_resize returned
 * (so rc->a is set by then, or NULL when nobody waits for the answer). */
static void resize_done(void *arg, const struct lu_resize_result *r)
{
	struct resize_call *rc = arg;

	if (rc->a) {
		resize_answer(rpc_async_call(rc->a), rc->iqn, rc->lun, r);
		rpc_async_done(rc->a);
	}
	free(rc);
}

static int m_lun_resize(struct rpc_call *c, const void *pv)
{
	const struct p_resize *p = pv;
	struct lu_resize_result r;
	struct resize_call *rc = NULL;
	struct target *t;
	struct lu *lu;
	int ret;

	if (!p->size == !p->reread)
		return rpc_fail(c, -EINVAL, "give either size (bytes) or reread");
	t = target_find_get(c->d, p->iqn);
	if (!t)
		return rpc_fail(c, -ENOENT, "no target %s", p->iqn);
	pthread_mutex_lock(&c->d->lock);
	lu = t->lus[p->lun];
	if (lu)
		lu_get(lu);
	pthread_mutex_unlock(&c->d->lock);
	target_put(t);
	if (!lu)
		return rpc_fail(c, -ENOENT, "target %s has no LUN %lld", p->iqn, (long long)p->lun);

	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		lu_put(lu);
		return rpc_fail(c, -ENOMEM, "out of memory");
	}
	snprintf(rc->iqn, sizeof(rc->iqn), "%s", p->iqn);
	rc->lun = (unsigned)p->lun;
	ret = lu_set_capacity(lu, (uint64_t)p->size, p->force ? LU_RESIZE_SHRINK : 0,
			      c->d->main_loop, resize_done, rc, &r);
	lu_put(lu);
	if (ret == 1) {
		/* resize_done runs on this (the main) loop, so not before this returns. */
		rc->a = rpc_async_begin(c);
		if (rc->a)
			return 0;
		/* rpc_process callers (tests) cannot wait: say where it stands. */
		c->result = json_pack("{s:s, s:I, s:b}", "iqn", p->iqn, "lun", (json_int_t)p->lun,
				      "pending", true);
		return c->result ? 0 : rpc_fail(c, -ENOMEM, "out of memory");
	}
	free(rc);
	resize_answer(c, p->iqn, (unsigned)p->lun, &r);
	return r.res < 0 ? r.res : 0; /* rpc.c drops the async handle and answers now */
}

const struct rpc_method rpc_resize_methods[] = {
	{ .name = "lun_resize", .fn = m_lun_resize, .params = lun_resize_params,
	  .nparams = sizeof(lun_resize_params) / sizeof(lun_resize_params[0]),
	  .params_size = sizeof(struct p_resize), .mutates = true },
};
const size_t rpc_resize_nmethods = sizeof(rpc_resize_methods) / sizeof(rpc_resize_methods[0]);
