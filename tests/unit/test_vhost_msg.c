/* Unit tests for the vhost-user message codec (src/fabric/vhost/vu_msg.c) and the memory
 * table's translations (vu_mem.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "fabric/vhost/vu_le.h"
#include "fabric/vhost/vu_mem.h"
#include "fabric/vhost/vu_msg.h"

static size_t hdr(uint8_t *b, uint32_t req, uint32_t flags, uint32_t size)
{
	vu_put32(b, req);
	vu_put32(b + 4, flags);
	vu_put32(b + 8, size);
	return VU_HDR_SIZE + size;
}

static int decode(const uint8_t *b, size_t len, unsigned nfds, struct vu_msg *m)
{
	int fds[VU_MAX_FDS] = { 10, 11, 12, 13, 14, 15, 16, 17 };
	char err[160];

	return vu_msg_decode(b, len, fds, nfds, m, err, sizeof(err));
}

static void test_header(void **state)
{
	uint8_t b[VU_MAX_MSG] = { 0 };
	char err[128];

	hdr(b, VU_GET_FEATURES, 1, 0);
	assert_int_equal(vu_msg_total(b, err, sizeof(err)), VU_HDR_SIZE);
	hdr(b, VU_GET_FEATURES, 2, 0);		/* version 2 */
	assert_int_equal(vu_msg_total(b, err, sizeof(err)), 0);
	hdr(b, VU_GET_FEATURES, 1 | VU_FLAG_REPLY, 0);
	assert_int_equal(vu_msg_total(b, err, sizeof(err)), 0);
	hdr(b, VU_SET_FEATURES, 1, VU_MAX_PAYLOAD + 1);
	assert_int_equal(vu_msg_total(b, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "payload"));
	hdr(b, VU_SET_FEATURES, 1, VU_MAX_PAYLOAD);
	assert_int_equal(vu_msg_total(b, err, sizeof(err)), VU_MAX_MSG);
}

static void test_simple_payloads(void **state)
{
	uint8_t b[VU_MAX_MSG] = { 0 };
	struct vu_msg m;
	size_t n;

	n = hdr(b, VU_SET_FEATURES, 1 | VU_FLAG_NEED_REPLY, 8);
	vu_put64(b + 12, 0x100000000ull);
	assert_int_equal(decode(b, n, 0, &m), 0);
	assert_int_equal(m.request, VU_SET_FEATURES);
	assert_true(m.need_reply);
	assert_true(m.u64 == 0x100000000ull);
	/* wrong sizes and fds */
	n = hdr(b, VU_SET_FEATURES, 1, 4);
	assert_int_equal(decode(b, n, 0, &m), -EINVAL);
	n = hdr(b, VU_SET_FEATURES, 1, 8);
	assert_int_equal(decode(b, n, 1, &m), -EINVAL);
	assert_int_equal(m.nfds, 1);	/* handed back for the caller to close */
	assert_int_equal(m.fds[0], 10);
	/* a whole message whose length disagrees with its header */
	assert_int_equal(decode(b, n - 1, 0, &m), -EINVAL);

	n = hdr(b, VU_SET_VRING_NUM, 1, 8);
	vu_put32(b + 12, 3);
	vu_put32(b + 16, 256);
	assert_int_equal(decode(b, n, 0, &m), 0);
	assert_int_equal(m.state.index, 3);
	assert_int_equal(m.state.num, 256);

	n = hdr(b, VU_SET_VRING_ADDR, 1, 40);
	vu_put32(b + 12, 2);
	vu_put64(b + 20, 0x1000);
	vu_put64(b + 28, 0x2000);
	vu_put64(b + 36, 0x3000);
	assert_int_equal(decode(b, n, 0, &m), 0);
	assert_true(m.addr.desc == 0x1000 && m.addr.used == 0x2000 && m.addr.avail == 0x3000);
	n = hdr(b, VU_SET_VRING_ADDR, 1, 32);
	assert_int_equal(decode(b, n, 0, &m), -EINVAL);

	n = hdr(b, VU_GET_FEATURES, 1, 0);
	assert_int_equal(decode(b, n, 0, &m), 0);
	n = hdr(b, 99, 1, 0);			/* unknown request */
	assert_int_equal(decode(b, n, 0, &m), -EINVAL);
	n = hdr(b, VU_SET_LOG_BASE, 1, 16);	/* not offered: refused */
	assert_int_equal(decode(b, n, 1, &m), -EINVAL);
}

static void test_vring_fds(void **state)
{
	uint8_t b[VU_MAX_MSG] = { 0 };
	struct vu_msg m;
	size_t n = hdr(b, VU_SET_VRING_KICK, 1, 8);

	vu_put64(b + 12, 5);
	assert_int_equal(decode(b, n, 1, &m), 0);
	assert_int_equal(m.fds[0], 10);
	assert_int_equal(decode(b, n, 0, &m), -EINVAL);		/* fd missing */
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);		/* one too many */
	vu_put64(b + 12, 5 | VU_VRING_NOFD);
	assert_int_equal(decode(b, n, 0, &m), 0);
	assert_int_equal(decode(b, n, 1, &m), -EINVAL);
	vu_put64(b + 12, 5 | (1ull << 20));			/* reserved bits */
	assert_int_equal(decode(b, n, 1, &m), -EINVAL);
}

static size_t mem_msg(uint8_t *b, unsigned n, const struct vu_region *r)
{
	size_t len = hdr(b, VU_SET_MEM_TABLE, 1, 8 + 32 * n);

	vu_put32(b + 12, n);
	vu_put32(b + 16, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *q = b + 20 + 32 * i;

		vu_put64(q, r[i].gpa);
		vu_put64(q + 8, r[i].size);
		vu_put64(q + 16, r[i].uva);
		vu_put64(q + 24, r[i].mmap_offset);
	}
	return len;
}

static void test_mem_table(void **state)
{
	uint8_t b[VU_MAX_MSG] = { 0 };
	struct vu_region r[9];
	struct vu_msg m;
	size_t n;

	for (unsigned i = 0; i < 9; i++)
		r[i] = (struct vu_region){ .gpa = i * 0x100000ull, .size = 0x100000,
					   .uva = 0x7f0000000000ull + i * 0x100000ull };
	n = mem_msg(b, 2, r);
	assert_int_equal(decode(b, n, 2, &m), 0);
	assert_int_equal(m.mem.nregions, 2);
	assert_true(m.mem.r[1].gpa == 0x100000 && m.mem.r[1].size == 0x100000);
	assert_int_equal(decode(b, n, 1, &m), -EINVAL);		/* an fd per region */
	n = mem_msg(b, 8, r);
	assert_int_equal(decode(b, n, 8, &m), 0);
	/* nine regions: more than we offer (no CONFIGURE_MEM_SLOTS); over VU_MAX_FDS too */
	n = mem_msg(b, 9, r);
	assert_int_equal(decode(b, n, 8, &m), -EINVAL);
	n = mem_msg(b, 0, r);
	assert_int_equal(decode(b, n, 0, &m), -EINVAL);
	/* size disagreeing with the count */
	n = mem_msg(b, 2, r);
	vu_put32(b + 12, 3);
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);
	/* overlapping guest ranges, overlapping user ranges, wrap-around, size 0 */
	r[1].gpa = 0x80000;
	n = mem_msg(b, 2, r);
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);
	r[1].gpa = 0x100000;
	r[1].uva = r[0].uva + 0x1000;
	n = mem_msg(b, 2, r);
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);
	r[1].uva = 0x7f0000100000ull;
	r[1].gpa = UINT64_MAX - 0x1000;
	n = mem_msg(b, 2, r);
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);
	r[1].gpa = 0x100000;
	r[1].size = 0;
	n = mem_msg(b, 2, r);
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);
	r[1].size = 0x100000;
	r[1].mmap_offset = UINT64_MAX - 10;
	n = mem_msg(b, 2, r);
	assert_int_equal(decode(b, n, 2, &m), -EINVAL);
}

static void test_reply_encoding(void **state)
{
	uint8_t b[VU_MAX_MSG];

	assert_int_equal(vu_msg_reply_u64(b, VU_GET_FEATURES, 0x1234), 20);
	assert_int_equal(vu_get32(b), VU_GET_FEATURES);
	assert_int_equal(vu_get32(b + 4), VU_VERSION | VU_FLAG_REPLY);
	assert_int_equal(vu_get32(b + 8), 8);
	assert_true(vu_get64(b + 12) == 0x1234);
	assert_int_equal(vu_msg_reply_state(b, VU_GET_VRING_BASE, 2, 77), 20);
	assert_int_equal(vu_get32(b + 12), 2);
	assert_int_equal(vu_get32(b + 16), 77);
}

static void test_mem_translate(void **state)
{
	static uint8_t ram0[4096], ram1[8192];
	struct vu_mem m = { .n = 2 };
	struct iovec iov[4];
	unsigned n = 0;

	m.r[0] = (struct vu_mem_region){ .gpa = 0, .size = sizeof(ram0), .uva = 0x10000, .hva = ram0 };
	m.r[1] = (struct vu_mem_region){ .gpa = 4096, .size = sizeof(ram1), .uva = 0x50000, .hva = ram1 };
	assert_ptr_equal(vu_mem_gpa(&m, 100, 10), ram0 + 100);
	assert_ptr_equal(vu_mem_gpa(&m, 4096 + 8000, 192), ram1 + 8000);
	assert_null(vu_mem_gpa(&m, 4096 + 8000, 193));		/* past the end */
	assert_null(vu_mem_gpa(&m, 4000, 200));			/* spans regions: not contiguous here */
	assert_null(vu_mem_gpa(&m, UINT64_MAX - 4, 10));
	assert_ptr_equal(vu_mem_uva(&m, 0x50010, 16), ram1 + 16);
	assert_null(vu_mem_uva(&m, 0x10000 + 4090, 16));
	/* a buffer across the two adjacent regions becomes two segments */
	assert_int_equal(vu_mem_gpa_iov(&m, 4000, 200, iov, &n, 4), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, ram0 + 4000);
	assert_int_equal(iov[0].iov_len, 96);
	assert_ptr_equal(iov[1].iov_base, ram1);
	assert_int_equal(iov[1].iov_len, 104);
	n = 0;
	assert_int_equal(vu_mem_gpa_iov(&m, 4096 + 8000, 300, iov, &n, 4), -EFAULT);
	n = 3;
	assert_int_equal(vu_mem_gpa_iov(&m, 4000, 200, iov, &n, 4), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_simple_payloads),
		cmocka_unit_test(test_vring_fds),
		cmocka_unit_test(test_mem_table),
		cmocka_unit_test(test_reply_encoding),
		cmocka_unit_test(test_mem_translate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
