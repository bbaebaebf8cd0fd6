/* Compatibility descriptions (src/ctl/compat.c): a LU's description round-trips through the
 * check; every difference a guest would notice is refused and named; malformed descriptions are
 * errors, not verdicts. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "ctl/compat.h"
#include "scsi/lu.h"

struct reasons {
	int n;
	char text[8][512];
};

static void collect(const char *reason, void *arg)
{
	struct reasons *r = arg;

	if (r->n < 8)
		snprintf(r->text[r->n], sizeof(r->text[0]), "%s", reason);
	r->n++;
}

static json_t *describe(const char *profile, uint32_t block_size, uint64_t size, const char *serial)
{
	struct lu_config cfg = { .backstore = "ram", .size = size, .block_size = block_size };
	struct lu *lu;
	char err[256];
	json_t *d;

	snprintf(cfg.profile, sizeof(cfg.profile), "%s", profile);
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", serial);
	assert_int_equal(lu_create(&cfg, "iqn.2026-01.test:tgt/0", &lu, err, sizeof(err)), 0);
	d = compat_describe_lu(lu, "iqn.2026-01.test:tgt", 0);
	lu_put(lu);
	assert_non_null(d);
	return d;
}

static int check(json_t *a, json_t *b, struct reasons *r, char *err, size_t err_len)
{
	memset(r, 0, sizeof(*r));
	return compat_check(a, b, collect, r, err, err_len);
}

static void test_describe_fields(void **state)
{
	json_t *d = describe("invar-2026.2", 512, 1 << 20, "SER1");

	assert_int_equal(json_integer_value(json_object_get(d, "describe_version")), 1);
	assert_string_equal(json_string_value(json_object_get(d, "device_api")), "scsi-sbc");
	assert_string_equal(json_string_value(json_object_get(d, "type")), "disk");
	assert_string_equal(json_string_value(json_object_get(d, "profile")), "invar-2026.2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "identity"),
							      "serial")), "SER1");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "attributes"),
							    "capacity_blocks")), 2048);
	json_decref(d);
}

static void test_same_is_compatible(void **state)
{
	json_t *a = describe("invar-2026.2", 512, 1 << 20, "SER1");
	json_t *b = describe("invar-2026.2", 512, 1 << 20, "SER1");
	struct reasons r;
	char err[256];

	assert_int_equal(check(a, b, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	json_decref(a);
	json_decref(b);
}

static void test_each_difference_named(void **state)
{
	json_t *a = describe("invar-2026.2", 512, 1 << 20, "SER1");
	json_t *b;
	struct reasons r;
	char err[256];

	b = describe("invar-2026.1", 512, 1 << 20, "SER1");
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	/* 2026.1 also answers as fully provisioned, without LBPRZ: three reasons. */
	assert_int_equal(r.n, 3);
	assert_non_null(strstr(r.text[0], "behaviour profile differs"));
	assert_non_null(strstr(r.text[1], "provisioning differs"));
	assert_non_null(strstr(r.text[2], "LBPRZ"));
	json_decref(b);

	b = describe("invar-2026.2", 4096, 1 << 20, "SER1");
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	assert_non_null(strstr(r.text[0], "block size differs: 512 on the source, 4096"));
	json_decref(b);

	b = describe("invar-2026.2", 512, 1 << 19, "SER1");
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text[0], "capacity smaller on the destination: 1024 blocks"));
	/* The other way round: larger changes READ CAPACITY too. */
	assert_int_equal(check(b, a, &r, err, sizeof(err)), 1);
	assert_non_null(strstr(r.text[0], "capacity larger"));
	json_decref(b);

	b = describe("invar-2026.2", 512, 1 << 20, "SER2");
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text[0], "serial number (VPD 80h) differs"));
	json_decref(b);

	b = json_deep_copy(a);
	json_object_set_new(json_object_get(b, "identity"), "naa", json_string("3000000000000001"));
	json_object_set_new(b, "device_api", json_string("scsi-mmc"));
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	assert_int_equal(r.n, 2);
	assert_non_null(strstr(r.text[0], "device API differs"));
	assert_non_null(strstr(r.text[1], "NAA designator"));
	json_decref(b);
	json_decref(a);
}

static void test_draft_across_versions(void **state)
{
	json_t *a = describe("invar-2026.3", 512, 1 << 20, "SER1");
	json_t *b;
	struct reasons r;
	char err[256];

	/* No profile is a draft today (invar-2026.3 is released): a description that says its
	 * profile is one stands in for the next draft. */
	json_object_set_new(a, "profile_draft", json_true());
	b = json_deep_copy(a);
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 0);
	json_object_set_new(b, "software_version", json_string("99.0.0"));
	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	assert_non_null(strstr(r.text[0], "is a draft"));
	json_decref(a);
	json_decref(b);
}

static void test_newer_version(void **state)
{
	json_t *a = describe("invar-2026.2", 512, 1 << 20, "SER1");
	json_t *b = json_pack("{s:i, s:s}", "describe_version", 2, "whatever", "new");
	struct reasons r;
	char err[256];

	assert_int_equal(check(a, b, &r, err, sizeof(err)), 1);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text[0], "destination: describe_version 2 is newer"));
	json_decref(a);
	json_decref(b);
}

static void test_malformed(void **state)
{
	json_t *a = describe("invar-2026.2", 512, 1 << 20, "SER1");
	json_t *b = json_deep_copy(a);
	struct reasons r;
	char err[256];

	json_object_del(json_object_get(b, "attributes"), "block_size");
	assert_int_equal(check(a, b, &r, err, sizeof(err)), -1);
	assert_int_equal(r.n, 0);
	assert_string_equal(err, "destination description: \"attributes.block_size\" is missing");
	json_object_set_new(json_object_get(b, "attributes"), "block_size", json_string("512"));
	assert_int_equal(check(a, b, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a non-negative integer"));
	json_decref(b);
	b = json_array();
	assert_int_equal(check(b, a, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "source description: not a JSON object");
	json_decref(b);
	b = json_pack("{s:i}", "describe_version", 0);
	assert_int_equal(check(a, b, &r, err, sizeof(err)), -1);
	json_decref(b);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_fields),
		cmocka_unit_test(test_same_is_compatible),
		cmocka_unit_test(test_each_difference_named),
		cmocka_unit_test(test_draft_across_versions),
		cmocka_unit_test(test_newer_version),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
