/* A session's private, immutable snapshot of a target's LUN table, as one initiator sees it
 * (the daemon model builds it: target/target.h, lun_view_get). It holds a reference on every LU
 * it names, so the command path looks LUNs up without locks or atomics; REPORT LUNS and
 * EXTENDED COPY read it through the task. */
#ifndef INVAR_SCSI_LUN_VIEW_H
#define INVAR_SCSI_LUN_VIEW_H

#include "scsi/limits.h"

struct lu;

struct lun_view {
	unsigned gen;
	unsigned count;			/* number of mapped LUNs */
	struct lu *lus[INVAR_MAX_LUNS];	/* indexed by LUN; NULL = not mapped */
};

/* Drops every LU reference and frees the view (NULL is fine). */
void lun_view_put(struct lun_view *v);

#endif
