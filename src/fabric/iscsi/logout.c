/* Logout (RFC 7143 11.14, 11.15): respond, then close the connection (and with it, at
 * MaxConnections=1, the session) once the response is on the wire. */
#include "fabric/iscsi/iscsi_internal.h"

#include "util/log.h"

/* Reason codes (RFC 7143 11.14.1) and responses (11.15.1). */
#define LOGOUT_CLOSE_SESSION 0
#define LOGOUT_CLOSE_CONNECTION 1
#define LOGOUT_REMOVE_FOR_RECOVERY 2
#define LOGOUT_RSP_OK 0
#define LOGOUT_RSP_CID_NOT_FOUND 1
#define LOGOUT_RSP_NO_RECOVERY 2

void iscsi_logout_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
		     const uint8_t bhs[ISCSI_BHS_LEN])
{
	uint8_t reason = h->logout_req.reason;
	uint16_t cid = h->logout_req.cid;
	/* Time2Wait / Time2Retain: 0, nothing to retain at ERL 0. */
	struct iscsi_pdu_hdr rsp = { .opcode = ISCSI_OP_LOGOUT_RSP, .itt = h->itt };
	uint8_t response = LOGOUT_RSP_OK;
	bool close = true;

	if (reason == LOGOUT_REMOVE_FOR_RECOVERY) {
		/* ERL 0: no connection recovery. */
		response = LOGOUT_RSP_NO_RECOVERY;
		close = false;
	} else if (reason == LOGOUT_CLOSE_CONNECTION && cid != c->cid) {
		response = LOGOUT_RSP_CID_NOT_FOUND;
		close = false;
	} else if (reason != LOGOUT_CLOSE_SESSION && reason != LOGOUT_CLOSE_CONNECTION) {
		iscsi_conn_send_reject(c, ISCSI_REJECT_INVALID_PDU_FIELD, bhs);
		return;
	}
	rsp.logout_rsp.response = response;
	/* At MaxConnections=1 closing the connection ends the session: its nexus is lost before
	 * the initiator hears so (iscsi_session_nexus_loss). */
	if (close && c->sess)
		iscsi_session_nexus_loss(c->sess);
	iscsi_conn_fill_sn(c, &rsp, true);
	if (iscsi_conn_queue(c, &rsp, NULL, 0, NULL, NULL) < 0)
		return;
	if (close) {
		log_debug("iscsi %s: logout (reason %u)", c->peer, reason);
		c->phase = ISCSI_PHASE_LOGOUT;
		iscsi_conn_queue_close_after(c);
	}
	iscsi_conn_flush(c);
}
