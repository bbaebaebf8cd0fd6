/* Persistent reservations (SPC-4 5.12): the registrations and the reservation of one LU, the
 * PERSISTENT RESERVE OUT state machine, the conflict rules every command is checked against,
 * and the APTPL file's JSON form (pr_json.c). The LU's PR object is scsi/pr_lu.h. The CDB and parameter-list codecs live in src/scsi/pr.c; this file only
 * sees decoded requests, so the state machine is testable without a daemon.
 *
 * A registration belongs to an initiator port (InitiatorName + ISID, or every ISID of the name
 * when it came from a format 00b TransportID) on a target port (relative port id, or every port
 * with ALL_TG_PT); an I_T nexus matches it when both agree. */
#ifndef INVAR_SCSI_PR_STATE_H
#define INVAR_SCSI_PR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/limits.h"

struct lu;
struct it_nexus;

#define PR_MAX_REGS 256		/* registrations per LU: more is INSUFFICIENT REGISTRATION RESOURCES */
#define PR_FILE "pr.json"	/* APTPL state, in the LU's state directory */
#define PR_FILE_VERSION 1
#define PR_FILE_MAX (1u << 20)

/* Reservation types (SPC-4 6.15.3.4 Table 169). */
enum pr_type {
	PR_TYPE_WE = 0x1,	/* write exclusive */
	PR_TYPE_EA = 0x3,	/* exclusive access */
	PR_TYPE_WE_RO = 0x5,	/* write exclusive, registrants only */
	PR_TYPE_EA_RO = 0x6,	/* exclusive access, registrants only */
	PR_TYPE_WE_AR = 0x7,	/* write exclusive, all registrants */
	PR_TYPE_EA_AR = 0x8,	/* exclusive access, all registrants */
};
#define PR_SCOPE_LU 0x0

/* PERSISTENT RESERVE OUT service actions (SPC-4 6.16.2 Table 173). */
enum pr_out_sa {
	PR_OUT_REGISTER = 0x0,
	PR_OUT_RESERVE = 0x1,
	PR_OUT_RELEASE = 0x2,
	PR_OUT_CLEAR = 0x3,
	PR_OUT_PREEMPT = 0x4,
	PR_OUT_PREEMPT_ABORT = 0x5,
	PR_OUT_REGISTER_IGNORE = 0x6,
	PR_OUT_REGISTER_MOVE = 0x7,
	PR_OUT_SA_COUNT
};

/* How a command behaves under a persistent reservation it does not hold (SPC-4 5.12.1
 * Table 50, SBC-3 4.18 Table 13). From the dispatch row's SCMD_F_PR_* flags. */
enum pr_access {
	PR_ACCESS_WRITE = 0,	/* conflicts unless holder, or registrant of a RO/AR type */
	PR_ACCESS_READ,		/* allowed under write-exclusive types, else like WRITE */
	PR_ACCESS_ALLOWED,	/* never conflicts (INQUIRY, REPORT LUNS, PR IN/OUT...) */
	PR_ACCESS_SPC2,		/* RESERVE/RELEASE(6/10): conflict while anything is registered
				 * (SPC-4 5.12.3, compatible reservation handling) */
};

/* An initiator port on a target port. */
struct pr_port {
	char initiator[INVAR_NAME_MAX + 1];
	uint8_t isid[6];
	bool has_isid;		/* false: any ISID (TransportID format 00b) */
	uint16_t rel_port_id;
};

struct pr_reg {
	uint64_t key;
	struct pr_port port;
	bool all_tg_pt;		/* registered on every target port */
	bool holder;		/* holds a non-all-registrants reservation */
};

struct pr_state {
	uint32_t generation;	/* PRGENERATION (SPC-4 6.15.2) */
	bool aptpl;		/* persist through power loss: saved to PR_FILE on every change */
	bool reserved;
	uint8_t type;		/* enum pr_type, when reserved */
	uint8_t scope;
	unsigned nregs;
	struct pr_reg *regs;	/* malloc'd, nregs entries */
};

/* A decoded PERSISTENT RESERVE OUT. tids are the SPEC_I_PT TransportIDs (or the one of
 * REGISTER AND MOVE), rel_port_id already filled from the receiving port. */
struct pr_out {
	enum pr_out_sa sa;
	uint8_t scope, type;
	uint64_t key;		/* RESERVATION KEY */
	uint64_t sa_key;	/* SERVICE ACTION RESERVATION KEY */
	bool spec_i_pt, all_tg_pt, aptpl;
	bool unreg;		/* REGISTER AND MOVE */
	unsigned n_tids;
	struct pr_port *tids;
};

/* Why a PR OUT failed; scsi/pr.c turns it into status and sense. */
enum pr_result {
	PR_OK = 0,
	PR_CONFLICT,		/* RESERVATION CONFLICT status */
	PR_BAD_CDB,		/* INVALID FIELD IN CDB at field_byte/field_bit */
	PR_BAD_PARAM,		/* INVALID FIELD IN PARAMETER LIST at field_byte/field_bit */
	PR_BAD_RELEASE,		/* INVALID RELEASE OF PERSISTENT RESERVATION */
	PR_NO_RESOURCES,	/* INSUFFICIENT REGISTRATION RESOURCES */
	PR_NO_MEMORY,
	PR_SAVE_FAILED,		/* APTPL file could not be written: nothing changed */
};

struct pr_status {
	enum pr_result r;
	uint16_t field_byte;
	int8_t field_bit;	/* -1: the whole byte */
};

/* What a committed PR OUT asks for besides the state change. */
enum pr_effect_kind {
	PR_FX_RESV_PREEMPTED,	/* UA 2A/03 RESERVATIONS PREEMPTED */
	PR_FX_RESV_RELEASED,	/* UA 2A/04 RESERVATIONS RELEASED */
	PR_FX_REGS_PREEMPTED,	/* UA 2A/05 REGISTRATIONS PREEMPTED */
	PR_FX_ABORT,		/* PREEMPT AND ABORT: abort the port's tasks on the LU */
};

struct pr_effect {
	enum pr_effect_kind kind;
	struct pr_port port;
	bool any_port;		/* the registration was ALL_TG_PT */
};

struct pr_effects {
	unsigned n, cap;
	struct pr_effect *e;
};

/* A failed outcome: result r, the field (byte, bit; bit -1 = the whole byte) it is about. */
static inline struct pr_status pr_status_err(enum pr_result r, unsigned byte, int bit)
{
	return (struct pr_status){ r, (uint16_t)byte, (int8_t)bit };
}

/* ---- the pure state machine (unit tested) --------------------------------------------- */

void pr_state_init(struct pr_state *s);
void pr_state_free(struct pr_state *s);
int pr_state_copy(struct pr_state *dst, const struct pr_state *src);
/* Port of a nexus. */
void pr_port_from_nexus(struct pr_port *p, const struct it_nexus *n);
/* Whether initiator port (initiator, isid) on relative port rel_port_id is p (any_port: on any
 * target port). */
bool pr_port_covers(const struct pr_port *p, bool any_port, const char *initiator,
		    const uint8_t isid[6], uint16_t rel_port_id);
/* Whether registration r applies to initiator port me. */
bool pr_reg_matches(const struct pr_reg *r, const struct pr_port *me);
/* Index of me's registration, or -1. */
int pr_state_find(const struct pr_state *s, const struct pr_port *me);
bool pr_type_valid(uint8_t type);
bool pr_type_all_registrants(uint8_t type);
/* Apply o from initiator port me. On PR_OK, s is the new state and fx lists the unit
 * attentions and aborts to carry out; on failure s is unchanged only in what matters to the
 * caller, who applies to a copy (pr_lu_out does). ptpl_capable: APTPL may be set. */
struct pr_status pr_state_apply(struct pr_state *s, const struct pr_port *me,
				const struct pr_out *o, bool ptpl_capable, struct pr_effects *fx);
void pr_effects_free(struct pr_effects *fx);
/* Whether a command of class acc from me conflicts with s's reservation. */
bool pr_state_conflict(const struct pr_state *s, const struct pr_port *me, enum pr_access acc);

/* APTPL file: JSON, see docs/design/reservations.md "The APTPL file". */
char *pr_state_to_json(const struct pr_state *s);
/* Returns 0 or -EINVAL with a reason in err. */
int pr_state_from_json(struct pr_state *s, const char *text, size_t len, char *err,
		       size_t err_len);

#endif
