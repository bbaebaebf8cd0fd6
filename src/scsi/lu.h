/* A logical unit: a backstore plus everything SCSI remembers about it (identity, profile, and
 * one sub-object per feature: I_T nexuses and unit attentions, mode pages, medium, reservations,
 * copies, maintenance, migration). Created by the control plane, shared by every session that
 * maps it, freed when the last reference goes. */
#ifndef INVAR_SCSI_LU_H
#define INVAR_SCSI_LU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "rt/pcount.h"
#include "scsi/limits.h"
#include "scsi/lu_io.h"
#include "scsi/stats.h"
#include "util/list.h"

struct backstore;
struct it_nexus;
struct pr_lu;
struct xcopy_lu;
struct lu_ua_carry;

/* Twice the default max_sessions (1,024), so that every nexus of a fully used daemon finds its
 * record in the lock-free hint (scsi/lu.c); beyond that a nexus takes the locked path, which
 * is O(1) too (the record index). */
#define LU_NEXUS_HINT_SLOTS 2048
struct scsi_profile;

/* How a LU is described: what `--lun` and the RPC take, and what the saved config stores. */
struct lu_config {
	char backstore[16];		/* "file", "ram", "null", "user" */
	char path[4096];		/* file backstore */
	uint64_t size;			/* bytes; 0 = from the file */
	uint32_t block_size;		/* 512 or 4096; 0 = 512 */
	char serial[INVAR_SERIAL_MAX + 1]; /* "" = generated from target+lun, stable */
	uint8_t naa[16];		/* NAA designator; naa_len 0 = generated, stable */
	unsigned naa_len;		/* 8 (NAA 5/6 short) or 16 (NAA 6 registered extended) */
	char profile[32];		/* behaviour profile name; "" = newest */
	bool readonly;			/* writes refused (DATA PROTECT), files opened O_RDONLY */
	bool removable;			/* INQUIRY RMB: START STOP UNIT LOEJ ejects and loads */
};

/* Unit attention conditions, in SPC-4 priority order (lower value reported first). */
enum ua_kind {
	UA_POWER_ON = 0,		/* 29/01 POWER ON OCCURRED (29/00 for new nexus) */
	UA_BUS_RESET,			/* 29/02 SCSI BUS RESET OCCURRED / target reset */
	UA_LUN_RESET,			/* 29/03 BUS DEVICE RESET FUNCTION OCCURRED */
	UA_NEXUS_LOSS,			/* 29/07 I_T NEXUS LOSS OCCURRED */
	UA_MODE_CHANGED,		/* 2A/01 MODE PARAMETERS CHANGED */
	UA_CAPACITY_CHANGED,		/* 2A/09 CAPACITY DATA HAS CHANGED */
	UA_LUNS_CHANGED,		/* 3F/0E REPORTED LUNS DATA HAS CHANGED */
	/* Persistent reservations and the shared task set (invar-2026.3). */
	UA_RESV_PREEMPTED,		/* 2A/03 RESERVATIONS PREEMPTED */
	UA_RESV_RELEASED,		/* 2A/04 RESERVATIONS RELEASED */
	UA_REGS_PREEMPTED,		/* 2A/05 REGISTRATIONS PREEMPTED */
	UA_CMDS_CLEARED,		/* 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR */
	UA_ALUA_CHANGED,		/* 2A/06 ASYMMETRIC ACCESS STATE CHANGED */
	UA_KIND_COUNT
};

/* A LU's state, one sub-object per feature. Each says its one synchronisation rule; lu.lock is
 * the LU's control-path mutex, never held across I/O. The features' life-cycle hooks (create,
 * free, I_T nexus gone, reset) are one table, scsi/lu_feature.h, and migration decides per
 * feature what it carries (mig/lu_mig.c), so a new feature is one sub-object plus one row in
 * each table. Lock order: daemon.lock -> target -> lu.lock. */

/* I_T nexus records (struct lu_nexus) and the unit attentions queued on them. Rule: lu.lock for
 * the list, the records and the carried UAs; the command path reads ua_pending and the hint
 * tables without it (a hit there is never stale: nexus ids are never reused). */
struct lu_nexus_set {
	struct list_node list;		/* struct lu_nexus, one per I_T nexus that used the LU */
	/* The same records indexed by nexus id (chained hash, grown to keep chains short), so a
	 * lookup under lu.lock costs the same with 10 or 10,000 nexuses. */
	struct lu_nexus **bucket;
	unsigned nbuckets, count;
	atomic_uint ua_pending;		/* records with a UA queued: 0 = fast path */
	/* Lock-free hints of nexus ids that already have a record (hint) and whose record carries
	 * its identity (ident_hint): open addressing, 0 = empty, UINT64_MAX = removed. A miss
	 * falls back to the list under lu.lock, which is authoritative. */
	_Atomic uint64_t hint[LU_NEXUS_HINT_SLOTS];
	_Atomic uint64_t ident_hint[LU_NEXUS_HINT_SLOTS];
	/* UAs owed to initiator ports that have no record yet: carried in by a migration, or
	 * left by a lost nexus (I_T NEXUS LOSS OCCURRED); adopted by lu_nexus_identify. ncarry_pub
	 * mirrors ncarry for the command path. */
	struct lu_ua_carry *carry;
	unsigned ncarry;
	atomic_uint ncarry_pub;
};

/* Mode pages (src/scsi/mode.c): profile-defined changeable values, current and saved (what
 * MODE SELECT with SP=1 stored in mode.json; MODE SENSE page control 3). Rule: lu.lock for
 * cur/saved; the command path reads the atomics derived from them. */
struct lu_mode {
	uint8_t cur[64];
	uint8_t saved[64];
	atomic_bool wce;		/* caching page WCE: volatile write cache enabled */
	atomic_bool dsense;		/* control page D_SENSE: descriptor-format sense */
	atomic_bool swp;		/* control page SWP: software write protect */
};

/* The medium (SBC-3 5.25 START STOP UNIT, 5.13 PREVENT ALLOW MEDIUM REMOVAL). Rule: atomics;
 * prevent (and each record's prevent) under lu.lock. */
struct lu_medium {
	atomic_bool stopped;		/* START=0: media commands NOT READY */
	atomic_bool ejected;		/* removable: LOEJ ejected it until a load */
	bool prevent;
};

/* RESERVE(6)/RESERVE(10) (SPC-2 7.21): the holder's nexus id, 0 = none. Rule: written under
 * lu.lock, read with relaxed atomics on the command path. */
struct lu_resv {
	uint64_t holder;
};

/* SANITIZE and FORMAT UNIT (src/scsi/sbc_maint.c). Rule: atomics. */
struct lu_maint {
	atomic_int state;		/* enum sbc_maint_state: running, or the failure it left */
	atomic_uint progress;		/* 0..65535, for sense-key specific progress */
	atomic_bool ause;		/* the failed SANITIZE allowed EXIT FAILURE MODE */
};

/* Live migration's command gate (scsi/migsm.h). Rule: state atomic; inflight per-thread
 * counters (rt/pcount.h) written by every command; redirect under lu.lock. */
struct lu_mig_gate {
	atomic_int state;		/* enum mig_state */
	struct pcount inflight;		/* admitted and not yet released; STOP_COPY drains it */
	/* After the switch-over: "HOST:PORT,TPGT" logins are redirected to
	 * (mig/mig_handover.c), "" when unknown. */
	char redirect[320];
};

/* Capacity changes (scsi/lu_capacity.h). Rule: lu.lock for both; the capacity itself is
 * lu->num_blocks, an atomic. */
struct lu_capacity {
	bool resizing;			/* a change is under way (a shrink drains writes) */
	struct list_node listeners;	/* struct lu_listener: fabrics told of a change */
};

struct lu {
	/* Identity and geometry: set by lu_create, read-only afterwards, but for num_blocks. */
	atomic_int refcnt;
	struct backstore *bs;
	struct lu_config cfg;		/* as created (identity resolved: serial/naa filled in) */
	const struct scsi_profile *profile;
	uint32_t block_size;
	/* Capacity in blocks. Changed only by lu_set_capacity() (scsi/lu_capacity.h) on the main
	 * thread while commands read it: read it once per command with lu_num_blocks() and use
	 * that value for every check and answer of the command. */
	_Atomic uint64_t num_blocks;
	/* Where this LU keeps state that outlives the daemon (APTPL reservations, saved mode
	 * pages): DATA_DIR/lu/<NAA hex>, so it follows the LU's identity. "" = none (RAM-only
	 * daemons, unit tests): lu_state_save() then fails with -ENOENT. */
	char state_dir[4096];

	pthread_mutex_t lock;

	/* The features (scsi/lu_feature.h has their hooks). */
	struct lu_nexus_set nx;
	struct lu_mode mode;
	struct lu_medium medium;
	struct lu_resv resv;
	struct pr_lu *pr;		/* persistent reservations, own locks (scsi/pr_lu.h); NULL
					 * when the profile has none */
	struct xcopy_lu *xcopy;		/* EXTENDED COPY status records and running-copy count
					 * (src/scsi/xcopy.c); under lu.lock, made on first use */
	struct lu_maint maint;
	/* The write gate (scsi/lu_io.h): the LBA ranges COMPARE AND WRITE, ORWRITE and WRITE
	 * ATOMIC hold, the writes that wait for them, and the count of writes in flight. */
	struct lu_io_gate io_gate;
	struct lu_mig_gate mig;
	/* I/O statistics: a slot per worker (scsi/stats.h). */
	struct lu_stats stats;
	struct lu_capacity cap;
};

/* The capacity in blocks (see num_blocks). */
static inline uint64_t lu_num_blocks(const struct lu *lu)
{
	return atomic_load_explicit(&((struct lu *)lu)->num_blocks, memory_order_acquire);
}

/* Pending unit attentions of one I_T nexus named by who it is (nexus ids are per daemon). */
struct lu_ua_carry {
	char initiator[INVAR_NAME_MAX + 1];
	uint8_t isid[6];
	uint16_t rel_port_id;
	uint32_t ua_mask;
};

/* Per (LU, I_T nexus) state. Created the first time a nexus sends a command to the LU, starting
 * with the POWER ON / nexus UA (SAM-5 6.2). */
struct lu_nexus {
	struct list_node node;
	struct lu_nexus *hnext;		/* chain of its bucket in lu_nexus_set.bucket */
	uint64_t nexus_id;
	uint32_t ua_mask;		/* bit per enum ua_kind */
	/* Who the nexus is, once lu_nexus_identify() ran (LUs with persistent reservations):
	 * registrations name initiator ports, unit attentions go to nexuses. */
	bool ident;
	char initiator[INVAR_NAME_MAX + 1];
	uint8_t isid[6];
	uint16_t rel_port_id;
	bool prevent;			/* PREVENT ALLOW MEDIUM REMOVAL (removable LUs) */
};

/* Opens the backstore, resolves identity (serial/NAA generated from seed when not given:
 * the same seed always yields the same identity) and binds the profile. Returns 0 or -errno with
 * a human reason in err. The new LU has one reference. */
int lu_create(const struct lu_config *cfg, const char *identity_seed, struct lu **out, char *err,
	      size_t err_len);
/* Same, around a backstore the caller opened (tests use a fake one); the LU owns bs from then
 * on, even on error. */
int lu_create_on(const struct lu_config *cfg, struct backstore *bs, const char *identity_seed,
		 struct lu **out, char *err, size_t err_len);
void lu_get(struct lu *lu);
void lu_put(struct lu *lu);

/* Persistent per-LU state files (lu->state_dir). set_state_dir creates DATA_DIR/lu/<NAA hex>.
 * save replaces DIR/name crash-safely (util/atomic_file.h); load reads it whole (at most max
 * bytes, malloc'd, NUL-terminated; -ENOENT if absent); remove deletes it. All return 0 or
 * -errno. name is a plain file name chosen by the caller ("pr.json", "mode.json"). */
int lu_set_state_dir(struct lu *lu, const char *data_dir);
int lu_state_save(struct lu *lu, const char *name, const void *data, size_t len);
int lu_state_load(struct lu *lu, const char *name, size_t max, char **data, size_t *len);
int lu_state_remove(struct lu *lu, const char *name);

/* Unit attentions. Establish on every nexus known to the LU except `except` (0 = none); new
 * nexuses start with UA_POWER_ON. */
void lu_ua_establish_all(struct lu *lu, enum ua_kind kind, uint64_t except_nexus);
void lu_ua_establish(struct lu *lu, uint64_t nexus_id, enum ua_kind kind);
/* If the nexus has a UA pending, clear the highest-priority one and return it (>= 0); else -1.
 * Cheap when no UA is pending anywhere. */
int lu_ua_take(struct lu *lu, uint64_t nexus_id);
/* Highest-priority pending UA without clearing it, or -1. */
int lu_ua_peek(struct lu *lu, uint64_t nexus_id);
/* Removable LUs: PREVENT held per nexus (0 or -ENOMEM); whether any nexus holds one; a reset
 * clears them all. */
int lu_prevent_set(struct lu *lu, uint64_t nexus_id, bool on);
bool lu_prevent_any(struct lu *lu);
void lu_prevent_clear_all(struct lu *lu);

/* The nexus is gone (session closed): forget its per-LU state and any RESERVE(6/10). */
void lu_nexus_gone(struct lu *lu, uint64_t nexus_id);

/* SAM-5 6.3.4: nexus n is lost (its session ended). The next nexus of the same initiator port
 * (InitiatorName + ISID + relative port: a reinstated or new session) starts with I_T NEXUS LOSS
 * OCCURRED, plus whatever n had pending, instead of POWER ON. Call before lu_nexus_gone(). */
void lu_ua_nexus_lost(struct lu *lu, const struct it_nexus *n);
/* Record who nexus n is (cheap after the first call for a nexus). */
void lu_nexus_identify(struct lu *lu, const struct it_nexus *n);
/* Establish kind on every identified nexus for which match() is true. */
void lu_ua_establish_match(struct lu *lu, enum ua_kind kind,
			   bool (*match)(const struct lu_nexus *ln, void *arg), void *arg);
/* Ids of the identified nexuses for which match() is true: at most max into ids; returns
 * how many matched. */
unsigned lu_nexus_select(struct lu *lu, bool (*match)(const struct lu_nexus *ln, void *arg),
			 void *arg, uint64_t *ids, unsigned max);

/* Live migration. snapshot: the identified nexuses with their pending UAs (at most max into
 * out; returns how many there are). carry_set: replace the carried list (0 or -ENOMEM); a nexus
 * identified later with a matching InitiatorName + ISID + relative port takes that mask instead
 * of POWER ON, so the initiator sees exactly the UAs it would have seen at the source. */
unsigned lu_ua_snapshot(struct lu *lu, struct lu_ua_carry *out, unsigned max);
int lu_ua_carry_set(struct lu *lu, const struct lu_ua_carry *c, unsigned n);

#endif
