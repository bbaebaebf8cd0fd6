/* The rbd backstore: a LU whose blocks are a Ceph RBD image, through librbd's asynchronous API
 * (`--lun rbd:POOL/IMAGE[,conf=PATH][,id=CLIENT][,namespace=NS][,timeout=S]`). One cluster
 * connection and one open image per LU. docs/design/rbd.md has the design.
 *
 * Threads. submit() runs on the worker that owns the command and only starts an rbd_aio_*
 * call; librbd completes it on one of its own threads (rbd_cb), which records the result and
 * hands the request back with ev_call_post() on the submitting worker's loop (memory in the
 * request: the hand-off cannot fail); rbd_finish() then runs on that worker and calls done().
 * No worker waits for the cluster, except in the two places the backstore contract asks for a
 * synchronous answer: io->worker == NULL (backstore_io_sync, which the SCSI core's commands no
 * longer use) and lba_status (GET LBA STATUS). Both are bounded by the timeout below.
 *
 * Timeouts. librados fails an operation with -ETIMEDOUT once the OSDs (rados_osd_op_timeout)
 * or the monitors (rados_mon_op_timeout, client_mount_timeout at connect) have not answered
 * for `timeout` seconds (default 30); the command then ends in BUSY (-EBUSY), which initiators
 * retry. librbd keeps the image usable, so I/O resumes when the OSD is back.
 *
 * The header watch (rbd_update_watch) runs rbd_watch_cb on a librbd thread whenever the image
 * header changes (a resize, a snapshot, a lock owner change); it re-reads the size and, when it
 * changed, logs it and tells the owner (backstore_medium_changed), whose main loop re-reads it
 * through rbd_resize_bs and changes the LU's capacity (scsi/lu_capacity.h). */
#include "backstore/backstore.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "backstore/backstore_internal.h"
#include "backstore/rbd/rbd_spec.h"
#include "rt/evloop.h"
#include "rt/worker.h"
#include "util/log.h"

/* How far one GET LBA STATUS looks for the end of a run (the answer's descriptor may end
 * earlier than the run; the initiator asks again from there). */
#define RBD_LBAS_WINDOW (64ull << 20)
/* librbd 16's compare_and_write: one 512-byte sector at most, not crossing one. */
#define RBD_CAW_SECTOR 512u

/* Requests submitted and not yet completed (done() returned), over every rbd LU, and whether
 * the daemon is shutting down (bs_rbd_quiesce): "count, then read the flag" in submit against
 * "raise the flag, then wait for the count" in quiesce, both sequentially consistent. */
static atomic_uint rbd_inflight;
static atomic_bool rbd_refusing;
static atomic_uint rbd_max_timeout_s;

struct rbd_dev {
	rados_t cluster;
	rados_ioctx_t ioctx;
	rbd_image_t image;
	bool connected, have_ioctx, have_image, watching;
	bool cache;				/* rbd_cache as librados has it after open */
	uint64_t watch_handle;
	struct rbd_spec spec;
	char name[2 * RBD_NAME_MAX + 2];	/* "POOL/IMAGE", for messages */
	char ident[256];			/* backstore_identity() */
	struct backstore *bs;
};

/* One backstore request in flight. Built on the submitting thread; rbd_cb (a librbd thread)
 * writes res and then either posts wake (io->worker set) or signals the synchronous waiter;
 * after that only the submitting thread touches it. */
struct rbd_req {
	struct ev_call_item wake;
	struct bs_io *io;
	struct rbd_dev *dev;
	ssize_t res;
	uint64_t mismatch;		/* COMPARE AND WRITE: librbd's mismatch offset */
	bool flushing;			/* a FUA write's data is written; its flush is in flight */
	struct iovec iov;		/* the one segment today (bs_io holds one buffer) */
	/* io->worker == NULL: the submitting thread waits here. */
	bool sync, done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void rbd_cb(rbd_completion_t c, void *arg)
{
	struct rbd_req *r = arg;

	r->res = rbd_aio_get_return_value(c);
	rbd_aio_release(c);
	if (r->sync) {
		pthread_mutex_lock(&r->lock);
		r->done = true;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	ev_call_post(r->io->worker->loop, &r->wake);
}

/* Starts op for r (the io's own op, or the flush of a FUA write). 0 or -errno. */
static int rbd_start(struct rbd_req *r, enum bs_opcode op)
{
	struct rbd_dev *dev = r->dev;
	struct bs_io *io = r->io;
	rbd_completion_t c;
	ssize_t ret;

	ret = rbd_aio_create_completion(r, rbd_cb, &c);
	if (ret < 0)
		return (int)ret;
	r->iov.iov_base = io->buf;
	r->iov.iov_len = io->len;
	switch (op) {
	case BS_OP_READ:
		ret = rbd_aio_readv(dev->image, &r->iov, 1, io->offset, c);
		break;
	case BS_OP_WRITE:
		ret = rbd_aio_writev(dev->image, &r->iov, 1, io->offset, c);
		break;
	case BS_OP_FLUSH:
		ret = rbd_aio_flush(dev->image, c);
		break;
	case BS_OP_UNMAP:
		ret = rbd_aio_discard(dev->image, io->offset, io->len, c);
		break;
	case BS_OP_WRITE_ZEROES:
		ret = rbd_aio_write_zeroes(dev->image, io->offset, io->len, c, 0, 0);
		break;
	case BS_OP_WRITE_SAME:
		ret = rbd_aio_writesame(dev->image, io->offset, io->len, io->buf, io->same_len, c,
					0);
		break;
	case BS_OP_COMPARE_AND_WRITE:
		ret = rbd_aio_compare_and_write(dev->image, io->offset, io->len, io->buf,
						(const char *)io->buf + io->len, c, &r->mismatch,
						0);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret < 0) {
		rbd_aio_release(c);
		return (int)ret;
	}
	return 0;
}

/* librados' errors as the backstore contract's: a timeout is a retry (BUSY), a miscompare
 * stays -EILSEQ, a result past the image (shrunk under us) is -EINVAL. */
static int rbd_errno(ssize_t res)
{
	if (res >= 0)
		return 0;
	switch (res) {
	case -ETIMEDOUT:
		return -EBUSY;
	case -EILSEQ:
	case -EINVAL:
	case -EROFS:
	case -ENOSPC:
	case -EDQUOT:
	case -ENOMEM:
		return (int)res;
	default:
		return -EIO;
	}
}

/* After a step completed: true when another step (the FUA flush) was started. *res is the
 * io's result otherwise. */
static bool rbd_step_done(struct rbd_req *r, int *res)
{
	struct bs_io *io = r->io;
	int ret;

	if (r->res == -ETIMEDOUT)
		log_warn("rbd %s: %s at %" PRIu64 "+%" PRIu64 " timed out after %u s", r->dev->name,
			 r->flushing ? "flush" : "I/O", io->offset, io->len, r->dev->spec.timeout_s);
	else if (r->res < 0 && r->res != -EILSEQ)
		log_warn("rbd %s: op %d at %" PRIu64 "+%" PRIu64 " failed: %s", r->dev->name,
			 (int)io->op, io->offset, io->len, strerror((int)-r->res));
	*res = rbd_errno(r->res);
	/* FUA: with librbd's cache off (open forces it) a write completes only once every
	 * replica has it, so it is already durable; a flush would only wait for the other writes
	 * in flight. Were a cache on, the flush is what makes FUA hold. */
	if (*res == 0 && !r->flushing && (io->flags & BS_IO_FUA) && io->op != BS_OP_READ &&
	    r->dev->cache) {
		r->flushing = true;
		ret = rbd_start(r, BS_OP_FLUSH);
		if (ret == 0)
			return true;
		*res = rbd_errno(ret);
	}
	if (io->op == BS_OP_COMPARE_AND_WRITE && *res == -EILSEQ) {
		/* librbd 16 reports the first differing byte's offset within the request. */
		io->miscompare = r->mismatch < io->len ? r->mismatch : 0;
	}
	return false;
}

/* On the submitting worker, from its loop. */
static void rbd_finish(void *arg)
{
	struct rbd_req *r = arg;
	struct bs_io *io = r->io;
	int res;

	if (rbd_step_done(r, &res))
		return;
	free(r);
	io->done(io, res);
	atomic_fetch_sub(&rbd_inflight, 1);
}

/* io->worker == NULL: the contract is completion before submit returns. */
static void rbd_submit_sync(struct rbd_req *r)
{
	struct bs_io *io = r->io;
	int ret, res;

	r->sync = true;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	ret = rbd_start(r, io->op);
	for (;;) {
		if (ret < 0) {
			res = rbd_errno(ret);
			break;
		}
		pthread_mutex_lock(&r->lock);
		while (!r->done)
			pthread_cond_wait(&r->cond, &r->lock);
		r->done = false;
		pthread_mutex_unlock(&r->lock);
		if (!rbd_step_done(r, &res))
			break;
		ret = 0;
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	io->done(io, res);
	atomic_fetch_sub(&rbd_inflight, 1);
}

static void rbd_submit(struct backstore *bs, struct bs_io *io)
{
	struct rbd_dev *dev = bs->priv;
	struct rbd_req *r;
	int ret;

	/* PRE-FETCH: librbd has no read-ahead hint to give (its cache is off, see open). */
	if (io->op == BS_OP_PREFETCH) {
		io->done(io, 0);
		return;
	}
	/* librbd compares and writes atomically (one RADOS cmpext + write) only within one
	 * 512-byte sector; the SCSI core emulates the rest under its own range lock. */
	if (io->op == BS_OP_COMPARE_AND_WRITE &&
	    io->offset % RBD_CAW_SECTOR + io->len > RBD_CAW_SECTOR) {
		io->done(io, -EOPNOTSUPP);
		return;
	}
	atomic_fetch_add(&rbd_inflight, 1);
	if (atomic_load(&rbd_refusing)) {
		atomic_fetch_sub(&rbd_inflight, 1);
		io->done(io, -EBUSY); /* shutting down */
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		atomic_fetch_sub(&rbd_inflight, 1);
		io->done(io, -ENOMEM);
		return;
	}
	r->io = io;
	r->dev = dev;
	if (!io->worker) {
		rbd_submit_sync(r);
		return;
	}
	r->wake.fn = rbd_finish;
	r->wake.arg = r;
	ret = rbd_start(r, io->op);
	if (ret < 0) {
		log_warn("rbd %s: op %d at %" PRIu64 "+%" PRIu64 " refused: %s", dev->name,
			 (int)io->op, io->offset, io->len, strerror(-ret));
		free(r);
		io->done(io, rbd_errno(ret));
		atomic_fetch_sub(&rbd_inflight, 1);
	}
}

void bs_rbd_quiesce(void)
{
	/* librados fails a request after the LU's timeout; taking over a dead client's exclusive
	 * lock waits for its watch to expire (30 s) on top. */
	unsigned max_s = atomic_load(&rbd_max_timeout_s) + 35;
	uint64_t waited_ms = 0;

	atomic_store(&rbd_refusing, true);
	while (atomic_load(&rbd_inflight) && waited_ms < max_s * 1000ull) {
		if (waited_ms == 0)
			log_info("rbd: waiting for %u requests in the cluster",
				 atomic_load(&rbd_inflight));
		usleep(10000);
		waited_ms += 10;
	}
	if (atomic_load(&rbd_inflight))
		log_warn("rbd: %u requests still in the cluster after %u s; stopping anyway",
			 atomic_load(&rbd_inflight), max_s);
}

/* ---- GET LBA STATUS ------------------------------------------------------------------------ */

struct rbd_lbas {
	uint64_t start, end;		/* the window asked about */
	uint64_t first, run_end;	/* the first allocated extent's run; first == end: none */
};

static int rbd_lbas_cb(uint64_t off, size_t len, int exists, void *arg)
{
	struct rbd_lbas *s = arg;

	if (!exists)
		return 0;
	if (s->first == s->end) {
		s->first = off;
		s->run_end = off + len;
		return 0;
	}
	if (off <= s->run_end) {
		if (off + len > s->run_end)
			s->run_end = off + len;
		return 0;
	}
	return -ECANCELED; /* a gap after the first run: enough */
}

/* Byte-exact allocation (whole_object = 0): librbd lists each object's extents, one RADOS
 * round trip per object in the window (at most RBD_LBAS_WINDOW / object size), on this worker;
 * whole_object = 1 would answer from the object map without a round trip but only at object
 * granularity (4 MiB), so an UNMAP of part of an object would still read as mapped. */
static int rbd_lba_status(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped)
{
	struct rbd_dev *dev = bs->priv;
	uint64_t size = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);
	struct rbd_lbas s;
	int ret;

	if (offset >= size)
		return -EINVAL; /* shrunk since the caller looked */
	s.start = offset;
	s.end = offset + (size - offset < RBD_LBAS_WINDOW ? size - offset : RBD_LBAS_WINDOW);
	s.first = s.run_end = s.end;
	ret = rbd_diff_iterate2(dev->image, NULL, s.start, s.end - s.start, 1, 0, rbd_lbas_cb,
				&s);
	if (ret < 0 && ret != -ECANCELED) {
		if (ret == -ETIMEDOUT)
			return -EBUSY;
		return ret;
	}
	if (s.first > s.start) {
		*mapped = false;
		*len = s.first - s.start;
	} else {
		*mapped = true;
		*len = (s.run_end < s.end ? s.run_end : s.end) - s.start;
	}
	return 0;
}

static int rbd_identity(struct backstore *bs, char *buf, size_t len)
{
	struct rbd_dev *dev = bs->priv;
	int w = snprintf(buf, len, "%s", dev->ident);

	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* ---- the header watch ---------------------------------------------------------------------- */

static void rbd_watch_cb(void *arg)
{
	struct rbd_dev *dev = arg;
	uint64_t size, old;
	int ret;

	ret = rbd_get_size(dev->image, &size);
	if (ret < 0) {
		log_warn("rbd %s: header changed, size unreadable: %s", dev->name, strerror(-ret));
		return;
	}
	old = backstore_size(dev->bs);
	if (size == old || size == 0)
		return;
	/* The owner re-reads the size on its own thread (rbd_resize, size 0) and the LU's
	 * capacity follows with CAPACITY DATA HAS CHANGED (scsi/lu_capacity.h). */
	log_info("rbd %s: image resized from %" PRIu64 " to %" PRIu64 " bytes", dev->name, old,
		 size);
	backstore_medium_changed(dev->bs);
}

/* ---- open and close ------------------------------------------------------------------------ */

static void rbd_dev_free(struct rbd_dev *dev)
{
	if (dev->watching)
		rbd_update_unwatch(dev->image, dev->watch_handle);
	if (dev->have_image)
		rbd_close(dev->image);
	if (dev->have_ioctx)
		rados_ioctx_destroy(dev->ioctx);
	if (dev->connected)
		rados_shutdown(dev->cluster);
	free(dev);
}

static int rbd_conf(struct rbd_dev *dev, const char *key, const char *val, char *err,
		    size_t err_len)
{
	int ret = rados_conf_set(dev->cluster, key, val);

	if (ret < 0)
		return bs_fail(err, err_len, -ret, "rbd %s: cannot set %s=%s: %s", dev->name, key,
			       val, strerror(-ret));
	return 0;
}

static int rbd_open_bs(struct backstore *bs, const struct bs_config *cfg, char *err,
		       size_t err_len)
{
	struct rbd_dev *dev;
	char fsid[64], image_id[64], tmo[16];
	uint64_t size;
	int ret;

	if (!cfg->path || !cfg->path[0])
		return bs_fail(err, err_len, EINVAL, "rbd backstore: POOL/IMAGE is required");
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return bs_fail(err, err_len, ENOMEM, "out of memory");
	dev->bs = bs;
	ret = rbd_spec_parse(cfg->path, &dev->spec, err, err_len);
	if (ret < 0)
		goto fail;
	if (!dev->spec.timeout_s)
		dev->spec.timeout_s = RBD_TIMEOUT_DEFAULT_S;
	snprintf(dev->name, sizeof(dev->name), "%s/%s", dev->spec.pool, dev->spec.image);

	ret = rados_create(&dev->cluster, dev->spec.id[0] ? dev->spec.id : NULL);
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: cannot create a cluster handle: %s", dev->name,
			strerror(-ret));
		goto fail;
	}
	dev->connected = true; /* rados_shutdown() frees an unconnected handle too */
	ret = rados_conf_read_file(dev->cluster, dev->spec.conf[0] ? dev->spec.conf : NULL);
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: cannot read %s: %s", dev->name,
			dev->spec.conf[0] ? dev->spec.conf : "the default ceph.conf (give conf=PATH)",
			strerror(-ret));
		goto fail;
	}
	/* Bounded waits (see the top comment); no client-side cache: every gateway of an image
	 * must read what another acknowledged, and a completed write is then already on the
	 * OSDs; partial discards are zeroed, not skipped, so UNMAP reads back as zeroes. */
	snprintf(tmo, sizeof(tmo), "%u", dev->spec.timeout_s);
	if ((ret = rbd_conf(dev, "rados_osd_op_timeout", tmo, err, err_len)) < 0 ||
	    (ret = rbd_conf(dev, "rados_mon_op_timeout", tmo, err, err_len)) < 0 ||
	    (ret = rbd_conf(dev, "client_mount_timeout", tmo, err, err_len)) < 0 ||
	    (ret = rbd_conf(dev, "rbd_cache", "false", err, err_len)) < 0 ||
	    (ret = rbd_conf(dev, "rbd_skip_partial_discard", "false", err, err_len)) < 0)
		goto fail;
	{
		char v[16] = "";

		dev->cache = rados_conf_get(dev->cluster, "rbd_cache", v, sizeof(v)) < 0 ||
			     strcmp(v, "false") != 0;
	}
	ret = rados_connect(dev->cluster);
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: cannot connect to the cluster%s%s: %s",
			dev->name, dev->spec.conf[0] ? " of " : "", dev->spec.conf, strerror(-ret));
		goto fail;
	}
	ret = rados_ioctx_create(dev->cluster, dev->spec.pool, &dev->ioctx);
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: pool '%s': %s", dev->name, dev->spec.pool,
			ret == -ENOENT ? "no such pool" : strerror(-ret));
		goto fail;
	}
	dev->have_ioctx = true;
	if (dev->spec.ns[0])
		rados_ioctx_set_namespace(dev->ioctx, dev->spec.ns);
	ret = cfg->read_only ? rbd_open_read_only(dev->ioctx, dev->spec.image, &dev->image, NULL)
			     : rbd_open(dev->ioctx, dev->spec.image, &dev->image, NULL);
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: cannot open image '%s' in pool '%s'%s%s: %s",
			dev->name, dev->spec.image, dev->spec.pool,
			dev->spec.ns[0] ? ", namespace " : "", dev->spec.ns,
			ret == -ENOENT ? "no such image" : strerror(-ret));
		goto fail;
	}
	dev->have_image = true;
	ret = rbd_get_size(dev->image, &size);
	if (ret == 0 && size == 0)
		ret = -EINVAL;
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: %s", dev->name,
			ret == -EINVAL ? "the image is empty (size 0)" : strerror(-ret));
		goto fail;
	}
	if ((ret = rados_cluster_fsid(dev->cluster, fsid, sizeof(fsid))) < 0 ||
	    (ret = rbd_get_id(dev->image, image_id, sizeof(image_id))) < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: cannot read the image's identity: %s",
			dev->name, strerror(-ret));
		goto fail;
	}
	snprintf(dev->ident, sizeof(dev->ident), "rbd:%.40s/%" PRId64 "/%.*s/%.40s", fsid,
		 rados_ioctx_get_id(dev->ioctx), RBD_NAME_MAX, dev->spec.ns, image_id);
	ret = rbd_update_watch(dev->image, &dev->watch_handle, rbd_watch_cb, dev);
	if (ret < 0) {
		bs_fail(err, err_len, -ret, "rbd %s: cannot watch the image header: %s", dev->name,
			strerror(-ret));
		goto fail;
	}
	dev->watching = true;

	if (dev->spec.timeout_s > atomic_load(&rbd_max_timeout_s))
		atomic_store(&rbd_max_timeout_s, dev->spec.timeout_s);
	bs->priv = dev;
	bs->size = size;
	bs->can_unmap = true;
	bs->unmap_zeroes = true;
	bs->thin = true;
	bs->can_write_same = true;
	bs->can_caw = true;
	log_info("rbd %s: opened, %" PRIu64 " bytes, identity %s, timeout %u s", dev->name, size,
		 dev->ident, dev->spec.timeout_s);
	return 0;

fail:
	rbd_dev_free(dev);
	return ret < 0 ? ret : -EIO;
}

/* Capacity change (backstore.h), on the control thread: *size 0 re-reads the image's size
 * (after the header watch saw a resize); otherwise the image itself is resized (`invarctl lun
 * resize`; the core asks for a shrink only when forced). rbd_resize2 is synchronous, bounded
 * by the LU's timeout like every librados operation. */
static int rbd_resize_bs(struct backstore *bs, uint64_t *size, char *err, size_t err_len)
{
	struct rbd_dev *dev = bs->priv;
	uint64_t cur;
	int ret;

	ret = rbd_get_size(dev->image, &cur);
	if (ret < 0)
		return bs_fail(err, err_len, -ret, "rbd %s: cannot read the image's size: %s",
			       dev->name, strerror(-ret));
	if (!*size || *size == cur) {
		*size = cur;
		return 0;
	}
	if (bs->read_only)
		return bs_fail(err, err_len, EROFS, "rbd %s: the LU is read-only", dev->name);
	ret = rbd_resize2(dev->image, *size, true, NULL, NULL);
	if (ret < 0)
		return bs_fail(err, err_len, -ret, "rbd %s: cannot resize the image to %" PRIu64
			       " bytes: %s", dev->name, *size, strerror(-ret));
	return 0;
}

static void rbd_close_bs(struct backstore *bs)
{
	if (bs->priv)
		rbd_dev_free(bs->priv);
	bs->priv = NULL;
}

const struct backstore_ops bs_rbd_ops = {
    .size = sizeof(struct backstore_ops),
    .version = BACKSTORE_OPS_VERSION,
    .name = "rbd",
    .open = rbd_open_bs,
    .close = rbd_close_bs,
    .submit = rbd_submit,
    .lba_status = rbd_lba_status,
    .resize = rbd_resize_bs,
    .identity = rbd_identity,
};
