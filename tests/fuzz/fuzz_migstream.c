/* libFuzzer: the live-migration stream decoder (src/mig/migstream.c).
 * First byte even: the rest is decoded as a whole stream, as it came off the network.
 * First byte odd: the next four bytes are major and minor, the rest is the record area; the
 *   harness adds the header and a correct END record (CRC32C), so mutations reach the record
 *   decoders instead of dying on the checksum.
 * Whatever decodes must encode, and that encoding must decode to the same bytes again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mig/migstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stable(const struct mig_lu_state *s)
{
	struct mig_lu_state s2;
	uint8_t *a = NULL, *b = NULL;
	size_t alen, blen;
	char err[256];

	if (mig_encode(s, &a, &alen) != 0)
		return;		/* e.g. an unknown record made the state too large: not a bug */
	if (mig_decode(a, alen, &s2, err, sizeof(err)) != 0) {
		fprintf(stderr, "re-decode failed: %s\n", err);
		abort();
	}
	if (mig_encode(&s2, &b, &blen) != 0 || blen != alen || memcmp(a, b, alen) != 0)
		abort();
	mig_state_free(&s2);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .p = data, .left = size };
	struct mig_lu_state s;
	char err[256];

	if (size < 1)
		return 0;
	if (!(fz_u8(&f) & 1)) {
		if (mig_decode(f.p, f.left, &s, err, sizeof(err)) == 0) {
			check_stable(&s);
			mig_state_free(&s);
		}
		return 0;
	} else {
		struct mig_buf b = { 0 };
		uint16_t major = (uint16_t)fz_u16(&f), minor = (uint16_t)fz_u16(&f);
		uint8_t *p;

		mig_buf_header(&b, major, minor);
		if (b.err || f.left > MIG_STREAM_MAX - 64) {
			free(b.p);
			return 0;
		}
		p = realloc(b.p, b.len + f.left);
		if (!p) {
			free(b.p);
			return 0;
		}
		b.p = p;
		b.cap = b.len + f.left;
		memcpy(b.p + b.len, f.p, f.left);
		b.len += f.left;
		if (mig_buf_finish(&b) == 0 && mig_decode(b.p, b.len, &s, err, sizeof(err)) == 0) {
			check_stable(&s);
			mig_state_free(&s);
		}
		free(b.p);
	}
	return 0;
}
