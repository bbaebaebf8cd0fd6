/* iSCSI BHS codec, AHS and digests (RFC 7143 11.2, 13.1). */
#include "fabric/iscsi/pdu.h"

#include <errno.h>
#include <string.h>

#include "util/byteorder.h"
#include "util/crc32c.h"

/* Byte offsets of the BHS fields (RFC 7143 11.2.1, and each PDU's section of 11). Words 20-47
 * mean something different per opcode; each name below says which PDUs use it. */
#define OFF_OPCODE 0			/* bit 6: I (immediate), bits 5-0 opcode */
#define OFF_FLAGS 1			/* opcode-specific flags (F, R, W, T, C, ...) */
#define OFF_SPEC2 2			/* response, reason, version-max */
#define OFF_SPEC3 3			/* status, version-min / version-active */
#define OFF_TOTAL_AHS 4
#define OFF_DATA_LEN 5			/* DataSegmentLength, 24 bits */
#define OFF_LUN 8
#define OFF_ISID 8			/* Login: 6 bytes */
#define OFF_TSIH 14			/* Login: 2 bytes */
#define OFF_ITT 16
#define OFF_EDTL 20			/* SCSI Command */
#define OFF_TTT 20			/* Data-Out/In, R2T, Text, NOP, SNACK */
#define OFF_RTT 20			/* TMF Request */
#define OFF_SNACK_TAG 20		/* SCSI Response */
#define OFF_CID 20			/* Login, Logout Request: 2 bytes */
#define OFF_CMDSN 24			/* initiator PDUs */
#define OFF_STATSN 24			/* target PDUs */
#define OFF_EXPSTATSN 28		/* initiator PDUs */
#define OFF_EXPCMDSN 28			/* target PDUs */
#define OFF_MAXCMDSN 32			/* target PDUs */
#define OFF_CDB 32			/* SCSI Command: 16 bytes */
#define OFF_REFCMDSN 32			/* TMF Request */
#define OFF_DATASN 36			/* Data-Out/In, Reject (DataSN/R2TSN) */
#define OFF_R2TSN 36			/* R2T */
#define OFF_EXPDATASN 36		/* SCSI Response, TMF Request */
#define OFF_STATUS_CLASS 36		/* Login Response */
#define OFF_STATUS_DETAIL 37
#define OFF_ASYNC_EVENT 36		/* Async Message */
#define OFF_ASYNC_VCODE 37
#define OFF_ASYNC_PARAM1 38
#define OFF_ASYNC_PARAM2 40
#define OFF_ASYNC_PARAM3 42
#define OFF_BUFFER_OFFSET 40		/* Data-Out/In, R2T */
#define OFF_BIDI_RESIDUAL 40		/* SCSI Response */
#define OFF_TIME2WAIT 40		/* Logout Response */
#define OFF_TIME2RETAIN 42
#define OFF_BEGRUN 40			/* SNACK */
#define OFF_RESIDUAL 44			/* SCSI Response, Data-In */
#define OFF_DDTL 44			/* R2T */
#define OFF_RUNLENGTH 44		/* SNACK */

_Static_assert(OFF_RESIDUAL + 4 == ISCSI_BHS_LEN, "BHS is 48 bytes");
_Static_assert(OFF_CDB + ISCSI_CDB_BHS_LEN == ISCSI_BHS_LEN, "CDB fills the BHS tail");
_Static_assert(OFF_TSIH + 2 == OFF_ITT && OFF_ISID + 6 == OFF_TSIH, "ISID+TSIH fill the LUN");
_Static_assert(ISCSI_AHS_MAX == 1020, "TotalAHSLength is one byte of words");
_Static_assert(sizeof(((struct iscsi_pdu_hdr *)0)->lun) == 8, "LUN is 8 bytes");
_Static_assert(sizeof(((struct iscsi_pdu_hdr *)0)->scsi_cmd.cdb) == ISCSI_CDB_BHS_LEN,
	       "the BHS carries 16 CDB bytes");
_Static_assert(sizeof(((struct iscsi_pdu_hdr *)0)->login.isid) == OFF_TSIH - OFF_ISID,
	       "ISID is 6 bytes");
/* Decoded on the stack per PDU and copied into the held queue: keep it small. */
_Static_assert(sizeof(struct iscsi_pdu_hdr) <= 96, "a decoded BHS stays small");

static bool bit(uint8_t byte, uint8_t mask)
{
	return (byte & mask) != 0;
}

static uint8_t flag(bool on, uint8_t mask)
{
	return on ? mask : 0;
}

/* Initiator PDUs carry CmdSN except Data-Out and SNACK (RFC 7143 11.7.1, 11.16.1). */
static bool iscsi_op_has_cmdsn(uint8_t op)
{
	return op == ISCSI_OP_NOP_OUT || op == ISCSI_OP_SCSI_CMD || op == ISCSI_OP_TMF_REQ ||
	       op == ISCSI_OP_LOGIN_REQ || op == ISCSI_OP_TEXT_REQ || op == ISCSI_OP_LOGOUT_REQ;
}

static bool iscsi_op_is_target(uint8_t op)
{
	return op >= ISCSI_OP_NOP_IN;
}

void iscsi_bhs_decode(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_pdu_hdr *h)
{
	uint8_t f = bhs[OFF_FLAGS];

	memset(h, 0, sizeof(*h));
	h->opcode = bhs[OFF_OPCODE] & 0x3f;
	h->immediate = bit(bhs[OFF_OPCODE], ISCSI_FLAG_IMMEDIATE);
	h->total_ahs_words = bhs[OFF_TOTAL_AHS];
	h->data_len = get_be24(bhs + OFF_DATA_LEN);
	h->itt = get_be32(bhs + OFF_ITT);
	if (h->opcode != ISCSI_OP_LOGIN_REQ && h->opcode != ISCSI_OP_LOGIN_RSP)
		memcpy(h->lun, bhs + OFF_LUN, 8);
	if (iscsi_op_is_target(h->opcode)) {
		h->statsn = get_be32(bhs + OFF_STATSN);
		h->expcmdsn = get_be32(bhs + OFF_EXPCMDSN);
		h->maxcmdsn = get_be32(bhs + OFF_MAXCMDSN);
	} else {
		if (iscsi_op_has_cmdsn(h->opcode))
			h->cmdsn = get_be32(bhs + OFF_CMDSN);
		h->expstatsn = get_be32(bhs + OFF_EXPSTATSN);
	}

	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD:
		h->scsi_cmd.final = bit(f, ISCSI_FLAG_FINAL);
		h->scsi_cmd.read = bit(f, ISCSI_FLAG_CMD_READ);
		h->scsi_cmd.write = bit(f, ISCSI_FLAG_CMD_WRITE);
		h->scsi_cmd.attr = f & ISCSI_FLAG_CMD_ATTR_MASK;
		h->scsi_cmd.edtl = get_be32(bhs + OFF_EDTL);
		memcpy(h->scsi_cmd.cdb, bhs + OFF_CDB, ISCSI_CDB_BHS_LEN);
		break;
	case ISCSI_OP_SCSI_RSP:
		h->scsi_rsp.bidi_overflow = bit(f, ISCSI_FLAG_RSP_BIDI_OVERFLOW);
		h->scsi_rsp.bidi_underflow = bit(f, ISCSI_FLAG_RSP_BIDI_UNDERFLOW);
		h->scsi_rsp.overflow = bit(f, ISCSI_FLAG_RSP_OVERFLOW);
		h->scsi_rsp.underflow = bit(f, ISCSI_FLAG_RSP_UNDERFLOW);
		h->scsi_rsp.response = bhs[OFF_SPEC2];
		h->scsi_rsp.status = bhs[OFF_SPEC3];
		h->scsi_rsp.snack_tag = get_be32(bhs + OFF_SNACK_TAG);
		h->scsi_rsp.expdatasn = get_be32(bhs + OFF_EXPDATASN);
		h->scsi_rsp.bidi_residual = get_be32(bhs + OFF_BIDI_RESIDUAL);
		h->scsi_rsp.residual = get_be32(bhs + OFF_RESIDUAL);
		break;
	case ISCSI_OP_TMF_REQ:
		h->tmf_req.function = f & ISCSI_FLAG_TMF_FUNC_MASK;
		h->tmf_req.rtt = get_be32(bhs + OFF_RTT);
		h->tmf_req.refcmdsn = get_be32(bhs + OFF_REFCMDSN);
		h->tmf_req.expdatasn = get_be32(bhs + OFF_EXPDATASN);
		break;
	case ISCSI_OP_TMF_RSP:
		h->tmf_rsp.response = bhs[OFF_SPEC2];
		break;
	case ISCSI_OP_DATA_OUT:
		h->data_out.final = bit(f, ISCSI_FLAG_FINAL);
		h->data_out.ttt = get_be32(bhs + OFF_TTT);
		h->data_out.datasn = get_be32(bhs + OFF_DATASN);
		h->data_out.buffer_offset = get_be32(bhs + OFF_BUFFER_OFFSET);
		break;
	case ISCSI_OP_DATA_IN:
		h->data_in.final = bit(f, ISCSI_FLAG_FINAL);
		h->data_in.ack = bit(f, ISCSI_FLAG_DATAIN_ACK);
		h->data_in.overflow = bit(f, ISCSI_FLAG_DATAIN_OVERFLOW);
		h->data_in.underflow = bit(f, ISCSI_FLAG_DATAIN_UNDERFLOW);
		h->data_in.status_present = bit(f, ISCSI_FLAG_DATAIN_STATUS);
		h->data_in.status = bhs[OFF_SPEC3];
		h->data_in.ttt = get_be32(bhs + OFF_TTT);
		h->data_in.datasn = get_be32(bhs + OFF_DATASN);
		h->data_in.buffer_offset = get_be32(bhs + OFF_BUFFER_OFFSET);
		h->data_in.residual = get_be32(bhs + OFF_RESIDUAL);
		break;
	case ISCSI_OP_R2T:
		h->r2t.ttt = get_be32(bhs + OFF_TTT);
		h->r2t.r2tsn = get_be32(bhs + OFF_R2TSN);
		h->r2t.buffer_offset = get_be32(bhs + OFF_BUFFER_OFFSET);
		h->r2t.ddtl = get_be32(bhs + OFF_DDTL);
		break;
	case ISCSI_OP_ASYNC:
		h->async.event = bhs[OFF_ASYNC_EVENT];
		h->async.vcode = bhs[OFF_ASYNC_VCODE];
		h->async.param1 = get_be16(bhs + OFF_ASYNC_PARAM1);
		h->async.param2 = get_be16(bhs + OFF_ASYNC_PARAM2);
		h->async.param3 = get_be16(bhs + OFF_ASYNC_PARAM3);
		break;
	case ISCSI_OP_TEXT_REQ:
	case ISCSI_OP_TEXT_RSP:
		h->text.final = bit(f, ISCSI_FLAG_FINAL);
		h->text.cont = bit(f, ISCSI_FLAG_TEXT_CONTINUE);
		h->text.ttt = get_be32(bhs + OFF_TTT);
		break;
	case ISCSI_OP_LOGIN_REQ:
	case ISCSI_OP_LOGIN_RSP:
		h->login.transit = bit(f, ISCSI_FLAG_LOGIN_TRANSIT);
		h->login.cont = bit(f, ISCSI_FLAG_LOGIN_CONTINUE);
		h->login.csg = (f >> 2) & 0x3;
		h->login.nsg = f & 0x3;
		h->login.version_max = bhs[OFF_SPEC2];
		h->login.version_min = bhs[OFF_SPEC3];
		memcpy(h->login.isid, bhs + OFF_ISID, 6);
		h->login.tsih = get_be16(bhs + OFF_TSIH);
		if (h->opcode == ISCSI_OP_LOGIN_REQ) {
			h->login.cid = get_be16(bhs + OFF_CID);
		} else {
			h->login.status_class = bhs[OFF_STATUS_CLASS];
			h->login.status_detail = bhs[OFF_STATUS_DETAIL];
		}
		break;
	case ISCSI_OP_LOGOUT_REQ:
		h->logout_req.reason = f & ISCSI_FLAG_LOGOUT_REASON_MASK;
		h->logout_req.cid = get_be16(bhs + OFF_CID);
		break;
	case ISCSI_OP_LOGOUT_RSP:
		h->logout_rsp.response = bhs[OFF_SPEC2];
		h->logout_rsp.time2wait = get_be16(bhs + OFF_TIME2WAIT);
		h->logout_rsp.time2retain = get_be16(bhs + OFF_TIME2RETAIN);
		break;
	case ISCSI_OP_SNACK:
		h->snack.type = f & ISCSI_FLAG_SNACK_TYPE_MASK;
		h->snack.ttt = get_be32(bhs + OFF_TTT);
		h->snack.begrun = get_be32(bhs + OFF_BEGRUN);
		h->snack.runlength = get_be32(bhs + OFF_RUNLENGTH);
		break;
	case ISCSI_OP_REJECT:
		h->reject.reason = bhs[OFF_SPEC2];
		h->reject.datasn = get_be32(bhs + OFF_DATASN);
		break;
	case ISCSI_OP_NOP_OUT:
	case ISCSI_OP_NOP_IN:
		h->nop.ttt = get_be32(bhs + OFF_TTT);
		break;
	default:
		break;
	}
}

void iscsi_bhs_set_data_len(uint8_t bhs[ISCSI_BHS_LEN], uint32_t len)
{
	put_be24(bhs + OFF_DATA_LEN, len & 0xffffff);
}

void iscsi_bhs_encode(const struct iscsi_pdu_hdr *h, uint8_t bhs[ISCSI_BHS_LEN])
{
	uint8_t *f = bhs + OFF_FLAGS;

	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[OFF_OPCODE] = (uint8_t)((h->opcode & 0x3f) | flag(h->immediate, ISCSI_FLAG_IMMEDIATE));
	bhs[OFF_TOTAL_AHS] = h->total_ahs_words;
	put_be24(bhs + OFF_DATA_LEN, h->data_len & 0xffffff);
	put_be32(bhs + OFF_ITT, h->itt);
	if (h->opcode != ISCSI_OP_LOGIN_REQ && h->opcode != ISCSI_OP_LOGIN_RSP)
		memcpy(bhs + OFF_LUN, h->lun, 8);
	if (iscsi_op_is_target(h->opcode)) {
		put_be32(bhs + OFF_STATSN, h->statsn);
		put_be32(bhs + OFF_EXPCMDSN, h->expcmdsn);
		put_be32(bhs + OFF_MAXCMDSN, h->maxcmdsn);
	} else {
		if (iscsi_op_has_cmdsn(h->opcode))
			put_be32(bhs + OFF_CMDSN, h->cmdsn);
		put_be32(bhs + OFF_EXPSTATSN, h->expstatsn);
	}

	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD:
		*f = (uint8_t)(flag(h->scsi_cmd.final, ISCSI_FLAG_FINAL) |
			       flag(h->scsi_cmd.read, ISCSI_FLAG_CMD_READ) |
			       flag(h->scsi_cmd.write, ISCSI_FLAG_CMD_WRITE) |
			       (h->scsi_cmd.attr & ISCSI_FLAG_CMD_ATTR_MASK));
		put_be32(bhs + OFF_EDTL, h->scsi_cmd.edtl);
		memcpy(bhs + OFF_CDB, h->scsi_cmd.cdb, ISCSI_CDB_BHS_LEN);
		break;
	case ISCSI_OP_SCSI_RSP:
		/* Byte 1 bit 7 is always 1 (RFC 7143 11.4). */
		*f = (uint8_t)(ISCSI_FLAG_FINAL |
			       flag(h->scsi_rsp.bidi_overflow, ISCSI_FLAG_RSP_BIDI_OVERFLOW) |
			       flag(h->scsi_rsp.bidi_underflow, ISCSI_FLAG_RSP_BIDI_UNDERFLOW) |
			       flag(h->scsi_rsp.overflow, ISCSI_FLAG_RSP_OVERFLOW) |
			       flag(h->scsi_rsp.underflow, ISCSI_FLAG_RSP_UNDERFLOW));
		bhs[OFF_SPEC2] = h->scsi_rsp.response;
		bhs[OFF_SPEC3] = h->scsi_rsp.status;
		put_be32(bhs + OFF_SNACK_TAG, h->scsi_rsp.snack_tag);
		put_be32(bhs + OFF_EXPDATASN, h->scsi_rsp.expdatasn);
		put_be32(bhs + OFF_BIDI_RESIDUAL, h->scsi_rsp.bidi_residual);
		put_be32(bhs + OFF_RESIDUAL, h->scsi_rsp.residual);
		break;
	case ISCSI_OP_TMF_REQ:
		*f = (uint8_t)(ISCSI_FLAG_FINAL | (h->tmf_req.function & ISCSI_FLAG_TMF_FUNC_MASK));
		put_be32(bhs + OFF_RTT, h->tmf_req.rtt);
		put_be32(bhs + OFF_REFCMDSN, h->tmf_req.refcmdsn);
		put_be32(bhs + OFF_EXPDATASN, h->tmf_req.expdatasn);
		break;
	case ISCSI_OP_TMF_RSP:
		*f = ISCSI_FLAG_FINAL;
		bhs[OFF_SPEC2] = h->tmf_rsp.response;
		break;
	case ISCSI_OP_DATA_OUT:
		*f = flag(h->data_out.final, ISCSI_FLAG_FINAL);
		put_be32(bhs + OFF_TTT, h->data_out.ttt);
		put_be32(bhs + OFF_DATASN, h->data_out.datasn);
		put_be32(bhs + OFF_BUFFER_OFFSET, h->data_out.buffer_offset);
		break;
	case ISCSI_OP_DATA_IN:
		*f = (uint8_t)(flag(h->data_in.final, ISCSI_FLAG_FINAL) |
			       flag(h->data_in.ack, ISCSI_FLAG_DATAIN_ACK) |
			       flag(h->data_in.overflow, ISCSI_FLAG_DATAIN_OVERFLOW) |
			       flag(h->data_in.underflow, ISCSI_FLAG_DATAIN_UNDERFLOW) |
			       flag(h->data_in.status_present, ISCSI_FLAG_DATAIN_STATUS));
		bhs[OFF_SPEC3] = h->data_in.status;
		put_be32(bhs + OFF_TTT, h->data_in.ttt);
		put_be32(bhs + OFF_DATASN, h->data_in.datasn);
		put_be32(bhs + OFF_BUFFER_OFFSET, h->data_in.buffer_offset);
		put_be32(bhs + OFF_RESIDUAL, h->data_in.residual);
		break;
	case ISCSI_OP_R2T:
		*f = ISCSI_FLAG_FINAL;
		put_be32(bhs + OFF_TTT, h->r2t.ttt);
		put_be32(bhs + OFF_R2TSN, h->r2t.r2tsn);
		put_be32(bhs + OFF_BUFFER_OFFSET, h->r2t.buffer_offset);
		put_be32(bhs + OFF_DDTL, h->r2t.ddtl);
		break;
	case ISCSI_OP_ASYNC:
		*f = ISCSI_FLAG_FINAL;
		bhs[OFF_ASYNC_EVENT] = h->async.event;
		bhs[OFF_ASYNC_VCODE] = h->async.vcode;
		put_be16(bhs + OFF_ASYNC_PARAM1, h->async.param1);
		put_be16(bhs + OFF_ASYNC_PARAM2, h->async.param2);
		put_be16(bhs + OFF_ASYNC_PARAM3, h->async.param3);
		break;
	case ISCSI_OP_TEXT_REQ:
	case ISCSI_OP_TEXT_RSP:
		*f = (uint8_t)(flag(h->text.final, ISCSI_FLAG_FINAL) |
			       flag(h->text.cont, ISCSI_FLAG_TEXT_CONTINUE));
		put_be32(bhs + OFF_TTT, h->text.ttt);
		break;
	case ISCSI_OP_LOGIN_REQ:
	case ISCSI_OP_LOGIN_RSP:
		*f = (uint8_t)(flag(h->login.transit, ISCSI_FLAG_LOGIN_TRANSIT) |
			       flag(h->login.cont, ISCSI_FLAG_LOGIN_CONTINUE) |
			       (h->login.csg & 0x3) << 2 | (h->login.nsg & 0x3));
		bhs[OFF_SPEC2] = h->login.version_max;
		bhs[OFF_SPEC3] = h->login.version_min;
		memcpy(bhs + OFF_ISID, h->login.isid, 6);
		put_be16(bhs + OFF_TSIH, h->login.tsih);
		if (h->opcode == ISCSI_OP_LOGIN_REQ) {
			put_be16(bhs + OFF_CID, h->login.cid);
		} else {
			bhs[OFF_STATUS_CLASS] = h->login.status_class;
			bhs[OFF_STATUS_DETAIL] = h->login.status_detail;
		}
		break;
	case ISCSI_OP_LOGOUT_REQ:
		*f = (uint8_t)(ISCSI_FLAG_FINAL |
			       (h->logout_req.reason & ISCSI_FLAG_LOGOUT_REASON_MASK));
		put_be16(bhs + OFF_CID, h->logout_req.cid);
		break;
	case ISCSI_OP_LOGOUT_RSP:
		*f = ISCSI_FLAG_FINAL;
		bhs[OFF_SPEC2] = h->logout_rsp.response;
		put_be16(bhs + OFF_TIME2WAIT, h->logout_rsp.time2wait);
		put_be16(bhs + OFF_TIME2RETAIN, h->logout_rsp.time2retain);
		break;
	case ISCSI_OP_SNACK:
		*f = (uint8_t)(ISCSI_FLAG_FINAL | (h->snack.type & ISCSI_FLAG_SNACK_TYPE_MASK));
		put_be32(bhs + OFF_TTT, h->snack.ttt);
		put_be32(bhs + OFF_BEGRUN, h->snack.begrun);
		put_be32(bhs + OFF_RUNLENGTH, h->snack.runlength);
		break;
	case ISCSI_OP_REJECT:
		*f = ISCSI_FLAG_FINAL;
		bhs[OFF_SPEC2] = h->reject.reason;
		put_be32(bhs + OFF_DATASN, h->reject.datasn);
		break;
	case ISCSI_OP_NOP_OUT:
	case ISCSI_OP_NOP_IN:
		*f = ISCSI_FLAG_FINAL;
		put_be32(bhs + OFF_TTT, h->nop.ttt);
		break;
	default:
		break;
	}
}

int iscsi_bhs_check_lengths(const struct iscsi_pdu_hdr *h, uint32_t max_recv_dsl)
{
	/* RFC 7143 12.12: a data segment longer than our declared MaxRecvDataSegmentLength is a
	 * protocol error. */
	if (h->data_len > max_recv_dsl)
		return -EMSGSIZE;
	/* Only the SCSI Command defines AHS types (RFC 7143 11.2.2); anything else is malformed. */
	if (h->total_ahs_words && h->opcode != ISCSI_OP_SCSI_CMD)
		return -EPROTO;
	return 0;
}

uint32_t iscsi_header_digest(const uint8_t *bhs, const uint8_t *ahs, size_t ahs_len)
{
	uint32_t crc = crc32c_init();

	crc = crc32c_update(crc, bhs, ISCSI_BHS_LEN);
	if (ahs_len)
		crc = crc32c_update(crc, ahs, ahs_len);
	return crc32c_final(crc);
}

uint32_t iscsi_data_digest(const uint8_t *data, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t crc = crc32c_init();

	if (len)
		crc = crc32c_update(crc, data, len);
	if (iscsi_pad_len(len))
		crc = crc32c_update(crc, zero, iscsi_pad_len(len));
	return crc32c_final(crc);
}

/* AHS layout (RFC 7143 11.2.2): AHSLength (2 bytes, excluding the 4-byte header and padding),
 * AHSType (1), type-specific byte, then the value. The Extended CDB AHS carries CDB bytes 16..,
 * AHSLength counts them plus the reserved byte. */
#define ISCSI_AHS_OFF_LEN 0
#define ISCSI_AHS_OFF_TYPE 2
#define ISCSI_AHS_OFF_DATA 4

int iscsi_cdb_from_pdu(const struct iscsi_pdu_hdr *h, const uint8_t *ahs, size_t ahs_len,
		       uint8_t *cdb, size_t cdb_max)
{
	size_t off = 0, cdb_len = ISCSI_CDB_BHS_LEN;
	bool have_ext = false;

	if (cdb_max < ISCSI_CDB_BHS_LEN)
		return -EINVAL;
	memcpy(cdb, h->scsi_cmd.cdb, ISCSI_CDB_BHS_LEN);
	while (off + ISCSI_AHS_OFF_DATA <= ahs_len) {
		uint16_t len = get_be16(ahs + off + ISCSI_AHS_OFF_LEN);
		uint8_t type = ahs[off + ISCSI_AHS_OFF_TYPE];
		size_t total = ISCSI_AHS_OFF_DATA - 1 + (size_t)len;	/* value starts at byte 3 */

		total += (4 - (total & 3)) & 3;
		if (!len || off + total > ahs_len)
			return -EINVAL;
		if (type == ISCSI_AHS_EXTENDED_CDB) {
			size_t ext = (size_t)len - 1;	/* minus the reserved byte */

			if (have_ext || cdb_len + ext > cdb_max)
				return -EINVAL;
			memcpy(cdb + cdb_len, ahs + off + ISCSI_AHS_OFF_DATA, ext);
			cdb_len += ext;
			have_ext = true;
		}
		/* Bidirectional read length (type 2) and unknown types: ignored. */
		off += total;
	}
	if (off != ahs_len)
		return -EINVAL;
	return (int)cdb_len;
}

uint64_t iscsi_lun_decode(const uint8_t lun[8])
{
	/* SAM-5 4.7.7: peripheral device addressing (method 00b) with bus 0, or flat space
	 * addressing (method 01b); the other six bytes must be zero for a single-level LUN. */
	unsigned method = lun[0] >> 6;
	unsigned i;

	for (i = 2; i < 8; i++)
		if (lun[i])
			return UINT64_MAX;
	if (method == 0)
		return (lun[0] & 0x3f) ? UINT64_MAX : lun[1];
	if (method == 1)
		return (uint64_t)(lun[0] & 0x3f) << 8 | lun[1];
	return UINT64_MAX;
}

void iscsi_lun_encode(uint64_t lun, uint8_t out[8])
{
	memset(out, 0, 8);
	if (lun < 256) {
		out[1] = (uint8_t)lun;
	} else {
		out[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
		out[1] = (uint8_t)lun;
	}
}

const char *iscsi_opcode_name(uint8_t opcode)
{
	switch (opcode) {
	case ISCSI_OP_NOP_OUT: return "NOP-Out";
	case ISCSI_OP_SCSI_CMD: return "SCSI Command";
	case ISCSI_OP_TMF_REQ: return "Task Management Request";
	case ISCSI_OP_LOGIN_REQ: return "Login Request";
	case ISCSI_OP_TEXT_REQ: return "Text Request";
	case ISCSI_OP_DATA_OUT: return "Data-Out";
	case ISCSI_OP_LOGOUT_REQ: return "Logout Request";
	case ISCSI_OP_SNACK: return "SNACK";
	case ISCSI_OP_NOP_IN: return "NOP-In";
	case ISCSI_OP_SCSI_RSP: return "SCSI Response";
	case ISCSI_OP_TMF_RSP: return "Task Management Response";
	case ISCSI_OP_LOGIN_RSP: return "Login Response";
	case ISCSI_OP_TEXT_RSP: return "Text Response";
	case ISCSI_OP_DATA_IN: return "Data-In";
	case ISCSI_OP_LOGOUT_RSP: return "Logout Response";
	case ISCSI_OP_R2T: return "R2T";
	case ISCSI_OP_ASYNC: return "Async Message";
	case ISCSI_OP_REJECT: return "Reject";
	default: return "unknown";
	}
}
