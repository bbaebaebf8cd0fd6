/* The LU feature table (scsi/lu_feature.h): each feature's life-cycle hooks, in one place. The
 * features' own code stays in its file (lu.c for nexuses and UAs, mode.c, pr_lu.c, xcopy.c,
 * sbc_maint.c, sbc.c, migsm.c); a row only says what happens to its sub-object when. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lu_feature.h"
#include "scsi/nexus.h"
#include "scsi/pr_lu.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "scsi/stats.h"

/* ---- I_T nexuses and unit attentions ------------------------------------------------------ */

static int nexus_init(struct lu *lu, char *err, size_t err_len)
{
	list_init(&lu->nx.list);
	atomic_init(&lu->nx.ua_pending, 0);
	atomic_init(&lu->nx.ncarry_pub, 0);
	for (unsigned i = 0; i < LU_NEXUS_HINT_SLOTS; i++) {
		atomic_init(&lu->nx.hint[i], 0);
		atomic_init(&lu->nx.ident_hint[i], 0);
	}
	return 0;
}

static void nexus_free(struct lu *lu)
{
	struct list_node *n, *tmp;

	if (lu->nx.list.next)	/* a failed lu_create may not have got that far */
		list_for_each_safe(n, tmp, &lu->nx.list) {
			list_del(n);
			free(list_entry(n, struct lu_nexus, node));
		}
	free(lu->nx.bucket);
	free(lu->nx.carry);
}

/* SAM-5 6.3.4: the next nexus of the same initiator port starts with I_T NEXUS LOSS OCCURRED
 * (profiles that report it), plus whatever this one had not been told yet. */
static void nexus_gone(struct lu *lu, const struct it_nexus *n)
{
	if (lu->profile->nexus_loss_ua)
		lu_ua_nexus_lost(lu, n);
	lu_nexus_gone(lu, n->id);
}

/* ---- mode pages --------------------------------------------------------------------------- */

static int mode_init(struct lu *lu, char *err, size_t err_len)
{
	if (scsi_profile_mode_state_len(lu->profile) > sizeof(lu->mode.cur)) {
		snprintf(err, err_len, "profile '%s' needs more mode state than an LU holds",
			 lu->profile->name);
		return -EINVAL;
	}
	scsi_lu_mode_init(lu);
	return 0;
}

/* ---- medium ------------------------------------------------------------------------------- */

static int medium_init(struct lu *lu, char *err, size_t err_len)
{
	atomic_init(&lu->medium.stopped, false);
	atomic_init(&lu->medium.ejected, false);
	lu->medium.prevent = false;
	return 0;
}

static void medium_nexus_gone(struct lu *lu, const struct it_nexus *n)
{
	pthread_mutex_lock(&lu->lock);
	lu->medium.prevent = false;
	pthread_mutex_unlock(&lu->lock);
}

/* SPC-4 5.13 / SBC-3 5.13: a reset ends every PREVENT. */
static void medium_reset(struct lu *lu, enum lu_reset_kind kind)
{
	pthread_mutex_lock(&lu->lock);
	lu->medium.prevent = false;
	pthread_mutex_unlock(&lu->lock);
	lu_prevent_clear_all(lu);
}

/* ---- RESERVE(6/10) ------------------------------------------------------------------------ */

/* SAM-5 6.3.4, SPC-2 5.5.1: the reservation goes with its nexus... */
static void resv_nexus_gone(struct lu *lu, const struct it_nexus *n)
{
	pthread_mutex_lock(&lu->lock);
	if (__atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED) == n->id)
		__atomic_store_n(&lu->resv.holder, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lu->lock);
}

/* ...and a reset releases it. */
static void resv_reset(struct lu *lu, enum lu_reset_kind kind)
{
	pthread_mutex_lock(&lu->lock);
	__atomic_store_n(&lu->resv.holder, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lu->lock);
}

/* ---- persistent reservations: survive nexus loss and resets (SPC-4 5.12.1) --------------- */

static int pr_init(struct lu *lu, char *err, size_t err_len)
{
	if (!scsi_profile_has_cmd(lu->profile, SCMD_PERSISTENT_RESERVE_OUT))
		return 0;
	lu->pr = pr_lu_new();
	if (!lu->pr) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void pr_free(struct lu *lu)
{
	pr_lu_free(lu->pr);
	lu->pr = NULL;
}

/* ---- EXTENDED COPY ------------------------------------------------------------------------ */

static void xcopy_gone(struct lu *lu, const struct it_nexus *n)
{
	xcopy_nexus_gone(lu, n->id);
}

static void xcopy_free(struct lu *lu)
{
	free(lu->xcopy);
	lu->xcopy = NULL;
}

/* ---- SANITIZE / FORMAT UNIT: neither a nexus loss nor a reset ends a failure mode ---------- */

static int maint_init(struct lu *lu, char *err, size_t err_len)
{
	atomic_init(&lu->maint.state, 0);
	atomic_init(&lu->maint.progress, 0);
	atomic_init(&lu->maint.ause, false);
	return 0;
}

/* ---- COMPARE AND WRITE: the write gate's range lock (scsi/lu_io.h) ------------------------ */

static int caw_init(struct lu *lu, char *err, size_t err_len)
{
	lu_io_gate_init(&lu->io_gate);
	return 0;
}

static void caw_free(struct lu *lu)
{
	lu_io_gate_fini(&lu->io_gate);
}

/* ---- live migration ----------------------------------------------------------------------- */

static int mig_init(struct lu *lu, char *err, size_t err_len)
{
	atomic_init(&lu->mig.state, 0);	/* MIG_RUNNING */
	lu->mig.redirect[0] = '\0';
	return 0;
}

/* ---- I/O statistics (scsi/stats.h): neither a nexus loss nor a reset clears counters ------ */

static void stats_free(struct lu *lu)
{
	lu_stats_free(lu);
}

const struct lu_feature lu_features[LU_F_COUNT] = {
	[LU_F_NEXUS] = {
		.name = "nexus",
		.sync = "lu.lock; ua_pending and the hint tables lock-free",
		.init = nexus_init,
		.free = nexus_free,
		.nexus_gone = nexus_gone,
	},
	[LU_F_MODE] = {
		.name = "mode",
		.sync = "lu.lock for cur/saved; wce, dsense, swp atomics",
		.init = mode_init,
	},
	[LU_F_MEDIUM] = {
		.name = "medium",
		.sync = "atomics; prevent under lu.lock",
		.init = medium_init,
		.nexus_gone = medium_nexus_gone,
		.reset = medium_reset,
	},
	[LU_F_RESV] = {
		.name = "reserve",
		.sync = "written under lu.lock, read relaxed",
		.nexus_gone = resv_nexus_gone,
		.reset = resv_reset,
	},
	[LU_F_PR] = {
		.name = "persistent-reservations",
		.sync = "pr_lu.lock and pr_lu.update (scsi/pr_lu.h)",
		.init = pr_init,
		.free = pr_free,
	},
	[LU_F_XCOPY] = {
		.name = "extended-copy",
		.sync = "lu.lock",
		.free = xcopy_free,
		.nexus_gone = xcopy_gone,
	},
	[LU_F_MAINT] = {
		.name = "maintenance",
		.sync = "atomics",
		.init = maint_init,
	},
	[LU_F_CAW] = {
		.name = "compare-and-write",
		.sync = "io_gate.lock for the range lists; excl atomic; fast per-thread counters",
		.init = caw_init,
		.free = caw_free,
	},
	[LU_F_MIG] = {
		.name = "migration",
		.sync = "state atomic; inflight per-thread counters; redirect under lu.lock",
		.init = mig_init,
	},
	[LU_F_STATS] = {
		.name = "statistics",
		.sync = "a slot per worker, set once by CAS, written by its worker (relaxed)",
		.free = stats_free,
	},
};
