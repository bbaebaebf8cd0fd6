/* The RAM backstore: an anonymous, unreserved mapping, so a large sparse RAM disk costs
 * nothing until it is written. Different workers may write one LU at the same time: memcpy on
 * distinct ranges needs no lock, and SCSI promises no atomicity for overlapping commands
 * (SAM-5 only orders them through task attributes, which the SCSI layer handles). */
#include "backstore/backstore.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
	bs->can_unmap = true;
	bs->unmap_zeroes = true;
	bs->thin = true;
	bs->can_iov = true;
	return 0;
}

static void ram_close(struct backstore *bs)
{
	if (bs->priv)
		munmap(bs->priv, (size_t)bs->size);
	bs->priv = NULL;
}

/* UNMAP / WRITE ZEROES: whole pages go back to the kernel (MADV_DONTNEED on a private
 * anonymous mapping reads back as zeroes, SBC-3 LBPRZ); the partial pages at either end are
 * zeroed in place. WRITE ZEROES frees pages too: the result reads the same, and a RAM disk has
 * no allocation to preserve. */
static void ram_zero(char *mem, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = (off + page - 1) / page * page;
	uint64_t end = (off + len) / page * page;

	if (start >= end || madvise(mem + start, (size_t)(end - start), MADV_DONTNEED) < 0) {
		memset(mem + off, 0, (size_t)len);
		return;
	}
	memset(mem + off, 0, (size_t)(start - off));
	memset(mem + end, 0, (size_t)(off + len - end));
}

static void ram_submit(struct backstore *bs, struct bs_io *io)
{
	char *mem = bs->priv;

	/* Range already checked against bs->size by backstore_submit(). */
	switch (io->op) {
	case BS_OP_READ:
		if (io->iov)
			bs_iov_copy(io->iov, io->iovcnt, 0, mem + io->offset, io->len, true);
		else
			memcpy(io->buf, mem + io->offset, io->len);
		break;
	case BS_OP_WRITE:
		if (io->iov)
			bs_iov_copy(io->iov, io->iovcnt, 0, mem + io->offset, io->len, false);
		else
			memcpy(mem + io->offset, io->buf, io->len);
		break;
	case BS_OP_FLUSH: break; /* RAM is as durable as it gets */
	case BS_OP_UNMAP:
	case BS_OP_WRITE_ZEROES: ram_zero(mem, io->offset, io->len); break;
	default: io->done(io, -EOPNOTSUPP); return;
	}
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
