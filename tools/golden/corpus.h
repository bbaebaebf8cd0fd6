/* The golden corpus: a text file, one CDB a line, with the exact answer a behaviour profile
 * gives to it (docs/design/profiles.md, "Golden corpora"). Read and written here; sent by
 * golden.c; enumerated by gen.c.
 *
 * File format (UTF-8 text, '#' starts a comment to the end of the line):
 *   #! profile NAME          directives: the profile the corpus pins,
 *   #! target IQN            the target and
 *   #! lun SPEC              the --lun spec (fixed identity) of the LU it was recorded on
 *   CDB DIR STATUS SENSE DATA  # label
 * CDB is hex. DIR is "-" (no data), "r:N" (read, expected data transfer length N) or "w:BYTES"
 * (write these data-out bytes). STATUS is the SCSI status in hex. SENSE and DATA are BYTES: "-"
 * for none, else comma-separated chunks, each hex digits or "N*XX" (N bytes of value XX). */
#ifndef INVAR_TOOLS_GOLDEN_CORPUS_H
#define INVAR_TOOLS_GOLDEN_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define G_CDB_MAX 16
#define G_SENSE_MAX 252
#define G_DATA_MAX (1u << 20)	/* any one data-in or data-out field */
#define G_LABEL_MAX 96

enum g_dir { G_NONE, G_READ, G_WRITE };

/* An answer: status (or G_NO_ANSWER when the command got none), sense, data-in. */
#define G_NO_ANSWER (-1)
struct g_resp {
	int status;
	uint8_t sense[G_SENSE_MAX];
	unsigned sense_len;
	uint8_t *data;		/* malloc'd, NULL when data_len is 0 */
	uint32_t data_len;
	char why[160];		/* G_NO_ANSWER: what went wrong */
};

struct g_entry {
	uint8_t cdb[G_CDB_MAX];
	unsigned cdb_len;
	enum g_dir dir;
	uint32_t xfer;		/* G_READ: expected data transfer length; G_WRITE: out length */
	uint8_t *out;		/* G_WRITE data-out, malloc'd */
	struct g_resp exp;	/* the recorded answer */
	char label[G_LABEL_MAX];
	unsigned line;		/* in the file it came from, 0 if generated */
};

struct g_corpus {
	char profile[64];
	char target[256];
	char lun_spec[512];
	struct g_entry *v;
	size_t n, cap;
};

/* A new zeroed entry at the end (NULL on ENOMEM). */
struct g_entry *g_corpus_add(struct g_corpus *c);
void g_corpus_free(struct g_corpus *c);
void g_resp_free(struct g_resp *r);

/* Parse a corpus file. Returns 0, or -1 with a message naming the line in err. */
int g_corpus_load(const char *path, struct g_corpus *c, char *err, size_t err_len);
/* Write one entry line (with its recorded answer). */
void g_entry_write(FILE *f, const struct g_entry *e);
/* The BYTES encoding of len bytes ("-" when empty). */
void g_bytes_write(FILE *f, const uint8_t *b, size_t len);
/* Parse a BYTES token into a malloc'd buffer (NULL for "-"). Returns 0 or -1. */
int g_bytes_parse(const char *tok, uint8_t **out, size_t *len, size_t max);

/* Whether two answers are the same; if not, writes where they differ into diff. */
bool g_resp_equal(const struct g_resp *a, const struct g_resp *b, char *diff, size_t diff_len);
/* Prints an answer for a human: status, sense, data in hex rows. */
void g_resp_print(FILE *f, const char *title, const struct g_resp *r);

#endif
