/* CHAP, target side (RFC 7143 12.1.3, RFC 1994).
 *
 *   I->T  AuthMethod=CHAP,...           (login.c picks CHAP)
 *   I->T  CHAP_A=<A1,A2...>             T->I  CHAP_A=<A> CHAP_I=<I> CHAP_C=<C>
 *   I->T  CHAP_N=<N> CHAP_R=<R> [CHAP_I=<I2> CHAP_C=<C2>]
 *                                       T->I  [CHAP_N=<N2> CHAP_R=<R2>]
 *
 * Lessons from other targets' CVEs are checked here: a CHAP_R longer than the digest is an error,
 * never a copy (CVE-2018-14633); responses compare in constant time; the initiator is verified
 * before we answer its own challenge (no response oracle for unauthenticated peers), and a
 * challenge that reflects ours is refused (RFC 7143 12.1.3). */
#include "fabric/iscsi/chap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fabric/iscsi/params.h"
#include "util/hex.h"

int (*chap_random_hook)(uint8_t *buf, size_t len);

static int chap_evp(const EVP_MD *md, uint8_t id, const uint8_t *secret, size_t secret_len,
		    const uint8_t *chal, size_t chal_len, uint8_t *out)
{
	EVP_MD_CTX *ctx;
	unsigned len = 0;
	int ok;

	if (!md)
		return -EIO;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, &id, 1) &&
	     EVP_DigestUpdate(ctx, secret, secret_len) && EVP_DigestUpdate(ctx, chal, chal_len) &&
	     EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

#define CHAP_EVP_OP(fname, mdfn)                                                            \
	static int fname(uint8_t id, const uint8_t *secret, size_t secret_len,              \
			 const uint8_t *chal, size_t chal_len, uint8_t *out)                \
	{                                                                                   \
		return chap_evp(mdfn(), id, secret, secret_len, chal, chal_len, out);        \
	}
CHAP_EVP_OP(chap_md5, EVP_md5)
CHAP_EVP_OP(chap_sha1, EVP_sha1)
CHAP_EVP_OP(chap_sha256, EVP_sha256)
CHAP_EVP_OP(chap_sha3_256, EVP_sha3_256)

/* IANA "PPP Authentication Algorithms": 5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256 (RFC 7143 12.1.3
 * as updated for the SHA variants, which the Linux initiator offers). */
static const struct chap_hash_ops chap_hashes[] = {
	{ 5, "MD5", 16, chap_md5 },
	{ 6, "SHA-1", 20, chap_sha1 },
	{ 7, "SHA-256", 32, chap_sha256 },
	{ 8, "SHA3-256", 32, chap_sha3_256 },
};

const struct chap_hash_ops *chap_hash_find(unsigned alg)
{
	size_t i;

	for (i = 0; i < sizeof(chap_hashes) / sizeof(chap_hashes[0]); i++)
		if (chap_hashes[i].alg == alg)
			return &chap_hashes[i];
	return NULL;
}

static int chap_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int chap_decode(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = 0, i, slen;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X' && s[1] != 'b' && s[1] != 'B'))
		return -EINVAL;
	slen = strlen(s + 2);
	if (!slen)
		return -EINVAL;
	if (s[1] == 'x' || s[1] == 'X') {
		const char *h = s + 2;

		/* RFC 7143 6.1: an odd number of hex digits has an implied leading zero. */
		if ((slen + 1) / 2 > max)
			return -E2BIG;
		i = 0;
		if (slen & 1) {
			int v = hex_digit(h[0]);

			if (v < 0)
				return -EINVAL;
			out[n++] = (uint8_t)v;
			i = 1;
		}
		for (; i < slen; i += 2) {
			int hi = hex_digit(h[i]), lo = hex_digit(h[i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[n++] = (uint8_t)(hi << 4 | lo);
		}
	} else {
		const char *b = s + 2;
		unsigned acc = 0, bits = 0, pad = 0;

		if (slen % 4)
			return -EINVAL;
		for (i = 0; i < slen; i++) {
			int v;

			if (b[i] == '=') {
				/* Padding only at the end, at most two. */
				if (i + 2 < slen || ++pad > 2)
					return -EINVAL;
				continue;
			}
			if (pad)
				return -EINVAL;
			v = chap_b64val(b[i]);
			if (v < 0)
				return -EINVAL;
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (n == max)
					return -E2BIG;
				out[n++] = (uint8_t)(acc >> bits);
			}
		}
	}
	*len = n;
	return 0;
}

void chap_encode_hex(const uint8_t *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < len; i++) {
		out[2 + 2 * i] = hex[in[i] >> 4];
		out[3 + 2 * i] = hex[in[i] & 15];
	}
	out[2 + 2 * len] = '\0';
}

static int chap_random(uint8_t *buf, size_t len)
{
	size_t got = 0;

	if (chap_random_hook)
		return chap_random_hook(buf, len);
	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

void chap_session_init(struct chap_session *cs, const struct chap_cred *expect,
		       const struct chap_cred *mutual)
{
	memset(cs, 0, sizeof(*cs));
	cs->expect = *expect;
	if (mutual)
		cs->mutual = *mutual;
}

void chap_session_fini(struct chap_session *cs)
{
	explicit_bzero(cs, sizeof(*cs));
}

/* CHAP_A list: the first algorithm in the initiator's order that we support (RFC 7143 6.2). */
static const struct chap_hash_ops *chap_pick(const char *list)
{
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t tl = end ? (size_t)(end - p) : strlen(p);
		unsigned v = 0;
		size_t i;
		bool ok = tl > 0 && tl <= 3;

		for (i = 0; ok && i < tl; i++) {
			if (p[i] < '0' || p[i] > '9')
				ok = false;
			else
				v = v * 10 + (unsigned)(p[i] - '0');
		}
		if (ok && chap_hash_find(v))
			return chap_hash_find(v);
		if (!end)
			break;
		p = end + 1;
	}
	return NULL;
}

/* CHAP_I: a decimal identifier 0..255. */
static int chap_parse_id(const char *s, uint8_t *id)
{
	unsigned v = 0;
	size_t i, l = strlen(s);

	if (l == 0 || l > 3)
		return -EINVAL;
	for (i = 0; i < l; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 255)
		return -EINVAL;
	*id = (uint8_t)v;
	return 0;
}

#define CHAP_FAIL(cs, rc, ...)                                     \
	do {                                                       \
		snprintf((cs)->err, sizeof((cs)->err), __VA_ARGS__); \
		(cs)->state = CHAP_FAILED;                         \
		return rc;                                         \
	} while (0)

static int chap_send_challenge(struct chap_session *cs, const struct chap_keys *k, char *out,
			       size_t out_max, size_t *out_len)
{
	char num[8], chal[2 * CHAP_DIGEST_MAX + 3];
	int rc;

	if (k->i || k->c || k->n || k->r)
		CHAP_FAIL(cs, -EPROTO, "CHAP keys before the challenge");
	if (!k->a)
		CHAP_FAIL(cs, -EPROTO, "no CHAP_A after AuthMethod=CHAP");
	cs->h = chap_pick(k->a);
	if (!cs->h) {
		iscsi_text_append(out, out_max, out_len, "CHAP_A", "Reject");
		CHAP_FAIL(cs, -EACCES, "no CHAP_A algorithm we support");
	}
	cs->challenge_len = cs->h->digest_len > CHAP_CHALLENGE_MIN ? cs->h->digest_len
								   : CHAP_CHALLENGE_MIN;
	if (chap_random(&cs->id, 1) < 0 || chap_random(cs->challenge, cs->challenge_len) < 0)
		CHAP_FAIL(cs, -EACCES, "no random bytes for the challenge");
	snprintf(num, sizeof(num), "%u", cs->h->alg);
	rc = iscsi_text_append(out, out_max, out_len, "CHAP_A", num);
	snprintf(num, sizeof(num), "%u", cs->id);
	if (!rc)
		rc = iscsi_text_append(out, out_max, out_len, "CHAP_I", num);
	chap_encode_hex(cs->challenge, cs->challenge_len, chal);
	if (!rc)
		rc = iscsi_text_append(out, out_max, out_len, "CHAP_C", chal);
	if (rc)
		CHAP_FAIL(cs, -ENOSPC, "response too long");
	cs->state = CHAP_WAIT_R;
	return 0;
}

static int chap_check_response(struct chap_session *cs, const struct chap_keys *k, char *out,
			       size_t out_max, size_t *out_len)
{
	uint8_t got[CHAP_DIGEST_MAX], want[CHAP_DIGEST_MAX];
	uint8_t peer_chal[CHAP_PEER_CHALLENGE_MAX];
	char rhex[2 * CHAP_DIGEST_MAX + 3];
	size_t glen = 0, clen = 0;
	uint8_t peer_id;
	int rc;

	if (k->a)
		CHAP_FAIL(cs, -EPROTO, "CHAP_A sent twice");
	if (!k->n || !k->r)
		CHAP_FAIL(cs, -EPROTO, "CHAP_N or CHAP_R missing");
	rc = chap_decode(k->r, got, cs->h->digest_len, &glen);
	if (rc == -E2BIG)
		CHAP_FAIL(cs, -EPROTO, "CHAP_R longer than the %s digest", cs->h->name);
	if (rc < 0)
		CHAP_FAIL(cs, -EPROTO, "malformed CHAP_R");
	if (glen != cs->h->digest_len)
		CHAP_FAIL(cs, -EACCES, "CHAP_R shorter than the %s digest", cs->h->name);
	if (cs->h->digest(cs->id, (const uint8_t *)cs->expect.secret, strlen(cs->expect.secret),
			  cs->challenge, cs->challenge_len, want) < 0)
		CHAP_FAIL(cs, -EACCES, "%s digest unavailable", cs->h->name);
	/* Both checks run, and the digest compare is constant-time: the reply's timing does not
	 * tell which part was wrong. */
	rc = CRYPTO_memcmp(got, want, cs->h->digest_len) != 0;
	rc |= strcmp(k->n, cs->expect.user) != 0;
	explicit_bzero(want, sizeof(want));
	if (rc)
		CHAP_FAIL(cs, -EACCES, "wrong CHAP_N or CHAP_R");

	/* The initiator is authenticated; now it may ask us to prove ourselves. */
	if (!k->i && !k->c) {
		cs->state = CHAP_DONE;
		return 1;
	}
	if (!k->i || !k->c)
		CHAP_FAIL(cs, -EPROTO, "mutual CHAP needs both CHAP_I and CHAP_C");
	if (!chap_cred_isset(&cs->mutual))
		CHAP_FAIL(cs, -EACCES, "mutual CHAP asked for, but the target has no credentials");
	/* RFC 7143 12.1.3: a secret used for initiators must not authenticate a target. */
	if (!strcmp(cs->mutual.secret, cs->expect.secret))
		CHAP_FAIL(cs, -EACCES, "target and initiator CHAP secrets are the same");
	if (chap_parse_id(k->i, &peer_id) < 0)
		CHAP_FAIL(cs, -EPROTO, "malformed CHAP_I");
	rc = chap_decode(k->c, peer_chal, sizeof(peer_chal), &clen);
	if (rc == -E2BIG)
		CHAP_FAIL(cs, -EPROTO, "CHAP_C longer than %d bytes", CHAP_PEER_CHALLENGE_MAX);
	if (rc < 0 || clen == 0)
		CHAP_FAIL(cs, -EPROTO, "malformed CHAP_C");
	if (clen == cs->challenge_len && !memcmp(peer_chal, cs->challenge, clen))
		CHAP_FAIL(cs, -EACCES, "the initiator reflected our own challenge");
	if (cs->h->digest(peer_id, (const uint8_t *)cs->mutual.secret, strlen(cs->mutual.secret),
			  peer_chal, clen, got) < 0)
		CHAP_FAIL(cs, -EACCES, "%s digest unavailable", cs->h->name);
	chap_encode_hex(got, cs->h->digest_len, rhex);
	rc = iscsi_text_append(out, out_max, out_len, "CHAP_N", cs->mutual.user);
	if (!rc)
		rc = iscsi_text_append(out, out_max, out_len, "CHAP_R", rhex);
	if (rc)
		CHAP_FAIL(cs, -ENOSPC, "response too long");
	cs->mutual_done = true;
	cs->state = CHAP_DONE;
	return 1;
}

int chap_step(struct chap_session *cs, const struct chap_keys *k, char *out, size_t out_max,
	      size_t *out_len)
{
	switch (cs->state) {
	case CHAP_WAIT_A:
		return chap_send_challenge(cs, k, out, out_max, out_len);
	case CHAP_WAIT_R:
		return chap_check_response(cs, k, out, out_max, out_len);
	case CHAP_DONE:
		if (k->a || k->i || k->c || k->n || k->r)
			CHAP_FAIL(cs, -EPROTO, "CHAP keys after authentication");
		return 1;
	case CHAP_FAILED:
	default:
		return -EACCES;
	}
}
