/* The migration state machine (migsm.h). The transitions are one table so the whole machine
 * can be read, and tested, in one place. */
#include <errno.h>
#include <stdatomic.h>

#include "scsi/lu.h"
#include "scsi/migsm.h"

struct migsm_arc {
	enum mig_state from;
	enum mig_event ev;
	enum mig_state to;
};

static const struct migsm_arc migsm_table[] = {
	/* source */
	{ MIG_RUNNING, MIG_EV_START, MIG_PRE_COPY },
	{ MIG_PRE_COPY, MIG_EV_STOP_COPY, MIG_STOP_COPY },
	{ MIG_PRE_COPY, MIG_EV_ABORT, MIG_RUNNING },
	{ MIG_PRE_COPY, MIG_EV_FAIL, MIG_RUNNING },
	{ MIG_STOP_COPY, MIG_EV_SWITCHED, MIG_STOP },
	{ MIG_STOP_COPY, MIG_EV_ABORT, MIG_RUNNING },
	{ MIG_STOP_COPY, MIG_EV_FAIL, MIG_RUNNING },
	/* after the switch-over nothing can be undone unilaterally */
	{ MIG_STOP, MIG_EV_FAIL, MIG_ERROR },
	{ MIG_ERROR, MIG_EV_RECOVER, MIG_RUNNING },
	{ MIG_ERROR, MIG_EV_HANDED_OVER, MIG_STOP },
	/* destination */
	{ MIG_RUNNING, MIG_EV_RESUME, MIG_RESUMING },
	{ MIG_RESUMING, MIG_EV_RESUMED, MIG_RUNNING },
	{ MIG_RESUMING, MIG_EV_ABORT, MIG_STOP },
	{ MIG_RESUMING, MIG_EV_FAIL, MIG_STOP },
};

int migsm_next(enum mig_state from, enum mig_event ev, enum mig_state *to)
{
	for (unsigned i = 0; i < sizeof(migsm_table) / sizeof(migsm_table[0]); i++)
		if (migsm_table[i].from == from && migsm_table[i].ev == ev) {
			*to = migsm_table[i].to;
			return 0;
		}
	return -EINVAL;
}

bool migsm_serving(enum mig_state s)
{
	return s == MIG_RUNNING || s == MIG_PRE_COPY;
}

const char *migsm_state_name(enum mig_state s)
{
	static const char *const names[MIG_STATE_COUNT] = {
		[MIG_RUNNING] = "running",     [MIG_PRE_COPY] = "pre-copy",
		[MIG_STOP_COPY] = "stop-copy", [MIG_STOP] = "stop",
		[MIG_RESUMING] = "resuming",   [MIG_ERROR] = "error",
	};

	return (unsigned)s < MIG_STATE_COUNT ? names[s] : "?";
}

const char *migsm_event_name(enum mig_event ev)
{
	static const char *const names[MIG_EVENT_COUNT] = {
		[MIG_EV_START] = "start",	  [MIG_EV_STOP_COPY] = "stop-copy",
		[MIG_EV_SWITCHED] = "switched",	  [MIG_EV_ABORT] = "abort",
		[MIG_EV_FAIL] = "fail",		  [MIG_EV_RESUME] = "resume",
		[MIG_EV_RESUMED] = "resumed",	  [MIG_EV_RECOVER] = "recover",
		[MIG_EV_HANDED_OVER] = "handed-over",
	};

	return (unsigned)ev < MIG_EVENT_COUNT ? names[ev] : "?";
}

int lu_mig_event(struct lu *lu, enum mig_event ev)
{
	enum mig_state to;
	int ret;

	pthread_mutex_lock(&lu->lock);
	ret = migsm_next((enum mig_state)atomic_load(&lu->mig.state), ev, &to);
	if (ret == 0)
		atomic_store(&lu->mig.state, (int)to);
	pthread_mutex_unlock(&lu->lock);
	return ret;
}

enum mig_state lu_mig_state(const struct lu *lu)
{
	return (enum mig_state)atomic_load(&((struct lu *)lu)->mig.state);
}

/* Count first, then look at the state (both sequentially consistent): a command that saw a
 * serving state is already counted when STOP_COPY's drain reads the counter, so none slips
 * past the drain. */
bool lu_mig_admit(struct lu *lu)
{
	pcount_add(&lu->mig.inflight, 1);
	if (migsm_serving((enum mig_state)atomic_load(&lu->mig.state)))
		return true;
	pcount_sub(&lu->mig.inflight, 1);
	return false;
}

void lu_mig_release(struct lu *lu)
{
	pcount_sub(&lu->mig.inflight, 1);
}

bool lu_mig_drained(struct lu *lu)
{
	return pcount_sum(&lu->mig.inflight) == 0;
}
