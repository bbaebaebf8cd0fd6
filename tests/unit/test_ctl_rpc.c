/* Unit tests for the JSON-RPC server: request decoding and error codes, every method against a
 * daemon context without workers (a fake fabric records portals and sessions), and the Unix
 * socket itself (line framing, oversized requests, several clients, an answer given later). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <jansson.h>

#include "ctl/config.h"
#include "ctl/ctl.h"
#include "ctl/migrate.h"
#include "ctl/rpc.h"
#include "mig/channel.h"
#include "scsi/migsm.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

/* ---- a fake fabric ---- */

static char fake_portals[8][64];
static unsigned fake_tpgs[8];
static int fake_nportals;
static int fake_sessions;
static int fake_closed;

static int fake_portal_add(struct daemon *d, const char *a, unsigned tpg)
{
	int ret;

	for (int i = 0; i < fake_nportals; i++)
		if (!strcmp(fake_portals[i], a))
			return -EEXIST;
	ret = alua_group_ref(&d->alua_groups, (uint16_t)tpg);	/* as the iSCSI portals do */
	if (ret < 0)
		return ret;
	fake_tpgs[fake_nportals] = tpg;
	snprintf(fake_portals[fake_nportals++], 64, "%s", a);
	return 0;
}

static int fake_portal_del(struct daemon *d, const char *a)
{
	for (int i = 0; i < fake_nportals; i++) {
		if (!strcmp(fake_portals[i], a)) {
			alua_group_unref(&d->alua_groups, (uint16_t)fake_tpgs[i]);
			memmove(fake_portals[i], fake_portals[i + 1],
				(size_t)(fake_nportals - i - 1) * 64);
			memmove(&fake_tpgs[i], &fake_tpgs[i + 1],
				(size_t)(fake_nportals - i - 1) * sizeof(fake_tpgs[0]));
			fake_nportals--;
			return 0;
		}
	}
	return -ENOENT;
}

static void fake_portal_foreach(struct daemon *d, void (*fn)(const char *, unsigned, void *),
				void *arg)
{
	for (int i = 0; i < fake_nportals; i++)
		fn(fake_portals[i], fake_tpgs[i], arg);
}

static int fake_session_count(struct daemon *d, struct target *t)
{
	return fake_sessions;
}

static int fake_close_sessions(struct daemon *d, struct target *t)
{
	fake_closed += fake_sessions;
	fake_sessions = 0;
	return fake_closed;
}

static const struct fabric_ops fake_fabric = {
	.portal_add = fake_portal_add,
	.portal_del = fake_portal_del,
	.portal_foreach = fake_portal_foreach,
	.target_close_sessions = fake_close_sessions,
	.target_session_count = fake_session_count,
};

static char data_dir[] = "/tmp/invar-test-rpc-XXXXXX";

static int setup(void **state)
{
	struct daemon *d = calloc(1, sizeof(*d));

	pthread_mutex_init(&d->lock, NULL);
	list_init(&d->targets);
	list_init(&d->portals);
	invar_limits_defaults(&d->limits);
	d->main_loop = ev_loop_new();
	d->fabric = &fake_fabric;
	snprintf(d->data_dir, sizeof(d->data_dir), "%s", data_dir);
	snprintf(d->socket_path, sizeof(d->socket_path), "%s/invar.sock", data_dir);
	fake_nportals = fake_sessions = fake_closed = 0;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct daemon *d = *state;
	struct list_node *n, *tmp;

	list_for_each_safe(n, tmp, &d->targets)
	{
		list_del(n);
		target_put(list_entry(n, struct target, node));
	}
	ev_loop_free(d->main_loop);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return 0;
}

/* Calls rpc_process and returns the parsed response. */
static json_t *call_raw(struct daemon *d, const char *req)
{
	char *line = rpc_process(d, req, strlen(req));
	json_error_t jerr;
	json_t *r;

	if (!line)
		return NULL;
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_null(strchr(line, '\n') + 1 == line + strlen(line) ? NULL : "embedded newline");
	r = json_loads(line, 0, &jerr);
	assert_non_null(r);
	free(line);
	return r;
}

static json_t *call(struct daemon *d, const char *method, const char *params_fmt, ...)
{
	char params[2048], req[4096];
	va_list ap;

	va_start(ap, params_fmt);
	vsnprintf(params, sizeof(params), params_fmt, ap);
	va_end(ap);
	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":%s}",
		 method, params);
	return call_raw(d, req);
}

static int err_code(json_t *r)
{
	json_t *e = json_object_get(r, "error");

	return e ? (int)json_integer_value(json_object_get(e, "code")) : 0;
}

static const char *err_msg(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "message"));
}

static json_t *result(json_t *r)
{
	if (err_code(r))
		fail_msg("unexpected error %d: %s", err_code(r), err_msg(r));
	return json_object_get(r, "result");
}

#define EXPECT_ERR(r, code, needle)                                                        \
	do {                                                                               \
		json_t *r_ = (r);                                                          \
		assert_int_equal(err_code(r_), code);                                      \
		if (!strstr(err_msg(r_), needle))                                          \
			fail_msg("message '%s' lacks '%s'", err_msg(r_), needle);          \
		json_decref(r_);                                                           \
	} while (0)

/* lun_resize (RPC 1.6): grow, the forced shrink, the refusals; lun_list and the saved config
 * follow the capacity. */
static void test_lun_resize(void **state)
{
	struct daemon *d = *state;
	const char *iqn = "iqn.2026-11.org.invar:rs";
	json_t *r, *res, *cfg;

	json_decref(call(d, "target_create", "{\"iqn\":\"%s\"}", iqn));
	json_decref(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":1048576}",
			 iqn));
	r = call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"size\":2097152}", iqn);
	res = result(r);
	assert_int_equal(json_integer_value(json_object_get(res, "old_size")), 1048576);
	assert_int_equal(json_integer_value(json_object_get(res, "size")), 2097152);
	assert_true(json_is_true(json_object_get(res, "changed")));
	json_decref(r);
	r = call(d, "lun_list", "{\"iqn\":\"%s\"}", iqn);
	res = json_array_get(json_object_get(result(r), "luns"), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "size")), 2097152);
	json_decref(r);
	r = call(d, "config_show", "{}");
	cfg = json_object_get(json_array_get(json_object_get(result(r), "targets"), 0), "luns");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(cfg, 0), "size")),
			 2097152);
	json_decref(r);

	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"size\":524288}", iqn),
		   -EPERM, "force");
	r = call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"size\":524288,\"force\":true}",
		 iqn);
	assert_int_equal(json_integer_value(json_object_get(result(r), "size")), 524288);
	json_decref(r);
	r = call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"reread\":true}", iqn);
	assert_false(json_is_true(json_object_get(result(r), "changed")));
	json_decref(r);
	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0}", iqn), -EINVAL, "either");
	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"size\":4096,\"reread\":true}",
			iqn),
		   -EINVAL, "either");
	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"size\":1000}", iqn), -EINVAL,
		   "multiple of the block size");
	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":0,\"size\":0}", iqn), -32602,
		   "size");
	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"%s\",\"lun\":3,\"size\":4096}", iqn), -ENOENT,
		   "no LUN 3");
	EXPECT_ERR(call(d, "lun_resize", "{\"iqn\":\"iqn.2026-11.x:none\",\"lun\":0,\"size\":4096}"),
		   -ENOENT, "no target");
}

static void test_protocol_errors(void **state)
{
	struct daemon *d = *state;
	json_t *r;

	EXPECT_ERR(call_raw(d, "{not json"), -32700, "parse error");
	EXPECT_ERR(call_raw(d, "42"), -32600, "object");
	EXPECT_ERR(call_raw(d, "[]"), -32600, "empty batch");
	EXPECT_ERR(call_raw(d, "{\"id\":1,\"method\":\"rpc_version\"}"), -32600, "jsonrpc");
	EXPECT_ERR(call_raw(d, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}"), -32600, "method");
	EXPECT_ERR(call_raw(d, "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"rpc_version\"}"),
		   -32600, "id");
	EXPECT_ERR(call(d, "no_such_method", "{}"), -32601, "no_such_method");
	EXPECT_ERR(call(d, "target_create", "{}"), -32602, "'iqn' is required");
	EXPECT_ERR(call(d, "target_create", "{\"iqn\":5}"), -32602, "'iqn' must be a string");
	EXPECT_ERR(call(d, "target_create", "[\"iqn.2026-11.a:b\"]"), -32602, "object");
	EXPECT_ERR(call(d, "target_create", "{\"iqn\":\"iqn.2026-11.a:b\",\"colour\":1}"), -32602,
		   "unknown param 'colour'");
	EXPECT_ERR(call(d, "lun_delete", "{\"iqn\":\"x\",\"lun\":256}"), -32602,
		   "'lun' must be between 0 and 255");
	EXPECT_ERR(call(d, "target_delete", "{\"iqn\":\"x\",\"force\":1}"), -32602,
		   "'force' must be a boolean");
	/* jansson refuses \\u0000 without JSON_ALLOW_NUL: a parse error. */
	EXPECT_ERR(call(d, "target_create", "{\"iqn\":\"a\\u0000b\"}"), -32700, "NUL");

	/* The id comes back as sent; a notification gets no answer. */
	r = call_raw(d, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"rpc_version\"}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
	assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	assert_string_equal(json_string_value(json_object_get(result(r), "version")), "0.1.0");
	json_decref(r);
	{
		const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"rpc_version\"}";

		assert_null(rpc_process(d, note, strlen(note)));
	}

	/* A batch answers every request that has an id. */
	r = call_raw(d, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_version\"},"
			"{\"jsonrpc\":\"2.0\",\"method\":\"rpc_version\"},"
			"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]");
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 2);
	assert_int_equal(err_code(json_array_get(r, 1)), -32601);
	json_decref(r);
}

static void test_targets_and_luns(void **state)
{
	struct daemon *d = *state;
	const char *iqn = "iqn.2026-11.org.invar:t1";
	json_t *r, *res, *l;

	r = call(d, "target_create", "{\"iqn\":\"%s\"}", iqn);
	assert_string_equal(json_string_value(json_object_get(result(r), "iqn")), iqn);
	json_decref(r);
	EXPECT_ERR(call(d, "target_create", "{\"iqn\":\"%s\"}", iqn), -EEXIST, "already exists");
	EXPECT_ERR(call(d, "target_create", "{\"iqn\":\"IQN.Upper\"}"), -EINVAL, "not a valid iSCSI name");

	r = call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":1048576}", iqn);
	res = result(r);
	assert_int_equal(json_integer_value(json_object_get(res, "lun")), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "block_size")), 512);
	/* Identity resolved from "<iqn>/0": generated serial and NAA come back. */
	assert_non_null(json_object_get(res, "serial"));
	assert_non_null(json_object_get(res, "naa"));
	assert_non_null(json_object_get(res, "profile"));
	json_decref(r);

	r = call(d, "lun_add",
		 "{\"iqn\":\"%s\",\"lun\":5,\"backstore\":\"null\",\"size\":8192,\"block_size\":4096,"
		 "\"serial\":\"S5\",\"naa\":\"5000c500abcdef01\"}",
		 iqn);
	res = result(r);
	assert_int_equal(json_integer_value(json_object_get(res, "lun")), 5);
	assert_string_equal(json_string_value(json_object_get(res, "serial")), "S5");
	assert_string_equal(json_string_value(json_object_get(res, "naa")), "5000c500abcdef01");
	json_decref(r);

	/* Next free LUN is 1. */
	r = call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":4096}", iqn);
	assert_int_equal(json_integer_value(json_object_get(result(r), "lun")), 1);
	json_decref(r);

	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"lun\":5,\"backstore\":\"ram\",\"size\":4096}",
			iqn),
		   -EEXIST, "already mapped");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"iqn.2026-11.x:none\",\"backstore\":\"ram\",\"size\":4096}"),
		   -ENOENT, "no target");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"tape\",\"size\":4096}", iqn),
		   -EINVAL, "backstore");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\"}", iqn), -EINVAL, "size");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":4096,\"block_size\":1024}",
			iqn),
		   -EINVAL, "block_size");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"file\",\"path\":\"rel.img\"}", iqn),
		   -EINVAL, "absolute");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":4096,\"naa\":\"zz\"}",
			iqn),
		   -EINVAL, "naa");
	EXPECT_ERR(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":4096,\"profile\":\"nope-1\"}",
			iqn),
		   -EINVAL, "profile");

	r = call(d, "lun_list", "{\"iqn\":\"%s\"}", iqn);
	res = json_object_get(result(r), "luns");
	assert_int_equal(json_array_size(res), 3);
	l = json_array_get(res, 2);
	assert_int_equal(json_integer_value(json_object_get(l, "lun")), 5);
	assert_int_equal(json_integer_value(json_object_get(l, "size")), 8192);
	json_decref(r);
	EXPECT_ERR(call(d, "lun_list", "{\"iqn\":\"iqn.2026-11.x:none\"}"), -ENOENT, "no target");

	r = call(d, "lun_delete", "{\"iqn\":\"%s\",\"lun\":1}", iqn);
	result(r);
	json_decref(r);
	EXPECT_ERR(call(d, "lun_delete", "{\"iqn\":\"%s\",\"lun\":1}", iqn), -ENOENT, "no LUN 1");

	r = call(d, "target_list", "{}");
	res = json_object_get(result(r), "targets");
	assert_int_equal(json_array_size(res), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(res, 0), "luns")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 0), "sessions")), 0);
	json_decref(r);

	/* Sessions: refused without force, closed with it. */
	fake_sessions = 2;
	EXPECT_ERR(call(d, "target_delete", "{\"iqn\":\"%s\"}", iqn), -EBUSY, "2 sessions");
	r = call(d, "target_delete", "{\"iqn\":\"%s\",\"force\":true}", iqn);
	assert_int_equal(json_integer_value(json_object_get(result(r), "sessions_closed")), 2);
	json_decref(r);
	EXPECT_ERR(call(d, "target_delete", "{\"iqn\":\"%s\"}", iqn), -ENOENT, "no target");
}

static void test_portals(void **state)
{
	struct daemon *d = *state;
	json_t *r;

	r = call(d, "portal_add", "{\"address\":\"127.0.0.1:3290\"}");
	assert_string_equal(json_string_value(json_object_get(result(r), "address")), "127.0.0.1:3290");
	json_decref(r);
	r = call(d, "portal_add", "{\"address\":\"[0::1]\"}");
	assert_string_equal(json_string_value(json_object_get(result(r), "address")), "[::1]:3260");
	json_decref(r);
	EXPECT_ERR(call(d, "portal_add", "{\"address\":\"127.0.0.1:3290\"}"), -EEXIST, "already");
	EXPECT_ERR(call(d, "portal_add", "{\"address\":\"myhost:3290\"}"), -EINVAL, "numeric");
	r = call(d, "portal_list", "{}");
	assert_int_equal(json_array_size(json_object_get(result(r), "portals")), 2);
	json_decref(r);
	r = call(d, "portal_delete", "{\"address\":\"[::1]:3260\"}");
	result(r);
	json_decref(r);
	EXPECT_ERR(call(d, "portal_delete", "{\"address\":\"[::1]:3260\"}"), -ENOENT, "no portal");
}

/* Portal groups and ALUA states through RPC: portal_add's tpg, portal_list's details,
 * alua_set / alua_list and their errors. */
static void test_portal_groups_alua(void **state)
{
	struct daemon *d = *state;
	const char *iqn = "iqn.2026-11.org.invar:alua";
	json_t *r, *g;

	r = call(d, "portal_add", "{\"address\":\"127.0.0.1:3291\",\"tpg\":2}");
	assert_int_equal(json_integer_value(json_object_get(result(r), "tpg")), 2);
	json_decref(r);
	json_decref(call(d, "portal_add", "{\"address\":\"127.0.0.1:3290\"}"));
	EXPECT_ERR(call(d, "portal_add", "{\"address\":\"127.0.0.1:3292\",\"tpg\":0}"),
		   -32602, "tpg");
	r = call(d, "portal_list", "{}");
	g = json_object_get(result(r), "details");
	assert_int_equal(json_array_size(g), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(g, 0), "address")),
			    "127.0.0.1:3291");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "tpg")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 1), "tpg")), 1);
	json_decref(r);

	json_decref(call(d, "target_create", "{\"iqn\":\"%s\"}", iqn));
	r = call(d, "alua_set", "{\"iqn\":\"%s\",\"tpg\":2,\"state\":\"standby\"}", iqn);
	assert_string_equal(json_string_value(json_object_get(result(r), "state")), "standby");
	json_decref(r);
	EXPECT_ERR(call(d, "alua_set", "{\"iqn\":\"%s\",\"tpg\":5,\"state\":\"standby\"}", iqn),
		   -ENOENT, "no portal group 5");
	EXPECT_ERR(call(d, "alua_set", "{\"iqn\":\"%s\",\"tpg\":2,\"state\":\"asleep\"}", iqn),
		   -EINVAL, "state: expected");
	EXPECT_ERR(call(d, "alua_set", "{\"iqn\":\"iqn.2026-11.x:none\",\"tpg\":2,"
				       "\"state\":\"standby\"}"),
		   -ENOENT, "no target");
	r = call(d, "alua_list", "{\"iqn\":\"%s\"}", iqn);
	g = json_object_get(result(r), "groups");
	assert_int_equal(json_array_size(g), 2);	/* ascending tags */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "tpg")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(g, 0), "state")),
			    "active/optimized");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 1), "tpg")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(g, 1), "state")),
			    "standby");
	json_decref(r);
}

/* config_show after building state through RPC, then config_save → load → apply on a second
 * daemon → config_show: identical (save → restore → save). */
static void test_config_roundtrip(void **state)
{
	struct daemon *d = *state, *d2;
	char path[PATH_MAX], err[512];
	struct ctl_config cfg;
	json_t *r, *shown1, *shown2;
	void *st2;

	json_decref(call(d, "target_create", "{\"iqn\":\"iqn.2026-11.org.invar:a\"}"));
	json_decref(call(d, "target_create", "{\"iqn\":\"iqn.2026-11.org.invar:b\"}"));
	json_decref(call(d, "lun_add", "{\"iqn\":\"iqn.2026-11.org.invar:a\",\"backstore\":\"ram\","
				       "\"size\":1048576}"));
	snprintf(path, sizeof(path), "%s/disk.img", data_dir);
	r = call(d, "lun_add",
		 "{\"iqn\":\"iqn.2026-11.org.invar:b\",\"lun\":3,\"backstore\":\"file\",\"path\":\"%s\","
		 "\"size\":2097152,\"serial\":\"FILE3\"}",
		 path);
	result(r);
	json_decref(r);
	json_decref(call(d, "portal_add", "{\"address\":\"127.0.0.1:3299\"}"));

	r = call(d, "config_show", "{}");
	shown1 = json_incref(result(r));
	json_decref(r);
	assert_int_equal(json_integer_value(json_object_get(shown1, "version")), 1);

	r = call(d, "config_save", "{}");
	snprintf(path, sizeof(path), "%s/invar.json", data_dir);
	assert_string_equal(json_string_value(json_object_get(result(r), "path")), path);
	json_decref(r);
	EXPECT_ERR(call(d, "config_save", "{\"path\":\"relative.json\"}"), -EINVAL, "absolute");
	EXPECT_ERR(call(d, "config_save", "{\"path\":\"/nonexistent-dir/x.json\"}"), -ENOENT,
		   "nonexistent");

	/* Restore into a fresh daemon. */
	teardown(state);
	setup(&st2);
	d2 = st2;
	*state = d2;
	assert_int_equal(ctl_config_load_file(path, &cfg, err, sizeof(err)), 0);
	if (ctl_config_apply(d2, &cfg, err, sizeof(err)) < 0)
		fail_msg("apply: %s", err);
	ctl_config_free(&cfg);
	r = call(d2, "config_show", "{}");
	shown2 = json_incref(result(r));
	json_decref(r);
	if (!json_equal(shown1, shown2)) {
		char *a = json_dumps(shown1, 0), *b = json_dumps(shown2, 0);

		fail_msg("config differs after restore:\n%s\n%s", a, b);
	}
	json_decref(shown1);
	json_decref(shown2);

	/* Applying the same config again fails on the first duplicate, naming it. */
	assert_int_equal(ctl_config_load_file(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(ctl_config_apply(d2, &cfg, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "targets[0].iqn"));
	ctl_config_free(&cfg);
}

/* ---- over the socket ---- */

static void *loop_thread(void *arg)
{
	ev_loop_run(arg);
	return NULL;
}

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static char *read_line(int fd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, 1);
		if (n <= 0)
			break;
		len++;
		if (buf[len - 1] == '\n')
			break;
	}
	buf[len] = '\0';
	return buf;
}

static void test_socket(void **state)
{
	struct daemon *d = *state;
	struct rpc_server *srv;
	struct stat st;
	pthread_t th;
	char *big, *line;
	int a, b, c;
	size_t i;

	assert_int_equal(rpc_server_start(d, d->socket_path, &srv), 0);
	assert_int_equal(stat(d->socket_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second server on the same live socket is refused. */
	{
		struct rpc_server *srv2;

		assert_int_equal(rpc_server_start(d, d->socket_path, &srv2), -EADDRINUSE);
	}
	pthread_create(&th, NULL, loop_thread, d->main_loop);

	a = sock_connect(d->socket_path);
	b = sock_connect(d->socket_path);
	/* Two requests in one write, the second split across writes. */
	const char *two = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_version\"}\n"
			  "{\"jsonrpc\":\"2.0\",\"id\":2,\"meth";
	assert_int_equal(write(a, two, strlen(two)), (ssize_t)strlen(two));
	line = read_line(a);
	assert_non_null(strstr(line, "\"id\":1"));
	assert_non_null(strstr(line, "\"result\""));
	assert_int_equal(write(b, "garbage\n", 8), 8);
	line = read_line(b);
	assert_non_null(strstr(line, "-32700"));
	assert_int_equal(write(a, "od\":\"portal_list\"}\n", 19), 19);
	line = read_line(a);
	assert_non_null(strstr(line, "\"id\":2"));
	/* b is still usable after its parse error. */
	assert_int_equal(write(b, "\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"target_list\"}\n", 50), 50);
	line = read_line(b);
	assert_non_null(strstr(line, "\"id\":3"));

	/* An oversized request: an error, then the connection closes; others are unaffected. */
	c = sock_connect(d->socket_path);
	big = malloc(RPC_MAX_REQUEST + 100);
	memset(big, ' ', RPC_MAX_REQUEST + 100);
	for (i = 0; i < RPC_MAX_REQUEST + 100;) {
		ssize_t n = write(c, big + i, RPC_MAX_REQUEST + 100 - i);

		if (n <= 0)
			break;
		i += (size_t)n;
	}
	free(big);
	line = read_line(c);
	assert_non_null(strstr(line, "larger than"));
	line = read_line(c);
	assert_string_equal(line, ""); /* closed */
	close(c);

	/* A last request without a newline is answered at EOF. */
	assert_int_equal(write(a, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"rpc_version\"}", 47), 47);
	shutdown(a, SHUT_WR);
	line = read_line(a);
	assert_non_null(strstr(line, "\"id\":9"));
	close(a);
	close(b);

	ev_loop_stop(d->main_loop);
	pthread_join(th, NULL);
	rpc_server_stop(srv);
	assert_int_equal(stat(d->socket_path, &st), -1);
}

/* lu_migrate answers when the migration ends without holding up the loop: another client is
 * served meanwhile, a second migration of the LU is refused at once, and a request behind it
 * on the same connection is answered after it, in order. The destination is a socket that
 * accepts and never answers; closing it ends the migration (refused, the LU serves again). */
static void test_async_migrate(void **state)
{
	struct daemon *d = *state;
	const char *iqn = "iqn.2026-11.org.invar:m1";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct rpc_server *srv;
	struct target *t;
	char req[1024], buf[64], *line;
	pthread_t th;
	int lfd, peer, a, b;

	json_decref(call(d, "target_create", "{\"iqn\":\"%s\"}", iqn));
	json_decref(call(d, "lun_add", "{\"iqn\":\"%s\",\"backstore\":\"ram\",\"size\":1048576}",
			 iqn));
	assert_int_equal(mig_ctx_new(d, &ctl_mig_compat_ops, &d->mig), 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(rpc_server_start(d, d->socket_path, &srv), 0);
	pthread_create(&th, NULL, loop_thread, d->main_loop);

	a = sock_connect(d->socket_path);
	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"lu_migrate\",\"params\":{\"iqn\":\"%s\","
		 "\"lun\":0,\"to\":\"127.0.0.1:%u\"}}\n"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"rpc_version\"}\n",
		 iqn, (unsigned)ntohs(sa.sin_port));
	assert_int_equal(write(a, req, strlen(req)), (ssize_t)strlen(req));
	peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);
	assert_true(read(peer, buf, sizeof(buf)) >= 5);	/* the OFFER: the source now waits */

	b = sock_connect(d->socket_path);
	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"rpc_version\"}\n");
	assert_int_equal(write(b, req, strlen(req)), (ssize_t)strlen(req));
	line = read_line(b);
	assert_non_null(strstr(line, "\"id\":3,\"result\""));
	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"lu_migrate\",\"params\":{\"iqn\":\"%s\","
		 "\"lun\":0,\"to\":\"127.0.0.1:1\"}}\n",
		 iqn);
	assert_int_equal(write(b, req, strlen(req)), (ssize_t)strlen(req));
	line = read_line(b);
	assert_non_null(strstr(line, "\"id\":4,\"error\""));
	assert_non_null(strstr(line, "not running"));

	close(peer);
	line = read_line(a);
	assert_non_null(strstr(line, "\"id\":1,\"error\":{\"code\":-125"));
	assert_non_null(strstr(line, "still served here"));
	line = read_line(a);
	assert_non_null(strstr(line, "\"id\":2,\"result\""));
	close(a);
	close(b);
	close(lfd);

	ev_loop_stop(d->main_loop);
	pthread_join(th, NULL);
	mig_ctx_free(d->mig);
	d->mig = NULL;
	rpc_server_stop(srv);
	t = target_find_get(d, iqn);
	assert_non_null(t);
	assert_int_equal(lu_mig_state(t->lus[0]), MIG_RUNNING);
	target_put(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_targets_and_luns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lun_resize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_portals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_portal_groups_alua, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_migrate, setup, teardown),
	};
	int ret;

	if (!mkdtemp(data_dir))
		return 1;
	log_set_level(LOG_ERR);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
		if (system(cmd) != 0)
			ret = ret ? ret : 1;
	}
	return ret;
}
