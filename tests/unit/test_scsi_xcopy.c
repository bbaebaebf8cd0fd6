/* EXTENDED COPY (LID1) parameter-list decoder: good lists decode field by field, and hostile
 * lengths, counts and types are refused with the SPC-4 reason before anything is read past the
 * bytes received. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backstore/backstore.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "scsi/xcopy.h"
#include "target/target.h"
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

/* ---- the copy engine, on LUs over a backstore that fails or stalls on demand ------------- */

#define FB_BLOCKS 4096u
#define FB_BS 512u

struct fake_bs {
	uint8_t *data;
	uint64_t fail_read_from;	/* reads at or past this byte offset fail with -EIO */
	bool defer;			/* park I/O instead of completing it */
	struct bs_io *parked[16];
	unsigned n_parked;
};

static int fake_open(struct backstore *bs, const struct bs_config *cfg, char *err, size_t n)
{
	return 0;
}

static void fake_close(struct backstore *bs)
{
	struct fake_bs *f = bs->priv;

	free(f->data);
	free(f);
}

static void fake_finish(struct backstore *bs, struct bs_io *io)
{
	struct fake_bs *f = bs->priv;

	if (io->op == BS_OP_READ && io->offset + io->len > f->fail_read_from) {
		io->done(io, -EIO);
		return;
	}
	if (io->op == BS_OP_READ)
		memcpy(io->buf, f->data + io->offset, io->len);
	else if (io->op == BS_OP_WRITE)
		memcpy(f->data + io->offset, io->buf, io->len);
	io->done(io, 0);
}

static void fake_submit(struct backstore *bs, struct bs_io *io)
{
	struct fake_bs *f = bs->priv;

	if (f->defer && f->n_parked < 16) {
		f->parked[f->n_parked++] = io;
		return;
	}
	fake_finish(bs, io);
}

static const struct backstore_ops fake_ops = {
	.size = sizeof(struct backstore_ops),
	.version = BACKSTORE_OPS_VERSION,
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.submit = fake_submit,
};

static struct lu *fake_lu(const char *seed, uint8_t fill, struct fake_bs **out)
{
	struct lu_config cfg = { .backstore = "ram", .size = FB_BLOCKS * FB_BS,
				 .profile = "invar-2026.3" };
	struct backstore *bs = calloc(1, sizeof(*bs));
	struct fake_bs *f = calloc(1, sizeof(*f));
	char err[256] = "";
	struct lu *l;

	assert_non_null(bs);
	assert_non_null(f);
	f->data = malloc(FB_BLOCKS * FB_BS);
	assert_non_null(f->data);
	for (unsigned i = 0; i < FB_BLOCKS * FB_BS; i++)
		f->data[i] = (uint8_t)(fill + i / FB_BS);
	f->fail_read_from = UINT64_MAX;
	bs->ops = &fake_ops;
	bs->size = FB_BLOCKS * FB_BS;
	bs->priv = f;
	strcpy(bs->type, "fake");
	assert_int_equal(lu_create_on(&cfg, bs, seed, &l, err, sizeof(err)), 0);
	*out = f;
	return l;
}

static struct it_nexus nx = { .id = 1, .initiator = "iqn.2026-01.test:init",
			      .target = "iqn.2026-01.test:tgt", .tpgt = 1, .rel_port_id = 1 };
static struct lun_view view;
static struct lu *lu_a, *lu_b, *lu_c;
static struct fake_bs *fb_a, *fb_b, *fb_c;
static int n_done;

static void count_done(struct scsi_task *t)
{
	n_done++;
}

/* Sets up t for cdb and data-out on lu_a and runs setup; true if it should be executed. */
static bool start(struct scsi_task *t, const uint8_t *cdb, const uint8_t *out, uint32_t len)
{
	memset(t, 0, sizeof(*t));
	lu_get(lu_a);
	t->lu = lu_a;
	t->nexus = &nx;
	t->view = &view;
	memcpy(t->cdb, cdb, 16);
	t->cdb_len = 16;
	t->exp_xfer_len = len ? len : 4096;
	t->done = count_done;
	if (scsi_task_setup(t) < 0)
		return false;
	if (t->data_out_len) {
		assert_int_equal(scsi_task_alloc_buf(t, t->data_out_len), 0);
		memcpy(t->buf, out, len);
	}
	return true;
}

static void run_task(struct scsi_task *t, const uint8_t *cdb, const uint8_t *out, uint32_t len)
{
	n_done = 0;
	if (start(t, cdb, out, len)) {
		scsi_task_execute(t);
		assert_int_equal(n_done, 1);
	}
}

static void task_sense(const struct scsi_task *t, uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(t->status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(t->sense[2] & 0xf, key);
	assert_int_equal(t->sense[12], asc);
	assert_int_equal(t->sense[13], ascq);
}

/* An EXTENDED COPY from CSCD 0 to CSCD 1 of the given LUs, one segment per (src, dst, n). */
static uint32_t build_copy(uint8_t *b, uint8_t list_id, uint8_t usage, struct lu *src,
			   struct lu *dst, unsigned nseg, const uint64_t (*segs)[3], uint8_t *cdb)
{
	unsigned off = put_hdr(b, list_id, usage, 2 * XCOPY_CSCD_LEN, nseg * XCOPY_B2B_LEN, 0);
	struct lu *l[2] = { src, dst };

	for (unsigned i = 0; i < 2; i++) {
		off += put_cscd(b + off, XCOPY_DESC_ID);
		memcpy(b + off - XCOPY_CSCD_LEN + 8, l[i]->cfg.naa, 8);
	}
	for (unsigned i = 0; i < nseg; i++)
		off += put_seg(b + off, XCOPY_DESC_B2B, 0, 1, (uint16_t)segs[i][0], segs[i][1],
			       segs[i][2]);
	memset(cdb, 0, 16);
	cdb[0] = OP_EXTENDED_COPY;
	put_be32(cdb + 10, off);
	return off;
}

static void rcr_cdb(uint8_t *cdb, uint8_t sa, uint8_t list_id)
{
	memset(cdb, 0, 16);
	cdb[0] = OP_RECEIVE_COPY_RESULTS;
	cdb[1] = sa;
	cdb[2] = list_id;
	put_be32(cdb + 10, 1024);
}

static int engine_setup(void **state)
{
	struct scsi_task t;
	uint8_t tur[16] = { OP_TEST_UNIT_READY };

	lu_a = fake_lu("iqn.2026-01.test:tgt/0", 0x10, &fb_a);
	lu_b = fake_lu("iqn.2026-01.test:tgt/1", 0x80, &fb_b);
	lu_c = fake_lu("iqn.2026-01.test:other/0", 0xc0, &fb_c);
	memset(&view, 0, sizeof(view));
	view.lus[0] = lu_a;
	view.lus[1] = lu_b;
	view.count = 2;
	run_task(&t, tur, NULL, 0);	/* POWER ON unit attention */
	scsi_task_release(&t);
	return 0;
}

static int engine_teardown(void **state)
{
	lu_put(lu_a);
	lu_put(lu_b);
	lu_put(lu_c);
	return 0;
}

static void test_copy_moves_data(void **state)
{
	static uint8_t pl[1024];
	static const uint64_t segs[2][3] = { { 2048, 0, 100 }, { 3, 4000, 3000 } };
	uint8_t cdb[16];
	struct scsi_task t;
	uint32_t len = build_copy(pl, 1, XCOPY_LIST_HOLD, lu_a, lu_b, 2, segs, cdb);

	run_task(&t, cdb, pl, len);
	assert_int_equal(t.status, SCSI_STATUS_GOOD);
	scsi_task_release(&t);
	/* 2048 blocks = 1 MiB: exactly one chunk boundary crossed; then a short segment. */
	assert_memory_equal(fb_b->data + 100 * FB_BS, fb_a->data, 2048 * FB_BS);
	assert_memory_equal(fb_b->data + 3000 * FB_BS, fb_a->data + 4000 * FB_BS, 3 * FB_BS);
	assert_int_equal(fb_b->data[99 * FB_BS], (uint8_t)(0x80 + 99));
	rcr_cdb(cdb, 0, 1);
	run_task(&t, cdb, NULL, 0);
	assert_int_equal(t.status, SCSI_STATUS_GOOD);
	assert_int_equal(t.data_in_len, 12);
	assert_int_equal(t.buf[4], 0x01);		/* completed, no errors */
	assert_int_equal(get_be16(t.buf + 5), 2);
	assert_int_equal(get_be32(t.buf + 8), (2048 + 3) * FB_BS);
	scsi_task_release(&t);
}

static void test_cscd_outside_view(void **state)
{
	static uint8_t pl[1024];
	static const uint64_t segs[1][3] = { { 8, 0, 0 } };
	uint8_t cdb[16], before[8 * FB_BS];
	struct scsi_task t;
	uint32_t len;

	memcpy(before, fb_c->data, sizeof(before));
	len = build_copy(pl, 2, XCOPY_LIST_HOLD, lu_a, lu_c, 1, segs, cdb);
	run_task(&t, cdb, pl, len);
	task_sense(&t, SK_COPY_ABORTED, 0x0d, 0x02);
	scsi_task_release(&t);
	assert_memory_equal(fb_c->data, before, sizeof(before));
	len = build_copy(pl, 2, XCOPY_LIST_HOLD, lu_c, lu_b, 1, segs, cdb);
	run_task(&t, cdb, pl, len);
	task_sense(&t, SK_COPY_ABORTED, 0x0d, 0x02);
	scsi_task_release(&t);
	/* Nothing held for a refused list. */
	rcr_cdb(cdb, 0, 2);
	run_task(&t, cdb, NULL, 0);
	task_sense(&t, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_task_release(&t);
}

static void test_error_mid_copy(void **state)
{
	static uint8_t pl[1024];
	static const uint64_t segs[2][3] = { { 8, 0, 500 }, { 8, 1000, 600 } };
	uint8_t cdb[16];
	struct scsi_task t;
	uint32_t len = build_copy(pl, 3, XCOPY_LIST_HOLD, lu_a, lu_b, 2, segs, cdb);

	fb_a->fail_read_from = 1000 * FB_BS;
	run_task(&t, cdb, pl, len);
	fb_a->fail_read_from = UINT64_MAX;
	task_sense(&t, SK_COPY_ABORTED, 0x11, 0x00);
	/* Segment pointer: SKSV, relative to the parameter list, the second segment. */
	assert_int_equal(t.sense[15], 0x80);
	assert_int_equal(get_be16(t.sense + 16), 16 + 64 + 28);
	scsi_task_release(&t);
	/* The first segment landed. */
	assert_memory_equal(fb_b->data + 500 * FB_BS, fb_a->data, 8 * FB_BS);

	rcr_cdb(cdb, 0, 3);
	run_task(&t, cdb, NULL, 0);
	assert_int_equal(t.buf[4], 0x02);		/* completed with errors */
	assert_int_equal(get_be16(t.buf + 5), 1);
	assert_int_equal(get_be32(t.buf + 8), 8 * FB_BS);
	scsi_task_release(&t);
	rcr_cdb(cdb, 4, 3);
	run_task(&t, cdb, NULL, 0);
	assert_int_equal(t.status, SCSI_STATUS_GOOD);
	assert_int_equal(get_be32(t.buf), 56 + 18);
	assert_int_equal(t.buf[57], SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(get_be16(t.buf + 58), 18);
	assert_int_equal(t.buf[60 + 2] & 0xf, SK_COPY_ABORTED);
	scsi_task_release(&t);
	/* Both parts read: the record is gone. */
	run_task(&t, cdb, NULL, 0);
	task_sense(&t, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_task_release(&t);
}

static void test_in_progress_and_busy(void **state)
{
	static uint8_t pl[1024];
	static const uint64_t segs[1][3] = { { 8, 0, 700 } };
	static struct scsi_task running[XCOPY_TOTAL_CONCURRENT];
	uint8_t cdb[16];
	struct scsi_task t;
	uint32_t len;

	fb_a->defer = true;
	/* List id 9 running: the same list id is OPERATION IN PROGRESS, COPY STATUS says so. */
	len = build_copy(pl, 9, XCOPY_LIST_HOLD, lu_a, lu_b, 1, segs, cdb);
	n_done = 0;
	assert_true(start(&running[0], cdb, pl, len));
	scsi_task_execute(&running[0]);
	assert_int_equal(n_done, 0);
	run_task(&t, cdb, pl, len);
	task_sense(&t, SK_ILLEGAL_REQUEST, 0x00, 0x16);
	scsi_task_release(&t);
	rcr_cdb(cdb, 0, 9);
	run_task(&t, cdb, NULL, 0);
	assert_int_equal(t.buf[4], 0x00);		/* in progress */
	scsi_task_release(&t);
	/* Fill the copy manager with list-less copies; one more is BUSY. */
	for (unsigned i = 1; i < XCOPY_TOTAL_CONCURRENT; i++) {
		len = build_copy(pl, 0, XCOPY_LIST_NONE, lu_a, lu_b, 1, segs, cdb);
		assert_true(start(&running[i], cdb, pl, len));
		scsi_task_execute(&running[i]);
	}
	run_task(&t, cdb, pl, len);
	assert_int_equal(t.status, SCSI_STATUS_BUSY);
	scsi_task_release(&t);
	/* Let everything finish (each read then its write). */
	fb_a->defer = false;
	n_done = 0;
	for (unsigned i = 0; i < fb_a->n_parked; i++)
		fake_finish(lu_a->bs, fb_a->parked[i]);
	fb_a->n_parked = 0;
	assert_int_equal(n_done, XCOPY_TOTAL_CONCURRENT);
	for (unsigned i = 0; i < XCOPY_TOTAL_CONCURRENT; i++) {
		assert_int_equal(running[i].status, SCSI_STATUS_GOOD);
		scsi_task_release(&running[i]);
	}
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
	const struct CMUnitTest engine[] = {
		cmocka_unit_test(test_copy_moves_data),
		cmocka_unit_test(test_cscd_outside_view),
		cmocka_unit_test(test_error_mid_copy),
		cmocka_unit_test(test_in_progress_and_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) |
	       cmocka_run_group_tests(engine, engine_setup, engine_teardown);
}
