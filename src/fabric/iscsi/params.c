/* iSCSI text key parsing and negotiation (RFC 7143 6 and 13). */
#include "fabric/iscsi/params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a key is negotiated (RFC 7143 6.2). */
enum iscsi_key_kind {
	KEY_DECLARATIVE,	/* each side states its own value; no answer required */
	KEY_NUM_MIN,		/* numerical, result is the minimum */
	KEY_NUM_MAX,		/* numerical, result is the maximum */
	KEY_BOOL_AND,
	KEY_BOOL_OR,
	KEY_LIST,		/* the target picks the first value it supports */
	KEY_SECURITY,		/* handled by the authentication code (AuthMethod, CHAP_*) */
};

enum iscsi_key_id {
	K_HEADER_DIGEST,
	K_DATA_DIGEST,
	K_MAX_CONNECTIONS,
	K_SEND_TARGETS,
	K_TARGET_NAME,
	K_INITIATOR_NAME,
	K_TARGET_ALIAS,
	K_INITIATOR_ALIAS,
	K_TARGET_ADDRESS,
	K_TPGT,
	K_INITIAL_R2T,
	K_IMMEDIATE_DATA,
	K_MRDSL,
	K_MAX_BURST,
	K_FIRST_BURST,
	K_TIME2WAIT,
	K_TIME2RETAIN,
	K_MAX_OUTSTANDING_R2T,
	K_DATA_PDU_IN_ORDER,
	K_DATA_SEQ_IN_ORDER,
	K_ERL,
	K_SESSION_TYPE,
	K_AUTH_METHOD,
	K_IF_MARKER,
	K_OF_MARKER,
	K_IF_MARK_INT,
	K_OF_MARK_INT,
	K_COUNT
};
_Static_assert(K_COUNT <= 64, "seen is a 64-bit mask");

/* Which stages may carry a key (RFC 7143 13: "Use: LO" = leading only, "IO" = initialize only,
 * "FFPO" = full feature phase only, "ALL"). */
#define ST_SEC (1u << 0)
#define ST_OP (1u << 1)
#define ST_FFP (1u << 3)
#define ST_LOGIN (ST_SEC | ST_OP)

struct iscsi_key {
	const char *name;
	enum iscsi_key_kind kind;
	unsigned stages;
	uint32_t min, max;	/* numerical range (RFC 7143 13.x) */
	bool long_value;	/* value may exceed 255 bytes */
};

static const struct iscsi_key iscsi_keys[K_COUNT] = {
	[K_HEADER_DIGEST] = { "HeaderDigest", KEY_LIST, ST_OP, 0, 0, false },
	[K_DATA_DIGEST] = { "DataDigest", KEY_LIST, ST_OP, 0, 0, false },
	[K_MAX_CONNECTIONS] = { "MaxConnections", KEY_NUM_MIN, ST_OP, 1, 65535, false },
	[K_SEND_TARGETS] = { "SendTargets", KEY_DECLARATIVE, ST_FFP, 0, 0, false },
	[K_TARGET_NAME] = { "TargetName", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_INITIATOR_NAME] = { "InitiatorName", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_TARGET_ALIAS] = { "TargetAlias", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_INITIATOR_ALIAS] = { "InitiatorAlias", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_TARGET_ADDRESS] = { "TargetAddress", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_TPGT] = { "TargetPortalGroupTag", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_INITIAL_R2T] = { "InitialR2T", KEY_BOOL_OR, ST_OP, 0, 0, false },
	[K_IMMEDIATE_DATA] = { "ImmediateData", KEY_BOOL_AND, ST_OP, 0, 0, false },
	[K_MRDSL] = { "MaxRecvDataSegmentLength", KEY_DECLARATIVE, ST_OP | ST_FFP, 512, 16777215,
		      false },
	[K_MAX_BURST] = { "MaxBurstLength", KEY_NUM_MIN, ST_OP, 512, 16777215, false },
	[K_FIRST_BURST] = { "FirstBurstLength", KEY_NUM_MIN, ST_OP, 512, 16777215, false },
	[K_TIME2WAIT] = { "DefaultTime2Wait", KEY_NUM_MAX, ST_OP, 0, 3600, false },
	[K_TIME2RETAIN] = { "DefaultTime2Retain", KEY_NUM_MIN, ST_OP, 0, 3600, false },
	[K_MAX_OUTSTANDING_R2T] = { "MaxOutstandingR2T", KEY_NUM_MIN, ST_OP, 1, 65535, false },
	[K_DATA_PDU_IN_ORDER] = { "DataPDUInOrder", KEY_BOOL_OR, ST_OP, 0, 0, false },
	[K_DATA_SEQ_IN_ORDER] = { "DataSequenceInOrder", KEY_BOOL_OR, ST_OP, 0, 0, false },
	[K_ERL] = { "ErrorRecoveryLevel", KEY_NUM_MIN, ST_OP, 0, 2, false },
	[K_SESSION_TYPE] = { "SessionType", KEY_DECLARATIVE, ST_LOGIN, 0, 0, false },
	[K_AUTH_METHOD] = { "AuthMethod", KEY_SECURITY, ST_SEC, 0, 0, false },
	[K_IF_MARKER] = { "IFMarker", KEY_BOOL_AND, ST_OP, 0, 0, false },
	[K_OF_MARKER] = { "OFMarker", KEY_BOOL_AND, ST_OP, 0, 0, false },
	[K_IF_MARK_INT] = { "IFMarkInt", KEY_DECLARATIVE, ST_OP, 0, 0, false },
	[K_OF_MARK_INT] = { "OFMarkInt", KEY_DECLARATIVE, ST_OP, 0, 0, false },
};

void iscsi_params_defaults(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	/* RFC 7143 13.x defaults; MaxRecvDataSegmentLength default 8192 both ways. */
	p->max_recv_dsl = ISCSI_LOGIN_DSL;
	p->max_xmit_dsl = ISCSI_LOGIN_DSL;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->max_outstanding_r2t = 1;
	p->time2wait = 2;
	p->time2retain = 20;
	p->erl = 0;
	p->max_connections = 1;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
	p->header_digest = false;
	p->data_digest = false;
	p->session_type = ISCSI_SESSION_NORMAL;
	strcpy(p->auth_method, "None");
}

void iscsi_negotiation_init(struct iscsi_negotiation *n)
{
	memset(n, 0, sizeof(*n));
	iscsi_params_defaults(&n->p);
	n->p.session_type = ISCSI_SESSION_NONE;
	n->our_max_recv_dsl = ISCSI_OUR_MAX_RECV_DSL;
	n->our_max_burst = ISCSI_OUR_MAX_BURST;
	n->our_first_burst = ISCSI_OUR_FIRST_BURST;
}

/* RFC 7143 6.1: key names use letters, digits, '.', '-', '+', '@', '_'. */
static bool iscsi_key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '+' || c == '@' || c == '_';
}

static int iscsi_key_lookup(const char *name)
{
	int i;

	for (i = 0; i < K_COUNT; i++)
		if (!strcmp(iscsi_keys[i].name, name))
			return i;
	return -1;
}

static bool iscsi_key_long_value(const char *key)
{
	int id = iscsi_key_lookup(key);

	if (id >= 0)
		return iscsi_keys[id].long_value;
	/* CHAP challenge/response values may be long (RFC 7143 12.1.3). */
	return !strncmp(key, "CHAP_", 5);
}

int iscsi_text_parse(char *buf, size_t len, struct iscsi_text_pair *pairs, unsigned max)
{
	size_t pos = 0;
	unsigned n = 0, i;

	while (pos < len) {
		char *start = buf + pos, *eq, *end;
		size_t plen, klen, vlen;

		end = memchr(start, '\0', len - pos);
		if (!end)
			return -EINVAL;	/* RFC 7143 6.1: every pair ends with a NUL */
		plen = (size_t)(end - start);
		pos += plen + 1;
		if (plen == 0)
			continue;	/* tolerate padding NULs */
		eq = memchr(start, '=', plen);
		if (!eq)
			return -EINVAL;
		klen = (size_t)(eq - start);
		vlen = plen - klen - 1;
		if (klen == 0 || klen > ISCSI_KEY_NAME_MAX)
			return -EINVAL;
		for (i = 0; i < klen; i++)
			if (!iscsi_key_char_ok(start[i]))
				return -EINVAL;
		*eq = '\0';
		if (vlen > (iscsi_key_long_value(start) ? ISCSI_VALUE_LONG_MAX : ISCSI_VALUE_MAX))
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (!strcmp(pairs[i].key, start))
				return -EINVAL;	/* RFC 7143 6.2: a key at most once per list */
		if (n == max)
			return -E2BIG;
		pairs[n].key = start;
		pairs[n].value = eq + 1;
		n++;
	}
	return (int)n;
}

int iscsi_text_append(char *out, size_t out_max, size_t *out_len, const char *key,
		      const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);

	if (*out_len + kl + 1 + vl + 1 > out_max)
		return -ENOSPC;
	memcpy(out + *out_len, key, kl);
	out[*out_len + kl] = '=';
	memcpy(out + *out_len + kl + 1, value, vl);
	out[*out_len + kl + 1 + vl] = '\0';
	*out_len += kl + 1 + vl + 1;
	return 0;
}

/* RFC 7143 6.1: numbers are decimal, or hex with 0x (binary values with 0b are not used by
 * numerical keys). Returns false when the value is not a plain number. */
static bool iscsi_parse_num(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		v = strtoull(s + 2, &end, 16);
	else
		v = strtoull(s, &end, 10);
	if (errno || *end || end == s)
		return false;
	*out = v;
	return true;
}

static int iscsi_parse_bool(const char *s)
{
	if (!strcmp(s, "Yes"))
		return 1;
	if (!strcmp(s, "No"))
		return 0;
	return -1;
}

/* Our value for a numeric or boolean key, and where the result goes. */
static uint32_t *iscsi_num_slot(struct iscsi_negotiation *n, int id, uint32_t *ours)
{
	struct iscsi_params *p = &n->p;

	switch (id) {
	case K_MAX_CONNECTIONS: *ours = 1; return &p->max_connections;
	case K_MAX_BURST: *ours = n->our_max_burst; return &p->max_burst;
	case K_FIRST_BURST: *ours = n->our_first_burst; return &p->first_burst;
	case K_TIME2WAIT: *ours = 2; return &p->time2wait;
	case K_TIME2RETAIN: *ours = 0; return &p->time2retain;	/* ERL 0: nothing retained */
	case K_MAX_OUTSTANDING_R2T: *ours = ISCSI_OUR_MAX_OUTSTANDING_R2T; return &p->max_outstanding_r2t;
	case K_ERL: *ours = 0; return &p->erl;
	default: return NULL;
	}
}

static bool *iscsi_bool_slot(struct iscsi_params *p, int id, bool *ours)
{
	switch (id) {
	case K_INITIAL_R2T: *ours = false; return &p->initial_r2t;
	case K_IMMEDIATE_DATA: *ours = true; return &p->immediate_data;
	/* We only implement in-order data (OR with Yes gives Yes). */
	case K_DATA_PDU_IN_ORDER: *ours = true; return &p->data_pdu_in_order;
	case K_DATA_SEQ_IN_ORDER: *ours = true; return &p->data_seq_in_order;
	/* IFMarker/OFMarker: RFC 7143 removed markers; we offer No (AND with No gives No). */
	case K_IF_MARKER: *ours = false; return &p->if_marker;
	case K_OF_MARKER: *ours = false; return &p->of_marker;
	default: return NULL;
	}
}

/* List negotiation: the first initiator choice we support. */
static const char *iscsi_pick_list(int id, const char *offer, bool *chosen_crc)
{
	char tmp[ISCSI_VALUE_MAX + 1];
	char *save = NULL, *tok;

	snprintf(tmp, sizeof(tmp), "%s", offer);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (id == K_AUTH_METHOD) {
			/* CHAP would be chosen here once configured; today only None. */
			if (!strcmp(tok, "None"))
				return "None";
		} else {
			if (!strcmp(tok, "None")) {
				*chosen_crc = false;
				return "None";
			}
			if (!strcmp(tok, "CRC32C")) {
				*chosen_crc = true;
				return "CRC32C";
			}
		}
	}
	return NULL;
}

static int iscsi_negotiate_one(struct iscsi_negotiation *n, enum iscsi_login_stage stage,
			       const char *key, const char *value, char *out, size_t out_max,
			       size_t *out_len)
{
	struct iscsi_params *p = &n->p;
	int id = iscsi_key_lookup(key);
	const struct iscsi_key *k;
	char num[24];
	uint64_t v;

	if (id < 0) {
		if (n->auth_defer && stage == ISCSI_STAGE_SECURITY && !strncmp(key, "CHAP_", 5)) {
			const char **slot = NULL;

			if (!strcmp(key, "CHAP_A"))
				slot = &n->chap.a;
			else if (!strcmp(key, "CHAP_I"))
				slot = &n->chap.i;
			else if (!strcmp(key, "CHAP_C"))
				slot = &n->chap.c;
			else if (!strcmp(key, "CHAP_N"))
				slot = &n->chap.n;
			else if (!strcmp(key, "CHAP_R"))
				slot = &n->chap.r;
			if (slot) {
				*slot = value;
				return 0;
			}
		}
		/* RFC 7143 6.2: unknown keys are answered NotUnderstood ("X-" and "X#" private
		 * extension keys included). */
		return iscsi_text_append(out, out_max, out_len, key, "NotUnderstood");
	}
	k = &iscsi_keys[id];
	if (n->seen & (1ull << id)) {
		snprintf(n->err, sizeof(n->err), "key %s negotiated twice", k->name);
		return -EINVAL;	/* RFC 7143 6.2: renegotiating a key is a protocol error */
	}
	n->seen |= 1ull << id;
	if (!(k->stages & (1u << stage))) {
		if (stage == ISCSI_STAGE_OPERATIONAL && k->kind == KEY_SECURITY)
			return iscsi_text_append(out, out_max, out_len, key, "Irrelevant");
		if (stage == ISCSI_STAGE_SECURITY && (k->stages & ST_OP))
			goto negotiate;	/* operational keys in the security stage: accepted */
		snprintf(n->err, sizeof(n->err), "key %s not allowed in this stage", k->name);
		return -EPROTO;
	}
negotiate:
	if (!strcmp(value, "NotUnderstood") || !strcmp(value, "Irrelevant") ||
	    !strcmp(value, "Reject"))
		return 0;

	switch (id) {
	case K_INITIATOR_NAME:
		snprintf(p->initiator_name, sizeof(p->initiator_name), "%s", value);
		return 0;
	case K_TARGET_NAME:
		snprintf(p->target_name, sizeof(p->target_name), "%s", value);
		return 0;
	case K_INITIATOR_ALIAS:
		snprintf(p->initiator_alias, sizeof(p->initiator_alias), "%s", value);
		return 0;
	case K_SESSION_TYPE:
		if (!strcmp(value, "Normal"))
			p->session_type = ISCSI_SESSION_NORMAL;
		else if (!strcmp(value, "Discovery"))
			p->session_type = ISCSI_SESSION_DISCOVERY;
		else {
			snprintf(n->err, sizeof(n->err), "bad SessionType");
			return -EINVAL;
		}
		return 0;
	case K_TARGET_ALIAS:
	case K_TARGET_ADDRESS:
	case K_TPGT:
	case K_SEND_TARGETS:
		/* Target-declared keys: an initiator may not send them during login. */
		return iscsi_text_append(out, out_max, out_len, key, "Irrelevant");
	case K_IF_MARK_INT:
	case K_OF_MARK_INT:
		/* RFC 7143 13.24 (RFC 3720 A.3.2): markers off, so intervals are irrelevant. */
		return iscsi_text_append(out, out_max, out_len, key, "Irrelevant");
	case K_MRDSL:
		/* Declarative, per direction (RFC 7143 13.12): theirs limits what we send; we
		 * answer with our own. */
		if (!iscsi_parse_num(value, &v) || v < k->min || v > k->max)
			return iscsi_text_append(out, out_max, out_len, key, "Reject");
		p->max_xmit_dsl = (uint32_t)v;
		snprintf(num, sizeof(num), "%u", (unsigned)n->our_max_recv_dsl);
		n->mrdsl_declared = true;
		return iscsi_text_append(out, out_max, out_len, key, num);
	case K_HEADER_DIGEST:
	case K_DATA_DIGEST:
	case K_AUTH_METHOD: {
		bool crc = false;
		const char *pick;

		if (id == K_AUTH_METHOD && n->auth_defer) {
			/* The login code answers once it knows the target's policy. */
			snprintf(n->auth_offer, sizeof(n->auth_offer), "%s", value);
			return 0;
		}
		pick = iscsi_pick_list(id, value, &crc);
		if (!pick) {
			if (id == K_AUTH_METHOD) {
				snprintf(n->err, sizeof(n->err), "no acceptable AuthMethod");
				return -EACCES;
			}
			return iscsi_text_append(out, out_max, out_len, key, "Reject");
		}
		if (id == K_HEADER_DIGEST)
			p->header_digest = crc;
		else if (id == K_DATA_DIGEST)
			p->data_digest = crc;
		else
			snprintf(p->auth_method, sizeof(p->auth_method), "%s", pick);
		return iscsi_text_append(out, out_max, out_len, key, pick);
	}
	default:
		break;
	}

	if (k->kind == KEY_NUM_MIN || k->kind == KEY_NUM_MAX) {
		uint32_t ours, *slot = iscsi_num_slot(n, id, &ours);
		uint32_t res;

		if (!slot || !iscsi_parse_num(value, &v) || v < k->min || v > k->max)
			return iscsi_text_append(out, out_max, out_len, key, "Reject");
		if (k->kind == KEY_NUM_MIN)
			res = v < ours ? (uint32_t)v : ours;
		else
			res = v > ours ? (uint32_t)v : ours;
		*slot = res;
		snprintf(num, sizeof(num), "%" PRIu32, res);
		return iscsi_text_append(out, out_max, out_len, key, num);
	}
	if (k->kind == KEY_BOOL_AND || k->kind == KEY_BOOL_OR) {
		bool ours, *slot = iscsi_bool_slot(p, id, &ours);
		int b = iscsi_parse_bool(value);
		bool res;

		if (!slot || b < 0)
			return iscsi_text_append(out, out_max, out_len, key, "Reject");
		res = k->kind == KEY_BOOL_AND ? (b && ours) : (b || ours);
		*slot = res;
		return iscsi_text_append(out, out_max, out_len, key, res ? "Yes" : "No");
	}
	return iscsi_text_append(out, out_max, out_len, key, "NotUnderstood");
}

int iscsi_params_negotiate(struct iscsi_negotiation *n, enum iscsi_login_stage stage,
			   char *req, size_t req_len, char *out, size_t out_max, size_t *out_len)
{
	struct iscsi_text_pair pairs[ISCSI_TEXT_MAX_PAIRS];
	int cnt, i, rc;

	memset(&n->chap, 0, sizeof(n->chap));
	cnt = iscsi_text_parse(req, req_len, pairs, ISCSI_TEXT_MAX_PAIRS);
	if (cnt < 0) {
		snprintf(n->err, sizeof(n->err), "malformed key=value list");
		return -EINVAL;
	}
	for (i = 0; i < cnt; i++) {
		rc = iscsi_negotiate_one(n, stage, pairs[i].key, pairs[i].value, out, out_max,
					 out_len);
		if (rc < 0)
			return rc;
	}
	/* ERL > 0 and more than one connection are negotiated down above (min with ours). The
	 * FirstBurstLength may not exceed MaxBurstLength (RFC 7143 13.14). */
	if (n->p.first_burst > n->p.max_burst)
		n->p.first_burst = n->p.max_burst;
	return 0;
}

/* Whether the response being built already carries key: a key appears at most once in a list
 * (RFC 7143 6.2), so a declaration must not repeat an answer (e.g. "Reject" to the initiator's
 * malformed value). */
static bool iscsi_text_has_key(const char *out, size_t out_len, const char *key)
{
	size_t pos = 0, kl = strlen(key);

	while (pos < out_len) {
		const char *p = out + pos;
		size_t plen = strnlen(p, out_len - pos);

		if (plen > kl && p[kl] == '=' && !memcmp(p, key, kl))
			return true;
		pos += plen + 1;
	}
	return false;
}

int iscsi_params_declare(struct iscsi_negotiation *n, char *out, size_t out_max, size_t *out_len)
{
	char num[24];
	int rc;

	if (!n->mrdsl_declared && !iscsi_text_has_key(out, *out_len, "MaxRecvDataSegmentLength")) {
		snprintf(num, sizeof(num), "%u", (unsigned)n->our_max_recv_dsl);
		rc = iscsi_text_append(out, out_max, out_len, "MaxRecvDataSegmentLength", num);
		if (rc)
			return rc;
		n->mrdsl_declared = true;
	}
	if (n->target_alias[0] && !(n->seen & (1ull << K_TARGET_ALIAS))) {
		rc = iscsi_text_append(out, out_max, out_len, "TargetAlias", n->target_alias);
		if (rc)
			return rc;
		n->seen |= 1ull << K_TARGET_ALIAS;
	}
	return 0;
}
