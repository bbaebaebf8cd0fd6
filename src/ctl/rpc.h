/* The control plane's JSON-RPC 2.0 server (docs/RPC.md): a Unix stream socket on the daemon's
 * main loop, one JSON request per line, one JSON response per line. */
#ifndef INVAR_CTL_RPC_H
#define INVAR_CTL_RPC_H

#include <stddef.h>

struct daemon;
struct rpc_server;

/* Largest request line accepted; a longer one gets an error and the connection is closed. */
#define RPC_MAX_REQUEST (1u << 20)
/* Concurrent clients; more are accepted and closed at once. */
#define RPC_MAX_CLIENTS 64

/* Binds path (mode 0600; a stale socket left by a dead daemon is replaced, a live one is not)
 * and watches it on d->main_loop. Returns 0 or -errno (logged). */
int rpc_server_start(struct daemon *d, const char *path, struct rpc_server **out);
/* Closes every client and the socket, and removes the socket file. */
void rpc_server_stop(struct rpc_server *s);

/* Handles one request (or batch) of len bytes and returns the response line, malloc'ed and
 * ending in '\n', or NULL when nothing is to be sent (notifications only). Never fails on bad
 * input: that yields a JSON-RPC error response. Exposed for tests. */
char *rpc_process(struct daemon *d, const char *req, size_t len);

#endif
