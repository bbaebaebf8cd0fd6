/* The live-migration channel (migrate.h): framing, the destination's listener and the source's
 * RPC. Both sides run on their daemon's main thread with blocking sockets bounded by
 * SO_RCVTIMEO/SO_SNDTIMEO, so the control plane is busy for at most a migration (or a
 * timeout) and never touches a worker's state except through the LU's atomics and locks. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/compat.h"
#include "ctl/migrate.h"
#include "ctl/rpc_internal.h"
#include "mig/lu_mig.h"
#include "mig/mig_handover.h"
#include "mig/migstream.h"
#include "rt/evloop.h"
#include "scsi/alua_groups.h"
#include "scsi/lu.h"
#include "scsi/migsm.h"
#include "scsi/pr_lu.h"
#include "scsi/scsi.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/byteorder.h"
#include "util/log.h"

struct mig_listener {
	struct daemon *d;
	struct ev_fd ev;
	int fd;
};

/* ---- addresses and framing ------------------------------------------------------------- */

/* "ADDR:PORT" or "[v6]:PORT" into a resolved numeric address. */
static int mig_addr(const char *addr_port, bool passive, struct addrinfo **res)
{
	char host[256], port[8];
	const char *colon;
	struct addrinfo hints = { 0 };
	size_t hl;

	if (addr_port[0] == '[') {
		const char *end = strchr(addr_port, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - addr_port - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr_port + 1, hl);
		colon = end + 1;
	} else {
		colon = strrchr(addr_port, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - addr_port);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr_port, hl);
	}
	host[hl] = 0;
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port))
		return -EINVAL;
	snprintf(port, sizeof(port), "%s", colon + 1);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	return getaddrinfo(host, port, &hints, res) || !*res ? -EINVAL : 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { MIG_CHANNEL_TIMEOUT_MS / 1000, 0 };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int io_all(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int msg_send(int fd, uint8_t type, const void *payload, size_t len)
{
	uint8_t h[5];
	int ret;

	if (len > MIG_STREAM_MAX)
		return -E2BIG;
	h[0] = type;
	put_be32(h + 1, (uint32_t)len);
	ret = io_all(fd, h, sizeof(h), true);
	if (ret == 0 && len)
		ret = io_all(fd, (void *)payload, len, true);
	return ret;
}

/* Receives one message (payload malloc'd, NUL-terminated for convenience). The length is
 * checked against MIG_STREAM_MAX before anything is allocated. */
static int msg_recv(int fd, uint8_t *type, uint8_t **payload, size_t *len)
{
	uint8_t h[5];
	uint32_t n;
	int ret;

	*payload = NULL;
	*len = 0;
	ret = io_all(fd, h, sizeof(h), false);
	if (ret < 0)
		return ret;
	n = get_be32(h + 1);
	if (n > MIG_STREAM_MAX)
		return -EMSGSIZE;
	*payload = malloc((size_t)n + 1);
	if (!*payload)
		return -ENOMEM;
	ret = io_all(fd, *payload, n, false);
	if (ret < 0) {
		free(*payload);
		*payload = NULL;
		return ret;
	}
	(*payload)[n] = 0;
	*type = h[0];
	*len = n;
	return 0;
}

/* ---- destination --------------------------------------------------------------------- */

struct reasons {
	char text[2048];
	size_t len;
};

static void add_reason(const char *reason, void *arg)
{
	struct reasons *r = arg;
	int n = snprintf(r->text + r->len, sizeof(r->text) - r->len, "%s%s",
			 r->len ? "\n" : "", reason);

	if (n > 0)
		r->len = r->len + (size_t)n < sizeof(r->text) ? r->len + (size_t)n
							     : sizeof(r->text) - 1;
}

static void refuse(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(int fd, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("migration: refused: %s", msg);
	msg_send(fd, MIG_MSG_REFUSE, msg, strlen(msg));
}

/* The LU as the destination would serve it: created from the stream's configuration on the
 * same backing storage (never creating or resizing a file), with its state directory. */
static int dst_lu_create(struct daemon *d, const struct mig_lu_state *s, struct lu **out,
			 char *err, size_t err_len)
{
	struct lu_config cfg;
	char seed[INVAR_NAME_MAX + 16];
	struct lu *lu;
	int ret;

	lu_mig_config(s, &cfg);
	if (!strcmp(cfg.backstore, "file"))
		cfg.size = 0;	/* the shared file as it is */
	snprintf(seed, sizeof(seed), "%s/%u", s->target, s->lun);
	ret = lu_create(&cfg, seed, &lu, err, err_len);
	if (ret < 0)
		return ret;
	ret = lu_set_state_dir(lu, d->data_dir);
	if (ret >= 0)
		ret = pr_lu_restore(lu, err, err_len);
	if (ret < 0) {
		if (!err[0])
			snprintf(err, err_len, "state directory: %s", strerror(-ret));
		lu_put(lu);
		return ret;
	}
	*out = lu;
	return 0;
}

/* Whether a guest on the source's LU would see the same answers here. The reference is the LU
 * this daemon already serves at that address (a landing LU the operator configured), else the
 * LU built from the stream. */
static int dst_compat(struct daemon *d, const struct mig_lu_state *s, struct lu *cand,
		      struct reasons *rs, char *err, size_t err_len)
{
	struct target *t = target_find_get(d, s->target);
	struct lu *ref = cand;
	json_t *src = NULL, *dst = NULL;
	json_error_t je;
	int ret;

	if (t) {
		pthread_mutex_lock(&d->lock);
		/* A LU this daemon gave away (STOP) is no reference: its mode values are as
		 * they were when it left. */
		if (s->lun < INVAR_MAX_LUNS && t->lus[s->lun] &&
		    lu_mig_state(t->lus[s->lun]) != MIG_STOP)
			ref = t->lus[s->lun];
		lu_get(ref);
		pthread_mutex_unlock(&d->lock);
		target_put(t);
	} else {
		lu_get(ref);
	}
	src = json_loads(s->describe, 0, &je);
	dst = compat_describe_lu(ref, s->target, s->lun);
	lu_put(ref);
	if (!src || !dst) {
		snprintf(err, err_len, "%s", !src ? "source description is not JSON"
						 : "out of memory");
		ret = -1;
	} else {
		ret = compat_check(src, dst, add_reason, rs, err, err_len);
	}
	json_decref(src);
	json_decref(dst);
	return ret;
}

/* The source's port group states (ALUA records), applied by tag to the groups this daemon
 * has, when the arriving LU will be the only one serving in its target here: states are per
 * target, so a target that serves other LUs keeps its own (docs/design/migration.md). A tag
 * with no portal here, or a state SPC-4 does not define, is skipped. */
static void dst_alua_apply(struct daemon *d, const struct mig_lu_state *s)
{
	struct target *t = target_find_get(d, s->target);
	bool alone = true;

	if (!t)
		return;	/* dst_map creates it: applied after (below) */
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
		if (i != s->lun && t->lus[i] && lu_mig_state(t->lus[i]) != MIG_STOP)
			alone = false;
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; alone && i < s->nalua; i++) {
		enum alua_state st = (enum alua_state)s->alua[i].state;

		if (st != ALUA_ACTIVE_OPTIMIZED && st != ALUA_ACTIVE_NON_OPTIMIZED &&
		    st != ALUA_STANDBY && st != ALUA_UNAVAILABLE && st != ALUA_TRANSITIONING)
			continue;
		if (alua_set_state(d, t, s->alua[i].tag, st) == 0)
			log_info("migration: %s port group %u: %s, as on the source", s->target,
				 s->alua[i].tag, alua_state_name(st));
	}
	target_put(t);
}

/* Maps lu at the stream's address, replacing what was there; creates the target if needed. */
static int dst_map(struct daemon *d, const struct mig_lu_state *s, struct lu *lu)
{
	struct target *t = target_find_get(d, s->target);
	int ret;

	if (!t) {
		ret = target_create(d, s->target, &t);
		if (ret < 0)
			return ret;
		target_get(t);
		dst_alua_apply(d, s);	/* a new target: nothing else serves in it */
	}
	target_lun_del(d, t, s->lun);	/* -ENOENT when nothing was mapped: fine */
	lu_get(lu);
	ret = target_lun_add(d, t, s->lun, lu);
	if (ret < 0)
		lu_put(lu);
	target_put(t);
	return ret;
}

static void dst_session(struct daemon *d, int fd)
{
	char portals[MIG_PORTALS_BYTES];
	size_t portals_len;
	struct mig_lu_state s, fin;
	struct reasons rs = { 0 };
	struct lu *lu = NULL;
	uint8_t type, *p = NULL;
	size_t len;
	char err[512] = "";
	int ret;

	mig_state_init(&s);
	mig_state_init(&fin);
	ret = msg_recv(fd, &type, &p, &len);
	if (ret < 0 || type != MIG_MSG_OFFER) {
		log_warn("migration: no offer from the peer (%s)", ret < 0 ? strerror(-ret)
									   : "wrong message");
		goto out;
	}
	ret = mig_decode(p, len, &s, err, sizeof(err));
	free(p);
	p = NULL;
	if (ret < 0) {
		refuse(fd, "bad migration stream: %s", err);
		goto out;
	}
	if (!s.describe) {
		refuse(fd, "the stream has no compatibility description");
		goto out;
	}
	if (iscsi_name_validate(s.target) < 0 || s.lun >= INVAR_MAX_LUNS) {
		refuse(fd, "bad target name or LUN");
		goto out;
	}
	ret = dst_lu_create(d, &s, &lu, err, sizeof(err));
	if (ret < 0) {
		refuse(fd, "cannot open the LU here: %s", err);
		goto out;
	}
	ret = dst_compat(d, &s, lu, &rs, err, sizeof(err));
	if (ret < 0) {
		refuse(fd, "cannot compare descriptions: %s", err);
		goto out;
	}
	if (ret > 0) {
		refuse(fd, "%s", rs.text);
		goto out;
	}
	/* RESUMING: the LU exists, unmapped, and answers BUSY if anything reaches it. */
	lu_mig_event(lu, MIG_EV_RESUME);
	/* ACCEPT names this daemon's iSCSI portals: where the source redirects logins after the
	 * switch-over (mig_handover.h). A source that predates this ignores the payload. */
	portals_len = mig_portals_format(d, portals, sizeof(portals));
	if (msg_send(fd, MIG_MSG_ACCEPT, portals, portals_len) < 0)
		goto out;
	ret = msg_recv(fd, &type, &p, &len);
	if (ret < 0 || type != MIG_MSG_FINAL) {
		log_warn("migration of %s/%u: source gave up before the final state", s.target,
			 s.lun);
		goto out;
	}
	ret = mig_decode(p, len, &fin, err, sizeof(err));
	free(p);
	p = NULL;
	if (ret < 0) {
		refuse(fd, "bad final stream: %s", err);
		goto out;
	}
	if (strcmp(fin.target, s.target) || fin.lun != s.lun) {
		refuse(fd, "the final state names another LU");
		goto out;
	}
	ret = lu_mig_import(lu, &fin, err, sizeof(err));
	if (ret < 0) {
		refuse(fd, "cannot import the state: %s", err);
		goto out;
	}
	if (msg_send(fd, MIG_MSG_READY, NULL, 0) < 0)
		goto out;
	ret = msg_recv(fd, &type, &p, &len);
	free(p);
	p = NULL;
	if (ret < 0 || type != MIG_MSG_COMMIT) {
		log_warn("migration of %s/%u: no commit, dropping the LU", s.target, s.lun);
		goto out;
	}
	/* Serve first, then say so: the source already stopped, every moment counts. */
	lu_mig_event(lu, MIG_EV_RESUMED);
	dst_alua_apply(d, &fin);
	ret = dst_map(d, &fin, lu);
	if (ret < 0) {
		log_err("migration of %s/%u: cannot map the LU: %s", s.target, s.lun,
			strerror(-ret));
		goto out;
	}
	msg_send(fd, MIG_MSG_DONE, NULL, 0);
	log_info("migration: now serving %s LUN %u (%u registration(s), %u nexus UA record(s))",
		 fin.target, fin.lun, fin.nregs, fin.nuas);
out:
	if (lu && lu_mig_state(lu) != MIG_RUNNING)
		lu_mig_event(lu, MIG_EV_FAIL);
	if (lu)
		lu_put(lu);
	free(p);
	mig_state_free(&s);
	mig_state_free(&fin);
}

static void mig_accept_cb(struct ev_fd *h, uint32_t events)
{
	struct mig_listener *l = (struct mig_listener *)((char *)h - offsetof(struct mig_listener, ev));
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	set_timeouts(fd);
	dst_session(l->d, fd);
	close(fd);
}

int mig_listen_start(struct daemon *d, const char *addr_port, struct mig_listener **out,
		     char *err, size_t err_len)
{
	struct addrinfo *res = NULL;
	struct mig_listener *l;
	int one = 1, ret;

	*out = NULL;
	ret = mig_addr(addr_port, true, &res);
	if (ret < 0) {
		snprintf(err, err_len, "'%s' is not ADDR:PORT", addr_port);
		return ret;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		freeaddrinfo(res);
		return -ENOMEM;
	}
	l->d = d;
	l->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		ret = -errno;
		goto fail;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, res->ai_addr, res->ai_addrlen) < 0 || listen(l->fd, 4) < 0) {
		ret = -errno;
		goto fail;
	}
	l->ev.cb = mig_accept_cb;
	ret = ev_fd_add(d->main_loop, &l->ev, l->fd, EPOLLIN);
	if (ret < 0)
		goto fail;
	freeaddrinfo(res);
	*out = l;
	return 0;
fail:
	snprintf(err, err_len, "cannot listen on %s: %s", addr_port, strerror(-ret));
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	freeaddrinfo(res);
	return ret;
}

void mig_listen_stop(struct mig_listener *l)
{
	if (!l)
		return;
	ev_fd_del(l->d->main_loop, &l->ev);
	close(l->fd);
	free(l);
}

/* ---- source: the lu_migrate RPC ---------------------------------------------------------- */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Export lu's state with its description into a stream. */
static int src_stream(struct target *t, unsigned lun, struct lu *lu, uint8_t **buf, size_t *len)
{
	struct mig_lu_state s;
	json_t *desc;
	int ret;

	mig_state_init(&s);
	ret = lu_mig_export(lu, t->iqn, lun, &s);
	if (ret == 0)
		ret = lu_mig_export_alua(&t->alua, &s);
	desc = compat_describe_lu(lu, t->iqn, lun);
	s.describe = desc ? json_dumps(desc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(desc);
	if (ret == 0 && !s.describe)
		ret = -ENOMEM;
	if (ret == 0)
		ret = mig_encode(&s, buf, len);
	mig_state_free(&s);
	return ret;
}

static int src_connect(const char *to, char *err, size_t err_len)
{
	struct addrinfo *res = NULL;
	int fd, ret;

	if (mig_addr(to, false, &res) < 0) {
		snprintf(err, err_len, "'%s' is not ADDR:PORT", to);
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	set_timeouts(fd);
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		ret = -errno;
		close(fd);
		snprintf(err, err_len, "cannot connect to %s: %s", to, strerror(-ret));
		goto out;
	}
	ret = fd;
out:
	freeaddrinfo(res);
	return ret;
}

/* Waits for the destination's answer: 0 on want, else -EPROTO with its reasons (or what went
 * wrong with the channel) in why. */
static int src_expect(int fd, uint8_t want, char *why, size_t why_len, uint8_t **payload,
		      size_t *plen)
{
	uint8_t type, *p;
	size_t len;
	int ret = msg_recv(fd, &type, &p, &len);

	if (ret < 0) {
		snprintf(why, why_len, "destination did not answer: %s", strerror(-ret));
		return ret;
	}
	if (type == want) {
		if (payload) {
			*payload = p;
			*plen = len;
		} else {
			free(p);
		}
		return 0;
	}
	if (type == MIG_MSG_REFUSE)
		snprintf(why, why_len, "destination refused: %s", (char *)p);
	else
		snprintf(why, why_len, "destination sent message %u, expected %u", type, want);
	free(p);
	return -EPROTO;
}

struct p_migrate {
	const char *iqn;
	int64_t lun;
	const char *to;
	const char *portal;	/* optional: where logins go after the move */
};

static const struct rpc_param lu_migrate_params[] = {
	{ .name = "iqn", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_migrate, iqn), .max_len = INVAR_NAME_MAX },
	{ .name = "lun", .type = RPC_PARAM_INT, .required = true,
	  .offset = offsetof(struct p_migrate, lun), .min = 0, .max = INVAR_MAX_LUNS - 1 },
	{ .name = "to", .type = RPC_PARAM_STRING, .required = true,
	  .offset = offsetof(struct p_migrate, to), .max_len = 300 },
	{ .name = "portal", .type = RPC_PARAM_STRING,
	  .offset = offsetof(struct p_migrate, portal), .max_len = MIG_REDIRECT_MAX },
};

static int m_lu_migrate(struct rpc_call *c, const void *pv)
{
	const struct p_migrate *p = pv;
	struct target *t = target_find_get(c->d, p->iqn);
	uint64_t t0 = now_us(), t_stop = 0, t_switch = 0;
	uint8_t *buf = NULL, *acc = NULL;
	size_t len, acc_len = 0;
	struct lu *lu = NULL;
	char why[600] = "", redirect[MIG_REDIRECT_MAX + 1] = "";
	int fd = -1, ret;

	if (p->portal && mig_portal_check(p->portal) < 0) {
		if (t)
			target_put(t);
		return rpc_fail(c, -EINVAL, "portal '%s' is not HOST:PORT[,TPGT]", p->portal);
	}
	if (!t)
		return rpc_fail(c, -ENOENT, "no target %s", p->iqn);
	pthread_mutex_lock(&c->d->lock);
	lu = t->lus[p->lun];
	if (lu)
		lu_get(lu);
	pthread_mutex_unlock(&c->d->lock);
	if (!lu) {
		target_put(t);
		return rpc_fail(c, -ENOENT, "target %s has no LUN %lld", p->iqn, (long long)p->lun);
	}
	if (lu_mig_event(lu, MIG_EV_START) < 0) {
		ret = rpc_fail(c, -EBUSY, "LUN %lld of %s is %s, not running", (long long)p->lun,
			       p->iqn, migsm_state_name(lu_mig_state(lu)));
		goto out;
	}
	/* PRE_COPY: still serving. Anything failing from here to the switch-over goes back to
	 * RUNNING (the state was only read). */
	fd = src_connect(p->to, why, sizeof(why));
	if (fd < 0)
		goto abort;
	ret = src_stream(t, (unsigned)p->lun, lu, &buf, &len);
	if (ret < 0) {
		snprintf(why, sizeof(why), "cannot encode the state: %s", strerror(-ret));
		goto abort;
	}
	ret = msg_send(fd, MIG_MSG_OFFER, buf, len);
	free(buf);
	buf = NULL;
	if (ret < 0) {
		snprintf(why, sizeof(why), "cannot send to the destination: %s", strerror(-ret));
		goto abort;
	}
	if (src_expect(fd, MIG_MSG_ACCEPT, why, sizeof(why), &acc, &acc_len) < 0)
		goto abort;
	if (p->portal)
		snprintf(redirect, sizeof(redirect), "%s", p->portal);
	else if (mig_portals_pick((const char *)acc, acc_len, p->to, redirect, sizeof(redirect)) < 0)
		log_warn("migration of %s LUN %lld: the destination named no usable iSCSI portal; "
			 "logins here will not be redirected", p->iqn, (long long)p->lun);
	free(acc);
	acc = NULL;

	/* STOP_COPY: new commands answer BUSY, admitted ones finish, then the final state. */
	t_stop = now_us();
	lu_mig_event(lu, MIG_EV_STOP_COPY);
	if (lu_mig_drain(lu, MIG_DRAIN_TIMEOUT_MS) < 0) {
		snprintf(why, sizeof(why), "commands still running after %u ms",
			 MIG_DRAIN_TIMEOUT_MS);
		goto abort;
	}
	ret = src_stream(t, (unsigned)p->lun, lu, &buf, &len);
	if (ret == 0)
		ret = msg_send(fd, MIG_MSG_FINAL, buf, len);
	free(buf);
	buf = NULL;
	if (ret < 0) {
		snprintf(why, sizeof(why), "cannot send the final state: %s", strerror(-ret));
		goto abort;
	}
	if (src_expect(fd, MIG_MSG_READY, why, sizeof(why), NULL, NULL) < 0)
		goto abort;

	/* The switch-over: from here the destination serves. */
	lu_mig_event(lu, MIG_EV_SWITCHED);
	if (msg_send(fd, MIG_MSG_COMMIT, NULL, 0) < 0 ||
	    src_expect(fd, MIG_MSG_DONE, why, sizeof(why), NULL, NULL) < 0) {
		lu_mig_event(lu, MIG_EV_FAIL);
		ret = rpc_fail(c, -EIO, "switch-over of %s LUN %lld not confirmed (%s): the LU is "
					"in state error on this side; check the destination",
			       p->iqn, (long long)p->lun, why);
		goto out;
	}
	t_switch = now_us();
	/* Handover: logins to this target go to the destination once every LU of it has moved,
	 * and its sessions are asked to log out so they come back and follow (mig_handover.h). */
	if (redirect[0] && lu_mig_set_redirect(lu, redirect) == 0 &&
	    target_mig_redirect(c->d, t, why, sizeof(why)) && c->d->fabric &&
	    c->d->fabric->target_request_logout)
		c->d->fabric->target_request_logout(c->d, t, MIG_LOGOUT_WAIT_S);
	log_info("migration: %s LUN %lld moved to %s (paused %.1f ms)", p->iqn,
		 (long long)p->lun, p->to, (double)(t_switch - t_stop) / 1000.0);
	c->result = json_pack("{s:s, s:s, s:I, s:f, s:f, s:s?}", "state", "migrated", "to",
			      p->to, "lun", (json_int_t)p->lun, "total_ms",
			      (double)(t_switch - t0) / 1000.0, "pause_ms",
			      (double)(t_switch - t_stop) / 1000.0, "redirect",
			      redirect[0] ? redirect : NULL);
	ret = c->result ? 0 : rpc_fail(c, -ENOMEM, "out of memory");
	goto out;

abort:
	if (fd >= 0)
		msg_send(fd, MIG_MSG_ABORT, NULL, 0);
	lu_mig_event(lu, MIG_EV_ABORT);
	ret = rpc_fail(c, -ECANCELED, "migration of %s LUN %lld to %s refused, still served here: %s",
		       p->iqn, (long long)p->lun, p->to, why);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(acc);
	lu_put(lu);
	target_put(t);
	return ret;
}

const struct rpc_method rpc_mig_methods[] = {
	{ .name = "lu_migrate", .fn = m_lu_migrate, .params = lu_migrate_params,
	  .nparams = sizeof(lu_migrate_params) / sizeof(lu_migrate_params[0]),
	  .params_size = sizeof(struct p_migrate), .mutates = true },
};
const size_t rpc_mig_nmethods = sizeof(rpc_mig_methods) / sizeof(rpc_mig_methods[0]);
