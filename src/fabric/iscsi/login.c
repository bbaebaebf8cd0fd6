/* Login phase (RFC 7143 6.3, 11.12, 11.13): security -> operational -> full feature stages,
 * Continue for text spanning PDUs, status classes, TSIH allocation and session reinstatement. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mig/mig_handover.h"
#include "rt/worker.h"
#include "scsi/alua_groups.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

/* Login status class and detail (RFC 7143 11.13.5), as (class << 8 | detail). */
#define LOGIN_OK 0x0000
#define LOGIN_TARGET_MOVED_TEMPORARILY 0x0101
#define LOGIN_INITIATOR_ERROR 0x0200
#define LOGIN_AUTHORIZATION_FAILED 0x0202
#define LOGIN_AUTH_FAILED 0x0201
#define LOGIN_NOT_FOUND 0x0203
#define LOGIN_UNSUPPORTED_VERSION 0x0205
#define LOGIN_TOO_MANY_CONNECTIONS 0x0206
#define LOGIN_MISSING_PARAMETER 0x0207
#define LOGIN_SESSION_TYPE_UNSUPPORTED 0x0209
#define LOGIN_SESSION_DOES_NOT_EXIST 0x020a
#define LOGIN_INVALID_DURING_LOGIN 0x020b
#define LOGIN_TARGET_ERROR 0x0300
#define LOGIN_SERVICE_UNAVAILABLE 0x0301
#define LOGIN_OUT_OF_RESOURCES 0x0302

/* A Login Response (RFC 7143 11.13): T, CSG and NSG as given (all zero in a refusal). */
static void iscsi_login_build_hdr(struct iscsi_conn *c, struct iscsi_pdu_hdr *h, bool transit,
				  unsigned csg, unsigned nsg, unsigned status, uint16_t tsih)
{
	struct iscsi_session *s = c->sess;

	*h = (struct iscsi_pdu_hdr){
		.opcode = ISCSI_OP_LOGIN_RSP,
		.itt = c->login_itt,
		.statsn = c->statsn++,
		.expcmdsn = s ? s->exp_cmdsn : c->login_cmdsn,
		.maxcmdsn = s ? iscsi_session_max_cmdsn(s) : c->login_cmdsn,
		.login = {
			.transit = transit,
			.csg = (uint8_t)csg,
			.nsg = (uint8_t)nsg,
			/* version-max and version-active: 0 (RFC 7143 11.13.1) */
			.tsih = tsih,
			.status_class = (uint8_t)(status >> 8),
			.status_detail = (uint8_t)status,
		},
	};
	memcpy(h->login.isid, c->isid, 6);
}

/* A failed login: respond with the status and drop the connection once it is sent. */
static void iscsi_login_fail(struct iscsi_conn *c, unsigned status, const char *why)
{
	struct iscsi_pdu_hdr h;
	char name[64];

	log_sanitize(name, sizeof(name), c->neg.p.initiator_name, sizeof(c->neg.p.initiator_name));
	log_warn("iscsi %s: login of '%s' rejected (0x%04x): %s", c->peer, name, status, why);
	iscsi_login_build_hdr(c, &h, false, 0, 0, status, 0);
	if (iscsi_conn_queue(c, &h, NULL, 0, NULL, NULL) < 0) {
		iscsi_conn_close(c, "login failed");
		return;
	}
	iscsi_conn_queue_close_after(c);
	c->phase = ISCSI_PHASE_LOGOUT;	/* accept nothing more */
	iscsi_conn_flush(c);
}

/* The target moved (live migration, mig/mig_handover.h): "target moved temporarily" with
 * TargetAddress (RFC 7143 11.13.5, 13.8); the initiator logs in there. The connection closes
 * once the response is sent, as after a failed login. */
static void iscsi_login_redirect(struct iscsi_conn *c, const char *addr)
{
	struct iscsi_pdu_hdr h;
	size_t n = strlen("TargetAddress=") + strlen(addr) + 1;
	char *text = malloc(n), tname[64];

	if (!text) {
		iscsi_login_fail(c, LOGIN_OUT_OF_RESOURCES, "out of memory");
		return;
	}
	snprintf(text, n, "TargetAddress=%s", addr);
	log_sanitize(tname, sizeof(tname), c->neg.p.target_name, sizeof(c->neg.p.target_name));
	log_info("iscsi %s: target '%s' moved: login redirected to %s", c->peer, tname, addr);
	iscsi_login_build_hdr(c, &h, false, 0, 0, LOGIN_TARGET_MOVED_TEMPORARILY, 0);
	if (iscsi_conn_queue(c, &h, (uint8_t *)text, (uint32_t)n, NULL, text) < 0) {
		iscsi_conn_close(c, "cannot queue login response");
		return;
	}
	iscsi_conn_queue_close_after(c);
	c->phase = ISCSI_PHASE_LOGOUT;	/* accept nothing more */
	iscsi_conn_flush(c);
}

static int iscsi_login_send(struct iscsi_conn *c, bool transit, unsigned csg, unsigned nsg,
			    char *text, uint32_t len, uint16_t tsih)
{
	struct iscsi_pdu_hdr h;

	iscsi_login_build_hdr(c, &h, transit, csg, nsg, LOGIN_OK, tsih);
	return iscsi_conn_queue(c, &h, (uint8_t *)text, len, NULL, text);
}

static uint16_t iscsi_tsih_alloc(struct daemon *d)
{
	uint16_t tsih;

	/* TSIH 0 is reserved for "new session" (RFC 7143 11.12.6). */
	do
		tsih = (uint16_t)(atomic_fetch_add(&d->next_tsih, 1) + 1);
	while (tsih == 0);
	return tsih;
}

static bool iscsi_login_still_admitted(struct daemon *d, struct iscsi_session *s)
{
	const struct chap_cred *cred;
	enum acl_verdict v;

	pthread_mutex_lock(&d->lock);
	v = target_auth_check(&s->target->auth, s->nexus.initiator, &cred);
	pthread_mutex_unlock(&d->lock);
	return v != ACL_DENY;
}

/* Move to full feature phase: create and register the session, send the final response. */
static void iscsi_login_complete(struct iscsi_conn *c)
{
	struct iscsi_session *s;
	const char *why = NULL;
	struct iscsi_params *p = &c->neg.p;
	char iname[64], tname[64];
	int rc;

	s = iscsi_session_new(c);
	if (!s) {
		iscsi_login_fail(c, LOGIN_OUT_OF_RESOURCES, "out of memory");
		return;
	}
	s->type = p->session_type;
	p->max_recv_dsl = c->neg.our_max_recv_dsl;
	s->p = *p;
	memcpy(s->isid, c->isid, 6);
	s->tsih = iscsi_tsih_alloc(c->d);
	snprintf(s->peer, sizeof(s->peer), "%s", c->peer);
	snprintf(s->chap_user, sizeof(s->chap_user), "%s",
		 iscsi_auth_chap_user(c, &s->mutual_chap));
	s->login_time = (int64_t)time(NULL);
	s->exp_cmdsn = c->login_cmdsn;
	s->nexus.id = atomic_fetch_add(&c->d->next_nexus_id, 1) + 1;
	snprintf(s->nexus.initiator, sizeof(s->nexus.initiator), "%s", p->initiator_name);
	memcpy(s->nexus.isid, c->isid, 6);
	/* One SCSI target port per portal group: its relative port id is the tag. */
	s->nexus.tpgt = c->tpgt;
	s->nexus.rel_port_id = c->tpgt;
	s->nexus.stats = &s->stats;
	if (s->type == ISCSI_SESSION_NORMAL) {
		s->target = c->login_target;
		c->login_target = NULL;
		snprintf(s->nexus.target, sizeof(s->nexus.target), "%s", s->target->iqn);
		s->nexus.alua = &s->target->alua;
		rc = alua_group_slot(&c->d->alua_groups, c->tpgt);
		s->nexus.alua_slot = rc < 0 ? ALUA_MAX_GROUPS : (unsigned)rc;
		s->nexus.tmf_supported = iscsi_tmf_supported;
		s->nexus.port_ops = &daemon_port_ops;
		s->nexus.port_ctx = c->d;
		rc = iscsi_session_attach_view(s);
		if (rc) {
			target_put(s->target);
			iscsi_session_put(s);
			iscsi_login_fail(c, LOGIN_OUT_OF_RESOURCES, "out of memory for LUN view");
			return;
		}
	}
	if (iscsi_session_register(s, &why) < 0) {
		/* RFC 7143 11.13.5: 0302, the target has insufficient session resources. */
		iscsi_view_put(s->view);
		if (s->target)
			target_put(s->target);
		iscsi_session_put(s);
		iscsi_login_fail(c, LOGIN_OUT_OF_RESOURCES, why);
		return;
	}
	c->sess = s;
	/* The ACL may have lost this initiator since iscsi_auth_decide(). Checked after the
	 * session is registered: an acl_delete either is seen here or its sweep of the registry
	 * (iscsi_ops_target_access_changed) runs after the registration and finds the session. */
	if (s->type == ISCSI_SESSION_NORMAL && !iscsi_login_still_admitted(c->d, s)) {
		iscsi_login_fail(c, LOGIN_AUTHORIZATION_FAILED, "removed from the ACL during login");
		return;
	}

	if (iscsi_login_send(c, c->login_rsp_transit, c->login_rsp_csg, c->login_rsp_nsg,
			     c->login_rsp, c->login_rsp_len, s->tsih) < 0) {
		c->login_rsp = NULL;
		iscsi_conn_close(c, "cannot queue login response");
		return;
	}
	c->login_rsp = NULL;
	c->login_rsp_len = 0;
	/* Digests and our MaxRecvDataSegmentLength apply from the next PDU on (RFC 7143 13.1,
	 * 13.12). */
	c->hdigest = p->header_digest;
	c->ddigest = p->data_digest;
	c->phase = ISCSI_PHASE_FULL_FEATURE;
	iscsi_conn_ffp_started(c);
	log_sanitize(iname, sizeof(iname), p->initiator_name, sizeof(p->initiator_name));
	log_sanitize(tname, sizeof(tname), p->target_name, sizeof(p->target_name));
	log_info("iscsi %s: %s session tsih %u on worker %u: initiator '%s' target '%s' "
		 "(MRDSL %u/%u, burst %u/%u, R2T %s, imm %s, digests %s/%s)",
		 c->peer, s->type == ISCSI_SESSION_DISCOVERY ? "discovery" : "normal", s->tsih, c->w->id,
		 iname, tname, p->max_recv_dsl, p->max_xmit_dsl, p->first_burst, p->max_burst,
		 p->initial_r2t ? "Yes" : "No", p->immediate_data ? "Yes" : "No",
		 p->header_digest ? "CRC32C" : "None", p->data_digest ? "CRC32C" : "None");
	iscsi_conn_flush(c);
}

void iscsi_login_reinstate_poll(struct iscsi_conn *c)
{
	struct iscsi_session *old;

	old = iscsi_session_find(c->d, c->neg.p.initiator_name, c->isid, c->login_target->iqn,
				 c->tpgt);
	if (!old) {
		iscsi_login_complete(c);
		return;
	}
	iscsi_session_put(old);
	if (ev_now_ms() > c->reinstate_deadline) {
		iscsi_login_fail(c, LOGIN_SERVICE_UNAVAILABLE, "old session did not go away");
		return;
	}
	ev_timer_arm(c->w->loop, &c->reinstate_timer, ISCSI_REINSTATE_POLL_MS);
}

/* Going to full feature phase: a normal session with the same initiator, ISID, target and
 * target portal group (the session identity, RFC 7143 4.4.1) is reinstated (RFC 7143 6.3.5):
 * close it on its own worker and finish once it is gone. A session of another portal group is
 * another I_T nexus and stays. */
static void iscsi_login_to_ffp(struct iscsi_conn *c)
{
	struct iscsi_session *old = NULL;

	if (c->neg.p.session_type == ISCSI_SESSION_NORMAL)
		old = iscsi_session_find(c->d, c->neg.p.initiator_name, c->isid,
					 c->login_target->iqn, c->tpgt);
	if (!old) {
		iscsi_login_complete(c);
		return;
	}
	log_info("iscsi %s: reinstating session tsih %u", c->peer, old->tsih);
	iscsi_session_kill_async(old);	/* takes over the reference */
	c->phase = ISCSI_PHASE_REINSTATE_WAIT;
	c->reinstate_deadline = ev_now_ms() + ISCSI_REINSTATE_TIMEOUT_MS;
	ev_timer_arm(c->w->loop, &c->reinstate_timer, ISCSI_REINSTATE_POLL_MS);
}

/* Checks once the initiator's declarations are known (first PDU of the login). */
static unsigned iscsi_login_check_names(struct iscsi_conn *c, const char **why)
{
	struct iscsi_params *p = &c->neg.p;

	if (!p->initiator_name[0]) {
		*why = "no InitiatorName";
		return LOGIN_MISSING_PARAMETER;
	}
	if (iscsi_name_validate(p->initiator_name)) {
		*why = "invalid InitiatorName";
		return LOGIN_INITIATOR_ERROR;
	}
	if (p->session_type == ISCSI_SESSION_NONE)
		p->session_type = ISCSI_SESSION_NORMAL;	/* RFC 7143 13.21 default */
	if (c->tsih) {
		struct iscsi_session *s = iscsi_session_find_tsih(c->d, c->tsih, c->tpgt);

		/* MaxConnections=1: adding a connection to a session is not supported. */
		if (s) {
			iscsi_session_put(s);
			*why = "connection would exceed MaxConnections=1";
			return LOGIN_TOO_MANY_CONNECTIONS;
		}
		*why = "TSIH names no session";
		return LOGIN_SESSION_DOES_NOT_EXIST;
	}
	if (p->session_type == ISCSI_SESSION_DISCOVERY)
		return LOGIN_OK;
	if (!p->target_name[0]) {
		*why = "no TargetName for a normal session";
		return LOGIN_MISSING_PARAMETER;
	}
	if (iscsi_name_validate(p->target_name)) {
		*why = "invalid TargetName";
		return LOGIN_NOT_FOUND;
	}
	c->login_target = target_find_get(c->d, p->target_name);
	if (!c->login_target) {
		*why = "no such target";
		return LOGIN_NOT_FOUND;
	}
	return LOGIN_OK;
}

void iscsi_login_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h, uint8_t *data)
{
	bool transit = h->login.transit, cont = h->login.cont;
	unsigned csg = h->login.csg, nsg = h->login.nsg;
	bool first = !c->login_started;
	char *out = NULL;
	size_t out_len = 0;
	const char *why = "";
	unsigned status;
	int rc;

	if (first) {
		c->login_started = true;
		/* AuthMethod and CHAP keys are answered here (login_auth.c), not by params.c. */
		c->neg.auth_defer = true;
		memcpy(c->isid, h->login.isid, 6);
		c->tsih = h->login.tsih;
		c->cid = h->login.cid;
		c->login_itt = h->itt;
		c->login_cmdsn = h->cmdsn;
		c->statsn = h->expstatsn;	/* start StatSN at what the initiator expects */
		c->login_stage = csg == ISCSI_STAGE_OPERATIONAL ? ISCSI_STAGE_OPERATIONAL
							      : ISCSI_STAGE_SECURITY;
		/* RFC 7143 11.12.4: version-min must allow 0, the only version there is. */
		if (h->login.version_min != 0) {
			iscsi_login_fail(c, LOGIN_UNSUPPORTED_VERSION, "unsupported version");
			return;
		}
	} else if (h->itt != c->login_itt) {
		iscsi_login_fail(c, LOGIN_INITIATOR_ERROR, "ITT changed during login");
		return;
	}
	if (transit && cont) {
		iscsi_login_fail(c, LOGIN_INITIATOR_ERROR, "T and C both set");
		return;
	}
	if (csg == 2 || csg == ISCSI_STAGE_FULL_FEATURE || csg < c->login_stage) {
		iscsi_login_fail(c, LOGIN_INITIATOR_ERROR, "bad current stage");
		return;
	}
	if (transit && (nsg == 2 || nsg <= csg)) {
		iscsi_login_fail(c, LOGIN_INITIATOR_ERROR, "bad next stage");
		return;
	}
	c->login_stage = (enum iscsi_login_stage)csg;

	/* Accumulate the text; a Continue PDU gets an empty response (RFC 7143 11.12.2). */
	if (h->data_len) {
		char *nt;

		if (c->login_text_len + h->data_len > ISCSI_LOGIN_TEXT_MAX) {
			iscsi_login_fail(c, LOGIN_INITIATOR_ERROR, "login text too long");
			return;
		}
		nt = realloc(c->login_text, c->login_text_len + h->data_len);
		if (!nt) {
			iscsi_login_fail(c, LOGIN_OUT_OF_RESOURCES, "out of memory");
			return;
		}
		memcpy(nt + c->login_text_len, data, h->data_len);
		c->login_text = nt;
		c->login_text_len += h->data_len;
	}
	if (cont) {
		if (iscsi_login_send(c, false, csg, 0, NULL, 0, 0) < 0)
			iscsi_conn_close(c, "cannot queue login response");
		iscsi_conn_flush(c);
		return;
	}

	out = malloc(ISCSI_LOGIN_DSL);
	if (!out) {
		iscsi_login_fail(c, LOGIN_OUT_OF_RESOURCES, "out of memory");
		return;
	}
	rc = iscsi_params_negotiate(&c->neg, (enum iscsi_login_stage)csg, c->login_text,
				    c->login_text_len, out, ISCSI_LOGIN_DSL, &out_len);
	/* The request text stays until iscsi_auth_rx() has read the CHAP keys pointing into it;
	 * the failure paths before then end the login, and teardown frees it. */
	if (rc) {
		free(out);
		iscsi_login_fail(c, rc == -EACCES ? LOGIN_AUTH_FAILED :
				    rc == -ENOSPC ? LOGIN_TARGET_ERROR : LOGIN_INITIATOR_ERROR,
				 c->neg.err[0] ? c->neg.err : "negotiation failed");
		return;
	}
	if (!c->names_checked) {
		c->names_checked = true;
		status = iscsi_login_check_names(c, &why);
		if (status == LOGIN_OK)
			status = iscsi_auth_decide(c, &why);
		if (status != LOGIN_OK) {
			free(out);
			iscsi_login_fail(c, status, why);
			return;
		}
		if (c->neg.p.session_type == ISCSI_SESSION_NORMAL) {
			char to[MIG_REDIRECT_MAX + 1];

			if (target_mig_redirect(c->d, c->login_target, to, sizeof(to))) {
				free(out);
				iscsi_login_redirect(c, to);
				return;
			}
		}
		/* RFC 7143 13.9: the target returns its portal group tag in the first response of
		 * a normal session: the tag of the portal this connection came through. */
		if (c->neg.p.session_type == ISCSI_SESSION_NORMAL) {
			char tag[8];

			snprintf(tag, sizeof(tag), "%u", (unsigned)c->tpgt);
			if (iscsi_text_append(out, ISCSI_LOGIN_DSL, &out_len, "TargetPortalGroupTag",
					      tag) < 0) {
				free(out);
				iscsi_login_fail(c, LOGIN_TARGET_ERROR, "response too long");
				return;
			}
		}
	}
	status = iscsi_auth_rx(c, csg, out, ISCSI_LOGIN_DSL, &out_len, &why);
	if (status != LOGIN_OK) {
		free(out);
		iscsi_login_fail(c, status, why);
		return;
	}
	free(c->login_text);
	c->login_text = NULL;
	c->login_text_len = 0;
	if (transit && csg == ISCSI_STAGE_SECURITY && !iscsi_auth_done(c)) {
		/* RFC 7143 6.3: the target withholds the transit until authentication is
		 * complete; leaving the security stage without having started CHAP where it is
		 * required fails. Without CHAP, no AuthMethod offered means none is needed. */
		if (iscsi_auth_pending(c)) {
			transit = false;
		} else if (!iscsi_auth_required(c)) {
			iscsi_auth_set_done(c);
		} else {
			free(out);
			iscsi_login_fail(c, LOGIN_AUTH_FAILED,
					 "CHAP required, but the initiator did not start it");
			return;
		}
	}
	if (c->neg.p.erl != 0 || c->neg.p.max_connections != 1) {
		/* Negotiated down already; guard against a table change. */
		free(out);
		iscsi_login_fail(c, LOGIN_INITIATOR_ERROR, "unsupported ERL/MaxConnections");
		return;
	}

	if (transit) {
		if (nsg == ISCSI_STAGE_FULL_FEATURE) {
			if (iscsi_params_declare(&c->neg, out, ISCSI_LOGIN_DSL, &out_len) < 0) {
				free(out);
				iscsi_login_fail(c, LOGIN_TARGET_ERROR, "response too long");
				return;
			}
			c->login_rsp = out;
			c->login_rsp_len = (uint32_t)out_len;
			c->login_rsp_transit = true;
			c->login_rsp_csg = (uint8_t)csg;
			c->login_rsp_nsg = (uint8_t)nsg;
			iscsi_login_to_ffp(c);
			return;
		}
		c->login_stage = (enum iscsi_login_stage)nsg;
	}
	if (!out_len) {
		free(out);
		out = NULL;
	}
	if (iscsi_login_send(c, transit, csg, transit ? nsg : 0, out, (uint32_t)out_len, 0) < 0) {
		iscsi_conn_close(c, "cannot queue login response");
		return;
	}
	iscsi_conn_flush(c);
}
