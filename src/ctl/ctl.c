#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ctl/lunspec.h"
#include "ctl/portalspec.h"
#include "scsi/lu.h"
#include "scsi/migsm.h"
#include "scsi/pr_lu.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

/* Sparse-creates path with size bytes if it does not exist. *created says whether we did. */
static int ctl_file_create(const char *path, uint64_t size, bool *created, char *err,
			   size_t err_len)
{
	struct stat st;
	int fd;

	*created = false;
	if (stat(path, &st) == 0 || errno != ENOENT)
		return 0; /* exists (or the backstore will report why not) */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ERRF("%s: cannot create: %s", path, strerror(errno));
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		int ret = -errno;

		ERRF("%s: cannot size to %llu bytes: %s", path, (unsigned long long)size,
		     strerror(errno));
		close(fd);
		unlink(path);
		return ret;
	}
	close(fd);
	*created = true;
	log_info("created sparse file %s (%llu bytes)", path, (unsigned long long)size);
	return 0;
}

int ctl_lun_add(struct daemon *d, struct target *t, int lun, const struct lu_config *cfg,
		unsigned *lun_out, char *err, size_t err_len)
{
	char seed[INVAR_NAME_MAX + 16];
	bool created = false;
	struct lu *lu = NULL;
	int ret;

	ret = ctl_lu_config_check(cfg, err, err_len);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&d->lock);
	if (lun < 0) {
		lun = target_lun_next_free(t);
		if (lun < 0)
			ERRF("target %s has no free LUN", t->iqn);
	} else if (lun >= INVAR_MAX_LUNS) {
		ERRF("lun: %d is out of range (0 to %d)", lun, INVAR_MAX_LUNS - 1);
		lun = -ERANGE;
	} else if (t->lus[lun]) {
		ERRF("LUN %d of %s is already mapped", lun, t->iqn);
		lun = -EEXIST;
	}
	pthread_mutex_unlock(&d->lock);
	if (lun < 0)
		return lun;

	/* A read-only LU never creates its file (the backstore then says it is missing). */
	if (!strcmp(cfg->backstore, "file") && cfg->size && !cfg->readonly) {
		ret = ctl_file_create(cfg->path, cfg->size, &created, err, err_len);
		if (ret < 0)
			return ret;
	}
	snprintf(seed, sizeof(seed), "%s/%d", t->iqn, lun);
	ret = lu_create(cfg, seed, &lu, err, err_len);
	if (ret < 0) {
		if (err_len && !err[0])
			ERRF("cannot create LUN %d: %s", lun, strerror(-ret));
		goto fail;
	}
	ret = lu_set_state_dir(lu, d->data_dir);
	if (ret < 0) {
		ERRF("cannot create the state directory of LUN %d under %s: %s", lun, d->data_dir,
		     strerror(-ret));
		lu_put(lu);
		goto fail;
	}
	/* Persistent reservations saved with APTPL and saved mode pages come back before any
	 * initiator sees the LU; an unreadable or corrupt file refuses the LU rather than
	 * silently dropping them. */
	ret = pr_lu_restore(lu, err, err_len);
	if (ret >= 0)
		ret = scsi_lu_mode_load(lu, err, err_len);
	if (ret < 0) {
		lu_put(lu);
		goto fail;
	}
	ret = target_lun_add(d, t, (unsigned)lun, lu);
	if (ret < 0) {
		ERRF("cannot map LUN %d of %s: %s", lun, t->iqn, strerror(-ret));
		lu_put(lu);
		goto fail;
	}
	if (lun_out)
		*lun_out = (unsigned)lun;
	return 0;
fail:
	if (created)
		unlink(cfg->path);
	return ret;
}

void ctl_lu_config_resolved(const struct lu *lu, struct lu_config *out)
{
	*out = lu->cfg;
	if (lu->block_size)
		out->block_size = lu->block_size;
	if (!out->block_size)
		out->block_size = 512;
	/* The capacity now: lu_set_capacity() may have changed it since creation. */
	out->size = lu_num_blocks(lu) * (uint64_t)out->block_size;
	/* "" means "the newest profile" only at creation; the LU is bound to one for life, and a
	 * restore must bind the same one even after a newer profile exists. */
	if (!out->profile[0] && lu->profile && lu->profile->name)
		snprintf(out->profile, sizeof(out->profile), "%s", lu->profile->name);
}

static void snapshot_portal(const char *addr_port, unsigned tpg, void *arg)
{
	char reason[256];

	/* The fabric holds canonical, distinct addresses: only ENOMEM can fail here. */
	ctl_config_add_portal_tpg(arg, addr_port, tpg, reason, sizeof(reason));
}

static void snapshot_vhost(const char *path, const char *iqn, int connected, void *arg)
{
	char reason[256];

	ctl_config_add_vhost(arg, path, iqn, reason, sizeof(reason));
}

int ctl_config_snapshot(struct daemon *d, struct ctl_config *c)
{
	struct list_node *n;
	struct lu_config cfg;
	char reason[256];
	unsigned i;
	int ret = 0;

	ctl_config_init(c);
	pthread_mutex_lock(&d->lock);
	list_for_each(n, &d->targets)
	{
		struct target *t = list_entry(n, struct target, node);
		struct ctl_target *ct;

		ret = ctl_config_add_target(c, t->iqn, &ct, reason, sizeof(reason));
		if (ret < 0)
			break;
		ret = target_auth_copy(&ct->auth, &t->auth);
		if (ret < 0)
			break;
		for (i = 0; i < INVAR_MAX_LUNS && !ret; i++) {
			/* A LU handed over by a migration (STOP) is served elsewhere now: a restart
			 * here must not serve it too. */
			if (!t->lus[i] || lu_mig_state(t->lus[i]) == MIG_STOP)
				continue;
			ctl_lu_config_resolved(t->lus[i], &cfg);
			ret = ctl_config_add_lun(ct, i, &cfg, reason, sizeof(reason));
		}
		if (ret < 0)
			break;
	}
	if (!ret)
		ret = target_auth_copy(&c->discovery_auth, &d->discovery_auth);
	c->limits = d->limits;
	pthread_mutex_unlock(&d->lock);
	if (ret < 0) {
		ctl_config_free(c);
		return -ENOMEM;
	}
	/* portal_foreach takes daemon.lock itself. */
	if (d->fabric && d->fabric->portal_foreach)
		d->fabric->portal_foreach(d, snapshot_portal, c);
	if (d->vhost)
		d->vhost->foreach(d->vhost_priv, snapshot_vhost, c);
	return 0;
}

int ctl_auth_apply(struct daemon *d, struct target_auth *dst, const struct target_auth *src)
{
	struct target_auth copy, old;
	int ret = target_auth_copy(&copy, src);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&d->lock);
	old = *dst;
	*dst = copy;
	pthread_mutex_unlock(&d->lock);
	target_auth_free(&old);
	return 0;
}

int ctl_config_apply(struct daemon *d, const struct ctl_config *c, char *err, size_t err_len)
{
	char reason[512];
	size_t i, j;
	int ret;

	if (invar_limits_check(&c->limits, reason, sizeof(reason)) < 0) {
		ERRF("limits: %s", reason);
		return -EINVAL;
	}
	d->limits = c->limits;
	ret = ctl_auth_apply(d, &d->discovery_auth, &c->discovery_auth);
	if (ret < 0) {
		ERRF("discovery_auth: out of memory");
		return ret;
	}

	for (i = 0; i < c->ntargets; i++) {
		const struct ctl_target *ct = &c->targets[i];
		struct target *t;

		ret = target_create(d, ct->iqn, NULL);
		if (ret < 0) {
			ERRF("targets[%zu].iqn: %s: %s", i, ct->iqn,
			     ret == -EINVAL ? "not a valid iSCSI name (iqn./eui./naa., lower case)"
					    : strerror(-ret));
			return ret;
		}
		t = target_find_get(d, ct->iqn);
		if (!t) {
			ERRF("targets[%zu]: target vanished", i);
			return -ENOENT;
		}
		/* Access control is in place before any LUN exists or a portal listens. */
		ret = ctl_auth_apply(d, &t->auth, &ct->auth);
		if (ret < 0) {
			ERRF("targets[%zu].auth: out of memory", i);
			target_put(t);
			return ret;
		}
		for (j = 0; j < ct->nluns; j++) {
			reason[0] = '\0';
			ret = ctl_lun_add(d, t, (int)ct->luns[j].lun, &ct->luns[j].cfg, NULL, reason,
					  sizeof(reason));
			if (ret < 0) {
				ERRF("targets[%zu].luns[%zu] (LUN %u): %s", i, j, ct->luns[j].lun,
				     reason);
				target_put(t);
				return ret;
			}
		}
		target_put(t);
	}
	for (i = 0; i < c->nportals; i++) {
		if (!d->fabric || !d->fabric->portal_add) {
			ERRF("portals[%zu]: no fabric to listen with", i);
			return -ENOTSUP;
		}
		ret = d->fabric->portal_add(d, c->portals[i],
					   c->portal_tpgs ? c->portal_tpgs[i] : CTL_TPG_DEFAULT);
		if (ret < 0) {
			ERRF("portals[%zu]: cannot listen on %s: %s", i, c->portals[i],
			     strerror(-ret));
			return ret;
		}
	}
	for (i = 0; i < c->nvhost; i++) {
		if (!d->vhost) {
			ERRF("vhost[%zu]: this invard has no vhost-user-scsi fabric", i);
			return -ENOTSUP;
		}
		ret = d->vhost->add(d->vhost_priv, c->vhost[i].path, c->vhost[i].target, reason,
				    sizeof(reason));
		if (ret < 0) {
			ERRF("vhost[%zu]: %s", i, reason);
			return ret;
		}
	}
	return 0;
}

int ctl_config_autosave(struct daemon *d)
{
	struct ctl_config cfg;
	char path[PATH_MAX], err[512];
	int ret;

	if (!d->data_dir[0])
		return 0;	/* no data directory (unit tests): nothing persists */
	if (snprintf(path, sizeof(path), "%s/%s", d->data_dir, CTL_CONFIG_FILE) >=
	    (int)sizeof(path)) {
		log_err("config not saved: data directory path too long");
		return -ENAMETOOLONG;
	}
	ret = ctl_config_snapshot(d, &cfg);
	if (ret < 0) {
		log_err("config not saved to %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = ctl_config_save_file(&cfg, path, err, sizeof(err));
	ctl_config_free(&cfg);
	if (ret < 0)
		log_err("config not saved: %s", err);
	else
		log_debug("configuration saved to %s", path);
	return ret;
}
