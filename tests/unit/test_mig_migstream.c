/* Live migration: the stream codec (round trip, truncation, corruption, newer major, unknown
 * optional and critical tags, bounds) and export/import between two LUs on one backing file
 * (reservations, unit attentions per nexus, mode pages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mig/lu_mig.h"
#include "mig/migstream.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lu_feature.h"
#include "scsi/nexus.h"
#include "scsi/pr_lu.h"
#include "scsi/profile.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

static void sample(struct mig_lu_state *s)
{
	struct mig_reg g = { .key = 0x1122334455667788ull, .has_isid = true, .rel_port_id = 1,
			     .holder = true };
	struct mig_ua u = { .rel_port_id = 2, .ua_mask = 0x81 };
	struct mig_alua a = { .tag = 2, .state = 2, .status = 2 };

	mig_state_init(s);
	s->describe = strdup("{\"describe_version\": 1}");
	snprintf(s->target, sizeof(s->target), "iqn.2026-01.test:a");
	s->lun = 3;
	snprintf(s->serial, sizeof(s->serial), "0123456789abcdef");
	s->naa_len = 8;
	memcpy(s->naa, "\x3a\x1b\x2c\x3d\x4e\x5f\x60\x71", 8);
	snprintf(s->profile, sizeof(s->profile), "invar-2026.3");
	s->block_size = 4096;
	s->num_blocks = 1ull << 30;
	snprintf(s->backstore, sizeof(s->backstore), "file");
	snprintf(s->path, sizeof(s->path), "/var/lib/disk.img");
	s->readonly = false;
	s->removable = true;
	s->has_provisioning = true;
	s->can_unmap = true;
	s->thin = true;
	s->mode_len = 20;
	for (int i = 0; i < 20; i++) {
		s->mode_state[i] = (uint8_t)i;
		s->mode_saved[i] = (uint8_t)(100 + i);
	}
	s->ejected = true;
	s->has_pr = true;
	s->pr_generation = 9;
	s->pr_aptpl = true;
	s->pr_reserved = true;
	s->pr_type = PR_TYPE_WE_RO;
	snprintf(g.initiator, sizeof(g.initiator), "iqn.2026-01.host:one");
	g.isid[5] = 7;
	assert_int_equal(mig_state_add_reg(s, &g), 0);
	g.key = 5;
	g.holder = false;
	g.all_tg_pt = true;
	g.has_isid = false;
	assert_int_equal(mig_state_add_reg(s, &g), 0);
	snprintf(u.initiator, sizeof(u.initiator), "iqn.2026-01.host:two");
	u.isid[0] = 0x80;
	assert_int_equal(mig_state_add_ua(s, &u), 0);
	assert_int_equal(mig_state_add_alua(s, &a), 0);
}

static void assert_same(const struct mig_lu_state *a, const struct mig_lu_state *b)
{
	assert_string_equal(a->describe, b->describe);
	assert_string_equal(a->target, b->target);
	assert_int_equal(a->lun, b->lun);
	assert_string_equal(a->serial, b->serial);
	assert_int_equal(a->naa_len, b->naa_len);
	assert_memory_equal(a->naa, b->naa, a->naa_len);
	assert_string_equal(a->profile, b->profile);
	assert_int_equal(a->block_size, b->block_size);
	assert_true(a->num_blocks == b->num_blocks);
	assert_string_equal(a->backstore, b->backstore);
	assert_string_equal(a->path, b->path);
	assert_true(a->size == b->size);
	assert_int_equal(a->readonly, b->readonly);
	assert_int_equal(a->removable, b->removable);
	assert_int_equal(a->has_provisioning, b->has_provisioning);
	assert_int_equal(a->can_unmap, b->can_unmap);
	assert_int_equal(a->unmap_zeroes, b->unmap_zeroes);
	assert_int_equal(a->thin, b->thin);
	assert_int_equal(a->mode_len, b->mode_len);
	assert_memory_equal(a->mode_state, b->mode_state, a->mode_len);
	assert_memory_equal(a->mode_saved, b->mode_saved, a->mode_len);
	assert_int_equal(a->stopped, b->stopped);
	assert_int_equal(a->ejected, b->ejected);
	assert_int_equal(a->has_pr, b->has_pr);
	assert_int_equal(a->pr_generation, b->pr_generation);
	assert_int_equal(a->pr_aptpl, b->pr_aptpl);
	assert_int_equal(a->pr_reserved, b->pr_reserved);
	assert_int_equal(a->pr_type, b->pr_type);
	assert_int_equal(a->nregs, b->nregs);
	for (unsigned i = 0; i < a->nregs; i++) {
		assert_true(a->regs[i].key == b->regs[i].key);
		assert_string_equal(a->regs[i].initiator, b->regs[i].initiator);
		assert_memory_equal(a->regs[i].isid, b->regs[i].isid, 6);
		assert_int_equal(a->regs[i].has_isid, b->regs[i].has_isid);
		assert_int_equal(a->regs[i].rel_port_id, b->regs[i].rel_port_id);
		assert_int_equal(a->regs[i].all_tg_pt, b->regs[i].all_tg_pt);
		assert_int_equal(a->regs[i].holder, b->regs[i].holder);
	}
	assert_int_equal(a->nuas, b->nuas);
	for (unsigned i = 0; i < a->nuas; i++) {
		assert_string_equal(a->uas[i].initiator, b->uas[i].initiator);
		assert_memory_equal(a->uas[i].isid, b->uas[i].isid, 6);
		assert_int_equal(a->uas[i].rel_port_id, b->uas[i].rel_port_id);
		assert_int_equal(a->uas[i].ua_mask, b->uas[i].ua_mask);
	}
	assert_int_equal(a->nalua, b->nalua);
	assert_memory_equal(a->alua, b->alua, a->nalua * sizeof(a->alua[0]));
}

static void test_round_trip(void **state)
{
	struct mig_lu_state a, b;
	uint8_t *buf;
	size_t len;
	char err[256];

	sample(&a);
	assert_int_equal(mig_encode(&a, &buf, &len), 0);
	assert_memory_equal(buf, MIG_MAGIC, MIG_MAGIC_LEN);
	assert_int_equal(get_be16(buf + 8), MIG_VERSION_MAJOR);
	assert_int_equal(mig_decode(buf, len, &b, err, sizeof(err)), 0);
	assert_same(&a, &b);
	free(buf);
	mig_state_free(&a);
	mig_state_free(&b);
}

/* Every prefix of a valid stream is refused, and so is every single-byte change: the END
 * record and its CRC make a stream all or nothing. */
static void test_truncated_and_corrupt(void **state)
{
	struct mig_lu_state a, b;
	uint8_t *buf;
	size_t len;
	char err[256];

	sample(&a);
	assert_int_equal(mig_encode(&a, &buf, &len), 0);
	for (size_t n = 0; n < len; n++) {
		err[0] = 0;
		assert_int_not_equal(mig_decode(buf, n, &b, err, sizeof(err)), 0);
		assert_true(err[0] != 0);
		assert_null(b.regs);
	}
	for (size_t i = MIG_HDR_LEN; i < len; i++) {
		buf[i] ^= 0x5a;
		assert_int_not_equal(mig_decode(buf, len, &b, err, sizeof(err)), 0);
		buf[i] ^= 0x5a;
	}
	/* Trailing garbage after END. */
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(mig_decode(buf, len + 1, &b, err, sizeof(err)), -EINVAL);
	free(buf);
	mig_state_free(&a);
}

/* A stream built record by record, for versions and tags this invar does not write. */
static void minimal(struct mig_buf *m, uint16_t major, uint16_t minor)
{
	uint8_t v[64];

	memset(m, 0, sizeof(*m));
	mig_buf_header(m, major, minor);
	/* identity: target "t", lun 0, serial "s", no NAA */
	memcpy(v, "\x00\x01t\x00\x00\x00\x00\x00\x01s\x00", 11);
	mig_buf_record(m, MIG_TAG_IDENTITY, v, 11);
	mig_buf_record(m, MIG_TAG_PROFILE, "\x00\x0cinvar-2026.1", 14);
	memcpy(v, "\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x10\x00", 12);
	mig_buf_record(m, MIG_TAG_GEOMETRY, v, 12);
	memcpy(v, "\x00\x03ram\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
	mig_buf_record(m, MIG_TAG_OPTIONS, v, 16);
	mig_buf_record(m, MIG_TAG_MODE, "\x00", 1);
}

static void test_versions_and_tags(void **state)
{
	struct mig_lu_state s;
	struct mig_buf m;
	char err[256];

	/* The minimal stream decodes. */
	minimal(&m, 1, 0);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), 0);
	assert_string_equal(s.profile, "invar-2026.1");
	assert_int_equal(s.num_blocks, 4096);
	mig_state_free(&s);
	free(m.p);

	/* A newer minor with an unknown optional tag, and a known record with a field appended:
	 * read, the unknown parts skipped. */
	minimal(&m, 1, 7);
	mig_buf_record(&m, 0x0777, "future", 6);
	mig_buf_record(&m, MIG_TAG_LU_FLAGS, "\x01\xff\xff", 3);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.minor, 7);
	assert_true(s.stopped);
	mig_state_free(&s);
	free(m.p);

	/* An unknown critical tag is refused. */
	minimal(&m, 1, 1);
	mig_buf_record(&m, 0x0777 | MIG_TAG_CRITICAL, "x", 1);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "critical"));
	free(m.p);

	/* A newer major is refused whatever it holds. */
	minimal(&m, 2, 0);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "newer"));
	free(m.p);

	/* Duplicated singleton. */
	minimal(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_PROFILE, "\x00\x0cinvar-2026.2", 14);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);

	/* A mandatory record missing. */
	memset(&m, 0, sizeof(m));
	mig_buf_header(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_PROFILE, "\x00\x0cinvar-2026.2", 14);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "mandatory"));
	free(m.p);
}

/* Hostile lengths: strings longer than their field, a record length past the end or over the
 * bound, absurd counts and geometry. */
static void test_hostile(void **state)
{
	struct mig_lu_state s;
	struct mig_buf m;
	char err[256];
	uint8_t v[600];

	/* Profile name of 200 bytes for a 32-byte field. */
	put_be16(v, 200);
	memset(v + 2, 'a', 200);
	memset(&m, 0, sizeof(m));
	mig_buf_header(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_PROFILE, v, 202);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);

	/* A string length past the record's end. */
	minimal(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_PR, "\x00\x00\x00\x01\x00\x00\x00", 7);
	mig_buf_record(&m, MIG_TAG_PR_REG, "\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff", 10);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);

	/* Record length announced past the end of the stream, and over MIG_RECORD_MAX. */
	minimal(&m, 1, 0);
	assert_int_equal(mig_buf_finish(&m), 0);
	put_be32(m.p + MIG_HDR_LEN + 2, 0x7fffffff);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	put_be32(m.p + MIG_HDR_LEN + 2, 1000);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);

	/* Block size zero; NAA of 5 bytes; a registration before the PR record. */
	minimal(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_GEOMETRY, "\0\0\0\0\0\0\0\0\0\0\0\1", 12);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);
	memset(&m, 0, sizeof(m));
	mig_buf_header(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_IDENTITY, "\x00\x01t\x00\x00\x00\x00\x00\x01s\x05" "abcde", 16);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);
	minimal(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_PR_REG, "\0\0\0\0\0\0\0\1\0\1i\0\0\0\0\0\0\0\1\0", 20);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	free(m.p);

	/* More registrations than a LU holds. */
	minimal(&m, 1, 0);
	mig_buf_record(&m, MIG_TAG_PR, "\x00\x00\x00\x01\x00\x00\x00", 7);
	for (unsigned i = 0; i <= MIG_MAX_REGS; i++)
		mig_buf_record(&m, MIG_TAG_PR_REG, "\0\0\0\0\0\0\0\1\0\1i\0\0\0\0\0\0\0\1\0", 20);
	assert_int_equal(mig_buf_finish(&m), 0);
	assert_int_equal(mig_decode(m.p, m.len, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too many"));
	free(m.p);

	/* Not a stream at all. */
	assert_int_equal(mig_decode((const uint8_t *)"INVARMIX", 8, &s, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(mig_decode(NULL, 0, &s, err, sizeof(err)), -EINVAL);
}

/* ---- export / import ---------------------------------------------------------------------- */

static char img[64];

static struct lu *make_lu(void)
{
	struct lu_config c;
	struct lu *lu;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.backstore, sizeof(c.backstore), "file");
	snprintf(c.path, sizeof(c.path), "%s", img);
	c.size = 4 << 20;
	snprintf(c.profile, sizeof(c.profile), "invar-2026.3");
	if (lu_create(&c, "iqn.2026-01.test:mig/0", &lu, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return lu;
}

static struct it_nexus nexus(uint64_t id, const char *name, uint8_t isid_last, uint16_t port)
{
	struct it_nexus n;

	memset(&n, 0, sizeof(n));
	n.id = id;
	snprintf(n.initiator, sizeof(n.initiator), "%s", name);
	n.isid[0] = 0x80;
	n.isid[5] = isid_last;
	snprintf(n.target, sizeof(n.target), "iqn.2026-01.test:mig");
	n.tpgt = port;
	n.rel_port_id = port;
	return n;
}

static void test_export_import(void **state)
{
	struct it_nexus n1 = nexus(1, "iqn.2026-01.host:one", 1, 1);
	struct it_nexus n2 = nexus(2, "iqn.2026-01.host:two", 2, 1);
	struct it_nexus d1 = nexus(101, "iqn.2026-01.host:one", 1, 1);
	struct it_nexus d2 = nexus(102, "iqn.2026-01.host:two", 2, 1);
	struct it_nexus d3 = nexus(103, "iqn.2026-01.host:three", 3, 1);
	struct pr_out o = { .sa = PR_OUT_REGISTER, .sa_key = 0xaaaa };
	struct mig_lu_state s, s2;
	struct pr_state pa, pb;
	uint64_t *ab = NULL;
	unsigned nab = 0;
	struct lu *a, *b;
	uint8_t *buf;
	size_t len;
	char err[256];
	size_t ml;
	int fd;

	snprintf(img, sizeof(img), "/tmp/invar-migtest-XXXXXX");
	fd = mkstemp(img);
	assert_true(fd >= 0);
	close(fd);
	a = make_lu();
	assert_non_null(a);

	/* Two nexuses identified; one registers and reserves, the other registers. */
	lu_nexus_identify(a, &n1);
	lu_nexus_identify(a, &n2);
	assert_int_equal(lu_ua_take(a, 1), UA_POWER_ON);
	assert_int_equal(lu_ua_take(a, 2), UA_POWER_ON);
	assert_int_equal(pr_lu_out(a, &n1, &o, &ab, &nab).r, PR_OK);
	free(ab);
	o.sa_key = 0xbbbb;
	assert_int_equal(pr_lu_out(a, &n2, &o, &ab, &nab).r, PR_OK);
	free(ab);
	o = (struct pr_out){ .sa = PR_OUT_RESERVE, .key = 0xaaaa, .type = PR_TYPE_WE_RO };
	assert_int_equal(pr_lu_out(a, &n1, &o, &ab, &nab).r, PR_OK);
	free(ab);
	/* Nexus 2 has MODE PARAMETERS CHANGED pending; nexus 1 nothing. */
	lu_ua_establish(a, 2, UA_MODE_CHANGED);
	/* A changed mode page: flip a byte of the current values (what MODE SELECT does). */
	ml = scsi_profile_mode_state_len(a->profile);
	assert_true(ml > 0);
	pthread_mutex_lock(&a->lock);
	a->mode.cur[ml - 1] ^= 0x01;
	pthread_mutex_unlock(&a->lock);

	/* Export, through the wire, import into a fresh LU on the same file. */
	mig_state_init(&s);
	assert_int_equal(lu_mig_export(a, "iqn.2026-01.test:mig", 0, &s), 0);
	assert_int_equal(s.nregs, 2);
	assert_int_equal(s.nuas, 2);
	assert_int_equal(mig_encode(&s, &buf, &len), 0);
	assert_int_equal(mig_decode(buf, len, &s2, err, sizeof(err)), 0);
	free(buf);
	b = make_lu();
	assert_non_null(b);
	assert_int_equal(lu_mig_check(b, &s2, err, sizeof(err)), 0);
	assert_int_equal(lu_mig_import(b, &s2, err, sizeof(err)), 0);

	/* Same reservations, generation included. */
	assert_int_equal(pr_lu_snapshot(a, &pa), 0);
	assert_int_equal(pr_lu_snapshot(b, &pb), 0);
	assert_int_equal(pa.generation, pb.generation);
	assert_int_equal(pa.reserved, pb.reserved);
	assert_int_equal(pa.type, pb.type);
	assert_int_equal(pa.nregs, pb.nregs);
	for (unsigned i = 0; i < pa.nregs; i++) {
		assert_true(pa.regs[i].key == pb.regs[i].key);
		assert_string_equal(pa.regs[i].port.initiator, pb.regs[i].port.initiator);
		assert_memory_equal(pa.regs[i].port.isid, pb.regs[i].port.isid, 6);
		assert_int_equal(pa.regs[i].holder, pb.regs[i].holder);
	}
	/* The reservation applies to the same initiator ports on new nexus ids. */
	assert_false(pr_lu_conflict(b, &d1, PR_ACCESS_WRITE));
	assert_false(pr_lu_conflict(b, &d2, PR_ACCESS_WRITE));	/* registrant, WE_RO */
	assert_true(pr_lu_conflict(b, &d3, PR_ACCESS_WRITE));
	/* Same mode pages, WCE mirrored. */
	assert_memory_equal(a->mode.cur, b->mode.cur, ml);
	assert_memory_equal(a->mode.saved, b->mode.saved, ml);
	assert_int_equal(atomic_load(&a->mode.wce), atomic_load(&b->mode.wce));
	/* Unit attentions follow the initiator ports: nexus 1 continues without POWER ON, nexus 2
	 * sees MODE PARAMETERS CHANGED, a stranger gets POWER ON as a new nexus does. */
	lu_nexus_identify(b, &d1);
	lu_nexus_identify(b, &d2);
	lu_nexus_identify(b, &d3);
	assert_int_equal(lu_ua_take(b, 101), -1);
	assert_int_equal(lu_ua_take(b, 102), UA_MODE_CHANGED);
	assert_int_equal(lu_ua_take(b, 102), -1);
	assert_int_equal(lu_ua_take(b, 103), UA_POWER_ON);
	assert_int_equal(atomic_load(&b->nx.ua_pending), 0);

	/* An incompatible LU is refused by the check: different block size. */
	s2.block_size = 512 == b->block_size ? 4096 : 512;
	assert_int_equal(lu_mig_check(b, &s2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block size"));

	pr_state_free(&pa);
	pr_state_free(&pb);
	mig_state_free(&s);
	mig_state_free(&s2);
	lu_put(a);
	lu_put(b);
	unlink(img);
}

/* Every LU feature has hooks named and a synchronisation rule, and migration decides about
 * each one: it carries it (export and import) or says why not. A feature added to
 * scsi/lu_feature.h without a row in mig/lu_mig.c fails here. */
static void test_feature_rows(void **state)
{
	for (unsigned i = 0; i < LU_F_COUNT; i++) {
		const struct lu_mig_row *r = &lu_mig_rows[i];
		bool carried = r->export && r->import;

		assert_non_null(lu_features[i].name);
		assert_non_null(lu_features[i].sync);
		if (!carried && !(r->not_carried && r->not_carried[0]))
			fail_msg("LU feature %s: migration neither carries it nor says why not",
				 lu_features[i].name);
		assert_false(carried && r->not_carried);	/* one or the other */
		assert_true(!r->export == !r->import);		/* never half */
	}
}

/* A SANITIZE failure mode travels (MAINT record, stream 1.1); a running one refuses export. */
static void test_maint_carried(void **state)
{
	struct mig_lu_state s, s2;
	struct lu *a, *b;
	uint8_t *buf;
	size_t len;
	char err[256];

	snprintf(img, sizeof(img), "/tmp/invar-mig-maint-%d.img", (int)getpid());
	a = make_lu();
	assert_non_null(a);
	atomic_store(&a->maint.state, SBC_MAINT_SANITIZE);
	mig_state_init(&s);
	assert_int_equal(lu_mig_export(a, "iqn.2026-01.test:mig", 0, &s), -EBUSY);
	mig_state_free(&s);

	atomic_store(&a->maint.state, SBC_MAINT_SANITIZE_FAILED);
	atomic_store(&a->maint.ause, true);
	mig_state_init(&s);
	assert_int_equal(lu_mig_export(a, "iqn.2026-01.test:mig", 0, &s), 0);
	assert_int_equal(mig_encode(&s, &buf, &len), 0);
	assert_int_equal(mig_decode(buf, len, &s2, err, sizeof(err)), 0);
	free(buf);
	assert_int_equal(s2.maint_state, SBC_MAINT_SANITIZE_FAILED);
	assert_true(s2.maint_ause);
	b = make_lu();
	assert_non_null(b);
	assert_int_equal(lu_mig_import(b, &s2, err, sizeof(err)), 0);
	assert_int_equal(atomic_load(&b->maint.state), SBC_MAINT_SANITIZE_FAILED);
	assert_true(atomic_load(&b->maint.ause));

	/* A MAINT record naming a running operation is malformed. */
	s.maint_state = SBC_MAINT_FORMAT;
	assert_int_equal(mig_encode(&s, &buf, &len), 0);
	mig_state_free(&s2);
	assert_int_equal(mig_decode(buf, len, &s2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "malformed"));
	free(buf);
	/* No failure mode: no MAINT record, so a 1.0 destination still takes the stream. */
	s.maint_state = 0;
	assert_int_equal(mig_encode(&s, &buf, &len), 0);
	for (size_t i = MIG_HDR_LEN; i + MIG_REC_HDR_LEN <= len;) {
		uint16_t tag = get_be16(buf + i);

		assert_int_not_equal(tag, MIG_TAG_MAINT);
		i += MIG_REC_HDR_LEN + get_be32(buf + i + 2);
	}
	free(buf);
	mig_state_free(&s);
	mig_state_free(&s2);
	lu_put(a);
	lu_put(b);
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_and_corrupt),
		cmocka_unit_test(test_versions_and_tags),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_export_import),
		cmocka_unit_test(test_feature_rows),
		cmocka_unit_test(test_maint_carried),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
