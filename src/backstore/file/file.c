/* The file backstore: a regular file or a block device, through the page cache (no O_DIRECT).
 * I/O goes on the submitting worker's io_uring; durability comes from RWF_DSYNC (FUA, or a
 * write with WCE=0) and fdatasync (SYNCHRONIZE CACHE). Callers that are not on a worker thread
 * (unit tests, the control plane) get the same semantics synchronously. */
#include "backstore/backstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <linux/magic.h>
#include <linux/falloc.h>
#include <liburing.h> /* brings <linux/fs.h>: BLKGETSIZE64 */

#include "backstore/backstore_internal.h"
#include "backstore/file/filemap.h"
#include "backstore/file/wr_backoff.h"
#include "util/list.h"
#include "util/log.h"

/* UNMAP is a hole punch (FALLOC_FL_PUNCH_HOLE: partial file-system blocks are zeroed, whole
 * ones freed; reads of the range return zeroes, so LBPRZ holds); WRITE ZEROES is ZERO_RANGE.
 * Both keep the file size. A block device takes the same fallocate modes (Linux >= 4.9, which
 * guarantees zeroes); where fallocate is refused we fall back to BLKZEROOUT or writing zeroes,
 * so the zeroes promise never depends on the file system. */
#define FILE_UNMAP_MODE (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define FILE_ZERO_MODE (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)

/* One read/write submission at most: a CQE result is an int, and Linux caps a single transfer
 * at 0x7ffff000 bytes anyway. Longer I/Os continue as short transfers. */
#define FILE_IO_CHUNK (1u << 30)

/* How a worker runs reads and writes of the file (chosen at open, see file_inline_mode):
 * - FILE_INLINE_ALL: the file lives in memory (tmpfs, ramfs): a read or write is a copy to or
 *   from page cache that never waits for a device, so it is done with a plain pread/pwrite on
 *   the worker thread. io_uring would punt it to an io-wq thread (tmpfs has no RWF_NOWAIT
 *   support), which costs a thread switch and a task-work IPI per I/O.
 * - FILE_INLINE_NOWAIT: reads first try preadv2(RWF_NOWAIT), served inline when the data is in
 *   the page cache; a miss (EAGAIN) or the rest of a short read goes to io_uring. Writes
 *   without FUA to a regular file follow enum file_wr below.
 * - FILE_INLINE_NONE: everything on io_uring (a kernel refused RWF_NOWAIT). */
enum file_inline {
	FILE_INLINE_NONE,
	FILE_INLINE_NOWAIT,
	FILE_INLINE_ALL,
};

/* Buffered writes without FUA to a regular file on a disk file system (FILE_INLINE_NOWAIT):
 * - FILE_WR_NOWAIT: pwritev2(RWF_NOWAIT) on the worker, like the reads (XFS and btrfs take
 *   it); EAGAIN, or the rest of a short write, goes to io_uring.
 * - FILE_WR_TIMED: the file system refuses RWF_NOWAIT writes (ext4: EOPNOTSUPP), and io_uring
 *   would hand every write to an io-wq thread: about 27 us of CPU for a 4 KiB write that
 *   costs 9-11 us as a plain pwrite (docs/design/performance-notes.md). So page-aligned
 *   writes (no read-modify-write of a page that may not be cached) are a plain pwrite on the
 *   worker, watched: one that slept (a voluntary context switch: dirty-page throttling, a
 *   journal or lock wait) for longer than FILE_WR_SLOW_NS sends the file's writes back to
 *   io_uring for a back-off that doubles while such writes keep coming soon after one ends
 *   (1 s up to 64 s), so a throttled disk stalls a worker once per back-off, never once per
 *   write. Being preempted is not sleeping: on a busy host it would otherwise look like a slow
 *   disk.
 * - FILE_WR_RING: everything on io_uring (a block device, a read-only LU). */
enum file_wr {
	FILE_WR_RING,
	FILE_WR_NOWAIT,
	FILE_WR_TIMED,
};

#define FILE_WR_SLOW_NS 1000000ull	      /* 1 ms; a page-cache write takes ~10 us */
#define FILE_PAGE 4096u

struct file_bs {
	int fd;
	bool is_blk;
	enum file_inline inl;
	/* enum file_wr; a worker may move it from NOWAIT to TIMED. With FILE_WR_TIMED, writes
	 * go to io_uring until wr_ring_until (CLOCK_MONOTONIC ns, 0: never), and wr_backoff is
	 * the last back-off. Shared by the workers, relaxed: a stale value costs one write's
	 * path, or one back-off's length. */
	_Atomic int wr;
	_Atomic uint64_t wr_ring_until;
	_Atomic uint64_t wr_backoff;
	/* FILE_INLINE_ALL files without holes are also mapped (filemap.h): reads, and writes
	 * without FUA, are a guarded memcpy. map_ok goes false for good at the first UNMAP (a
	 * read fault would fill the new hole); any worker may clear it. */
	char *map;
	uint64_t map_len;
	bool map_writable;
	atomic_bool map_ok;
};

int bs_file_fd(const struct backstore *bs)
{
	const struct file_bs *f;

	if (!bs || bs->ops != &bs_file_ops || !bs->priv)
		return -1;
	f = bs->priv;
	return f->fd;
}

/* Give a clear reason when the directory a file should live in is missing. */
static int file_check_parent(const char *path, char *err, size_t err_len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return bs_fail(err, err_len, ENAMETOOLONG, "file backstore: path too long");
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return bs_fail(err, err_len, ENOENT,
				       "file backstore: parent directory %s does not exist", dir);
		return bs_fail(err, err_len, errno, "file backstore: parent directory %s: %s", dir,
			       strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return bs_fail(err, err_len, ENOTDIR, "file backstore: %s is not a directory", dir);
	return 0;
}

/* Open (or create) cfg->path; sets *created when this call made the file. */
static int file_open_fd(const struct bs_config *cfg, bool *created, char *err, size_t err_len)
{
	int fd, ret, e;

	*created = false;
	if (cfg->read_only) {
		/* A read-only LU never creates, grows or writes its file. */
		fd = open(cfg->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		return bs_fail(err, err_len, errno, "file backstore: cannot open %s read-only: %s",
			       cfg->path, strerror(errno));
	}
	fd = open(cfg->path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && cfg->create) {
		if (!cfg->size)
			return bs_fail(
			    err, err_len, EINVAL,
			    "file backstore: %s does not exist and size is required to create it",
			    cfg->path);
		ret = file_check_parent(cfg->path, err, err_len);
		if (ret < 0)
			return ret;
		/* 0600: a disk image holds someone's data. */
		fd = open(cfg->path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
		if (fd >= 0)
			*created = true;
		else if (errno == EEXIST) /* created by someone else meanwhile */
			fd = open(cfg->path, O_RDWR | O_CLOEXEC);
	}
	if (fd >= 0)
		return fd;

	e = errno;
	if (e == ENOENT) {
		ret = file_check_parent(cfg->path, err, err_len);
		if (ret < 0)
			return ret;
		return bs_fail(err, err_len, ENOENT,
			       "file backstore: %s does not exist (set create to make it)",
			       cfg->path);
	}
	return bs_fail(err, err_len, e, "file backstore: cannot open %s: %s", cfg->path,
		       strerror(e));
}

/* Work out the exposed size; grows a regular file (sparsely) to cfg->size if needed. */
static int file_size_setup(int fd, const struct bs_config *cfg, bool created, bool *is_blk,
			   uint64_t *size, char *err, size_t err_len)
{
	struct stat st;
	uint64_t dev_size;

	if (fstat(fd, &st) < 0)
		return bs_fail(err, err_len, errno, "file backstore: stat %s: %s", cfg->path,
			       strerror(errno));

	if (S_ISBLK(st.st_mode)) {
		*is_blk = true;
		if (ioctl(fd, BLKGETSIZE64, &dev_size) < 0)
			return bs_fail(err, err_len, errno, "file backstore: %s: BLKGETSIZE64: %s",
				       cfg->path, strerror(errno));
		if (cfg->size > dev_size)
			return bs_fail(
			    err, err_len, EINVAL,
			    "file backstore: size %llu is larger than block device %s (%llu bytes)",
			    (unsigned long long)cfg->size, cfg->path, (unsigned long long)dev_size);
		*size = cfg->size ? cfg->size : dev_size;
		if (!*size)
			return bs_fail(err, err_len, EINVAL,
				       "file backstore: block device %s has size 0", cfg->path);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return bs_fail(err, err_len, EINVAL,
			       "file backstore: %s is not a regular file or block device",
			       cfg->path);

	*is_blk = false;
	if (cfg->size > (uint64_t)INT64_MAX)
		return bs_fail(err, err_len, EFBIG, "file backstore: size too large");
	if (!cfg->size) {
		if (st.st_size <= 0)
			return bs_fail(err, err_len, EINVAL,
				       "file backstore: %s is empty; give a size to grow it",
				       cfg->path);
		*size = (uint64_t)st.st_size;
		return 0;
	}
	*size = cfg->size;
	/* A file created just now has size 0 and is grown here: sparse, no blocks allocated. A
	 * larger existing file is left alone and its first cfg->size bytes are exposed. */
	if (cfg->read_only && cfg->size > (uint64_t)st.st_size)
		return bs_fail(err, err_len, EINVAL,
			       "file backstore: %s is smaller than size and the LU is read-only",
			       cfg->path);
	if (created || cfg->size > (uint64_t)st.st_size) {
		if (ftruncate(fd, (off_t)cfg->size) < 0)
			return bs_fail(err, err_len, errno,
				       "file backstore: cannot size %s to %llu: %s", cfg->path,
				       (unsigned long long)cfg->size, strerror(errno));
	}
	return 0;
}

/* Memory-backed file systems, where I/O to the page cache is all there is. (A swapped-out
 * tmpfs page is read back from swap: rare, and bounded like a page fault.) */
static enum file_inline file_inline_mode(int fd, bool is_blk)
{
	struct statfs sfs;

	if (is_blk)
		return FILE_INLINE_NOWAIT;
	if (fstatfs(fd, &sfs) == 0 &&
	    (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC))
		return FILE_INLINE_ALL;
	return FILE_INLINE_NOWAIT;
}

static int file_open(struct backstore *bs, const struct bs_config *cfg, char *err, size_t err_len)
{
	struct file_bs *f;
	bool created, is_blk = false;
	uint64_t size = 0;
	int fd, ret;

	if (!cfg->path || !cfg->path[0])
		return bs_fail(err, err_len, EINVAL, "file backstore: path is required");

	fd = file_open_fd(cfg, &created, err, err_len);
	if (fd < 0)
		return fd;
	ret = file_size_setup(fd, cfg, created, &is_blk, &size, err, err_len);
	if (ret < 0)
		goto out_close;

	f = calloc(1, sizeof(*f));
	if (!f) {
		ret = bs_fail(err, err_len, ENOMEM, "out of memory");
		goto out_close;
	}
	f->fd = fd;
	f->is_blk = is_blk;
	f->inl = file_inline_mode(fd, is_blk);
	if (f->inl == FILE_INLINE_ALL) {
		f->map = filemap_open(fd, size, !cfg->read_only);
		f->map_len = f->map ? size : 0;
		f->map_writable = !cfg->read_only;
	}
	atomic_init(&f->map_ok, f->map != NULL);
	atomic_init(&f->wr, f->inl == FILE_INLINE_NOWAIT && !is_blk && !cfg->read_only
				? FILE_WR_NOWAIT
				: FILE_WR_RING);
	atomic_init(&f->wr_ring_until, 0);
	atomic_init(&f->wr_backoff, FILE_WR_BACKOFF_MIN_NS);
	bs->priv = f;
	bs->size = size;
	bs->can_unmap = true;
	bs->unmap_zeroes = true;
	/* A regular file is sparse-capable (holes); a block device's provisioning is its own. */
	bs->thin = !is_blk;
	bs->can_iov = true;
	return 0;

out_close:
	close(fd);
	if (created)
		unlink(cfg->path);
	return ret;
}

/* Callers must have completed every I/O before closing (the LU holds the backstore). */
static void file_close(struct backstore *bs)
{
	struct file_bs *f = bs->priv;

	if (!f)
		return;
	filemap_close(f->map, f->map_len);
	close(f->fd);
	free(f);
	bs->priv = NULL;
}

/* A transfer returned 0 bytes before io->len was reached. A regular file read past EOF reads
 * as zeroes (the file may have been truncated under us); anything else is an error: never
 * retry a transfer that makes no progress. */
static int file_no_progress(struct file_bs *f, struct bs_io *io)
{
	if (io->op == BS_OP_READ && !f->is_blk) {
		if (io->iov) {
			for (unsigned i = 0; i < io->iovcnt; i++)
				memset(io->iov[i].iov_base, 0, io->iov[i].iov_len);
			bs_iov_advance(io, io->len - io->done_bytes);
		} else {
			memset((char *)io->buf + io->done_bytes, 0, io->len - io->done_bytes);
		}
		io->done_bytes = io->len;
		return 0;
	}
	return -EIO;
}

static uint32_t file_chunk(const struct bs_io *io)
{
	uint64_t left = io->len - io->done_bytes;

	return left > FILE_IO_CHUNK ? FILE_IO_CHUNK : (uint32_t)left;
}

/* Zeroes by writing them: the fallback when neither fallocate mode is available. */
static int file_write_zeroes(struct file_bs *f, uint64_t off, uint64_t len)
{
	static const char zeroes[64 * 1024];

	while (len) {
		size_t n = len > sizeof(zeroes) ? sizeof(zeroes) : (size_t)len;
		ssize_t r = pwrite(f->fd, zeroes, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* UNMAP / WRITE ZEROES synchronously, with the fallbacks. 0 or -errno. */
static int file_sync_zero(struct file_bs *f, struct bs_io *io)
{
	int mode = io->op == BS_OP_UNMAP ? FILE_UNMAP_MODE : FILE_ZERO_MODE;

	if (fallocate(f->fd, mode, (off_t)io->offset, (off_t)io->len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOTTY)
		return -errno;
	if (mode == FILE_UNMAP_MODE &&
	    fallocate(f->fd, FILE_ZERO_MODE, (off_t)io->offset, (off_t)io->len) == 0)
		return 0;
	if (f->is_blk) {
		uint64_t range[2] = { io->offset, io->len };

		if (ioctl(f->fd, BLKZEROOUT, range) == 0)
			return 0;
	}
	return file_write_zeroes(f, io->offset, io->len);
}

/* Scatter-gather READ/WRITE (io->iov, e.g. a vhost-user guest's memory): the data moves straight
 * between the file and the caller's segments. On a worker a read first tries the page cache
 * (preadv2 RWF_NOWAIT), then io_uring readv/writev (RWF_DSYNC for FUA); elsewhere, or when the
 * ring refuses, blocking preadv2/pwritev2. A short transfer advances io->iov and goes on. */
static int file_iovcnt(const struct bs_io *io)
{
	return io->iovcnt > IOV_MAX ? IOV_MAX : (int)io->iovcnt;
}

static int file_iov_sync(struct file_bs *f, struct bs_io *io)
{
	bool dsync_after = false;

	while (io->done_bytes < io->len) {
		off_t off = (off_t)(io->offset + io->done_bytes);
		ssize_t r;

		if (io->op == BS_OP_READ) {
			r = preadv(f->fd, io->iov, file_iovcnt(io), off);
		} else if ((io->flags & BS_IO_FUA) && !dsync_after) {
			r = pwritev2(f->fd, io->iov, file_iovcnt(io), off, RWF_DSYNC);
			if (r < 0 && errno == EOPNOTSUPP) {
				dsync_after = true;
				continue;
			}
		} else {
			r = pwritev(f->fd, io->iov, file_iovcnt(io), off);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return file_no_progress(f, io);
		if ((uint64_t)r > io->len - io->done_bytes)
			return -EIO;
		io->done_bytes += (uint64_t)r;
		bs_iov_advance(io, (uint64_t)r);
	}
	if (dsync_after && fdatasync(f->fd) < 0)
		return -errno;
	return 0;
}

/* A scatter-gather read from the page cache on this thread; true when io is finished. */
static bool file_iov_read_nowait(struct file_bs *f, struct bs_io *io)
{
	while (io->done_bytes < io->len) {
		ssize_t r = preadv2(f->fd, io->iov, file_iovcnt(io),
				    (off_t)(io->offset + io->done_bytes), RWF_NOWAIT);

		if (r < 0) {
			if (errno == EOPNOTSUPP || errno == EINVAL)
				f->inl = FILE_INLINE_NONE;
			return false;
		}
		if (r == 0 || (uint64_t)r > io->len - io->done_bytes)
			return false;
		io->done_bytes += (uint64_t)r;
		bs_iov_advance(io, (uint64_t)r);
	}
	io->done(io, 0);
	return true;
}

/* The rest of io, synchronously on this thread. Returns 0 or -errno. */
static int file_sync_io(struct file_bs *f, struct bs_io *io)
{
	bool dsync_after = false;
	ssize_t r;

	if (io->iov && (io->op == BS_OP_READ || io->op == BS_OP_WRITE))
		return file_iov_sync(f, io);

	if (io->op == BS_OP_FLUSH)
		return fdatasync(f->fd) < 0 ? -errno : 0;
	if (io->op == BS_OP_PREFETCH) {
		/* Readahead into the page cache; returns once the kernel has queued it. */
		int e = posix_fadvise(f->fd, (off_t)io->offset, (off_t)io->len,
				      POSIX_FADV_WILLNEED);

		return -e;
	}
	if (io->op == BS_OP_UNMAP || io->op == BS_OP_WRITE_ZEROES)
		return file_sync_zero(f, io);

	while (io->done_bytes < io->len) {
		char *p = (char *)io->buf + io->done_bytes;
		off_t off = (off_t)(io->offset + io->done_bytes);
		size_t n = file_chunk(io);

		if (io->op == BS_OP_READ) {
			r = pread(f->fd, p, n, off);
		} else if ((io->flags & BS_IO_FUA) && !dsync_after) {
			struct iovec iov = {.iov_base = p, .iov_len = n};

			r = pwritev2(f->fd, &iov, 1, off, RWF_DSYNC);
			if (r < 0 && errno == EOPNOTSUPP) {
				/* Kernel without RWF_DSYNC: plain writes, then one fdatasync. */
				dsync_after = true;
				continue;
			}
		} else {
			r = pwrite(f->fd, p, n, off);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return file_no_progress(f, io);
		if ((uint64_t)r > io->len - io->done_bytes)
			return -EIO;
		io->done_bytes += (uint64_t)r;
	}
	if (dsync_after && fdatasync(f->fd) < 0)
		return -errno;
	return 0;
}

static void file_uring_cb(struct uring_req *req, int res);

/* Queue the rest of io on its worker's ring; false if it must go synchronously instead. */
static bool file_queue(struct file_bs *f, struct bs_io *io)
{
	struct worker *w = io->worker;
	struct io_uring_sqe *sqe;
	char *p;

	/* A ring is only ever touched by its own thread. */
	if (!w || w != worker_self())
		return false;
	sqe = worker_ring_sqe(w);
	if (!sqe)
		return false;

	p = (char *)io->buf + io->done_bytes;
	if (io->iov && (io->op == BS_OP_READ || io->op == BS_OP_WRITE)) {
		if (io->op == BS_OP_READ) {
			io_uring_prep_readv(sqe, f->fd, io->iov, (unsigned)file_iovcnt(io),
					    io->offset + io->done_bytes);
		} else {
			io_uring_prep_writev(sqe, f->fd, io->iov, (unsigned)file_iovcnt(io),
					     io->offset + io->done_bytes);
			if (io->flags & BS_IO_FUA)
				sqe->rw_flags = RWF_DSYNC;
		}
		io->ureq.cb = file_uring_cb;
		worker_ring_queue(w, sqe, &io->ureq);
		return true;
	}
	switch (io->op) {
	case BS_OP_READ:
		io_uring_prep_read(sqe, f->fd, p, file_chunk(io), io->offset + io->done_bytes);
		break;
	case BS_OP_WRITE:
		io_uring_prep_write(sqe, f->fd, p, file_chunk(io), io->offset + io->done_bytes);
		if (io->flags & BS_IO_FUA)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BS_OP_FLUSH:
		io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
		break;
	case BS_OP_UNMAP:
	case BS_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, f->fd,
					io->op == BS_OP_UNMAP ? FILE_UNMAP_MODE : FILE_ZERO_MODE,
					io->offset, io->len);
		break;
	case BS_OP_PREFETCH:
		io_uring_prep_fadvise(sqe, f->fd, io->offset, (off_t)io->len, POSIX_FADV_WILLNEED);
		break;
	case BS_OP_WRITE_SAME:
	case BS_OP_COMPARE_AND_WRITE:
		/* Not offered (can_write_same, can_caw): backstore_submit never passes them. */
		io_uring_prep_nop(sqe);
		break;
	}
	io->ureq.cb = file_uring_cb;
	worker_ring_queue(w, sqe, &io->ureq);
	return true;
}

static void file_sync_finish(struct file_bs *f, struct bs_io *io)
{
	io->done(io, file_sync_io(f, io));
}

static void file_uring_cb(struct uring_req *req, int res)
{
	struct bs_io *io = container_of(req, struct bs_io, ureq);
	struct file_bs *f = io->bs->priv;

	/* Interrupted, or a flag this kernel's io_uring refuses: finish with the blocking
	 * syscalls, which terminate (and report the same error if it is real). */
	if (res == -EINTR || res == -EAGAIN || (res == -EOPNOTSUPP && io->op == BS_OP_WRITE)) {
		file_sync_finish(f, io);
		return;
	}
	if (io->op == BS_OP_PREFETCH) {
		/* A kernel without IORING_OP_FADVISE: the syscall does the same. */
		if (res == -EINVAL || res == -EOPNOTSUPP)
			file_sync_finish(f, io);
		else
			io->done(io, res < 0 ? res : 0);
		return;
	}
	if (io->op == BS_OP_UNMAP || io->op == BS_OP_WRITE_ZEROES) {
		/* A refused mode (EOPNOTSUPP/EINVAL: file system or kernel) goes to the fallbacks
		 * off the ring; they write zeroes, so the result is the same. */
		if (res == -EOPNOTSUPP || res == -EINVAL || res == -ENOTTY)
			file_sync_finish(f, io);
		else
			io->done(io, res < 0 ? res : 0);
		return;
	}
	if (res < 0) {
		io->done(io, res); /* -EIO, -ENOSPC, -EDQUOT...: unchanged */
		return;
	}
	if (io->op == BS_OP_FLUSH) {
		io->done(io, 0);
		return;
	}
	if (res == 0) {
		io->done(io, file_no_progress(f, io));
		return;
	}
	if ((uint64_t)res > io->len - io->done_bytes) {
		io->done(io, -EIO);
		return;
	}
	io->done_bytes += (uint64_t)res;
	if (io->iov)
		bs_iov_advance(io, (uint64_t)res);
	if (io->done_bytes < io->len) {
		/* Short transfer: queue the remainder (it goes out at the end of this pass). */
		if (!file_queue(f, io))
			file_sync_finish(f, io);
		return;
	}
	io->done(io, 0);
}

/* GET LBA STATUS: SEEK_DATA/SEEK_HOLE on a regular file; a block device is all mapped. */
static int file_lba_status(struct backstore *bs, uint64_t offset, uint64_t *len, bool *mapped)
{
	struct file_bs *f = bs->priv;
	off_t data, hole;

	*mapped = true;
	*len = backstore_size(bs) - offset;
	if (f->is_blk)
		return 0;
	data = lseek(f->fd, (off_t)offset, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO) { /* no data after offset: a hole to the end */
			*mapped = false;
			return 0;
		}
		if (errno == EINVAL || errno == EOPNOTSUPP)
			return 0; /* no SEEK_DATA here: report mapped */
		return -errno;
	}
	if ((uint64_t)data > offset) {
		*mapped = false;
		if ((uint64_t)data - offset < *len)
			*len = (uint64_t)data - offset;
		return 0;
	}
	hole = lseek(f->fd, (off_t)offset, SEEK_HOLE);
	if (hole < 0)
		return errno == ENXIO ? 0 : -errno;
	if ((uint64_t)hole > offset && (uint64_t)hole - offset < *len)
		*len = (uint64_t)hole - offset;
	return 0;
}

/* A read served from the page cache on this thread: preadv2(RWF_NOWAIT) until done, a miss or
 * a short read. True when io is finished (done() called); false: the rest (from done_bytes)
 * still has to be read, on the ring. */
static bool file_read_nowait(struct file_bs *f, struct bs_io *io)
{
	while (io->done_bytes < io->len) {
		struct iovec iov = {
			.iov_base = (char *)io->buf + io->done_bytes,
			.iov_len = file_chunk(io),
		};
		ssize_t r = preadv2(f->fd, &iov, 1, (off_t)(io->offset + io->done_bytes),
				    RWF_NOWAIT);

		if (r < 0) {
			/* No RWF_NOWAIT on this file (EOPNOTSUPP; EINVAL on old kernels): stop
			 * trying. Any other error: the ring path reports it the usual way. */
			if (errno == EOPNOTSUPP || errno == EINVAL)
				f->inl = FILE_INLINE_NONE;
			return false;
		}
		/* 0 is end of file, or a page not cached at the start: the ring decides. */
		if (r == 0 || (uint64_t)r > io->len - io->done_bytes)
			return false;
		io->done_bytes += (uint64_t)r;
		if ((size_t)r < iov.iov_len)
			return false; /* partly cached: the ring reads the rest */
	}
	io->done(io, 0);
	return true;
}

static uint64_t file_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long file_thread_sleeps(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

/* A FILE_WR_TIMED write that slept for `took` ns ended at `now`: writes go to io_uring for a
 * back-off (wr_backoff.h). */
static void file_write_slept(struct file_bs *f, uint64_t now, uint64_t took)
{
	uint64_t b = file_wr_backoff_next(
	    atomic_load_explicit(&f->wr_ring_until, memory_order_relaxed),
	    atomic_load_explicit(&f->wr_backoff, memory_order_relaxed), now);

	log_debug("file backstore fd %d: a write slept %llu us; writes go to io_uring for %llu ms",
		  f->fd, (unsigned long long)(took / 1000), (unsigned long long)(b / 1000000));
	atomic_store_explicit(&f->wr_backoff, b, memory_order_relaxed);
	atomic_store_explicit(&f->wr_ring_until, now + b, memory_order_relaxed);
}

/* A write without FUA on the worker (enum file_wr). True when io is finished (done() called);
 * false: the rest (from done_bytes) goes to io_uring. */
static bool file_write_inline(struct file_bs *f, struct bs_io *io)
{
	int mode = atomic_load_explicit(&f->wr, memory_order_relaxed);
	uint64_t t0 = 0;
	long sleeps = 0;

	if (mode == FILE_WR_RING || (io->flags & BS_IO_FUA))
		return false;
	if (mode == FILE_WR_TIMED) {
		if ((io->offset | io->len) & (FILE_PAGE - 1))
			return false;
		t0 = file_now_ns();
		if (t0 < atomic_load_explicit(&f->wr_ring_until, memory_order_relaxed))
			return false;
		sleeps = file_thread_sleeps();
	}
	while (io->done_bytes < io->len) {
		struct iovec iov = {
			.iov_base = (char *)io->buf + io->done_bytes,
			.iov_len = file_chunk(io),
		};
		ssize_t r = pwritev2(f->fd, &iov, 1, (off_t)(io->offset + io->done_bytes),
				     mode == FILE_WR_NOWAIT ? RWF_NOWAIT : 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && mode == FILE_WR_NOWAIT && (errno == EOPNOTSUPP || errno == EINVAL)) {
			/* Refused by the file system (ext4) or the kernel: watched writes. */
			atomic_store_explicit(&f->wr, FILE_WR_TIMED, memory_order_relaxed);
			return file_write_inline(f, io);
		}
		if (r < 0 && mode == FILE_WR_NOWAIT)
			return false; /* EAGAIN: it would wait; anything else, the ring reports it */
		if (mode == FILE_WR_TIMED) {
			uint64_t now = file_now_ns();

			/* The clock first: only a slow write pays for the second getrusage. */
			if (now - t0 >= FILE_WR_SLOW_NS && file_thread_sleeps() != sleeps)
				file_write_slept(f, now, now - t0);
		}
		if (r < 0) {
			io->done(io, -errno); /* EIO, ENOSPC, EDQUOT: as from the ring */
			return true;
		}
		if (r == 0 || (uint64_t)r > io->len - io->done_bytes)
			return false; /* no progress: the ring path decides what it means */
		io->done_bytes += (uint64_t)r;
		if (mode == FILE_WR_NOWAIT && (size_t)r < iov.iov_len)
			return false; /* partly written: the ring writes the rest */
	}
	io->done(io, 0);
	return true;
}

/* A read, or a write without FUA, through the mapping. True when io is finished (done()
 * called); false: not mapped, or the copy faulted, and the system calls do it instead. */
static bool file_map_io(struct file_bs *f, struct bs_io *io)
{
	char *p;

	if (!atomic_load_explicit(&f->map_ok, memory_order_relaxed) || io->done_bytes ||
	    io->offset > f->map_len || io->len > f->map_len - io->offset)
		return false;
	p = f->map + io->offset;
	if (io->op == BS_OP_READ) {
		if (!filemap_copy(io->buf, p, io->len))
			return false;
	} else if (io->op == BS_OP_WRITE && f->map_writable && !(io->flags & BS_IO_FUA)) {
		if (!filemap_copy(p, io->buf, io->len))
			return false;
	} else {
		return false;
	}
	io->done_bytes = io->len;
	io->done(io, 0);
	return true;
}

static void file_submit(struct backstore *bs, struct bs_io *io)
{
	struct file_bs *f = bs->priv;

	if (io->op != BS_OP_READ && io->op != BS_OP_WRITE && io->op != BS_OP_FLUSH &&
	    io->op != BS_OP_UNMAP && io->op != BS_OP_WRITE_ZEROES && io->op != BS_OP_PREFETCH) {
		io->done(io, -EOPNOTSUPP);
		return;
	}
	/* Before the hole exists: from now on a read fault could fill it (filemap.c). */
	if (io->op == BS_OP_UNMAP && f->map)
		atomic_store(&f->map_ok, false);
	if (io->iov && io->worker && (io->op == BS_OP_READ || io->op == BS_OP_WRITE)) {
		if (f->inl == FILE_INLINE_ALL) {
			file_sync_finish(f, io);
			return;
		}
		if (f->inl == FILE_INLINE_NOWAIT && io->op == BS_OP_READ &&
		    file_iov_read_nowait(f, io))
			return;
	} else if (io->worker && (io->op == BS_OP_READ || io->op == BS_OP_WRITE)) {
		/* Only on a worker: elsewhere everything is synchronous anyway. */
		if (f->inl == FILE_INLINE_ALL) {
			if (file_map_io(f, io))
				return;
			file_sync_finish(f, io); /* FUA: RWF_DSYNC, as on the ring */
			return;
		}
		if (f->inl == FILE_INLINE_NOWAIT && io->op == BS_OP_READ && file_read_nowait(f, io))
			return;
		if (f->inl == FILE_INLINE_NOWAIT && io->op == BS_OP_WRITE && file_write_inline(f, io))
			return;
	}
	if (!file_queue(f, io))
		file_sync_finish(f, io);
}

/* Capacity change (backstore.h). A block device's size is its own: re-read it, or expose
 * fewer of its bytes. A regular file grows with ftruncate (sparse: the new range is a hole
 * that reads as zeroes) and shrinks with it when the LU is the whole file (a larger file the
 * LU exposed only the start of keeps its tail). The mapping (filemap.h) never moves: I/O
 * beyond map_len already goes through the system calls, which is how a grown range is
 * served; once the file may be shorter than the mapping it is not used again, so no copy
 * ever faults on a page a truncate took away and then refills it as a hole. */
static int file_resize(struct backstore *bs, uint64_t *size, char *err, size_t err_len)
{
	struct file_bs *f = bs->priv;
	uint64_t old = backstore_size(bs), dev_size;
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return bs_fail(err, err_len, errno, "file backstore: stat %s: %s", bs->path,
			       strerror(errno));
	if (f->is_blk) {
		if (ioctl(f->fd, BLKGETSIZE64, &dev_size) < 0)
			return bs_fail(err, err_len, errno, "file backstore: %s: BLKGETSIZE64: %s",
				       bs->path, strerror(errno));
		if (!*size)
			*size = dev_size;
		else if (*size > dev_size)
			return bs_fail(err, err_len, EINVAL,
				       "file backstore: size %llu is larger than block device %s "
				       "(%llu bytes)",
				       (unsigned long long)*size, bs->path,
				       (unsigned long long)dev_size);
		if (!*size)
			return bs_fail(err, err_len, EINVAL,
				       "file backstore: block device %s has size 0", bs->path);
		return 0;
	}
	if (!*size) {
		if (st.st_size <= 0)
			return bs_fail(err, err_len, EINVAL, "file backstore: %s is empty",
				       bs->path);
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (*size > (uint64_t)INT64_MAX)
		return bs_fail(err, err_len, EFBIG, "file backstore: size too large");
	if (f->map && *size < f->map_len)
		atomic_store(&f->map_ok, false);
	if (*size > (uint64_t)st.st_size ||
	    (*size < (uint64_t)st.st_size && (uint64_t)st.st_size <= old)) {
		if (bs->read_only)
			return bs_fail(err, err_len, EROFS,
				       "file backstore: %s is read-only and %llu bytes long",
				       bs->path, (unsigned long long)st.st_size);
		if (ftruncate(f->fd, (off_t)*size) < 0)
			return bs_fail(err, err_len, errno,
				       "file backstore: cannot size %s to %llu: %s", bs->path,
				       (unsigned long long)*size, strerror(errno));
		/* The new size is durable before the answer (and before the saved config names
		 * it): a power cut must not bring back a shorter file, or an old tail after a
		 * shrink that a later grow would expose. Rare, so the main loop may wait. */
		if (fsync(f->fd) < 0)
			return bs_fail(err, err_len, errno, "file backstore: fsync %s: %s",
				       bs->path, strerror(errno));
	}
	return 0;
}

const struct backstore_ops bs_file_ops = {
    .size = sizeof(struct backstore_ops),
    .version = BACKSTORE_OPS_VERSION,
    .name = "file",
    .open = file_open,
    .close = file_close,
    .submit = file_submit,
    .lba_status = file_lba_status,
    .resize = file_resize,
};
