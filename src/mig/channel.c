/* The live-migration channel (channel.h): framing over non-blocking sockets, the destination's
 * listener and state machine, the source's state machine. Everything runs on the daemon's main
 * loop, driven by fd readiness and one timer per channel (the peer's deadline, a hold, or the
 * drain poll); a worker's state is touched only through the LU's atomics and locks.
 *
 * Every entry point (fd callback, timer) ends with ch_reap(): a channel that finished during
 * the callback is freed there and nowhere else, so no step uses a channel after it is gone. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include "mig/channel.h"
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
#include "util/list.h"
#include "util/log.h"

/* What a channel does now. A step that waits for a message reads; the others do not, so a
 * peer's early bytes wait in the socket. */
enum ch_step {
	CH_SRC_START,		/* source: connect on the first timer tick */
	CH_SRC_CONNECT,		/* source: connecting */
	CH_SRC_WAIT_ACCEPT,
	CH_SRC_DRAIN,		/* STOP_COPY: the timer polls the in-flight count */
	CH_SRC_WAIT_READY,
	CH_SRC_WAIT_DONE,	/* after the switch-over */
	CH_DST_WAIT_OFFER,
	CH_DST_WAIT_FINAL,
	CH_DST_WAIT_COMMIT,
	CH_HOLD,		/* fault injection: the timer continues with ch->cont */
	CH_CLOSING,		/* sending a last message, then done */
	CH_DEAD,		/* freed by ch_reap */
};

struct mig_ctx {
	struct daemon *d;
	struct mig_compat_ops ops;
	struct ev_fd listen_ev;
	int listen_fd;
	struct list_node channels;	/* struct mig_channel.node */
	unsigned nchannels;
	bool stopping;			/* mig_ctx_free: no new migration */
	unsigned hold_ms[MIG_HOLD_COUNT];
};

struct mig_channel {
	struct list_node node;
	struct mig_ctx *m;
	bool src;
	enum ch_step step;
	int fd;
	struct ev_fd ev;
	bool ev_added;
	struct ev_timer timer;
	uint64_t drain_deadline;
	void (*cont)(struct mig_channel *ch);	/* after a hold */
	enum ch_step held;			/* the step a hold interrupted, for the logs */
	/* receiving one message: its header, then its payload */
	uint8_t hdr[MIG_MSG_HDR_LEN];
	size_t hdr_got;
	uint8_t *in;
	uint32_t in_len, in_got;
	/* sending one message */
	uint8_t *out;
	size_t out_len, out_off;
	const char *send_what;			/* for the reason when sending fails */
	/* the LU */
	char iqn[INVAR_NAME_MAX + 1];
	unsigned lun;
	struct lu *lu;
	/* source */
	struct target *t;
	char to[320];
	char portal[MIG_REDIRECT_MAX + 1];
	char redirect[MIG_REDIRECT_MAX + 1];
	uint64_t t0, t_stop;
	mig_done_fn done;
	void *done_arg;
	/* destination */
	struct mig_lu_state s, fin;
	bool have_offer;
};

static const char *const hold_names[MIG_HOLD_COUNT] = {
	[MIG_HOLD_DST_OFFER] = "dst-offer",
	[MIG_HOLD_SRC_ACCEPTED] = "src-accepted",
	[MIG_HOLD_SRC_DRAINED] = "src-drained",
	[MIG_HOLD_DST_FINAL] = "dst-final",
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- addresses ----------------------------------------------------------------------- */

/* "ADDR:PORT" or "[v6]:PORT" into a resolved numeric address (never a name lookup). */
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

/* ---- fault injection ------------------------------------------------------------------- */

int mig_hold_parse(const char *spec, enum mig_hold_stage *stage, unsigned *ms, char *err,
		   size_t err_len)
{
	const char *eq = strchr(spec, '=');
	char *end;
	unsigned long v;

	if (!eq) {
		snprintf(err, err_len, "expected STAGE=MS");
		return -EINVAL;
	}
	for (unsigned i = 0; i < MIG_HOLD_COUNT; i++) {
		if (strlen(hold_names[i]) != (size_t)(eq - spec) ||
		    strncmp(spec, hold_names[i], (size_t)(eq - spec)))
			continue;
		errno = 0;
		v = strtoul(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end || v > MIG_HOLD_MAX_MS) {
			snprintf(err, err_len, "MS must be 0-%u", MIG_HOLD_MAX_MS);
			return -EINVAL;
		}
		*stage = (enum mig_hold_stage)i;
		*ms = (unsigned)v;
		return 0;
	}
	snprintf(err, err_len, "STAGE is dst-offer, src-accepted, src-drained or dst-final");
	return -EINVAL;
}

void mig_ctx_set_hold(struct mig_ctx *m, enum mig_hold_stage stage, unsigned ms)
{
	if ((unsigned)stage < MIG_HOLD_COUNT)
		m->hold_ms[stage] = ms;
}

/* ---- the channel: events, framing, lifetime ------------------------------------------- */

static bool ch_reading(const struct mig_channel *ch)
{
	switch (ch->step) {
	case CH_SRC_WAIT_ACCEPT:
	case CH_SRC_WAIT_READY:
	case CH_SRC_WAIT_DONE:
	case CH_DST_WAIT_OFFER:
	case CH_DST_WAIT_FINAL:
	case CH_DST_WAIT_COMMIT:
		return true;
	default:
		return false;
	}
}

/* Steps whose timer is the peer's deadline (not a hold or the drain poll). */
static bool ch_deadline_step(const struct mig_channel *ch)
{
	return ch->step != CH_HOLD && ch->step != CH_SRC_DRAIN && ch->step != CH_DEAD &&
	       ch->step != CH_SRC_START;
}

static void ch_arm_deadline(struct mig_channel *ch)
{
	ev_timer_arm(ch->m->d->main_loop, &ch->timer, MIG_CHANNEL_TIMEOUT_MS);
}

static void ch_update_events(struct mig_channel *ch)
{
	uint32_t ev = 0;

	if (!ch->ev_added)
		return;
	if (ch_reading(ch))
		ev |= EPOLLIN;
	if (ch->step == CH_SRC_CONNECT || ch->out_off < ch->out_len)
		ev |= EPOLLOUT;
	ev_fd_mod(ch->m->d->main_loop, &ch->ev, ev);
}

/* Marks ch finished: its socket is closed now, its memory in ch_reap. */
static void ch_finish(struct mig_channel *ch)
{
	struct ev_loop *loop = ch->m->d->main_loop;

	ev_timer_cancel(loop, &ch->timer);
	if (ch->ev_added)
		ev_fd_del(loop, &ch->ev);
	ch->ev_added = false;
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
	ch->step = CH_DEAD;
}

static void ch_free(struct mig_channel *ch)
{
	list_del(&ch->node);
	ch->m->nchannels--;
	free(ch->in);
	free(ch->out);
	mig_state_free(&ch->s);
	mig_state_free(&ch->fin);
	if (ch->lu)
		lu_put(ch->lu);
	if (ch->t)
		target_put(ch->t);
	free(ch);
}

static void ch_reap(struct mig_channel *ch)
{
	if (ch->step == CH_DEAD)
		ch_free(ch);
}

/* Sends what is queued, as far as the socket takes it. 0, or -errno. */
static int ch_flush(struct mig_channel *ch)
{
	bool moved = false;

	while (ch->out_off < ch->out_len) {
		ssize_t n = send(ch->fd, ch->out + ch->out_off, ch->out_len - ch->out_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		ch->out_off += (size_t)n;
		moved = true;
	}
	if (ch->out_off == ch->out_len) {
		free(ch->out);
		ch->out = NULL;
		ch->out_off = ch->out_len = 0;
	}
	if (moved && ch_deadline_step(ch))
		ch_arm_deadline(ch);
	return 0;
}

/* Queues one message and sends what the socket takes now; the rest goes on EPOLLOUT. */
static int ch_send(struct mig_channel *ch, uint8_t type, const void *payload, size_t len)
{
	if (len > MIG_STREAM_MAX)
		return -E2BIG;
	if (ch->out)
		return -EBUSY;	/* one message at a time: the protocol alternates */
	ch->out = malloc(MIG_MSG_HDR_LEN + len);
	if (!ch->out)
		return -ENOMEM;
	ch->out[0] = type;
	put_be32(ch->out + 1, (uint32_t)len);
	if (len)
		memcpy(ch->out + MIG_MSG_HDR_LEN, payload, len);
	ch->out_len = MIG_MSG_HDR_LEN + len;
	ch->out_off = 0;
	return ch_flush(ch);
}

/* Reads toward one whole message. 1 when one is complete (*type, *payload malloc'd and
 * NUL-terminated, *len), 0 when more is needed, -errno on a failure (-ECONNRESET: the peer
 * closed, -EMSGSIZE: a length over MIG_STREAM_MAX, refused before anything is allocated). */
static int ch_recv(struct mig_channel *ch, uint8_t *type, uint8_t **payload, size_t *len)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t n;

		if (ch->hdr_got < MIG_MSG_HDR_LEN) {
			dst = ch->hdr + ch->hdr_got;
			want = MIG_MSG_HDR_LEN - ch->hdr_got;
		} else {
			if (!ch->in) {
				ch->in_len = get_be32(ch->hdr + 1);
				if (ch->in_len > MIG_STREAM_MAX)
					return -EMSGSIZE;
				ch->in = malloc((size_t)ch->in_len + 1);
				if (!ch->in)
					return -ENOMEM;
				ch->in_got = 0;
			}
			if (ch->in_got == ch->in_len)
				break;
			dst = ch->in + ch->in_got;
			want = ch->in_len - ch->in_got;
		}
		n = recv(ch->fd, dst, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (ch->hdr_got < MIG_MSG_HDR_LEN)
			ch->hdr_got += (size_t)n;
		else
			ch->in_got += (uint32_t)n;
		ch_arm_deadline(ch);
	}
	ch->in[ch->in_len] = 0;
	*type = ch->hdr[0];
	*payload = ch->in;
	*len = ch->in_len;
	ch->in = NULL;
	ch->hdr_got = 0;
	ch->in_len = ch->in_got = 0;
	return 1;
}

/* Waits for the next message (deadline armed). */
static void ch_expect(struct mig_channel *ch, enum ch_step step)
{
	ch->step = step;
	ch_arm_deadline(ch);
	ch_update_events(ch);
}

/* Fault injection: continue with cont now, or after the hold configured for stage. */
static void ch_hold(struct mig_channel *ch, enum mig_hold_stage stage,
		    void (*cont)(struct mig_channel *ch))
{
	unsigned ms = ch->m->hold_ms[stage];

	if (!ms) {
		cont(ch);
		return;
	}
	log_warn("migration of %s/%u: holding at %s for %u ms (--mig-hold)", ch->iqn, ch->lun,
		 hold_names[stage], ms);
	ch->held = ch->step;
	ch->step = CH_HOLD;
	ch->cont = cont;
	ev_timer_arm(ch->m->d->main_loop, &ch->timer, ms);
	ch_update_events(ch);
}

static struct mig_channel *ch_new(struct mig_ctx *m, bool src)
{
	struct mig_channel *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->m = m;
	ch->src = src;
	ch->fd = -1;
	mig_state_init(&ch->s);
	mig_state_init(&ch->fin);
	list_add_tail(&m->channels, &ch->node);
	m->nchannels++;
	return ch;
}

static void ch_set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void ch_timer_cb(struct ev_timer *t);
static void ch_io_cb(struct ev_fd *h, uint32_t events);
static void ch_on_msg(struct mig_channel *ch, uint8_t type, uint8_t *p, size_t len);
static void ch_fail(struct mig_channel *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

/* Drops the arriving LU (it never served) and ends the channel. */
static void dst_drop(struct mig_channel *ch)
{
	if (ch->lu && lu_mig_state(ch->lu) == MIG_RESUMING)
		lu_mig_event(ch->lu, MIG_EV_FAIL);
	ch_finish(ch);
}

/* Sends a last message and ends the channel once it is out (or the peer's deadline passes). */
static void ch_close_after(struct mig_channel *ch, uint8_t type, const void *p, size_t len)
{
	if (ch->lu && !ch->src && lu_mig_state(ch->lu) == MIG_RESUMING)
		lu_mig_event(ch->lu, MIG_EV_FAIL);
	if (ch_send(ch, type, p, len) < 0 || ch->out_off == ch->out_len) {
		ch_finish(ch);
		return;
	}
	ch->step = CH_CLOSING;
	ch_arm_deadline(ch);
	ch_update_events(ch);
}

static void refuse(struct mig_channel *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void refuse(struct mig_channel *ch, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("migration: refused: %s", msg);
	ch_close_after(ch, MIG_MSG_REFUSE, msg, strlen(msg));
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
static int dst_compat(struct mig_ctx *m, const struct mig_lu_state *s, struct lu *cand,
		      struct reasons *rs, char *err, size_t err_len)
{
	struct daemon *d = m->d;
	struct target *t = target_find_get(d, s->target);
	struct lu *ref = cand;
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
	ret = m->ops.check(s->describe, ref, s->target, s->lun, add_reason, rs, err, err_len);
	lu_put(ref);
	return ret;
}

/* The source's port group states (ALUA records), applied by tag to the groups this daemon
 * has, when the arriving LU will be the only one serving in its target here: states are per
 * target, so a target that serves other LUs keeps its own (docs/design/migration.md). A tag with no
 * portal here, or a state SPC-4 does not define, is skipped. */
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
	if (ret == 0 && d->config_changed)
		d->config_changed(d);
	return ret;
}

/* Whether another channel is already bringing this LU here. */
static bool dst_arriving(struct mig_channel *ch)
{
	struct list_node *n;

	list_for_each(n, &ch->m->channels) {
		struct mig_channel *o = list_entry(n, struct mig_channel, node);

		if (o != ch && !o->src && o->have_offer && o->step != CH_DEAD &&
		    o->lun == ch->lun && !strcmp(o->iqn, ch->iqn))
			return true;
	}
	return false;
}

static void dst_send_accept(struct mig_channel *ch);

static void dst_on_offer(struct mig_channel *ch, uint8_t *p, size_t len)
{
	char err[512] = "";
	int ret;

	ret = mig_decode(p, len, &ch->s, err, sizeof(err));
	if (ret < 0) {
		refuse(ch, "bad migration stream: %s", err);
		return;
	}
	if (!ch->s.describe) {
		refuse(ch, "the stream has no compatibility description");
		return;
	}
	if (iscsi_name_validate(ch->s.target) < 0 || ch->s.lun >= INVAR_MAX_LUNS) {
		refuse(ch, "bad target name or LUN");
		return;
	}
	snprintf(ch->iqn, sizeof(ch->iqn), "%s", ch->s.target);
	ch->lun = ch->s.lun;
	if (dst_arriving(ch)) {
		refuse(ch, "another migration of %s LUN %u is arriving", ch->iqn, ch->lun);
		return;
	}
	ch->have_offer = true;
	ch_hold(ch, MIG_HOLD_DST_OFFER, dst_send_accept);
}

static void dst_send_accept(struct mig_channel *ch)
{
	char portals[MIG_PORTALS_BYTES];
	struct reasons rs = { 0 };
	size_t portals_len;
	char err[512] = "";
	int ret;

	ret = dst_lu_create(ch->m->d, &ch->s, &ch->lu, err, sizeof(err));
	if (ret < 0) {
		refuse(ch, "cannot open the LU here: %s", err);
		return;
	}
	ret = dst_compat(ch->m, &ch->s, ch->lu, &rs, err, sizeof(err));
	if (ret < 0) {
		refuse(ch, "cannot compare descriptions: %s", err);
		return;
	}
	if (ret > 0) {
		refuse(ch, "%s", rs.text);
		return;
	}
	/* RESUMING: the LU exists, unmapped, and answers BUSY if anything reaches it. */
	lu_mig_event(ch->lu, MIG_EV_RESUME);
	/* ACCEPT names this daemon's iSCSI portals: where the source redirects logins after the
	 * switch-over (mig_handover.h). A source that predates this ignores the payload. */
	portals_len = mig_portals_format(ch->m->d, portals, sizeof(portals));
	ret = ch_send(ch, MIG_MSG_ACCEPT, portals, portals_len);
	if (ret < 0) {
		ch_fail(ch, "cannot send ACCEPT: %s", strerror(-ret));
		return;
	}
	ch_expect(ch, CH_DST_WAIT_FINAL);
}

static void dst_send_ready(struct mig_channel *ch)
{
	int ret = ch_send(ch, MIG_MSG_READY, NULL, 0);

	if (ret < 0) {
		ch_fail(ch, "cannot send READY: %s", strerror(-ret));
		return;
	}
	ch_expect(ch, CH_DST_WAIT_COMMIT);
}

static void dst_on_final(struct mig_channel *ch, uint8_t *p, size_t len)
{
	char err[512] = "";
	int ret;

	ret = mig_decode(p, len, &ch->fin, err, sizeof(err));
	if (ret < 0) {
		refuse(ch, "bad final stream: %s", err);
		return;
	}
	if (strcmp(ch->fin.target, ch->s.target) || ch->fin.lun != ch->s.lun) {
		refuse(ch, "the final state names another LU");
		return;
	}
	ret = lu_mig_import(ch->lu, &ch->fin, err, sizeof(err));
	if (ret < 0) {
		refuse(ch, "cannot import the state: %s", err);
		return;
	}
	ch_hold(ch, MIG_HOLD_DST_FINAL, dst_send_ready);
}

static void dst_on_commit(struct mig_channel *ch)
{
	struct daemon *d = ch->m->d;
	int ret;

	/* Serve first, then say so: the source already stopped, every moment counts. */
	lu_mig_event(ch->lu, MIG_EV_RESUMED);
	dst_alua_apply(d, &ch->fin);
	ret = dst_map(d, &ch->fin, ch->lu);
	if (ret < 0) {
		log_err("migration of %s/%u: cannot map the LU: %s", ch->iqn, ch->lun,
			strerror(-ret));
		dst_drop(ch);
		return;
	}
	log_info("migration: now serving %s LUN %u (%u registration(s), %u nexus UA record(s))",
		 ch->fin.target, ch->fin.lun, ch->fin.nregs, ch->fin.nuas);
	ch_close_after(ch, MIG_MSG_DONE, NULL, 0);
}

static void dst_on_msg(struct mig_channel *ch, uint8_t type, uint8_t *p, size_t len)
{
	switch (ch->step) {
	case CH_DST_WAIT_OFFER:
		if (type != MIG_MSG_OFFER) {
			log_warn("migration: no offer from the peer (wrong message)");
			dst_drop(ch);
			return;
		}
		dst_on_offer(ch, p, len);
		return;
	case CH_DST_WAIT_FINAL:
		if (type != MIG_MSG_FINAL) {
			log_warn("migration of %s/%u: source gave up before the final state",
				 ch->iqn, ch->lun);
			dst_drop(ch);
			return;
		}
		dst_on_final(ch, p, len);
		return;
	case CH_DST_WAIT_COMMIT:
		if (type != MIG_MSG_COMMIT) {
			log_warn("migration of %s/%u: no commit, dropping the LU", ch->iqn,
				 ch->lun);
			dst_drop(ch);
			return;
		}
		dst_on_commit(ch);
		return;
	default:
		dst_drop(ch);
		return;
	}
}

static void mig_accept_cb(struct ev_fd *h, uint32_t events)
{
	struct mig_ctx *m = container_of(h, struct mig_ctx, listen_ev);
	struct mig_channel *ch;
	int fd;

	for (;;) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("migration: accept: %s", strerror(errno));
			return;
		}
		if (m->nchannels >= MIG_CHANNELS_MAX) {
			log_warn("migration: %u migrations under way; refusing another",
				 m->nchannels);
			close(fd);
			continue;
		}
		ch = ch_new(m, false);
		if (!ch) {
			close(fd);
			continue;
		}
		ch->fd = fd;
		ch_set_nodelay(fd);
		ch->timer.cb = ch_timer_cb;
		ch->ev.cb = ch_io_cb;
		if (ev_fd_add(m->d->main_loop, &ch->ev, fd, 0) < 0) {
			ch_finish(ch);
			ch_free(ch);
			continue;
		}
		ch->ev_added = true;
		ch_expect(ch, CH_DST_WAIT_OFFER);
	}
}

/* ---- source ---------------------------------------------------------------------------- */

static void src_end(struct mig_channel *ch, struct mig_outcome *o)
{
	o->to = ch->to;
	o->lun = ch->lun;
	ch_finish(ch);
	if (ch->done)
		ch->done(ch->done_arg, o);
	ch->done = NULL;
}

/* Before the switch-over: cancel, the LU goes on serving here. */
static void src_abort(struct mig_channel *ch, const char *why)
{
	struct mig_outcome o = { .code = -ECANCELED };
	uint8_t h[MIG_MSG_HDR_LEN] = { MIG_MSG_ABORT, 0, 0, 0, 0 };

	/* Best effort, never waited for: a peer that does not read it sees the close. Only
	 * between messages, so the framing stays whole. */
	if (ch->fd >= 0 && ch->step != CH_SRC_CONNECT && !ch->out &&
	    send(ch->fd, h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("migration: ABORT not sent: %s", strerror(errno));
	lu_mig_event(ch->lu, MIG_EV_ABORT);
	snprintf(o.msg, sizeof(o.msg),
		 "migration of %s LUN %u to %s refused, still served here: %s", ch->iqn, ch->lun,
		 ch->to, why);
	src_end(ch, &o);
}

/* After the switch-over: nothing can be undone here alone. */
static void src_unconfirmed(struct mig_channel *ch, const char *why)
{
	struct mig_outcome o = { .code = -EIO };

	lu_mig_event(ch->lu, MIG_EV_FAIL);
	snprintf(o.msg, sizeof(o.msg),
		 "switch-over of %s LUN %u not confirmed (%s): the LU is in state error on this "
		 "side; check the destination",
		 ch->iqn, ch->lun, why);
	src_end(ch, &o);
}

/* Export the LU's state with its description into a stream. */
static int src_stream(struct mig_channel *ch, uint8_t **buf, size_t *len)
{
	struct mig_lu_state s;
	int ret;

	mig_state_init(&s);
	ret = lu_mig_export(ch->lu, ch->t->iqn, ch->lun, &s);
	if (ret == 0)
		ret = lu_mig_export_alua(&ch->t->alua, &s);
	s.describe = ch->m->ops.describe(ch->lu, ch->t->iqn, ch->lun);
	if (ret == 0 && !s.describe)
		ret = -ENOMEM;
	if (ret == 0)
		ret = mig_encode(&s, buf, len);
	mig_state_free(&s);
	return ret;
}

static void src_send_stream(struct mig_channel *ch, uint8_t type, enum ch_step next,
			    const char *what)
{
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	ret = src_stream(ch, &buf, &len);
	if (ret < 0) {
		char why[128];

		snprintf(why, sizeof(why), "cannot encode the state: %s", strerror(-ret));
		src_abort(ch, why);
		return;
	}
	ch->send_what = what;
	ret = ch_send(ch, type, buf, len);
	free(buf);
	if (ret < 0) {
		ch_fail(ch, "%s", strerror(-ret));
		return;
	}
	ch_expect(ch, next);
}

static void src_connected(struct mig_channel *ch)
{
	/* PRE_COPY: still serving. Anything failing from here to the switch-over goes back to
	 * RUNNING (the state was only read). */
	src_send_stream(ch, MIG_MSG_OFFER, CH_SRC_WAIT_ACCEPT, "to the destination");
}

static void src_send_final(struct mig_channel *ch)
{
	src_send_stream(ch, MIG_MSG_FINAL, CH_SRC_WAIT_READY, "the final state");
}

/* STOP_COPY's drain: polled from the timer, never waited for. Polling keeps the command
 * release path as it is (one per-thread counter decrement, no cross-thread call per command);
 * a drain normally ends at the first look, and at worst costs a wake-up a millisecond. */
static void src_drain_check(struct mig_channel *ch)
{
	if (lu_mig_drained(ch->lu)) {
		ch_hold(ch, MIG_HOLD_SRC_DRAINED, src_send_final);
		return;
	}
	if (ev_now_ms() >= ch->drain_deadline) {
		char why[96];

		snprintf(why, sizeof(why), "commands still running after %u ms",
			 MIG_DRAIN_TIMEOUT_MS);
		src_abort(ch, why);
		return;
	}
	ev_timer_arm(ch->m->d->main_loop, &ch->timer, MIG_DRAIN_POLL_MS);
}

static void src_stop_copy(struct mig_channel *ch)
{
	/* STOP_COPY: new commands answer BUSY, admitted ones finish, then the final state. */
	ch->t_stop = now_us();
	lu_mig_event(ch->lu, MIG_EV_STOP_COPY);
	ch->step = CH_SRC_DRAIN;
	ch->drain_deadline = ev_now_ms() + MIG_DRAIN_TIMEOUT_MS;
	ch_update_events(ch);
	src_drain_check(ch);
}

static void src_on_accept(struct mig_channel *ch, uint8_t *p, size_t len)
{
	if (ch->portal[0])
		snprintf(ch->redirect, sizeof(ch->redirect), "%s", ch->portal);
	else if (mig_portals_pick((const char *)p, len, ch->to, ch->redirect,
				  sizeof(ch->redirect)) < 0)
		log_warn("migration of %s LUN %u: the destination named no usable iSCSI portal; "
			 "logins here will not be redirected", ch->iqn, ch->lun);
	ch_hold(ch, MIG_HOLD_SRC_ACCEPTED, src_stop_copy);
}

static void src_on_ready(struct mig_channel *ch)
{
	int ret;

	/* The switch-over: from here the destination serves. */
	lu_mig_event(ch->lu, MIG_EV_SWITCHED);
	ch->send_what = "COMMIT";
	ret = ch_send(ch, MIG_MSG_COMMIT, NULL, 0);
	if (ret < 0) {
		ch_expect(ch, CH_SRC_WAIT_DONE);	/* so that ch_fail knows the side */
		ch_fail(ch, "cannot send COMMIT: %s", strerror(-ret));
		return;
	}
	ch_expect(ch, CH_SRC_WAIT_DONE);
}

static void src_on_done(struct mig_channel *ch)
{
	struct daemon *d = ch->m->d;
	struct mig_outcome o = { 0 };
	uint64_t t_switch = now_us();
	char why[600];

	/* Handover: logins to this target go to the destination once every LU of it has moved,
	 * and its sessions are asked to log out so they come back and follow (mig_handover.h). */
	if (ch->redirect[0] && lu_mig_set_redirect(ch->lu, ch->redirect) == 0 &&
	    target_mig_redirect(d, ch->t, why, sizeof(why)) && d->fabric &&
	    d->fabric->target_request_logout)
		d->fabric->target_request_logout(d, ch->t, MIG_LOGOUT_WAIT_S);
	log_info("migration: %s LUN %u moved to %s (paused %.1f ms)", ch->iqn, ch->lun, ch->to,
		 (double)(t_switch - ch->t_stop) / 1000.0);
	o.total_ms = (double)(t_switch - ch->t0) / 1000.0;
	o.pause_ms = (double)(t_switch - ch->t_stop) / 1000.0;
	snprintf(o.redirect, sizeof(o.redirect), "%s", ch->redirect);
	src_end(ch, &o);
}

static void src_on_msg(struct mig_channel *ch, uint8_t type, uint8_t *p, size_t len)
{
	uint8_t want = ch->step == CH_SRC_WAIT_ACCEPT  ? MIG_MSG_ACCEPT
		       : ch->step == CH_SRC_WAIT_READY ? MIG_MSG_READY
						       : MIG_MSG_DONE;
	char why[2200];

	if (type != want) {
		if (type == MIG_MSG_REFUSE)
			snprintf(why, sizeof(why), "destination refused: %s", (char *)p);
		else
			snprintf(why, sizeof(why), "destination sent message %u, expected %u",
				 type, want);
		if (ch->step == CH_SRC_WAIT_DONE)
			src_unconfirmed(ch, why);
		else
			src_abort(ch, why);
		return;
	}
	switch (ch->step) {
	case CH_SRC_WAIT_ACCEPT:
		src_on_accept(ch, p, len);
		return;
	case CH_SRC_WAIT_READY:
		src_on_ready(ch);
		return;
	default:
		src_on_done(ch);
		return;
	}
}

/* The first step, on the timer: connect without waiting. */
static void src_connect(struct mig_channel *ch)
{
	struct addrinfo *res = NULL;
	char why[400];
	int ret;

	if (mig_addr(ch->to, false, &res) < 0) {
		snprintf(why, sizeof(why), "'%s' is not ADDR:PORT", ch->to);
		src_abort(ch, why);
		return;
	}
	ch->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ch->fd < 0) {
		ret = -errno;
		goto fail;
	}
	ch_set_nodelay(ch->fd);
	ch->ev.cb = ch_io_cb;
	ret = ev_fd_add(ch->m->d->main_loop, &ch->ev, ch->fd, EPOLLOUT);
	if (ret < 0)
		goto fail;
	ch->ev_added = true;
	ch->step = CH_SRC_CONNECT;
	if (connect(ch->fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto fail;
	}
	freeaddrinfo(res);
	ch_arm_deadline(ch);	/* connected: EPOLLOUT */
	return;
fail:
	freeaddrinfo(res);
	snprintf(why, sizeof(why), "cannot connect to %s: %s", ch->to, strerror(-ret));
	src_abort(ch, why);
}

int mig_source_start(struct mig_ctx *m, const char *iqn, unsigned lun, const char *to,
		     const char *portal, mig_done_fn done, void *arg, char *err, size_t err_len)
{
	struct target *t;
	struct mig_channel *ch;
	struct lu *lu;

	if (portal && mig_portal_check(portal) < 0) {
		snprintf(err, err_len, "portal '%s' is not HOST:PORT[,TPGT]", portal);
		return -EINVAL;
	}
	if (lun >= INVAR_MAX_LUNS || strlen(to) >= sizeof(ch->to) ||
	    strlen(iqn) >= sizeof(ch->iqn)) {
		snprintf(err, err_len, "bad LUN, target name or destination");
		return -EINVAL;
	}
	t = target_find_get(m->d, iqn);
	if (!t) {
		snprintf(err, err_len, "no target %s", iqn);
		return -ENOENT;
	}
	pthread_mutex_lock(&m->d->lock);
	lu = t->lus[lun];
	if (lu)
		lu_get(lu);
	pthread_mutex_unlock(&m->d->lock);
	if (!lu) {
		snprintf(err, err_len, "target %s has no LUN %u", iqn, lun);
		target_put(t);
		return -ENOENT;
	}
	if (m->stopping || m->nchannels >= MIG_CHANNELS_MAX) {
		snprintf(err, err_len, m->stopping ? "the daemon is stopping"
						   : "too many migrations under way already");
		goto busy;
	}
	if (lu_mig_event(lu, MIG_EV_START) < 0) {
		snprintf(err, err_len, "LUN %u of %s is %s, not running", lun, iqn,
			 migsm_state_name(lu_mig_state(lu)));
		goto busy;
	}
	ch = ch_new(m, true);
	if (!ch) {
		lu_mig_event(lu, MIG_EV_ABORT);
		snprintf(err, err_len, "out of memory");
		lu_put(lu);
		target_put(t);
		return -ENOMEM;
	}
	ch->t = t;
	ch->lu = lu;
	ch->lun = lun;
	snprintf(ch->iqn, sizeof(ch->iqn), "%s", iqn);
	snprintf(ch->to, sizeof(ch->to), "%s", to);
	if (portal)
		snprintf(ch->portal, sizeof(ch->portal), "%s", portal);
	ch->done = done;
	ch->done_arg = arg;
	ch->t0 = now_us();
	ch->step = CH_SRC_START;
	ch->timer.cb = ch_timer_cb;
	/* Every step from here runs from the loop, so done is never called before we return. */
	ev_timer_arm(m->d->main_loop, &ch->timer, 0);
	return 0;
busy:
	lu_put(lu);
	target_put(t);
	return -EBUSY;
}

/* ---- both sides: failures, the fd and the timer ------------------------------------------ */

/* The channel broke (peer gone, timed out, a send failed): the side decides what it means. */
static void ch_fail(struct mig_channel *ch, const char *fmt, ...)
{
	char what[512], why[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!ch->src) {
		if (ch->step == CH_CLOSING)
			log_debug("migration: last message not delivered: %s", what);
		else
			log_warn("migration%s%s: channel failed: %s", ch->iqn[0] ? " of " : "",
				 ch->iqn, what);
		dst_drop(ch);
		return;
	}
	if (ch->out)
		snprintf(why, sizeof(why), "cannot send %s: %s",
			 ch->send_what ? ch->send_what : "to the destination", what);
	else
		snprintf(why, sizeof(why), "destination did not answer: %s", what);
	if (ch->step == CH_SRC_WAIT_DONE)
		src_unconfirmed(ch, why);
	else
		src_abort(ch, why);
}

static void ch_on_msg(struct mig_channel *ch, uint8_t type, uint8_t *p, size_t len)
{
	if (ch->src)
		src_on_msg(ch, type, p, len);
	else
		dst_on_msg(ch, type, p, len);
}

static void ch_io_cb(struct ev_fd *h, uint32_t events)
{
	struct mig_channel *ch = container_of(h, struct mig_channel, ev);
	uint8_t type = 0, *p = NULL;
	size_t len = 0;
	int ret;

	if (ch->step == CH_SRC_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			char why[400];

			snprintf(why, sizeof(why), "cannot connect to %s: %s", ch->to,
				 strerror(soerr));
			src_abort(ch, why);
		} else if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
			src_connected(ch);
		}
		goto out;
	}
	if (ch->out && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		ret = ch_flush(ch);
		if (ret < 0) {
			ch_fail(ch, "%s", strerror(-ret));
			goto out;
		}
		if (ch->step == CH_CLOSING && !ch->out) {
			ch_finish(ch);
			goto out;
		}
	}
	while (ch_reading(ch) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ret = ch_recv(ch, &type, &p, &len);
		if (ret < 0) {
			ch_fail(ch, "%s", ret == -EMSGSIZE ? "message longer than the limit"
							   : strerror(-ret));
			goto out;
		}
		if (ret == 0)
			break;
		ch_on_msg(ch, type, p, len);
		free(p);
	}
	if (ch->step != CH_DEAD && !ch_reading(ch) && (events & (EPOLLHUP | EPOLLERR)) &&
	    ch->step != CH_CLOSING) {
		ch_fail(ch, "%s", strerror(ECONNRESET));
		goto out;
	}
	if (ch->step != CH_DEAD)
		ch_update_events(ch);
out:
	ch_reap(ch);
}

static void ch_timer_cb(struct ev_timer *t)
{
	struct mig_channel *ch = container_of(t, struct mig_channel, timer);

	switch (ch->step) {
	case CH_SRC_START:
		src_connect(ch);
		break;
	case CH_HOLD:
		log_warn("migration of %s/%u: hold over, going on", ch->iqn, ch->lun);
		ch->step = ch->held;
		ch->cont(ch);
		break;
	case CH_SRC_DRAIN:
		src_drain_check(ch);
		break;
	case CH_DEAD:
		break;
	default:
		ch_fail(ch, "%s", strerror(ETIMEDOUT));
		break;
	}
	ch_reap(ch);
}

/* ---- the context ----------------------------------------------------------------------- */

int mig_ctx_new(struct daemon *d, const struct mig_compat_ops *ops, struct mig_ctx **out)
{
	struct mig_ctx *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->ops = *ops;
	m->listen_fd = -1;
	list_init(&m->channels);
	*out = m;
	return 0;
}

int mig_listen(struct mig_ctx *m, const char *addr_port, char *err, size_t err_len)
{
	struct addrinfo *res = NULL;
	int one = 1, fd = -1, ret;

	if (m->listen_fd >= 0) {
		snprintf(err, err_len, "already listening");
		return -EEXIST;
	}
	ret = mig_addr(addr_port, true, &res);
	if (ret < 0) {
		snprintf(err, err_len, "'%s' is not ADDR:PORT", addr_port);
		return ret;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4) < 0) {
		ret = -errno;
		goto fail;
	}
	m->listen_ev.cb = mig_accept_cb;
	ret = ev_fd_add(m->d->main_loop, &m->listen_ev, fd, EPOLLIN);
	if (ret < 0)
		goto fail;
	m->listen_fd = fd;
	freeaddrinfo(res);
	return 0;
fail:
	snprintf(err, err_len, "cannot listen on %s: %s", addr_port, strerror(-ret));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ret;
}

void mig_ctx_free(struct mig_ctx *m)
{
	struct list_node *n, *tmp;

	if (!m)
		return;
	m->stopping = true;
	list_for_each_safe(n, tmp, &m->channels) {
		struct mig_channel *ch = list_entry(n, struct mig_channel, node);

		if (ch->step == CH_DEAD)
			;
		else if (!ch->src)
			dst_drop(ch);
		else if (ch->step == CH_SRC_WAIT_DONE)
			src_unconfirmed(ch, "the daemon is stopping");
		else
			src_abort(ch, "the daemon is stopping");
		ch_free(ch);
	}
	if (m->listen_fd >= 0) {
		ev_fd_del(m->d->main_loop, &m->listen_ev);
		close(m->listen_fd);
	}
	free(m);
}
