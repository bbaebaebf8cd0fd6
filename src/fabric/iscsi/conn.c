/* An iSCSI connection: the receive state machine (BHS, AHS, digests, data), the send queue,
 * NOP-In pings and the connection's life from accept to teardown (RFC 7143 4, 7, 11). */
#include "fabric/iscsi/iscsi.h"
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "rt/worker.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/byteorder.h"
#include "util/crc32c.h"
#include "util/log.h"

#define ISCSI_TX_IOV_MAX 64

void iscsi_conn_get(struct iscsi_conn *c)
{
	atomic_fetch_add(&c->refcnt, 1);
}

static void iscsi_tx_cache_drain(struct iscsi_conn *c)
{
	struct list_node *n, *tmp;

	list_for_each_safe(n, tmp, &c->tx_free)
	{
		list_del(n);
		free(list_entry(n, struct iscsi_tx, node));
	}
	c->tx_free_len = 0;
}

void iscsi_conn_put(struct iscsi_conn *c)
{
	if (atomic_fetch_sub(&c->refcnt, 1) != 1)
		return;
	iscsi_tx_cache_drain(c);
	free(c->rxbuf);
	free(c);
}

static void iscsi_conn_update_events(struct iscsi_conn *c)
{
	uint32_t ev = 0;

	if (c->closing)
		return;
	if (!c->rx_paused)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->want_out)
		ev |= EPOLLOUT;
	if (ev_fd_mod(c->w->loop, &c->evfd, ev) < 0)
		log_warn("iscsi %s: epoll mod failed", c->peer);
}

/* A zeroed descriptor: from the connection's cache, else the heap. */
static struct iscsi_tx *iscsi_tx_alloc(struct iscsi_conn *c)
{
	struct iscsi_tx *tx;

	if (list_empty(&c->tx_free))
		return calloc(1, sizeof(*tx));
	tx = list_first(&c->tx_free, struct iscsi_tx, node);
	list_del(&tx->node);
	c->tx_free_len--;
	memset(tx, 0, sizeof(*tx));
	return tx;
}

static void iscsi_tx_free(struct iscsi_conn *c, struct iscsi_tx *tx)
{
	if (tx->task)
		iscsi_task_put(tx->task);
	free(tx->owned);
	if (!c->closing && c->tx_free_len < ISCSI_TX_FREE_MAX) {
		list_add_head(&c->tx_free, &tx->node);
		c->tx_free_len++;
		return;
	}
	free(tx);
}

int iscsi_conn_queue(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h, const uint8_t *data,
		     uint32_t data_len, struct iscsi_task *task, void *owned)
{
	struct iscsi_tx *tx;
	uint32_t pad;

	if (c->closing) {
		free(owned);
		return -EPIPE;
	}
	tx = iscsi_tx_alloc(c);
	if (!tx) {
		free(owned);
		return -ENOMEM;
	}
	iscsi_bhs_encode(h, tx->hdr);
	iscsi_bhs_set_data_len(tx->hdr, data_len);
	tx->hdr_len = ISCSI_BHS_LEN;
	if (c->hdigest) {
		put_le32(tx->hdr + ISCSI_BHS_LEN, iscsi_header_digest(tx->hdr, NULL, 0));
		tx->hdr_len += ISCSI_DIGEST_LEN;
	}
	tx->data = data;
	tx->data_len = data_len;
	pad = iscsi_pad_len(data_len);
	tx->trailer_len = pad;	/* calloc: pad bytes are zero */
	if (c->ddigest && data_len) {
		put_le32(tx->trailer + pad, iscsi_data_digest(data, data_len));
		tx->trailer_len += ISCSI_DIGEST_LEN;
	}
	tx->task = task;
	if (task)
		iscsi_task_get(task);
	tx->owned = owned;
	list_add_tail(&c->txq, &tx->node);
	c->txq_len++;
	c->txq_bytes += tx->hdr_len + tx->data_len + tx->trailer_len;
	/* Bound what a peer that does not read can make us hold: stop reading its requests. */
	if ((c->txq_len > ISCSI_TX_HIGH_WATER || c->txq_bytes > ISCSI_TX_HIGH_WATER_BYTES) &&
	    !c->rx_paused) {
		c->rx_paused = true;
		iscsi_conn_update_events(c);
	}
	return 0;
}

void iscsi_conn_queue_close_after(struct iscsi_conn *c)
{
	struct iscsi_tx *tx;

	if (list_empty(&c->txq))
		return;
	tx = list_entry(c->txq.prev, struct iscsi_tx, node);
	tx->close_after = true;
}

/* Gather up to ISCSI_TX_IOV_MAX pieces from the queue, skipping what was already sent. */
static int iscsi_conn_build_iov(struct iscsi_conn *c, struct iovec *iov)
{
	struct list_node *n;
	int cnt = 0;

	list_for_each(n, &c->txq)
	{
		struct iscsi_tx *tx = list_entry(n, struct iscsi_tx, node);
		const uint8_t *base[3] = { tx->hdr, tx->data, tx->trailer };
		uint32_t lens[3] = { tx->hdr_len, tx->data_len, tx->trailer_len };
		uint32_t skip = tx->sent;
		int i;

		if (cnt + 3 > ISCSI_TX_IOV_MAX)
			break;
		for (i = 0; i < 3; i++) {
			if (skip >= lens[i]) {
				skip -= lens[i];
				continue;
			}
			iov[cnt].iov_base = (void *)(base[i] + skip);
			iov[cnt].iov_len = lens[i] - skip;
			skip = 0;
			cnt++;
		}
	}
	return cnt;
}

static void iscsi_conn_rx(struct iscsi_conn *c);

/* Receiving resumed with requests left in rxbuf (see iscsi_conn_flush). */
static void iscsi_conn_resume_cb(void *arg)
{
	struct iscsi_conn *c = arg;

	c->resume_scheduled = false;
	if (!c->closing && !c->rx_paused) {
		iscsi_conn_rx(c);
		if (!c->closing)
			iscsi_conn_flush(c);
	}
	iscsi_conn_put(c);
}

void iscsi_conn_flush(struct iscsi_conn *c)
{
	struct iovec iov[ISCSI_TX_IOV_MAX];
	bool close_now = false;

	while (!c->closing && !list_empty(&c->txq)) {
		struct msghdr msg = { 0 };
		ssize_t n;
		int cnt = iscsi_conn_build_iov(c, iov);

		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)cnt;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->want_out) {
					c->want_out = true;
					iscsi_conn_update_events(c);
				}
				return;
			}
			iscsi_conn_close(c, "send failed");
			return;
		}
		while (n > 0 && !list_empty(&c->txq)) {
			struct iscsi_tx *tx = list_entry(c->txq.next, struct iscsi_tx, node);
			uint32_t total = tx->hdr_len + tx->data_len + tx->trailer_len;
			uint32_t left = total - tx->sent;

			if ((size_t)n < left) {
				tx->sent += (uint32_t)n;
				c->txq_bytes -= (uint64_t)n;
				n = 0;
				break;
			}
			n -= left;
			list_del(&tx->node);
			c->txq_len--;
			c->txq_bytes -= left;
			if (tx->close_after)
				close_now = true;
			iscsi_tx_free(c, tx);
		}
		if (close_now) {
			iscsi_conn_close(c, "logout complete");
			return;
		}
	}
	if (c->closing)
		return;
	if (c->want_out || (c->rx_paused && c->txq_len < ISCSI_TX_HIGH_WATER / 2 &&
			    c->txq_bytes < ISCSI_TX_HIGH_WATER_BYTES / 2)) {
		bool was_paused = c->rx_paused;

		c->want_out = false;
		c->rx_paused = false;
		iscsi_conn_update_events(c);
		/* Requests already in our buffer get no new EPOLLIN: run them from the loop (not
		 * from here, which may be inside the receive path). */
		if (was_paused && c->rx_off < c->rx_len && !c->resume_scheduled) {
			iscsi_conn_get(c);
			c->resume_scheduled = true;
			if (ev_call(c->w->loop, iscsi_conn_resume_cb, c) < 0) {
				c->resume_scheduled = false;
				iscsi_conn_put(c);
				iscsi_conn_close(c, "cannot resume receiving");
			}
		}
	}
}

static void iscsi_conn_tx_deferred(struct worker_defer *d)
{
	struct iscsi_conn *c = container_of(d, struct iscsi_conn, tx_defer);

	if (!c->closing)
		iscsi_conn_flush(c);
}

void iscsi_conn_flush_soon(struct iscsi_conn *c)
{
	if (c->closing)
		return;
	if (c->w != worker_self()) {
		iscsi_conn_flush(c);
		return;
	}
	worker_defer(c->w, &c->tx_defer);
}

uint32_t iscsi_conn_next_ttt(struct iscsi_conn *c)
{
	c->next_ttt++;
	if (c->next_ttt == ISCSI_RSVD_TAG)
		c->next_ttt = 1;
	return c->next_ttt;
}

void iscsi_conn_fill_sn(struct iscsi_conn *c, struct iscsi_pdu_hdr *h, bool advance)
{
	struct iscsi_session *s = c->sess;

	h->statsn = c->statsn;
	if (advance)
		c->statsn++;
	if (s) {
		h->expcmdsn = s->exp_cmdsn;
		h->maxcmdsn = iscsi_session_max_cmdsn(s);
	}
}

void iscsi_conn_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t bhs[ISCSI_BHS_LEN])
{
	struct iscsi_pdu_hdr rsp = {
		.opcode = ISCSI_OP_REJECT,
		.itt = ISCSI_RSVD_TAG,
		.reject = { .reason = reason },
	};
	uint8_t *copy = malloc(ISCSI_BHS_LEN);

	if (!copy) {
		iscsi_conn_close(c, "out of memory");
		return;
	}
	/* RFC 7143 11.17: the rejected BHS, as received, is the data segment; ITT is reserved. */
	memcpy(copy, bhs, ISCSI_BHS_LEN);
	iscsi_conn_fill_sn(c, &rsp, true);
	iscsi_conn_queue(c, &rsp, copy, ISCSI_BHS_LEN, NULL, copy);
}

/* Deferred free: runs after the event batch, so no stale epoll event can see freed memory. */
static void iscsi_conn_free_cb(void *arg)
{
	struct iscsi_conn *c = arg;
	struct iscsi_fabric *f = iscsi_fabric_get(c->d);

	if (f) {
		pthread_mutex_lock(&f->lock);
		list_del(&c->gnode);
		pthread_mutex_unlock(&f->lock);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	worker_conn_done(c->w);
	iscsi_conn_put(c);
}

void iscsi_conn_teardown_check(struct iscsi_conn *c)
{
	struct iscsi_session *s = c->sess;

	if (!c->closing || c->freed_scheduled)
		return;
	if (s && s->ntasks)
		return;		/* tasks with I/O in flight: wait for their done() */
	if (s) {
		c->sess = NULL;
		s->conn = NULL;
		iscsi_session_end(s);
	}
	c->freed_scheduled = true;
	if (ev_call(c->w->loop, iscsi_conn_free_cb, c) < 0)
		log_err("iscsi %s: cannot schedule connection free (leaked)", c->peer);
}

void iscsi_conn_close(struct iscsi_conn *c, const char *why)
{
	struct iscsi_session *s = c->sess;
	struct list_node *n, *tmp;

	if (c->closing)
		return;
	c->closing = true;
	c->phase = ISCSI_PHASE_CLOSED;
	/* From here on, dropping the last task (a queued response below, or an aborted task)
	 * ends the session (iscsi_conn_teardown_check): hold it until the walk is over. */
	if (s)
		iscsi_session_get(s);
	log_info("iscsi %s: closing connection: %s", c->peer, why);
	ev_fd_del(c->w->loop, &c->evfd);
	worker_defer_cancel(&c->tx_defer);
	shutdown(c->fd, SHUT_RDWR);
	ev_timer_cancel(c->w->loop, &c->login_timer);
	ev_timer_cancel(c->w->loop, &c->nop_timer);
	ev_timer_cancel(c->w->loop, &c->reinstate_timer);
	ev_timer_cancel(c->w->loop, &c->logout_timer);

	list_for_each_safe(n, tmp, &c->txq)
	{
		list_del(n);
		iscsi_tx_free(c, list_entry(n, struct iscsi_tx, node));
	}
	c->txq_len = 0;
	iscsi_tx_cache_drain(c);
	c->txq_bytes = 0;
	if (c->data_task) {
		iscsi_task_put(c->data_task);
		c->data_task = NULL;
	}
	free(c->data);
	c->data = NULL;
	iscsi_auth_free(c);
	free(c->login_text);
	c->login_text = NULL;
	free(c->login_rsp);
	c->login_rsp = NULL;
	free(c->text_rsp);
	c->text_rsp = NULL;
	if (c->login_target) {
		target_put(c->login_target);
		c->login_target = NULL;
	}
	if (s) {
		/* ERL 0: connection loss ends the session; every task is aborted (RFC 7143 7.3.1).
		 * Tasks whose I/O is in flight are freed by their done(). */
		list_for_each_safe(n, tmp, &s->held)
		{
			struct iscsi_held *hd = list_entry(n, struct iscsi_held, node);

			list_del(n);
			free(hd->ahs);
			free(hd->data);
			free(hd);
		}
		s->nheld = 0;
		list_for_each_safe(n, tmp, &s->tasks)
		{
			struct iscsi_task *t = list_entry(n, struct iscsi_task, node);

			iscsi_task_get(t);
			iscsi_task_abort(t);
			iscsi_task_put(t);
		}
	}
	iscsi_conn_teardown_check(c);
	if (s)
		iscsi_session_put(s);
}

void iscsi_conn_ffp_started(struct iscsi_conn *c)
{
	ev_timer_cancel(c->w->loop, &c->login_timer);
	ev_timer_arm(c->w->loop, &c->nop_timer, ISCSI_NOP_INTERVAL_MS);
}

/* Target-initiated NOP-In (RFC 7143 11.19): ITT reserved, TTT ours, StatSN not advanced. */
static void iscsi_conn_nop_timer(struct ev_timer *t)
{
	struct iscsi_conn *c = container_of(t, struct iscsi_conn, nop_timer);
	uint64_t now = ev_now_ms(), idle;
	struct iscsi_pdu_hdr nop = { .opcode = ISCSI_OP_NOP_IN, .itt = ISCSI_RSVD_TAG };

	if (c->closing || c->phase != ISCSI_PHASE_FULL_FEATURE)
		return;
	if (c->nop_outstanding) {
		if (now - c->nop_sent_ms >= ISCSI_NOP_TIMEOUT_MS) {
			iscsi_conn_close(c, "NOP-In ping not answered");
			return;
		}
		ev_timer_arm(c->w->loop, &c->nop_timer, ISCSI_NOP_TIMEOUT_MS - (now - c->nop_sent_ms));
		return;
	}
	idle = now - c->last_rx_ms;
	if (idle < ISCSI_NOP_INTERVAL_MS) {
		ev_timer_arm(c->w->loop, &c->nop_timer, ISCSI_NOP_INTERVAL_MS - idle);
		return;
	}
	c->nop_ttt = iscsi_conn_next_ttt(c);
	nop.nop.ttt = c->nop_ttt;
	iscsi_conn_fill_sn(c, &nop, false);
	c->nop_outstanding = true;
	c->nop_sent_ms = now;
	iscsi_conn_queue(c, &nop, NULL, 0, NULL, NULL);
	iscsi_conn_flush(c);
	if (!c->closing)
		ev_timer_arm(c->w->loop, &c->nop_timer, ISCSI_NOP_TIMEOUT_MS);
}

static void iscsi_conn_login_timer(struct ev_timer *t)
{
	struct iscsi_conn *c = container_of(t, struct iscsi_conn, login_timer);

	if (c->phase != ISCSI_PHASE_FULL_FEATURE)
		iscsi_conn_close(c, "login timeout");
}

static void iscsi_conn_reinstate_timer(struct ev_timer *t)
{
	struct iscsi_conn *c = container_of(t, struct iscsi_conn, reinstate_timer);

	if (!c->closing)
		iscsi_login_reinstate_poll(c);
}

/* NOP-Out (RFC 7143 11.18): a ping (answer with NOP-In echoing the data) or the answer to ours. */
static void iscsi_nop_out_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			     const uint8_t *data)
{
	uint32_t dlen = h->data_len;
	struct iscsi_pdu_hdr rsp = {
		.opcode = ISCSI_OP_NOP_IN,
		.itt = h->itt,
		.nop = { .ttt = ISCSI_RSVD_TAG },
	};
	uint8_t *echo = NULL;

	if (h->itt == ISCSI_RSVD_TAG)
		return;		/* no answer wanted */
	if (dlen) {
		/* The echo must fit the initiator's MaxRecvDataSegmentLength. */
		if (dlen > c->neg.p.max_xmit_dsl)
			dlen = c->neg.p.max_xmit_dsl;
		echo = malloc(dlen);
		if (!echo) {
			iscsi_conn_close(c, "out of memory");
			return;
		}
		memcpy(echo, data, dlen);
	}
	memcpy(rsp.lun, h->lun, 8);
	iscsi_conn_fill_sn(c, &rsp, true);
	iscsi_conn_queue(c, &rsp, echo, dlen, NULL, echo);
}

void iscsi_conn_process(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
			uint8_t *data)
{
	switch (h->opcode) {
	case ISCSI_OP_NOP_OUT:
		iscsi_nop_out_rx(c, h, data);
		break;
	case ISCSI_OP_SCSI_CMD:
		if (c->sess->type != ISCSI_SESSION_NORMAL) {
			/* RFC 7143 4.3: a discovery session carries only Text, Logout, NOP. */
			iscsi_conn_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
			break;
		}
		iscsi_scsi_cmd_rx(c, h, bhs, ahs, ahs_len, data);
		break;
	case ISCSI_OP_TMF_REQ:
		if (c->sess->type != ISCSI_SESSION_NORMAL) {
			iscsi_conn_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
			break;
		}
		iscsi_tmf_rx(c, h);
		break;
	case ISCSI_OP_TEXT_REQ:
		iscsi_text_rx(c, h, bhs, data);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		iscsi_logout_rx(c, h, bhs);
		break;
	default:
		iscsi_conn_send_reject(c, ISCSI_REJECT_CMD_NOT_SUPPORTED, bhs);
		break;
	}
}

void iscsi_conn_dispatch(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			 const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
			 uint8_t *data)
{
	int rc;

	if (c->phase == ISCSI_PHASE_LOGIN) {
		if (h->opcode != ISCSI_OP_LOGIN_REQ) {
			iscsi_conn_close(c, "non-login PDU before full feature phase");
			return;
		}
		iscsi_login_rx(c, h, data);
		return;
	}
	if (c->phase != ISCSI_PHASE_FULL_FEATURE) {
		/* While a reinstatement or logout is pending the initiator must wait. */
		iscsi_conn_close(c, "unexpected PDU while login/logout pending");
		return;
	}
	switch (h->opcode) {
	case ISCSI_OP_NOP_OUT:
		if (h->itt == ISCSI_RSVD_TAG) {
			/* Answer to our ping (RFC 7143 11.18.3): must be immediate. */
			if (h->nop.ttt != ISCSI_RSVD_TAG && h->nop.ttt == c->nop_ttt)
				c->nop_outstanding = false;
			return;
		}
		break;
	case ISCSI_OP_SCSI_CMD:
	case ISCSI_OP_TMF_REQ:
	case ISCSI_OP_TEXT_REQ:
	case ISCSI_OP_LOGOUT_REQ:
		break;
	case ISCSI_OP_LOGIN_REQ:
		iscsi_conn_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
		return;
	case ISCSI_OP_SNACK:
		/* ERL 0: no SNACK support (RFC 7143 11.16). */
		iscsi_conn_send_reject(c, ISCSI_REJECT_SNACK_REJECT, bhs);
		return;
	default:
		log_warn("iscsi %s: unsupported opcode 0x%02x", c->peer, h->opcode);
		iscsi_conn_send_reject(c, ISCSI_REJECT_CMD_NOT_SUPPORTED, bhs);
		return;
	}
	/* ExpStatSN acknowledges our responses (RFC 7143 4.2.2.2); ERL 0 keeps nothing for it. */
	c->exp_statsn = h->expstatsn;
	rc = iscsi_session_cmdsn_check(c->sess, h->immediate, h->cmdsn);
	if (rc < 0) {
		/* RFC 7143 4.2.2.1: outside [ExpCmdSN, MaxCmdSN] is silently ignored. */
		log_debug("iscsi %s: CmdSN %u outside window, dropped", c->peer, h->cmdsn);
		return;
	}
	if (rc == 0) {
		if (iscsi_session_hold(c->sess, h, bhs, ahs, ahs_len, data) < 0)
			iscsi_conn_close(c, "too many out-of-order commands");
		return;
	}
	if (!h->immediate)
		iscsi_session_cmdsn_advance(c->sess);
	iscsi_conn_process(c, h, bhs, ahs, ahs_len, data);
	if (!c->closing && c->sess)
		iscsi_session_run_held(c->sess);
}

/* --- receive state machine --- */

static void iscsi_rx_reset(struct iscsi_conn *c)
{
	c->rx_state = ISCSI_RX_BHS;
	c->rx_pos = 0;
	c->rx_want = ISCSI_BHS_LEN;
	c->ahs_len = 0;
}

static void iscsi_rx_pdu_complete(struct iscsi_conn *c)
{
	if (c->hdr.opcode == ISCSI_OP_DATA_OUT && c->phase == ISCSI_PHASE_FULL_FEATURE) {
		struct iscsi_task *t = c->data_task;

		c->data_task = NULL;
		c->data_direct = NULL;
		c->direct_len = 0;
		iscsi_data_out_done(c, &c->hdr, t);
		if (t)
			iscsi_task_put(t);
	} else {
		uint8_t *data = c->data;

		c->data = NULL;
		iscsi_conn_dispatch(c, &c->hdr, c->bhs, c->ahs, c->ahs_len, data);
		free(data);
	}
	if (!c->closing)
		iscsi_rx_reset(c);
}

static void iscsi_rx_begin_data(struct iscsi_conn *c)
{
	uint32_t dlen = c->hdr.data_len;

	c->data_crc = crc32c_init();
	if (c->hdr.opcode == ISCSI_OP_DATA_OUT) {
		uint8_t *dest = NULL;

		if (c->phase != ISCSI_PHASE_FULL_FEATURE) {
			iscsi_conn_close(c, "Data-Out before full feature phase");
			return;
		}
		/* Validated before any payload is read; the data lands in the task buffer. */
		if (iscsi_data_out_hdr(c, &c->hdr, &dest) < 0)
			return;		/* connection closed with a reason */
		c->data_direct = dest;
	}
	if (!dlen) {
		iscsi_rx_pdu_complete(c);
		return;
	}
	if (c->hdr.opcode != ISCSI_OP_DATA_OUT) {
		c->data = malloc(dlen);
		if (!c->data) {
			iscsi_conn_close(c, "out of memory for data segment");
			return;
		}
	}
	c->rx_state = ISCSI_RX_DATA;
	c->rx_pos = 0;
	c->rx_want = dlen;
}

static void iscsi_rx_after_ahs(struct iscsi_conn *c)
{
	if (c->hdigest) {
		c->rx_state = ISCSI_RX_HDIGEST;
		c->rx_pos = 0;
		c->rx_want = ISCSI_DIGEST_LEN;
		return;
	}
	iscsi_rx_begin_data(c);
}

static void iscsi_rx_header_done(struct iscsi_conn *c)
{
	int rc;

	iscsi_bhs_decode(c->bhs, &c->hdr);
	rc = iscsi_bhs_check_lengths(&c->hdr, c->neg.p.max_recv_dsl);
	if (rc) {
		char why[96];

		snprintf(why, sizeof(why), "bad lengths in %s (data %u, max %u, AHS words %u)",
			 iscsi_opcode_name(c->hdr.opcode), c->hdr.data_len, c->neg.p.max_recv_dsl,
			 c->hdr.total_ahs_words);
		iscsi_conn_close(c, why);
		return;
	}
	if (c->hdr.total_ahs_words) {
		c->rx_state = ISCSI_RX_AHS;
		c->rx_pos = 0;
		c->rx_want = (uint32_t)c->hdr.total_ahs_words * 4;
		c->ahs_len = c->rx_want;
		return;
	}
	iscsi_rx_after_ahs(c);
}

/* RFC 7143 7.8, at every ERL: a payload digest error is answered with a Reject (reason 0x02,
 * "Data (payload) digest error") and the PDU is discarded. Its header digest was good (or none
 * was negotiated and the lengths passed their checks), so the stream is still in step and the
 * connection lives. A Data-Out's task is failed once its data is in (iscsi_data_out_digest_error);
 * a discarded command never reaches the CmdSN window, so it leaves a gap the initiator plugs by
 * retrying it; any other PDU (NOP-Out, Text) is simply not answered. */
static void iscsi_rx_data_digest_error(struct iscsi_conn *c)
{
	log_warn("iscsi %s: data digest error in %s (ITT 0x%x); rejected", c->peer,
		 iscsi_opcode_name(c->hdr.opcode), c->hdr.itt);
	if (c->phase != ISCSI_PHASE_FULL_FEATURE) {
		iscsi_conn_close(c, "data digest error");
		return;
	}
	iscsi_conn_send_reject(c, ISCSI_REJECT_DIGEST_ERROR, c->bhs);
	if (c->hdr.opcode == ISCSI_OP_DATA_OUT) {
		struct iscsi_task *t = c->data_task;

		c->data_task = NULL;
		c->data_direct = NULL;
		c->direct_len = 0;
		iscsi_data_out_digest_error(c, &c->hdr, t);
		if (t)
			iscsi_task_put(t);
	} else {
		free(c->data);
		c->data = NULL;
	}
	if (!c->closing)
		iscsi_rx_reset(c);
}

/* Feeds received bytes through the state machine; many PDUs per call. Returns the bytes used:
 * once the connection is paused (its send queue is over the bound) it stops at the next PDU
 * boundary, and the caller keeps the rest for when it resumes, so a peer that does not read
 * cannot make us take on more work from what is already in our buffer. */
static size_t iscsi_rx_consume(struct iscsi_conn *c, const uint8_t *buf, size_t len)
{
	size_t total = len;

	while (len && !c->closing) {
		uint32_t take = c->rx_want - c->rx_pos;

		if (c->rx_paused && c->rx_state == ISCSI_RX_BHS && c->rx_pos == 0)
			break;

		if (take > len)
			take = (uint32_t)len;
		switch (c->rx_state) {
		case ISCSI_RX_BHS:
			memcpy(c->bhs + c->rx_pos, buf, take);
			break;
		case ISCSI_RX_AHS:
			memcpy(c->ahs + c->rx_pos, buf, take);
			break;
		case ISCSI_RX_HDIGEST:
		case ISCSI_RX_DDIGEST:
			memcpy(c->digest + c->rx_pos, buf, take);
			break;
		case ISCSI_RX_DATA:
			if (c->data)
				memcpy(c->data + c->rx_pos, buf, take);
			else if (c->data_direct && c->rx_pos < c->direct_len)
				memcpy(c->data_direct + c->rx_pos, buf,
				       take < c->direct_len - c->rx_pos ? take
									 : c->direct_len - c->rx_pos);
			/* fall through */
		case ISCSI_RX_PAD:
			if (c->ddigest)
				c->data_crc = crc32c_update(c->data_crc, buf, take);
			break;
		}
		c->rx_pos += take;
		buf += take;
		len -= take;
		if (c->rx_pos < c->rx_want)
			break;

		switch (c->rx_state) {
		case ISCSI_RX_BHS:
			iscsi_rx_header_done(c);
			break;
		case ISCSI_RX_AHS:
			iscsi_rx_after_ahs(c);
			break;
		case ISCSI_RX_HDIGEST:
			if (get_le32(c->digest) != iscsi_header_digest(c->bhs, c->ahs, c->ahs_len)) {
				/* RFC 7143 7.8: a header digest error at ERL 0 drops the connection;
				 * the lengths cannot be trusted. */
				iscsi_conn_close(c, "header digest error");
				break;
			}
			iscsi_rx_begin_data(c);
			break;
		case ISCSI_RX_DATA:
			c->rx_pos = 0;
			c->rx_want = iscsi_pad_len(c->hdr.data_len);
			c->rx_state = ISCSI_RX_PAD;
			if (c->rx_want)
				break;
			/* fall through */
		case ISCSI_RX_PAD:
			if (c->ddigest) {
				c->rx_state = ISCSI_RX_DDIGEST;
				c->rx_pos = 0;
				c->rx_want = ISCSI_DIGEST_LEN;
				break;
			}
			iscsi_rx_pdu_complete(c);
			break;
		case ISCSI_RX_DDIGEST:
			if (get_le32(c->digest) != crc32c_final(c->data_crc)) {
				iscsi_rx_data_digest_error(c);
				break;
			}
			iscsi_rx_pdu_complete(c);
			break;
		}
	}
	return total - len;
}

static void iscsi_conn_rx(struct iscsi_conn *c)
{
	while (!c->closing && !c->rx_paused) {
		ssize_t n;

		/* Bytes left over when the connection was paused come first. */
		if (c->rx_off < c->rx_len) {
			c->rx_off += iscsi_rx_consume(c, c->rxbuf + c->rx_off, c->rx_len - c->rx_off);
			continue;
		}
		n = recv(c->fd, c->rxbuf, ISCSI_RX_BUF, MSG_DONTWAIT);
		if (n == 0) {
			iscsi_conn_close(c, "closed by peer");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				iscsi_conn_close(c, "receive error");
			return;
		}
		c->last_rx_ms = ev_now_ms();
		c->rx_len = (uint32_t)n;
		c->rx_off = iscsi_rx_consume(c, c->rxbuf, (size_t)n);
		if (n < ISCSI_RX_BUF && c->rx_off >= c->rx_len)
			return;
	}
}

static void iscsi_conn_event(struct ev_fd *h, uint32_t events)
{
	struct iscsi_conn *c = container_of(h, struct iscsi_conn, evfd);

	if (c->closing)
		return;		/* a stale event from this batch; the free is deferred */
	if (events & EPOLLOUT)
		iscsi_conn_flush(c);
	if (!c->closing && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		iscsi_conn_rx(c);
	/* With the responses of I/O that completes in this pass (inline, or from the ring). */
	if (!c->closing)
		iscsi_conn_flush_soon(c);
}

static void iscsi_conn_format_peer(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
			port = ntohs(sin6->sin6_port);
		}
	}
	snprintf(out, len, "%s:%u", host, port);
}

void iscsi_conn_start(struct worker *w, int fd)
{
	atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed);
	iscsi_conn_start_tpg(w, fd, 1);
}

void iscsi_conn_start_tpg(struct worker *w, int fd, unsigned tpgt)
{
	struct iscsi_fabric *f = iscsi_fabric_get(worker_daemon(w));
	struct iscsi_conn *c = calloc(1, sizeof(*c));
	struct invar_limits lim;
	int one = 1;

	if (!c || !f)
		goto fail;
	daemon_limits_get(worker_daemon(w), &lim);	/* a run-time change applies from the next connection */
	c->rxbuf = malloc(ISCSI_RX_BUF);
	if (!c->rxbuf)
		goto fail;
	atomic_init(&c->refcnt, 1);
	c->d = worker_daemon(w);
	c->w = w;
	c->fd = fd;
	c->tpgt = (uint16_t)tpgt;
	list_init(&c->txq);
	list_init(&c->tx_free);
	iscsi_negotiation_init(&c->neg);
	c->neg.our_max_recv_dsl = lim.max_recv_dsl;
	c->neg.our_max_burst = lim.max_burst;
	c->neg.our_first_burst = lim.first_burst;
	c->login_timer.cb = iscsi_conn_login_timer;
	c->nop_timer.cb = iscsi_conn_nop_timer;
	c->tx_defer.fn = iscsi_conn_tx_deferred;
	c->reinstate_timer.cb = iscsi_conn_reinstate_timer;
	c->last_rx_ms = ev_now_ms();
	c->next_ttt = (uint32_t)(fd * 0x10000u);
	iscsi_rx_reset(c);
	iscsi_conn_format_peer(fd, c->peer, sizeof(c->peer));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->evfd.cb = iscsi_conn_event;
	if (ev_fd_add(w->loop, &c->evfd, fd, EPOLLIN | EPOLLRDHUP) < 0)
		goto fail;
	pthread_mutex_lock(&f->lock);
	if (f->shutting_down) {
		pthread_mutex_unlock(&f->lock);
		ev_fd_del(w->loop, &c->evfd);
		goto fail;
	}
	list_add_tail(&f->conns, &c->gnode);
	pthread_mutex_unlock(&f->lock);
	ev_timer_arm(w->loop, &c->login_timer, (uint64_t)lim.login_timeout * 1000);
	log_debug("iscsi %s: connection on worker %u", c->peer, w->id);
	return;
fail:
	log_warn("iscsi: cannot start connection (fd %d)", fd);
	close(fd);
	worker_conn_done(w);
	if (c)
		free(c->rxbuf);
	free(c);
}
