/* The features of a LU as one table: each owns a sub-object of struct lu (scsi/lu.h), states
 * its synchronisation rule, and says what it does at each life-cycle event. lu_create, lu_put,
 * scsi_nexus_loss and the resets walk the table instead of naming features, and migration
 * (mig/lu_mig.c) keeps a row per feature id that either carries the feature or says why not,
 * so adding a feature means adding its row in both places (a unit test checks the second). */
#ifndef INVAR_SCSI_LU_FEATURE_H
#define INVAR_SCSI_LU_FEATURE_H

#include <stddef.h>

struct lu;
struct it_nexus;

enum lu_feature_id {
	LU_F_NEXUS = 0,		/* I_T nexus records and unit attentions */
	LU_F_MODE,		/* mode pages */
	LU_F_MEDIUM,		/* started/stopped, ejected, PREVENT */
	LU_F_RESV,		/* RESERVE(6/10) */
	LU_F_PR,		/* persistent reservations */
	LU_F_XCOPY,		/* EXTENDED COPY status records */
	LU_F_MAINT,		/* SANITIZE / FORMAT UNIT state */
	LU_F_CAW,		/* COMPARE AND WRITE atomicity */
	LU_F_MIG,		/* live-migration command gate */
	LU_F_STATS,		/* I/O statistics */
	LU_F_COUNT
};

/* What is reset: a LOGICAL UNIT RESET, or a target reset (every LU of the target). */
enum lu_reset_kind {
	LU_RESET_LU,
	LU_RESET_TARGET,
};

struct lu_feature {
	const char *name;
	const char *sync;	/* its synchronisation rule, as lu.h says it */
	/* At lu_create, after identity, geometry and profile are set, in table order. 0, or
	 * -errno with a reason in err (the LU is then freed). NULL: nothing to do. */
	int (*init)(struct lu *lu, char *err, size_t err_len);
	/* At the last lu_put, in reverse table order; also after a failed init (so it must
	 * cope with a partly initialised sub-object). */
	void (*free)(struct lu *lu);
	/* The nexus ended (session closed, reinstated or dropped): SAM-5 6.3.4. */
	void (*nexus_gone)(struct lu *lu, const struct it_nexus *n);
	/* A reset (SAM-5 6.3: the LU's or the target's), before the unit attention is set. */
	void (*reset)(struct lu *lu, enum lu_reset_kind kind);
};

extern const struct lu_feature lu_features[LU_F_COUNT];

#endif
