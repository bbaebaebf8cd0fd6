/* The null backstore: a disk of a given size that reads zeroes and forgets what is written.
 * Useful to measure the fabric and SCSI layers without storage in the way. */
#include "backstore/backstore.h"

#include <errno.h>
#include <string.h>

#include "backstore/backstore_internal.h"

static int null_open(struct backstore *bs, const struct bs_config *cfg, char *err, size_t err_len)
{
	if (!cfg->size)
		return bs_fail(err, err_len, EINVAL, "null backstore: size is required (> 0)");
	bs->size = cfg->size;
	bs->path[0] = '\0';
	/* Reads are always zeroes: unmapping is trivially true to LBPRZ. */
	bs->can_unmap = true;
	bs->unmap_zeroes = true;
	bs->thin = true;
	bs->can_iov = true;
	return 0;
}

static void null_close(struct backstore *bs)
{
}

static void null_submit(struct backstore *bs, struct bs_io *io)
{
	if (io->op == BS_OP_READ && io->iov) {
		for (unsigned i = 0; i < io->iovcnt; i++)
			memset(io->iov[i].iov_base, 0, io->iov[i].iov_len);
	} else if (io->op == BS_OP_READ) {
		memset(io->buf, 0, io->len);
	}
	else if (io->op != BS_OP_WRITE && io->op != BS_OP_FLUSH && io->op != BS_OP_UNMAP &&
		 io->op != BS_OP_WRITE_ZEROES) {
		io->done(io, -EOPNOTSUPP);
		return;
	}
	io->done_bytes = io->len;
	io->done(io, 0);
}

/* Capacity change: a null disk is any size (0: re-read, which changes nothing). */
static int null_resize(struct backstore *bs, uint64_t *size, char *err, size_t err_len)
{
	(void)err;
	(void)err_len;
	if (!*size)
		*size = backstore_size(bs);
	return 0;
}

const struct backstore_ops bs_null_ops = {
    .size = sizeof(struct backstore_ops),
    .version = BACKSTORE_OPS_VERSION,
    .name = "null",
    .open = null_open,
    .close = null_close,
    .submit = null_submit,
    .resize = null_resize,
};
