/* iscsi-raw: a small raw-PDU iSCSI initiator for fault tests, without libiscsi in the way: it
 * sends exactly the PDUs a scenario needs, including ones a correct initiator never sends.
 *
 *   iscsi-raw [-k KEY=VALUE]... [-w SECONDS] HOST:PORT TARGET SCENARIO [N] [LEN]
 *
 * Logs in to TARGET (LUN 0, 512-byte blocks, no CHAP, no digests) with -k keys added to the
 * login text (overriding ours), then runs SCENARIO. Output is one "word value" item per line.
 *
 *   login           print the login status, ExpCmdSN/MaxCmdSN window and MaxBurstLength; hold
 *                   the session -w seconds; log out
 *   sessions N      N sessions at once: all log in, then each does TEST UNIT READY and a
 *                   4 KiB READ, then each logs out; prints counts and refusals
 *   window          a command beyond MaxCmdSN must get no answer, one inside it must
 *   r2t-overrun     WRITE of 4 KiB, Data-Out answering its R2T with 4.5 KiB
 *   burst-overrun   WRITE of 8 KiB with MaxBurstLength 4096: the first R2T answered with 8 KiB
 *   edtl-overrun    WRITE of 4 KiB, 2 KiB immediate + unsolicited Data-Out up to 6 KiB
 *   bad-ttt         WRITE of 4 KiB, Data-Out with a TTT the target never sent
 *   imm-overrun     WRITE with immediate data beyond FirstBurstLength
 *   mrdsl-overrun   WRITE of 16 KiB answered with one Data-Out of 16 KiB (over a small MRDSL)
 *                   (these print the command's outcome, then TEST UNIT READY's)
 *   abort-write LEN WRITE of LEN bytes, half of its data, then a reset connection
 *   slowread N LEN  N READs of LEN bytes sent without ever reading the socket; -w seconds hold
 *   slowread-drain N LEN  the same, then every answer is read: prints answers and good
 *   heldwrites N LEN  N WRITEs of LEN bytes (a multiple of 512, at most 65535 blocks) and no
 *                   data: prints how many got an R2T, TASK SET FULL, BUSY or another answer
 *                   within 3 s, then holds the session -w seconds (their buffers stay held)
 *
 * Exit status 0 when the scenario ran (its output says what happened), 2 on usage errors or
 * when the target could not be reached or refused the first login. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "raw_io.h"

#define BHS 48
#define MAX_KEYS 32
#define MAX_DATA (16u << 20)
#define IO_TIMEOUT_MS 10000

struct pdu {
	uint8_t bhs[BHS];
	uint8_t *data;
	uint32_t len;
};

struct sess {
	int fd;
	uint32_t itt, cmdsn, expstatsn, maxcmdsn;
	uint16_t status;	/* login status class << 8 | detail */
	uint32_t max_burst;	/* negotiated */
	uint32_t first_burst;
	uint32_t mrdsl;		/* the target's MaxRecvDataSegmentLength */
	uint32_t isid;
};

static const char *host, *port, *target;
static const char *keys[MAX_KEYS];
static unsigned nkeys;
static unsigned wait_s;

static int send_pdu(int fd, uint8_t bhs[BHS], const void *data, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t pad = (4 - len % 4) % 4;

	bhs[5] = (uint8_t)(len >> 16);
	bhs[6] = (uint8_t)(len >> 8);
	bhs[7] = (uint8_t)len;
	if (write_all(fd, bhs, BHS) < 0 || (len && write_all(fd, data, len) < 0) ||
	    (pad && write_all(fd, zero, pad) < 0))
		return -1;
	return 0;
}

/* Next PDU, skipping target NOP-In pings. 0, -1 closed, -2 timeout. */
static int recv_pdu(struct sess *s, struct pdu *p, int timeout_ms)
{
	uint32_t ahs, pad;
	uint8_t op;
	uint8_t skip[1024];
	int r;

	for (;;) {
		free(p->data);
		p->data = NULL;
		r = read_all(s->fd, p->bhs, BHS, timeout_ms);
		if (r)
			return r;
		ahs = p->bhs[4] * 4u;
		p->len = (uint32_t)p->bhs[5] << 16 | (uint32_t)p->bhs[6] << 8 | p->bhs[7];
		pad = (4 - p->len % 4) % 4;
		if (ahs > sizeof(skip) || p->len > MAX_DATA)
			return -1;
		if (ahs && read_all(s->fd, skip, ahs, timeout_ms))
			return -1;
		p->data = malloc(p->len + pad + 1);
		if (!p->data || read_all(s->fd, p->data, p->len + pad, timeout_ms))
			return -1;
		/* Responses carrying a StatSN of their own are acknowledged through ExpStatSN
		 * (R2T and Data-In without status do not advance it). */
		op = p->bhs[0] & 0x3f;
		if (op != 0x31 && (op != 0x25 || (p->bhs[1] & 0x01)))
			s->expstatsn = get32(p->bhs + 24) + 1;
		if (op != 0x23)
			s->maxcmdsn = get32(p->bhs + 32);
		if (op == 0x20 && get32(p->bhs + 16) == 0xffffffff) {
			/* Target ping: answer (RFC 7143 11.18), keep waiting. */
			uint8_t b[BHS] = { 0x40, 0x80 };

			s->expstatsn = get32(p->bhs + 24);
			put32(b + 16, 0xffffffff);
			memcpy(b + 20, p->bhs + 20, 4);
			put32(b + 24, s->cmdsn);
			put32(b + 28, s->expstatsn);
			if (send_pdu(s->fd, b, NULL, 0))
				return -1;
			continue;
		}
		return 0;
	}
}

static int has_key(const char *name)
{
	size_t l = strlen(name);
	unsigned i;

	for (i = 0; i < nkeys; i++)
		if (!strncmp(keys[i], name, l) && keys[i][l] == '=')
			return 1;
	return 0;
}

static size_t add_key(char *buf, size_t off, size_t max, const char *kv)
{
	size_t l = strlen(kv) + 1;

	if (off + l > max)
		return off;
	memcpy(buf + off, kv, l);
	return off + l;
}

static uint32_t text_num(const char *text, uint32_t len, const char *key, uint32_t def)
{
	size_t kl = strlen(key);
	uint32_t off = 0;

	while (off < len) {
		const char *p = text + off;
		size_t pl = strnlen(p, len - off);

		if (pl > kl && p[kl] == '=' && !strncmp(p, key, kl))
			return (uint32_t)strtoul(p + kl + 1, NULL, 10);
		off += (uint32_t)pl + 1;
	}
	return def;
}

/* Logs in (operational stage straight to full feature phase). 0 with s->status set (which may
 * be a refusal), -1 when the connection failed. */
static int sess_login(struct sess *s)
{
	static const char *defaults[] = {
		"HeaderDigest=None", "DataDigest=None", "ErrorRecoveryLevel=0",
		"InitialR2T=Yes", "ImmediateData=Yes", "MaxRecvDataSegmentLength=262144",
		"MaxBurstLength=262144", "FirstBurstLength=65536", "MaxOutstandingR2T=1",
	};
	char text[4096], kv[300];
	struct pdu p = { 0 };
	size_t off = 0;
	unsigned i, round;

	s->fd = tcp_connect(host, port);
	if (s->fd < 0)
		return -1;
	snprintf(kv, sizeof(kv), "InitiatorName=iqn.2026-11.org.invar.test:raw%u", s->isid);
	off = add_key(text, off, sizeof(text), kv);
	off = add_key(text, off, sizeof(text), "SessionType=Normal");
	snprintf(kv, sizeof(kv), "TargetName=%s", target);
	off = add_key(text, off, sizeof(text), kv);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(defaults[i], "="), defaults[i]);
		if (!has_key(name))
			off = add_key(text, off, sizeof(text), defaults[i]);
	}
	for (i = 0; i < nkeys; i++)
		off = add_key(text, off, sizeof(text), keys[i]);
	s->max_burst = 262144;
	s->first_burst = 65536;
	s->mrdsl = 8192;
	for (round = 0; round < 4; round++) {
		uint8_t b[BHS] = { 0x43, 0x87 };

		b[8] = 0x40;	/* ISID: type 01 (random), then ours */
		put32(b + 10, s->isid);
		put32(b + 16, s->itt);
		put32(b + 24, s->cmdsn);
		put32(b + 28, s->expstatsn);
		if (send_pdu(s->fd, b, text, round ? 0 : (uint32_t)off) ||
		    recv_pdu(s, &p, IO_TIMEOUT_MS) || (p.bhs[0] & 0x3f) != 0x23) {
			free(p.data);
			return -1;
		}
		s->status = (uint16_t)(p.bhs[36] << 8 | p.bhs[37]);
		s->cmdsn = get32(p.bhs + 28);
		s->maxcmdsn = get32(p.bhs + 32);
		s->max_burst = text_num((char *)p.data, p.len, "MaxBurstLength", s->max_burst);
		s->first_burst = text_num((char *)p.data, p.len, "FirstBurstLength", s->first_burst);
		s->mrdsl = text_num((char *)p.data, p.len, "MaxRecvDataSegmentLength", s->mrdsl);
		if (s->status || ((p.bhs[1] & 0x80) && (p.bhs[1] & 3) == 3))
			break;
	}
	s->itt++;
	free(p.data);
	return 0;
}

static int sess_logout(struct sess *s)
{
	uint8_t b[BHS] = { 0x46, 0x80 };
	struct pdu p = { 0 };
	int ok;

	put32(b + 16, s->itt++);
	put32(b + 24, s->cmdsn);
	put32(b + 28, s->expstatsn);
	ok = !send_pdu(s->fd, b, NULL, 0) && !recv_pdu(s, &p, IO_TIMEOUT_MS) &&
	     (p.bhs[0] & 0x3f) == 0x26 && p.bhs[2] == 0;
	free(p.data);
	close(s->fd);
	s->fd = -1;
	return ok ? 0 : -1;
}

/* A SCSI Command PDU (RFC 7143 11.3) for LUN 0. */
static int send_cmd(struct sess *s, uint32_t itt, uint32_t cmdsn, uint8_t flags,
		    const uint8_t *cdb, uint32_t edtl, const void *imm, uint32_t imm_len)
{
	uint8_t b[BHS] = { 0x01, flags | 0x01 };

	put32(b + 16, itt);
	put32(b + 20, edtl);
	put32(b + 24, cmdsn);
	put32(b + 28, s->expstatsn);
	memcpy(b + 32, cdb, 16);
	return send_pdu(s->fd, b, imm, imm_len);
}

static int send_data_out(struct sess *s, uint32_t itt, uint32_t ttt, uint32_t datasn,
			 uint32_t offset, const void *data, uint32_t len, int final)
{
	uint8_t b[BHS] = { 0x05, final ? 0x80 : 0x00 };

	put32(b + 16, itt);
	put32(b + 20, ttt);
	put32(b + 28, s->expstatsn);
	put32(b + 36, datasn);
	put32(b + 40, offset);
	return send_pdu(s->fd, b, data, len);
}

static void cdb_rw10(uint8_t cdb[16], uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put32(cdb + 2, lba);
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
}

/* Waits for the answer to itt and prints it: "<label> status 0xSS [sense K/ASC/ASCQ]",
 * "<label> reject 0xRR", "<label> closed" or "<label> timeout". R2Ts are returned through r2t
 * (when not NULL) instead. Returns the SCSI status, or -1. */
static int wait_answer(struct sess *s, uint32_t itt, const char *label, struct pdu *r2t)
{
	struct pdu p = { 0 };
	int r, st = -1;

	for (;;) {
		r = recv_pdu(s, &p, IO_TIMEOUT_MS);
		if (r) {
			if (label)
				printf("%s %s\n", label, r == -2 ? "timeout" : "closed");
			break;
		}
		if (p.bhs[0] == 0x3f) {
			if (label)
				printf("%s reject 0x%02x\n", label, p.bhs[2]);
			break;
		}
		if (get32(p.bhs + 16) != itt)
			continue;
		if ((p.bhs[0] & 0x3f) == 0x31 && r2t) {
			*r2t = p;
			return -2;
		}
		if ((p.bhs[0] & 0x3f) == 0x25 && (p.bhs[1] & 0x01)) {
			st = p.bhs[3];
			if (label)
				printf("%s status 0x%02x\n", label, st);
			break;
		}
		if ((p.bhs[0] & 0x3f) == 0x21) {
			const uint8_t *sd = p.data + 2;

			st = p.bhs[3];
			if (label && p.len >= 2 + 14 && st == 0x02)
				printf("%s status 0x%02x sense %x/%02x/%02x\n", label, st, sd[2] & 0xf,
				       sd[12], sd[13]);
			else if (label)
				printf("%s status 0x%02x\n", label, st);
			break;
		}
	}
	free(p.data);
	return st;
}

static void tur(struct sess *s, const char *label)
{
	uint8_t cdb[16] = { 0 };

	if (send_cmd(s, s->itt, s->cmdsn++, 0x80, cdb, 0, NULL, 0)) {
		printf("%s closed\n", label);
		return;
	}
	wait_answer(s, s->itt++, label, NULL);
}

/* The write scenarios: a WRITE(10), then the Data-Out the scenario gets wrong. */
static int write_fault(struct sess *s, const char *what)
{
	static uint8_t buf[16384];
	uint8_t cdb[16];
	struct pdu r2t = { 0 };
	uint32_t itt = s->itt++, len = 4096, ttt, dlen;
	int r;

	memset(buf, 0xa5, sizeof(buf));
	if (!strcmp(what, "burst-overrun"))
		len = 8192;
	else if (!strcmp(what, "imm-overrun") || !strcmp(what, "mrdsl-overrun"))
		len = 16384;
	cdb_rw10(cdb, 0x2a, 8, (uint16_t)(len / 512));
	if (!strcmp(what, "imm-overrun")) {
		/* Immediate data beyond FirstBurstLength (RFC 7143 11.3): a Reject. */
		if (send_cmd(s, itt, s->cmdsn++, 0xa0, cdb, len, buf, s->first_burst + 512))
			return -1;
		wait_answer(s, itt, "cmd", NULL);
		tur(s, "after");
		return 0;
	}
	if (!strcmp(what, "edtl-overrun")) {
		/* Immediate 2 KiB, F clear: the rest (2 KiB) may come unsolicited; we send 4 KiB
		 * at offset 2048, ending 2 KiB past the EDTL. */
		if (send_cmd(s, itt, s->cmdsn++, 0x20, cdb, len, buf, 2048) ||
		    send_data_out(s, itt, 0xffffffff, 0, 2048, buf, 4096, 1))
			return -1;
		wait_answer(s, itt, "cmd", NULL);
		tur(s, "after");
		return 0;
	}
	if (send_cmd(s, itt, s->cmdsn++, 0xa0, cdb, len, NULL, 0))
		return -1;
	r = wait_answer(s, itt, "cmd", &r2t);
	if (r != -2)
		return 0;	/* answered without an R2T: already printed */
	ttt = get32(r2t.bhs + 20);
	dlen = get32(r2t.bhs + 44);
	printf("r2t offset %u len %u\n", get32(r2t.bhs + 40), dlen);
	free(r2t.data);
	if (!strcmp(what, "r2t-overrun"))
		r = send_data_out(s, itt, ttt, 0, 0, buf, dlen + 512, 1);
	else if (!strcmp(what, "burst-overrun") || !strcmp(what, "mrdsl-overrun"))
		r = send_data_out(s, itt, ttt, 0, 0, buf, len, 1);
	else
		r = send_data_out(s, itt, ttt ^ 0x5a5a, 0, 0, buf, dlen, 1);
	if (r)
		return -1;
	wait_answer(s, itt, "cmd", NULL);
	tur(s, "after");
	return 0;
}

static int window(struct sess *s)
{
	uint8_t cdb[16] = { 0 }, b[BHS] = { 0x40, 0x80 };
	uint32_t win = s->maxcmdsn - s->cmdsn + 1, far = s->maxcmdsn + 3;
	struct pdu p = { 0 };
	int got_far = 0, r;

	printf("window %u\n", win);
	/* Beyond MaxCmdSN: must be ignored (RFC 7143 4.2.2.1). */
	if (send_cmd(s, 0x7000, far, 0x80, cdb, 0, NULL, 0))
		return -1;
	/* An immediate NOP-Out with a reply wanted: its NOP-In proves the connection still
	 * works; anything for ITT 0x7000 before it means the command was run. */
	put32(b + 16, 0x7001);
	put32(b + 20, 0xffffffff);
	put32(b + 24, s->cmdsn);
	put32(b + 28, s->expstatsn);
	if (send_pdu(s->fd, b, NULL, 0))
		return -1;
	for (;;) {
		r = recv_pdu(s, &p, IO_TIMEOUT_MS);
		if (r) {
			printf("nop %s\n", r == -2 ? "timeout" : "closed");
			free(p.data);
			return 0;
		}
		if (get32(p.bhs + 16) == 0x7000)
			got_far = 1;
		if ((p.bhs[0] & 0x3f) == 0x20 && get32(p.bhs + 16) == 0x7001)
			break;
	}
	free(p.data);
	printf("beyond %s\n", got_far ? "answered" : "dropped");
	tur(s, "inside");
	/* After the dropped one, CmdSN far must still be out of the window... and never run:
	 * the next in-window command is answered normally (checked above). */
	return 0;
}

static int abort_write(struct sess *s, uint32_t len)
{
	struct linger lg = { 1, 0 };
	uint8_t cdb[16], *buf = calloc(1, len);
	struct pdu r2t = { 0 };
	uint32_t itt = s->itt++, sent = 0;

	if (!buf)
		return -1;
	cdb_rw10(cdb, 0x2a, 0, (uint16_t)(len / 512));
	if (send_cmd(s, itt, s->cmdsn++, 0xa0, cdb, len, NULL, 0) ||
	    wait_answer(s, itt, "cmd", &r2t) != -2) {
		free(buf);
		return 0;
	}
	/* Half of what was solicited, in 8 KiB Data-Outs, then a reset (not a FIN). */
	{
		uint32_t ttt = get32(r2t.bhs + 20), dlen = get32(r2t.bhs + 44), sn = 0;

		while (sent < dlen / 2) {
			uint32_t n = dlen / 2 - sent < 8192 ? dlen / 2 - sent : 8192;

			if (send_data_out(s, itt, ttt, sn++, sent, buf + sent, n, 0))
				break;
			sent += n;
		}
	}
	free(r2t.data);
	free(buf);
	printf("sent %u\n", sent);
	setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s->fd);
	s->fd = -1;
	return 0;
}

/* n READs of len bytes, never reading the socket (the kernel buffers a few MiB on each side,
 * far less than what is asked for); with drain, after the hold every answer is read and counted.
 * (No tiny SO_RCVBUF: a window below the MSS stalls loopback TCP in zero-window probes.) */
static int slowread(struct sess *s, unsigned n, uint32_t len, int drain)
{
	uint8_t cdb[16];
	unsigned i, sent = 0, good = 0, answers = 0;
	int fl = fcntl(s->fd, F_GETFL);

	fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
	for (i = 0; i < n; i++) {
		uint8_t b[BHS] = { 0x01, 0xc1 };
		size_t off = 0;

		cdb_rw10(cdb, 0x28, (i * (len / 512)) % 8192, (uint16_t)(len / 512));
		put32(b + 16, 0x1000 + i);
		put32(b + 20, len);
		put32(b + 24, s->cmdsn++);
		put32(b + 28, s->expstatsn);
		memcpy(b + 32, cdb, 16);
		while (off < BHS) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
			ssize_t w = send(s->fd, b + off, BHS - off, MSG_NOSIGNAL);

			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			/* The target stopped reading us (that is the point): finish a started PDU
			 * if it takes the rest within 2 s, else stop here. */
			if (!off || poll(&pfd, 1, 2000) <= 0)
				break;
		}
		if (off < BHS) {
			if (off)
				printf("partial %zu\n", off);
			break;
		}
		sent++;
	}
	printf("sent %u\n", sent);
	fflush(stdout);
	sleep(wait_s);
	if (drain) {
		struct pdu p = { 0 };

		fcntl(s->fd, F_SETFL, fl);
		while (answers < sent && !recv_pdu(s, &p, IO_TIMEOUT_MS)) {
			if (((p.bhs[0] & 0x3f) == 0x25 && (p.bhs[1] & 0x01)) ||
			    (p.bhs[0] & 0x3f) == 0x21) {
				answers++;
				good += p.bhs[3] == 0;
			}
		}
		free(p.data);
		printf("answers %u\ngood %u\n", answers, good);
	}
	close(s->fd);
	s->fd = -1;
	return 0;
}

/* n WRITEs of len bytes whose data never comes: the target holds a buffer for each it
 * admits (and solicits its data), and answers the others at once. */
static int heldwrites(struct sess *s, unsigned n, uint32_t len)
{
	unsigned i, r2t = 0, tsf = 0, busy = 0, other = 0;
	uint32_t first = s->itt;
	uint8_t cdb[16], *seen = calloc(n ? n : 1, 1);
	struct pdu p = { 0 };

	if (!seen)
		return -1;
	for (i = 0; i < n; i++) {
		cdb_rw10(cdb, 0x2a, i * (len / 512) % 8192, (uint16_t)(len / 512));
		if (send_cmd(s, s->itt++, s->cmdsn++, 0xa0, cdb, len, NULL, 0)) {
			free(seen);
			return -1;
		}
	}
	while (r2t + tsf + busy + other < n && !recv_pdu(s, &p, 3000)) {
		uint8_t op = p.bhs[0] & 0x3f;
		uint32_t k = get32(p.bhs + 16) - first;

		if (k >= n || seen[k])
			continue;	/* not ours, or a further R2T of a command already counted */
		if (op == 0x31) {
			r2t++;
		} else if (op == 0x21 && p.bhs[3] == 0x28) {
			tsf++;
		} else if (op == 0x21 && p.bhs[3] == 0x08) {
			busy++;
		} else {
			other++;
		}
		seen[k] = 1;
	}
	free(p.data);
	free(seen);
	printf("r2t %u\ntsf %u\nbusy %u\nother %u\n", r2t, tsf, busy, other);
	fflush(stdout);
	sleep(wait_s);
	close(s->fd);
	s->fd = -1;
	return 0;
}

static int sessions(unsigned n)
{
	struct sess *ss = calloc(n, sizeof(*ss));
	unsigned i, in = 0, io = 0, out = 0, refused = 0, failed = 0;
	uint8_t cdb[16];

	if (!ss)
		return 2;
	for (i = 0; i < n; i++) {
		ss[i].isid = 0x100 + i;
		ss[i].itt = 1;
		if (sess_login(&ss[i]) < 0) {
			failed++;
			ss[i].fd = -1;
			continue;
		}
		if (ss[i].status) {
			printf("refused 0x%04x\n", ss[i].status);
			refused++;
			close(ss[i].fd);
			ss[i].fd = -1;
			continue;
		}
		in++;
	}
	for (i = 0; i < n; i++) {
		struct pdu p = { 0 };
		struct sess *s = &ss[i];
		uint32_t itt;
		int ok = 1;

		if (s->fd < 0)
			continue;
		memset(cdb, 0, sizeof(cdb));
		itt = s->itt++;
		ok = !send_cmd(s, itt, s->cmdsn++, 0x80, cdb, 0, NULL, 0);
		ok = ok && !recv_pdu(s, &p, IO_TIMEOUT_MS) && (p.bhs[0] & 0x3f) == 0x21 &&
		     (p.bhs[3] == 0 || p.bhs[3] == 2); /* GOOD, or the first command's unit attention */
		cdb_rw10(cdb, 0x28, i, 8);
		itt = s->itt++;
		ok = ok && !send_cmd(s, itt, s->cmdsn++, 0xc0, cdb, 4096, NULL, 0);
		/* Data-In with the status (phase collapse) or Data-In then a response. */
		while (ok && !recv_pdu(s, &p, IO_TIMEOUT_MS)) {
			if ((p.bhs[0] & 0x3f) == 0x25 && (p.bhs[1] & 0x01)) {
				ok = p.bhs[3] == 0;
				break;
			}
			if ((p.bhs[0] & 0x3f) == 0x21) {
				ok = p.bhs[3] == 0;
				break;
			}
		}
		free(p.data);
		io += ok;
	}
	for (i = 0; i < n; i++)
		if (ss[i].fd >= 0 && sess_logout(&ss[i]) == 0)
			out++;
	printf("logged_in %u\nio_ok %u\nlogged_out %u\nrefused %u\nfailed %u\n", in, io, out,
	       refused, failed);
	free(ss);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: iscsi-raw [-k KEY=VALUE]... [-w SECONDS] HOST:PORT TARGET SCENARIO "
			"[N] [LEN]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sess s = { .itt = 1, .isid = (uint32_t)getpid() };
	char *hp, *colon;
	const char *sc;
	int opt;

	while ((opt = getopt(argc, argv, "k:w:")) != -1) {
		if (opt == 'k' && nkeys < MAX_KEYS)
			keys[nkeys++] = optarg;
		else if (opt == 'w')
			wait_s = (unsigned)atoi(optarg);
		else
			usage();
	}
	if (argc - optind < 3)
		usage();
	hp = strdup(argv[optind]);
	colon = hp ? strrchr(hp, ':') : NULL;
	if (!colon)
		usage();
	*colon = 0;
	host = hp;
	port = colon + 1;
	target = argv[optind + 1];
	sc = argv[optind + 2];
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(sc, "sessions"))
		return argc - optind < 4 ? 2 : sessions((unsigned)atoi(argv[optind + 3]));
	if (sess_login(&s) < 0) {
		fprintf(stderr, "iscsi-raw: cannot connect or log in to %s:%s\n", host, port);
		return 2;
	}
	printf("login 0x%04x\n", s.status);
	if (s.status)
		return 0;
	if (strcmp(sc, "login"))
		tur(&s, NULL);	/* the power-on unit attention */
	if (!strcmp(sc, "login")) {
		printf("window %u\nmax_burst %u\nfirst_burst %u\nmrdsl %u\n", s.maxcmdsn - s.cmdsn + 1,
		       s.max_burst, s.first_burst, s.mrdsl);
		sleep(wait_s);
		printf("logout %s\n", sess_logout(&s) ? "failed" : "ok");
		return 0;
	}
	if (!strcmp(sc, "window"))
		return window(&s) ? 2 : 0;
	if (!strcmp(sc, "r2t-overrun") || !strcmp(sc, "burst-overrun") ||
	    !strcmp(sc, "edtl-overrun") || !strcmp(sc, "bad-ttt") || !strcmp(sc, "imm-overrun") ||
	    !strcmp(sc, "mrdsl-overrun"))
		return write_fault(&s, sc) ? 2 : 0;
	if (!strcmp(sc, "abort-write") && argc - optind >= 4)
		return abort_write(&s, (uint32_t)atoi(argv[optind + 3])) ? 2 : 0;
	if (!strcmp(sc, "heldwrites") && argc - optind >= 5)
		return heldwrites(&s, (unsigned)atoi(argv[optind + 3]),
				  (uint32_t)atoi(argv[optind + 4])) ? 2 : 0;
	if ((!strcmp(sc, "slowread") || !strcmp(sc, "slowread-drain")) && argc - optind >= 5) {
		return slowread(&s, (unsigned)atoi(argv[optind + 3]),
				(uint32_t)atoi(argv[optind + 4]), !strcmp(sc, "slowread-drain"));
	}
	usage();
	return 2;
}
