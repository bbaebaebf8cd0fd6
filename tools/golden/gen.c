/* The CDBs of a golden corpus, in the order they are sent. Used only to record a corpus for a
 * profile that has none yet or is a draft: a released profile's corpus is its file, never this
 * code, so editing this list changes only corpora recorded from now on.
 *
 * The order is part of the corpus: the LU starts fresh (power-on unit attention pending) and
 * later answers depend on earlier writes, mode selects and START STOP UNIT. */
#include <string.h>
#include <stdlib.h>

#include "gen.h"
#include "scsi/dispatch.h"
#include "scsi/profile.h"
#include "util/byteorder.h"

#define CDB(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

struct gen {
	struct g_corpus *c;
	uint32_t bs;
	uint64_t blocks;
	int err;
};

static struct g_entry *add(struct gen *g, const char *label, const uint8_t *cdb, size_t len)
{
	struct g_entry *e = g_corpus_add(g->c);

	if (!e) {
		g->err = -1;
		return NULL;
	}
	memcpy(e->cdb, cdb, len > G_CDB_MAX ? G_CDB_MAX : len);
	e->cdb_len = (unsigned)(len > G_CDB_MAX ? G_CDB_MAX : len);
	snprintf(e->label, sizeof(e->label), "%s", label);
	return e;
}

static void rd(struct g_entry *e, uint32_t n)
{
	if (!e)
		return;
	e->dir = G_READ;
	e->xfer = n;
}

static void wr(struct gen *g, struct g_entry *e, const uint8_t *data, uint32_t n)
{
	if (!e)
		return;
	e->out = malloc(n);
	if (!e->out) {
		g->err = -1;
		return;
	}
	memcpy(e->out, data, n);
	e->dir = G_WRITE;
	e->xfer = n;
}

/* Known block contents: "invar golden" then the tag, the rest of the block the tag byte. */
static void blocks(uint8_t *b, uint32_t bs, const uint8_t *tags, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		memset(b + i * bs, tags[i], bs);
		memcpy(b + i * bs, "invar golden", 12);
	}
}

/* READ/WRITE/VERIFY CDBs by size. */
static const uint8_t *rw10(uint8_t *c, uint8_t op, uint8_t f, uint32_t lba, uint16_t n)
{
	memset(c, 0, 10);
	c[0] = op;
	c[1] = f;
	put_be32(c + 2, lba);
	put_be16(c + 7, n);
	return c;
}

static const uint8_t *rw12(uint8_t *c, uint8_t op, uint8_t f, uint32_t lba, uint32_t n)
{
	memset(c, 0, 12);
	c[0] = op;
	c[1] = f;
	put_be32(c + 2, lba);
	put_be32(c + 6, n);
	return c;
}

static const uint8_t *rw16(uint8_t *c, uint8_t op, uint8_t f, uint64_t lba, uint32_t n)
{
	memset(c, 0, 16);
	c[0] = op;
	c[1] = f;
	put_be64(c + 2, lba);
	put_be32(c + 10, n);
	return c;
}

static unsigned group_len(uint8_t op)
{
	switch (op >> 5) {
	case 0: return 6;
	case 1:
	case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	default: return 16; /* reserved and vendor groups: the whole iSCSI CDB field */
	}
}

/* Opcodes whose byte 1 carries a service action (SPC-4 and SBC-3 tables), whether or not a
 * profile implements them. */
static const uint8_t sa_opcodes[] = { 0x48, 0x5e, 0x5f, 0x7f, 0x83, 0x84, 0x9e, 0x9f, 0xa3, 0xa4 };

/* Where the allocation length of a data-in service-action opcode goes; 0 = not data-in. */
static void sa_cdb(uint8_t *c, uint8_t op, uint8_t sa, unsigned *len, uint32_t *in)
{
	*len = group_len(op);
	memset(c, 0, 16);
	c[0] = op;
	c[1] = sa;
	*in = 0;
	switch (op) {
	case 0x5e: put_be16(c + 7, 512); *in = 512; break;		/* PERSISTENT RESERVE IN */
	case 0x84:
	case 0x9e: put_be32(c + 10, 512); *in = 512; break;	/* RECEIVE COPY, SA IN(16) */
	case 0xa3: put_be32(c + 6, 512); *in = 512; break;	/* MAINTENANCE IN */
	default: break;
	}
}

static void section_ua(struct gen *g)
{
	add(g, "first command: the power-on unit attention", CDB(0x00, 0, 0, 0, 0, 0));
	add(g, "TEST UNIT READY", CDB(0x00, 0, 0, 0, 0, 0));
	rd(add(g, "REQUEST SENSE, nothing pending", CDB(0x03, 0, 0, 0, 252, 0)), 252);
}

static void section_opcodes(struct gen *g)
{
	char label[G_LABEL_MAX];
	uint8_t c[16];

	for (unsigned op = 0; op < 256; op++) {
		const struct scsi_cmd *row;
		struct g_entry *e;

		memset(c, 0, sizeof(c));
		c[0] = (uint8_t)op;
		if (op == 0x1b)
			c[4] = 0x01; /* START STOP UNIT: START, so the unit stays started */
		row = scsi_cmd_lookup(c);
		snprintf(label, sizeof(label), "opcode %02Xh, fields zero%s%s", op,
			 row ? ": " : "", row ? row->name : "");
		e = add(g, label, c, group_len((uint8_t)op));
		/* Data-out commands get none (their zero lengths ask for none); the rest may
		 * return data. */
		if (!row || row->dir != SCSI_DIR_WRITE)
			rd(e, 512);
	}
}

static void section_service_actions(struct gen *g)
{
	char label[G_LABEL_MAX];
	uint8_t c[16];

	for (size_t i = 0; i < sizeof(sa_opcodes); i++) {
		for (unsigned sa = 0; sa < 32; sa++) {
			const struct scsi_cmd *row;
			unsigned len;
			uint32_t in;

			sa_cdb(c, sa_opcodes[i], (uint8_t)sa, &len, &in);
			row = scsi_cmd_lookup(c);
			snprintf(label, sizeof(label), "opcode %02Xh service action %02Xh%s%s",
				 sa_opcodes[i], sa, row ? ": " : "", row ? row->name : "");
			if (in)
				rd(add(g, label, c, len), in);
			else
				add(g, label, c, len);
		}
	}
}

static void section_inquiry(struct gen *g)
{
	static const uint16_t alloc[] = { 0, 1, 5, 36, 95, 96, 97, 255, 1024 };
	char label[G_LABEL_MAX];
	uint8_t c[6];

	for (size_t i = 0; i < sizeof(alloc) / sizeof(alloc[0]); i++) {
		uint8_t cdb[6] = { 0x12, 0, 0, (uint8_t)(alloc[i] >> 8), (uint8_t)alloc[i], 0 };

		snprintf(label, sizeof(label), "INQUIRY standard, allocation length %u", alloc[i]);
		rd(add(g, label, cdb, 6), alloc[i]);
	}
	rd(add(g, "INQUIRY CMDDT (obsolete): invalid field", CDB(0x12, 0x02, 0, 0, 255, 0)), 255);
	rd(add(g, "INQUIRY page code without EVPD", CDB(0x12, 0, 0x80, 0, 255, 0)), 255);
	rd(add(g, "INQUIRY with NACA in CONTROL", CDB(0x12, 0, 0, 0, 255, 0x04)), 255);
	rd(add(g, "INQUIRY with LINK in CONTROL", CDB(0x12, 0, 0, 0, 255, 0x01)), 255);
	for (unsigned page = 0; page < 256; page++) {
		memcpy(c, (uint8_t[]){ 0x12, 0x01, (uint8_t)page, 0, 255, 0 }, 6);
		snprintf(label, sizeof(label), "INQUIRY VPD page %02Xh", page);
		rd(add(g, label, c, 6), 255);
	}
	static const uint8_t short_pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	static const uint8_t short_alloc[] = { 0, 2, 4, 9 };

	for (size_t i = 0; i < sizeof(short_pages); i++)
		for (size_t j = 0; j < sizeof(short_alloc); j++) {
			memcpy(c, (uint8_t[]){ 0x12, 0x01, short_pages[i], 0, short_alloc[j], 0 }, 6);
			snprintf(label, sizeof(label), "INQUIRY VPD page %02Xh, allocation length %u",
				 short_pages[i], short_alloc[j]);
			rd(add(g, label, c, 6), short_alloc[j]);
		}
}

static void ms_add(struct gen *g, bool ten, uint8_t b1, uint8_t pc, uint8_t page,
		       uint8_t sub, uint16_t alloc, const char *what)
{
	char label[G_LABEL_MAX];
	uint8_t c[10] = { 0 };

	c[0] = ten ? 0x5a : 0x1a;
	c[1] = b1;
	c[2] = (uint8_t)(pc << 6 | page);
	c[3] = sub;
	if (ten)
		put_be16(c + 7, alloc);
	else
		c[4] = (uint8_t)alloc;
	snprintf(label, sizeof(label), "MODE SENSE(%d) page %02Xh/%02Xh PC %u%s%s", ten ? 10 : 6,
		 page, sub, pc, what ? ", " : "", what ? what : "");
	rd(add(g, label, c, ten ? 10 : 6), alloc);
}

static void section_mode_sense(struct gen *g)
{
	static const uint8_t subs[] = { 0x00, 0xff };
	static const uint8_t pages[] = { 0x01, 0x02, 0x08, 0x0a, 0x1a, 0x1c };
	static const uint16_t alloc[] = { 0, 1, 4, 8, 12, 20, 40 };

	for (int ten = 0; ten < 2; ten++)
		for (unsigned page = 0; page < 64; page++)
			for (size_t s = 0; s < sizeof(subs); s++)
				for (uint8_t pc = 0; pc < 4; pc++)
					ms_add(g, ten, 0, pc, (uint8_t)page, subs[s],
						   ten ? 1024 : 255, NULL);
	for (int ten = 0; ten < 2; ten++) {
		ms_add(g, ten, 0x08, 0, 0x3f, 0, ten ? 1024 : 255, "DBD");
		for (size_t i = 0; i < sizeof(pages); i++)
			ms_add(g, ten, 0, 0, pages[i], 0x01, ten ? 1024 : 255, "subpage 01h");
		for (size_t i = 0; i < sizeof(alloc) / sizeof(alloc[0]); i++)
			ms_add(g, ten, 0, 0, 0x3f, 0, alloc[i], "short allocation length");
	}
	ms_add(g, true, 0x10, 0, 0x3f, 0, 1024, "LLBAA");
	ms_add(g, true, 0x18, 0, 0x3f, 0, 1024, "LLBAA and DBD");
	ms_add(g, false, 0x10, 0, 0x3f, 0, 255, "reserved bit 4 of byte 1");
}

/* MODE SELECT(6) or (10) with a parameter list of header + optional block descriptor + page. */
static void msel_add(struct gen *g, bool ten, uint8_t b1, const uint8_t *bd, unsigned bd_len,
			const uint8_t *page, unsigned page_len, const char *label)
{
	uint8_t pl[64] = { 0 }, c[10] = { 0 };
	unsigned hdr = ten ? 8 : 4, n = hdr + bd_len + page_len;
	struct g_entry *e;

	if (bd_len) {
		if (ten)
			put_be16(pl + 6, (uint16_t)bd_len);
		else
			pl[3] = (uint8_t)bd_len;
		memcpy(pl + hdr, bd, bd_len);
	}
	memcpy(pl + hdr + bd_len, page, page_len);
	c[0] = ten ? 0x55 : 0x15;
	c[1] = b1;
	if (ten)
		put_be16(c + 7, (uint16_t)n);
	else
		c[4] = (uint8_t)n;
	e = add(g, label, c, ten ? 10 : 6);
	wr(g, e, pl, n);
}

static void section_mode_select(struct gen *g)
{
	uint8_t caching[20] = { 0x08, 0x12 }, control[12] = { 0x0a, 0x0a, 0x00, 0x10, 0x00, 0x00,
							       0x00, 0x00, 0xff, 0xff, 0x00, 0x00 };
	uint8_t bd[8] = { 0 }, r[10];

	put_be24(bd + 5, g->bs);
	msel_add(g, false, 0x10, NULL, 0, caching, 20, "MODE SELECT(6) caching WCE=0");
	ms_add(g, false, 0, 0, 0x08, 0, 255, "after WCE=0");
	caching[2] = 0x04;
	msel_add(g, true, 0x10, NULL, 0, caching, 20, "MODE SELECT(10) caching WCE=1");
	ms_add(g, true, 0, 0, 0x08, 0, 1024, "after WCE=1");
	caching[3] = 0x01;
	msel_add(g, false, 0x10, NULL, 0, caching, 20,
		    "MODE SELECT(6) changes a bit that is not changeable");
	caching[3] = 0;
	msel_add(g, false, 0x11, NULL, 0, caching, 20, "MODE SELECT(6) SP: saving unsupported");
	msel_add(g, false, 0x00, NULL, 0, caching, 20, "MODE SELECT(6) without PF");
	msel_add(g, false, 0x10, bd, 8, caching, 20, "MODE SELECT(6) with block descriptor");
	put_be24(bd + 5, g->bs * 2);
	msel_add(g, false, 0x10, bd, 8, caching, 20,
		    "MODE SELECT(6) block descriptor with another block length");
	msel_add(g, false, 0x10, NULL, 0, (const uint8_t[]){ 0x05, 0x06, 0, 0, 0, 0, 0, 0 }, 8,
		    "MODE SELECT(6) page 05h (not defined)");
	caching[1] = 0x10;
	msel_add(g, false, 0x10, NULL, 0, caching, 18, "MODE SELECT(6) caching, short length");
	caching[1] = 0x12;
	add(g, "MODE SELECT(6) parameter list length 2", CDB(0x15, 0x10, 0, 0, 2, 0));
	wr(g, &g->c->v[g->c->n - 1], (const uint8_t[]){ 0, 0 }, 2);
	add(g, "MODE SELECT(6) parameter list length 0", CDB(0x15, 0x10, 0, 0, 0, 0));
	/* Descriptor sense for a while: the same errors in the other format. */
	control[2] = 0x04;
	msel_add(g, false, 0x10, NULL, 0, control, 12, "MODE SELECT(6) control D_SENSE=1");
	rd(add(g, "opcode FFh with descriptor sense", CDB(0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
							   0, 0, 0, 0)), 512);
	rd(add(g, "READ(10) past the end, descriptor sense",
	       rw10(r, 0x28, 0, (uint32_t)g->blocks, 1), 10), g->bs);
	rd(add(g, "INQUIRY CMDDT, descriptor sense", CDB(0x12, 0x02, 0, 0, 255, 0)), 255);
	rd(add(g, "REQUEST SENSE DESC=0 while D_SENSE=1", CDB(0x03, 0, 0, 0, 252, 0)), 252);
	control[2] = 0x00;
	msel_add(g, false, 0x10, NULL, 0, control, 12, "MODE SELECT(6) control D_SENSE=0");
	/* Software write protect. */
	control[4] = 0x08;
	msel_add(g, true, 0x10, NULL, 0, control, 12, "MODE SELECT(10) control SWP=1");
	ms_add(g, false, 0, 0, 0x0a, 0, 255, "SWP=1: WP in the header");
	{
		uint8_t blk[4096];
		struct g_entry *e;

		blocks(blk, g->bs, (const uint8_t[]){ 0xee }, 1);
		e = add(g, "WRITE(10) while SWP=1", rw10(r, 0x2a, 0, 0, 1), 10);
		wr(g, e, blk, g->bs);
	}
	control[4] = 0x00;
	msel_add(g, true, 0x10, NULL, 0, control, 12, "MODE SELECT(10) control SWP=0");
}

static void section_capacity_luns_sense(struct gen *g)
{
	static const uint32_t rc16_alloc[] = { 0, 8, 12, 32, 64 };
	static const uint32_t rl_alloc[] = { 0, 15, 16, 24, 1024 };
	char label[G_LABEL_MAX];
	uint8_t c[16];

	rd(add(g, "READ CAPACITY(10)", CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 8);
	rd(add(g, "READ CAPACITY(10), transfer length 4", CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 4);
	rd(add(g, "READ CAPACITY(10) LBA without PMI", CDB(0x25, 0, 0, 0, 0, 5, 0, 0, 0, 0)), 8);
	rd(add(g, "READ CAPACITY(10) PMI", CDB(0x25, 0, 0, 0, 0, 5, 0, 0, 1, 0)), 8);
	for (size_t i = 0; i < sizeof(rc16_alloc) / sizeof(rc16_alloc[0]); i++) {
		memset(c, 0, 16);
		c[0] = 0x9e;
		c[1] = 0x10;
		put_be32(c + 10, rc16_alloc[i]);
		snprintf(label, sizeof(label), "READ CAPACITY(16), allocation length %u",
			 rc16_alloc[i]);
		rd(add(g, label, c, 16), rc16_alloc[i]);
	}
	for (unsigned sel = 0; sel < 4; sel++) {
		memset(c, 0, 12);
		c[0] = 0xa0;
		c[2] = (uint8_t)sel;
		put_be32(c + 6, 1024);
		snprintf(label, sizeof(label), "REPORT LUNS select report %u", sel);
		rd(add(g, label, c, 12), 1024);
	}
	for (size_t i = 0; i < sizeof(rl_alloc) / sizeof(rl_alloc[0]); i++) {
		memset(c, 0, 12);
		c[0] = 0xa0;
		put_be32(c + 6, rl_alloc[i]);
		snprintf(label, sizeof(label), "REPORT LUNS, allocation length %u", rl_alloc[i]);
		rd(add(g, label, c, 12), rl_alloc[i]);
	}
	for (unsigned desc = 0; desc < 2; desc++) {
		static const uint8_t rs_alloc[] = { 0, 8, 18, 252 };

		for (size_t i = 0; i < sizeof(rs_alloc); i++) {
			snprintf(label, sizeof(label), "REQUEST SENSE DESC=%u, allocation length %u",
				 desc, rs_alloc[i]);
			rd(add(g, label, (const uint8_t[]){ 0x03, (uint8_t)desc, 0, 0, rs_alloc[i], 0 },
			       6), rs_alloc[i]);
		}
	}
}

static void rsoc(struct gen *g, uint8_t b2, uint8_t op, uint16_t sa, uint32_t alloc,
		 const char *what)
{
	char label[G_LABEL_MAX];
	uint8_t c[12] = { 0xa3, 0x0c, b2, op };

	put_be16(c + 4, sa);
	put_be32(c + 6, alloc);
	snprintf(label, sizeof(label), "REPORT SUPPORTED OPCODES options %u%s, %s", b2 & 7,
		 b2 & 0x80 ? " RCTD" : "", what);
	rd(add(g, label, c, 12), alloc);
}

static void section_rsoc(struct gen *g)
{
	static const uint32_t alloc[] = { 0, 4, 8, 20, 64, 8192 };
	char what[64];

	for (size_t i = 0; i < sizeof(alloc) / sizeof(alloc[0]); i++) {
		snprintf(what, sizeof(what), "all commands, allocation length %u", alloc[i]);
		rsoc(g, 0, 0, 0, alloc[i], what);
		rsoc(g, 0x80, 0, 0, alloc[i], what);
	}
	for (unsigned op = 0; op < 256; op++) {
		snprintf(what, sizeof(what), "opcode %02Xh", op);
		rsoc(g, 1, (uint8_t)op, 0, 512, what);
		rsoc(g, 3, (uint8_t)op, 0, 512, what);
	}
	for (unsigned op = 0; op < 256; op += 0x11)
		rsoc(g, 0x81, (uint8_t)op, 0, 512, "opcode sample with timeouts");
	rsoc(g, 0x81, 0x28, 0, 512, "READ(10) with timeouts");
	rsoc(g, 0x81, 0x2a, 0, 512, "WRITE(10) with timeouts");
	for (size_t i = 0; i < sizeof(sa_opcodes); i++)
		for (unsigned sa = 0; sa < 32; sa++) {
			snprintf(what, sizeof(what), "opcode %02Xh service action %02Xh", sa_opcodes[i],
				 sa);
			rsoc(g, 2, sa_opcodes[i], (uint16_t)sa, 512, what);
			rsoc(g, 3, sa_opcodes[i], (uint16_t)sa, 512, what);
		}
	rsoc(g, 0x82, 0x9e, 0x10, 512, "READ CAPACITY(16) with timeouts");
	rsoc(g, 1, 0x28, 0, 4, "READ(10), allocation length 4");
	for (uint8_t opt = 4; opt < 8; opt++)
		rsoc(g, opt, 0, 0, 512, "reserved option");
	rsoc(g, 0x40, 0, 0, 512, "reserved bit 6");
}

static void section_block_io(struct gen *g)
{
	uint32_t bs = g->bs;
	uint64_t last = g->blocks - 1, end = g->blocks;
	uint8_t *buf = malloc((size_t)bs * 8), c[16];
	struct g_entry *e;

	if (!buf) {
		g->err = -1;
		return;
	}
	/* Known data in blocks 0-6 and the last block. */
	blocks(buf, bs, (const uint8_t[]){ 0x11 }, 1);
	wr(g, add(g, "WRITE(10) LBA 0", rw10(c, 0x2a, 0, 0, 1), 10), buf, bs);
	blocks(buf, bs, (const uint8_t[]){ 0x22 }, 1);
	wr(g, add(g, "WRITE(6) LBA 1", CDB(0x0a, 0, 0, 1, 1, 0)), buf, bs);
	blocks(buf, bs, (const uint8_t[]){ 0x33 }, 1);
	wr(g, add(g, "WRITE(12) LBA 2", rw12(c, 0xaa, 0, 2, 1), 12), buf, bs);
	blocks(buf, bs, (const uint8_t[]){ 0x44, 0x55 }, 2);
	wr(g, add(g, "WRITE(16) LBA 3-4", rw16(c, 0x8a, 0, 3, 2), 16), buf, 2 * bs);
	blocks(buf, bs, (const uint8_t[]){ 0x66 }, 1);
	wr(g, add(g, "WRITE(10) FUA LBA 5", rw10(c, 0x2a, 0x08, 5, 1), 10), buf, bs);
	blocks(buf, bs, (const uint8_t[]){ 0x77 }, 1);
	wr(g, add(g, "WRITE AND VERIFY(10) LBA 6", rw10(c, 0x2e, 0, 6, 1), 10), buf, bs);
	blocks(buf, bs, (const uint8_t[]){ 0x99 }, 1);
	wr(g, add(g, "WRITE(16) last LBA", rw16(c, 0x8a, 0, last, 1), 16), buf, bs);

	rd(add(g, "READ(10) LBA 0", rw10(c, 0x28, 0, 0, 1), 10), bs);
	rd(add(g, "READ(6) LBA 0-7", CDB(0x08, 0, 0, 0, 8, 0)), 8 * bs);
	rd(add(g, "READ(12) LBA 1-3", rw12(c, 0xa8, 0, 1, 3), 12), 3 * bs);
	rd(add(g, "READ(16) LBA 2-6", rw16(c, 0x88, 0, 2, 5), 16), 5 * bs);
	rd(add(g, "READ(16) DPO FUA last LBA", rw16(c, 0x88, 0x18, last, 1), 16), bs);
	rd(add(g, "READ(10) 0 blocks", rw10(c, 0x28, 0, 0, 0), 10), 0);
	rd(add(g, "READ(10) 0 blocks at the end", rw10(c, 0x28, 0, (uint32_t)end, 0), 10), 0);
	rd(add(g, "READ(10) 0 blocks past the end", rw10(c, 0x28, 0, (uint32_t)end + 1, 0), 10), 0);
	rd(add(g, "READ(10) at the capacity", rw10(c, 0x28, 0, (uint32_t)end, 1), 10), bs);
	rd(add(g, "READ(10) across the end", rw10(c, 0x28, 0, (uint32_t)last, 2), 10), 2 * bs);
	rd(add(g, "READ(12) at the capacity", rw12(c, 0xa8, 0, (uint32_t)end, 1), 12), bs);
	rd(add(g, "READ(16) LBA FFFFFFFFFFFFFFFF", rw16(c, 0x88, 0, UINT64_MAX, 1), 16), bs);
	rd(add(g, "READ(16) length wraps the LBA", rw16(c, 0x88, 0, 1, UINT32_MAX), 16), bs);
	rd(add(g, "READ(6) LBA 1FFFFFh", CDB(0x08, 0x1f, 0xff, 0xff, 1, 0)), bs);
	rd(add(g, "READ(6) length 0 means 256 blocks", CDB(0x08, 0, 0, 0, 0, 0)), 256 * bs);
	rd(add(g, "READ(16) over the maximum transfer length",
	       rw16(c, 0x88, 0, 0, (32u << 20) / bs + 1), 16), 0);
	rd(add(g, "READ(10) RDPROTECT=1", rw10(c, 0x28, 0x20, 0, 1), 10), bs);
	rd(add(g, "READ(10) reserved bits of the group byte", CDB(0x28, 0, 0, 0, 0, 0, 0xe0, 0, 1,
								   0)), bs);
	rd(add(g, "READ(10) NACA", CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x04)), bs);
	blocks(buf, bs, (const uint8_t[]){ 0xaa }, 1);
	wr(g, add(g, "WRITE(10) at the capacity", rw10(c, 0x2a, 0, (uint32_t)end, 1), 10), buf, bs);
	wr(g, add(g, "WRITE(16) WRPROTECT=1", rw16(c, 0x8a, 0x20, 0, 1), 16), buf, bs);
	wr(g, add(g, "WRITE(10) less data than blocks (EDTL 1 block of 2)",
		  rw10(c, 0x2a, 0, 7, 2), 10), buf, bs);
	rd(add(g, "READ(10) LBA 7-8 after the short write", rw10(c, 0x28, 0, 7, 2), 10), 2 * bs);

	/* VERIFY. */
	add(g, "VERIFY(10) BYTCHK=0 LBA 0-7", rw10(c, 0x2f, 0, 0, 8), 10);
	blocks(buf, bs, (const uint8_t[]){ 0x11 }, 1);
	wr(g, add(g, "VERIFY(10) BYTCHK=1 matching", rw10(c, 0x2f, 0x02, 0, 1), 10), buf, bs);
	wr(g, add(g, "VERIFY(16) BYTCHK=1 miscompare", rw16(c, 0x8f, 0x02, 1, 1), 16), buf, bs);
	blocks(buf, bs, (const uint8_t[]){ 0x22 }, 1);
	wr(g, add(g, "VERIFY(12) BYTCHK=3 one block", rw12(c, 0xaf, 0x06, 1, 1), 12), buf, bs);
	add(g, "VERIFY(10) BYTCHK=2 (reserved)", rw10(c, 0x2f, 0x04, 0, 1), 10);
	add(g, "VERIFY(16) past the end", rw16(c, 0x8f, 0, end, 1), 16);
	add(g, "VERIFY(16) BYTCHK=0 over the transfer limit", rw16(c, 0x8f, 0, 0,
								    (uint32_t)g->blocks), 16);
	blocks(buf, bs, (const uint8_t[]){ 0x77 }, 1);
	wr(g, add(g, "WRITE AND VERIFY(16) LBA 6 again", rw16(c, 0x8e, 0, 6, 1), 16), buf, bs);
	add(g, "SYNCHRONIZE CACHE(10) everything", rw10(c, 0x35, 0, 0, 0), 10);
	add(g, "SYNCHRONIZE CACHE(10) IMMED", rw10(c, 0x35, 0x02, 0, 8), 10);
	add(g, "SYNCHRONIZE CACHE(16) past the end", rw16(c, 0x91, 0, end, 1), 16);

	/* Thin provisioning and COMPARE AND WRITE (unsupported opcodes in invar-2026.1). */
	blocks(buf, bs, (const uint8_t[]){ 0xbb }, 1);
	wr(g, add(g, "WRITE SAME(10) LBA 8-11", rw10(c, 0x41, 0, 8, 4), 10), buf, bs);
	rd(add(g, "READ(10) LBA 8-11", rw10(c, 0x28, 0, 8, 4), 10), 4 * bs);
	wr(g, add(g, "WRITE SAME(10) 0 blocks", rw10(c, 0x41, 0, 8, 0), 10), buf, bs);
	wr(g, add(g, "WRITE SAME(10) ANCHOR", rw10(c, 0x41, 0x10, 8, 1), 10), buf, bs);
	wr(g, add(g, "WRITE SAME(16) past the end", rw16(c, 0x93, 0, last, 2), 16), buf, bs);
	memset(buf, 0, bs);
	wr(g, add(g, "WRITE SAME(16) UNMAP zero block LBA 8-9", rw16(c, 0x93, 0x08, 8, 2), 16),
	   buf, bs);
	add(g, "WRITE SAME(16) NDOB UNMAP LBA 10-11", rw16(c, 0x93, 0x09, 10, 2), 16);
	rd(add(g, "READ(10) LBA 8-11 after unmapping", rw10(c, 0x28, 0, 8, 4), 10), 4 * bs);
	{
		uint8_t pl[24] = { 0 };

		put_be16(pl, 22);
		put_be16(pl + 2, 16);
		put_be64(pl + 8, 4);
		put_be32(pl + 16, 1);
		wr(g, add(g, "UNMAP LBA 4", CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0)), pl, 24);
		wr(g, add(g, "UNMAP ANCHOR", CDB(0x42, 0x01, 0, 0, 0, 0, 0, 0, 24, 0)), pl, 24);
		put_be64(pl + 8, end);
		wr(g, add(g, "UNMAP past the end", CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0)), pl, 24);
		put_be16(pl + 2, 32);
		wr(g, add(g, "UNMAP descriptor length beyond the list",
			  CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0)), pl, 24);
		add(g, "UNMAP parameter list length 0", CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	}
	rd(add(g, "READ(10) LBA 4 after UNMAP", rw10(c, 0x28, 0, 4, 1), 10), bs);
	for (unsigned lba = 0; lba < 16; lba += 4) {
		char label[G_LABEL_MAX];

		memset(c, 0, 16);
		c[0] = 0x9e;
		c[1] = 0x12;
		put_be64(c + 2, lba);
		put_be32(c + 10, 256);
		snprintf(label, sizeof(label), "GET LBA STATUS from LBA %u", lba);
		rd(add(g, label, c, 16), 256);
	}
	memset(c, 0, 16);
	c[0] = 0x9e;
	c[1] = 0x12;
	put_be64(c + 2, end);
	put_be32(c + 10, 256);
	rd(add(g, "GET LBA STATUS at the capacity", c, 16), 256);
	put_be64(c + 2, 0);
	put_be32(c + 10, 8);
	rd(add(g, "GET LBA STATUS allocation length 8", c, 16), 8);
	put_be32(c + 10, 24);
	rd(add(g, "GET LBA STATUS allocation length 24", c, 16), 24);

	blocks(buf, bs, (const uint8_t[]){ 0x22, 0xcc }, 2);
	memset(c, 0, 16);
	c[0] = 0x89;
	put_be64(c + 2, 1);
	c[13] = 1;
	e = add(g, "COMPARE AND WRITE LBA 1, matching", c, 16);
	wr(g, e, buf, 2 * bs);
	e = add(g, "COMPARE AND WRITE LBA 1 again: miscompare", c, 16);
	wr(g, e, buf, 2 * bs);
	rd(add(g, "READ(10) LBA 1 after COMPARE AND WRITE", rw10(c, 0x28, 0, 1, 1), 10), bs);
	memset(c, 0, 16);
	c[0] = 0x89;
	put_be64(c + 2, 1);
	add(g, "COMPARE AND WRITE 0 blocks", c, 16);
	c[13] = 2;
	wr(g, add(g, "COMPARE AND WRITE 2 blocks with 1 block of data", c, 16), buf, 2 * bs);
	put_be64(c + 2, end);
	c[13] = 1;
	wr(g, add(g, "COMPARE AND WRITE past the end", c, 16), buf, 2 * bs);
	free(buf);
}

static void section_unit_state(struct gen *g)
{
	uint8_t c[16];

	add(g, "PREVENT ALLOW MEDIUM REMOVAL prevent", CDB(0x1e, 0, 0, 0, 1, 0));
	add(g, "START STOP UNIT eject while prevented", CDB(0x1b, 0, 0, 0, 0x02, 0));
	add(g, "PREVENT ALLOW MEDIUM REMOVAL 2 (obsolete)", CDB(0x1e, 0, 0, 0, 2, 0));
	add(g, "PREVENT ALLOW MEDIUM REMOVAL allow", CDB(0x1e, 0, 0, 0, 0, 0));
	add(g, "START STOP UNIT stop", CDB(0x1b, 0, 0, 0, 0, 0));
	add(g, "TEST UNIT READY, stopped", CDB(0x00, 0, 0, 0, 0, 0));
	rd(add(g, "READ(10), stopped", rw10(c, 0x28, 0, 0, 1), 10), g->bs);
	rd(add(g, "READ CAPACITY(10), stopped", CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 8);
	rd(add(g, "REQUEST SENSE, stopped", CDB(0x03, 0, 0, 0, 252, 0)), 252);
	rd(add(g, "INQUIRY, stopped", CDB(0x12, 0, 0, 0, 96, 0)), 96);
	add(g, "START STOP UNIT start IMMED", CDB(0x1b, 0x01, 0, 0, 0x01, 0));
	add(g, "TEST UNIT READY, started", CDB(0x00, 0, 0, 0, 0, 0));
	add(g, "START STOP UNIT power condition ACTIVE", CDB(0x1b, 0, 0, 0, 0x10, 0));
	add(g, "START STOP UNIT power condition 4 (reserved)", CDB(0x1b, 0, 0, 0, 0x40, 0));
	add(g, "START STOP UNIT power condition modifier", CDB(0x1b, 0, 0, 0x01, 0x01, 0));
	add(g, "RESERVE(6)", CDB(0x16, 0, 0, 0, 0, 0));
	add(g, "RESERVE(6) again by the holder", CDB(0x16, 0, 0, 0, 0, 0));
	add(g, "RELEASE(6)", CDB(0x17, 0, 0, 0, 0, 0));
	add(g, "RESERVE(10)", CDB(0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	add(g, "RESERVE(10) third party (obsolete)", CDB(0x56, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0));
	add(g, "RELEASE(10)", CDB(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	add(g, "TEST UNIT READY, LINK", CDB(0x00, 0, 0, 0, 0, 0x01));
	add(g, "TEST UNIT READY, NACA", CDB(0x00, 0, 0, 0, 0, 0x04));
	add(g, "TEST UNIT READY, vendor bits", CDB(0x00, 0, 0, 0, 0, 0xc0));
	add(g, "TEST UNIT READY, reserved byte 1", CDB(0x00, 0xff, 0, 0, 0, 0));
	rd(add(g, "REPORT LUNS at the end", CDB(0xa0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0)), 1024);
	rd(add(g, "INQUIRY at the end", CDB(0x12, 0, 0, 0, 255, 0)), 255);
}

int gen_corpus(struct g_corpus *c, uint32_t block_size, uint64_t num_blocks)
{
	struct gen g = { c, block_size, num_blocks, 0 };

	if (block_size == 0 || block_size > 4096 || num_blocks < 64)
		return -1;
	section_ua(&g);
	section_opcodes(&g);
	section_service_actions(&g);
	section_inquiry(&g);
	section_mode_sense(&g);
	section_mode_select(&g);
	section_capacity_luns_sense(&g);
	section_rsoc(&g);
	section_block_io(&g);
	section_unit_state(&g);
	return g.err;
}

struct profile_iter {
	void (*fn)(const char *name, bool draft, void *arg);
	void *arg;
};

static void profile_one(const struct scsi_profile *p, void *arg)
{
	struct profile_iter *it = arg;

	it->fn(p->name, p->draft, it->arg);
}

void gen_profile_foreach(void (*fn)(const char *name, bool draft, void *arg), void *arg)
{
	struct profile_iter it = { fn, arg };

	scsi_profile_foreach(profile_one, &it);
}

int gen_profile_is_draft(const char *name)
{
	const struct scsi_profile *p = name && *name ? scsi_profile_find(name) : NULL;

	return p ? p->draft : -1;
}
