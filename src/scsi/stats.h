/* I/O statistics of a LU and of an I_T nexus (docs/design/stats.md): commands by kind, bytes,
 * outcomes by status and sense key, a log2 latency histogram and the queue depth.
 *
 * The threading rule: a struct scsi_stats is written by one thread only (a LU keeps one per
 * worker, lu_stats below; a session's belongs to its worker) with relaxed atomic loads and
 * stores (plain moves on x86-64 and arm64: no locked instruction, no shared cache line on the
 * command path), and read by anyone with relaxed loads (scsi_stats_add). A reader sees each
 * counter whole but not all of them at one instant: sums are consistent to within the commands
 * ending while it reads. */
#ifndef INVAR_SCSI_STATS_H
#define INVAR_SCSI_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct scsi_task;

/* What a command is (from its dispatch row): READ(6/10/12/16); a block command that writes the
 * medium (WRITE, WRITE AND VERIFY, WRITE SAME, COMPARE AND WRITE, ORWRITE, WRITE ATOMIC,
 * UNMAP...); everything else. */
enum scsi_stats_kind {
	SCSI_STATS_READ = 0,
	SCSI_STATS_WRITE,
	SCSI_STATS_OTHER,
	SCSI_STATS_KINDS
};

/* How a command ended, by SCSI status (SAM-5 5.3.1); CHECK CONDITION is split by sense key
 * in sense_key[]. */
enum scsi_stats_status {
	SCSI_STATS_GOOD = 0,
	SCSI_STATS_CHECK_CONDITION,
	SCSI_STATS_CONDITION_MET,
	SCSI_STATS_BUSY,
	SCSI_STATS_RESERVATION_CONFLICT,
	SCSI_STATS_TASK_SET_FULL,
	SCSI_STATS_ACA_ACTIVE,
	SCSI_STATS_TASK_ABORTED,
	SCSI_STATS_STATUS_OTHER,
	SCSI_STATS_STATUSES
};

/* Latency buckets: bucket b counts commands that took less than 2^b µs (whole µs, so b = 0 is
 * under 1 µs) and at least 2^(b-1) µs; the last also everything slower (2^26 µs: 67 s). */
#define SCSI_STATS_LAT_BUCKETS 28

struct scsi_stats {
	uint64_t started;			/* tasks set up */
	uint64_t ended;				/* tasks released: answered or aborted */
	uint64_t cmds[SCSI_STATS_KINDS];	/* ended tasks by kind */
	uint64_t bytes_read;			/* data-in of READs that ended GOOD */
	uint64_t bytes_written;			/* data-out of writes that ended GOOD */
	uint64_t status[SCSI_STATS_STATUSES];	/* answered tasks by status */
	uint64_t sense_key[16];			/* CHECK CONDITION by sense key */
	uint64_t aborted;			/* ended without a response (task management, a
						 * connection gone) */
	uint64_t lat_sum_ns;			/* answered tasks, setup to release */
	uint64_t lat[SCSI_STATS_LAT_BUCKETS];
};

_Static_assert(sizeof(struct scsi_stats) % sizeof(uint64_t) == 0, "only uint64_t counters");

/* Each worker's counters for one LU: slot[worker id + 1] (slot 0: tasks on no worker, unit
 * tests), made by the worker at its first command to the LU, each on its own cache lines, and
 * freed with the LU. Rule: a slot pointer is set once (compare-and-swap), a slot written only
 * by its worker (relaxed), read by anyone (relaxed). */
#define LU_STATS_MAX_WORKERS 1024
struct lu_stats {
	_Atomic(struct scsi_stats *) slot[LU_STATS_MAX_WORKERS + 1];
};

/* The command path (scsi/task.c, scsi/dispatch.c): start at setup, end at release. */
void scsi_stats_task_start(struct scsi_task *t);
void scsi_stats_task_end(struct scsi_task *t);

/* Readers: sum += s (relaxed loads), and the LU's slots summed into *sum (zeroed first). */
void scsi_stats_add(struct scsi_stats *sum, const struct scsi_stats *s);
struct lu;
void lu_stats_sum(struct lu *lu, struct scsi_stats *sum);
void lu_stats_free(struct lu *lu);

/* Commands in flight: started - ended (never negative, though a reader may see a start before
 * its end or the other way round). */
uint64_t scsi_stats_queue_depth(const struct scsi_stats *s);
/* The q-quantile (0 < q <= 1) of the latency histogram in µs, interpolated linearly inside its
 * bucket as Prometheus' histogram_quantile does; 0 when empty. The last bucket has no upper
 * bound: a quantile there is its lower bound. */
double scsi_stats_quantile_us(const struct scsi_stats *s, double q);
/* The upper bound of bucket b in µs (2^b), for b < SCSI_STATS_LAT_BUCKETS - 1. */
static inline uint64_t scsi_stats_bucket_le_us(unsigned b)
{
	return (uint64_t)1 << b;
}
/* Which bucket a latency falls in. */
unsigned scsi_stats_bucket(uint64_t ns);

/* Names: "read", "good", "illegal_request"... (snake case, for JSON and metric labels). */
const char *scsi_stats_kind_name(enum scsi_stats_kind k);
const char *scsi_stats_status_name(enum scsi_stats_status s);
const char *scsi_stats_sense_key_name(unsigned key);

/* Single-writer increment: relaxed, so no lock prefix and no torn value for a reader. */
static inline void scsi_stats_inc(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

#endif
