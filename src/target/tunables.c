/* Resource limits: defaults, ranges and the KEY=VALUE parser (see tunables.h). */
#include "target/tunables.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/daemon.h"

#define LIM(field, key, min, max, def, what, applies) \
	{ key, offsetof(struct invar_limits, field), min, max, def, what, applies }

/* Ranges: RFC 7143 13.12-13.14 for the sizes (512 to 2^24-1); the rest what keeps the daemon
 * bounded (max_cmds also bounds the held out-of-order commands of a session). */
const struct invar_limit_desc invar_limit_descs[] = {
	LIM(login_timeout, "login_timeout", 1, 3600, 30, "seconds from connect to full feature phase",
	    "connections accepted after the change"),
	LIM(max_sessions, "max_sessions", 1, 65535, 1024, "sessions in all (discovery included)",
	    "the next login; sessions already in stay"),
	LIM(max_sessions_per_target, "max_sessions_per_target", 1, 65535, 1024,
	    "normal sessions per target", "the next login; sessions already in stay"),
	LIM(max_cmds, "max_cmds", 1, 1024, 128, "commands in flight per session (MaxCmdSN window)",
	    "sessions logged in after the change"),
	LIM(max_recv_dsl, "max_recv_data_segment_length", 512, 16777215, 262144,
	    "largest data segment accepted", "connections accepted after the change"),
	LIM(max_burst, "max_burst_length", 512, 16777215, 1048576, "largest solicited burst",
	    "connections accepted after the change"),
	LIM(first_burst, "first_burst_length", 512, 16777215, 262144,
	    "largest unsolicited burst", "connections accepted after the change"),
	LIM(session_write_mb, "session_write_mb", 1, 65535, 256,
	    "MiB of write data one session may have buffered (beyond: TASK SET FULL)",
	    "sessions logged in after the change"),
	LIM(write_buffer_mb, "write_buffer_mb", 1, 4194303, 2048,
	    "MiB of write data all sessions together may have buffered (beyond: BUSY)",
	    "sessions logged in after the change"),
};
const unsigned invar_limit_ndescs = sizeof(invar_limit_descs) / sizeof(invar_limit_descs[0]);

static unsigned *slot(struct invar_limits *l, const struct invar_limit_desc *d)
{
	return (unsigned *)((char *)l + d->off);
}

unsigned invar_limits_get(const struct invar_limits *l, const struct invar_limit_desc *d)
{
	return *(const unsigned *)((const char *)l + d->off);
}

void invar_limits_defaults(struct invar_limits *l)
{
	unsigned i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < invar_limit_ndescs; i++)
		*slot(l, &invar_limit_descs[i]) = invar_limit_descs[i].def;
}

const struct invar_limit_desc *invar_limit_find(const char *key)
{
	unsigned i;

	for (i = 0; i < invar_limit_ndescs; i++)
		if (!strcmp(invar_limit_descs[i].key, key))
			return &invar_limit_descs[i];
	return NULL;
}

int invar_limits_set(struct invar_limits *l, const char *key, unsigned long long value,
		     char *err, size_t err_len)
{
	const struct invar_limit_desc *d = invar_limit_find(key);

	if (!d) {
		snprintf(err, err_len, "unknown limit '%.64s'", key);
		return -EINVAL;
	}
	if (value < d->min || value > d->max) {
		snprintf(err, err_len, "%s: %llu is not %u to %u", d->key, value, d->min, d->max);
		return -EINVAL;
	}
	*slot(l, d) = (unsigned)value;
	return 0;
}

int invar_limits_parse(struct invar_limits *l, const char *spec, char *err, size_t err_len)
{
	const char *eq = strchr(spec, '=');
	char key[64], *end;
	unsigned long long v;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(key)) {
		snprintf(err, err_len, "expected KEY=VALUE");
		return -EINVAL;
	}
	memcpy(key, spec, (size_t)(eq - spec));
	key[eq - spec] = 0;
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (errno || *end || !eq[1] || eq[1] == '-') {
		snprintf(err, err_len, "%s: '%.32s' is not a number", key, eq + 1);
		return -EINVAL;
	}
	return invar_limits_set(l, key, v, err, err_len);
}

int invar_limits_check(const struct invar_limits *l, char *err, size_t err_len)
{
	if (l->first_burst > l->max_burst) {
		snprintf(err, err_len, "first_burst_length %u is larger than max_burst_length %u",
			 l->first_burst, l->max_burst);
		return -EINVAL;
	}
	return 0;
}

bool invar_limits_is_default(const struct invar_limits *l)
{
	unsigned i;

	for (i = 0; i < invar_limit_ndescs; i++)
		if (invar_limits_get(l, &invar_limit_descs[i]) != invar_limit_descs[i].def)
			return false;
	return true;
}

void daemon_limits_get(struct daemon *d, struct invar_limits *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->limits;
	pthread_mutex_unlock(&d->lock);
}

void daemon_limits_replace(struct daemon *d, const struct invar_limits *l)
{
	pthread_mutex_lock(&d->lock);
	d->limits = *l;
	pthread_mutex_unlock(&d->lock);
}
