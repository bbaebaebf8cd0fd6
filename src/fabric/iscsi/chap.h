/* CHAP authentication for iSCSI login (RFC 7143 12.1.3, RFC 1994), target side, one-way and
 * mutual. The digest algorithms are a const ops table indexed by their CHAP_A number (IANA PPP
 * authentication algorithms: 5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256), computed with OpenSSL's
 * libcrypto. No sockets here: chap_step() turns one request's CHAP keys into the response keys,
 * so the exchange is unit-tested on buffers. */
#ifndef INVAR_FABRIC_ISCSI_CHAP_H
#define INVAR_FABRIC_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fabric/iscsi/params.h"
#include "target/acl.h"

#define CHAP_DIGEST_MAX 32		/* SHA-256 and SHA3-256 */
#define CHAP_CHALLENGE_MIN 16		/* our challenge: max(16, digest length) random bytes */
#define CHAP_PEER_CHALLENGE_MAX 1024	/* the initiator's challenge in mutual CHAP */

struct chap_hash_ops {
	unsigned alg;			/* CHAP_A value */
	const char *name;
	unsigned digest_len;
	/* out = H(id || secret || challenge) (RFC 1994 4.1); 0 or -EIO. */
	int (*digest)(uint8_t id, const uint8_t *secret, size_t secret_len, const uint8_t *chal,
		      size_t chal_len, uint8_t *out);
};

/* The algorithm for a CHAP_A value, or NULL if we do not support it. */
const struct chap_hash_ops *chap_hash_find(unsigned alg);

/* RFC 7143 6.1 binary values: "0x" + hex digits (odd count: leading zero implied) or "0b" +
 * base64. Decodes into out (at most max bytes). -EINVAL when malformed, -E2BIG when longer than
 * max (never writes past it). */
int chap_decode(const char *s, uint8_t *out, size_t max, size_t *len);
/* "0x" + lower-case hex into out (2 * len + 3 bytes). */
void chap_encode_hex(const uint8_t *in, size_t len, char *out);

/* Test hook: when set, challenges come from here instead of getrandom() (known-answer tests). */
extern int (*chap_random_hook)(uint8_t *buf, size_t len);

enum chap_state {
	CHAP_WAIT_A = 0,		/* AuthMethod=CHAP chosen; expecting CHAP_A */
	CHAP_WAIT_R,			/* challenge sent; expecting CHAP_N, CHAP_R */
	CHAP_DONE,
	CHAP_FAILED,
};

struct chap_session {
	enum chap_state state;
	const struct chap_hash_ops *h;
	uint8_t id;
	uint8_t challenge[CHAP_DIGEST_MAX];
	size_t challenge_len;
	struct chap_cred expect;	/* what the initiator must prove */
	struct chap_cred mutual;	/* ours, if the initiator asks to authenticate us */
	bool mutual_done;
	char err[128];			/* why it failed, for the log (no secrets, no raw input) */
};

/* expect: required; mutual: may be NULL or unset (mutual CHAP then refused). */
void chap_session_init(struct chap_session *cs, const struct chap_cred *expect,
		       const struct chap_cred *mutual);
/* Wipes the secrets. */
void chap_session_fini(struct chap_session *cs);

/* One login request's CHAP keys: appends the response keys to out (NUL separated, at
 * *out_len, at most out_max). Returns 0 to continue the exchange, 1 once the initiator is
 * authenticated (and, if it asked, we answered its challenge), -EACCES for an authentication
 * failure, -EPROTO for a protocol violation (a key out of turn, a malformed or oversized value),
 * -ENOSPC if the response does not fit. cs->err says why. */
int chap_step(struct chap_session *cs, const struct chap_keys *k, char *out, size_t out_max,
	      size_t *out_len);

#endif
