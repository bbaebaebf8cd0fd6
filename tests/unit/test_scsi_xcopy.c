/* EXTENDED COPY (LID1) parameter-list decoder: good lists decode field by field, and hostile
 * lengths, counts and types are refused with the SPC-4 reason before anything is read past the
 * bytes received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/dispatch.h"
#include "scsi/sense.h"
#include "scsi/xcopy.h"
#include "util/byteorder.h"

#define BUF_MAX 8192

static const uint8_t naa[8] = { 0x31, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };

static unsigned put_hdr(uint8_t *b, uint8_t list_id, uint8_t usage, uint16_t cscd_len,
			uint32_t seg_len, uint32_t inline_len)
{
	memset(b, 0, XCOPY_HDR_LEN);
	b[0] = list_id;
	b[1] = (uint8_t)(usage << 3 | 0x02);	/* priority 2 */
	put_be16(b + 2, cscd_len);
	put_be32(b + 8, seg_len);
	put_be32(b + 12, inline_len);
	return XCOPY_HDR_LEN;
}

static unsigned put_cscd(uint8_t *d, uint8_t type)
{
	memset(d, 0, XCOPY_CSCD_LEN);
	d[0] = type;
	d[1] = 0xc0;		/* LU ID TYPE bits: ignored in SPC-4 */
	d[4] = 0x01;		/* binary */
	d[5] = 0x03;		/* NAA, LU association */
	d[7] = sizeof(naa);
	memcpy(d + 8, naa, sizeof(naa));
	put_be24(d + 29, 512);
	return XCOPY_CSCD_LEN;
}

static unsigned put_seg(uint8_t *d, uint8_t type, uint16_t src, uint16_t dst, uint16_t n,
			uint64_t src_lba, uint64_t dst_lba)
{
	memset(d, 0, XCOPY_B2B_LEN);
	d[0] = type;
	d[1] = 0x02;		/* DC */
	put_be16(d + 2, XCOPY_B2B_LEN - 4);
	put_be16(d + 4, src);
	put_be16(d + 6, dst);
	put_be16(d + 10, n);
	put_be64(d + 12, src_lba);
	put_be64(d + 20, dst_lba);
	return XCOPY_B2B_LEN;
}

/* Decodes exactly len bytes from a heap copy, so ASan sees any read past them. */
static enum sense_reason decode(const uint8_t *b, uint32_t len, struct xcopy_params *p,
				struct sense_extra *x)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum sense_reason r;

	assert_non_null(copy);
	memcpy(copy, b, len);
	memset(x, 0, sizeof(*x));
	r = xcopy_decode(copy, len, p, x);
	free(copy);
	return r;
}

static void test_good_list(void **state)
{
	static uint8_t b[BUF_MAX];
	static struct xcopy_params p;
	struct sense_extra x;
	unsigned off;

	off = put_hdr(b, 7, XCOPY_LIST_HOLD, 2 * XCOPY_CSCD_LEN, 2 * XCOPY_B2B_LEN, 0);
	off += put_cscd(b + off, XCOPY_DESC_ID);
	off += put_cscd(b + off, XCOPY_DESC_ID);
	off += put_seg(b + off, XCOPY_DESC_B2B, 0, 1, 2048, 0, 0x1122334455667788ull);
	off += put_seg(b + off, XCOPY_DESC_B2B, 1, 0, 1, 5, 6);
	assert_int_equal(decode(b, off, &p, &x), SR_OK);
	assert_int_equal(p.list_id, 7);
	assert_int_equal(p.list_id_usage, XCOPY_LIST_HOLD);
	assert_int_equal(p.priority, 2);
	assert_int_equal(p.n_cscd, 2);
	assert_int_equal(p.cscd[1].desig_type, 3);
	assert_int_equal(p.cscd[1].desig_len, 8);
	assert_memory_equal(p.cscd[1].desig, naa, 8);
	assert_int_equal(p.cscd[1].block_len, 512);
	assert_int_equal(p.cscd[1].offset, 16 + 32);
	assert_int_equal(p.n_seg, 2);
	assert_int_equal(p.seg[0].nblocks, 2048);
	assert_true(p.seg[0].dc);
	assert_int_equal(p.seg[0].dst_lba, 0x1122334455667788ull);
	assert_int_equal(p.seg[1].src, 1);
	assert_int_equal(p.seg[1].offset, 16 + 64 + 28);
	/* Trailing bytes past the lists are allowed (the header says how much is meaningful). */
	assert_int_equal(decode(b, off + 5, &p, &x), SR_OK);
}

static void test_short_and_truncated(void **state)
{
	static uint8_t b[BUF_MAX];
	static struct xcopy_params p;
	struct sense_extra x;
	unsigned off;

	for (uint32_t len = 1; len < XCOPY_HDR_LEN; len++)
		assert_int_equal(decode(b, len, &p, &x), SR_PARAM_LIST_LENGTH_ERROR);
	off = put_hdr(b, 1, 0, XCOPY_CSCD_LEN, XCOPY_B2B_LEN, 0);
	off += put_cscd(b + off, XCOPY_DESC_ID);
	off += put_seg(b + off, XCOPY_DESC_B2B, 0, 0, 1, 0, 1);
	/* Every cut inside the descriptors is a length error, never a read past len. */
	for (uint32_t len = XCOPY_HDR_LEN; len < off; len++)
		assert_int_equal(decode(b, len, &p, &x), SR_PARAM_LIST_LENGTH_ERROR);
	assert_int_equal(decode(b, off, &p, &x), SR_OK);
}

static void test_hostile_lengths(void **state)
{
	static uint8_t b[BUF_MAX];
	static struct xcopy_params p;
	struct sense_extra x;

	/* Lengths that would wrap 32-bit sums. */
	put_hdr(b, 1, 0, 0xffff, 0xffffffffu, 0);
	assert_int_equal(decode(b, 64, &p, &x), SR_PARAM_LIST_LENGTH_ERROR);
	put_hdr(b, 1, 0, 32, 0xfffffff0u, 0);
	assert_int_equal(decode(b, 64, &p, &x), SR_PARAM_LIST_LENGTH_ERROR);
	/* Over MAXIMUM DESCRIPTOR LIST LENGTH even when the bytes are there. */
	put_hdr(b, 1, 0, 1024, XCOPY_MAX_DESC_LIST_LEN - 1024 + 4, 0);
	assert_int_equal(decode(b, BUF_MAX, &p, &x), SR_PARAM_LIST_LENGTH_ERROR);
	/* Inline data: none supported. */
	put_hdr(b, 1, 0, 0, 0, 0xffffffffu);
	assert_int_equal(decode(b, BUF_MAX, &p, &x), SR_INLINE_DATA_EXCEEDED);
	put_hdr(b, 1, 0, 0, 0, 1);
	assert_int_equal(decode(b, BUF_MAX, &p, &x), SR_INLINE_DATA_EXCEEDED);
	/* A CSCD list length that cuts a descriptor. */
	put_hdr(b, 1, 0, 31, 0, 0);
	put_cscd(b + 16, XCOPY_DESC_ID);
	assert_int_equal(decode(b, 64, &p, &x), SR_INVALID_FIELD_IN_PARAM);
	/* A segment list length that cuts a descriptor, and one under a descriptor header. */
	put_hdr(b, 1, 0, 32, 27, 0);
	put_seg(b + 48, XCOPY_DESC_B2B, 0, 0, 1, 0, 0);
	assert_int_equal(decode(b, 128, &p, &x), SR_INVALID_FIELD_IN_PARAM);
	put_hdr(b, 1, 0, 32, 3, 0);
	assert_int_equal(decode(b, 128, &p, &x), SR_INVALID_FIELD_IN_PARAM);
	/* A segment DESCRIPTOR LENGTH that is not the block -> block one. */
	put_hdr(b, 1, 0, 32, 28, 0);
	put_be16(b + 48 + 2, 0xfffc);
	assert_int_equal(decode(b, 128, &p, &x), SR_INVALID_FIELD_IN_PARAM);
	assert_true(x.sks_valid);
	assert_int_equal(get_be16(x.sks + 1), 48 + 2);
	/* Designator longer than the field. */
	put_hdr(b, 1, 0, 32, 0, 0);
	put_cscd(b + 16, XCOPY_DESC_ID);
	b[16 + 7] = 21;
	assert_int_equal(decode(b, 64, &p, &x), SR_INVALID_FIELD_IN_PARAM);
}

static void test_counts(void **state)
{
	static uint8_t b[BUF_MAX];
	static struct xcopy_params p;
	struct sense_extra x;
	unsigned off, n;

	n = XCOPY_MAX_CSCD + 1;
	off = put_hdr(b, 1, 0, (uint16_t)(n * XCOPY_CSCD_LEN), XCOPY_B2B_LEN, 0);
	for (unsigned i = 0; i < n; i++)
		off += put_cscd(b + off, XCOPY_DESC_ID);
	off += put_seg(b + off, XCOPY_DESC_B2B, 0, 0, 1, 0, 1);
	assert_int_equal(decode(b, off, &p, &x), SR_TOO_MANY_CSCD);

	n = XCOPY_MAX_SEGMENTS + 1;
	off = put_hdr(b, 1, 0, XCOPY_CSCD_LEN, n * XCOPY_B2B_LEN, 0);
	off += put_cscd(b + off, XCOPY_DESC_ID);
	for (unsigned i = 0; i < n; i++)
		off += put_seg(b + off, XCOPY_DESC_B2B, 0, 0, 1, i, i + 1);
	assert_true(off - XCOPY_HDR_LEN <= XCOPY_MAX_DESC_LIST_LEN);
	assert_int_equal(decode(b, off, &p, &x), SR_TOO_MANY_SEGMENTS);

	/* Exactly the maxima decode. */
	off = put_hdr(b, 1, 0, XCOPY_MAX_CSCD * XCOPY_CSCD_LEN, 10 * XCOPY_B2B_LEN, 0);
	for (unsigned i = 0; i < XCOPY_MAX_CSCD; i++)
		off += put_cscd(b + off, XCOPY_DESC_ID);
	for (unsigned i = 0; i < 10; i++)
		off += put_seg(b + off, XCOPY_DESC_B2B, 0, 15, 1, i, i + 1);
	assert_int_equal(decode(b, off, &p, &x), SR_OK);
	assert_int_equal(p.n_cscd, XCOPY_MAX_CSCD);
	assert_int_equal(p.n_seg, 10);
}

static void test_types_and_usage(void **state)
{
	static uint8_t b[BUF_MAX];
	static struct xcopy_params p;
	struct sense_extra x;
	unsigned off;

	/* FC N_Port_Name CSCD, and a segment descriptor type in the CSCD list. */
	off = put_hdr(b, 1, 0, XCOPY_CSCD_LEN, XCOPY_B2B_LEN, 0);
	off += put_cscd(b + off, 0xe0);
	off += put_seg(b + off, XCOPY_DESC_B2B, 0, 0, 1, 0, 1);
	assert_int_equal(decode(b, off, &p, &x), SR_UNSUPPORTED_CSCD_TYPE);
	b[16] = 0x02;
	assert_int_equal(decode(b, off, &p, &x), SR_UNSUPPORTED_CSCD_TYPE);
	/* Stream -> stream and block -> stream segments. */
	put_cscd(b + 16, XCOPY_DESC_ID);
	b[48] = 0x03;
	assert_int_equal(decode(b, off, &p, &x), SR_UNSUPPORTED_SEGMENT_TYPE);
	b[48] = 0x00;
	assert_int_equal(decode(b, off, &p, &x), SR_UNSUPPORTED_SEGMENT_TYPE);
	b[48] = XCOPY_DESC_B2B;
	assert_int_equal(decode(b, off, &p, &x), SR_OK);
	/* LIST ID USAGE 01b is reserved; 11b needs LIST IDENTIFIER 0. */
	b[1] = 0x1 << 3;
	assert_int_equal(decode(b, off, &p, &x), SR_INVALID_FIELD_IN_PARAM);
	b[1] = XCOPY_LIST_NONE << 3;
	assert_int_equal(decode(b, off, &p, &x), SR_INVALID_FIELD_IN_PARAM);
	b[0] = 0;
	assert_int_equal(decode(b, off, &p, &x), SR_OK);
	assert_int_equal(p.list_id_usage, XCOPY_LIST_NONE);
	/* No descriptors at all: a valid empty copy. */
	put_hdr(b, 3, XCOPY_LIST_DISCARD, 0, 0, 0);
	assert_int_equal(decode(b, XCOPY_HDR_LEN, &p, &x), SR_OK);
	assert_int_equal(p.n_cscd + p.n_seg, 0);
}

/* Random garbage never crashes or reads out of bounds (run under ASan by make check). */
static void test_garbage(void **state)
{
	static uint8_t b[BUF_MAX];
	static struct xcopy_params p;
	struct sense_extra x;
	uint32_t seed = 12345;

	for (unsigned iter = 0; iter < 20000; iter++) {
		uint32_t len;

		for (unsigned i = 0; i < 256; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		/* Plausible lengths more often than not. */
		if (iter & 1) {
			put_be16(b + 2, (uint16_t)((seed >> 8) % 96));
			put_be32(b + 8, (seed >> 4) % 96);
			put_be32(b + 12, 0);
			b[16] = XCOPY_DESC_ID;
			b[48] = XCOPY_DESC_B2B;
		}
		len = (seed >> 3) % 257;
		(void)decode(b, len, &p, &x);
	}
}

static void test_op_params(void **state)
{
	uint8_t b[64];
	unsigned len = xcopy_op_params(b);

	assert_true(len <= sizeof(b));
	assert_int_equal(get_be32(b), len - 4);
	assert_int_equal(get_be16(b + 8), XCOPY_MAX_CSCD);
	assert_int_equal(get_be16(b + 10), XCOPY_MAX_SEGMENTS);
	assert_int_equal(get_be32(b + 12), XCOPY_MAX_DESC_LIST_LEN);
	assert_int_equal(get_be32(b + 16), XCOPY_MAX_SEGMENT_BYTES);
	assert_int_equal(get_be16(b + 34), XCOPY_TOTAL_CONCURRENT);
	assert_int_equal(b[43], 2);
	assert_int_equal(b[44], XCOPY_DESC_B2B);
	assert_int_equal(b[45], XCOPY_DESC_ID);
}

static void test_vpd_page(void **state)
{
	uint8_t b[512];
	unsigned len, off;
	bool seen_cmds = false;

	memset(b, 0xee, sizeof(b));
	len = xcopy_vpd_page(b);
	assert_true(len <= sizeof(b));
	assert_int_equal(get_be16(b + 2), len - 4);
	/* Walk the descriptors: lengths multiples of 4, ending exactly at the page end. */
	for (off = 4; off < len;) {
		uint16_t type = get_be16(b + off), dlen = get_be16(b + off + 2);

		assert_int_equal(dlen % 4, 0);
		if (type == 0x0001) {
			/* EXTENDED COPY with LID1, RECEIVE COPY RESULTS with 0, 1, 3, 4. */
			assert_int_equal(b[off + 5], 0x83);
			assert_int_equal(b[off + 6], 1);
			assert_int_equal(b[off + 8], 0x84);
			assert_int_equal(b[off + 9], 4);
			seen_cmds = true;
		}
		off += 4u + dlen;
	}
	assert_int_equal(off, len);
	assert_true(seen_cmds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_list),
		cmocka_unit_test(test_short_and_truncated),
		cmocka_unit_test(test_hostile_lengths),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_types_and_usage),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_op_params),
		cmocka_unit_test(test_vpd_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
