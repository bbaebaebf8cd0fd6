/* JSON codec for a target's access configuration (CHAP, ACL, portal binding): the "auth" object
 * of the saved config and of the RPC answers (docs/CONFIG.md, docs/RPC.md). */
#ifndef INVAR_CTL_CONFIG_AUTH_H
#define INVAR_CTL_CONFIG_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "target/acl.h"

bool ctl_auth_empty(const struct target_auth *a);
/* secrets: write CHAP secrets (saved file) or only "secret_set": true (RPC answers). NULL on
 * ENOMEM. */
json_t *ctl_auth_to_json(const struct target_auth *a, bool secrets);
json_t *ctl_acl_entry_to_json(const struct acl_entry *e, bool secrets);
/* Parses into a (initialized by the caller); discovery: only "chap" and "mutual_chap" allowed.
 * Unknown keys are errors. Returns 0 or -EINVAL with the path in err. */
int ctl_auth_from_json(json_t *o, const char *path, struct target_auth *a, bool discovery,
		       char *err, size_t err_len);

#endif
