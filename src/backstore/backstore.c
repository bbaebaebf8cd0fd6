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
	uint64_t size = backstore_size(bs);

	if (io->offset > size || io->len > size - io->offset) {
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

/* io->iov holds exactly io->len bytes. */
static bool bs_iov_covers(const struct bs_io *io)
{
	uint64_t sum = 0;

	if (!io->iovcnt || io->iovcnt > IOV_MAX)
		return false;
	for (unsigned i = 0; i < io->iovcnt; i++)
		sum += io->iov[i].iov_len;
	return sum == io->len;
}

size_t bs_iov_copy(struct iovec *iov, unsigned iovcnt, uint64_t skip, void *buf, size_t len,
		   bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < iovcnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		n -= (size_t)skip;
		if (n > len - done)
			n = len - done;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + skip, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, n);
		done += n;
		skip = 0;
	}
	return done;
}

void bs_iov_advance(struct bs_io *io, uint64_t n)
{
	while (n && io->iovcnt) {
		if (n < io->iov->iov_len) {
			io->iov->iov_base = (char *)io->iov->iov_base + n;
			io->iov->iov_len -= (size_t)n;
			return;
		}
		n -= io->iov->iov_len;
		io->iov++;
		io->iovcnt--;
	}
}

/* A backstore without can_iov (the user backstore's ring, a network backstore) gets the data
 * through a contiguous buffer: copied from the iovecs before a write, to them after a read. */
struct bs_bounce {
	struct bs_io inner;
	struct bs_io *outer;
};

static void bs_bounce_done(struct bs_io *inner, int res)
{
	struct bs_bounce *b = inner->priv;
	struct bs_io *io = b->outer;

	if (!res && io->op == BS_OP_READ)
		bs_iov_copy(io->iov, io->iovcnt, 0, inner->buf, (size_t)io->len, true);
	io->done_bytes = res ? 0 : io->len;
	free(inner->buf);
	free(b);
	io->done(io, res);
}

static void bs_iov_bounce(struct backstore *bs, struct bs_io *io)
{
	struct bs_bounce *b = calloc(1, sizeof(*b));
	void *buf = b ? malloc((size_t)io->len) : NULL;

	if (!buf) {
		free(b);
		io->done(io, -ENOMEM);
		return;
	}
	if (io->op == BS_OP_WRITE)
		bs_iov_copy(io->iov, io->iovcnt, 0, buf, (size_t)io->len, false);
	b->outer = io;
	b->inner.op = io->op;
	b->inner.flags = io->flags;
	b->inner.offset = io->offset;
	b->inner.len = io->len;
	b->inner.buf = buf;
	b->inner.worker = io->worker;
	b->inner.done = bs_bounce_done;
	b->inner.priv = b;
	b->inner.bs = bs;
	bs->ops->submit(bs, &b->inner);
}

void backstore_submit(struct backstore *bs, struct bs_io *io)
{
	uint64_t size;
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
		size = backstore_size(bs);
		if (io->offset > size || io->len > size - io->offset ||
		    (io->len && !io->buf && !io->iov && !bs_lends(bs, io)) ||
		    (io->iov && (io->buf || (io->flags & BS_IO_LEND) || !bs_iov_covers(io)))) {
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
	if (io->iov && !bs->can_iov) {
		bs_iov_bounce(bs, io);
		return;
	}
	bs->ops->submit(bs, io);
}

int backstore_lba_status(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped)
{
	const struct backstore_ops *ops = bs->ops;
	size_t need = offsetof(struct backstore_ops, lba_status) + sizeof(ops->lba_status);
	uint64_t size = backstore_size(bs);
	int r;

	if (offset >= size)
		return -EINVAL;
	if (ops->size < need || !ops->lba_status) {
		*mapped = true;
		*len = size - offset;
		return 0;
	}
	r = ops->lba_status(bs, offset, len, mapped);
	if (r < 0)
		return r;
	/* Never trust a callback to make progress or stay in range. */
	if (*len == 0 || *len > size - offset)
		*len = size - offset;
	return 0;
}

static int bs_resize_call(struct backstore *bs, uint64_t *size, char *err, size_t err_len)
{
	const struct backstore_ops *ops = bs->ops;
	size_t need = offsetof(struct backstore_ops, resize) + sizeof(ops->resize);
	uint64_t want = *size;
	int r;

	if (err && err_len)
		err[0] = '\0';
	if (ops->size < need || !ops->resize)
		return bs_fail(err, err_len, EOPNOTSUPP, "the %s backstore cannot change size",
			       bs->type);
	r = ops->resize(bs, size, err, err_len);
	if (r < 0) {
		if (err && err_len && !err[0])
			bs_fail(err, err_len, -r, "%s backstore: resize: %s", bs->type,
				strerror(-r));
		return r;
	}
	/* Never trust a callback to have done what was asked. */
	if (*size == 0 || (want && *size != want))
		return bs_fail(err, err_len, EIO, "%s backstore: resize left size %llu", bs->type,
			       (unsigned long long)*size);
	return 0;
}

int backstore_medium_size(struct backstore *bs, uint64_t *out, char *err, size_t err_len)
{
	*out = 0;
	return bs_resize_call(bs, out, err, err_len);
}

int backstore_resize(struct backstore *bs, uint64_t bytes, char *err, size_t err_len)
{
	int r;

	if (!bytes)
		return bs_fail(err, err_len, EINVAL, "size 0");
	r = bs_resize_call(bs, &bytes, err, err_len);
	if (r == 0)
		__atomic_store_n(&bs->size, bytes, __ATOMIC_RELEASE);
	return r;
}

void backstore_quiesce(void)
{
	bs_rbd_quiesce();
}

void backstore_set_medium_watch(struct backstore *bs,
				void (*fn)(struct backstore *bs, void *arg), void *arg)
{
	bs->medium_arg = arg;
	__atomic_store_n(&bs->medium_changed, fn, __ATOMIC_RELEASE);
}

void backstore_medium_changed(struct backstore *bs)
{
	void (*fn)(struct backstore *, void *) =
		__atomic_load_n(&bs->medium_changed, __ATOMIC_ACQUIRE);

	if (fn)
		fn(bs, bs->medium_arg);
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
