/* invarctl's commands (commands.h): one handler per row of ctl_cmds, each turning its arguments
 * into one RPC (docs/RPC.md) and its result into lines a person reads. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "compat_cmd.h"
#include "stats_cmd.h"
#include "ctl/lunspec.h"
#include "ctl/portalspec.h"
#include "invar/version.h"

/* ---- output ---- */

static void print_lun_header(const char *indent)
{
	printf("%s%-4s %-9s %-10s %-6s %-18s %-34s %-14s %s\n", indent, "LUN", "BACKSTORE", "SIZE",
	       "BLOCK", "SERIAL", "NAA", "PROFILE", "PATH");
}

static void print_lun(const char *indent, json_t *l)
{
	char size[32];

	ctl_size_format((uint64_t)json_integer_value(json_object_get(l, "size")), size,
			sizeof(size));
	printf("%s%-4lld %-9s %-10s %-6lld %-18s %-34s %-14s %s\n", indent,
	       (long long)json_integer_value(json_object_get(l, "lun")), jstr(l, "backstore", "-"),
	       size, (long long)json_integer_value(json_object_get(l, "block_size")),
	       jstr(l, "serial", "-"), jstr(l, "naa", "-"), jstr(l, "profile", "-"),
	       jstr(l, "path", "-"));
}

static void print_luns(const char *indent, json_t *luns)
{
	size_t i;
	json_t *l;

	if (!json_array_size(luns)) {
		printf("%s(no LUNs)\n", indent);
		return;
	}
	print_lun_header(indent);
	json_array_foreach(luns, i, l)
		print_lun(indent, l);
}

/* ---- version ---- */

static int cmd_version(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;
	json_int_t major;

	if (ctl_run(c, "rpc_version", NULL, &r))
		return 1;
	if (!r)
		return 0; /* --json: printed */
	major = json_integer_value(json_object_get(json_object_get(r, "rpc"), "major"));
	printf("invard   %s (rpc %lld.%lld)\n", jstr(r, "version", "?"), (long long)major,
	       (long long)json_integer_value(json_object_get(json_object_get(r, "rpc"), "minor")));
	printf("invarctl %s (rpc %d.%d)\n", INVAR_VERSION_STRING, INVAR_RPC_VERSION_MAJOR,
	       INVAR_RPC_VERSION_MINOR);
	if (major != INVAR_RPC_VERSION_MAJOR)
		fprintf(stderr, "invarctl: warning: rpc major versions differ\n");
	json_decref(r);
	return 0;
}

/* ---- target ---- */

static int cmd_target_create(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;

	if (ctl_run(c, "target_create", json_pack("{s:s}", "iqn", argv[0]), &r))
		return 1;
	if (r)
		printf("created target %s\n", jstr(r, "iqn", argv[0]));
	json_decref(r);
	return 0;
}

static int cmd_target_delete(const struct ctl *c, const char *verb, int argc, char **argv)
{
	const char *iqn = NULL;
	bool force = false;
	json_t *r;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = true;
		else if (argv[i][0] == '-' || iqn)
			return usage_error("usage: target delete IQN [--force]");
		else
			iqn = argv[i];
	}
	if (!iqn)
		return usage_error("usage: target delete IQN [--force]");
	if (ctl_run(c, "target_delete", json_pack("{s:s, s:b}", "iqn", iqn, "force", force), &r))
		return 1;
	if (r) {
		json_int_t n = json_integer_value(json_object_get(r, "sessions_closed"));

		printf("deleted target %s", iqn);
		if (n)
			printf(" (%lld session%s closed)", (long long)n, n == 1 ? "" : "s");
		printf("\n");
	}
	json_decref(r);
	return 0;
}

static int cmd_target_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *t;
	size_t i;

	if (ctl_run(c, "target_list", NULL, &r))
		return 1;
	if (!r)
		return 0;
	if (!json_array_size(json_object_get(r, "targets")))
		printf("(no targets)\n");
	json_array_foreach(json_object_get(r, "targets"), i, t)
	{
		json_int_t s = json_integer_value(json_object_get(t, "sessions"));

		printf("%s%s  (%lld session%s)\n", i ? "\n" : "", jstr(t, "iqn", "?"), (long long)s,
		       s == 1 ? "" : "s");
		print_luns("  ", json_object_get(t, "luns"));
	}
	json_decref(r);
	return 0;
}

/* ---- lun ---- */

/* The RPC parameters of a parsed SPEC. NULL after printing why. */
static json_t *lun_add_params(const char *iqn, const struct lu_config *cfg, json_int_t lun)
{
	char path[PATH_MAX], naa[40];
	json_t *p = json_pack("{s:s, s:s}", "iqn", iqn, "backstore", cfg->backstore);

	if (!p)
		return NULL;
	if (lun >= 0)
		json_object_set_new(p, "lun", json_integer(lun));
	if (cfg->path[0]) {
		/* user: the path is the handler NAME, rbd: POOL/IMAGE,..., not a file. */
		if (strcmp(cfg->backstore, "file")) {
			snprintf(path, sizeof(path), "%s", cfg->path);
		} else if (absolute_path(cfg->path, path, sizeof(path)) < 0) {
			fprintf(stderr, "invarctl: path too long\n");
			json_decref(p);
			return NULL;
		}
		json_object_set_new(p, "path", json_string(path));
	}
	if (cfg->size)
		json_object_set_new(p, "size", json_integer((json_int_t)cfg->size));
	if (cfg->block_size)
		json_object_set_new(p, "block_size", json_integer(cfg->block_size));
	if (cfg->serial[0])
		json_object_set_new(p, "serial", json_string(cfg->serial));
	if (cfg->naa_len) {
		ctl_naa_format(cfg->naa, cfg->naa_len, naa, sizeof(naa));
		json_object_set_new(p, "naa", json_string(naa));
	}
	if (cfg->profile[0])
		json_object_set_new(p, "profile", json_string(cfg->profile));
	if (cfg->readonly)
		json_object_set_new(p, "readonly", json_true());
	if (cfg->removable)
		json_object_set_new(p, "removable", json_true());
	return p;
}

static int cmd_lun_add(const struct ctl *c, const char *verb, int argc, char **argv)
{
	const char *iqn = NULL, *spec = NULL;
	json_int_t lun = -1;
	struct lu_config cfg;
	char err[512];
	json_t *p, *r;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--lun")) {
			if (++i == argc || parse_lun_number(argv[i], &lun) < 0)
				return usage_error("--lun: expected a LUN number 0 to 255");
		} else if (!strncmp(argv[i], "--lun=", 6)) {
			if (parse_lun_number(argv[i] + 6, &lun) < 0)
				return usage_error("--lun: expected a LUN number 0 to 255");
		} else if (!iqn) {
			iqn = argv[i];
		} else if (!spec) {
			spec = argv[i];
		} else {
			return usage_error("lun add: unexpected argument '%s'", argv[i]);
		}
	}
	if (!iqn || !spec)
		return usage_error("usage: lun add IQN SPEC [--lun N]");
	if (lunspec_parse(spec, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "invarctl: %s: %s\n", spec, err);
		return 2;
	}
	p = lun_add_params(iqn, &cfg, lun);
	if (!p)
		return 2;
	if (ctl_run(c, "lun_add", p, &r))
		return 1;
	if (r) {
		json_t *one = json_pack("[O]", r);

		printf("added LUN %lld to %s\n", (long long)json_integer_value(json_object_get(r, "lun")),
		       iqn);
		print_luns("  ", one);
		json_decref(one);
	}
	json_decref(r);
	return 0;
}

static int cmd_lun_delete(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_int_t lun;
	json_t *r;

	if (parse_lun_number(argv[1], &lun) < 0)
		return usage_error("lun delete: '%s' is not a LUN number (0 to 255)", argv[1]);
	if (ctl_run(c, "lun_delete", json_pack("{s:s, s:I}", "iqn", argv[0], "lun", lun), &r))
		return 1;
	if (r)
		printf("deleted LUN %lld of %s\n", (long long)lun, argv[0]);
	json_decref(r);
	return 0;
}

/* lun resize IQN LUN SIZE [--force] | lun resize IQN LUN --reread */
static int cmd_lun_resize(const struct ctl *c, const char *verb, int argc, char **argv)
{
	const char *size_arg = NULL;
	bool force = false, reread = false;
	char was[32], now[32];
	uint64_t size = 0;
	json_int_t lun;
	json_t *p, *r;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--reread"))
			reread = true;
		else if (!size_arg && argv[i][0] != '-')
			size_arg = argv[i];
		else
			return usage_error("lun resize: unexpected '%s'", argv[i]);
	}
	if (!size_arg == !reread || (reread && force))
		return usage_error("usage: lun resize IQN LUN SIZE [--force] | "
				   "lun resize IQN LUN --reread");
	if (parse_lun_number(argv[1], &lun) < 0)
		return usage_error("lun resize: '%s' is not a LUN number (0 to 255)", argv[1]);
	if (size_arg && (ctl_size_parse(size_arg, &size) < 0 || size == 0 ||
			 size > (uint64_t)INT64_MAX))
		return usage_error("lun resize: '%s' is not a size (bytes, or with K, M, G, T)",
				   size_arg);
	p = json_pack("{s:s, s:I}", "iqn", argv[0], "lun", lun);
	if (p && size)
		json_object_set_new(p, "size", json_integer((json_int_t)size));
	if (p && reread)
		json_object_set_new(p, "reread", json_true());
	if (p && force)
		json_object_set_new(p, "force", json_true());
	if (ctl_run(c, "lun_resize", p, &r))
		return 1;
	if (r) {
		ctl_size_format((uint64_t)json_integer_value(json_object_get(r, "old_size")), was,
				sizeof(was));
		ctl_size_format((uint64_t)json_integer_value(json_object_get(r, "size")), now,
				sizeof(now));
		if (json_is_true(json_object_get(r, "changed")))
			printf("LUN %lld of %s: %s -> %s\n", (long long)lun, argv[0], was, now);
		else
			printf("LUN %lld of %s: %s, unchanged\n", (long long)lun, argv[0], now);
	}
	json_decref(r);
	return 0;
}

static int cmd_lun_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;

	if (ctl_run(c, "lun_list", json_pack("{s:s}", "iqn", argv[0]), &r))
		return 1;
	if (r)
		print_luns("", json_object_get(r, "luns"));
	json_decref(r);
	return 0;
}

/* ---- lu ---- */

/* lu describe IQN LUN: the compatibility description (JSON, always). */
static int cmd_lu_describe(const struct ctl *c, const char *verb, int argc, char **argv)
{
	struct ctl raw = *c;
	json_int_t lun;
	json_t *r;

	if (parse_lun_number(argv[1], &lun) < 0)
		return usage_error("lu describe: LUN must be 0-255, not '%s'", argv[1]);
	raw.json = true;
	return ctl_run(&raw, "lu_describe", json_pack("{s:s, s:I}", "iqn", argv[0], "lun", lun),
		       &r);
}

/* lu migrate IQN LUN --to ADDR:PORT [--portal HOST:PORT[,TPGT]]: move the LU to the invard
 * listening there (its --migration-listen). The daemon runs the whole migration; this prints
 * where it stands and the result. */
static int cmd_lu_migrate(const struct ctl *c, const char *verb, int argc, char **argv)
{
	const char *iqn = argv[0], *to = NULL, *portal = NULL, *redirect;
	json_t *r, *params;
	json_int_t lun;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--to") && !to)
			to = argv[i + 1];
		else if (!strcmp(argv[i], "--portal") && !portal)
			portal = argv[i + 1];
		else
			return usage_error("lu migrate: unexpected '%s'", argv[i]);
	}
	if (!to || argc % 2)
		return usage_error("usage: lu migrate IQN LUN --to ADDR:PORT [--portal HOST:PORT]");
	if (parse_lun_number(argv[1], &lun) < 0)
		return usage_error("lu migrate: LUN must be 0-255, not '%s'", argv[1]);
	if (!c->json) {
		printf("migrating %s LUN %lld to %s: offer, compatibility check, stop-copy, "
		       "switch-over...\n", iqn, (long long)lun, to);
		fflush(stdout);
	}
	params = json_pack("{s:s, s:I, s:s}", "iqn", iqn, "lun", lun, "to", to);
	if (params && portal)
		json_object_set_new(params, "portal", json_string(portal));
	if (ctl_run(c, "lu_migrate", params, &r))
		return 1;
	if (!r)
		return 0; /* --json: printed */
	printf("migrated %s LUN %lld to %s in %.1f ms (LU paused %.1f ms)\n", iqn, (long long)lun,
	       to, json_real_value(json_object_get(r, "total_ms")),
	       json_real_value(json_object_get(r, "pause_ms")));
	redirect = json_string_value(json_object_get(r, "redirect"));
	if (redirect)
		printf("logins redirected to %s once all LUs of the target moved\n", redirect);
	else
		printf("no iSCSI portal known for the destination: logins are not redirected\n");
	json_decref(r);
	return 0;
}

/* ---- profile, compat ---- */

static int cmd_profile_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *p;
	size_t i;

	if (ctl_run(c, "profile_list", NULL, &r))
		return 1;
	if (!r)
		return 0;
	json_array_foreach(json_object_get(r, "profiles"), i, p)
		printf("%-14s %-10s %s\n", jstr(p, "name", "?"),
		       json_is_true(json_object_get(p, "default")) ? "(default)"
		       : json_is_true(json_object_get(p, "draft")) ? "(draft)" : "",
		       jstr(p, "summary", ""));
	json_decref(r);
	return 0;
}

static int cmd_compat_check(const struct ctl *c, const char *verb, int argc, char **argv)
{
	return invarctl_compat_check(argv[0], argv[1]);
}

/* ---- portal ---- */

static int cmd_portal_add(const struct ctl *c, const char *verb, int argc, char **argv)
{
	char addr[128], err[256];
	unsigned tpg;
	json_t *r;

	if (ctl_portal_spec_parse(argv[0], addr, sizeof(addr), &tpg, err, sizeof(err)) < 0)
		return usage_error("%s", err);
	if (ctl_run(c, "portal_add", json_pack("{s:s, s:i}", "address", addr, "tpg", (int)tpg), &r))
		return 1;
	if (r)
		printf("added portal %s (portal group %d)\n", jstr(r, "address", addr),
		       (int)json_integer_value(json_object_get(r, "tpg")));
	json_decref(r);
	return 0;
}

static int cmd_portal_delete(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;

	if (ctl_run(c, "portal_delete", json_pack("{s:s}", "address", argv[0]), &r))
		return 1;
	if (r)
		printf("deleted portal %s\n", jstr(r, "address", argv[0]));
	json_decref(r);
	return 0;
}

static int cmd_portal_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (ctl_run(c, "portal_list", NULL, &r))
		return 1;
	if (!r)
		return 0;
	if (!json_array_size(json_object_get(r, "details")))
		printf("(no portals)\n");
	json_array_foreach(json_object_get(r, "details"), i, v)
		printf("%s tpg %d\n", jstr(v, "address", "?"),
		       (int)json_integer_value(json_object_get(v, "tpg")));
	json_decref(r);
	return 0;
}

/* ---- vhost ---- */

static int cmd_vhost_add(const struct ctl *c, const char *verb, int argc, char **argv)
{
	char path[PATH_MAX];
	json_t *r;

	/* The daemon resolves nothing: a relative path is made absolute here. */
	if (argv[0][0] != '/') {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(path, sizeof(path), "%s/%s", cwd, argv[0]) >= (int)sizeof(path))
			return usage_error("path too long: %s", argv[0]);
	} else {
		snprintf(path, sizeof(path), "%s", argv[0]);
	}
	if (ctl_run(c, "vhost_add", json_pack("{s:s, s:s}", "path", path, "target", argv[1]), &r))
		return 1;
	if (r)
		printf("vhost-user-scsi controller %s serves %s\n", jstr(r, "path", path),
		       jstr(r, "target", argv[1]));
	json_decref(r);
	return 0;
}

static int cmd_vhost_delete(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;

	if (ctl_run(c, "vhost_delete", json_pack("{s:s}", "path", argv[0]), &r))
		return 1;
	if (r)
		printf("deleted vhost-user-scsi controller %s\n", jstr(r, "path", argv[0]));
	json_decref(r);
	return 0;
}

static int cmd_vhost_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (ctl_run(c, "vhost_list", NULL, &r))
		return 1;
	if (!r)
		return 0;
	if (!json_array_size(json_object_get(r, "controllers")))
		printf("(no vhost-user-scsi controllers)\n");
	json_array_foreach(json_object_get(r, "controllers"), i, v)
		printf("%s target %s %s\n", jstr(v, "path", "?"), jstr(v, "target", "?"),
		       json_is_true(json_object_get(v, "connected")) ? "connected" : "waiting");
	json_decref(r);
	return 0;
}

/* ---- alua ---- */

static int cmd_alua_set(const struct ctl *c, const char *verb, int argc, char **argv)
{
	unsigned tpg;
	json_t *r;

	if (ctl_tpg_parse(argv[1], &tpg) < 0)
		return usage_error("alua set: TPG must be 1 to %d", CTL_TPG_MAX);
	if (ctl_run(c, "alua_set",
		    json_pack("{s:s, s:i, s:s}", "iqn", argv[0], "tpg", (int)tpg, "state", argv[2]),
		    &r))
		return 1;
	if (r)
		printf("%s: portal group %u is %s\n", argv[0], tpg, jstr(r, "state", argv[2]));
	json_decref(r);
	return 0;
}

static int cmd_alua_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (ctl_run(c, "alua_list", json_pack("{s:s}", "iqn", argv[0]), &r))
		return 1;
	if (!r)
		return 0;
	if (!json_array_size(json_object_get(r, "groups")))
		printf("(no portal groups)\n");
	json_array_foreach(json_object_get(r, "groups"), i, v)
		printf("tpg %d %s (%d portals)\n", (int)json_integer_value(json_object_get(v, "tpg")),
		       jstr(v, "state", "?"), (int)json_integer_value(json_object_get(v, "portals")));
	json_decref(r);
	return 0;
}

/* ---- config ---- */

static int cmd_config_save(const struct ctl *c, const char *verb, int argc, char **argv)
{
	char path[PATH_MAX];
	json_t *p = NULL, *r;

	if (argc == 1) {
		if (absolute_path(argv[0], path, sizeof(path)) < 0) {
			fprintf(stderr, "invarctl: path too long\n");
			return 2;
		}
		p = json_pack("{s:s}", "path", path);
	}
	if (ctl_run(c, "config_save", p, &r))
		return 1;
	if (r)
		printf("saved to %s\n", jstr(r, "path", "?"));
	json_decref(r);
	return 0;
}

static int cmd_config_show(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;

	if (ctl_run(c, "config_show", NULL, &r))
		return 1;
	if (r)
		ctl_print_json(r);
	json_decref(r);
	return 0;
}

/* ---- limits ---- */

static void print_limits(json_t *r)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(r, "keys"), i, v)
		printf("%-30s %10lld  (default %lld; applies to %s)\n", jstr(v, "key", "?"),
		       (long long)json_integer_value(json_object_get(v, "value")),
		       (long long)json_integer_value(json_object_get(v, "default")),
		       jstr(v, "applies", "?"));
}

static int cmd_limits(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r;

	if (ctl_run(c, "limits_get", NULL, &r))
		return 1;
	if (r)
		print_limits(r);
	json_decref(r);
	return 0;
}

/* limits set KEY=VALUE...: change them on the running daemon (docs/RPC.md limits_set). */
static int cmd_limits_set(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *p = json_object(), *r;

	for (int a = 0; a < argc; a++) {
		const char *eq = strchr(argv[a], '=');
		char key[64], *end;
		unsigned long long n;

		if (!eq || eq == argv[a] || (size_t)(eq - argv[a]) >= sizeof(key)) {
			json_decref(p);
			return usage_error("limits set: expected KEY=VALUE, got '%s'", argv[a]);
		}
		memcpy(key, argv[a], (size_t)(eq - argv[a]));
		key[eq - argv[a]] = 0;
		errno = 0;
		n = strtoull(eq + 1, &end, 10);
		if (errno || *end || !eq[1] || eq[1] == '-' || n > INT64_MAX) {
			json_decref(p);
			return usage_error("limits set: %s: '%s' is not a number", key, eq + 1);
		}
		json_object_set_new(p, key, json_integer((json_int_t)n));
	}
	if (ctl_run(c, "limits_set", p, &r))
		return 1;
	if (r)
		print_limits(r);
	json_decref(r);
	return 0;
}

/* ---- chap ---- */

/* chap set TARGET|discovery USER:SECRET|- [--mutual | --initiator IQN]
 * chap clear TARGET|discovery [--mutual | --initiator IQN]
 * "-" reads USER:SECRET from the first line of stdin, keeping the secret out of `ps`. */
static int cmd_chap(const struct ctl *c, const char *verb, int argc, char **argv)
{
	bool set = !strcmp(verb, "set");
	int nfixed = set ? 2 : 1;
	json_t *p, *r;
	char line[600], *colon;
	const char *cred;

	if (argc < nfixed)
		return usage_error("usage: chap set TARGET|discovery USER:SECRET|- [--mutual | "
				   "--initiator IQN]; chap clear TARGET|discovery [...]");
	p = json_object();
	if (strcmp(argv[0], "discovery"))
		json_object_set_new(p, "iqn", json_string(argv[0]));
	for (int i = nfixed; i < argc; i++) {
		if (!strcmp(argv[i], "--mutual")) {
			json_object_set_new(p, "mutual", json_true());
		} else if (!strcmp(argv[i], "--initiator") && i + 1 < argc) {
			json_object_set_new(p, "initiator", json_string(argv[++i]));
		} else {
			json_decref(p);
			return usage_error("chap: unexpected '%s'", argv[i]);
		}
	}
	if (set) {
		cred = argv[1];
		if (!strcmp(cred, "-")) {
			if (!fgets(line, sizeof(line), stdin)) {
				json_decref(p);
				return usage_error("chap set: no USER:SECRET on stdin");
			}
			line[strcspn(line, "\r\n")] = '\0';
			cred = line;
		}
		colon = strchr(cred, ':');
		if (!colon || colon == cred) {
			json_decref(p);
			return usage_error("chap set: expected USER:SECRET");
		}
		json_object_set_new(p, "user", json_stringn(cred, (size_t)(colon - cred)));
		json_object_set_new(p, "secret", json_string(colon + 1));
	}
	if (ctl_run(c, set ? "chap_set" : "chap_clear", p, &r))
		return 1;
	if (r)
		printf("CHAP credentials %s\n", set ? "set" : "cleared");
	json_decref(r);
	return 0;
}

/* ---- acl ---- */

static int cmd_acl_member(const struct ctl *c, const char *verb, int argc, char **argv)
{
	const char *m = !strcmp(verb, "add") ? "acl_add" : "acl_delete";
	json_t *r;

	if (ctl_run(c, m, json_pack("{s:s, s:s}", "iqn", argv[0], "initiator", argv[1]), &r))
		return 1;
	json_decref(r);
	return 0;
}

static int cmd_acl_map(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_int_t lun, target_lun;
	json_t *r;

	if (parse_lun_number(argv[2], &lun) < 0 || parse_lun_number(argv[3], &target_lun) < 0)
		return usage_error("acl map: LUN and TARGET_LUN must be 0 to 255");
	if (ctl_run(c, "acl_lun_map",
		    json_pack("{s:s, s:s, s:I, s:I}", "iqn", argv[0], "initiator", argv[1], "lun",
			      lun, "target_lun", target_lun),
		    &r))
		return 1;
	json_decref(r);
	return 0;
}

static int cmd_acl_bind(const struct ctl *c, const char *verb, int argc, char **argv)
{
	const char *m = !strcmp(verb, "bind") ? "target_portal_bind" : "target_portal_unbind";
	json_t *r;

	if (ctl_run(c, m, json_pack("{s:s, s:s}", "iqn", argv[0], "address", argv[1]), &r))
		return 1;
	json_decref(r);
	return 0;
}

static int cmd_acl_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (ctl_run(c, "acl_list", json_pack("{s:s}", "iqn", argv[0]), &r))
		return 1;
	if (!r)
		return 0;
	printf("chap: %s; mutual chap: %s\n", jstr(json_object_get(r, "chap"), "user", "(none)"),
	       jstr(json_object_get(r, "mutual_chap"), "user", "(none)"));
	if (!json_array_size(json_object_get(r, "acl")))
		printf("acl: (empty: every initiator may log in)\n");
	json_array_foreach(json_object_get(r, "acl"), i, v)
	{
		json_t *l;
		size_t j;

		printf("acl: %s chap %s luns", jstr(v, "initiator", "?"),
		       jstr(json_object_get(v, "chap"), "user", "(target's)"));
		if (!json_array_size(json_object_get(v, "luns")))
			printf(" (all)");
		json_array_foreach(json_object_get(v, "luns"), j, l)
			printf(" %lld=%lld", (long long)json_integer_value(json_object_get(l, "lun")),
			       (long long)json_integer_value(json_object_get(l, "target_lun")));
		printf("\n");
	}
	json_array_foreach(json_object_get(r, "portals"), i, v)
		printf("bound to portal %s\n", json_string_value(v));
	json_decref(r);
	return 0;
}

/* ---- session ---- */

static void print_age(long long s)
{
	if (s < 120)
		printf("%4llds", s);
	else if (s < 7200)
		printf("%4lldm", s / 60);
	else if (s < 172800)
		printf("%4lldh", s / 3600);
	else
		printf("%4lldd", s / 86400);
}

static int cmd_session_list(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *v, *p = argc ? json_pack("{s:s}", "iqn", argv[0]) : NULL;
	size_t i;

	if (ctl_run(c, "session_list", p, &r))
		return 1;
	if (!r)
		return 0;
	if (!json_array_size(json_object_get(r, "sessions")))
		printf("(no sessions)\n");
	else
		printf("%-5s %-9s %-34s %-12s %-21s %-21s %-13s %-10s %5s %4s\n", "ID", "TYPE",
		       "INITIATOR", "ISID", "PORTAL", "PEER", "DIGESTS H/D", "CHAP", "AGE", "CMDS");
	json_array_foreach(json_object_get(r, "sessions"), i, v)
	{
		char digests[16], chap[40];

		/* A vhost-user-scsi front-end has no ISID, digests or CHAP. */
		if (json_object_get(v, "header_digest"))
			snprintf(digests, sizeof(digests), "%s/%s", jstr(v, "header_digest", "?"),
				 jstr(v, "data_digest", "?"));
		else
			snprintf(digests, sizeof(digests), "-");
		snprintf(chap, sizeof(chap), "%s%s", jstr(v, "chap_user", "-"),
			 json_is_true(json_object_get(v, "mutual_chap")) ? " (mutual)" : "");
		printf("%-5lld %-9s %-34s %-12s %-21s %-21s %-13s %-10s ",
		       (long long)json_integer_value(json_object_get(v, "id")), jstr(v, "type", "?"),
		       jstr(v, "initiator", "?"), jstr(v, "isid", "-"), jstr(v, "portal", "?"),
		       jstr(v, "peer", "?"), digests, chap);
		print_age((long long)json_integer_value(json_object_get(v, "age_s")));
		printf(" %4lld\n", (long long)json_integer_value(json_object_get(v, "in_flight")));
		if (json_object_get(v, "target"))
			printf("      target %s\n", jstr(v, "target", "?"));
	}
	json_decref(r);
	return 0;
}

/* session logout ID [--wait S] | session drop ID */
static int cmd_session_end(const struct ctl *c, const char *verb, int argc, char **argv)
{
	bool logout = !strcmp(verb, "logout");
	long long id, wait = -1;
	char *end;
	json_t *p, *r;

	errno = 0;
	id = strtoll(argv[0], &end, 10);
	if (errno || *end || id < 1 || id > 65535)
		return usage_error("session %s: ID must be 1 to 65535 (see session list)", verb);
	if (argc == 3) {
		if (!logout || strcmp(argv[1], "--wait"))
			return usage_error("session %s: unexpected '%s'", verb, argv[1]);
		wait = strtoll(argv[2], &end, 10);
		if (*end || wait < 0 || wait > 3600)
			return usage_error("session logout: --wait takes 0 to 3600 seconds");
	} else if (argc != 1) {
		return usage_error("usage: session logout ID [--wait S] | session drop ID");
	}
	p = json_pack("{s:I}", "id", (json_int_t)id);
	if (p && wait >= 0)
		json_object_set_new(p, "wait", json_integer(wait));
	if (ctl_run(c, logout ? "session_logout" : "session_drop", p, &r))
		return 1;
	if (r)
		printf("session %lld: %s\n", id, jstr(r, "action", "done"));
	json_decref(r);
	return 0;
}

/* ---- the table (the order --help shows) ---- */

const struct ctl_cmd ctl_cmds[] = {
	{ "version", NULL, "version", NULL, 0, 0, cmd_version },
	{ "target", "create", "target create IQN", NULL, 1, 1, cmd_target_create },
	{ "target", "delete", "target delete IQN [--force]", NULL, 1, 2, cmd_target_delete },
	{ "target", "list", "target list", NULL, 0, 0, cmd_target_list },
	{ "lun", "add", "lun add IQN SPEC [--lun N]",
	  "SPEC: file:PATH[,size=SIZE] | ram:SIZE | null:SIZE | user:NAME,size=SIZE\n"
	  "| rbd:POOL/IMAGE[,conf=PATH][,id=CLIENT][,namespace=NS][,timeout=S]\n"
	  "then ,serial=S ,naa=HEX ,block_size=512|4096 ,profile=NAME\n"
	  ",readonly=0|1 ,removable=0|1", 2, 4, cmd_lun_add },
	{ "lun", "delete", "lun delete IQN LUN", NULL, 2, 2, cmd_lun_delete },
	{ "lun", "list", "lun list IQN", NULL, 1, 1, cmd_lun_list },
	{ "lun", "resize", "lun resize IQN LUN SIZE [--force] | --reread",
	  "SIZE: bytes or K/M/G/T; initiators get CAPACITY DATA HAS CHANGED\n"
	  "--force: allow shrinking (cuts the data past the new end)\n"
	  "--reread: take the size the file or device has now", 3, 4, cmd_lun_resize },
	{ "lu", "describe", "lu describe IQN LUN", "what a guest sees (JSON, for compat check)",
	  2, 2, cmd_lu_describe },
	{ "lu", "migrate", "lu migrate IQN LUN --to ADDR:PORT [--portal HOST:PORT[,TPGT]]",
	  "move the LU to the invard listening there", 4, 6, cmd_lu_migrate },
	{ "compat", "check", "compat check SRC.json DST.json",
	  "would a guest on SRC see the same answers on DST?\n"
	  "(local; exit 0 yes, 1 no with reasons, 2 bad input)", 2, 2, cmd_compat_check },
	{ "profile", "list", "profile list", "behaviour profiles, the default, drafts", 0, 0,
	  cmd_profile_list },
	{ "portal", "add", "portal add ADDR:PORT[,tpg=N]",
	  "tpg: target portal group tag (default 1)", 1, 1, cmd_portal_add },
	{ "portal", "delete", "portal delete ADDR:PORT", NULL, 1, 1, cmd_portal_delete },
	{ "portal", "list", "portal list", NULL, 0, 0, cmd_portal_list },
	{ "vhost", "add", "vhost add PATH IQN",
	  "serve the target's LUNs to a QEMU vhost-user-scsi front-end on\nthe UNIX socket PATH",
	  2, 2, cmd_vhost_add },
	{ "vhost", "delete", "vhost delete PATH", "drop its front-end, remove the socket", 1, 1,
	  cmd_vhost_delete },
	{ "vhost", "list", "vhost list", "controllers, their target, whether a front-end is connected",
	  0, 0, cmd_vhost_list },
	{ "alua", "set", "alua set IQN TPG STATE",
	  "active/optimized | active/non-optimized | standby |\nunavailable | transitioning", 3, 3,
	  cmd_alua_set },
	{ "alua", "list", "alua list IQN", NULL, 1, 1, cmd_alua_list },
	{ "config", "save", "config save [PATH]", "default DATA_DIR/invar.json on the daemon's side",
	  0, 1, cmd_config_save },
	{ "config", "show", "config show", "(CHAP secrets are never shown)", 0, 0,
	  cmd_config_show },
	{ "acl", "add|delete", "acl add|delete IQN INITIATOR", "an empty ACL lets every initiator in",
	  2, 2, cmd_acl_member },
	{ "acl", "map", "acl map IQN INITIATOR LUN TARGET_LUN", "the initiator sees only mapped LUNs",
	  4, 4, cmd_acl_map },
	{ "acl", "list", "acl list IQN", NULL, 1, 1, cmd_acl_list },
	{ "acl", "bind|unbind", "acl bind|unbind IQN ADDR:PORT",
	  "reach the target only through these portals", 2, 2, cmd_acl_bind },
	{ "chap", "set", "chap set IQN|discovery USER:SECRET|- [--mutual | --initiator IQN]", NULL,
	  2, 5, cmd_chap },
	{ "chap", "clear", "chap clear IQN|discovery [--mutual | --initiator IQN]", NULL, 1, 4,
	  cmd_chap },
	{ "session", "list", "session list [IQN]",
	  "logged-in sessions: initiator, ISID, portal, peer, digests,\nCHAP user, age, commands in flight (--json: all parameters)",
	  0, 1, cmd_session_list },
	{ "session", "logout", "session logout ID [--wait S]",
	  "ask the initiator to log out (within S s, default 10), then drop it", 1, 3,
	  cmd_session_end },
	{ "session", "drop", "session drop ID", "close the session's connection now", 1, 1,
	  cmd_session_end },
	{ "stats", NULL, "stats [IQN [LUN]]",
	  "I/O statistics per LU and per session: commands, MB, queue depth,\n"
	  "latency p50/p99/p99.9, errors by sense key and status", 0, 2, cmd_stats },
	{ "top", NULL, "top [-n COUNT] [-d SECONDS] [IQN]",
	  "IOPS, MB/s and latency per LU and session, every SECONDS (default 1),\n"
	  "COUNT times (default: until interrupted); plain blocks when not a terminal", 0, 5,
	  cmd_top },
	{ "limits", NULL, "limits", "resource limits: value, default, when a change applies", 0, 0,
	  cmd_limits },
	{ "limits", "set", "limits set KEY=VALUE...",
	  "change them at run time (new logins; config save keeps them)", 1, -1,
	  cmd_limits_set },
};

const unsigned ctl_ncmds = sizeof(ctl_cmds) / sizeof(ctl_cmds[0]);
