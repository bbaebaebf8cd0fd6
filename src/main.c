/* invard: the daemon. Command line → configuration → daemon → serve until SIGTERM/SIGINT.
 * Usage in `invard --help`; the saved-config format in docs/CONFIG.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>

#include "backstore/fault.h"
#include "backstore/user/user.h"
#include "ctl/config.h"
#include "ctl/ctl.h"
#include "ctl/lunspec.h"
#include "ctl/metrics.h"
#include "ctl/migrate.h"
#include "mig/channel.h"
#include "ctl/rpc.h"
#include "fabric/iscsi/iscsi.h"
#include "fabric/vhost/vhost.h"
#include "invar/version.h"
#include "scsi/cmdlist.h"
#include "target/acl.h"
#include "target/daemon.h"
#include "util/atomic_file.h"
#include "util/log.h"

#define DEFAULT_DATA_DIR "./invar-data"
#define DEFAULT_TARGET "iqn.2026-11.org.invar:default"
#define DEFAULT_LISTEN "127.0.0.1:3260"
#define DEFAULT_LUN_FILE "lun0.img"
#define DEFAULT_LUN_SIZE (1ull << 30)

struct opts {
	const char *data_dir;
	const char *target;
	const char *config;
	const char *socket;
	const char **listen;
	unsigned nlisten;
	const char **luns;
	unsigned nluns;
	unsigned workers;	/* 0 = one per online CPU */
	const char *chap;	/* USER:SECRET */
	const char *mutual_chap;
	const char **allow;
	unsigned nallow;
	struct user_hub_config handlers;	/* --handler-wait-ms, --handler-timeout-ms */
	const char *migration_listen;	/* ADDR:PORT accepting incoming LUs */
	const char *metrics_listen;	/* ADDR:PORT serving Prometheus metrics; NULL = off */
	const char **limits;	/* --limit KEY=VALUE, over the config's */
	unsigned nlimits;
	unsigned mig_hold_ms[MIG_HOLD_COUNT];	/* --mig-hold STAGE=MS (test only) */
	int verbose;
	const char **vhost;	/* --vhost-user PATH,target=IQN */
	unsigned nvhost;
};

struct sig_watch {
	struct ev_fd ev;
	struct daemon *d;
	struct vhost_fabric *vhost;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: invard [OPTION]...\n"
		"Serve SCSI disks over iSCSI. Runs in the foreground, logs to stderr;\n"
		"SIGTERM or SIGINT shuts down cleanly.\n"
		"\n"
		"  --listen ADDR:PORT[,tpg=N]  listen on this portal (repeatable; default " DEFAULT_LISTEN ")\n"
		"                       IPv6 as [ADDR]:PORT; the port defaults to 3260; tpg is its\n"
		"                       target portal group tag (default 1)\n"
		"  --data-dir DIR       state directory, created 0700 (default " DEFAULT_DATA_DIR "); every\n"
		"                       change at run time is saved to DIR/invar.json, which a start\n"
		"                       without --config/--listen/--target/--lun serves\n"
		"  --target IQN         target name (default " DEFAULT_TARGET ")\n"
		"  --lun SPEC           add the next LUN (0, 1, ...) to the target (repeatable):\n"
		"                         ram:SIZE | null:SIZE | file:PATH[,size=SIZE]\n"
		"                         | user:NAME,size=SIZE (served by a handler)\n"
		"                         | rbd:POOL/IMAGE[,conf=PATH][,id=CLIENT][,namespace=NS]\n"
		"                           [,timeout=S] (a Ceph RBD image)\n"
		"                       then any of ,serial=S ,naa=HEX ,block_size=512|4096\n"
		"                       ,profile=NAME ,readonly=0|1 ,removable=0|1. SIZE: 512, 64M, 1G, 1GiB,\n"
		"                       10T (binary units).\n"
		"                       A file with size= is created sparse if missing.\n"
		"                       Without --lun: LUN 0 is DATA_DIR/" DEFAULT_LUN_FILE
		", 1 GiB sparse,\n"
		"                       created once and reused.\n"
		"  --config FILE        restore a configuration saved by `invarctl config save`\n"
		"                       (not combinable with --listen/--target/--lun)\n"
		"  --chap USER:SECRET   require CHAP with these credentials to log in to the target\n"
		"                       and for discovery sessions\n"
		"  --mutual-chap USER:SECRET  the target's own credentials (mutual CHAP)\n"
		"  --allow IQN          only this initiator may log in (repeatable; default: any)\n"
		"  --migration-listen ADDR:PORT  accept LUs migrated from another invard here\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                       (off by default; unauthenticated: bind to loopback or a\n"
		"                       management network)\n"
		"  --limit KEY=VALUE    set a resource limit (repeatable; also with --config):\n"
		"                       login_timeout (s, 30), max_sessions (1024),\n"
		"                       max_sessions_per_target (1024), max_cmds (128),\n"
		"                       max_recv_data_segment_length (262144),\n"
		"                       max_burst_length (1048576), first_burst_length (262144)\n"
		"  --fault OP=ERRNO[,after=N][,count=M]  TEST ONLY: fail backstore I/O (OP read,\n"
		"                       write, fua, flush; ERRNO eio, enospc, edquot; repeatable)\n"
		"  --mig-hold STAGE=MS  TEST ONLY: hold every migration MS ms at STAGE (dst-offer,\n"
		"                       src-accepted, src-drained, dst-final; repeatable)\n"
		"  --vhost-user PATH,target=IQN  serve the target's LUNs to a QEMU guest as a\n"
		"                       vhost-user-scsi controller listening on the UNIX socket\n"
		"                       PATH (repeatable; QEMU: -device vhost-user-scsi-pci)\n"
		"  --workers N          worker threads (default: number of online CPUs)\n"
		"  --socket PATH        control socket (default DATA_DIR/invar.sock)\n"
		"  --handler-wait-ms MS    user LUs: how long a command waits for a handler or\n"
		"                       ring space before BUSY / TASK SET FULL (default 5000)\n"
		"  --handler-timeout-ms MS  user LUs: a handler holding a command longer is\n"
		"                       killed; its commands get BUSY (default 30000)\n"
		"  -v, --verbose        debug logging\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n"
		"  --list-commands      print the SCSI commands each behaviour profile supports\n"
		"                       (Markdown, as in the README) and exit\n");
}

/* Whether the command line describes what to serve (portals, the target, LUNs, credentials). */
static bool cmdline_has_config(const struct opts *o)
{
	return o->nlisten || o->nluns || o->target || o->chap || o->mutual_chap || o->nallow ||
	       o->nvhost;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_LISTEN = 256, O_DATA_DIR, O_TARGET, O_LUN, O_CONFIG, O_WORKERS, O_SOCKET,
	       O_LIST_COMMANDS, O_CHAP, O_MUTUAL_CHAP, O_ALLOW, O_HANDLER_WAIT, O_HANDLER_TIMEOUT,
	       O_MIGRATION_LISTEN, O_LIMIT, O_FAULT, O_MIG_HOLD, O_METRICS_LISTEN, O_VHOST_USER };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "data-dir", required_argument, NULL, O_DATA_DIR },
		{ "target", required_argument, NULL, O_TARGET },
		{ "lun", required_argument, NULL, O_LUN },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "handler-wait-ms", required_argument, NULL, O_HANDLER_WAIT },
		{ "handler-timeout-ms", required_argument, NULL, O_HANDLER_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "list-commands", no_argument, NULL, O_LIST_COMMANDS },
		{ "chap", required_argument, NULL, O_CHAP },
		{ "mutual-chap", required_argument, NULL, O_MUTUAL_CHAP },
		{ "allow", required_argument, NULL, O_ALLOW },
		{ "migration-listen", required_argument, NULL, O_MIGRATION_LISTEN },
		{ "metrics-listen", required_argument, NULL, O_METRICS_LISTEN },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "fault", required_argument, NULL, O_FAULT },
		{ "mig-hold", required_argument, NULL, O_MIG_HOLD },
		{ "vhost-user", required_argument, NULL, O_VHOST_USER },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long n;
	int c;

	memset(o, 0, sizeof(*o));
	o->data_dir = DEFAULT_DATA_DIR;
	o->listen = calloc((size_t)argc, sizeof(*o->listen));
	o->luns = calloc((size_t)argc, sizeof(*o->luns));
	o->allow = calloc((size_t)argc, sizeof(*o->allow));
	o->limits = calloc((size_t)argc, sizeof(*o->limits));
	o->vhost = calloc((size_t)argc, sizeof(*o->vhost));
	if (!o->listen || !o->luns || !o->allow || !o->limits || !o->vhost)
		return 1;
	while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			o->listen[o->nlisten++] = optarg;
			break;
		case O_DATA_DIR:
			o->data_dir = optarg;
			break;
		case O_TARGET:
			if (o->target) {
				fprintf(stderr, "invard: --target given twice (one target per "
						"command line; add more with invarctl)\n");
				return 2;
			}
			o->target = optarg;
			break;
		case O_LUN:
			o->luns[o->nluns++] = optarg;
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_CHAP:
			o->chap = optarg;
			break;
		case O_MUTUAL_CHAP:
			o->mutual_chap = optarg;
			break;
		case O_ALLOW:
			o->allow[o->nallow++] = optarg;
			break;
		case O_MIGRATION_LISTEN:
			o->migration_listen = optarg;
			break;
		case O_METRICS_LISTEN:
			o->metrics_listen = optarg;
			break;
		case O_LIMIT:
			o->limits[o->nlimits++] = optarg;
			break;
		case O_VHOST_USER: {
			char vpath[PATH_MAX], viqn[256];

			if (vhost_spec_parse(optarg, vpath, sizeof(vpath), viqn, sizeof(viqn)) < 0) {
				fprintf(stderr, "invard: --vhost-user %s: expected PATH,target=IQN\n",
					optarg);
				return 2;
			}
			o->vhost[o->nvhost++] = optarg;
			break;
		}
		case O_FAULT: {
			char ferr[128];

			if (bs_fault_add(optarg, ferr, sizeof(ferr)) < 0) {
				fprintf(stderr, "invard: --fault %s: %s\n", optarg, ferr);
				return 2;
			}
			break;
		}
		case O_MIG_HOLD: {
			enum mig_hold_stage st;
			unsigned ms;
			char herr[128];

			if (mig_hold_parse(optarg, &st, &ms, herr, sizeof(herr)) < 0) {
				fprintf(stderr, "invard: --mig-hold %s: %s\n", optarg, herr);
				return 2;
			}
			o->mig_hold_ms[st] = ms;
			break;
		}
		case O_WORKERS:
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || n < 1 || n > 1024) {
				fprintf(stderr, "invard: --workers: '%s' is not 1 to 1024\n", optarg);
				return 2;
			}
			o->workers = (unsigned)n;
			break;
		case O_SOCKET:
			o->socket = optarg;
			break;
		case O_HANDLER_WAIT:
		case O_HANDLER_TIMEOUT:
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || n < 1 || n > 3600000) {
				fprintf(stderr, "invard: --handler-*-ms: '%s' is not 1 to 3600000\n",
					optarg);
				return 2;
			}
			if (c == O_HANDLER_WAIT)
				o->handlers.wait_ms = (uint32_t)n;
			else
				o->handlers.io_timeout_ms = (uint32_t)n;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_LIST_COMMANDS:
			scsi_cmdlist_markdown(stdout);
			exit(0);
		case 'V':
			printf("invard %s (rpc %d.%d, config %d)\n", INVAR_VERSION_STRING,
			       INVAR_RPC_VERSION_MAJOR, INVAR_RPC_VERSION_MINOR,
			       INVAR_CONFIG_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "invard: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o->config && cmdline_has_config(o)) {
		fprintf(stderr, "invard: use either --config or --listen/--target/--lun: the saved "
				"config already lists portals, targets and LUNs\n");
		return 2;
	}
	return 0;
}

/* The configuration to serve when no --config is given: the command line, or the embedded
 * default (one target, LUN 0 on a sparse 1 GiB file in the data directory). */
static int config_from_cmdline(const struct opts *o, const char *data_dir, struct ctl_config *c)
{
	const char *iqn = o->target ? o->target : DEFAULT_TARGET;
	struct ctl_target *t;
	struct lu_config lc;
	char err[512], path[PATH_MAX];
	unsigned i;

	ctl_config_init(c);
	for (i = 0; i < o->nlisten; i++) {
		if (ctl_config_add_portal(c, o->listen[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "invard: --listen %s: %s\n", o->listen[i], err);
			return -EINVAL;
		}
	}
	if (!o->nlisten && ctl_config_add_portal(c, DEFAULT_LISTEN, err, sizeof(err)) < 0)
		return -EINVAL;
	for (i = 0; i < o->nvhost; i++) {
		char vpath[PATH_MAX], viqn[256], cwd[PATH_MAX];

		vhost_spec_parse(o->vhost[i], vpath, sizeof(vpath), viqn, sizeof(viqn));
		/* Saved with the config: relative to where invard was started. */
		if (vpath[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
		    strlen(cwd) + 1 + strlen(vpath) < sizeof(vpath)) {
			size_t cl = strlen(cwd), vl = strlen(vpath);

			memmove(vpath + cl + 1, vpath, vl + 1);
			memcpy(vpath, cwd, cl);
			vpath[cl] = '/';
		}
		if (ctl_config_add_vhost(c, vpath, viqn, err, sizeof(err)) < 0) {
			fprintf(stderr, "invard: --vhost-user %s: %s\n", o->vhost[i], err);
			return -EINVAL;
		}
	}
	if (ctl_config_add_target(c, iqn, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "invard: --target %s: %s\n", iqn, err);
		return -EINVAL;
	}
	/* Secrets are not echoed in these messages. */
	if (o->chap && (chap_cred_parse(&t->auth.chap, o->chap, err, sizeof(err)) < 0 ||
			chap_cred_parse(&c->discovery_auth.chap, o->chap, err, sizeof(err)) < 0)) {
		fprintf(stderr, "invard: --chap: %s\n", err);
		return -EINVAL;
	}
	if (o->mutual_chap &&
	    (chap_cred_parse(&t->auth.mutual, o->mutual_chap, err, sizeof(err)) < 0 ||
	     chap_cred_parse(&c->discovery_auth.mutual, o->mutual_chap, err, sizeof(err)) < 0)) {
		fprintf(stderr, "invard: --mutual-chap: %s\n", err);
		return -EINVAL;
	}
	for (i = 0; i < o->nallow; i++) {
		int r = target_auth_acl_add(&t->auth, o->allow[i], NULL);

		if (r < 0) {
			fprintf(stderr, "invard: --allow %s: %s\n", o->allow[i],
				r == -EINVAL ? "not a valid iSCSI name (iqn./eui./naa., lower case)"
				: r == -EEXIST ? "given twice" : strerror(-r));
			return -EINVAL;
		}
	}
	for (i = 0; i < o->nluns; i++) {
		if (lunspec_parse(o->luns[i], &lc, err, sizeof(err)) < 0) {
			fprintf(stderr, "invard: --lun %s: %s\n", o->luns[i], err);
			return -EINVAL;
		}
		/* The saved config must not depend on the directory invard was started in. */
		if (lc.path[0] && lc.path[0] != '/' && !strcmp(lc.backstore, "file")) {
			char cwd[PATH_MAX];

			if (!getcwd(cwd, sizeof(cwd)) ||
			    snprintf(path, sizeof(path), "%s/%s", cwd, lc.path) >= (int)sizeof(path) ||
			    ctl_lu_set_path(&lc, path, err, sizeof(err)) < 0) {
				fprintf(stderr, "invard: --lun %s: path too long\n", o->luns[i]);
				return -EINVAL;
			}
		}
		if (ctl_config_add_lun(t, i, &lc, err, sizeof(err)) < 0) {
			fprintf(stderr, "invard: --lun %s: %s\n", o->luns[i], err);
			return -EINVAL;
		}
	}
	if (!o->nluns) {
		struct stat st;

		memset(&lc, 0, sizeof(lc));
		strcpy(lc.backstore, "file");
		if (snprintf(lc.path, sizeof(lc.path), "%s/%s", data_dir, DEFAULT_LUN_FILE) >=
		    (int)sizeof(lc.path))
			return -ENAMETOOLONG;
		/* Created once; afterwards it is reused at whatever size it has. */
		lc.size = stat(lc.path, &st) == 0 ? 0 : DEFAULT_LUN_SIZE;
		if (ctl_config_add_lun(t, 0, &lc, err, sizeof(err)) < 0)
			return -EINVAL;
	}
	return 0;
}


static void log_ready(struct daemon *d)
{
	struct ctl_config c;
	char *line = NULL, size[32];
	size_t i, j, len = 0;
	FILE *f;

	if (ctl_config_snapshot(d, &c) < 0)
		return;
	f = open_memstream(&line, &len);
	if (!f) {
		ctl_config_free(&c);
		return;
	}
	fprintf(f, "ready:");
	for (i = 0; i < c.ntargets; i++) {
		fprintf(f, " target %s", c.targets[i].iqn);
		for (j = 0; j < c.targets[i].nluns; j++) {
			const struct ctl_lun *l = &c.targets[i].luns[j];

			ctl_size_format(l->cfg.size, size, sizeof(size));
			fprintf(f, "%s LUN %u %s%s%s %s", j ? "," : "", l->lun, l->cfg.backstore,
				l->cfg.path[0] ? ":" : "", l->cfg.path, size);
		}
		fprintf(f, ";");
	}
	fprintf(f, " portals");
	for (i = 0; i < c.nportals; i++)
		fprintf(f, " %s,tpg=%u", c.portals[i], c.portal_tpgs ? c.portal_tpgs[i] : 1);
	if (!c.nportals)
		fprintf(f, " (none)");
	fprintf(f, "; control socket %s; %u worker%s", d->socket_path, d->nworkers,
		d->nworkers == 1 ? "" : "s");
	if (fclose(f) == 0 && line)
		log_info("%s", line);
	free(line);
	ctl_config_free(&c);
}

static void signal_stop_loop(void *arg)
{
	struct daemon *d = arg;

	ev_loop_stop(d->main_loop);
}

static void signal_cb(struct ev_fd *h, uint32_t events)
{
	struct sig_watch *sw = container_of(h, struct sig_watch, ev);
	struct signalfd_siginfo si;

	while (read(h->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		log_info("%s received, shutting down", strsignal((int)si.ssi_signo));
		sd_notify(0, "STOPPING=1");
		if (sw->vhost)	/* front-ends' rings drain first, while the workers run */
			vhost_fabric_quiesce(sw->vhost, signal_stop_loop, sw->d);
		else
			ev_loop_stop(sw->d->main_loop);
	}
}

/* One invard per data directory: a second one would fight over the socket and the images. */
static int lock_data_dir(const char *data_dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/invard.lock", data_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int ret = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return ret;
	}
	return fd; /* held until exit */
}

int main(int argc, char **argv)
{
	struct ctl_config cfg;
	struct opts o;
	struct daemon *d = NULL;
	struct rpc_server *rpc = NULL;
	struct metrics_server *metrics = NULL;
	struct sig_watch sw = { .ev.fd = -1 };
	char data_dir[PATH_MAX], saved[PATH_MAX + 16], err[1024];
	bool daemon_up = false, fabric_up = false;
	sigset_t mask;
	int ret, rc = 1, lock_fd = -1;
	unsigned i;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret;
	log_set_level(o.verbose ? LOG_DEBUG : LOG_INFO);

	/* Block before any thread exists so every worker inherits the mask and the signals reach
	 * the signalfd on the main loop only. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = mkdir_p(o.data_dir);
	if (ret < 0 || !realpath(o.data_dir, data_dir)) {
		log_err("data directory %s: %s", o.data_dir, strerror(ret < 0 ? -ret : errno));
		goto out;
	}
	lock_fd = lock_data_dir(data_dir);
	if (lock_fd < 0) {
		log_err("data directory %s: %s", data_dir,
			lock_fd == -EBUSY ? "another invard is using it" : strerror(-lock_fd));
		goto out;
	}

	/* What to serve: --config FILE; else the configuration saved in the data directory
	 * (every change made at run time is saved there); else the command line or the embedded
	 * default. A saved file and a command-line configuration would disagree: refuse. */
	if (!o.config) {
		if (snprintf(saved, sizeof(saved), "%s/%s", data_dir, CTL_CONFIG_FILE) >=
		    (int)sizeof(saved)) {
			log_err("data directory %s: path too long", data_dir);
			goto out;
		}
		if (access(saved, F_OK) == 0) {
			if (cmdline_has_config(&o)) {
				log_err("%s holds the configuration saved at run time: start invard "
					"without --listen/--target/--lun/--chap/--mutual-chap/--allow/--vhost-user to "
					"serve it, with --config FILE to serve another, or remove it",
					saved);
				goto out;
			}
			o.config = saved;
		}
	}
	if (o.config) {
		/* Only read: a bad file stays as it is for the operator to look at. */
		if (ctl_config_load_file(o.config, &cfg, err, sizeof(err)) < 0) {
			log_err("config %s: %s", o.config, err);
			goto out;
		}
		log_info("configuration from %s", o.config);
	} else if (config_from_cmdline(&o, data_dir, &cfg) < 0) {
		goto out_cfg;
	}
	for (i = 0; i < o.nlimits; i++) {
		if (invar_limits_parse(&cfg.limits, o.limits[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "invard: --limit %s: %s\n", o.limits[i], err);
			goto out_cfg;
		}
	}
	if (invar_limits_check(&cfg.limits, err, sizeof(err)) < 0) {
		fprintf(stderr, "invard: --limit: %s\n", err);
		goto out_cfg;
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		goto out_cfg;
	ret = daemon_init(d, data_dir, o.workers);
	if (ret < 0) {
		log_err("cannot initialize: %s", strerror(-ret));
		goto out_cfg;
	}
	daemon_up = true;
	if (o.socket) {
		if (snprintf(d->socket_path, sizeof(d->socket_path), "%s", o.socket) >=
		    (int)sizeof(d->socket_path)) {
			log_err("--socket: path too long");
			goto out_daemon;
		}
	}
	struct user_hub_env hub_env = {
		.main_loop = d->main_loop,
		.workers = d->workers,
		.nworkers = d->nworkers,
		.data_dir = d->data_dir,
	};

	ret = user_hub_start(&hub_env, &o.handlers);
	if (ret < 0) {
		log_err("cannot start the handler socket: %s", strerror(-ret));
		goto out_daemon;
	}
	ret = iscsi_fabric_init(d);
	if (ret < 0) {
		log_err("cannot start the iSCSI fabric: %s", strerror(-ret));
		goto out_daemon;
	}
	fabric_up = true;
	/* vhost-user-scsi controllers come from the config (or --vhost-user) and by RPC. */
	sw.vhost = vhost_fabric_new(d);
	if (!sw.vhost)
		goto out_daemon;

	/* The control socket exists before any portal listens, so whoever sees a portal can
	 * talk to the daemon at once (requests wait for the main loop like connections do). */
	ret = rpc_server_start(d, d->socket_path, &rpc);
	if (ret < 0)
		goto out_daemon;
	err[0] = '\0';
	ret = ctl_config_apply(d, &cfg, err, sizeof(err));
	if (ret < 0) {
		if (o.config)
			log_err("config %s: %s", o.config, err);
		else
			log_err("%s", err);
		goto out_daemon;
	}
	ret = daemon_start_workers(d);
	if (ret < 0) {
		log_err("cannot start workers: %s", strerror(-ret));
		goto out_daemon;
	}
	ret = mig_ctx_new(d, &ctl_mig_compat_ops, &d->mig);
	if (ret < 0) {
		log_err("cannot start migration: %s", strerror(-ret));
		goto out_daemon;
	}
	for (i = 0; i < MIG_HOLD_COUNT; i++)
		mig_ctx_set_hold(d->mig, (enum mig_hold_stage)i, o.mig_hold_ms[i]);
	if (o.migration_listen) {
		ret = mig_listen(d->mig, o.migration_listen, err, sizeof(err));
		if (ret < 0) {
			log_err("--migration-listen: %s", err);
			goto out_daemon;
		}
	}
	if (o.metrics_listen) {
		ret = metrics_start(d, o.metrics_listen, &metrics, err, sizeof(err));
		if (ret < 0) {
			log_err("--metrics-listen: %s", err);
			goto out_daemon;
		}
	}
	d->config_changed = ctl_config_autosave;
	sw.d = d;
	sw.ev.cb = signal_cb;
	ret = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ret < 0 || ev_fd_add(d->main_loop, &sw.ev, ret, EPOLLIN) < 0) {
		log_err("signalfd: %s", strerror(errno));
		if (ret >= 0)
			close(ret);
		goto out_daemon;
	}

	log_info("invard %s (rpc %d.%d)", INVAR_VERSION_STRING, INVAR_RPC_VERSION_MAJOR,
		 INVAR_RPC_VERSION_MINOR);
	log_ready(d);
	/* systemd's Type=notify: ready once the portals listen, the control socket exists and
	 * the workers run. sd_notify() does nothing when NOTIFY_SOCKET is unset. */
	sd_notify(0, "READY=1\nSTATUS=serving");
	ret = ev_loop_run(d->main_loop);
	if (ret < 0)
		log_err("main loop: %s", strerror(-ret));
	else
		rc = 0;
	ev_fd_del(d->main_loop, &sw.ev);
	close(sw.ev.fd);

out_daemon:
	metrics_stop(metrics);
	/* I/O held outside the workers (rbd) ends before connections and workers go. */
	if (daemon_up)
		backstore_quiesce();
	if (fabric_up && d->fabric && d->fabric->shutdown)
		d->fabric->shutdown(d);
	mig_ctx_free(d ? d->mig : NULL);	/* answers the lu_migrate calls under way */
	if (d)
		d->mig = NULL;
	rpc_server_stop(rpc);
	vhost_fabric_free(sw.vhost);	/* its front-ends are gone (signal_cb) */
	if (daemon_up)
		user_hub_stop();	/* while the workers still run */
	if (daemon_up)
		daemon_fini(d);	/* stops the workers */
	if (fabric_up)
		iscsi_fabric_fini(d);
	free(d);
	if (!rc)
		log_info("stopped");
out_cfg:
	ctl_config_free(&cfg);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	free(o.listen);
	free(o.luns);
	free(o.limits);
	free(o.allow);
	free(o.vhost);
	return rc;
}
