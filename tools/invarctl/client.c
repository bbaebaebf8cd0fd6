/* invarctl's transport and shared helpers (client.h). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"

#define REPLY_TIMEOUT_MS 60000
#define REPLY_MAX (64u << 20)

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "invarctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see invarctl --help)\n");
	return 2;
}

/* ---- transport ---- */

static int ctl_connect(const struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "invarctl: socket path too long: %s\n", c->socket);
		return -1;
	}
	strcpy(sa.sun_path, c->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("invarctl: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "invarctl: is invard running? no socket at %s\n", c->socket);
		else if (errno == ECONNREFUSED)
			fprintf(stderr, "invarctl: is invard running? nothing answers at %s\n",
				c->socket);
		else
			fprintf(stderr, "invarctl: cannot connect to %s: %s\n", c->socket,
				strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends one request and returns the "result" (new reference), or NULL after printing why. */
json_t *ctl_call(const struct ctl *c, const char *method, json_t *params)
{
	json_t *req, *resp, *result = NULL, *error;
	char *line = NULL, *buf = NULL;
	size_t len = 0, cap = 0, off;
	json_error_t jerr;
	int fd = -1;

	req = json_pack("{s:s, s:i, s:s, s:o?}", "jsonrpc", "2.0", "id", 1, "method", method,
			"params", params);
	if (!req)
		return NULL;
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return NULL;
	fd = ctl_connect(c);
	if (fd < 0)
		goto out;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps's NUL becomes the request's newline */
	for (off = 0; off <= len;) {
		ssize_t w = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "invarctl: send: %s\n", strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	len = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (len && memchr(buf, '\n', len))
			break;
		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) == 0) {
			fprintf(stderr, "invarctl: no answer from invard within %d s\n",
				REPLY_TIMEOUT_MS / 1000);
			goto out;
		}
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > REPLY_MAX) {
				fprintf(stderr, "invarctl: reply too large\n");
				goto out;
			}
			buf = realloc(buf, cap);
			if (!buf)
				goto out;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (len)
				break;
			fprintf(stderr, "invarctl: invard closed the connection without answering\n");
			goto out;
		}
		len += (size_t)r;
	}
	resp = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!resp) {
		fprintf(stderr, "invarctl: bad reply from invard: %s\n", jerr.text);
		goto out;
	}
	error = json_object_get(resp, "error");
	if (error) {
		const char *msg = json_string_value(json_object_get(error, "message"));

		fprintf(stderr, "invarctl: %s\n", msg ? msg : "unknown error");
	} else {
		result = json_incref(json_object_get(resp, "result"));
		if (!result)
			fprintf(stderr, "invarctl: reply without a result\n");
	}
	json_decref(resp);
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return result;
}

/* ---- output ---- */

void ctl_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	if (s)
		printf("%s\n", s);
	free(s);
}

const char *jstr(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

int absolute_path(const char *in, char *out, size_t out_len)
{
	char cwd[PATH_MAX];

	if (in[0] == '/')
		return snprintf(out, out_len, "%s", in) < (int)out_len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(out, out_len, "%s/%s", cwd, in) < (int)out_len ? 0 : -1;
}

int ctl_run(const struct ctl *c, const char *method, json_t *params, json_t **result)
{
	*result = ctl_call(c, method, params);
	if (!*result)
		return 1;
	if (c->json) {
		ctl_print_json(*result);
		json_decref(*result);
		*result = NULL;
	}
	return 0;
}

int parse_lun_number(const char *s, json_int_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < 0 || v > 255)
		return -1;
	*out = v;
	return 0;
}
