/* iscsi-blast: a cheap iSCSI load generator, without libiscsi. It keeps QD READ(10) (or, with
 * -w, WRITE(10)) commands of -b bytes in flight at random block-aligned LBAs, on each of -c
 * sessions, for a given time, and prints the IOPS. Its point is its cost: a libiscsi client
 * (iscsi-perf, bench/iscsi-lat.c) spends about twice the CPU per 4 KiB I/O that invard does, so
 * on a small host the client is the bottleneck; this one builds every ready command of a session
 * into one buffer and sends it with one send(), reads with large recv() calls and parses every
 * complete PDU in the buffer, and copies no read data anywhere. The sessions are shared out over
 * -T threads (default: one per CPU, at most one per session), each driving its share through one
 * epoll set, so a thousand sessions cost a thousand sockets and no more threads. Used by
 * bench/run.sh. Login and setup go through tests/tools/rawini.c; every PDU of the load is encoded
 * straight into the send buffer, and decoded once from the receive buffer, by the product's codec
 * (src/fabric/iscsi/pdu.c).
 *
 *   iscsi-blast [-q QD] [-c SESSIONS] [-T THREADS] [-t SECONDS] [-W WARMUP] [-b BYTES] [-w]
 *               [-M PID] [-I IDLE] iscsi://HOST:PORT/TARGET_IQN/LUN
 *
 * Each session: TCP connect, login (security stage with AuthMethod=None, then the operational
 * stage: no digests, ImmediateData=Yes, InitialR2T=No, MaxRecvDataSegmentLength 262144), READ
 * CAPACITY(10) (READ CAPACITY(16) when the LU has 2^32 blocks or more; READ(10) then addresses
 * the first 2^32), then the load; the target's MaxCmdSN window and MaxRecvDataSegmentLength are
 * honoured. Writes carry their data as immediate data up to FirstBurstLength; any rest is sent
 * on the target's R2Ts. Target pings (NOP-In with a TTT) are answered; an Async Message asking
 * for a logout ends the session's load early and logs out; anything else unexpected (Reject,
 * other async events, a PDU longer than we allow) ends the session with an error. The soft limit
 * on open files is raised (up to the hard one) to fit the sessions.
 *
 * Output on stdout: "ios N secs S iops I sessions C qd Q client_us_per_io U threads T", where N
 * counts the I/Os completed inside the timed window (after the warm-up) over all sessions, and
 * U is this process's own CPU time (all threads) over that window divided by N. With -M PID (the
 * target's process on this host) a second line: "target_rss_kb base B idle I busy U
 * idle_per_session_kb X busy_per_session_kb Y": its RssAnon (anonymous resident memory: what it
 * allocated, not the file pages it maps) before the logins, with every session
 * logged in and idle (after -I seconds), and at the end of the timed window, and the growth per
 * session. On stderr, once every session has logged in (and -I has passed): "iscsi-blast: C
 * sessions logged in"; the warm-up starts then. Errors go to stderr. Exit status: 0; 1 when a session failed or any command ended
 * with a status other than GOOD (the count is printed; the line is still printed if every
 * session ran); 2 on usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/time.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "rawini.h"
#include "util/byteorder.h"

#define BHS ISCSI_BHS_LEN
#define MAX_QD 1024
#define MAX_SESSIONS 4096
#define MAX_THREADS 64
#define OUR_MRDSL 262144u		/* what we offer: the longest data segment we accept */
#define RBUF_SIZE (4u << 20)
#define SETUP_DATA 4096u		/* longest data segment accepted during login/setup */
#define IO_TIMEOUT_MS 10000
#define DRAIN_NS 30000000000ull		/* in-flight commands may take this long after the end */
#define ITT_SETUP 0x80000000u		/* ITTs of login, READ CAPACITY and logout */

static uint32_t pad4(uint32_t n) { return (n + 3) & ~3u; }

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- configuration */
static struct {
	char host[256], port[16], target[224];
	unsigned lun, qd, sessions, xfer;
	int write;
	double secs, warm;
} cfg;

/* Shared between the threads: the timed window, set once all sessions are ready. */
static pthread_barrier_t ready_bar, go_bar;
static uint64_t t_count, t_end;
static volatile int abort_all;

/* One command slot; the slot's index is the low 16 bits of its ITT. */
struct slot {
	uint32_t itt;
	int busy;
	uint32_t got;			/* Data-In bytes received */
	uint32_t r2t_off, r2t_len, r2t_ttt;	/* a pending R2T to answer; r2t_len 0: none */
};

struct sess {
	unsigned idx;
	/* connection, sequence numbers and what the login negotiated */
	struct rawini ri;
	uint32_t gen;
	/* the LU */
	uint32_t block_size;
	uint64_t nblocks;
	uint64_t rng;
	/* the load */
	struct slot *slots;
	unsigned inflight, next_free;
	uint8_t *sbuf;
	size_t scap, shead, slen;
	uint8_t *rbuf;
	size_t rlen, rcap;
	const uint8_t *wdata;
	int epfd, want_out, done;	/* its thread's epoll set; EPOLLOUT asked; finished */
	int stopping, logout_sent, logged_out;
	uint64_t ios, bad_status, short_reads;
	char err[256];
};

/* One thread's share of the sessions. */
struct group {
	struct sess *s;
	unsigned n;
};

static void fail(struct sess *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static uint64_t rnd(struct sess *s)
{
	/* xorshift64*: uniform enough for picking LBAs */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

/* ---------------------------------------------------------------- login */
/* One login stage (rawini_login_stage) with the failures spelled out. */
static int login_stage(struct sess *s, unsigned csg, unsigned nsg, const struct rawini_text *t)
{
	int r = rawini_login_stage(&s->ri, csg, nsg, t->buf, t->len, 8);

	if (r < 0) {
		fail(s, "login: connection lost or not answered with a Login Response");
		return -1;
	}
	if (s->ri.login_status) {
		fail(s, "login refused: status class 0x%02x detail 0x%02x",
		     s->ri.login_status >> 8, s->ri.login_status & 0xff);
		return -1;
	}
	if (s->ri.auth_method[0] && strcmp(s->ri.auth_method, "None")) {
		fail(s, "login: target wants AuthMethod=%s", s->ri.auth_method);
		return -1;
	}
	if (!r) {
		fail(s, "login: the target did not move to stage %u", nsg);
		return -1;
	}
	return 0;
}

static int login(struct sess *s)
{
	struct rawini_text t = { .len = 0 };

	/* RFC 7143 defaults until the target says otherwise (rawini_init) */
	s->ri.itt = ITT_SETUP;
	rawini_text_add(&t, "InitiatorName=iqn.2026-11.org.invar:bench-blast");
	rawini_text_add(&t, "SessionType=Normal");
	rawini_text_add(&t, "TargetName=%s", cfg.target);
	rawini_text_add(&t, "AuthMethod=None");
	if (login_stage(s, 0, 1, &t))
		return -1;
	t.len = 0;
	rawini_text_add(&t, "HeaderDigest=None");
	rawini_text_add(&t, "DataDigest=None");
	rawini_text_add(&t, "MaxConnections=1");
	rawini_text_add(&t, "InitialR2T=No");
	rawini_text_add(&t, "ImmediateData=Yes");
	rawini_text_add(&t, "MaxRecvDataSegmentLength=%u", OUR_MRDSL);
	rawini_text_add(&t, "MaxBurstLength=%u", 1u << 20);
	rawini_text_add(&t, "FirstBurstLength=%u", OUR_MRDSL);
	rawini_text_add(&t, "MaxOutstandingR2T=1");
	rawini_text_add(&t, "DataPDUInOrder=Yes");
	rawini_text_add(&t, "DataSequenceInOrder=Yes");
	rawini_text_add(&t, "ErrorRecoveryLevel=0");
	if (login_stage(s, 1, 3, &t))
		return -1;
	/* Bound what the target said: a data segment of ours is at least 512 bytes and at most
	 * what we could ever send in one go. */
	if (s->ri.t_mrdsl < 512 || s->ri.t_mrdsl > (16u << 20) || !s->ri.max_burst) {
		fail(s, "login: unusable MaxRecvDataSegmentLength %u / MaxBurstLength %u",
		     s->ri.t_mrdsl, s->ri.max_burst);
		return -1;
	}
	if (s->ri.first_burst > s->ri.max_burst)
		s->ri.first_burst = s->ri.max_burst;
	return 0;
}

/* ---------------------------------------------------------------- setup commands */
/* One command with a Data-In answer, blocking; the data into out (at most outlen bytes).
 * Returns the SCSI status, or -1. A CHECK CONDITION (a unit attention after login) is retried
 * a few times. */
static int setup_cmd(struct sess *s, const uint8_t cdb[16], uint8_t *out, uint32_t outlen)
{
	struct rawini_pdu p = { 0 };
	uint32_t itt;
	unsigned attempt;
	int st = -1;

	for (attempt = 0; attempt < 4; attempt++) {
		itt = ITT_SETUP | (s->gen++ & 0xffff);
		if (rawini_send_cmd(&s->ri, itt, s->ri.cmdsn++,
				    ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_READ, cdb, outlen, NULL, 0, 0))
			goto out;
		for (;;) {
			const struct iscsi_pdu_hdr *h = &p.h;

			if (rawini_recv(&s->ri, &p, IO_TIMEOUT_MS)) {
				if (!s->err[0])
					fail(s, "setup: connection lost, timed out, or a data segment "
						"over %u bytes", SETUP_DATA);
				st = -1;
				goto out;
			}
			if (h->opcode == ISCSI_OP_REJECT ||
			    (h->opcode == ISCSI_OP_ASYNC && h->async.event != 0)) {
				fail(s, "setup: target sent opcode 0x%02x (reason/event 0x%02x)",
				     h->opcode, h->opcode == ISCSI_OP_REJECT ? h->reject.reason
									      : h->async.event);
				st = -1;
				goto out;
			}
			if (h->itt != itt)
				continue;
			if (h->opcode == ISCSI_OP_DATA_IN) {
				uint32_t off = h->data_in.buffer_offset;

				if (off < outlen)
					memcpy(out + off, p.data,
					       p.len < outlen - off ? p.len : outlen - off);
				if (h->data_in.status_present) {
					st = h->data_in.status;
					break;
				}
			} else if (h->opcode == ISCSI_OP_SCSI_RSP) {
				st = h->scsi_rsp.response ? -1 : h->scsi_rsp.status;
				break;
			}
		}
		if (st != 0x02)
			break;
	}
out:
	rawini_pdu_free(&p);
	return st;
}

static int read_capacity(struct sess *s)
{
	uint8_t cdb[16] = { 0x25 }, d[32] = { 0 };
	int st = setup_cmd(s, cdb, d, 8);

	if (st != 0) {
		fail(s, "READ CAPACITY(10): status %d", st);
		return -1;
	}
	s->block_size = get_be32(d + 4);
	s->nblocks = (uint64_t)get_be32(d) + 1;
	if (get_be32(d) == 0xffffffffu) {
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x9e;
		cdb[1] = 0x10;
		put_be32(cdb + 10, sizeof(d));
		st = setup_cmd(s, cdb, d, sizeof(d));
		if (st != 0) {
			fail(s, "READ CAPACITY(16): status %d", st);
			return -1;
		}
		s->block_size = get_be32(d + 8);
		s->nblocks = get_be64(d) + 1;
	}
	if (s->nblocks > (1ull << 32))
		s->nblocks = 1ull << 32;	/* READ(10)/WRITE(10) address only this much */
	if (!s->block_size || cfg.xfer % s->block_size || cfg.xfer / s->block_size > 0xffff ||
	    s->nblocks < cfg.xfer / s->block_size) {
		fail(s, "-b %u does not fit block size %u, %llu blocks", cfg.xfer, s->block_size,
		     (unsigned long long)s->nblocks);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- the load */
/* Room in the send buffer for len more bytes. */
static int room(struct sess *s, size_t len)
{
	return s->scap - s->slen >= len;
}

/* h encoded straight into the send buffer, with its data segment. */
static uint8_t *append(struct sess *s, struct iscsi_pdu_hdr *h, const void *data, uint32_t len)
{
	uint8_t *p = s->sbuf + s->slen;

	h->data_len = len;
	iscsi_bhs_encode(h, p);
	if (len) {
		memcpy(p + BHS, data, len);
		memset(p + BHS + len, 0, pad4(len) - len);
	}
	s->slen += BHS + pad4(len);
	return p;
}

/* Data-Out answering a pending R2T: chunks of at most the target's MRDSL. */
static int queue_data_out(struct sess *s, struct slot *sl)
{
	uint32_t mrdsl = s->ri.t_mrdsl, n = (sl->r2t_len + mrdsl - 1) / mrdsl, i, off = sl->r2t_off;
	struct iscsi_pdu_hdr h;

	if (!room(s, (size_t)n * BHS + pad4(sl->r2t_len) + 4 * n))
		return 0;
	for (i = 0; i < n; i++) {
		uint32_t len = sl->r2t_len - (off - sl->r2t_off);

		if (len > mrdsl)
			len = mrdsl;
		rawini_data_out_hdr(&s->ri, &h, sl->itt, sl->r2t_ttt, i, off, i == n - 1);
		append(s, &h, s->wdata + off, len);
		off += len;
	}
	sl->r2t_len = 0;
	return 1;
}

/* Queues every command the queue depth, the CmdSN window and the send buffer allow. */
static void fill(struct sess *s, uint64_t now)
{
	uint32_t blocks = cfg.xfer / s->block_size;
	uint32_t imm = 0;
	unsigned i;
	struct iscsi_pdu_hdr h;
	uint8_t cdb[16] = { 0 };

	if (s->shead == s->slen)
		s->shead = s->slen = 0;
	else if (s->shead > s->scap / 2) {
		memmove(s->sbuf, s->sbuf + s->shead, s->slen - s->shead);
		s->slen -= s->shead;
		s->shead = 0;
	}
	/* R2Ts first: those commands are already counted in the window. */
	for (i = 0; i < cfg.qd; i++)
		if (s->slots[i].busy && s->slots[i].r2t_len && !queue_data_out(s, &s->slots[i]))
			return;
	if (s->stopping || now >= t_end || abort_all) {
		s->stopping = 1;
		return;
	}
	if (cfg.write && s->ri.immediate_data) {
		imm = cfg.xfer;
		if (imm > s->ri.first_burst)
			imm = s->ri.first_burst;
		if (imm > s->ri.t_mrdsl)
			imm = s->ri.t_mrdsl;
	}
	while (s->inflight < cfg.qd && !iscsi_sn_gt(s->ri.cmdsn, s->ri.maxcmdsn) &&
	       room(s, BHS + pad4(imm))) {
		struct slot *sl;
		uint64_t lba = (rnd(s) % (s->nblocks / blocks)) * blocks;

		while (s->slots[s->next_free].busy)
			s->next_free = (s->next_free + 1) % cfg.qd;
		sl = &s->slots[s->next_free];
		sl->itt = (s->gen++ & 0x7fff) << 16 | s->next_free;
		sl->busy = 1;
		sl->got = 0;
		sl->r2t_len = 0;
		cdb[0] = cfg.write ? 0x2a : 0x28;
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)blocks);
		/* F set: no unsolicited Data-Out follows; the rest of a write comes on R2Ts. */
		rawini_cmd_hdr(&s->ri, &h, sl->itt, s->ri.cmdsn, ISCSI_FLAG_FINAL |
			       (cfg.write ? ISCSI_FLAG_CMD_WRITE : ISCSI_FLAG_CMD_READ), cdb, cfg.xfer);
		append(s, &h, s->wdata, imm);
		s->ri.cmdsn++;
		s->inflight++;
	}
}

static struct slot *slot_of(struct sess *s, uint32_t itt)
{
	struct slot *sl;

	if ((itt & 0xffff) >= cfg.qd)
		return NULL;
	sl = &s->slots[itt & 0xffff];
	return sl->busy && sl->itt == itt ? sl : NULL;
}

static void complete(struct sess *s, struct slot *sl, uint8_t status, uint64_t now)
{
	sl->busy = 0;
	s->inflight--;
	if (status != 0) {
		if (!s->bad_status)
			fprintf(stderr, "iscsi-blast: session %u: %s ended with status 0x%02x\n",
				s->idx, cfg.write ? "WRITE(10)" : "READ(10)", status);
		s->bad_status++;
	} else if (!cfg.write && sl->got != cfg.xfer) {
		s->short_reads++;
	} else if (now >= t_count && now <= t_end) {
		s->ios++;
	}
}

/* One complete PDU from the target during the load. 0, or -1 with s->err set. */
static int handle(struct sess *s, const struct iscsi_pdu_hdr *h, const uint8_t *data,
		  uint64_t now)
{
	struct iscsi_pdu_hdr rh;
	struct slot *sl;

	(void)data;	/* read data is not looked at */

	rawini_note_sn(&s->ri, h);
	switch (h->opcode) {
	case ISCSI_OP_DATA_IN:
		sl = slot_of(s, h->itt);
		if (!sl || h->data_in.buffer_offset + (uint64_t)h->data_len > cfg.xfer) {
			fail(s, "Data-In for an unknown task or beyond its length (ITT 0x%08x)",
			     h->itt);
			return -1;
		}
		sl->got += h->data_len;
		if (h->data_in.status_present)
			complete(s, sl, h->data_in.status, now);
		return 0;
	case ISCSI_OP_SCSI_RSP:
		sl = slot_of(s, h->itt);
		if (!sl) {
			fail(s, "SCSI Response for an unknown task (ITT 0x%08x)", h->itt);
			return -1;
		}
		/* a response code other than "completed at target" counts as a failed status */
		complete(s, sl, h->scsi_rsp.response ? 0xff : h->scsi_rsp.status, now);
		return 0;
	case ISCSI_OP_R2T:
		sl = slot_of(s, h->itt);
		if (!sl || !cfg.write || sl->r2t_len || !h->r2t.ddtl ||
		    h->r2t.buffer_offset + (uint64_t)h->r2t.ddtl > cfg.xfer) {
			fail(s, "R2T not matching an outstanding write (ITT 0x%08x, offset %u, "
				"length %u)", h->itt, h->r2t.buffer_offset, h->r2t.ddtl);
			return -1;
		}
		sl->r2t_ttt = h->r2t.ttt;
		sl->r2t_off = h->r2t.buffer_offset;
		sl->r2t_len = h->r2t.ddtl;
		return 0;
	case ISCSI_OP_NOP_IN:
		if (h->nop.ttt == ISCSI_RSVD_TAG)
			return 0;
		if (!room(s, BHS)) {
			fail(s, "no room to answer a NOP-In");
			return -1;
		}
		rawini_nop_reply(&s->ri, h, &rh);
		append(s, &rh, NULL, 0);
		return 0;
	case ISCSI_OP_ASYNC:
		if (h->async.event == 0)
			return 0;	/* a SCSI asynchronous event: sense data we do not use */
		if (h->async.event == 1) {
			/* the target asks for a logout: stop, drain, log out */
			fprintf(stderr, "iscsi-blast: session %u: target requested a logout\n", s->idx);
			s->stopping = 1;
			return 0;
		}
		fail(s, "Async Message, event %u", h->async.event);
		return -1;
	case ISCSI_OP_LOGOUT_RSP:
		if (!s->logout_sent || h->logout_rsp.response) {
			fail(s, "Logout Response 0x%02x", h->logout_rsp.response);
			return -1;
		}
		s->logged_out = 1;
		return 0;
	case ISCSI_OP_REJECT:
		fail(s, "Reject, reason 0x%02x", h->reject.reason);
		return -1;
	default:
		fail(s, "unexpected opcode 0x%02x", h->opcode);
		return -1;
	}
}

/* Every complete PDU in the receive buffer, each header decoded once; a partial one is kept
 * for the next recv. */
static int parse(struct sess *s, uint64_t now)
{
	size_t pos = 0;

	while (s->rlen - pos >= BHS) {
		const uint8_t *b = s->rbuf + pos;
		struct iscsi_pdu_hdr h;
		size_t ahs, total;

		iscsi_bhs_decode(b, &h);
		ahs = (size_t)h.total_ahs_words * 4;
		total = BHS + ahs + pad4(h.data_len);
		if (h.data_len > OUR_MRDSL) {
			fail(s, "target sent a %u-byte data segment (opcode 0x%02x), over our %u",
			     h.data_len, h.opcode, OUR_MRDSL);
			return -1;
		}
		if (s->rlen - pos < total)
			break;
		if (handle(s, &h, b + BHS + ahs, now))
			return -1;
		pos += total;
	}
	if (pos) {
		memmove(s->rbuf, s->rbuf + pos, s->rlen - pos);
		s->rlen -= pos;
	}
	return 0;
}

/* Sends what is queued without blocking; asks epoll for room (EPOLLOUT) only while something is
 * left over. 0, or -1 with s->err set. */
static int flush(struct sess *s)
{
	while (s->shead < s->slen) {
		ssize_t n = send(s->ri.fd, s->sbuf + s->shead, s->slen - s->shead,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			fail(s, "send: %s", n < 0 ? strerror(errno) : "closed");
			return -1;
		}
		s->shead += (size_t)n;
	}
	if ((s->shead < s->slen) != s->want_out) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

		s->want_out = s->shead < s->slen;
		if (s->want_out)
			ev.events |= EPOLLOUT;
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->ri.fd, &ev)) {
			fail(s, "epoll_ctl: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Queues what the session may send now (commands, Data-Out, at the end the Logout) and sends
 * it. 1 once logged out, 0 to go on, -1 on an error. */
static int pump(struct sess *s, uint64_t now)
{
	fill(s, now);
	if (s->stopping && !s->inflight && !s->logout_sent && room(s, BHS)) {
		struct iscsi_pdu_hdr h = {	/* close the session (RFC 7143 11.14) */
			.opcode = ISCSI_OP_LOGOUT_REQ,
			.immediate = true,
			.itt = ITT_SETUP | 0xffff,
			.cmdsn = s->ri.cmdsn,
			.expstatsn = s->ri.expstatsn,
		};

		append(s, &h, NULL, 0);
		s->logout_sent = 1;
	}
	if (s->logged_out)
		return 1;
	return flush(s);
}

/* One readiness event of a session: what arrived is parsed (one recv: epoll is level-triggered
 * and reports the rest), then the session refills. 1 done, 0 go on, -1 error. */
static int sess_event(struct sess *s, uint32_t events, uint64_t now)
{
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		ssize_t n = recv(s->ri.fd, s->rbuf + s->rlen, s->rcap - s->rlen, MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fail(s, "recv: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			fail(s, "recv: connection closed by the target");
			return -1;
		}
		if (n > 0) {
			s->rlen += (size_t)n;
			if (parse(s, now))
				return -1;
		}
	}
	return pump(s, now);
}

/* The event loop of one thread: its sessions on one epoll set. A wake-up costs one epoll_wait,
 * then per ready session one recv() and one send() of the next batch. */
static void run_group(struct sess *ss, unsigned n)
{
	struct epoll_event evs[256];
	unsigned i, active = 0;
	uint64_t now = now_ns();
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0) {
		fail(&ss[0], "epoll_create1: %s", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		struct sess *s = &ss[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

		s->epfd = epfd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->ri.fd, &ev)) {
			fail(s, "epoll_ctl: %s", strerror(errno));
			s->done = 1;
			continue;
		}
		if (pump(s, now)) {
			s->done = 1;
			continue;
		}
		active++;
	}
	while (active) {
		int k, m = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 1000);

		if (m < 0 && errno != EINTR) {
			for (i = 0; i < n; i++)
				if (!ss[i].done)
					fail(&ss[i], "epoll_wait: %s", strerror(errno));
			break;
		}
		now = now_ns();
		for (k = 0; k < m; k++) {
			struct sess *s = evs[k].data.ptr;

			if (s->done || !sess_event(s, evs[k].events, now))
				continue;
			s->done = 1;
			active--;
			epoll_ctl(epfd, EPOLL_CTL_DEL, s->ri.fd, NULL);
		}
		if (now <= t_end + DRAIN_NS)
			continue;
		for (i = 0; i < n; i++) {
			if (ss[i].done)
				continue;
			fail(&ss[i], "%u commands not answered %llu s after the end", ss[i].inflight,
			     (unsigned long long)(DRAIN_NS / 1000000000u));
			ss[i].done = 1;
			active--;
		}
	}
	close(epfd);
}

/* ---------------------------------------------------------------- sessions */
static int sess_setup(struct sess *s)
{
	struct timeval to = { .tv_sec = IO_TIMEOUT_MS / 1000 };

	if (rawini_connect(&s->ri, cfg.host, cfg.port)) {
		fail(s, "cannot connect to %s:%s: %s", cfg.host, cfg.port, strerror(errno));
		return -1;
	}
	/* login and setup are blocking (rawini), bounded by the timeouts; the load is not */
	setsockopt(s->ri.fd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof(to));
	setsockopt(s->ri.fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof(to));
	if (login(s) || read_capacity(s))
		return -1;
	s->slots = calloc(cfg.qd, sizeof(*s->slots));
	/* every command with its immediate data, plus the Data-Out for one R2T in chunks of at
	 * least 512 bytes, plus NOP-Out answers */
	s->scap = (size_t)cfg.qd * (BHS + (cfg.write ? pad4(cfg.xfer) : 0)) + 65536 +
		  (cfg.write ? (size_t)(cfg.xfer / 512 + 1) * (BHS + 4) + cfg.xfer : 0);
	s->sbuf = malloc(s->scap);
	/* room for what QD reads may bring at once (at most RBUF_SIZE), and always for one
	 * whole PDU of the longest data segment we accept */
	s->rcap = (size_t)cfg.qd * (pad4(cfg.xfer) + 2 * BHS);
	if (s->rcap > RBUF_SIZE)
		s->rcap = RBUF_SIZE;
	s->rcap += BHS + 255 * 4 + OUR_MRDSL;
	s->rbuf = malloc(s->rcap);
	if (!s->slots || !s->sbuf || !s->rbuf) {
		fail(s, "out of memory");
		return -1;
	}
	return 0;
}

/* One thread: sets up its sessions one after the other, then drives them all. */
static void *group_main(void *arg)
{
	struct group *g = arg;
	unsigned i;
	int ok = 1;

	for (i = 0; i < g->n && ok && !abort_all; i++)
		ok = !sess_setup(&g->s[i]);
	if (!ok || abort_all)
		abort_all = 1;
	pthread_barrier_wait(&ready_bar);	/* main sets the timed window */
	pthread_barrier_wait(&go_bar);
	if (!abort_all)
		run_group(g->s, g->n);
	for (i = 0; i < g->n; i++) {
		rawini_close(&g->s[i].ri);
		free(g->s[i].slots);
		free(g->s[i].sbuf);
		free(g->s[i].rbuf);
	}
	return NULL;
}

/* iscsi://HOST:PORT/IQN/LUN (HOST may be [v6]; PORT defaults to 3260). */
static int parse_url(const char *url)
{
	const char *p = url, *slash, *hend, *last;
	char *end;
	unsigned long lun;

	if (strncmp(p, "iscsi://", 8))
		return -1;
	p += 8;
	slash = strchr(p, '/');
	last = strrchr(p, '/');
	if (!slash || slash == last)
		return -1;
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(slash - p));
		if (!hend || (size_t)(hend - p - 1) >= sizeof(cfg.host))
			return -1;
		snprintf(cfg.host, sizeof(cfg.host), "%.*s", (int)(hend - p - 1), p + 1);
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(slash - p));
		if (!hend)
			hend = slash;
		if ((size_t)(hend - p) >= sizeof(cfg.host) || hend == p)
			return -1;
		snprintf(cfg.host, sizeof(cfg.host), "%.*s", (int)(hend - p), p);
	}
	if (*hend == ':') {
		if ((size_t)(slash - hend - 1) >= sizeof(cfg.port) || slash == hend + 1)
			return -1;
		snprintf(cfg.port, sizeof(cfg.port), "%.*s", (int)(slash - hend - 1), hend + 1);
	} else if (hend == slash) {
		snprintf(cfg.port, sizeof(cfg.port), "3260");
	} else {
		return -1;
	}
	if ((size_t)(last - slash - 1) >= sizeof(cfg.target) || last == slash + 1)
		return -1;
	snprintf(cfg.target, sizeof(cfg.target), "%.*s", (int)(last - slash - 1), slash + 1);
	errno = 0;
	lun = strtoul(last + 1, &end, 10);
	if (errno || end == last + 1 || *end || lun > 16383)
		return -1;
	cfg.lun = (unsigned)lun;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: iscsi-blast [-q QD] [-c SESSIONS] [-T THREADS] [-t SECONDS] "
			"[-W WARMUP] [-b BYTES] [-w] [-M PID] [-I IDLE]\n"
			"                   iscsi://HOST:PORT/TARGET_IQN/LUN\n");
}

/* RssAnon of a process in KiB (its own allocations: file pages it maps, such as a tmpfs LU
 * that the target reads through a mapping, are the data's cache, not per-session cost), or -1. */
static long rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Enough descriptors for every session plus stdio and epoll sets: the soft limit raised up to
 * the hard one. 0, or -1 with the reason printed. */
static int fd_room(unsigned sessions)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)sessions + MAX_THREADS + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fprintf(stderr, "iscsi-blast: %u sessions need %llu file descriptors; the hard "
				"limit is %llu (ulimit -Hn)\n", sessions, (unsigned long long)need,
			(unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "iscsi-blast: setrlimit(RLIMIT_NOFILE, %llu): %s\n",
			(unsigned long long)need, strerror(errno));
		return -1;
	}
	return 0;
}

static double cpu_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u),
			       .tv_nsec = (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	static uint8_t wdata[16u << 20];
	struct sess *sess;
	struct group grp[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	uint64_t ios = 0, bad = 0, shorts = 0, seed;
	double cpu0 = 0, cpu1 = 0, idle = 0;
	long mpid = 0, rss_base = -1, rss_idle = -1, rss_busy = -1;
	unsigned i, failed = 0, threads = 0, ncpu;
	int opt;

	cfg.qd = 32;
	cfg.sessions = 1;
	cfg.xfer = 4096;
	cfg.secs = 10;
	cfg.warm = 1;
	while ((opt = getopt(argc, argv, "q:c:T:t:W:b:wM:I:h")) != -1) {
		switch (opt) {
		case 'q': cfg.qd = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': cfg.sessions = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'T': threads = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': cfg.secs = strtod(optarg, NULL); break;
		case 'W': cfg.warm = strtod(optarg, NULL); break;
		case 'b': cfg.xfer = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'w': cfg.write = 1; break;
		case 'M': mpid = strtol(optarg, NULL, 10); break;
		case 'I': idle = strtod(optarg, NULL); break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 1 || parse_url(argv[optind])) {
		usage();
		return 2;
	}
	/* default: a thread per CPU, never more than sessions */
	ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (!threads)
		threads = ncpu ? ncpu : 1;
	if (threads > cfg.sessions)
		threads = cfg.sessions;
	if (!cfg.qd || cfg.qd > MAX_QD || !cfg.sessions || cfg.sessions > MAX_SESSIONS ||
	    !threads || threads > MAX_THREADS || !(cfg.secs > 0) || !(cfg.warm >= 0) ||
	    cfg.secs > 86400 || cfg.warm > 86400 || !(idle >= 0) || idle > 3600 || mpid < 0 ||
	    cfg.xfer < 512 || cfg.xfer > sizeof(wdata)) {
		fprintf(stderr, "iscsi-blast: -q 1..%u, -c 1..%u, -T 1..%u, -t > 0, -W >= 0, "
				"-I 0..3600, -b 512..%zu\n", MAX_QD, MAX_SESSIONS, MAX_THREADS,
			sizeof(wdata));
		return 2;
	}
	if (mpid && rss_kb(mpid) < 0) {
		fprintf(stderr, "iscsi-blast: -M %ld: no such process\n", mpid);
		return 2;
	}
	if (fd_room(cfg.sessions))
		return 1;
	sess = calloc(cfg.sessions, sizeof(*sess));
	if (!sess) {
		fprintf(stderr, "iscsi-blast: out of memory\n");
		return 1;
	}
	memset(wdata, 0xa5, cfg.xfer);
	seed = now_ns() ^ (uint64_t)getpid() << 32;
	for (i = 0; i < cfg.sessions; i++) {
		struct sess *s = &sess[i];

		s->idx = i;
		rawini_init(&s->ri);
		s->ri.max_data = SETUP_DATA;	/* rawini_recv is only used during setup */
		rawini_set_lun(&s->ri, cfg.lun);
		s->wdata = wdata;
		s->rng = (seed + 0x9e3779b97f4a7c15ull * (i + 1)) | 1;
		/* ISID type 10 (random, RFC 7143 10.12.5): 24 random bits, then the session as
		 * the 16-bit qualifier, so every session is its own I_T nexus */
		s->ri.isid[0] = 0x80;
		s->ri.isid[1] = (uint8_t)(seed >> 16);
		s->ri.isid[2] = (uint8_t)(seed >> 8);
		s->ri.isid[3] = (uint8_t)seed;
		put_be16(s->ri.isid + 4, (uint16_t)i);
	}
	if (mpid)
		rss_base = rss_kb(mpid);
	pthread_barrier_init(&ready_bar, NULL, threads + 1);
	pthread_barrier_init(&go_bar, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		/* contiguous shares, as even as they go */
		unsigned first = (unsigned)((uint64_t)cfg.sessions * i / threads);

		grp[i].s = &sess[first];
		grp[i].n = (unsigned)((uint64_t)cfg.sessions * (i + 1) / threads) - first;
		if (pthread_create(&th[i], NULL, group_main, &grp[i])) {
			fprintf(stderr, "iscsi-blast: cannot start thread %u\n", i);
			return 1;	/* the started threads wait at the barrier: exit them all */
		}
	}
	pthread_barrier_wait(&ready_bar);
	/* every session logged in and idle: the target's memory now, after -I seconds */
	if (!abort_all && (idle > 0 || mpid)) {
		sleep_until(now_ns() + (uint64_t)(idle * 1e9));
		if (mpid)
			rss_idle = rss_kb(mpid);
	}
	if (!abort_all)	/* bench/run.sh starts its warm-up clock here */
		fprintf(stderr, "iscsi-blast: %u sessions logged in\n", cfg.sessions);
	t_count = now_ns() + (uint64_t)(cfg.warm * 1e9);
	t_end = t_count + (uint64_t)(cfg.secs * 1e9);
	pthread_barrier_wait(&go_bar);
	if (!abort_all) {
		sleep_until(t_count);
		cpu0 = cpu_secs();
		sleep_until(t_end);
		cpu1 = cpu_secs();
		if (mpid)
			rss_busy = rss_kb(mpid);
	}
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < cfg.sessions; i++) {
		if (sess[i].err[0]) {
			if (failed < 10)
				fprintf(stderr, "iscsi-blast: session %u: %s\n", i, sess[i].err);
			failed++;
		}
		ios += sess[i].ios;
		bad += sess[i].bad_status;
		shorts += sess[i].short_reads;
	}
	free(sess);
	if (failed > 10)
		fprintf(stderr, "iscsi-blast: %u sessions failed in all\n", failed);
	if (bad || shorts)
		fprintf(stderr, "iscsi-blast: %llu commands ended with a status other than GOOD, "
			"%llu reads returned less data than asked\n",
			(unsigned long long)bad, (unsigned long long)shorts);
	if (failed)
		return 1;
	printf("ios %llu secs %.3f iops %.0f sessions %u qd %u client_us_per_io %.2f threads %u\n",
	       (unsigned long long)ios, cfg.secs, (double)ios / cfg.secs, cfg.sessions, cfg.qd,
	       ios ? (cpu1 - cpu0) * 1e6 / (double)ios : 0.0, threads);
	if (mpid)
		printf("target_rss_kb base %ld idle %ld busy %ld idle_per_session_kb %.1f "
		       "busy_per_session_kb %.1f\n", rss_base, rss_idle, rss_busy,
		       (double)(rss_idle - rss_base) / cfg.sessions,
		       (double)(rss_busy - rss_base) / cfg.sessions);
	return bad || shorts || !ios ? 1 : 0;
}
