/* libFuzzer: a hostile handler's completion ring, through the daemon's real queue code
 * (src/backstore/user/queue.c and ring.c). Input: a command count, then rounds of completion
 * entries (tag taken from an issued command or raw, result, entry_size) and a producer index
 * (honest or raw), each round drained. Whatever the handler writes, the daemon must not crash,
 * must never complete a command twice, and after detach every command has completed once. */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/user_ring_harness.h"
#include "fuzz_util.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct harness *h;
	uint32_t prod = 0, ncmd, i;
	int rounds = 0;

	log_set_level(LOG_ERR);
	h = harness_new();
	ncmd = fz_u8(&f) % 8 + 1;
	for (i = 0; i < ncmd; i++)
		harness_submit(h, (int)i);
	while (f.left && rounds++ < 16) {
		uint8_t k = fz_u8(&f) % 6, j;

		for (j = 0; j < k; j++) {
			uint8_t how = fz_u8(&f);
			uint64_t tag;
			int32_t res;

			if (how & 1) {
				tag = harness_cmd(h, fz_u8(&f) % ncmd).tag;
			} else {
				tag = fz_u32(&f);
				tag = tag << 32 | fz_u32(&f);
			}
			res = (how & 2) ? -(int32_t)(fz_u8(&f) % 140) : (int32_t)fz_u32(&f);
			harness_cpl(h, prod + j, tag, res, (how & 4) ? (uint16_t)fz_u16(&f) : 32);
		}
		prod = (fz_u8(&f) & 1) ? fz_u32(&f) : prod + k;
		harness_publish(h, prod);
		user_queue_drain(&h->q);
		for (i = 0; i < ncmd; i++)
			if (h->done_count[i] > 1)
				abort();
	}
	user_queue_detach(&h->q);
	for (i = 0; i < ncmd; i++)
		if (h->done_count[i] != 1)
			abort();
	harness_free(h);
	return 0;
}
