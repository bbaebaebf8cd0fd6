/* The daemon's codec for the handler ring (include/invar/handler-ring.h): layout, mailbox,
 * command encoding and the checks on everything the untrusted handler writes. Pure functions
 * on memory the caller owns, so unit tests and the fuzzer drive them without a handler. */
#ifndef INVAR_BACKSTORE_USER_RING_H
#define INVAR_BACKSTORE_USER_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invar/handler-ring.h"

/* SCM_RIGHTS passes at most 253 fds: the memfd and two eventfds per queue. */
#define INVAR_RING_MAX_QUEUES 126

/* Where everything is in one attachment's shared memory. */
struct ring_layout {
	uint32_t nq;
	uint32_t cmd_entries, cpl_entries;	/* powers of two */
	uint64_t queue_offset, queue_stride;
	uint64_t cmd_ring_offset, cpl_ring_offset;	/* from a queue's start */
	uint64_t data_offset, data_size;		/* from a queue's start */
	uint64_t max_io;
	uint64_t shm_size;
};

/* The daemon's record of one command slot: the tag it issued is (gen << 32) | slot index. */
struct ring_slot {
	uint32_t gen;
	bool busy;
};

/* A checked completion. */
struct ring_cpl_view {
	uint32_t slot;
	int32_t result;		/* normalized: 0 or one of the -errno values the daemon maps */
};

/* Computes a layout for nq queues of `entries` commands and data_size bytes each (data_size a
 * multiple of 4096). 0 or -EINVAL / -EOVERFLOW. */
int ring_layout_compute(struct ring_layout *l, uint32_t nq, uint32_t entries, uint64_t data_size);

/* Writes the mailbox at the start of shm (shm_size bytes, zeroed by the caller). */
void ring_mailbox_init(void *shm, const struct ring_layout *l, uint64_t lu_size,
		       uint32_t block_size, uint64_t features);

/* After READY: checks what the handler wrote into the mailbox and returns the features it
 * accepted. 0, or -EPROTO with a reason. */
int ring_mailbox_accept(const void *shm, uint64_t offered, uint64_t *accepted, char *err,
			size_t err_len);

/* Fills the command entry at dst (cmd_entry_size bytes). */
void ring_cmd_encode(void *dst, uint8_t opcode, uint32_t flags, uint64_t tag, uint64_t offset,
		     uint64_t length, uint64_t data_offset);

static inline uint64_t ring_tag(uint32_t slot, uint32_t gen)
{
	return (uint64_t)gen << 32 | slot;
}

/* How many completions are waiting, given the handler's producer index and ours. -EPROTO if
 * the producer claims more than the ring holds. */
int ring_cpl_avail(uint32_t prod, uint32_t cons, uint32_t entries, uint32_t *n);

/* Checks one completion entry (a private copy of entry_size bytes) against the slots: the tag
 * must name a slot in flight with the current generation. 0, or -EPROTO with a reason (unknown,
 * stale or duplicate tag, bad size, reserved bits set). Does not change the slots. */
int ring_cpl_check(const void *entry, size_t entry_size, const struct ring_slot *slots,
		   uint32_t nslots, struct ring_cpl_view *out, char *err, size_t err_len);

#endif
