#include "util/crc32c.h"

#include <isa-l/crc.h>

/* ISA-L's crc32_iscsi takes and returns the raw register (no pre/post inversion). */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return crc32_iscsi((unsigned char *)buf, (int)len, crc);
}

uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_final(crc32c_update(crc32c_init(), buf, len));
}
