/* Golden corpus text codec (corpus.h describes the format). Every length read from the file is
 * bounded before use: a corpus is reviewed text, but a broken one must fail with a line number,
 * never crash the tool. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "util/hex.h"

/* A run of at least this many equal bytes is written as N*XX. */
#define G_RUN_MIN 12

struct g_entry *g_corpus_add(struct g_corpus *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		struct g_entry *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	return &c->v[c->n++];
}

void g_resp_free(struct g_resp *r)
{
	free(r->data);
	r->data = NULL;
	r->data_len = 0;
}

void g_corpus_free(struct g_corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].out);
		g_resp_free(&c->v[i].exp);
	}
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

static void hex_write(FILE *f, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
}

void g_bytes_write(FILE *f, const uint8_t *b, size_t len)
{
	size_t i = 0, lit = 0;	/* b[lit..i) is pending literal hex */
	bool first = true;

	if (len == 0) {
		fputc('-', f);
		return;
	}
	while (i < len) {
		size_t run = 1;

		while (i + run < len && b[i + run] == b[i])
			run++;
		if (run >= G_RUN_MIN) {
			if (i > lit) {
				fputs(first ? "" : ",", f);
				hex_write(f, b + lit, i - lit);
				first = false;
			}
			fprintf(f, "%s%zu*%02x", first ? "" : ",", run, b[i]);
			first = false;
			i += run;
			lit = i;
		} else {
			i += run;
		}
	}
	if (len > lit) {
		fputs(first ? "" : ",", f);
		hex_write(f, b + lit, len - lit);
	}
}

int g_bytes_parse(const char *tok, uint8_t **out, size_t *len, size_t max)
{
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	const char *p = tok;

	*out = NULL;
	*len = 0;
	if (!strcmp(tok, "-"))
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t clen = end ? (size_t)(end - p) : strlen(p);
		const char *star = memchr(p, '*', clen);
		size_t add;

		if (clen == 0)
			goto bad;
		if (star) {
			char *e;
			unsigned long cnt;
			int hi, lo;

			errno = 0;
			cnt = strtoul(p, &e, 10);
			if (errno || e != star || cnt == 0 || cnt > max || p + clen != star + 3)
				goto bad;
			hi = hex_digit(star[1]);
			lo = hex_digit(star[2]);
			if (hi < 0 || lo < 0)
				goto bad;
			add = cnt;
			if (n + add > max)
				goto bad;
			if (n + add > cap) {
				uint8_t *nb = realloc(buf, n + add);

				if (!nb)
					goto bad;
				buf = nb;
				cap = n + add;
			}
			memset(buf + n, hi << 4 | lo, add);
			n += add;
		} else {
			if (clen % 2)
				goto bad;
			add = clen / 2;
			if (n + add > max)
				goto bad;
			if (n + add > cap) {
				uint8_t *nb = realloc(buf, n + add);

				if (!nb)
					goto bad;
				buf = nb;
				cap = n + add;
			}
			for (size_t i = 0; i < add; i++) {
				int hi = hex_digit(p[2 * i]), lo = hex_digit(p[2 * i + 1]);

				if (hi < 0 || lo < 0)
					goto bad;
				buf[n + i] = (uint8_t)(hi << 4 | lo);
			}
			n += add;
		}
		p += clen;
		if (*p == ',') {
			p++;
			if (!*p)
				goto bad;
		}
	}
	*out = buf;
	*len = n;
	return 0;
bad:
	free(buf);
	return -1;
}

void g_entry_write(FILE *f, const struct g_entry *e)
{
	hex_write(f, e->cdb, e->cdb_len);
	switch (e->dir) {
	case G_NONE: fputs(" -", f); break;
	case G_READ: fprintf(f, " r:%u", e->xfer); break;
	case G_WRITE:
		fputs(" w:", f);
		g_bytes_write(f, e->out, e->xfer);
		break;
	}
	fprintf(f, " %02x ", e->exp.status & 0xff);
	g_bytes_write(f, e->exp.sense, e->exp.sense_len);
	fputc(' ', f);
	g_bytes_write(f, e->exp.data, e->exp.data_len);
	if (e->label[0])
		fprintf(f, "  # %s", e->label);
	fputc('\n', f);
}

#define ERR(...) (snprintf(err, err_len, __VA_ARGS__), -1)

static int parse_directive(struct g_corpus *c, char *s)
{
	char *key = strtok(s, " \t"), *val = strtok(NULL, " \t");

	if (!key || !val || strtok(NULL, " \t"))
		return -1;
	if (!strcmp(key, "profile") && strlen(val) < sizeof(c->profile))
		strcpy(c->profile, val);
	else if (!strcmp(key, "target") && strlen(val) < sizeof(c->target))
		strcpy(c->target, val);
	else if (!strcmp(key, "lun") && strlen(val) < sizeof(c->lun_spec))
		strcpy(c->lun_spec, val);
	else
		return -1;
	return 0;
}

static int parse_line(struct g_entry *e, char *s, char *err, size_t err_len)
{
	char *tok[5], *save = NULL, *hash = strchr(s, '#');
	uint8_t *b;
	size_t n;
	int i;

	if (hash) {
		char *l = hash + 1;

		*hash = 0;
		while (*l == ' ')
			l++;
		l[strcspn(l, "\n")] = 0;
		snprintf(e->label, sizeof(e->label), "%s", l);
	}
	for (i = 0; i < 5; i++) {
		tok[i] = strtok_r(i ? NULL : s, " \t\n", &save);
		if (!tok[i])
			return ERR("expected CDB DIR STATUS SENSE DATA, got %d fields", i);
	}
	if (strtok_r(NULL, " \t\n", &save))
		return ERR("more than 5 fields before the comment");
	if (g_bytes_parse(tok[0], &b, &n, G_CDB_MAX) < 0 || n == 0)
		return ERR("CDB: not 1 to %d bytes of hex", G_CDB_MAX);
	memcpy(e->cdb, b, n);
	e->cdb_len = (unsigned)n;
	free(b);
	if (!strcmp(tok[1], "-")) {
		e->dir = G_NONE;
	} else if (!strncmp(tok[1], "r:", 2)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok[1] + 2, &end, 10);
		if (errno || *end || end == tok[1] + 2 || v > G_DATA_MAX)
			return ERR("DIR: bad read length '%s'", tok[1]);
		e->dir = G_READ;
		e->xfer = (uint32_t)v;
	} else if (!strncmp(tok[1], "w:", 2)) {
		if (g_bytes_parse(tok[1] + 2, &e->out, &n, G_DATA_MAX) < 0 || n == 0)
			return ERR("DIR: bad data-out bytes");
		e->dir = G_WRITE;
		e->xfer = (uint32_t)n;
	} else {
		return ERR("DIR: expected -, r:N or w:BYTES, got '%.20s'", tok[1]);
	}
	if (strlen(tok[2]) != 2 || hex_digit(tok[2][0]) < 0 || hex_digit(tok[2][1]) < 0)
		return ERR("STATUS: expected two hex digits");
	e->exp.status = hex_digit(tok[2][0]) << 4 | hex_digit(tok[2][1]);
	if (g_bytes_parse(tok[3], &b, &n, G_SENSE_MAX) < 0)
		return ERR("SENSE: bad bytes (at most %d)", G_SENSE_MAX);
	if (n)
		memcpy(e->exp.sense, b, n);
	e->exp.sense_len = (unsigned)n;
	free(b);
	if (g_bytes_parse(tok[4], &e->exp.data, &n, G_DATA_MAX) < 0)
		return ERR("DATA: bad bytes");
	e->exp.data_len = (uint32_t)n;
	return 0;
}

int g_corpus_load(const char *path, struct g_corpus *c, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, msg[200];
	size_t cap = 0;
	unsigned lineno = 0;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	if (!f)
		return ERR("%s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char *s = line;
		struct g_entry *e;

		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!strncmp(s, "#!", 2)) {
			s[strcspn(s, "\n")] = 0;
			if (parse_directive(c, s + 2) < 0) {
				ret = ERR("%s:%u: bad directive (profile, target or lun NAME)", path,
					  lineno);
				break;
			}
			continue;
		}
		if (*s == '#' || *s == '\n' || !*s)
			continue;
		e = g_corpus_add(c);
		if (!e) {
			ret = ERR("%s:%u: out of memory", path, lineno);
			break;
		}
		e->line = lineno;
		if (parse_line(e, s, msg, sizeof(msg)) < 0) {
			ret = ERR("%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	free(line);
	fclose(f);
	if (ret == 0 && (!c->profile[0] || !c->target[0] || !c->lun_spec[0]))
		ret = ERR("%s: the #! profile, #! target and #! lun directives are required", path);
	if (ret < 0)
		g_corpus_free(c);
	return ret;
}

bool g_resp_equal(const struct g_resp *a, const struct g_resp *b, char *diff, size_t diff_len)
{
	size_t n;

	if (a->status != b->status) {
		snprintf(diff, diff_len, "status %02x, expected %02x", b->status & 0xff,
			 a->status & 0xff);
		if (b->status == G_NO_ANSWER)
			snprintf(diff, diff_len, "no answer (%s)", b->why);
		return false;
	}
	if (a->sense_len != b->sense_len || memcmp(a->sense, b->sense, a->sense_len)) {
		n = 0;
		while (n < a->sense_len && n < b->sense_len && a->sense[n] == b->sense[n])
			n++;
		snprintf(diff, diff_len, "sense differs at byte %zu (length %u, expected %u)", n,
			 b->sense_len, a->sense_len);
		return false;
	}
	if (a->data_len != b->data_len ||
	    (a->data_len && memcmp(a->data, b->data, a->data_len))) {
		n = 0;
		while (n < a->data_len && n < b->data_len && a->data[n] == b->data[n])
			n++;
		snprintf(diff, diff_len, "data-in differs at byte %zu (length %u, expected %u)", n,
			 b->data_len, a->data_len);
		return false;
	}
	return true;
}

static void hexdump(FILE *f, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		fprintf(f, "      %04zx ", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			fprintf(f, " %02x", b[j]);
		fputc('\n', f);
	}
}

void g_resp_print(FILE *f, const char *title, const struct g_resp *r)
{
	if (r->status == G_NO_ANSWER) {
		fprintf(f, "  %s: no answer (%s)\n", title, r->why);
		return;
	}
	fprintf(f, "  %s: status %02x, %u sense bytes, %u data-in bytes\n", title, r->status,
		r->sense_len, r->data_len);
	if (r->sense_len) {
		fprintf(f, "    sense:\n");
		hexdump(f, r->sense, r->sense_len);
	}
	if (r->data_len) {
		fprintf(f, "    data-in%s:\n", r->data_len > 256 ? " (first 256 bytes)" : "");
		hexdump(f, r->data, r->data_len > 256 ? 256 : r->data_len);
	}
}
