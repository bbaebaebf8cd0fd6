/* The command table and what the emulation files (spc.c, sbc.c, mode.c) share. Private to
 * src/scsi. */
#ifndef INVAR_SCSI_DISPATCH_H
#define INVAR_SCSI_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/sense.h"
#include "scsi/task.h"

/* One id per dispatch-table row; a profile's opcode set is a bitmap of these. Ids are stable:
 * add new ones at the end, never renumber (profiles refer to them). */
enum scsi_cmd_id {
	SCMD_TEST_UNIT_READY,
	SCMD_REQUEST_SENSE,
	SCMD_READ_6,
	SCMD_WRITE_6,
	SCMD_INQUIRY,
	SCMD_MODE_SELECT_6,
	SCMD_RESERVE_6,
	SCMD_RELEASE_6,
	SCMD_MODE_SENSE_6,
	SCMD_START_STOP_UNIT,
	SCMD_PREVENT_ALLOW,
	SCMD_READ_CAPACITY_10,
	SCMD_READ_10,
	SCMD_WRITE_10,
	SCMD_WRITE_VERIFY_10,
	SCMD_VERIFY_10,
	SCMD_SYNC_CACHE_10,
	SCMD_MODE_SELECT_10,
	SCMD_RESERVE_10,
	SCMD_RELEASE_10,
	SCMD_MODE_SENSE_10,
	SCMD_READ_16,
	SCMD_WRITE_16,
	SCMD_WRITE_VERIFY_16,
	SCMD_VERIFY_16,
	SCMD_SYNC_CACHE_16,
	SCMD_READ_CAPACITY_16,
	SCMD_REPORT_LUNS,
	SCMD_REPORT_SUPPORTED_OPCODES,
	SCMD_READ_12,
	SCMD_WRITE_12,
	SCMD_WRITE_VERIFY_12,
	SCMD_VERIFY_12,
	/* invar-2026.2 */
	SCMD_WRITE_SAME_10,
	SCMD_UNMAP,
	SCMD_COMPARE_AND_WRITE,
	SCMD_WRITE_SAME_16,
	SCMD_GET_LBA_STATUS,
	/* invar-2026.3 */
	SCMD_PERSISTENT_RESERVE_IN,
	SCMD_PERSISTENT_RESERVE_OUT,
	SCMD_REPORT_TARGET_PORT_GROUPS,
	SCMD_REPORT_SUPPORTED_TMF,
	SCMD_ORWRITE_16,
	SCMD_PRE_FETCH_10,
	SCMD_PRE_FETCH_16,
	SCMD_READ_DEFECT_DATA_10,
	SCMD_READ_DEFECT_DATA_12,
	SCMD_WRITE_ATOMIC_16,
	SCMD_SANITIZE_OVERWRITE,
	SCMD_SANITIZE_BLOCK_ERASE,
	SCMD_SANITIZE_CRYPTO_ERASE,
	SCMD_SANITIZE_EXIT_FAILURE,
	SCMD_FORMAT_UNIT,
	SCMD_EXTENDED_COPY,
	SCMD_RECEIVE_COPY_STATUS,
	SCMD_RECEIVE_COPY_DATA,
	SCMD_RECEIVE_COPY_OP_PARAMS,
	SCMD_RECEIVE_COPY_FAILURE,
	/* invar-2026.3: PERSISTENT RESERVE IN and OUT have one row per service action (SPC-4
	 * 6.15, 6.16), so REPORT SUPPORTED OPERATION CODES reports them as the service-action
	 * commands they are. SCMD_PERSISTENT_RESERVE_IN is the READ KEYS row and
	 * SCMD_PERSISTENT_RESERVE_OUT the REGISTER row. */
	SCMD_PRIN_READ_RESERVATION,
	SCMD_PRIN_REPORT_CAPABILITIES,
	SCMD_PRIN_READ_FULL_STATUS,
	SCMD_PROUT_RESERVE,
	SCMD_PROUT_RELEASE,
	SCMD_PROUT_CLEAR,
	SCMD_PROUT_PREEMPT,
	SCMD_PROUT_PREEMPT_ABORT,
	SCMD_PROUT_REGISTER_IGNORE,
	SCMD_PROUT_REGISTER_MOVE,
	SCMD_COUNT
};

/* A profile's opcode set: one bit per enum scsi_cmd_id. Written as constant initialisers with
 * SCMD_SET(LIST), where LIST(w) ORs SCMD_B(id, w) terms, so one list yields every word. */
#define SCMD_WORDS 2
_Static_assert(SCMD_COUNT <= 64 * SCMD_WORDS, "grow SCMD_WORDS");

struct scmd_set {
	uint64_t w[SCMD_WORDS];
};

#define SCMD_B(id, word) ((unsigned)(id) / 64 == (word) ? UINT64_C(1) << ((unsigned)(id) % 64) : 0)
#define SCMD_SET(LIST) { { LIST(0), LIST(1) } }

static inline bool scmd_set_has(const struct scmd_set *s, enum scsi_cmd_id id)
{
	return (s->w[(unsigned)id / 64] >> ((unsigned)id % 64)) & 1;
}
#define SCMD_NO_SA 0xffff

#define SCMD_F_MEDIUM (1u << 0)	   /* needs a started unit (NOT READY when stopped) */
#define SCMD_F_WRITE (1u << 1)	   /* changes the medium: WRITE PROTECTED on a read-only LU */
#define SCMD_F_UA_EXEMPT (1u << 2) /* INQUIRY, REPORT LUNS, REQUEST SENSE (SAM-5 5.14) */
#define SCMD_F_NO_LU (1u << 3)	   /* answers on an unmapped LUN */
#define SCMD_F_RESV_OK (1u << 4)   /* allowed while another nexus holds RESERVE (SPC-2 5.5.1) */
#define SCMD_F_BLOCK (1u << 5)	   /* LBA + length: decoded and range-checked by dispatch */
/* Under a persistent reservation held by another I_T nexus (SPC-4 5.12.1 Table 50, SBC-3 4.18
 * Table 13; scsi/pr_state.h enum pr_access). Neither bit: a write-class command (conflicts unless
 * the nexus holds the reservation or is a registrant of a registrants-only/all-registrants
 * type). Only LUs whose profile has PERSISTENT RESERVE OUT look at these. */
#define SCMD_F_PR_OK (1u << 6)	   /* allowed under every reservation type */
#define SCMD_F_PR_READ (1u << 7)   /* read-class: allowed under write-exclusive types */
#define SCMD_F_PR_SPC2 (1u << 8)   /* RESERVE/RELEASE(6/10): conflicts with any registration */

struct scsi_cmd {
	enum scsi_cmd_id id;
	uint8_t opcode;
	uint16_t sa;			/* service action, SCMD_NO_SA when none */
	const char *name;
	uint8_t cdb_len;
	uint8_t usage[16];		/* CDB usage data (SPC-4 6.35.3); last byte = control */
	enum scsi_dir dir;
	uint32_t flags;			/* SCMD_F_* */
	uint16_t timeout_s;		/* nominal command timeout (REPORT SUPPORTED OPCODES) */
	/* Field checks beyond the usage mask; sets t->dir/data_out_len/data_in_max. NULL: no
	 * data, no extra checks. */
	enum sense_reason (*setup)(struct scsi_task *t, struct sense_extra *x);
	void (*execute)(struct scsi_task *t);
};

/* The table row for an id, or NULL. */
const struct scsi_cmd *scsi_cmd_get(enum scsi_cmd_id id);
/* Calls fn for each row in table order (opcode, then service action). Feeds REPORT SUPPORTED
 * OPERATION CODES and the README command list. */
void scsi_cmd_foreach(void (*fn)(const struct scsi_cmd *c, void *arg), void *arg);
/* Row for opcode/service action, ignoring profiles; NULL if unknown. */
const struct scsi_cmd *scsi_cmd_lookup(const uint8_t *cdb);
/* Whether opcode has service actions (the SA lives in byte 1 bits 4-0) in profile p: only rows
 * the profile includes count, so adding a service-action command in a new profile never changes
 * an older profile's answer for that opcode. p NULL: any row of the table. */
struct scsi_profile;
bool scsi_opcode_has_sa(const struct scsi_profile *p, uint8_t opcode);

/* Completion, the one exit of a command: the status is the reason's (sense.c: GOOD for SR_OK,
 * BUSY, RESERVATION CONFLICT..., else CHECK CONDITION with sense; x may be NULL). Calls
 * t->done(t). set_sense_extra sets the same outcome without calling done(). */
void scsi_task_complete(struct scsi_task *t, enum sense_reason r, const struct sense_extra *x);
void scsi_task_set_sense_extra(struct scsi_task *t, enum sense_reason r,
			       const struct sense_extra *x);
/* Return len bytes of parameter data, truncated to the allocation length (data_in_max). */
enum sense_reason scsi_task_data_in(struct scsi_task *t, const void *data, uint32_t len);

/* The sense a pending unit attention (enum ua_kind) is reported with. */
enum sense_reason scsi_ua_reason(int k);

/* Setup helpers. */
enum sense_reason scsi_setup_alloc_in(struct scsi_task *t, struct sense_extra *x);

/* spc.c */
enum sense_reason spc_setup_inquiry(struct scsi_task *t, struct sense_extra *x);
void spc_inquiry(struct scsi_task *t);
enum sense_reason spc_setup_report_luns(struct scsi_task *t, struct sense_extra *x);
void spc_report_luns(struct scsi_task *t);
void spc_test_unit_ready(struct scsi_task *t);
void spc_request_sense(struct scsi_task *t);
enum sense_reason spc_setup_start_stop(struct scsi_task *t, struct sense_extra *x);
void spc_start_stop_unit(struct scsi_task *t);
void spc_prevent_allow(struct scsi_task *t);
void spc_reserve(struct scsi_task *t);
void spc_release(struct scsi_task *t);
enum sense_reason spc_setup_report_opcodes(struct scsi_task *t, struct sense_extra *x);
void spc_report_opcodes(struct scsi_task *t);

/* alua.c: REPORT TARGET PORT GROUPS and the per-state command rules (profile->alua). */
enum sense_reason alua_setup_rtpg(struct scsi_task *t, struct sense_extra *x);
void alua_report_tpgs(struct scsi_task *t);
/* SR_OK when the nexus's port group state lets command c run, else its NOT READY reason. */
enum sense_reason alua_check_cmd(const struct scsi_task *t, const struct scsi_cmd *c);
/* NOT READY reason of the nexus's port group for media access (REQUEST SENSE), or SR_OK. */
enum sense_reason alua_not_ready_reason(const struct scsi_task *t);

/* mode.c */
enum sense_reason mode_setup_sense(struct scsi_task *t, struct sense_extra *x);
void mode_sense(struct scsi_task *t);
enum sense_reason mode_setup_select(struct scsi_task *t, struct sense_extra *x);
void mode_select(struct scsi_task *t);

/* sbc.c */
enum sense_reason sbc_setup_rw(struct scsi_task *t, struct sense_extra *x);
void sbc_read(struct scsi_task *t);
void sbc_write(struct scsi_task *t);
void sbc_verify(struct scsi_task *t);
void sbc_sync_cache(struct scsi_task *t);
enum sense_reason sbc_setup_read_capacity_10(struct scsi_task *t, struct sense_extra *x);
void sbc_read_capacity_10(struct scsi_task *t);
void sbc_read_capacity_16(struct scsi_task *t);
enum sense_reason sbc_setup_write_same(struct scsi_task *t, struct sense_extra *x);
void sbc_write_same(struct scsi_task *t);
enum sense_reason sbc_setup_unmap(struct scsi_task *t, struct sense_extra *x);
void sbc_unmap(struct scsi_task *t);
enum sense_reason sbc_setup_caw(struct scsi_task *t, struct sense_extra *x);
void sbc_compare_and_write(struct scsi_task *t);
enum sense_reason sbc_setup_get_lba_status(struct scsi_task *t, struct sense_extra *x);
void sbc_get_lba_status(struct scsi_task *t);

/* pr.c: PERSISTENT RESERVE IN/OUT (one row per opcode; the service action is decoded there). */
enum sense_reason pr_setup_in(struct scsi_task *t, struct sense_extra *x);
void pr_execute_in(struct scsi_task *t);
enum sense_reason pr_setup_out(struct scsi_task *t, struct sense_extra *x);
void pr_execute_out(struct scsi_task *t);
/* xcopy.c (invar-2026.3) */
enum sense_reason xcopy_setup_extended_copy(struct scsi_task *t, struct sense_extra *x);
void xcopy_extended_copy(struct scsi_task *t);
enum sense_reason xcopy_setup_receive(struct scsi_task *t, struct sense_extra *x);
void xcopy_receive_copy_results(struct scsi_task *t);
/* Third-party Copy VPD page (0x8F) into b: page header bytes 2-3 and descriptors. */
unsigned xcopy_vpd_page(uint8_t *b);
/* The I_T nexus is gone: forget its copy status records on lu. */
struct lu;
void xcopy_nexus_gone(struct lu *lu, uint64_t nexus_id);

/* sbc3.c (invar-2026.3) */
void sbc3_orwrite(struct scsi_task *t);
enum sense_reason sbc3_setup_orwrite(struct scsi_task *t, struct sense_extra *x);
enum sense_reason sbc3_setup_write_atomic(struct scsi_task *t, struct sense_extra *x);
void sbc3_write_atomic(struct scsi_task *t);
void sbc3_prefetch(struct scsi_task *t);
enum sense_reason sbc3_setup_read_defect(struct scsi_task *t, struct sense_extra *x);
void sbc3_read_defect(struct scsi_task *t);
void sbc3_report_tmf(struct scsi_task *t);

/* sbc_maint.c (invar-2026.3): SANITIZE and FORMAT UNIT, long operations. */
enum sbc_maint_state {
	SBC_MAINT_NONE = 0,
	SBC_MAINT_SANITIZE,		/* running */
	SBC_MAINT_FORMAT,		/* running */
	SBC_MAINT_SANITIZE_FAILED,	/* sanitize failure mode until EXIT FAILURE MODE/SANITIZE */
	SBC_MAINT_FORMAT_FAILED,	/* medium format corrupted until FORMAT UNIT succeeds */
};
enum sense_reason sbc_maint_setup_sanitize(struct scsi_task *t, struct sense_extra *x);
void sbc_maint_sanitize(struct scsi_task *t);
enum sense_reason sbc_maint_setup_format(struct scsi_task *t, struct sense_extra *x);
/* FORMAT UNIT parameter list check (short or long header); *immed = the header's IMMED. */
enum sense_reason sbc_maint_format_params(const uint8_t *p, uint32_t len, bool longlist,
					  bool *immed, struct sense_extra *x);
void sbc_maint_format(struct scsi_task *t);
/* Dispatch, when lu->maint.state is not SBC_MAINT_NONE: SR_OK if command c may run now, else the
 * NOT READY (with progress) or failure-mode reason. */
enum sense_reason sbc_maint_admit(const struct scsi_task *t, const struct scsi_cmd *c,
				  struct sense_extra *x);
/* REQUEST SENSE: the LU's maintenance condition as sense (SR_OK when there is none). */
enum sense_reason sbc_maint_sense(struct lu *lu, struct sense_extra *x);

#endif
