/* MODE SENSE(6/10) and MODE SELECT(6/10), SPC-4 6.11-6.14 and 7.5. The pages, their defaults
 * and changeable masks come from lu->profile; current values of changeable pages live in
 * lu->mode.cur (under lu->lock), mirrored into the lu->mode.wce, dsense and swp atomics for the
 * command path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backstore/backstore.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "util/byteorder.h"
#include "util/log.h"

#define PAGE_CACHING 0x08
#define PAGE_CONTROL 0x0a
#define PAGE_ALL 0x3f
#define SUBPAGE_ALL 0xff
#define CACHING_WCE 0x04	/* byte 2, SBC-3 6.4.5 */
#define CONTROL_D_SENSE 0x04	/* byte 2, SPC-4 7.5.8 */
#define CONTROL_SWP 0x08	/* byte 4 */

#define PC_CURRENT 0
#define PC_CHANGEABLE 1
#define PC_DEFAULT 2
#define PC_SAVED 3

#define MS_DBD 0x08
#define MS_LLBAA 0x10
#define MSEL_PF 0x10
#define MSEL_SP 0x01

#define DEVSPEC_WP 0x80
#define SPF 0x40		/* sub-page format bit in the page header */

static unsigned page_hdr_len(const uint8_t *page)
{
	return (page[0] & SPF) ? 4 : 2;
}

/* Under lu->lock. */
static void mode_sync_atomics(struct lu *lu)
{
	const struct scsi_profile *p = lu->profile;
	const struct scsi_mode_page_def *m;

	m = scsi_profile_mode_page(p, PAGE_CACHING, 0);
	if (m)
		atomic_store(&lu->mode.wce, (m->state_off != MODE_NO_STATE ? lu->mode.cur[m->state_off + 2]
								      : m->def[2]) & CACHING_WCE);
	else
		atomic_store(&lu->mode.wce, false);
	m = scsi_profile_mode_page(p, PAGE_CONTROL, 0);
	if (m) {
		const uint8_t *cur = m->state_off != MODE_NO_STATE ? lu->mode.cur + m->state_off
								   : m->def;

		atomic_store(&lu->mode.dsense, cur[2] & CONTROL_D_SENSE);
		atomic_store(&lu->mode.swp, cur[4] & CONTROL_SWP);
	} else {
		atomic_store(&lu->mode.dsense, p->descriptor_sense);
		atomic_store(&lu->mode.swp, false);
	}
}

void scsi_lu_mode_init(struct lu *lu)
{
	const struct scsi_profile *p = lu->profile;

	pthread_mutex_lock(&lu->lock);
	memset(lu->mode.cur, 0, sizeof(lu->mode.cur));
	for (unsigned i = 0; i < p->n_mode_pages; i++) {
		const struct scsi_mode_page_def *m = &p->mode_pages[i];

		if (m->state_off != MODE_NO_STATE)
			memcpy(lu->mode.cur + m->state_off, m->def, m->len);
	}
	memcpy(lu->mode.saved, lu->mode.cur, sizeof(lu->mode.saved));
	mode_sync_atomics(lu);
	pthread_mutex_unlock(&lu->lock);
}

/* ---- saved pages (profile->mode_save) ----------------------------------------------------
 * mode.json in the LU's state directory:
 *   {"version": 1, "profile": "invar-2026.3",
 *    "pages": [{"page": 8, "subpage": 0, "data": "<hex of the whole page>"}, ...]}
 * Only pages with changeable bits are stored; on load every byte outside the changeable mask
 * must equal the profile's default, so a file from another profile or a hand edit that
 * touches a fixed field is refused rather than half applied. */

#define MODE_FILE "mode.json"
#define MODE_FILE_VERSION 1
#define MODE_FILE_MAX (64u << 10)

/* Under lu->lock. */
static char *mode_saved_json(struct lu *lu)
{
	const struct scsi_profile *p = lu->profile;
	json_t *root = json_object(), *pages = json_array();
	char *out = NULL;

	if (!root || !pages)
		goto out;
	json_object_set_new(root, "version", json_integer(MODE_FILE_VERSION));
	json_object_set_new(root, "profile", json_string(p->name));
	for (unsigned i = 0; i < p->n_mode_pages; i++) {
		const struct scsi_mode_page_def *m = &p->mode_pages[i];
		char hex[2 * 256 + 1];
		json_t *o;

		if (m->state_off == MODE_NO_STATE)
			continue;
		for (unsigned b = 0; b < m->len; b++)
			snprintf(hex + 2 * b, 3, "%02x", lu->mode.saved[m->state_off + b]);
		o = json_object();
		if (!o)
			goto out;
		json_object_set_new(o, "page", json_integer(m->page));
		json_object_set_new(o, "subpage", json_integer(m->subpage));
		json_object_set_new(o, "data", json_string(hex));
		json_array_append_new(pages, o);
	}
	json_object_set(root, "pages", pages);
	out = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
out:
	json_decref(pages);
	json_decref(root);
	return out;
}

static int hexbyte(const char *s)
{
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

#define LOADF(...)                                                          \
	do {                                                                \
		snprintf(err, err_len, "%s/" MODE_FILE ": " __VA_ARGS__); \
		ret = -EINVAL;                                              \
		goto out;                                                   \
	} while (0)

int scsi_lu_mode_load(struct lu *lu, char *err, size_t err_len)
{
	const struct scsi_profile *p = lu->profile;
	uint8_t staged[sizeof(lu->mode.cur)];
	json_error_t jerr;
	json_t *root = NULL, *pages, *v;
	char *text = NULL;
	size_t len, i;
	int ret;

	if (!p->mode_save || !lu->state_dir[0])
		return 0;
	ret = lu_state_load(lu, MODE_FILE, MODE_FILE_MAX, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(err, err_len, "%s/" MODE_FILE ": cannot read: %s", lu->state_dir,
			 strerror(-ret));
		return ret;
	}
	root = json_loadb(text, len, 0, &jerr);
	if (!root)
		LOADF("not JSON (line %d: %s)", lu->state_dir, jerr.line, jerr.text);
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != MODE_FILE_VERSION)
		LOADF("unsupported version (expected %d)", lu->state_dir, MODE_FILE_VERSION);
	v = json_object_get(root, "profile");
	if (!json_is_string(v) || strcmp(json_string_value(v), p->name))
		LOADF("saved for another profile (this LU is %s)", lu->state_dir, p->name);
	pages = json_object_get(root, "pages");
	if (!json_is_array(pages))
		LOADF("\"pages\" is not an array", lu->state_dir);
	pthread_mutex_lock(&lu->lock);
	memcpy(staged, lu->mode.saved, sizeof(staged));
	pthread_mutex_unlock(&lu->lock);
	json_array_foreach(pages, i, v) {
		json_t *pg = json_object_get(v, "page"), *sp = json_object_get(v, "subpage");
		json_t *data = json_object_get(v, "data");
		const struct scsi_mode_page_def *m;
		const char *hex;

		if (!json_is_integer(pg) || !json_is_integer(sp) || !json_is_string(data) ||
		    json_integer_value(pg) < 0 || json_integer_value(pg) > 0x3f ||
		    json_integer_value(sp) < 0 || json_integer_value(sp) > 0xff)
			LOADF("pages[%zu]: needs integer page and subpage and a data string",
			      lu->state_dir, i);
		m = scsi_profile_mode_page(p, (uint8_t)json_integer_value(pg),
					   (uint8_t)json_integer_value(sp));
		if (!m || m->state_off == MODE_NO_STATE)
			LOADF("pages[%zu]: page %02llxh has nothing changeable in %s", lu->state_dir,
			      i, (unsigned long long)json_integer_value(pg), p->name);
		hex = json_string_value(data);
		if (strlen(hex) != 2u * m->len)
			LOADF("pages[%zu]: data must be %u bytes of hex", lu->state_dir, i, m->len);
		for (unsigned b = 0; b < m->len; b++) {
			int x = hexbyte(hex + 2 * b);

			if (x < 0)
				LOADF("pages[%zu]: data is not lower-case hex", lu->state_dir, i);
			if (((unsigned)x ^ m->def[b]) & ~m->mask[b] & 0xff)
				LOADF("pages[%zu]: byte %u changes a field that is not changeable",
				      lu->state_dir, i, b);
			staged[m->state_off + b] = (uint8_t)x;
		}
	}
	pthread_mutex_lock(&lu->lock);
	memcpy(lu->mode.saved, staged, sizeof(staged));
	/* SPC-4 7.5.1: after power on, the current values are the saved ones. */
	memcpy(lu->mode.cur, staged, sizeof(staged));
	mode_sync_atomics(lu);
	pthread_mutex_unlock(&lu->lock);
	ret = 0;
out:
	json_decref(root);
	free(text);
	return ret;
}

/* ---- MODE SENSE -------------------------------------------------------------------------- */

enum sense_reason mode_setup_sense(struct scsi_task *t, struct sense_extra *x)
{
	const struct scsi_profile *p = t->lu->profile;
	uint8_t pc = t->cdb[2] >> 6, page = t->cdb[2] & 0x3f, sub = t->cdb[3];
	bool found = false;

	if (pc == PC_SAVED && !p->mode_save)
		return SR_SAVING_PARAMS_UNSUPPORTED;
	if (page == PAGE_ALL) {
		if (sub != 0 && sub != SUBPAGE_ALL) {
			sense_field_pointer(x, true, 3, 7);
			return SR_INVALID_FIELD_IN_CDB;
		}
		found = true;
	} else {
		for (unsigned i = 0; i < p->n_mode_pages; i++)
			if (p->mode_pages[i].page == page &&
			    (sub == SUBPAGE_ALL || p->mode_pages[i].subpage == sub))
				found = true;
	}
	if (!found) {
		sense_field_pointer(x, true, sub && page != PAGE_ALL ? 3 : 2,
				    sub && page != PAGE_ALL ? 7 : 5);
		return SR_INVALID_FIELD_IN_CDB;
	}
	return scsi_setup_alloc_in(t, x);
}

static unsigned put_page(struct lu *lu, const struct scsi_mode_page_def *m, uint8_t pc,
			 uint8_t *d)
{
	unsigned h = page_hdr_len(m->def);

	memcpy(d, m->def, h);
	switch (pc) {
	case PC_CHANGEABLE:
		memcpy(d + h, m->mask + h, m->len - h);
		break;
	case PC_DEFAULT:
		memcpy(d + h, m->def + h, m->len - h);
		break;
	case PC_SAVED:
		/* Only reached with profile->mode_save (mode_setup_sense). */
		if (m->state_off != MODE_NO_STATE)
			memcpy(d + h, lu->mode.saved + m->state_off + h, m->len - h);
		else
			memcpy(d + h, m->def + h, m->len - h);
		break;
	default:
		if (m->state_off != MODE_NO_STATE)
			memcpy(d + h, lu->mode.cur + m->state_off + h, m->len - h);
		else
			memcpy(d + h, m->def + h, m->len - h);
		break;
	}
	return m->len;
}

void mode_sense(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	const struct scsi_profile *p = lu->profile;
	bool ten = t->cdb[0] == OP_MODE_SENSE_10;
	bool dbd = t->cdb[1] & MS_DBD;
	bool llbaa = ten && (t->cdb[1] & MS_LLBAA);
	uint8_t pc = t->cdb[2] >> 6, page = t->cdb[2] & 0x3f, sub = t->cdb[3];
	uint8_t b[1024];
	unsigned hdr = ten ? 8 : 4, bdlen = dbd ? 0 : (llbaa ? 16 : 8), len;
	uint8_t devspec = p->mode_devspec & (uint8_t)~DEVSPEC_WP;
	uint64_t nblocks = lu_num_blocks(lu);

	memset(b, 0, sizeof(b));
	if ((lu->bs && lu->bs->read_only) || atomic_load(&lu->mode.swp))
		devspec |= DEVSPEC_WP;
	len = hdr;
	if (bdlen == 8) {
		/* Short LBA block descriptor, SBC-3 6.4.2.2. */
		if (pc != PC_CHANGEABLE) {
			put_be32(b + len, nblocks > UINT32_MAX ? UINT32_MAX : (uint32_t)nblocks);
			put_be24(b + len + 5, lu->block_size);
		}
		len += 8;
	} else if (bdlen == 16) {
		/* Long LBA block descriptor, SBC-3 6.4.2.3. */
		if (pc != PC_CHANGEABLE) {
			put_be64(b + len, nblocks);
			put_be32(b + len + 12, lu->block_size);
		}
		len += 16;
	}
	pthread_mutex_lock(&lu->lock);
	for (unsigned i = 0; i < p->n_mode_pages; i++) {
		const struct scsi_mode_page_def *m = &p->mode_pages[i];
		bool want;

		if (page == PAGE_ALL)
			want = sub == SUBPAGE_ALL || m->subpage == 0;
		else
			want = m->page == page && (sub == SUBPAGE_ALL || m->subpage == sub);
		if (want && len + m->len <= sizeof(b))
			len += put_page(lu, m, pc, b + len);
	}
	pthread_mutex_unlock(&lu->lock);
	if (ten) {
		put_be16(b, (uint16_t)(len - 2));
		b[3] = devspec;
		b[4] = llbaa && bdlen == 16 ? 0x01 : 0x00;
		put_be16(b + 6, (uint16_t)bdlen);
	} else {
		/* MODE SENSE(6) data is at most 255 bytes: drop whole pages past that. */
		if (len > 255)
			len = 255;
		b[0] = (uint8_t)(len - 1);
		b[2] = devspec;
		b[3] = (uint8_t)bdlen;
	}
	scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
}

/* ---- MODE SELECT ------------------------------------------------------------------------- */

enum sense_reason mode_setup_select(struct scsi_task *t, struct sense_extra *x)
{
	uint32_t plen = cdb_alloc_len(t->cdb);
	unsigned hdr = t->cdb[0] == OP_MODE_SELECT_10 ? 8 : 4;

	if (!(t->cdb[1] & MSEL_PF)) {
		/* Only the SPC-4 page format is implemented (SPC-4 6.11). */
		sense_field_pointer(x, true, 1, 4);
		return SR_INVALID_FIELD_IN_CDB;
	}
	/* SP=1 needs a profile that saves pages and a place to keep them. */
	if ((t->cdb[1] & MSEL_SP) && (!t->lu->profile->mode_save || !t->lu->state_dir[0]))
		return SR_SAVING_PARAMS_UNSUPPORTED;
	if (plen && plen < hdr)
		return SR_PARAM_LIST_LENGTH_ERROR;
	t->dir = plen ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	t->data_out_len = plen;
	return SR_OK;
}

static enum sense_reason param_field(struct sense_extra *x, unsigned byte, int bit)
{
	sense_field_pointer(x, false, byte, bit);
	return SR_INVALID_FIELD_IN_PARAM;
}

/* Under lu->lock: validate the whole parameter list against the changeable masks into a staged
 * copy of the mode state; nothing changes unless every page is acceptable. */
static enum sense_reason mode_select_parse(struct lu *lu, const uint8_t *pl, uint32_t len,
					   bool ten, uint8_t *staged, struct sense_extra *x)
{
	const struct scsi_profile *p = lu->profile;
	unsigned hdr = ten ? 8 : 4;
	unsigned bdlen, off;

	if (len < hdr)
		return SR_PARAM_LIST_LENGTH_ERROR;
	if (pl[1] != 0)	/* medium type */
		return param_field(x, 1, 7);
	bdlen = ten ? get_be16(pl + 6) : pl[3];
	if (bdlen != 0 && bdlen != 8 && !(ten && bdlen == 16 && (pl[4] & 0x01)))
		return param_field(x, ten ? 6 : 3, 7);
	if (hdr + bdlen > len)
		return SR_PARAM_LIST_LENGTH_ERROR;
	if (bdlen == 8) {
		uint32_t nb = get_be32(pl + hdr);
		uint32_t bl = get_be24(pl + hdr + 5);

		uint64_t cap = lu_num_blocks(lu);

		if (nb != 0 && nb != (cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap))
			return param_field(x, hdr, 7);
		if (bl != lu->block_size)
			return param_field(x, hdr + 5, 7);
	} else if (bdlen == 16) {
		uint64_t nb = get_be64(pl + hdr);

		if (nb != 0 && nb != lu_num_blocks(lu))
			return param_field(x, hdr, 7);
		if (get_be32(pl + hdr + 12) != lu->block_size)
			return param_field(x, hdr + 12, 7);
	}
	off = hdr + bdlen;
	while (off < len) {
		const struct scsi_mode_page_def *m;
		const uint8_t *pg = pl + off;
		unsigned plen, h;
		uint8_t sub = 0;

		if (len - off < 2)
			return SR_PARAM_LIST_LENGTH_ERROR;
		if (pg[0] & SPF) {
			if (len - off < 4)
				return SR_PARAM_LIST_LENGTH_ERROR;
			sub = pg[1];
			plen = 4u + get_be16(pg + 2);
			h = 4;
		} else {
			plen = 2u + pg[1];
			h = 2;
		}
		if (plen > len - off)
			return SR_PARAM_LIST_LENGTH_ERROR;
		m = scsi_profile_mode_page(p, pg[0] & 0x3f, sub);
		if (!m)
			return param_field(x, off, 5);
		if (plen != m->len)
			return param_field(x, off + 1, 7);
		for (unsigned i = h; i < plen; i++) {
			const uint8_t *cur = m->state_off != MODE_NO_STATE
						     ? staged + m->state_off : m->def;
			uint8_t bad = (uint8_t)((pg[i] ^ cur[i]) & ~m->mask[i]);

			if (bad)
				return param_field(x, off + i, cdb_top_bit(bad));
		}
		if (m->state_off != MODE_NO_STATE)
			for (unsigned i = h; i < plen; i++)
				staged[m->state_off + i] = (uint8_t)
					((staged[m->state_off + i] & ~m->mask[i]) |
					 (pg[i] & m->mask[i]));
		off += plen;
	}
	return SR_OK;
}

void mode_select(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	struct sense_extra x = { 0 };
	uint8_t staged[sizeof(lu->mode.cur)];
	uint32_t len = scsi_task_data_out_received(t);
	enum sense_reason r;
	bool changed = false;

	if (len == 0 && t->data_out_len == 0) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (len < t->data_out_len) {
		scsi_task_complete(t, SR_PARAM_LIST_LENGTH_ERROR, NULL);
		return;
	}
	pthread_mutex_lock(&lu->lock);
	memcpy(staged, lu->mode.cur, sizeof(staged));
	r = mode_select_parse(lu, t->buf, len, t->cdb[0] == OP_MODE_SELECT_10, staged, &x);
	if (r == SR_OK && memcmp(staged, lu->mode.cur, sizeof(staged)) != 0) {
		memcpy(lu->mode.cur, staged, sizeof(staged));
		mode_sync_atomics(lu);
		changed = true;
	}
	if (r == SR_OK && (t->cdb[1] & MSEL_SP)) {
		/* SPC-4 6.11: SP=1 saves the current values of the changeable pages, crash-safely;
		 * written under lu->lock so two saves cannot interleave. */
		char *json;
		uint8_t prev[sizeof(lu->mode.saved)];
		int ret = -ENOMEM;

		memcpy(prev, lu->mode.saved, sizeof(prev));
		memcpy(lu->mode.saved, lu->mode.cur, sizeof(lu->mode.saved));
		json = mode_saved_json(lu);
		if (json)
			ret = lu_state_save(lu, MODE_FILE, json, strlen(json));
		free(json);
		if (ret < 0) {
			log_err("%s/" MODE_FILE ": cannot save mode pages: %s", lu->state_dir,
				  strerror(-ret));
			memcpy(lu->mode.saved, prev, sizeof(prev));
			r = SR_HARDWARE_ERROR;
		}
	}
	pthread_mutex_unlock(&lu->lock);
	/* SPC-4 7.5.1: other I_T nexuses learn of the change through a unit attention. */
	if (changed)
		lu_ua_establish_all(lu, UA_MODE_CHANGED, t->nexus ? t->nexus->id : UINT64_MAX);
	scsi_task_complete(t, r, &x);
}

/* ---- live migration ------------------------------------------------------------------------ */

int scsi_lu_mode_set(struct lu *lu, const uint8_t *cur, const uint8_t *saved, size_t len)
{
	if (len != scsi_profile_mode_state_len(lu->profile) || len > sizeof(lu->mode.cur))
		return -EINVAL;
	pthread_mutex_lock(&lu->lock);
	memcpy(lu->mode.cur, cur, len);
	memcpy(lu->mode.saved, saved, len);
	mode_sync_atomics(lu);
	pthread_mutex_unlock(&lu->lock);
	return 0;
}
