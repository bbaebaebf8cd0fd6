/* Who may use a target: CHAP credentials, the initiator access list (ACL) with per-initiator LUN
 * mapping, and the portals a target is reachable through. Plain data owned by struct target (and
 * one copy for discovery sessions in struct daemon), written by the control plane under
 * daemon.lock; login and discovery read it under the same lock and keep what they need.
 * No network code here: the CHAP exchange itself is in src/fabric/iscsi/chap.c. */
#ifndef INVAR_TARGET_ACL_H
#define INVAR_TARGET_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/limits.h"

#define CHAP_USER_MAX 255		/* CHAP_N: an iSCSI text value (RFC 7143 6.1) */
#define CHAP_SECRET_MIN 12		/* RFC 7143 12.1.3: at least 96 bits */
#define CHAP_SECRET_MAX 255
#define ACL_MAX_ENTRIES 256		/* initiators per target */
#define TARGET_PORTALS_MAX 16		/* portals a target is bound to */
#define ACL_PORTAL_LEN 128		/* canonical "ADDR:PORT" */
#define ACL_LUN_NONE 0xffff

/* One set of CHAP credentials. user[0] == '\0': not set. */
struct chap_cred {
	char user[CHAP_USER_MAX + 1];
	char secret[CHAP_SECRET_MAX + 1];
};

/* One initiator allowed in. With no mapping it sees the target's LUNs at their own numbers;
 * with a mapping (nmap > 0) it sees exactly the mapped LUNs, at the numbers it is given. */
struct acl_entry {
	char initiator[INVAR_NAME_MAX + 1];
	struct chap_cred chap;		/* its own credentials (override the target's) */
	unsigned nmap;
	uint16_t map[INVAR_MAX_LUNS];	/* initiator LUN -> target LUN, ACL_LUN_NONE = none */
};

struct target_auth {
	struct chap_cred chap;		/* initiators must prove these (CHAP required if set) */
	struct chap_cred mutual;	/* the target's own, for mutual CHAP */
	struct acl_entry *acls;		/* empty: every initiator may log in */
	unsigned nacls;
	char (*portals)[ACL_PORTAL_LEN];	/* empty: reachable through every portal */
	unsigned nportals;
};

void target_auth_init(struct target_auth *a);
void target_auth_free(struct target_auth *a);
/* Deep copy; -ENOMEM. */
int target_auth_copy(struct target_auth *dst, const struct target_auth *src);

/* Validate and set credentials: user 1..255 printable ASCII, secret 12..255 bytes without NUL.
 * Returns 0 or -EINVAL with a reason. */
int chap_cred_set(struct chap_cred *c, const char *user, const char *secret, char *err,
		  size_t err_len);
void chap_cred_clear(struct chap_cred *c);
static inline bool chap_cred_isset(const struct chap_cred *c)
{
	return c->user[0] != '\0';
}
/* Parses "USER:SECRET" (the command-line form; the secret may contain ':'). */
int chap_cred_parse(struct chap_cred *c, const char *user_secret, char *err, size_t err_len);

/* ACL entries. add: -EEXIST if present, -ENOSPC past ACL_MAX_ENTRIES, -EINVAL for a bad name. */
struct acl_entry *target_auth_acl_find(const struct target_auth *a, const char *initiator);
int target_auth_acl_add(struct target_auth *a, const char *initiator, struct acl_entry **out);
int target_auth_acl_del(struct target_auth *a, const char *initiator);
/* Map initiator LUN ilun to target LUN tlun for one ACL entry (-ERANGE, -EEXIST). */
int acl_entry_map(struct acl_entry *e, unsigned ilun, unsigned tlun);

/* Portal binding: addr must be canonical (ctl_portal_normalize). */
int target_auth_portal_add(struct target_auth *a, const char *addr);
int target_auth_portal_del(struct target_auth *a, const char *addr);
/* Whether a connection accepted on local "ADDR:PORT" may reach the target: true when the target
 * is bound to no portal, or to this one, or to the wildcard of its address family and port. */
bool target_auth_portal_ok(const struct target_auth *a, const char *local);

/* What login decides for one initiator. */
enum acl_verdict {
	ACL_DENY = 0,		/* not in a non-empty ACL */
	ACL_OPEN,		/* allowed without CHAP */
	ACL_CHAP,		/* allowed after CHAP with *cred */
};
/* cred is set for ACL_CHAP (the ACL entry's own credentials, else the target's). */
enum acl_verdict target_auth_check(const struct target_auth *a, const char *initiator,
				   const struct chap_cred **cred);

#endif
