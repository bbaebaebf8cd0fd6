/* The split virtqueue: see virtq.h. Layout (virtio 1.1 2.6): descriptor table of
 * {le64 addr, le32 len, le16 flags, le16 next}; avail ring {le16 flags, le16 idx, le16 ring[num],
 * le16 used_event}; used ring {le16 flags, le16 idx, {le32 id, le32 len}[num], le16
 * avail_event}. */
#include "fabric/vhost/virtq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fabric/vhost/vu_le.h"

#define DESC_SIZE 16
/* An indirect table holds at most this many descriptors (a bigger one is refused). */
#define VIRTQ_MAX_INDIRECT 1024

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

void virtq_ring_sizes(uint16_t num, uint64_t *desc, uint64_t *avail, uint64_t *used)
{
	*desc = (uint64_t)DESC_SIZE * num;
	*avail = 6 + 2ull * num;
	*used = 6 + 8ull * num;
}

void virtq_init(struct virtq *q, const struct vu_mem *mem, uint16_t num, uint8_t *desc,
		uint8_t *avail, uint8_t *used, uint16_t base, bool event_idx, bool indirect)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->num = num;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = q->used_idx = base;
	q->event_idx = event_idx;
	q->indirect = indirect;
}

static int virtq_broken(struct virtq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	return -EIO;
}

/* Guest memory changes under us: each 16-bit ring field is read once, atomically. */
static uint16_t ring_load16(const uint8_t *p)
{
	uint16_t v;

	__atomic_load((const uint16_t *)(const void *)p, &v, __ATOMIC_RELAXED);
	return v;	/* little-endian host (x86, arm64): the ring's byte order */
}

static void ring_store16(uint8_t *p, uint16_t v)
{
	__atomic_store((uint16_t *)(void *)p, &v, __ATOMIC_RELAXED);
}

static void desc_read(const uint8_t *table, unsigned i, struct vdesc *d)
{
	uint8_t raw[DESC_SIZE];

	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);	/* one copy, then checks */
	d->addr = vu_get64(raw);
	d->len = vu_get32(raw + 8);
	d->flags = vu_get16(raw + 12);
	d->next = vu_get16(raw + 14);
}

/* Appends one descriptor's buffer to e. */
static int virtq_add(struct virtq *q, struct virtq_elem *e, const struct vdesc *d)
{
	unsigned n = e->nout + e->nin;
	int r;

	if (d->flags & VIRTQ_DESC_F_WRITE) {
		r = vu_mem_gpa_iov(q->mem, d->addr, d->len, e->iov, &n, VIRTQ_MAX_IOV);
		if (r == 0) {
			e->nin = n - e->nout;
			e->in_len += d->len;
		}
	} else {
		if (e->nin)
			return virtq_broken(q, "readable descriptor after a writable one");
		r = vu_mem_gpa_iov(q->mem, d->addr, d->len, e->iov, &n, VIRTQ_MAX_IOV);
		if (r == 0) {
			e->nout = n;
			e->out_len += d->len;
		}
	}
	if (r == -EFAULT)
		return virtq_broken(q, "buffer 0x%llx+%u outside guest memory",
				    (unsigned long long)d->addr, d->len);
	if (r)
		return virtq_broken(q, "more than %u segments in a request", VIRTQ_MAX_IOV);
	return 0;
}

/* Walks a chain in table (size entries) from index i. */
static int virtq_walk(struct virtq *q, struct virtq_elem *e, const uint8_t *table,
		      unsigned size, unsigned i, bool in_indirect)
{
	unsigned count = 0;
	struct vdesc d;
	int r;

	for (;;) {
		if (i >= size)
			return virtq_broken(q, "descriptor index %u past %u", i, size);
		if (++count > size)
			return virtq_broken(q, "descriptor chain loops");
		desc_read(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			const uint8_t *it;

			if (in_indirect)
				return virtq_broken(q, "nested indirect descriptor");
			if (!q->indirect)
				return virtq_broken(q, "indirect descriptor not negotiated");
			if (count != 1 || (d.flags & VIRTQ_DESC_F_NEXT))
				return virtq_broken(q, "indirect descriptor inside a chain");
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_INDIRECT)
				return virtq_broken(q, "indirect table of %u bytes", d.len);
			it = vu_mem_gpa(q->mem, d.addr, d.len);
			if (!it)
				return virtq_broken(q, "indirect table outside guest memory");
			return virtq_walk(q, e, it, d.len / DESC_SIZE, 0, true);
		}
		r = virtq_add(q, e, &d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
	uint16_t avail_idx = ring_load16(q->avail + 2);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	uint16_t head;
	int r;

	if (!pending)
		return 0;
	if (pending > q->num)
		return virtq_broken(q, "avail index %u is %u entries ahead (queue of %u)",
				    avail_idx, pending, q->num);
	/* The ring entry is read after the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ring_load16(q->avail + 4 + 2 * (size_t)(q->last_avail % q->num));
	e->head = head;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	r = virtq_walk(q, e, q->desc, q->num, head, false);
	if (r)
		return r;
	if (e->out_len + e->in_len > UINT32_MAX)
		return virtq_broken(q, "request of %llu bytes",
				    (unsigned long long)(e->out_len + e->in_len));
	q->last_avail++;
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *el = q->used + 4 + 8 * (size_t)(q->used_idx % q->num);

	vu_put32(el, head);
	vu_put32(el + 4, len);
	q->used_idx++;
	/* The element is visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ring_store16(q->used + 2, q->used_idx);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, ev;
	bool valid = q->signalled_valid;

	/* Our used index store before the driver's flags/used_event load (virtio 1.1 2.6.7.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(ring_load16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!valid)
		return true;
	ev = ring_load16(q->avail + 4 + 2 * (size_t)q->num);	/* used_event */
	/* vring_need_event(): ev in [old, now). */
	return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
}

bool virtq_enable_kicks(struct virtq *q)
{
	if (q->event_idx)
		ring_store16(q->used + 4 + 8 * (size_t)q->num, q->last_avail);	/* avail_event */
	else
		ring_store16(q->used, 0);	/* flags: no VIRTQ_USED_F_NO_NOTIFY */
	/* Our avail_event store before the driver's avail index load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring_load16(q->avail + 2) != q->last_avail;
}
