/* Target port groups and asymmetric logical unit access (SPC-4 5.15).
 *
 * A portal carries a target portal group tag (RFC 7143 4.1); every target is reachable through
 * every portal, and the portals that share a tag form one SCSI target port of each target, in
 * a target port group of its own: group id = relative target port id = the tag.
 *
 * The daemon keeps the set of tags in use (struct alua_groups, in struct daemon): a tag gets a
 * slot the first time a portal uses it and keeps it for the life of the daemon, so a slot index
 * never changes meaning and readers need no lock. Each target keeps the asymmetric access state
 * of every slot (struct alua_target): the state of that port group for all of the target's LUs.
 * Zero is active/optimized, so a new target or group starts fully usable. */
#ifndef INVAR_SCSI_ALUA_GROUPS_H
#define INVAR_SCSI_ALUA_GROUPS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>


/* Distinct portal group tags a daemon can serve at once. */
#define ALUA_MAX_GROUPS 32

/* ASYMMETRIC ACCESS STATE (SPC-4 6.37, Table 167). */
enum alua_state {
	ALUA_ACTIVE_OPTIMIZED = 0x0,
	ALUA_ACTIVE_NON_OPTIMIZED = 0x1,
	ALUA_STANDBY = 0x2,
	ALUA_UNAVAILABLE = 0x3,
	ALUA_TRANSITIONING = 0xf,
};

/* STATUS CODE of a target port group descriptor (SPC-4 6.37, Table 169). */
#define ALUA_STATUS_NONE 0x00
#define ALUA_STATUS_IMPLICIT 0x02	/* altered by implicit asymmetric access behavior */

struct alua_group_slot {
	_Atomic uint16_t tag;		/* 0: free; written once under daemon.lock */
	atomic_uint portals;		/* listening portals with this tag */
};

/* Per daemon. */
struct alua_groups {
	struct alua_group_slot slot[ALUA_MAX_GROUPS];
};

/* Per target, indexed like alua_groups.slot. */
struct alua_target {
	const struct alua_groups *groups;
	_Atomic uint8_t state[ALUA_MAX_GROUPS];
	_Atomic uint8_t status[ALUA_MAX_GROUPS];
};

/* Portal bookkeeping, under daemon.lock: a portal with tag starts or stops listening. _ref
 * returns the slot or -ENOSPC when ALUA_MAX_GROUPS distinct tags are in use, -EINVAL for tag 0. */
int alua_group_ref(struct alua_groups *g, uint16_t tag);
void alua_group_unref(struct alua_groups *g, uint16_t tag);
/* The slot of tag, or -ENOENT. Lock-free. */
int alua_group_slot(const struct alua_groups *g, uint16_t tag);

/* Names for the control plane: "active/optimized", "active/non-optimized", "standby",
 * "unavailable", "transitioning". parse returns 0 or -EINVAL. */
const char *alua_state_name(enum alua_state s);
int alua_state_parse(const char *name, enum alua_state *out);

/* The state a nexus sees through slot (ACTIVE_OPTIMIZED for a NULL target). */
static inline enum alua_state alua_target_state(const struct alua_target *a, unsigned slot)
{
	if (!a || slot >= ALUA_MAX_GROUPS)
		return ALUA_ACTIVE_OPTIMIZED;
	return (enum alua_state)atomic_load_explicit(&a->state[slot], memory_order_relaxed);
}

#endif
