/* A LU's persistent reservations (scsi/pr_lu.h): the state behind a lock, the lock-free flags
 * the command path reads, the APTPL file, and the unit attentions and aborts a PR OUT causes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/pr_lu.h"
#include "util/log.h"

struct pr_lu *pr_lu_new(void)
{
	struct pr_lu *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->update, NULL);
	pr_state_init(&p->st);
	atomic_init(&p->reserved, false);
	atomic_init(&p->registered, false);
	return p;
}

void pr_lu_free(struct pr_lu *p)
{
	if (!p)
		return;
	pr_state_free(&p->st);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->update);
	free(p);
}

/* Under p->lock. */
static void pr_lu_publish(struct pr_lu *p)
{
	atomic_store_explicit(&p->reserved, p->st.reserved, memory_order_release);
	atomic_store_explicit(&p->registered, p->st.nregs > 0, memory_order_release);
}

int pr_lu_restore(struct lu *lu, char *err, size_t err_len)
{
	struct pr_lu *p = lu->pr;
	struct pr_state st;
	char why[256];
	char *text;
	size_t len;
	int ret;

	if (!p)
		return 0;
	p->ptpl_capable = lu->state_dir[0] != 0;
	if (!p->ptpl_capable)
		return 0;
	ret = lu_state_load(lu, PR_FILE, PR_FILE_MAX, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(err, err_len, "cannot read %s/%s: %s", lu->state_dir, PR_FILE,
			 strerror(-ret));
		return ret;
	}
	pr_state_init(&st);
	ret = pr_state_from_json(&st, text, len, why, sizeof(why));
	free(text);
	if (ret < 0) {
		snprintf(err, err_len, "corrupt %s/%s: %s", lu->state_dir, PR_FILE, why);
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	pr_state_free(&p->st);
	p->st = st;
	pr_lu_publish(p);
	pthread_mutex_unlock(&p->lock);
	log_info("lu %s: restored %u persistent reservation registration(s)%s from %s",
		 lu->cfg.serial, st.nregs, st.reserved ? " and a reservation" : "", PR_FILE);
	return 0;
}

bool pr_lu_conflict(struct lu *lu, const struct it_nexus *n, enum pr_access acc)
{
	struct pr_lu *p = lu->pr;
	struct pr_port me;
	bool r;

	if (!p || !n || acc == PR_ACCESS_ALLOWED)
		return false;
	if (acc == PR_ACCESS_SPC2)
		return atomic_load_explicit(&p->reserved, memory_order_acquire) ||
		       atomic_load_explicit(&p->registered, memory_order_acquire);
	if (!atomic_load_explicit(&p->reserved, memory_order_acquire))
		return false;
	pr_port_from_nexus(&me, n);
	pthread_mutex_lock(&p->lock);
	r = pr_state_conflict(&p->st, &me, acc);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pr_lu_snapshot(struct lu *lu, struct pr_state *out)
{
	int ret;

	pr_state_init(out);
	if (!lu->pr)
		return 0;
	pthread_mutex_lock(&lu->pr->lock);
	ret = pr_state_copy(out, &lu->pr->st);
	pthread_mutex_unlock(&lu->pr->lock);
	return ret;
}

struct fx_match_arg {
	const struct pr_effect *e;
	uint64_t except;
};

static bool fx_match(const struct lu_nexus *ln, void *arg)
{
	const struct fx_match_arg *a = arg;

	return ln->nexus_id != a->except &&
	       pr_port_covers(&a->e->port, a->e->any_port, ln->initiator, ln->isid, ln->rel_port_id);
}

static const enum ua_kind fx_ua[] = {
	[PR_FX_RESV_PREEMPTED] = UA_RESV_PREEMPTED,
	[PR_FX_RESV_RELEASED] = UA_RESV_RELEASED,
	[PR_FX_REGS_PREEMPTED] = UA_REGS_PREEMPTED,
};

/* Unit attentions now; the ids of the nexuses to abort into *ids. */
static void pr_lu_effects(struct lu *lu, uint64_t me, const struct pr_effects *fx,
			  uint64_t **ids, unsigned *nids)
{
	for (unsigned i = 0; i < fx->n; i++) {
		struct fx_match_arg a = { &fx->e[i], me };

		if (fx->e[i].kind != PR_FX_ABORT) {
			lu_ua_establish_match(lu, fx_ua[fx->e[i].kind], fx_match, &a);
			continue;
		}
		unsigned want = lu_nexus_select(lu, fx_match, &a, NULL, 0), got;
		uint64_t *grown;

		if (!want)
			continue;
		grown = realloc(*ids, (*nids + want) * sizeof(**ids));
		if (!grown) {
			log_err("lu %s: out of memory for PREEMPT AND ABORT", lu->cfg.serial);
			continue;
		}
		*ids = grown;
		/* The set may have grown since the count: take what fits. */
		got = lu_nexus_select(lu, fx_match, &a, *ids + *nids, want);
		*nids += got < want ? got : want;
	}
}

struct pr_status pr_lu_out(struct lu *lu, const struct it_nexus *n, const struct pr_out *o,
			   uint64_t **abort_ids, unsigned *n_abort)
{
	struct pr_lu *p = lu->pr;
	struct pr_effects fx = { 0 };
	struct pr_state ns;
	struct pr_status st;
	struct pr_port me;
	bool was_aptpl;
	int ret;

	*abort_ids = NULL;
	*n_abort = 0;
	if (!p)
		return pr_status_err(PR_BAD_CDB, 0, 7);
	pr_port_from_nexus(&me, n);
	pthread_mutex_lock(&p->update);
	pthread_mutex_lock(&p->lock);
	ret = pr_state_copy(&ns, &p->st);
	was_aptpl = p->st.aptpl;
	pthread_mutex_unlock(&p->lock);
	if (ret < 0) {
		st = pr_status_err(PR_NO_MEMORY, 0, -1);
		goto out;
	}
	st = pr_state_apply(&ns, &me, o, p->ptpl_capable, &fx);
	if (st.r != PR_OK)
		goto out_ns;
	/* Only PR OUT changes the state and only under p->update, so the file and the state
	 * change together; the lock the command path takes is not held across the write. */
	if (ns.aptpl) {
		char *text = pr_state_to_json(&ns);

		ret = text ? lu_state_save(lu, PR_FILE, text, strlen(text)) : -ENOMEM;
		free(text);
		if (ret < 0) {
			log_err("lu %s: cannot save %s: %s", lu->cfg.serial, PR_FILE,
				strerror(-ret));
			st = pr_status_err(PR_SAVE_FAILED, 0, -1);
			goto out_ns;
		}
	} else if (was_aptpl) {
		ret = lu_state_remove(lu, PR_FILE);
		if (ret < 0)
			log_err("lu %s: cannot remove %s: %s", lu->cfg.serial, PR_FILE,
				strerror(-ret));
	}
	pthread_mutex_lock(&p->lock);
	pr_state_free(&p->st);
	p->st = ns;
	pr_state_init(&ns);
	pr_lu_publish(p);
	pthread_mutex_unlock(&p->lock);
	pr_lu_effects(lu, n->id, &fx, abort_ids, n_abort);
out_ns:
	pr_state_free(&ns);
out:
	pthread_mutex_unlock(&p->update);
	pr_effects_free(&fx);
	return st;
}

int pr_lu_replace(struct lu *lu, struct pr_state *st)
{
	struct pr_lu *p = lu->pr;
	int ret = 0;

	if (!p) {
		pr_state_free(st);
		return -EINVAL;
	}
	pthread_mutex_lock(&p->update);
	/* The APTPL file follows the state, as after a PR OUT: written first, so a failed save
	 * changes nothing. No state directory: APTPL cannot have been honoured, keep the bit. */
	if (st->aptpl && p->ptpl_capable) {
		char *json = pr_state_to_json(st);

		ret = json ? lu_state_save(lu, PR_FILE, json, strlen(json)) : -ENOMEM;
		free(json);
	} else if (!st->aptpl && p->ptpl_capable) {
		ret = lu_state_remove(lu, PR_FILE);
	}
	if (ret < 0) {
		pthread_mutex_unlock(&p->update);
		pr_state_free(st);
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	pr_state_free(&p->st);
	p->st = *st;
	pr_lu_publish(p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->update);
	pr_state_init(st);
	return 0;
}
