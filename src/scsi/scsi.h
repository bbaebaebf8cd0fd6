/* The SCSI emulation entry points the fabric calls. The core owns CDB parsing and emulation,
 * so every backstore behaves the same (SPC-4, SBC-3). */
#ifndef INVAR_SCSI_H
#define INVAR_SCSI_H

#include "scsi/task.h"

struct lu;
struct it_nexus;

/* Decode the CDB: checks the opcode against the LU's profile, the fields, the LBA range, unit
 * attentions and reservations; sets t->dir, t->data_out_len and t->data_in_max. Returns 0 when
 * the fabric should go on (collect data-out, then scsi_task_execute), or -1 when the task is
 * already complete: t->status (and sense) are set and done() has NOT been called; the fabric
 * sends the status itself. */
int scsi_task_setup(struct scsi_task *t);
/* data_out_len is the SCSI transfer length (e.g. blocks x block size for WRITE). When the
 * iSCSI Expected Data Transfer Length is smaller, the fabric collects only EDTL bytes and
 * reports the difference as overflow; execute then writes only the whole blocks it received
 * (SAM-5 5.4.3, libiscsi Write10 residuals). data_in_max is the most data-in the CDB allows;
 * the fabric truncates to EDTL. */

/* Execute a task that scsi_task_setup() accepted. Calls t->done(t) exactly once, possibly
 * before returning. */
void scsi_task_execute(struct scsi_task *t);

/* Set a task's outcome from a reason: its status, and for CHECK CONDITION its sense (in the
 * LU's D_SENSE format). For outcomes the fabric decides (write-buffer budget, data-out
 * faults); done() is not called. */
enum sense_reason;
void scsi_task_set_sense(struct scsi_task *t, enum sense_reason r);

/* Task management effects on the LU (SAM-5 7.11, SPC-4 6.6): the fabric aborts its own tasks and
 * then calls these so unit attentions and reservations follow the standard. */
void scsi_lu_reset(struct lu *lu, const struct it_nexus *by);	/* LOGICAL UNIT RESET */
void scsi_target_reset(struct lu *lu, const struct it_nexus *by); /* TARGET WARM/COLD RESET */
void scsi_nexus_loss(struct lu *lu, const struct it_nexus *nexus); /* session gone */
/* Whether the LU's task set is shared by every I_T nexus for task management (LUN RESET and
 * CLEAR TASK SET abort all sessions' tasks); false keeps the 2026.2 per-session behaviour. */
bool scsi_lu_shared_task_set(const struct lu *lu);

/* Called by lu_create: current mode page values from the profile's defaults, and the WCE and
 * D_SENSE atomics from them. */
void scsi_lu_mode_init(struct lu *lu);
/* For profiles with mode_save, once the LU has its state directory: loads saved mode pages
 * (DATA_DIR/lu/<NAA>/mode.json) into the saved and current values. A missing file is not an
 * error; an unreadable or corrupt one is (-errno with a reason naming the file in err). */
int scsi_lu_mode_load(struct lu *lu, char *err, size_t err_len);
/* Live migration: current and saved values as the source had them (len bytes each, at most
 * sizeof(lu->mode.cur)), and the WCE/D_SENSE/SWP atomics from them. -EINVAL if len does not
 * match this profile's mode state. */
int scsi_lu_mode_set(struct lu *lu, const uint8_t *cur, const uint8_t *saved, size_t len);

#endif
