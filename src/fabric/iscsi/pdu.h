/* iSCSI PDU codec: the 48-byte Basic Header Segment, AHS and digests (RFC 7143 11.2).
 * Every field is read and written through util/byteorder.h at a named offset; no bitfields. */
#ifndef INVAR_FABRIC_ISCSI_PDU_H
#define INVAR_FABRIC_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_AHS_MAX (255 * 4)		/* TotalAHSLength is in 4-byte words, one byte */
#define ISCSI_RSVD_TAG 0xffffffffu	/* reserved ITT/TTT value (RFC 7143 11.2.1.8) */

/* Opcodes (RFC 7143 11.2.1.2). Initiator opcodes 0x00-0x1f, target opcodes 0x20-0x3f. */
enum iscsi_opcode {
	ISCSI_OP_NOP_OUT = 0x00,
	ISCSI_OP_SCSI_CMD = 0x01,
	ISCSI_OP_TMF_REQ = 0x02,
	ISCSI_OP_LOGIN_REQ = 0x03,
	ISCSI_OP_TEXT_REQ = 0x04,
	ISCSI_OP_DATA_OUT = 0x05,
	ISCSI_OP_LOGOUT_REQ = 0x06,
	ISCSI_OP_SNACK = 0x10,
	ISCSI_OP_NOP_IN = 0x20,
	ISCSI_OP_SCSI_RSP = 0x21,
	ISCSI_OP_TMF_RSP = 0x22,
	ISCSI_OP_LOGIN_RSP = 0x23,
	ISCSI_OP_TEXT_RSP = 0x24,
	ISCSI_OP_DATA_IN = 0x25,
	ISCSI_OP_LOGOUT_RSP = 0x26,
	ISCSI_OP_R2T = 0x31,
	ISCSI_OP_ASYNC = 0x32,
	ISCSI_OP_REJECT = 0x3f,
};

/* BHS byte offsets common to all PDUs (RFC 7143 11.2.1). */
#define ISCSI_OFF_OPCODE 0		/* bit 6: I (immediate), bits 5-0 opcode */
#define ISCSI_OFF_FLAGS 1		/* bit 7: F (final) for most PDUs */
#define ISCSI_OFF_SPEC2 2		/* opcode specific: response, version-max, reason... */
#define ISCSI_OFF_SPEC3 3		/* opcode specific: status, version-min/active... */
#define ISCSI_OFF_TOTAL_AHS 4		/* TotalAHSLength, 4-byte words */
#define ISCSI_OFF_DATA_LEN 5		/* DataSegmentLength, 24 bits */
#define ISCSI_OFF_LUN 8			/* LUN, or ISID+TSIH in login PDUs */
#define ISCSI_OFF_ITT 16
#define ISCSI_OFF_W20 20		/* TTT / EDTL / CID / RTT... */
#define ISCSI_OFF_W24 24		/* CmdSN (initiator) / StatSN (target) */
#define ISCSI_OFF_W28 28		/* ExpStatSN (initiator) / ExpCmdSN (target) */
#define ISCSI_OFF_W32 32		/* MaxCmdSN / RefCmdSN / CDB start */
#define ISCSI_OFF_W36 36		/* DataSN / R2TSN / ExpDataSN */
#define ISCSI_OFF_W40 40		/* Buffer Offset */
#define ISCSI_OFF_W44 44		/* Residual count / DDTL */

/* Named aliases used by the handlers. */
#define ISCSI_OFF_CMDSN ISCSI_OFF_W24
#define ISCSI_OFF_STATSN ISCSI_OFF_W24
#define ISCSI_OFF_EXPSTATSN ISCSI_OFF_W28
#define ISCSI_OFF_EXPCMDSN ISCSI_OFF_W28
#define ISCSI_OFF_MAXCMDSN ISCSI_OFF_W32
#define ISCSI_OFF_TTT ISCSI_OFF_W20
#define ISCSI_OFF_EDTL ISCSI_OFF_W20		/* SCSI Command: Expected Data Transfer Length */
#define ISCSI_OFF_CDB ISCSI_OFF_W32		/* SCSI Command: 16 CDB bytes */
#define ISCSI_CDB_BHS_LEN 16
#define ISCSI_OFF_DATASN ISCSI_OFF_W36
#define ISCSI_OFF_R2TSN ISCSI_OFF_W36
#define ISCSI_OFF_EXPDATASN ISCSI_OFF_W36
#define ISCSI_OFF_BUFFER_OFFSET ISCSI_OFF_W40
#define ISCSI_OFF_RESIDUAL ISCSI_OFF_W44
#define ISCSI_OFF_DDTL ISCSI_OFF_W44
#define ISCSI_OFF_BIDI_RESIDUAL ISCSI_OFF_W40
/* Login (RFC 7143 11.12/11.13). */
#define ISCSI_OFF_LOGIN_VMAX 2
#define ISCSI_OFF_LOGIN_VMIN 3
#define ISCSI_OFF_LOGIN_STATUS_CLASS 36
#define ISCSI_OFF_LOGIN_STATUS_DETAIL 37
#define ISCSI_OFF_ISID 8			/* 6 bytes */
#define ISCSI_OFF_TSIH 14			/* 2 bytes */
#define ISCSI_OFF_CID 20			/* 2 bytes (login, logout) */
/* Task management (RFC 7143 11.5). */
#define ISCSI_OFF_TMF_RTT 20
#define ISCSI_OFF_TMF_REFCMDSN 32
#define ISCSI_OFF_TMF_EXPDATASN 36
/* Logout response (RFC 7143 11.15). */
#define ISCSI_OFF_LOGOUT_T2W 40
#define ISCSI_OFF_LOGOUT_T2R 42

/* Flags in byte 1. */
#define ISCSI_FLAG_IMMEDIATE 0x40	/* in byte 0 */
#define ISCSI_FLAG_FINAL 0x80
#define ISCSI_FLAG_CMD_READ 0x40
#define ISCSI_FLAG_CMD_WRITE 0x20
#define ISCSI_FLAG_CMD_ATTR_MASK 0x07
#define ISCSI_FLAG_DATAIN_ACK 0x40
#define ISCSI_FLAG_DATAIN_OVERFLOW 0x04
#define ISCSI_FLAG_DATAIN_UNDERFLOW 0x02
#define ISCSI_FLAG_DATAIN_STATUS 0x01
#define ISCSI_FLAG_RSP_OVERFLOW 0x04
#define ISCSI_FLAG_RSP_UNDERFLOW 0x02
#define ISCSI_FLAG_LOGIN_TRANSIT 0x80
#define ISCSI_FLAG_LOGIN_CONTINUE 0x40
#define ISCSI_LOGIN_CSG(f) (((f) >> 2) & 0x3)
#define ISCSI_LOGIN_NSG(f) ((f) & 0x3)
#define ISCSI_FLAG_TEXT_CONTINUE 0x40
#define ISCSI_FLAG_TMF_FUNC_MASK 0x7f

/* AHS types (RFC 7143 11.2.2). */
#define ISCSI_AHS_EXTENDED_CDB 1
#define ISCSI_AHS_BIDI_READ_LEN 2

/* Reject reasons (RFC 7143 11.17.1). */
enum iscsi_reject_reason {
	ISCSI_REJECT_DIGEST_ERROR = 0x02,
	ISCSI_REJECT_SNACK_REJECT = 0x03,
	ISCSI_REJECT_PROTOCOL_ERROR = 0x04,
	ISCSI_REJECT_CMD_NOT_SUPPORTED = 0x05,
	ISCSI_REJECT_IMM_CMD_REJECT = 0x06,
	ISCSI_REJECT_TASK_IN_PROGRESS = 0x07,
	ISCSI_REJECT_INVALID_DATA_ACK = 0x08,
	ISCSI_REJECT_INVALID_PDU_FIELD = 0x09,
	ISCSI_REJECT_OUT_OF_RESOURCES = 0x0a,
	ISCSI_REJECT_WAITING_FOR_LOGOUT = 0x0c,
};

/* A decoded BHS. Opcode-specific words keep their byte offset in the name; the handlers use
 * the ISCSI_OFF_* aliases above to know what each one means for their opcode. */
struct iscsi_pdu_hdr {
	uint8_t opcode;			/* 6 bits */
	bool immediate;
	uint8_t flags;			/* byte 1 */
	uint8_t spec2, spec3;		/* bytes 2, 3 */
	uint8_t total_ahs_words;	/* byte 4 */
	uint32_t data_len;		/* bytes 5-7 */
	uint8_t lun[8];			/* bytes 8-15 */
	uint32_t itt;			/* 16-19 */
	uint32_t w20, w24, w28, w32, w36, w40, w44;
};

void iscsi_bhs_decode(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_pdu_hdr *h);
void iscsi_bhs_encode(const struct iscsi_pdu_hdr *h, uint8_t bhs[ISCSI_BHS_LEN]);

/* Checks a received BHS's lengths before any payload is read: the data segment must not
 * exceed max_recv_dsl (our MaxRecvDataSegmentLength), TotalAHSLength is only allowed on a SCSI
 * Command. Returns 0 or -EMSGSIZE / -EPROTO. */
int iscsi_bhs_check_lengths(const struct iscsi_pdu_hdr *h, uint32_t max_recv_dsl);

/* Bytes of padding after a data segment of len bytes (to a 4-byte boundary). */
static inline uint32_t iscsi_pad_len(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

/* Header digest over BHS + AHS, data digest over data + pad (RFC 7143 13.1, CRC32C). */
uint32_t iscsi_header_digest(const uint8_t *bhs, const uint8_t *ahs, size_t ahs_len);
uint32_t iscsi_data_digest(const uint8_t *data, uint32_t len);

/* Extracts the CDB from the BHS and, for CDBs longer than 16 bytes, an Extended CDB AHS
 * (RFC 7143 11.2.2.3). cdb must hold cdb_max bytes. Returns the CDB length or -EINVAL. */
int iscsi_cdb_from_pdu(const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, size_t ahs_len,
		       uint8_t *cdb, size_t cdb_max);

/* The LUN field decoded to a flat LUN number (SAM-5 4.7: peripheral and flat addressing), or
 * UINT64_MAX for a format we do not use. */
uint64_t iscsi_lun_decode(const uint8_t lun[8]);
void iscsi_lun_encode(uint64_t lun, uint8_t out[8]);

/* Serial number arithmetic, RFC 1982 as required by RFC 7143 4.2.2.1. */
static inline bool iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0;
}

static inline bool iscsi_sn_gt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) > 0;
}

const char *iscsi_opcode_name(uint8_t opcode);

#endif
