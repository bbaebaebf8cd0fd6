/* A split virtqueue (virtio 1.1 2.6) as the device side sees it: the descriptor-chain walker, the
 * used ring and notification suppression (VIRTIO_RING_F_EVENT_IDX). The driver (the guest) is
 * untrusted: each descriptor is copied once before it is checked, every address goes through
 * the memory table (vu_mem.h), a chain longer than the queue (a loop), an index past the table,
 * an indirect table that is not whole descriptors or nests, a readable descriptor after a
 * writable one or more avail entries than the queue holds make the queue broken: virtq_pop()
 * returns -EIO with the reason and the queue is not served again until the front-end sets it up
 * anew. Nothing is read or written outside the mapped regions.
 *
 * Threads: one worker owns a running queue (vhost.c); this file takes no locks. Unit tests and
 * the fuzzer drive it on memory of their own. */
#ifndef INVAR_FABRIC_VHOST_VIRTQ_H
#define INVAR_FABRIC_VHOST_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fabric/vhost/vu_mem.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_MAX_SIZE 32768	/* virtio 1.1 2.6: Queue Size at most 32768 */
/* The most segments one request may have (direct or indirect); Linux's virtio-scsi uses at
 * most seg_max (QEMU: queue size - 2) plus the two headers. */
#define VIRTQ_MAX_IOV 512

struct virtq {
	uint16_t num;			/* queue size, a power of 2 */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	const struct vu_mem *mem;
	uint8_t *desc;			/* 16 * num bytes */
	uint8_t *avail;			/* 6 + 2 * num */
	uint8_t *used;			/* 6 + 8 * num */
	uint16_t last_avail;		/* next avail entry to take */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last notification */
	bool signalled_valid;
	char why[96];			/* why it broke */
};

/* One request taken from the queue: out (device-readable) segments first, then in. */
struct virtq_elem {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_IOV];
};

/* Points q at its rings (addresses already translated, lengths checked by the caller with
 * virtq_ring_sizes). last_avail = used_idx = base (SET_VRING_BASE). */
void virtq_init(struct virtq *q, const struct vu_mem *mem, uint16_t num, uint8_t *desc,
		uint8_t *avail, uint8_t *used, uint16_t base, bool event_idx, bool indirect);
void virtq_ring_sizes(uint16_t num, uint64_t *desc, uint64_t *avail, uint64_t *used);

/* Takes the next available chain: 1 with e filled, 0 when none is available, -EIO when the
 * queue is broken (q->why says why). */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/* Returns a chain to the driver with len bytes written into its in segments. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* After pushes: whether the driver wants an interrupt now (EVENT_IDX used_event, or the avail
 * ring's NO_INTERRUPT flag). Records the notification when it says yes. */
bool virtq_should_notify(struct virtq *q);
/* Before going back to sleep: asks for a kick at the next avail entry (EVENT_IDX avail_event)
 * and returns true when entries arrived meanwhile (pop again). */
bool virtq_enable_kicks(struct virtq *q);

#endif
