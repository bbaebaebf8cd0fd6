#include "target/target.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "rt/evloop.h"
#include "scsi/lu.h"
#include "scsi/lu_capacity.h"
#include "target/daemon.h"
#include "util/log.h"

/* RFC 7143 4.2.7.1 / RFC 3722 stringprep output: we accept the ASCII subset every initiator
 * uses: lower-case letters, digits, '-', '.', ':'. */
int iscsi_name_validate(const char *name)
{
	size_t i, len = strnlen(name, INVAR_NAME_MAX + 1);

	if (len == 0 || len > INVAR_NAME_MAX)
		return -EINVAL;
	if (strncmp(name, "iqn.", 4) && strncmp(name, "eui.", 4) && strncmp(name, "naa.", 4))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == ':'))
			return -EINVAL;
	}
	/* eui. takes 16 hex digits, naa. 16 or 32. */
	if (!strncmp(name, "eui.", 4) && len != 4 + 16)
		return -EINVAL;
	if (!strncmp(name, "naa.", 4) && len != 4 + 16 && len != 4 + 32)
		return -EINVAL;
	return 0;
}

struct target *target_find_locked(struct daemon *d, const char *iqn)
{
	struct list_node *n;

	list_for_each(n, &d->targets)
	{
		struct target *t = list_entry(n, struct target, node);

		if (!strcmp(t->iqn, iqn))
			return t;
	}
	return NULL;
}

struct target *target_find_get(struct daemon *d, const char *iqn)
{
	struct target *t;

	pthread_mutex_lock(&d->lock);
	t = target_find_locked(d, iqn);
	if (t)
		target_get(t);
	pthread_mutex_unlock(&d->lock);
	return t;
}

void target_get(struct target *t)
{
	atomic_fetch_add(&t->refcnt, 1);
}

void target_put(struct target *t)
{
	unsigned i;

	if (atomic_fetch_sub(&t->refcnt, 1) != 1)
		return;
	for (i = 0; i < INVAR_MAX_LUNS; i++)
		if (t->lus[i])
			lu_put(t->lus[i]);
	target_auth_free(&t->auth);
	free(t);
}

int target_create(struct daemon *d, const char *iqn, struct target **out)
{
	struct target *t;
	int ret = 0;

	if (iscsi_name_validate(iqn) < 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	strcpy(t->iqn, iqn);
	t->tpgt = 1;
	t->alua.groups = &d->alua_groups;
	atomic_init(&t->refcnt, 1); /* the daemon's list holds this one */
	pthread_mutex_lock(&d->lock);
	if (target_find_locked(d, iqn)) {
		ret = -EEXIST;
		free(t);
		goto out;
	}
	list_add_tail(&d->targets, &t->node);
	if (out)
		*out = t;
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int target_delete(struct daemon *d, const char *iqn)
{
	struct target *t;

	pthread_mutex_lock(&d->lock);
	t = target_find_locked(d, iqn);
	if (!t) {
		pthread_mutex_unlock(&d->lock);
		return -ENOENT;
	}
	list_del(&t->node);
	pthread_mutex_unlock(&d->lock);
	/* Sessions still logged in keep their own reference until they close. */
	target_put(t);
	return 0;
}

int target_lun_next_free(struct target *t)
{
	unsigned i;

	for (i = 0; i < INVAR_MAX_LUNS; i++)
		if (!t->lus[i])
			return (int)i;
	return -ENOSPC;
}

static void target_luns_changed(struct daemon *d, struct target *t)
{
	atomic_fetch_add(&t->lun_gen, 1);
	if (d->fabric && d->fabric->target_luns_changed)
		d->fabric->target_luns_changed(d, t);
	if (d->vhost && d->vhost->target_luns_changed)
		d->vhost->target_luns_changed(d->vhost_priv, t);
}

void target_access_changed(struct daemon *d, struct target *t)
{
	if (d->fabric && d->fabric->target_access_changed)
		d->fabric->target_access_changed(d, t);
}

void target_auth_changed(struct daemon *d, struct target *t)
{
	target_luns_changed(d, t);
	/* Hiding the LUNs is not enough: a session of an initiator the ACL no longer admits ends. */
	target_access_changed(d, t);
}

/* A backstore saw its medium change size outside invard (rbd: `rbd resize`): told on one of
 * its own threads, the LU's capacity follows on the main loop. The LU is found again there by
 * its backstore (it may have been deleted meanwhile: then nothing happens; were the address
 * reused by a new LU, re-reading that one's size changes nothing). */
struct medium_change {
	struct ev_call_item it;
	struct daemon *d;
	const struct backstore *bs;
};

static void medium_resize_done(void *arg, const struct lu_resize_result *r)
{
	struct daemon *d = arg;

	if (r->res < 0) {
		log_warn("capacity change after the medium changed: %s", r->msg);
		return;
	}
	if (r->old_bytes != r->new_bytes) {
		log_info("LU capacity follows its medium: %llu -> %llu bytes",
			 (unsigned long long)r->old_bytes, (unsigned long long)r->new_bytes);
		if (d->config_changed)
			d->config_changed(d);
	}
}

static void medium_changed_main(void *arg)
{
	struct medium_change *mc = arg;
	struct daemon *d = mc->d;
	struct lu_resize_result r;
	struct list_node *pos;
	struct lu *lu = NULL;

	pthread_mutex_lock(&d->lock);
	list_for_each(pos, &d->targets) {
		struct target *t = container_of(pos, struct target, node);

		for (unsigned l = 0; l < INVAR_MAX_LUNS && !lu; l++)
			if (t->lus[l] && t->lus[l]->bs == mc->bs) {
				lu = t->lus[l];
				lu_get(lu);
			}
		if (lu)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	free(mc);
	if (!lu)
		return;
	if (lu_set_capacity(lu, 0, 0, d->main_loop, medium_resize_done, d, &r) == 0)
		medium_resize_done(d, &r);
	lu_put(lu);
}

static void medium_changed(struct backstore *bs, void *arg)
{
	struct medium_change *mc = calloc(1, sizeof(*mc));

	if (!mc) {
		log_warn("%s: the medium changed size, out of memory to follow it", bs->path);
		return;
	}
	mc->d = arg;
	mc->bs = bs;
	mc->it.fn = medium_changed_main;
	mc->it.arg = mc;
	ev_call_post(mc->d->main_loop, &mc->it);
}

int target_lun_add(struct daemon *d, struct target *t, unsigned lun, struct lu *lu)
{
	if (lun >= INVAR_MAX_LUNS)
		return -ERANGE;
	pthread_mutex_lock(&d->lock);
	if (t->lus[lun]) {
		pthread_mutex_unlock(&d->lock);
		return -EEXIST;
	}
	t->lus[lun] = lu;
	pthread_mutex_unlock(&d->lock);
	backstore_set_medium_watch(lu->bs, medium_changed, d);
	target_luns_changed(d, t);
	return 0;
}

int target_lun_del(struct daemon *d, struct target *t, unsigned lun)
{
	struct lu *lu;

	if (lun >= INVAR_MAX_LUNS)
		return -ERANGE;
	pthread_mutex_lock(&d->lock);
	lu = t->lus[lun];
	t->lus[lun] = NULL;
	pthread_mutex_unlock(&d->lock);
	if (!lu)
		return -ENOENT;
	target_luns_changed(d, t);
	/* Sessions' views and in-flight tasks hold their own references. */
	lu_put(lu);
	return 0;
}

struct lun_view *lun_view_get(struct daemon *d, struct target *t, const char *initiator)
{
	struct lun_view *v = calloc(1, sizeof(*v));
	const struct acl_entry *e;
	unsigned i;

	if (!v)
		return NULL;
	pthread_mutex_lock(&d->lock);
	v->gen = atomic_load(&t->lun_gen);
	e = initiator ? target_auth_acl_find(&t->auth, initiator) : NULL;
	/* Taken out of a non-empty ACL while logged in: nothing is visible any more. */
	if (t->auth.nacls && !e)
		goto out;
	for (i = 0; i < INVAR_MAX_LUNS; i++) {
		/* An ACL entry with a LUN map shows only its LUNs, at its own numbers. */
		unsigned tl = e && e->nmap ? e->map[i] : i;

		if (tl >= INVAR_MAX_LUNS || !t->lus[tl])
			continue;
		lu_get(t->lus[tl]);
		v->lus[i] = t->lus[tl];
		v->count++;
	}
out:
	pthread_mutex_unlock(&d->lock);
	return v;
}

int alua_set_state(struct daemon *d, struct target *t, uint16_t tag, enum alua_state s)
{
	int slot = alua_group_slot(&d->alua_groups, tag);
	enum alua_state old;

	if (slot < 0)
		return -ENOENT;
	pthread_mutex_lock(&d->lock);
	old = alua_target_state(&t->alua, (unsigned)slot);
	if (old != s) {
		atomic_store(&t->alua.state[slot], (uint8_t)s);
		atomic_store(&t->alua.status[slot], ALUA_STATUS_IMPLICIT);
		/* SPC-4 5.15.2.5: an implicit transition is reported to every I_T nexus, through
		 * every LU whose access state changed. */
		for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
			if (t->lus[i])
				lu_ua_establish_all(t->lus[i], UA_ALUA_CHANGED, 0);
	}
	pthread_mutex_unlock(&d->lock);
	if (old != s)
		log_info("target %s: port group %u %s -> %s", t->iqn, tag, alua_state_name(old),
			 alua_state_name(s));
	return 0;
}
