/* The sense-reason table and the sense data encoder (SPC-4 4.5). Every failure a command can
 * report is one row here; nothing else builds sense bytes. */
#include <string.h>

#include "scsi/sense.h"
#include "util/byteorder.h"

static const struct sense_entry sense_table[] = {
	[SR_OK] = { SK_NO_SENSE, 0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION" },
	[SR_INVALID_OPCODE] = { SK_ILLEGAL_REQUEST, 0x20, 0x00, "INVALID COMMAND OPERATION CODE" },
	[SR_INVALID_FIELD_IN_CDB] = { SK_ILLEGAL_REQUEST, 0x24, 0x00, "INVALID FIELD IN CDB" },
	[SR_INVALID_FIELD_IN_PARAM] = { SK_ILLEGAL_REQUEST, 0x26, 0x00,
					"INVALID FIELD IN PARAMETER LIST" },
	[SR_PARAM_LIST_LENGTH_ERROR] = { SK_ILLEGAL_REQUEST, 0x1a, 0x00,
					 "PARAMETER LIST LENGTH ERROR" },
	[SR_LBA_OUT_OF_RANGE] = { SK_ILLEGAL_REQUEST, 0x21, 0x00,
				  "LOGICAL BLOCK ADDRESS OUT OF RANGE" },
	[SR_LUN_NOT_SUPPORTED] = { SK_ILLEGAL_REQUEST, 0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED" },
	[SR_SAVING_PARAMS_UNSUPPORTED] = { SK_ILLEGAL_REQUEST, 0x39, 0x00,
					   "SAVING PARAMETERS NOT SUPPORTED" },
	[SR_MEDIUM_ERROR_READ] = { SK_MEDIUM_ERROR, 0x11, 0x00, "UNRECOVERED READ ERROR" },
	[SR_MEDIUM_ERROR_WRITE] = { SK_MEDIUM_ERROR, 0x0c, 0x00, "WRITE ERROR" },
	[SR_SPACE_ALLOC_FAILED] = { SK_DATA_PROTECT, 0x27, 0x07,
				    "SPACE ALLOCATION FAILED WRITE PROTECT" },
	[SR_WRITE_PROTECTED] = { SK_DATA_PROTECT, 0x27, 0x00, "WRITE PROTECTED" },
	[SR_NOT_READY_STOPPED] = { SK_NOT_READY, 0x04, 0x02,
				   "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED" },
	[SR_NOT_READY_REMOVED] = { SK_NOT_READY, 0x3a, 0x00, "MEDIUM NOT PRESENT" },
	[SR_HARDWARE_ERROR] = { SK_HARDWARE_ERROR, 0x44, 0x00, "INTERNAL TARGET FAILURE" },
	[SR_OUT_OF_RESOURCES] = { SK_HARDWARE_ERROR, 0x55, 0x03, "INSUFFICIENT RESOURCES" },
	[SR_MISCOMPARE] = { SK_MISCOMPARE, 0x1d, 0x00, "MISCOMPARE DURING VERIFY OPERATION" },
	[SR_MEDIUM_REMOVAL_PREVENTED] = { SK_ILLEGAL_REQUEST, 0x53, 0x02,
					  "MEDIUM REMOVAL PREVENTED" },
	[SR_UA_POWER_ON] = { SK_UNIT_ATTENTION, 0x29, 0x01, "POWER ON OCCURRED" },
	[SR_UA_POWER_ON_RESET] = { SK_UNIT_ATTENTION, 0x29, 0x00,
				   "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" },
	[SR_UA_BUS_RESET] = { SK_UNIT_ATTENTION, 0x29, 0x02, "SCSI BUS RESET OCCURRED" },
	[SR_UA_LUN_RESET] = { SK_UNIT_ATTENTION, 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED" },
	[SR_UA_NEXUS_LOSS] = { SK_UNIT_ATTENTION, 0x29, 0x07, "I_T NEXUS LOSS OCCURRED" },
	[SR_UA_MODE_CHANGED] = { SK_UNIT_ATTENTION, 0x2a, 0x01, "MODE PARAMETERS CHANGED" },
	[SR_UA_CAPACITY_CHANGED] = { SK_UNIT_ATTENTION, 0x2a, 0x09, "CAPACITY DATA HAS CHANGED" },
	[SR_UA_LUNS_CHANGED] = { SK_UNIT_ATTENTION, 0x3f, 0x0e, "REPORTED LUNS DATA HAS CHANGED" },
	[SR_ABORTED_DATA_PHASE] = { SK_ABORTED_COMMAND, 0x4b, 0x00, "DATA PHASE ERROR" },
	[SR_ABORTED_CMD_CLEARED] = { SK_ABORTED_COMMAND, 0x2f, 0x00,
				     "COMMANDS CLEARED BY ANOTHER INITIATOR" },
	[SR_LU_COMM_FAILURE] = { SK_ABORTED_COMMAND, 0x08, 0x00,
				 "LOGICAL UNIT COMMUNICATION FAILURE" },
	[SR_UA_RESV_PREEMPTED] = { SK_UNIT_ATTENTION, 0x2a, 0x03, "RESERVATIONS PREEMPTED" },
	[SR_UA_RESV_RELEASED] = { SK_UNIT_ATTENTION, 0x2a, 0x04, "RESERVATIONS RELEASED" },
	[SR_UA_REGS_PREEMPTED] = { SK_UNIT_ATTENTION, 0x2a, 0x05, "REGISTRATIONS PREEMPTED" },
	[SR_UA_CMDS_CLEARED] = { SK_UNIT_ATTENTION, 0x2f, 0x00,
				 "COMMANDS CLEARED BY ANOTHER INITIATOR" },
	[SR_INVALID_PR_RELEASE] = { SK_ILLEGAL_REQUEST, 0x26, 0x04,
				    "INVALID RELEASE OF PERSISTENT RESERVATION" },
	[SR_INSUFFICIENT_REG_RESOURCES] = { SK_ILLEGAL_REQUEST, 0x55, 0x04,
					    "INSUFFICIENT REGISTRATION RESOURCES" },
	[SR_NOT_READY_ALUA_TRANSITION] = { SK_NOT_READY, 0x04, 0x0a,
					   "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE "
					   "TRANSITION" },
	[SR_NOT_READY_ALUA_STANDBY] = { SK_NOT_READY, 0x04, 0x0b,
					"LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE" },
	[SR_NOT_READY_ALUA_UNAVAILABLE] = { SK_NOT_READY, 0x04, 0x0c,
					    "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN "
					    "UNAVAILABLE STATE" },
	[SR_UA_ALUA_CHANGED] = { SK_UNIT_ATTENTION, 0x2a, 0x06,
				 "ASYMMETRIC ACCESS STATE CHANGED" },
	[SR_TOO_MANY_CSCD] = { SK_ILLEGAL_REQUEST, 0x26, 0x06, "TOO MANY TARGET DESCRIPTORS" },
	[SR_UNSUPPORTED_CSCD_TYPE] = { SK_ILLEGAL_REQUEST, 0x26, 0x07,
				       "UNSUPPORTED TARGET DESCRIPTOR TYPE CODE" },
	[SR_TOO_MANY_SEGMENTS] = { SK_ILLEGAL_REQUEST, 0x26, 0x08, "TOO MANY SEGMENT DESCRIPTORS" },
	[SR_UNSUPPORTED_SEGMENT_TYPE] = { SK_ILLEGAL_REQUEST, 0x26, 0x09,
					  "UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE" },
	[SR_INLINE_DATA_EXCEEDED] = { SK_ILLEGAL_REQUEST, 0x26, 0x0b, "INLINE DATA LENGTH EXCEEDED" },
	[SR_INVALID_COPY_OPERATION] = { SK_ILLEGAL_REQUEST, 0x26, 0x0c,
					"INVALID OPERATION FOR COPY SOURCE OR DESTINATION" },
	[SR_OPERATION_IN_PROGRESS] = { SK_ILLEGAL_REQUEST, 0x00, 0x16, "OPERATION IN PROGRESS" },
	[SR_COPY_ABORTED] = { SK_COPY_ABORTED, 0x00, 0x00, "COPY ABORTED" },
	[SR_COPY_TARGET_UNREACHABLE] = { SK_COPY_ABORTED, 0x0d, 0x02,
					 "COPY TARGET DEVICE NOT REACHABLE" },
	[SR_COPY_TARGET_WRONG_TYPE] = { SK_COPY_ABORTED, 0x0d, 0x03,
					"INCORRECT COPY TARGET DEVICE TYPE" },
	[SR_COPY_READ_ERROR] = { SK_COPY_ABORTED, 0x11, 0x00, "UNRECOVERED READ ERROR" },
	[SR_COPY_WRITE_ERROR] = { SK_COPY_ABORTED, 0x0c, 0x00, "WRITE ERROR" },
	[SR_NOT_READY_FORMAT] = { SK_NOT_READY, 0x04, 0x04,
				 "LOGICAL UNIT NOT READY, FORMAT IN PROGRESS" },
	[SR_NOT_READY_SANITIZE] = { SK_NOT_READY, 0x04, 0x1b,
				   "LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS" },
	[SR_MEDIUM_FORMAT_CORRUPTED] = { SK_MEDIUM_ERROR, 0x31, 0x00, "MEDIUM FORMAT CORRUPTED" },
	[SR_SANITIZE_FAILED] = { SK_MEDIUM_ERROR, 0x31, 0x03, "SANITIZE COMMAND FAILED" },
	[SR_ABORTED_PROTOCOL_CRC] = { SK_ABORTED_COMMAND, 0x47, 0x05, "PROTOCOL SERVICE CRC ERROR" },
};

_Static_assert(sizeof(sense_table) / sizeof(sense_table[0]) == SR_REASON_COUNT,
	       "sense_table must have one row per enum sense_reason");

const struct sense_entry *sense_lookup(enum sense_reason r)
{
	if ((unsigned)r >= SR_REASON_COUNT || !sense_table[r].text)
		r = SR_HARDWARE_ERROR;
	return &sense_table[r];
}

/* Fixed format, SPC-4 4.5.3: 18 bytes. */
#define FIXED_LEN 18
#define FIXED_RESPONSE_CODE 0x70
#define FIXED_VALID 0x80
#define FIXED_OFF_KEY 2
#define FIXED_OFF_INFO 3
#define FIXED_OFF_ADDL_LEN 7
#define FIXED_OFF_ASC 12
#define FIXED_OFF_ASCQ 13
#define FIXED_OFF_SKS 15

/* Descriptor format, SPC-4 4.5.2: 8-byte header then descriptors. */
#define DESC_HDR_LEN 8
#define DESC_RESPONSE_CODE 0x72
#define DESC_OFF_KEY 1
#define DESC_OFF_ASC 2
#define DESC_OFF_ASCQ 3
#define DESC_OFF_ADDL_LEN 7
#define DESC_INFO_TYPE 0x00	/* SPC-4 4.5.2.2 */
#define DESC_INFO_LEN 12
#define DESC_SKS_TYPE 0x02	/* SPC-4 4.5.2.4 */
#define DESC_SKS_LEN 8
#define SKSV 0x80

static unsigned sense_encode_fixed(uint8_t *buf, const struct sense_entry *e,
				   const struct sense_extra *x)
{
	memset(buf, 0, FIXED_LEN);
	buf[0] = FIXED_RESPONSE_CODE;
	buf[FIXED_OFF_KEY] = e->key & 0x0f;
	/* The 4-byte INFORMATION field cannot hold a wider value: leave VALID clear then. */
	if (x && x->info_valid && x->info <= UINT32_MAX) {
		buf[0] |= FIXED_VALID;
		put_be32(buf + FIXED_OFF_INFO, (uint32_t)x->info);
	}
	buf[FIXED_OFF_ADDL_LEN] = FIXED_LEN - 8;
	buf[FIXED_OFF_ASC] = e->asc;
	buf[FIXED_OFF_ASCQ] = e->ascq;
	if (x && x->sks_valid) {
		buf[FIXED_OFF_SKS] = x->sks[0] | SKSV;
		buf[FIXED_OFF_SKS + 1] = x->sks[1];
		buf[FIXED_OFF_SKS + 2] = x->sks[2];
	}
	return FIXED_LEN;
}

static unsigned sense_encode_desc(uint8_t *buf, unsigned buf_len, const struct sense_entry *e,
				  const struct sense_extra *x)
{
	unsigned len = DESC_HDR_LEN;

	memset(buf, 0, buf_len);
	buf[0] = DESC_RESPONSE_CODE;
	buf[DESC_OFF_KEY] = e->key & 0x0f;
	buf[DESC_OFF_ASC] = e->asc;
	buf[DESC_OFF_ASCQ] = e->ascq;
	if (x && x->info_valid && len + DESC_INFO_LEN <= buf_len) {
		uint8_t *d = buf + len;

		d[0] = DESC_INFO_TYPE;
		d[1] = DESC_INFO_LEN - 2;
		d[2] = 0x80; /* VALID */
		put_be64(d + 4, x->info);
		len += DESC_INFO_LEN;
	}
	if (x && x->sks_valid && len + DESC_SKS_LEN <= buf_len) {
		uint8_t *d = buf + len;

		d[0] = DESC_SKS_TYPE;
		d[1] = DESC_SKS_LEN - 2;
		d[4] = x->sks[0] | SKSV;
		d[5] = x->sks[1];
		d[6] = x->sks[2];
		len += DESC_SKS_LEN;
	}
	buf[DESC_OFF_ADDL_LEN] = (uint8_t)(len - 8);
	return len;
}

unsigned sense_encode(uint8_t *buf, unsigned buf_len, enum sense_reason r, bool descriptor,
		      const struct sense_extra *extra)
{
	const struct sense_entry *e = sense_lookup(r);

	if (descriptor) {
		if (buf_len < DESC_HDR_LEN)
			return 0;
		return sense_encode_desc(buf, buf_len, e, extra);
	}
	if (buf_len < FIXED_LEN)
		return 0;
	return sense_encode_fixed(buf, e, extra);
}

void sense_field_pointer(struct sense_extra *x, bool in_cdb, unsigned byte, int bit)
{
	x->sks_valid = true;
	x->sks[0] = (uint8_t)(SKSV | (in_cdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | (bit & 7) : 0));
	x->sks[1] = (uint8_t)(byte >> 8);
	x->sks[2] = (uint8_t)byte;
}
