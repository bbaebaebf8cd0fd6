/* libFuzzer: iSCSI text keys (src/fabric/iscsi/params.c). The input is a series of rounds
 * separated by 0xff bytes; each round's first byte picks the login stage (and whether to add the
 * target's declarations), the rest is the key=value text the initiator sent. One negotiation
 * runs through all rounds, as a login does across its PDUs, so "negotiated twice", stage
 * changes and the declarations after a negotiation are all reached. Every response must be a
 * well-formed key=value list within its buffer. Selector bit 0x10 hands the security keys to
 * the login code's path instead (auth_defer): the CHAP keys of each round then drive one CHAP
 * exchange (chap.c) against fixed credentials, with mutual CHAP possible. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/iscsi/chap.h"
#include "fabric/iscsi/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const char *out, size_t out_len, size_t out_max)
{
	struct iscsi_text_pair pairs[ISCSI_TEXT_MAX_PAIRS * 2];
	char *copy;

	if (out_len > out_max)
		abort();
	if (!out_len)
		return;
	if (out[out_len - 1] != '\0')
		abort();
	copy = malloc(out_len);
	memcpy(copy, out, out_len);
	/* Our own answer parses back: keys we echo passed the same checks on the way in. */
	if (iscsi_text_parse(copy, out_len, pairs, ISCSI_TEXT_MAX_PAIRS * 2) < 0)
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum iscsi_login_stage stages[4] = {
		ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE,
		ISCSI_STAGE_OPERATIONAL,
	};
	struct iscsi_negotiation n;
	struct iscsi_text_pair pairs[ISCSI_TEXT_MAX_PAIRS];
	size_t pos = 0;

	struct chap_session cs;
	struct chap_cred expect, mutual;

	chap_cred_set(&expect, "alice", "alicesecret123", NULL, 0);
	chap_cred_set(&mutual, "tgt", "targetsecret456", NULL, 0);
	chap_session_init(&cs, &expect, &mutual);
	iscsi_negotiation_init(&n);
	while (pos < size) {
		const uint8_t *end = memchr(data + pos, 0xff, size - pos);
		size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
		uint8_t sel = len ? data[pos] : 0;
		size_t tlen = len ? len - 1 : 0;
		/* Small response buffers reach the -ENOSPC paths. */
		size_t out_max = (sel & 0x40) ? 64 : ISCSI_LOGIN_DSL;
		char *req = malloc(tlen + 1), *out = malloc(out_max);
		size_t out_len = 0;
		int rc, cnt;

		memcpy(req, data + pos + (len ? 1 : 0), tlen);
		if (sel & 0x10)
			n.auth_defer = true;
		/* The bare parser on its own copy (it splits in place). */
		{
			char *p = malloc(tlen + 1);

			memcpy(p, req, tlen);
			cnt = iscsi_text_parse(p, tlen, pairs, (sel & 0x20) ? 4 : ISCSI_TEXT_MAX_PAIRS);
			if (cnt > ISCSI_TEXT_MAX_PAIRS)
				abort();
			for (int i = 0; i < cnt; i++)
				if (!*pairs[i].key || strlen(pairs[i].key) > ISCSI_KEY_NAME_MAX)
					abort();
			free(p);
		}
		rc = iscsi_params_negotiate(&n, stages[sel & 3], req, tlen, out, out_max, &out_len);
		if (rc && rc != -EINVAL && rc != -EPROTO && rc != -ENOSPC && rc != -EACCES)
			abort();
		check_response(out, out_len, out_max);
		if (!rc && n.auth_defer &&
		    (n.chap.a || n.chap.i || n.chap.c || n.chap.n || n.chap.r)) {
			rc = chap_step(&cs, &n.chap, out, out_max, &out_len);
			if (rc != 0 && rc != 1 && rc != -EACCES && rc != -EPROTO && rc != -ENOSPC)
				abort();
			if (rc == 1 && cs.state != CHAP_DONE)
				abort();
			check_response(out, out_len, out_max);
			rc = 0;
		}
		if (!rc && (sel & 0x80)) {
			rc = iscsi_params_declare(&n, out, out_max, &out_len);
			if (rc && rc != -ENOSPC)
				abort();
			check_response(out, out_len, out_max);
		}
		/* Invariants the login and data paths rely on. */
		if (n.p.first_burst > n.p.max_burst && !rc)
			abort();
		if (n.p.erl != 0 || n.p.max_connections != 1)
			abort();
		if (n.p.max_xmit_dsl < 512 || n.p.max_xmit_dsl > 16777215)
			abort();
		if (n.p.max_outstanding_r2t < 1 || n.p.max_burst < 512 || n.p.first_burst < 512)
			abort();
		if (memchr(n.p.initiator_name, '\0', sizeof(n.p.initiator_name)) == NULL ||
		    memchr(n.p.target_name, '\0', sizeof(n.p.target_name)) == NULL)
			abort();
		free(req);
		free(out);
		pos += len + 1;
	}
	chap_session_fini(&cs);
	return 0;
}
