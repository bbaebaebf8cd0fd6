/* Unit tests for the statistics' arithmetic (src/scsi/stats.c): which log2 bucket a latency
 * falls in, quantiles interpolated inside buckets (as Prometheus' histogram_quantile), sums and
 * the queue depth. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/stats.h"

static void test_bucket(void **state)
{
	assert_int_equal(scsi_stats_bucket(0), 0);
	assert_int_equal(scsi_stats_bucket(999), 0);		/* < 1 µs */
	assert_int_equal(scsi_stats_bucket(1000), 1);		/* [1, 2) µs */
	assert_int_equal(scsi_stats_bucket(1999), 1);
	assert_int_equal(scsi_stats_bucket(2000), 2);		/* [2, 4) */
	assert_int_equal(scsi_stats_bucket(3999), 2);
	assert_int_equal(scsi_stats_bucket(100000), 7);		/* 100 µs: [64, 128) */
	assert_int_equal(scsi_stats_bucket(1000000000ull), 20);	/* 1 s: [2^19, 2^20) µs */
	assert_int_equal(scsi_stats_bucket(UINT64_MAX), SCSI_STATS_LAT_BUCKETS - 1);
	/* Every value of bucket b is below its le bound 2^b µs. */
	for (unsigned b = 1; b < SCSI_STATS_LAT_BUCKETS - 1; b++) {
		uint64_t last_ns = scsi_stats_bucket_le_us(b) * 1000 - 1;

		assert_int_equal(scsi_stats_bucket(last_ns), b);
		assert_int_equal(scsi_stats_bucket(last_ns + 1), b + 1);
	}
}

static void test_quantile(void **state)
{
	struct scsi_stats s;

	memset(&s, 0, sizeof(s));
	assert_true(scsi_stats_quantile_us(&s, 0.5) == 0);	/* empty */
	/* 100 commands in [64, 128) µs: p50 half-way, p99 near the top. */
	s.lat[7] = 100;
	assert_true(scsi_stats_quantile_us(&s, 0.5) == 96.0);
	assert_true(scsi_stats_quantile_us(&s, 0.99) > 127.0);
	assert_true(scsi_stats_quantile_us(&s, 0.99) <= 128.0);
	assert_true(scsi_stats_quantile_us(&s, 1.0) == 128.0);
	/* 90 fast ([4, 8) µs), 9 at [512, 1024), 1 at [8192, 16384) µs. */
	memset(&s, 0, sizeof(s));
	s.lat[3] = 90;
	s.lat[10] = 9;
	s.lat[14] = 1;
	assert_true(scsi_stats_quantile_us(&s, 0.5) >= 4.0);
	assert_true(scsi_stats_quantile_us(&s, 0.5) < 8.0);
	assert_true(scsi_stats_quantile_us(&s, 0.9) == 8.0);	/* the 90th is the last fast */
	assert_true(scsi_stats_quantile_us(&s, 0.95) > 512.0);
	assert_true(scsi_stats_quantile_us(&s, 0.95) < 1024.0);
	assert_true(scsi_stats_quantile_us(&s, 0.999) > 8192.0);
	assert_true(scsi_stats_quantile_us(&s, 0.999) <= 16384.0);
	/* Ordered. */
	assert_true(scsi_stats_quantile_us(&s, 0.5) <= scsi_stats_quantile_us(&s, 0.99));
	assert_true(scsi_stats_quantile_us(&s, 0.99) <= scsi_stats_quantile_us(&s, 0.999));
	/* Under 1 µs: bucket 0 is [0, 1). */
	memset(&s, 0, sizeof(s));
	s.lat[0] = 4;
	assert_true(scsi_stats_quantile_us(&s, 0.5) == 0.5);
	/* The open last bucket answers its lower bound. */
	memset(&s, 0, sizeof(s));
	s.lat[SCSI_STATS_LAT_BUCKETS - 1] = 3;
	assert_true(scsi_stats_quantile_us(&s, 0.5) ==
		    (double)scsi_stats_bucket_le_us(SCSI_STATS_LAT_BUCKETS - 2));
}

static void test_sum_and_depth(void **state)
{
	struct scsi_stats a, b, sum;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sum, 0, sizeof(sum));
	a.started = 10;
	a.ended = 7;
	a.cmds[SCSI_STATS_READ] = 7;
	a.lat[3] = 7;
	b.started = 5;
	b.ended = 5;
	b.bytes_written = 4096;
	b.sense_key[5] = 2;
	scsi_stats_add(&sum, &a);
	scsi_stats_add(&sum, &b);
	assert_int_equal(sum.started, 15);
	assert_int_equal(sum.ended, 12);
	assert_int_equal(sum.cmds[SCSI_STATS_READ], 7);
	assert_int_equal(sum.bytes_written, 4096);
	assert_int_equal(sum.sense_key[5], 2);
	assert_int_equal(scsi_stats_queue_depth(&sum), 3);
	sum.ended = 16;	/* a reader may see an end before its start */
	assert_int_equal(scsi_stats_queue_depth(&sum), 0);
	scsi_stats_inc(&sum.aborted, 3);
	assert_int_equal(sum.aborted, 3);
}

static void test_names(void **state)
{
	assert_string_equal(scsi_stats_kind_name(SCSI_STATS_WRITE), "write");
	assert_string_equal(scsi_stats_status_name(SCSI_STATS_RESERVATION_CONFLICT),
			    "reservation_conflict");
	assert_string_equal(scsi_stats_sense_key_name(5), "illegal_request");
	assert_string_equal(scsi_stats_sense_key_name(0xb), "aborted_command");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_sum_and_depth),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
