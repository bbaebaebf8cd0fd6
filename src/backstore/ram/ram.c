/* The RAM backstore: an anonymous, unreserved mapping, so a large sparse RAM disk costs
 * nothing until it is written. Different workers may write one LU at the same time: memcpy on
 * distinct ranges needs no lock, and SCSI promises no atomicity for overlapping commands
 * (SAM-5 only orders them through task attributes, which the SCSI layer handles). */
#include "backstore/backstore.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "backstore/backstore_internal.h"

static int ram_open(struct backstore *bs, const struct bs_config *cfg, char *err, size_t err_len)
{
	void *mem;

	if (!cfg->size)
		return bs_fail(err, err_len, EINVAL, "ram backstore: size is required (> 0)");
	if (cfg->size > SIZE_MAX)
		return bs_fail(err, err_len, EFBIG,
			       "ram backstore: size too large for this system");
	mem = mmap(NULL, (size_t)cfg->size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return bs_fail(err, err_len, errno, "ram backstore: cannot map %llu bytes: %s",
			       (unsigned long long)cfg->size, strerror(errno));
	bs->size = cfg->size;
	bs->path[0] = '\0';
	bs->priv = mem;
	return 0;
}

static void ram_close(struct backstore *bs)
{
	if (bs->priv)
		munmap(bs->priv, (size_t)bs->size);
	bs->priv = NULL;
}

static void ram_submit(struct backstore *bs, struct bs_io *io)
{
	char *mem = bs->priv;

	/* Range already checked against bs->size by backstore_submit(). */
	if (io->op == BS_OP_READ)
		memcpy(io->buf, mem + io->offset, io->len);
	else if (io->op == BS_OP_WRITE)
		memcpy(mem + io->offset, io->buf, io->len);
	/* FLUSH: RAM is as durable as it gets. */
	io->done_bytes = io->len;
	io->done(io, 0);
}

const struct backstore_ops bs_ram_ops = {
    .size = sizeof(struct backstore_ops),
    .version = BACKSTORE_OPS_VERSION,
    .name = "ram",
    .open = ram_open,
    .close = ram_close,
    .submit = ram_submit,
};
