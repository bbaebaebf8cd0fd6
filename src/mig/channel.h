/* The live-migration channel between two daemons (docs/design/migration.md, "Channel"), as two state
 * machines on the daemon's main loop: the destination's (one per accepted connection on the
 * `--migration-listen` address) and the source's (one per `lu_migrate`). Sockets are
 * non-blocking; a peer that goes quiet is cut off by a timer, and STOP_COPY's drain is polled
 * by a timer: nothing here sleeps or blocks, so logins, RPCs and other migrations go on while
 * a migration waits. Several migrations of different LUs may run at once.
 *
 * The protocol: OFFER (the PRE_COPY state with the compatibility description), the
 * destination's ACCEPT or REFUSE with reasons (nothing has stopped yet), STOP_COPY and drain,
 * FINAL (the state again), READY, switch-over, COMMIT, DONE. Messages are
 * type u8 | length be32 | payload (at most MIG_STREAM_MAX); the peer is untrusted. */
#ifndef INVAR_MIG_CHANNEL_H
#define INVAR_MIG_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "mig/mig_handover.h"

struct daemon;
struct lu;
struct mig_ctx;

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

#define MIG_MSG_HDR_LEN 5
/* A peer that moves no byte for this long (connect, send, or the answer awaited) is given up. */
#define MIG_CHANNEL_TIMEOUT_MS 10000
/* STOP_COPY: the admitted commands have this long to finish; polled every MIG_DRAIN_POLL_MS. */
#define MIG_DRAIN_TIMEOUT_MS 10000
#define MIG_DRAIN_POLL_MS 1
/* After the switch-over, the sessions of a target that moved have this long to log out (Async
 * Message "logout requested") before they are dropped. */
#define MIG_LOGOUT_WAIT_S 2
/* Migrations under way in one daemon (both sides); more are refused. */
#define MIG_CHANNELS_MAX 16

/* The compatibility description and check belong to the control plane (ctl/compat.h, JSON):
 * main passes them in. */
struct mig_compat_ops {
	/* lu's description, mapped as LUN lun of iqn, as compact JSON text (malloc'd; NULL on
	 * ENOMEM). */
	char *(*describe)(const struct lu *lu, const char *iqn, unsigned lun);
	/* Whether a guest described by src_desc (the source's JSON text) sees the same answers on
	 * ref: 0 yes, 1 no (after reason() once per difference), -1 a description is malformed
	 * (err says why). */
	int (*check)(const char *src_desc, const struct lu *ref, const char *iqn, unsigned lun,
		     void (*reason)(const char *reason, void *arg), void *arg, char *err,
		     size_t err_len);
};

/* Test-only fault injection (`invard --mig-hold STAGE=MS`): the channel waits MS milliseconds,
 * on its timer, at that stage, holding the migration mid-way. The peer waits meanwhile: past
 * MIG_CHANNEL_TIMEOUT_MS it gives up, which tests the timeout instead. */
enum mig_hold_stage {
	MIG_HOLD_DST_OFFER,	/* destination: OFFER received, before the check and ACCEPT */
	MIG_HOLD_SRC_ACCEPTED,	/* source: ACCEPT received, before STOP_COPY (still serving) */
	MIG_HOLD_SRC_DRAINED,	/* source: drained, before FINAL (the LU answers BUSY) */
	MIG_HOLD_DST_FINAL,	/* destination: FINAL imported, before READY */
	MIG_HOLD_COUNT
};
#define MIG_HOLD_MAX_MS 600000
/* "STAGE=MS" (STAGE dst-offer, src-accepted, src-drained, dst-final; MS 0..600000) into its
 * parts. 0 or -EINVAL with a reason. */
int mig_hold_parse(const char *spec, enum mig_hold_stage *stage, unsigned *ms, char *err,
		   size_t err_len);

/* The migration context of a daemon, on d->main_loop. */
int mig_ctx_new(struct daemon *d, const struct mig_compat_ops *ops, struct mig_ctx **out);
void mig_ctx_set_hold(struct mig_ctx *m, enum mig_hold_stage stage, unsigned ms);
/* Ends every migration under way, as a dead peer would (a source before the switch-over
 * serves on, after it goes to ERROR; an arriving LU is dropped), answering their callers; then
 * stops listening and frees m. Call on the main thread, with the loop stopped. */
void mig_ctx_free(struct mig_ctx *m);

/* Starts accepting migrations on addr_port ("ADDR:PORT" or "[v6]:PORT"). 0 or -errno with a
 * reason. */
int mig_listen(struct mig_ctx *m, const char *addr_port, char *err, size_t err_len);

/* How a source migration ended. */
struct mig_outcome {
	int code;		/* 0; -ECANCELED: not moved, still served here; -EIO: the
				 * switch-over is not confirmed, the LU is in state ERROR */
	char msg[640];		/* why, when code != 0 */
	const char *to;		/* as given to mig_source_start */
	unsigned lun;
	double total_ms, pause_ms;
	char redirect[MIG_REDIRECT_MAX + 1];	/* "" when logins are not redirected */
};
typedef void (*mig_done_fn)(void *arg, const struct mig_outcome *o);

/* Starts moving LUN lun of target iqn to the daemon listening at to ("ADDR:PORT"); portal
 * (optional, checked with mig_portal_check) is where logins go after the move, else one the
 * destination names. Returns 0 and calls done(arg, ...) once, later, on the main loop; or
 * -EINVAL (portal), -ENOENT (no such target or LUN), -EBUSY (the LU is not RUNNING, or too
 * many migrations) with a reason in err, and done is never called. */
int mig_source_start(struct mig_ctx *m, const char *iqn, unsigned lun, const char *to,
		     const char *portal, mig_done_fn done, void *arg, char *err, size_t err_len);

#endif
