/* iSCSI BHS codec, AHS and digests (RFC 7143 11.2, 13.1). */
#include "fabric/iscsi/pdu.h"

#include <errno.h>
#include <string.h>

#include "util/byteorder.h"
#include "util/crc32c.h"

_Static_assert(ISCSI_OFF_W44 + 4 == ISCSI_BHS_LEN, "BHS is 48 bytes");
_Static_assert(ISCSI_OFF_CDB + ISCSI_CDB_BHS_LEN == ISCSI_BHS_LEN, "CDB fills the BHS tail");
_Static_assert(ISCSI_AHS_MAX == 1020, "TotalAHSLength is one byte of words");

void iscsi_bhs_decode(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_pdu_hdr *h)
{
	h->opcode = bhs[ISCSI_OFF_OPCODE] & 0x3f;
	h->immediate = (bhs[ISCSI_OFF_OPCODE] & ISCSI_FLAG_IMMEDIATE) != 0;
	h->flags = bhs[ISCSI_OFF_FLAGS];
	h->spec2 = bhs[ISCSI_OFF_SPEC2];
	h->spec3 = bhs[ISCSI_OFF_SPEC3];
	h->total_ahs_words = bhs[ISCSI_OFF_TOTAL_AHS];
	h->data_len = get_be24(bhs + ISCSI_OFF_DATA_LEN);
	memcpy(h->lun, bhs + ISCSI_OFF_LUN, 8);
	h->itt = get_be32(bhs + ISCSI_OFF_ITT);
	h->w20 = get_be32(bhs + ISCSI_OFF_W20);
	h->w24 = get_be32(bhs + ISCSI_OFF_W24);
	h->w28 = get_be32(bhs + ISCSI_OFF_W28);
	h->w32 = get_be32(bhs + ISCSI_OFF_W32);
	h->w36 = get_be32(bhs + ISCSI_OFF_W36);
	h->w40 = get_be32(bhs + ISCSI_OFF_W40);
	h->w44 = get_be32(bhs + ISCSI_OFF_W44);
}

void iscsi_bhs_encode(const struct iscsi_pdu_hdr *h, uint8_t bhs[ISCSI_BHS_LEN])
{
	bhs[ISCSI_OFF_OPCODE] = (uint8_t)((h->opcode & 0x3f) | (h->immediate ? ISCSI_FLAG_IMMEDIATE : 0));
	bhs[ISCSI_OFF_FLAGS] = h->flags;
	bhs[ISCSI_OFF_SPEC2] = h->spec2;
	bhs[ISCSI_OFF_SPEC3] = h->spec3;
	bhs[ISCSI_OFF_TOTAL_AHS] = h->total_ahs_words;
	put_be24(bhs + ISCSI_OFF_DATA_LEN, h->data_len & 0xffffff);
	memcpy(bhs + ISCSI_OFF_LUN, h->lun, 8);
	put_be32(bhs + ISCSI_OFF_ITT, h->itt);
	put_be32(bhs + ISCSI_OFF_W20, h->w20);
	put_be32(bhs + ISCSI_OFF_W24, h->w24);
	put_be32(bhs + ISCSI_OFF_W28, h->w28);
	put_be32(bhs + ISCSI_OFF_W32, h->w32);
	put_be32(bhs + ISCSI_OFF_W36, h->w36);
	put_be32(bhs + ISCSI_OFF_W40, h->w40);
	put_be32(bhs + ISCSI_OFF_W44, h->w44);
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

int iscsi_cdb_from_pdu(const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, size_t ahs_len,
		       uint8_t *cdb, size_t cdb_max)
{
	size_t off = 0, cdb_len = ISCSI_CDB_BHS_LEN;
	bool have_ext = false;

	if (cdb_max < ISCSI_CDB_BHS_LEN)
		return -EINVAL;
	memcpy(cdb, bhs + ISCSI_OFF_CDB, ISCSI_CDB_BHS_LEN);
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
