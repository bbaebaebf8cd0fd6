/* A SCSI target: a name, a table of LUNs, and (owned by the fabric) the sessions logged in to
 * it. Targets live on daemon.targets, created and deleted by the control plane. */
#ifndef INVAR_TARGET_TARGET_H
#define INVAR_TARGET_TARGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "scsi/alua_groups.h"
#include "scsi/limits.h"
#include "scsi/lun_view.h"
#include "target/acl.h"
#include "util/list.h"

struct daemon;
struct lu;

struct target {
	struct list_node node;		/* daemon.targets, under daemon.lock */
	char iqn[INVAR_NAME_MAX + 1];
	/* Deprecated: always 1, reported by target_list for compatibility. A target is reachable
	 * through every portal; a session's portal group is its portal's tag (it_nexus.tpgt). */
	uint16_t tpgt;
	struct alua_target alua;	/* access state of each port group for this target's LUs */
	atomic_int refcnt;

	/* LUN table: lus[n] is LUN n or NULL. Written under daemon.lock by the control plane;
	 * the command path never reads it: sessions take a lun_view snapshot (below). */
	struct lu *lus[INVAR_MAX_LUNS];
	/* Bumped on every LUN table change, so a session can tell its view is stale. */
	atomic_uint lun_gen;

	void *fabric_priv;		/* the fabric's per-target state (session list...) */

	/* CHAP credentials, ACL and portal binding (target/acl.h); under daemon.lock. */
	struct target_auth auth;
};

/* Creates and links a target; -EEXIST if the name is taken, -EINVAL for a bad iSCSI name. */
int target_create(struct daemon *d, const char *iqn, struct target **out);
/* Unlinks and frees a target once the fabric has closed its sessions; LUs are released. */
int target_delete(struct daemon *d, const char *iqn);
/* Lookup by name with a reference (caller: target_put). Takes daemon.lock itself. */
struct target *target_find_get(struct daemon *d, const char *iqn);
/* Same, with daemon.lock already held. */
struct target *target_find_locked(struct daemon *d, const char *iqn);
void target_get(struct target *t);
void target_put(struct target *t);

/* Map lu at lun (the target takes over the caller's reference on success). -EEXIST if taken,
 * -ERANGE if lun >= INVAR_MAX_LUNS. Tells the fabric so sessions see the change. */
int target_lun_add(struct daemon *d, struct target *t, unsigned lun, struct lu *lu);
int target_lun_del(struct daemon *d, struct target *t, unsigned lun);
/* The ACL or a LUN map changed: sessions refresh their LUN views (as for a LUN table change), and
 * those of initiators the ACL no longer admits are closed. */
void target_auth_changed(struct daemon *d, struct target *t);
/* Who may use the target changed but not what they see (portal binding): sessions it no longer
 * admits (initiator or portal) are closed; the others keep their views, no unit attention. */
void target_access_changed(struct daemon *d, struct target *t);
/* Sets the state of group tag for every LU of t and establishes ASYMMETRIC ACCESS STATE CHANGED
 * on every I_T nexus that knows one of them (SPC-4 5.15.2.5: an implicit transition is
 * reported to every I_T nexus). Control plane, takes daemon.lock. Returns 0, -ENOENT when no
 * portal ever used tag. A state equal to the current one changes nothing. */
int alua_set_state(struct daemon *d, struct target *t, uint16_t tag, enum alua_state s);

/* Lowest free LUN number, or -ENOSPC. Under daemon.lock. */
int target_lun_next_free(struct target *t);

/* Snapshot the LUN table (takes LU references) as the initiator sees it: with an ACL entry that
 * maps LUNs, only those, at the initiator's numbers; otherwise every LUN. Returns NULL on
 * ENOMEM. */
struct lun_view *lun_view_get(struct daemon *d, struct target *t, const char *initiator);

/* iSCSI name check (RFC 7143 4.2.7: iqn., eui., naa. forms; lower-case letters, digits, '-',
 * '.', ':'; at most 223 bytes). Returns 0 or -EINVAL. */
int iscsi_name_validate(const char *name);

#endif
