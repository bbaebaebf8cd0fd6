/* A user-backstore queue with fake shared memory and no handler process, shared by the unit
 * test and the fuzzer: the test plays the handler by writing completions into the ring. */
#ifndef INVAR_TEST_USER_RING_HARNESS_H
#define INVAR_TEST_USER_RING_HARNESS_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backstore/user/user_internal.h"

struct harness {
	struct user_dev dev;
	struct user_attach att;
	struct user_queue q;
	int efds[2];
	uint8_t *base;		/* queue 0 */
	struct bs_io io[8];
	uint8_t buf[8][4096];
	int done_count[8];
	int done_res[8];
};

static void harness_done(struct bs_io *io, int res)
{
	struct harness *h = io->priv;
	long i = io - h->io;

	h->done_count[i]++;
	h->done_res[i] = res;
}

static inline struct harness *harness_new(void)
{
	struct harness *h = calloc(1, sizeof(*h));

	strcpy(h->dev.name, "test");
	h->dev.size = 1 << 20;
	h->dev.nq = 1;
	h->dev.q = &h->q;
	atomic_init(&h->dev.refs, 1);
	h->efds[0] = h->efds[1] = -1;
	h->att.efds = h->efds;
	h->att.features = INVAR_RING_F_ALL_V1;
	ring_layout_compute(&h->att.lay, 1, USER_RING_ENTRIES, USER_DATA_SIZE);
		h->att.shm = mmap(NULL, h->att.lay.shm_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ring_mailbox_init(h->att.shm, &h->att.lay, h->dev.size, 512, INVAR_RING_F_ALL_V1);
	h->base = h->att.shm + h->att.lay.queue_offset;
	user_queue_init(&h->q, &h->dev, 0, NULL);
	user_queue_attach(&h->q, &h->att);
	return h;
}

/* Submits io[i]: a 4 KiB write (odd i) or read (even i) at i * 4096. */
static inline void harness_submit(struct harness *h, int i)
{
	struct bs_io *io = &h->io[i];

	memset(io, 0, sizeof(*io));
	io->op = i % 2 ? BS_OP_WRITE : BS_OP_READ;
	io->offset = (uint64_t)i * 4096;
	io->len = 4096;
	io->buf = h->buf[i];
	io->done = harness_done;
	io->priv = h;
	memset(h->buf[i], i, sizeof(h->buf[i]));
	user_queue_submit(&h->q, io);
}

/* The command entry the daemon published at ring position n. */
static inline struct invar_ring_cmd harness_cmd(struct harness *h, uint32_t n)
{
	struct invar_ring_cmd c;

	memcpy(&c, h->base + h->att.lay.cmd_ring_offset +
			   (size_t)(n % USER_RING_ENTRIES) * sizeof(c),
	       sizeof(c));
	return c;
}

/* Writes a completion at ring position n and publishes prod. */
static inline void harness_cpl(struct harness *h, uint32_t n, uint64_t tag, int32_t res,
			       uint16_t entry_size)
{
	struct invar_ring_cpl c = { .entry_size = entry_size, .result = res, .tag = tag };

	memcpy(h->base + h->att.lay.cpl_ring_offset + (size_t)(n % USER_RING_ENTRIES) * sizeof(c),
	       &c, sizeof(c));
}

static inline void harness_publish(struct harness *h, uint32_t prod)
{
	((struct invar_ring_queue *)h->base)->cpl_prod = prod;
}

static inline void harness_free(struct harness *h)
{
	user_queue_detach(&h->q);
	munmap(h->att.shm, h->att.lay.shm_size);
	free(h);
}

#endif
