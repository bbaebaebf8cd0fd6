/* libinvar-handler: serve a user LU (`--lun user:NAME,size=SIZE`) from another process.
 * The library attaches to invard's handler socket, negotiates the ring version and features
 * (include/invar/handler-ring.h), runs one thread per ring queue and turns each command into a
 * call of your ops. A handler is a main() that fills struct invar_handler_ops and calls
 * invar_handler_attach() then invar_handler_run(); see tools/handlers/invar-handler-ram.c.
 *
 * ABI: only invar_handler_* symbols are exported (soname libinvar-handler.so.1); structs you
 * pass carry their own size, and fields are only ever appended. */
#ifndef INVAR_HANDLER_H
#define INVAR_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Callbacks. Each returns 0 or a negative errno (-EIO, -ENOSPC, ...; -EBUSY or -EAGAIN make
 * the initiator retry). They run on the queue threads, several at once: they must be
 * thread-safe. offset and len are bytes, inside the LU, multiples of 512. */
struct invar_handler_ops {
	uint32_t size; /* sizeof(struct invar_handler_ops) as you compiled it */
	int (*read)(void *ctx, void *buf, uint64_t len, uint64_t offset);
	/* fua: the data must be durable before returning. */
	int (*write)(void *ctx, const void *buf, uint64_t len, uint64_t offset, bool fua);
	/* Every completed write durable. */
	int (*flush)(void *ctx);
	/* Optional (NULL: the library writes zeroes through write()). Afterwards the range must
	 * read back as zeroes. */
	int (*unmap)(void *ctx, uint64_t offset, uint64_t len);
	int (*write_zeroes)(void *ctx, uint64_t offset, uint64_t len);
};

struct invar_handler;

/* Connects to the handler socket (invard's DATA_DIR/handler.sock; the control socket's path
 * DATA_DIR/invar.sock is accepted and mapped to it) and attaches to the user LU `name`. Waits
 * up to 10 s while a previous handler of the same LU is being detached. NULL on failure, with
 * a reason in err. */
struct invar_handler *invar_handler_attach(const char *socket_path, const char *name,
					   const struct invar_handler_ops *ops, void *ctx,
					   char *err, size_t err_len);
/* The LU's size in bytes, the number of queues (threads run() starts), the accepted
 * INVAR_RING_F_* features. */
uint64_t invar_handler_size(const struct invar_handler *h);
unsigned invar_handler_queues(const struct invar_handler *h);
uint64_t invar_handler_features(const struct invar_handler *h);
/* Serves commands until the daemon closes the connection (it stopped, or deleted the LU) or
 * invar_handler_stop() is called. 0, or -errno. */
int invar_handler_run(struct invar_handler *h);
/* Async-signal-safe: makes run() return. */
void invar_handler_stop(struct invar_handler *h);
void invar_handler_close(struct invar_handler *h);
/* "MAJOR.MINOR" of the ring this library speaks. */
const char *invar_handler_version(void);

#ifdef __cplusplus
}
#endif

#endif
