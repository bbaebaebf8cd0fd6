/* The "user" backstore's daemon hooks: the handler socket (DATA_DIR/handler.sock) where
 * out-of-process handlers attach. See docs/HANDLER-ABI.md. */
#ifndef INVAR_BACKSTORE_USER_H
#define INVAR_BACKSTORE_USER_H

#include <stdint.h>

struct ev_loop;
struct worker;

/* Where the hub runs: the main thread's loop (the handler socket, attach and detach), the
 * workers (one ring queue each) and the directory of the socket. */
struct user_hub_env {
	struct ev_loop *main_loop;
	struct worker *workers;
	unsigned nworkers;
	const char *data_dir;
};

/* Timeouts, in milliseconds (0 = keep the default). */
struct user_hub_config {
	uint32_t wait_ms;	/* a command waits this long for a handler or ring space, then
				 * gets BUSY / TASK SET FULL (default 5000) */
	uint32_t io_timeout_ms;	/* a handler that holds a command longer is declared hung,
				 * killed, and its commands get BUSY (default 30000) */
};

/* Before any user LU is created (after the workers exist); listens on DATA_DIR/handler.sock from the
 * main loop. 0 or -errno. */
int user_hub_start(const struct user_hub_env *env, const struct user_hub_config *cfg);
/* While the workers still run (before daemon_fini): detaches every handler, closes the socket. */
void user_hub_stop(void);

#endif
