#include "ctl/config.h"
#include "target/target.h"
#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/config_auth.h"
#include "ctl/config_limits.h"
#include "ctl/lunspec.h"
#include "ctl/portalspec.h"
#include "invar/version.h"
#include "util/log.h"

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

void ctl_config_init(struct ctl_config *c)
{
	memset(c, 0, sizeof(*c));
	invar_limits_defaults(&c->limits);
}

void ctl_config_free(struct ctl_config *c)
{
	size_t i;

	for (i = 0; i < c->nportals; i++)
		free(c->portals[i]);
	free(c->portals);
	free(c->portal_tpgs);
	for (i = 0; i < c->ntargets; i++) {
		free(c->targets[i].luns);
		target_auth_free(&c->targets[i].auth);
	}
	target_auth_free(&c->discovery_auth);
	free(c->targets);
	free(c->vhost);
	ctl_config_init(c);
}

int ctl_config_add_portal(struct ctl_config *c, const char *spec, char *err, size_t err_len)
{
	char norm[128];
	unsigned tpg;

	if (ctl_portal_spec_parse(spec, norm, sizeof(norm), &tpg, err, err_len) < 0)
		return -EINVAL;
	return ctl_config_add_portal_tpg(c, norm, tpg, err, err_len);
}

int ctl_config_add_portal_tpg(struct ctl_config *c, const char *addr, unsigned tpg, char *err,
			      size_t err_len)
{
	char norm[128];
	unsigned *tp;
	char **p;
	size_t i;

	if (ctl_portal_normalize(addr, norm, sizeof(norm), err, err_len) < 0)
		return -EINVAL;
	if (tpg < 1 || tpg > CTL_TPG_MAX) {
		ERRF("tpg: must be 1 to %d", CTL_TPG_MAX);
		return -EINVAL;
	}
	for (i = 0; i < c->nportals; i++) {
		if (!strcmp(c->portals[i], norm)) {
			ERRF("portal %s is given twice", norm);
			return -EEXIST;
		}
	}
	tp = realloc(c->portal_tpgs, (c->nportals + 1) * sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	c->portal_tpgs = tp;
	p = realloc(c->portals, (c->nportals + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->portals = p;
	p[c->nportals] = strdup(norm);
	if (!p[c->nportals])
		return -ENOMEM;
	tp[c->nportals] = tpg;
	c->nportals++;
	return 0;
}

int ctl_config_add_target(struct ctl_config *c, const char *iqn, struct ctl_target **out,
			  char *err, size_t err_len)
{
	struct ctl_target *t;
	size_t i;

	if (strlen(iqn) > INVAR_NAME_MAX || !iqn[0]) {
		ERRF("iqn: must be 1 to %d characters", INVAR_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < c->ntargets; i++) {
		if (!strcmp(c->targets[i].iqn, iqn)) {
			ERRF("iqn: target %s given twice", iqn);
			return -EEXIST;
		}
	}
	t = realloc(c->targets, (c->ntargets + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	c->targets = t;
	t = &c->targets[c->ntargets++];
	memset(t, 0, sizeof(*t));
	strcpy(t->iqn, iqn);
	if (out)
		*out = t;
	return 0;
}

int ctl_config_add_vhost(struct ctl_config *c, const char *path, const char *iqn, char *err,
			 size_t err_len)
{
	struct ctl_vhost *v;

	if (path[0] != '/' || strlen(path) >= sizeof(v->path)) {
		ERRF("vhost socket path must be absolute and at most %zu bytes: %s",
		     sizeof(v->path) - 1, path);
		return -EINVAL;
	}
	if (iscsi_name_validate(iqn) < 0) {
		ERRF("vhost %s: bad target name '%s'", path, iqn);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->nvhost; i++)
		if (!strcmp(c->vhost[i].path, path)) {
			ERRF("vhost socket %s is given twice", path);
			return -EEXIST;
		}
	v = realloc(c->vhost, (c->nvhost + 1) * sizeof(*v));
	if (!v) {
		ERRF("out of memory");
		return -ENOMEM;
	}
	c->vhost = v;
	snprintf(v[c->nvhost].path, sizeof(v->path), "%s", path);
	snprintf(v[c->nvhost].target, sizeof(v->target), "%s", iqn);
	c->nvhost++;
	return 0;
}

int ctl_config_add_lun(struct ctl_target *t, unsigned lun, const struct lu_config *cfg,
		       char *err, size_t err_len)
{
	struct ctl_lun *l;
	size_t i;

	if (lun >= INVAR_MAX_LUNS) {
		ERRF("lun: %u is out of range (0 to %d)", lun, INVAR_MAX_LUNS - 1);
		return -ERANGE;
	}
	for (i = 0; i < t->nluns; i++) {
		if (t->luns[i].lun == lun) {
			ERRF("lun: LUN %u given twice", lun);
			return -EEXIST;
		}
	}
	l = realloc(t->luns, (t->nluns + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	t->luns = l;
	l[t->nluns].lun = lun;
	l[t->nluns].cfg = *cfg;
	t->nluns++;
	return 0;
}

/* ---- dump ---- */

/* json_object_set_new that remembers a failure instead of checking each call. */
static void jset(json_t *o, const char *key, json_t *v, int *ret)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*ret = -ENOMEM;
}

json_t *ctl_lun_to_json(unsigned lun, const struct lu_config *cfg)
{
	json_t *o = json_object();
	char naa[40];
	int ret = 0;

	if (!o)
		return NULL;
	jset(o, "lun", json_integer(lun), &ret);
	jset(o, "backstore", json_string(cfg->backstore), &ret);
	if (cfg->path[0])
		jset(o, "path", json_string(cfg->path), &ret);
	jset(o, "size", json_integer((json_int_t)cfg->size), &ret);
	jset(o, "block_size", json_integer(cfg->block_size ? cfg->block_size : 512), &ret);
	if (cfg->serial[0])
		jset(o, "serial", json_string(cfg->serial), &ret);
	if (cfg->naa_len) {
		ctl_naa_format(cfg->naa, cfg->naa_len, naa, sizeof(naa));
		jset(o, "naa", json_string(naa), &ret);
	}
	if (cfg->profile[0])
		jset(o, "profile", json_string(cfg->profile), &ret);
	/* Written only when set, so configs without them stay byte for byte as before. */
	if (cfg->readonly)
		jset(o, "readonly", json_true(), &ret);
	if (cfg->removable)
		jset(o, "removable", json_true(), &ret);
	if (ret < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The lowest format version that says everything in c (docs/CONFIG.md, Versioning): a file that
 * uses only the default portal group and no access settings stays version 1, readable by every
 * invard; one with them is refused by an older invard rather than served without its portal
 * groups or its access control. */
int ctl_config_min_version(const struct ctl_config *c)
{
	if (c->nvhost)
		return 3;
	for (size_t i = 0; i < c->nportals; i++)
		if (c->portal_tpgs && c->portal_tpgs[i] != CTL_TPG_DEFAULT)
			return 2;
	if (!ctl_auth_empty(&c->discovery_auth))
		return 2;
	for (size_t i = 0; i < c->ntargets; i++)
		if (!ctl_auth_empty(&c->targets[i].auth))
			return 2;
	return 1;
}

json_t *ctl_config_to_json(const struct ctl_config *c)
{
	json_t *root = json_object(), *portals = json_array(), *targets = json_array();
	size_t i, j;
	int ret = 0;

	if (!root || !portals || !targets) {
		json_decref(portals);
		json_decref(targets);
		goto fail;
	}
	jset(root, "version", json_integer(ctl_config_min_version(c)), &ret);
	jset(root, "invar_version", json_string(INVAR_VERSION_STRING), &ret);
	jset(root, "portals", portals, &ret);
	jset(root, "targets", targets, &ret);
	for (i = 0; i < c->nportals && !ret; i++) {
		unsigned tpg = c->portal_tpgs ? c->portal_tpgs[i] : CTL_TPG_DEFAULT;
		json_t *po = tpg == CTL_TPG_DEFAULT
				     ? json_string(c->portals[i])
				     : json_pack("{s:s, s:i}", "address", c->portals[i], "tpg", (int)tpg);

		if (json_array_append_new(portals, po) < 0)
			ret = -ENOMEM;
	}
	for (i = 0; i < c->ntargets && !ret; i++) {
		const struct ctl_target *t = &c->targets[i];
		json_t *to = json_object(), *luns = json_array();

		if (!to || !luns || json_array_append_new(targets, to) < 0) {
			json_decref(to);
			json_decref(luns);
			ret = -ENOMEM;
			break;
		}
		jset(to, "iqn", json_string(t->iqn), &ret);
		jset(to, "luns", luns, &ret);
		for (j = 0; j < t->nluns && !ret; j++)
			if (json_array_append_new(luns, ctl_lun_to_json(t->luns[j].lun,
									&t->luns[j].cfg)) < 0)
				ret = -ENOMEM;
		if (!ret && !ctl_auth_empty(&t->auth))
			jset(to, "auth", ctl_auth_to_json(&t->auth, !c->redact_secrets), &ret);
	}
	if (!ret && !ctl_auth_empty(&c->discovery_auth))
		jset(root, "discovery_auth", ctl_auth_to_json(&c->discovery_auth, !c->redact_secrets),
		     &ret);
	if (!ret && !invar_limits_is_default(&c->limits))
		jset(root, "limits", ctl_limits_to_json(&c->limits), &ret);
	if (!ret && c->nvhost) {
		json_t *va = json_array();

		jset(root, "vhost", va, &ret);
		for (i = 0; i < c->nvhost && !ret; i++)
			if (json_array_append_new(va, json_pack("{s:s, s:s}", "path", c->vhost[i].path,
								"target", c->vhost[i].target)) < 0)
				ret = -ENOMEM;
	}
	if (!ret)
		return root;
fail:
	json_decref(root);
	return NULL;
}

char *ctl_config_dumps(const struct ctl_config *c)
{
	json_t *root = ctl_config_to_json(c);
	char *s, *out;
	size_t n;

	if (!root)
		return NULL;
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return NULL;
	n = strlen(s);
	out = realloc(s, n + 2);
	if (!out) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

/* ---- load ---- */

const char *ctl_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

#define EXPECT(cond, path, what, v)                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			ERRF("%s: expected %s, got %s", path, what, ctl_json_type_name(v)); \
			return -EINVAL;                                               \
		}                                                                     \
	} while (0)

static void warn_unknown(const char *path, const char *key)
{
	char safe[64];

	log_warn("config: %s%s%s: unknown key ignored", path, path[0] ? "." : "",
		 log_sanitize(safe, sizeof(safe), key, strlen(key)));
}

static int load_lun(json_t *lo, const char *path, struct ctl_target *t, char *err, size_t err_len)
{
	struct lu_config cfg;
	char fp[96], reason[256];
	const char *key;
	json_t *v;
	json_int_t lun = -1;

	memset(&cfg, 0, sizeof(cfg));
	EXPECT(json_is_object(lo), path, "an object", lo);
	json_object_foreach(lo, key, v)
	{
		snprintf(fp, sizeof(fp), "%s.%s", path, key);
		if (!strcmp(key, "lun")) {
			EXPECT(json_is_integer(v), fp, "an integer", v);
			lun = json_integer_value(v);
			if (lun < 0 || lun >= INVAR_MAX_LUNS) {
				ERRF("%s: %lld is out of range (0 to %d)", fp, (long long)lun,
				     INVAR_MAX_LUNS - 1);
				return -EINVAL;
			}
		} else if (!strcmp(key, "size")) {
			EXPECT(json_is_integer(v), fp, "an integer", v);
			if (json_integer_value(v) < 0) {
				ERRF("%s: must not be negative", fp);
				return -EINVAL;
			}
			cfg.size = (uint64_t)json_integer_value(v);
		} else if (!strcmp(key, "block_size")) {
			EXPECT(json_is_integer(v), fp, "an integer", v);
			if (json_integer_value(v) < 0 ||
			    ctl_lu_set_block_size(&cfg, (uint64_t)json_integer_value(v), reason,
						  sizeof(reason)) < 0) {
				ERRF("%s: must be 512 or 4096", fp);
				return -EINVAL;
			}
		} else if (!strcmp(key, "readonly") || !strcmp(key, "removable")) {
			EXPECT(json_is_boolean(v), fp, "true or false", v);
			if (!strcmp(key, "readonly"))
				cfg.readonly = json_is_true(v);
			else
				cfg.removable = json_is_true(v);
		} else if (!strcmp(key, "backstore") || !strcmp(key, "path") ||
			   !strcmp(key, "serial") || !strcmp(key, "naa") ||
			   !strcmp(key, "profile")) {
			const char *s;
			int ret;

			EXPECT(json_is_string(v), fp, "a string", v);
			s = json_string_value(v);
			if (strlen(s) != json_string_length(v)) {
				ERRF("%s: contains a NUL byte", fp);
				return -EINVAL;
			}
			if (!strcmp(key, "backstore"))
				ret = ctl_lu_set_backstore(&cfg, s, reason, sizeof(reason));
			else if (!strcmp(key, "path"))
				ret = ctl_lu_set_path(&cfg, s, reason, sizeof(reason));
			else if (!strcmp(key, "serial"))
				ret = ctl_lu_set_serial(&cfg, s, reason, sizeof(reason));
			else if (!strcmp(key, "naa"))
				ret = ctl_naa_parse(s, cfg.naa, &cfg.naa_len, reason, sizeof(reason));
			else
				ret = ctl_lu_set_profile(&cfg, s, reason, sizeof(reason));
			if (ret < 0) {
				/* reason starts with the key name: keep the path instead. */
				const char *r = strchr(reason, ':');

				ERRF("%s:%s", fp, r ? r + 1 : reason);
				return -EINVAL;
			}
		} else {
			warn_unknown(path, key);
		}
	}
	if (lun < 0) {
		ERRF("%s.lun: missing", path);
		return -EINVAL;
	}
	if (!cfg.backstore[0]) {
		ERRF("%s.backstore: missing", path);
		return -EINVAL;
	}
	if (ctl_lu_config_check(&cfg, reason, sizeof(reason)) < 0) {
		ERRF("%s.%s", path, reason);
		return -EINVAL;
	}
	if (ctl_config_add_lun(t, (unsigned)lun, &cfg, reason, sizeof(reason)) < 0) {
		ERRF("%s.%s", path, reason);
		return -EINVAL;
	}
	return 0;
}

static int load_target(json_t *to, const char *path, struct ctl_config *c, char *err,
		       size_t err_len)
{
	struct ctl_target *t;
	json_t *iqn, *luns, *v;
	char fp[96], reason[256];
	const char *key;
	size_t i;
	int ret;

	EXPECT(json_is_object(to), path, "an object", to);
	json_object_foreach(to, key, v)
		if (strcmp(key, "iqn") && strcmp(key, "luns") && strcmp(key, "auth"))
			warn_unknown(path, key);
	iqn = json_object_get(to, "iqn");
	snprintf(fp, sizeof(fp), "%s.iqn", path);
	if (!iqn) {
		ERRF("%s: missing", fp);
		return -EINVAL;
	}
	EXPECT(json_is_string(iqn), fp, "a string", iqn);
	if (strlen(json_string_value(iqn)) != json_string_length(iqn)) {
		ERRF("%s: contains a NUL byte", fp);
		return -EINVAL;
	}
	if (ctl_config_add_target(c, json_string_value(iqn), &t, reason, sizeof(reason)) < 0) {
		const char *r = strchr(reason, ':');

		ERRF("%s:%s", fp, r ? r + 1 : reason);
		return -EINVAL;
	}
	v = json_object_get(to, "auth");
	if (v) {
		snprintf(fp, sizeof(fp), "%s.auth", path);
		if (ctl_auth_from_json(v, fp, &t->auth, false, err, err_len) < 0)
			return -EINVAL;
	}
	luns = json_object_get(to, "luns");
	if (!luns)
		return 0;
	snprintf(fp, sizeof(fp), "%s.luns", path);
	EXPECT(json_is_array(luns), fp, "an array", luns);
	json_array_foreach(luns, i, v)
	{
		snprintf(fp, sizeof(fp), "%s.luns[%zu]", path, i);
		ret = load_lun(v, fp, t, err, err_len);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Version 2: {"address": "ADDR:PORT", "tpg": N}. */
static int load_portal_object(json_t *po, const char *path, struct ctl_config *c, char *err,
			      size_t err_len)
{
	json_t *addr = json_object_get(po, "address"), *tpg = json_object_get(po, "tpg"), *v;
	json_int_t tag = CTL_TPG_DEFAULT;
	char fp[96], reason[256];
	const char *key;

	json_object_foreach(po, key, v)
		if (strcmp(key, "address") && strcmp(key, "tpg"))
			warn_unknown(path, key);
	snprintf(fp, sizeof(fp), "%s.address", path);
	if (!addr) {
		ERRF("%s: missing", fp);
		return -EINVAL;
	}
	EXPECT(json_is_string(addr), fp, "a string", addr);
	if (tpg) {
		snprintf(fp, sizeof(fp), "%s.tpg", path);
		EXPECT(json_is_integer(tpg), fp, "an integer", tpg);
		tag = json_integer_value(tpg);
		if (tag < 1 || tag > CTL_TPG_MAX) {
			ERRF("%s: must be 1 to %d", fp, CTL_TPG_MAX);
			return -EINVAL;
		}
	}
	if (ctl_config_add_portal_tpg(c, json_string_value(addr), (unsigned)tag, reason,
				      sizeof(reason)) < 0) {
		ERRF("%s: %s", path, reason);
		return -EINVAL;
	}
	return 0;
}

int ctl_config_from_json(json_t *root, struct ctl_config *c, char *err, size_t err_len)
{
	json_t *v, *portals, *targets;
	const char *key;
	char fp[64], reason[256];
	json_int_t version;
	size_t i;
	int ret;

	ctl_config_init(c);
	EXPECT(json_is_object(root), "(top level)", "an object", root);
	v = json_object_get(root, "version");
	if (!v) {
		ERRF("version: missing");
		return -EINVAL;
	}
	EXPECT(json_is_integer(v), "version", "an integer", v);
	version = json_integer_value(v);
	if (version > INVAR_CONFIG_VERSION) {
		ERRF("version: %lld is newer than this invard understands (%d); upgrade invar",
		     (long long)version, INVAR_CONFIG_VERSION);
		return -EINVAL;
	}
	if (version < 1) {
		ERRF("version: %lld is not a valid config version", (long long)version);
		return -EINVAL;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "version") && strcmp(key, "invar_version") &&
		    strcmp(key, "portals") && strcmp(key, "targets") &&
		    strcmp(key, "discovery_auth") && strcmp(key, "limits") &&
		    strcmp(key, "vhost"))
			warn_unknown("", key);
	}
	v = json_object_get(root, "invar_version");
	if (v)
		EXPECT(json_is_string(v), "invar_version", "a string", v);

	portals = json_object_get(root, "portals");
	if (portals) {
		EXPECT(json_is_array(portals), "portals", "an array", portals);
		json_array_foreach(portals, i, v)
		{
			snprintf(fp, sizeof(fp), "portals[%zu]", i);
			if (json_is_object(v) && version >= 2) {
				ret = load_portal_object(v, fp, c, err, err_len);
				if (ret < 0)
					goto fail;
				continue;
			}
			if (!json_is_string(v)) {
				ERRF("%s: expected a string%s, got %s", fp,
				     version >= 2 ? " or an object" : "", ctl_json_type_name(v));
				goto fail;
			}
			ret = ctl_config_add_portal_tpg(c, json_string_value(v), CTL_TPG_DEFAULT,
							reason, sizeof(reason));
			if (ret < 0) {
				ERRF("%s: %s", fp, reason);
				goto fail;
			}
		}
	}
	v = json_object_get(root, "discovery_auth");
	if (v && ctl_auth_from_json(v, "discovery_auth", &c->discovery_auth, true, err, err_len) < 0)
		goto fail;
	v = json_object_get(root, "limits");
	if (v && ctl_limits_from_json(v, "limits", &c->limits, err, err_len) < 0)
		goto fail;
	v = json_object_get(root, "vhost");
	if (v) {
		json_t *vo;

		if (version < 3) {
			ERRF("vhost: needs config version 3 (this file says %lld)", (long long)version);
			goto fail;
		}
		if (!json_is_array(v)) {
			ERRF("vhost: expected an array, got %s", ctl_json_type_name(v));
			goto fail;
		}
		json_array_foreach(v, i, vo)
		{
			json_t *path = json_object_get(vo, "path"), *tgt = json_object_get(vo, "target");

			if (!json_is_object(vo) || !json_is_string(path) || !json_is_string(tgt)) {
				ERRF("vhost[%zu]: expected an object with strings path and target", i);
				goto fail;
			}
			if (ctl_config_add_vhost(c, json_string_value(path), json_string_value(tgt),
						 reason, sizeof(reason)) < 0) {
				ERRF("vhost[%zu]: %s", i, reason);
				goto fail;
			}
		}
	}
	targets = json_object_get(root, "targets");
	if (targets) {
		if (!json_is_array(targets)) {
			ERRF("targets: expected an array, got %s", ctl_json_type_name(targets));
			goto fail;
		}
		json_array_foreach(targets, i, v)
		{
			snprintf(fp, sizeof(fp), "targets[%zu]", i);
			if (load_target(v, fp, c, err, err_len) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	ctl_config_free(c);
	return -EINVAL;
}

int ctl_config_loads(const char *text, struct ctl_config *c, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	ctl_config_init(c);
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		ERRF("line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	ret = ctl_config_from_json(root, c, err, err_len);
	json_decref(root);
	return ret;
}

int ctl_config_load_file(const char *path, struct ctl_config *c, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	ctl_config_init(c);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line < 0 || access(path, R_OK) < 0)
			ERRF("%s: %s", path, access(path, R_OK) < 0 ? strerror(errno) : jerr.text);
		else
			ERRF("%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	ret = ctl_config_from_json(root, c, err, err_len);
	json_decref(root);
	return ret;
}


int ctl_config_save_file(const struct ctl_config *c, const char *path, char *err, size_t err_len)
{
	char *text;
	int ret;

	text = ctl_config_dumps(c);
	if (!text) {
		ERRF("out of memory");
		return -ENOMEM;
	}
	ret = atomic_file_write(path, text, strlen(text));
	if (ret < 0)
		ERRF("%s: %s", path, strerror(-ret));
	free(text);
	return ret;
}
