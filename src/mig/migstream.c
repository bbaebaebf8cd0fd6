/* The live-migration stream codec (format in migstream.h and docs/design/migration.md).
 * Everything is read through a bounds-checked cursor: a length is compared with what is left
 * before a byte of the value is touched, and every string with its destination before it is
 * copied. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig/migstream.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

/* ---- state ------------------------------------------------------------------------------ */

void mig_state_init(struct mig_lu_state *s)
{
	memset(s, 0, sizeof(*s));
}

void mig_state_free(struct mig_lu_state *s)
{
	free(s->describe);
	free(s->regs);
	free(s->uas);
	mig_state_init(s);
}

int mig_state_add_reg(struct mig_lu_state *s, const struct mig_reg *r)
{
	struct mig_reg *n;

	if (s->nregs >= MIG_MAX_REGS)
		return -E2BIG;
	n = realloc(s->regs, (s->nregs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->regs = n;
	s->regs[s->nregs++] = *r;
	return 0;
}

int mig_state_add_ua(struct mig_lu_state *s, const struct mig_ua *u)
{
	struct mig_ua *n;

	if (s->nuas >= MIG_MAX_UAS)
		return -E2BIG;
	n = realloc(s->uas, (s->nuas + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->uas = n;
	s->uas[s->nuas++] = *u;
	return 0;
}

int mig_state_add_alua(struct mig_lu_state *s, const struct mig_alua *a)
{
	if (s->nalua >= MIG_MAX_ALUA)
		return -E2BIG;
	s->alua[s->nalua++] = *a;
	return 0;
}

/* ---- writer ----------------------------------------------------------------------------- */

static uint8_t *buf_grow(struct mig_buf *b, size_t n)
{
	uint8_t *p;

	if (b->err)
		return NULL;
	if (n > MIG_STREAM_MAX || b->len > MIG_STREAM_MAX - n) {
		b->err = -E2BIG;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	p = b->p + b->len;
	b->len += n;
	return p;
}

void mig_buf_header(struct mig_buf *b, uint16_t major, uint16_t minor)
{
	uint8_t *p = buf_grow(b, MIG_HDR_LEN);

	if (!p)
		return;
	memcpy(p, MIG_MAGIC, MIG_MAGIC_LEN);
	put_be16(p + 8, major);
	put_be16(p + 10, minor);
	put_be32(p + 12, 0);
}

void mig_buf_record(struct mig_buf *b, uint16_t tag, const void *val, size_t len)
{
	uint8_t *p;

	if (len > MIG_RECORD_MAX) {
		if (!b->err)
			b->err = -E2BIG;
		return;
	}
	p = buf_grow(b, MIG_REC_HDR_LEN + len);
	if (!p)
		return;
	put_be16(p, tag);
	put_be32(p + 2, (uint32_t)len);
	if (len)
		memcpy(p + MIG_REC_HDR_LEN, val, len);
}

int mig_buf_finish(struct mig_buf *b)
{
	uint8_t crc[4];

	if (b->err)
		return b->err;
	/* The CRC covers the END record's own header too, so a cut between records is caught. */
	if (!buf_grow(b, MIG_REC_HDR_LEN))
		return b->err;
	put_be16(b->p + b->len - MIG_REC_HDR_LEN, MIG_TAG_END);
	put_be32(b->p + b->len - MIG_REC_HDR_LEN + 2, 4);
	put_be32(crc, crc32c(b->p, b->len));
	if (!buf_grow(b, 4))
		return b->err;
	memcpy(b->p + b->len - 4, crc, 4);
	return 0;
}

/* A record value under construction (fixed scratch; every record is far below the bound). */
struct val {
	uint8_t b[8192];
	size_t len;
	bool over;
};

static uint8_t *val_put(struct val *v, size_t n)
{
	uint8_t *p;

	if (v->over || n > sizeof(v->b) - v->len) {
		v->over = true;
		return NULL;
	}
	p = v->b + v->len;
	v->len += n;
	return p;
}

static void val_u8(struct val *v, uint8_t x)
{
	uint8_t *p = val_put(v, 1);

	if (p)
		*p = x;
}

static void val_u16(struct val *v, uint16_t x)
{
	uint8_t *p = val_put(v, 2);

	if (p)
		put_be16(p, x);
}

static void val_u32(struct val *v, uint32_t x)
{
	uint8_t *p = val_put(v, 4);

	if (p)
		put_be32(p, x);
}

static void val_u64(struct val *v, uint64_t x)
{
	uint8_t *p = val_put(v, 8);

	if (p)
		put_be64(p, x);
}

static void val_bytes(struct val *v, const void *d, size_t n)
{
	uint8_t *p = val_put(v, n);

	if (p && n)
		memcpy(p, d, n);
}

/* Strings: be16 length, then the bytes without a NUL. */
static void val_str(struct val *v, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	val_u16(v, (uint16_t)n);
	val_bytes(v, s, n);
}

static void emit(struct mig_buf *b, uint16_t tag, struct val *v)
{
	if (v->over) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	mig_buf_record(b, tag, v->b, v->len);
	v->len = 0;
}

int mig_encode(const struct mig_lu_state *s, uint8_t **out, size_t *out_len)
{
	struct mig_buf b = { 0 };
	struct val *v;
	int ret;

	*out = NULL;
	*out_len = 0;
	if ((s->naa_len != 0 && s->naa_len != 8 && s->naa_len != 16) || s->mode_len > MIG_MODE_MAX ||
	    s->nregs > MIG_MAX_REGS || s->nuas > MIG_MAX_UAS || s->nalua > MIG_MAX_ALUA)
		return -EINVAL;
	if (s->describe && strlen(s->describe) > MIG_DESCRIBE_MAX)
		return -E2BIG;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;

	mig_buf_header(&b, MIG_VERSION_MAJOR, MIG_VERSION_MINOR);
	if (s->describe)
		mig_buf_record(&b, MIG_TAG_DESCRIBE, s->describe, strlen(s->describe));

	val_str(v, s->target, sizeof(s->target) - 1);
	val_u32(v, s->lun);
	val_str(v, s->serial, sizeof(s->serial) - 1);
	val_u8(v, s->naa_len);
	val_bytes(v, s->naa, s->naa_len);
	emit(&b, MIG_TAG_IDENTITY, v);

	val_str(v, s->profile, sizeof(s->profile) - 1);
	emit(&b, MIG_TAG_PROFILE, v);

	val_u32(v, s->block_size);
	val_u64(v, s->num_blocks);
	emit(&b, MIG_TAG_GEOMETRY, v);

	val_str(v, s->backstore, sizeof(s->backstore) - 1);
	val_str(v, s->path, sizeof(s->path) - 1);
	val_u64(v, s->size);
	val_u8(v, (uint8_t)(s->readonly | s->removable << 1));
	emit(&b, MIG_TAG_OPTIONS, v);

	if (s->has_provisioning) {
		val_u8(v, (uint8_t)(s->can_unmap | s->unmap_zeroes << 1 | s->thin << 2));
		emit(&b, MIG_TAG_PROVISIONING, v);
	}

	val_u8(v, s->mode_len);
	val_bytes(v, s->mode_state, s->mode_len);
	val_bytes(v, s->mode_saved, s->mode_len);
	emit(&b, MIG_TAG_MODE, v);

	val_u8(v, (uint8_t)(s->stopped | s->ejected << 1));
	emit(&b, MIG_TAG_LU_FLAGS, v);

	if (s->maint_state) {
		val_u8(v, s->maint_state);
		val_u8(v, (uint8_t)s->maint_ause);
		emit(&b, MIG_TAG_MAINT, v);
	}

	if (s->has_pr) {
		val_u32(v, s->pr_generation);
		val_u8(v, (uint8_t)(s->pr_aptpl | s->pr_reserved << 1));
		val_u8(v, s->pr_type);
		val_u8(v, s->pr_scope);
		emit(&b, MIG_TAG_PR, v);
		for (unsigned i = 0; i < s->nregs; i++) {
			const struct mig_reg *r = &s->regs[i];

			val_u64(v, r->key);
			val_str(v, r->initiator, sizeof(r->initiator) - 1);
			val_bytes(v, r->isid, 6);
			val_u16(v, r->rel_port_id);
			val_u8(v, (uint8_t)(r->has_isid | r->all_tg_pt << 1 | r->holder << 2));
			emit(&b, MIG_TAG_PR_REG, v);
		}
	}
	for (unsigned i = 0; i < s->nuas; i++) {
		const struct mig_ua *u = &s->uas[i];

		val_str(v, u->initiator, sizeof(u->initiator) - 1);
		val_bytes(v, u->isid, 6);
		val_u16(v, u->rel_port_id);
		val_u32(v, u->ua_mask);
		emit(&b, MIG_TAG_UA, v);
	}
	for (unsigned i = 0; i < s->nalua; i++) {
		val_u16(v, s->alua[i].tag);
		val_u8(v, s->alua[i].state);
		val_u8(v, s->alua[i].status);
		emit(&b, MIG_TAG_ALUA, v);
	}
	free(v);
	ret = mig_buf_finish(&b);
	if (ret < 0) {
		free(b.p);
		return ret;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}

/* ---- reader ----------------------------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p ? *p : 0;
}

static uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);

	return p ? get_be16(p) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p ? get_be32(p) : 0;
}

static uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);

	return p ? get_be64(p) : 0;
}

static void rd_bytes(struct rd *r, void *dst, size_t n)
{
	const uint8_t *p = rd_take(r, n);

	if (p && n)
		memcpy(dst, p, n);
}

/* A string into dst (cap bytes with the NUL): too long or holding a NUL marks the record bad. */
static void rd_str(struct rd *r, char *dst, size_t cap)
{
	uint16_t n = rd_u16(r);
	const uint8_t *p;

	dst[0] = 0;
	if (r->bad)
		return;
	if (n >= cap) {
		r->bad = true;
		return;
	}
	p = rd_take(r, n);
	if (!p)
		return;
	if (memchr(p, 0, n)) {
		r->bad = true;
		return;
	}
	memcpy(dst, p, n);
	dst[n] = 0;
}

static void fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* Singleton records seen, to refuse duplicates and find missing mandatory ones. */
enum {
	SEEN_DESCRIBE = 1u << 0,
	SEEN_IDENTITY = 1u << 1,
	SEEN_PROFILE = 1u << 2,
	SEEN_GEOMETRY = 1u << 3,
	SEEN_OPTIONS = 1u << 4,
	SEEN_PROVISIONING = 1u << 5,
	SEEN_MODE = 1u << 6,
	SEEN_LU_FLAGS = 1u << 7,
	SEEN_PR = 1u << 8,
};
#define SEEN_REQUIRED (SEEN_IDENTITY | SEEN_PROFILE | SEEN_GEOMETRY | SEEN_OPTIONS | SEEN_MODE)

static unsigned seen_bit(uint16_t tag)
{
	switch (tag) {
	case MIG_TAG_DESCRIBE: return SEEN_DESCRIBE;
	case MIG_TAG_IDENTITY: return SEEN_IDENTITY;
	case MIG_TAG_PROFILE: return SEEN_PROFILE;
	case MIG_TAG_GEOMETRY: return SEEN_GEOMETRY;
	case MIG_TAG_OPTIONS: return SEEN_OPTIONS;
	case MIG_TAG_PROVISIONING: return SEEN_PROVISIONING;
	case MIG_TAG_MODE: return SEEN_MODE;
	case MIG_TAG_LU_FLAGS: return SEEN_LU_FLAGS;
	case MIG_TAG_PR: return SEEN_PR;
	default: return 0;
	}
}

/* One known record. Extra trailing bytes are allowed (a newer minor may append fields); a
 * value shorter than its fields, or a field out of range, is an error. Returns 0, 1 = unknown
 * tag, or -errno. */
static int rec_decode(struct mig_lu_state *s, uint16_t tag, const uint8_t *v, size_t n,
		      char *err, size_t err_len)
{
	struct rd r = { .p = v, .len = n };
	uint8_t f;
	int ret = 0;

	switch (tag) {
	case MIG_TAG_DESCRIBE:
		if (n > MIG_DESCRIBE_MAX || memchr(v, 0, n)) {
			fail(err, err_len, "description record: bad length or NUL byte");
			return -EINVAL;
		}
		s->describe = malloc(n + 1);
		if (!s->describe)
			return -ENOMEM;
		memcpy(s->describe, v, n);
		s->describe[n] = 0;
		return 0;
	case MIG_TAG_IDENTITY:
		rd_str(&r, s->target, sizeof(s->target));
		s->lun = rd_u32(&r);
		rd_str(&r, s->serial, sizeof(s->serial));
		s->naa_len = rd_u8(&r);
		if (!r.bad && s->naa_len != 0 && s->naa_len != 8 && s->naa_len != 16)
			r.bad = true;
		rd_bytes(&r, s->naa, s->naa_len);
		break;
	case MIG_TAG_PROFILE:
		rd_str(&r, s->profile, sizeof(s->profile));
		break;
	case MIG_TAG_GEOMETRY:
		s->block_size = rd_u32(&r);
		s->num_blocks = rd_u64(&r);
		if (!r.bad && (s->block_size == 0 || s->block_size > 65536 || s->num_blocks == 0 ||
			       s->num_blocks > UINT64_MAX / s->block_size))
			r.bad = true;
		break;
	case MIG_TAG_OPTIONS:
		rd_str(&r, s->backstore, sizeof(s->backstore));
		rd_str(&r, s->path, sizeof(s->path));
		s->size = rd_u64(&r);
		f = rd_u8(&r);
		s->readonly = f & 1;
		s->removable = f & 2;
		break;
	case MIG_TAG_PROVISIONING:
		f = rd_u8(&r);
		s->has_provisioning = !r.bad;
		s->can_unmap = f & 1;
		s->unmap_zeroes = f & 2;
		s->thin = f & 4;
		break;
	case MIG_TAG_MODE:
		s->mode_len = rd_u8(&r);
		if (!r.bad && s->mode_len > MIG_MODE_MAX)
			r.bad = true;
		rd_bytes(&r, s->mode_state, s->mode_len);
		rd_bytes(&r, s->mode_saved, s->mode_len);
		break;
	case MIG_TAG_LU_FLAGS:
		f = rd_u8(&r);
		s->stopped = f & 1;
		s->ejected = f & 2;
		break;
	case MIG_TAG_PR:
		s->pr_generation = rd_u32(&r);
		f = rd_u8(&r);
		s->pr_aptpl = f & 1;
		s->pr_reserved = f & 2;
		s->pr_type = rd_u8(&r);
		s->pr_scope = rd_u8(&r);
		s->has_pr = !r.bad;
		break;
	case MIG_TAG_PR_REG: {
		struct mig_reg g = { 0 };

		g.key = rd_u64(&r);
		rd_str(&r, g.initiator, sizeof(g.initiator));
		rd_bytes(&r, g.isid, 6);
		g.rel_port_id = rd_u16(&r);
		f = rd_u8(&r);
		g.has_isid = f & 1;
		g.all_tg_pt = f & 2;
		g.holder = f & 4;
		if (!r.bad && !g.initiator[0])
			r.bad = true;
		if (!r.bad)
			ret = mig_state_add_reg(s, &g);
		break;
	}
	case MIG_TAG_UA: {
		struct mig_ua u = { 0 };

		rd_str(&r, u.initiator, sizeof(u.initiator));
		rd_bytes(&r, u.isid, 6);
		u.rel_port_id = rd_u16(&r);
		u.ua_mask = rd_u32(&r);
		if (!r.bad && !u.initiator[0])
			r.bad = true;
		if (!r.bad)
			ret = mig_state_add_ua(s, &u);
		break;
	}
	case MIG_TAG_ALUA: {
		struct mig_alua a = { 0 };

		a.tag = rd_u16(&r);
		a.state = rd_u8(&r);
		a.status = rd_u8(&r);
		if (!r.bad && (a.tag == 0 || (a.state > 3 && a.state != 0xf)))
			r.bad = true;
		if (!r.bad)
			ret = mig_state_add_alua(s, &a);
		break;
	}
	case MIG_TAG_MAINT:
		s->maint_state = rd_u8(&r);
		s->maint_ause = rd_u8(&r) & 1;
		/* Only a failure mode travels (SBC_MAINT_SANITIZE_FAILED 3, _FORMAT_FAILED 4): a
		 * running operation is never migrated. */
		if (!r.bad && s->maint_state != 3 && s->maint_state != 4)
			r.bad = true;
		break;
	default:
		return 1;
	}
	if (r.bad) {
		fail(err, err_len, "record 0x%04x: malformed (%zu bytes)", tag, n);
		return -EINVAL;
	}
	if (ret == -E2BIG) {
		fail(err, err_len, "record 0x%04x: too many entries", tag);
		return -EINVAL;
	}
	return ret;
}

int mig_decode(const uint8_t *buf, size_t len, struct mig_lu_state *s, char *err,
	       size_t err_len)
{
	struct rd r = { .p = buf, .len = len };
	const uint8_t *h;
	unsigned seen = 0;
	uint16_t major;
	int ret;

	mig_state_init(s);
	if (len > MIG_STREAM_MAX) {
		fail(err, err_len, "stream of %zu bytes is over the %u-byte limit", len,
		     MIG_STREAM_MAX);
		return -EINVAL;
	}
	h = rd_take(&r, MIG_HDR_LEN);
	if (!h || memcmp(h, MIG_MAGIC, MIG_MAGIC_LEN) != 0) {
		fail(err, err_len, "not a migration stream (bad magic or short header)");
		return -EINVAL;
	}
	major = get_be16(h + 8);
	s->minor = get_be16(h + 10);
	if (major > MIG_VERSION_MAJOR) {
		fail(err, err_len, "stream version %u.%u is newer than this invar reads (%u.x)",
		     major, s->minor, MIG_VERSION_MAJOR);
		return -EPROTO;
	}
	if (major < 1) {
		fail(err, err_len, "stream version %u.%u does not exist", major, s->minor);
		return -EINVAL;
	}
	for (;;) {
		size_t rec_start = r.off;
		uint16_t tag = rd_u16(&r);
		uint32_t n = rd_u32(&r);
		const uint8_t *v;

		if (r.bad) {
			fail(err, err_len, "stream truncated at byte %zu (no end record)", rec_start);
			ret = -EINVAL;
			goto out;
		}
		if (n > MIG_RECORD_MAX) {
			fail(err, err_len, "record 0x%04x of %u bytes is over the limit", tag, n);
			ret = -EINVAL;
			goto out;
		}
		v = rd_take(&r, n);
		if (!v) {
			fail(err, err_len, "record 0x%04x truncated (%u bytes announced)", tag, n);
			ret = -EINVAL;
			goto out;
		}
		if (tag == MIG_TAG_END) {
			if (n != 4 || get_be32(v) != crc32c(buf, rec_start + MIG_REC_HDR_LEN)) {
				fail(err, err_len, "stream checksum mismatch");
				ret = -EINVAL;
				goto out;
			}
			if (r.off != len) {
				fail(err, err_len, "%zu bytes after the end record", len - r.off);
				ret = -EINVAL;
				goto out;
			}
			break;
		}
		if (seen_bit(tag) & seen) {
			fail(err, err_len, "record 0x%04x appears twice", tag);
			ret = -EINVAL;
			goto out;
		}
		seen |= seen_bit(tag);
		if ((tag == MIG_TAG_PR_REG) && !(seen & SEEN_PR)) {
			fail(err, err_len, "registration before the reservation record");
			ret = -EINVAL;
			goto out;
		}
		ret = rec_decode(s, tag, v, n, err, err_len);
		if (ret < 0)
			goto out;
		if (ret == 1 && (tag & MIG_TAG_CRITICAL)) {
			fail(err, err_len, "unknown critical record 0x%04x (sender is newer)", tag);
			ret = -EPROTO;
			goto out;
		}
	}
	if ((seen & SEEN_REQUIRED) != SEEN_REQUIRED) {
		fail(err, err_len, "stream lacks a mandatory record (identity, profile, geometry, "
				   "options, mode)");
		ret = -EINVAL;
		goto out;
	}
	return 0;
out:
	mig_state_free(s);
	return ret;
}
