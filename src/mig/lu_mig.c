/* Live migration: a LU's observable state to and from the migration stream's struct. The
 * source exports while its LU is quiesced (STOP_COPY), the destination imports into a LU that
 * serves nothing yet, so no command sees a half-applied state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "mig/lu_mig.h"
#include "scsi/alua_groups.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lu_feature.h"
#include "scsi/pr_lu.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"

static int export_pr(struct lu *lu, struct mig_lu_state *s)
{
	struct pr_state st;
	int ret;

	if (!lu->pr)
		return 0;
	ret = pr_lu_snapshot(lu, &st);
	if (ret < 0)
		return ret;
	s->has_pr = true;
	s->pr_generation = st.generation;
	s->pr_aptpl = st.aptpl;
	s->pr_reserved = st.reserved;
	s->pr_type = st.type;
	s->pr_scope = st.scope;
	for (unsigned i = 0; i < st.nregs && ret == 0; i++) {
		const struct pr_reg *r = &st.regs[i];
		struct mig_reg g = {
			.key = r->key,
			.has_isid = r->port.has_isid,
			.rel_port_id = r->port.rel_port_id,
			.all_tg_pt = r->all_tg_pt,
			.holder = r->holder,
		};

		snprintf(g.initiator, sizeof(g.initiator), "%s", r->port.initiator);
		memcpy(g.isid, r->port.isid, 6);
		ret = mig_state_add_reg(s, &g);
	}
	pr_state_free(&st);
	return ret;
}

static int export_uas(struct lu *lu, struct mig_lu_state *s)
{
	struct lu_ua_carry *c;
	unsigned n;
	int ret = 0;

	c = calloc(MIG_MAX_UAS, sizeof(*c));
	if (!c)
		return -ENOMEM;
	n = lu_ua_snapshot(lu, c, MIG_MAX_UAS);
	if (n > MIG_MAX_UAS)
		n = MIG_MAX_UAS;	/* the rest start with POWER ON at the destination */
	for (unsigned i = 0; i < n && ret == 0; i++) {
		struct mig_ua u = { .rel_port_id = c[i].rel_port_id, .ua_mask = c[i].ua_mask };

		snprintf(u.initiator, sizeof(u.initiator), "%s", c[i].initiator);
		memcpy(u.isid, c[i].isid, 6);
		ret = mig_state_add_ua(s, &u);
	}
	free(c);
	return ret;
}

/* ---- the per-feature rows ----------------------------------------------------------------- */

static int export_mode(struct lu *lu, struct mig_lu_state *s)
{
	size_t ml = scsi_profile_mode_state_len(lu->profile);

	if (ml > MIG_MODE_MAX)
		return -E2BIG;
	pthread_mutex_lock(&lu->lock);
	s->mode_len = (uint8_t)ml;
	memcpy(s->mode_state, lu->mode.cur, ml);
	memcpy(s->mode_saved, lu->mode.saved, ml);
	pthread_mutex_unlock(&lu->lock);
	return 0;
}

static int import_mode(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	int ret = scsi_lu_mode_set(lu, s->mode_state, s->mode_saved, s->mode_len);

	if (ret < 0)
		snprintf(err, err_len, "mode pages do not fit profile %s", lu->profile->name);
	return ret;
}

static int export_medium(struct lu *lu, struct mig_lu_state *s)
{
	s->stopped = atomic_load(&lu->medium.stopped);
	s->ejected = atomic_load(&lu->medium.ejected);
	return 0;
}

static int import_medium(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	atomic_store(&lu->medium.stopped, s->stopped);
	atomic_store(&lu->medium.ejected, s->ejected && lu->cfg.removable);
	return 0;
}

_Static_assert(SBC_MAINT_SANITIZE_FAILED == 3 && SBC_MAINT_FORMAT_FAILED == 4,
	       "mig/migstream.c checks the MAINT record against these values");

/* A running SANITIZE or FORMAT UNIT is background work on the source's worker, not a command
 * the drain waits for: the migration fails (before the switch-over, so the source serves on)
 * and may be retried when it has finished. A failure mode it left travels. */
static int export_maint(struct lu *lu, struct mig_lu_state *s)
{
	int st = atomic_load(&lu->maint.state);

	if (st == SBC_MAINT_SANITIZE || st == SBC_MAINT_FORMAT)
		return -EBUSY;
	s->maint_state = (uint8_t)st;
	s->maint_ause = atomic_load(&lu->maint.ause);
	return 0;
}

static int import_maint(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	atomic_store(&lu->maint.ause, s->maint_ause);
	atomic_store(&lu->maint.state, s->maint_state);
	return 0;
}

static int import_uas(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	struct lu_ua_carry *c = NULL;
	int ret;

	if (s->nuas) {
		c = calloc(s->nuas, sizeof(*c));
		if (!c)
			return -ENOMEM;
		for (unsigned i = 0; i < s->nuas; i++) {
			snprintf(c[i].initiator, sizeof(c[i].initiator), "%s", s->uas[i].initiator);
			memcpy(c[i].isid, s->uas[i].isid, 6);
			c[i].rel_port_id = s->uas[i].rel_port_id;
			c[i].ua_mask = s->uas[i].ua_mask;
		}
	}
	ret = lu_ua_carry_set(lu, c, s->nuas);
	free(c);
	if (ret < 0)
		snprintf(err, err_len, "out of memory");
	return ret;
}

int lu_mig_export_alua(const struct alua_target *a, struct mig_lu_state *s)
{
	for (unsigned i = 0; a->groups && i < ALUA_MAX_GROUPS; i++) {
		uint16_t tag = atomic_load(&a->groups->slot[i].tag);
		struct mig_alua m = {
			.tag = tag,
			.state = atomic_load(&a->state[i]),
			.status = atomic_load(&a->status[i]),
		};
		int ret;

		if (!tag)
			continue;
		ret = mig_state_add_alua(s, &m);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void lu_mig_config(const struct mig_lu_state *s, struct lu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->backstore, sizeof(cfg->backstore), "%s", s->backstore);
	snprintf(cfg->path, sizeof(cfg->path), "%s", s->path);
	/* ram has no shared storage to reopen; its size comes from the stream. */
	cfg->size = s->size;
	cfg->block_size = s->block_size;
	snprintf(cfg->serial, sizeof(cfg->serial), "%s", s->serial);
	memcpy(cfg->naa, s->naa, sizeof(cfg->naa));
	cfg->naa_len = s->naa_len;
	snprintf(cfg->profile, sizeof(cfg->profile), "%s", s->profile);
	cfg->readonly = s->readonly;
	cfg->removable = s->removable;
}

int lu_mig_check(const struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	if (strcmp(lu->profile->name, s->profile) != 0)
		snprintf(err, err_len, "profile %s, the source has %s", lu->profile->name,
			 s->profile);
	else if (strcmp(lu->cfg.serial, s->serial) != 0 || lu->cfg.naa_len != s->naa_len ||
		 memcmp(lu->cfg.naa, s->naa, s->naa_len) != 0)
		snprintf(err, err_len, "identity (serial/NAA) differs from the source's");
	else if (lu->block_size != s->block_size)
		snprintf(err, err_len, "block size %u, the source has %u", lu->block_size,
			 s->block_size);
	else if (lu_num_blocks(lu) != s->num_blocks)
		snprintf(err, err_len, "capacity %llu blocks, the source has %llu",
			 (unsigned long long)lu_num_blocks(lu), (unsigned long long)s->num_blocks);
	else if (s->mode_len != scsi_profile_mode_state_len(lu->profile))
		snprintf(err, err_len, "mode state of %u bytes, this profile has %u", s->mode_len,
			 scsi_profile_mode_state_len(lu->profile));
	else if (s->has_pr != (lu->pr != NULL))
		snprintf(err, err_len, "persistent reservation support differs");
	else
		return 0;
	return -EINVAL;
}

static int import_pr(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	struct pr_state st;
	int ret;

	if (!s->has_pr)
		return 0;
	if (s->pr_reserved && !pr_type_valid(s->pr_type)) {
		snprintf(err, err_len, "reservation type %u is not valid", s->pr_type);
		return -EINVAL;
	}
	pr_state_init(&st);
	st.regs = s->nregs ? calloc(s->nregs, sizeof(*st.regs)) : NULL;
	if (s->nregs && !st.regs)
		return -ENOMEM;
	st.generation = s->pr_generation;
	st.aptpl = s->pr_aptpl;
	st.reserved = s->pr_reserved;
	st.type = s->pr_type;
	st.scope = s->pr_scope;
	st.nregs = s->nregs;
	for (unsigned i = 0; i < s->nregs; i++) {
		struct pr_reg *r = &st.regs[i];

		r->key = s->regs[i].key;
		snprintf(r->port.initiator, sizeof(r->port.initiator), "%s", s->regs[i].initiator);
		memcpy(r->port.isid, s->regs[i].isid, 6);
		r->port.has_isid = s->regs[i].has_isid;
		r->port.rel_port_id = s->regs[i].rel_port_id;
		r->all_tg_pt = s->regs[i].all_tg_pt;
		r->holder = s->regs[i].holder;
	}
	ret = pr_lu_replace(lu, &st);
	if (ret < 0)
		snprintf(err, err_len, "cannot apply reservations: %s", strerror(-ret));
	return ret;
}

/* What migration does with each LU feature (scsi/lu_feature.h): carry it (export at the
 * source, import at the destination, in table order) or say why it need not. Every feature id
 * has a row; test_mig_features fails on one that does neither. */
const struct lu_mig_row lu_mig_rows[LU_F_COUNT] = {
	[LU_F_NEXUS] = { .export = export_uas, .import = import_uas,
			 .note = "pending UAs per initiator port; nexus records themselves end at "
				 "the handover" },
	[LU_F_MODE] = { .export = export_mode, .import = import_mode },
	[LU_F_MEDIUM] = { .export = export_medium, .import = import_medium,
			  .note = "PREVENT is not carried: it belongs to I_T nexuses, which end at "
				  "the handover (SPC-4 6.13)" },
	[LU_F_RESV] = { .not_carried = "RESERVE(6/10) belongs to an I_T nexus; the handover ends "
				       "every nexus, which releases it (SPC-2 5.5.1)" },
	[LU_F_PR] = { .export = export_pr, .import = import_pr },
	[LU_F_XCOPY] = { .not_carried = "copy status records are per I_T nexus and end with it; "
					"a running copy is a command, drained before export" },
	[LU_F_MAINT] = { .export = export_maint, .import = import_maint },
	[LU_F_CAW] = { .not_carried = "transient: the drain leaves no COMPARE AND WRITE in "
				      "flight" },
	[LU_F_MIG] = { .not_carried = "the migration's own gate: a destination starts RESUMING" },
	[LU_F_STATS] = { .not_carried = "statistics are the serving daemon's own: a destination "
				       "counts from zero" },
};

int lu_mig_export(struct lu *lu, const char *iqn, uint32_t lun, struct mig_lu_state *s)
{
	snprintf(s->target, sizeof(s->target), "%s", iqn);
	s->lun = lun;
	snprintf(s->serial, sizeof(s->serial), "%s", lu->cfg.serial);
	s->naa_len = (uint8_t)lu->cfg.naa_len;
	memcpy(s->naa, lu->cfg.naa, sizeof(s->naa));
	snprintf(s->profile, sizeof(s->profile), "%s", lu->profile->name);
	s->block_size = lu->block_size;
	s->num_blocks = lu_num_blocks(lu);
	snprintf(s->backstore, sizeof(s->backstore), "%s", lu->cfg.backstore);
	snprintf(s->path, sizeof(s->path), "%s", lu->cfg.path);
	/* The capacity now, not as created: a destination that opens the LU from this after a
	 * `lun resize` must serve the same size (the check above compares num_blocks). */
	s->size = lu_num_blocks(lu) * lu->block_size;
	s->readonly = lu->cfg.readonly;
	s->removable = lu->cfg.removable;
	s->has_provisioning = true;
	s->can_unmap = lu->bs->can_unmap;
	s->unmap_zeroes = lu->bs->unmap_zeroes;
	s->thin = lu->bs->thin;
	for (unsigned i = 0; i < LU_F_COUNT; i++) {
		int ret = lu_mig_rows[i].export ? lu_mig_rows[i].export(lu, s) : 0;

		if (ret < 0)
			return ret;
	}
	return 0;
}

int lu_mig_import(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len)
{
	int ret = lu_mig_check(lu, s, err, err_len);

	for (unsigned i = 0; ret == 0 && i < LU_F_COUNT; i++)
		if (lu_mig_rows[i].import)
			ret = lu_mig_rows[i].import(lu, s, err, err_len);
	return ret;
}
