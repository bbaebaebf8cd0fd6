/* Backstore unit tests: the registry and its checks, and null/ram/file open, I/O and errors,
 * through the synchronous path (io->worker = NULL) and, for file, through a real worker's
 * io_uring. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "backstore/backstore.h"
#include "backstore/backstore_internal.h"
#include "backstore/file/wr_backoff.h"
#include "rt/worker.h"
#include "util/log.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

static char tmpdir[] = "/tmp/invar-bs-test-XXXXXX";
static struct worker test_worker;
static bool test_worker_running;

/* ---- helpers ---------------------------------------------------------------------------- */

struct io_result {
	int res;
	int calls;
	pthread_t thread;
	sem_t sem;
};

static void io_done(struct bs_io *io, int res)
{
	struct io_result *r = io->priv;

	r->res = res;
	r->calls++;
	r->thread = pthread_self();
	sem_post(&r->sem);
}

static void io_fill(struct bs_io *io, struct io_result *r, enum bs_opcode op, uint32_t flags,
		    uint64_t off, void *buf, uint64_t len)
{
	memset(io, 0, sizeof(*io));
	memset(r, 0, sizeof(*r));
	sem_init(&r->sem, 0, 0);
	io->op = op;
	io->flags = flags;
	io->offset = off;
	io->len = len;
	io->buf = buf;
	io->done = io_done;
	io->priv = r;
}

/* Synchronous caller (not a worker): done() must have run exactly once before submit returns. */
static int do_io(struct backstore *bs, enum bs_opcode op, uint32_t flags, uint64_t off, void *buf,
		 uint64_t len)
{
	struct io_result r;
	struct bs_io io;

	io_fill(&io, &r, op, flags, off, buf, len);
	backstore_submit(bs, &io);
	assert_int_equal(r.calls, 1);
	assert_true(pthread_equal(r.thread, pthread_self()));
	assert_ptr_equal(io.bs, bs);
	sem_destroy(&r.sem);
	return r.res;
}

struct async_ctx {
	struct backstore *bs;
	struct bs_io io;
	struct io_result r;
};

static void async_submit_on_worker(void *arg)
{
	struct async_ctx *c = arg;

	c->io.worker = worker_self();
	backstore_submit(c->bs, &c->io);
}

/* Submitted from the worker's thread; done() must come back on that same thread. */
static int do_io_async(struct backstore *bs, enum bs_opcode op, uint32_t flags, uint64_t off,
		       void *buf, uint64_t len)
{
	struct async_ctx c;
	struct timespec ts;

	assert_true(test_worker_running);
	c.bs = bs;
	io_fill(&c.io, &c.r, op, flags, off, buf, len);
	assert_int_equal(ev_call(test_worker.loop, async_submit_on_worker, &c), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	assert_int_equal(sem_timedwait(&c.r.sem, &ts), 0);
	/* No second completion may follow. */
	usleep(1000);
	assert_int_equal(c.r.calls, 1);
	assert_true(pthread_equal(c.r.thread, test_worker.thread));
	sem_destroy(&c.r.sem);
	return c.r.res;
}

typedef int (*io_fn)(struct backstore *bs, enum bs_opcode op, uint32_t flags, uint64_t off,
		     void *buf, uint64_t len);

static void tmp_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static struct backstore *open_ok(const struct bs_config *cfg)
{
	struct backstore *bs = NULL;
	char err[256] = "";
	int ret = backstore_open(cfg, &bs, err, sizeof(err));

	if (ret < 0)
		fail_msg("backstore_open(%s): %d: %s", cfg->type, ret, err);
	assert_non_null(bs);
	return bs;
}

/* Expects failure with errnum and a non-empty reason containing want (when given). */
static void open_fails(const struct bs_config *cfg, int errnum, const char *want)
{
	struct backstore *bs = (struct backstore *)0x1;
	char err[256] = "";
	int ret = backstore_open(cfg, &bs, err, sizeof(err));

	if (ret != -errnum)
		fail_msg("backstore_open(%s, %s): got %d (%s), want %d", cfg->type,
			 cfg->path ? cfg->path : "-", ret, err, -errnum);
	assert_null(bs);
	assert_true(err[0] != '\0');
	if (want && !strstr(err, want))
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + seed);
}

static bool all_zero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

/* The I/O checks every persistent type (ram, file) must pass. */
static void check_rw(struct backstore *bs, io_fn io)
{
	uint8_t wbuf[8192], rbuf[8192];
	uint64_t end = bs->size;

	fill_pattern(wbuf, sizeof(wbuf), 7);
	assert_int_equal(io(bs, BS_OP_WRITE, 0, 4096, wbuf, sizeof(wbuf)), 0);
	memset(rbuf, 0xaa, sizeof(rbuf));
	assert_int_equal(io(bs, BS_OP_READ, 0, 4096, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));

	/* Never-written blocks read as zeroes. */
	memset(rbuf, 0xaa, 4096);
	assert_int_equal(io(bs, BS_OP_READ, 0, 0, rbuf, 4096), 0);
	assert_true(all_zero(rbuf, 4096));

	/* FUA write, then flush. */
	fill_pattern(wbuf, 512, 99);
	assert_int_equal(io(bs, BS_OP_WRITE, BS_IO_FUA, end - 512, wbuf, 512), 0);
	assert_int_equal(io(bs, BS_OP_FLUSH, 0, 0, NULL, 0), 0);
	assert_int_equal(io(bs, BS_OP_READ, 0, end - 512, rbuf, 512), 0);
	assert_memory_equal(rbuf, wbuf, 512);

	/* Past the end, straddling the end, and an offset that would wrap: -EINVAL via done(). */
	assert_int_equal(io(bs, BS_OP_READ, 0, end, rbuf, 512), -EINVAL);
	assert_int_equal(io(bs, BS_OP_WRITE, 0, end - 512, wbuf, 1024), -EINVAL);
	assert_int_equal(io(bs, BS_OP_READ, 0, UINT64_MAX - 100, rbuf, 512), -EINVAL);
	/* A bad opcode is refused, not passed on. */
	assert_int_equal(io(bs, (enum bs_opcode)42, 0, 0, rbuf, 512), -EINVAL);
	/* Zero length completes at once. */
	assert_int_equal(io(bs, BS_OP_READ, 0, 0, rbuf, 0), 0);
}

/* UNMAP and WRITE ZEROES: whole and partial granules read back as zeroes, neighbours are
 * untouched, range and read-only checks come first. */
static void check_unmap(struct backstore *bs, io_fn io)
{
	static uint8_t wbuf[64 * 1024], rbuf[64 * 1024];
	uint64_t end = bs->size;

	assert_true(bs->can_unmap);
	assert_true(bs->unmap_zeroes);
	fill_pattern(wbuf, sizeof(wbuf), 3);
	assert_int_equal(io(bs, BS_OP_WRITE, 0, 0, wbuf, sizeof(wbuf)), 0);
	/* Unaligned: 512 bytes into the first page to 512 bytes before the 9th. */
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, 512, NULL, 8 * 4096 - 1024), 0);
	assert_int_equal(io(bs, BS_OP_READ, 0, 0, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, wbuf, 512);
	assert_true(all_zero(rbuf + 512, 8 * 4096 - 1024));
	assert_memory_equal(rbuf + 8 * 4096 - 512, wbuf + 8 * 4096 - 512,
			    sizeof(wbuf) - (8 * 4096 - 512));
	/* WRITE ZEROES. */
	assert_int_equal(io(bs, BS_OP_WRITE_ZEROES, 0, 40960, NULL, 8192), 0);
	assert_int_equal(io(bs, BS_OP_READ, 0, 0, rbuf, sizeof(rbuf)), 0);
	assert_true(all_zero(rbuf + 40960, 8192));
	assert_memory_equal(rbuf + 49152, wbuf + 49152, sizeof(wbuf) - 49152);
	/* Range checks; zero length completes at once. */
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, end - 512, NULL, 1024), -EINVAL);
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, UINT64_MAX - 100, NULL, 512), -EINVAL);
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, end - 512, NULL, 512), 0);
	assert_int_equal(io(bs, BS_OP_WRITE_ZEROES, 0, 0, NULL, 0), 0);
	/* Read-only refuses both. */
	bs->read_only = true;
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, 0, NULL, 512), -EROFS);
	assert_int_equal(io(bs, BS_OP_WRITE_ZEROES, 0, 0, NULL, 512), -EROFS);
	bs->read_only = false;
	/* A backstore without the capability answers -EOPNOTSUPP. */
	bs->can_unmap = false;
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, 0, NULL, 512), -EOPNOTSUPP);
	bs->can_unmap = true;
}

/* ---- registry ------------------------------------------------------------------------------ */

/* ---- scatter-gather (bs_io.iov, the vhost-user fabric's path) ---------------------------- */

struct iov_ctx {
	struct backstore *bs;
	struct bs_io io;
	struct io_result r;
};

static void iov_submit_on_worker(void *arg)
{
	struct iov_ctx *c = arg;

	c->io.worker = worker_self();
	backstore_submit(c->bs, &c->io);
}

/* op over [off, off + len) with iov (a copy: the backstore may consume the array); on the test
 * worker when async. */
static int do_iov(struct backstore *bs, enum bs_opcode op, uint32_t flags, uint64_t off,
		  const struct iovec *iov, unsigned cnt, uint64_t len, bool async)
{
	struct iovec copy[8];
	struct iov_ctx c;
	struct timespec ts;

	memcpy(copy, iov, cnt * sizeof(*iov));
	c.bs = bs;
	io_fill(&c.io, &c.r, op, flags, off, NULL, len);
	c.io.iov = copy;
	c.io.iovcnt = cnt;
	if (!async) {
		backstore_submit(bs, &c.io);
		assert_int_equal(c.r.calls, 1);
	} else {
		assert_int_equal(ev_call(test_worker.loop, iov_submit_on_worker, &c), 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		assert_int_equal(sem_timedwait(&c.r.sem, &ts), 0);
		usleep(1000);
		assert_int_equal(c.r.calls, 1);
		assert_true(pthread_equal(c.r.thread, test_worker.thread));
	}
	sem_destroy(&c.r.sem);
	return c.r.res;
}

/* Three uneven segments written, read back through other segments and through buf. */
static void check_iov(struct backstore *bs, bool async)
{
	static uint8_t a[1000], b[3096], cc[8192], ra[5000], rb[7288], flat[12288];
	struct iovec w[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { cc, sizeof(cc) } };
	struct iovec r[2] = { { ra, sizeof(ra) }, { rb, sizeof(rb) } };

	fill_pattern(a, sizeof(a), 11);
	fill_pattern(b, sizeof(b), 12);
	fill_pattern(cc, sizeof(cc), 13);
	assert_int_equal(do_iov(bs, BS_OP_WRITE, 0, 4096, w, 3, 12288, async), 0);
	assert_int_equal(do_iov(bs, BS_OP_WRITE, BS_IO_FUA, 65536, w, 3, 12288, async), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 4096, flat, sizeof(flat)), 0);
	assert_memory_equal(flat, a, sizeof(a));
	assert_memory_equal(flat + 1000, b, sizeof(b));
	assert_memory_equal(flat + 4096, cc, sizeof(cc));
	memset(ra, 0, sizeof(ra));
	memset(rb, 0, sizeof(rb));
	assert_int_equal(do_iov(bs, BS_OP_READ, 0, 65536, r, 2, 12288, async), 0);
	assert_memory_equal(ra, flat, sizeof(ra));
	assert_memory_equal(rb, flat + sizeof(ra), sizeof(rb));
	/* iovecs that do not add up to len, and iov with buf, are refused untouched */
	assert_int_equal(do_iov(bs, BS_OP_READ, 0, 0, r, 2, 12289, async), -EINVAL);
	assert_int_equal(do_iov(bs, BS_OP_READ, 0, bs->size - 4096, r, 2, 12288, async), -EINVAL);
}

static void test_iov_ram_null_bounce(void **state)
{
	struct bs_config cfg = {.type = "ram", .size = 1 * MIB};
	struct backstore *bs = open_ok(&cfg);
	static uint8_t x[4096];
	struct iovec iov = { x, sizeof(x) };

	assert_true(bs->can_iov);
	check_iov(bs, false);
	/* A backstore without can_iov (the user backstore's ring): backstore_submit bounces. */
	bs->can_iov = false;
	check_iov(bs, false);
	backstore_close(bs);
	cfg.type = "null";
	bs = open_ok(&cfg);
	memset(x, 0xaa, sizeof(x));
	assert_int_equal(do_iov(bs, BS_OP_READ, 0, 0, &iov, 1, sizeof(x), false), 0);
	assert_true(all_zero(x, sizeof(x)));
	backstore_close(bs);
}

static void test_iov_file_sync(void **state)
{
	struct bs_config cfg = {.type = "file", .size = 1 * MIB, .create = true};
	char path[PATH_MAX];
	struct backstore *bs;

	tmp_path(path, sizeof(path), "iov-sync.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	assert_true(bs->can_iov);
	check_iov(bs, false);
	backstore_close(bs);
	unlink(path);
}

/* On the worker: page-cache hits inline, misses (dropped cache) and writes on io_uring. */
static void test_iov_file_async(void **state)
{
	struct bs_config cfg = {.type = "file", .size = 1 * MIB, .create = true};
	char path[PATH_MAX];
	struct backstore *bs;
	int fd;

	tmp_path(path, sizeof(path), "iov-async.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	check_iov(bs, true);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	check_iov(bs, true);
	backstore_close(bs);
	unlink(path);
}

static void test_registry(void **state)
{
	struct bs_config cfg = {.type = "tape", .size = MIB};
	struct backstore *bs;
	char err[128];

	assert_ptr_equal(backstore_find("file"), &bs_file_ops);
	assert_ptr_equal(backstore_find("ram"), &bs_ram_ops);
	assert_ptr_equal(backstore_find("null"), &bs_null_ops);
	assert_null(backstore_find("tape"));
	assert_null(backstore_find(NULL));
	assert_null(backstore_find(""));

	open_fails(&cfg, ENOENT, "unknown");
	cfg.type = NULL;
	open_fails(&cfg, EINVAL, "type");
	/* err may be absent. */
	cfg.type = "null";
	cfg.size = 0;
	assert_int_equal(backstore_open(&cfg, &bs, NULL, 0), -EINVAL);
	assert_int_equal(backstore_open(&cfg, &bs, err, 0), -EINVAL);

	for (const struct backstore_ops *const *o =
		 (const struct backstore_ops *const[]){&bs_file_ops, &bs_ram_ops, &bs_null_ops,
						       NULL};
	     *o; o++) {
		assert_int_equal((*o)->size, sizeof(struct backstore_ops));
		assert_int_equal((*o)->version, BACKSTORE_OPS_VERSION);
	}
	backstore_close(NULL);
}

/* ---- null --------------------------------------------------------------------------------- */

static void test_null(void **state)
{
	struct bs_config cfg = {.type = "null"};
	uint8_t buf[4096];
	struct backstore *bs;

	open_fails(&cfg, EINVAL, "size");
	cfg.size = 16 * GIB;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, 16 * GIB);
	assert_string_equal(bs->type, "null");

	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, 0, buf, sizeof(buf)), 0);
	assert_int_equal(do_io(bs, BS_OP_WRITE, BS_IO_FUA, 8192, buf, sizeof(buf)), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 0, buf, sizeof(buf)), 0);
	assert_true(all_zero(buf, sizeof(buf)));
	assert_int_equal(do_io(bs, BS_OP_FLUSH, 0, 0, NULL, 0), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 16 * GIB, buf, 512), -EINVAL);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 16 * GIB - 512, buf, 512), 0);
	backstore_close(bs);
}

/* ---- ram ---------------------------------------------------------------------------------- */

static void test_ram(void **state)
{
	struct bs_config cfg = {.type = "ram"};
	struct backstore *bs;

	open_fails(&cfg, EINVAL, "size");

	cfg.size = 4 * MIB;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, 4 * MIB);
	assert_string_equal(bs->path, "");
	check_rw(bs, do_io);
	backstore_close(bs);

	/* Large and sparse: costs nothing until written (MAP_NORESERVE). */
	cfg.size = 64 * GIB;
	bs = open_ok(&cfg);
	check_rw(bs, do_io);
	backstore_close(bs);
}

/* ---- file: open ---------------------------------------------------------------------------- */

static void test_file_open_errors(void **state)
{
	struct bs_config cfg = {.type = "file"};
	char path[PATH_MAX];
	int fd;

	open_fails(&cfg, EINVAL, "path");
	cfg.path = "";
	open_fails(&cfg, EINVAL, "path");

	/* Missing parent directory: a clear reason, with or without create. */
	snprintf(path, sizeof(path), "%s/no/such/dir/disk.img", tmpdir);
	cfg.path = path;
	cfg.size = MIB;
	cfg.create = true;
	open_fails(&cfg, ENOENT, "parent directory");
	cfg.create = false;
	open_fails(&cfg, ENOENT, "parent directory");

	/* Missing file without create. */
	tmp_path(path, sizeof(path), "missing.img");
	open_fails(&cfg, ENOENT, "does not exist");
	/* Create without a size. */
	cfg.create = true;
	cfg.size = 0;
	open_fails(&cfg, EINVAL, "size");
	assert_int_equal(access(path, F_OK), -1);

	/* An existing empty file and no size. */
	tmp_path(path, sizeof(path), "empty.img");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	cfg.create = false;
	open_fails(&cfg, EINVAL, "empty");

	/* Neither a regular file nor a block device. */
	cfg.path = "/dev/null";
	open_fails(&cfg, EINVAL, "not a regular file");
	cfg.path = tmpdir;
	cfg.size = MIB;
	open_fails(&cfg, EISDIR, NULL);

	/* Parent path component is a file. */
	snprintf(path, sizeof(path), "%s/empty.img/disk.img", tmpdir);
	cfg.path = path;
	cfg.create = true;
	open_fails(&cfg, ENOTDIR, NULL);
}

static void test_file_create_reopen(void **state)
{
	struct bs_config cfg = {.type = "file", .size = GIB, .create = true};
	uint8_t wbuf[4096], rbuf[4096];
	char path[PATH_MAX];
	struct backstore *bs;
	struct stat st;

	tmp_path(path, sizeof(path), "sparse.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, GIB);
	assert_string_equal(bs->path, path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, GIB);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Sparse: a 1 GiB file with (almost) no blocks. */
	assert_true((uint64_t)st.st_blocks * 512 < MIB);

	check_rw(bs, do_io);
	fill_pattern(wbuf, sizeof(wbuf), 3);
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, 512 * MIB, wbuf, sizeof(wbuf)), 0);
	backstore_close(bs);

	/* Reopen: size from the file, data still there; create on an existing file is a no-op. */
	cfg.size = 0;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, GIB);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 512 * MIB, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));
	backstore_close(bs);

	/* A larger size grows the file sparsely; data kept. */
	cfg.create = false;
	cfg.size = 2 * GIB;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, 2 * GIB);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 * GIB);
	assert_true((uint64_t)st.st_blocks * 512 < MIB);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 512 * MIB, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));
	backstore_close(bs);

	/* A smaller size exposes a prefix and leaves the file alone. */
	cfg.size = MIB;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, MIB);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, MIB, rbuf, 512), -EINVAL);
	backstore_close(bs);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 * GIB);
	unlink(path);
}

/* The file shrank under us: a read past EOF is zero-filled, never a loop or garbage. */
static void check_read_past_eof(io_fn io, const char *name)
{
	struct bs_config cfg = {.type = "file", .size = 16384, .create = true};
	uint8_t wbuf[16384], rbuf[16384];
	char path[PATH_MAX];
	struct backstore *bs;

	tmp_path(path, sizeof(path), name);
	cfg.path = path;
	bs = open_ok(&cfg);
	fill_pattern(wbuf, sizeof(wbuf), 11);
	assert_int_equal(io(bs, BS_OP_WRITE, 0, 0, wbuf, sizeof(wbuf)), 0);
	assert_int_equal(ftruncate(bs_file_fd(bs), 4096), 0);
	memset(rbuf, 0xaa, sizeof(rbuf));
	assert_int_equal(io(bs, BS_OP_READ, 0, 0, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, wbuf, 4096);
	assert_true(all_zero(rbuf + 4096, sizeof(rbuf) - 4096));
	backstore_close(bs);
	unlink(path);
}

/* Writes to /dev/full fail with ENOSPC: put it under an open backstore's descriptor. A failed
 * write must complete with -ENOSPC, never 0. */
static void check_enospc_dev_full(io_fn io, const char *name)
{
	struct bs_config cfg = {.type = "file", .size = MIB, .create = true};
	uint8_t buf[8192];
	char path[PATH_MAX];
	struct backstore *bs;
	int full;

	tmp_path(path, sizeof(path), name);
	cfg.path = path;
	bs = open_ok(&cfg);
	full = open("/dev/full", O_RDWR | O_CLOEXEC);
	if (full < 0) {
		backstore_close(bs);
		unlink(path);
		skip();
	}
	assert_true(dup2(full, bs_file_fd(bs)) >= 0);
	close(full);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(io(bs, BS_OP_WRITE, 0, 0, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(io(bs, BS_OP_WRITE, BS_IO_FUA, 4096, buf, sizeof(buf)), -ENOSPC);
	backstore_close(bs);
	unlink(path);
}

static void test_file_sync_io(void **state)
{
	struct bs_config cfg = {.type = "file", .size = 8 * MIB, .create = true};
	char path[PATH_MAX];
	struct backstore *bs;

	tmp_path(path, sizeof(path), "sync.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	check_rw(bs, do_io);
	backstore_close(bs);
	unlink(path);
	check_read_past_eof(do_io, "eof-sync.img");
}

static void test_file_enospc_dev_full_sync(void **state)
{
	check_enospc_dev_full(do_io, "full-sync.img");
}

/* A real full file system: a 1 MiB tmpfs in a private mount namespace (in a child, since
 * unshare(CLONE_NEWNS) needs a single-threaded process and nothing must leak to the host). */
static int enospc_tmpfs_child(void)
{
	struct bs_config cfg = {.type = "file", .size = 8 * MIB, .create = true};
	char mnt[256], path[PATH_MAX], err[256];
	static uint8_t buf[2 * MIB];
	struct backstore *bs;
	struct bs_io io;
	struct io_result r;
	int ret = 0;

	snprintf(mnt, sizeof(mnt), "%s/tmpfs", tmpdir);
	if (mkdir(mnt, 0700) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("invar-test", mnt, "tmpfs", 0, "size=1M") < 0)
		return 77;
	snprintf(path, sizeof(path), "%s/disk.img", mnt);
	cfg.path = path;
	if (backstore_open(&cfg, &bs, err, sizeof(err)) < 0) {
		fprintf(stderr, "tmpfs open: %s\n", err);
		ret = 1;
		goto out;
	}
	memset(buf, 0x11, sizeof(buf));
	io_fill(&io, &r, BS_OP_WRITE, 0, 0, buf, sizeof(buf));
	backstore_submit(bs, &io);
	if (r.calls != 1 || r.res != -ENOSPC) {
		fprintf(stderr, "tmpfs write: calls %d res %d, want -ENOSPC\n", r.calls, r.res);
		ret = 1;
	}
	backstore_close(bs);
out:
	umount2(mnt, MNT_DETACH);
	return ret;
}

static void test_file_enospc_tmpfs(void **state)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(enospc_tmpfs_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The back-off of a file's buffered writes after one slept (wr_backoff.h). */
static void test_file_wr_backoff(void **state)
{
	const uint64_t s = 1000000000ull, min = FILE_WR_BACKOFF_MIN_NS;
	uint64_t b, until, now;

	(void)state;
	/* The first: the minimum. */
	assert_int_equal(file_wr_backoff_next(0, min, 100 * s), min);
	/* Sleeping again soon after each back-off ends: 1, 2, 4 ... capped at 64 s. */
	b = min;
	now = 100 * s;
	until = now + b;
	for (int i = 0; i < 10; i++) {
		now = until + s / 2;
		b = file_wr_backoff_next(until, b, now);
		until = now + b;
	}
	assert_int_equal(b, FILE_WR_BACKOFF_MAX_NS);
	/* Calm for FILE_WR_CALM back-offs: back to the minimum. */
	assert_int_equal(file_wr_backoff_next(until, b, until + FILE_WR_CALM * b), min);
	assert_int_equal(file_wr_backoff_next(until, 2 * s, until + FILE_WR_CALM * 2 * s - 1),
			 4 * s);
	/* Another worker's write slept while a back-off runs: unchanged. */
	assert_int_equal(file_wr_backoff_next(until, 8 * s, until - 1), 8 * s);
	/* A zero or garbage "last" is taken as the minimum. */
	assert_int_equal(file_wr_backoff_next(until, 0, until + 1), 2 * min);
}

/* ---- file: through a worker's io_uring --------------------------------------------------- */

static int worker_setup(void **state)
{
	if (worker_init(&test_worker, NULL, 0) < 0)
		return -1;
	if (worker_start(&test_worker) < 0) {
		worker_fini(&test_worker);
		return -1;
	}
	test_worker_running = true;
	if (!test_worker.ring_ready)
		print_message(
		    "note: io_uring unavailable; the async tests exercise the fallback\n");
	return 0;
}

static int worker_teardown(void **state)
{
	if (test_worker_running) {
		worker_stop(&test_worker);
		worker_fini(&test_worker);
		test_worker_running = false;
	}
	return 0;
}

static void test_file_async_io(void **state)
{
	struct bs_config cfg = {.type = "file", .size = 8 * MIB, .create = true};
	static uint8_t big[3 * MIB], rbig[3 * MIB];
	char path[PATH_MAX];
	struct backstore *bs;

	tmp_path(path, sizeof(path), "async.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	check_rw(bs, do_io_async);

	/* Data written through the ring is there for a synchronous reader, and back. */
	fill_pattern(big, sizeof(big), 5);
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, BS_IO_FUA, MIB, big, sizeof(big)), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, MIB, rbig, sizeof(rbig)), 0);
	assert_memory_equal(rbig, big, sizeof(big));
	fill_pattern(big, sizeof(big), 6);
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, MIB, big, sizeof(big)), 0);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, MIB, rbig, sizeof(rbig)), 0);
	assert_memory_equal(rbig, big, sizeof(big));

	/* A worker given to the wrong thread is not touched: synchronous fallback. */
	{
		struct io_result r;
		struct bs_io io;

		io_fill(&io, &r, BS_OP_READ, 0, 0, rbig, 4096);
		io.worker = &test_worker;
		backstore_submit(bs, &io);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.res, 0);
		sem_destroy(&r.sem);
	}
	backstore_close(bs);
	unlink(path);
	check_read_past_eof(do_io_async, "eof-async.img");
}

/* Reads the page cache does not hold: RWF_NOWAIT misses (EAGAIN) and the ring reads them. */
static void test_file_async_uncached(void **state)
{
	struct bs_config cfg = {.type = "file", .size = 8 * MIB, .create = true};
	static uint8_t big[4 * MIB], rbig[4 * MIB];
	char path[PATH_MAX];
	struct backstore *bs;
	int fd;

	tmp_path(path, sizeof(path), "uncached.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	fill_pattern(big, sizeof(big), 9);
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, 0, 2 * MIB, big, sizeof(big)), 0);
	assert_int_equal(do_io_async(bs, BS_OP_FLUSH, 0, 0, NULL, 0), 0);
	fd = bs_file_fd(bs);
	assert_true(fd >= 0);
	/* Drop the clean pages (advisory: on tmpfs it does nothing, and the read is inline). */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	memset(rbig, 0, sizeof(rbig));
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 2 * MIB, rbig, sizeof(rbig)), 0);
	assert_memory_equal(rbig, big, sizeof(big));
	/* Half cached: the first MiB read back, then a read that spans it and the rest. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 2 * MIB, rbig, MIB), 0);
	memset(rbig, 0, sizeof(rbig));
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 2 * MIB, rbig, sizeof(rbig)), 0);
	assert_memory_equal(rbig, big, sizeof(big));
	backstore_close(bs);
	unlink(path);
}

/* A file on tmpfs (/dev/shm) is read and written inline on the worker thread, FUA included. */
static void test_file_async_tmpfs(void **state)
{
	struct bs_config cfg = {.type = "file", .size = 8 * MIB, .create = true};
	static uint8_t big[3 * MIB], rbig[3 * MIB];
	char path[PATH_MAX];
	struct backstore *bs;

	snprintf(path, sizeof(path), "/dev/shm/invar-bs-test-%d.img", (int)getpid());
	cfg.path = path;
	{
		char err[256];

		if (backstore_open(&cfg, &bs, err, sizeof(err)) < 0)
			skip(); /* no /dev/shm here */
	}
	check_rw(bs, do_io_async);
	fill_pattern(big, sizeof(big), 7);
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, BS_IO_FUA, MIB, big, sizeof(big)), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, MIB, rbig, sizeof(rbig)), 0);
	assert_memory_equal(rbig, big, sizeof(big));
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, MIB, rbig, sizeof(rbig)), 0);
	assert_memory_equal(rbig, big, sizeof(big));
	backstore_close(bs);
	unlink(path);
}

/* A tmpfs file without holes is mapped (backstore/file/filemap.c): reads and plain writes are
 * a memcpy on the worker. Same data as the system calls; a truncation under us is a SIGBUS the
 * copy survives (the rest reads as zeroes, like pread past EOF); after UNMAP the mapping is no
 * longer used, so reading the new hole does not allocate it again. */
static void test_file_mapped_tmpfs(void **state)
{
	struct bs_config cfg = {.type = "file"};
	static uint8_t buf[MIB], rbuf[MIB], zero[MIB];
	char path[PATH_MAX];
	struct backstore *bs;
	uint64_t len;
	bool mapped;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/invar-bs-map-%d.img", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		skip(); /* no /dev/shm here */
	fill_pattern(buf, sizeof(buf), 3);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)i * MIB), (ssize_t)MIB);
	cfg.path = path;
	bs = open_ok(&cfg);
	assert_int_equal(bs->size, 4 * MIB);

	/* Through the mapping, and agreeing with the system calls both ways. */
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, MIB, rbuf, MIB), 0);
	assert_memory_equal(rbuf, buf, MIB);
	fill_pattern(buf, sizeof(buf), 9);
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, 0, 4096, buf, 64 * 1024), 0);
	assert_int_equal(pread(fd, rbuf, 64 * 1024, 4096), 64 * 1024);
	assert_memory_equal(rbuf, buf, 64 * 1024);
	assert_int_equal(pwrite(fd, buf + 100, 8192, 2 * MIB), 8192);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 2 * MIB, rbuf, 8192), 0);
	assert_memory_equal(rbuf, buf + 100, 8192);

	/* Truncated to 3 MiB by someone else: the last MiB faults (SIGBUS), and reads as zeroes. */
	assert_int_equal(ftruncate(fd, 3 * MIB), 0);
	memset(rbuf, 0xa5, MIB);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 3 * MIB, rbuf, MIB), 0);
	assert_memory_equal(rbuf, zero, MIB);
	/* A write there goes to pwrite, which extends the file again. */
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, 0, 3 * MIB, buf, 4096), 0);
	assert_int_equal(pread(fd, rbuf, 4096, 3 * MIB), 4096);
	assert_memory_equal(rbuf, buf, 4096);

	/* UNMAP punches a hole; reading it back gives zeroes and leaves it a hole. */
	assert_int_equal(do_io_async(bs, BS_OP_UNMAP, 0, MIB, NULL, MIB), 0);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, MIB, rbuf, MIB), 0);
	assert_memory_equal(rbuf, zero, MIB);
	assert_int_equal(backstore_lba_status(bs, MIB, &len, &mapped), 0);
	assert_false(mapped);
	backstore_close(bs);
	close(fd);
	unlink(path);
}

static void test_file_enospc_dev_full_async(void **state)
{
	check_enospc_dev_full(do_io_async, "full-async.img");
}

/* ---- main ---------------------------------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int suite_setup(void **state)
{
	log_set_level(LOG_ERR);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_teardown(void **state)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void test_unmap_ram_null(void **state)
{
	struct bs_config cfg = {.type = "ram", .size = 16 * MIB};
	struct backstore *bs = open_ok(&cfg);
	uint64_t len;
	bool mapped;
	uint8_t buf[512];

	check_unmap(bs, do_io);
	/* No lba_status callback: everything mapped, to the end. */
	assert_int_equal(backstore_lba_status(bs, 4096, &len, &mapped), 0);
	assert_true(mapped);
	assert_int_equal(len, 16 * MIB - 4096);
	assert_int_equal(backstore_lba_status(bs, 16 * MIB, &len, &mapped), -EINVAL);
	backstore_close(bs);

	cfg.type = "null";
	bs = open_ok(&cfg);
	assert_true(bs->can_unmap && bs->unmap_zeroes);
	assert_int_equal(do_io(bs, BS_OP_UNMAP, 0, 0, NULL, 4096), 0);
	assert_int_equal(do_io(bs, BS_OP_WRITE_ZEROES, 0, 0, NULL, 4096), 0);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 0, buf, sizeof(buf)), 0);
	assert_true(all_zero(buf, sizeof(buf)));
	backstore_close(bs);
}

/* Punching holes in a sparse file: SEEK_HOLE sees them, GET LBA STATUS reports them. */
static void check_file_unmap(io_fn io, const char *name)
{
	struct bs_config cfg = {.type = "file", .size = 8 * MIB, .create = true};
	static uint8_t wbuf[MIB];
	char path[PATH_MAX];
	struct backstore *bs;
	uint64_t len;
	bool mapped;

	tmp_path(path, sizeof(path), name);
	cfg.path = path;
	bs = open_ok(&cfg);
	assert_true(bs->thin);
	check_unmap(bs, io);
	/* Whole file: hole, then 1 MiB of data at 2 MiB, then a punched 256 KiB in its middle. */
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, 0, NULL, bs->size), 0);
	assert_int_equal(backstore_lba_status(bs, 0, &len, &mapped), 0);
	assert_false(mapped);
	assert_int_equal(len, 8 * MIB);
	fill_pattern(wbuf, sizeof(wbuf), 1);
	assert_int_equal(io(bs, BS_OP_WRITE, 0, 2 * MIB, wbuf, sizeof(wbuf)), 0);
	assert_int_equal(io(bs, BS_OP_UNMAP, 0, 2 * MIB + 256 * 1024, NULL, 256 * 1024), 0);
	assert_int_equal(backstore_lba_status(bs, 0, &len, &mapped), 0);
	assert_false(mapped);
	assert_int_equal(len, 2 * MIB);
	assert_int_equal(backstore_lba_status(bs, 2 * MIB, &len, &mapped), 0);
	assert_true(mapped);
	assert_int_equal(len, 256 * 1024);
	assert_int_equal(backstore_lba_status(bs, 2 * MIB + 256 * 1024, &len, &mapped), 0);
	assert_false(mapped);
	assert_int_equal(len, 256 * 1024);
	assert_int_equal(backstore_lba_status(bs, 3 * MIB, &len, &mapped), 0);
	assert_false(mapped);
	assert_int_equal(len, 5 * MIB);
	backstore_close(bs);
	unlink(path);
}

static void test_file_unmap_sync(void **state)
{
	check_file_unmap(do_io, "unmap-sync.img");
}

static void test_file_unmap_async(void **state)
{
	check_file_unmap(do_io_async, "unmap-async.img");
}

/* ---- capacity change (ops->resize, backstore_resize) -------------------------------------- */

static void resize_ok(struct backstore *bs, uint64_t bytes)
{
	char err[256] = "";
	int ret = backstore_resize(bs, bytes, err, sizeof(err));

	if (ret < 0)
		fail_msg("backstore_resize(%s, %llu): %d: %s", bs->type, (unsigned long long)bytes,
			 ret, err);
	assert_int_equal(backstore_size(bs), bytes);
}

static void resize_fails(struct backstore *bs, uint64_t bytes, int errnum, const char *want)
{
	uint64_t before = backstore_size(bs);
	char err[256] = "";
	int ret = backstore_resize(bs, bytes, err, sizeof(err));

	if (ret != -errnum)
		fail_msg("backstore_resize(%s, %llu): got %d (%s), want %d", bs->type,
			 (unsigned long long)bytes, ret, err, -errnum);
	if (want && !strstr(err, want))
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(backstore_size(bs), before);
}

static void expect_zeroes(struct backstore *bs, io_fn io, uint64_t off, uint64_t len)
{
	static uint8_t rbuf[MIB], zero[MIB];

	while (len) {
		uint64_t n = len > MIB ? MIB : len;

		memset(rbuf, 0xa5, n);
		assert_int_equal(io(bs, BS_OP_READ, 0, off, rbuf, n), 0);
		assert_memory_equal(rbuf, zero, n);
		off += n;
		len -= n;
	}
}

/* RAM: growth exposes zeroes, also where data was before a shrink; the mapping never moves;
 * null: any size; a re-read changes nothing for either. */
static void test_resize_ram_null(void **state)
{
	struct bs_config cfg = {.type = "ram", .size = MIB};
	static uint8_t buf[64 * 1024], rbuf[64 * 1024];
	struct backstore *bs = open_ok(&cfg);
	void *mem = *(void **)bs->priv;
	uint64_t sz;
	char err[128];

	fill_pattern(buf, sizeof(buf), 5);
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, 0, buf, sizeof(buf)), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 2 * MIB, rbuf, 4096), -EINVAL);
	resize_ok(bs, 3 * MIB);
	assert_ptr_equal(*(void **)bs->priv, mem);
	expect_zeroes(bs, do_io, MIB, 2 * MIB);
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, 2 * MIB, buf, sizeof(buf)), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 0, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, buf, sizeof(buf));
	/* Shrink below the data at 2 MiB, grow again: zeroes, not the old data. */
	resize_ok(bs, MIB / 2);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, MIB / 2, rbuf, 512), -EINVAL);
	resize_ok(bs, 4 * MIB);
	expect_zeroes(bs, do_io, MIB / 2, 4 * MIB - MIB / 2);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 0, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, buf, sizeof(buf));
	assert_int_equal(backstore_medium_size(bs, &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 4 * MIB);
	assert_int_equal(backstore_resize(bs, 0, err, sizeof(err)), -EINVAL);
	backstore_close(bs);

	cfg.type = "null";
	bs = open_ok(&cfg);
	resize_ok(bs, 5 * GIB);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 4 * GIB, rbuf, 4096), 0);
	assert_int_equal(backstore_medium_size(bs, &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 5 * GIB);
	backstore_close(bs);
}

/* A type whose table predates the op (smaller size) or lacks it: -EOPNOTSUPP, a reason. */
static void test_resize_unsupported(void **state)
{
	struct bs_config cfg = {.type = "ram", .size = MIB};
	struct backstore *bs = open_ok(&cfg);
	const struct backstore_ops *real = bs->ops;
	struct backstore_ops old = *real;
	uint64_t sz;
	char err[128];

	old.size = offsetof(struct backstore_ops, resize);
	bs->ops = &old;
	resize_fails(bs, 2 * MIB, EOPNOTSUPP, "cannot change size");
	assert_int_equal(backstore_medium_size(bs, &sz, err, sizeof(err)), -EOPNOTSUPP);
	old = *real;
	old.resize = NULL;
	resize_fails(bs, 2 * MIB, EOPNOTSUPP, "cannot change size");
	bs->ops = real;
	backstore_close(bs);
}

/* A regular file: grows sparse (ftruncate), shrinks by truncation, re-reads a size changed
 * outside; read-only refuses to change the file but re-reads. */
static void test_resize_file(void **state)
{
	struct bs_config cfg = {.type = "file", .size = MIB, .create = true};
	static uint8_t buf[64 * 1024], rbuf[64 * 1024];
	char path[PATH_MAX], err[256];
	struct backstore *bs, *ro;
	struct stat st;
	uint64_t sz;

	tmp_path(path, sizeof(path), "resize.img");
	cfg.path = path;
	bs = open_ok(&cfg);
	fill_pattern(buf, sizeof(buf), 7);
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, 0, buf, sizeof(buf)), 0);
	resize_ok(bs, 256 * MIB);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 256 * MIB);
	assert_true((uint64_t)st.st_blocks * 512 < 4 * MIB); /* thin stays sparse */
	expect_zeroes(bs, do_io, MIB, MIB);
	assert_int_equal(do_io(bs, BS_OP_WRITE, 0, 200 * MIB, buf, sizeof(buf)), 0);
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 200 * MIB, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, buf, sizeof(buf));

	/* Grown outside: re-read reports it, nothing changes until it is applied. */
	assert_int_equal(truncate(path, 300 * MIB), 0);
	assert_int_equal(backstore_medium_size(bs, &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 300 * MIB);
	assert_int_equal(backstore_size(bs), 256 * MIB);
	resize_ok(bs, 300 * MIB);

	/* Shrink: the file is cut; grown again, the cut range reads zeroes. */
	resize_ok(bs, 2 * MIB);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 * MIB);
	resize_ok(bs, 256 * MIB);
	expect_zeroes(bs, do_io, 200 * MIB, sizeof(buf));
	assert_int_equal(do_io(bs, BS_OP_READ, 0, 0, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, buf, sizeof(buf));

	/* Read-only: the file is never changed, a re-read is fine. */
	cfg.read_only = true;
	cfg.create = false;
	cfg.size = 0;
	ro = open_ok(&cfg);
	resize_fails(ro, 512 * MIB, EROFS, "read-only");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 256 * MIB);
	assert_int_equal(truncate(path, 260 * MIB), 0);
	assert_int_equal(backstore_medium_size(ro, &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 260 * MIB);
	resize_ok(ro, 260 * MIB);
	backstore_close(ro);
	backstore_close(bs);
}

/* A file on tmpfs, mapped: the grown range is served (through the system calls, the mapping
 * stays as it was); after a shrink the mapping is not used again, so nothing faults on it. */
static void test_resize_file_mapped(void **state)
{
	struct bs_config cfg = {.type = "file"};
	static uint8_t buf[MIB], rbuf[MIB];
	char path[PATH_MAX];
	struct backstore *bs;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/invar-bs-resize-%d.img", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		skip();
	fill_pattern(buf, sizeof(buf), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)i * MIB), (ssize_t)MIB);
	cfg.path = path;
	bs = open_ok(&cfg);
	resize_ok(bs, 8 * MIB);
	expect_zeroes(bs, do_io_async, 4 * MIB, 4 * MIB);
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, 0, 6 * MIB, buf, MIB), 0);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 6 * MIB, rbuf, MIB), 0);
	assert_memory_equal(rbuf, buf, MIB);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 3 * MIB, rbuf, MIB), 0);
	assert_memory_equal(rbuf, buf, MIB);
	/* Shrink into the mapped range, grow again: zeroes where the file was cut. */
	resize_ok(bs, 2 * MIB);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, 3 * MIB, rbuf, MIB), -EINVAL);
	resize_ok(bs, 4 * MIB);
	expect_zeroes(bs, do_io_async, 2 * MIB, 2 * MIB);
	assert_int_equal(do_io_async(bs, BS_OP_WRITE, 0, 3 * MIB, buf, MIB), 0);
	assert_int_equal(pread(fd, rbuf, MIB, 3 * MIB), (ssize_t)MIB);
	assert_memory_equal(rbuf, buf, MIB);
	assert_int_equal(do_io_async(bs, BS_OP_READ, 0, MIB, rbuf, MIB), 0);
	assert_memory_equal(rbuf, buf, MIB);
	backstore_close(bs);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_null),
	    cmocka_unit_test(test_ram),
	    cmocka_unit_test(test_file_open_errors),
	    cmocka_unit_test(test_file_create_reopen),
	    cmocka_unit_test(test_file_sync_io),
	    cmocka_unit_test(test_file_wr_backoff),
	    cmocka_unit_test(test_file_enospc_dev_full_sync),
	    cmocka_unit_test(test_file_enospc_tmpfs),
	    cmocka_unit_test_setup_teardown(test_file_async_io, worker_setup, worker_teardown),
	    cmocka_unit_test_setup_teardown(test_file_async_uncached, worker_setup, worker_teardown),
	    cmocka_unit_test_setup_teardown(test_file_async_tmpfs, worker_setup, worker_teardown),
	    cmocka_unit_test_setup_teardown(test_file_mapped_tmpfs, worker_setup, worker_teardown),
	    cmocka_unit_test_setup_teardown(test_file_enospc_dev_full_async, worker_setup,
					    worker_teardown),
	    cmocka_unit_test(test_unmap_ram_null),
	    cmocka_unit_test(test_file_unmap_sync),
	    cmocka_unit_test_setup_teardown(test_file_unmap_async, worker_setup, worker_teardown),
	    cmocka_unit_test(test_resize_ram_null),
	    cmocka_unit_test(test_resize_unsupported),
	    cmocka_unit_test(test_resize_file),
	    cmocka_unit_test_setup_teardown(test_resize_file_mapped, worker_setup,
					    worker_teardown),
	    cmocka_unit_test(test_iov_ram_null_bounce),
	    cmocka_unit_test(test_iov_file_sync),
	    cmocka_unit_test_setup_teardown(test_iov_file_async, worker_setup, worker_teardown),
	};

	return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
