/* The --listen / `invarctl portal add` spec: "ADDR:PORT[,tpg=N]". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/portalspec.h"

static void expect_ok(const char *spec, const char *addr, unsigned tpg)
{
	char out[128], err[256] = "";
	unsigned t = 0;

	if (ctl_portal_spec_parse(spec, out, sizeof(out), &t, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", spec, err);
	assert_string_equal(out, addr);
	assert_int_equal(t, tpg);
}

static void expect_err(const char *spec, const char *msg)
{
	char out[128], err[256] = "";
	unsigned t = 0;

	assert_int_equal(ctl_portal_spec_parse(spec, out, sizeof(out), &t, err, sizeof(err)),
			 -EINVAL);
	if (strcmp(err, msg))
		fail_msg("'%s'\n  error:    '%s'\n  expected: '%s'", spec, err, msg);
}

static void test_spec_ok(void **state)
{
	expect_ok("127.0.0.1:3260", "127.0.0.1:3260", 1);
	expect_ok("127.0.0.1", "127.0.0.1:3260", 1);
	expect_ok("127.0.0.1:3261,tpg=2", "127.0.0.1:3261", 2);
	expect_ok("0.0.0.0:3260,tpg=65535", "0.0.0.0:3260", 65535);
	expect_ok("[0::1]:3262,tpg=7", "[::1]:3262", 7);
	expect_ok("[::1],tpg=1", "[::1]:3260", 1);
}

static void test_spec_errors(void **state)
{
	expect_err("127.0.0.1:3260,tpg=0", "portal '127.0.0.1:3260,tpg=0': tpg must be 1 to 65535");
	expect_err("127.0.0.1:3260,tpg=65536",
		   "portal '127.0.0.1:3260,tpg=65536': tpg must be 1 to 65535");
	expect_err("127.0.0.1:3260,tpg=", "portal '127.0.0.1:3260,tpg=': tpg must be 1 to 65535");
	expect_err("127.0.0.1:3260,tpg=-1", "portal '127.0.0.1:3260,tpg=-1': tpg must be 1 to 65535");
	expect_err("127.0.0.1:3260,tpg=2x", "portal '127.0.0.1:3260,tpg=2x': tpg must be 1 to 65535");
	expect_err("127.0.0.1:3260,tpg=0000002",
		   "portal '127.0.0.1:3260,tpg=0000002': tpg must be 1 to 65535");
	expect_err("127.0.0.1:3260,tpg=2,tpg=3",
		   "portal '127.0.0.1:3260,tpg=2,tpg=3': tpg given twice");
	expect_err("127.0.0.1:3260,group=2",
		   "portal '127.0.0.1:3260,group=2': unknown option 'group=2' (expected tpg=N)");
	expect_err("127.0.0.1:3260,", "portal '127.0.0.1:3260,': unknown option '' (expected tpg=N)");
	expect_err("host:3260,tpg=2", "address 'host:3260': 'host' is not a numeric IPv4 address");
	expect_err(",tpg=2", "address '': '' is not a numeric IPv4 address");
}

static void test_spec_too_long(void **state)
{
	char spec[400];

	memset(spec, '1', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	expect_err(spec, "portal spec is longer than 255 bytes");
}

static void test_tpg_parse(void **state)
{
	unsigned t = 0;

	assert_int_equal(ctl_tpg_parse("1", &t), 0);
	assert_int_equal(t, 1);
	assert_int_equal(ctl_tpg_parse("65535", &t), 0);
	assert_int_equal(t, 65535);
	assert_int_equal(ctl_tpg_parse("0", &t), -EINVAL);
	assert_int_equal(ctl_tpg_parse("", &t), -EINVAL);
	assert_int_equal(ctl_tpg_parse(" 2", &t), -EINVAL);
	assert_int_equal(ctl_tpg_parse("99999999999999999999", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_ok),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_spec_too_long),
		cmocka_unit_test(test_tpg_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
