/* Live migration of a LU's state: export a LU into a struct mig_lu_state (mig/migstream.h)
 * and import one into a fresh LU opened on the same backing storage. The blocks are not
 * copied; everything else a guest can observe is: identity, profile, geometry, options, mode
 * pages, persistent reservations, unit attentions per I_T nexus and the target's ALUA states. */
#ifndef INVAR_MIG_LU_MIG_H
#define INVAR_MIG_LU_MIG_H

#include <stddef.h>
#include <stdint.h>

#include "mig/migstream.h"

struct lu;
struct alua_target;

/* What migration does with one LU feature (scsi/lu_feature.h, indexed by enum lu_feature_id):
 * export and import it, or not_carried says why it need not travel. note: what part of a
 * carried feature stays behind, and why. */
struct lu_mig_row {
	int (*export)(struct lu *lu, struct mig_lu_state *s);
	int (*import)(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len);
	const char *not_carried;
	const char *note;
};
extern const struct lu_mig_row lu_mig_rows[];

/* Fills s from lu, mapped as LUN lun of target iqn: identity, geometry, options, then each
 * feature's row. s->describe is left to the caller (the compatibility description belongs to
 * the control plane). 0 or -ENOMEM / -E2BIG / -EBUSY (a SANITIZE or FORMAT UNIT runs). */
int lu_mig_export(struct lu *lu, const char *iqn, uint32_t lun, struct mig_lu_state *s);
/* Adds the state of every port group in use (tag != 0) of a target. */
int lu_mig_export_alua(const struct alua_target *a, struct mig_lu_state *s);

/* The lu_config a destination creates the LU with: same backstore, path, identity and
 * profile as the source. */
struct lu_config;
void lu_mig_config(const struct mig_lu_state *s, struct lu_config *cfg);

/* Whether lu (just created from lu_mig_config) is the LU s describes: identity, profile,
 * geometry. 0, or -EINVAL with the first difference in err. */
int lu_mig_check(const struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len);
/* lu_mig_check, then each feature's import (mode pages, medium, reservations, maintenance
 * state, carried unit attentions). Call before the LU serves anything. 0 or -errno with a
 * reason in err. */
int lu_mig_import(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len);

#endif
