/* The vhost-user message codec (QEMU docs/interop/vhost-user.rst): the one place where a
 * front-end's bytes and file descriptors become a struct vu_msg, and where replies are encoded.
 * Every request's payload size and fd count is checked against the table in vu_msg.c before a
 * field is read; a message that fails is refused with a reason and the connection closes.
 *
 * Wire: a 12-byte header (u32 request, u32 flags, u32 size), then size bytes of payload, fds as
 * SCM_RIGHTS ancillary data with the message. flags: bits 0-1 version (1), bit 2 reply, bit 3
 * need_reply (REPLY_ACK). */
#ifndef INVAR_FABRIC_VHOST_VU_MSG_H
#define INVAR_FABRIC_VHOST_VU_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_HDR_SIZE 12
#define VU_VERSION 1u
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
/* The largest payload accepted: a memory table of VU_MAX_REGIONS (8 + 8 * 32), with room for
 * the config space messages (12 + 256) that we refuse by name. */
#define VU_MAX_PAYLOAD 512
#define VU_MAX_MSG (VU_HDR_SIZE + VU_MAX_PAYLOAD)
/* Without VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS (not offered) a table has at most 8 regions,
 * and a message carries at most 8 fds. */
#define VU_MAX_REGIONS 8
#define VU_MAX_FDS 8

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_REQUEST_MAX = 64,	/* requests above are refused unread */
};

/* Feature bits (virtio 1.1 6; vhost-user.rst). */
/* virtio-scsi device bits (virtio 1.1 5.6.3) */
#define VU_F_SCSI_INOUT 0
#define VU_F_SCSI_HOTPLUG 1
#define VU_F_SCSI_CHANGE 2
#define VU_F_INDIRECT_DESC 28
#define VU_F_EVENT_IDX 29
#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_VERSION_1 32
/* Protocol feature bits. */
#define VU_PF_MQ 0
#define VU_PF_REPLY_ACK 3

/* SET_VRING_KICK/CALL/ERR u64: bits 0-7 the index, bit 8 "no fd" (polling). */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1ull << 8)

struct vu_region {
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	uint64_t uva;		/* the front-end's virtual address (ring addresses use these) */
	uint64_t mmap_offset;	/* of the region in its fd */
};

struct vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	bool need_reply;
	union {
		uint64_t u64;				/* features, queue num, kick/call/err */
		struct { uint32_t index, num; } state;	/* VRING_NUM/BASE/ENABLE */
		struct {
			uint32_t index, flags;
			uint64_t desc, used, avail, log;
		} addr;					/* VRING_ADDR (front-end addresses) */
		struct {
			uint32_t nregions;
			struct vu_region r[VU_MAX_REGIONS];
		} mem;
	};
	/* fds that came with the message; the codec keeps them here, the caller owns them. */
	int fds[VU_MAX_FDS];
	unsigned nfds;
};

/* The request's name for log lines ("SET_MEM_TABLE"), "unknown" otherwise. */
const char *vu_request_name(uint32_t request);

/* Total size of the message whose header is at buf (>= VU_HDR_SIZE bytes): 12 + size, or 0 when
 * the header itself is bad (version, reply flag, size over VU_MAX_PAYLOAD), with a reason. */
size_t vu_msg_total(const uint8_t *buf, char *err, size_t err_len);

/* Decodes one whole message (len == vu_msg_total) with the nfds fds that came with it. Returns
 * 0, or -EINVAL with a reason: unknown request, a payload size or fd count that is not the one
 * that request has, a region table with 0 or too many regions, sizes of 0, address ranges that
 * wrap or overlap. The fds are copied into out either way (the caller closes them). */
int vu_msg_decode(const uint8_t *buf, size_t len, const int *fds, unsigned nfds,
		  struct vu_msg *out, char *err, size_t err_len);

/* Encodes a reply to request: the header and a u64 (GET_FEATURES, REPLY_ACK...) or a vring
 * state (GET_VRING_BASE) payload. Returns the bytes written into out (>= VU_HDR_SIZE + 8). */
size_t vu_msg_reply_u64(uint8_t *out, uint32_t request, uint64_t v);
size_t vu_msg_reply_state(uint8_t *out, uint32_t request, uint32_t index, uint32_t num);

#endif
