/* Target port groups and their asymmetric access states (SPC-4 5.15); scsi/alua_groups.h explains the
 * model. The command-path side (REPORT TARGET PORT GROUPS, the per-state command rules) is in
 * src/scsi/alua.c. */
#include "scsi/alua_groups.h"

#include <errno.h>
#include <string.h>

int alua_group_ref(struct alua_groups *g, uint16_t tag)
{
	int free_slot = -1;

	if (!tag)
		return -EINVAL;
	for (int i = 0; i < ALUA_MAX_GROUPS; i++) {
		uint16_t t = atomic_load_explicit(&g->slot[i].tag, memory_order_acquire);

		if (t == tag) {
			atomic_fetch_add(&g->slot[i].portals, 1);
			return i;
		}
		if (!t && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	atomic_store(&g->slot[free_slot].portals, 1);
	/* Publish the tag last: a lock-free reader that sees it sees a counted slot. */
	atomic_store_explicit(&g->slot[free_slot].tag, tag, memory_order_release);
	return free_slot;
}

void alua_group_unref(struct alua_groups *g, uint16_t tag)
{
	int i = alua_group_slot(g, tag);

	/* The slot keeps its tag: sessions that logged in through the group still use it, and a
	 * portal added again with the tag finds the same group and the same states. */
	if (i >= 0 && atomic_load(&g->slot[i].portals))
		atomic_fetch_sub(&g->slot[i].portals, 1);
}

int alua_group_slot(const struct alua_groups *g, uint16_t tag)
{
	if (!tag)
		return -ENOENT;
	for (int i = 0; i < ALUA_MAX_GROUPS; i++)
		if (atomic_load_explicit(&g->slot[i].tag, memory_order_acquire) == tag)
			return i;
	return -ENOENT;
}

static const struct {
	enum alua_state state;
	const char *name;
} alua_names[] = {
	{ ALUA_ACTIVE_OPTIMIZED, "active/optimized" },
	{ ALUA_ACTIVE_NON_OPTIMIZED, "active/non-optimized" },
	{ ALUA_STANDBY, "standby" },
	{ ALUA_UNAVAILABLE, "unavailable" },
	{ ALUA_TRANSITIONING, "transitioning" },
};

const char *alua_state_name(enum alua_state s)
{
	for (size_t i = 0; i < sizeof(alua_names) / sizeof(alua_names[0]); i++)
		if (alua_names[i].state == s)
			return alua_names[i].name;
	return "?";
}

int alua_state_parse(const char *name, enum alua_state *out)
{
	for (size_t i = 0; i < sizeof(alua_names) / sizeof(alua_names[0]); i++) {
		if (!strcmp(alua_names[i].name, name)) {
			*out = alua_names[i].state;
			return 0;
		}
	}
	return -EINVAL;
}
