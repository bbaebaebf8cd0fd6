/* The live-migration channel between two daemons (docs/design/migration.md, "Channel").
 *
 * Destination: `invard --migration-listen ADDR:PORT` accepts one migration at a time on the
 * main loop. Source: the RPC `lu_migrate` (`invarctl lu migrate IQN LUN --to ADDR:PORT`) runs
 * the outgoing side synchronously on the main thread: OFFER (the PRE_COPY state with the
 * compatibility description), the destination's ACCEPT or REFUSE with reasons (nothing has
 * stopped yet), STOP_COPY and drain, FINAL (the state again), READY, switch-over, COMMIT, DONE.
 * Every read and write has a timeout, so a dead peer costs at most that much. */
#ifndef INVAR_CTL_MIGRATE_H
#define INVAR_CTL_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct mig_listener;

/* Message types on the channel: type u8 | length be32 | payload (at most MIG_STREAM_MAX). */
enum mig_msg {
	MIG_MSG_OFFER = 1,	/* src: stream (PRE_COPY snapshot, with the description) */
	MIG_MSG_ACCEPT = 2,	/* dst: compatible, waiting for the final state */
	MIG_MSG_REFUSE = 3,	/* dst: reasons, one a line */
	MIG_MSG_FINAL = 4,	/* src: stream after STOP_COPY and drain */
	MIG_MSG_READY = 5,	/* dst: state imported, LU not serving yet */
	MIG_MSG_COMMIT = 6,	/* src: switched over (source STOP): serve */
	MIG_MSG_DONE = 7,	/* dst: serving */
	MIG_MSG_ABORT = 8,	/* src: cancelled before the switch-over; drop the LU */
};

#define MIG_CHANNEL_TIMEOUT_MS 10000
#define MIG_DRAIN_TIMEOUT_MS 10000
/* After the switch-over, the sessions of a target that moved have this long to log out (Async
 * Message "logout requested") before they are dropped. */
#define MIG_LOGOUT_WAIT_S 2

/* Starts listening on addr_port ("ADDR:PORT" or "[v6]:PORT") on d's main loop. 0 or -errno
 * with a reason. */
int mig_listen_start(struct daemon *d, const char *addr_port, struct mig_listener **out,
		     char *err, size_t err_len);
void mig_listen_stop(struct mig_listener *l);

#endif
