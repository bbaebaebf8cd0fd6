/* A snapshot of the I/O statistics (scsi/stats.h) of every LU and every session, for the
 * `stats` RPC (methods_stats.c) and the Prometheus endpoint (metrics.c). Taking one reads the
 * workers' counters with relaxed loads only: daemon.lock is held just long enough to list the
 * LUs (with references), and sessions come from fabric_ops.session_list (the fabric's lock).
 * Call it on the main thread (fabric_ops' rule). */
#ifndef INVAR_CTL_STATS_H
#define INVAR_CTL_STATS_H

#include <stdint.h>

#include "scsi/limits.h"
#include "scsi/stats.h"
#include "target/daemon.h"

struct ctl_stats_lu {
	char target[INVAR_NAME_MAX + 1];
	unsigned lun;
	struct scsi_stats s;
};

struct ctl_stats {
	struct ctl_stats_lu *lus;
	unsigned nlus;
	struct fabric_session_info *sessions;	/* normal sessions only; .stats in each */
	unsigned nsessions;
};

/* iqn NULL: every target; lun < 0: every LUN (sessions are not filtered by LUN). 0 or
 * -ENOMEM; free with ctl_stats_free. */
int ctl_stats_take(struct daemon *d, const char *iqn, int64_t lun, struct ctl_stats *out);
void ctl_stats_free(struct ctl_stats *st);

#endif
