#include "ctl/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl/config.h"
#include "ctl/ctl.h"
#include "ctl/rpc_internal.h"
#include "target/daemon.h"
#include "util/list.h"
#include "util/log.h"

/* Stop reading from a client whose responses pile up unread beyond this. */
#define RPC_OUT_HIGH (4u << 20)

struct rpc_client {
	struct list_node node;
	struct rpc_server *srv;
	struct ev_fd ev;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap;
	bool closing;		/* close once out is flushed */
	bool eof;		/* the client sent everything it will */
	struct rpc_line *waiting; /* a request being answered later: read nothing more until then */
};

struct rpc_server {
	struct daemon *d;
	struct ev_fd ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct list_node clients;
	unsigned nclients;
};

int rpc_fail(struct rpc_call *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->code = code;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* ---- request decoding and dispatch ---- */

/* Every method table, one per file of methods. */
static const struct {
	const struct rpc_method *m;
	const size_t *n;
} rpc_tables[] = {
	{ rpc_methods, &rpc_nmethods },
	{ rpc_auth_methods, &rpc_auth_nmethods },
	{ rpc_mig_methods, &rpc_mig_nmethods },
	{ rpc_limits_methods, &rpc_limits_nmethods },
	{ rpc_session_methods, &rpc_session_nmethods },
	{ rpc_stats_methods, &rpc_stats_nmethods },
	{ rpc_resize_methods, &rpc_resize_nmethods },
	{ rpc_vhost_methods, &rpc_vhost_nmethods },
};

static const struct rpc_method *rpc_method_find(const char *name)
{
	for (size_t t = 0; t < sizeof(rpc_tables) / sizeof(rpc_tables[0]); t++)
		for (size_t i = 0; i < *rpc_tables[t].n; i++)
			if (!strcmp(rpc_tables[t].m[i].name, name))
				return &rpc_tables[t].m[i];
	return NULL;
}

/* Fills the method's params struct from the request's params object, checking every param
 * against the decoder table. Unknown params are refused so that a client relying on a newer
 * optional param learns this daemon does not have it. */
static int rpc_decode_params(struct rpc_call *c, const struct rpc_method *m, json_t *params,
			     void *out)
{
	char safe[64];
	const char *key;
	json_t *v;
	size_t i;

	if (params && !json_is_object(params) && !json_is_null(params))
		return rpc_fail(c, RPC_ERR_INVALID_PARAMS, "params must be an object, not %s",
				ctl_json_type_name(params));
	if (params && json_is_object(params)) {
		json_object_foreach(params, key, v)
		{
			for (i = 0; i < m->nparams; i++)
				if (!strcmp(m->params[i].name, key))
					break;
			if (i == m->nparams)
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"unknown param '%s' for %s",
						log_sanitize(safe, sizeof(safe), key, strlen(key)),
						m->name);
		}
	}
	for (i = 0; i < m->nparams; i++) {
		const struct rpc_param *p = &m->params[i];
		char *field = (char *)out + p->offset;

		v = params && json_is_object(params) ? json_object_get(params, p->name) : NULL;
		if (v && json_is_null(v))
			v = NULL;
		if (!v) {
			if (p->required)
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' is required", p->name);
			if (p->type == RPC_PARAM_INT)
				*(int64_t *)(void *)field = p->def;
			continue;
		}
		switch (p->type) {
		case RPC_PARAM_STRING:
			if (!json_is_string(v))
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' must be a string, not %s", p->name,
						ctl_json_type_name(v));
			if (strlen(json_string_value(v)) != json_string_length(v))
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' contains a NUL byte", p->name);
			if (p->max_len && json_string_length(v) > p->max_len)
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' is longer than %zu bytes", p->name,
						p->max_len);
			*(const char **)(void *)field = json_string_value(v);
			break;
		case RPC_PARAM_INT:
			if (!json_is_integer(v))
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' must be an integer, not %s", p->name,
						ctl_json_type_name(v));
			if (json_integer_value(v) < p->min || json_integer_value(v) > p->max)
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' must be between %lld and %lld", p->name,
						(long long)p->min, (long long)p->max);
			*(int64_t *)(void *)field = json_integer_value(v);
			break;
		case RPC_PARAM_BOOL:
			if (!json_is_boolean(v))
				return rpc_fail(c, RPC_ERR_INVALID_PARAMS,
						"param '%s' must be a boolean, not %s", p->name,
						ctl_json_type_name(v));
			*(bool *)(void *)field = json_is_true(v);
			break;
		}
	}
	return 0;
}

static json_t *rpc_error_response(json_t *id, int code, const char *msg)
{
	return json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
			 code, "message", msg);
}

/* One request line (a request or a batch): its responses in request order, sent once every
 * call in it is answered (some may answer later, rpc_async_begin). */
struct rpc_line {
	struct rpc_client *cl;	/* NULL: rpc_process, or the client is gone */
	bool batch;
	unsigned pending;	/* calls still to answer */
	size_t n;
	json_t *resp[];		/* NULL: a notification */
};

struct rpc_async {
	struct rpc_call call;
};

static struct rpc_line *rpc_line_new(struct rpc_client *cl, bool batch, size_t n)
{
	struct rpc_line *l = calloc(1, sizeof(*l) + n * sizeof(l->resp[0]));

	if (!l)
		return NULL;
	l->cl = cl;
	l->batch = batch;
	l->n = n;
	return l;
}

static void rpc_line_free(struct rpc_line *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->resp[i]);
	free(l);
}

/* The response for a call that has finished (or NULL for a notification). Takes c->result. */
static json_t *rpc_call_response(struct rpc_call *c)
{
	json_t *resp;

	if (!c->code && !c->result)
		c->result = json_object();
	if (c->m && c->code && c->m->mutates)
		log_info("rpc: %s failed: %s", c->m->name, c->msg);
	/* Saved before the answer goes out: what a client saw acknowledged survives a crash. */
	if (c->m && !c->code && c->m->mutates && !c->m->keeps_config)
		ctl_config_autosave(c->d);
	if (c->notification) {
		json_decref(c->result);
		return NULL;
	}
	if (c->code) {
		json_decref(c->result);
		return rpc_error_response(c->id, c->code, c->msg);
	}
	resp = json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", c->id, "result", c->result);
	if (!resp)
		resp = rpc_error_response(c->id, RPC_ERR_INTERNAL, "out of memory");
	return resp;
}

/* One request object → its response in line->resp[idx] (NULL for a notification, or until a
 * call answering later is done). */
static void rpc_handle_one(struct daemon *d, json_t *req, struct rpc_line *line, size_t idx)
{
	struct rpc_call c = { .d = d, .idx = idx };
	json_t *jm, *ver;
	void *params = NULL;
	char safe[64];
	int ret;

	c.line = line->cl ? line : NULL;
	if (!json_is_object(req)) {
		line->resp[idx] = rpc_error_response(NULL, RPC_ERR_INVALID_REQUEST,
						      "a request must be a JSON object");
		return;
	}
	if (json_object_get(req, "id")) {
		c.id = json_object_get(req, "id");
		if (!json_is_string(c.id) && !json_is_integer(c.id) && !json_is_null(c.id)) {
			line->resp[idx] = rpc_error_response(NULL, RPC_ERR_INVALID_REQUEST,
							      "id must be a string, an integer or null");
			return;
		}
	} else {
		c.notification = true;
	}
	ver = json_object_get(req, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0")) {
		rpc_fail(&c, RPC_ERR_INVALID_REQUEST, "\"jsonrpc\": \"2.0\" is required");
		goto out;
	}
	jm = json_object_get(req, "method");
	if (!json_is_string(jm)) {
		rpc_fail(&c, RPC_ERR_INVALID_REQUEST, "\"method\" must be a string");
		goto out;
	}
	c.m = rpc_method_find(json_string_value(jm));
	if (!c.m) {
		rpc_fail(&c, RPC_ERR_METHOD_NOT_FOUND, "method '%s' not found",
			 log_sanitize(safe, sizeof(safe), json_string_value(jm),
				      json_string_length(jm)));
		goto out;
	}
	params = calloc(1, c.m->params_size ? c.m->params_size : 1);
	if (!params) {
		rpc_fail(&c, RPC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (rpc_decode_params(&c, c.m, json_object_get(req, "params"), params) < 0) {
		c.m = NULL;	/* not run: not logged as a failure */
		goto out;
	}
	if (c.m->mutates)
		log_info("rpc: %s", c.m->name);
	else
		log_debug("rpc: %s", c.m->name);
	ret = c.m->fn(&c, params);
	if (ret == 0 && !c.code && c.async) {
		free(params);
		return;	/* answered by rpc_async_done() */
	}
	if (c.async) {	/* the handler failed after all: answer now */
		json_decref(c.async->call.id);
		free(c.async);
		line->pending--;
	}
	if (ret < 0 && !c.code)
		rpc_fail(&c, RPC_ERR_INTERNAL, "%s failed", c.m->name);
out:
	free(params);
	line->resp[idx] = rpc_call_response(&c);
}

struct rpc_async *rpc_async_begin(struct rpc_call *c)
{
	struct rpc_async *a;

	if (!c->line || c->async)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->call = *c;
	json_incref(a->call.id);	/* the request is freed before the answer */
	c->line->pending++;
	c->async = a;
	return a;
}

struct rpc_call *rpc_async_call(struct rpc_async *a)
{
	return &a->call;
}

static void rpc_line_answered(struct rpc_line *l);

void rpc_async_done(struct rpc_async *a)
{
	struct rpc_line *l = a->call.line;

	l->resp[a->call.idx] = rpc_call_response(&a->call);
	json_decref(a->call.id);
	free(a);
	if (--l->pending == 0)
		rpc_line_answered(l);
}

static char *rpc_dump_line(json_t *resp)
{
	char *s, *line;
	size_t n;

	if (!resp)
		return NULL;
	s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(resp);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* The text to send for a line whose calls are all answered (NULL: nothing to send). */
static char *rpc_line_text(struct rpc_line *l)
{
	json_t *batch;

	if (!l->batch) {
		json_t *r = l->resp[0];

		l->resp[0] = NULL;
		return rpc_dump_line(r);
	}
	batch = json_array();
	for (size_t i = 0; batch && i < l->n; i++) {
		if (l->resp[i] && json_array_append_new(batch, l->resp[i]) < 0)
			break;
		l->resp[i] = NULL;
	}
	if (!batch || !json_array_size(batch)) {
		json_decref(batch);
		return NULL;
	}
	return rpc_dump_line(batch);
}

/* Parses and handles one line; returns it with its calls running (or all answered). */
static struct rpc_line *rpc_line_run(struct daemon *d, struct rpc_client *cl, const char *req,
				     size_t len)
{
	json_error_t jerr;
	struct rpc_line *l;
	json_t *root, *v;
	char msg[256];
	size_t i;

	root = json_loadb(req, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		l = rpc_line_new(cl, false, 1);
		snprintf(msg, sizeof(msg), "parse error at column %d: %s", jerr.column, jerr.text);
		if (l)
			l->resp[0] = rpc_error_response(NULL, RPC_ERR_PARSE, msg);
		return l;
	}
	if (!json_is_array(root)) {
		l = rpc_line_new(cl, false, 1);
		if (l)
			rpc_handle_one(d, root, l, 0);
		json_decref(root);
		return l;
	}
	/* Batch (JSON-RPC 2.0 section 6). */
	if (!json_array_size(root)) {
		json_decref(root);
		l = rpc_line_new(cl, false, 1);
		if (l)
			l->resp[0] = rpc_error_response(NULL, RPC_ERR_INVALID_REQUEST, "empty batch");
		return l;
	}
	l = rpc_line_new(cl, true, json_array_size(root));
	if (l)
		json_array_foreach(root, i, v)
			rpc_handle_one(d, v, l, i);
	json_decref(root);
	return l;
}

char *rpc_process(struct daemon *d, const char *req, size_t len)
{
	struct rpc_line *l = rpc_line_run(d, NULL, req, len);
	char *text;

	if (!l)
		return NULL;
	text = rpc_line_text(l);	/* no call of it can wait: it has no client */
	rpc_line_free(l);
	return text;
}

/* ---- the socket ---- */

static void rpc_client_close(struct rpc_client *cl)
{
	struct rpc_server *s = cl->srv;

	if (cl->waiting)
		cl->waiting->cl = NULL;	/* its answer will have nowhere to go */
	ev_fd_del(s->d->main_loop, &cl->ev);
	close(cl->ev.fd);
	list_del(&cl->node);
	s->nclients--;
	free(cl->in);
	free(cl->out);
	free(cl);
}

static void rpc_client_update_events(struct rpc_client *cl)
{
	uint32_t ev = 0;

	if (!cl->closing && !cl->eof && !cl->waiting && cl->out_len - cl->out_off < RPC_OUT_HIGH)
		ev |= EPOLLIN;
	/* closing: the callback runs (socket writable) and closes, also with nothing to send */
	if (cl->out_len > cl->out_off || cl->closing)
		ev |= EPOLLOUT;
	ev_fd_mod(cl->srv->d->main_loop, &cl->ev, ev);
}

/* Returns false when the client was closed. */
static bool rpc_client_flush(struct rpc_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->ev.fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			rpc_client_close(cl);
			return false;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out_len) {
		cl->out_off = cl->out_len = 0;
		if (cl->closing) {
			rpc_client_close(cl);
			return false;
		}
	}
	rpc_client_update_events(cl);
	return true;
}

static int rpc_client_queue(struct rpc_client *cl, const char *line)
{
	size_t n = strlen(line);

	if (cl->out_off && cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_len + n > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *p;

		if (cl->out_off) {
			memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
			cl->out_len -= cl->out_off;
			cl->out_off = 0;
		}
		while (cap < cl->out_len + n)
			cap *= 2;
		p = realloc(cl->out, cap);
		if (!p)
			return -ENOMEM;
		cl->out = p;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, line, n);
	cl->out_len += n;
	return 0;
}

static void rpc_client_reply(struct rpc_client *cl, const char *req, size_t len)
{
	struct rpc_line *l;
	char *text;
	size_t i;

	for (i = 0; i < len && (req[i] == ' ' || req[i] == '\t' || req[i] == '\r'); i++)
		;
	if (i == len)
		return; /* blank line */
	l = rpc_line_run(cl->srv->d, cl, req, len);
	if (!l)
		return;
	if (l->pending) {
		cl->waiting = l;	/* rpc_line_answered() goes on */
		return;
	}
	text = rpc_line_text(l);
	rpc_line_free(l);
	if (text && rpc_client_queue(cl, text) < 0)
		cl->closing = true;
	free(text);
}

static void rpc_client_too_large(struct rpc_client *cl)
{
	char msg[96];
	char *line;

	snprintf(msg, sizeof(msg), "request larger than %u bytes", RPC_MAX_REQUEST);
	line = rpc_dump_line(rpc_error_response(NULL, RPC_ERR_INVALID_REQUEST, msg));
	if (line)
		rpc_client_queue(cl, line);
	free(line);
	log_warn("rpc: client sent a request over %u bytes; closing it", RPC_MAX_REQUEST);
	cl->closing = true;
	cl->in_len = 0;
}

/* Answers the complete requests read so far, in order, stopping at one answered later. */
static void rpc_client_parse(struct rpc_client *cl)
{
	char *nl, *start = cl->in;

	while (!cl->waiting && !cl->closing &&
	       (nl = memchr(start, '\n', cl->in_len - (size_t)(start - cl->in)))) {
		if ((size_t)(nl - start) > RPC_MAX_REQUEST) {
			rpc_client_too_large(cl);
			break;
		}
		rpc_client_reply(cl, start, (size_t)(nl - start));
		start = nl + 1;
	}
	if (!cl->closing) {
		cl->in_len -= (size_t)(start - cl->in);
		memmove(cl->in, start, cl->in_len);
		if (!cl->waiting && cl->in_len > RPC_MAX_REQUEST)
			rpc_client_too_large(cl);
	}
	if (cl->eof && !cl->closing && !cl->waiting) {
		/* A last request without its newline still gets an answer. */
		rpc_client_reply(cl, cl->in, cl->in_len);
		cl->in_len = 0;
		if (!cl->waiting)
			cl->closing = true;
	}
}

/* The last call of a line a client waits for was answered (rpc_async_done): queue the answer
 * and go on with the client's next requests. Never closes the client (its own callback does,
 * once the answer is sent): this runs inside another object's callback. */
static void rpc_line_answered(struct rpc_line *l)
{
	struct rpc_client *cl = l->cl;
	char *text;

	if (!cl) {
		rpc_line_free(l);
		return;
	}
	text = rpc_line_text(l);
	rpc_line_free(l);
	cl->waiting = NULL;
	if (text && rpc_client_queue(cl, text) < 0)
		cl->closing = true;
	free(text);
	rpc_client_parse(cl);
	rpc_client_update_events(cl);
}

static void rpc_client_cb(struct ev_fd *h, uint32_t events)
{
	struct rpc_client *cl = container_of(h, struct rpc_client, ev);
	ssize_t n;

	/* A client gone while its answer is still being worked out cannot receive it. */
	if ((events & EPOLLERR) || ((events & EPOLLHUP) && cl->waiting)) {
		rpc_client_close(cl);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP)) && !cl->closing && !cl->eof && !cl->waiting) {
		if (cl->in_cap - cl->in_len < 65536) {
			size_t cap = cl->in_cap ? cl->in_cap * 2 : 65536;
			char *p;

			if (cap > RPC_MAX_REQUEST + 65536)
				cap = RPC_MAX_REQUEST + 65536;
			p = realloc(cl->in, cap);
			if (!p) {
				rpc_client_close(cl);
				return;
			}
			cl->in = p;
			cl->in_cap = cap;
		}
		n = recv(h->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, 0);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			rpc_client_close(cl);
			return;
		}
		if (n == 0)
			cl->eof = true;
		if (n > 0)
			cl->in_len += (size_t)n;
		rpc_client_parse(cl);
	}
	rpc_client_flush(cl);
}

static void rpc_accept_cb(struct ev_fd *h, uint32_t events)
{
	struct rpc_server *s = container_of(h, struct rpc_server, ev);
	struct rpc_client *cl;
	int fd;

	for (;;) {
		fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("rpc: accept: %s", strerror(errno));
			return;
		}
		if (s->nclients >= RPC_MAX_CLIENTS) {
			log_warn("rpc: %u clients already connected; refusing another",
				 s->nclients);
			close(fd);
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->srv = s;
		cl->ev.cb = rpc_client_cb;
		if (ev_fd_add(s->d->main_loop, &cl->ev, fd, EPOLLIN) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		list_add_tail(&s->clients, &cl->node);
		s->nclients++;
	}
}

/* A socket file left behind: is a daemon still answering on it? */
static bool rpc_socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

int rpc_server_start(struct daemon *d, const char *path, struct rpc_server **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rpc_server *s;
	struct stat st;
	mode_t old_umask;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("control socket path %s is longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket", path);
			return -EEXIST;
		}
		if (rpc_socket_alive(&sa)) {
			log_err("another invard is answering on %s", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	list_init(&s->clients);
	strcpy(s->path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	/* Created 0600 from the start: no window in which others could connect. */
	old_umask = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_umask);
	if (ret < 0)
		goto err_fd;
	if (chmod(path, 0600) < 0 || listen(fd, 16) < 0 || stat(path, &st) < 0) {
		ret = -errno;
		unlink(path);
		goto err_fd;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->ev.cb = rpc_accept_cb;
	ret = ev_fd_add(d->main_loop, &s->ev, fd, EPOLLIN);
	if (ret < 0) {
		unlink(path);
		goto err_fd;
	}
	*out = s;
	return 0;

err_fd:
	close(fd);
err:
	log_err("control socket %s: %s", path, strerror(-ret));
	free(s);
	return ret;
}

void rpc_server_stop(struct rpc_server *s)
{
	struct list_node *n, *tmp;
	struct stat st;

	if (!s)
		return;
	list_for_each_safe(n, tmp, &s->clients) {
		struct rpc_client *cl = list_entry(n, struct rpc_client, node);

		/* Answers already queued (a migration ended by the shutdown) get one try. */
		if (cl->out_len > cl->out_off &&
		    send(cl->ev.fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("rpc: answer not sent at shutdown: %s", strerror(errno));
		rpc_client_close(cl);
	}
	ev_fd_del(s->d->main_loop, &s->ev);
	close(s->ev.fd);
	/* Only remove the file if it is still ours. */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s);
}
