/* The "user" backstore: a LU whose blocks are served by an out-of-process handler over the
 * shared-memory ring of include/invar/handler-ring.h. `--lun user:NAME,size=SIZE` creates the
 * LU; whichever handler attaches under NAME on DATA_DIR/handler.sock serves it. The LU exists
 * (and answers INQUIRY, READ CAPACITY...) with or without a handler; media commands wait a
 * bounded time for one and then get BUSY. */
#include "backstore/backstore.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore_internal.h"
#include "backstore/user/user_internal.h"
#include "rt/worker.h"

static int user_open(struct backstore *bs, const struct bs_config *cfg, char *err, size_t err_len)
{
	struct user_dev *dev;
	size_t i, n;
	int ret;

	n = cfg->path ? strlen(cfg->path) : 0;
	if (!n || n > INVAR_HANDLER_NAME_MAX)
		return bs_fail(err, err_len, EINVAL, "user backstore: NAME must be 1 to %d characters",
			       INVAR_HANDLER_NAME_MAX);
	for (i = 0; i < n; i++) {
		char c = cfg->path[i];

		if (!isalnum((unsigned char)c) && c != '-' && c != '.' && c != '_')
			return bs_fail(err, err_len, EINVAL,
				       "user backstore: NAME may only use letters, digits, '-', '.', '_'");
	}
	if (!cfg->size)
		return bs_fail(err, err_len, EINVAL, "user backstore: size is required");
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return bs_fail(err, err_len, ENOMEM, "out of memory");
	memcpy(dev->name, cfg->path, n + 1);
	dev->size = cfg->size;
	atomic_init(&dev->refs, 1);
	ret = user_hub_dev_open(dev, err, err_len);
	if (ret < 0) {
		free(dev);
		return ret;
	}
	bs->priv = dev;
	bs->size = cfg->size;
	/* The ring carries UNMAP and WRITE ZEROES; a handler that does not accept them gets
	 * those commands failed, never silently ignored. */
	bs->can_unmap = true;
	bs->unmap_zeroes = true;
	bs->thin = true;
	/* READ data is sent from the data area where the handler put it (BS_IO_LEND). */
	bs->can_lend = true;
	return 0;
}

static void user_close(struct backstore *bs)
{
	if (bs->priv)
		user_hub_dev_close(bs->priv);
	bs->priv = NULL;
}

static void user_submit(struct backstore *bs, struct bs_io *io)
{
	struct user_dev *dev = bs->priv;
	struct worker *w = worker_self();

	/* PRE-FETCH is a hint the ring has no entry for (ABI 1.0): the handler keeps whatever cache
	 * it has, so there is nothing to stage from here. */
	if (io->op == BS_OP_PREFETCH) {
		io->done(io, 0);
		return;
	}
	/* Queue q belongs to worker q: only worker threads talk to handlers. */
	if (!w || w->id >= dev->nq) {
		io->done(io, -EOPNOTSUPP);
		return;
	}
	if (io->worker != w)
		user_queue_submit_sync(&dev->q[w->id], io);
	else
		user_queue_submit(&dev->q[w->id], io);
}

/* Capacity change: the ring's ABI (1.x) gives a handler the LU's size once, in the mailbox at
 * attach, and has no message to change it; serving a larger LU to a handler that believes the
 * old size would send it commands past what it knows. Re-reading reports the size there is. */
static int user_resize(struct backstore *bs, uint64_t *size, char *err, size_t err_len)
{
	if (!*size) {
		*size = backstore_size(bs);
		return 0;
	}
	return bs_fail(err, err_len, EOPNOTSUPP,
		       "user backstore: the handler ring (ABI 1.x) cannot tell a handler that its "
		       "LU changed size; delete the LUN and add it again with the new size");
}

const struct backstore_ops bs_user_ops = {
    .size = sizeof(struct backstore_ops),
    .version = BACKSTORE_OPS_VERSION,
    .name = "user",
    .open = user_open,
    .close = user_close,
    .submit = user_submit,
    .resize = user_resize,
};
