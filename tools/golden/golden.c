/* invar-golden: records, replays and cross-checks golden corpora (corpus.h) against running
 * daemons over iSCSI, with libiscsi sending each CDB exactly as written.
 *
 *   invar-golden profiles
 *   invar-golden replay URL CORPUS
 *   invar-golden record URL CORPUS --lun SPEC --target IQN
 *   invar-golden sweep URL1 URL2 CORPUS [--seed N] [--count N]
 *   invar-golden check CORPUS [--min N]
 *
 * Exit status: 0 as expected, 1 a difference or an unanswered command, 2 bad usage or input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "corpus.h"
#include "ctl/lunspec.h"
#include "gen.h"
#include "util/byteorder.h"

#define INITIATOR "iqn.2026-11.org.invar:golden"
#define CMD_TIMEOUT_S 30
#define MAX_SHOWN 20	/* differences printed in full; all are counted */

struct conn {
	struct iscsi_context *iscsi;
	int lun;
	const char *url;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: invar-golden COMMAND ...\n"
		"  profiles                           each profile: NAME released|draft\n"
		"  replay URL CORPUS                  send every CDB, compare with the recorded\n"
		"                                     answers byte for byte\n"
		"  record URL CORPUS --lun SPEC --target IQN\n"
		"                                     record a new corpus from the daemon at URL,\n"
		"                                     whose LU was started with SPEC (with profile=);\n"
		"                                     refuses to overwrite a released profile's corpus\n"
		"  sweep URL1 URL2 CORPUS [--seed N] [--count N]\n"
		"                                     the corpus CDBs plus N seeded mutations to two\n"
		"                                     daemons: every answer must be identical\n"
		"  check CORPUS [--min N]             parse, print the CDB count, require >= N\n"
		"URL: iscsi://HOST:PORT/TARGET/LUN\n");
}

/* ---- iSCSI ---- */

static int conn_open(struct conn *c, const char *url_s)
{
	struct iscsi_url *url;

	memset(c, 0, sizeof(*c));
	c->url = url_s;
	c->iscsi = iscsi_create_context(INITIATOR);
	if (!c->iscsi) {
		fprintf(stderr, "invar-golden: cannot create an iSCSI context\n");
		return -1;
	}
	url = iscsi_parse_full_url(c->iscsi, url_s);
	if (!url) {
		fprintf(stderr, "invar-golden: bad URL %s: %s\n", url_s, iscsi_get_error(c->iscsi));
		goto fail;
	}
	c->lun = url->lun;
	iscsi_set_targetname(c->iscsi, url->target);
	iscsi_set_session_type(c->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(c->iscsi, ISCSI_HEADER_DIGEST_NONE);
	/* A dropped connection is a failure to report, not something to paper over (a
	 * reconnect would also bring a new nexus and its unit attention). */
	iscsi_set_noautoreconnect(c->iscsi, 1);
	iscsi_set_timeout(c->iscsi, CMD_TIMEOUT_S);
	/* Connect and log in without iscsi_full_connect_sync(): that one sends TEST UNIT READY
	 * to swallow the power-on unit attention, which the corpus records instead. */
	if (iscsi_connect_sync(c->iscsi, url->portal) != 0 || iscsi_login_sync(c->iscsi) != 0) {
		fprintf(stderr, "invar-golden: cannot log in to %s: %s\n", url_s,
			iscsi_get_error(c->iscsi));
		iscsi_destroy_url(url);
		goto fail;
	}
	iscsi_destroy_url(url);
	return 0;
fail:
	iscsi_destroy_context(c->iscsi);
	c->iscsi = NULL;
	return -1;
}

static void conn_close(struct conn *c)
{
	if (!c->iscsi)
		return;
	iscsi_logout_sync(c->iscsi);
	iscsi_destroy_context(c->iscsi);
	c->iscsi = NULL;
}

/* Sends one command and captures its answer. */
static void conn_exec(struct conn *c, const struct g_entry *e, struct g_resp *r)
{
	static const int dirs[] = { [G_NONE] = SCSI_XFER_NONE, [G_READ] = SCSI_XFER_READ,
				    [G_WRITE] = SCSI_XFER_WRITE };
	struct iscsi_data d = { .size = e->xfer, .data = e->out };
	struct scsi_task *task, *done;
	uint8_t cdb[G_CDB_MAX];

	memset(r, 0, sizeof(*r));
	memcpy(cdb, e->cdb, e->cdb_len);
	task = scsi_create_task((int)e->cdb_len, cdb, dirs[e->dir],
				e->dir == G_NONE ? 0 : (int)e->xfer);
	if (!task) {
		r->status = G_NO_ANSWER;
		snprintf(r->why, sizeof(r->why), "out of memory");
		return;
	}
	done = iscsi_scsi_command_sync(c->iscsi, c->lun, task, e->dir == G_WRITE ? &d : NULL);
	if (!done) {
		/* libiscsi owns the task on this path. */
		r->status = G_NO_ANSWER;
		snprintf(r->why, sizeof(r->why), "%s", iscsi_get_error(c->iscsi));
		return;
	}
	if ((int)task->status < 0 || (int)task->status > 0xff) {
		r->status = G_NO_ANSWER;
		snprintf(r->why, sizeof(r->why), "%s (libiscsi status %#x)",
			 iscsi_get_error(c->iscsi), (unsigned)task->status);
		scsi_free_scsi_task(task);
		return;
	}
	r->status = task->status;
	if (task->status == SCSI_STATUS_CHECK_CONDITION && task->datain.size >= 2) {
		/* libiscsi leaves the sense segment as is: SenseLength, then the sense data. */
		uint32_t n = get_be16(task->datain.data);

		if (n > (uint32_t)task->datain.size - 2)
			n = (uint32_t)task->datain.size - 2;
		if (n > G_SENSE_MAX)
			n = G_SENSE_MAX;
		memcpy(r->sense, task->datain.data + 2, n);
		r->sense_len = n;
	} else if (task->datain.size > 0) {
		r->data_len = (uint32_t)task->datain.size;
		r->data = malloc(r->data_len);
		if (!r->data) {
			r->status = G_NO_ANSWER;
			snprintf(r->why, sizeof(r->why), "out of memory");
			r->data_len = 0;
		} else {
			memcpy(r->data, task->datain.data, r->data_len);
		}
	}
	scsi_free_scsi_task(task);
}

/* ---- printing differences ---- */

static void print_cdb(FILE *f, const struct g_entry *e)
{
	fprintf(f, "  CDB:");
	for (unsigned i = 0; i < e->cdb_len; i++)
		fprintf(f, " %02x", e->cdb[i]);
	if (e->dir == G_READ)
		fprintf(f, "   (read, transfer length %u)", e->xfer);
	else if (e->dir == G_WRITE)
		fprintf(f, "   (write, %u bytes of data-out)", e->xfer);
	fputc('\n', f);
}

static void row(FILE *f, char mark, const uint8_t *b, size_t len, size_t off)
{
	fprintf(f, "    %c %04zx ", mark, off);
	for (size_t i = off; i < off + 16 && i < len; i++)
		fprintf(f, " %02x", b[i]);
	fputc('\n', f);
}

/* A unified-diff-like view of two byte strings around their first difference. */
static void print_bytes_diff(FILE *f, const char *what, const uint8_t *a, size_t alen,
			     const uint8_t *b, size_t blen)
{
	size_t first = 0, max = alen > blen ? alen : blen, from, to;

	while (first < alen && first < blen && a[first] == b[first])
		first++;
	fprintf(f, "  %s (- expected %zu bytes, + got %zu bytes), first difference at byte %zu:\n",
		what, alen, blen, first);
	from = first / 16 * 16;
	from = from >= 32 ? from - 32 : 0;
	to = from + 128 < max ? from + 128 : max;
	for (size_t off = from; off < to; off += 16) {
		bool same = off + 16 <= alen && off + 16 <= blen && !memcmp(a + off, b + off, 16);

		if (same) {
			row(f, ' ', a, alen, off);
			continue;
		}
		if (off < alen)
			row(f, '-', a, alen, off);
		if (off < blen)
			row(f, '+', b, blen, off);
	}
	if (to < max)
		fprintf(f, "    ... (%zu more bytes)\n", max - to);
}

static void print_mismatch(FILE *f, const char *where, const struct g_entry *e,
			   const char *a_name, const struct g_resp *a, const char *b_name,
			   const struct g_resp *b, const char *diff)
{
	fprintf(f, "DIFF %s (%s): %s\n", where, e->label[0] ? e->label : "no label", diff);
	print_cdb(f, e);
	if (a->status != b->status || b->status == G_NO_ANSWER) {
		g_resp_print(f, a_name, a);
		g_resp_print(f, b_name, b);
		return;
	}
	if (a->sense_len != b->sense_len || memcmp(a->sense, b->sense, a->sense_len))
		print_bytes_diff(f, "sense", a->sense, a->sense_len, b->sense, b->sense_len);
	if (a->data_len != b->data_len || (a->data_len && memcmp(a->data, b->data, a->data_len)))
		print_bytes_diff(f, "data-in", a->data, a->data_len, b->data, b->data_len);
}

/* ---- commands ---- */

static void profile_line(const char *name, bool draft, void *arg)
{
	printf("%s %s\n", name, draft ? "draft" : "released");
}

static int cmd_replay(const char *url, const char *path)
{
	struct g_corpus corpus;
	struct conn c;
	char err[512], diff[200], where[64];
	size_t bad = 0;

	if (g_corpus_load(path, &corpus, err, sizeof(err)) < 0) {
		fprintf(stderr, "invar-golden: %s\n", err);
		return 2;
	}
	if (conn_open(&c, url) < 0) {
		g_corpus_free(&corpus);
		return 1;
	}
	for (size_t i = 0; i < corpus.n; i++) {
		const struct g_entry *e = &corpus.v[i];
		struct g_resp got;

		conn_exec(&c, e, &got);
		if (!g_resp_equal(&e->exp, &got, diff, sizeof(diff))) {
			if (bad++ < MAX_SHOWN) {
				snprintf(where, sizeof(where), "%s:%u", path, e->line);
				print_mismatch(stdout, where, e, "expected", &e->exp, "got", &got,
					       diff);
			}
		}
		if (got.status == G_NO_ANSWER) {
			g_resp_free(&got);
			printf("stopping: the connection is gone after %zu of %zu CDBs\n", i + 1,
			       corpus.n);
			bad += corpus.n - i - 1;
			break;
		}
		g_resp_free(&got);
	}
	conn_close(&c);
	printf("%s: profile %s, %zu CDBs, %zu differ%s\n", path, corpus.profile, corpus.n, bad,
	       bad > MAX_SHOWN ? " (first ones shown)" : "");
	g_corpus_free(&corpus);
	return bad ? 1 : 0;
}

static int cmd_record(const char *url, const char *path, const char *spec, const char *target)
{
	struct lu_config cfg;
	int draft;
	struct g_corpus corpus = { 0 };
	char err[512], tmp[4096];
	struct conn c;
	FILE *f;
	int ret = 1;

	if (lunspec_parse(spec, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "invar-golden: --lun: %s\n", err);
		return 2;
	}
	if ((draft = gen_profile_is_draft(cfg.profile)) < 0) {
		fprintf(stderr, "invar-golden: --lun must name a known profile (,profile=NAME)\n");
		return 2;
	}
	if (!cfg.serial[0] || !cfg.naa_len || !cfg.size || strcmp(cfg.backstore, "ram")) {
		fprintf(stderr, "invar-golden: --lun must be a ram LU with a fixed identity: "
				"ram:SIZE,serial=S,naa=HEX,profile=NAME\n");
		return 2;
	}
	/* Append-only: a released profile's answers never change, so neither does its corpus.
	 * Recording one that does not exist yet is how a profile gets its corpus at release. */
	if (!draft && access(path, F_OK) == 0) {
		fprintf(stderr,
			"invar-golden: %s is released: its corpus %s exists and is never re-recorded "
			"(a changed answer needs a new profile)\n", cfg.profile, path);
		return 2;
	}
	if (gen_corpus(&corpus, cfg.block_size ? cfg.block_size : 512,
		       cfg.size / (cfg.block_size ? cfg.block_size : 512)) < 0) {
		fprintf(stderr, "invar-golden: cannot build the CDB list (LU too small?)\n");
		g_corpus_free(&corpus);
		return 2;
	}
	if (conn_open(&c, url) < 0) {
		g_corpus_free(&corpus);
		return 1;
	}
	for (size_t i = 0; i < corpus.n; i++) {
		struct g_entry *e = &corpus.v[i];

		conn_exec(&c, e, &e->exp);
		if (e->exp.status == G_NO_ANSWER) {
			fprintf(stderr, "invar-golden: no answer to '%s': %s\n", e->label,
				e->exp.why);
			goto out;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "invar-golden: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	fprintf(f, "# invar golden corpus: every CDB below and the exact answer (status, sense,\n"
		   "# data-in) a LU of this profile gives, in this order, from a fresh start.\n"
		   "# Format: tools/golden/corpus.h. Replayed by make check (t_55); never edited\n"
		   "# by hand, never re-recorded once the profile is released.\n");
	fprintf(f, "#! profile %s\n#! target %s\n#! lun %s\n", cfg.profile, target, spec);
	fprintf(f, "# CDB DIR STATUS SENSE DATA  # label\n");
	for (size_t i = 0; i < corpus.n; i++)
		g_entry_write(f, &corpus.v[i]);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "invar-golden: writing %s: %s\n", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	printf("%s: profile %s, %zu CDBs recorded\n", path, cfg.profile, corpus.n);
	ret = 0;
out:
	conn_close(&c);
	g_corpus_free(&corpus);
	return ret;
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: seeded, so a sweep is reproducible from its seed. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static void mutate(struct g_entry *m, uint64_t *s)
{
	unsigned n = 1 + (unsigned)(rng_next(s) % 3);

	for (unsigned k = 0; k < n; k++) {
		unsigned kind = (unsigned)(rng_next(s) % 10);
		unsigned pos = m->cdb_len > 1 ? 1 + (unsigned)(rng_next(s) % (m->cdb_len - 1)) : 0;

		if (kind == 0)
			m->cdb[0] = (uint8_t)rng_next(s);
		else if (kind <= 5)
			m->cdb[pos] = (uint8_t)rng_next(s);
		else if (kind <= 8)
			m->cdb[pos] ^= (uint8_t)(1u << (rng_next(s) % 8));
		else
			memset(m->cdb + 2, 0xff, m->cdb_len > 2 ? m->cdb_len - 2 : 0);
	}
}

static int cmd_sweep(const char *url1, const char *url2, const char *path, uint64_t seed,
		     unsigned count)
{
	struct g_corpus corpus;
	struct conn a, b;
	char err[512], diff[200], where[64];
	size_t bad = 0, sent = 0, unanswered = 0, total;
	size_t st_good = 0, st_check = 0, st_other = 0;	/* answers to the mutations */
	uint64_t s = seed ? seed : 1;

	if (g_corpus_load(path, &corpus, err, sizeof(err)) < 0) {
		fprintf(stderr, "invar-golden: %s\n", err);
		return 2;
	}
	if (corpus.n == 0 || conn_open(&a, url1) < 0) {
		g_corpus_free(&corpus);
		return 1;
	}
	if (conn_open(&b, url2) < 0) {
		conn_close(&a);
		g_corpus_free(&corpus);
		return 1;
	}
	total = corpus.n + count;
	for (size_t i = 0; i < total; i++) {
		struct g_entry m;
		struct g_resp ra, rb;

		if (i < corpus.n) {
			m = corpus.v[i];
			snprintf(where, sizeof(where), "corpus CDB %zu", i + 1);
		} else {
			m = corpus.v[rng_next(&s) % corpus.n];
			mutate(&m, &s);
			snprintf(where, sizeof(where), "mutation %zu (seed %llu)", i - corpus.n + 1,
				 (unsigned long long)seed);
		}
		conn_exec(&a, &m, &ra);
		conn_exec(&b, &m, &rb);
		sent++;
		if (ra.status == G_NO_ANSWER || rb.status == G_NO_ANSWER)
			unanswered++;
		else if (i >= corpus.n)
			*(ra.status == 0 ? &st_good : ra.status == 2 ? &st_check : &st_other) += 1;
		if (!g_resp_equal(&ra, &rb, diff, sizeof(diff)) || ra.status == G_NO_ANSWER) {
			if (bad++ < MAX_SHOWN)
				print_mismatch(stdout, where, &m, "daemon 1", &ra, "daemon 2", &rb,
					       ra.status == G_NO_ANSWER ? "daemon 1 did not answer"
									: diff);
		}
		g_resp_free(&ra);
		g_resp_free(&rb);
		if (unanswered)
			break;
	}
	conn_close(&a);
	conn_close(&b);
	printf("sweep: mutations answered GOOD %zu, CHECK CONDITION %zu, other status %zu\n",
	       st_good, st_check, st_other);
	printf("sweep: %zu CDBs sent to both daemons (%zu from the corpus, %zu mutations, seed "
	       "%llu): %zu differ, %zu unanswered\n", sent, sent < corpus.n ? sent : corpus.n,
	       sent > corpus.n ? sent - corpus.n : 0, (unsigned long long)seed, bad, unanswered);
	g_corpus_free(&corpus);
	return bad || unanswered || sent != total ? 1 : 0;
}

static int cmd_check(const char *path, unsigned long min)
{
	struct g_corpus corpus;
	char err[512];
	int ret;

	if (g_corpus_load(path, &corpus, err, sizeof(err)) < 0) {
		fprintf(stderr, "invar-golden: %s\n", err);
		return 2;
	}
	printf("%s: profile %s, %zu CDBs\n", path, corpus.profile, corpus.n);
	ret = corpus.n >= min ? 0 : 1;
	if (ret)
		fprintf(stderr, "invar-golden: %s has %zu CDBs, fewer than %lu\n", path, corpus.n,
			min);
	g_corpus_free(&corpus);
	return ret;
}

static int parse_ulong(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end || !*s ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *lun = NULL, *target = NULL;
	unsigned long long seed = 1, count = 1000, min = 0;
	char *pos[4];
	int npos = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--lun") && i + 1 < argc) {
			lun = argv[++i];
		} else if (!strcmp(o, "--target") && i + 1 < argc) {
			target = argv[++i];
		} else if ((!strcmp(o, "--seed") || !strcmp(o, "--count") || !strcmp(o, "--min")) &&
			   i + 1 < argc) {
			unsigned long long v;

			if (parse_ulong(argv[++i], &v) < 0 || (!strcmp(o, "--count") && v > 1000000)) {
				fprintf(stderr, "invar-golden: %s: bad number '%s'\n", o, argv[i]);
				return 2;
			}
			*(!strcmp(o, "--seed") ? &seed : !strcmp(o, "--count") ? &count : &min) = v;
		} else if (o[0] == '-' && o[1] == '-') {
			fprintf(stderr, "invar-golden: unknown option %s\n", o);
			return 2;
		} else if (npos < 4) {
			pos[npos++] = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(argv[1], "profiles") && npos == 0) {
		gen_profile_foreach(profile_line, NULL);
		return 0;
	}
	if (!strcmp(argv[1], "replay") && npos == 2)
		return cmd_replay(pos[0], pos[1]);
	if (!strcmp(argv[1], "record") && npos == 2 && lun && target)
		return cmd_record(pos[0], pos[1], lun, target);
	if (!strcmp(argv[1], "sweep") && npos == 3)
		return cmd_sweep(pos[0], pos[1], pos[2], seed, (unsigned)count);
	if (!strcmp(argv[1], "check") && npos == 1)
		return cmd_check(pos[0], (unsigned long)min);
	usage(stderr);
	return 2;
}
