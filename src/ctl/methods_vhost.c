/* RPC methods for vhost-user-scsi controllers (docs/RPC.md "vhost_add / vhost_delete /
 * vhost_list"): a UNIX socket a QEMU front-end connects to, serving one target's LUNs. The
 * fabric does the work through daemon.vhost (target/daemon.h); this file turns it into JSON. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl/rpc_internal.h"
#include "target/daemon.h"

struct p_vhost {
	const char *path;
	const char *target;
};

static const struct rpc_param vhost_add_params[] = {
	{ .name = "path", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_vhost, path), .max_len = 107 },
	{ .name = "target", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_vhost, target), .max_len = 223 },
};

static const struct rpc_param vhost_path_params[] = {
	{ .name = "path", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_vhost, path), .max_len = 107 },
};

static bool need_vhost(struct rpc_call *c)
{
	if (c->d->vhost)
		return true;
	rpc_fail(c, -EOPNOTSUPP, "this invard has no vhost-user-scsi fabric");
	return false;
}

static int m_vhost_add(struct rpc_call *c, const void *pv)
{
	const struct p_vhost *p = pv;
	char err[256] = "";
	int ret;

	if (!need_vhost(c))
		return c->code;
	if (p->path[0] != '/')
		return rpc_fail(c, -EINVAL, "path must be absolute: %s", p->path);
	ret = c->d->vhost->add(c->d->vhost_priv, p->path, p->target, err, sizeof(err));
	if (ret < 0)
		return rpc_fail(c, ret, "%s", err);
	c->result = json_pack("{s:s, s:s}", "path", p->path, "target", p->target);
	return 0;
}

static int m_vhost_delete(struct rpc_call *c, const void *pv)
{
	const struct p_vhost *p = pv;
	int ret;

	if (!need_vhost(c))
		return c->code;
	ret = c->d->vhost->del(c->d->vhost_priv, p->path);
	if (ret == -ENOENT)
		return rpc_fail(c, ret, "no vhost-user controller %s", p->path);
	c->result = json_pack("{s:s}", "path", p->path);
	return 0;
}

static void vhost_list_one(const char *path, const char *iqn, int connected, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:b}", "path", path, "target", iqn,
					     "connected", connected));
}

static int m_vhost_list(struct rpc_call *c, const void *pv)
{
	json_t *a = json_array();

	if (!a)
		return rpc_fail(c, -ENOMEM, "out of memory");
	if (c->d->vhost)
		c->d->vhost->foreach(c->d->vhost_priv, vhost_list_one, a);
	c->result = json_pack("{s:o}", "controllers", a);
	return 0;
}

const struct rpc_method rpc_vhost_methods[] = {
	{ .name = "vhost_add", .fn = m_vhost_add, .params = vhost_add_params,
	  .nparams = sizeof(vhost_add_params) / sizeof(vhost_add_params[0]),
	  .params_size = sizeof(struct p_vhost), .mutates = true },
	{ .name = "vhost_delete", .fn = m_vhost_delete, .params = vhost_path_params,
	  .nparams = sizeof(vhost_path_params) / sizeof(vhost_path_params[0]),
	  .params_size = sizeof(struct p_vhost), .mutates = true },
	{ .name = "vhost_list", .fn = m_vhost_list },
};
const size_t rpc_vhost_nmethods = sizeof(rpc_vhost_methods) / sizeof(rpc_vhost_methods[0]);
