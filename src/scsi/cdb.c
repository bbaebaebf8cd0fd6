/* CDB field decode, SBC-3 5.x and SPC-4 4.2. */
#include "scsi/cdb.h"
#include "util/byteorder.h"

unsigned cdb_group_len(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0: return 6;
	case 1:
	case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	default: return 0;
	}
}

/* Byte 1 of the 10/12/16-byte forms. */
#define RW_PROTECT_SHIFT 5
#define RW_DPO 0x10
#define RW_FUA 0x08
#define RW_BYTCHK_SHIFT 1
#define RW_BYTCHK_MASK 0x03
#define SYNC_IMMED 0x02
#define WS_ANCHOR 0x10
#define WS_UNMAP 0x08
#define WS_NDOB 0x01

bool cdb_decode_rw(const uint8_t *cdb, struct cdb_rw *rw)
{
	uint8_t op = cdb[0];

	*rw = (struct cdb_rw){ 0 };
	switch (op) {
	case OP_READ_6:
	case OP_WRITE_6:
		/* SBC-3 5.9: 21-bit LBA in bytes 1-3, length in byte 4, 0 = 256. */
		rw->lba = get_be24(cdb + 1) & 0x1fffff;
		rw->nblocks = cdb[4] ? cdb[4] : 256;
		rw->len_off = 4;
		return true;
	case OP_READ_10:
	case OP_WRITE_10:
	case OP_WRITE_VERIFY_10:
	case OP_VERIFY_10:
	case OP_SYNC_CACHE_10:
		rw->lba = get_be32(cdb + 2);
		rw->nblocks = get_be16(cdb + 7);
		rw->len_off = 7;
		break;
	case OP_READ_12:
	case OP_WRITE_12:
	case OP_WRITE_VERIFY_12:
	case OP_VERIFY_12:
		rw->lba = get_be32(cdb + 2);
		rw->nblocks = get_be32(cdb + 6);
		rw->len_off = 6;
		break;
	case OP_READ_16:
	case OP_WRITE_16:
	case OP_ORWRITE_16: /* SBC-3 5.10: WRITE(16)'s layout, ORPROTECT for WRPROTECT */
	case OP_WRITE_VERIFY_16:
	case OP_VERIFY_16:
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = get_be32(cdb + 10);
		rw->len_off = 10;
		break;
	case OP_WRITE_SAME_10:
		/* SBC-3 5.41: LBA 2-5, NUMBER OF LOGICAL BLOCKS 7-8. */
		rw->lba = get_be32(cdb + 2);
		rw->nblocks = get_be16(cdb + 7);
		rw->len_off = 7;
		rw->protect = cdb[1] >> RW_PROTECT_SHIFT;
		rw->unmap = cdb[1] & WS_UNMAP;
		rw->anchor = cdb[1] & WS_ANCHOR;
		return true;
	case OP_WRITE_SAME_16:
		/* SBC-3 5.42: LBA 2-9, NUMBER OF LOGICAL BLOCKS 10-13, NDOB (SBC-4). */
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = get_be32(cdb + 10);
		rw->len_off = 10;
		rw->protect = cdb[1] >> RW_PROTECT_SHIFT;
		rw->unmap = cdb[1] & WS_UNMAP;
		rw->anchor = cdb[1] & WS_ANCHOR;
		rw->ndob = cdb[1] & WS_NDOB;
		return true;
	case OP_COMPARE_AND_WRITE:
		/* SBC-3 5.2: LBA 2-9, NUMBER OF LOGICAL BLOCKS in byte 13. */
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = cdb[13];
		rw->len_off = 13;
		rw->protect = cdb[1] >> RW_PROTECT_SHIFT;
		rw->dpo = cdb[1] & RW_DPO;
		rw->fua = cdb[1] & RW_FUA;
		return true;
	case OP_PRE_FETCH_10:
		/* SBC-3 5.11: IMMED byte 1 bit 1, LBA 2-5, PREFETCH LENGTH 7-8. */
		rw->lba = get_be32(cdb + 2);
		rw->nblocks = get_be16(cdb + 7);
		rw->len_off = 7;
		rw->immed = cdb[1] & SYNC_IMMED;
		return true;
	case OP_PRE_FETCH_16:
		/* SBC-3 5.12: LBA 2-9, PREFETCH LENGTH 10-13. */
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = get_be32(cdb + 10);
		rw->len_off = 10;
		rw->immed = cdb[1] & SYNC_IMMED;
		return true;
	case OP_WRITE_ATOMIC_16:
		/* SBC-4 5.48: LBA 2-9, ATOMIC BOUNDARY 10-11, TRANSFER LENGTH 12-13. */
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = get_be16(cdb + 12);
		rw->len_off = 12;
		rw->protect = cdb[1] >> RW_PROTECT_SHIFT;
		rw->dpo = cdb[1] & RW_DPO;
		rw->fua = cdb[1] & RW_FUA;
		return true;
	case OP_SYNC_CACHE_16:
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = get_be32(cdb + 10);
		rw->len_off = 10;
		rw->immed = cdb[1] & SYNC_IMMED;
		return true;
	default:
		return false;
	}
	if (op == OP_SYNC_CACHE_10) {
		rw->immed = cdb[1] & SYNC_IMMED;
		return true;
	}
	rw->protect = cdb[1] >> RW_PROTECT_SHIFT;
	rw->dpo = cdb[1] & RW_DPO;
	if (op == OP_VERIFY_10 || op == OP_VERIFY_12 || op == OP_VERIFY_16 ||
	    op == OP_WRITE_VERIFY_10 || op == OP_WRITE_VERIFY_12 || op == OP_WRITE_VERIFY_16)
		rw->bytchk = (cdb[1] >> RW_BYTCHK_SHIFT) & RW_BYTCHK_MASK;
	else
		rw->fua = cdb[1] & RW_FUA;
	return true;
}

/* UNMAP parameter list header: UNMAP DATA LENGTH (0-1), UNMAP BLOCK DESCRIPTOR DATA LENGTH
 * (2-3); descriptor: LBA (0-7), NUMBER OF LOGICAL BLOCKS (8-11). */
#define UNMAP_OFF_DATA_LEN 0
#define UNMAP_OFF_BD_LEN 2

enum sense_reason cdb_unmap_parse(const uint8_t *p, uint32_t len, uint32_t *n_desc,
				  struct sense_extra *x)
{
	uint32_t data_len, bd_len;

	*n_desc = 0;
	if (len == 0)
		return SR_OK;
	if (len < UNMAP_HDR_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	data_len = get_be16(p + UNMAP_OFF_DATA_LEN);
	bd_len = get_be16(p + UNMAP_OFF_BD_LEN);
	/* The header's lengths must not claim more than was sent: UNMAP DATA LENGTH counts the
	 * bytes after itself, BLOCK DESCRIPTOR DATA LENGTH those after the header. */
	if (data_len > len - 2 || bd_len > len - UNMAP_HDR_LEN) {
		sense_field_pointer(x, false, data_len > len - 2 ? UNMAP_OFF_DATA_LEN
								  : UNMAP_OFF_BD_LEN, -1);
		return SR_PARAM_LIST_LENGTH_ERROR;
	}
	*n_desc = bd_len / UNMAP_DESC_LEN;
	return SR_OK;
}

void cdb_unmap_desc(const uint8_t *p, uint32_t i, uint64_t *lba, uint32_t *nblocks)
{
	const uint8_t *d = p + UNMAP_HDR_LEN + (uint64_t)i * UNMAP_DESC_LEN;

	*lba = get_be64(d);
	*nblocks = get_be32(d + 8);
}

uint32_t cdb_alloc_len(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case OP_REQUEST_SENSE:
	case OP_MODE_SENSE_6:
	case OP_MODE_SELECT_6:
		return cdb[4];
	case OP_INQUIRY:
		return get_be16(cdb + 3);
	case OP_MODE_SENSE_10:
	case OP_MODE_SELECT_10:
	case OP_READ_DEFECT_DATA_10:
	case OP_SANITIZE:
		return get_be16(cdb + 7);
	case OP_REPORT_LUNS:
	case OP_MAINTENANCE_IN:
	case OP_READ_DEFECT_DATA_12:
		return get_be32(cdb + 6);
	case OP_SERVICE_ACTION_IN_16:
		return get_be32(cdb + 10);
	default:
		return 0;
	}
}

int cdb_top_bit(uint8_t v)
{
	for (int b = 7; b >= 0; b--)
		if (v & (1u << b))
			return b;
	return -1;
}

bool cdb_check_usage(const uint8_t *cdb, const uint8_t *usage, unsigned len,
		     struct sense_extra *x)
{
	for (unsigned i = 1; i < len; i++) {
		uint8_t bad = cdb[i] & (uint8_t)~usage[i];

		if (bad) {
			sense_field_pointer(x, true, i, cdb_top_bit(bad));
			return false;
		}
	}
	return true;
}
