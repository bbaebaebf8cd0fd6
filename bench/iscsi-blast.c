/* iscsi-blast: a cheap iSCSI load generator, without libiscsi. It keeps QD READ(10) (or, with
 * -w, WRITE(10)) commands of -b bytes in flight at random block-aligned LBAs, on each of -c
 * sessions (one thread each), for a given time, and prints the IOPS. Its point is its cost: a
 * libiscsi client (iscsi-perf, bench/iscsi-lat.c) spends about twice the CPU per 4 KiB I/O that
 * invard does, so on a small host the client is the bottleneck; this one builds every ready
 * command into one buffer and sends it with one send(), reads with large recv() calls and parses
 * every complete PDU in the buffer, and copies no read data anywhere. Used by bench/run.sh.
 *
 *   iscsi-blast [-q QD] [-c SESSIONS] [-t SECONDS] [-W WARMUP] [-b BYTES] [-w]
 *               iscsi://HOST:PORT/TARGET_IQN/LUN
 *
 * Each session: TCP connect, login (security stage with AuthMethod=None, then the operational
 * stage: no digests, ImmediateData=Yes, InitialR2T=No, MaxRecvDataSegmentLength 262144), READ
 * CAPACITY(10) (READ CAPACITY(16) when the LU has 2^32 blocks or more; READ(10) then addresses
 * the first 2^32), then the load; the target's MaxCmdSN window and MaxRecvDataSegmentLength are
 * honoured. Writes carry their data as immediate data up to FirstBurstLength; any rest is sent
 * on the target's R2Ts. Target pings (NOP-In with a TTT) are answered; an Async Message asking
 * for a logout ends the session's load early and logs out; anything else unexpected (Reject,
 * other async events, a PDU longer than we allow) ends the session with an error.
 *
 * Output, one line on stdout: "ios N secs S iops I sessions C qd Q client_us_per_io U", where N
 * counts the I/Os completed inside the timed window (after the warm-up) over all sessions, and
 * U is this process's own CPU time (all threads) over that window divided by N. Errors go to
 * stderr. Exit status: 0; 1 when a session failed or any command ended with a status other than
 * GOOD (the count is printed; the line is still printed if every session ran); 2 on usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/time.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "../tests/tools/raw_io.h"

#define BHS 48
#define MAX_QD 1024
#define MAX_SESSIONS 64
#define OUR_MRDSL 262144u		/* what we offer: the longest data segment we accept */
#define MAX_PDU (BHS + 255 * 4 + OUR_MRDSL + 4)
#define RBUF_SIZE (4u << 20)
#define SETUP_DATA 4096u		/* longest data segment accepted during login/setup */
#define IO_TIMEOUT_MS 10000
#define DRAIN_NS 30000000000ull		/* in-flight commands may take this long after the end */
#define ITT_SETUP 0x80000000u		/* ITTs of login, READ CAPACITY and logout */
#define NO_TAG 0xffffffffu

enum { OP_NOP_OUT = 0x00, OP_SCSI_CMD = 0x01, OP_LOGIN = 0x03, OP_DATA_OUT = 0x05,
       OP_LOGOUT = 0x06, OP_NOP_IN = 0x20, OP_SCSI_RSP = 0x21, OP_LOGIN_RSP = 0x23,
       OP_DATA_IN = 0x25, OP_LOGOUT_RSP = 0x26, OP_R2T = 0x31, OP_ASYNC = 0x32,
       OP_REJECT = 0x3f };

/* ---------------------------------------------------------------- byte order */
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t get24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }
static uint32_t pad4(uint32_t n) { return (n + 3) & ~3u; }
/* Serial number arithmetic (RFC 1982, 32 bits): a after b. */
static int sn_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

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
	int fd;
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t cmdsn, expstatsn, maxcmdsn, gen;
	/* negotiated */
	uint32_t t_mrdsl, first_burst, max_burst;
	int immediate;
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
	size_t rlen;
	const uint8_t *wdata;
	int stopping, logout_sent, logged_out;
	uint64_t ios, bad_status, short_reads;
	char err[256];
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

static void put_lun(uint8_t *b)
{
	/* SAM-5 single level LUN: peripheral addressing below 256, flat space above */
	if (cfg.lun < 256) {
		b[9] = (uint8_t)cfg.lun;
	} else {
		b[8] = (uint8_t)(0x40 | cfg.lun >> 8);
		b[9] = (uint8_t)cfg.lun;
	}
}

/* ---------------------------------------------------------------- blocking setup I/O */
static int send_pdu(struct sess *s, uint8_t *bhs, const void *data, uint32_t len)
{
	static const uint8_t zero[4];

	bhs[5] = (uint8_t)(len >> 16);
	bhs[6] = (uint8_t)(len >> 8);
	bhs[7] = (uint8_t)len;
	if (write_all(s->fd, bhs, BHS) || (len && write_all(s->fd, data, len)) ||
	    (pad4(len) != len && write_all(s->fd, zero, pad4(len) - len)))
		return -1;
	return 0;
}

/* The sequence numbers a target PDU carries (RFC 7143 11.*): StatSN acknowledged through
 * ExpStatSN when the PDU carries status, MaxCmdSN widened when it moves forward. */
static void note_sns(struct sess *s, const uint8_t *b)
{
	uint8_t op = b[0] & 0x3f;
	uint32_t exp = get32(b + 28), max = get32(b + 32);

	if (op == OP_SCSI_RSP || op == OP_LOGOUT_RSP || op == OP_REJECT || op == OP_ASYNC ||
	    (op == OP_DATA_IN && (b[1] & 0x01)) ||
	    (op == OP_NOP_IN && get32(b + 16) != NO_TAG))
		s->expstatsn = get32(b + 24) + 1;
	else if (op == OP_NOP_IN)
		s->expstatsn = get32(b + 24);	/* a ping: StatSN not advanced */
	/* A MaxCmdSN below ExpCmdSN - 1 is to be ignored (RFC 7143 4.2.2.1). */
	if (op != OP_LOGIN_RSP && !sn_gt(exp - 1, max) && sn_gt(max, s->maxcmdsn))
		s->maxcmdsn = max;
}

/* The NOP-Out answering a target's ping (NOP-In with a TTT, RFC 7143 11.18), into b. */
static void build_nop_reply(struct sess *s, const uint8_t *nopin, uint8_t *b)
{
	memset(b, 0, BHS);
	b[0] = 0x40 | OP_NOP_OUT;
	b[1] = 0x80;
	memcpy(b + 8, nopin + 8, 8);
	put32(b + 16, NO_TAG);
	memcpy(b + 20, nopin + 20, 4);
	put32(b + 24, s->cmdsn);
	put32(b + 28, s->expstatsn);
}

/* Next PDU during setup (blocking), answering pings; data (at most SETUP_DATA bytes) into
 * data, its length into *len. 0, or -1 (closed, timeout, too long). */
static int recv_setup_pdu(struct sess *s, uint8_t *bhs, uint8_t *data, uint32_t *len)
{
	uint8_t skip[255 * 4];

	for (;;) {
		uint32_t ahs, dsl;

		if (read_all(s->fd, bhs, BHS, IO_TIMEOUT_MS))
			return -1;
		ahs = bhs[4] * 4u;
		dsl = get24(bhs + 5);
		if (dsl > SETUP_DATA) {
			fail(s, "target sent a %u-byte data segment during setup (opcode 0x%02x)",
			     dsl, bhs[0] & 0x3f);
			return -1;
		}
		if ((ahs && read_all(s->fd, skip, ahs, IO_TIMEOUT_MS)) || (dsl && read_all(s->fd, data, pad4(dsl), IO_TIMEOUT_MS)))
			return -1;
		*len = dsl;
		note_sns(s, bhs);
		if ((bhs[0] & 0x3f) == OP_NOP_IN) {
			uint8_t b[BHS];

			if (get32(bhs + 20) == NO_TAG)
				continue;
			build_nop_reply(s, bhs, b);
			if (send_pdu(s, b, NULL, 0))
				return -1;
			continue;
		}
		return 0;
	}
}

/* ---------------------------------------------------------------- login */
static size_t add_key(char *buf, size_t off, size_t max, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + off, max - off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 > max - off)
		return off;
	return off + (size_t)n + 1;
}

/* The value of key in a login text (NUL-separated key=value pairs), or NULL. */
static const char *text_val(const uint8_t *text, uint32_t len, const char *key)
{
	size_t kl = strlen(key);
	uint32_t off = 0;

	while (off < len) {
		const char *p = (const char *)text + off;
		size_t pl = strnlen(p, len - off);

		if (pl > kl && p[kl] == '=' && !strncmp(p, key, kl) && off + pl < len)
			return p + kl + 1;
		off += (uint32_t)pl + 1;
	}
	return NULL;
}

static void take_num(const uint8_t *text, uint32_t len, const char *key, uint32_t *v)
{
	const char *p = text_val(text, len, key);

	if (p)
		*v = (uint32_t)strtoul(p, NULL, 10);
}

/* One login stage: CSG -> NSG with its keys, repeated (empty) until the target agrees to the
 * transit; the negotiated values are read from every answer. */
static int login_stage(struct sess *s, unsigned csg, unsigned nsg, const char *text, size_t tlen)
{
	uint8_t b[BHS], rsp[BHS], data[SETUP_DATA + 4];
	uint32_t len;
	unsigned round;

	for (round = 0; round < 8; round++) {
		const char *v;

		memset(b, 0, BHS);
		b[0] = 0x40 | OP_LOGIN;
		b[1] = (uint8_t)(0x80 | csg << 2 | nsg);
		memcpy(b + 8, s->isid, 6);
		put16(b + 14, s->tsih);
		put32(b + 16, ITT_SETUP);
		put32(b + 24, s->cmdsn);
		put32(b + 28, s->expstatsn);
		if (send_pdu(s, b, text, round ? 0 : (uint32_t)tlen) ||
		    recv_setup_pdu(s, rsp, data, &len)) {
			fail(s, "login: connection lost");
			return -1;
		}
		if ((rsp[0] & 0x3f) != OP_LOGIN_RSP) {
			fail(s, "login: answered with opcode 0x%02x", rsp[0] & 0x3f);
			return -1;
		}
		if (rsp[36] || rsp[37]) {
			fail(s, "login refused: status class 0x%02x detail 0x%02x", rsp[36], rsp[37]);
			return -1;
		}
		s->expstatsn = get32(rsp + 24) + 1;
		s->cmdsn = get32(rsp + 28);
		s->maxcmdsn = get32(rsp + 32);
		s->tsih = (uint16_t)(rsp[14] << 8 | rsp[15]);
		take_num(data, len, "MaxRecvDataSegmentLength", &s->t_mrdsl);
		take_num(data, len, "MaxBurstLength", &s->max_burst);
		take_num(data, len, "FirstBurstLength", &s->first_burst);
		if ((v = text_val(data, len, "ImmediateData")))
			s->immediate = !strcmp(v, "Yes");
		if ((v = text_val(data, len, "AuthMethod")) && strcmp(v, "None")) {
			fail(s, "login: target wants AuthMethod=%s", v);
			return -1;
		}
		if ((rsp[1] & 0x80) && (rsp[1] & 3) == nsg)
			return 0;
	}
	fail(s, "login: the target did not move to stage %u", nsg);
	return -1;
}

static int login(struct sess *s)
{
	char text[1024];
	size_t off = 0;

	/* RFC 7143 defaults, until the target says otherwise */
	s->t_mrdsl = 8192;
	s->max_burst = 262144;
	s->first_burst = 65536;
	s->immediate = 1;
	off = add_key(text, off, sizeof(text), "InitiatorName=iqn.2026-11.org.invar:bench-blast");
	off = add_key(text, off, sizeof(text), "SessionType=Normal");
	off = add_key(text, off, sizeof(text), "TargetName=%s", cfg.target);
	off = add_key(text, off, sizeof(text), "AuthMethod=None");
	if (login_stage(s, 0, 1, text, off))
		return -1;
	off = 0;
	off = add_key(text, off, sizeof(text), "HeaderDigest=None");
	off = add_key(text, off, sizeof(text), "DataDigest=None");
	off = add_key(text, off, sizeof(text), "MaxConnections=1");
	off = add_key(text, off, sizeof(text), "InitialR2T=No");
	off = add_key(text, off, sizeof(text), "ImmediateData=Yes");
	off = add_key(text, off, sizeof(text), "MaxRecvDataSegmentLength=%u", OUR_MRDSL);
	off = add_key(text, off, sizeof(text), "MaxBurstLength=%u", 1u << 20);
	off = add_key(text, off, sizeof(text), "FirstBurstLength=%u", OUR_MRDSL);
	off = add_key(text, off, sizeof(text), "MaxOutstandingR2T=1");
	off = add_key(text, off, sizeof(text), "DataPDUInOrder=Yes");
	off = add_key(text, off, sizeof(text), "DataSequenceInOrder=Yes");
	off = add_key(text, off, sizeof(text), "ErrorRecoveryLevel=0");
	if (login_stage(s, 1, 3, text, off))
		return -1;
	/* Bound what the target said: a data segment of ours is at least 512 bytes and at most
	 * what we could ever send in one go. */
	if (s->t_mrdsl < 512 || s->t_mrdsl > (16u << 20) || !s->max_burst) {
		fail(s, "login: unusable MaxRecvDataSegmentLength %u / MaxBurstLength %u",
		     s->t_mrdsl, s->max_burst);
		return -1;
	}
	if (s->first_burst > s->max_burst)
		s->first_burst = s->max_burst;
	return 0;
}

/* ---------------------------------------------------------------- setup commands */
static void build_cmd(struct sess *s, uint8_t *b, uint32_t itt, uint8_t flags,
		      const uint8_t cdb[16], uint32_t edtl)
{
	memset(b, 0, BHS);
	b[0] = OP_SCSI_CMD;
	b[1] = (uint8_t)(flags | 0x01);	/* task attribute SIMPLE */
	put_lun(b);
	put32(b + 16, itt);
	put32(b + 20, edtl);
	put32(b + 24, s->cmdsn);
	put32(b + 28, s->expstatsn);
	memcpy(b + 32, cdb, 16);
}

/* One command with a Data-In answer, blocking; the data into out (at most outlen bytes).
 * Returns the SCSI status, or -1. A CHECK CONDITION (a unit attention after login) is retried
 * a few times. */
static int setup_cmd(struct sess *s, const uint8_t cdb[16], uint8_t *out, uint32_t outlen)
{
	uint8_t b[BHS], rsp[BHS], data[SETUP_DATA + 4];
	uint32_t len, itt;
	unsigned attempt;
	int st = -1;

	for (attempt = 0; attempt < 4; attempt++) {
		itt = ITT_SETUP | (s->gen++ & 0xffff);
		build_cmd(s, b, itt, 0xc0, cdb, outlen);
		s->cmdsn++;
		if (send_pdu(s, b, NULL, 0))
			return -1;
		for (;;) {
			uint8_t op;

			if (recv_setup_pdu(s, rsp, data, &len))
				return -1;
			op = rsp[0] & 0x3f;
			if (op == OP_REJECT || (op == OP_ASYNC && rsp[36] != 0)) {
				fail(s, "setup: target sent opcode 0x%02x (reason/event 0x%02x)", op,
				     op == OP_REJECT ? rsp[2] : rsp[36]);
				return -1;
			}
			if (get32(rsp + 16) != itt)
				continue;
			if (op == OP_DATA_IN) {
				uint32_t off = get32(rsp + 40);

				if (off < outlen)
					memcpy(out + off, data, len < outlen - off ? len : outlen - off);
				if (rsp[1] & 0x01) {
					st = rsp[3];
					break;
				}
			} else if (op == OP_SCSI_RSP) {
				st = rsp[2] ? -1 : rsp[3];
				break;
			}
		}
		if (st != 0x02)
			return st;
	}
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
	s->block_size = get32(d + 4);
	s->nblocks = (uint64_t)get32(d) + 1;
	if (get32(d) == 0xffffffffu) {
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x9e;
		cdb[1] = 0x10;
		put32(cdb + 10, sizeof(d));
		st = setup_cmd(s, cdb, d, sizeof(d));
		if (st != 0) {
			fail(s, "READ CAPACITY(16): status %d", st);
			return -1;
		}
		s->block_size = get32(d + 8);
		s->nblocks = get64(d) + 1;
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

static uint8_t *append(struct sess *s, const void *bhs, const void *data, uint32_t len)
{
	uint8_t *p = s->sbuf + s->slen;

	memcpy(p, bhs, BHS);
	p[5] = (uint8_t)(len >> 16);
	p[6] = (uint8_t)(len >> 8);
	p[7] = (uint8_t)len;
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
	uint32_t n = (sl->r2t_len + s->t_mrdsl - 1) / s->t_mrdsl, i, off = sl->r2t_off;
	uint8_t b[BHS];

	if (!room(s, (size_t)n * BHS + pad4(sl->r2t_len) + 4 * n))
		return 0;
	for (i = 0; i < n; i++) {
		uint32_t len = sl->r2t_len - (off - sl->r2t_off);

		if (len > s->t_mrdsl)
			len = s->t_mrdsl;
		memset(b, 0, BHS);
		b[0] = OP_DATA_OUT;
		b[1] = i == n - 1 ? 0x80 : 0;
		put_lun(b);
		put32(b + 16, sl->itt);
		put32(b + 20, sl->r2t_ttt);
		put32(b + 28, s->expstatsn);
		put32(b + 36, i);
		put32(b + 40, off);
		append(s, b, s->wdata + off, len);
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
	uint8_t b[BHS], cdb[16] = { 0 };

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
	if (cfg.write && s->immediate) {
		imm = cfg.xfer;
		if (imm > s->first_burst)
			imm = s->first_burst;
		if (imm > s->t_mrdsl)
			imm = s->t_mrdsl;
	}
	while (s->inflight < cfg.qd && !sn_gt(s->cmdsn, s->maxcmdsn) && room(s, BHS + pad4(imm))) {
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
		put32(cdb + 2, (uint32_t)lba);
		put16(cdb + 7, (uint16_t)blocks);
		/* F set: no unsolicited Data-Out follows; the rest of a write comes on R2Ts. */
		build_cmd(s, b, sl->itt, cfg.write ? 0xa0 : 0xc0, cdb, cfg.xfer);
		append(s, b, s->wdata, imm);
		s->cmdsn++;
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
static int handle(struct sess *s, const uint8_t *b, const uint8_t *data, uint32_t dsl,
		  uint64_t now)
{
	uint8_t op = b[0] & 0x3f, rb[BHS];
	struct slot *sl;

	(void)data;	/* read data is not looked at */

	note_sns(s, b);
	switch (op) {
	case OP_DATA_IN:
		sl = slot_of(s, get32(b + 16));
		if (!sl || get32(b + 40) + (uint64_t)dsl > cfg.xfer) {
			fail(s, "Data-In for an unknown task or beyond its length (ITT 0x%08x)",
			     get32(b + 16));
			return -1;
		}
		sl->got += dsl;
		if (b[1] & 0x01)
			complete(s, sl, b[3], now);
		return 0;
	case OP_SCSI_RSP:
		sl = slot_of(s, get32(b + 16));
		if (!sl) {
			fail(s, "SCSI Response for an unknown task (ITT 0x%08x)", get32(b + 16));
			return -1;
		}
		/* a response code other than "completed at target" counts as a failed status */
		complete(s, sl, b[2] ? 0xff : b[3], now);
		return 0;
	case OP_R2T:
		sl = slot_of(s, get32(b + 16));
		if (!sl || !cfg.write || sl->r2t_len || !get32(b + 44) ||
		    get32(b + 40) + (uint64_t)get32(b + 44) > cfg.xfer) {
			fail(s, "R2T not matching an outstanding write (ITT 0x%08x, offset %u, "
				"length %u)", get32(b + 16), get32(b + 40), get32(b + 44));
			return -1;
		}
		sl->r2t_ttt = get32(b + 20);
		sl->r2t_off = get32(b + 40);
		sl->r2t_len = get32(b + 44);
		return 0;
	case OP_NOP_IN:
		if (get32(b + 20) == NO_TAG)
			return 0;
		if (!room(s, BHS)) {
			fail(s, "no room to answer a NOP-In");
			return -1;
		}
		build_nop_reply(s, b, rb);
		append(s, rb, NULL, 0);
		return 0;
	case OP_ASYNC:
		if (b[36] == 0)
			return 0;	/* a SCSI asynchronous event: sense data we do not use */
		if (b[36] == 1) {
			/* the target asks for a logout: stop, drain, log out */
			fprintf(stderr, "iscsi-blast: session %u: target requested a logout\n", s->idx);
			s->stopping = 1;
			return 0;
		}
		fail(s, "Async Message, event %u", b[36]);
		return -1;
	case OP_LOGOUT_RSP:
		if (!s->logout_sent || b[2]) {
			fail(s, "Logout Response 0x%02x", b[2]);
			return -1;
		}
		s->logged_out = 1;
		return 0;
	case OP_REJECT:
		fail(s, "Reject, reason 0x%02x", b[2]);
		return -1;
	default:
		fail(s, "unexpected opcode 0x%02x", op);
		return -1;
	}
}

/* Every complete PDU in the receive buffer; a partial one is kept for the next recv. */
static int parse(struct sess *s, uint64_t now)
{
	size_t pos = 0;

	while (s->rlen - pos >= BHS) {
		const uint8_t *b = s->rbuf + pos;
		uint32_t ahs = b[4] * 4u, dsl = get24(b + 5);
		size_t total = BHS + ahs + pad4(dsl);

		if (dsl > OUR_MRDSL) {
			fail(s, "target sent a %u-byte data segment (opcode 0x%02x), over our %u",
			     dsl, b[0] & 0x3f, OUR_MRDSL);
			return -1;
		}
		if (s->rlen - pos < total)
			break;
		if (handle(s, b, b + BHS + ahs, dsl, now))
			return -1;
		pos += total;
	}
	if (pos) {
		memmove(s->rbuf, s->rbuf + pos, s->rlen - pos);
		s->rlen -= pos;
	}
	return 0;
}

/* The event loop of one session. The socket is blocking with a 1 s receive timeout: when
 * nothing waits to be sent, a wake-up costs one recv() (which sleeps until answers arrive) and
 * one send() of the next batch. */
static int run_load(struct sess *s)
{
	uint64_t now = now_ns();

	for (;;) {
		ssize_t n;
		int flags = 0;

		fill(s, now);
		if (s->stopping && !s->inflight && !s->logout_sent && room(s, BHS)) {
			uint8_t b[BHS] = { 0x40 | OP_LOGOUT, 0x80 };	/* close the session */

			put32(b + 16, ITT_SETUP | 0xffff);
			put32(b + 24, s->cmdsn);
			put32(b + 28, s->expstatsn);
			append(s, b, NULL, 0);
			s->logout_sent = 1;
		}
		if (s->logged_out)
			return 0;
		/* Send what is queued: one send for the whole batch. */
		while (s->shead < s->slen) {
			n = send(s->fd, s->sbuf + s->shead, s->slen - s->shead,
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
		if (s->shead < s->slen) {
			/* The socket is full: wait until it drains or answers arrive. */
			struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLOUT };

			if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
				fail(s, "poll: %s", strerror(errno));
				return -1;
			}
			flags = MSG_DONTWAIT;
		}
		n = recv(s->fd, s->rbuf + s->rlen, RBUF_SIZE - s->rlen, flags);
		now = now_ns();
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (now > t_end + DRAIN_NS) {
				fail(s, "%u commands not answered %llu s after the end", s->inflight,
				     (unsigned long long)(DRAIN_NS / 1000000000u));
				return -1;
			}
			continue;
		}
		if (n <= 0) {
			fail(s, "recv: %s", n < 0 ? strerror(errno) : "connection closed by the target");
			return -1;
		}
		s->rlen += (size_t)n;
		if (parse(s, now))
			return -1;
	}
}

/* ---------------------------------------------------------------- sessions */
static int sess_connect(struct sess *s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	struct timeval rcv_to = { .tv_sec = 1 }, snd_to = { .tv_sec = IO_TIMEOUT_MS / 1000 };
	int one = 1, r;

	r = getaddrinfo(cfg.host, cfg.port, &hints, &ai);
	if (r) {
		fail(s, "%s: %s", cfg.host, gai_strerror(r));
		return -1;
	}
	s->fd = -1;
	for (a = ai; a && s->fd < 0; a = a->ai_next) {
		s->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s->fd >= 0 && connect(s->fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(s->fd);
			s->fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (s->fd < 0) {
		fail(s, "cannot connect to %s:%s", cfg.host, cfg.port);
		return -1;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* a blocking socket that never blocks for long: the load loop wakes up once a second
	 * while waiting, to notice a target that stopped answering */
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &rcv_to, sizeof(rcv_to));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &snd_to, sizeof(snd_to));
	return 0;
}

static void *session_main(void *arg)
{
	struct sess *s = arg;
	int ok;

	s->fd = -1;
	ok = !sess_connect(s) && !login(s) && !read_capacity(s);
	s->slots = calloc(cfg.qd, sizeof(*s->slots));
	/* every command with its immediate data, plus the Data-Out for one R2T in chunks of at
	 * least 512 bytes, plus NOP-Out answers */
	s->scap = (size_t)cfg.qd * (BHS + (cfg.write ? pad4(cfg.xfer) : 0)) + 65536 +
		  (cfg.write ? (size_t)(cfg.xfer / 512 + 1) * (BHS + 4) + cfg.xfer : 0);
	s->sbuf = malloc(s->scap);
	s->rbuf = malloc(RBUF_SIZE);
	if (ok && (!s->slots || !s->sbuf || !s->rbuf)) {
		fail(s, "out of memory");
		ok = 0;
	}
	if (!ok)
		abort_all = 1;
	pthread_barrier_wait(&ready_bar);	/* main sets the timed window */
	pthread_barrier_wait(&go_bar);
	if (ok && !abort_all)
		run_load(s);
	if (s->fd >= 0)
		close(s->fd);
	free(s->slots);
	free(s->sbuf);
	free(s->rbuf);
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
	fprintf(stderr, "usage: iscsi-blast [-q QD] [-c SESSIONS] [-t SECONDS] [-W WARMUP] "
			"[-b BYTES] [-w] iscsi://HOST:PORT/TARGET_IQN/LUN\n");
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
	static struct sess sess[MAX_SESSIONS];
	static uint8_t wdata[16u << 20];
	pthread_t th[MAX_SESSIONS];
	uint64_t ios = 0, bad = 0, shorts = 0, seed;
	double cpu0 = 0, cpu1 = 0;
	unsigned i, failed = 0;
	int opt;

	cfg.qd = 32;
	cfg.sessions = 1;
	cfg.xfer = 4096;
	cfg.secs = 10;
	cfg.warm = 1;
	while ((opt = getopt(argc, argv, "q:c:t:W:b:wh")) != -1) {
		switch (opt) {
		case 'q': cfg.qd = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': cfg.sessions = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': cfg.secs = strtod(optarg, NULL); break;
		case 'W': cfg.warm = strtod(optarg, NULL); break;
		case 'b': cfg.xfer = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'w': cfg.write = 1; break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 1 || parse_url(argv[optind])) {
		usage();
		return 2;
	}
	if (!cfg.qd || cfg.qd > MAX_QD || !cfg.sessions || cfg.sessions > MAX_SESSIONS ||
	    !(cfg.secs > 0) || !(cfg.warm >= 0) || cfg.secs > 86400 || cfg.warm > 86400 ||
	    cfg.xfer < 512 || cfg.xfer > sizeof(wdata)) {
		fprintf(stderr, "iscsi-blast: -q 1..%u, -c 1..%u, -t > 0, -W >= 0, -b 512..%zu\n",
			MAX_QD, MAX_SESSIONS, sizeof(wdata));
		return 2;
	}
	memset(wdata, 0xa5, cfg.xfer);
	seed = now_ns() ^ (uint64_t)getpid() << 32;
	pthread_barrier_init(&ready_bar, NULL, cfg.sessions + 1);
	pthread_barrier_init(&go_bar, NULL, cfg.sessions + 1);
	for (i = 0; i < cfg.sessions; i++) {
		struct sess *s = &sess[i];

		s->idx = i;
		s->wdata = wdata;
		s->rng = (seed + 0x9e3779b97f4a7c15ull * (i + 1)) | 1;
		/* ISID type 10 (random, RFC 7143 10.12.5): 24 random bits, then the session as
		 * the 16-bit qualifier, so every session is its own I_T nexus */
		s->isid[0] = 0x80;
		s->isid[1] = (uint8_t)(seed >> 16);
		s->isid[2] = (uint8_t)(seed >> 8);
		s->isid[3] = (uint8_t)seed;
		put16(s->isid + 4, (uint16_t)i);
		if (pthread_create(&th[i], NULL, session_main, s)) {
			fprintf(stderr, "iscsi-blast: cannot start thread %u\n", i);
			return 1;	/* the started threads wait at the barrier: exit them all */
		}
	}
	pthread_barrier_wait(&ready_bar);
	t_count = now_ns() + (uint64_t)(cfg.warm * 1e9);
	t_end = t_count + (uint64_t)(cfg.secs * 1e9);
	pthread_barrier_wait(&go_bar);
	if (!abort_all) {
		sleep_until(t_count);
		cpu0 = cpu_secs();
		sleep_until(t_end);
		cpu1 = cpu_secs();
	}
	for (i = 0; i < cfg.sessions; i++) {
		pthread_join(th[i], NULL);
		if (sess[i].err[0]) {
			fprintf(stderr, "iscsi-blast: session %u: %s\n", i, sess[i].err);
			failed++;
		}
		ios += sess[i].ios;
		bad += sess[i].bad_status;
		shorts += sess[i].short_reads;
	}
	if (bad || shorts)
		fprintf(stderr, "iscsi-blast: %llu commands ended with a status other than GOOD, "
			"%llu reads returned less data than asked\n",
			(unsigned long long)bad, (unsigned long long)shorts);
	if (failed)
		return 1;
	printf("ios %llu secs %.3f iops %.0f sessions %u qd %u client_us_per_io %.2f\n",
	       (unsigned long long)ios, cfg.secs, (double)ios / cfg.secs, cfg.sessions, cfg.qd,
	       ios ? (cpu1 - cpu0) * 1e6 / (double)ios : 0.0);
	return bad || shorts || !ios ? 1 : 0;
}
