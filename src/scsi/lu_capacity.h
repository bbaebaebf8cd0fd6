/* Changing a LU's capacity while it serves I/O (SBC-3 4.x: a logical unit's capacity may
 * change; SPC-4 reports it with the unit attention CAPACITY DATA HAS CHANGED, 6/2A/09).
 *
 * The one entry point is lu_set_capacity(), for whoever learns of a new size on the main
 * thread: the control plane (`invarctl lun resize`), a backstore that watches its medium, a
 * fabric. It changes the backstore (backstore_resize()), publishes the new lu->num_blocks,
 * queues CAPACITY DATA HAS CHANGED for every I_T nexus of the LU (and for the initiator ports
 * whose UAs the LU carries for a later nexus) and tells the registered listeners.
 *
 * Growing: the backstore grows first, then the new capacity is published, so a command that
 * reads the new capacity finds the backstore ready for it.
 *
 * Shrinking cuts data off, so an explicit smaller size needs LU_RESIZE_SHRINK (`--force`);
 * without it the call fails with -EPERM and says so. The capacity drops first (no command is
 * admitted past the new end from then on, LOGICAL BLOCK ADDRESS OUT OF RANGE) and the UA is
 * queued at once, so an initiator learns why before or with its first refusal; then the cut-off
 * tail is held exclusively through the LU's write gate (scsi/lu_io.h), which waits for the
 * writes already in flight there; a write admitted before the drop that reaches the gate after
 * it is refused with LBA OUT OF RANGE by lu_io_start(), which checks writes against the
 * capacity after counting itself in the gate. Only then does the backstore shrink (a file is
 * truncated). Reads are not gated: one still in flight past the new end reads zeroes or the old
 * data, never past the medium. Re-reading a medium that shrank outside invard is accepted
 * without the flag (the data is gone already) and drained the same way. */
#ifndef INVAR_SCSI_LU_CAPACITY_H
#define INVAR_SCSI_LU_CAPACITY_H

#include <stdint.h>

#include "util/list.h"

struct lu;
struct ev_loop;

#define LU_RESIZE_SHRINK (1u << 0)	/* an explicit smaller size is allowed: it cuts data off */

/* What a capacity change did. msg: a human reason when res < 0. */
struct lu_resize_result {
	int res;			/* 0 or -errno */
	uint64_t old_bytes, new_bytes;	/* equal: nothing changed (and no UA) */
	char msg[256];
};

/* Change lu's capacity to bytes (> 0, a multiple of the block size), or with bytes == 0 to
 * what the backstore's medium holds now (rounded down to whole blocks). Main thread. Returns
 * 0 when done (*r filled), -errno when refused or failed (r->msg says why: -EINVAL bad size,
 * -EROFS read-only LU, -EPERM shrink without LU_RESIZE_SHRINK, -EBUSY migrating, a SANITIZE or
 * FORMAT UNIT running, or another change under way, -EOPNOTSUPP the backstore cannot), or 1
 * when a shrink waits for writes in flight: done(arg, r) then runs on loop's thread once it
 * has finished (loop NULL, for tests: on whichever thread released the last of them). The LU
 * is held meanwhile. */
int lu_set_capacity(struct lu *lu, uint64_t bytes, unsigned flags, struct ev_loop *loop,
		    void (*done)(void *arg, const struct lu_resize_result *r), void *arg,
		    struct lu_resize_result *r);

/* Told of each capacity change, after the unit attention is queued (a vhost-user fabric sends
 * virtio-scsi's PARAM_CHANGE event; iSCSI needs nothing but the UA). The callback runs on the
 * thread that made the change, under lu.lock: it must not block or call into the LU (post the
 * work to its own thread). The owner unregisters before it frees the listener or drops its
 * reference to the LU. */
struct lu_listener {
	void (*capacity_changed)(struct lu *lu, uint64_t old_blocks, uint64_t new_blocks,
				 void *arg);
	void *arg;
	struct list_node node;		/* lu->cap.listeners */
};
void lu_listener_add(struct lu *lu, struct lu_listener *l);
void lu_listener_del(struct lu *lu, struct lu_listener *l);

#endif
