/* The front-end's memory: see vu_mem.h. */
#include "fabric/vhost/vu_mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static int vu_mem_fail(char *err, size_t err_len, int e, const char *fmt, ...)
{
	va_list ap;

	if (err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -e;
}

int vu_mem_map(struct vu_mem *m, const struct vu_msg *msg, char *err, size_t err_len)
{
	int ret = 0;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < msg->mem.nregions; i++) {
		const struct vu_region *r = &msg->mem.r[i];
		struct vu_mem_region *d = &m->r[i];
		uint64_t need = r->mmap_offset + r->size;	/* no wrap: checked by the codec */
		struct stat st;
		void *p;

		if (fstat(msg->fds[i], &st) < 0) {
			ret = vu_mem_fail(err, err_len, errno, "region %u: fd: %s", i, strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < need) {
			ret = vu_mem_fail(err, err_len, EINVAL,
					  "region %u: fd is not a file of at least %llu bytes", i,
					  (unsigned long long)need);
			goto fail;
		}
		p = mmap(NULL, (size_t)need, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			 msg->fds[i], 0);
		if (p == MAP_FAILED) {
			ret = vu_mem_fail(err, err_len, errno, "region %u: mmap: %s", i,
					  strerror(errno));
			goto fail;
		}
		d->gpa = r->gpa;
		d->size = r->size;
		d->uva = r->uva;
		d->map = p;
		d->map_len = (size_t)need;
		d->hva = (uint8_t *)p + r->mmap_offset;
		m->n = i + 1;
	}
	return 0;
fail:
	vu_mem_unmap(m);
	return ret;
}

void vu_mem_unmap(struct vu_mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->r[i].map)
			munmap(m->r[i].map, m->r[i].map_len);
	memset(m, 0, sizeof(*m));
}

void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct vu_mem_region *r = &m->r[i];

		if (uva >= r->uva && uva - r->uva < r->size && len <= r->size - (uva - r->uva))
			return r->hva + (uva - r->uva);
	}
	return NULL;
}

void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct vu_mem_region *r = &m->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int vu_mem_gpa_iov(const struct vu_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov,
		   unsigned *n, unsigned max)
{
	while (len) {
		const struct vu_mem_region *r = NULL;
		uint64_t off, chunk;

		for (unsigned i = 0; i < m->n; i++)
			if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size) {
				r = &m->r[i];
				break;
			}
		if (!r)
			return -EFAULT;
		if (*n >= max)
			return -E2BIG;
		off = gpa - r->gpa;
		chunk = r->size - off < len ? r->size - off : len;
		iov[*n].iov_base = r->hva + off;
		iov[*n].iov_len = (size_t)chunk;
		(*n)++;
		gpa += chunk;
		len -= (uint32_t)chunk;
	}
	return 0;
}
