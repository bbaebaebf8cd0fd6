/* Moving configuration into and out of a running daemon, shared by invard's startup and the RPC
 * methods. Main thread only (the control plane runs there). */
#ifndef INVAR_CTL_CTL_H
#define INVAR_CTL_CTL_H

#include <stddef.h>

#include "ctl/config.h"

struct daemon;
struct target;
struct lu;

/* Creates a LU from cfg (identity seeded by "<iqn>/<lun>", so serial and NAA are stable across
 * restarts) and maps it at lun, or at the lowest free LUN when lun < 0. A file backstore with a
 * size whose file does not exist yet gets a sparse file created first (removed again on failure).
 * Returns 0 and the LUN in *lun_out, or -errno with a reason. */
int ctl_lun_add(struct daemon *d, struct target *t, int lun, const struct lu_config *cfg,
		unsigned *lun_out, char *err, size_t err_len);

/* lu->cfg with everything resolved: size and block size as opened, serial/NAA as generated. */
void ctl_lu_config_resolved(const struct lu *lu, struct lu_config *out);

/* What the daemon serves now, in the saved-config form (targets in creation order, LUNs
 * ascending, portals as the fabric lists them; a LU that migration handed over is not served
 * here any more and is left out). Returns 0 or -ENOMEM. */
int ctl_config_snapshot(struct daemon *d, struct ctl_config *c);

/* The saved configuration of a daemon with a data directory: DATA_DIR/invar.json, loaded at
 * start and replaced (crash-safely, mode 0600) after every change, so a restart or a crash
 * keeps what was acknowledged. docs/CONFIG.md, "Persistence". */
#define CTL_CONFIG_FILE "invar.json"
/* Snapshot d and replace DATA_DIR/invar.json. 0 or -errno (logged, naming the file). */
int ctl_config_autosave(struct daemon *d);

/* Creates every target and LUN of c, then opens its portals. Errors name the config field
 * ("targets[0].luns[1]: ..."). Stops at the first error; returns 0 or -errno. */
int ctl_config_apply(struct daemon *d, const struct ctl_config *c, char *err, size_t err_len);
/* Replace *dst (a target's or the discovery auth, owned by d) with a copy of src under
 * daemon.lock. 0 or -ENOMEM. */
struct target_auth;
int ctl_auth_apply(struct daemon *d, struct target_auth *dst, const struct target_auth *src);

#endif
