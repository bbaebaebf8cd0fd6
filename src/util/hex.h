/* Hexadecimal digits, for the text forms invar parses (NAA designators, TransportID ISIDs, CHAP
 * values, corpus files). */
#ifndef INVAR_UTIL_HEX_H
#define INVAR_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
static inline int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n bytes as 2n lower-case hex digits and a NUL (out has room for 2n + 1). */
static inline void hex_encode(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Exactly 2n hex digits (either case) into n bytes. 0, or -1 for anything else. */
static inline int hex_decode(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = s[2 * i] ? hex_digit(s[2 * i]) : -1;
		int lo = hi >= 0 && s[2 * i + 1] ? hex_digit(s[2 * i + 1]) : -1;

		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * n] ? -1 : 0;
}

#endif
