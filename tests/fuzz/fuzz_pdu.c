/* libFuzzer: the BHS codec, length checks, CDB/AHS extraction, LUN decoding and digests on
 * arbitrary bytes (src/fabric/iscsi/pdu.c). Input: a 48-byte BHS, then its AHS, then data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/iscsi/pdu.h"
#include "scsi/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 }, again[ISCSI_BHS_LEN], twice[ISCSI_BHS_LEN], lun[8];
	uint8_t cdb[SCSI_CDB_MAX];
	struct iscsi_pdu_hdr h, h2;
	const uint8_t *ahs = NULL, *seg;
	size_t ahs_len, seg_len;
	uint64_t l;
	int rc;

	memcpy(bhs, data, size < ISCSI_BHS_LEN ? size : ISCSI_BHS_LEN);
	iscsi_bhs_decode(bhs, &h);
	/* Reserved fields are not decoded, so the encoding of what was decoded may differ from the
	 * input there; but decoding it again gives the same fields, and encoding those the same
	 * bytes (the codec is a fixed point after one pass). The common fields always survive. */
	iscsi_bhs_encode(&h, again);
	iscsi_bhs_decode(again, &h2);
	if (memcmp(&h, &h2, sizeof(h)))
		abort();
	iscsi_bhs_encode(&h2, twice);
	if (memcmp(again, twice, ISCSI_BHS_LEN) || memcmp(bhs + 4, again + 4, 4) ||
	    memcmp(bhs + 16, again + 16, 4) || (bhs[0] & 0x7f) != again[0])
		abort();
	(void)iscsi_opcode_name(h.opcode);
	rc = iscsi_bhs_check_lengths(&h, 8192);
	if (rc && h.data_len <= 8192 && (!h.total_ahs_words || h.opcode == ISCSI_OP_SCSI_CMD))
		abort();

	/* The AHS as the receive path would hand it over: TotalAHSLength words, here truncated to
	 * what the input has (in copies, so ASan sees the exact bounds). */
	ahs_len = (size_t)h.total_ahs_words * 4;
	seg = size > ISCSI_BHS_LEN ? data + ISCSI_BHS_LEN : NULL;
	seg_len = size > ISCSI_BHS_LEN ? size - ISCSI_BHS_LEN : 0;
	if (ahs_len > seg_len)
		ahs_len = seg_len & ~(size_t)3;
	if (ahs_len) {
		uint8_t *a = malloc(ahs_len);

		memcpy(a, seg, ahs_len);
		ahs = a;
	}
	rc = iscsi_cdb_from_pdu(&h, ahs, ahs_len, cdb, sizeof(cdb));
	if (rc != -22 && (rc < ISCSI_CDB_BHS_LEN || rc > (int)sizeof(cdb)))
		abort();
	/* A smaller destination must be refused, not overrun. */
	rc = iscsi_cdb_from_pdu(&h, ahs, ahs_len, cdb, 20);
	if (rc > 20)
		abort();
	(void)iscsi_header_digest(bhs, ahs, ahs_len);
	free((void *)ahs);

	if (seg_len > ahs_len) {
		uint32_t dlen = (uint32_t)(seg_len - ahs_len);
		uint8_t *d = malloc(dlen);

		memcpy(d, seg + ahs_len, dlen);
		(void)iscsi_data_digest(d, dlen);
		free(d);
	}

	l = iscsi_lun_decode(h.lun);
	if (l != UINT64_MAX) {
		iscsi_lun_encode(l, lun);
		if (iscsi_lun_decode(lun) != l)
			abort();
	}
	(void)iscsi_pad_len(h.data_len);
	(void)iscsi_sn_lt(h.cmdsn, h.expstatsn);
	return 0;
}
