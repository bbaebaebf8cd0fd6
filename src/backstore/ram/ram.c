/* The RAM backstore: an anonymous, unreserved mapping, so a large sparse RAM disk costs
 * nothing until it is written. Different workers may write one LU at the same time: memcpy on
 * distinct ranges needs no lock, and SCSI promises no atomicity for overlapping commands
 * (SAM-5 only orders them through task attributes, which the SCSI layer handles).
 *
 * Capacity change: the mapping never moves while workers copy to and from it. open reserves
 * more address space than the size (RAM_RESERVE_EXTRA, unbacked: MAP_NORESERVE pages cost
 * nothing until touched), so growing is publishing a larger size over zeroed pages; past the
 * reservation the mapping is extended in place when the address space after it is free, and
 * the resize fails otherwise. Shrinking gives the tail's pages back (MADV_DONTNEED). */
#include "backstore/backstore.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backstore/backstore_internal.h"

#define RAM_RESERVE_EXTRA (16ull << 30)	/* address space kept free to grow into */

struct ram_bs {
	char *mem;
	uint64_t mapped;	/* bytes of the mapping, >= bs->size; control thread */
};

static void *ram_map(uint64_t len)
{
	return mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

static int ram_open(struct backstore *bs, const struct bs_config *cfg, char *err, size_t err_len)
{
	struct ram_bs *r;
	uint64_t want;

	if (!cfg->size)
		return bs_fail(err, err_len, EINVAL, "ram backstore: size is required (> 0)");
	if (cfg->size > SIZE_MAX / 2)
		return bs_fail(err, err_len, EFBIG,
			       "ram backstore: size too large for this system");
	r = calloc(1, sizeof(*r));
	if (!r)
		return bs_fail(err, err_len, ENOMEM, "out of memory");
	/* The reservation is a convenience: without the address space for it, map the size. */
	want = cfg->size + (cfg->size > RAM_RESERVE_EXTRA ? cfg->size : RAM_RESERVE_EXTRA);
	r->mem = ram_map(want);
	if (r->mem == MAP_FAILED) {
		want = cfg->size;
		r->mem = ram_map(want);
	}
	if (r->mem == MAP_FAILED) {
		int e = errno;

		free(r);
		return bs_fail(err, err_len, e, "ram backstore: cannot map %llu bytes: %s",
			       (unsigned long long)cfg->size, strerror(e));
	}
	r->mapped = want;
	bs->size = cfg->size;
	bs->path[0] = '\0';
	bs->priv = r;
	bs->can_unmap = true;
	bs->unmap_zeroes = true;
	bs->thin = true;
	bs->can_iov = true;
	return 0;
}

static void ram_close(struct backstore *bs)
{
	struct ram_bs *r = bs->priv;

	if (r) {
		munmap(r->mem, (size_t)r->mapped);
		free(r);
	}
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
	char *mem = ((struct ram_bs *)bs->priv)->mem;

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

/* Capacity change (backstore.h). Nothing reads or writes past the old size while this runs
 * (the range checks use it until the caller publishes the new one), so the grown range can be
 * zeroed here: it may hold what a shrink left. */
static int ram_resize(struct backstore *bs, uint64_t *size, char *err, size_t err_len)
{
	struct ram_bs *r = bs->priv;
	uint64_t old = backstore_size(bs);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	void *m;

	if (!*size) {
		*size = old; /* memory has no size of its own to re-read */
		return 0;
	}
	if (*size > SIZE_MAX / 2)
		return bs_fail(err, err_len, EFBIG,
			       "ram backstore: size too large for this system");
	if (*size > r->mapped) {
		/* In place or not at all: workers are copying through r->mem. */
		m = mremap(r->mem, (size_t)r->mapped, (size_t)*size, 0);
		if (m == MAP_FAILED)
			return bs_fail(err, err_len, ENOSPC,
				       "ram backstore: cannot grow past %llu bytes in place (%s); "
				       "create a new LU of the size wanted",
				       (unsigned long long)r->mapped, strerror(errno));
		r->mapped = *size;
	}
	if (*size > old) {
		ram_zero(r->mem, old, *size - old);
	} else if (*size < old) {
		uint64_t start = (*size + page - 1) / page * page;

		/* Whole pages only: a read still in flight there sees data or zeroes. */
		if (start < old)
			madvise(r->mem + start, (size_t)(old - start), MADV_DONTNEED);
	}
	return 0;
}

const struct backstore_ops bs_ram_ops = {
    .size = sizeof(struct backstore_ops),
    .version = BACKSTORE_OPS_VERSION,
    .name = "ram",
    .open = ram_open,
    .close = ram_close,
    .submit = ram_submit,
    .resize = ram_resize,
};
