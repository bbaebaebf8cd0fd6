/* An I_T nexus: one initiator port (initiator name + ISID) talking to one target port.
 * Unit attentions, reservations and (later) persistent-reservation registrations hang off it. */
#ifndef INVAR_CORE_NEXUS_H
#define INVAR_CORE_NEXUS_H

#include <stdint.h>

#include "core/limits.h"

struct alua_target;

struct it_nexus {
	uint64_t id;				/* unique in this daemon run, never reused */
	char initiator[INVAR_NAME_MAX + 1];	/* iSCSI InitiatorName */
	uint8_t isid[6];
	char target[INVAR_NAME_MAX + 1];	/* iSCSI TargetName */
	uint16_t tpgt;				/* target portal group tag */
	uint16_t rel_port_id;			/* SCSI relative target port identifier (VPD 0x83) */
	/* ALUA (core/alua.h): the target's access states and the slot of this nexus's port group;
	 * NULL for a nexus outside any target (discovery, unit tests). */
	struct alua_target *alua;
	unsigned alua_slot;
};

#endif
