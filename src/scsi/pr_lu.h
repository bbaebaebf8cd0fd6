/* A LU's persistent reservations (lu->pr; SPC-4 5.12): the state of scsi/pr_state.h behind a
 * lock, two flags the per-command check reads without it, and the APTPL file in the LU's state
 * directory. Synchronisation: pr_lu.lock guards st (held briefly, never across I/O);
 * pr_lu.update serialises PR OUT and is held across the file write; the flags are atomics. */
#ifndef INVAR_SCSI_PR_LU_H
#define INVAR_SCSI_PR_LU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "scsi/pr_state.h"

struct lu;
struct it_nexus;

/* The LU's PR object (lu->pr, NULL when the profile has no persistent reservations). */
struct pr_lu {
	pthread_mutex_t lock;	/* st: taken briefly to read or swap, never across I/O */
	pthread_mutex_t update;	/* serialises PR OUT, held across the APTPL file write */
	struct pr_state st;
	atomic_bool reserved;	/* st.reserved: the per-command fast path reads only this... */
	atomic_bool registered;	/* ...and this (st.nregs > 0) */
	bool ptpl_capable;	/* the LU has a state directory (REPORT CAPABILITIES PTPL_C) */
};

struct pr_lu *pr_lu_new(void);
void pr_lu_free(struct pr_lu *p);
/* After lu_set_state_dir: load PR_FILE if there is one. 0, or -errno with a reason naming the
 * file in err (the LU must then be refused). */
int pr_lu_restore(struct lu *lu, char *err, size_t err_len);
/* Per-command check. Cheap (two atomics) while nothing is reserved or registered. */
bool pr_lu_conflict(struct lu *lu, const struct it_nexus *n, enum pr_access acc);
/* Run a PR OUT: apply to a copy, save it when APTPL, swap it in, establish unit attentions,
 * and return the nexus ids whose tasks PREEMPT AND ABORT must abort (malloc'd in *abort_ids,
 * *n_abort entries; the caller frees). */
struct pr_status pr_lu_out(struct lu *lu, const struct it_nexus *n, const struct pr_out *o,
			   uint64_t **abort_ids, unsigned *n_abort);
/* Live migration: replace the state with st (taken over; st is left empty), saving or removing
 * the APTPL file to match. 0 or -errno (nothing changed). */
int pr_lu_replace(struct lu *lu, struct pr_state *st);
/* A consistent copy of the state for PR IN (pr_state_free it). */
int pr_lu_snapshot(struct lu *lu, struct pr_state *out);

#endif
