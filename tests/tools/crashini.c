/* crashini: the host-side initiator of the power-cut loop (docs/design/durability.md).
 *
 *   crashini check URL STATE          after a cut (or on a fresh LU): every block, the
 *                                     reservations and the saved caching page against the
 *                                     oracle in STATE; then a new baseline written to STATE
 *   crashini run URL STATE SEED [QD]  the workload, until the connection breaks (the cut);
 *                                     the oracle is written to STATE before it exits
 *
 * URL is iscsi://HOST:PORT/IQN/LUN. Three I_T nexuses: D does the I/O (always registered),
 * A and B play the reservation game. Every block written carries (key LBA, generation,
 * CRC32C) so garbage is told from an old or new generation.
 *
 * The oracle, per block: dur, the last generation known durable (a FUA write, a write under
 * WCE=0, or a write acknowledged before a SYNCHRONIZE CACHE that completed), and cand, every
 * generation submitted since (acknowledged or in flight). After a cut a block must read dur or
 * one of cand. In-flight commands never overlap, so a block's generations are in order.
 * Reservations and the saved WCE bit: the last acknowledged state, or the one in flight.
 * Commands that change them (PR OUT, MODE SELECT) are barriers: no I/O is in flight then.
 *
 * check exits 0 when everything matched, 1 when something did not (lines "BAD ..."), 2 on a
 * transport or usage error; run exits 0 at the cut, 1 on an unexpected SCSI answer. */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "util/crc32c.h"

#define BS 512u
#define MAX_RUN 8u     /* blocks per command */
#define MAX_CAND 4096u /* candidates per block before the run forces a SYNCHRONIZE CACHE */
#define READ_CHUNK 256u
#define RETRIES 50

enum gtype { G_ZERO, G_DATA, G_SAME, G_UNKNOWN };
struct gen {
	uint8_t type;
	uint64_t key; /* G_SAME: the first LBA of the WRITE SAME (every block carries it) */
};

struct blk {
	uint64_t dur, acked;
	uint64_t *cand;
	uint32_t ncand, capcand;
	bool busy;
};

/* Reservation state as READ KEYS / READ RESERVATION show it: keys sorted. */
#define PR_MAXKEYS 4
struct prs {
	int nkeys;
	uint64_t keys[PR_MAXKEYS];
	uint64_t holder; /* 0: no reservation */
	int type;
	int aptpl; /* the last REGISTER's APTPL bit: the state survives a power cut only with it */
};

struct oracle {
	uint64_t nblocks, next_gen;
	struct blk *b;
	struct gen *g;
	uint64_t gcap;
	int wce;			  /* current, as the run knows it */
	int saved_wce, saved_wce_inflight; /* -1: none in flight */
	struct prs pr, pr_inflight;
	bool pr_has_inflight;
	uint64_t ka, kb; /* A's and B's keys (0: not registered) */
};

static struct oracle O;
static const uint64_t KEY_D = 0xd0d0d0d000000001ull;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crashini: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- block patterns ------------------------------------------------------------------- */

static void fill(uint8_t *b, uint64_t key, uint64_t gen)
{
	uint64_t x = key * 0x9E3779B97F4A7C15ull ^ gen * 0xD1B54A32D192ED03ull ^ 1;

	memcpy(b, "CRSH", 4);
	put64(b + 4, key);
	put64(b + 12, gen);
	for (unsigned i = 20; i < BS - 4; i += 4) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		put32(b + i, (uint32_t)x);
	}
	put32(b + BS - 4, crc32c(b, BS - 4));
}

/* What the block holds: 0 zeroes (*gen untouched), 1 a well-formed pattern, -1 garbage. */
static int parse(const uint8_t *b, uint64_t *key, uint64_t *gen)
{
	static const uint8_t zero[BS];

	if (!memcmp(b, zero, BS))
		return 0;
	if (memcmp(b, "CRSH", 4) || get32(b + BS - 4) != crc32c(b, BS - 4))
		return -1;
	*key = get64(b + 4);
	*gen = get64(b + 12);
	return 1;
}

/* ---- the oracle ----------------------------------------------------------------------- */

static void gen_set(uint64_t g, uint8_t type, uint64_t key)
{
	if (g >= O.gcap) {
		uint64_t n = O.gcap ? O.gcap : 1024;

		while (n <= g)
			n *= 2;
		O.g = realloc(O.g, n * sizeof(*O.g));
		if (!O.g)
			die("out of memory");
		memset(O.g + O.gcap, 0, (n - O.gcap) * sizeof(*O.g));
		O.gcap = n;
	}
	O.g[g].type = type;
	O.g[g].key = key;
}

static void cand_add(struct blk *b, uint64_t g)
{
	if (b->ncand == b->capcand) {
		b->capcand = b->capcand ? b->capcand * 2 : 4;
		b->cand = realloc(b->cand, b->capcand * sizeof(*b->cand));
		if (!b->cand)
			die("out of memory");
	}
	b->cand[b->ncand++] = g;
}


/* dur = g; the candidates up to g are gone (a block's generations are in order). */
static void make_durable(struct blk *b, uint64_t g)
{
	uint32_t i, j = 0;

	if (g <= b->dur)
		return;
	b->dur = g;
	for (i = 0; i < b->ncand; i++)
		if (b->cand[i] > g)
			b->cand[j++] = b->cand[i];
	b->ncand = j;
}

static void oracle_new(uint64_t nblocks)
{
	O.nblocks = nblocks;
	O.b = calloc(nblocks, sizeof(*O.b));
	if (!O.b)
		die("out of memory");
	gen_set(0, G_ZERO, 0);
	gen_set(1, G_UNKNOWN, 0);
	O.next_gen = 2;
	O.wce = 1;
	O.saved_wce = 1;
	O.saved_wce_inflight = -1;
}

static void pr_write(FILE *f, const char *tag, const struct prs *p)
{
	fprintf(f, "%s %d", tag, p->nkeys);
	for (int i = 0; i < p->nkeys; i++)
		fprintf(f, " %llx", (unsigned long long)p->keys[i]);
	fprintf(f, " %llx %d %d\n", (unsigned long long)p->holder, p->type, p->aptpl);
}

static int pr_read(FILE *f, const char *tag, struct prs *p)
{
	char t[16];
	unsigned long long k;

	memset(p, 0, sizeof(*p));
	if (fscanf(f, "%15s %d", t, &p->nkeys) != 2 || strcmp(t, tag) || p->nkeys < 0 ||
	    p->nkeys > PR_MAXKEYS)
		return -1;
	for (int i = 0; i < p->nkeys; i++) {
		if (fscanf(f, "%llx", &k) != 1)
			return -1;
		p->keys[i] = k;
	}
	if (fscanf(f, "%llx %d %d", &k, &p->type, &p->aptpl) != 3)
		return -1;
	p->holder = k;
	return 0;
}

static void state_save(const char *path)
{
	char tmp[4096];
	FILE *f;
	bool *used;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	used = calloc(O.next_gen, 1);
	if (!f || !used)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "crashini 1\n%llu %llu %d %d %d %d\n", (unsigned long long)O.nblocks,
		(unsigned long long)O.next_gen, O.wce, O.saved_wce, O.saved_wce_inflight,
		O.pr_has_inflight);
	pr_write(f, "pr", &O.pr);
	pr_write(f, "prin", &O.pr_inflight);
	fprintf(f, "ab %llx %llx\n", (unsigned long long)O.ka, (unsigned long long)O.kb);
	for (uint64_t l = 0; l < O.nblocks; l++) {
		used[O.b[l].dur] = true;
		for (uint32_t i = 0; i < O.b[l].ncand; i++)
			used[O.b[l].cand[i]] = true;
	}
	for (uint64_t g = 0; g < O.next_gen; g++)
		if (used[g])
			fprintf(f, "g %llu %d %llu\n", (unsigned long long)g, O.g[g].type,
				(unsigned long long)O.g[g].key);
	for (uint64_t l = 0; l < O.nblocks; l++) {
		const struct blk *b = &O.b[l];

		if (!b->dur && !b->ncand)
			continue;
		fprintf(f, "b %llu %llu %u", (unsigned long long)l, (unsigned long long)b->dur,
			b->ncand);
		for (uint32_t i = 0; i < b->ncand; i++)
			fprintf(f, " %llu", (unsigned long long)b->cand[i]);
		fprintf(f, "\n");
	}
	fprintf(f, "end\n");
	free(used);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

/* false when there is no state yet (a fresh LU). */
static bool state_load(const char *path)
{
	unsigned long long nb, ng, a, b, c;
	int hin, type;
	char tag[16];
	FILE *f = fopen(path, "r");

	if (!f) {
		if (errno == ENOENT)
			return false;
		die("%s: %s", path, strerror(errno));
	}
	int wce, saved, inflight;

	if (fscanf(f, "crashini 1 %llu %llu %d %d %d %d", &nb, &ng, &wce, &saved, &inflight,
		   &hin) != 6)
		die("%s: not a crashini state", path);
	oracle_new(nb);
	O.wce = wce;
	O.saved_wce = saved;
	O.saved_wce_inflight = inflight;
	O.next_gen = ng;
	O.pr_has_inflight = hin;
	if (pr_read(f, "pr", &O.pr) || pr_read(f, "prin", &O.pr_inflight) ||
	    fscanf(f, " ab %llx %llx", &a, &b) != 2)
		die("%s: bad reservation lines", path);
	O.ka = a;
	O.kb = b;
	while (fscanf(f, "%15s", tag) == 1) {
		if (!strcmp(tag, "end")) {
			fclose(f);
			return true;
		}
		if (!strcmp(tag, "g")) {
			if (fscanf(f, "%llu %d %llu", &a, &type, &b) != 3)
				break;
			gen_set(a, (uint8_t)type, b);
		} else if (!strcmp(tag, "b")) {
			if (fscanf(f, "%llu %llu %llu", &a, &b, &c) != 3 || a >= nb)
				break;
			O.b[a].dur = b;
			while (c--) {
				if (fscanf(f, "%llu", &b) != 1)
					die("%s: bad block line", path);
				cand_add(&O.b[a], b);
			}
		} else {
			break;
		}
	}
	die("%s: truncated or bad at '%s'", path, tag);
}

/* ---- sessions ------------------------------------------------------------------------- */

static struct iscsi_url *url_of(struct iscsi_context *c, const char *url)
{
	struct iscsi_url *u = iscsi_parse_full_url(c, url);

	if (!u)
		die("bad URL %s: %s", url, iscsi_get_error(c));
	return u;
}

static struct iscsi_context *session(const char *url, const char *who, uint32_t isid, int *lun)
{
	char name[128];
	struct iscsi_context *c;
	struct iscsi_url *u;

	/* One name per LU: loops on other LUs of the target run their own sessions. */
	snprintf(name, sizeof(name), "iqn.2026-12.org.invar:crash-%s-%s", who,
		 strrchr(url, '/') ? strrchr(url, '/') + 1 : "0");
	c = iscsi_create_context(name);
	if (!c)
		die("no iSCSI context");
	u = url_of(c, url);
	iscsi_set_isid_random(c, isid, 0);
	iscsi_set_targetname(c, u->target);
	iscsi_set_session_type(c, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_noautoreconnect(c, 1);
	iscsi_set_timeout(c, 120);
	if (iscsi_full_connect_sync(c, u->portal, u->lun) != 0) {
		fprintf(stderr, "crashini: %s: login failed: %s\n", who, iscsi_get_error(c));
		exit(3);
	}
	*lun = u->lun;
	iscsi_destroy_url(u);
	return c;
}

static bool is_ua(const struct scsi_task *t)
{
	return t->status == SCSI_STATUS_CHECK_CONDITION &&
	       t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
}

/* One command, waited for; unit attentions retried. The task (caller frees) or NULL when the
 * transport failed (the cut). */
static struct scsi_task *cmd(struct iscsi_context *c, int lun, const uint8_t *cdb, int cdblen,
			     const uint8_t *dout, size_t doutlen, size_t dinlen)
{
	for (int i = 0; i < RETRIES; i++) {
		struct iscsi_data data = { .size = doutlen, .data = (unsigned char *)dout };
		int dir = doutlen ? SCSI_XFER_WRITE : dinlen ? SCSI_XFER_READ : SCSI_XFER_NONE;
		struct scsi_task *t = scsi_create_task(cdblen, (unsigned char *)cdb, dir,
						       (int)(doutlen ? doutlen : dinlen));

		if (!t)
			die("out of memory");
		if (!iscsi_scsi_command_sync(c, lun, t, doutlen ? &data : NULL)) {
			scsi_free_scsi_task(t);
			return NULL;
		}
		if (t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_CANCELLED ||
		    t->status == SCSI_STATUS_TIMEOUT) {
			scsi_free_scsi_task(t);
			return NULL;
		}
		if (!is_ua(t))
			return t;
		scsi_free_scsi_task(t);
	}
	die("unit attentions without end");
}

static const char *status_str(const struct scsi_task *t)
{
	static char s[96];

	if (t->status == SCSI_STATUS_CHECK_CONDITION)
		snprintf(s, sizeof(s), "CHECK CONDITION %x/%02x/%02x", t->sense.key,
			 (t->sense.ascq >> 8) & 0xff, t->sense.ascq & 0xff);
	else
		snprintf(s, sizeof(s), "status 0x%02x", t->status);
	return s;
}

/* ---- reservations and the caching page -------------------------------------------------- */

enum { PR_REGISTER = 0, PR_RESERVE = 1, PR_RELEASE = 2, PR_CLEAR = 3, PR_PREEMPT = 4,
       PR_REG_IGNORE = 6 };
#define PR_TYPE_WE_RO 5

/* PR OUT; the SCSI status (or -1: the cut). */
static int pr_out(struct iscsi_context *c, int lun, int sa, int type, uint64_t key,
		  uint64_t sakey, int aptpl)
{
	uint8_t cdb[10] = { 0x5f, (uint8_t)sa, (uint8_t)type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };
	struct scsi_task *t;
	int st;

	put64(p, key);
	put64(p + 8, sakey);
	p[20] = (uint8_t)(aptpl ? 1 : 0);
	t = cmd(c, lun, cdb, 10, p, sizeof(p), 0);
	if (!t)
		return -1;
	st = t->status;
	if (st)
		fprintf(stderr, "crashini: PR OUT %d: %s\n", sa, status_str(t));
	scsi_free_scsi_task(t);
	return st;
}

/* READ KEYS and READ RESERVATION into *p; -1 at a transport failure. */
static int pr_in(struct iscsi_context *c, int lun, struct prs *p)
{
	uint8_t k[10] = { 0x5e, 0, 0, 0, 0, 0, 0, 0x04, 0, 0 };
	uint8_t r[10] = { 0x5e, 1, 0, 0, 0, 0, 0, 0, 64, 0 };
	struct scsi_task *t;
	uint32_t len;

	memset(p, 0, sizeof(*p));
	t = cmd(c, lun, k, 10, NULL, 0, 1024);
	if (!t)
		return -1;
	if (t->status || t->datain.size < 8)
		die("READ KEYS: %s", status_str(t));
	len = get32(t->datain.data + 4);
	for (uint32_t o = 8; o + 8 <= 8 + len && o + 8 <= (uint32_t)t->datain.size; o += 8) {
		if (p->nkeys == PR_MAXKEYS)
			die("READ KEYS: more than %d keys", PR_MAXKEYS);
		p->keys[p->nkeys++] = get64(t->datain.data + o);
	}
	scsi_free_scsi_task(t);
	t = cmd(c, lun, r, 10, NULL, 0, 64);
	if (!t)
		return -1;
	if (t->status || t->datain.size < 8)
		die("READ RESERVATION: %s", status_str(t));
	if (get32(t->datain.data + 4) >= 16 && t->datain.size >= 24) {
		p->holder = get64(t->datain.data + 8);
		p->type = t->datain.data[21] & 0x0f;
	}
	scsi_free_scsi_task(t);
	return 0;
}

static void pr_sort(struct prs *p)
{
	for (int i = 1; i < p->nkeys; i++)
		for (int j = i; j > 0 && p->keys[j - 1] > p->keys[j]; j--) {
			uint64_t x = p->keys[j];

			p->keys[j] = p->keys[j - 1];
			p->keys[j - 1] = x;
		}
}

static bool pr_eq(struct prs a, struct prs b)
{
	pr_sort(&a);
	pr_sort(&b);
	if (a.nkeys != b.nkeys || a.holder != b.holder || (a.holder && a.type != b.type))
		return false;
	return !memcmp(a.keys, b.keys, (size_t)a.nkeys * sizeof(a.keys[0]));
}

/* What a power cut leaves of state p: all of it with APTPL, else nothing. */
static struct prs pr_after_cut(struct prs p)
{
	if (!p.aptpl)
		memset(&p, 0, sizeof(p));
	return p;
}

static void pr_str(const struct prs *p, char *s, size_t n)
{
	int o = snprintf(s, n, "keys");

	for (int i = 0; i < p->nkeys && o < (int)n; i++)
		o += snprintf(s + o, n - (size_t)o, " %llx", (unsigned long long)p->keys[i]);
	if (o < (int)n)
		snprintf(s + o, n - (size_t)o, p->holder ? "; held by %llx type %d" : "; no reservation",
			 (unsigned long long)p->holder, p->type);
}

/* The WCE bit of the caching page, page control 0 (current) or 3 (saved); -1: the cut. */
static int wce_get(struct iscsi_context *c, int lun, int pc)
{
	uint8_t cdb[6] = { 0x1a, 0x08, (uint8_t)(pc << 6 | 0x08), 0, 0x18, 0 };
	struct scsi_task *t = cmd(c, lun, cdb, 6, NULL, 0, 0x18);
	int w;

	if (!t)
		return -1;
	if (t->status || t->datain.size < 4 + 3 || t->datain.data[4] != 0x08)
		die("MODE SENSE caching page (pc %d): %s", pc, status_str(t));
	w = (t->datain.data[4 + 2] >> 2) & 1;
	scsi_free_scsi_task(t);
	return w;
}

/* MODE SELECT(6), PF=1 SP=1: the caching page with WCE = w, saved. Status or -1. */
static int wce_set(struct iscsi_context *c, int lun, int w)
{
	uint8_t cdb[6] = { 0x15, 0x11, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };
	struct scsi_task *t;
	int st;

	p[4] = 0x08;
	p[5] = 0x12;
	p[6] = (uint8_t)(w ? 0x04 : 0);
	t = cmd(c, lun, cdb, 6, p, sizeof(p), 0);
	if (!t)
		return -1;
	st = t->status;
	if (st)
		fprintf(stderr, "crashini: MODE SELECT: %s\n", status_str(t));
	scsi_free_scsi_task(t);
	return st;
}

static uint64_t capacity(struct iscsi_context *c, int lun)
{
	uint8_t cdb[16] = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 };
	struct scsi_task *t = cmd(c, lun, cdb, 16, NULL, 0, 32);
	uint64_t n;

	if (!t)
		die("READ CAPACITY: the connection broke");
	if (t->status || t->datain.size < 12 || get32(t->datain.data + 8) != BS)
		die("READ CAPACITY(16): %s, or a block size other than %u", status_str(t), BS);
	n = get64(t->datain.data) + 1;
	scsi_free_scsi_task(t);
	return n;
}

/* ---- check ---------------------------------------------------------------------------- */

/* The bytes generation g leaves in block lba. */
static void content(uint8_t *buf, uint64_t lba, uint64_t g)
{
	switch (O.g[g].type) {
	case G_DATA: fill(buf, lba, g); break;
	case G_SAME: fill(buf, O.g[g].key, g); break;
	default: memset(buf, 0, BS); break;
	}
}

static bool allowed(const struct blk *b, uint64_t g)
{
	if (g == b->dur)
		return true;
	for (uint32_t i = 0; i < b->ncand; i++)
		if (b->cand[i] == g)
			return true;
	return false;
}

static void blk_str(const struct blk *b, char *s, size_t n)
{
	int o = snprintf(s, n, "durable %llu, then", (unsigned long long)b->dur);

	for (uint32_t i = 0; i < b->ncand && i < 8 && o < (int)n; i++)
		o += snprintf(s + o, n - (size_t)o, " %llu", (unsigned long long)b->cand[i]);
	if (b->ncand > 8 && o < (int)n)
		snprintf(s + o, n - (size_t)o, " ... (%u)", b->ncand);
	else if (!b->ncand && o < (int)n)
		snprintf(s + o, n - (size_t)o, " nothing");
}

static int do_check(const char *url, const char *state)
{
	uint64_t ok = 0, newer = 0, lost = 0, garbage = 0, reported = 0, nb;
	struct iscsi_context *d;
	uint8_t *buf;
	struct prs got;
	char s1[256], s2[256], s3[256];
	int lun, saved, cur, bad_mode = 0, bad_pr = 0;
	uint8_t tur[6] = { 0 };
	struct scsi_task *t;

	d = session(url, "d", 0xd1, &lun);
	t = cmd(d, lun, tur, 6, NULL, 0, 0); /* the power-on unit attention */
	if (!t)
		die("TEST UNIT READY: the connection broke");
	scsi_free_scsi_task(t);
	nb = capacity(d, lun);
	if (!state_load(state))
		oracle_new(nb);
	if (nb != O.nblocks)
		die("the LU has %llu blocks, the state %llu", (unsigned long long)nb,
		    (unsigned long long)O.nblocks);

	saved = wce_get(d, lun, 3);
	cur = wce_get(d, lun, 0);
	if (saved < 0 || cur < 0)
		die("MODE SENSE: the connection broke");
	if ((saved != O.saved_wce && saved != O.saved_wce_inflight) || cur != saved) {
		printf("BAD mode: saved WCE %d current %d; acknowledged %d, in flight %d\n", saved,
		       cur, O.saved_wce, O.saved_wce_inflight);
		bad_mode = 1;
	}
	if (pr_in(d, lun, &got) < 0)
		die("PERSISTENT RESERVE IN: the connection broke");
	if (!pr_eq(got, pr_after_cut(O.pr)) &&
	    !(O.pr_has_inflight && pr_eq(got, pr_after_cut(O.pr_inflight)))) {
		struct prs a = pr_after_cut(O.pr), b = pr_after_cut(O.pr_inflight);

		pr_str(&got, s1, sizeof(s1));
		pr_str(&a, s2, sizeof(s2));
		pr_str(&b, s3, sizeof(s3));
		printf("BAD reservations: read %s; acknowledged %s; in flight %s\n", s1, s2,
		       O.pr_has_inflight ? s3 : "none");
		bad_pr = 1;
	}

	buf = malloc(READ_CHUNK * BS);
	if (!buf)
		die("out of memory");
	for (uint64_t lba = 0; lba < nb; lba += READ_CHUNK) {
		uint32_t n = nb - lba < READ_CHUNK ? (uint32_t)(nb - lba) : READ_CHUNK;
		uint8_t cdb[16] = { 0x88 };

		put64(cdb + 2, lba);
		put32(cdb + 10, n);
		t = cmd(d, lun, cdb, 16, NULL, 0, (size_t)n * BS);
		if (!t)
			die("READ: the connection broke");
		if (t->status || t->datain.size != (int)(n * BS))
			die("READ at %llu: %s", (unsigned long long)lba, status_str(t));
		memcpy(buf, t->datain.data, (size_t)n * BS);
		scsi_free_scsi_task(t);
		for (uint32_t i = 0; i < n; i++) {
			struct blk *b = &O.b[lba + i];
			const uint8_t *p = buf + (size_t)i * BS;
			uint64_t key = 0, g = 0, now = 1; /* now: the new baseline (1: unknown) */
			int r = parse(p, &key, &g);
			const char *what = NULL;
			uint8_t want[BS];

			if (O.g[b->dur].type == G_UNKNOWN) {
				now = r == 0 ? 0 : 1;
				ok++;
			} else if (r == 0) {
				/* zeroes: the newest zero generation allowed, if any */
				now = 0;
				if (O.g[b->dur].type == G_ZERO)
					now = b->dur;
				for (uint32_t c = 0; c < b->ncand; c++)
					if (O.g[b->cand[c]].type == G_ZERO)
						now = b->cand[c];
				if (now || O.g[b->dur].type == G_ZERO) {
					ok += 1;
					newer += now != b->dur;
				} else {
					what = "lost";
				}
			} else if (r < 0 || g >= O.next_gen) {
				what = "garbage";
			} else {
				/* Whole (its pattern matches its key and generation); then this
				 * block's, and one it may hold. The generation table keeps only the
				 * generations the oracle still names, so an older one is judged by
				 * its pattern alone: lost. */
				fill(want, key, g);
				now = g;
				if (memcmp(want, p, BS)) {
					what = "garbage"; /* torn */
				} else if (allowed(b, g) &&
					   key == (O.g[g].type == G_SAME ? O.g[g].key : lba + i) &&
					   O.g[g].type != G_ZERO) {
					ok++;
					newer += g != b->dur;
				} else if (g < b->dur && key <= lba + i &&
					   lba + i - key < MAX_RUN) {
					what = "lost";
				} else {
					what = "garbage"; /* another block's data, or never sent */
				}
			}
			if (what) {
				*(what[0] == 'l' ? &lost : &garbage) += 1;
				if (reported++ < 20) {
					blk_str(b, s1, sizeof(s1));
					printf("BAD block %llu %s: read %s%llu; allowed: %s\n",
					       (unsigned long long)(lba + i), what,
					       r < 0 ? "garbage " : r == 0 ? "zeroes " : "generation ",
					       (unsigned long long)(r == 1 ? g : 0), s1);
				}
			}
			b->dur = now;
			b->ncand = 0;
			b->acked = 0;
		}
	}
	free(buf);

	/* The new baseline: what was read; the reservations cleared; D registered again. */
	O.wce = cur;
	O.saved_wce = saved;
	O.saved_wce_inflight = -1;
	if (pr_out(d, lun, PR_REG_IGNORE, 0, 0, KEY_D, 1) ||
	    pr_out(d, lun, PR_CLEAR, 0, KEY_D, 0, 1) || pr_out(d, lun, PR_REGISTER, 0, 0, KEY_D, 1))
		die("cannot reset the reservations");
	memset(&O.pr, 0, sizeof(O.pr));
	O.pr.nkeys = 1;
	O.pr.keys[0] = KEY_D;
	O.pr.aptpl = 1;
	O.pr_has_inflight = false;
	O.ka = O.kb = 0;
	state_save(state);
	printf("check: blocks %llu ok %llu (newer than durable %llu) lost %llu garbage %llu "
	       "pr %s mode %s wce %d\n",
	       (unsigned long long)nb, (unsigned long long)ok, (unsigned long long)newer,
	       (unsigned long long)lost, (unsigned long long)garbage, bad_pr ? "BAD" : "ok",
	       bad_mode ? "BAD" : "ok", cur);
	iscsi_logout_sync(d);
	iscsi_destroy_context(d);
	return lost || garbage || bad_pr || bad_mode ? 1 : 0;
}

/* ---- run ------------------------------------------------------------------------------ */

enum kind { K_WRITE, K_FUA, K_SYNC, K_UNMAP, K_SAME, K_CAW, K_PR, K_MODE };
static const char *const kind_name[] = { "WRITE", "WRITE FUA", "SYNCHRONIZE CACHE", "UNMAP",
					 "WRITE SAME", "COMPARE AND WRITE", "PR OUT",
					 "MODE SELECT" };

struct op {
	enum kind kind;
	uint64_t lba, gen;
	uint32_t n;
	int tries;
	uint8_t cdb[16];
	uint8_t *dout;
	size_t doutlen;
	struct iscsi_data data;
	uint64_t *snap; /* K_SYNC: the acknowledged generations when it was sent */
};

static struct {
	struct iscsi_context *d, *a, *b;
	int lun, inflight;
	bool cut, sync_inflight;
	uint64_t sent, acked, errors, counts[8];
	uint64_t rng;
} R;

static uint64_t rnd(void)
{
	R.rng ^= R.rng << 13;
	R.rng ^= R.rng >> 7;
	R.rng ^= R.rng << 17;
	return R.rng;
}

static void op_send(struct op *op);

static void op_free(struct op *op)
{
	free(op->dout);
	free(op->snap);
	free(op);
}

static void op_done(struct iscsi_context *c, int status, void *data, void *priv)
{
	struct scsi_task *t = data;
	struct op *op = priv;
	bool durable;

	(void)c;
	(void)status;
	R.inflight--;
	if (t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_CANCELLED ||
	    t->status == SCSI_STATUS_TIMEOUT) {
		R.cut = true; /* the candidates stay: it may or may not have happened */
		scsi_free_scsi_task(t);
		op_free(op);
		return;
	}
	if (is_ua(t) && ++op->tries < RETRIES) {
		scsi_free_scsi_task(t);
		op_send(op);
		return;
	}
	if (t->status != SCSI_STATUS_GOOD) {
		printf("BAD answer: %s at %llu+%u (generation %llu): %s\n", kind_name[op->kind],
		       (unsigned long long)op->lba, op->n, (unsigned long long)op->gen,
		       status_str(t));
		R.errors++;
		/* It may or may not have been done: the candidate stays. */
		for (uint32_t i = 0; i < op->n && op->kind != K_SYNC; i++)
			O.b[op->lba + i].busy = false;
		if (op->kind == K_SYNC)
			R.sync_inflight = false;
		scsi_free_scsi_task(t);
		op_free(op);
		return;
	}
	R.acked++;
	R.counts[op->kind]++;
	if (op->kind == K_SYNC) {
		for (uint64_t l = 0; l < O.nblocks; l++)
			if (op->snap[l])
				make_durable(&O.b[l], op->snap[l]);
		R.sync_inflight = false;
	} else {
		durable = op->kind == K_FUA || (op->kind == K_CAW && (op->cdb[1] & 0x08)) || !O.wce;
		for (uint32_t i = 0; i < op->n; i++) {
			struct blk *b = &O.b[op->lba + i];

			b->busy = false;
			b->acked = op->gen;
			if (durable)
				make_durable(b, op->gen);
		}
	}
	scsi_free_scsi_task(t);
	op_free(op);
}

static void op_send(struct op *op)
{
	static const int cdblen[] = { 16, 16, 10, 10, 16, 16 };
	int dir = op->doutlen ? SCSI_XFER_WRITE : SCSI_XFER_NONE;
	struct scsi_task *t = scsi_create_task(cdblen[op->kind], op->cdb, dir, (int)op->doutlen);

	if (!t)
		die("out of memory");
	op->data.data = op->dout;
	op->data.size = op->doutlen;
	if (iscsi_scsi_command_async(R.d, R.lun, t, op_done, op->doutlen ? &op->data : NULL, op)) {
		scsi_free_scsi_task(t);
		op_free(op);
		R.cut = true;
		return;
	}
	R.inflight++;
}

/* A free range of n blocks (none in flight); false if none was found quickly. */
static bool pick_range(uint32_t n, uint64_t *lba)
{
	for (int a = 0; a < 16; a++) {
		uint64_t l = rnd() % (O.nblocks - n + 1);
		uint32_t i;

		for (i = 0; i < n && !O.b[l + i].busy; i++)
			;
		if (i == n) {
			*lba = l;
			return true;
		}
	}
	return false;
}

/* Sends one data command of this kind (or a plain write) on n blocks at lba, or (n 0) on a
 * free range picked at random; false if none was free. */
static bool submit_at(enum kind k, uint64_t lba, uint32_t n)
{
	struct op *op = calloc(1, sizeof(*op));
	bool pick = !n;

	if (pick)
		n = k == K_CAW ? 1 : 1 + (uint32_t)(rnd() % MAX_RUN);

	if (!op)
		die("out of memory");
	if (k == K_SYNC) {
		op->kind = K_SYNC;
		op->cdb[0] = 0x35;
		op->snap = malloc(O.nblocks * sizeof(*op->snap));
		if (!op->snap)
			die("out of memory");
		for (uint64_t l = 0; l < O.nblocks; l++)
			op->snap[l] = O.b[l].acked;
		R.sync_inflight = true;
		op_send(op);
		R.sent++;
		return true;
	}
	op->lba = lba;
	if (pick && !pick_range(n, &op->lba)) {
		free(op);
		return false;
	}
	if (k == K_CAW) {
		struct blk *b = &O.b[op->lba];
		uint64_t cur = b->acked ? b->acked : b->dur;

		if (O.g[cur].type == G_UNKNOWN)
			k = K_WRITE;
	}
	op->kind = k;
	op->n = n;
	op->gen = O.next_gen++;
	gen_set(op->gen, k == K_UNMAP ? G_ZERO : k == K_SAME ? G_SAME : G_DATA, op->lba);
	switch (k) {
	case K_WRITE:
	case K_FUA:
		op->cdb[0] = 0x8a;
		op->cdb[1] = k == K_FUA ? 0x08 : 0;
		put64(op->cdb + 2, op->lba);
		put32(op->cdb + 10, n);
		op->doutlen = (size_t)n * BS;
		break;
	case K_SAME:
		op->cdb[0] = 0x93;
		put64(op->cdb + 2, op->lba);
		put32(op->cdb + 10, n);
		op->doutlen = BS;
		break;
	case K_UNMAP:
		op->cdb[0] = 0x42;
		op->cdb[8] = 24;
		op->doutlen = 24;
		break;
	case K_CAW:
		op->cdb[0] = 0x89;
		op->cdb[1] = rnd() & 1 ? 0x08 : 0;
		put64(op->cdb + 2, op->lba);
		op->cdb[13] = 1;
		op->doutlen = 2 * BS;
		break;
	default:
		die("submit: kind %d", k);
	}
	op->dout = malloc(op->doutlen);
	if (!op->dout)
		die("out of memory");
	switch (k) {
	case K_UNMAP:
		memset(op->dout, 0, 24);
		op->dout[1] = 22;
		op->dout[3] = 16;
		put64(op->dout + 8, op->lba);
		put32(op->dout + 16, n);
		break;
	case K_SAME:
		fill(op->dout, op->lba, op->gen);
		break;
	case K_CAW: {
		struct blk *b = &O.b[op->lba];

		content(op->dout, op->lba, b->acked ? b->acked : b->dur);
		fill(op->dout + BS, op->lba, op->gen);
		break;
	}
	default:
		for (uint32_t i = 0; i < n; i++)
			fill(op->dout + (size_t)i * BS, op->lba + i, op->gen);
	}
	for (uint32_t i = 0; i < n; i++) {
		O.b[op->lba + i].busy = true;
		cand_add(&O.b[op->lba + i], op->gen);
	}
	op_send(op);
	R.sent++;
	return true;
}

static bool submit(enum kind k)
{
	return submit_at(k, 0, 0);
}

static void pr_add(struct prs *p, uint64_t k)
{
	p->keys[p->nkeys++] = k;
}

static void pr_del(struct prs *p, uint64_t k)
{
	for (int i = 0; i < p->nkeys; i++)
		if (p->keys[i] == k) {
			p->keys[i] = p->keys[--p->nkeys];
			return;
		}
}

/* One step of the reservation game between A and B (D stays registered, and may write under
 * the Write Exclusive - Registrants Only reservations they take). Returns false at the cut. */
static bool pr_step(void)
{
	struct iscsi_context *who[2] = { R.a, R.b };
	uint64_t *key[2] = { &O.ka, &O.kb };
	int x = (int)(rnd() & 1), y = 1 - x, st = 0, choice, aptpl = rnd() % 4 != 0;
	uint64_t nk = (x ? 0xbb00000000000000ull : 0xaa00000000000000ull) | O.next_gen++;
	struct prs next = O.pr;

	if (!*key[x]) {
		choice = 0; /* register */
	} else if (!O.pr.holder) {
		choice = rnd() % 3 ? 1 : 4; /* reserve, or unregister */
	} else if (O.pr.holder == *key[x]) {
		choice = rnd() & 1 ? 2 : 3; /* release, or nothing to do but re-register */
	} else if (O.pr.holder == *key[y]) {
		choice = rnd() & 1 ? 5 : 4; /* preempt the holder, or unregister */
	} else {
		choice = 4;
	}
	if (choice == 0 || choice == 3 || choice == 4)
		next.aptpl = aptpl; /* the last REGISTER sets it, for the whole LU */
	switch (choice) {
	case 0:
	case 3: /* REGISTER AND IGNORE EXISTING KEY: a new key (the holder's too) */
		if (*key[x])
			pr_del(&next, *key[x]);
		pr_add(&next, nk);
		if (O.pr.holder && O.pr.holder == *key[x])
			next.holder = nk;
		break;
	case 1:
		next.holder = *key[x];
		next.type = PR_TYPE_WE_RO;
		break;
	case 2:
		next.holder = 0;
		next.type = 0;
		break;
	case 4: /* unregister (never the holder) */
		pr_del(&next, *key[x]);
		break;
	case 5:
		pr_del(&next, *key[y]);
		next.holder = *key[x];
		next.type = PR_TYPE_WE_RO;
		break;
	}
	O.pr_inflight = next;
	O.pr_has_inflight = true;
	switch (choice) {
	case 0:
	case 3: st = pr_out(who[x], R.lun, PR_REG_IGNORE, 0, 0, nk, aptpl); break;
	case 1: st = pr_out(who[x], R.lun, PR_RESERVE, PR_TYPE_WE_RO, *key[x], 0, 1); break;
	case 2: st = pr_out(who[x], R.lun, PR_RELEASE, PR_TYPE_WE_RO, *key[x], 0, 1); break;
	case 4: st = pr_out(who[x], R.lun, PR_REGISTER, 0, *key[x], 0, aptpl); break;
	case 5: st = pr_out(who[x], R.lun, PR_PREEMPT, PR_TYPE_WE_RO, *key[x], *key[y], 1); break;
	}
	if (st < 0)
		return false;
	O.pr_has_inflight = false;
	if (st) {
		R.errors++;
		printf("BAD answer: PR OUT step %d\n", choice);
		return true;
	}
	O.pr = next;
	if (choice == 0 || choice == 3)
		*key[x] = nk;
	else if (choice == 4)
		*key[x] = 0;
	else if (choice == 5)
		*key[y] = 0;
	R.acked++;
	R.counts[K_PR]++;
	return true;
}

/* MODE SELECT with SP=1: WCE flipped and saved. false at the cut. */
static bool mode_step(void)
{
	int w = !O.wce, st;

	O.saved_wce_inflight = w;
	st = wce_set(R.d, R.lun, w);
	if (st < 0)
		return false;
	O.saved_wce_inflight = -1;
	if (st) {
		R.errors++;
		printf("BAD answer: MODE SELECT\n");
		return true;
	}
	O.wce = O.saved_wce = w;
	R.acked++;
	R.counts[K_MODE]++;
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps every session serviced (the target's NOP-In pings on the idle A and B). */
static void service(int ms)
{
	struct iscsi_context *c[3] = { R.d, R.a, R.b };
	struct pollfd p[3];

	for (int i = 0; i < 3; i++) {
		p[i].fd = iscsi_get_fd(c[i]);
		p[i].events = (short)iscsi_which_events(c[i]);
		p[i].revents = 0;
	}
	if (poll(p, 3, ms) < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (iscsi_service(c[i], p[i].revents) < 0)
			R.cut = true;
}

/* Waits until nothing is in flight; false at the cut. */
static bool drain(void)
{
	while (R.inflight > 0 && !R.cut)
		service(200);
	return !R.cut;
}

/* The loop's seeds (tests/vm/crash-seeds): after the random workload, a fixed ending that
 * once lost something, then nothing more until the cut (no later flush of the file system's
 * journal can hide what invard did not make durable itself). "quiet": no ending, just the
 * silence (the loop picks it for some random cuts). false at the cut. */
static bool scenario(const char *name)
{
	if (!drain())
		return false;
	if (!strcmp(name, "unmap-wce0")) {
		/* UNMAP under WCE=0 is durable at GOOD: blocks 0..63 written FUA, then unmapped. */
		if (O.wce && !mode_step())
			return false;
		for (uint64_t l = 0; l < 64; l += 8)
			if (!submit_at(K_FUA, l, 8) || !drain())
				return false;
		for (uint64_t l = 0; l < 64; l += 8)
			if (!submit_at(K_UNMAP, l, 8) || !drain())
				return false;
	} else if (!strcmp(name, "pr-aptpl0")) {
		/* A REGISTER with APTPL=0 after a saved state: nothing survives the cut. */
		for (int i = 0; i < 8; i++)
			if (!pr_step())
				return false;
		O.pr_inflight = O.pr;
		O.pr_inflight.aptpl = 0;
		O.pr_has_inflight = true;
		if (pr_out(R.a, R.lun, PR_REG_IGNORE, 0, 0, O.ka ? O.ka : 0xaa00000000000000ull | O.next_gen, 0) < 0)
			return false;
		if (!O.ka) {
			O.ka = 0xaa00000000000000ull | O.next_gen++;
			pr_add(&O.pr_inflight, O.ka);
		}
		O.pr = O.pr_inflight;
		O.pr_has_inflight = false;
	} else if (!strcmp(name, "sync-wce1")) {
		/* Plain writes under WCE=1, then SYNCHRONIZE CACHE: all durable. */
		if (!O.wce && !mode_step())
			return false;
		for (uint64_t l = 64; l < 128; l += 8)
			if (!submit_at(K_WRITE, l, 8))
				return false;
		if (!drain() || !submit(K_SYNC) || !drain())
			return false;
	} else if (strcmp(name, "quiet")) {
		die("unknown scenario %s", name);
	}
	printf("quiet: %s done\n", name);
	fflush(stdout);
	while (!R.cut)
		service(500);
	return false;
}

static int do_run(const char *url, const char *state, uint64_t seed, int qd,
		  const char *seedcase)
{
	enum kind barrier = K_WRITE; /* K_PR or K_MODE while one waits for the queue to drain */
	double t0;
	int cur;
	uint64_t ending_at;

	if (!state_load(state))
		die("%s: no state: run check first", state);
	R.rng = seed * 0x9E3779B97F4A7C15ull | 1;
	R.d = session(url, "d", 0xd1, &R.lun);
	R.a = session(url, "a", 0xa1, &R.lun);
	R.b = session(url, "b", 0xb1, &R.lun);
	cur = wce_get(R.d, R.lun, 0);
	if (cur < 0)
		die("MODE SENSE: the connection broke");
	O.wce = cur;
	/* A seed's ending comes after 40 commands; the quiet one anywhere in 20..170. */
	ending_at = seedcase && !strcmp(seedcase, "quiet") ? 20 + rnd() % 150 : 40;
	t0 = now_s();
	printf("running: seed %llu, queue depth %d, wce %d\n", (unsigned long long)seed, qd, cur);
	fflush(stdout);
	while (!R.cut && now_s() - t0 < 1800) {
		if (seedcase && R.sent >= ending_at && barrier == K_WRITE && !scenario(seedcase))
			break;
		while (barrier == K_WRITE && R.inflight < qd) {
			uint64_t r = rnd() % 100;
			enum kind k = r < 40 ? K_WRITE : r < 52 ? K_FUA : r < 60 ? K_SYNC :
				      r < 70 ? K_UNMAP : r < 80 ? K_SAME : r < 90 ? K_CAW :
				      r < 96 ? K_PR : K_MODE;

			if (k == K_PR || k == K_MODE) {
				barrier = k;
				break;
			}
			if (k == K_SYNC && R.sync_inflight)
				k = K_WRITE;
			if (!submit(k) || R.cut)
				break;
		}
		if (barrier != K_WRITE && R.inflight == 0 && !R.cut) {
			if (!(barrier == K_PR ? pr_step() : mode_step()))
				R.cut = true;
			barrier = K_WRITE;
			continue;
		}
		if (!R.cut)
			service(200);
	}
	state_save(state);
	printf("cut: saved wce %d (in flight %d), %s reservation change in flight\n", O.saved_wce,
	       O.saved_wce_inflight, O.pr_has_inflight ? "a" : "no");
	printf("cut: after %.1f s: %llu commands sent, %llu acknowledged, %d in flight, %llu "
	       "errors; write %llu fua %llu sync %llu unmap %llu same %llu caw %llu pr %llu mode "
	       "%llu\n",
	       now_s() - t0, (unsigned long long)R.sent, (unsigned long long)R.acked, R.inflight,
	       (unsigned long long)R.errors, (unsigned long long)R.counts[K_WRITE],
	       (unsigned long long)R.counts[K_FUA], (unsigned long long)R.counts[K_SYNC],
	       (unsigned long long)R.counts[K_UNMAP], (unsigned long long)R.counts[K_SAME],
	       (unsigned long long)R.counts[K_CAW], (unsigned long long)R.counts[K_PR],
	       (unsigned long long)R.counts[K_MODE]);
	return R.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3]);
	if (argc >= 5 && argc <= 7 && !strcmp(argv[1], "run"))
		return do_run(argv[2], argv[3], strtoull(argv[4], NULL, 0),
			      argc >= 6 ? atoi(argv[5]) : 4, argc == 7 ? argv[6] : NULL);
	fprintf(stderr, "usage: crashini check URL STATE | "
			"crashini run URL STATE SEED [QD [SCENARIO]]\n");
	return 2;
}
