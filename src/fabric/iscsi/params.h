/* iSCSI text keys: parsing key=value lists and negotiating login/text parameters
 * (RFC 7143 6, 13). No sockets here: everything is unit-testable on buffers. */
#ifndef INVAR_FABRIC_ISCSI_PARAMS_H
#define INVAR_FABRIC_ISCSI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/limits.h"

#define ISCSI_KEY_NAME_MAX 63		/* RFC 7143 6.1: key names up to 63 bytes */
#define ISCSI_VALUE_MAX 255		/* RFC 7143 6.1: values up to 255 bytes by default */
#define ISCSI_VALUE_LONG_MAX 8192	/* keys that allow longer values (CHAP binary values) */
#define ISCSI_TEXT_MAX_PAIRS 64		/* more than this in one negotiation is rejected */

/* Our own limits (what the target declares or accepts). */
#define ISCSI_OUR_MAX_RECV_DSL 262144
#define ISCSI_OUR_MAX_BURST 1048576
#define ISCSI_OUR_FIRST_BURST 262144
#define ISCSI_OUR_MAX_OUTSTANDING_R2T 16
/* Login-phase MaxRecvDataSegmentLength: 8192 on both sides (RFC 7143 13.12). */
#define ISCSI_LOGIN_DSL 8192

struct iscsi_text_pair {
	const char *key;	/* NUL terminated, pointing into the parsed buffer */
	const char *value;
};

/* Parses a NUL-separated "key=value" list (RFC 7143 6.1) in place: the caller's buffer must be
 * writable and is only split at '='. Rejects keys that are empty, too long or with characters
 * outside RFC 7143 6.1's set, values that are too long, missing '=', and the same key twice.
 * Returns the number of pairs (0..max) or -EINVAL / -E2BIG. */
int iscsi_text_parse(char *buf, size_t len, struct iscsi_text_pair *pairs, unsigned max);

enum iscsi_session_type {
	ISCSI_SESSION_NONE = 0,
	ISCSI_SESSION_NORMAL,
	ISCSI_SESSION_DISCOVERY,
};

enum iscsi_login_stage {
	ISCSI_STAGE_SECURITY = 0,
	ISCSI_STAGE_OPERATIONAL = 1,
	ISCSI_STAGE_FULL_FEATURE = 3,
};

/* The negotiated result for a connection/session, plus what the initiator declared. */
struct iscsi_params {
	uint32_t max_recv_dsl;		/* ours: the largest data segment we accept */
	uint32_t max_xmit_dsl;		/* the initiator's MaxRecvDataSegmentLength */
	uint32_t max_burst;
	uint32_t first_burst;
	uint32_t max_outstanding_r2t;
	uint32_t time2wait;
	uint32_t time2retain;
	uint32_t erl;
	uint32_t max_connections;
	bool initial_r2t;
	bool immediate_data;
	bool data_pdu_in_order;
	bool data_seq_in_order;
	bool header_digest;
	bool data_digest;
	bool if_marker, of_marker;
	enum iscsi_session_type session_type;
	char initiator_name[INVAR_NAME_MAX + 1];
	char target_name[INVAR_NAME_MAX + 1];
	char initiator_alias[ISCSI_VALUE_MAX + 1];
	char auth_method[16];		/* the selected AuthMethod, "None" today */
};

/* The CHAP keys of one request (pointers into the request text, NULL if absent). */
struct chap_keys {
	const char *a, *i, *c, *n, *r;
};

/* A negotiation in progress: the parameters and which keys have been seen. */
struct iscsi_negotiation {
	struct iscsi_params p;
	uint64_t seen;			/* bit per key table index */
	/* Security keys left to the login code (auth_defer set before negotiating): AuthMethod is
	 * then not answered here but its offer kept in auth_offer, and the CHAP_A/I/C/N/R of
	 * the last request land in chap (pointing into that request's buffer). */
	bool auth_defer;
	char auth_offer[ISCSI_VALUE_MAX + 1];
	struct chap_keys chap;
	bool mrdsl_declared;		/* we have sent our MaxRecvDataSegmentLength */
	/* Our limits (invard --limit; ISCSI_OUR_* by default): declared and negotiated against. */
	uint32_t our_max_recv_dsl;
	uint32_t our_max_burst;
	uint32_t our_first_burst;
	char target_alias[ISCSI_VALUE_MAX + 1];	/* "" = none */
	/* A reason for the last failed negotiation, for the log. */
	char err[128];
};

/* RFC 7143 13 defaults, with our own limits. */
void iscsi_params_defaults(struct iscsi_params *p);
void iscsi_negotiation_init(struct iscsi_negotiation *n);

/* Answer one request's key list for the given stage: appends the response pairs to out (NUL
 * separated) at *out_len, at most out_max bytes. Unknown keys answer NotUnderstood, values out
 * of range Reject, irrelevant keys (e.g. security keys in the operational stage) Irrelevant.
 * Returns 0, or -EINVAL for a malformed list (initiator error), -EPROTO for a key the stage must
 * not carry or an unsupported value we cannot negotiate away (ErrorRecoveryLevel...), -ENOSPC
 * when the response does not fit. */
int iscsi_params_negotiate(struct iscsi_negotiation *n, enum iscsi_login_stage stage,
			   char *req, size_t req_len, char *out, size_t out_max, size_t *out_len);

/* Adds what the target declares on moving to full feature phase when the initiator did not ask
 * (our MaxRecvDataSegmentLength, so the initiator never exceeds it). Same return as above. */
int iscsi_params_declare(struct iscsi_negotiation *n, char *out, size_t out_max, size_t *out_len);

/* Append "key=value\0" to out. Returns 0 or -ENOSPC. */
int iscsi_text_append(char *out, size_t out_max, size_t *out_len, const char *key,
		      const char *value);

#endif
