/* CRC32C (Castagnoli) for iSCSI header and data digests, RFC 7143 section 13.1.
 * Backed by ISA-L's crc32_iscsi (SSE4.2/PCLMUL when the CPU has them). */
#ifndef INVAR_UTIL_CRC32C_H
#define INVAR_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Start a digest with crc32c_init(), extend it with crc32c_update() over each piece (including
 * pad bytes), read it with crc32c_final(). The result is what goes on the wire with put_le32(). */
static inline uint32_t crc32c_init(void)
{
	return 0xffffffffu;
}
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);
static inline uint32_t crc32c_final(uint32_t crc)
{
	return crc ^ 0xffffffffu;
}
/* One-shot. */
uint32_t crc32c(const void *buf, size_t len);

#endif
