/* The Prometheus endpoint (invard --metrics-listen ADDR:PORT): GET /metrics answers the text
 * exposition format (version 0.0.4) of the I/O statistics (ctl/stats.h), through
 * libmicrohttpd. Unauthenticated: bind it to loopback or a management network.
 *
 * Threads: libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL, external loop): its
 * epoll descriptor is one more fd of the main loop, with a timer for its timeouts, so every
 * request is answered on the main thread, like an RPC, never blocking it (non-blocking sockets,
 * the whole answer built in memory first). It only reads statistics (relaxed loads), holding
 * daemon.lock just to list the LUs; it touches nothing a worker owns. */
#ifndef INVAR_CTL_METRICS_H
#define INVAR_CTL_METRICS_H

#include <stddef.h>

struct daemon;
struct metrics_server;

/* Listen on addr_port ("127.0.0.1:9100", "[::1]:9100"). 0, or -errno with a reason in err. */
int metrics_start(struct daemon *d, const char *addr_port, struct metrics_server **out, char *err,
		  size_t err_len);
/* Stops serving and frees (NULL: nothing). Main thread. */
void metrics_stop(struct metrics_server *m);

/* The exposition text for d (malloc'd, NUL-terminated, *len bytes): for tests and the server.
 * 0 or -ENOMEM. */
int metrics_render(struct daemon *d, char **text, size_t *len);

#endif
