/* Unit tests for iSCSI text parsing and negotiation (src/fabric/iscsi/params.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "fabric/iscsi/params.h"

/* Build a NUL-separated request from "k=v" strings. */
static size_t build(char *buf, size_t max, const char *const *kv, unsigned n)
{
	size_t len = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		size_t l = strlen(kv[i]) + 1;

		assert_true(len + l <= max);
		memcpy(buf + len, kv[i], l);
		len += l;
	}
	return len;
}

/* The value answered for key in a response, or NULL. */
static const char *answer(const char *out, size_t len, const char *key)
{
	size_t pos = 0, kl = strlen(key);

	while (pos < len) {
		const char *p = out + pos;

		if (!strncmp(p, key, kl) && p[kl] == '=')
			return p + kl + 1;
		pos += strlen(p) + 1;
	}
	return NULL;
}

static int negotiate(struct iscsi_negotiation *n, enum iscsi_login_stage st,
		     const char *const *kv, unsigned cnt, char *out, size_t *out_len)
{
	char req[4096];
	size_t len = build(req, sizeof(req), kv, cnt);

	*out_len = 0;
	return iscsi_params_negotiate(n, st, req, len, out, 8192, out_len);
}

static void test_parse_ok(void **state)
{
	char buf[] = "A=1\0B.c-d=hello world\0Empty=\0";
	struct iscsi_text_pair p[8];

	(void)state;
	assert_int_equal(iscsi_text_parse(buf, sizeof(buf) - 1, p, 8), 3);
	assert_string_equal(p[0].key, "A");
	assert_string_equal(p[0].value, "1");
	assert_string_equal(p[1].key, "B.c-d");
	assert_string_equal(p[1].value, "hello world");
	assert_string_equal(p[2].value, "");
}

static void test_parse_malformed(void **state)
{
	struct iscsi_text_pair p[8];
	char no_eq[] = "Key\0";
	char no_nul[] = { 'K', '=', 'v' };
	char empty_key[] = "=v\0";
	char bad_char[] = "K y=v\0";
	char dup[] = "K=1\0K=2\0";
	char long_val[300];
	char long_key[80];

	(void)state;
	assert_int_equal(iscsi_text_parse(no_eq, sizeof(no_eq) - 1, p, 8), -EINVAL);
	assert_int_equal(iscsi_text_parse(no_nul, sizeof(no_nul), p, 8), -EINVAL);
	assert_int_equal(iscsi_text_parse(empty_key, sizeof(empty_key) - 1, p, 8), -EINVAL);
	assert_int_equal(iscsi_text_parse(bad_char, sizeof(bad_char) - 1, p, 8), -EINVAL);
	assert_int_equal(iscsi_text_parse(dup, sizeof(dup) - 1, p, 8), -EINVAL);
	/* Value of 256 bytes: over the 255 limit. */
	memcpy(long_val, "K=", 2);
	memset(long_val + 2, 'a', 256);
	long_val[258] = '\0';
	assert_int_equal(iscsi_text_parse(long_val, 259, p, 8), -EINVAL);
	/* 255 is fine (the parse above split the buffer in place: restore it). */
	long_val[1] = '=';
	long_val[257] = '\0';
	assert_int_equal(iscsi_text_parse(long_val, 258, p, 8), 1);
	/* Key of 64 bytes: over 63. */
	memset(long_key, 'k', 64);
	long_key[64] = '=';
	long_key[65] = '\0';
	assert_int_equal(iscsi_text_parse(long_key, 66, p, 8), -EINVAL);
	/* Too many pairs for the array. */
	{
		char many[] = "A=1\0B=2\0C=3\0";

		assert_int_equal(iscsi_text_parse(many, sizeof(many) - 1, p, 2), -E2BIG);
	}
}

static void test_numeric_min_max(void **state)
{
	static const char *const kv[] = {
		"MaxBurstLength=16776192", "FirstBurstLength=4096", "DefaultTime2Wait=10",
		"DefaultTime2Retain=5", "MaxOutstandingR2T=4", "MaxConnections=8",
	};
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 6, out, &len), 0);
	/* Min: ours is smaller. */
	assert_string_equal(answer(out, len, "MaxBurstLength"), "1048576");
	assert_int_equal(n.p.max_burst, ISCSI_OUR_MAX_BURST);
	/* Min: theirs is smaller. */
	assert_string_equal(answer(out, len, "FirstBurstLength"), "4096");
	assert_int_equal(n.p.first_burst, 4096);
	/* Max function. */
	assert_string_equal(answer(out, len, "DefaultTime2Wait"), "10");
	assert_string_equal(answer(out, len, "DefaultTime2Retain"), "0");
	assert_string_equal(answer(out, len, "MaxOutstandingR2T"), "4");
	assert_string_equal(answer(out, len, "MaxConnections"), "1");
}

static void test_numeric_range(void **state)
{
	static const char *const kv[] = { "MaxBurstLength=100", "MaxOutstandingR2T=abc",
					  "FirstBurstLength=0x1000" };
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 3, out, &len), 0);
	assert_string_equal(answer(out, len, "MaxBurstLength"), "Reject");
	assert_string_equal(answer(out, len, "MaxOutstandingR2T"), "Reject");
	assert_string_equal(answer(out, len, "FirstBurstLength"), "4096");
}

static void test_boolean_and_or(void **state)
{
	static const char *const kv[] = { "InitialR2T=No", "ImmediateData=Yes",
					  "DataPDUInOrder=No", "IFMarker=Yes", "OFMarker=Maybe" };
	static const char *const kv2[] = { "InitialR2T=Yes", "ImmediateData=No" };
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 5, out, &len), 0);
	assert_string_equal(answer(out, len, "InitialR2T"), "No");	/* OR(No, No) */
	assert_false(n.p.initial_r2t);
	assert_string_equal(answer(out, len, "ImmediateData"), "Yes");	/* AND(Yes, Yes) */
	assert_string_equal(answer(out, len, "DataPDUInOrder"), "Yes");	/* OR(No, Yes) */
	assert_string_equal(answer(out, len, "IFMarker"), "No");	/* AND(Yes, No) */
	assert_string_equal(answer(out, len, "OFMarker"), "Reject");

	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv2, 2, out, &len), 0);
	assert_string_equal(answer(out, len, "InitialR2T"), "Yes");
	assert_true(n.p.initial_r2t);
	assert_string_equal(answer(out, len, "ImmediateData"), "No");
	assert_false(n.p.immediate_data);
}

static void test_lists_and_declarative(void **state)
{
	static const char *const kv[] = { "HeaderDigest=CRC32C,None", "DataDigest=None",
					  "MaxRecvDataSegmentLength=65536", "ErrorRecoveryLevel=2" };
	static const char *const bad[] = { "HeaderDigest=MD5" };
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 4, out, &len), 0);
	assert_string_equal(answer(out, len, "HeaderDigest"), "CRC32C");
	assert_true(n.p.header_digest);
	assert_string_equal(answer(out, len, "DataDigest"), "None");
	assert_false(n.p.data_digest);
	/* Declarative: theirs limits what we send, we answer with ours. */
	assert_int_equal(n.p.max_xmit_dsl, 65536);
	assert_string_equal(answer(out, len, "MaxRecvDataSegmentLength"), "262144");
	assert_string_equal(answer(out, len, "ErrorRecoveryLevel"), "0");
	assert_int_equal(n.p.erl, 0);

	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, bad, 1, out, &len), 0);
	assert_string_equal(answer(out, len, "HeaderDigest"), "Reject");
}

static void test_security_stage(void **state)
{
	static const char *const kv[] = { "InitiatorName=iqn.2024-01.org.example:init",
					  "SessionType=Normal", "TargetName=iqn.2024-01.org.example:t",
					  "AuthMethod=CHAP,None", "X-com.example.Foo=1" };
	static const char *const chap_only[] = { "AuthMethod=CHAP" };
	static const char *const bad_type[] = { "SessionType=Weird" };
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_SECURITY, kv, 5, out, &len), 0);
	assert_string_equal(n.p.initiator_name, "iqn.2024-01.org.example:init");
	assert_string_equal(n.p.target_name, "iqn.2024-01.org.example:t");
	assert_int_equal(n.p.session_type, ISCSI_SESSION_NORMAL);
	assert_string_equal(answer(out, len, "AuthMethod"), "None");
	assert_string_equal(answer(out, len, "X-com.example.Foo"), "NotUnderstood");
	/* Declarations get no answer. */
	assert_null(answer(out, len, "InitiatorName"));

	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_SECURITY, chap_only, 1, out, &len), -EACCES);
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_SECURITY, bad_type, 1, out, &len), -EINVAL);
}

static void test_unknown_and_duplicates(void **state)
{
	static const char *const kv[] = { "FooBar=1" };
	static const char *const again[] = { "MaxBurstLength=4096" };
	struct iscsi_negotiation n;
	char out[8192], req[] = "MaxBurstLength=4096\0MaxBurstLength=8192\0";
	size_t len = 0;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 1, out, &len), 0);
	assert_string_equal(answer(out, len, "FooBar"), "NotUnderstood");
	/* Same key twice in one list: malformed. */
	iscsi_negotiation_init(&n);
	len = 0;
	assert_int_equal(iscsi_params_negotiate(&n, ISCSI_STAGE_OPERATIONAL, req, sizeof(req) - 1,
						out, sizeof(out), &len),
			 -EINVAL);
	/* Same key again in a later PDU of the same negotiation: also an error. */
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, again, 1, out, &len), 0);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, again, 1, out, &len), -EINVAL);
}

static void test_declare_and_space(void **state)
{
	struct iscsi_negotiation n;
	char out[64];
	size_t len = 0;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(iscsi_params_declare(&n, out, sizeof(out), &len), 0);
	assert_string_equal(out, "MaxRecvDataSegmentLength=262144");
	/* Declared once only. */
	len = 0;
	assert_int_equal(iscsi_params_declare(&n, out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
	/* No room. */
	len = 60;
	assert_int_equal(iscsi_text_append(out, sizeof(out), &len, "Key", "Value"), -ENOSPC);
}

/* Found by fuzz_login: a rejected MaxRecvDataSegmentLength must not be followed by our
 * declaration in the same response (a key at most once per list, RFC 7143 6.2). */
static void test_declare_after_reject(void **state)
{
	static const char *const kv[] = { "MaxRecvDataSegmentLength=12x" };
	struct iscsi_text_pair pairs[8];
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 1, out, &len), 0);
	assert_string_equal(answer(out, len, "MaxRecvDataSegmentLength"), "Reject");
	assert_int_equal(iscsi_params_declare(&n, out, sizeof(out), &len), 0);
	assert_int_equal(iscsi_text_parse(out, len, pairs, 8), 1);
}

static void test_first_burst_capped(void **state)
{
	static const char *const kv[] = { "MaxBurstLength=8192", "FirstBurstLength=65536" };
	struct iscsi_negotiation n;
	char out[8192];
	size_t len;

	(void)state;
	iscsi_negotiation_init(&n);
	assert_int_equal(negotiate(&n, ISCSI_STAGE_OPERATIONAL, kv, 2, out, &len), 0);
	assert_int_equal(n.p.max_burst, 8192);
	assert_int_equal(n.p.first_burst, 8192);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_numeric_min_max),
		cmocka_unit_test(test_numeric_range),
		cmocka_unit_test(test_boolean_and_or),
		cmocka_unit_test(test_lists_and_declarative),
		cmocka_unit_test(test_security_stage),
		cmocka_unit_test(test_unknown_and_duplicates),
		cmocka_unit_test(test_declare_and_space),
		cmocka_unit_test(test_first_burst_capped),
		cmocka_unit_test(test_declare_after_reject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
