/* rawini: a raw-PDU iSCSI initiator on the product's codec (see rawini.h). */
#include "rawini.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "util/byteorder.h"

#define RAWINI_IO_WAIT_MS 10000
#define RAWINI_DEFAULT_MAX_DATA (16u << 20)
#define RAWINI_STAGE_FULL_FEATURE 3	/* NSG of the last login stage (RFC 7143 11.12.3) */

void rawini_init(struct rawini *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->fd = -1;
	ri->itt = 1;
	ri->max_data = RAWINI_DEFAULT_MAX_DATA;
	/* RFC 7143 13 defaults until the target answers otherwise (MaxRecvDataSegmentLength:
	 * 8192, the value a login starts with). */
	ri->max_burst = 262144;
	ri->first_burst = 65536;
	ri->t_mrdsl = 8192;
	ri->immediate_data = true;
}

void rawini_set_isid32(struct rawini *ri, uint32_t qualifier)
{
	ri->isid[0] = 0x40;	/* type 01b: random */
	ri->isid[1] = 0;
	put_be32(ri->isid + 2, qualifier);
}

void rawini_set_lun(struct rawini *ri, uint64_t lun)
{
	iscsi_lun_encode(lun, ri->lun);
}

int rawini_connect(struct rawini *ri, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int one = 1;

	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	ri->fd = -1;
	for (a = ai; a && ri->fd < 0; a = a->ai_next) {
		ri->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ri->fd >= 0 && connect(ri->fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(ri->fd);
			ri->fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (ri->fd < 0)
		return -1;
	setsockopt(ri->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Digests start after the login (RFC 7143 13.1). */
	ri->hdigest = ri->ddigest = false;
	return 0;
}

void rawini_close(struct rawini *ri)
{
	if (ri->fd >= 0)
		close(ri->fd);
	ri->fd = -1;
}

static int rawini_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Every byte of iov[0..cnt) (the array is consumed). */
static int rawini_writev_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (rawini_wait(fd, POLLOUT, RAWINI_IO_WAIT_MS) <= 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int rawini_write_all(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return len ? rawini_writev_all(fd, &iov, 1) : 0;
}

int rawini_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n;
		int r = rawini_wait(fd, POLLIN, timeout_ms);

		if (r == 0)
			return -2;
		if (r < 0)
			return -1;
		n = recv(fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rawini_send_bhs(struct rawini *ri, uint8_t bhs[ISCSI_BHS_LEN], const void *data,
		    uint32_t len, unsigned bad)
{
	static const uint8_t zero[4];
	uint8_t hdig[ISCSI_DIGEST_LEN], ddig[ISCSI_DIGEST_LEN];
	struct iovec iov[5];
	int cnt = 0;

	iscsi_bhs_set_data_len(bhs, len);
	if (ri->tamper)
		ri->tamper(ri, bhs, ri->tamper_arg);
	iov[cnt++] = (struct iovec){ bhs, ISCSI_BHS_LEN };
	if (ri->hdigest) {
		/* RFC 7143 13.1: CRC32C, least significant byte first. */
		put_le32(hdig, iscsi_header_digest(bhs, NULL, 0) ^
				       (bad & RAWINI_BAD_HDIGEST ? 1u : 0));
		iov[cnt++] = (struct iovec){ hdig, ISCSI_DIGEST_LEN };
	}
	if (len) {
		iov[cnt++] = (struct iovec){ (void *)data, len };
		if (iscsi_pad_len(len))
			iov[cnt++] = (struct iovec){ (void *)zero, iscsi_pad_len(len) };
		if (ri->ddigest) {
			put_le32(ddig, iscsi_data_digest(data, len) ^
					       (bad & RAWINI_BAD_DDIGEST ? 0x80u : 0));
			iov[cnt++] = (struct iovec){ ddig, ISCSI_DIGEST_LEN };
		}
	}
	return rawini_writev_all(ri->fd, iov, cnt);
}

int rawini_send(struct rawini *ri, const struct iscsi_pdu_hdr *h, const void *data, uint32_t len,
		unsigned bad)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_bhs_encode(h, bhs);
	return rawini_send_bhs(ri, bhs, data, len, bad);
}

void rawini_note_sn(struct rawini *ri, const struct iscsi_pdu_hdr *h)
{
	bool advanced = false;

	switch (h->opcode) {
	case ISCSI_OP_SCSI_RSP:
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_LOGIN_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_LOGOUT_RSP:
	case ISCSI_OP_ASYNC:
	case ISCSI_OP_REJECT:
		advanced = true;
		break;
	case ISCSI_OP_DATA_IN:
		advanced = h->data_in.status_present;	/* StatSN is reserved otherwise */
		break;
	case ISCSI_OP_NOP_IN:
		if (h->itt == ISCSI_RSVD_TAG)
			ri->expstatsn = h->statsn;	/* a ping: StatSN not advanced */
		else
			advanced = true;
		break;
	default:
		break;	/* R2T: StatSN not advanced */
	}
	if (advanced)
		ri->expstatsn = h->statsn + 1;
	if (h->opcode != ISCSI_OP_LOGIN_RSP && !iscsi_sn_gt(h->expcmdsn - 1, h->maxcmdsn) &&
	    iscsi_sn_gt(h->maxcmdsn, ri->maxcmdsn))
		ri->maxcmdsn = h->maxcmdsn;
}

void rawini_nop_reply(const struct rawini *ri, const struct iscsi_pdu_hdr *nop_in,
		      struct iscsi_pdu_hdr *out)
{
	*out = (struct iscsi_pdu_hdr){
		.opcode = ISCSI_OP_NOP_OUT,
		.immediate = true,
		.itt = ISCSI_RSVD_TAG,
		.cmdsn = ri->cmdsn,
		.expstatsn = ri->expstatsn,
		.nop = { .ttt = nop_in->nop.ttt },
	};
	memcpy(out->lun, nop_in->lun, 8);
}

void rawini_pdu_free(struct rawini_pdu *p)
{
	free(p->data);
	p->data = NULL;
	p->len = 0;
}

int rawini_recv(struct rawini *ri, struct rawini_pdu *p, int timeout_ms)
{
	uint8_t ahs[ISCSI_AHS_MAX], dig[ISCSI_DIGEST_LEN];

	for (;;) {
		uint32_t ahs_len, pad;
		int r;

		rawini_pdu_free(p);
		r = rawini_read_all(ri->fd, p->bhs, ISCSI_BHS_LEN, timeout_ms);
		if (r)
			return r;
		iscsi_bhs_decode(p->bhs, &p->h);
		ahs_len = (uint32_t)p->h.total_ahs_words * 4;
		p->len = p->h.data_len;
		pad = iscsi_pad_len(p->len);
		if (p->len > ri->max_data)
			return -1;
		if (ahs_len && rawini_read_all(ri->fd, ahs, ahs_len, timeout_ms))
			return -1;
		if (ri->hdigest) {
			if (rawini_read_all(ri->fd, dig, sizeof(dig), timeout_ms))
				return -1;
			if (get_le32(dig) != iscsi_header_digest(p->bhs, ahs, ahs_len))
				ri->target_digest_errors++;
		}
		p->data = calloc(1, p->len + pad + 1);
		if (!p->data || rawini_read_all(ri->fd, p->data, p->len + pad, timeout_ms))
			return -1;
		if (ri->ddigest && p->len) {
			if (rawini_read_all(ri->fd, dig, sizeof(dig), timeout_ms))
				return -1;
			if (get_le32(dig) != iscsi_data_digest(p->data, p->len))
				ri->target_digest_errors++;
		}
		rawini_note_sn(ri, &p->h);
		if (p->h.opcode == ISCSI_OP_NOP_IN && p->h.itt == ISCSI_RSVD_TAG) {
			/* A target ping: answered when it asks (TTT set, RFC 7143 11.19). */
			struct iscsi_pdu_hdr rsp;

			if (p->h.nop.ttt == ISCSI_RSVD_TAG)
				continue;
			rawini_nop_reply(ri, &p->h, &rsp);
			if (rawini_send(ri, &rsp, NULL, 0, 0))
				return -1;
			continue;
		}
		return 0;
	}
}

void rawini_text_add(struct rawini_text *t, const char *fmt, ...)
{
	size_t room = sizeof(t->buf) - t->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 > room)
		return;		/* does not fit: left out */
	t->len += (size_t)n + 1;
}

void rawini_text_add_default(struct rawini_text *t, const char *kv, const char *const *over,
			     unsigned n)
{
	size_t kl = strcspn(kv, "=") + 1;	/* the name and its '=' */
	unsigned i;

	for (i = 0; i < n; i++)
		if (!strncmp(over[i], kv, kl))
			return;
	rawini_text_add(t, "%s", kv);
}

const char *rawini_text_value(const uint8_t *text, uint32_t len, const char *key)
{
	size_t kl = strlen(key);
	uint32_t off = 0;

	while (off < len) {
		const char *p = (const char *)text + off;
		size_t pl = strnlen(p, len - off);

		if (pl > kl && p[kl] == '=' && !strncmp(p, key, kl))
			return p + kl + 1;
		off += (uint32_t)pl + 1;
	}
	return NULL;
}

static void rawini_take_num(const struct rawini_pdu *p, const char *key, uint32_t *v)
{
	const char *s = rawini_text_value(p->data, p->len, key);

	if (s)
		*v = (uint32_t)strtoul(s, NULL, 10);
}

static void rawini_take_bool(const struct rawini_pdu *p, const char *key, const char *yes,
			     bool *v)
{
	const char *s = rawini_text_value(p->data, p->len, key);

	if (s)
		*v = !strcmp(s, yes);
}

int rawini_login_stage(struct rawini *ri, unsigned csg, unsigned nsg, const void *text,
		       size_t len, unsigned rounds)
{
	struct rawini_pdu p = { 0 };
	unsigned round;
	int ret = 0;

	for (round = 0; round < rounds; round++) {
		struct iscsi_pdu_hdr h = {
			.opcode = ISCSI_OP_LOGIN_REQ,
			.immediate = true,
			.itt = ri->itt,
			.cmdsn = ri->cmdsn,
			.expstatsn = ri->expstatsn,
			.login = { .transit = true, .csg = (uint8_t)csg, .nsg = (uint8_t)nsg,
				   .tsih = ri->tsih },
		};
		const char *am;

		memcpy(h.login.isid, ri->isid, 6);
		if (rawini_send(ri, &h, text, round ? 0 : (uint32_t)len, 0) ||
		    rawini_recv(ri, &p, RAWINI_IO_WAIT_MS) || p.h.opcode != ISCSI_OP_LOGIN_RSP) {
			ret = -1;
			goto out;
		}
		ri->login_status = (uint16_t)(p.h.login.status_class << 8 | p.h.login.status_detail);
		ri->tsih = p.h.login.tsih;
		ri->cmdsn = p.h.expcmdsn;
		ri->maxcmdsn = p.h.maxcmdsn;
		rawini_take_num(&p, "MaxBurstLength", &ri->max_burst);
		rawini_take_num(&p, "FirstBurstLength", &ri->first_burst);
		rawini_take_num(&p, "MaxRecvDataSegmentLength", &ri->t_mrdsl);
		rawini_take_bool(&p, "ImmediateData", "Yes", &ri->immediate_data);
		rawini_take_bool(&p, "HeaderDigest", "CRC32C", &ri->want_hdigest);
		rawini_take_bool(&p, "DataDigest", "CRC32C", &ri->want_ddigest);
		am = rawini_text_value(p.data, p.len, "AuthMethod");
		if (am)
			snprintf(ri->auth_method, sizeof(ri->auth_method), "%s", am);
		if (ri->login_status)
			goto out;
		if (p.h.login.transit && p.h.login.nsg == nsg) {
			/* Digests apply from the first PDU after the final Login Response. */
			if (nsg == RAWINI_STAGE_FULL_FEATURE) {
				ri->hdigest = ri->want_hdigest;
				ri->ddigest = ri->want_ddigest;
			}
			ret = 1;
			goto out;
		}
	}
out:
	rawini_pdu_free(&p);
	return ret;
}

int rawini_logout(struct rawini *ri, int timeout_ms)
{
	struct iscsi_pdu_hdr h = {
		.opcode = ISCSI_OP_LOGOUT_REQ,
		.immediate = true,
		.itt = ri->itt++,
		.cmdsn = ri->cmdsn,
		.expstatsn = ri->expstatsn,
		.logout_req = { .reason = 0 },	/* close the session (RFC 7143 11.14.1) */
	};
	struct rawini_pdu p = { 0 };
	int ok = 0;

	if (!rawini_send(ri, &h, NULL, 0, 0)) {
		while (!rawini_recv(ri, &p, timeout_ms)) {
			if (p.h.opcode == ISCSI_OP_LOGOUT_RSP) {
				ok = p.h.logout_rsp.response == 0;
				break;
			}
		}
	}
	rawini_pdu_free(&p);
	rawini_close(ri);
	return ok ? 0 : -1;
}

void rawini_cmd_hdr(const struct rawini *ri, struct iscsi_pdu_hdr *h, uint32_t itt,
		    uint32_t cmdsn, uint8_t flags, const uint8_t cdb[16], uint32_t edtl)
{
	*h = (struct iscsi_pdu_hdr){
		.opcode = ISCSI_OP_SCSI_CMD,
		.itt = itt,
		.cmdsn = cmdsn,
		.expstatsn = ri->expstatsn,
		.scsi_cmd = {
			.final = (flags & ISCSI_FLAG_FINAL) != 0,
			.read = (flags & ISCSI_FLAG_CMD_READ) != 0,
			.write = (flags & ISCSI_FLAG_CMD_WRITE) != 0,
			.attr = 1,	/* SIMPLE */
			.edtl = edtl,
		},
	};
	memcpy(h->lun, ri->lun, 8);
	memcpy(h->scsi_cmd.cdb, cdb, ISCSI_CDB_BHS_LEN);
}

int rawini_send_cmd(struct rawini *ri, uint32_t itt, uint32_t cmdsn, uint8_t flags,
		    const uint8_t cdb[16], uint32_t edtl, const void *imm, uint32_t imm_len,
		    unsigned bad)
{
	struct iscsi_pdu_hdr h;

	rawini_cmd_hdr(ri, &h, itt, cmdsn, flags, cdb, edtl);
	return rawini_send(ri, &h, imm, imm_len, bad);
}

void rawini_data_out_hdr(const struct rawini *ri, struct iscsi_pdu_hdr *h, uint32_t itt,
			 uint32_t ttt, uint32_t datasn, uint32_t offset, bool final)
{
	*h = (struct iscsi_pdu_hdr){
		.opcode = ISCSI_OP_DATA_OUT,
		.itt = itt,
		.expstatsn = ri->expstatsn,
		.data_out = { .final = final, .ttt = ttt, .datasn = datasn,
			      .buffer_offset = offset },
	};
	memcpy(h->lun, ri->lun, 8);
}

int rawini_send_data_out(struct rawini *ri, uint32_t itt, uint32_t ttt, uint32_t datasn,
			 uint32_t offset, const void *data, uint32_t len, bool final, unsigned bad)
{
	struct iscsi_pdu_hdr h;

	rawini_data_out_hdr(ri, &h, itt, ttt, datasn, offset, final);
	return rawini_send(ri, &h, data, len, bad);
}

void rawini_cdb_rw10(uint8_t cdb[16], uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, blocks);
}
