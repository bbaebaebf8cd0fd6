/* An I_T nexus: one initiator port (initiator name + ISID) talking to one target port.
 * Unit attentions, reservations and (later) persistent-reservation registrations hang off it. */
#ifndef INVAR_SCSI_NEXUS_H
#define INVAR_SCSI_NEXUS_H

#include <stdint.h>

#include "scsi/limits.h"

struct alua_target;
struct lu;
struct scsi_stats;

/* What the SCSI core asks of the layers above about the target a nexus belongs to. The layer
 * that creates the nexus (the fabric, on behalf of the daemon model) points it at its table. */
struct scsi_port_ops {
	/* Abort, without a response, the tasks on lu of every I_T nexus whose id is in ids,
	 * whichever session or fabric carries them (PREEMPT AND ABORT, SPC-4 5.12.11.5). Called
	 * from any worker; asynchronous. */
	void (*lu_abort_tasks)(void *ctx, struct lu *lu, const uint64_t *ids, unsigned n);
};

#define NEXUS_TMF_ABORT_TASK (1u << 0)
#define NEXUS_TMF_ABORT_TASK_SET (1u << 1)
#define NEXUS_TMF_CLEAR_ACA (1u << 2)
#define NEXUS_TMF_CLEAR_TASK_SET (1u << 3)
#define NEXUS_TMF_LU_RESET (1u << 4)
#define NEXUS_TMF_TARGET_RESET (1u << 5)
#define NEXUS_TMF_QUERY_TASK (1u << 6)
#define NEXUS_TMF_IT_NEXUS_RESET (1u << 7)

struct it_nexus {
	uint64_t id;				/* unique in this daemon run, never reused */
	char initiator[INVAR_NAME_MAX + 1];	/* iSCSI InitiatorName */
	uint8_t isid[6];
	char target[INVAR_NAME_MAX + 1];	/* iSCSI TargetName */
	uint16_t tpgt;				/* target portal group tag */
	uint16_t rel_port_id;			/* SCSI relative target port identifier (VPD 0x83) */
	/* ALUA (scsi/alua_groups.h): the target's access states and the slot of this nexus's port group;
	 * NULL for a nexus outside any target (discovery, unit tests). */
	struct alua_target *alua;
	unsigned alua_slot;
	/* Task management functions the fabric implements on this nexus (NEXUS_TMF_*), for
	 * REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.40). */
	uint32_t tmf_supported;
	/* The layers above (NULL: none, e.g. unit tests): port_ops->fn(port_ctx, ...). */
	const struct scsi_port_ops *port_ops;
	void *port_ctx;
	/* The session's I/O statistics (scsi/stats.h), written only by the worker that carries the
	 * nexus; NULL: not counted. Owned by the layer that made the nexus. */
	struct scsi_stats *stats;
};

#endif
