/* Backstores: where a LU's blocks live. Each backstore type is one const ops table registered
 * in backstore.c. I/O is asynchronous: submit() starts it, io->done() reports it on the thread
 * that submitted it (the worker), never from another thread. */
#ifndef INVAR_BACKSTORE_H
#define INVAR_BACKSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <stddef.h>
#include <sys/uio.h>

#include "rt/worker.h"

#define BACKSTORE_OPS_VERSION 1

enum bs_opcode {
	BS_OP_READ = 1,
	BS_OP_WRITE,
	BS_OP_FLUSH,		/* make every completed write durable (SYNCHRONIZE CACHE) */
	/* Added in the same ops version (opcodes are additive; a backstore that does not know
	 * one completes it with -EOPNOTSUPP). Neither takes a buffer. */
	BS_OP_UNMAP,		/* deallocate [offset, offset+len); reads back as zeroes when
				 * bs->unmap_zeroes (partial granules are zeroed) */
	BS_OP_WRITE_ZEROES,	/* make [offset, offset+len) read as zeroes, still allocated */
	BS_OP_PREFETCH,		/* start staging [offset, offset+len) for reading (PRE-FETCH); a
				 * backstore that holds its data in memory answers -EOPNOTSUPP */
	/* Optional, offered when the backstore sets the matching capability (the SCSI core
	 * falls back to READ/WRITE otherwise). */
	BS_OP_WRITE_SAME,	/* can_write_same: fill [offset, offset+len) with buf's same_len
				 * bytes, repeated (len a multiple of same_len) */
	BS_OP_COMPARE_AND_WRITE, /* can_caw: buf holds len bytes to compare, then len to write;
				 * atomically: when the medium equals the first half, write the
				 * second, else -EILSEQ with io->miscompare = the first differing
				 * byte's offset from offset. Atomic against every other writer of the
				 * medium, other gateways included (SBC-3 5.2). -EOPNOTSUPP: not
				 * for this range (the core then reads, compares and writes under its
				 * own range lock). */
};

#define BS_IO_FUA (1u << 0)	/* this write is durable before done() (FUA, or WCE=0) */
/* READ, only on a backstore with can_lend: buf is NULL, and on success the backstore sets buf to
 * len bytes of its own and buf_return; the caller reads them in place (no copy) and hands them
 * back with io->buf_return(io) when done, from any thread. */
#define BS_IO_LEND (1u << 1)

struct backstore;

struct bs_io {
	enum bs_opcode op;
	uint32_t flags;		/* BS_IO_* */
	uint64_t offset;	/* bytes */
	uint64_t len;		/* bytes; 0 for FLUSH */
	void *buf;		/* len bytes, contiguous */
	struct worker *worker;	/* the submitting thread's worker (NULL: caller is not a worker) */
	/* res: 0, or -errno (-EIO, -ENOSPC, -EDQUOT, -EROFS...). */
	void (*done)(struct bs_io *io, int res);
	void *priv;		/* the caller's */
	uint32_t same_len;	/* BS_OP_WRITE_SAME: bytes in buf (one logical block) */
	uint64_t miscompare;	/* BS_OP_COMPARE_AND_WRITE, -EILSEQ: set by the backstore */
	/* BS_IO_LEND: set by the backstore when buf is its own; NULL when it filled nothing. */
	void (*buf_return)(struct bs_io *io);
	/* Scatter-gather data instead of buf (READ and WRITE only; buf is then NULL): iovcnt
	 * segments holding exactly len bytes, e.g. a guest's memory (fabric/vhost). The backstore
	 * may change the array as it goes (a short transfer advances it); the caller keeps it
	 * until done(). A backstore without can_iov gets a bounce buffer from backstore_submit(). */
	struct iovec *iov;
	unsigned iovcnt;

	/* Private to the backstore. */
	struct uring_req ureq;
	uint64_t done_bytes;
	struct backstore *bs;
	uint64_t lend;		/* BS_IO_LEND: what buf_return gives back */
};

struct bs_config {
	const char *type;	/* "file", "ram", "null", "user", "rbd" */
	const char *path;	/* file: regular file or block device; user: the handler NAME;
				 * rbd: POOL/IMAGE[,options] (backstore/rbd/rbd_spec.h) */
	uint64_t size;		/* bytes; 0 = take it from the file (file) */
	bool create;		/* file: create (sparse) if missing, with size */
	bool read_only;		/* writes fail with -EROFS; file: opened O_RDONLY, never created
				 * or grown */
};

struct backstore_ops {
	uint32_t size;		/* sizeof(struct backstore_ops) the table was built with */
	uint32_t version;	/* BACKSTORE_OPS_VERSION */
	const char *name;
	/* Open/create; sets bs->size (bytes) and may set bs->priv. Returns 0 or -errno; on error
	 * fills err (a human reason) when err_len > 0. */
	int (*open)(struct backstore *bs, const struct bs_config *cfg, char *err, size_t err_len);
	void (*close)(struct backstore *bs);
	void (*submit)(struct backstore *bs, struct bs_io *io);
	/* Optional fields: only ever appended, read only when size says the table has them
	 * (backstore_lba_status() checks). */
	/* Provisioning status of the extent starting at offset (GET LBA STATUS, SBC-3 5.20):
	 * sets *mapped and *len (bytes, > 0, <= bs->size - offset) for the run of the same
	 * status. Synchronous and cheap (file: SEEK_DATA/SEEK_HOLE). 0 or -errno. NULL: every
	 * block is mapped. */
	int (*lba_status)(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped);
	/* Capacity change (backstore_resize() checks the table and calls it). *size is the size
	 * wanted in bytes, or 0 to re-read the medium's own size (a file or device grown outside
	 * invard); on success it holds the new size, which the caller then publishes in bs->size.
	 * Runs on the control thread while workers do I/O: what they can reach below
	 * min(old, new) must stay valid throughout. When shrinking, the caller has drained every
	 * write to the cut-off tail first; reads of it may still be in flight and must not crash
	 * (they may return zeroes). Growth exposes zeroes. 0 or -errno with a reason in err.
	 * NULL: the type cannot change size (-EOPNOTSUPP). */
	int (*resize)(struct backstore *bs, uint64_t *size, char *err, size_t err_len);
	/* A stable name of the medium that every daemon serving the same medium derives alike
	 * (rbd: the cluster fsid, pool id, namespace and image id), NUL-terminated in buf. The LU
	 * derives its serial and NAA designator from it instead of target + LUN, so gateways
	 * serving one image present one device. 0 or -errno. NULL: no such name. */
	int (*identity)(struct backstore *bs, char *buf, size_t len);
};

struct backstore {
	const struct backstore_ops *ops;
	/* bytes; set by open, changed only by backstore_resize() on the control thread while
	 * workers read it: read it with backstore_size() outside open. */
	uint64_t size;
	char type[16];
	char path[PATH_MAX];		/* file path, "" for ram/null */
	bool read_only;
	/* Capabilities, set by open (false = not supported). */
	bool can_unmap;			/* BS_OP_UNMAP and BS_OP_WRITE_ZEROES work */
	bool unmap_zeroes;		/* unmapped blocks read back as zeroes (SBC-3 LBPRZ) */
	bool thin;			/* sparse: UNMAP really frees space (provisioning type thin) */
	bool can_lend;			/* READs take BS_IO_LEND (zero-copy from the backstore's memory) */
	bool can_iov;			/* READ/WRITE take io->iov (else backstore_submit bounces) */
	bool can_write_same;		/* BS_OP_WRITE_SAME works */
	bool can_caw;			/* BS_OP_COMPARE_AND_WRITE works, asynchronously */
	void *priv;
	/* The medium changed size outside invard (rbd: `rbd resize`, seen by the header watch):
	 * a backstore that can tell calls backstore_medium_changed(), from any thread (librbd's).
	 * The owner (target/target.c) sets it once, before I/O, with backstore_set_medium_watch;
	 * it must not block: it posts the work (a capacity re-read) to the owner's thread. */
	void (*medium_changed)(struct backstore *bs, void *arg);
	void *medium_arg;
};

/* Looks the type up in the registry and opens it. On error returns -errno and a reason. */
int backstore_open(const struct bs_config *cfg, struct backstore **out, char *err, size_t err_len);
void backstore_close(struct backstore *bs);
/* Fills io->bs and calls ops->submit. */
void backstore_submit(struct backstore *bs, struct bs_io *io);
/* GET LBA STATUS helper: ops->lba_status when the table has one, else "mapped" to the end. */
int backstore_lba_status(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped);
/* bs->size, read where a resize may race (any thread). */
static inline uint64_t backstore_size(const struct backstore *bs)
{
	return __atomic_load_n(&bs->size, __ATOMIC_ACQUIRE);
}
/* Capacity change, control thread only; both 0 or -errno with a reason in err (-EOPNOTSUPP:
 * this type cannot change size). medium_size: the size the medium itself has now (a file or
 * device may have grown outside invard), changing nothing. resize: make it bytes (> 0) and
 * publish that in bs->size; a read-only backstore only accepts a size that changes nothing
 * in its file. */
int backstore_medium_size(struct backstore *bs, uint64_t *out, char *err, size_t err_len);
int backstore_resize(struct backstore *bs, uint64_t bytes, char *err, size_t err_len);
/* Daemon shutdown, before the fabric closes connections and while the workers still run: waits
 * (bounded) for the I/O that backstores hold outside the workers' loops (rbd: requests inside
 * librbd, whose completions would otherwise reach freed tasks and loops) and refuses new such
 * I/O with -EBUSY from then on. */
void backstore_quiesce(void);
/* See struct backstore's medium_changed. set: the owner's thread, once; changed: any thread,
 * a no-op until set. */
void backstore_set_medium_watch(struct backstore *bs,
				void (*fn)(struct backstore *bs, void *arg), void *arg);
void backstore_medium_changed(struct backstore *bs);
/* ops->identity when the table has one; else -EOPNOTSUPP. */
int backstore_identity(struct backstore *bs, char *buf, size_t len);
/* Runs io to completion on this thread (io->worker is cleared so no ring is used; every
 * backstore then completes before submit returns). io->done/priv are overwritten. Returns the
 * result (0 or -errno). For paths that must not leave an I/O in flight (COMPARE AND WRITE). */
int backstore_io_sync(struct backstore *bs, struct bs_io *io);
/* Copies between buf and the iovecs after skipping skip bytes of them (to_iov: buf -> iovecs);
 * returns the bytes copied, at most len. */
size_t bs_iov_copy(struct iovec *iov, unsigned iovcnt, uint64_t skip, void *buf, size_t len,
		   bool to_iov);
/* Consumes n bytes at the front of io->iov/iovcnt (a backstore's short transfer). */
void bs_iov_advance(struct bs_io *io, uint64_t n);
/* The registered ops for a type name, or NULL. */
const struct backstore_ops *backstore_find(const char *type);

extern const struct backstore_ops bs_file_ops;
extern const struct backstore_ops bs_ram_ops;
extern const struct backstore_ops bs_null_ops;
extern const struct backstore_ops bs_user_ops;	/* out-of-process handler (backstore/user) */
extern const struct backstore_ops bs_rbd_ops;	/* Ceph RBD images (backstore/rbd) */

#endif
