/* Live migration in the control plane: the `lu_migrate` RPC (`invarctl lu migrate IQN LUN --to
 * ADDR:PORT`), a thin handler over the channel (mig/channel.h) that answers when the migration
 * ends, and the compatibility description and check the channel uses (ctl/compat.h). */
#ifndef INVAR_CTL_MIGRATE_H
#define INVAR_CTL_MIGRATE_H

#include "mig/channel.h"

/* For mig_ctx_new: describe and check through compat_describe_lu / compat_check (JSON). */
extern const struct mig_compat_ops ctl_mig_compat_ops;

#endif
