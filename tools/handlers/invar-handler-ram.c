/* The smallest useful handler: a RAM disk served through the ring, as an example of
 * libinvar-handler (invar-handler-file is the same with a file behind it).
 *   invar-handler-ram [--socket DATA_DIR/handler.sock] --name NAME
 * The LU must exist in invard as `--lun user:NAME,size=SIZE`; the disk starts as SIZE bytes of
 * zeroes and lives as long as this process. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "invar/handler.h"

struct ramdisk {
	uint8_t *mem; /* mapped after attach, when the size is known; run() starts later */
};

static struct invar_handler *handler;

/* The library hands us only ranges inside the LU: no bounds checks needed here. */
static int ram_read(void *ctx, void *buf, uint64_t len, uint64_t off)
{
	memcpy(buf, ((struct ramdisk *)ctx)->mem + off, len);
	return 0;
}

static int ram_write(void *ctx, const void *buf, uint64_t len, uint64_t off, bool fua)
{
	memcpy(((struct ramdisk *)ctx)->mem + off, buf, len);
	return 0; /* RAM is as durable as it gets: fua needs nothing more */
}

static int ram_flush(void *ctx)
{
	return 0;
}

static void on_signal(int sig)
{
	invar_handler_stop(handler);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
					      { "name", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	/* unmap and write_zeroes stay NULL: the library writes zeroes through ram_write. */
	static const struct invar_handler_ops ops = {
		.size = sizeof(ops), .read = ram_read, .write = ram_write, .flush = ram_flush
	};
	const char *sock = "invar-data/handler.sock", *name = NULL;
	struct ramdisk disk = { NULL };
	char err[256];
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			sock = optarg;
		else if (c == 'n')
			name = optarg;
		else
			return 2;
	}
	if (!name) {
		fprintf(stderr, "usage: invar-handler-ram [--socket PATH] --name NAME\n");
		return 2;
	}
	handler = invar_handler_attach(sock, name, &ops, &disk, err, sizeof(err));
	if (!handler) {
		fprintf(stderr, "invar-handler-ram: %s\n", err);
		return 1;
	}
	disk.mem = mmap(NULL, invar_handler_size(handler), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (disk.mem == MAP_FAILED) {
		fprintf(stderr, "invar-handler-ram: %s\n", strerror(errno));
		invar_handler_close(handler);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = invar_handler_run(handler);
	invar_handler_close(handler);
	return ret < 0 ? 1 : 0;
}
