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

/* Flags in byte 1 and their meaning per opcode. pdu.c alone reads and writes the BHS, at the
 * byte offsets it names; everything else works on the decoded struct iscsi_pdu_hdr below. */
#define ISCSI_FLAG_IMMEDIATE 0x40	/* in byte 0 */
#define ISCSI_FLAG_FINAL 0x80
#define ISCSI_FLAG_CMD_READ 0x40
#define ISCSI_FLAG_CMD_WRITE 0x20
#define ISCSI_FLAG_CMD_ATTR_MASK 0x07
#define ISCSI_FLAG_DATAIN_ACK 0x40
#define ISCSI_FLAG_DATAIN_OVERFLOW 0x04
#define ISCSI_FLAG_DATAIN_UNDERFLOW 0x02
#define ISCSI_FLAG_DATAIN_STATUS 0x01
#define ISCSI_FLAG_RSP_BIDI_OVERFLOW 0x10
#define ISCSI_FLAG_RSP_BIDI_UNDERFLOW 0x08
#define ISCSI_FLAG_RSP_OVERFLOW 0x04
#define ISCSI_FLAG_RSP_UNDERFLOW 0x02
#define ISCSI_FLAG_LOGIN_TRANSIT 0x80
#define ISCSI_FLAG_LOGIN_CONTINUE 0x40
#define ISCSI_FLAG_TEXT_CONTINUE 0x40
#define ISCSI_FLAG_TMF_FUNC_MASK 0x7f
#define ISCSI_FLAG_LOGOUT_REASON_MASK 0x7f
#define ISCSI_FLAG_SNACK_TYPE_MASK 0x0f
#define ISCSI_CDB_BHS_LEN 16

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

/* The opcode-specific fields of each PDU, by name. Reserved fields are not decoded (a Reject
 * echoes the received bytes, not a re-encoding). */

/* SCSI Command (RFC 7143 11.3). */
struct iscsi_scsi_cmd_fields {
	bool final, read, write;
	uint8_t attr;			/* ATTR, 3 bits */
	uint32_t edtl;			/* Expected Data Transfer Length */
	uint8_t cdb[ISCSI_CDB_BHS_LEN];
};

/* SCSI Response (RFC 7143 11.4). */
struct iscsi_scsi_rsp_fields {
	bool bidi_overflow, bidi_underflow, overflow, underflow;
	uint8_t response, status;
	uint32_t snack_tag, expdatasn, bidi_residual, residual;
};

/* Task Management Function Request (RFC 7143 11.5) and Response (11.6). */
struct iscsi_tmf_req_fields {
	uint8_t function;
	uint32_t rtt, refcmdsn, expdatasn;
};

struct iscsi_tmf_rsp_fields {
	uint8_t response;
};

/* SCSI Data-Out and Data-In (RFC 7143 11.7). */
struct iscsi_data_out_fields {
	bool final;
	uint32_t ttt, datasn, buffer_offset;
};

struct iscsi_data_in_fields {
	bool final, ack, overflow, underflow, status_present;
	uint8_t status;			/* only with status_present */
	uint32_t ttt, datasn, buffer_offset, residual;
};

/* Ready To Transfer (RFC 7143 11.8). */
struct iscsi_r2t_fields {
	uint32_t ttt, r2tsn, buffer_offset, ddtl;	/* DDTL: Desired Data Transfer Length */
};

/* Asynchronous Message (RFC 7143 11.9). */
struct iscsi_async_fields {
	uint8_t event, vcode;
	uint16_t param1, param2, param3;
};

/* Text Request and Response (RFC 7143 11.10, 11.11). */
struct iscsi_text_fields {
	bool final, cont;
	uint32_t ttt;
};

/* Login Request and Response (RFC 7143 11.12, 11.13). In a response version_min is
 * version-active, and cid is reserved; in a request the status is. */
struct iscsi_login_fields {
	bool transit, cont;
	uint8_t csg, nsg;
	uint8_t version_max, version_min;
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint8_t status_class, status_detail;
};

/* Logout Request and Response (RFC 7143 11.14, 11.15). */
struct iscsi_logout_req_fields {
	uint8_t reason;
	uint16_t cid;
};

struct iscsi_logout_rsp_fields {
	uint8_t response;
	uint16_t time2wait, time2retain;
};

/* SNACK Request (RFC 7143 11.16). */
struct iscsi_snack_fields {
	uint8_t type;
	uint32_t ttt, begrun, runlength;
};

/* Reject (RFC 7143 11.17). */
struct iscsi_reject_fields {
	uint8_t reason;
	uint32_t datasn;		/* DataSN/R2TSN */
};

/* NOP-Out and NOP-In (RFC 7143 11.18, 11.19). */
struct iscsi_nop_fields {
	uint32_t ttt;
};

/* A BHS decoded once, on receive (iscsi_bhs_decode), or filled in to be sent
 * (iscsi_bhs_encode). opcode says which member of the union is in use. */
struct iscsi_pdu_hdr {
	uint8_t opcode;			/* 6 bits */
	bool immediate;
	uint8_t total_ahs_words;	/* TotalAHSLength, in 4-byte words */
	uint32_t data_len;		/* DataSegmentLength */
	uint8_t lun[8];			/* LUN, where the opcode has one (not Login) */
	uint32_t itt;			/* Initiator Task Tag (reserved ones are 0xffffffff) */
	/* Initiator PDUs: CmdSN (not in Data-Out or SNACK) and ExpStatSN. */
	uint32_t cmdsn, expstatsn;
	/* Target PDUs (RFC 7143 4.2.2): StatSN, ExpCmdSN, MaxCmdSN. */
	uint32_t statsn, expcmdsn, maxcmdsn;
	union {
		struct iscsi_scsi_cmd_fields scsi_cmd;
		struct iscsi_scsi_rsp_fields scsi_rsp;
		struct iscsi_tmf_req_fields tmf_req;
		struct iscsi_tmf_rsp_fields tmf_rsp;
		struct iscsi_data_out_fields data_out;
		struct iscsi_data_in_fields data_in;
		struct iscsi_r2t_fields r2t;
		struct iscsi_async_fields async;
		struct iscsi_text_fields text;		/* Text Request and Response */
		struct iscsi_login_fields login;	/* Login Request and Response */
		struct iscsi_logout_req_fields logout_req;
		struct iscsi_logout_rsp_fields logout_rsp;
		struct iscsi_snack_fields snack;
		struct iscsi_reject_fields reject;
		struct iscsi_nop_fields nop;		/* NOP-Out and NOP-In */
	};
};

/* Decodes every field the opcode defines (an unknown opcode: the common ones only). */
void iscsi_bhs_decode(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_pdu_hdr *h);
/* Writes all 48 bytes: the opcode's fields, zeros where it has none or they are reserved. */
void iscsi_bhs_encode(const struct iscsi_pdu_hdr *h, uint8_t bhs[ISCSI_BHS_LEN]);
/* DataSegmentLength of an encoded BHS, set in place (a sender knows it last). */
void iscsi_bhs_set_data_len(uint8_t bhs[ISCSI_BHS_LEN], uint32_t len);

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

/* Extracts the CDB from a decoded SCSI Command and, for CDBs longer than 16 bytes, an Extended
 * CDB AHS (RFC 7143 11.2.2.3). cdb must hold cdb_max bytes. Returns the CDB length or -EINVAL. */
int iscsi_cdb_from_pdu(const struct iscsi_pdu_hdr *h, const uint8_t *ahs, size_t ahs_len,
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
