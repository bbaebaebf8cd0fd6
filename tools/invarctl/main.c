/* invarctl: the command-line client of invard's JSON-RPC control socket (docs/RPC.md).
 * Exit status: 0 success, 1 the daemon refused or could not be reached, 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "compat_cmd.h"
#include "ctl/lunspec.h"
#include "ctl/portalspec.h"
#include "invar/version.h"

#define DEFAULT_DATA_DIR "./invar-data"
#define REPLY_TIMEOUT_MS 60000
#define REPLY_MAX (64u << 20)

struct ctl {
	const char *socket;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: invarctl [--socket PATH] [--data-dir DIR] [--json] COMMAND\n"
		"\n"
		"  version\n"
		"  target create IQN\n"
		"  target delete IQN [--force]\n"
		"  target list\n"
		"  lun add IQN SPEC [--lun N]      SPEC: file:PATH[,size=SIZE] | ram:SIZE | null:SIZE\n"
		"                                  then ,serial=S ,naa=HEX ,block_size=512|4096 ,profile=NAME\n"
		"                                  ,readonly=0|1 ,removable=0|1\n"
		"  lun delete IQN LUN\n"
		"  lun list IQN\n"
		"  lu describe IQN LUN             what a guest sees (JSON, for compat check)\n"
		"  lu migrate IQN LUN --to ADDR:PORT [--portal HOST:PORT[,TPGT]]\n"
		"                                  move the LU to the invard listening there\n"
		"  compat check SRC.json DST.json  would a guest on SRC see the same answers on DST?\n"
		"                                  (local; exit 0 yes, 1 no with reasons, 2 bad input)\n"
		"  profile list                    behaviour profiles, the default, drafts\n"
		"  portal add ADDR:PORT[,tpg=N]    tpg: target portal group tag (default 1)\n"
		"  portal delete ADDR:PORT\n"
		"  portal list\n"
		"  alua set IQN TPG STATE          active/optimized | active/non-optimized | standby |\n"
		"                                  unavailable | transitioning\n"
		"  alua list IQN\n"
		"  config save [PATH]              default DATA_DIR/invar.json on the daemon's side\n"
		"  config show                     (CHAP secrets are never shown)\n"
		"  acl add|delete IQN INITIATOR    an empty ACL lets every initiator in\n"
		"  acl map IQN INITIATOR LUN TARGET_LUN   the initiator sees only mapped LUNs\n"
		"  acl list IQN\n"
		"  acl bind|unbind IQN ADDR:PORT   reach the target only through these portals\n"
		"  chap set IQN|discovery USER:SECRET|- [--mutual | --initiator IQN]\n"
		"  chap clear IQN|discovery [--mutual | --initiator IQN]\n"
		"  limits                          resource limits: value, default, when a change applies\n"
		"  limits set KEY=VALUE...         change them at run time (new logins; config save keeps them)\n"
		"\n"
		"  --socket PATH    control socket (default DATA_DIR/invar.sock)\n"
		"  --data-dir DIR   invard's data directory (default " DEFAULT_DATA_DIR ")\n"
		"  --json           print the raw JSON result\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "invarctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see invarctl --help)\n");
	return 2;
}

/* ---- transport ---- */

static int ctl_connect(const struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "invarctl: socket path too long: %s\n", c->socket);
		return -1;
	}
	strcpy(sa.sun_path, c->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("invarctl: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "invarctl: is invard running? no socket at %s\n", c->socket);
		else if (errno == ECONNREFUSED)
			fprintf(stderr, "invarctl: is invard running? nothing answers at %s\n",
				c->socket);
		else
			fprintf(stderr, "invarctl: cannot connect to %s: %s\n", c->socket,
				strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends one request and returns the "result" (new reference), or NULL after printing why. */
static json_t *ctl_call(const struct ctl *c, const char *method, json_t *params)
{
	json_t *req, *resp, *result = NULL, *error;
	char *line = NULL, *buf = NULL;
	size_t len = 0, cap = 0, off;
	json_error_t jerr;
	int fd = -1;

	req = json_pack("{s:s, s:i, s:s, s:o?}", "jsonrpc", "2.0", "id", 1, "method", method,
			"params", params);
	if (!req)
		return NULL;
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return NULL;
	fd = ctl_connect(c);
	if (fd < 0)
		goto out;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps's NUL becomes the request's newline */
	for (off = 0; off <= len;) {
		ssize_t w = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "invarctl: send: %s\n", strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	len = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (len && memchr(buf, '\n', len))
			break;
		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) == 0) {
			fprintf(stderr, "invarctl: no answer from invard within %d s\n",
				REPLY_TIMEOUT_MS / 1000);
			goto out;
		}
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > REPLY_MAX) {
				fprintf(stderr, "invarctl: reply too large\n");
				goto out;
			}
			buf = realloc(buf, cap);
			if (!buf)
				goto out;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (len)
				break;
			fprintf(stderr, "invarctl: invard closed the connection without answering\n");
			goto out;
		}
		len += (size_t)r;
	}
	resp = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!resp) {
		fprintf(stderr, "invarctl: bad reply from invard: %s\n", jerr.text);
		goto out;
	}
	error = json_object_get(resp, "error");
	if (error) {
		const char *msg = json_string_value(json_object_get(error, "message"));

		fprintf(stderr, "invarctl: %s\n", msg ? msg : "unknown error");
	} else {
		result = json_incref(json_object_get(resp, "result"));
		if (!result)
			fprintf(stderr, "invarctl: reply without a result\n");
	}
	json_decref(resp);
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return result;
}

/* ---- output ---- */

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	if (s)
		printf("%s\n", s);
	free(s);
}

static const char *jstr(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

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

/* ---- commands ---- */

/* Relative paths are the user's, not the daemon's: resolve them here. */
static int absolute_path(const char *in, char *out, size_t out_len)
{
	char cwd[PATH_MAX];

	if (in[0] == '/')
		return snprintf(out, out_len, "%s", in) < (int)out_len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(out, out_len, "%s/%s", cwd, in) < (int)out_len ? 0 : -1;
}

static int run(const struct ctl *c, const char *method, json_t *params, json_t **result)
{
	*result = ctl_call(c, method, params);
	if (!*result)
		return 1;
	if (c->json) {
		print_json(*result);
		json_decref(*result);
		*result = NULL;
	}
	return 0;
}

static int cmd_version(const struct ctl *c)
{
	json_t *r;
	json_int_t major;

	if (run(c, "rpc_version", NULL, &r))
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

static int cmd_target(const struct ctl *c, int argc, char **argv)
{
	json_t *r;
	size_t i;
	json_t *t;

	if (argc < 1)
		return usage_error("target: expected create, delete or list%s", "");
	if (!strcmp(argv[0], "create")) {
		if (argc != 2)
			return usage_error("usage: target create IQN%s", "");
		if (run(c, "target_create", json_pack("{s:s}", "iqn", argv[1]), &r))
			return 1;
		if (r)
			printf("created target %s\n", jstr(r, "iqn", argv[1]));
	} else if (!strcmp(argv[0], "delete")) {
		const char *iqn = NULL;
		bool force = false;
		int i2;

		for (i2 = 1; i2 < argc; i2++) {
			if (!strcmp(argv[i2], "--force") || !strcmp(argv[i2], "-f"))
				force = true;
			else if (argv[i2][0] == '-' || iqn)
				return usage_error("usage: target delete IQN [--force]%s", "");
			else
				iqn = argv[i2];
		}
		if (!iqn)
			return usage_error("usage: target delete IQN [--force]%s", "");
		if (run(c, "target_delete", json_pack("{s:s, s:b}", "iqn", iqn, "force", force),
			&r))
			return 1;
		if (r) {
			json_int_t n = json_integer_value(json_object_get(r, "sessions_closed"));

			printf("deleted target %s", iqn);
			if (n)
				printf(" (%lld session%s closed)", (long long)n, n == 1 ? "" : "s");
			printf("\n");
		}
	} else if (!strcmp(argv[0], "list")) {
		if (argc != 1)
			return usage_error("usage: target list%s", "");
		if (run(c, "target_list", NULL, &r))
			return 1;
		if (!r)
			return 0;
		if (!json_array_size(json_object_get(r, "targets")))
			printf("(no targets)\n");
		json_array_foreach(json_object_get(r, "targets"), i, t)
		{
			json_int_t s = json_integer_value(json_object_get(t, "sessions"));

			printf("%s%s  (%lld session%s)\n", i ? "\n" : "", jstr(t, "iqn", "?"),
			       (long long)s, s == 1 ? "" : "s");
			print_luns("  ", json_object_get(t, "luns"));
		}
	} else {
		return usage_error("target: unknown subcommand '%s'", argv[0]);
	}
	json_decref(r);
	return 0;
}

static int parse_lun_number(const char *s, json_int_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < 0 || v > 255)
		return -1;
	*out = v;
	return 0;
}

static int cmd_lun(const struct ctl *c, int argc, char **argv)
{
	json_t *r = NULL;

	if (argc < 1)
		return usage_error("lun: expected add, delete or list%s", "");
	if (!strcmp(argv[0], "add")) {
		const char *iqn = NULL, *spec = NULL;
		json_int_t lun = -1;
		struct lu_config cfg;
		char err[512], path[PATH_MAX], naa[40];
		json_t *p;
		int i;

		for (i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--lun")) {
				if (++i == argc || parse_lun_number(argv[i], &lun) < 0)
					return usage_error("--lun: expected a LUN number 0 to 255%s",
							   "");
			} else if (!strncmp(argv[i], "--lun=", 6)) {
				if (parse_lun_number(argv[i] + 6, &lun) < 0)
					return usage_error("--lun: expected a LUN number 0 to 255%s",
							   "");
			} else if (!iqn) {
				iqn = argv[i];
			} else if (!spec) {
				spec = argv[i];
			} else {
				return usage_error("lun add: unexpected argument '%s'", argv[i]);
			}
		}
		if (!iqn || !spec)
			return usage_error("usage: lun add IQN SPEC [--lun N]%s", "");
		if (lunspec_parse(spec, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "invarctl: %s: %s\n", spec, err);
			return 2;
		}
		p = json_pack("{s:s, s:s}", "iqn", iqn, "backstore", cfg.backstore);
		if (lun >= 0)
			json_object_set_new(p, "lun", json_integer(lun));
		if (cfg.path[0]) {
			/* user: the path is the handler NAME, not a file. */
			if (!strcmp(cfg.backstore, "user"))
				snprintf(path, sizeof(path), "%s", cfg.path);
			else if (absolute_path(cfg.path, path, sizeof(path)) < 0) {
				fprintf(stderr, "invarctl: path too long\n");
				json_decref(p);
				return 2;
			}
			json_object_set_new(p, "path", json_string(path));
		}
		if (cfg.size)
			json_object_set_new(p, "size", json_integer((json_int_t)cfg.size));
		if (cfg.block_size)
			json_object_set_new(p, "block_size", json_integer(cfg.block_size));
		if (cfg.serial[0])
			json_object_set_new(p, "serial", json_string(cfg.serial));
		if (cfg.naa_len) {
			ctl_naa_format(cfg.naa, cfg.naa_len, naa, sizeof(naa));
			json_object_set_new(p, "naa", json_string(naa));
		}
		if (cfg.profile[0])
			json_object_set_new(p, "profile", json_string(cfg.profile));
		if (cfg.readonly)
			json_object_set_new(p, "readonly", json_true());
		if (cfg.removable)
			json_object_set_new(p, "removable", json_true());
		if (run(c, "lun_add", p, &r))
			return 1;
		if (r) {
			printf("added LUN %lld to %s\n",
			       (long long)json_integer_value(json_object_get(r, "lun")), iqn);
			json_t *one = json_pack("[O]", r);

			print_luns("  ", one);
			json_decref(one);
		}
	} else if (!strcmp(argv[0], "delete")) {
		json_int_t lun;

		if (argc != 3)
			return usage_error("usage: lun delete IQN LUN%s", "");
		if (parse_lun_number(argv[2], &lun) < 0)
			return usage_error("lun delete: '%s' is not a LUN number (0 to 255)", argv[2]);
		if (run(c, "lun_delete", json_pack("{s:s, s:I}", "iqn", argv[1], "lun", lun), &r))
			return 1;
		if (r)
			printf("deleted LUN %lld of %s\n", (long long)lun, argv[1]);
	} else if (!strcmp(argv[0], "list")) {
		if (argc != 2)
			return usage_error("usage: lun list IQN%s", "");
		if (run(c, "lun_list", json_pack("{s:s}", "iqn", argv[1]), &r))
			return 1;
		if (r)
			print_luns("", json_object_get(r, "luns"));
	} else {
		return usage_error("lun: unknown subcommand '%s'", argv[0]);
	}
	json_decref(r);
	return 0;
}

/* lu migrate IQN LUN --to ADDR:PORT: move the LU to the invard listening there (its
 * --migration-listen). The daemon runs the whole migration; this prints where it stands and
 * the result. */
static int cmd_lu_migrate(const struct ctl *c, const char *iqn, const char *lunarg,
			  const char *to, const char *portal)
{
	json_int_t lun;
	json_t *r, *params;
	const char *redirect;

	if (parse_lun_number(lunarg, &lun) < 0)
		return usage_error("lu migrate: LUN must be 0-255, not '%s'", lunarg);
	if (!c->json) {
		printf("migrating %s LUN %lld to %s: offer, compatibility check, stop-copy, "
		       "switch-over...\n", iqn, (long long)lun, to);
		fflush(stdout);
	}
	params = json_pack("{s:s, s:I, s:s}", "iqn", iqn, "lun", lun, "to", to);
	if (params && portal)
		json_object_set_new(params, "portal", json_string(portal));
	if (run(c, "lu_migrate", params, &r))
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

/* lu describe IQN LUN: the compatibility description (JSON, always). */
static int cmd_lu(const struct ctl *c, int argc, char **argv)
{
	struct ctl raw = *c;
	json_int_t lun;
	json_t *r;

	if (argc == 5 && !strcmp(argv[0], "migrate") && !strcmp(argv[3], "--to"))
		return cmd_lu_migrate(c, argv[1], argv[2], argv[4], NULL);
	if (argc == 7 && !strcmp(argv[0], "migrate") && !strcmp(argv[3], "--to") &&
	    !strcmp(argv[5], "--portal"))
		return cmd_lu_migrate(c, argv[1], argv[2], argv[4], argv[6]);
	if (argc != 3 || strcmp(argv[0], "describe"))
		return usage_error("usage: lu describe IQN LUN | lu migrate IQN LUN --to ADDR:PORT%s",
				   "");
	if (parse_lun_number(argv[2], &lun) < 0)
		return usage_error("lu describe: LUN must be 0-255, not '%s'", argv[2]);
	raw.json = true;
	return run(&raw, "lu_describe", json_pack("{s:s, s:I}", "iqn", argv[1], "lun", lun), &r);
}

static int cmd_profile(const struct ctl *c, int argc, char **argv)
{
	json_t *r, *p;
	size_t i;

	if (argc != 1 || strcmp(argv[0], "list"))
		return usage_error("usage: profile list%s", "");
	if (run(c, "profile_list", NULL, &r))
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

static int cmd_portal(const struct ctl *c, int argc, char **argv)
{
	json_t *r = NULL, *v;
	size_t i;

	if (argc < 1)
		return usage_error("portal: expected add, delete or list%s", "");
	if (!strcmp(argv[0], "add")) {
		char addr[128], err[256];
		unsigned tpg;

		if (argc != 2)
			return usage_error("usage: portal add ADDR:PORT[,tpg=N]%s", "");
		if (ctl_portal_spec_parse(argv[1], addr, sizeof(addr), &tpg, err, sizeof(err)) < 0)
			return usage_error("%s", err);
		if (run(c, "portal_add", json_pack("{s:s, s:i}", "address", addr, "tpg", (int)tpg),
			&r))
			return 1;
		if (r)
			printf("added portal %s (portal group %d)\n", jstr(r, "address", addr),
			       (int)json_integer_value(json_object_get(r, "tpg")));
	} else if (!strcmp(argv[0], "delete")) {
		if (argc != 2)
			return usage_error("usage: portal delete ADDR:PORT%s", "");
		if (run(c, "portal_delete", json_pack("{s:s}", "address", argv[1]), &r))
			return 1;
		if (r)
			printf("deleted portal %s\n", jstr(r, "address", argv[1]));
	} else if (!strcmp(argv[0], "list")) {
		if (argc != 1)
			return usage_error("usage: portal list%s", "");
		if (run(c, "portal_list", NULL, &r))
			return 1;
		if (r && !json_array_size(json_object_get(r, "details")))
			printf("(no portals)\n");
		if (r)
			json_array_foreach(json_object_get(r, "details"), i, v)
				printf("%s tpg %d\n", jstr(v, "address", "?"),
				       (int)json_integer_value(json_object_get(v, "tpg")));
	} else {
		return usage_error("portal: unknown subcommand '%s'", argv[0]);
	}
	json_decref(r);
	return 0;
}

static int cmd_alua(const struct ctl *c, int argc, char **argv)
{
	json_t *r = NULL, *v;
	size_t i;

	if (argc < 1)
		return usage_error("alua: expected set or list%s", "");
	if (!strcmp(argv[0], "set")) {
		unsigned tpg;

		if (argc != 4)
			return usage_error("usage: alua set IQN TPG STATE%s", "");
		if (ctl_tpg_parse(argv[2], &tpg) < 0)
			return usage_error("alua set: TPG must be 1 to %d", CTL_TPG_MAX);
		if (run(c, "alua_set",
			json_pack("{s:s, s:i, s:s}", "iqn", argv[1], "tpg", (int)tpg, "state",
				  argv[3]),
			&r))
			return 1;
		if (r)
			printf("%s: portal group %u is %s\n", argv[1], tpg,
			       jstr(r, "state", argv[3]));
	} else if (!strcmp(argv[0], "list")) {
		if (argc != 2)
			return usage_error("usage: alua list IQN%s", "");
		if (run(c, "alua_list", json_pack("{s:s}", "iqn", argv[1]), &r))
			return 1;
		if (r && !json_array_size(json_object_get(r, "groups")))
			printf("(no portal groups)\n");
		if (r)
			json_array_foreach(json_object_get(r, "groups"), i, v)
				printf("tpg %d %s (%d portals)\n",
				       (int)json_integer_value(json_object_get(v, "tpg")),
				       jstr(v, "state", "?"),
				       (int)json_integer_value(json_object_get(v, "portals")));
	} else {
		return usage_error("alua: unknown subcommand '%s'", argv[0]);
	}
	json_decref(r);
	return 0;
}

static int cmd_config(const struct ctl *c, int argc, char **argv)
{
	json_t *r = NULL;

	if (argc < 1)
		return usage_error("config: expected save or show%s", "");
	if (!strcmp(argv[0], "save")) {
		char path[PATH_MAX];
		json_t *p = NULL;

		if (argc > 2)
			return usage_error("usage: config save [PATH]%s", "");
		if (argc == 2) {
			if (absolute_path(argv[1], path, sizeof(path)) < 0) {
				fprintf(stderr, "invarctl: path too long\n");
				return 2;
			}
			p = json_pack("{s:s}", "path", path);
		}
		if (run(c, "config_save", p, &r))
			return 1;
		if (r)
			printf("saved to %s\n", jstr(r, "path", "?"));
	} else if (!strcmp(argv[0], "show")) {
		if (argc != 1)
			return usage_error("usage: config show%s", "");
		if (run(c, "config_show", NULL, &r))
			return 1;
		if (r)
			print_json(r);
	} else {
		return usage_error("config: unknown subcommand '%s'", argv[0]);
	}
	json_decref(r);
	return 0;
}

/* limits                        every limit: value, default, when a change applies
 * limits set KEY=VALUE...       change them on the running daemon (docs/RPC.md limits_set) */
static int cmd_limits(const struct ctl *c, int argc, char **argv)
{
	json_t *r = NULL, *p, *v;
	size_t i;
	int a;

	if (argc == 0) {
		if (run(c, "limits_get", NULL, &r))
			return 1;
	} else if (!strcmp(argv[0], "set") && argc >= 2) {
		p = json_object();
		for (a = 1; a < argc; a++) {
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
		if (run(c, "limits_set", p, &r))
			return 1;
	} else {
		return usage_error("usage: limits | limits set KEY=VALUE...%s", "");
	}
	if (r)
		json_array_foreach(json_object_get(r, "keys"), i, v)
			printf("%-30s %10lld  (default %lld; applies to %s)\n", jstr(v, "key", "?"),
			       (long long)json_integer_value(json_object_get(v, "value")),
			       (long long)json_integer_value(json_object_get(v, "default")),
			       jstr(v, "applies", "?"));
	json_decref(r);
	return 0;
}

/* chap set TARGET|discovery USER:SECRET|- [--mutual | --initiator IQN]
 * chap clear TARGET|discovery [--mutual | --initiator IQN]
 * "-" reads USER:SECRET from the first line of stdin, keeping the secret out of `ps`. */
static int cmd_chap(const struct ctl *c, int argc, char **argv)
{
	bool set = argc >= 1 && !strcmp(argv[0], "set");
	int nfixed = set ? 3 : 2, i;
	json_t *p, *r = NULL;
	char line[600], *colon;
	const char *cred;

	if (argc < nfixed || (strcmp(argv[0], "set") && strcmp(argv[0], "clear")))
		return usage_error("usage: chap set TARGET|discovery USER:SECRET|- [--mutual | "
				   "--initiator IQN]; chap clear TARGET|discovery [...]%s", "");
	p = json_object();
	if (strcmp(argv[1], "discovery"))
		json_object_set_new(p, "iqn", json_string(argv[1]));
	for (i = nfixed; i < argc; i++) {
		if (!strcmp(argv[i], "--mutual"))
			json_object_set_new(p, "mutual", json_true());
		else if (!strcmp(argv[i], "--initiator") && i + 1 < argc)
			json_object_set_new(p, "initiator", json_string(argv[++i]));
		else {
			json_decref(p);
			return usage_error("chap: unexpected '%s'", argv[i]);
		}
	}
	if (set) {
		cred = argv[2];
		if (!strcmp(cred, "-")) {
			if (!fgets(line, sizeof(line), stdin)) {
				json_decref(p);
				return usage_error("chap set: no USER:SECRET on stdin%s", "");
			}
			line[strcspn(line, "\r\n")] = '\0';
			cred = line;
		}
		colon = strchr(cred, ':');
		if (!colon || colon == cred) {
			json_decref(p);
			return usage_error("chap set: expected USER:SECRET%s", "");
		}
		json_object_set_new(p, "user", json_stringn(cred, (size_t)(colon - cred)));
		json_object_set_new(p, "secret", json_string(colon + 1));
	}
	if (run(c, set ? "chap_set" : "chap_clear", p, &r))
		return 1;
	if (r)
		printf("CHAP credentials %s\n", set ? "set" : "cleared");
	json_decref(r);
	return 0;
}

/* acl add|delete IQN INITIATOR; acl map IQN INITIATOR LUN TARGET_LUN; acl list IQN;
 * acl bind|unbind IQN ADDR:PORT (portal binding) */
static int cmd_acl(const struct ctl *c, int argc, char **argv)
{
	json_t *r = NULL, *v;
	const char *m;
	size_t i;

	if (argc == 3 && (!strcmp(argv[0], "add") || !strcmp(argv[0], "delete"))) {
		m = !strcmp(argv[0], "add") ? "acl_add" : "acl_delete";
		if (run(c, m, json_pack("{s:s, s:s}", "iqn", argv[1], "initiator", argv[2]), &r))
			return 1;
	} else if (argc == 5 && !strcmp(argv[0], "map")) {
		if (run(c, "acl_lun_map",
			json_pack("{s:s, s:s, s:i, s:i}", "iqn", argv[1], "initiator", argv[2], "lun",
				  atoi(argv[3]), "target_lun", atoi(argv[4])),
			&r))
			return 1;
	} else if (argc == 3 && (!strcmp(argv[0], "bind") || !strcmp(argv[0], "unbind"))) {
		m = !strcmp(argv[0], "bind") ? "target_portal_bind" : "target_portal_unbind";
		if (run(c, m, json_pack("{s:s, s:s}", "iqn", argv[1], "address", argv[2]), &r))
			return 1;
	} else if (argc == 2 && !strcmp(argv[0], "list")) {
		if (run(c, "acl_list", json_pack("{s:s}", "iqn", argv[1]), &r))
			return 1;
		if (!r)
			return 0;
		printf("chap: %s; mutual chap: %s\n",
		       jstr(json_object_get(r, "chap"), "user", "(none)"),
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
	} else {
		return usage_error("usage: acl add|delete IQN INITIATOR | acl map IQN INITIATOR LUN "
				   "TARGET_LUN | acl list IQN | acl bind|unbind IQN ADDR:PORT%s", "");
	}
	json_decref(r);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	const char *data_dir = DEFAULT_DATA_DIR;
	char sock[PATH_MAX];
	int opt;

	/* '+': stop at the command, so its own options (--force, --lun) are left to it. */
	while ((opt = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.socket = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("invarctl %s (rpc %d.%d)\n", INVAR_VERSION_STRING,
			       INVAR_RPC_VERSION_MAJOR, INVAR_RPC_VERSION_MINOR);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!c.socket) {
		snprintf(sock, sizeof(sock), "%s/invar.sock", data_dir);
		c.socket = sock;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[0], "version"))
		return argc == 1 ? cmd_version(&c) : usage_error("usage: version%s", "");
	if (!strcmp(argv[0], "target"))
		return cmd_target(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "lun"))
		return cmd_lun(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "lu"))
		return cmd_lu(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "profile"))
		return cmd_profile(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "compat"))
		return invarctl_compat(argc - 1, argv + 1);
	if (!strcmp(argv[0], "portal"))
		return cmd_portal(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "config"))
		return cmd_config(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "alua"))
		return cmd_alua(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "acl"))
		return cmd_acl(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "chap"))
		return cmd_chap(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "limits"))
		return cmd_limits(&c, argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[0]);
}
