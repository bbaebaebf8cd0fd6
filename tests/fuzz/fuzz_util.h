/* Small helpers shared by the libFuzzer harnesses: a cursor over the input. */
#ifndef INVAR_FUZZ_UTIL_H
#define INVAR_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->left) {
		v = *f->p++;
		f->left--;
	}
	return v;
}

static inline uint32_t fz_u16(struct fz *f)
{
	uint32_t v = fz_u8(f);

	return v << 8 | fz_u8(f);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v = fz_u16(f);

	return v << 16 | fz_u16(f);
}

/* Up to n bytes (fewer at the end of the input); returns how many. */
static inline size_t fz_bytes(struct fz *f, void *out, size_t n)
{
	if (n > f->left)
		n = f->left;
	memcpy(out, f->p, n);
	f->p += n;
	f->left -= n;
	return n;
}

#endif
