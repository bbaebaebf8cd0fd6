/* Unit tests for the saved-config codec: save → restore → save yields the same JSON (on the
 * JSON level, no daemon), and every kind of bad config is refused with the field's path. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl/config.h"
#include "ctl/lunspec.h"
#include "invar/version.h"
#include "util/log.h"

/* What config save writes (canonical form: key order, block_size always present). */
static const char canonical[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"invar_version\": \"" INVAR_VERSION_STRING "\",\n"
	"  \"portals\": [\n"
	"    \"127.0.0.1:3290\",\n"
	"    \"[::1]:3291\"\n"
	"  ],\n"
	"  \"targets\": [\n"
	"    {\n"
	"      \"iqn\": \"iqn.2026-11.org.invar:a\",\n"
	"      \"luns\": [\n"
	"        {\n"
	"          \"lun\": 0,\n"
	"          \"backstore\": \"file\",\n"
	"          \"path\": \"/var/lib/invar/lun0.img\",\n"
	"          \"size\": 1073741824,\n"
	"          \"block_size\": 512,\n"
	"          \"serial\": \"0123456789abcdef\",\n"
	"          \"naa\": \"3a1b2c3d4e5f6071\",\n"
	"          \"profile\": \"invar-2026.1\"\n"
	"        },\n"
	"        {\n"
	"          \"lun\": 3,\n"
	"          \"backstore\": \"ram\",\n"
	"          \"size\": 134217728,\n"
	"          \"block_size\": 4096,\n"
	"          \"serial\": \"RAM3\",\n"
	"          \"naa\": \"6001405abcdef0123456789abcdef012\",\n"
	"          \"profile\": \"invar-2026.1\"\n"
	"        }\n"
	"      ]\n"
	"    },\n"
	"    {\n"
	"      \"iqn\": \"iqn.2026-11.org.invar:b\",\n"
	"      \"luns\": []\n"
	"    }\n"
	"  ]\n"
	"}\n";

static void test_roundtrip(void **state)
{
	struct ctl_config c, c2;
	char err[256];
	char *out, *out2;

	assert_int_equal(ctl_config_loads(canonical, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nportals, 2);
	assert_int_equal(c.ntargets, 2);
	assert_int_equal(c.targets[0].nluns, 2);
	assert_int_equal(c.targets[0].luns[1].lun, 3);
	assert_int_equal(c.targets[0].luns[1].cfg.naa_len, 16);
	assert_int_equal(c.targets[0].luns[1].cfg.block_size, 4096);
	out = ctl_config_dumps(&c);
	assert_non_null(out);
	assert_string_equal(out, canonical);
	/* And once more through the struct. */
	assert_int_equal(ctl_config_loads(out, &c2, err, sizeof(err)), 0);
	out2 = ctl_config_dumps(&c2);
	assert_string_equal(out2, canonical);
	free(out);
	free(out2);
	ctl_config_free(&c);
	ctl_config_free(&c2);
}

static void test_roundtrip_file(void **state)
{
	char path[] = "/tmp/invar-test-config-XXXXXX";
	struct ctl_config c, c2;
	char err[256], *out;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ctl_config_loads(canonical, &c, err, sizeof(err)), 0);
	assert_int_equal(ctl_config_save_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(ctl_config_load_file(path, &c2, err, sizeof(err)), 0);
	out = ctl_config_dumps(&c2);
	assert_string_equal(out, canonical);
	free(out);
	ctl_config_free(&c);
	ctl_config_free(&c2);
	unlink(path);
}

static void test_minimal_and_unknown_keys(void **state)
{
	struct ctl_config c;
	char err[256];
	char *out;

	assert_int_equal(ctl_config_loads("{\"version\":1}", &c, err, sizeof(err)), 0);
	assert_int_equal(c.ntargets, 0);
	assert_int_equal(c.nportals, 0);
	ctl_config_free(&c);

	/* Unknown optional keys: a warning, not an error (a newer minor version may add some). */
	assert_int_equal(ctl_config_loads("{\"version\":1,\"future\":{\"x\":1},\"targets\":[{\"iqn\":"
					  "\"iqn.2026-11.x:y\",\"acl\":[],\"luns\":[{\"lun\":0,"
					  "\"backstore\":\"null\",\"size\":4096,\"thin\":true}]}]}",
					  &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.ntargets, 1);
	assert_int_equal(c.targets[0].nluns, 1);
	out = ctl_config_dumps(&c);
	assert_null(strstr(out, "future"));
	assert_null(strstr(out, "thin"));
	assert_non_null(strstr(out, "\"block_size\": 512"));
	free(out);
	ctl_config_free(&c);
}

/* Portal group tags: the default group is written as a plain string in a version-1 file (any
 * invard reads it); another tag makes the portal an object and the file version 2. */
/* vhost-user-scsi controllers: version 3, written only when there are some, round trip. */
static void test_vhost_controllers(void **state)
{
	struct ctl_config c, back;
	char err[256] = "", *out, *again;

	ctl_config_init(&c);
	assert_int_equal(ctl_config_add_portal(&c, "127.0.0.1:3260", err, sizeof(err)), 0);
	out = ctl_config_dumps(&c);
	assert_null(strstr(out, "vhost"));
	free(out);
	assert_int_equal(ctl_config_add_vhost(&c, "/run/vm1.sock", "iqn.2026-11.a:b", err,
					      sizeof(err)), 0);
	assert_int_equal(ctl_config_add_vhost(&c, "/run/vm1.sock", "iqn.2026-11.a:c", err,
					      sizeof(err)), -EEXIST);
	assert_int_equal(ctl_config_min_version(&c), 3);
	out = ctl_config_dumps(&c);
	assert_non_null(strstr(out, "\"version\": 3,"));
	assert_int_equal(ctl_config_loads(out, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nvhost, 1);
	assert_string_equal(back.vhost[0].path, "/run/vm1.sock");
	assert_string_equal(back.vhost[0].target, "iqn.2026-11.a:b");
	again = ctl_config_dumps(&back);
	assert_string_equal(out, again);
	free(again);
	free(out);
	ctl_config_free(&back);
	ctl_config_free(&c);
}

static void test_portal_groups(void **state)
{
	struct ctl_config c, back;
	char err[256] = "", *out, *again;

	ctl_config_init(&c);
	assert_int_equal(ctl_config_add_portal(&c, "127.0.0.1:3260", err, sizeof(err)), 0);
	out = ctl_config_dumps(&c);
	assert_non_null(strstr(out, "\"version\": 1,"));
	assert_non_null(strstr(out, "\"127.0.0.1:3260\""));
	free(out);
	assert_int_equal(ctl_config_add_portal(&c, "127.0.0.1:3261,tpg=2", err, sizeof(err)), 0);
	assert_int_equal(c.portal_tpgs[1], 2);
	assert_int_equal(ctl_config_min_version(&c), 2);
	out = ctl_config_dumps(&c);
	assert_non_null(strstr(out, "\"version\": 2,"));
	assert_non_null(strstr(out, "\"address\": \"127.0.0.1:3261\""));
	assert_non_null(strstr(out, "\"tpg\": 2"));
	assert_int_equal(ctl_config_loads(out, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nportals, 2);
	assert_string_equal(back.portals[0], "127.0.0.1:3260");
	assert_int_equal(back.portal_tpgs[0], 1);
	assert_string_equal(back.portals[1], "127.0.0.1:3261");
	assert_int_equal(back.portal_tpgs[1], 2);
	again = ctl_config_dumps(&back);
	assert_string_equal(out, again);
	free(again);
	free(out);
	ctl_config_free(&back);
	/* An object with the default tag is accepted and written back as a string. */
	assert_int_equal(ctl_config_loads("{\"version\":2,\"portals\":[{\"address\":\"[::1]\"}]}",
					  &back, err, sizeof(err)),
			 0);
	assert_int_equal(back.portal_tpgs[0], 1);
	assert_int_equal(ctl_config_min_version(&back), 1);
	ctl_config_free(&back);
	/* --listen spec errors surface from the builder. */
	assert_int_equal(ctl_config_add_portal(&c, "127.0.0.1:3262,tpg=70000", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "portal '127.0.0.1:3262,tpg=70000': tpg must be 1 to 65535");
	ctl_config_free(&c);
}

static void expect_error(const char *json, const char *msg)
{
	struct ctl_config c;
	char err[512] = "";

	assert_int_equal(ctl_config_loads(json, &c, err, sizeof(err)), -EINVAL);
	if (strcmp(err, msg))
		fail_msg("config %s\n  error:    '%s'\n  expected: '%s'", json, err, msg);
	assert_int_equal(c.ntargets, 0);
	assert_int_equal(c.nportals, 0);
}

#define LUN0(x) "{\"version\":1,\"targets\":[{\"iqn\":\"iqn.2026-11.a:b\",\"luns\":[" x "]}]}"
#define RAM_OK "{\"lun\":0,\"backstore\":\"ram\",\"size\":1048576}"

static void test_errors(void **state)
{
	expect_error("[]", "(top level): expected an object, got an array");
	expect_error("{}", "version: missing");
	expect_error("{\"version\":\"1\"}", "version: expected an integer, got a string");
	expect_error("{\"version\":4}",
		     "version: 4 is newer than this invard understands (3); upgrade invar");
	/* vhost controllers need version 3, absolute paths and valid names */
	expect_error("{\"version\":2,\"vhost\":[]}",
		     "vhost: needs config version 3 (this file says 2)");
	expect_error("{\"version\":3,\"vhost\":{}}", "vhost: expected an array, got an object");
	expect_error("{\"version\":3,\"vhost\":[{\"path\":\"rel.sock\",\"target\":\"iqn.2026-11.a:b\"}]}",
		     "vhost[0]: vhost socket path must be absolute and at most 107 bytes: rel.sock");
	expect_error("{\"version\":3,\"vhost\":[{\"path\":\"/a.sock\",\"target\":\"Bad\"}]}",
		     "vhost[0]: vhost /a.sock: bad target name 'Bad'");
	expect_error("{\"version\":3,\"vhost\":[{\"path\":\"/a.sock\"}]}",
		     "vhost[0]: expected an object with strings path and target");
	expect_error("{\"version\":0}", "version: 0 is not a valid config version");
	expect_error("{\"version\":1,\"portals\":\"127.0.0.1:3260\"}",
		     "portals: expected an array, got a string");
	expect_error("{\"version\":1,\"portals\":[3260]}",
		     "portals[0]: expected a string, got an integer");
	expect_error("{\"version\":1,\"portals\":[\"1.2.3.4:1\",\"host:3260\"]}",
		     "portals[1]: address 'host:3260': 'host' is not a numeric IPv4 address");
	expect_error("{\"version\":1,\"portals\":[\"1.2.3.4:1\",\"1.2.3.4:1\"]}",
		     "portals[1]: portal 1.2.3.4:1 is given twice");
	/* Portal objects (with a group tag) exist from version 2 on. */
	expect_error("{\"version\":1,\"portals\":[{\"address\":\"1.2.3.4:1\",\"tpg\":2}]}",
		     "portals[0]: expected a string, got an object");
	expect_error("{\"version\":2,\"portals\":[{\"tpg\":2}]}", "portals[0].address: missing");
	expect_error("{\"version\":2,\"portals\":[{\"address\":\"1.2.3.4:1\",\"tpg\":0}]}",
		     "portals[0].tpg: must be 1 to 65535");
	expect_error("{\"version\":2,\"portals\":[{\"address\":\"1.2.3.4:1\",\"tpg\":\"2\"}]}",
		     "portals[0].tpg: expected an integer, got a string");
	expect_error("{\"version\":2,\"portals\":[\"1.2.3.4:1\",{\"address\":\"1.2.3.4:1\"}]}",
		     "portals[1]: portal 1.2.3.4:1 is given twice");
	expect_error("{\"version\":2,\"portals\":[\"1.2.3.4:1,tpg=2\"]}",
		     "portals[0]: address '1.2.3.4:1,tpg=2': port must be 1 to 65535");
	expect_error("{\"version\":2,\"portals\":[true]}",
		     "portals[0]: expected a string or an object, got a boolean");
	expect_error("{\"version\":1,\"targets\":{}}", "targets: expected an array, got an object");
	expect_error("{\"version\":1,\"targets\":[{}]}", "targets[0].iqn: missing");
	expect_error("{\"version\":1,\"targets\":[{\"iqn\":7}]}",
		     "targets[0].iqn: expected a string, got an integer");
	expect_error("{\"version\":1,\"targets\":[{\"iqn\":\"iqn.a:b\"},{\"iqn\":\"iqn.a:b\"}]}",
		     "targets[1].iqn: target iqn.a:b given twice");
	expect_error("{\"version\":1,\"targets\":[{\"iqn\":\"iqn.a:b\",\"luns\":{}}]}",
		     "targets[0].luns: expected an array, got an object");
	expect_error(LUN0(RAM_OK ",{\"lun\":1,\"backstore\":\"ram\",\"size\":\"1G\"}"),
		     "targets[0].luns[1].size: expected an integer, got a string");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":-1}"),
		     "targets[0].luns[0].size: must not be negative");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":1.5}"),
		     "targets[0].luns[0].size: expected an integer, got a number");
	expect_error(LUN0("{\"backstore\":\"ram\",\"size\":4096}"), "targets[0].luns[0].lun: missing");
	expect_error(LUN0("{\"lun\":256,\"backstore\":\"ram\",\"size\":4096}"),
		     "targets[0].luns[0].lun: 256 is out of range (0 to 255)");
	expect_error(LUN0(RAM_OK "," RAM_OK), "targets[0].luns[1].lun: LUN 0 given twice");
	expect_error(LUN0("{\"lun\":0,\"size\":4096}"), "targets[0].luns[0].backstore: missing");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"tape\",\"size\":4096}"),
		     "targets[0].luns[0].backstore: unknown type 'tape' (expected file, ram, null, user or rbd)");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"file\"}"),
		     "targets[0].luns[0].path: required for the file backstore");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"path\":\"/x\",\"size\":4096}"),
		     "targets[0].luns[0].path: only the file backstore takes a path");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\"}"),
		     "targets[0].luns[0].size: required (and not 0) for the ram backstore");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":4096,\"block_size\":1024}"),
		     "targets[0].luns[0].block_size: must be 512 or 4096");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":4096,\"naa\":\"12\"}"),
		     "targets[0].luns[0].naa: expected 16 or 32 hex digits, got 2 characters");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":4096,\"serial\":\"a b\"}"),
		     "targets[0].luns[0].serial: only printable ASCII without spaces is allowed");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":4096,\"serial\":true}"),
		     "targets[0].luns[0].serial: expected a string, got a boolean");
	expect_error(LUN0("{\"lun\":0,\"backstore\":\"ram\",\"size\":1000}"),
		     "targets[0].luns[0].size: 1000 is not a multiple of the block size 512");
	expect_error(LUN0("7"), "targets[0].luns[0]: expected an object, got an integer");
	/* Syntax errors carry a position. */
	{
		struct ctl_config c;
		char err[256];

		assert_int_equal(ctl_config_loads("{\"version\":1,", &c, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "line 1"));
		assert_int_equal(ctl_config_loads("{\"version\":1,\"version\":1}", &c, err,
						  sizeof(err)),
				 -EINVAL);
	}
}

static void test_load_missing_file(void **state)
{
	struct ctl_config c;
	char err[256];

	assert_int_equal(ctl_config_load_file("/nonexistent/invar.json", &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "/nonexistent/invar.json"));
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_file),
		cmocka_unit_test(test_minimal_and_unknown_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_portal_groups),
		cmocka_unit_test(test_vhost_controllers),
		cmocka_unit_test(test_load_missing_file),
	};

	log_set_level(LOG_ERR); /* the unknown-key warnings are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
