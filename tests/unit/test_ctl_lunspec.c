/* Unit tests for the LUN spec parser shared by invard --lun and invarctl lun add, the size
 * parser, NAA hex validation and portal address normalization. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ctl/lunspec.h"

static void test_size_parse(void **state)
{
	uint64_t v;

	assert_int_equal(ctl_size_parse("512", &v), 0);
	assert_true(v == 512);
	assert_int_equal(ctl_size_parse("64M", &v), 0);
	assert_true(v == 64ull << 20);
	assert_int_equal(ctl_size_parse("1G", &v), 0);
	assert_true(v == 1ull << 30);
	assert_int_equal(ctl_size_parse("1GiB", &v), 0);
	assert_true(v == 1ull << 30);
	assert_int_equal(ctl_size_parse("1gib", &v), 0);
	assert_true(v == 1ull << 30);
	assert_int_equal(ctl_size_parse("10T", &v), 0);
	assert_true(v == 10ull << 40);
	assert_int_equal(ctl_size_parse("4k", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(ctl_size_parse("15E", &v), 0);
	assert_true(v == 15ull << 60);

	assert_int_equal(ctl_size_parse("", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("G", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("-1", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("1.5G", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("1X", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("1GB", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("1Gi", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("1 G", &v), -EINVAL);
	assert_int_equal(ctl_size_parse("16E", &v), -ERANGE);
	assert_int_equal(ctl_size_parse("99999999999999999999", &v), -ERANGE);
}

static void test_size_format(void **state)
{
	char b[32];

	ctl_size_format(1ull << 30, b, sizeof(b));
	assert_string_equal(b, "1GiB");
	ctl_size_format(1536 * 1024, b, sizeof(b));
	assert_string_equal(b, "1536KiB");
	ctl_size_format(7, b, sizeof(b));
	assert_string_equal(b, "7");
	ctl_size_format(0, b, sizeof(b));
	assert_string_equal(b, "0");
}

static void test_lunspec_good(void **state)
{
	struct lu_config c;
	char err[256];

	assert_int_equal(lunspec_parse("ram:128M", &c, err, sizeof(err)), 0);
	assert_string_equal(c.backstore, "ram");
	assert_true(c.size == 128ull << 20);
	assert_string_equal(c.path, "");
	assert_int_equal(c.block_size, 0);

	assert_int_equal(lunspec_parse("null:1T", &c, err, sizeof(err)), 0);
	assert_string_equal(c.backstore, "null");
	assert_true(c.size == 1ull << 40);

	assert_int_equal(lunspec_parse("file:/tmp/x.img", &c, err, sizeof(err)), 0);
	assert_string_equal(c.backstore, "file");
	assert_string_equal(c.path, "/tmp/x.img");
	assert_true(c.size == 0);

	assert_int_equal(lunspec_parse("file:/tmp/a b:c.img,size=1GiB,serial=ABC-1,naa=3000000000000001,"
				       "block_size=4096,profile=invar-2026.1",
				       &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.path, "/tmp/a b:c.img");
	assert_true(c.size == 1ull << 30);
	assert_string_equal(c.serial, "ABC-1");
	assert_int_equal(c.naa_len, 8);
	assert_int_equal(c.naa[0], 0x30);
	assert_int_equal(c.naa[7], 0x01);
	assert_int_equal(c.block_size, 4096);
	assert_string_equal(c.profile, "invar-2026.1");

	assert_int_equal(lunspec_parse("ram:1M,naa=0x6001405abcdef0123456789abcdef012", &c, err,
				       sizeof(err)),
			 0);
	assert_int_equal(c.naa_len, 16);
	assert_int_equal(c.naa[0], 0x60);
	assert_int_equal(c.naa[15], 0x12);

	assert_int_equal(lunspec_parse("ram:1M,block_size=512", &c, err, sizeof(err)), 0);
	assert_int_equal(c.block_size, 512);
}

static void expect_bad(const char *spec, const char *needle)
{
	struct lu_config c;
	char err[256] = "";

	assert_int_equal(lunspec_parse(spec, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("spec '%s': error '%s' does not mention '%s'", spec, err, needle);
}

static void test_lunspec_bad_sizes(void **state)
{
	expect_bad("ram:", "size");
	expect_bad("ram:abc", "size");
	expect_bad("ram:0", "size");
	expect_bad("ram:1.5G", "size");
	expect_bad("ram:-1M", "size");
	expect_bad("ram:16E", "size");
	expect_bad("ram:1000", "multiple of the block size");
	expect_bad("ram:1M,block_size=4096,size=6K", "size");
	expect_bad("file:/x,size=", "size");
	expect_bad("file:/x,size=1G,size=2G", "twice");
	expect_bad("ram:1M,size=2M", "twice");
	expect_bad("ram:9E", "too large");
}

static void test_lunspec_bad_syntax(void **state)
{
	expect_bad("", "expected");
	expect_bad("ram", "expected");
	expect_bad("disk:/dev/sda", "unknown type");
	expect_bad("file:", "path");
	expect_bad("file:,size=1G", "path");
	expect_bad("ram:1M,color=blue", "unknown option 'color'");
	expect_bad("ram:1M,serial", "key=value");
	expect_bad("ram:1M,serial=", "serial");
	expect_bad("ram:1M,serial=has space", "serial");
	expect_bad("ram:1M,serial=a,serial=b", "twice");
	expect_bad("ram:1M,serial=0123456789012345678901234567890123456789012345678901234567890123456789",
		   "serial");
	expect_bad("ram:1M,profile=bad/name", "profile");
	expect_bad("ram:1M,profile=", "profile");
}

static void test_lunspec_naa(void **state)
{
	expect_bad("ram:1M,naa=xyz", "naa");
	expect_bad("ram:1M,naa=300000000000000", "16 or 32");		/* 15 digits */
	expect_bad("ram:1M,naa=30000000000000001", "16 or 32");	/* 17 digits */
	expect_bad("ram:1M,naa=300000000000000g", "hex digit");
	expect_bad("ram:1M,naa=6000000000000001", "type 2, 3 or 5"); /* NAA 6 is 16 bytes */
	expect_bad("ram:1M,naa=50000000000000000000000000000001", "type 6");
	expect_bad("ram:1M,naa=", "naa");

	uint8_t naa[16];
	unsigned len;
	char out[40], err[128];

	assert_int_equal(ctl_naa_parse("5000C500ABCDEF01", naa, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 8);
	ctl_naa_format(naa, len, out, sizeof(out));
	assert_string_equal(out, "5000c500abcdef01");
}

static void test_lunspec_block_size(void **state)
{
	expect_bad("ram:1M,block_size=1024", "512 or 4096");
	expect_bad("ram:1M,block_size=0", "512 or 4096");
	expect_bad("ram:1M,block_size=4k", "not a number");
	expect_bad("ram:1M,block_size=", "not a number");
	expect_bad("ram:1M,block_size=-512", "not a number");
	expect_bad("ram:1M,block_size=512,block_size=4096", "twice");
}

static void test_portal_normalize(void **state)
{
	char out[128], err[256];

	assert_int_equal(ctl_portal_normalize("127.0.0.1:3290", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "127.0.0.1:3290");
	assert_int_equal(ctl_portal_normalize("0.0.0.0", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "0.0.0.0:3260");
	assert_int_equal(ctl_portal_normalize("[0::1]:3261", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "[::1]:3261");
	assert_int_equal(ctl_portal_normalize("[::]", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "[::]:3260");

	assert_int_equal(ctl_portal_normalize("localhost:3260", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ctl_portal_normalize("1.2.3.4:0", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_portal_normalize("1.2.3.4:65536", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ctl_portal_normalize("1.2.3.4:", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_portal_normalize("::1:3260", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_portal_normalize("[::1", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_portal_normalize("[::1]x", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_portal_normalize("", out, sizeof(out), err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_lunspec_good),
		cmocka_unit_test(test_lunspec_bad_sizes),
		cmocka_unit_test(test_lunspec_bad_syntax),
		cmocka_unit_test(test_lunspec_naa),
		cmocka_unit_test(test_lunspec_block_size),
		cmocka_unit_test(test_portal_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
