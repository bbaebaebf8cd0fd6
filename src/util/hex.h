/* Hexadecimal digits, for the text forms invar parses (NAA designators, TransportID ISIDs, CHAP
 * values, corpus files). */
#ifndef INVAR_UTIL_HEX_H
#define INVAR_UTIL_HEX_H

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

#endif
