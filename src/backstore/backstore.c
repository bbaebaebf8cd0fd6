/* The backstore registry and the checks every backstore type shares: ops table size/version,
 * mandatory callbacks, and the I/O range against the backstore's size. */
#include "backstore/backstore.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore_internal.h"
#include "backstore/fault.h"

/* Explicit registration: a type exists only if it is listed here. */
static const struct backstore_ops *const bs_registry[] = {
    &bs_file_ops,
    &bs_ram_ops,
    &bs_null_ops,
    &bs_user_ops,
    &bs_rbd_ops,
};

/* The smallest table that still holds every mandatory callback. New optional fields only ever
 * go after submit, so an older, smaller table stays loadable. */
#define BS_OPS_MIN_SIZE                                                                            \
	(offsetof(struct backstore_ops, submit) + sizeof(((struct backstore_ops *)0)->submit))

int bs_fail(char *err, size_t err_len, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

const struct backstore_ops *backstore_find(const char *type)
{
	size_t i;

	if (!type)
		return NULL;
	for (i = 0; i < sizeof(bs_registry) / sizeof(bs_registry[0]); i++)
		if (!strcmp(bs_registry[i]->name, type))
			return bs_registry[i];
	return NULL;
}

static int bs_ops_check(const struct backstore_ops *ops, char *err, size_t err_len)
{
	if (ops->size < BS_OPS_MIN_SIZE)
		return bs_fail(err, err_len, EINVAL,
			       "backstore type %s: ops table too small (%u < %zu)", ops->name,
			       ops->size, BS_OPS_MIN_SIZE);
	if (ops->version != BACKSTORE_OPS_VERSION)
		return bs_fail(err, err_len, EINVAL,
			       "backstore type %s: ops version %u, this build supports %u",
			       ops->name, ops->version, BACKSTORE_OPS_VERSION);
	if (!ops->open || !ops->close || !ops->submit)
		return bs_fail(err, err_len, EINVAL, "backstore type %s: missing %s callback",
			       ops->name,
			       !ops->open    ? "open"
			       : !ops->close ? "close"
					     : "submit");
	return 0;
}

int backstore_open(const struct bs_config *cfg, struct backstore **out, char *err, size_t err_len)
{
	const struct backstore_ops *ops;
	struct backstore *bs;
	int ret;

	if (err && err_len)
		err[0] = '\0';
	*out = NULL;
	if (!cfg || !cfg->type || !cfg->type[0])
		return bs_fail(err, err_len, EINVAL, "backstore type is required");
	ops = backstore_find(cfg->type);
	if (!ops)
		return bs_fail(err, err_len, ENOENT,
			       "unknown backstore type (known: file, ram, null, user, rbd)");
	ret = bs_ops_check(ops, err, err_len);
	if (ret < 0)
		return ret;

	bs = calloc(1, sizeof(*bs));
	if (!bs)
		return bs_fail(err, err_len, ENOMEM, "out of memory");
	bs->ops = ops;
	/* The registry name, not cfg->type: it is known to fit and is not caller-controlled. */
	if (strlen(ops->name) >= sizeof(bs->type)) {
		ret = bs_fail(err, err_len, EINVAL, "backstore type name too long");
		goto out_free;
	}
	strcpy(bs->type, ops->name);
	if (cfg->path) {
		if (strlen(cfg->path) >= sizeof(bs->path)) {
			ret = bs_fail(err, err_len, ENAMETOOLONG, "path longer than %zu bytes",
				      sizeof(bs->path) - 1);
			goto out_free;
		}
		strcpy(bs->path, cfg->path);
	}

	ret = ops->open(bs, cfg, err, err_len);
	if (ret < 0) {
		if (err && err_len && !err[0])
			bs_fail(err, err_len, -ret, "%s backstore: %s", bs->type, strerror(-ret));
		goto out_free;
	}
	if (cfg->read_only)
		bs->read_only = true;
	if (ret > 0 || bs->size == 0) {
		/* A type that "succeeded" without a size is a bug in that type, not the caller's.
		 */
		ops->close(bs);
		ret = bs_fail(err, err_len, EINVAL, "%s backstore: opened with size 0", bs->type);
		goto out_free;
	}
	*out = bs;
	return 0;

out_free:
	free(bs);
	return ret;
}

void backstore_close(struct backstore *bs)
{
	if (!bs)
		return;
	bs->ops->close(bs);
	free(bs);
}

/* A range-only op (PRE-FETCH, UNMAP, WRITE ZEROES): false, with io completed, when the range
 * is outside the medium (-EINVAL) or empty (nothing to do, 0). Written to not overflow: offset
 * against the size first, then len against what is left. */
static bool bs_range_nonempty(struct backstore *bs, struct bs_io *io)
{
	if (io->offset > bs->size || io->len > bs->size - io->offset) {
		io->done(io, -EINVAL);
		return false;
	}
	if (!io->len) {
		io->done(io, 0);
		return false;
	}
	return true;
}

/* A READ without a buffer is fine when the backstore lends its own (BS_IO_LEND). */
static bool bs_lends(const struct backstore *bs, const struct bs_io *io)
{
	return io->op == BS_OP_READ && (io->flags & BS_IO_LEND) && bs->can_lend;
}

void backstore_submit(struct backstore *bs, struct bs_io *io)
{
	int fault;

	io->bs = bs;
	io->done_bytes = 0;

	switch (io->op) {
	case BS_OP_FLUSH:
		break;
	case BS_OP_PREFETCH:
		if (!bs_range_nonempty(bs, io))
			return;
		break;
	case BS_OP_UNMAP:
	case BS_OP_WRITE_ZEROES:
		if (!bs->can_unmap) {
			io->done(io, -EOPNOTSUPP);
			return;
		}
		if (bs->read_only) {
			io->done(io, -EROFS);
			return;
		}
		if (!bs_range_nonempty(bs, io))
			return;
		break;
	case BS_OP_WRITE_SAME:
	case BS_OP_COMPARE_AND_WRITE:
		if (io->op == BS_OP_WRITE_SAME ? !bs->can_write_same : !bs->can_caw) {
			io->done(io, -EOPNOTSUPP);
			return;
		}
		if (bs->read_only) {
			io->done(io, -EROFS);
			return;
		}
		if (!io->buf || (io->op == BS_OP_WRITE_SAME &&
				 (!io->same_len || io->len % io->same_len))) {
			io->done(io, -EINVAL);
			return;
		}
		if (!bs_range_nonempty(bs, io))
			return;
		break;
	case BS_OP_WRITE:
		if (bs->read_only) {
			io->done(io, -EROFS);
			return;
		}
		/* fall through */
	case BS_OP_READ:
		/* Written to not overflow: offset <= size first, then len against what is left. */
		if (io->offset > bs->size || io->len > bs->size - io->offset ||
		    (io->len && !io->buf && !bs_lends(bs, io))) {
			io->done(io, -EINVAL);
			return;
		}
		if (!io->len) {
			io->done(io, 0);
			return;
		}
		break;
	default:
		io->done(io, -EINVAL);
		return;
	}
	if (bs_fault_check(io, &fault)) {
		/* invard --fault (test only): fail as the medium would, touching nothing. */
		io->done(io, fault);
		return;
	}
	bs->ops->submit(bs, io);
}

int backstore_lba_status(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped)
{
	const struct backstore_ops *ops = bs->ops;
	size_t need = offsetof(struct backstore_ops, lba_status) + sizeof(ops->lba_status);
	int r;

	if (offset >= bs->size)
		return -EINVAL;
	if (ops->size < need || !ops->lba_status) {
		*mapped = true;
		*len = bs->size - offset;
		return 0;
	}
	r = ops->lba_status(bs, offset, len, mapped);
	if (r < 0)
		return r;
	/* Never trust a callback to make progress or stay in range. */
	if (*len == 0 || *len > bs->size - offset)
		*len = bs->size - offset;
	return 0;
}

void backstore_quiesce(void)
{
	bs_rbd_quiesce();
}

int backstore_identity(struct backstore *bs, char *buf, size_t len)
{
	const struct backstore_ops *ops = bs->ops;
	size_t need = offsetof(struct backstore_ops, identity) + sizeof(ops->identity);

	if (ops->size < need || !ops->identity || !len)
		return -EOPNOTSUPP;
	buf[0] = '\0';
	return ops->identity(bs, buf, len);
}

struct bs_sync_res {
	bool done;
	int res;
};

static void bs_sync_done(struct bs_io *io, int res)
{
	struct bs_sync_res *r = io->priv;

	r->done = true;
	r->res = res;
}

int backstore_io_sync(struct backstore *bs, struct bs_io *io)
{
	struct bs_sync_res r = { false, 0 };

	io->worker = NULL;
	io->done = bs_sync_done;
	io->priv = &r;
	backstore_submit(bs, io);
	/* The contract for worker == NULL is synchronous completion; anything else is a bug in
	 * that backstore, reported rather than waited for. */
	return r.done ? r.res : -EIO;
}
