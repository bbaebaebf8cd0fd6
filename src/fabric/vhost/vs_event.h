/* virtio-scsi's event queue (virtio 1.1 5.6.6.3): the events a device reports to the driver
 * (LUN hot-add and removal, parameter changes such as a new capacity), kept in a bounded FIFO
 * until the driver has posted buffers for them, then written into those buffers.
 *
 *   event  le32 event  u8 lun[8]  le32 reason                                     16 bytes
 *
 * The driver posts a few buffers (Linux: 8) and reposts each one after handling its event.
 * Events that find no buffer wait here, at most VS_EVQ_MAX of them; one more is dropped and
 * the next event delivered carries VIRTIO_SCSI_T_EVENTS_MISSED (when nothing else waits, a
 * NO_EVENT with the flag says so), on which the driver rescans the whole bus (the spec's
 * "poll the logical units for unit attention conditions"; Linux: scsi_scan_host).
 *
 * Threads: one vs_evq belongs to one thread (vhost_evq.c: the main thread). No locks. Unit
 * tests drive it on memory of their own. */
#ifndef INVAR_FABRIC_VHOST_VS_EVENT_H
#define INVAR_FABRIC_VHOST_VS_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "fabric/vhost/virtq.h"

#define VS_EVENT_SIZE 16
#define VS_EVQ_MAX 32	/* events kept while the driver has no buffer posted */

/* event (virtio 1.1 5.6.6.3) */
#define VS_T_NO_EVENT 0u
#define VS_T_TRANSPORT_RESET 1u
#define VS_T_ASYNC_NOTIFY 2u
#define VS_T_PARAM_CHANGE 3u
#define VS_T_EVENTS_MISSED 0x80000000u
/* reason of TRANSPORT_RESET */
#define VS_EVT_RESET_HARD 0u
#define VS_EVT_RESET_RESCAN 1u
#define VS_EVT_RESET_REMOVED 2u

struct vs_event {
	uint32_t event;
	uint16_t lun;	/* target 0, this LUN */
	uint32_t reason;	/* PARAM_CHANGE: asc | ascq << 8 */
};

struct vs_evq {
	struct vs_event ev[VS_EVQ_MAX];
	unsigned head, count;
	bool missed;	/* an event was dropped: flag the next one delivered */
	uint64_t dropped;	/* for log lines and tests */
};

void vs_evq_init(struct vs_evq *eq);
/* Queues an event; false when the queue was full and it was dropped (missed set). */
bool vs_evq_push(struct vs_evq *eq, uint32_t event, uint16_t lun, uint32_t reason);
/* Whether something waits for a buffer (events, or the EVENTS_MISSED flag alone). */
bool vs_evq_pending(const struct vs_evq *eq);
/* Writes the wire form of what is due next into out[VS_EVENT_SIZE] and takes it off the
 * queue. false: nothing is pending. */
bool vs_evq_take(struct vs_evq *eq, uint8_t out[VS_EVENT_SIZE]);
/* Delivers what is pending into the buffers the driver posted on q (e: scratch space): returns
 * the number of events written (each buffer is pushed to the used ring), or -EIO when the
 * queue is broken (q->why: a bad chain, or a buffer too small or not device-writable). The
 * caller notifies the driver (virtq_should_notify) when this returns more than 0. */
int vs_evq_flush(struct vs_evq *eq, struct virtq *q, struct virtq_elem *e);

#endif
