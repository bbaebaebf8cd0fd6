/* Unit tests for the rbd backstore's image spec (backstore/rbd/rbd_spec.h) and its LUN spec
 * form (rbd:POOL/IMAGE[,conf=][,id=][,namespace=][,timeout=]) through lunspec_parse: what is
 * accepted, what is refused and with which reason, and the canonical text. No cluster needed. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "backstore/rbd/rbd_spec.h"
#include "ctl/lunspec.h"

static void test_spec_good(void **state)
{
	struct rbd_spec s;
	char err[256], out[PATH_MAX + 512];

	assert_int_equal(rbd_spec_parse("rbd/disk", &s, err, sizeof(err)), 0);
	assert_string_equal(s.pool, "rbd");
	assert_string_equal(s.image, "disk");
	assert_string_equal(s.ns, "");
	assert_string_equal(s.conf, "");
	assert_int_equal(s.timeout_s, 0);

	assert_int_equal(rbd_spec_parse("p.1/img-2_x,timeout=7,namespace=tenant,id=client.gw1,"
					"conf=/etc/ceph/c.conf",
					&s, err, sizeof(err)),
			 0);
	assert_string_equal(s.pool, "p.1");
	assert_string_equal(s.image, "img-2_x");
	assert_string_equal(s.ns, "tenant");
	assert_string_equal(s.id, "gw1"); /* "client." dropped */
	assert_string_equal(s.conf, "/etc/ceph/c.conf");
	assert_int_equal(s.timeout_s, 7);
	/* Canonical order: conf, id, namespace, timeout. */
	assert_int_equal(rbd_spec_format(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "p.1/img-2_x,conf=/etc/ceph/c.conf,id=gw1,namespace=tenant,timeout=7");
	assert_int_equal(rbd_spec_format(&s, out, 10), -ENAMETOOLONG);

	assert_true(rbd_spec_is_option("conf"));
	assert_true(rbd_spec_is_option("timeout"));
	assert_false(rbd_spec_is_option("size"));
}

static void expect_bad(const char *text, const char *reason)
{
	struct rbd_spec s;
	char err[256] = "";

	assert_int_equal(rbd_spec_parse(text, &s, err, sizeof(err)), -EINVAL);
	if (!strstr(err, reason))
		fail_msg("'%s': reason '%s' lacks '%s'", text, err, reason);
}

static void test_spec_bad(void **state)
{
	char longname[200];

	expect_bad("disk", "expected POOL/IMAGE");
	expect_bad("/disk", "pool name must be 1 to");
	expect_bad("rbd/", "image name must be 1 to");
	expect_bad("rbd/a/b", "image name may not contain '/'");
	expect_bad("rbd/a@snap", "may not contain '@'");
	expect_bad("rbd/a b", "may not contain ' '");
	expect_bad("rbd/a,conf=rel.conf", "conf must be an absolute path");
	expect_bad("rbd/a,conf=/x,conf=/y", "conf given twice");
	expect_bad("rbd/a,timeout=0", "timeout must be 1 to");
	expect_bad("rbd/a,timeout=3601", "timeout must be 1 to");
	expect_bad("rbd/a,timeout=5s", "timeout must be 1 to");
	expect_bad("rbd/a,id=a:b", "id may only use");
	expect_bad("rbd/a,namespace=", "namespace name must be 1 to");
	expect_bad("rbd/a,size=1G", "unknown option 'size'");
	expect_bad("rbd/a,conf", "expected key=value");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		char text[256];

		snprintf(text, sizeof(text), "rbd/%s", longname);
		expect_bad(text, "image name must be 1 to");
	}
}

static void test_lunspec_rbd(void **state)
{
	struct lu_config c;
	char err[256] = "";

	assert_int_equal(lunspec_parse("rbd:rbd/disk,timeout=9,conf=/c.conf,profile=invar-2026.3",
				       &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.backstore, "rbd");
	assert_string_equal(c.path, "rbd/disk,conf=/c.conf,timeout=9");
	assert_string_equal(c.profile, "invar-2026.3");
	assert_true(c.size == 0);
	/* What the saved config holds passes the whole-config check again as it is. */
	assert_int_equal(ctl_lu_config_check(&c, err, sizeof(err)), 0);

	assert_int_equal(lunspec_parse("rbd:rbd/disk,size=1G", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "takes its size from the image"));
	assert_int_equal(lunspec_parse("rbd:disk", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected POOL/IMAGE"));
	assert_int_equal(lunspec_parse("ram:1M,conf=/c.conf", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "only the rbd backstore takes it"));
	assert_int_equal(lunspec_parse("rbd:rbd/d,timeout=1,timeout=2", &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "timeout given twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_good),
		cmocka_unit_test(test_spec_bad),
		cmocka_unit_test(test_lunspec_rbd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
