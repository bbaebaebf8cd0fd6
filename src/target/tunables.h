/* Operator-set resource limits (docs/CONFIG.md "limits", invard --limit KEY=VALUE): how long a
 * login may take, how many sessions the daemon and each target accept, how many commands a
 * session may have in flight, and the PDU and burst sizes the target declares and enforces on
 * receive. Plain data with a parser; the fabric reads d->limits when a connection starts and
 * when a session is created, so a change applies to new logins. */
#ifndef INVAR_TARGET_TUNABLES_H
#define INVAR_TARGET_TUNABLES_H

#include <stdbool.h>
#include <stddef.h>

struct invar_limits {
	unsigned login_timeout;		/* seconds from accept to full feature phase */
	unsigned max_sessions;		/* sessions of any kind, daemon-wide */
	unsigned max_sessions_per_target; /* normal sessions logged in to one target */
	unsigned max_cmds;		/* commands in flight per session (the CmdSN window) */
	unsigned max_recv_dsl;		/* our MaxRecvDataSegmentLength */
	unsigned max_burst;		/* MaxBurstLength we accept (negotiated down, never up) */
	unsigned first_burst;		/* FirstBurstLength we accept */
	/* Write data buffered for commands still collecting or executing it, in MiB: per
	 * session, and for all sessions together. A WRITE over either gets TASK SET FULL (the
	 * session's) or BUSY (the daemon's), unless it would be the session's only one. */
	unsigned session_write_mb;
	unsigned write_buffer_mb;
};

/* One row per limit: its key (config and --limit), range and default. */
struct invar_limit_desc {
	const char *key;
	size_t off;			/* offsetof(struct invar_limits, field) */
	unsigned min, max, def;
	const char *what;
	const char *applies;		/* when a run-time change (RPC limits_set) takes effect */
};

extern const struct invar_limit_desc invar_limit_descs[];
extern const unsigned invar_limit_ndescs;

void invar_limits_defaults(struct invar_limits *l);
unsigned invar_limits_get(const struct invar_limits *l, const struct invar_limit_desc *d);
const struct invar_limit_desc *invar_limit_find(const char *key);
/* Sets one limit, range checked. Returns 0 or -EINVAL with a reason in err. */
int invar_limits_set(struct invar_limits *l, const char *key, unsigned long long value,
		     char *err, size_t err_len);
/* "KEY=VALUE" (the --limit argument). Returns 0 or -EINVAL with a reason in err. */
int invar_limits_parse(struct invar_limits *l, const char *spec, char *err, size_t err_len);
/* Checks between limits (first_burst <= max_burst). Returns 0 or -EINVAL. */
int invar_limits_check(const struct invar_limits *l, char *err, size_t err_len);
bool invar_limits_is_default(const struct invar_limits *l);

/* Run time (RPC limits_get/limits_set): the control plane replaces d->limits under daemon.lock;
 * the fabric reads a copy taken under the same lock when a connection starts and when a login
 * completes, so a change applies to what starts after it (see each limit's "applies"). */
struct daemon;
void daemon_limits_get(struct daemon *d, struct invar_limits *out);
void daemon_limits_replace(struct daemon *d, const struct invar_limits *l);

#endif
