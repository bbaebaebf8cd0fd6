/* iscsi-robust: raw-PDU scenarios for session reinstatement and digests (t_110..t_112), the
 * cases libiscsi cannot produce: two logins with one ISID, a task left waiting for its data, a
 * login naming a live TSIH, DataDigest=CRC32C (libiscsi only does header digests) and PDUs whose
 * digests are wrong on purpose.
 *
 *   iscsi-robust [-d] [-b N] [-k KEY=VALUE]... [-n INITIATOR] [-s ISID] HOST:PORT TARGET
 *                SCENARIO [LBA|SECONDS]
 *
 * -k KEY=VALUE replaces (or adds) a login key; -b N makes digest-bad-dataout corrupt the data
 * digest of its Nth Data-Out (0, the first, by default).
 * -s sets the low 32 bits of hold's ISID (two holds with one -s are one initiator port).
 * -d negotiates HeaderDigest=CRC32C and DataDigest=CRC32C; every PDU received is then checked
 * (a bad digest from the target prints "target_digest_error"). LUN 0, 512-byte blocks. Output
 * is one "word value..." item per line; the test script decides what is right.
 *
 *   reinstate LBA       A registers PR key 0xabc, starts a 4 KiB WRITE at LBA and never sends
 *                       its data; B logs in with A's name and ISID (TSIH 0). Prints B's login,
 *                       whether A's connection was closed, B's first and second TEST UNIT READY,
 *                       whether A's write reached the medium, READ KEYS and a RESERVE with A's key.
 *   tsih                a login with the TSIH of a live session, one with a TSIH nobody has; then
 *                       the live session still works
 *   digest-good LBA     16 KiB WRITE (4 KiB immediate + R2T'd Data-Out) and READ back
 *   digest-bad-dataout LBA  a good 8 KiB write, then one whose first Data-Out has a bad data
 *                       digest; what came back, whether the medium changed
 *   digest-bad-imm LBA  a WRITE whose immediate data has a bad digest, then its retry (same ITT
 *                       and CmdSN); a NOP-Out ping with a bad data digest, then a good one
 *   hdigest-bad         TEST UNIT READY with a bad header digest
 *   hold SECONDS        log in and READ 4 KiB every 50 ms until SECONDS pass ("io_ok N") or a
 *                       READ fails other than with a unit attention ("io_ended after N: read
 *                       closed|status...")
 *
 * PDUs, login and digests go through rawini.c, on the product's PDU codec and CRC32C.
 *
 * Exit status 0 when the scenario ran, 2 on usage errors or when the first login failed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rawini.h"
#include "util/byteorder.h"

#define MAX_DATA (1u << 20)
#define IO_TIMEOUT_MS 10000

struct sess {
	struct rawini ri;
};

static const char *host, *port, *target, *initiator = "iqn.2026-11.org.invar.test:robust";
static int digests;
static uint32_t hold_isid;	/* -s: the ISID hold logs in with (0: the process id) */
static const char *extra_keys[16];	/* -k KEY=VALUE: replace our login key of that name */
static unsigned n_extra_keys;
static int bad_index;		/* -b N: digest-bad-dataout corrupts Data-Out number N (0 first) */
static unsigned datain_pdus;	/* Data-In PDUs received (at most 8 KiB each: our MRDSL) */

static void sess_init(struct sess *s, uint32_t itt, uint32_t isid)
{
	rawini_init(&s->ri);
	s->ri.itt = itt;
	s->ri.max_data = MAX_DATA;
	rawini_set_isid32(&s->ri, isid);
}

/* Logs in with TSIH tsih (0: a new session). 0 with s->ri.login_status set, -1 on connection
 * failure. */
static int sess_login(struct sess *s, uint16_t tsih)
{
	const char *keys[] = {
		"SessionType=Normal", "ErrorRecoveryLevel=0", "InitialR2T=Yes", "ImmediateData=Yes",
		"MaxRecvDataSegmentLength=8192", "MaxBurstLength=262144",
		"FirstBurstLength=65536", "MaxOutstandingR2T=1",
		digests ? "HeaderDigest=CRC32C" : "HeaderDigest=None",
		digests ? "DataDigest=CRC32C" : "DataDigest=None",
	};
	struct rawini_text text = { .len = 0 };
	unsigned i;

	if (rawini_connect(&s->ri, host, port) < 0)
		return -1;
	rawini_text_add(&text, "InitiatorName=%s", initiator);
	rawini_text_add(&text, "TargetName=%s", target);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		rawini_text_add_default(&text, keys[i], extra_keys, n_extra_keys);
	for (i = 0; i < n_extra_keys; i++)
		rawini_text_add(&text, "%s", extra_keys[i]);
	s->ri.tsih = tsih;
	/* Digests apply from the first PDU after the final login response (RFC 7143 13.1). */
	if (rawini_login_stage(&s->ri, 1, 3, text.buf, text.len, 4) < 0)
		return -1;
	s->ri.itt++;
	return 0;
}

static void sess_logout(struct sess *s)
{
	rawini_logout(&s->ri, IO_TIMEOUT_MS);
}

#define F_R (ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_READ)
#define F_W (ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_WRITE)

/* What came back for a command. */
struct answer {
	int kind;		/* 0 none (timeout), 1 status, 2 reject, 3 closed, 4 r2t */
	uint8_t status;
	uint8_t key, asc, ascq;
	uint8_t reject_reason;
	uint32_t ttt, r2t_off, r2t_len;
	uint8_t *data;		/* Data-In gathered (buffer of the caller), data_len bytes */
	uint32_t data_len;
};

/* Waits until each of the n commands itts[i] has an answer in a[i] (Data-In gathered into
 * a[i].data when set), or timeout_ms passes with nothing received; a Reject answers every one
 * still waiting. PDUs for other ITTs are skipped. */
static void wait_many(struct sess *s, unsigned n, const uint32_t *itts, struct answer *a,
		      int timeout_ms)
{
	struct rawini_pdu p = { 0 };
	unsigned i, left = n;
	int r;

	for (i = 0; i < n; i++)
		a[i].kind = 0;
	while (left) {
		r = rawini_recv(&s->ri, &p, timeout_ms);
		if (r) {
			for (i = 0; i < n; i++)
				if (!a[i].kind && r == -1)
					a[i].kind = 3;
			break;
		}
		if (p.h.opcode == ISCSI_OP_REJECT) {
			for (i = 0; i < n; i++)
				if (!a[i].kind) {
					a[i].kind = 2;
					a[i].reject_reason = p.h.reject.reason;
					left--;
				}
			break;
		}
		for (i = 0; i < n && itts[i] != p.h.itt; i++)
			;
		if (i == n || a[i].kind)
			continue;
		if (p.h.opcode == ISCSI_OP_R2T) {
			a[i].kind = 4;
			a[i].ttt = p.h.r2t.ttt;
			a[i].r2t_off = p.h.r2t.buffer_offset;
			a[i].r2t_len = p.h.r2t.ddtl;
			left--;
		} else if (p.h.opcode == ISCSI_OP_DATA_IN) {
			uint32_t off = p.h.data_in.buffer_offset;

			datain_pdus++;

			if (a[i].data && (uint64_t)off + p.len <= a[i].data_len)
				memcpy(a[i].data + off, p.data, p.len);
			if (p.h.data_in.status_present) {
				a[i].kind = 1;
				a[i].status = p.h.data_in.status;
				left--;
			}
		} else if (p.h.opcode == ISCSI_OP_SCSI_RSP) {
			a[i].kind = 1;
			a[i].status = p.h.scsi_rsp.status;
			if (p.len >= 2 + 14 && a[i].status == 0x02) {
				const uint8_t *sd = p.data + 2;

				if ((sd[0] & 0x7f) >= 0x72) {
					a[i].key = sd[1] & 0xf;
					a[i].asc = sd[2];
					a[i].ascq = sd[3];
				} else {
					a[i].key = sd[2] & 0xf;
					a[i].asc = sd[12];
					a[i].ascq = sd[13];
				}
			}
			left--;
		}
	}
	rawini_pdu_free(&p);
}

static void wait_answer(struct sess *s, uint32_t itt, struct answer *a, int timeout_ms)
{
	wait_many(s, 1, &itt, a, timeout_ms);
}

static void print_answer(const char *label, const struct answer *a)
{
	switch (a->kind) {
	case 0: printf("%s timeout\n", label); break;
	case 2: printf("%s reject 0x%02x\n", label, a->reject_reason); break;
	case 3: printf("%s closed\n", label); break;
	case 4: printf("%s r2t %u %u\n", label, a->r2t_off, a->r2t_len); break;
	default:
		if (a->status == 0x02)
			printf("%s status 0x02 sense %x/%02x/%02x\n", label, a->key, a->asc, a->ascq);
		else
			printf("%s status 0x%02x\n", label, a->status);
	}
}

/* A command without data-out; prints "<label> ..." and returns its answer. */
static struct answer cmd_simple(struct sess *s, const char *label, const uint8_t cdb[16],
				uint8_t *in, uint32_t in_len)
{
	struct answer a = { .data = in, .data_len = in_len };
	uint32_t itt = s->ri.itt++;

	if (rawini_send_cmd(&s->ri, itt, s->ri.cmdsn++, in_len ? F_R : ISCSI_FLAG_FINAL, cdb,
			    in_len, NULL, 0, 0)) {
		a.kind = 3;
	} else {
		wait_answer(s, itt, &a, IO_TIMEOUT_MS);
	}
	if (label)
		print_answer(label, &a);
	return a;
}

static void tur(struct sess *s, const char *label)
{
	uint8_t cdb[16] = { 0 };

	cmd_simple(s, label, cdb, NULL, 0);
}

/* Clears the unit attention(s) of a new nexus. */
static void settle(struct sess *s)
{
	uint8_t cdb[16] = { 0 };

	for (int i = 0; i < 8; i++)
		if (cmd_simple(s, NULL, cdb, NULL, 0).status == 0)
			return;
}

/* WRITE(10) of len bytes: imm bytes immediate, the rest through R2Ts in Data-Outs of at most
 * 8 KiB; bad_pdu: index of the Data-Out sent with a bad data digest (-1 none). */
static struct answer write10(struct sess *s, uint32_t lba, const uint8_t *buf, uint32_t len,
			     uint32_t imm, int bad_pdu, const char *label)
{
	struct answer a = { 0 };
	uint8_t cdb[16];
	uint32_t itt = s->ri.itt++, sn;
	int n = 0;

	rawini_cdb_rw10(cdb, 0x2a, lba, (uint16_t)(len / 512));
	if (rawini_send_cmd(&s->ri, itt, s->ri.cmdsn++, F_W, cdb, len, buf, imm, 0)) {
		a.kind = 3;
		goto out;
	}
	for (;;) {
		wait_answer(s, itt, &a, IO_TIMEOUT_MS);
		if (a.kind == 2 && bad_pdu >= 0) {
			/* The Reject for the bad Data-Out: the R2Ts still outstanding are answered. */
			print_answer("write_pdu", &a);
			continue;
		}
		if (a.kind != 4)
			break;
		sn = 0;		/* DataSN counts within each R2T's sequence (RFC 7143 11.7.5) */
		for (uint32_t off = 0; off < a.r2t_len;) {
			uint32_t chunk = a.r2t_len - off < 8192 ? a.r2t_len - off : 8192;
			int last = off + chunk == a.r2t_len;

			if (rawini_send_data_out(&s->ri, itt, a.ttt, sn++, a.r2t_off + off,
						 buf + a.r2t_off + off, chunk, last,
						 n++ == bad_pdu ? RAWINI_BAD_DDIGEST : 0)) {
				a.kind = 3;
				goto out;
			}
			off += chunk;
			if (n - 1 == bad_pdu && !last) {
				/* RFC 7143 7.8 (b): no answer for the task until all its data is in. */
				struct answer early = { 0 };

				wait_answer(s, itt, &early, 500);
				print_answer("before_rest", &early);
				if (early.kind == 2) {
					wait_answer(s, itt, &early, 300);
					print_answer("before_rest_then", &early);
				}
			}
		}
	}
out:
	if (label)
		print_answer(label, &a);
	return a;
}

static struct answer read10(struct sess *s, uint32_t lba, uint8_t *buf, uint32_t len,
			    const char *label)
{
	uint8_t cdb[16];

	rawini_cdb_rw10(cdb, 0x28, lba, (uint16_t)(len / 512));
	memset(buf, 0, len);
	return cmd_simple(s, label, cdb, buf, len);
}

static int all_bytes(const uint8_t *b, uint32_t len, uint8_t v)
{
	for (uint32_t i = 0; i < len; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

/* ---- scenarios ---- */

/* PERSISTENT RESERVE OUT (SPC-4 6.16) with a 24-byte parameter list as immediate data. */
static struct answer prout(struct sess *s, uint8_t sa, uint8_t type, uint64_t key, uint64_t sakey,
			   const char *label)
{
	uint8_t cdb[16] = { 0x5f, sa, type }, pl[24] = { 0 };
	struct answer a = { 0 };
	uint32_t itt = s->ri.itt++;

	cdb[8] = sizeof(pl);
	put_be64(pl, key);
	put_be64(pl + 8, sakey);
	if (rawini_send_cmd(&s->ri, itt, s->ri.cmdsn++, F_W, cdb, sizeof(pl), pl, sizeof(pl), 0))
		a.kind = 3;
	else
		wait_answer(s, itt, &a, IO_TIMEOUT_MS);
	print_answer(label, &a);
	return a;
}

static int reinstate(uint32_t lba)
{
	struct sess a, b;
	uint8_t cdb[16], *buf = malloc(4096), keys[64];
	struct answer ans = { 0 };
	struct rawini_pdu p = { 0 };
	int r;

	sess_init(&a, 1, 0x5eed01);
	sess_init(&b, 0x1000, 0x5eed01);
	if (!buf || sess_login(&a, 0) < 0 || a.ri.login_status) {
		free(buf);
		return 2;
	}
	settle(&a);
	prout(&a, 0x06, 0, 0, 0xabc, "a_register");	/* REGISTER AND IGNORE EXISTING KEY */
	/* A WRITE left waiting for its data: a task the reinstatement must abort. */
	memset(buf, 0xa1, 4096);
	rawini_cdb_rw10(cdb, 0x2a, lba, 8);
	if (rawini_send_cmd(&a.ri, a.ri.itt, a.ri.cmdsn++, F_W, cdb, 4096, NULL, 0, 0)) {
		free(buf);
		return 2;
	}
	wait_answer(&a, a.ri.itt, &ans, IO_TIMEOUT_MS);
	print_answer("a_write", &ans);

	if (sess_login(&b, 0) < 0) {
		printf("b_login failed\n");
		free(buf);
		return 0;
	}
	printf("b_login 0x%04x\n", b.ri.login_status);
	/* A's connection must be gone: EOF (or a reset), not a timeout. */
	do
		r = rawini_recv(&a.ri, &p, 3000);
	while (r == 0);
	printf("a_conn %s\n", r == -2 ? "open" : "closed");
	rawini_pdu_free(&p);
	/* The data A never sent now arrives too late: nothing may be written. */
	rawini_send_data_out(&a.ri, a.ri.itt, ans.ttt, 0, 0, buf, 4096, true, 0);
	rawini_close(&a.ri);
	if (b.ri.login_status) {
		free(buf);
		return 0;
	}
	tur(&b, "b_first");
	tur(&b, "b_second");
	read10(&b, lba, buf, 4096, "b_read");
	printf("b_read_written %s\n", all_bytes(buf, 4096, 0xa1) ? "yes" : "no");
	rawini_cdb_rw10(cdb, 0, 0, 0);
	cdb[0] = 0x5e;	/* PERSISTENT RESERVE IN, READ KEYS */
	cdb[8] = sizeof(keys);
	ans = cmd_simple(&b, "b_read_keys", cdb, keys, sizeof(keys));
	if (ans.kind == 1 && ans.status == 0) {
		uint32_t n = get_be32(keys + 4) / 8;

		printf("b_keys");
		for (uint32_t i = 0; i < n && i < 7; i++)
			printf(" 0x%08x%08x", get_be32(keys + 8 + 8 * i), get_be32(keys + 12 + 8 * i));
		printf("\n");
	}
	/* RESERVE (Write Exclusive) with A's key: only a registered I_T nexus may. */
	prout(&b, 0x01, 0x01, 0xabc, 0, "b_reserve");
	prout(&b, 0x02, 0x01, 0xabc, 0, "b_release");
	prout(&b, 0x00, 0, 0xabc, 0, "b_unregister");
	sess_logout(&b);
	free(buf);
	return 0;
}

static int tsih_logins(void)
{
	struct sess a, c, d;

	sess_init(&a, 1, 0x75158);
	sess_init(&c, 1, 0x75158);
	sess_init(&d, 1, 0x75159);
	if (sess_login(&a, 0) < 0 || a.ri.login_status)
		return 2;
	settle(&a);
	printf("a_tsih %u\n", a.ri.tsih);
	/* MaxConnections=1: a second connection of a's session (or a's connection reinstated:
	 * same ISID, TSIH, CID) is refused, and a is left alone. */
	if (sess_login(&c, a.ri.tsih) < 0)
		printf("same_tsih failed\n");
	else
		printf("same_tsih 0x%04x\n", c.ri.login_status);
	rawini_close(&c.ri);
	if (sess_login(&d, (uint16_t)(a.ri.tsih + 1000)) < 0)
		printf("unknown_tsih failed\n");
	else
		printf("unknown_tsih 0x%04x\n", d.ri.login_status);
	rawini_close(&d.ri);
	tur(&a, "a_after");
	sess_logout(&a);
	return 0;
}

static int digest_good(uint32_t lba)
{
	struct sess s;
	uint8_t *w = malloc(16384), *r = malloc(16384);

	sess_init(&s, 1, 0xd16e57);
	if (!w || !r || sess_login(&s, 0) < 0 || s.ri.login_status)
		return 2;
	settle(&s);
	for (uint32_t i = 0; i < 16384; i++)
		w[i] = (uint8_t)(i * 7 + 3);
	write10(&s, lba, w, 16384, 4096, -1, "write");
	datain_pdus = 0;
	read10(&s, lba, r, 16384, "read");
	printf("datain_pdus %u\n", datain_pdus);
	printf("read_match %s\n", memcmp(w, r, 16384) ? "no" : "yes");
	printf("target_digest_errors %u\n", s.ri.target_digest_errors);
	sess_logout(&s);
	free(w);
	free(r);
	return 0;
}

static int digest_bad_dataout(uint32_t lba)
{
	struct sess s;
	uint8_t *w = malloc(16384), *r = malloc(16384);

	sess_init(&s, 1, 0xbad0d0);
	if (!w || !r || sess_login(&s, 0) < 0 || s.ri.login_status)
		return 2;
	settle(&s);
	memset(w, 0x11, 16384);
	write10(&s, lba, w, 16384, 0, -1, "good_write");
	/* By default one R2T of 16 KiB answered by two 8 KiB Data-Outs, the first (-b) with a bad
	 * data digest; -k MaxBurstLength=4096 -k MaxOutstandingR2T=4 makes it four R2Ts. */
	memset(w, 0x22, 16384);
	write10(&s, lba, w, 16384, 0, bad_index, "bad_write");
	read10(&s, lba, r, 16384, "read");
	printf("medium %s\n", all_bytes(r, 16384, 0x11) ? "unchanged" : "changed");
	tur(&s, "after");
	printf("target_digest_errors %u\n", s.ri.target_digest_errors);
	sess_logout(&s);
	free(w);
	free(r);
	return 0;
}

static int digest_bad_imm(uint32_t lba)
{
	struct sess s;
	uint8_t cdb[16], *w = malloc(4096), *r = malloc(4096), ping[64];
	struct iscsi_pdu_hdr nop = {
		.opcode = ISCSI_OP_NOP_OUT,
		.immediate = true,
		.nop = { .ttt = ISCSI_RSVD_TAG },
	};
	struct answer a = { 0 };
	uint32_t itt, cmdsn;

	sess_init(&s, 1, 0xbad1ee);
	if (!w || !r || sess_login(&s, 0) < 0 || s.ri.login_status)
		return 2;
	settle(&s);
	memset(w, 0x33, 4096);
	rawini_cdb_rw10(cdb, 0x2a, lba, 8);
	itt = s.ri.itt++;
	cmdsn = s.ri.cmdsn++;
	if (rawini_send_cmd(&s.ri, itt, cmdsn, F_W, cdb, 4096, w, 4096, RAWINI_BAD_DDIGEST))
		return 2;
	wait_answer(&s, itt, &a, IO_TIMEOUT_MS);
	print_answer("bad_cmd", &a);
	/* Discarded: no status may follow for that ITT. */
	wait_answer(&s, itt, &a, 500);
	print_answer("bad_cmd_then", &a);
	/* A READ with the next CmdSN waits behind the gap the discarded command left... */
	{
		uint32_t itts[2] = { itt, s.ri.itt++ };
		struct answer both[2] = { { 0 }, { .data = r, .data_len = 4096 } };
		uint8_t rcdb[16];

		rawini_cdb_rw10(rcdb, 0x28, lba, 8);
		memset(r, 0, 4096);
		if (rawini_send_cmd(&s.ri, itts[1], s.ri.cmdsn++, F_R, rcdb, 4096, NULL, 0, 0))
			return 2;
		wait_answer(&s, itts[1], &both[1], 500);
		print_answer("read_in_gap", &both[1]);
		both[1].data = r;
		both[1].data_len = 4096;
		/* ...until the initiator retries the command (same ITT and CmdSN, RFC 7143 6.2.1). */
		if (rawini_send_cmd(&s.ri, itt, cmdsn, F_W, cdb, 4096, w, 4096, 0))
			return 2;
		wait_many(&s, 2, itts, both, IO_TIMEOUT_MS);
		print_answer("retry", &both[0]);
		print_answer("read_after_retry", &both[1]);
		printf("read_sees %s\n", all_bytes(r, 4096, 0x33) ? "retried_write" : "other");
	}
	read10(&s, lba, r, 4096, "read");
	printf("medium %s\n", all_bytes(r, 4096, 0x33) ? "written" : "not_written");

	/* A NOP-Out ping whose data digest is wrong: rejected, not answered; then a good one. */
	memset(ping, 0x5a, sizeof(ping));
	nop.itt = 0x4e4f50;
	nop.cmdsn = s.ri.cmdsn;
	nop.expstatsn = s.ri.expstatsn;
	if (rawini_send(&s.ri, &nop, ping, sizeof(ping), RAWINI_BAD_DDIGEST))
		return 2;
	wait_answer(&s, 0x4e4f50, &a, 1000);
	print_answer("bad_nop", &a);
	wait_answer(&s, 0x4e4f50, &a, 500);
	print_answer("bad_nop_then", &a);
	nop.itt = 0x4e4f51;
	if (rawini_send(&s.ri, &nop, ping, sizeof(ping), 0))
		return 2;
	{
		struct rawini_pdu p = { 0 };
		int got = 0;

		while (!rawini_recv(&s.ri, &p, IO_TIMEOUT_MS))
			if (p.h.opcode == ISCSI_OP_NOP_IN && p.h.itt == 0x4e4f51) {
				got = p.len == sizeof(ping) && !memcmp(p.data, ping, sizeof(ping));
				break;
			}
		rawini_pdu_free(&p);
		printf("good_nop %s\n", got ? "echoed" : "missing");
	}
	tur(&s, "after");
	printf("target_digest_errors %u\n", s.ri.target_digest_errors);
	sess_logout(&s);
	free(w);
	free(r);
	return 0;
}

static int hdigest_bad(void)
{
	struct sess s;
	uint8_t cdb[16] = { 0 };
	struct answer a = { 0 };
	uint32_t itt;

	sess_init(&s, 1, 0xbadbad);
	if (sess_login(&s, 0) < 0 || s.ri.login_status)
		return 2;
	settle(&s);
	itt = s.ri.itt++;
	if (rawini_send_cmd(&s.ri, itt, s.ri.cmdsn++, ISCSI_FLAG_FINAL, cdb, 0, NULL, 0,
			    RAWINI_BAD_HDIGEST)) {
		printf("tur closed\n");
		return 0;
	}
	wait_answer(&s, itt, &a, 5000);
	print_answer("tur", &a);
	rawini_close(&s.ri);
	return 0;
}

/* Logs in as -n INITIATOR and READs 4 KiB every 50 ms for secs seconds, or until a READ fails. */
static int hold(unsigned secs)
{
	struct sess s;
	uint8_t *buf = malloc(4096);
	time_t end = time(NULL) + secs;
	unsigned n = 0;

	if (!buf)
		return 2;
	sess_init(&s, 1, hold_isid ? hold_isid : (uint32_t)getpid());
	if (sess_login(&s, 0) < 0) {
		printf("login failed\n");
		free(buf);
		return 0;
	}
	printf("login 0x%04x\n", s.ri.login_status);
	if (s.ri.login_status) {
		free(buf);
		return 0;
	}
	settle(&s);
	while (time(NULL) < end) {
		struct answer a = read10(&s, 0, buf, 4096, NULL);

		/* A unit attention (REPORTED LUNS DATA HAS CHANGED after an ACL change) is news,
		 * not an end: the next READ runs. */
		if (a.kind == 1 && a.status == 0x02 && a.key == 6)
			continue;
		if (a.kind != 1 || a.status) {
			printf("io_ended after %u: ", n);
			print_answer("read", &a);
			free(buf);
			return 0;
		}
		if (++n == 1)
			printf("io_running\n");
		usleep(50000);
	}
	printf("io_ok %u\n", n);
	sess_logout(&s);
	free(buf);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: iscsi-robust [-d] [-b N] [-k KEY=VALUE]... [-n INITIATOR] [-s ISID] "
			"HOST:PORT TARGET "
			"SCENARIO [LBA|SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char *hp, *colon;
	const char *sc;
	uint32_t lba = 0;
	int opt;

	while ((opt = getopt(argc, argv, "b:dk:n:s:")) != -1) {
		if (opt == 'd')
			digests = 1;
		else if (opt == 'n')
			initiator = optarg;
		else if (opt == 'k' && n_extra_keys < 16)
			extra_keys[n_extra_keys++] = optarg;
		else if (opt == 'b')
			bad_index = atoi(optarg);
		else if (opt == 's')
			hold_isid = (uint32_t)strtoul(optarg, NULL, 0);
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
	if (argc - optind >= 4)
		lba = (uint32_t)strtoul(argv[optind + 3], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(sc, "reinstate"))
		return reinstate(lba);
	if (!strcmp(sc, "tsih"))
		return tsih_logins();
	if (!strcmp(sc, "digest-good"))
		return digest_good(lba);
	if (!strcmp(sc, "digest-bad-dataout"))
		return digest_bad_dataout(lba);
	if (!strcmp(sc, "digest-bad-imm"))
		return digest_bad_imm(lba);
	if (!strcmp(sc, "hdigest-bad"))
		return hdigest_bad();
	if (!strcmp(sc, "hold"))
		return hold(lba);
	usage();
	return 2;
}
