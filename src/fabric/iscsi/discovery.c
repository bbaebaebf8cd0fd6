/* Text requests in full feature phase (RFC 7143 11.10, 11.11): SendTargets (discovery,
 * RFC 7143 Appendix C) and key renegotiation, with replies split across Text responses (C bit
 * and a Target Transfer Tag) when longer than the initiator's MaxRecvDataSegmentLength. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

#define ISCSI_TEXT_RSP_MAX (1u << 20)	/* a SendTargets reply never grows past this */

struct iscsi_st_buf {
	char *buf;
	size_t len, cap;
	int err;
	const char *local;	/* this connection's local address, for wildcard portals */
	const struct target_auth *auth;	/* the target being listed: its portal binding */
};

static void iscsi_st_append(struct iscsi_st_buf *b, const char *key, const char *value)
{
	size_t need = strlen(key) + strlen(value) + 2;

	if (b->err)
		return;
	if (b->len + need > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		char *nb;

		while (ncap < b->len + need)
			ncap *= 2;
		if (ncap > ISCSI_TEXT_RSP_MAX) {
			b->err = -E2BIG;
			return;
		}
		nb = realloc(b->buf, ncap);
		if (!nb) {
			b->err = -ENOMEM;
			return;
		}
		b->buf = nb;
		b->cap = ncap;
	}
	iscsi_text_append(b->buf, b->cap, &b->len, key, value);
}

/* Every portal, each with its own portal group tag (RFC 7143 C.1: TargetAddress=ADDR:PORT,TAG).
 * A wildcard portal (0.0.0.0 / [::]) is reported with the address the initiator reached. */
static void iscsi_st_portal(const char *addr_port, unsigned tpg, void *arg)
{
	struct iscsi_st_buf *b = arg;
	char val[128];
	const char *port = strrchr(addr_port, ':');

	if (b->local && port &&
	    (!strncmp(addr_port, "0.0.0.0:", 8) || !strncmp(addr_port, "[::]:", 5)))
		snprintf(val, sizeof(val), "%s%s", b->local, port);
	else
		snprintf(val, sizeof(val), "%s", addr_port);
	/* A target bound to some portals is announced on those only. */
	if (b->auth && !target_auth_portal_ok(b->auth, val))
		return;
	snprintf(val + strlen(val), sizeof(val) - strlen(val), ",%u", tpg);
	iscsi_st_append(b, "TargetAddress", val);
}

int iscsi_sendtargets_build(struct daemon *d, const char *which, const char *local,
			    const char *initiator, const char *local_portal, char **out,
			    uint32_t *out_len)
{
	struct iscsi_st_buf b = { .local = local };
	struct list_node *n;
	bool all = !strcmp(which, "All");

	pthread_mutex_lock(&d->lock);
	list_for_each(n, &d->targets)
	{
		struct target *t = list_entry(n, struct target, node);

		if (!all && strcmp(t->iqn, which))
			continue;
		/* RFC 7143 C: an initiator learns only of targets it may log in to. */
		if (!iscsi_target_visible_locked(t, initiator, local_portal))
			continue;
		b.auth = &t->auth;
		iscsi_st_append(&b, "TargetName", t->iqn);
		iscsi_portal_foreach_locked(d, iscsi_st_portal, &b);
	}
	pthread_mutex_unlock(&d->lock);
	if (b.err) {
		free(b.buf);
		return b.err;
	}
	*out = b.buf;
	*out_len = (uint32_t)b.len;
	return 0;
}

static void iscsi_local_addr(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s", host);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]", host);
	}
}

/* Send the next piece of the pending reply. */
static void iscsi_text_send_chunk(struct iscsi_conn *c)
{
	struct iscsi_pdu_hdr rsp = { .opcode = ISCSI_OP_TEXT_RSP, .itt = c->text_itt };
	uint32_t left = c->text_rsp_len - c->text_rsp_off;
	uint32_t chunk = left < c->sess->p.max_xmit_dsl ? left : c->sess->p.max_xmit_dsl;
	bool more = chunk < left;
	uint8_t *piece = NULL;

	if (chunk) {
		piece = malloc(chunk);
		if (!piece) {
			iscsi_conn_close(c, "out of memory for text response");
			return;
		}
		memcpy(piece, c->text_rsp + c->text_rsp_off, chunk);
	}
	c->text_rsp_off += chunk;
	rsp.text.cont = more;
	rsp.text.final = !more;
	/* RFC 7143 11.11.4: a TTT other than 0xffffffff while more is to come. */
	if (more) {
		c->text_ttt = iscsi_conn_next_ttt(c);
		rsp.text.ttt = c->text_ttt;
	} else {
		rsp.text.ttt = ISCSI_RSVD_TAG;
	}
	iscsi_conn_fill_sn(c, &rsp, true);
	iscsi_conn_queue(c, &rsp, piece, chunk, NULL, piece);
	if (!more) {
		free(c->text_rsp);
		c->text_rsp = NULL;
		c->text_rsp_len = c->text_rsp_off = 0;
		c->text_ttt = ISCSI_RSVD_TAG;
	}
}

void iscsi_text_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
		   const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *data)
{
	struct iscsi_session *s = c->sess;
	uint32_t itt = h->itt, ttt = h->text.ttt;
	uint32_t dlen = h->data_len;
	struct iscsi_text_pair pairs[ISCSI_TEXT_MAX_PAIRS];
	char *req = NULL, *out = NULL, *st = NULL;
	size_t out_len = 0;
	uint32_t st_len = 0;
	int cnt, i, rc;

	if (ttt != ISCSI_RSVD_TAG) {
		/* Continuation of our reply (RFC 7143 11.10.4). */
		if (!c->text_rsp || ttt != c->text_ttt || itt != c->text_itt) {
			iscsi_conn_send_reject(c, ISCSI_REJECT_INVALID_PDU_FIELD, bhs);
			return;
		}
		iscsi_text_send_chunk(c);
		iscsi_conn_flush(c);
		return;
	}
	if (h->text.cont) {
		/* Initiator-side continuation is not needed for any key we support. */
		iscsi_conn_send_reject(c, ISCSI_REJECT_CMD_NOT_SUPPORTED, bhs);
		return;
	}
	free(c->text_rsp);	/* a new request resets any unfinished reply */
	c->text_rsp = NULL;
	c->text_rsp_len = c->text_rsp_off = 0;

	req = malloc(dlen + 1);
	out = malloc(ISCSI_LOGIN_DSL);
	if (!req || !out)
		goto nomem;
	if (dlen)
		memcpy(req, data, dlen);
	req[dlen] = '\0';
	/* Parse a copy for SendTargets; everything else goes through negotiation. */
	cnt = iscsi_text_parse(req, dlen, pairs, ISCSI_TEXT_MAX_PAIRS);
	if (cnt < 0) {
		iscsi_conn_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		if (!strcmp(pairs[i].key, "SendTargets")) {
			const char *which = pairs[i].value;
			char local[INET6_ADDRSTRLEN + 2];

			/* RFC 7143 C.1: "" means the session's own target; a normal session may
			 * only learn about its own target. */
			if (s->type == ISCSI_SESSION_NORMAL && s->target &&
			    (!which[0] || !strcmp(which, "All")))
				which = s->target->iqn;
			else if (!which[0])
				which = "All";
			char lportal[ACL_PORTAL_LEN];

			if (iscsi_local_portal(c->fd, lportal, sizeof(lportal)) < 0)
				lportal[0] = '\0';
			iscsi_local_addr(c->fd, local, sizeof(local));
			rc = iscsi_sendtargets_build(c->d, which, local[0] ? local : NULL, 
						     s->p.initiator_name,
						     lportal[0] ? lportal : NULL, &st, &st_len);
			if (rc < 0)
				goto nomem;
			continue;
		}
		/* Renegotiation in full feature phase (MaxRecvDataSegmentLength and friends). */
		{
			char one[ISCSI_KEY_NAME_MAX + ISCSI_VALUE_LONG_MAX + 2];
			size_t kl = strlen(pairs[i].key), vl = strlen(pairs[i].value);

			if (kl + vl + 2 > sizeof(one))
				continue;
			memcpy(one, pairs[i].key, kl);
			one[kl] = '=';
			memcpy(one + kl + 1, pairs[i].value, vl + 1);
			c->neg.seen = 0;	/* each Text exchange is its own negotiation */
			rc = iscsi_params_negotiate(&c->neg, ISCSI_STAGE_FULL_FEATURE, one,
						    kl + vl + 2, out, ISCSI_LOGIN_DSL, &out_len);
			if (rc == -EPROTO) {
				/* Not negotiable now (login-only key): say so instead of failing. */
				iscsi_text_append(out, ISCSI_LOGIN_DSL, &out_len, pairs[i].key,
						  "Reject");
			} else if (rc < 0) {
				iscsi_conn_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
				goto out;
			}
			s->p.max_xmit_dsl = c->neg.p.max_xmit_dsl;
		}
	}
	/* The reply: negotiation answers, then the SendTargets listing. */
	c->text_rsp = malloc(out_len + st_len + 1);
	if (!c->text_rsp)
		goto nomem;
	memcpy(c->text_rsp, out, out_len);
	if (st_len)
		memcpy(c->text_rsp + out_len, st, st_len);
	c->text_rsp_len = (uint32_t)(out_len + st_len);
	c->text_rsp_off = 0;
	c->text_itt = itt;
	iscsi_text_send_chunk(c);
	iscsi_conn_flush(c);
	goto out;
nomem:
	iscsi_conn_close(c, "out of memory for text request");
out:
	free(req);
	free(out);
	free(st);
}
