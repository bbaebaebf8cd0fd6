/* Who may log in (RFC 7143 6.3.1, 12): the login's security stage. Once the initiator has named
 * itself and its target, the target's ACL and portal binding decide whether it may log in at all
 * and whether it must authenticate with CHAP (target/acl.h); the CHAP exchange is chap.c's.
 * Until this says "done" the login may not leave the security stage, and nothing beyond the
 * target's name has been touched: no LUN view, no backstore. */
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fabric/iscsi/chap.h"
#include "target/acl.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

struct iscsi_auth {
	bool required;			/* CHAP with chap.expect */
	bool method_chosen;		/* AuthMethod answered */
	bool chap_active;
	bool done;
	struct chap_session chap;
};

int iscsi_local_portal(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

bool iscsi_target_visible_locked(struct target *t, const char *initiator, const char *local)
{
	const struct chap_cred *cred;

	if (target_auth_check(&t->auth, initiator, &cred) == ACL_DENY)
		return false;
	return !local || target_auth_portal_ok(&t->auth, local);
}

void iscsi_auth_free(struct iscsi_conn *c)
{
	if (!c->auth)
		return;
	chap_session_fini(&c->auth->chap);
	free(c->auth);
	c->auth = NULL;
}

unsigned iscsi_auth_decide(struct iscsi_conn *c, const char **why)
{
	const char *initiator = c->neg.p.initiator_name;
	const struct chap_cred *cred = NULL, *mutual = NULL;
	struct iscsi_auth *a;
	char local[ACL_PORTAL_LEN];
	bool portal_ok = true;
	enum acl_verdict v;

	a = calloc(1, sizeof(*a));
	if (!a) {
		*why = "out of memory";
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	}
	c->auth = a;
	if (c->neg.p.session_type == ISCSI_SESSION_NORMAL &&
	    iscsi_local_portal(c->fd, local, sizeof(local)) < 0)
		local[0] = '\0';
	pthread_mutex_lock(&c->d->lock);
	if (c->neg.p.session_type == ISCSI_SESSION_DISCOVERY) {
		struct target_auth *da = &c->d->discovery_auth;

		v = chap_cred_isset(&da->chap) ? ACL_CHAP : ACL_OPEN;
		cred = &da->chap;
		mutual = &da->mutual;
	} else {
		struct target *t = c->login_target;

		v = target_auth_check(&t->auth, initiator, &cred);
		mutual = &t->auth.mutual;
		portal_ok = !local[0] || target_auth_portal_ok(&t->auth, local);
	}
	if (v == ACL_CHAP) {
		a->required = true;
		chap_session_init(&a->chap, cred, mutual);
	}
	pthread_mutex_unlock(&c->d->lock);
	if (v == ACL_DENY) {
		*why = "initiator not in the target's access list";
		return ISCSI_LOGIN_AUTHORIZATION_FAILED;
	}
	if (!portal_ok) {
		/* Not reachable through this portal: as if it did not exist here. */
		*why = "target not bound to this portal";
		return ISCSI_LOGIN_NOT_FOUND;
	}
	return ISCSI_LOGIN_OK;
}

/* Whether a comma-separated list value holds tok. */
static bool iscsi_list_has(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (l == tl && !memcmp(p, tok, tl))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static bool iscsi_chap_keys_present(const struct chap_keys *k)
{
	return k->a || k->i || k->c || k->n || k->r;
}

unsigned iscsi_auth_rx(struct iscsi_conn *c, unsigned csg, char *out, size_t out_max,
		       size_t *out_len, const char **why)
{
	struct iscsi_auth *a = c->auth;
	struct iscsi_negotiation *n = &c->neg;
	const char *offer = n->auth_offer;
	bool chose_now = false;
	int rc;

	if (a->done) {
		if (iscsi_chap_keys_present(&n->chap) || offer[0]) {
			*why = "security keys after authentication";
			return ISCSI_LOGIN_INITIATOR_ERROR;
		}
		return ISCSI_LOGIN_OK;
	}
	if (csg != ISCSI_STAGE_SECURITY) {
		/* Skipping the security stage is fine only where no authentication is needed. */
		if (a->required) {
			*why = "CHAP required, but the initiator skipped the security stage";
			return ISCSI_LOGIN_AUTH_FAILED;
		}
		a->done = true;
		return ISCSI_LOGIN_OK;
	}
	if (offer[0]) {
		const char *pick = NULL;

		if (a->method_chosen) {
			*why = "AuthMethod offered twice";
			return ISCSI_LOGIN_INITIATOR_ERROR;
		}
		if (a->required && iscsi_list_has(offer, "CHAP"))
			pick = "CHAP";
		else if (!a->required && iscsi_list_has(offer, "None"))
			pick = "None";
		if (!pick) {
			iscsi_text_append(out, out_max, out_len, "AuthMethod", "Reject");
			*why = a->required ? "CHAP required, but not offered"
					   : "no acceptable AuthMethod (CHAP not configured)";
			return ISCSI_LOGIN_AUTH_FAILED;
		}
		if (iscsi_text_append(out, out_max, out_len, "AuthMethod", pick) < 0) {
			*why = "response too long";
			return ISCSI_LOGIN_TARGET_ERROR;
		}
		n->auth_offer[0] = '\0';
		a->method_chosen = true;
		chose_now = true;
		a->chap_active = a->required;
		if (!a->required)
			a->done = true;
	}
	if (iscsi_chap_keys_present(&n->chap)) {
		if (!a->chap_active) {
			*why = "CHAP keys without AuthMethod=CHAP";
			return ISCSI_LOGIN_INITIATOR_ERROR;
		}
		rc = chap_step(&a->chap, &n->chap, out, out_max, out_len);
		if (rc < 0) {
			*why = a->chap.err;
			return rc == -EACCES ? ISCSI_LOGIN_AUTH_FAILED
			       : rc == -ENOSPC ? ISCSI_LOGIN_TARGET_ERROR
					       : ISCSI_LOGIN_INITIATOR_ERROR;
		}
		if (rc == 1) {
			a->done = true;
			log_info("iscsi %s: CHAP (%s%s) succeeded", c->peer, a->chap.h->name,
				 a->chap.mutual_done ? ", mutual" : "");
		}
	} else if (a->chap_active && !chose_now) {
		*why = "no CHAP keys during the CHAP exchange";
		return ISCSI_LOGIN_INITIATOR_ERROR;
	}
	return ISCSI_LOGIN_OK;
}

const char *iscsi_auth_chap_user(const struct iscsi_conn *c, bool *mutual)
{
	const struct iscsi_auth *a = c->auth;
	bool chap = a && a->done && a->chap_active;

	*mutual = chap && a->chap.mutual_done;
	return chap ? a->chap.expect.user : "";
}

bool iscsi_auth_done(const struct iscsi_conn *c)
{
	return c->auth && c->auth->done;
}

bool iscsi_auth_pending(const struct iscsi_conn *c)
{
	return c->auth && c->auth->chap_active && !c->auth->done;
}

bool iscsi_auth_required(const struct iscsi_conn *c)
{
	return c->auth && c->auth->required;
}

void iscsi_auth_set_done(struct iscsi_conn *c)
{
	if (c->auth && !c->auth->required)
		c->auth->done = true;
}
