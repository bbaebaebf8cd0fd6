/* I/O statistics (scsi/stats.h, docs/design/stats.md): a task is counted when it is set up
 * (started) and when it is released (ended: kind, bytes, outcome, latency), in its LU's slot of
 * the task's worker and in its I_T nexus's counters, both written only by that worker. Release
 * is the one point every task passes once with its final outcome, whether the core completed it
 * (scsi_task_complete), refused it at setup, the fabric answered it (write-buffer budget,
 * data-out faults) or it was aborted. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt/worker.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/stats.h"
#include "scsi/task.h"

#define STATS_LINE 64
#define STATS_ALLOC ((sizeof(struct scsi_stats) + STATS_LINE - 1) / STATS_LINE * STATS_LINE)

static uint64_t stats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This worker's slot of lu, made at its first command there. */
static struct scsi_stats *lu_stats_slot(struct lu *lu, const struct worker *w)
{
	unsigned i = w ? w->id + 1 : 0;
	struct scsi_stats *s, *none = NULL;

	if (i > LU_STATS_MAX_WORKERS)
		return NULL;
	s = atomic_load_explicit(&lu->stats.slot[i], memory_order_acquire);
	if (s)
		return s;
	s = aligned_alloc(STATS_LINE, STATS_ALLOC);
	if (!s)
		return NULL;	/* not counted: statistics never fail a command */
	memset(s, 0, STATS_ALLOC);
	if (!atomic_compare_exchange_strong_explicit(&lu->stats.slot[i], &none, s,
						     memory_order_acq_rel, memory_order_acquire)) {
		free(s);
		return none;
	}
	return s;
}

void lu_stats_free(struct lu *lu)
{
	for (unsigned i = 0; i <= LU_STATS_MAX_WORKERS; i++) {
		free(atomic_load_explicit(&lu->stats.slot[i], memory_order_relaxed));
		atomic_store_explicit(&lu->stats.slot[i], NULL, memory_order_relaxed);
	}
}

void scsi_stats_task_start(struct scsi_task *t)
{
	if (t->stats_started)
		return;
	t->stats_started = true;
	t->start_ns = stats_now_ns();
	t->lu_stats = t->lu ? lu_stats_slot(t->lu, t->worker) : NULL;
	if (t->lu_stats)
		scsi_stats_inc(&t->lu_stats->started, 1);
	/* A fabric whose nexus runs on several workers names a struct of its own per queue
	 * (fabric/vhost: one per virtqueue), each written by one worker; else the nexus's. */
	if (!t->nexus_stats)
		t->nexus_stats = t->nexus ? t->nexus->stats : NULL;
	if (t->nexus_stats)
		scsi_stats_inc(&t->nexus_stats->started, 1);
}

unsigned scsi_stats_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b;

	if (!us)
		return 0;
	b = 64u - (unsigned)__builtin_clzll(us);	/* 2^(b-1) <= us < 2^b */
	return b < SCSI_STATS_LAT_BUCKETS ? b : SCSI_STATS_LAT_BUCKETS - 1;
}

static enum scsi_stats_kind task_kind(const struct scsi_task *t)
{
	const struct scsi_cmd *c = t->cmd;

	if (!c || !(c->flags & SCMD_F_BLOCK))
		return SCSI_STATS_OTHER;
	if (c->flags & SCMD_F_WRITE)
		return SCSI_STATS_WRITE;
	return c->dir == SCSI_DIR_READ ? SCSI_STATS_READ : SCSI_STATS_OTHER;
}

static enum scsi_stats_status task_status(uint8_t status)
{
	switch (status) {
	case SCSI_STATUS_GOOD: return SCSI_STATS_GOOD;
	case SCSI_STATUS_CHECK_CONDITION: return SCSI_STATS_CHECK_CONDITION;
	case SCSI_STATUS_CONDITION_MET: return SCSI_STATS_CONDITION_MET;
	case SCSI_STATUS_BUSY: return SCSI_STATS_BUSY;
	case SCSI_STATUS_RESERVATION_CONFLICT: return SCSI_STATS_RESERVATION_CONFLICT;
	case SCSI_STATUS_TASK_SET_FULL: return SCSI_STATS_TASK_SET_FULL;
	case SCSI_STATUS_ACA_ACTIVE: return SCSI_STATS_ACA_ACTIVE;
	case SCSI_STATUS_TASK_ABORTED: return SCSI_STATS_TASK_ABORTED;
	default: return SCSI_STATS_STATUS_OTHER;
	}
}

/* The sense key of fixed (SPC-4 4.5.3) or descriptor (4.5.2) sense data. */
static unsigned task_sense_key(const struct scsi_task *t)
{
	uint8_t code = t->sense[0] & 0x7f;

	if ((code == 0x70 || code == 0x71) && t->sense_len > 2)
		return t->sense[2] & 0x0f;
	if ((code == 0x72 || code == 0x73) && t->sense_len > 1)
		return t->sense[1] & 0x0f;
	return 0;
}

struct stats_outcome {
	enum scsi_stats_kind kind;
	bool answered;
	enum scsi_stats_status status;
	unsigned key;
	uint64_t bytes_read, bytes_written, lat_ns;
	unsigned bucket;
};

static void stats_count(struct scsi_stats *s, const struct stats_outcome *o)
{
	scsi_stats_inc(&s->ended, 1);
	scsi_stats_inc(&s->cmds[o->kind], 1);
	if (!o->answered) {
		scsi_stats_inc(&s->aborted, 1);
		return;
	}
	scsi_stats_inc(&s->status[o->status], 1);
	if (o->status == SCSI_STATS_CHECK_CONDITION)
		scsi_stats_inc(&s->sense_key[o->key], 1);
	if (o->bytes_read)
		scsi_stats_inc(&s->bytes_read, o->bytes_read);
	if (o->bytes_written)
		scsi_stats_inc(&s->bytes_written, o->bytes_written);
	scsi_stats_inc(&s->lat_sum_ns, o->lat_ns);
	scsi_stats_inc(&s->lat[o->bucket], 1);
}

void scsi_stats_task_end(struct scsi_task *t)
{
	struct scsi_stats *ns = t->nexus_stats;
	struct stats_outcome o = { .kind = task_kind(t), .answered = !t->aborted };

	if (!t->stats_started)
		return;
	t->stats_started = false;
	if (!t->lu_stats && !ns)
		return;
	if (o.answered) {
		uint64_t now = stats_now_ns();

		o.status = task_status(t->status);
		if (o.status == SCSI_STATS_CHECK_CONDITION)
			o.key = task_sense_key(t);
		if (o.status == SCSI_STATS_GOOD && o.kind == SCSI_STATS_READ)
			o.bytes_read = t->data_in_len < t->exp_xfer_len ? t->data_in_len
									: t->exp_xfer_len;
		if (o.status == SCSI_STATS_GOOD && o.kind == SCSI_STATS_WRITE)
			o.bytes_written = scsi_task_data_out_received(t);
		o.lat_ns = now > t->start_ns ? now - t->start_ns : 0;
		o.bucket = scsi_stats_bucket(o.lat_ns);
	}
	if (t->lu_stats)
		stats_count(t->lu_stats, &o);
	if (ns)
		stats_count(ns, &o);
	t->lu_stats = NULL;
	t->nexus_stats = NULL;
}

void scsi_stats_add(struct scsi_stats *sum, const struct scsi_stats *s)
{
	uint64_t *d = (uint64_t *)sum;
	const uint64_t *src = (const uint64_t *)s;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void lu_stats_sum(struct lu *lu, struct scsi_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i <= LU_STATS_MAX_WORKERS; i++) {
		const struct scsi_stats *s =
			atomic_load_explicit(&lu->stats.slot[i], memory_order_acquire);

		if (s)
			scsi_stats_add(sum, s);
	}
}

uint64_t scsi_stats_queue_depth(const struct scsi_stats *s)
{
	return s->started > s->ended ? s->started - s->ended : 0;
}

double scsi_stats_quantile_us(const struct scsi_stats *s, double q)
{
	uint64_t total = 0, cum = 0;
	double rank;

	for (unsigned b = 0; b < SCSI_STATS_LAT_BUCKETS; b++)
		total += s->lat[b];
	if (!total)
		return 0;
	if (q <= 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (unsigned b = 0; b < SCSI_STATS_LAT_BUCKETS; b++) {
		double lo = b ? (double)((uint64_t)1 << (b - 1)) : 0, hi;

		if (!s->lat[b] || (double)(cum + s->lat[b]) < rank) {
			cum += s->lat[b];
			continue;
		}
		if (b == SCSI_STATS_LAT_BUCKETS - 1)
			return lo;
		hi = (double)scsi_stats_bucket_le_us(b);
		return lo + (hi - lo) * (rank - (double)cum) / (double)s->lat[b];
	}
	return (double)((uint64_t)1 << (SCSI_STATS_LAT_BUCKETS - 2));
}

const char *scsi_stats_kind_name(enum scsi_stats_kind k)
{
	static const char *const names[SCSI_STATS_KINDS] = { "read", "write", "other" };

	return (unsigned)k < SCSI_STATS_KINDS ? names[k] : "?";
}

const char *scsi_stats_status_name(enum scsi_stats_status st)
{
	static const char *const names[SCSI_STATS_STATUSES] = {
		"good", "check_condition", "condition_met", "busy", "reservation_conflict",
		"task_set_full", "aca_active", "task_aborted", "other",
	};

	return (unsigned)st < SCSI_STATS_STATUSES ? names[st] : "?";
}

/* SPC-4 4.5.6, table 28. */
const char *scsi_stats_sense_key_name(unsigned key)
{
	static const char *const names[16] = {
		"no_sense", "recovered_error", "not_ready", "medium_error", "hardware_error",
		"illegal_request", "unit_attention", "data_protect", "blank_check",
		"vendor_specific", "copy_aborted", "aborted_command", "key_0c", "volume_overflow",
		"miscompare", "completed",
	};

	return names[key & 0x0f];
}
