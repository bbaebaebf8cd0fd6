/* Sense data encodings, byte for byte (SPC-4 4.5.2 descriptor, 4.5.3 fixed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/sense.h"
#include "scsi/task.h"

static void test_fixed_field_pointer(void **state)
{
	static const uint8_t want[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0,
					  0x24, 0x00, 0, 0xcf, 0x00, 0x02 };
	struct sense_extra x = { 0 };
	uint8_t b[96];

	sense_field_pointer(&x, true, 2, 7);
	assert_int_equal(sense_encode(b, sizeof(b), SR_INVALID_FIELD_IN_CDB, false, &x), 18);
	assert_memory_equal(b, want, sizeof(want));
}

static void test_fixed_information(void **state)
{
	static const uint8_t want[18] = { 0xf0, 0, 0x03, 0x12, 0x34, 0x56, 0x78, 0x0a, 0, 0, 0,
					  0, 0x11, 0x00, 0, 0, 0, 0 };
	struct sense_extra x = { .info_valid = true, .info = 0x12345678 };
	uint8_t b[18];

	assert_int_equal(sense_encode(b, sizeof(b), SR_MEDIUM_ERROR_READ, false, &x), 18);
	assert_memory_equal(b, want, sizeof(want));
}

static void test_fixed_information_too_wide(void **state)
{
	struct sense_extra x = { .info_valid = true, .info = 0x100000000ull };
	uint8_t b[18];

	assert_int_equal(sense_encode(b, sizeof(b), SR_MEDIUM_ERROR_WRITE, false, &x), 18);
	assert_int_equal(b[0], 0x70); /* VALID clear: the value does not fit */
	assert_int_equal(b[2], 0x03);
	assert_int_equal(b[12], 0x0c);
}

static void test_fixed_ua(void **state)
{
	static const uint8_t want[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0,
					  0x29, 0x00, 0, 0, 0, 0 };
	uint8_t b[18];

	assert_int_equal(sense_encode(b, sizeof(b), SR_UA_POWER_ON_RESET, false, NULL), 18);
	assert_memory_equal(b, want, sizeof(want));
}

static void test_desc_plain(void **state)
{
	static const uint8_t want[8] = { 0x72, 0x05, 0x21, 0x00, 0, 0, 0, 0 };
	uint8_t b[96];

	assert_int_equal(sense_encode(b, sizeof(b), SR_LBA_OUT_OF_RANGE, true, NULL), 8);
	assert_memory_equal(b, want, sizeof(want));
}

static void test_desc_info_and_sks(void **state)
{
	static const uint8_t want[28] = {
		0x72, 0x0e, 0x1d, 0x00, 0, 0, 0, 20,
		/* information descriptor */
		0x00, 0x0a, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x01, 0xff,
		/* sense-key specific descriptor: field pointer in the parameter list */
		0x02, 0x06, 0, 0, 0x80, 0x00, 0x05, 0x00,
	};
	struct sense_extra x = { .info_valid = true, .info = 0x1ff };
	uint8_t b[96];

	sense_field_pointer(&x, false, 5, -1);
	assert_int_equal(sense_encode(b, sizeof(b), SR_MISCOMPARE, true, &x), 28);
	assert_memory_equal(b, want, sizeof(want));
}

static void test_short_buffers(void **state)
{
	uint8_t b[17];

	assert_int_equal(sense_encode(b, sizeof(b), SR_HARDWARE_ERROR, false, NULL), 0);
	assert_int_equal(sense_encode(b, 7, SR_HARDWARE_ERROR, true, NULL), 0);
}

static void test_table(void **state)
{
	for (int r = 0; r < SR_REASON_COUNT; r++) {
		const struct sense_entry *e = sense_lookup((enum sense_reason)r);

		assert_non_null(e->text);
		assert_true(e->key <= 0xf);
		/* Sense data goes with CHECK CONDITION only, and always says something. */
		if (e->status == SCSI_STATUS_CHECK_CONDITION)
			assert_true(e->key != SK_NO_SENSE || e->asc || e->ascq);
		else
			assert_true(e->key == SK_NO_SENSE && !e->asc && !e->ascq);
	}
	assert_int_equal(sense_lookup(SR_OK)->status, SCSI_STATUS_GOOD);
	assert_int_equal(sense_lookup(SR_MISCOMPARE)->status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(sense_lookup(SR_BUSY)->status, SCSI_STATUS_BUSY);
	assert_int_equal(sense_lookup(SR_TASK_SET_FULL)->status, SCSI_STATUS_TASK_SET_FULL);
	assert_int_equal(sense_lookup(SR_RESERVATION_CONFLICT)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(sense_lookup(SR_CONDITION_MET)->status, SCSI_STATUS_CONDITION_MET);
	assert_int_equal(sense_lookup(SR_SPACE_ALLOC_FAILED)->key, SK_DATA_PROTECT);
	assert_int_equal(sense_lookup(SR_SPACE_ALLOC_FAILED)->asc, 0x27);
	assert_int_equal(sense_lookup(SR_SPACE_ALLOC_FAILED)->ascq, 0x07);
	assert_ptr_equal(sense_lookup(SR_REASON_COUNT), sense_lookup(SR_HARDWARE_ERROR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_field_pointer),
		cmocka_unit_test(test_fixed_information),
		cmocka_unit_test(test_fixed_information_too_wide),
		cmocka_unit_test(test_fixed_ua),
		cmocka_unit_test(test_desc_plain),
		cmocka_unit_test(test_desc_info_and_sks),
		cmocka_unit_test(test_short_buffers),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
