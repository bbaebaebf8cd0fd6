/* invarctl: the command-line client of invard's JSON-RPC control socket (docs/RPC.md). The
 * commands are one table (commands.c); this file parses the options and finds the row.
 * Exit status: 0 success, 1 the daemon refused or could not be reached, 2 usage error. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "invar/version.h"

#define DEFAULT_DATA_DIR "./invar-data"
#define SERVICE_DATA_DIR "/var/lib/invar"	/* the packaged service's (dist/systemd) */
#define SYNOPSIS_COL 32

static void usage(FILE *f)
{
	fprintf(f, "usage: invarctl [--socket PATH] [--data-dir DIR] [--json] COMMAND\n\n");
	for (unsigned i = 0; i < ctl_ncmds; i++) {
		const struct ctl_cmd *k = &ctl_cmds[i];
		const char *h = k->help;
		int n = fprintf(f, "  %s", k->synopsis) - 2;

		/* The help's first line beside a short synopsis, below a long one; the rest
		 * aligned under it. At least two spaces part them: the man page test and the
		 * bash completion read the synopsis as the text before two spaces. */
		if (h && n >= SYNOPSIS_COL - 1)
			fprintf(f, "\n%*s", SYNOPSIS_COL + 2, "");
		else if (h)
			fprintf(f, "%*s", SYNOPSIS_COL - n, "");
		while (h && *h) {
			const char *nl = strchr(h, '\n');
			int len = nl ? (int)(nl - h) : (int)strlen(h);

			fprintf(f, "%.*s", len, h);
			h += len;
			if (*h) {
				h++;
				fprintf(f, "\n%*s", SYNOPSIS_COL + 2, "");
			}
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n"
		   "  --socket PATH    control socket (default DATA_DIR/invar.sock)\n"
		   "  --data-dir DIR   invard's data directory (default " DEFAULT_DATA_DIR ", or\n"
		   "                   " SERVICE_DATA_DIR " when only the service's socket is there)\n"
		   "  --json           print the raw JSON result\n");
}

/* Whether verb is one of the row's "a|b" verbs. */
static bool verb_matches(const char *verbs, const char *verb)
{
	size_t n = strlen(verb);

	for (const char *p = verbs; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, verb, n))
			return true;
		p = bar ? bar + 1 : p + len;
	}
	return false;
}

/* NOUN [VERB] ARGS...: the row whose verb matches, else the noun's verb-less row. */
static int dispatch(const struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *k = NULL, *bare = NULL;
	char verbs[256] = "";
	int nargs;

	for (unsigned i = 0; i < ctl_ncmds; i++) {
		const struct ctl_cmd *r = &ctl_cmds[i];

		if (strcmp(r->noun, argv[0]))
			continue;
		if (!r->verbs)
			bare = r;
		else if (argc >= 2 && verb_matches(r->verbs, argv[1]))
			k = r;
		else if (strlen(verbs) + strlen(r->verbs) + 3 < sizeof(verbs))
			snprintf(verbs + strlen(verbs), sizeof(verbs) - strlen(verbs), "%s%s",
				 verbs[0] ? ", " : "", r->verbs);
	}
	if (!k && !bare && !verbs[0])
		return usage_error("unknown command '%s'", argv[0]);
	if (!k && (!bare || argc >= 2) && verbs[0]) {
		if (argc < 2)
			return usage_error("%s: expected %s", argv[0], verbs);
		if (!bare)
			return usage_error("%s: unknown subcommand '%s' (expected %s)", argv[0],
					   argv[1], verbs);
	}
	if (!k)
		k = bare;
	nargs = argc - (k->verbs ? 2 : 1);
	if (nargs < k->min_args || (k->max_args >= 0 && nargs > k->max_args))
		return usage_error("usage: %s", k->synopsis);
	return k->run(c, k->verbs ? argv[1] : NULL, nargs, argv + argc - nargs);
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
	const char *data_dir = NULL;
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
	/* Without --data-dir: a daemon started here (make run), else the packaged service. */
	if (!data_dir)
		data_dir = access(DEFAULT_DATA_DIR "/invar.sock", F_OK) != 0 &&
				   access(SERVICE_DATA_DIR "/invar.sock", F_OK) == 0
			   ? SERVICE_DATA_DIR
			   : DEFAULT_DATA_DIR;
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
	return dispatch(&c, argc, argv);
}
