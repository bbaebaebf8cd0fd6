/* iscsi-raw: a small raw-PDU iSCSI initiator for fault tests, without libiscsi in the way: it
 * sends exactly the PDUs a scenario needs, including ones a correct initiator never sends.
 * PDUs, login and sequence numbers go through rawini.c, on the product's PDU codec.
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
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "rawini.h"
#include "util/byteorder.h"

#define MAX_KEYS 32
#define IO_TIMEOUT_MS 10000

struct sess {
	struct rawini ri;
	uint32_t isid;
};

static const char *host, *port, *target;
static const char *keys[MAX_KEYS];
static unsigned nkeys;
static unsigned wait_s;

/* Logs in (operational stage straight to full feature phase). 0 with s->ri.login_status set
 * (which may be a refusal), -1 when the connection failed. */
static int sess_login(struct sess *s)
{
	static const char *defaults[] = {
		"HeaderDigest=None", "DataDigest=None", "ErrorRecoveryLevel=0",
		"InitialR2T=Yes", "ImmediateData=Yes", "MaxRecvDataSegmentLength=262144",
		"MaxBurstLength=262144", "FirstBurstLength=65536", "MaxOutstandingR2T=1",
	};
	struct rawini_text text = { .len = 0 };
	unsigned i;

	rawini_set_isid32(&s->ri, s->isid);
	if (rawini_connect(&s->ri, host, port) < 0)
		return -1;
	rawini_text_add(&text, "InitiatorName=iqn.2026-11.org.invar.test:raw%u", s->isid);
	rawini_text_add(&text, "SessionType=Normal");
	rawini_text_add(&text, "TargetName=%s", target);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		rawini_text_add_default(&text, defaults[i], keys, nkeys);
	for (i = 0; i < nkeys; i++)
		rawini_text_add(&text, "%s", keys[i]);
	if (rawini_login_stage(&s->ri, 1, 3, text.buf, text.len, 4) < 0)
		return -1;
	s->ri.itt++;
	return 0;
}

static int sess_logout(struct sess *s)
{
	return rawini_logout(&s->ri, IO_TIMEOUT_MS);
}

/* Waits for the answer to itt and prints it: "<label> status 0xSS [sense K/ASC/ASCQ]",
 * "<label> reject 0xRR", "<label> closed" or "<label> timeout". R2Ts are returned through r2t
 * (when not NULL) instead. Returns the SCSI status, or -1. */
static int wait_answer(struct sess *s, uint32_t itt, const char *label, struct rawini_pdu *r2t)
{
	struct rawini_pdu p = { 0 };
	int r, st = -1;

	for (;;) {
		r = rawini_recv(&s->ri, &p, IO_TIMEOUT_MS);
		if (r) {
			if (label)
				printf("%s %s\n", label, r == -2 ? "timeout" : "closed");
			break;
		}
		if (p.h.opcode == ISCSI_OP_REJECT) {
			if (label)
				printf("%s reject 0x%02x\n", label, p.h.reject.reason);
			break;
		}
		if (p.h.itt != itt)
			continue;
		if (p.h.opcode == ISCSI_OP_R2T && r2t) {
			*r2t = p;
			return -2;
		}
		if (p.h.opcode == ISCSI_OP_DATA_IN && p.h.data_in.status_present) {
			st = p.h.data_in.status;
			if (label)
				printf("%s status 0x%02x\n", label, st);
			break;
		}
		if (p.h.opcode == ISCSI_OP_SCSI_RSP) {
			const uint8_t *sd = p.data + 2;

			st = p.h.scsi_rsp.status;
			if (label && p.len >= 2 + 14 && st == 0x02)
				printf("%s status 0x%02x sense %x/%02x/%02x\n", label, st, sd[2] & 0xf,
				       sd[12], sd[13]);
			else if (label)
				printf("%s status 0x%02x\n", label, st);
			break;
		}
	}
	rawini_pdu_free(&p);
	return st;
}

static void tur(struct sess *s, const char *label)
{
	uint8_t cdb[16] = { 0 };

	if (rawini_send_cmd(&s->ri, s->ri.itt, s->ri.cmdsn++, ISCSI_FLAG_FINAL, cdb, 0, NULL, 0,
			    0)) {
		printf("%s closed\n", label);
		return;
	}
	wait_answer(s, s->ri.itt++, label, NULL);
}

#define F_W (ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_WRITE)

/* The write scenarios: a WRITE(10), then the Data-Out the scenario gets wrong. */
static int write_fault(struct sess *s, const char *what)
{
	static uint8_t buf[16384];
	struct rawini *ri = &s->ri;
	uint8_t cdb[16];
	struct rawini_pdu r2t = { 0 };
	uint32_t itt = ri->itt++, len = 4096, ttt, dlen;
	int r;

	memset(buf, 0xa5, sizeof(buf));
	if (!strcmp(what, "burst-overrun"))
		len = 8192;
	else if (!strcmp(what, "imm-overrun") || !strcmp(what, "mrdsl-overrun"))
		len = 16384;
	rawini_cdb_rw10(cdb, 0x2a, 8, (uint16_t)(len / 512));
	if (!strcmp(what, "imm-overrun")) {
		/* Immediate data beyond FirstBurstLength (RFC 7143 11.3): a Reject. */
		if (rawini_send_cmd(ri, itt, ri->cmdsn++, F_W, cdb, len, buf, ri->first_burst + 512,
				    0))
			return -1;
		wait_answer(s, itt, "cmd", NULL);
		tur(s, "after");
		return 0;
	}
	if (!strcmp(what, "edtl-overrun")) {
		/* Immediate 2 KiB, F clear: the rest (2 KiB) may come unsolicited; we send 4 KiB
		 * at offset 2048, ending 2 KiB past the EDTL. */
		if (rawini_send_cmd(ri, itt, ri->cmdsn++, ISCSI_FLAG_CMD_WRITE, cdb, len, buf, 2048,
				    0) ||
		    rawini_send_data_out(ri, itt, ISCSI_RSVD_TAG, 0, 2048, buf, 4096, true, 0))
			return -1;
		wait_answer(s, itt, "cmd", NULL);
		tur(s, "after");
		return 0;
	}
	if (rawini_send_cmd(ri, itt, ri->cmdsn++, F_W, cdb, len, NULL, 0, 0))
		return -1;
	r = wait_answer(s, itt, "cmd", &r2t);
	if (r != -2)
		return 0;	/* answered without an R2T: already printed */
	ttt = r2t.h.r2t.ttt;
	dlen = r2t.h.r2t.ddtl;
	printf("r2t offset %u len %u\n", r2t.h.r2t.buffer_offset, dlen);
	rawini_pdu_free(&r2t);
	if (!strcmp(what, "r2t-overrun"))
		r = rawini_send_data_out(ri, itt, ttt, 0, 0, buf, dlen + 512, true, 0);
	else if (!strcmp(what, "burst-overrun") || !strcmp(what, "mrdsl-overrun"))
		r = rawini_send_data_out(ri, itt, ttt, 0, 0, buf, len, true, 0);
	else
		r = rawini_send_data_out(ri, itt, ttt ^ 0x5a5a, 0, 0, buf, dlen, true, 0);
	if (r)
		return -1;
	wait_answer(s, itt, "cmd", NULL);
	tur(s, "after");
	return 0;
}

static int window(struct sess *s)
{
	struct rawini *ri = &s->ri;
	uint8_t cdb[16] = { 0 };
	uint32_t win = ri->maxcmdsn - ri->cmdsn + 1, far = ri->maxcmdsn + 3;
	struct iscsi_pdu_hdr nop = {
		.opcode = ISCSI_OP_NOP_OUT,
		.immediate = true,
		.itt = 0x7001,
		.cmdsn = ri->cmdsn,
		.nop = { .ttt = ISCSI_RSVD_TAG },
	};
	struct rawini_pdu p = { 0 };
	int got_far = 0, r;

	printf("window %u\n", win);
	/* Beyond MaxCmdSN: must be ignored (RFC 7143 4.2.2.1). */
	if (rawini_send_cmd(ri, 0x7000, far, ISCSI_FLAG_FINAL, cdb, 0, NULL, 0, 0))
		return -1;
	/* An immediate NOP-Out with a reply wanted: its NOP-In proves the connection still
	 * works; anything for ITT 0x7000 before it means the command was run. */
	nop.expstatsn = ri->expstatsn;
	if (rawini_send(ri, &nop, NULL, 0, 0))
		return -1;
	for (;;) {
		r = rawini_recv(ri, &p, IO_TIMEOUT_MS);
		if (r) {
			printf("nop %s\n", r == -2 ? "timeout" : "closed");
			rawini_pdu_free(&p);
			return 0;
		}
		if (p.h.itt == 0x7000)
			got_far = 1;
		if (p.h.opcode == ISCSI_OP_NOP_IN && p.h.itt == 0x7001)
			break;
	}
	rawini_pdu_free(&p);
	printf("beyond %s\n", got_far ? "answered" : "dropped");
	tur(s, "inside");
	/* After the dropped one, CmdSN far must still be out of the window... and never run:
	 * the next in-window command is answered normally (checked above). */
	return 0;
}

static int abort_write(struct sess *s, uint32_t len)
{
	struct rawini *ri = &s->ri;
	struct linger lg = { 1, 0 };
	uint8_t cdb[16], *buf = calloc(1, len);
	struct rawini_pdu r2t = { 0 };
	uint32_t itt = ri->itt++, sent = 0;

	if (!buf)
		return -1;
	rawini_cdb_rw10(cdb, 0x2a, 0, (uint16_t)(len / 512));
	if (rawini_send_cmd(ri, itt, ri->cmdsn++, F_W, cdb, len, NULL, 0, 0) ||
	    wait_answer(s, itt, "cmd", &r2t) != -2) {
		free(buf);
		return 0;
	}
	/* Half of what was solicited, in 8 KiB Data-Outs, then a reset (not a FIN). */
	{
		uint32_t ttt = r2t.h.r2t.ttt, dlen = r2t.h.r2t.ddtl, sn = 0;

		while (sent < dlen / 2) {
			uint32_t n = dlen / 2 - sent < 8192 ? dlen / 2 - sent : 8192;

			if (rawini_send_data_out(ri, itt, ttt, sn++, sent, buf + sent, n, false, 0))
				break;
			sent += n;
		}
	}
	rawini_pdu_free(&r2t);
	free(buf);
	printf("sent %u\n", sent);
	setsockopt(ri->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	rawini_close(ri);
	return 0;
}

/* n READs of len bytes, never reading the socket (the kernel buffers a few MiB on each side,
 * far less than what is asked for); with drain, after the hold every answer is read and counted.
 * (No tiny SO_RCVBUF: a window below the MSS stalls loopback TCP in zero-window probes.) */
static int slowread(struct sess *s, unsigned n, uint32_t len, int drain)
{
	struct rawini *ri = &s->ri;
	uint8_t cdb[16];
	unsigned i, sent = 0, good = 0, answers = 0;
	int fl = fcntl(ri->fd, F_GETFL);

	fcntl(ri->fd, F_SETFL, fl | O_NONBLOCK);
	for (i = 0; i < n; i++) {
		struct iscsi_pdu_hdr h;
		uint8_t b[ISCSI_BHS_LEN];
		size_t off = 0;

		rawini_cdb_rw10(cdb, 0x28, (i * (len / 512)) % 8192, (uint16_t)(len / 512));
		rawini_cmd_hdr(ri, &h, 0x1000 + i, ri->cmdsn++, ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_READ,
			       cdb, len);
		iscsi_bhs_encode(&h, b);
		while (off < ISCSI_BHS_LEN) {
			struct pollfd pfd = { .fd = ri->fd, .events = POLLOUT };
			ssize_t w = send(ri->fd, b + off, ISCSI_BHS_LEN - off, MSG_NOSIGNAL);

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
		if (off < ISCSI_BHS_LEN) {
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
		struct rawini_pdu p = { 0 };

		fcntl(ri->fd, F_SETFL, fl);
		while (answers < sent && !rawini_recv(ri, &p, IO_TIMEOUT_MS)) {
			if (p.h.opcode == ISCSI_OP_DATA_IN && p.h.data_in.status_present) {
				answers++;
				good += p.h.data_in.status == 0;
			} else if (p.h.opcode == ISCSI_OP_SCSI_RSP) {
				answers++;
				good += p.h.scsi_rsp.status == 0;
			}
		}
		rawini_pdu_free(&p);
		printf("answers %u\ngood %u\n", answers, good);
	}
	rawini_close(ri);
	return 0;
}

/* n WRITEs of len bytes whose data never comes: the target holds a buffer for each it
 * admits (and solicits its data), and answers the others at once. */
static int heldwrites(struct sess *s, unsigned n, uint32_t len)
{
	struct rawini *ri = &s->ri;
	unsigned i, r2t = 0, tsf = 0, busy = 0, other = 0;
	uint32_t first = ri->itt;
	uint8_t cdb[16], *seen = calloc(n ? n : 1, 1);
	struct rawini_pdu p = { 0 };

	if (!seen)
		return -1;
	for (i = 0; i < n; i++) {
		rawini_cdb_rw10(cdb, 0x2a, i * (len / 512) % 8192, (uint16_t)(len / 512));
		if (rawini_send_cmd(ri, ri->itt++, ri->cmdsn++, F_W, cdb, len, NULL, 0, 0)) {
			free(seen);
			return -1;
		}
	}
	while (r2t + tsf + busy + other < n && !rawini_recv(ri, &p, 3000)) {
		uint8_t op = p.h.opcode;
		uint32_t k = p.h.itt - first;

		if (k >= n || seen[k])
			continue;	/* not ours, or a further R2T of a command already counted */
		if (op == ISCSI_OP_R2T) {
			r2t++;
		} else if (op == ISCSI_OP_SCSI_RSP && p.h.scsi_rsp.status == 0x28) {
			tsf++;
		} else if (op == ISCSI_OP_SCSI_RSP && p.h.scsi_rsp.status == 0x08) {
			busy++;
		} else {
			other++;
		}
		seen[k] = 1;
	}
	rawini_pdu_free(&p);
	free(seen);
	printf("r2t %u\ntsf %u\nbusy %u\nother %u\n", r2t, tsf, busy, other);
	fflush(stdout);
	sleep(wait_s);
	rawini_close(ri);
	return 0;
}

static void sess_init(struct sess *s, uint32_t isid)
{
	rawini_init(&s->ri);
	s->isid = isid;
}

static int sessions(unsigned n)
{
	struct sess *ss = calloc(n, sizeof(*ss));
	unsigned i, in = 0, io = 0, out = 0, refused = 0, failed = 0;
	uint8_t cdb[16];

	if (!ss)
		return 2;
	for (i = 0; i < n; i++) {
		sess_init(&ss[i], 0x100 + i);
		if (sess_login(&ss[i]) < 0) {
			failed++;
			rawini_close(&ss[i].ri);
			continue;
		}
		if (ss[i].ri.login_status) {
			printf("refused 0x%04x\n", ss[i].ri.login_status);
			refused++;
			rawini_close(&ss[i].ri);
			continue;
		}
		in++;
	}
	for (i = 0; i < n; i++) {
		struct rawini_pdu p = { 0 };
		struct rawini *ri = &ss[i].ri;
		uint32_t itt;
		int ok = 1;

		if (ri->fd < 0)
			continue;
		memset(cdb, 0, sizeof(cdb));
		itt = ri->itt++;
		ok = !rawini_send_cmd(ri, itt, ri->cmdsn++, ISCSI_FLAG_FINAL, cdb, 0, NULL, 0, 0);
		/* GOOD, or the first command's unit attention */
		ok = ok && !rawini_recv(ri, &p, IO_TIMEOUT_MS) && p.h.opcode == ISCSI_OP_SCSI_RSP &&
		     (p.h.scsi_rsp.status == 0 || p.h.scsi_rsp.status == 2);
		rawini_cdb_rw10(cdb, 0x28, i, 8);
		itt = ri->itt++;
		ok = ok && !rawini_send_cmd(ri, itt, ri->cmdsn++,
					    ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_READ, cdb, 4096, NULL,
					    0, 0);
		/* Data-In with the status (phase collapse) or Data-In then a response. */
		while (ok && !rawini_recv(ri, &p, IO_TIMEOUT_MS)) {
			if (p.h.opcode == ISCSI_OP_DATA_IN && p.h.data_in.status_present) {
				ok = p.h.data_in.status == 0;
				break;
			}
			if (p.h.opcode == ISCSI_OP_SCSI_RSP) {
				ok = p.h.scsi_rsp.status == 0;
				break;
			}
		}
		rawini_pdu_free(&p);
		io += ok;
	}
	for (i = 0; i < n; i++)
		if (ss[i].ri.fd >= 0 && sess_logout(&ss[i]) == 0)
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
	struct sess s;
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
	sess_init(&s, (uint32_t)getpid());

	if (!strcmp(sc, "sessions"))
		return argc - optind < 4 ? 2 : sessions((unsigned)atoi(argv[optind + 3]));
	if (sess_login(&s) < 0) {
		fprintf(stderr, "iscsi-raw: cannot connect or log in to %s:%s\n", host, port);
		return 2;
	}
	printf("login 0x%04x\n", s.ri.login_status);
	if (s.ri.login_status)
		return 0;
	if (strcmp(sc, "login"))
		tur(&s, NULL);	/* the power-on unit attention */
	if (!strcmp(sc, "login")) {
		printf("window %u\nmax_burst %u\nfirst_burst %u\nmrdsl %u\n",
		       s.ri.maxcmdsn - s.ri.cmdsn + 1, s.ri.max_burst, s.ri.first_burst,
		       s.ri.t_mrdsl);
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
