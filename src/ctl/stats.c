/* The statistics snapshot (ctl/stats.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/stats.h"
#include "scsi/lu.h"
#include "target/target.h"

struct stats_ref {
	struct lu *lu;
	char target[INVAR_NAME_MAX + 1];
	unsigned lun;
};

/* The LUs to report, each with a reference, listed under daemon.lock. */
static int stats_list_lus(struct daemon *d, const char *iqn, int64_t lun, struct stats_ref **out,
			  unsigned *n)
{
	struct stats_ref *v = NULL;
	unsigned cnt = 0, cap = 0;
	struct list_node *pos;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	list_for_each(pos, &d->targets)
	{
		struct target *t = list_entry(pos, struct target, node);

		if (iqn && strcmp(iqn, t->iqn))
			continue;
		for (unsigned l = 0; l < INVAR_MAX_LUNS; l++) {
			if (!t->lus[l] || (lun >= 0 && (uint64_t)lun != l))
				continue;
			if (cnt == cap) {
				struct stats_ref *nv;

				cap = cap ? 2 * cap : 16;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					ret = -ENOMEM;
					goto out;
				}
				v = nv;
			}
			lu_get(t->lus[l]);
			v[cnt].lu = t->lus[l];
			snprintf(v[cnt].target, sizeof(v[cnt].target), "%s", t->iqn);
			v[cnt].lun = l;
			cnt++;
		}
	}
out:
	pthread_mutex_unlock(&d->lock);
	if (ret < 0) {
		for (unsigned i = 0; i < cnt; i++)
			lu_put(v[i].lu);
		free(v);
		return ret;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int ctl_stats_take(struct daemon *d, const char *iqn, int64_t lun, struct ctl_stats *out)
{
	struct stats_ref *refs = NULL;
	struct fabric_session_info *sv = NULL;
	unsigned nrefs = 0, nsv = 0, j = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = stats_list_lus(d, iqn, lun, &refs, &nrefs);
	if (ret < 0)
		return ret;
	if (nrefs) {
		out->lus = calloc(nrefs, sizeof(*out->lus));
		if (!out->lus)
			ret = -ENOMEM;
	}
	/* Summed outside daemon.lock: the references keep the LUs. */
	for (unsigned i = 0; i < nrefs; i++) {
		if (out->lus) {
			struct ctl_stats_lu *r = &out->lus[i];

			memcpy(r->target, refs[i].target, sizeof(r->target));
			r->lun = refs[i].lun;
			lu_stats_sum(refs[i].lu, &r->s);
		}
		lu_put(refs[i].lu);
	}
	free(refs);
	if (ret < 0)
		return ret;
	out->nlus = nrefs;
	if (d->fabric && d->fabric->session_list) {
		ret = d->fabric->session_list(d, &sv, &nsv);
		if (ret < 0) {
			ctl_stats_free(out);
			return ret;
		}
	}
	/* vhost-user-scsi front-ends: one nexus each, statistics summed over their queues. */
	if (d->vhost && d->vhost->session_list) {
		ret = d->vhost->session_list(d->vhost_priv, &sv, &nsv);
		if (ret < 0) {
			free(sv);
			ctl_stats_free(out);
			return ret;
		}
	}
	for (unsigned i = 0; i < nsv; i++) {
		if (sv[i].discovery || (iqn && strcmp(iqn, sv[i].target)))
			continue;
		sv[j++] = sv[i];
	}
	out->sessions = sv;
	out->nsessions = j;
	return 0;
}

void ctl_stats_free(struct ctl_stats *st)
{
	free(st->lus);
	free(st->sessions);
	memset(st, 0, sizeof(*st));
}
