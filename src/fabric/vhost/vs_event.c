/* virtio-scsi's event queue: the bounded FIFO of events and their delivery into the buffers the
 * driver posted (vs_event.h). */
#include "fabric/vhost/vs_event.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fabric/vhost/vu_le.h"

void vs_evq_init(struct vs_evq *eq)
{
	memset(eq, 0, sizeof(*eq));
}

bool vs_evq_push(struct vs_evq *eq, uint32_t event, uint16_t lun, uint32_t reason)
{
	struct vs_event *ev;

	if (eq->count == VS_EVQ_MAX) {
		eq->missed = true;
		eq->dropped++;
		return false;
	}
	ev = &eq->ev[(eq->head + eq->count) % VS_EVQ_MAX];
	ev->event = event;
	ev->lun = lun;
	ev->reason = reason;
	eq->count++;
	return true;
}

bool vs_evq_pending(const struct vs_evq *eq)
{
	return eq->count || eq->missed;
}

bool vs_evq_take(struct vs_evq *eq, uint8_t out[VS_EVENT_SIZE])
{
	struct vs_event ev = {.event = VS_T_NO_EVENT};

	if (!vs_evq_pending(eq))
		return false;
	if (eq->count) {
		ev = eq->ev[eq->head];
		eq->head = (eq->head + 1) % VS_EVQ_MAX;
		eq->count--;
	}
	if (eq->missed)
		ev.event |= VS_T_EVENTS_MISSED;
	eq->missed = false;
	memset(out, 0, VS_EVENT_SIZE);
	vu_put32(out, ev.event);
	/* virtio-scsi's LUN: 1, the target (0), then SAM single-level addressing (flat space for
	 * LUNs past 255) as the request queues take it. */
	if (ev.event != VS_T_NO_EVENT && ev.event != VS_T_EVENTS_MISSED) {
		out[4] = 1;
		out[5] = 0;
		out[6] = (uint8_t)(ev.lun >> 8 | (ev.lun > 255 ? 0x40 : 0));
		out[7] = (uint8_t)ev.lun;
	}
	vu_put32(out + 12, ev.reason);
	return true;
}

int vs_evq_flush(struct vs_evq *eq, struct virtq *q, struct virtq_elem *e)
{
	int n = 0;

	while (vs_evq_pending(eq)) {
		uint8_t out[VS_EVENT_SIZE];
		size_t done = 0;
		int r = virtq_pop(q, e);

		if (r < 0)
			return -EIO;
		if (r == 0) {
			if (virtq_enable_kicks(q))
				continue;
			break;
		}
		if (e->nout || e->in_len < VS_EVENT_SIZE) {
			/* The event was not taken: it stays queued; the queue is broken. */
			snprintf(q->why, sizeof(q->why),
				 "event buffer of %llu device-writable bytes%s (need %u)",
				 (unsigned long long)e->in_len,
				 e->nout ? " after readable ones" : "", VS_EVENT_SIZE);
			return -EIO;
		}
		vs_evq_take(eq, out);
		for (unsigned i = 0; i < e->nin && done < VS_EVENT_SIZE; i++) {
			size_t l = e->iov[i].iov_len;

			if (l > VS_EVENT_SIZE - done)
				l = VS_EVENT_SIZE - done;
			memcpy(e->iov[i].iov_base, out + done, l);
			done += l;
		}
		virtq_push(q, e->head, VS_EVENT_SIZE);
		n++;
	}
	return n;
}
