/* The handler ring codec: see ring.h. Everything read here comes from a process we do not
 * trust, through memory it can change at any moment: callers pass private copies, and every
 * index, size and tag is checked before it is used. */
#include "backstore/user/ring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ERRF(...) ((err && err_len) ? (void)snprintf(err, err_len, __VA_ARGS__) : (void)0)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int ring_layout_compute(struct ring_layout *l, uint32_t nq, uint32_t entries, uint64_t data_size)
{
	uint64_t qsize, total;

	if (!nq || nq > INVAR_RING_MAX_QUEUES || !entries || (entries & (entries - 1)) || entries > 65536 ||
	    !data_size || data_size % 4096 || data_size > (1ull << 32))
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->nq = nq;
	l->cmd_entries = entries;
	l->cpl_entries = entries; /* never fewer than commands in flight: it cannot overflow */
	l->queue_offset = 4096;
	l->cmd_ring_offset = sizeof(struct invar_ring_queue);
	l->cpl_ring_offset = l->cmd_ring_offset + (uint64_t)entries * sizeof(struct invar_ring_cmd);
	l->data_offset = align_up(l->cpl_ring_offset +
				      (uint64_t)entries * sizeof(struct invar_ring_cpl), 4096);
	l->data_size = data_size;
	l->max_io = data_size;
	qsize = l->data_offset + data_size;
	l->queue_stride = qsize;
	total = l->queue_offset + qsize * nq;
	if (total / nq < qsize)
		return -EOVERFLOW;
	l->shm_size = total;
	return 0;
}

void ring_mailbox_init(void *shm, const struct ring_layout *l, uint64_t lu_size,
		       uint32_t block_size, uint64_t features)
{
	struct invar_ring_mailbox mb;

	memset(&mb, 0, sizeof(mb));
	mb.magic = INVAR_RING_MAGIC;
	mb.version_major = INVAR_RING_VERSION_MAJOR;
	mb.version_minor = INVAR_RING_VERSION_MINOR;
	mb.mailbox_size = sizeof(mb);
	mb.queue_header_size = sizeof(struct invar_ring_queue);
	mb.cmd_entry_size = sizeof(struct invar_ring_cmd);
	mb.cpl_entry_size = sizeof(struct invar_ring_cpl);
	mb.shm_size = l->shm_size;
	mb.daemon_features = features;
	mb.lu_size = lu_size;
	mb.block_size = block_size;
	mb.queue_count = l->nq;
	mb.queue_offset = l->queue_offset;
	mb.queue_stride = l->queue_stride;
	mb.cmd_entries = l->cmd_entries;
	mb.cpl_entries = l->cpl_entries;
	mb.cmd_ring_offset = l->cmd_ring_offset;
	mb.cpl_ring_offset = l->cpl_ring_offset;
	mb.data_offset = l->data_offset;
	mb.data_size = l->data_size;
	mb.max_io_size = l->max_io;
	memcpy(shm, &mb, sizeof(mb));
}

int ring_mailbox_accept(const void *shm, uint64_t offered, uint64_t *accepted, char *err,
			size_t err_len)
{
	struct invar_ring_mailbox mb;

	memcpy(&mb, shm, sizeof(mb)); /* one snapshot: the handler may still be writing */
	if (mb.magic != INVAR_RING_MAGIC) {
		ERRF("mailbox magic overwritten");
		return -EPROTO;
	}
	if (mb.handler_version_major != INVAR_RING_VERSION_MAJOR) {
		ERRF("handler speaks ring version %u.%u, daemon %u.%u", mb.handler_version_major,
		     mb.handler_version_minor, INVAR_RING_VERSION_MAJOR, INVAR_RING_VERSION_MINOR);
		return -EPROTO;
	}
	if (mb.handler_features & ~offered) {
		ERRF("handler accepted features 0x%llx that were not offered (0x%llx)",
		     (unsigned long long)mb.handler_features, (unsigned long long)offered);
		return -EPROTO;
	}
	*accepted = mb.handler_features;
	return 0;
}

void ring_cmd_encode(void *dst, uint8_t opcode, uint32_t flags, uint64_t tag, uint64_t offset,
		     uint64_t length, uint64_t data_offset)
{
	struct invar_ring_cmd c;

	memset(&c, 0, sizeof(c));
	c.entry_size = sizeof(c);
	c.opcode = opcode;
	c.flags = flags;
	c.tag = tag;
	c.offset = offset;
	c.length = length;
	c.data_offset = data_offset;
	memcpy(dst, &c, sizeof(c));
}

int ring_cpl_avail(uint32_t prod, uint32_t cons, uint32_t entries, uint32_t *n)
{
	uint32_t d = prod - cons; /* free-running: wraps at 2^32 */

	if (d > entries)
		return -EPROTO;
	*n = d;
	return 0;
}

/* The results the SCSI layer maps to a specific sense; anything else becomes -EIO, so a handler
 * cannot make us report a status we do not mean. */
static int32_t ring_result_normalize(int32_t r)
{
	switch (r) {
	case 0:
	case -EIO:
	case -ENOSPC:
	case -EDQUOT:
	case -EROFS:
	case -ENOMEM:
	case -EOPNOTSUPP:
	case -EBUSY:
	case -EAGAIN: return r;
	default: return -EIO;
	}
}

int ring_cpl_check(const void *entry, size_t entry_size, const struct ring_slot *slots,
		   uint32_t nslots, struct ring_cpl_view *out, char *err, size_t err_len)
{
	struct invar_ring_cpl c;
	uint32_t slot, gen;

	if (entry_size < sizeof(c)) {
		ERRF("completion stride %zu too small", entry_size);
		return -EPROTO;
	}
	memcpy(&c, entry, sizeof(c));
	/* Newer handlers may define more of the entry, never less. */
	if (c.entry_size < sizeof(c) || c.entry_size > entry_size) {
		ERRF("completion entry_size %u (expected %zu..%zu)", c.entry_size, sizeof(c),
		     entry_size);
		return -EPROTO;
	}
	slot = (uint32_t)c.tag;
	gen = (uint32_t)(c.tag >> 32);
	if (slot >= nslots) {
		ERRF("completion for unknown tag 0x%llx", (unsigned long long)c.tag);
		return -EPROTO;
	}
	if (!slots[slot].busy || slots[slot].gen != gen) {
		ERRF("completion for tag 0x%llx that is not in flight (duplicate or stale)",
		     (unsigned long long)c.tag);
		return -EPROTO;
	}
	out->slot = slot;
	out->result = ring_result_normalize(c.result);
	return 0;
}
