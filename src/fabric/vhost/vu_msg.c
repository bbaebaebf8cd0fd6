/* The vhost-user message codec: see vu_msg.h. The payload layouts are vhost-user.rst's
 * "Message types" (a vring state is u32 index + u32 num; a vring address is u32 index, u32
 * flags, then u64 descriptor, used, available and log addresses; a memory table is u32
 * nregions, u32 padding, then per region u64 guest address, size, user address, mmap offset). */
#include "fabric/vhost/vu_msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fabric/vhost/vu_le.h"

enum vu_payload {
	PL_NONE,	/* size 0 */
	PL_U64,		/* 8 bytes */
	PL_STATE,	/* 8 bytes: index, num */
	PL_ADDR,	/* 40 bytes */
	PL_MEM,		/* 8 + 32 * nregions, one fd per region */
	PL_VRING_FD,	/* u64, one fd unless VU_VRING_NOFD */
};

struct vu_req_row {
	const char *name;
	enum vu_payload pl;
};

/* Only the requests of the features we offer; anything else is refused by name. */
static const struct vu_req_row vu_req_table[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = { "GET_FEATURES", PL_NONE },
	[VU_SET_FEATURES] = { "SET_FEATURES", PL_U64 },
	[VU_SET_OWNER] = { "SET_OWNER", PL_NONE },
	[VU_RESET_OWNER] = { "RESET_OWNER", PL_NONE },
	[VU_SET_MEM_TABLE] = { "SET_MEM_TABLE", PL_MEM },
	[VU_SET_VRING_NUM] = { "SET_VRING_NUM", PL_STATE },
	[VU_SET_VRING_ADDR] = { "SET_VRING_ADDR", PL_ADDR },
	[VU_SET_VRING_BASE] = { "SET_VRING_BASE", PL_STATE },
	[VU_GET_VRING_BASE] = { "GET_VRING_BASE", PL_STATE },
	[VU_SET_VRING_KICK] = { "SET_VRING_KICK", PL_VRING_FD },
	[VU_SET_VRING_CALL] = { "SET_VRING_CALL", PL_VRING_FD },
	[VU_SET_VRING_ERR] = { "SET_VRING_ERR", PL_VRING_FD },
	[VU_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", PL_NONE },
	[VU_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", PL_U64 },
	[VU_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", PL_NONE },
	[VU_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", PL_STATE },
};

static int vu_fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *vu_request_name(uint32_t request)
{
	if (request < VU_REQUEST_MAX && vu_req_table[request].name)
		return vu_req_table[request].name;
	return "unknown";
}

size_t vu_msg_total(const uint8_t *buf, char *err, size_t err_len)
{
	uint32_t flags = vu_get32(buf + 4), size = vu_get32(buf + 8);

	if ((flags & VU_FLAG_VERSION_MASK) != VU_VERSION) {
		vu_fail(err, err_len, "version %u, not %u", flags & VU_FLAG_VERSION_MASK, VU_VERSION);
		return 0;
	}
	if (flags & VU_FLAG_REPLY) {
		vu_fail(err, err_len, "a reply sent to the back-end");
		return 0;
	}
	if (size > VU_MAX_PAYLOAD) {
		vu_fail(err, err_len, "payload of %u bytes (at most %u)", size, VU_MAX_PAYLOAD);
		return 0;
	}
	return VU_HDR_SIZE + (size_t)size;
}

static bool vu_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int vu_decode_mem(const uint8_t *p, uint32_t size, unsigned nfds, struct vu_msg *out,
			 char *err, size_t err_len)
{
	uint32_t n;

	if (size < 8)
		return vu_fail(err, err_len, "memory table of %u bytes", size);
	n = vu_get32(p);
	if (n == 0 || n > VU_MAX_REGIONS)
		return vu_fail(err, err_len, "%u memory regions (1 to %u)", n, VU_MAX_REGIONS);
	if (size != 8 + 32 * n)
		return vu_fail(err, err_len, "memory table of %u bytes for %u regions", size, n);
	if (nfds != n)
		return vu_fail(err, err_len, "%u fds for %u memory regions", nfds, n);
	out->mem.nregions = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *q = p + 8 + 32 * i;
		struct vu_region *r = &out->mem.r[i];

		r->gpa = vu_get64(q);
		r->size = vu_get64(q + 8);
		r->uva = vu_get64(q + 16);
		r->mmap_offset = vu_get64(q + 24);
		if (r->size == 0)
			return vu_fail(err, err_len, "memory region %u has size 0", i);
		if (r->gpa + r->size < r->gpa || r->uva + r->size < r->uva ||
		    r->mmap_offset + r->size < r->mmap_offset || r->size > (uint64_t)SIZE_MAX / 2)
			return vu_fail(err, err_len, "memory region %u wraps around", i);
		for (uint32_t j = 0; j < i; j++) {
			const struct vu_region *o = &out->mem.r[j];

			if (vu_ranges_overlap(r->gpa, r->size, o->gpa, o->size))
				return vu_fail(err, err_len, "memory regions %u and %u overlap", j, i);
			if (vu_ranges_overlap(r->uva, r->size, o->uva, o->size))
				return vu_fail(err, err_len,
					       "memory regions %u and %u overlap (user addresses)", j, i);
		}
	}
	return 0;
}

int vu_msg_decode(const uint8_t *buf, size_t len, const int *fds, unsigned nfds,
		  struct vu_msg *out, char *err, size_t err_len)
{
	const uint8_t *p = buf + VU_HDR_SIZE;
	const struct vu_req_row *row;
	size_t total;

	memset(out, 0, sizeof(*out));
	if (nfds > VU_MAX_FDS)
		return vu_fail(err, err_len, "%u fds (at most %u)", nfds, VU_MAX_FDS);
	for (unsigned i = 0; i < nfds; i++)
		out->fds[i] = fds[i];
	out->nfds = nfds;
	if (len < VU_HDR_SIZE)
		return vu_fail(err, err_len, "short message (%zu bytes)", len);
	total = vu_msg_total(buf, err, err_len);
	if (!total)
		return -EINVAL;
	if (total != len)
		return vu_fail(err, err_len, "message of %zu bytes, header says %zu", len, total);
	out->request = vu_get32(buf);
	out->flags = vu_get32(buf + 4);
	out->size = vu_get32(buf + 8);
	out->need_reply = out->flags & VU_FLAG_NEED_REPLY;
	row = out->request < VU_REQUEST_MAX ? &vu_req_table[out->request] : NULL;
	if (!row || !row->name)
		return vu_fail(err, err_len, "unsupported request %u", out->request);

	switch (row->pl) {
	case PL_NONE:
		/* Tolerate a u64 of padding (some front-ends send one with GET requests). */
		if (out->size != 0 && out->size != 8)
			goto bad_size;
		if (nfds)
			goto bad_fds;
		return 0;
	case PL_U64:
		if (out->size != 8)
			goto bad_size;
		if (nfds)
			goto bad_fds;
		out->u64 = vu_get64(p);
		return 0;
	case PL_STATE:
		if (out->size != 8)
			goto bad_size;
		if (nfds)
			goto bad_fds;
		out->state.index = vu_get32(p);
		out->state.num = vu_get32(p + 4);
		return 0;
	case PL_ADDR:
		if (out->size != 40)
			goto bad_size;
		if (nfds)
			goto bad_fds;
		out->addr.index = vu_get32(p);
		out->addr.flags = vu_get32(p + 4);
		out->addr.desc = vu_get64(p + 8);
		out->addr.used = vu_get64(p + 16);
		out->addr.avail = vu_get64(p + 24);
		out->addr.log = vu_get64(p + 32);
		return 0;
	case PL_VRING_FD:
		if (out->size != 8)
			goto bad_size;
		out->u64 = vu_get64(p);
		if (out->u64 & ~(VU_VRING_IDX_MASK | VU_VRING_NOFD))
			return vu_fail(err, err_len, "%s: reserved bits set", row->name);
		if (nfds != ((out->u64 & VU_VRING_NOFD) ? 0u : 1u))
			goto bad_fds;
		return 0;
	case PL_MEM:
		return vu_decode_mem(p, out->size, nfds, out, err, err_len);
	}
bad_size:
	return vu_fail(err, err_len, "%s with a payload of %u bytes", row->name, out->size);
bad_fds:
	return vu_fail(err, err_len, "%s with %u fds", row->name, nfds);
}

static void vu_put_hdr(uint8_t *out, uint32_t request, uint32_t size)
{
	vu_put32(out, request);
	vu_put32(out + 4, VU_VERSION | VU_FLAG_REPLY);
	vu_put32(out + 8, size);
}

size_t vu_msg_reply_u64(uint8_t *out, uint32_t request, uint64_t v)
{
	vu_put_hdr(out, request, 8);
	vu_put64(out + VU_HDR_SIZE, v);
	return VU_HDR_SIZE + 8;
}

size_t vu_msg_reply_state(uint8_t *out, uint32_t request, uint32_t index, uint32_t num)
{
	vu_put_hdr(out, request, 8);
	vu_put32(out + VU_HDR_SIZE, index);
	vu_put32(out + VU_HDR_SIZE + 4, num);
	return VU_HDR_SIZE + 8;
}
