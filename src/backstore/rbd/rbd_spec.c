/* The rbd backstore's image spec (rbd_spec.h): names checked against what Ceph accepts and what
 * the LUN spec syntax can carry (no ',' anywhere, no '/' inside a name, no control characters). */
#include "backstore/rbd/rbd_spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

static const char *const rbd_options[] = { "conf", "id", "namespace", "timeout" };

bool rbd_spec_is_option(const char *key)
{
	for (size_t i = 0; i < sizeof(rbd_options) / sizeof(rbd_options[0]); i++)
		if (!strcmp(key, rbd_options[i]))
			return true;
	return false;
}

/* A pool, image or namespace name: 1 to RBD_NAME_MAX-1 printable characters, none of the
 * separators ('/', ',', '@', '=') nor space. */
static int name_set(char *dst, const char *what, const char *v, size_t n, char *err,
		    size_t err_len)
{
	if (!n || n >= RBD_NAME_MAX) {
		ERRF("rbd: %s name must be 1 to %d characters", what, RBD_NAME_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',' || c == '@' || c == '=') {
			ERRF("rbd: %s name may not contain '%c'", what, isprint(c) ? c : '?');
			return -EINVAL;
		}
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int option_set(struct rbd_spec *s, const char *key, const char *val, char *err,
		      size_t err_len)
{
	size_t n = strlen(val);

	if (!strcmp(key, "namespace"))
		return name_set(s->ns, "namespace", val, n, err, err_len);
	if (!strcmp(key, "conf")) {
		if (!n || n >= sizeof(s->conf) || val[0] != '/') {
			ERRF("rbd: conf must be an absolute path");
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) {
				ERRF("rbd: conf contains a control character");
				return -EINVAL;
			}
		}
		memcpy(s->conf, val, n + 1);
		return 0;
	}
	if (!strcmp(key, "id")) {
		if (!strncmp(val, "client.", 7)) {
			val += 7;
			n -= 7;
		}
		if (!n || n >= sizeof(s->id)) {
			ERRF("rbd: id must be 1 to %zu characters", sizeof(s->id) - 1);
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			char c = val[i];

			if (!isalnum((unsigned char)c) && c != '-' && c != '.' && c != '_') {
				ERRF("rbd: id may only use letters, digits, '-', '.', '_'");
				return -EINVAL;
			}
		}
		memcpy(s->id, val, n + 1);
		return 0;
	}
	if (!strcmp(key, "timeout")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(val, &end, 10);
		if (!isdigit((unsigned char)*val) || *end || errno || v == 0 || v > RBD_TIMEOUT_MAX_S) {
			ERRF("rbd: timeout must be 1 to %d seconds", RBD_TIMEOUT_MAX_S);
			return -EINVAL;
		}
		s->timeout_s = (unsigned)v;
		return 0;
	}
	ERRF("rbd: unknown option '%s' (expected conf, id, namespace or timeout)", key);
	return -EINVAL;
}

int rbd_spec_parse(const char *text, struct rbd_spec *s, char *err, size_t err_len)
{
	char *buf, *opts, *slash, *tok, *save = NULL;
	unsigned seen = 0;
	int ret = -EINVAL;

	memset(s, 0, sizeof(*s));
	buf = strdup(text);
	if (!buf) {
		ERRF("out of memory");
		return -ENOMEM;
	}
	opts = strchr(buf, ',');
	if (opts)
		*opts++ = '\0';
	slash = strchr(buf, '/');
	if (!slash) {
		ERRF("rbd: expected POOL/IMAGE, got '%.64s'", buf);
		goto out;
	}
	*slash++ = '\0';
	if (name_set(s->pool, "pool", buf, strlen(buf), err, err_len) < 0 ||
	    name_set(s->image, "image", slash, strlen(slash), err, err_len) < 0)
		goto out;
	for (tok = opts ? strtok_r(opts, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');
		unsigned bit = 0;

		if (!val) {
			ERRF("rbd: option '%.32s': expected key=value", tok);
			goto out;
		}
		*val++ = '\0';
		for (size_t i = 0; i < sizeof(rbd_options) / sizeof(rbd_options[0]); i++)
			if (!strcmp(tok, rbd_options[i]))
				bit = 1u << i;
		if (bit & seen) {
			ERRF("rbd: %s given twice", tok);
			goto out;
		}
		seen |= bit;
		if (option_set(s, tok, val, err, err_len) < 0)
			goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int rbd_spec_format(const struct rbd_spec *s, char *out, size_t out_len)
{
	size_t o;
	int w;

	w = snprintf(out, out_len, "%s/%s", s->pool, s->image);
	if (w < 0 || (size_t)w >= out_len)
		return -ENAMETOOLONG;
	o = (size_t)w;
#define APPEND(fmt, ...)                                                      \
	do {                                                                  \
		w = snprintf(out + o, out_len - o, fmt, __VA_ARGS__);         \
		if (w < 0 || (size_t)w >= out_len - o)                        \
			return -ENAMETOOLONG;                                 \
		o += (size_t)w;                                               \
	} while (0)
	if (s->conf[0])
		APPEND(",conf=%s", s->conf);
	if (s->id[0])
		APPEND(",id=%s", s->id);
	if (s->ns[0])
		APPEND(",namespace=%s", s->ns);
	if (s->timeout_s)
		APPEND(",timeout=%u", s->timeout_s);
#undef APPEND
	return 0;
}
