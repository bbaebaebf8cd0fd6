/* Logical units: identity, profile binding, reference counting, and per-I_T-nexus unit
 * attentions (SAM-5 5.14; a nexus new to the LU starts with POWER ON, SAM-5 6.2). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "scsi/lu.h"
#include "scsi/lu_feature.h"
#include "scsi/nexus.h"
#include "scsi/pr_lu.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "util/atomic_file.h"
#include "util/hex.h"
#include "util/log.h"

/* ---- identity ----------------------------------------------------------------------------- */

/* FNV-1a then a splitmix64 finaliser: stable across versions and platforms (the identity of an
 * LU must never change for the same seed). */
static uint64_t lu_hash(const char *s, const char *salt)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = s; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (const char *p = salt; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* Identity generated from the seed (e.g. "target-iqn/lun"):
 *  - serial: 16 lower-case hex digits of a hash of the seed;
 *  - NAA: NAA 3h "Locally Assigned" (SPC-4 7.8.6.6.3), 8 bytes: 4-bit NAA 3 then 60 bits of a
 *    second hash. invar owns no IEEE company id, and borrowing one (NAA 5/6) would claim
 *    another vendor's name space; NAA 3 is the designator SPC-4 provides for exactly this. */
static void lu_identity_resolve(struct lu_config *c, const char *seed)
{
	if (!seed)
		seed = "";
	if (!c->serial[0])
		snprintf(c->serial, sizeof(c->serial), "%016" PRIx64, lu_hash(seed, "/serial"));
	if (c->naa_len == 0) {
		uint64_t h = lu_hash(seed, "/naa");

		for (int i = 0; i < 8; i++)
			c->naa[i] = (uint8_t)(h >> (56 - 8 * i));
		c->naa[0] = (uint8_t)(0x30 | (c->naa[0] & 0x0f));
		c->naa_len = 8;
	}
}

/* ---- life ------------------------------------------------------------------------------- */

int lu_create_on(const struct lu_config *cfg, struct backstore *bs, const char *identity_seed,
		 struct lu **out, char *err, size_t err_len)
{
	const struct scsi_profile *p;
	struct lu *lu;
	uint32_t bsz = cfg->block_size ? cfg->block_size : 512;
	char bs_ident[256];

	*out = NULL;
	/* A medium with a name of its own (an RBD image: cluster, pool, image id) gives the LU its
	 * serial and NAA, so every daemon serving it presents the same device. */
	if (backstore_identity(bs, bs_ident, sizeof(bs_ident)) == 0 && bs_ident[0])
		identity_seed = bs_ident;
	p = scsi_profile_find(cfg->profile);
	if (!p) {
		snprintf(err, err_len, "unknown behaviour profile '%.32s'", cfg->profile);
		backstore_close(bs);
		return -EINVAL;
	}
	if (bsz != 512 && bsz != 1024 && bsz != 2048 && bsz != 4096) {
		snprintf(err, err_len, "block size %u not supported (512, 1024, 2048, 4096)", bsz);
		backstore_close(bs);
		return -EINVAL;
	}
	if (cfg->naa_len != 0 && cfg->naa_len != 8 && cfg->naa_len != 16) {
		snprintf(err, err_len, "NAA designator must be 8 or 16 bytes");
		backstore_close(bs);
		return -EINVAL;
	}
	if (bs->size < bsz) {
		snprintf(err, err_len, "backstore of %" PRIu64 " bytes holds no %u-byte block",
			 bs->size, bsz);
		backstore_close(bs);
		return -EINVAL;
	}
	lu = calloc(1, sizeof(*lu));
	if (!lu) {
		snprintf(err, err_len, "out of memory");
		backstore_close(bs);
		return -ENOMEM;
	}
	atomic_init(&lu->refcnt, 1);
	lu->bs = bs;
	lu->cfg = *cfg;
	lu->cfg.serial[sizeof(lu->cfg.serial) - 1] = '\0';
	lu->cfg.block_size = bsz;
	lu_identity_resolve(&lu->cfg, identity_seed);
	lu->profile = p;
	lu->block_size = bsz;
	atomic_init(&lu->num_blocks, bs->size / bsz);
	pthread_mutex_init(&lu->lock, NULL);
	list_init(&lu->cap.listeners);
	for (unsigned i = 0; i < LU_F_COUNT; i++) {
		int ret = lu_features[i].init ? lu_features[i].init(lu, err, err_len) : 0;

		if (ret < 0) {
			/* lu_put frees every feature (each copes with a partial init) but not bs,
			 * which the caller handed over: close it here. */
			lu->bs = NULL;
			lu_put(lu);
			backstore_close(bs);
			return ret;
		}
	}
	*out = lu;
	return 0;
}

int lu_create(const struct lu_config *cfg, const char *identity_seed, struct lu **out, char *err,
	      size_t err_len)
{
	struct bs_config bc = {
		.type = cfg->backstore,
		.path = cfg->path,
		.size = cfg->size,
		.create = cfg->size != 0 && !cfg->readonly,
		.read_only = cfg->readonly,
	};
	struct backstore *bs;
	int r;

	*out = NULL;
	r = backstore_open(&bc, &bs, err, err_len);
	if (r < 0)
		return r;
	return lu_create_on(cfg, bs, identity_seed, out, err, err_len);
}

void lu_get(struct lu *lu)
{
	atomic_fetch_add_explicit(&lu->refcnt, 1, memory_order_relaxed);
}

void lu_put(struct lu *lu)
{
	if (!lu || atomic_fetch_sub_explicit(&lu->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	for (unsigned i = LU_F_COUNT; i-- > 0;)
		if (lu_features[i].free)
			lu_features[i].free(lu);
	if (lu->bs)
		backstore_close(lu->bs);
	pthread_mutex_destroy(&lu->lock);
	free(lu);
}

/* ---- per-nexus state and unit attentions -------------------------------------------------- */

/* Fibonacci hashing of a nexus id: the top bits of id * 2^64/phi. */
static uint64_t nexus_hash(uint64_t id)
{
	return id * 0x9e3779b97f4a7c15ull;
}

static unsigned hint_slot(uint64_t id)
{
	return (unsigned)(nexus_hash(id) >> 32) % LU_NEXUS_HINT_SLOTS;
}

/* A lock-free hint table (struct lu's nexus_hint and ident_hint): open addressing over
 * LU_NEXUS_HINT_SLOTS ids, 0 = never used, UINT64_MAX = removed (probing goes on past it). Ids
 * are never reused, so a hit is never stale; a miss only sends the caller to the locked path. */
static bool hint_has(_Atomic uint64_t *tab, uint64_t id)
{
	unsigned s = hint_slot(id);

	for (unsigned i = 0; i < LU_NEXUS_HINT_SLOTS; i++) {
		uint64_t v = atomic_load_explicit(&tab[(s + i) % LU_NEXUS_HINT_SLOTS],
						  memory_order_acquire);
		if (v == id)
			return true;
		if (v == 0)
			return false;
	}
	return false;
}

/* Under lu->lock, for an id not in the table. A full table just means that id always takes the
 * locked path. */
static void hint_add(_Atomic uint64_t *tab, uint64_t id)
{
	unsigned s = hint_slot(id);

	for (unsigned i = 0; i < LU_NEXUS_HINT_SLOTS; i++) {
		_Atomic uint64_t *slot = &tab[(s + i) % LU_NEXUS_HINT_SLOTS];
		uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);

		if (v == 0 || v == UINT64_MAX) {
			atomic_store_explicit(slot, id, memory_order_release);
			return;
		}
	}
}

/* Under lu->lock. */
static void hint_del(_Atomic uint64_t *tab, uint64_t id)
{
	for (unsigned i = 0; i < LU_NEXUS_HINT_SLOTS; i++)
		if (atomic_load_explicit(&tab[i], memory_order_relaxed) == id)
			atomic_store_explicit(&tab[i], UINT64_MAX, memory_order_release);
}

/* ---- the record index: nexus id -> record, under lu->lock ---- */

static unsigned nexus_bucket(const struct lu *lu, uint64_t id)
{
	return (unsigned)(nexus_hash(id) >> 32) & (lu->nx.nbuckets - 1);
}

static struct lu_nexus *nexus_find(struct lu *lu, uint64_t id)
{
	struct lu_nexus *ln;

	if (!lu->nx.nbuckets)
		return NULL;
	for (ln = lu->nx.bucket[nexus_bucket(lu, id)]; ln; ln = ln->hnext)
		if (ln->nexus_id == id)
			return ln;
	return NULL;
}

/* Doubles the buckets (a power of two, at least 64) once records outnumber them. -ENOMEM
 * leaves the index as it was, still correct, only with longer chains. */
static int nexus_index_grow(struct lu *lu)
{
	unsigned n = lu->nx.nbuckets ? lu->nx.nbuckets * 2 : 64, i;
	struct lu_nexus **b = calloc(n, sizeof(*b)), *ln, *next;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < lu->nx.nbuckets; i++)
		for (ln = lu->nx.bucket[i]; ln; ln = next) {
			unsigned k = (unsigned)(nexus_hash(ln->nexus_id) >> 32) & (n - 1);

			next = ln->hnext;
			ln->hnext = b[k];
			b[k] = ln;
		}
	free(lu->nx.bucket);
	lu->nx.bucket = b;
	lu->nx.nbuckets = n;
	return 0;
}

static int nexus_index_add(struct lu *lu, struct lu_nexus *ln)
{
	unsigned k;

	if (lu->nx.count >= lu->nx.nbuckets && nexus_index_grow(lu) && !lu->nx.nbuckets)
		return -ENOMEM;
	k = nexus_bucket(lu, ln->nexus_id);
	ln->hnext = lu->nx.bucket[k];
	lu->nx.bucket[k] = ln;
	lu->nx.count++;
	return 0;
}

static void nexus_index_del(struct lu *lu, struct lu_nexus *ln)
{
	struct lu_nexus **pp = &lu->nx.bucket[nexus_bucket(lu, ln->nexus_id)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == ln) {
			*pp = ln->hnext;
			lu->nx.count--;
			return;
		}
}

static void ua_set(struct lu *lu, struct lu_nexus *ln, enum ua_kind kind)
{
	if (!ln->ua_mask)
		atomic_fetch_add(&lu->nx.ua_pending, 1);
	ln->ua_mask |= 1u << kind;
}

/* Under lu->lock: the nexus record, created with UA_POWER_ON the first time (SAM-5 6.2). */
static struct lu_nexus *nexus_get(struct lu *lu, uint64_t id)
{
	struct lu_nexus *ln = nexus_find(lu, id);

	if (ln)
		return ln;
	ln = calloc(1, sizeof(*ln));
	if (!ln)
		return NULL;
	ln->nexus_id = id;
	if (nexus_index_add(lu, ln)) {
		free(ln);
		return NULL;
	}
	list_add_tail(&lu->nx.list, &ln->node);
	ua_set(lu, ln, UA_POWER_ON);
	hint_add(lu->nx.hint, id);
	return ln;
}

void lu_ua_establish_all(struct lu *lu, enum ua_kind kind, uint64_t except_nexus)
{
	struct list_node *n;

	pthread_mutex_lock(&lu->lock);
	list_for_each(n, &lu->nx.list) {
		struct lu_nexus *ln = list_entry(n, struct lu_nexus, node);

		if (ln->nexus_id != except_nexus || except_nexus == 0)
			ua_set(lu, ln, kind);
	}
	pthread_mutex_unlock(&lu->lock);
}

void lu_ua_establish(struct lu *lu, uint64_t nexus_id, enum ua_kind kind)
{
	struct lu_nexus *ln;

	pthread_mutex_lock(&lu->lock);
	ln = nexus_get(lu, nexus_id);
	if (ln)
		ua_set(lu, ln, kind);
	pthread_mutex_unlock(&lu->lock);
}

static int ua_first(uint32_t mask)
{
	for (int k = 0; k < UA_KIND_COUNT; k++)
		if (mask & (1u << k))
			return k;
	return -1;
}

static int ua_get(struct lu *lu, uint64_t nexus_id, bool take)
{
	struct lu_nexus *ln;
	int k = -1;

	if (atomic_load_explicit(&lu->nx.ua_pending, memory_order_acquire) == 0 &&
	    hint_has(lu->nx.hint, nexus_id))
		return -1;
	pthread_mutex_lock(&lu->lock);
	ln = nexus_get(lu, nexus_id);
	if (ln) {
		k = ua_first(ln->ua_mask);
		if (k >= 0 && take) {
			ln->ua_mask &= ~(1u << k);
			if (!ln->ua_mask)
				atomic_fetch_sub(&lu->nx.ua_pending, 1);
		}
	}
	pthread_mutex_unlock(&lu->lock);
	return k;
}

int lu_ua_take(struct lu *lu, uint64_t nexus_id)
{
	return ua_get(lu, nexus_id, true);
}

int lu_ua_peek(struct lu *lu, uint64_t nexus_id)
{
	return ua_get(lu, nexus_id, false);
}

void lu_nexus_gone(struct lu *lu, uint64_t nexus_id)
{
	struct lu_nexus *ln;

	pthread_mutex_lock(&lu->lock);
	ln = nexus_find(lu, nexus_id);
	if (ln) {
		if (ln->ua_mask)
			atomic_fetch_sub(&lu->nx.ua_pending, 1);
		list_del(&ln->node);
		nexus_index_del(lu, ln);
		free(ln);
		hint_del(lu->nx.hint, nexus_id);
		hint_del(lu->nx.ident_hint, nexus_id);
	}
	pthread_mutex_unlock(&lu->lock);
}

/* ---- nexus identity (persistent reservations) ------------------------------------------ */

/* Under lu->lock: a nexus that continues one from the daemon the LU migrated from takes the
 * UAs it had there (possibly none) instead of POWER ON. */
static void ua_carry_adopt(struct lu *lu, struct lu_nexus *ln)
{
	for (unsigned i = 0; i < lu->nx.ncarry; i++) {
		struct lu_ua_carry *c = &lu->nx.carry[i];

		if (c->rel_port_id != ln->rel_port_id || memcmp(c->isid, ln->isid, 6) != 0 ||
		    strcmp(c->initiator, ln->initiator) != 0)
			continue;
		uint32_t m = c->ua_mask & ((1u << UA_KIND_COUNT) - 1);

		if (ln->ua_mask && !m)
			atomic_fetch_sub(&lu->nx.ua_pending, 1);
		else if (!ln->ua_mask && m)
			atomic_fetch_add(&lu->nx.ua_pending, 1);
		ln->ua_mask = m;
		lu->nx.carry[i] = lu->nx.carry[--lu->nx.ncarry];
		atomic_store(&lu->nx.ncarry_pub, lu->nx.ncarry);
		return;
	}
}

void lu_nexus_identify(struct lu *lu, const struct it_nexus *n)
{
	struct lu_nexus *ln;

	if (!n || hint_has(lu->nx.ident_hint, n->id))
		return;
	pthread_mutex_lock(&lu->lock);
	ln = nexus_get(lu, n->id);
	if (ln && !ln->ident) {
		snprintf(ln->initiator, sizeof(ln->initiator), "%s", n->initiator);
		memcpy(ln->isid, n->isid, sizeof(ln->isid));
		ln->rel_port_id = n->rel_port_id;
		ln->ident = true;
		ua_carry_adopt(lu, ln);
		hint_add(lu->nx.ident_hint, n->id);
	}
	pthread_mutex_unlock(&lu->lock);
}

void lu_ua_establish_match(struct lu *lu, enum ua_kind kind,
			   bool (*match)(const struct lu_nexus *ln, void *arg), void *arg)
{
	struct list_node *n;

	pthread_mutex_lock(&lu->lock);
	list_for_each(n, &lu->nx.list) {
		struct lu_nexus *ln = list_entry(n, struct lu_nexus, node);

		if (ln->ident && match(ln, arg))
			ua_set(lu, ln, kind);
	}
	pthread_mutex_unlock(&lu->lock);
}

unsigned lu_nexus_select(struct lu *lu, bool (*match)(const struct lu_nexus *ln, void *arg),
			 void *arg, uint64_t *ids, unsigned max)
{
	struct list_node *n;
	unsigned cnt = 0;

	pthread_mutex_lock(&lu->lock);
	list_for_each(n, &lu->nx.list) {
		struct lu_nexus *ln = list_entry(n, struct lu_nexus, node);

		if (ln->ident && match(ln, arg)) {
			if (cnt < max)
				ids[cnt] = ln->nexus_id;
			cnt++;
		}
	}
	pthread_mutex_unlock(&lu->lock);
	return cnt;
}

/* PREVENT ALLOW MEDIUM REMOVAL per I_T nexus (SBC-3 5.13, SPC-4 6.13): removal is prevented
 * while any nexus holds a prevent; a nexus that goes away takes its prevent with it. */
int lu_prevent_set(struct lu *lu, uint64_t nexus_id, bool on)
{
	struct lu_nexus *ln;
	int ret = 0;

	pthread_mutex_lock(&lu->lock);
	ln = nexus_get(lu, nexus_id);
	if (ln)
		ln->prevent = on;
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&lu->lock);
	return ret;
}

bool lu_prevent_any(struct lu *lu)
{
	struct list_node *n;
	bool any = false;

	pthread_mutex_lock(&lu->lock);
	list_for_each(n, &lu->nx.list)
		any |= list_entry(n, struct lu_nexus, node)->prevent;
	pthread_mutex_unlock(&lu->lock);
	return any;
}

void lu_prevent_clear_all(struct lu *lu)
{
	struct list_node *n;

	pthread_mutex_lock(&lu->lock);
	list_for_each(n, &lu->nx.list)
		list_entry(n, struct lu_nexus, node)->prevent = false;
	pthread_mutex_unlock(&lu->lock);
}

/* ---- persistent state ------------------------------------------------------------------- */

int lu_set_state_dir(struct lu *lu, const char *data_dir)
{
	char hex[2 * 16 + 1];
	int n, ret;

	hex_encode(hex, lu->cfg.naa, lu->cfg.naa_len < 16 ? lu->cfg.naa_len : 16);
	n = snprintf(lu->state_dir, sizeof(lu->state_dir), "%s/lu/%s", data_dir, hex);
	if (n < 0 || (size_t)n >= sizeof(lu->state_dir)) {
		lu->state_dir[0] = 0;
		return -ENAMETOOLONG;
	}
	ret = mkdir_p(lu->state_dir);
	if (ret < 0)
		lu->state_dir[0] = 0;
	return ret;
}

static int lu_state_path(const struct lu *lu, const char *name, char *out, size_t len)
{
	int n;

	if (!lu->state_dir[0])
		return -ENOENT;
	if (!name[0] || strchr(name, '/'))
		return -EINVAL;
	n = snprintf(out, len, "%s/%s", lu->state_dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int lu_state_save(struct lu *lu, const char *name, const void *data, size_t len)
{
	char path[4096 + 64];
	int ret = lu_state_path(lu, name, path, sizeof(path));

	return ret < 0 ? ret : atomic_file_write(path, data, len);
}

int lu_state_load(struct lu *lu, const char *name, size_t max, char **data, size_t *len)
{
	char path[4096 + 64];
	int ret = lu_state_path(lu, name, path, sizeof(path));

	*data = NULL;
	*len = 0;
	return ret < 0 ? ret : file_read_all(path, max, data, len);
}

int lu_state_remove(struct lu *lu, const char *name)
{
	char path[4096 + 64];
	int ret = lu_state_path(lu, name, path, sizeof(path));

	if (ret < 0)
		return ret;
	return atomic_file_remove(path);
}

/* ---- live migration ----------------------------------------------------------------------- */

unsigned lu_ua_snapshot(struct lu *lu, struct lu_ua_carry *out, unsigned max)
{
	struct list_node *n;
	unsigned cnt = 0;

	pthread_mutex_lock(&lu->lock);
	list_for_each(n, &lu->nx.list) {
		struct lu_nexus *ln = list_entry(n, struct lu_nexus, node);

		if (!ln->ident)
			continue;
		if (cnt < max) {
			memset(&out[cnt], 0, sizeof(out[cnt]));
			snprintf(out[cnt].initiator, sizeof(out[cnt].initiator), "%s",
				 ln->initiator);
			memcpy(out[cnt].isid, ln->isid, 6);
			out[cnt].rel_port_id = ln->rel_port_id;
			out[cnt].ua_mask = ln->ua_mask;
		}
		cnt++;
	}
	/* Carried entries no nexus has claimed yet are still owed to their initiators. */
	for (unsigned i = 0; i < lu->nx.ncarry; i++, cnt++)
		if (cnt < max)
			out[cnt] = lu->nx.carry[i];
	pthread_mutex_unlock(&lu->lock);
	return cnt;
}

int lu_ua_carry_set(struct lu *lu, const struct lu_ua_carry *c, unsigned n)
{
	struct lu_ua_carry *copy = NULL;

	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, c, n * sizeof(*copy));
	}
	pthread_mutex_lock(&lu->lock);
	free(lu->nx.carry);
	lu->nx.carry = copy;
	lu->nx.ncarry = n;
	atomic_store(&lu->nx.ncarry_pub, n);
	pthread_mutex_unlock(&lu->lock);
	return 0;
}

/* ---- I_T nexus loss ---------------------------------------------------------------------- */

/* At most this many initiator ports wait for their I_T NEXUS LOSS OCCURRED: one that never
 * comes back must not make the LU grow without bound (the oldest is forgotten first). */
#define LU_NEXUS_LOSS_CARRY_MAX 64

void lu_ua_nexus_lost(struct lu *lu, const struct it_nexus *n)
{
	struct lu_ua_carry *c = NULL, *grown;
	struct lu_nexus *ln;
	uint32_t mask = 1u << UA_NEXUS_LOSS;
	unsigned i;

	pthread_mutex_lock(&lu->lock);
	ln = nexus_find(lu, n->id);
	if (ln)
		mask |= ln->ua_mask;	/* what it had not been told yet is still owed */
	for (i = 0; i < lu->nx.ncarry; i++) {
		struct lu_ua_carry *x = &lu->nx.carry[i];

		if (x->rel_port_id == n->rel_port_id && !memcmp(x->isid, n->isid, 6) &&
		    !strcmp(x->initiator, n->initiator)) {
			c = x;
			break;
		}
	}
	if (!c) {
		if (lu->nx.ncarry >= LU_NEXUS_LOSS_CARRY_MAX) {
			memmove(&lu->nx.carry[0], &lu->nx.carry[1],
				(lu->nx.ncarry - 1) * sizeof(lu->nx.carry[0]));
			lu->nx.ncarry--;
		} else {
			grown = realloc(lu->nx.carry, (lu->nx.ncarry + 1) * sizeof(*grown));
			if (!grown)
				goto out;	/* the new nexus then starts with POWER ON */
			lu->nx.carry = grown;
		}
		c = &lu->nx.carry[lu->nx.ncarry++];
		memset(c, 0, sizeof(*c));
		snprintf(c->initiator, sizeof(c->initiator), "%s", n->initiator);
		memcpy(c->isid, n->isid, 6);
		c->rel_port_id = n->rel_port_id;
		atomic_store(&lu->nx.ncarry_pub, lu->nx.ncarry);
	}
	c->ua_mask |= mask;
out:
	pthread_mutex_unlock(&lu->lock);
}
