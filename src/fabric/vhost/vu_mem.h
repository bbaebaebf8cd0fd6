/* A front-end's memory table (SET_MEM_TABLE): its regions mapped into invard, and the only
 * translation from guest-physical (descriptor buffers) or front-end virtual (ring addresses)
 * addresses to ours. Every translation is bounds-checked against the regions: an address range
 * that is not wholly inside mapped memory translates to nothing.
 *
 * Threads: built and freed on the main thread while no ring of the device runs (vhost.c stops
 * them first); read-only for the workers while rings run. */
#ifndef INVAR_FABRIC_VHOST_VU_MEM_H
#define INVAR_FABRIC_VHOST_VU_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fabric/vhost/vu_msg.h"

struct vu_mem_region {
	uint64_t gpa, size, uva;
	uint8_t *hva;		/* where gpa is in our address space */
	void *map;		/* the mmap (NULL: memory the caller owns, e.g. unit tests) */
	size_t map_len;
};

struct vu_mem {
	unsigned n;
	struct vu_mem_region r[VU_MAX_REGIONS];
};

/* Maps each region's fd (MAP_SHARED, read/write). The fds are the caller's (closed by it; a
 * mapping outlives its fd). Refuses a region whose fd is shorter than mmap_offset + size (an
 * access past its end would fault). Returns 0 or -errno with a reason. */
int vu_mem_map(struct vu_mem *m, const struct vu_msg *msg, char *err, size_t err_len);
void vu_mem_unmap(struct vu_mem *m);

/* Our pointer to [uva, uva + len) of the front-end's memory, or NULL unless wholly inside one
 * region. */
void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len);
/* Same for guest-physical addresses. */
void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len);
/* [gpa, gpa + len) as iovecs appended at iov[*n] (a buffer may span adjacent regions), at most
 * max in all. Returns 0, -EFAULT when some byte is not mapped, -E2BIG when max is reached. */
int vu_mem_gpa_iov(const struct vu_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov,
		   unsigned *n, unsigned max);

#endif
