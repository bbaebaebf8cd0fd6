/* invar-handler-file: the file backstore through the ring.
 *   invar-handler-file [--socket DATA_DIR/handler.sock] --name NAME FILE
 * Serves the user LU NAME (`--lun user:NAME,size=SIZE`) from FILE, a regular file or block
 * device, created sparse or grown to SIZE when smaller. Blocking pread/pwrite on each queue
 * thread: when this process dies, no write of it is left in flight to land after the
 * initiator's retry (asynchronous I/O could outlive a SIGKILL). FUA is pwritev2(RWF_DSYNC);
 * UNMAP punches holes, WRITE ZEROES zeroes ranges, both keeping the size. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "invar/handler.h"

static struct invar_handler *handler;

static int file_fd(void *ctx)
{
	return *(int *)ctx;
}

/* Whole transfers: pread/pwrite may be short. */
static int file_read(void *ctx, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(file_fd(ctx), p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) { /* past the end of a shrunk file: zeroes, like the in-process one */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int file_write(void *ctx, const void *buf, uint64_t len, uint64_t off, bool fua)
{
	const uint8_t *p = buf;

	while (len) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
		ssize_t n = pwritev2(file_fd(ctx), &iov, 1, (off_t)off, fua ? RWF_DSYNC : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EOPNOTSUPP && fua) {
			n = pwrite(file_fd(ctx), p, len, (off_t)off);
			if (n > 0 && fdatasync(file_fd(ctx)) < 0)
				return -errno;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int file_flush(void *ctx)
{
	return fdatasync(file_fd(ctx)) < 0 ? -errno : 0;
}

static int file_zero(void *ctx, uint64_t off, uint64_t len, int mode)
{
	if (fallocate(file_fd(ctx), mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno == EOPNOTSUPP && mode != FALLOC_FL_ZERO_RANGE)
		return file_zero(ctx, off, len, FALLOC_FL_ZERO_RANGE);
	/* -EOPNOTSUPP: the library does not retry; zeroes by writing would be the fallback. */
	return -errno;
}

static int file_unmap(void *ctx, uint64_t off, uint64_t len)
{
	return file_zero(ctx, off, len, FALLOC_FL_PUNCH_HOLE);
}

static int file_write_zeroes(void *ctx, uint64_t off, uint64_t len)
{
	return file_zero(ctx, off, len, FALLOC_FL_ZERO_RANGE);
}

static void on_signal(int sig)
{
	invar_handler_stop(handler);
}

/* The file must hold the whole LU: grow a regular file (sparse), refuse a short device. */
static int file_fit(int fd, uint64_t size, const char *path)
{
	struct stat st;
	uint64_t dev;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &dev) < 0)
			return -errno;
		if (dev < size) {
			fprintf(stderr, "invar-handler-file: %s is smaller than the LU\n", path);
			return -ENOSPC;
		}
		return 0;
	}
	if ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
					      { "name", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	static const struct invar_handler_ops ops = {
		.size = sizeof(ops),
		.read = file_read,
		.write = file_write,
		.flush = file_flush,
		.unmap = file_unmap,
		.write_zeroes = file_write_zeroes,
	};
	const char *sock = "invar-data/handler.sock", *name = NULL;
	char err[256];
	int c, fd, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			sock = optarg;
		else if (c == 'n')
			name = optarg;
		else
			return 2;
	}
	if (!name || optind != argc - 1) {
		fprintf(stderr, "usage: invar-handler-file [--socket PATH] --name NAME FILE\n");
		return 2;
	}
	fd = open(argv[optind], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "invar-handler-file: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	handler = invar_handler_attach(sock, name, &ops, &fd, err, sizeof(err));
	if (!handler) {
		fprintf(stderr, "invar-handler-file: %s\n", err);
		return 1;
	}
	ret = file_fit(fd, invar_handler_size(handler), argv[optind]);
	if (ret < 0) {
		fprintf(stderr, "invar-handler-file: %s: %s\n", argv[optind], strerror(-ret));
		invar_handler_close(handler);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = invar_handler_run(handler);
	invar_handler_close(handler);
	close(fd);
	return ret < 0 ? 1 : 0;
}
