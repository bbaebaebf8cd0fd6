/* Little-endian get/put at named offsets for the vhost-user wire and virtio structures (both are
 * little-endian: vhost-user.rst "all numbers are in the machine's native byte order" is x86 here,
 * and VIRTIO_F_VERSION_1 rings are little-endian). Explicit byte access, so an unaligned or
 * guest-controlled pointer is never dereferenced as a wider type. */
#ifndef INVAR_FABRIC_VHOST_VU_LE_H
#define INVAR_FABRIC_VHOST_VU_LE_H

#include <stdint.h>

static inline uint16_t vu_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t vu_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vu_get64(const uint8_t *p)
{
	return (uint64_t)vu_get32(p) | (uint64_t)vu_get32(p + 4) << 32;
}

static inline void vu_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void vu_put32(uint8_t *p, uint32_t v)
{
	vu_put16(p, (uint16_t)v);
	vu_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void vu_put64(uint8_t *p, uint64_t v)
{
	vu_put32(p, (uint32_t)v);
	vu_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
