/* One sense-reason enum, one table (sense.c) mapping each to a status and, for CHECK
 * CONDITION, key/ASC/ASCQ. Every outcome of a command is a reason, status-only ones (BUSY,
 * RESERVATION CONFLICT...) included, like LIO's sense_reason_t; nothing sets a status or builds
 * sense bytes by hand. */
#ifndef INVAR_SCSI_SENSE_H
#define INVAR_SCSI_SENSE_H

#include <stdbool.h>
#include <stdint.h>

/* Sense keys (SPC-4 4.5.6). */
#define SK_NO_SENSE 0x0
#define SK_RECOVERED_ERROR 0x1
#define SK_NOT_READY 0x2
#define SK_MEDIUM_ERROR 0x3
#define SK_HARDWARE_ERROR 0x4
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION 0x6
#define SK_DATA_PROTECT 0x7
#define SK_COPY_ABORTED 0xa
#define SK_ABORTED_COMMAND 0xb
#define SK_MISCOMPARE 0xe

enum sense_reason {
	SR_OK = 0,
	SR_INVALID_OPCODE,		/* 5/20/00 INVALID COMMAND OPERATION CODE */
	SR_INVALID_FIELD_IN_CDB,	/* 5/24/00 */
	SR_INVALID_FIELD_IN_PARAM,	/* 5/26/00 INVALID FIELD IN PARAMETER LIST */
	SR_PARAM_LIST_LENGTH_ERROR,	/* 5/1A/00 */
	SR_LBA_OUT_OF_RANGE,		/* 5/21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE */
	SR_LUN_NOT_SUPPORTED,		/* 5/25/00 LOGICAL UNIT NOT SUPPORTED */
	SR_SAVING_PARAMS_UNSUPPORTED,	/* 5/39/00 */
	SR_MEDIUM_ERROR_READ,		/* 3/11/00 UNRECOVERED READ ERROR */
	SR_MEDIUM_ERROR_WRITE,		/* 3/0C/00 WRITE ERROR */
	SR_SPACE_ALLOC_FAILED,		/* 7/27/07 SPACE ALLOCATION FAILED WRITE PROTECT */
	SR_WRITE_PROTECTED,		/* 7/27/00 WRITE PROTECTED */
	SR_NOT_READY_STOPPED,		/* 2/04/02 INITIALIZING COMMAND REQUIRED (stopped unit) */
	SR_NOT_READY_REMOVED,		/* 2/3A/00 MEDIUM NOT PRESENT */
	SR_HARDWARE_ERROR,		/* 4/44/00 INTERNAL TARGET FAILURE */
	SR_OUT_OF_RESOURCES,		/* 4/55/03 INSUFFICIENT RESOURCES (ENOMEM) */
	SR_MISCOMPARE,			/* E/1D/00 MISCOMPARE DURING VERIFY OPERATION */
	SR_MEDIUM_REMOVAL_PREVENTED,	/* 5/53/02 */
	SR_UA_POWER_ON,			/* 6/29/01 */
	SR_UA_POWER_ON_RESET,		/* 6/29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED */
	SR_UA_BUS_RESET,		/* 6/29/02 */
	SR_UA_LUN_RESET,		/* 6/29/03 */
	SR_UA_NEXUS_LOSS,		/* 6/29/07 */
	SR_UA_MODE_CHANGED,		/* 6/2A/01 */
	SR_UA_CAPACITY_CHANGED,		/* 6/2A/09 */
	SR_UA_LUNS_CHANGED,		/* 6/3F/0E */
	SR_ABORTED_DATA_PHASE,		/* B/4B/00 DATA PHASE ERROR (iSCSI: data digest/sequence) */
	SR_ABORTED_CMD_CLEARED,		/* B/2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR */
	SR_LU_COMM_FAILURE,		/* B/08/00 LOGICAL UNIT COMMUNICATION FAILURE */
	/* Persistent reservations and the shared task set (invar-2026.3). */
	SR_UA_RESV_PREEMPTED,		/* 6/2A/03 RESERVATIONS PREEMPTED */
	SR_UA_RESV_RELEASED,		/* 6/2A/04 RESERVATIONS RELEASED */
	SR_UA_REGS_PREEMPTED,		/* 6/2A/05 REGISTRATIONS PREEMPTED */
	SR_UA_CMDS_CLEARED,		/* 6/2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR */
	SR_INVALID_PR_RELEASE,		/* 5/26/04 INVALID RELEASE OF PERSISTENT RESERVATION */
	SR_INSUFFICIENT_REG_RESOURCES,	/* 5/55/04 INSUFFICIENT REGISTRATION RESOURCES */
	SR_NOT_READY_ALUA_TRANSITION,	/* 2/04/0A ASYMMETRIC ACCESS STATE TRANSITION */
	SR_NOT_READY_ALUA_STANDBY,	/* 2/04/0B TARGET PORT IN STANDBY STATE */
	SR_NOT_READY_ALUA_UNAVAILABLE,	/* 2/04/0C TARGET PORT IN UNAVAILABLE STATE */
	SR_UA_ALUA_CHANGED,		/* 6/2A/06 ASYMMETRIC ACCESS STATE CHANGED */
	/* EXTENDED COPY (SPC-4 6.4), RECEIVE COPY RESULTS, removable media. */
	SR_TOO_MANY_CSCD,		/* 5/26/06 TOO MANY TARGET DESCRIPTORS */
	SR_UNSUPPORTED_CSCD_TYPE,	/* 5/26/07 UNSUPPORTED TARGET DESCRIPTOR TYPE CODE */
	SR_TOO_MANY_SEGMENTS,		/* 5/26/08 TOO MANY SEGMENT DESCRIPTORS */
	SR_UNSUPPORTED_SEGMENT_TYPE,	/* 5/26/09 UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE */
	SR_INLINE_DATA_EXCEEDED,	/* 5/26/0B INLINE DATA LENGTH EXCEEDED */
	SR_INVALID_COPY_OPERATION,	/* 5/26/0C INVALID OPERATION FOR COPY SOURCE OR DESTINATION */
	SR_OPERATION_IN_PROGRESS,	/* 5/00/16 OPERATION IN PROGRESS */
	SR_COPY_ABORTED,		/* A/00/00 (segment pointer in the sense-key specific bytes) */
	SR_COPY_TARGET_UNREACHABLE,	/* A/0D/02 COPY TARGET DEVICE NOT REACHABLE */
	SR_COPY_TARGET_WRONG_TYPE,	/* A/0D/03 INCORRECT COPY TARGET DEVICE TYPE */
	SR_COPY_READ_ERROR,		/* A/11/00 UNRECOVERED READ ERROR (during a copy) */
	SR_COPY_WRITE_ERROR,		/* A/0C/00 WRITE ERROR (during a copy) */
	/* SANITIZE and FORMAT UNIT (src/scsi/sbc_maint.c). */
	SR_NOT_READY_FORMAT,		/* 2/04/04 LOGICAL UNIT NOT READY, FORMAT IN PROGRESS */
	SR_NOT_READY_SANITIZE,		/* 2/04/1B LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS */
	SR_MEDIUM_FORMAT_CORRUPTED,	/* 3/31/00 after a FORMAT UNIT that failed */
	SR_SANITIZE_FAILED,		/* 3/31/03 SANITIZE COMMAND FAILED */
	/* iSCSI transport (src/fabric/iscsi). */
	SR_ABORTED_PROTOCOL_CRC,	/* B/47/05 PROTOCOL SERVICE CRC ERROR (Data-Out digest, RFC 7143 7.8) */
	/* Status only, no sense data (SAM-5 5.3.1). */
	SR_CONDITION_MET,		/* PRE-FETCH: the range fits the cache (SBC-3 5.11) */
	SR_BUSY,			/* temporarily unable; the initiator retries */
	SR_RESERVATION_CONFLICT,	/* RESERVE or a persistent reservation (SPC-4 5.12) */
	SR_TASK_SET_FULL,		/* out of task resources for this nexus; retried */
	SR_REASON_COUNT
};

struct sense_entry {
	uint8_t status;			/* SAM-5 5.3.1 (SCSI_STATUS_*, scsi/task.h) */
	uint8_t key, asc, ascq;		/* sense data, with CHECK CONDITION only */
	const char *text;
};

/* The table entry for a reason. */
const struct sense_entry *sense_lookup(enum sense_reason r);

/* Encode sense data for a reason into buf (at least 18 bytes fixed, 8+ descriptor).
 * info/info_valid: the INFORMATION field (e.g. LBA of a medium error, miscompare offset);
 * sks/sks_valid: sense-key specific (e.g. field pointer for INVALID FIELD IN CDB: bit 7 SKSV,
 * bit 6 C/D, bits 2..0 bit pointer in byte 0, field pointer in bytes 1-2).
 * Returns the sense length. SPC-4 4.5.2 (descriptor) and 4.5.3 (fixed). */
struct sense_extra {
	bool info_valid;
	uint64_t info;
	bool sks_valid;
	uint8_t sks[3];
};
unsigned sense_encode(uint8_t *buf, unsigned buf_len, enum sense_reason r, bool descriptor,
		      const struct sense_extra *extra);

/* Fill x's sense-key specific bytes with a field pointer (SPC-4 4.5.2.4.2): in_cdb sets C/D
 * (the CDB, else the parameter list), byte is the offset of the bad field, bit its most
 * significant bad bit (BPV set) or -1 when the whole byte is meant. */
void sense_field_pointer(struct sense_extra *x, bool in_cdb, unsigned byte, int bit);

#endif
