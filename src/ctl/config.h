/* The saved configuration (docs/CONFIG.md): what invard serves, as plain data. The JSON codec
 * here knows nothing of a running daemon, so it is tested on its own; ctl.h moves a config into
 * and out of a daemon. */
#ifndef INVAR_CTL_CONFIG_H
#define INVAR_CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "scsi/limits.h"
#include "scsi/lu.h"
#include "target/acl.h"
#include "target/tunables.h"

struct ctl_lun {
	unsigned lun;
	struct lu_config cfg;
};

struct ctl_target {
	char iqn[INVAR_NAME_MAX + 1];
	struct ctl_lun *luns;
	size_t nluns;
	struct target_auth auth;	/* CHAP, ACL, portal binding ("auth") */
};

/* A vhost-user-scsi controller ("vhost", config version 3): a UNIX socket serving a target. */
struct ctl_vhost {
	char path[108];
	char target[INVAR_NAME_MAX + 1];
};

struct ctl_config {
	char **portals;		/* canonical "ADDR:PORT" strings */
	unsigned *portal_tpgs;	/* target portal group tag of portals[i] (1 by default) */
	size_t nportals;
	struct ctl_target *targets;
	size_t ntargets;
	struct target_auth discovery_auth;	/* CHAP for discovery sessions */
	struct invar_limits limits;	/* "limits" (defaults unless set) */
	bool redact_secrets;	/* to_json: "secret_set" instead of secrets (RPC answers) */
	struct ctl_vhost *vhost;	/* "vhost" */
	size_t nvhost;
};

void ctl_config_init(struct ctl_config *c);
void ctl_config_free(struct ctl_config *c);

/* Builders (used by invard's command line and by the daemon snapshot). Return 0 or -errno with a
 * reason in err. ctl_config_add_portal normalizes the address; duplicates are refused. */
/* ctl_config_add_portal takes the --listen spec "ADDR:PORT[,tpg=N]"; _tpg an address and tag. */
int ctl_config_add_portal(struct ctl_config *c, const char *addr, char *err, size_t err_len);
int ctl_config_add_portal_tpg(struct ctl_config *c, const char *addr, unsigned tpg, char *err,
			      size_t err_len);
int ctl_config_add_target(struct ctl_config *c, const char *iqn, struct ctl_target **out,
			  char *err, size_t err_len);
int ctl_config_add_lun(struct ctl_target *t, unsigned lun, const struct lu_config *cfg,
		       char *err, size_t err_len);
/* A vhost-user-scsi controller: an absolute socket path (duplicates refused) and a target. */
int ctl_config_add_vhost(struct ctl_config *c, const char *path, const char *iqn, char *err,
			 size_t err_len);

/* JSON object for one LUN ({"lun", "backstore", "path", "size", ...}): the config and RPC form. */
/* "an object", "a string"...: for error messages that say what a value was. */
const char *ctl_json_type_name(const json_t *v);

json_t *ctl_lun_to_json(unsigned lun, const struct lu_config *cfg);
/* The lowest config format version that can express c: 1, or 2 when a portal group other than
 * the default or access settings (auth, discovery_auth) are used, 3 with vhost controllers. */
int ctl_config_min_version(const struct ctl_config *c);
/* The whole config as the saved JSON object. NULL on ENOMEM. */
json_t *ctl_config_to_json(const struct ctl_config *c);
/* Parses and checks a config object. Every error names the field's path
 * ("targets[0].luns[1].size: expected integer"). Unknown keys are logged as warnings and
 * ignored; a newer "version" is refused. Returns 0 or -EINVAL; *c is initialized either way. */
int ctl_config_from_json(json_t *root, struct ctl_config *c, char *err, size_t err_len);

/* Text forms: the saved file is the JSON object, indented, keys in a fixed order, newline at the
 * end. ctl_config_dumps returns a malloc'ed string or NULL. */
char *ctl_config_dumps(const struct ctl_config *c);
int ctl_config_loads(const char *text, struct ctl_config *c, char *err, size_t err_len);
int ctl_config_load_file(const char *path, struct ctl_config *c, char *err, size_t err_len);
/* Writes a temporary file beside path, fsyncs it, renames it over path and fsyncs the directory:
 * a reader sees the old file or the new one, never half of one. */
int ctl_config_save_file(const struct ctl_config *c, const char *path, char *err, size_t err_len);

#endif
