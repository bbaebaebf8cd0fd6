/* Handover after a live migration (mig_handover.h): the redirect address a source records on
 * a LU that moved, how it is chosen from what the destination says, and the login-time
 * question "has this whole target moved, and where to". Everything read from the peer is
 * checked here before it is stored or ever put on the wire to an initiator. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mig/mig_handover.h"
#include "scsi/lu.h"
#include "scsi/migsm.h"
#include "target/daemon.h"
#include "target/target.h"

_Static_assert(sizeof(((struct lu *)0)->mig.redirect) == MIG_REDIRECT_MAX + 1,
	       "lu.mig.redirect holds MIG_REDIRECT_MAX bytes and a NUL");

/* digits only, 1..65535; p..end. */
static bool port_ok(const char *p, const char *end)
{
	unsigned long v = 0;

	if (end <= p || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return v >= 1 && v <= 65535;
}

int mig_portal_check(const char *s)
{
	size_t n = strnlen(s, MIG_REDIRECT_MAX + 1);
	const char *port, *comma, *end = s + n;

	if (n == 0 || n > MIG_REDIRECT_MAX)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1 || close[1] != ':')
			return -EINVAL;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return -EINVAL;
		port = close + 2;
	} else {
		const char *colon = memchr(s, ':', n);

		if (!colon || colon == s)
			return -EINVAL;
		for (const char *p = s; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return -EINVAL;
		port = colon + 1;
	}
	comma = memchr(port, ',', (size_t)(end - port));
	if (!port_ok(port, comma ? comma : end))
		return -EINVAL;
	if (comma && !port_ok(comma + 1, end))
		return -EINVAL;
	return 0;
}

static bool host_is_wildcard(const char *portal)
{
	return !strncmp(portal, "0.0.0.0:", 8) || !strncmp(portal, "[::]:", 5);
}

/* The host part of "ADDR:PORT" / "[v6]:PORT" (brackets kept), or -EINVAL. */
static int host_of(const char *addr_port, char *host, size_t len)
{
	const char *end;

	if (addr_port[0] == '[') {
		end = strchr(addr_port, ']');
		if (!end)
			return -EINVAL;
		end++;
	} else {
		end = strrchr(addr_port, ':');
		if (!end)
			return -EINVAL;
	}
	if ((size_t)(end - addr_port) >= len)
		return -EINVAL;
	memcpy(host, addr_port, (size_t)(end - addr_port));
	host[end - addr_port] = 0;
	return 0;
}

int mig_portals_pick(const char *payload, size_t len, const char *to, char *out, size_t out_len)
{
	char line[MIG_REDIRECT_MAX + 1], wild[MIG_REDIRECT_MAX + 1] = "";
	const char *p = payload, *end = payload + len;
	unsigned lines = 0;

	while (p < end && lines++ < MIG_PORTALS_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = 0;
			if (memchr(line, 0, n) == NULL && mig_portal_check(line) == 0) {
				if (!host_is_wildcard(line)) {
					snprintf(out, out_len, "%s", line);
					return strlen(line) < out_len ? 0 : -ENOSPC;
				}
				if (!wild[0])
					snprintf(wild, sizeof(wild), "%s", line);
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (wild[0]) {
		char host[MIG_REDIRECT_MAX + 1];
		const char *rest = strchr(wild, ']');

		rest = rest ? rest + 1 : strchr(wild, ':');	/* ":PORT,TPGT" */
		if (host_of(to, host, sizeof(host)) < 0 || !rest)
			return -ENOENT;
		if ((size_t)snprintf(line, sizeof(line), "%s%s", host, rest) >= sizeof(line) ||
		    mig_portal_check(line) < 0)
			return -ENOENT;
		snprintf(out, out_len, "%s", line);
		return strlen(line) < out_len ? 0 : -ENOSPC;
	}
	return -ENOENT;
}

struct portals_fmt {
	char *out;
	size_t len, max;
	unsigned n;
};

static void portal_line(const char *addr_port, unsigned tpg, void *arg)
{
	struct portals_fmt *f = arg;
	int n;

	if (f->n >= MIG_PORTALS_MAX || f->len >= f->max)
		return;
	n = snprintf(f->out + f->len, f->max - f->len, "%s%s,%u", f->n ? "\n" : "", addr_port,
		     tpg);
	if (n < 0 || (size_t)n >= f->max - f->len) {
		f->out[f->len] = 0;	/* the line did not fit: leave it out */
		f->max = f->len;
		return;
	}
	f->len += (size_t)n;
	f->n++;
}

size_t mig_portals_format(struct daemon *d, char *out, size_t out_len)
{
	struct portals_fmt f = { .out = out, .max = out_len };

	if (!out_len)
		return 0;
	out[0] = 0;
	if (d->fabric && d->fabric->portal_foreach)
		d->fabric->portal_foreach(d, portal_line, &f);
	return f.len;
}

int lu_mig_set_redirect(struct lu *lu, const char *addr)
{
	if (addr[0] && mig_portal_check(addr) < 0)
		return -EINVAL;
	pthread_mutex_lock(&lu->lock);
	snprintf(lu->mig.redirect, sizeof(lu->mig.redirect), "%s", addr);
	pthread_mutex_unlock(&lu->lock);
	return 0;
}

bool target_mig_redirect(struct daemon *d, struct target *t, char *out, size_t out_len)
{
	bool moved = false, any = false;

	if (!out_len)
		return false;
	out[0] = 0;
	/* Lock order: daemon.lock, then lu.lock (target/daemon.h). */
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++) {
		struct lu *lu = t->lus[i];

		if (!lu)
			continue;
		if (lu_mig_state(lu) != MIG_STOP) {
			moved = false;
			break;
		}
		pthread_mutex_lock(&lu->lock);
		if (!lu->mig.redirect[0])
			moved = false;
		else if (!any)
			moved = strlen(lu->mig.redirect) < out_len &&
				snprintf(out, out_len, "%s", lu->mig.redirect) > 0;
		else
			moved = moved && !strcmp(out, lu->mig.redirect);
		pthread_mutex_unlock(&lu->lock);
		any = true;
		if (!moved)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	if (!moved)
		out[0] = 0;
	return moved;
}
