/* Migration handover: the redirect address check (what may go into TargetAddress), the
 * choice among the destination's portals (bad lines skipped, wildcards filled with the host
 * the source reached), and that a LU refuses to record an address that fails the check. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mig/mig_handover.h"
#include "scsi/lu.h"

static void test_portal_check(void **state)
{
	static const char *const good[] = {
		"127.0.0.1:3260", "127.0.0.1:3260,1", "[::1]:3260,65535", "[fe80::1]:1",
		"host-a.example.org:3260,7",
	};
	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", ":3260", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:3260,", "127.0.0.1:3260,0", "127.0.0.1:3260,1,2", "127.0.0.1:32a0",
		"[::1:3260", "[]:3260", "[::1]3260", "[zz::1]:3260", "a b:3260", "a\n:3260",
		"1.2.3.4:3260;x", "1.2.3.4:123456",
	};
	char long_host[MIG_REDIRECT_MAX + 8];

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(mig_portal_check(good[i]), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(mig_portal_check(bad[i]), 0);
	memset(long_host, 'h', sizeof(long_host));
	memcpy(long_host + sizeof(long_host) - 8, ":3260,1", 8);	/* 318 + 7 bytes */
	assert_int_not_equal(mig_portal_check(long_host), 0);
}

static void test_pick(void **state)
{
	char out[MIG_REDIRECT_MAX + 1];
	const char *p;

	/* The first usable, non-wildcard portal; bad lines never chosen. */
	p = "junk line\n0.0.0.0:3260,1\n10.0.0.2:3261,2\n10.0.0.3:3262,3";
	assert_int_equal(mig_portals_pick(p, strlen(p), "10.0.0.9:4000", out, sizeof(out)), 0);
	assert_string_equal(out, "10.0.0.2:3261,2");
	/* Only a wildcard: the host the source connected to, the portal's port and tag. */
	p = "0.0.0.0:3260,4";
	assert_int_equal(mig_portals_pick(p, strlen(p), "10.0.0.9:4000", out, sizeof(out)), 0);
	assert_string_equal(out, "10.0.0.9:3260,4");
	p = "[::]:3260,1";
	assert_int_equal(mig_portals_pick(p, strlen(p), "[fd00::5]:4000", out, sizeof(out)), 0);
	assert_string_equal(out, "[fd00::5]:3260,1");
	/* Nothing usable: no redirect. An embedded NUL is not a line end. */
	assert_int_equal(mig_portals_pick("", 0, "10.0.0.9:4000", out, sizeof(out)), -ENOENT);
	p = "10.0.0.2:3260\0,1";
	assert_int_equal(mig_portals_pick(p, 16, "10.0.0.9:4000", out, sizeof(out)), -ENOENT);
	p = "bad\nworse";
	assert_int_equal(mig_portals_pick(p, strlen(p), "10.0.0.9:4000", out, sizeof(out)), -ENOENT);
}

static void test_lu_redirect(void **state)
{
	struct lu_config c;
	struct lu *lu;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.backstore, sizeof(c.backstore), "ram");
	c.size = 1 << 20;
	assert_int_equal(lu_create(&c, "iqn.2026-01.test:ho/0", &lu, err, sizeof(err)), 0);
	assert_string_equal(lu->mig.redirect, "");
	assert_int_equal(lu_mig_set_redirect(lu, "10.0.0.2:3260,1"), 0);
	assert_string_equal(lu->mig.redirect, "10.0.0.2:3260,1");
	assert_int_equal(lu_mig_set_redirect(lu, "10.0.0.2:3260,1\r\nX=1"), -EINVAL);
	assert_string_equal(lu->mig.redirect, "10.0.0.2:3260,1");
	assert_int_equal(lu_mig_set_redirect(lu, ""), 0);
	assert_string_equal(lu->mig.redirect, "");
	lu_put(lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portal_check),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_lu_redirect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
