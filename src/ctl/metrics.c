/* The Prometheus endpoint (ctl/metrics.h, docs/design/stats.md).
 *
 * Threads: driven by the main loop, not by a thread of libmicrohttpd's: MHD_USE_EPOLL without
 * MHD_USE_INTERNAL_POLLING_THREAD gives one epoll descriptor, watched by the main loop, and
 * MHD_run() is called when it is readable and when libmicrohttpd's next timeout is due. So a
 * scrape runs on the main thread like an RPC: it reads the workers' statistics with relaxed
 * loads, takes daemon.lock only while it lists the LUs (ctl/stats.c), and never touches
 * anything a worker owns.
 *
 * Names follow Prometheus' conventions: the invar_ prefix, _total on counters, units in the
 * name (_bytes, _seconds), latency as a histogram (_bucket with le, _sum, _count); labels
 * target and lun on LU series, target, initiator and isid on session series. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "ctl/metrics.h"
#include "ctl/stats.h"
#include "rt/evloop.h"
#include "target/daemon.h"
#include "util/hex.h"
#include "util/log.h"

#define METRICS_MAX_CONNS 16
#define METRICS_CONN_TIMEOUT_S 10
#define METRICS_IDLE_TICK_MS 1000

struct metrics_server {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	struct ev_fd ev;
	struct ev_timer tick;
};

/* ---- the exposition text ---------------------------------------------------------------- */

/* A label value, escaped as the text format asks (\\, \", \n). */
static void put_label(FILE *f, const char *name, const char *v, bool comma)
{
	fprintf(f, "%s%s=\"", comma ? "," : "", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

struct series {
	const char *target;
	char lun[8];			/* LU series */
	const char *initiator;		/* session series */
	char isid[13];
};

static void put_labels(FILE *f, const struct series *s, const char *extra_name,
		       const char *extra_value)
{
	fputc('{', f);
	put_label(f, "target", s->target, false);
	if (s->initiator) {
		put_label(f, "initiator", s->initiator, true);
		put_label(f, "isid", s->isid, true);
	} else {
		put_label(f, "lun", s->lun, true);
	}
	if (extra_name)
		put_label(f, extra_name, extra_value, true);
	fputc('}', f);
}

/* One metric family over every LU (or session): its HELP and TYPE once, then its samples. */
enum family {
	F_COMMANDS,
	F_READ_BYTES,
	F_WRITTEN_BYTES,
	F_RESPONSES,
	F_CHECK_CONDITIONS,
	F_ABORTED,
	F_QUEUE_DEPTH,
	F_DURATION,
	F_COUNT
};

static const struct {
	const char *name, *type, *help;
} families[F_COUNT] = {
	[F_COMMANDS] = { "commands_total", "counter", "SCSI commands ended, by kind" },
	[F_READ_BYTES] = { "read_bytes_total", "counter", "Bytes read by READ commands that ended GOOD" },
	[F_WRITTEN_BYTES] = { "written_bytes_total", "counter",
			      "Bytes of data-out of write commands that ended GOOD" },
	[F_RESPONSES] = { "responses_total", "counter", "SCSI commands answered, by status" },
	[F_CHECK_CONDITIONS] = { "check_conditions_total", "counter",
				 "Commands answered CHECK CONDITION, by sense key" },
	[F_ABORTED] = { "aborted_commands_total", "counter",
			"Commands ended without a response (task management, connection loss)" },
	[F_QUEUE_DEPTH] = { "queue_depth", "gauge", "Commands in flight" },
	[F_DURATION] = { "command_duration_seconds", "histogram",
			 "Time from command setup to its end (response sent)" },
};

static void put_sample(FILE *f, const char *prefix, enum family fam, const char *suffix,
		       const struct series *s, const char *xn, const char *xv, uint64_t v)
{
	fprintf(f, "invar_%s_%s%s", prefix, families[fam].name, suffix);
	put_labels(f, s, xn, xv);
	fprintf(f, " %llu\n", (unsigned long long)v);
}

static void put_family(FILE *f, const char *prefix, enum family fam, const struct series *ser,
		       const struct scsi_stats *st, unsigned n)
{
	fprintf(f, "# HELP invar_%s_%s %s\n# TYPE invar_%s_%s %s\n", prefix, families[fam].name,
		families[fam].help, prefix, families[fam].name, families[fam].type);
	for (unsigned i = 0; i < n; i++) {
		const struct series *s = &ser[i];
		const struct scsi_stats *x = &st[i];
		uint64_t cum = 0;
		char le[32];

		switch (fam) {
		case F_COMMANDS:
			for (unsigned k = 0; k < SCSI_STATS_KINDS; k++)
				put_sample(f, prefix, fam, "", s, "kind", scsi_stats_kind_name(k),
					   x->cmds[k]);
			break;
		case F_READ_BYTES:
			put_sample(f, prefix, fam, "", s, NULL, NULL, x->bytes_read);
			break;
		case F_WRITTEN_BYTES:
			put_sample(f, prefix, fam, "", s, NULL, NULL, x->bytes_written);
			break;
		case F_RESPONSES:
			for (unsigned k = 0; k < SCSI_STATS_STATUSES; k++)
				put_sample(f, prefix, fam, "", s, "status",
					   scsi_stats_status_name(k), x->status[k]);
			break;
		case F_CHECK_CONDITIONS:
			for (unsigned k = 0; k < 16; k++)
				put_sample(f, prefix, fam, "", s, "sense_key",
					   scsi_stats_sense_key_name(k), x->sense_key[k]);
			break;
		case F_ABORTED:
			put_sample(f, prefix, fam, "", s, NULL, NULL, x->aborted);
			break;
		case F_QUEUE_DEPTH:
			put_sample(f, prefix, fam, "", s, NULL, NULL, scsi_stats_queue_depth(x));
			break;
		case F_DURATION:
			for (unsigned b = 0; b < SCSI_STATS_LAT_BUCKETS; b++) {
				cum += x->lat[b];
				if (b == SCSI_STATS_LAT_BUCKETS - 1)
					snprintf(le, sizeof(le), "+Inf");
				else
					snprintf(le, sizeof(le), "%.9g",
						 (double)scsi_stats_bucket_le_us(b) / 1e6);
				put_sample(f, prefix, fam, "_bucket", s, "le", le, cum);
			}
			fprintf(f, "invar_%s_%s_sum", prefix, families[fam].name);
			put_labels(f, s, NULL, NULL);
			fprintf(f, " %.9f\n", (double)x->lat_sum_ns / 1e9);
			put_sample(f, prefix, fam, "_count", s, NULL, NULL, cum);
			break;
		default:
			break;
		}
	}
}

int metrics_render(struct daemon *d, char **text, size_t *len)
{
	struct ctl_stats st;
	struct series *ser = NULL;
	struct scsi_stats *v = NULL;
	unsigned n;
	FILE *f;
	int ret;

	*text = NULL;
	*len = 0;
	ret = ctl_stats_take(d, NULL, -1, &st);
	if (ret < 0)
		return ret;
	n = st.nlus > st.nsessions ? st.nlus : st.nsessions;
	ser = calloc(n ? n : 1, sizeof(*ser));
	v = calloc(n ? n : 1, sizeof(*v));
	f = open_memstream(text, len);
	if (!ser || !v || !f) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < st.nlus; i++) {
		ser[i].target = st.lus[i].target;
		snprintf(ser[i].lun, sizeof(ser[i].lun), "%u", st.lus[i].lun);
		v[i] = st.lus[i].s;
	}
	for (unsigned fam = 0; fam < F_COUNT; fam++)
		put_family(f, "lu", fam, ser, v, st.nlus);
	memset(ser, 0, (n ? n : 1) * sizeof(*ser));
	for (unsigned i = 0; i < st.nsessions; i++) {
		ser[i].target = st.sessions[i].target;
		ser[i].initiator = st.sessions[i].initiator;
		hex_encode(ser[i].isid, st.sessions[i].isid, sizeof(st.sessions[i].isid));
		v[i] = st.sessions[i].stats;
	}
	for (unsigned fam = 0; fam < F_COUNT; fam++)
		put_family(f, "session", fam, ser, v, st.nsessions);
	if (ferror(f))
		ret = -ENOMEM;
out:
	if (f && fclose(f))
		ret = -ENOMEM;
	if (ret < 0) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	free(ser);
	free(v);
	ctl_stats_free(&st);
	return ret;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static enum MHD_Result metrics_reply(struct MHD_Connection *conn, unsigned code, char *body,
				     size_t len, enum MHD_ResponseMemoryMode mode, const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result metrics_request(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **req_cls)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char bad_method[] = "only GET\n";
	struct metrics_server *m = cls;
	char *text;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return metrics_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method,
				     strlen(bad_method), MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics"))
		return metrics_reply(conn, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
				     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (metrics_render(m->d, &text, &len) < 0)
		return MHD_NO;	/* out of memory: libmicrohttpd closes the connection */
	return metrics_reply(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE,
			     "text/plain; version=0.0.4; charset=utf-8");
}

/* Run what is ready, then wake again at libmicrohttpd's next timeout (0: work it left for now,
 * e.g. a connection it did not finish this round), at the latest after a second. */
static void metrics_run(struct metrics_server *m)
{
	MHD_UNSIGNED_LONG_LONG to = METRICS_IDLE_TICK_MS;

	MHD_run(m->mhd);
	if (MHD_get_timeout(m->mhd, &to) != MHD_YES || to > METRICS_IDLE_TICK_MS)
		to = METRICS_IDLE_TICK_MS;
	ev_timer_arm(m->d->main_loop, &m->tick, to);
}

static void metrics_fd_cb(struct ev_fd *h, uint32_t events)
{
	metrics_run((struct metrics_server *)((char *)h - offsetof(struct metrics_server, ev)));
}

static void metrics_tick_cb(struct ev_timer *t)
{
	metrics_run((struct metrics_server *)((char *)t - offsetof(struct metrics_server, tick)));
}

/* "ADDR:PORT" or "[v6]:PORT", numeric only. */
static int metrics_parse_addr(const char *s, struct sockaddr_storage *ss, char *err,
			      size_t err_len)
{
	char host[256];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM },
			*res = NULL;
	int rc;

	if (!colon || !colon[1]) {
		snprintf(err, err_len, "'%s': expected ADDR:PORT", s);
		return -EINVAL;
	}
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		h = s + 1;
		hl -= 2;
	}
	if (!hl || hl >= sizeof(host)) {
		snprintf(err, err_len, "'%s': expected ADDR:PORT", s);
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc) {
		snprintf(err, err_len, "'%s': %s", s, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int metrics_start(struct daemon *d, const char *addr_port, struct metrics_server **out, char *err,
		  size_t err_len)
{
	struct sockaddr_storage ss = { 0 };
	struct metrics_server *m;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	uint16_t port;
	int ret;

	*out = NULL;
	ret = metrics_parse_addr(addr_port, &ss, err, err_len);
	if (ret < 0)
		return ret;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	m->d = d;
	/* The port given too, though SOCK_ADDR decides: libmicrohttpd's own messages name it. */
	port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, metrics_request, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, err_len, "cannot listen on %s (address in use or not local?)",
			 addr_port);
		free(m);
		return -EADDRNOTAVAIL;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->ev.cb = metrics_fd_cb;
	m->tick.cb = metrics_tick_cb;
	if (!info || ev_fd_add(d->main_loop, &m->ev, info->epoll_fd, EPOLLIN) < 0) {
		snprintf(err, err_len, "cannot watch the HTTP server's descriptor");
		MHD_stop_daemon(m->mhd);
		free(m);
		return -EIO;
	}
	ev_timer_arm(d->main_loop, &m->tick, METRICS_IDLE_TICK_MS);
	log_info("metrics: serving Prometheus metrics at http://%s/metrics (unauthenticated)",
		 addr_port);
	*out = m;
	return 0;
}

void metrics_stop(struct metrics_server *m)
{
	if (!m)
		return;
	ev_timer_cancel(m->d->main_loop, &m->tick);
	ev_fd_del(m->d->main_loop, &m->ev);
	MHD_stop_daemon(m->mhd);	/* closes its epoll descriptor and the connections */
	free(m);
}
