/* The `stats` RPC (docs/RPC.md "stats"): I/O statistics per LU and per session (scsi/stats.h),
 * read from the workers' counters with relaxed loads (ctl/stats.h). Rates are the client's:
 * `invarctl top` takes two samples and divides. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/rpc_internal.h"
#include "ctl/stats.h"
#include "util/hex.h"

struct p_stats {
	const char *iqn;
	int64_t lun;
};

static const struct rpc_param stats_params[] = {
	{ .name = "iqn", .type = RPC_PARAM_STRING, .offset = offsetof(struct p_stats, iqn),
	  .max_len = 223 },
	{ .name = "lun", .type = RPC_PARAM_INT, .offset = offsetof(struct p_stats, lun), .min = 0,
	  .max = INVAR_MAX_LUNS - 1, .def = -1 },
};

static json_t *stats_json(const struct scsi_stats *s)
{
	json_t *o = json_object(), *cmds = json_object(), *st = json_object(),
	       *keys = json_object(), *lat = json_object(), *b = json_array();
	uint64_t n = 0;

	if (!o || !cmds || !st || !keys || !lat || !b)
		goto fail;
	for (unsigned k = 0; k < SCSI_STATS_KINDS; k++)
		json_object_set_new(cmds, scsi_stats_kind_name(k), json_integer((json_int_t)s->cmds[k]));
	for (unsigned k = 0; k < SCSI_STATS_STATUSES; k++)
		json_object_set_new(st, scsi_stats_status_name(k), json_integer((json_int_t)s->status[k]));
	for (unsigned k = 0; k < 16; k++)
		json_object_set_new(keys, scsi_stats_sense_key_name(k),
				    json_integer((json_int_t)s->sense_key[k]));
	for (unsigned k = 0; k < SCSI_STATS_LAT_BUCKETS; k++) {
		json_array_append_new(b, json_integer((json_int_t)s->lat[k]));
		n += s->lat[k];
	}
	json_object_set_new(lat, "count", json_integer((json_int_t)n));
	json_object_set_new(lat, "sum_us", json_integer((json_int_t)(s->lat_sum_ns / 1000)));
	json_object_set_new(lat, "p50_us", json_real(scsi_stats_quantile_us(s, 0.5)));
	json_object_set_new(lat, "p99_us", json_real(scsi_stats_quantile_us(s, 0.99)));
	json_object_set_new(lat, "p999_us", json_real(scsi_stats_quantile_us(s, 0.999)));
	json_object_set_new(lat, "buckets", b);
	b = NULL;
	json_object_set_new(o, "commands", cmds);
	json_object_set_new(o, "bytes_read", json_integer((json_int_t)s->bytes_read));
	json_object_set_new(o, "bytes_written", json_integer((json_int_t)s->bytes_written));
	json_object_set_new(o, "status", st);
	json_object_set_new(o, "sense_keys", keys);
	json_object_set_new(o, "aborted", json_integer((json_int_t)s->aborted));
	json_object_set_new(o, "queue_depth", json_integer((json_int_t)scsi_stats_queue_depth(s)));
	json_object_set_new(o, "latency", lat);
	return o;
fail:
	json_decref(o);
	json_decref(cmds);
	json_decref(st);
	json_decref(keys);
	json_decref(lat);
	json_decref(b);
	return NULL;
}

static int m_stats(struct rpc_call *c, const void *pv)
{
	const struct p_stats *p = pv;
	struct ctl_stats st;
	struct timespec now;
	json_t *luns = json_array(), *sess = json_array();
	int ret;

	if (!luns || !sess)
		goto nomem;
	ret = ctl_stats_take(c->d, p->iqn, p->lun, &st);
	if (ret < 0) {
		json_decref(luns);
		json_decref(sess);
		return rpc_fail(c, ret, "cannot read statistics: %s", strerror(-ret));
	}
	for (unsigned i = 0; i < st.nlus; i++) {
		json_t *o = stats_json(&st.lus[i].s);

		if (!o || json_object_set_new(o, "target", json_string(st.lus[i].target)) < 0 ||
		    json_object_set_new(o, "lun", json_integer(st.lus[i].lun)) < 0 ||
		    json_array_append_new(luns, o) < 0)
			goto nomem_st;
	}
	for (unsigned i = 0; i < st.nsessions; i++) {
		const struct fabric_session_info *f = &st.sessions[i];
		char isid[2 * sizeof(f->isid) + 1];
		json_t *o = stats_json(&f->stats);

		hex_encode(isid, f->isid, sizeof(f->isid));
		if (!o || json_object_set_new(o, "fabric", json_string(f->fabric)) < 0 ||
		    json_object_set_new(o, "id", json_integer(f->id)) < 0 ||
		    json_object_set_new(o, "initiator", json_string(f->initiator)) < 0 ||
		    json_object_set_new(o, "isid", json_string(isid)) < 0 ||
		    json_object_set_new(o, "target", json_string(f->target)) < 0 ||
		    json_array_append_new(sess, o) < 0)
			goto nomem_st;
	}
	ctl_stats_free(&st);
	clock_gettime(CLOCK_MONOTONIC, &now);
	c->result = json_pack("{s:o, s:o, s:f}", "luns", luns, "sessions", sess, "time",
			      (double)now.tv_sec + now.tv_nsec / 1e9);
	return c->result ? 0 : rpc_fail(c, -ENOMEM, "out of memory");
nomem_st:
	ctl_stats_free(&st);
nomem:
	json_decref(luns);
	json_decref(sess);
	return rpc_fail(c, -ENOMEM, "out of memory");
}

const struct rpc_method rpc_stats_methods[] = {
	{ .name = "stats", .fn = m_stats, .params = stats_params,
	  .nparams = sizeof(stats_params) / sizeof(stats_params[0]),
	  .params_size = sizeof(struct p_stats) },
};

const size_t rpc_stats_nmethods = sizeof(rpc_stats_methods) / sizeof(rpc_stats_methods[0]);
