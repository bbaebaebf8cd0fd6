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

/* One filled-in header per opcode, every named field distinct and non-zero. */
static void fill(struct iscsi_pdu_hdr *h, uint8_t op)
{
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->opcode = op;
	h->total_ahs_words = op == ISCSI_OP_SCSI_CMD ? 5 : 0;
	h->data_len = 0x123456;
	h->itt = 0xdeadbeef;
	if (op != ISCSI_OP_LOGIN_REQ && op != ISCSI_OP_LOGIN_RSP)
		for (i = 0; i < 8; i++)
			h->lun[i] = (uint8_t)(0xa0 + i);
	if (op >= ISCSI_OP_NOP_IN) {
		h->statsn = 0x24242424;
		h->expcmdsn = 0x28282828;
		h->maxcmdsn = 0x32323232;
	} else {
		h->immediate = true;
		if (op != ISCSI_OP_DATA_OUT && op != ISCSI_OP_SNACK)
			h->cmdsn = 0x24242424;
		h->expstatsn = 0x28282828;
	}
	switch (op) {
	case ISCSI_OP_SCSI_CMD:
		h->scsi_cmd = (struct iscsi_scsi_cmd_fields){ .final = true, .read = true,
							     .write = true, .attr = 5,
							     .edtl = 0x20202020 };
		for (i = 0; i < 16; i++)
			h->scsi_cmd.cdb[i] = (uint8_t)(0x80 + i);
		break;
	case ISCSI_OP_SCSI_RSP:
		h->scsi_rsp = (struct iscsi_scsi_rsp_fields){ true, true, true, true, 1, 2, 0x20,
							     0x36, 0x40, 0x44 };
		break;
	case ISCSI_OP_TMF_REQ:
		h->tmf_req = (struct iscsi_tmf_req_fields){ 0x7f, 0x20, 0x32, 0x36 };
		break;
	case ISCSI_OP_TMF_RSP:
		h->tmf_rsp.response = 0xff;
		break;
	case ISCSI_OP_DATA_OUT:
		h->data_out = (struct iscsi_data_out_fields){ true, 0x20, 0x36, 0x40 };
		break;
	case ISCSI_OP_DATA_IN:
		h->data_in = (struct iscsi_data_in_fields){ true, true, true, true, true, 0x02,
							   0x20, 0x36, 0x40, 0x44 };
		break;
	case ISCSI_OP_R2T:
		h->r2t = (struct iscsi_r2t_fields){ 0x20, 0x36, 0x40, 0x44 };
		break;
	case ISCSI_OP_ASYNC:
		h->async = (struct iscsi_async_fields){ 1, 2, 0x3838, 0x4040, 0x4242 };
		break;
	case ISCSI_OP_TEXT_REQ:
	case ISCSI_OP_TEXT_RSP:
		h->text = (struct iscsi_text_fields){ true, true, 0x20 };
		break;
	case ISCSI_OP_LOGIN_REQ:
	case ISCSI_OP_LOGIN_RSP:
		h->login = (struct iscsi_login_fields){ .transit = true, .cont = true, .csg = 1,
						       .nsg = 3, .version_max = 2, .version_min = 1,
						       .isid = { 1, 2, 3, 4, 5, 6 }, .tsih = 0x1414 };
		if (op == ISCSI_OP_LOGIN_REQ) {
			h->login.cid = 0x2020;
		} else {
			h->login.status_class = 2;
			h->login.status_detail = 7;
		}
		break;
	case ISCSI_OP_LOGOUT_REQ:
		h->logout_req = (struct iscsi_logout_req_fields){ 0x7f, 0x2020 };
		break;
	case ISCSI_OP_LOGOUT_RSP:
		h->logout_rsp = (struct iscsi_logout_rsp_fields){ 2, 0x4040, 0x4242 };
		break;
	case ISCSI_OP_SNACK:
		h->snack = (struct iscsi_snack_fields){ 0x0f, 0x20, 0x40, 0x44 };
		break;
	case ISCSI_OP_REJECT:
		h->reject = (struct iscsi_reject_fields){ 0x09, 0x36 };
		break;
	case ISCSI_OP_NOP_OUT:
	case ISCSI_OP_NOP_IN:
		h->nop.ttt = 0x20;
		break;
	}
}

static const uint8_t all_ops[] = {
	ISCSI_OP_NOP_OUT, ISCSI_OP_SCSI_CMD, ISCSI_OP_TMF_REQ, ISCSI_OP_LOGIN_REQ,
	ISCSI_OP_TEXT_REQ, ISCSI_OP_DATA_OUT, ISCSI_OP_LOGOUT_REQ, ISCSI_OP_SNACK,
	ISCSI_OP_NOP_IN, ISCSI_OP_SCSI_RSP, ISCSI_OP_TMF_RSP, ISCSI_OP_LOGIN_RSP,
	ISCSI_OP_TEXT_RSP, ISCSI_OP_DATA_IN, ISCSI_OP_LOGOUT_RSP, ISCSI_OP_R2T,
	ISCSI_OP_ASYNC, ISCSI_OP_REJECT,
};

/* Every opcode: encode then decode gives the same fields, and re-encoding the same bytes. */
static void test_bhs_round_trip_every_opcode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(all_ops); i++) {
		struct iscsi_pdu_hdr h, d;
		uint8_t bhs[ISCSI_BHS_LEN], again[ISCSI_BHS_LEN];

		fill(&h, all_ops[i]);
		iscsi_bhs_encode(&h, bhs);
		iscsi_bhs_decode(bhs, &d);
		assert_memory_equal(&h, &d, sizeof(h));
		iscsi_bhs_encode(&d, again);
		assert_memory_equal(bhs, again, ISCSI_BHS_LEN);
		assert_int_equal(bhs[0] & 0x3f, all_ops[i]);
		assert_int_equal(get_be24(bhs + 5), 0x123456);
		assert_int_equal(get_be32(bhs + 16), 0xdeadbeef);
	}
}

/* Fields land at the offsets RFC 7143 gives them. */
static void test_bhs_layout(void **state)
{
	struct iscsi_pdu_hdr h;
	uint8_t b[ISCSI_BHS_LEN];

	(void)state;
	/* SCSI Command (11.3). */
	fill(&h, ISCSI_OP_SCSI_CMD);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[0], 0x41);
	assert_int_equal(b[1], 0xe5);
	assert_int_equal(b[4], 5);
	assert_int_equal(b[8], 0xa0);
	assert_int_equal(get_be32(b + 20), 0x20202020);	/* EDTL */
	assert_int_equal(get_be32(b + 24), 0x24242424);	/* CmdSN */
	assert_int_equal(get_be32(b + 28), 0x28282828);	/* ExpStatSN */
	assert_int_equal(b[32], 0x80);
	assert_int_equal(b[47], 0x8f);
	/* SCSI Response (11.4): bit 7 always set, o u O U, response, status. */
	fill(&h, ISCSI_OP_SCSI_RSP);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[1], 0x9e);
	assert_int_equal(b[2], 1);
	assert_int_equal(b[3], 2);
	assert_int_equal(get_be32(b + 24), 0x24242424);	/* StatSN */
	assert_int_equal(get_be32(b + 32), 0x32323232);	/* MaxCmdSN */
	assert_int_equal(get_be32(b + 36), 0x36);	/* ExpDataSN */
	assert_int_equal(get_be32(b + 40), 0x40);	/* Bidi residual */
	assert_int_equal(get_be32(b + 44), 0x44);	/* Residual */
	/* Data-In (11.7): F A O U S. */
	fill(&h, ISCSI_OP_DATA_IN);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[1], 0xc7);
	assert_int_equal(b[3], 2);
	assert_int_equal(get_be32(b + 20), 0x20);	/* TTT */
	assert_int_equal(get_be32(b + 40), 0x40);	/* Buffer Offset */
	/* R2T (11.8). */
	fill(&h, ISCSI_OP_R2T);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[1], 0x80);
	assert_int_equal(get_be32(b + 36), 0x36);	/* R2TSN */
	assert_int_equal(get_be32(b + 44), 0x44);	/* DDTL */
	/* Login Response (11.13). */
	fill(&h, ISCSI_OP_LOGIN_RSP);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[1], 0xc7);
	assert_int_equal(b[2], 2);
	assert_int_equal(b[3], 1);
	assert_int_equal(b[8], 1);
	assert_int_equal(b[13], 6);
	assert_int_equal(get_be16(b + 14), 0x1414);
	assert_int_equal(get_be32(b + 20), 0);		/* reserved in a response */
	assert_int_equal(b[36], 2);
	assert_int_equal(b[37], 7);
	/* Login Request (11.12): CID at 20. */
	fill(&h, ISCSI_OP_LOGIN_REQ);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(get_be16(b + 20), 0x2020);
	assert_int_equal(b[36], 0);
	/* Async (11.9). */
	fill(&h, ISCSI_OP_ASYNC);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[36], 1);
	assert_int_equal(b[37], 2);
	assert_int_equal(get_be16(b + 38), 0x3838);
	assert_int_equal(get_be16(b + 42), 0x4242);
	/* Logout Response (11.15). */
	fill(&h, ISCSI_OP_LOGOUT_RSP);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[2], 2);
	assert_int_equal(get_be16(b + 40), 0x4040);
	assert_int_equal(get_be16(b + 42), 0x4242);
	/* Data-Out (11.7): no CmdSN; the bytes at 24 stay reserved. */
	fill(&h, ISCSI_OP_DATA_OUT);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(get_be32(b + 24), 0);
	assert_int_equal(get_be32(b + 36), 0x36);
	/* Text (11.10): F and C. */
	fill(&h, ISCSI_OP_TEXT_REQ);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[1], 0xc0);
}

/* Malformed or odd fields decode into something bounded: reserved bits are dropped, flags
 * outside a field's mask never leak into it, unknown opcodes keep only the common fields. */
static void test_bhs_malformed(void **state)
{
	struct iscsi_pdu_hdr h;
	uint8_t b[ISCSI_BHS_LEN];

	(void)state;
	memset(b, 0xff, sizeof(b));
	b[0] = 0xff;	/* bit 7 reserved, I, opcode 0x3f */
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_REJECT);
	assert_true(h.immediate);
	assert_int_equal(h.data_len, 0xffffff);
	assert_int_equal(h.reject.reason, 0xff);

	b[0] = ISCSI_OP_LOGIN_REQ;
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.login.csg, 3);
	assert_int_equal(h.login.nsg, 3);
	assert_true(h.login.transit && h.login.cont);
	assert_int_equal(h.login.status_class, 0);	/* a request has none */
	assert_int_equal(h.lun[0], 0);			/* ISID/TSIH, not a LUN */

	b[0] = ISCSI_OP_TMF_REQ;
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.tmf_req.function, 0x7f);
	b[0] = ISCSI_OP_LOGOUT_REQ;
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.logout_req.reason, 0x7f);
	b[0] = ISCSI_OP_SNACK;
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.snack.type, 0x0f);
	assert_int_equal(h.cmdsn, 0);			/* SNACK has no CmdSN */
	b[0] = ISCSI_OP_SCSI_CMD;
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.scsi_cmd.attr, 7);
	/* An opcode RFC 7143 does not define: common fields only. */
	b[0] = 0x1c;
	iscsi_bhs_decode(b, &h);
	assert_int_equal(h.opcode, 0x1c);
	assert_int_equal(h.itt, 0xffffffff);
	assert_int_equal(h.cmdsn, 0);
	iscsi_bhs_encode(&h, b);
	assert_int_equal(b[1], 0);
	assert_int_equal(get_be32(b + 36), 0);
	assert_string_equal(iscsi_opcode_name(0x1c), "unknown");
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
	h.total_ahs_words = 4;
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
	struct iscsi_pdu_hdr h = { .opcode = ISCSI_OP_SCSI_CMD };
	uint8_t ahs[24] = { 0 }, cdb[260];
	int i, n;

	(void)state;
	for (i = 0; i < 16; i++)
		h.scsi_cmd.cdb[i] = (uint8_t)i;
	/* 32-byte CDB: 16 extra bytes, AHSLength = 17, padded to 20 + 4 header = 24... */
	put_be16(ahs, 17);
	ahs[2] = ISCSI_AHS_EXTENDED_CDB;
	for (i = 0; i < 16; i++)
		ahs[4 + i] = (uint8_t)(16 + i);
	n = iscsi_cdb_from_pdu(&h, ahs, 20, cdb, sizeof(cdb));
	assert_int_equal(n, 32);
	for (i = 0; i < 32; i++)
		assert_int_equal(cdb[i], i);
	/* No AHS: the 16-byte CDB. */
	assert_int_equal(iscsi_cdb_from_pdu(&h, NULL, 0, cdb, sizeof(cdb)), 16);
	/* AHS length running past the segment. */
	put_be16(ahs, 100);
	assert_int_equal(iscsi_cdb_from_pdu(&h, ahs, 20, cdb, sizeof(cdb)), -EINVAL);
	/* Zero AHSLength. */
	put_be16(ahs, 0);
	assert_int_equal(iscsi_cdb_from_pdu(&h, ahs, 20, cdb, sizeof(cdb)), -EINVAL);
	/* CDB buffer too small for the extension. */
	put_be16(ahs, 17);
	assert_int_equal(iscsi_cdb_from_pdu(&h, ahs, 20, cdb, 20), -EINVAL);
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
		cmocka_unit_test(test_bhs_round_trip_every_opcode),
		cmocka_unit_test(test_bhs_layout),
		cmocka_unit_test(test_bhs_malformed),
		cmocka_unit_test(test_bhs_lengths),
		cmocka_unit_test(test_digest_known_values),
		cmocka_unit_test(test_digest_wire_order),
		cmocka_unit_test(test_extended_cdb),
		cmocka_unit_test(test_lun_codec),
		cmocka_unit_test(test_serial_arith),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
