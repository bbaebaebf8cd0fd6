/* libFuzzer: the split-virtqueue walker (src/fabric/vhost/virtq.c) against a hostile guest.
 * Input: byte 0 the queue size (a power of 2, 1 to 64), byte 1 feature bits (EVENT_IDX,
 * INDIRECT_DESC), then guest memory (up to 16 KiB: descriptor table at 0, avail ring at 0x800,
 * used ring at 0xc00, everything else buffers and indirect tables), mapped as two regions
 * with a gap so that buffers across and outside them are tried. Every chain taken must lie in
 * the mapped memory (ASan sees the regions as exact allocations); the loop ends because each
 * pop either consumes an entry or breaks the queue. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/vhost/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_elem e;
	struct vu_mem mem = { .n = 2 };
	struct virtq q;
	uint8_t *lo, *hi;
	uint16_t num;
	size_t n;

	if (size < 2)
		return 0;
	num = (uint16_t)(1u << (data[0] % 7));
	lo = calloc(1, MEM / 2);
	hi = calloc(1, MEM / 2);
	if (!lo || !hi)
		goto out;
	n = size - 2 < MEM ? size - 2 : MEM;
	memcpy(lo, data + 2, n < MEM / 2 ? n : MEM / 2);
	if (n > MEM / 2)
		memcpy(hi, data + 2 + MEM / 2, n - MEM / 2);
	/* guest-physical [0x1000, 0x3000) and [0x3000, 0x5000): adjacent; nothing elsewhere */
	mem.r[0] = (struct vu_mem_region){ .gpa = 0x1000, .size = MEM / 2, .uva = 0x10000, .hva = lo };
	mem.r[1] = (struct vu_mem_region){ .gpa = 0x3000, .size = MEM / 2, .uva = 0x90000, .hva = hi };
	virtq_init(&q, &mem, num, lo, lo + 0x800, lo + 0xc00, 0, data[1] & 1, data[1] & 2);
	for (unsigned i = 0; i < 2u * num + 2; i++) {
		int rc = virtq_pop(&q, &e);

		if (rc <= 0)
			break;
		if (e.head >= num || e.nout + e.nin > VIRTQ_MAX_IOV)
			abort();
		for (unsigned k = 0; k < e.nout + e.nin; k++) {
			uint8_t *p = e.iov[k].iov_base;
			size_t l = e.iov[k].iov_len;

			if (!((p >= lo && p + l <= lo + MEM / 2) || (p >= hi && p + l <= hi + MEM / 2)))
				abort();
			if (l)
				p[l - 1] ^= 1;	/* touch it: ASan checks the bounds */
		}
		virtq_push(&q, e.head, (uint32_t)e.in_len);
		(void)virtq_should_notify(&q);
		(void)virtq_enable_kicks(&q);
	}
out:
	free(lo);
	free(hi);
	return 0;
}
