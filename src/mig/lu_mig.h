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

/* Fills s from lu, mapped as LUN lun of target iqn. s->describe is left to the caller (the
 * compatibility description belongs to the control plane). 0 or -ENOMEM / -E2BIG. */
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
/* Applies mode pages, flags, reservations and carried unit attentions from s to lu. Call
 * before the LU serves anything. 0 or -errno with a reason in err. */
int lu_mig_import(struct lu *lu, const struct mig_lu_state *s, char *err, size_t err_len);

#endif
