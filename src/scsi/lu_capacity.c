/* Capacity changes (lu_capacity.h explains the protocol). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "rt/evloop.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lu_capacity.h"
#include "scsi/lu_io.h"
#include "scsi/migsm.h"
#include "util/log.h"

/* A shrink waiting for the writes in its tail to drain. */
struct lu_shrink {
	struct lu_io io;		/* the exclusive range [new end, old end) */
	struct lu *lu;			/* held */
	uint64_t bytes, old_bytes;
	struct ev_loop *loop;
	struct ev_call_item call;	/* granted on a worker: go on on loop */
	void (*done)(void *arg, const struct lu_resize_result *r);
	void *arg;
};

static int cap_fail(struct lu_resize_result *r, int res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cap_fail(struct lu_resize_result *r, int res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->res = res;
	return res;
}

/* Under nothing; takes lu.lock. A new capacity is published (the one commands are checked
 * against): tell the initiators and the listeners. */
static void cap_announce(struct lu *lu, uint64_t old_blocks, uint64_t new_blocks)
{
	struct list_node *n;

	/* Every nexus the LU knows (a new one starts with POWER ON, which says as much). */
	lu_ua_establish_all(lu, UA_CAPACITY_CHANGED, 0);
	pthread_mutex_lock(&lu->lock);
	/* Initiator ports whose next nexus inherits UAs (a lost nexus, a migration). */
	for (unsigned i = 0; i < lu->nx.ncarry; i++)
		lu->nx.carry[i].ua_mask |= 1u << UA_CAPACITY_CHANGED;
	list_for_each(n, &lu->cap.listeners) {
		struct lu_listener *l = list_entry(n, struct lu_listener, node);

		l->capacity_changed(lu, old_blocks, new_blocks, l->arg);
	}
	pthread_mutex_unlock(&lu->lock);
	log_info("LU %s: capacity %llu -> %llu blocks of %u bytes", lu->cfg.serial,
		 (unsigned long long)old_blocks, (unsigned long long)new_blocks, lu->block_size);
}

static void cap_end(struct lu *lu)
{
	pthread_mutex_lock(&lu->lock);
	lu->cap.resizing = false;
	pthread_mutex_unlock(&lu->lock);
}

/* The tail is held and no write to it is in flight: shrink the backstore, let go. */
static void shrink_finish(struct lu_shrink *s, struct lu_resize_result *r)
{
	struct lu *lu = s->lu;
	uint64_t bsz = lu->block_size;
	char err[200];
	int ret;

	ret = backstore_resize(lu->bs, s->bytes, err, sizeof(err));
	if (ret < 0) {
		/* Nothing was cut: serve the old size again, and say so (commands refused
		 * meanwhile got LBA OUT OF RANGE, which they may retry). */
		atomic_store(&lu->num_blocks, s->old_bytes / bsz);
		cap_fail(r, ret, "%s", err);
	}
	lu_io_release(&s->io);
	if (ret < 0)
		cap_announce(lu, s->bytes / bsz, s->old_bytes / bsz);
	cap_end(lu);
}

static void shrink_resume(void *arg)
{
	struct lu_shrink *s = arg;
	struct lu_resize_result r = { .old_bytes = s->old_bytes, .new_bytes = s->bytes };

	shrink_finish(s, &r);
	if (s->done)
		s->done(s->arg, &r);
	lu_put(s->lu);
	free(s);
}

/* Granted on the thread that released the last conflicting write. */
static void shrink_granted(struct lu_io *io)
{
	struct lu_shrink *s = container_of(io, struct lu_shrink, io);

	if (!s->loop) {
		shrink_resume(s);
		return;
	}
	s->call.fn = shrink_resume;
	s->call.arg = s;
	s->call.heap = false;
	ev_call_post(s->loop, &s->call);
}

static int shrink_start(struct lu *lu, uint64_t bytes, uint64_t old_bytes, struct ev_loop *loop,
			void (*done)(void *arg, const struct lu_resize_result *r), void *arg,
			struct lu_resize_result *r)
{
	struct lu_shrink *s = calloc(1, sizeof(*s));

	if (!s) {
		cap_end(lu);
		return cap_fail(r, -ENOMEM, "out of memory");
	}
	lu_get(lu);
	s->lu = lu;
	s->bytes = bytes;
	s->old_bytes = old_bytes;
	s->loop = loop;
	s->done = done;
	s->arg = arg;
	/* The drop first, then the gate: see lu_capacity.h (and lu_io_start's check). The
	 * initiators hear of it now: from here on commands past the new end are refused. */
	atomic_store(&lu->num_blocks, bytes / lu->block_size);
	cap_announce(lu, old_bytes / lu->block_size, bytes / lu->block_size);
	if (!lu_io_acquire(&s->io, lu, NULL, bytes, old_bytes - bytes, shrink_granted, s))
		return 1;
	shrink_finish(s, r);
	lu_put(lu);
	free(s);
	return r->res;
}

int lu_set_capacity(struct lu *lu, uint64_t bytes, unsigned flags, struct ev_loop *loop,
		    void (*done)(void *arg, const struct lu_resize_result *r), void *arg,
		    struct lu_resize_result *r)
{
	uint64_t bsz = lu->block_size, old_bytes, old_blocks;
	bool reread = bytes == 0;
	char err[200];
	int ret, maint;

	memset(r, 0, sizeof(*r));
	if (!reread && bytes % bsz)
		return cap_fail(r, -EINVAL, "size %llu is not a multiple of the block size (%llu)",
				(unsigned long long)bytes, (unsigned long long)bsz);
	if (!reread && lu->bs->read_only)
		return cap_fail(r, -EROFS,
				"the LU is read-only: invard never changes its medium (grow it "
				"outside invard, then re-read its size)");
	pthread_mutex_lock(&lu->lock);
	if (lu->cap.resizing) {
		pthread_mutex_unlock(&lu->lock);
		return cap_fail(r, -EBUSY, "a capacity change of this LU is already under way");
	}
	if (lu_mig_state(lu) != MIG_RUNNING) {
		pthread_mutex_unlock(&lu->lock);
		return cap_fail(r, -EBUSY, "the LU is migrating (%s)",
				migsm_state_name(lu_mig_state(lu)));
	}
	maint = atomic_load(&lu->maint.state);
	if (maint == SBC_MAINT_SANITIZE || maint == SBC_MAINT_FORMAT) {
		pthread_mutex_unlock(&lu->lock);
		return cap_fail(r, -EBUSY, "a %s is running on the LU",
				maint == SBC_MAINT_SANITIZE ? "SANITIZE" : "FORMAT UNIT");
	}
	lu->cap.resizing = true;
	pthread_mutex_unlock(&lu->lock);

	old_blocks = lu_num_blocks(lu);
	old_bytes = old_blocks * bsz;
	if (reread) {
		ret = backstore_medium_size(lu->bs, &bytes, err, sizeof(err));
		if (ret < 0)
			goto fail;
		bytes -= bytes % bsz;
		if (!bytes) {
			ret = -EINVAL;
			snprintf(err, sizeof(err),
				 "the medium now holds less than one %llu-byte block",
				 (unsigned long long)bsz);
			goto fail;
		}
	}
	r->old_bytes = old_bytes;
	r->new_bytes = bytes;
	if (bytes > UINT64_MAX / 2) {
		ret = -EINVAL;
		snprintf(err, sizeof(err), "size %llu is too large", (unsigned long long)bytes);
		goto fail;
	}
	if (bytes == old_bytes) {
		cap_end(lu);
		return 0;
	}
	if (bytes > old_bytes) {
		ret = backstore_resize(lu->bs, bytes, err, sizeof(err));
		if (ret < 0)
			goto fail;
		atomic_store(&lu->num_blocks, bytes / bsz);
		cap_announce(lu, old_blocks, bytes / bsz);
		cap_end(lu);
		return 0;
	}
	if (!reread && !(flags & LU_RESIZE_SHRINK)) {
		ret = -EPERM;
		snprintf(err, sizeof(err),
			 "shrinking from %llu to %llu bytes discards the data past the new end; "
			 "force it (RPC \"force\", invarctl --force) to do that",
			 (unsigned long long)old_bytes, (unsigned long long)bytes);
		goto fail;
	}
	return shrink_start(lu, bytes, old_bytes, loop, done, arg, r);

fail:
	cap_end(lu);
	return cap_fail(r, ret, "%s", err);
}

void lu_listener_add(struct lu *lu, struct lu_listener *l)
{
	pthread_mutex_lock(&lu->lock);
	list_add_tail(&lu->cap.listeners, &l->node);
	pthread_mutex_unlock(&lu->lock);
}

void lu_listener_del(struct lu *lu, struct lu_listener *l)
{
	pthread_mutex_lock(&lu->lock);
	list_del(&l->node);
	pthread_mutex_unlock(&lu->lock);
}
