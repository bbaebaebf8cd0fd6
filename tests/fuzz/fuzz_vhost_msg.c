/* libFuzzer: the vhost-user message codec (src/fabric/vhost/vu_msg.c) on arbitrary bytes.
 * Input: one byte giving how many fds came with the message (0-15), then the message. The
 * decoder must never read past the message, must refuse what the header does not describe,
 * and a decoded memory table must hold regions that neither wrap nor overlap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/vhost/vu_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[16] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 };
	struct vu_msg m;
	char err[160];
	unsigned nfds;
	uint8_t *copy;
	size_t total;
	int rc;

	if (size < 1)
		return 0;
	nfds = data[0] & 15;
	data++;
	size--;
	/* An exact-size copy, so ASan sees any read past the message. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size >= VU_HDR_SIZE) {
		total = vu_msg_total(copy, err, sizeof(err));
		if (total && (total < VU_HDR_SIZE || total > VU_MAX_MSG))
			abort();
	}
	rc = vu_msg_decode(copy, size, fds, nfds, &m, err, sizeof(err));
	if (nfds <= VU_MAX_FDS && m.nfds != nfds)
		abort();	/* fds are always handed back for closing */
	if (rc == 0) {
		(void)vu_request_name(m.request);
		if (m.request == VU_SET_MEM_TABLE) {
			if (m.mem.nregions < 1 || m.mem.nregions > VU_MAX_REGIONS ||
			    m.nfds != m.mem.nregions)
				abort();
			for (unsigned i = 0; i < m.mem.nregions; i++) {
				const struct vu_region *r = &m.mem.r[i];

				if (!r->size || r->gpa + r->size < r->gpa || r->uva + r->size < r->uva)
					abort();
				for (unsigned j = 0; j < i; j++)
					if (r->gpa < m.mem.r[j].gpa + m.mem.r[j].size &&
					    m.mem.r[j].gpa < r->gpa + r->size)
						abort();
			}
		}
	}
	free(copy);
	return 0;
}
