/* The per-LU live-migration state machine, after VFIO migration v2 (linux/vfio.h): one table
 * of transitions, and the command gate the states imply.
 *
 *   source:       RUNNING -start-> PRE_COPY -stop_copy-> STOP_COPY -switched-> STOP
 *   destination:  RUNNING (fresh, unmapped) -resume-> RESUMING -resumed-> RUNNING
 *
 * Before the switch-over every abort or failure returns the source to RUNNING with nothing
 * lost (its state was only read). A failure after it (STOP: the destination may or may not be
 * serving) is ERROR until the operator says which side serves (recover -> RUNNING, or
 * handed_over -> STOP). A destination that fails while RESUMING goes to STOP and is dropped:
 * it never served. RUNNING and PRE_COPY serve commands; in every other state new commands
 * are answered BUSY (retryable, SAM-5 5.3.1), and STOP_COPY waits for the commands already
 * admitted to finish before the final state is read. */
#ifndef INVAR_SCSI_MIGSM_H
#define INVAR_SCSI_MIGSM_H

#include <stdbool.h>

struct lu;

enum mig_state {
	MIG_RUNNING = 0,	/* zero: every LU starts here */
	MIG_PRE_COPY,
	MIG_STOP_COPY,
	MIG_STOP,
	MIG_RESUMING,
	MIG_ERROR,
	MIG_STATE_COUNT
};

enum mig_event {
	MIG_EV_START,		/* source: migration begins, state streamed while serving */
	MIG_EV_STOP_COPY,	/* source: quiesce, drain, send the final state */
	MIG_EV_SWITCHED,	/* source: the destination has the LU; stop for good */
	MIG_EV_ABORT,		/* operator or peer: cancel (only before the switch-over) */
	MIG_EV_FAIL,		/* an error on this side (channel, encode, import...) */
	MIG_EV_RESUME,		/* destination: a fresh LU starts loading the stream */
	MIG_EV_RESUMED,		/* destination: state applied, serve */
	MIG_EV_RECOVER,		/* operator, from ERROR: this side serves again */
	MIG_EV_HANDED_OVER,	/* operator, from ERROR: the other side serves */
	MIG_EVENT_COUNT
};

/* The transition for (from, ev): 0 and *to, or -EINVAL when the table has none. Pure. */
int migsm_next(enum mig_state from, enum mig_event ev, enum mig_state *to);
bool migsm_serving(enum mig_state s);
const char *migsm_state_name(enum mig_state s);
const char *migsm_event_name(enum mig_event ev);

/* On a LU: apply ev (0, or -EINVAL leaving the state as it was). */
int lu_mig_event(struct lu *lu, enum mig_event ev);
enum mig_state lu_mig_state(const struct lu *lu);
/* The command path: true when the LU serves (the command is counted until lu_mig_release),
 * false when it must answer BUSY. */
bool lu_mig_admit(struct lu *lu);
void lu_mig_release(struct lu *lu);
/* Whether no admitted command is left: STOP_COPY's drain, which the migration channel polls
 * from a timer on the main loop (it never waits here). */
bool lu_mig_drained(struct lu *lu);

#endif
