/* Backstores: where a LU's blocks live. Each backstore type is one const ops table registered
 * in backstore.c. I/O is asynchronous: submit() starts it, io->done() reports it on the thread
 * that submitted it (the worker), never from another thread. */
#ifndef INVAR_BACKSTORE_H
#define INVAR_BACKSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <stddef.h>

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
	/* A stable name of the medium that every daemon serving the same medium derives alike
	 * (rbd: the cluster fsid, pool id, namespace and image id), NUL-terminated in buf. The LU
	 * derives its serial and NAA designator from it instead of target + LUN, so gateways
	 * serving one image present one device. 0 or -errno. NULL: no such name. */
	int (*identity)(struct backstore *bs, char *buf, size_t len);
};

struct backstore {
	const struct backstore_ops *ops;
	uint64_t size;			/* bytes */
	char type[16];
	char path[PATH_MAX];		/* file path, "" for ram/null */
	bool read_only;
	/* Capabilities, set by open (false = not supported). */
	bool can_unmap;			/* BS_OP_UNMAP and BS_OP_WRITE_ZEROES work */
	bool unmap_zeroes;		/* unmapped blocks read back as zeroes (SBC-3 LBPRZ) */
	bool thin;			/* sparse: UNMAP really frees space (provisioning type thin) */
	bool can_lend;			/* READs take BS_IO_LEND (zero-copy from the backstore's memory) */
	bool can_write_same;		/* BS_OP_WRITE_SAME works */
	bool can_caw;			/* BS_OP_COMPARE_AND_WRITE works, asynchronously */
	void *priv;
};

/* Looks the type up in the registry and opens it. On error returns -errno and a reason. */
int backstore_open(const struct bs_config *cfg, struct backstore **out, char *err, size_t err_len);
void backstore_close(struct backstore *bs);
/* Fills io->bs and calls ops->submit. */
void backstore_submit(struct backstore *bs, struct bs_io *io);
/* GET LBA STATUS helper: ops->lba_status when the table has one, else "mapped" to the end. */
int backstore_lba_status(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped);
/* Daemon shutdown, before the fabric closes connections and while the workers still run: waits
 * (bounded) for the I/O that backstores hold outside the workers' loops (rbd: requests inside
 * librbd, whose completions would otherwise reach freed tasks and loops) and refuses new such
 * I/O with -EBUSY from then on. */
void backstore_quiesce(void);
/* ops->identity when the table has one; else -EOPNOTSUPP. */
int backstore_identity(struct backstore *bs, char *buf, size_t len);
/* Runs io to completion on this thread (io->worker is cleared so no ring is used; every
 * backstore then completes before submit returns). io->done/priv are overwritten. Returns the
 * result (0 or -errno). For paths that must not leave an I/O in flight (COMPARE AND WRITE). */
int backstore_io_sync(struct backstore *bs, struct bs_io *io);
/* The registered ops for a type name, or NULL. */
const struct backstore_ops *backstore_find(const char *type);

extern const struct backstore_ops bs_file_ops;
extern const struct backstore_ops bs_ram_ops;
extern const struct backstore_ops bs_null_ops;
extern const struct backstore_ops bs_user_ops;	/* out-of-process handler (backstore/user) */
extern const struct backstore_ops bs_rbd_ops;	/* Ceph RBD images (backstore/rbd) */

#endif
