/* Unit tests for CHAP (src/fabric/iscsi/chap.c) and the access rules (src/target/acl.c).
 * Known answers: H(0x2a || "alicesecret123" || 00 01 02 .. n-1) computed independently with
 * `openssl dgst`, n being the challenge length the target uses for that algorithm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "ctl/config.h"
#include "fabric/iscsi/chap.h"
#include "fabric/iscsi/params.h"
#include "target/acl.h"

#define SECRET "alicesecret123"

static unsigned hook_calls;

/* First call: the identifier (0x2a); then the challenge 00 01 02 ... */
static int fixed_random(uint8_t *buf, size_t len)
{
	size_t i;

	if (hook_calls++ == 0) {
		buf[0] = 0x2a;
		return 0;
	}
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)i;
	return 0;
}

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

static void setup_session(struct chap_session *cs, const char *mutual_secret)
{
	struct chap_cred expect, mutual;

	assert_int_equal(chap_cred_set(&expect, "alice", SECRET, NULL, 0), 0);
	memset(&mutual, 0, sizeof(mutual));
	if (mutual_secret)
		assert_int_equal(chap_cred_set(&mutual, "tgt", mutual_secret, NULL, 0), 0);
	chap_session_init(cs, &expect, &mutual);
	hook_calls = 0;
	chap_random_hook = fixed_random;
}

/* Runs CHAP_A=alg and checks the challenge the target sends. */
static void challenge(struct chap_session *cs, const char *alg_list, unsigned want_alg,
		      size_t want_len)
{
	struct chap_keys k = { .a = alg_list };
	char out[1024], num[8];
	size_t len = 0;

	assert_int_equal(chap_step(cs, &k, out, sizeof(out), &len), 0);
	snprintf(num, sizeof(num), "%u", want_alg);
	assert_string_equal(answer(out, len, "CHAP_A"), num);
	assert_string_equal(answer(out, len, "CHAP_I"), "42");
	assert_int_equal(strlen(answer(out, len, "CHAP_C")), 2 + 2 * want_len);
	assert_int_equal(cs->challenge_len, want_len);
}

static void test_known_answers(void **state)
{
	static const struct {
		const char *list;
		unsigned alg;
		size_t chal_len;
		const char *resp;
	} v[] = {
		{ "5", 5, 16, "0x7b67826ac856c28be6861c8c242dc77b" },
		{ "6", 6, 20, "0xb4f8732de689cc5eff10b6378fff608f1847a740" },
		{ "9,7,5", 7, 32, "0x8512860764798b49205f1c6d4c45cc82b66735d36aa2eafd3668291bdd9af178" },
		{ "8", 8, 32, "0x045d49f4177682942de44c7ce0dd0fe0eb9a96c4277d51e4ce96d9ea83484442" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct chap_session cs;
		struct chap_keys k = { .n = "alice", .r = v[i].resp };
		char out[1024];
		size_t len = 0;

		setup_session(&cs, NULL);
		challenge(&cs, v[i].list, v[i].alg, v[i].chal_len);
		assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), 1);
		assert_int_equal(len, 0);
		assert_int_equal(cs.state, CHAP_DONE);
		chap_session_fini(&cs);
	}
	chap_random_hook = NULL;
}

static void test_bad_responses(void **state)
{
	static const char good[] = "0x7b67826ac856c28be6861c8c242dc77b";
	static const struct {
		const char *n, *r;
		int rc;
	} v[] = {
		/* CVE-2018-14633 class: longer than the digest is a protocol error, never copied. */
		{ "alice", "0x7b67826ac856c28be6861c8c242dc77b00", -EPROTO },
		{ "alice", "0x7b67826ac856c28be6861c8c242dc77b7b67826ac856c28be6861c8c242dc77b"
			   "7b67826ac856c28be6861c8c242dc77b7b67826ac856c28be6861c8c242dc77b", -EPROTO },
		{ "alice", "0x7b67826ac856c28be6861c8c242dc7", -EACCES },	/* short */
		{ "alice", "0x7b67826ac856c28be6861c8c242dc77c", -EACCES },	/* wrong */
		{ "mallory", good, -EACCES },
		{ "alice", "0xzz", -EPROTO },
		{ "alice", "7b67826ac856c28be6861c8c242dc77b", -EPROTO },	/* no 0x */
		{ NULL, good, -EPROTO },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct chap_session cs;
		struct chap_keys k = { .n = v[i].n, .r = v[i].r };
		char out[1024];
		size_t len = 0;

		setup_session(&cs, NULL);
		challenge(&cs, "5", 5, 16);
		assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), v[i].rc);
		assert_int_equal(cs.state, CHAP_FAILED);
		/* A failed exchange stays failed, even if the right answer follows. */
		k.n = "alice";
		k.r = good;
		assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), -EACCES);
		chap_session_fini(&cs);
	}
	chap_random_hook = NULL;
}

static void test_protocol_order(void **state)
{
	struct chap_session cs;
	struct chap_keys early = { .a = "5", .n = "alice", .r = "0x00" };
	struct chap_keys none = { .a = "1,2,3" };
	struct chap_keys again = { .a = "5" };
	char out[1024];
	size_t len = 0;

	(void)state;
	setup_session(&cs, NULL);
	assert_int_equal(chap_step(&cs, &early, out, sizeof(out), &len), -EPROTO);
	setup_session(&cs, NULL);
	assert_int_equal(chap_step(&cs, &none, out, sizeof(out), &len), -EACCES);
	assert_string_equal(answer(out, len, "CHAP_A"), "Reject");
	setup_session(&cs, NULL);
	challenge(&cs, "5", 5, 16);
	assert_int_equal(chap_step(&cs, &again, out, sizeof(out), &len), -EPROTO);
	chap_session_fini(&cs);
	chap_random_hook = NULL;
}

static void test_mutual(void **state)
{
	static const char good[] = "0x7b67826ac856c28be6861c8c242dc77b";
	struct chap_session cs;
	uint8_t want[16];
	char out[1024], hex[40];
	uint8_t chal[4] = { 1, 2, 3, 4 };
	size_t len = 0;
	struct chap_keys k = { .n = "alice", .r = good, .i = "7", .c = "0x01020304" };

	(void)state;
	/* No target credentials: mutual CHAP refused. */
	setup_session(&cs, NULL);
	challenge(&cs, "5", 5, 16);
	assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), -EACCES);

	/* The initiator sends our challenge back: refused (RFC 7143 12.1.3). */
	setup_session(&cs, "targetsecret456");
	challenge(&cs, "5", 5, 16);
	k.c = "0x000102030405060708090a0b0c0d0e0f";
	len = 0;
	assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), -EACCES);
	assert_int_equal(len, 0);

	/* A wrong initiator response gets no answer to its challenge (no oracle). */
	setup_session(&cs, "targetsecret456");
	challenge(&cs, "5", 5, 16);
	k.c = "0x01020304";
	k.r = "0x00000000000000000000000000000000";
	len = 0;
	assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), -EACCES);
	assert_int_equal(len, 0);

	/* Same secret both ways: refused. */
	setup_session(&cs, SECRET);
	challenge(&cs, "5", 5, 16);
	k.r = good;
	assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), -EACCES);

	/* Mutual CHAP: N and R for the initiator's challenge (base64 form accepted too). */
	setup_session(&cs, "targetsecret456");
	challenge(&cs, "5", 5, 16);
	k.c = "0bAQIDBA==";
	len = 0;
	assert_int_equal(chap_step(&cs, &k, out, sizeof(out), &len), 1);
	assert_true(cs.mutual_done);
	assert_string_equal(answer(out, len, "CHAP_N"), "tgt");
	assert_int_equal(chap_hash_find(5)->digest(7, (const uint8_t *)"targetsecret456", 15, chal,
						   sizeof(chal), want),
			 0);
	chap_encode_hex(want, 16, hex);
	assert_string_equal(answer(out, len, "CHAP_R"), hex);
	chap_session_fini(&cs);
	chap_random_hook = NULL;
}

static void test_decode(void **state)
{
	uint8_t b[4];
	size_t len;

	(void)state;
	assert_int_equal(chap_decode("0x0a0B", b, 4, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0x0b);
	assert_int_equal(chap_decode("0xabc", b, 4, &len), 0);	/* implied leading zero */
	assert_int_equal(len, 2);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xbc);
	assert_int_equal(chap_decode("0x0102030405", b, 4, &len), -E2BIG);
	assert_int_equal(chap_decode("0bAQIDBA==", b, 4, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(chap_decode("0bAQIDBAU=", b, 4, &len), -E2BIG);
	assert_int_equal(chap_decode("0bAQ=D", b, 4, &len), -EINVAL);
	assert_int_equal(chap_decode("0b===", b, 4, &len), -EINVAL);
	assert_int_equal(chap_decode("0x", b, 4, &len), -EINVAL);
	assert_int_equal(chap_decode("", b, 4, &len), -EINVAL);
	assert_int_equal(chap_decode("0x1g", b, 4, &len), -EINVAL);
}

static void test_acl_rules(void **state)
{
	struct target_auth a;
	struct acl_entry *e;
	const struct chap_cred *cred;
	char err[128];

	(void)state;
	target_auth_init(&a);
	assert_int_equal(target_auth_check(&a, "iqn.2026-01.x:any", &cred), ACL_OPEN);
	assert_int_equal(chap_cred_set(&a.chap, "u", "short", err, sizeof(err)), -EINVAL);
	assert_int_equal(chap_cred_set(&a.chap, "u\n", "longenoughsecret", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(chap_cred_parse(&a.chap, "user:long:secret:x", err, sizeof(err)), 0);
	assert_string_equal(a.chap.secret, "long:secret:x");
	assert_int_equal(target_auth_check(&a, "iqn.2026-01.x:any", &cred), ACL_CHAP);
	assert_ptr_equal(cred, &a.chap);

	assert_int_equal(target_auth_acl_add(&a, "iqn.2026-01.x:Bad\x01", NULL), -EINVAL);
	assert_int_equal(target_auth_acl_add(&a, "iqn.2026-01.x:one", &e), 0);
	assert_int_equal(target_auth_acl_add(&a, "iqn.2026-01.x:one", NULL), -EEXIST);
	assert_int_equal(chap_cred_set(&e->chap, "one", "onesecret1234", NULL, 0), 0);
	assert_int_equal(acl_entry_map(e, 0, 3), 0);
	assert_int_equal(acl_entry_map(e, 0, 4), -EEXIST);
	assert_int_equal(acl_entry_map(e, 256, 4), -ERANGE);
	assert_int_equal(target_auth_acl_add(&a, "iqn.2026-01.x:two", NULL), 0);
	assert_int_equal(target_auth_check(&a, "iqn.2026-01.x:any", &cred), ACL_DENY);
	assert_int_equal(target_auth_check(&a, "iqn.2026-01.x:one", &cred), ACL_CHAP);
	assert_string_equal(cred->user, "one");
	assert_int_equal(target_auth_check(&a, "iqn.2026-01.x:two", &cred), ACL_CHAP);
	assert_string_equal(cred->user, "user");
	assert_int_equal(target_auth_acl_del(&a, "iqn.2026-01.x:one"), 0);
	assert_int_equal(target_auth_acl_del(&a, "iqn.2026-01.x:one"), -ENOENT);

	assert_true(target_auth_portal_ok(&a, "10.0.0.1:3260"));
	assert_int_equal(target_auth_portal_add(&a, "10.0.0.1:3260"), 0);
	assert_int_equal(target_auth_portal_add(&a, "[::]:3261"), 0);
	assert_true(target_auth_portal_ok(&a, "10.0.0.1:3260"));
	assert_false(target_auth_portal_ok(&a, "10.0.0.2:3260"));
	assert_true(target_auth_portal_ok(&a, "[::1]:3261"));
	assert_false(target_auth_portal_ok(&a, "[::1]:3260"));
	assert_false(target_auth_portal_ok(&a, "10.0.0.1:3261"));
	target_auth_free(&a);
}

static void test_config_roundtrip(void **state)
{
	static const char in[] =
		"{\"version\":2,\"discovery_auth\":{\"chap\":{\"user\":\"d\",\"secret\":"
		"\"discoverysecret\"}},\"targets\":[{\"iqn\":\"iqn.2026-11.a:b\",\"auth\":{"
		"\"chap\":{\"user\":\"u\",\"secret\":\"usersecret1234\"},"
		"\"mutual_chap\":{\"user\":\"t\",\"secret\":\"targetsecret12\"},"
		"\"acl\":[{\"initiator\":\"iqn.2026-01.x:one\",\"luns\":[{\"lun\":0,"
		"\"target_lun\":2}]}],\"portals\":[\"127.0.0.1\"]}}]}";
	struct ctl_config c, again;
	char err[512] = "", *out, *out2;

	(void)state;
	assert_int_equal(ctl_config_loads(in, &c, err, sizeof(err)), 0);
	assert_int_equal(c.targets[0].auth.nacls, 1);
	assert_int_equal(c.targets[0].auth.acls[0].map[0], 2);
	assert_string_equal(c.targets[0].auth.portals[0], "127.0.0.1:3260");
	assert_int_equal(ctl_config_min_version(&c), 2);
	out = ctl_config_dumps(&c);
	assert_non_null(strstr(out, "usersecret1234"));
	assert_int_equal(ctl_config_loads(out, &again, err, sizeof(err)), 0);
	out2 = ctl_config_dumps(&again);
	assert_string_equal(out, out2);
	free(out2);
	/* What RPC answers carry: no secrets. */
	again.redact_secrets = true;
	out2 = ctl_config_dumps(&again);
	assert_null(strstr(out2, "usersecret1234"));
	assert_null(strstr(out2, "discoverysecret"));
	assert_non_null(strstr(out2, "secret_set"));
	free(out2);
	free(out);
	ctl_config_free(&again);
	ctl_config_free(&c);

	/* Security settings are never ignored: an unknown key there is an error. */
	assert_int_equal(ctl_config_loads("{\"version\":2,\"targets\":[{\"iqn\":\"iqn.2026-11.a:b\","
					  "\"auth\":{\"chapp\":{}}}]}",
					  &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "targets[0].auth.chapp: unknown key");
	assert_int_equal(ctl_config_loads("{\"version\":2,\"targets\":[{\"iqn\":\"iqn.2026-11.a:b\","
					  "\"auth\":{\"chap\":{\"user\":\"u\",\"secret\":\"x\"}}}]}",
					  &c, err, sizeof(err)),
			 -EINVAL);
	/* A config without auth is still written as version 1. */
	assert_int_equal(ctl_config_loads("{\"version\":1}", &c, err, sizeof(err)), 0);
	assert_int_equal(ctl_config_min_version(&c), 1);
	ctl_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_bad_responses),
		cmocka_unit_test(test_protocol_order),
		cmocka_unit_test(test_mutual),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_acl_rules),
		cmocka_unit_test(test_config_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
