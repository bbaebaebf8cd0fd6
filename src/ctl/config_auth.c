/* JSON form of a target's access configuration (target/acl.h), shared by the saved config and the
 * RPC methods (docs/CONFIG.md "auth"):
 *   {"chap": {"user", "secret"}, "mutual_chap": {...},
 *    "acl": [{"initiator", "chap"?, "luns"?: [{"lun", "target_lun"}]}], "portals": [...]}
 * Secrets are written only into the saved file (mode 0600); RPC answers say "secret_set". */
#include "ctl/config_auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/lunspec.h"

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

bool ctl_auth_empty(const struct target_auth *a)
{
	return !chap_cred_isset(&a->chap) && !chap_cred_isset(&a->mutual) && !a->nacls &&
	       !a->nportals;
}

static json_t *ctl_cred_to_json(const struct chap_cred *c, bool secrets)
{
	if (secrets)
		return json_pack("{s:s, s:s}", "user", c->user, "secret", c->secret);
	return json_pack("{s:s, s:b}", "user", c->user, "secret_set", 1);
}

json_t *ctl_acl_entry_to_json(const struct acl_entry *e, bool secrets)
{
	json_t *o = json_pack("{s:s}", "initiator", e->initiator), *luns;
	unsigned i;

	if (!o)
		return NULL;
	if (chap_cred_isset(&e->chap) &&
	    json_object_set_new(o, "chap", ctl_cred_to_json(&e->chap, secrets)) < 0)
		goto fail;
	if (!e->nmap)
		return o;
	luns = json_array();
	if (!luns || json_object_set_new(o, "luns", luns) < 0)
		goto fail;
	for (i = 0; i < INVAR_MAX_LUNS; i++) {
		if (e->map[i] == ACL_LUN_NONE)
			continue;
		if (json_array_append_new(luns, json_pack("{s:i, s:i}", "lun", (int)i,
							  "target_lun", (int)e->map[i])) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *ctl_auth_to_json(const struct target_auth *a, bool secrets)
{
	json_t *o = json_object(), *arr;
	unsigned i;

	if (!o)
		return NULL;
	if (chap_cred_isset(&a->chap) &&
	    json_object_set_new(o, "chap", ctl_cred_to_json(&a->chap, secrets)) < 0)
		goto fail;
	if (chap_cred_isset(&a->mutual) &&
	    json_object_set_new(o, "mutual_chap", ctl_cred_to_json(&a->mutual, secrets)) < 0)
		goto fail;
	if (a->nacls) {
		arr = json_array();
		if (!arr || json_object_set_new(o, "acl", arr) < 0)
			goto fail;
		for (i = 0; i < a->nacls; i++)
			if (json_array_append_new(arr, ctl_acl_entry_to_json(&a->acls[i], secrets)) <
			    0)
				goto fail;
	}
	if (a->nportals) {
		arr = json_array();
		if (!arr || json_object_set_new(o, "portals", arr) < 0)
			goto fail;
		for (i = 0; i < a->nportals; i++)
			if (json_array_append_new(arr, json_string(a->portals[i])) < 0)
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int ctl_str(json_t *v, const char *path, const char **out, char *err, size_t err_len)
{
	if (!json_is_string(v)) {
		ERRF("%s: expected a string", path);
		return -EINVAL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		ERRF("%s: contains a NUL byte", path);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int ctl_cred_from_json(json_t *o, const char *path, struct chap_cred *c, char *err,
			      size_t err_len)
{
	const char *user, *secret;
	char fp[288], reason[160];

	if (!json_is_object(o)) {
		ERRF("%s: expected an object", path);
		return -EINVAL;
	}
	snprintf(fp, sizeof(fp), "%s.user", path);
	if (ctl_str(json_object_get(o, "user"), fp, &user, err, err_len) < 0)
		return -EINVAL;
	snprintf(fp, sizeof(fp), "%s.secret", path);
	if (ctl_str(json_object_get(o, "secret"), fp, &secret, err, err_len) < 0)
		return -EINVAL;
	if (chap_cred_set(c, user, secret, reason, sizeof(reason)) < 0) {
		ERRF("%s: %s", path, reason);
		return -EINVAL;
	}
	return 0;
}

static int ctl_acl_from_json(json_t *o, const char *path, struct target_auth *a, char *err,
			     size_t err_len)
{
	struct acl_entry *e;
	const char *name;
	char fp[224];
	json_t *v, *luns;
	size_t i;
	int ret;

	if (!json_is_object(o)) {
		ERRF("%s: expected an object", path);
		return -EINVAL;
	}
	snprintf(fp, sizeof(fp), "%s.initiator", path);
	if (ctl_str(json_object_get(o, "initiator"), fp, &name, err, err_len) < 0)
		return -EINVAL;
	ret = target_auth_acl_add(a, name, &e);
	if (ret < 0) {
		ERRF("%s: %s", fp, ret == -EINVAL ? "not a valid iSCSI name"
				   : ret == -EEXIST ? "given twice"
				   : ret == -ENOSPC ? "too many ACL entries" : strerror(-ret));
		return -EINVAL;
	}
	v = json_object_get(o, "chap");
	snprintf(fp, sizeof(fp), "%s.chap", path);
	if (v && ctl_cred_from_json(v, fp, &e->chap, err, err_len) < 0)
		return -EINVAL;
	luns = json_object_get(o, "luns");
	if (!luns)
		return 0;
	if (!json_is_array(luns)) {
		ERRF("%s.luns: expected an array", path);
		return -EINVAL;
	}
	json_array_foreach(luns, i, v)
	{
		json_t *l = json_object_get(v, "lun"), *tl = json_object_get(v, "target_lun");

		if (!json_is_integer(l) || !json_is_integer(tl) || json_integer_value(l) < 0 ||
		    json_integer_value(tl) < 0 || json_integer_value(l) >= INVAR_MAX_LUNS ||
		    json_integer_value(tl) >= INVAR_MAX_LUNS) {
			ERRF("%s.luns[%zu]: expected {\"lun\": 0..%d, \"target_lun\": 0..%d}", path,
			     i, INVAR_MAX_LUNS - 1, INVAR_MAX_LUNS - 1);
			return -EINVAL;
		}
		if (acl_entry_map(e, (unsigned)json_integer_value(l),
				  (unsigned)json_integer_value(tl)) < 0) {
			ERRF("%s.luns[%zu]: LUN mapped twice", path, i);
			return -EINVAL;
		}
	}
	return 0;
}

int ctl_auth_from_json(json_t *o, const char *path, struct target_auth *a, bool discovery,
		       char *err, size_t err_len)
{
	const char *key;
	char fp[160], norm[ACL_PORTAL_LEN], reason[160];
	json_t *v, *e;
	size_t i;

	if (!json_is_object(o)) {
		ERRF("%s: expected an object", path);
		return -EINVAL;
	}
	json_object_foreach(o, key, v)
	{
		snprintf(fp, sizeof(fp), "%s.%s", path, key);
		if (!strcmp(key, "chap")) {
			if (ctl_cred_from_json(v, fp, &a->chap, err, err_len) < 0)
				return -EINVAL;
		} else if (!strcmp(key, "mutual_chap")) {
			if (ctl_cred_from_json(v, fp, &a->mutual, err, err_len) < 0)
				return -EINVAL;
		} else if (!discovery && !strcmp(key, "acl")) {
			if (!json_is_array(v)) {
				ERRF("%s: expected an array", fp);
				return -EINVAL;
			}
			json_array_foreach(v, i, e)
			{
				snprintf(fp, sizeof(fp), "%s.acl[%zu]", path, i);
				if (ctl_acl_from_json(e, fp, a, err, err_len) < 0)
					return -EINVAL;
			}
		} else if (!discovery && !strcmp(key, "portals")) {
			if (!json_is_array(v)) {
				ERRF("%s: expected an array", fp);
				return -EINVAL;
			}
			json_array_foreach(v, i, e)
			{
				const char *s;

				snprintf(fp, sizeof(fp), "%s.portals[%zu]", path, i);
				if (ctl_str(e, fp, &s, err, err_len) < 0)
					return -EINVAL;
				if (ctl_portal_normalize(s, norm, sizeof(norm), reason,
							 sizeof(reason)) < 0) {
					ERRF("%s: %s", fp, reason);
					return -EINVAL;
				}
				if (target_auth_portal_add(a, norm) < 0) {
					ERRF("%s: given twice or too many (at most %d)", fp,
					     TARGET_PORTALS_MAX);
					return -EINVAL;
				}
			}
		} else {
			/* Unlike elsewhere, an unknown key here is an error: ignoring a security
			 * setting would open the target wider than its owner meant. */
			ERRF("%s: unknown key", fp);
			return -EINVAL;
		}
	}
	return 0;
}
