/* Unit tests for the iSCSI PDU codec (src/fabric/iscsi/pdu.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "fabric/iscsi/pdu.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

static void test_bhs_round_trip(void **state)
{
	struct iscsi_pdu_hdr h = { 0 }, d;
	uint8_t bhs[ISCSI_BHS_LEN], again[ISCSI_BHS_LEN];

	(void)state;
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_READ | 1;
	h.spec2 = 0x12;
	h.spec3 = 0x34;
	h.total_ahs_words = 2;
	h.data_len = 0x123456;
	h.lun[1] = 7;
	h.itt = 0xdeadbeef;
	h.w20 = 4096;
	h.w24 = 10;
	h.w28 = 11;
	h.w32 = 0x28000000;
	h.w36 = 0x36;
	h.w40 = 0x40;
	h.w44 = 0x44;
	iscsi_bhs_encode(&h, bhs);
	assert_int_equal(bhs[0], 0x41);
	assert_int_equal(bhs[1], 0xc1);
	assert_int_equal(bhs[4], 2);
	assert_int_equal(get_be24(bhs + 5), 0x123456);
	assert_int_equal(get_be32(bhs + ISCSI_OFF_ITT), 0xdeadbeef);
	assert_int_equal(get_be32(bhs + ISCSI_OFF_EDTL), 4096);
	assert_int_equal(bhs[ISCSI_OFF_CDB], 0x28);
	iscsi_bhs_decode(bhs, &d);
	assert_int_equal(d.opcode, ISCSI_OP_SCSI_CMD);
	assert_true(d.immediate);
	assert_int_equal(d.flags, h.flags);
	assert_int_equal(d.spec2, 0x12);
	assert_int_equal(d.spec3, 0x34);
	assert_int_equal(d.data_len, 0x123456);
	assert_memory_equal(d.lun, h.lun, 8);
	assert_int_equal(d.itt, h.itt);
	assert_int_equal(d.w24, 10);
	assert_int_equal(d.w44, 0x44);
	iscsi_bhs_encode(&d, again);
	assert_memory_equal(bhs, again, ISCSI_BHS_LEN);
}

static void test_bhs_lengths(void **state)
{
	struct iscsi_pdu_hdr h = { 0 };

	(void)state;
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.data_len = 8192;
	assert_int_equal(iscsi_bhs_check_lengths(&h, 8192), 0);
	h.data_len = 8193;
	assert_int_equal(iscsi_bhs_check_lengths(&h, 8192), -EMSGSIZE);
	h.data_len = 0xffffff;
	assert_int_equal(iscsi_bhs_check_lengths(&h, 262144), -EMSGSIZE);
	h.data_len = 0;
	h.total_ahs_words = 5;
	assert_int_equal(iscsi_bhs_check_lengths(&h, 8192), 0);
	h.opcode = ISCSI_OP_NOP_OUT;
	assert_int_equal(iscsi_bhs_check_lengths(&h, 8192), -EPROTO);
}

static void test_digest_known_values(void **state)
{
	uint8_t zeros[32] = { 0 }, ones[32];
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 };

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	/* RFC 3720 B.4 test vectors. */
	assert_int_equal(crc32c(zeros, 32), 0x8a9136aa);
	assert_int_equal(crc32c(ones, 32), 0x62a8ab43);
	assert_int_equal(iscsi_data_digest(zeros, 32), 0x8a9136aa);
	/* Padding is included: 30 zero bytes + 2 pad zero bytes == 32 zero bytes. */
	assert_int_equal(iscsi_data_digest(zeros, 30), 0x8a9136aa);
	/* Header digest over a zero BHS equals the CRC of 48 zero bytes. */
	assert_int_equal(iscsi_header_digest(bhs, NULL, 0), crc32c(bhs, sizeof(bhs)));
	assert_int_equal(iscsi_pad_len(0), 0);
	assert_int_equal(iscsi_pad_len(1), 3);
	assert_int_equal(iscsi_pad_len(4), 0);
	assert_int_equal(iscsi_pad_len(6), 2);
}

static void test_digest_wire_order(void **state)
{
	uint8_t wire[4];

	(void)state;
	put_le32(wire, 0x8a9136aa);
	assert_int_equal(wire[0], 0xaa);
	assert_int_equal(wire[3], 0x8a);
	assert_int_equal(get_le32(wire), 0x8a9136aa);
}

static void test_extended_cdb(void **state)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 }, ahs[24] = { 0 }, cdb[260];
	int i, n;

	(void)state;
	for (i = 0; i < 16; i++)
		bhs[ISCSI_OFF_CDB + i] = (uint8_t)i;
	/* 32-byte CDB: 16 extra bytes, AHSLength = 17, padded to 20 + 4 header = 24... */
	put_be16(ahs, 17);
	ahs[2] = ISCSI_AHS_EXTENDED_CDB;
	for (i = 0; i < 16; i++)
		ahs[4 + i] = (uint8_t)(16 + i);
	n = iscsi_cdb_from_pdu(bhs, ahs, 20, cdb, sizeof(cdb));
	assert_int_equal(n, 32);
	for (i = 0; i < 32; i++)
		assert_int_equal(cdb[i], i);
	/* No AHS: the 16-byte CDB. */
	assert_int_equal(iscsi_cdb_from_pdu(bhs, NULL, 0, cdb, sizeof(cdb)), 16);
	/* AHS length running past the segment. */
	put_be16(ahs, 100);
	assert_int_equal(iscsi_cdb_from_pdu(bhs, ahs, 20, cdb, sizeof(cdb)), -EINVAL);
	/* Zero AHSLength. */
	put_be16(ahs, 0);
	assert_int_equal(iscsi_cdb_from_pdu(bhs, ahs, 20, cdb, sizeof(cdb)), -EINVAL);
	/* CDB buffer too small for the extension. */
	put_be16(ahs, 17);
	assert_int_equal(iscsi_cdb_from_pdu(bhs, ahs, 20, cdb, 20), -EINVAL);
}

static void test_lun_codec(void **state)
{
	uint8_t lun[8] = { 0 };

	(void)state;
	lun[1] = 5;
	assert_int_equal(iscsi_lun_decode(lun), 5);
	iscsi_lun_encode(300, lun);
	assert_int_equal(lun[0], 0x41);
	assert_int_equal(iscsi_lun_decode(lun), 300);
	memset(lun, 0, 8);
	lun[0] = 0x80;	/* logical unit addressing: not used */
	assert_true(iscsi_lun_decode(lun) == UINT64_MAX);
	memset(lun, 0, 8);
	lun[3] = 1;	/* second level */
	assert_true(iscsi_lun_decode(lun) == UINT64_MAX);
}

static void test_serial_arith(void **state)
{
	(void)state;
	assert_true(iscsi_sn_lt(1, 2));
	assert_true(iscsi_sn_gt(0, 0xffffffffu));
	assert_false(iscsi_sn_lt(5, 5));
	assert_true(iscsi_sn_lt(0xfffffff0u, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bhs_round_trip),
		cmocka_unit_test(test_bhs_lengths),
		cmocka_unit_test(test_digest_known_values),
		cmocka_unit_test(test_digest_wire_order),
		cmocka_unit_test(test_extended_cdb),
		cmocka_unit_test(test_lun_codec),
		cmocka_unit_test(test_serial_arith),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
