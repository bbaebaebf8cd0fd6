/* Target access configuration: CHAP credentials, ACL entries with LUN maps, portal binding. */
#include "target/acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/target.h"

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

void target_auth_init(struct target_auth *a)
{
	memset(a, 0, sizeof(*a));
}

void target_auth_free(struct target_auth *a)
{
	free(a->acls);
	free(a->portals);
	/* Secrets do not linger in freed memory. */
	explicit_bzero(a, sizeof(*a));
}

int target_auth_copy(struct target_auth *dst, const struct target_auth *src)
{
	*dst = *src;
	dst->acls = NULL;
	dst->portals = NULL;
	if (src->nacls) {
		dst->acls = malloc(src->nacls * sizeof(*dst->acls));
		if (!dst->acls)
			goto fail;
		memcpy(dst->acls, src->acls, src->nacls * sizeof(*dst->acls));
	}
	if (src->nportals) {
		dst->portals = malloc(src->nportals * sizeof(*dst->portals));
		if (!dst->portals)
			goto fail;
		memcpy(dst->portals, src->portals, src->nportals * sizeof(*dst->portals));
	}
	return 0;
fail:
	free(dst->acls);
	target_auth_init(dst);
	return -ENOMEM;
}

int chap_cred_set(struct chap_cred *c, const char *user, const char *secret, char *err,
		  size_t err_len)
{
	size_t ul = strnlen(user, CHAP_USER_MAX + 1), sl = strnlen(secret, CHAP_SECRET_MAX + 1);
	size_t i;

	if (ul == 0 || ul > CHAP_USER_MAX) {
		ERRF("CHAP user name must be 1 to %d characters", CHAP_USER_MAX);
		return -EINVAL;
	}
	/* It travels as CHAP_N, an iSCSI text value: printable ASCII only. */
	for (i = 0; i < ul; i++) {
		if (user[i] < 0x20 || user[i] > 0x7e) {
			ERRF("CHAP user name may hold printable ASCII only");
			return -EINVAL;
		}
	}
	if (sl < CHAP_SECRET_MIN || sl > CHAP_SECRET_MAX) {
		ERRF("CHAP secret must be %d to %d characters (RFC 7143 12.1.3: at least 96 bits)",
		     CHAP_SECRET_MIN, CHAP_SECRET_MAX);
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	memcpy(c->user, user, ul);
	memcpy(c->secret, secret, sl);
	return 0;
}

void chap_cred_clear(struct chap_cred *c)
{
	explicit_bzero(c, sizeof(*c));
}

int chap_cred_parse(struct chap_cred *c, const char *user_secret, char *err, size_t err_len)
{
	const char *colon = strchr(user_secret, ':');
	char user[CHAP_USER_MAX + 1];
	size_t ul;

	if (!colon) {
		ERRF("expected USER:SECRET");
		return -EINVAL;
	}
	ul = (size_t)(colon - user_secret);
	if (ul == 0 || ul > CHAP_USER_MAX) {
		ERRF("CHAP user name must be 1 to %d characters", CHAP_USER_MAX);
		return -EINVAL;
	}
	memcpy(user, user_secret, ul);
	user[ul] = '\0';
	return chap_cred_set(c, user, colon + 1, err, err_len);
}

struct acl_entry *target_auth_acl_find(const struct target_auth *a, const char *initiator)
{
	unsigned i;

	for (i = 0; i < a->nacls; i++)
		if (!strcmp(a->acls[i].initiator, initiator))
			return &a->acls[i];
	return NULL;
}

int target_auth_acl_add(struct target_auth *a, const char *initiator, struct acl_entry **out)
{
	struct acl_entry *n, *e;
	unsigned i;

	if (iscsi_name_validate(initiator) < 0)
		return -EINVAL;
	if (target_auth_acl_find(a, initiator))
		return -EEXIST;
	if (a->nacls >= ACL_MAX_ENTRIES)
		return -ENOSPC;
	n = realloc(a->acls, (a->nacls + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	a->acls = n;
	e = &n[a->nacls++];
	memset(e, 0, sizeof(*e));
	strcpy(e->initiator, initiator);
	for (i = 0; i < INVAR_MAX_LUNS; i++)
		e->map[i] = ACL_LUN_NONE;
	if (out)
		*out = e;
	return 0;
}

int target_auth_acl_del(struct target_auth *a, const char *initiator)
{
	struct acl_entry *e = target_auth_acl_find(a, initiator);
	size_t idx;

	if (!e)
		return -ENOENT;
	idx = (size_t)(e - a->acls);
	explicit_bzero(e, sizeof(*e));
	memmove(e, e + 1, (a->nacls - idx - 1) * sizeof(*e));
	a->nacls--;
	if (!a->nacls) {
		free(a->acls);
		a->acls = NULL;
	}
	return 0;
}

int acl_entry_map(struct acl_entry *e, unsigned ilun, unsigned tlun)
{
	if (ilun >= INVAR_MAX_LUNS || tlun >= INVAR_MAX_LUNS)
		return -ERANGE;
	if (e->map[ilun] != ACL_LUN_NONE)
		return -EEXIST;
	e->map[ilun] = (uint16_t)tlun;
	e->nmap++;
	return 0;
}

int target_auth_portal_add(struct target_auth *a, const char *addr)
{
	char (*n)[ACL_PORTAL_LEN];
	unsigned i;

	if (!addr[0] || strlen(addr) >= ACL_PORTAL_LEN)
		return -EINVAL;
	for (i = 0; i < a->nportals; i++)
		if (!strcmp(a->portals[i], addr))
			return -EEXIST;
	if (a->nportals >= TARGET_PORTALS_MAX)
		return -ENOSPC;
	n = realloc(a->portals, (a->nportals + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	a->portals = n;
	snprintf(n[a->nportals++], ACL_PORTAL_LEN, "%s", addr);
	return 0;
}

int target_auth_portal_del(struct target_auth *a, const char *addr)
{
	unsigned i;

	for (i = 0; i < a->nportals; i++) {
		if (strcmp(a->portals[i], addr))
			continue;
		memmove(a->portals[i], a->portals[i + 1],
			(a->nportals - i - 1) * sizeof(a->portals[0]));
		if (!--a->nportals) {
			free(a->portals);
			a->portals = NULL;
		}
		return 0;
	}
	return -ENOENT;
}

bool target_auth_portal_ok(const struct target_auth *a, const char *local)
{
	const char *lport = strrchr(local, ':');
	bool v6 = local[0] == '[';
	unsigned i;

	if (!a->nportals)
		return true;
	for (i = 0; i < a->nportals; i++) {
		const char *p = a->portals[i], *pport = strrchr(p, ':');

		if (!strcmp(p, local))
			return true;
		if (!lport || !pport || strcmp(lport, pport))
			continue;
		if ((!v6 && !strncmp(p, "0.0.0.0:", 8)) || (v6 && !strncmp(p, "[::]:", 5)))
			return true;
	}
	return false;
}

enum acl_verdict target_auth_check(const struct target_auth *a, const char *initiator,
				   const struct chap_cred **cred)
{
	const struct acl_entry *e = NULL;

	*cred = NULL;
	if (a->nacls) {
		e = target_auth_acl_find(a, initiator);
		if (!e)
			return ACL_DENY;
		if (chap_cred_isset(&e->chap)) {
			*cred = &e->chap;
			return ACL_CHAP;
		}
	}
	if (chap_cred_isset(&a->chap)) {
		*cred = &a->chap;
		return ACL_CHAP;
	}
	return ACL_OPEN;
}
