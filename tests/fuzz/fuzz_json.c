/* libFuzzer: the control plane's JSON inputs (src/ctl).
 * First byte even: the rest is JSON-RPC request lines ('\n' separated, up to 16) handled by
 *   rpc_process() one after another on a fresh daemon context without workers and with an
 *   in-memory fabric (as tests/unit/test_ctl_rpc.c does), so later requests see what earlier
 *   ones created. Every response must be one line of valid JSON.
 * First byte odd: the rest is a saved config for ctl_config_loads(); what loads must dump and
 *   load again to the same text, and is then applied to a fresh daemon context.
 * Nothing may touch the file system outside a private data directory: requests naming a
 * "path" anywhere (file LUNs, config_save to a path) and configs with file LUNs are skipped. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/config.h"
#include "ctl/ctl.h"
#include "ctl/rpc.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_PORTALS 8

struct fake_fabric {
	char portals[FAKE_PORTALS][64];
	int nportals;
};

static struct fake_fabric fake;

static int fake_portal_add(struct daemon *d, const char *a, unsigned tpg)
{
	for (int i = 0; i < fake.nportals; i++)
		if (!strcmp(fake.portals[i], a))
			return -EEXIST;
	if (fake.nportals == FAKE_PORTALS)
		return -ENOSPC;
	snprintf(fake.portals[fake.nportals++], sizeof(fake.portals[0]), "%s", a);
	return 0;
}

static int fake_portal_del(struct daemon *d, const char *a)
{
	for (int i = 0; i < fake.nportals; i++) {
		if (!strcmp(fake.portals[i], a)) {
			memmove(fake.portals[i], fake.portals[i + 1],
				(size_t)(fake.nportals - i - 1) * sizeof(fake.portals[0]));
			fake.nportals--;
			return 0;
		}
	}
	return -ENOENT;
}

static void fake_portal_foreach(struct daemon *d, void (*fn)(const char *, unsigned, void *),
				void *arg)
{
	for (int i = 0; i < fake.nportals; i++)
		fn(fake.portals[i], 1, arg);
}

static int fake_session_count(struct daemon *d, struct target *t)
{
	return 0;
}

static int fake_close_sessions(struct daemon *d, struct target *t)
{
	return 0;
}

static void fake_luns_changed(struct daemon *d, struct target *t)
{
}

static const struct fabric_ops fake_fabric_ops = {
	.portal_add = fake_portal_add,
	.portal_del = fake_portal_del,
	.portal_foreach = fake_portal_foreach,
	.target_luns_changed = fake_luns_changed,
	.target_close_sessions = fake_close_sessions,
	.target_session_count = fake_session_count,
};

static char data_dir[] = "/tmp/invar-fuzz-json-XXXXXX";

static void daemon_setup(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	list_init(&d->targets);
	list_init(&d->portals);
	invar_limits_defaults(&d->limits);
	d->fabric = &fake_fabric_ops;
	snprintf(d->data_dir, sizeof(d->data_dir), "%s", data_dir);
	snprintf(d->socket_path, sizeof(d->socket_path), "%s/invar.sock", data_dir);
	memset(&fake, 0, sizeof(fake));
}

static void daemon_teardown(struct daemon *d)
{
	struct list_node *n, *tmp;

	list_for_each_safe(n, tmp, &d->targets)
	{
		list_del(n);
		target_put(list_entry(n, struct target, node));
	}
	pthread_mutex_destroy(&d->lock);
}

/* Whether any object in v has a "path" member. */
static bool names_path(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			if (!strcmp(k, "path") || names_path(x))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (names_path(x))
				return true;
	}
	return false;
}

static void check_response(char *line)
{
	size_t len;
	json_t *r;

	if (!line)
		return;	/* notifications only */
	len = strlen(line);
	if (!len || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		abort();
	r = json_loadb(line, len, 0, NULL);
	if (!r)
		abort();
	json_decref(r);
	free(line);
}

static void fuzz_rpc(const char *text, size_t len)
{
	struct daemon d;
	size_t pos = 0;
	int lines = 0;

	daemon_setup(&d);
	while (pos < len && lines++ < 16) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
		json_t *pre = json_loadb(text + pos, l, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
					 NULL);
		bool skip = pre && names_path(pre);

		json_decref(pre);
		if (!skip)
			check_response(rpc_process(&d, text + pos, l));
		pos += l + 1;
	}
	daemon_teardown(&d);
}

static void fuzz_config(const char *text)
{
	struct ctl_config c, c2;
	char err[1024];
	char *s1, *s2;
	bool has_file = false;
	struct daemon d;

	if (ctl_config_loads(text, &c, err, sizeof(err)) < 0) {
		ctl_config_free(&c);
		return;
	}
	s1 = ctl_config_dumps(&c);
	if (!s1)
		abort();
	/* Round trip: what was accepted is saved and restored exactly. */
	if (ctl_config_loads(s1, &c2, err, sizeof(err)) < 0) {
		fprintf(stderr, "dumped config does not load: %s\n%s", err, s1);
		abort();
	}
	s2 = ctl_config_dumps(&c2);
	if (!s2 || strcmp(s1, s2)) {
		fprintf(stderr, "config round trip differs:\n%s---\n%s", s1, s2 ? s2 : "(null)");
		abort();
	}
	free(s1);
	free(s2);
	ctl_config_free(&c2);

	for (size_t i = 0; i < c.ntargets; i++)
		for (size_t j = 0; j < c.targets[i].nluns; j++)
			if (!strcmp(c.targets[i].luns[j].cfg.backstore, "file") ||
			    c.targets[i].luns[j].cfg.path[0])
				has_file = true;
	if (!has_file) {
		daemon_setup(&d);
		(void)ctl_config_apply(&d, &c, err, sizeof(err));
		daemon_teardown(&d);
	}
	ctl_config_free(&c);
}

static void data_dir_remove(void)
{
	char path[sizeof(data_dir) + 32];

	snprintf(path, sizeof(path), "%s/invar.json", data_dir);
	unlink(path);
	rmdir(data_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char *text;

	if (!ready) {
		if (!mkdtemp(data_dir))
			abort();
		atexit(data_dir_remove);
		log_set_level(LOG_ERR);
		ready = true;
	}
	if (!size)
		return 0;
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		fuzz_config(text);
	else
		fuzz_rpc(text, size - 1);
	free(text);
	return 0;
}
