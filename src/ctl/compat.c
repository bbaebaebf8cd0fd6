/* Compatibility descriptions and their comparison (compat.h). The description says what a guest
 * can observe, nothing about how the LU is served: two LUs with equal descriptions answer every
 * command the same (the profile pins the behaviour, the rest is identity and geometry). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "backstore/backstore.h"
#include "ctl/compat.h"
#include "ctl/lunspec.h"
#include "invar/version.h"
#include "scsi/lu.h"
#include "scsi/profile.h"

#define DEVICE_API "scsi-sbc"
#define DEVICE_TYPE "disk"

/* ---- describe ----------------------------------------------------------------------------- */

static const char *reservations_of(const struct scsi_profile *p)
{
	/* RESERVE/RELEASE(6/10) are in every profile; persistent reservations from 2026.3. */
	if (scsi_profile_has_cmd(p, SCMD_PERSISTENT_RESERVE_IN) &&
	    scsi_profile_has_cmd(p, SCMD_PERSISTENT_RESERVE_OUT))
		return "reserve-release+persistent";
	return "reserve-release";
}

json_t *compat_describe_lu(const struct lu *lu, const char *iqn, unsigned lun)
{
	const struct scsi_profile *p = lu->profile;
	bool lbp = p->lbp && lu->bs && lu->bs->can_unmap;
	char naa[40];

	ctl_naa_format(lu->cfg.naa, lu->cfg.naa_len, naa, sizeof(naa));
	return json_pack("{s:i, s:s, s:s, s:s, s:b, s:s, s:s, s:i,"
			 " s:{s:s, s:s, s:s, s:s, s:s, s:s},"
			 " s:{s:I, s:I, s:I, s:s, s:b, s:s, s:{s:b}, s:b, s:b}}",
			 "describe_version", COMPAT_DESCRIBE_VERSION,
			 "device_api", DEVICE_API,
			 "type", DEVICE_TYPE,
			 "profile", p->name,
			 "profile_draft", p->draft,
			 "software_version", INVAR_VERSION_STRING,
			 "target", iqn,
			 "lun", (int)lun,
			 "identity",
			 "vendor", p->vendor, "product", p->product, "revision", p->revision,
			 "serial", lu->cfg.serial, "naa", naa, "target", iqn,
			 "attributes",
			 "block_size", (json_int_t)lu->block_size,
			 "capacity_blocks", (json_int_t)lu_num_blocks(lu),
			 "capacity_bytes", (json_int_t)(lu_num_blocks(lu) * lu->block_size),
			 "provisioning", lbp && lu->bs->thin ? "thin" : "full",
			 "lbprz", lbp && lu->bs->unmap_zeroes,
			 "reservations", reservations_of(p),
			 "write_cache", "wce", atomic_load(&lu->mode.wce),
			 "read_only", lu->bs && lu->bs->read_only,
			 "software_write_protect", atomic_load(&lu->mode.swp));
}

/* ---- check -------------------------------------------------------------------------------- */

struct desc {
	const char *side;	/* "source" / "destination", for messages */
	json_int_t version;
	const char *device_api, *type, *profile, *software_version;
	bool draft;
	const char *vendor, *product, *revision, *serial, *naa, *target;
	json_int_t block_size, capacity_blocks;
	const char *provisioning, *reservations;
	bool lbprz, wce, read_only, swp;
};

struct parse {
	const char *side;
	char *err;
	size_t err_len;
	bool bad;
};

/* The member at "a.b.c" of o, or NULL. */
static const json_t *member(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_object_get(o, path);
}

static void bad(struct parse *ps, const char *path, const char *what)
{
	if (!ps->bad)
		snprintf(ps->err, ps->err_len, "%s description: \"%s\" %s", ps->side, path, what);
	ps->bad = true;
}

static const char *get_str(struct parse *ps, const json_t *o, const char *path)
{
	const json_t *v = member(o, path);

	if (!json_is_string(v)) {
		bad(ps, path, v ? "is not a string" : "is missing");
		return "";
	}
	return json_string_value(v);
}

static json_int_t get_int(struct parse *ps, const json_t *o, const char *path)
{
	const json_t *v = member(o, path);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		bad(ps, path, v ? "is not a non-negative integer" : "is missing");
		return 0;
	}
	return json_integer_value(v);
}

static bool get_bool(struct parse *ps, const json_t *o, const char *path)
{
	const json_t *v = member(o, path);

	if (!json_is_boolean(v)) {
		bad(ps, path, v ? "is not true or false" : "is missing");
		return false;
	}
	return json_is_true(v);
}

/* Fills d; returns 0, 1 for a version newer than ours (nothing else read), -1 malformed. */
static int desc_parse(const json_t *o, const char *side, struct desc *d, char *err,
		      size_t err_len)
{
	struct parse ps = { side, err, err_len, false };

	memset(d, 0, sizeof(*d));
	d->side = side;
	if (!json_is_object(o)) {
		snprintf(err, err_len, "%s description: not a JSON object", side);
		return -1;
	}
	d->version = get_int(&ps, o, "describe_version");
	if (ps.bad)
		return -1;
	if (d->version == 0) {
		bad(&ps, "describe_version", "must be 1 or more");
		return -1;
	}
	if (d->version > COMPAT_DESCRIBE_VERSION)
		return 1;
	d->device_api = get_str(&ps, o, "device_api");
	d->type = get_str(&ps, o, "type");
	d->profile = get_str(&ps, o, "profile");
	d->draft = get_bool(&ps, o, "profile_draft");
	d->software_version = get_str(&ps, o, "software_version");
	d->vendor = get_str(&ps, o, "identity.vendor");
	d->product = get_str(&ps, o, "identity.product");
	d->revision = get_str(&ps, o, "identity.revision");
	d->serial = get_str(&ps, o, "identity.serial");
	d->naa = get_str(&ps, o, "identity.naa");
	d->target = get_str(&ps, o, "identity.target");
	d->block_size = get_int(&ps, o, "attributes.block_size");
	d->capacity_blocks = get_int(&ps, o, "attributes.capacity_blocks");
	d->provisioning = get_str(&ps, o, "attributes.provisioning");
	d->lbprz = get_bool(&ps, o, "attributes.lbprz");
	d->reservations = get_str(&ps, o, "attributes.reservations");
	d->wce = get_bool(&ps, o, "attributes.write_cache.wce");
	d->read_only = get_bool(&ps, o, "attributes.read_only");
	d->swp = get_bool(&ps, o, "attributes.software_write_protect");
	return ps.bad ? -1 : 0;
}

struct cmp {
	compat_reason_fn fn;
	void *arg;
	int n;
};

static void reason(struct cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reason(struct cmp *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->n++;
	if (c->fn)
		c->fn(msg, c->arg);
}

static void cmp_str(struct cmp *c, const char *what, const char *a, const char *b)
{
	if (strcmp(a, b))
		reason(c, "%s differs: \"%s\" on the source, \"%s\" on the destination", what, a, b);
}

static void cmp_bool(struct cmp *c, const char *what, bool a, bool b)
{
	if (a != b)
		reason(c, "%s differs: %s on the source, %s on the destination", what,
		       a ? "on" : "off", b ? "on" : "off");
}

int compat_check(const json_t *src, const json_t *dst, compat_reason_fn fn, void *arg, char *err,
		 size_t err_len)
{
	struct desc s, d;
	struct cmp c = { fn, arg, 0 };
	int rs, rd;

	rs = desc_parse(src, "source", &s, err, err_len);
	if (rs < 0)
		return -1;
	rd = desc_parse(dst, "destination", &d, err, err_len);
	if (rd < 0)
		return -1;
	if (rs > 0 || rd > 0) {
		/* Nothing in a newer schema can be vouched for. */
		if (rs > 0)
			reason(&c, "source: describe_version %lld is newer than this invar "
				   "understands (%d)", (long long)s.version, COMPAT_DESCRIBE_VERSION);
		if (rd > 0)
			reason(&c, "destination: describe_version %lld is newer than this invar "
				   "understands (%d)", (long long)d.version, COMPAT_DESCRIBE_VERSION);
		return 1;
	}
	cmp_str(&c, "device API", s.device_api, d.device_api);
	cmp_str(&c, "device type", s.type, d.type);
	cmp_str(&c, "behaviour profile", s.profile, d.profile);
	/* A draft profile is only the same on the same build: it may change in any release. */
	if (!strcmp(s.profile, d.profile) && (s.draft || d.draft) &&
	    strcmp(s.software_version, d.software_version))
		reason(&c, "profile %s is a draft and the invar versions differ (%s, %s): a draft's "
			   "answers may change between versions", s.profile, s.software_version,
		       d.software_version);
	cmp_str(&c, "vendor (INQUIRY)", s.vendor, d.vendor);
	cmp_str(&c, "product (INQUIRY)", s.product, d.product);
	cmp_str(&c, "revision (INQUIRY)", s.revision, d.revision);
	cmp_str(&c, "serial number (VPD 80h)", s.serial, d.serial);
	cmp_str(&c, "NAA designator (VPD 83h)", s.naa, d.naa);
	cmp_str(&c, "target name (VPD 83h)", s.target, d.target);
	if (s.block_size != d.block_size)
		reason(&c, "block size differs: %lld on the source, %lld on the destination",
		       (long long)s.block_size, (long long)d.block_size);
	if (d.capacity_blocks < s.capacity_blocks)
		reason(&c, "capacity smaller on the destination: %lld blocks, source has %lld",
		       (long long)d.capacity_blocks, (long long)s.capacity_blocks);
	else if (d.capacity_blocks > s.capacity_blocks)
		reason(&c, "capacity larger on the destination: %lld blocks, source has %lld (READ "
			   "CAPACITY would change)", (long long)d.capacity_blocks,
		       (long long)s.capacity_blocks);
	cmp_str(&c, "provisioning", s.provisioning, d.provisioning);
	cmp_bool(&c, "LBPRZ (unmapped blocks read as zeroes)", s.lbprz, d.lbprz);
	cmp_str(&c, "reservation support", s.reservations, d.reservations);
	cmp_bool(&c, "write cache (WCE, current)", s.wce, d.wce);
	cmp_bool(&c, "read-only", s.read_only, d.read_only);
	cmp_bool(&c, "software write protect (SWP, current)", s.swp, d.swp);
	return c.n ? 1 : 0;
}
