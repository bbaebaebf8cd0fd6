/* invarctl stats [IQN [LUN]] and invarctl top [-n COUNT] [-d SECONDS] [IQN]: the `stats` RPC
 * (docs/RPC.md) as a table, and as a refreshing view of rates computed from two samples (like
 * iostat): IOPS, MB/s and latency percentiles of the commands that ended in between (from the
 * difference of the latency histograms, scsi/stats.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scsi/stats.h"
#include "stats_cmd.h"

/* A row of the RPC's answer back into counters. */
static void stats_from_json(json_t *o, struct scsi_stats *s)
{
	json_t *lat = json_object_get(o, "latency"), *b = json_object_get(lat, "buckets"), *v;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (unsigned k = 0; k < SCSI_STATS_KINDS; k++)
		s->cmds[k] = (uint64_t)json_integer_value(
			json_object_get(json_object_get(o, "commands"), scsi_stats_kind_name(k)));
	for (unsigned k = 0; k < SCSI_STATS_STATUSES; k++)
		s->status[k] = (uint64_t)json_integer_value(
			json_object_get(json_object_get(o, "status"), scsi_stats_status_name(k)));
	for (unsigned k = 0; k < 16; k++)
		s->sense_key[k] = (uint64_t)json_integer_value(json_object_get(
			json_object_get(o, "sense_keys"), scsi_stats_sense_key_name(k)));
	s->bytes_read = (uint64_t)json_integer_value(json_object_get(o, "bytes_read"));
	s->bytes_written = (uint64_t)json_integer_value(json_object_get(o, "bytes_written"));
	s->aborted = (uint64_t)json_integer_value(json_object_get(o, "aborted"));
	/* Not the count of starts: the daemon reports only their difference with the ends. */
	s->started = (uint64_t)json_integer_value(json_object_get(o, "queue_depth"));
	s->lat_sum_ns = (uint64_t)json_integer_value(json_object_get(lat, "sum_us")) * 1000;
	json_array_foreach(b, i, v)
		if (i < SCSI_STATS_LAT_BUCKETS)
			s->lat[i] = (uint64_t)json_integer_value(v);
}

static uint64_t stats_cmds(const struct scsi_stats *s)
{
	return s->cmds[SCSI_STATS_READ] + s->cmds[SCSI_STATS_WRITE] + s->cmds[SCSI_STATS_OTHER];
}

/* "illegal_request 1, busy 2" or "-". */
static void stats_errors(const struct scsi_stats *s, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned k = 0; k < 16; k++)
		if (s->sense_key[k] && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s%s %llu", n ? ", " : "",
					      scsi_stats_sense_key_name(k),
					      (unsigned long long)s->sense_key[k]);
	for (unsigned k = SCSI_STATS_CONDITION_MET + 1; k < SCSI_STATS_STATUSES; k++)
		if (s->status[k] && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s%s %llu", n ? ", " : "",
					      scsi_stats_status_name(k),
					      (unsigned long long)s->status[k]);
	if (s->aborted && n < len)
		n += (size_t)snprintf(out + n, len - n, "%saborted %llu", n ? ", " : "",
				      (unsigned long long)s->aborted);
	if (!out[0])
		snprintf(out, len, "-");
}

static void print_stats_header(void)
{
	printf("%-40s %10s %10s %10s %10s %10s %4s %9s %9s %9s  %s\n", "LU / SESSION", "READS",
	       "WRITES", "OTHER", "READ MB", "WRITE MB", "QD", "P50 us", "P99 us", "P99.9 us",
	       "ERRORS");
}

static void print_stats_row(const char *name, const struct scsi_stats *s, uint64_t qd)
{
	char errs[512];

	stats_errors(s, errs, sizeof(errs));
	printf("%-40s %10llu %10llu %10llu %10.1f %10.1f %4llu %9.1f %9.1f %9.1f  %s\n", name,
	       (unsigned long long)s->cmds[SCSI_STATS_READ],
	       (unsigned long long)s->cmds[SCSI_STATS_WRITE],
	       (unsigned long long)s->cmds[SCSI_STATS_OTHER], (double)s->bytes_read / 1e6,
	       (double)s->bytes_written / 1e6, (unsigned long long)qd,
	       scsi_stats_quantile_us(s, 0.5), scsi_stats_quantile_us(s, 0.99),
	       scsi_stats_quantile_us(s, 0.999), errs);
}

static void lu_name(json_t *o, char *out, size_t len)
{
	snprintf(out, len, "%s/%lld", jstr(o, "target", "?"),
		 (long long)json_integer_value(json_object_get(o, "lun")));
}

static void session_name(json_t *o, char *out, size_t len)
{
	snprintf(out, len, "session %lld %s", (long long)json_integer_value(json_object_get(o, "id")),
		 jstr(o, "initiator", "?"));
}

static json_t *stats_params(int argc, char **argv, int *err)
{
	json_t *p = json_object();
	json_int_t lun;

	*err = 0;
	if (argc >= 1)
		json_object_set_new(p, "iqn", json_string(argv[0]));
	if (argc >= 2) {
		if (parse_lun_number(argv[1], &lun) < 0) {
			json_decref(p);
			*err = usage_error("stats: LUN must be 0 to 255");
			return NULL;
		}
		json_object_set_new(p, "lun", json_integer(lun));
	}
	return p;
}

int cmd_stats(const struct ctl *c, const char *verb, int argc, char **argv)
{
	json_t *r, *v, *p;
	size_t i;
	int err;

	p = stats_params(argc, argv, &err);
	if (err)
		return err;
	if (ctl_run(c, "stats", p, &r))
		return 1;
	if (!r)
		return 0;
	print_stats_header();
	json_array_foreach(json_object_get(r, "luns"), i, v)
	{
		struct scsi_stats s;
		char name[300];

		stats_from_json(v, &s);
		lu_name(v, name, sizeof(name));
		print_stats_row(name, &s, s.started);
	}
	json_array_foreach(json_object_get(r, "sessions"), i, v)
	{
		struct scsi_stats s;
		char name[300];

		stats_from_json(v, &s);
		session_name(v, name, sizeof(name));
		print_stats_row(name, &s, s.started);
		printf("  isid %s target %s\n", jstr(v, "isid", "?"), jstr(v, "target", "?"));
	}
	if (!json_array_size(json_object_get(r, "luns")) &&
	    !json_array_size(json_object_get(r, "sessions")))
		printf("(no LUs)\n");
	json_decref(r);
	return 0;
}

/* ---- top ---- */

/* The same row in the previous sample (by name), or NULL. */
static json_t *find_row(json_t *arr, const char *name, bool lu)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		char n[300];

		if (lu)
			lu_name(v, n, sizeof(n));
		else
			session_name(v, n, sizeof(n));
		if (!strcmp(n, name))
			return v;
	}
	return NULL;
}

static void top_row(json_t *prev_arr, json_t *v, bool lu, double dt)
{
	struct scsi_stats a, b, d;
	json_t *pv;
	char name[300];
	uint64_t *dp = (uint64_t *)&d;
	const uint64_t *ap = (const uint64_t *)&a, *bp = (const uint64_t *)&b;

	if (lu)
		lu_name(v, name, sizeof(name));
	else
		session_name(v, name, sizeof(name));
	pv = find_row(prev_arr, name, lu);
	stats_from_json(v, &b);
	if (pv)
		stats_from_json(pv, &a);
	else
		memset(&a, 0, sizeof(a));
	for (size_t k = 0; k < sizeof(d) / sizeof(uint64_t); k++)
		dp[k] = bp[k] >= ap[k] ? bp[k] - ap[k] : 0;
	printf("%-40s %9.0f %9.1f %9.1f %4llu %9.1f %9.1f\n", name, (double)stats_cmds(&d) / dt,
	       (double)d.bytes_read / 1e6 / dt, (double)d.bytes_written / 1e6 / dt,
	       (unsigned long long)b.started, scsi_stats_quantile_us(&d, 0.5),
	       scsi_stats_quantile_us(&d, 0.99));
}

static void top_block(json_t *prev, json_t *cur, bool tty)
{
	double dt = json_real_value(json_object_get(cur, "time")) -
		    json_real_value(json_object_get(prev, "time"));
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	json_t *v;
	size_t i;

	if (dt <= 0)
		dt = 1;
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (tty)
		printf("\033[H\033[2J");	/* home, clear screen */
	printf("invarctl top - %s, over %.2f s\n", when, dt);
	printf("%-40s %9s %9s %9s %4s %9s %9s\n", "LU / SESSION", "IOPS", "RD MB/s", "WR MB/s",
	       "QD", "P50 us", "P99 us");
	json_array_foreach(json_object_get(cur, "luns"), i, v)
		top_row(json_object_get(prev, "luns"), v, true, dt);
	json_array_foreach(json_object_get(cur, "sessions"), i, v)
		top_row(json_object_get(prev, "sessions"), v, false, dt);
	if (!tty)
		printf("\n");
	fflush(stdout);
}

int cmd_top(const struct ctl *c, const char *verb, int argc, char **argv)
{
	long count = -1;
	double delay = 1;
	const char *iqn = NULL;
	json_t *prev, *cur;
	bool tty = isatty(STDOUT_FILENO);
	char *end;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			errno = 0;
			count = strtol(argv[++i], &end, 10);
			if (errno || *end || count < 1)
				return usage_error("top: -n takes a count of 1 or more");
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			errno = 0;
			delay = strtod(argv[++i], &end);
			if (errno || *end || delay < 0.1 || delay > 3600)
				return usage_error("top: -d takes 0.1 to 3600 seconds");
		} else if (argv[i][0] != '-' && !iqn) {
			iqn = argv[i];
		} else {
			return usage_error("usage: top [-n COUNT] [-d SECONDS] [IQN]");
		}
	}
	prev = ctl_call(c, "stats", iqn ? json_pack("{s:s}", "iqn", iqn) : NULL);
	if (!prev)
		return 1;
	for (long n = 0; count < 0 || n < count; n++) {
		struct timespec ts = { (time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9) };

		nanosleep(&ts, NULL);
		cur = ctl_call(c, "stats", iqn ? json_pack("{s:s}", "iqn", iqn) : NULL);
		if (!cur) {
			json_decref(prev);
			return 1;
		}
		if (c->json)
			ctl_print_json(cur);
		else
			top_block(prev, cur, tty);
		json_decref(prev);
		prev = cur;
	}
	json_decref(prev);
	return 0;
}
