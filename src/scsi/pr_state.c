/* Persistent reservations: state, the PERSISTENT RESERVE OUT state machine (SPC-4 5.12.x and
 * 6.16), conflict rules (SPC-4 5.12.1 Table 50, SBC-3 4.18), the APTPL file, and the LU glue
 * (locking, unit attentions, which nexuses PREEMPT AND ABORT hits). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/pr_state.h"
#include "util/log.h"

/* ---- state ------------------------------------------------------------------------------ */

void pr_state_init(struct pr_state *s)
{
	memset(s, 0, sizeof(*s));
}

void pr_state_free(struct pr_state *s)
{
	free(s->regs);
	pr_state_init(s);
}

int pr_state_copy(struct pr_state *dst, const struct pr_state *src)
{
	*dst = *src;
	dst->regs = NULL;
	if (!src->nregs)
		return 0;
	dst->regs = malloc(src->nregs * sizeof(*dst->regs));
	if (!dst->regs) {
		dst->nregs = 0;
		return -ENOMEM;
	}
	memcpy(dst->regs, src->regs, src->nregs * sizeof(*dst->regs));
	return 0;
}

void pr_port_from_nexus(struct pr_port *p, const struct it_nexus *n)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->initiator, sizeof(p->initiator), "%s", n->initiator);
	memcpy(p->isid, n->isid, sizeof(p->isid));
	p->has_isid = true;
	p->rel_port_id = n->rel_port_id;
}

bool pr_type_valid(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WE: case PR_TYPE_EA: case PR_TYPE_WE_RO: case PR_TYPE_EA_RO:
	case PR_TYPE_WE_AR: case PR_TYPE_EA_AR:
		return true;
	default:
		return false;
	}
}

bool pr_type_all_registrants(uint8_t type)
{
	return type == PR_TYPE_WE_AR || type == PR_TYPE_EA_AR;
}

/* Same initiator port and target port as p (a port without ISID stands for all of its
 * name's ports). */
static bool port_covers(const struct pr_port *p, bool any_port, const char *initiator,
			const uint8_t isid[6], uint16_t rel_port_id)
{
	return strcmp(p->initiator, initiator) == 0 &&
	       (!p->has_isid || memcmp(p->isid, isid, 6) == 0) &&
	       (any_port || p->rel_port_id == rel_port_id);
}

bool pr_reg_matches(const struct pr_reg *r, const struct pr_port *me)
{
	return port_covers(&r->port, r->all_tg_pt, me->initiator, me->isid, me->rel_port_id);
}

/* Whether two registrations could ever match the same I_T nexus. */
static bool ports_overlap(const struct pr_port *a, bool a_all, const struct pr_port *b,
			  bool b_all)
{
	return strcmp(a->initiator, b->initiator) == 0 &&
	       (!a->has_isid || !b->has_isid || memcmp(a->isid, b->isid, 6) == 0) &&
	       (a_all || b_all || a->rel_port_id == b->rel_port_id);
}

static bool ports_equal(const struct pr_port *a, const struct pr_port *b)
{
	return strcmp(a->initiator, b->initiator) == 0 && a->has_isid == b->has_isid &&
	       (!a->has_isid || memcmp(a->isid, b->isid, 6) == 0) &&
	       a->rel_port_id == b->rel_port_id;
}

int pr_state_find(const struct pr_state *s, const struct pr_port *me)
{
	for (unsigned i = 0; i < s->nregs; i++)
		if (pr_reg_matches(&s->regs[i], me))
			return (int)i;
	return -1;
}

/* ---- effects ------------------------------------------------------------------------------ */

void pr_effects_free(struct pr_effects *fx)
{
	free(fx->e);
	memset(fx, 0, sizeof(*fx));
}

static int fx_add(struct pr_effects *fx, enum pr_effect_kind kind, const struct pr_reg *r)
{
	if (fx->n == fx->cap) {
		unsigned cap = fx->cap ? 2 * fx->cap : 8;
		struct pr_effect *e = realloc(fx->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		fx->e = e;
		fx->cap = cap;
	}
	fx->e[fx->n].kind = kind;
	fx->e[fx->n].port = r->port;
	fx->e[fx->n].any_port = r->all_tg_pt;
	fx->n++;
	return 0;
}

/* ---- the state machine ------------------------------------------------------------------- */

static struct pr_status st_ok(void)
{
	return (struct pr_status){ PR_OK, 0, -1 };
}

static struct pr_status st_err(enum pr_result r, unsigned byte, int bit)
{
	return (struct pr_status){ r, (uint16_t)byte, (int8_t)bit };
}

/* Parameter list offsets, for field pointers (SPC-4 6.16.3 Table 175). */
#define PO_SA_KEY 8
#define PO_FLAGS 20
#define PO_TID 24
#define BIT_SPEC_I_PT 3
#define BIT_APTPL 0
/* CDB byte 2: SCOPE (bits 7-4) and TYPE (bits 3-0). */
#define CDB_SCOPE_TYPE 2

static bool is_holder(const struct pr_state *s, int mi)
{
	if (!s->reserved || mi < 0)
		return false;
	return pr_type_all_registrants(s->type) || s->regs[mi].holder;
}

static void release_reservation(struct pr_state *s)
{
	s->reserved = false;
	s->type = 0;
	s->scope = 0;
	for (unsigned i = 0; i < s->nregs; i++)
		s->regs[i].holder = false;
}

/* UA kind to every registrant but skip (an index, or -1). */
static int fx_all_but(const struct pr_state *s, int skip, enum pr_effect_kind kind,
		      struct pr_effects *fx)
{
	for (unsigned i = 0; i < s->nregs; i++)
		if ((int)i != skip && fx_add(fx, kind, &s->regs[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Remove registration idx. A holder's reservation goes with it (SPC-4 5.12.11.2.3); an
 * all-registrants reservation goes with the last registrant. unregister: the holder itself
 * asked (REGISTER with key 0): registrants-only reservations then tell the others. */
static int remove_reg(struct pr_state *s, unsigned idx, bool unregister, struct pr_effects *fx)
{
	bool released = false;

	if (s->reserved) {
		if (pr_type_all_registrants(s->type))
			released = s->nregs == 1;
		else
			released = s->regs[idx].holder;
	}
	if (released) {
		uint8_t type = s->type;

		release_reservation(s);
		if (unregister && (type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO) &&
		    fx_all_but(s, (int)idx, PR_FX_RESV_RELEASED, fx) < 0)
			return -ENOMEM;
	}
	memmove(&s->regs[idx], &s->regs[idx + 1], (s->nregs - idx - 1) * sizeof(s->regs[0]));
	s->nregs--;
	return 0;
}

static int add_reg(struct pr_state *s, uint64_t key, const struct pr_port *p, bool all_tg_pt)
{
	struct pr_reg *r;

	if (s->nregs >= PR_MAX_REGS)
		return -ENOSPC;
	r = realloc(s->regs, (s->nregs + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->regs = r;
	memset(&r[s->nregs], 0, sizeof(r[0]));
	r[s->nregs].key = key;
	r[s->nregs].port = *p;
	r[s->nregs].all_tg_pt = all_tg_pt;
	s->nregs++;
	return 0;
}

static struct pr_status errno_status(int ret)
{
	return st_err(ret == -ENOSPC ? PR_NO_RESOURCES : PR_NO_MEMORY, 0, -1);
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.12.7, 5.12.8). */
static struct pr_status do_register(struct pr_state *s, const struct pr_port *me, int mi,
				    const struct pr_out *o, bool ptpl_capable,
				    struct pr_effects *fx)
{
	bool ignore = o->sa == PR_OUT_REGISTER_IGNORE;
	int ret;

	if (o->spec_i_pt && (ignore || mi >= 0))
		return st_err(PR_BAD_PARAM, PO_FLAGS, BIT_SPEC_I_PT);
	if (mi < 0) {
		if (!ignore && o->key != 0)
			return st_err(PR_CONFLICT, 0, -1);
		if (o->sa_key == 0)
			return st_ok();	/* nothing to register, nothing changes */
	} else if (!ignore && o->key != s->regs[mi].key) {
		return st_err(PR_CONFLICT, 0, -1);
	}
	if (o->aptpl && !ptpl_capable)
		return st_err(PR_BAD_PARAM, PO_FLAGS, BIT_APTPL);

	if (mi >= 0) {
		if (o->sa_key == 0) {
			if (remove_reg(s, (unsigned)mi, true, fx) < 0)
				return errno_status(-ENOMEM);
		} else {
			s->regs[mi].key = o->sa_key;
		}
	} else {
		if (s->nregs + 1 + o->n_tids > PR_MAX_REGS)
			return st_err(PR_NO_RESOURCES, 0, -1);
		/* Every TransportID must name a port not yet registered, and no two the same
		 * (SPC-4 6.16.4: then nothing is registered). */
		for (unsigned i = 0; i < o->n_tids; i++) {
			if (ports_overlap(&o->tids[i], o->all_tg_pt, me, o->all_tg_pt))
				return st_err(PR_BAD_PARAM, PO_TID, -1);
			for (unsigned j = 0; j < s->nregs; j++)
				if (ports_overlap(&o->tids[i], o->all_tg_pt, &s->regs[j].port,
						  s->regs[j].all_tg_pt))
					return st_err(PR_BAD_PARAM, PO_TID, -1);
			for (unsigned j = 0; j < i; j++)
				if (ports_overlap(&o->tids[i], true, &o->tids[j], true))
					return st_err(PR_BAD_PARAM, PO_TID, -1);
		}
		ret = add_reg(s, o->sa_key, me, o->all_tg_pt);
		for (unsigned i = 0; ret == 0 && i < o->n_tids; i++) {
			struct pr_port p = o->tids[i];

			p.rel_port_id = me->rel_port_id;
			ret = add_reg(s, o->sa_key, &p, o->all_tg_pt);
		}
		if (ret < 0)
			return errno_status(ret);
	}
	s->aptpl = o->aptpl;
	s->generation++;
	return st_ok();
}

static struct pr_status check_scope_type(const struct pr_out *o)
{
	if (o->scope != PR_SCOPE_LU)
		return st_err(PR_BAD_CDB, CDB_SCOPE_TYPE, 7);
	if (!pr_type_valid(o->type))
		return st_err(PR_BAD_CDB, CDB_SCOPE_TYPE, 3);
	return st_ok();
}

static struct pr_status do_reserve(struct pr_state *s, int mi, const struct pr_out *o)
{
	struct pr_status st = check_scope_type(o);

	if (st.r != PR_OK)
		return st;
	if (s->reserved) {
		/* SPC-4 5.12.9: the holder reserving again with the same type is a no-op; any
		 * other attempt conflicts. */
		if (is_holder(s, mi) && s->type == o->type && s->scope == o->scope)
			return st_ok();
		return st_err(PR_CONFLICT, 0, -1);
	}
	s->reserved = true;
	s->type = o->type;
	s->scope = o->scope;
	if (!pr_type_all_registrants(o->type))
		s->regs[mi].holder = true;
	return st_ok();
}

/* SPC-4 5.12.11.2.2. */
static struct pr_status do_release(struct pr_state *s, int mi, const struct pr_out *o,
				   struct pr_effects *fx)
{
	uint8_t type = s->type;

	if (!s->reserved || !is_holder(s, mi))
		return st_ok();
	if (o->scope != s->scope || o->type != s->type)
		return st_err(PR_BAD_RELEASE, 0, -1);
	release_reservation(s);
	/* Other registrants learn of it unless the type was WE or EA (they had no access). */
	if (type != PR_TYPE_WE && type != PR_TYPE_EA &&
	    fx_all_but(s, mi, PR_FX_RESV_RELEASED, fx) < 0)
		return errno_status(-ENOMEM);
	return st_ok();
}

/* SPC-4 5.12.11.6. */
static struct pr_status do_clear(struct pr_state *s, int mi, struct pr_effects *fx)
{
	if (fx_all_but(s, mi, PR_FX_RESV_PREEMPTED, fx) < 0)
		return errno_status(-ENOMEM);
	release_reservation(s);
	free(s->regs);
	s->regs = NULL;
	s->nregs = 0;
	s->generation++;
	return st_ok();
}

/* Remove every registration with key except me's; UA (and abort) for each. Returns how many
 * were removed, or -ENOMEM. *mi follows me's entry as the array shrinks. all: any key. */
static int preempt_regs(struct pr_state *s, int *mi, uint64_t key, bool all, bool abort,
			struct pr_effects *fx)
{
	int removed = 0;

	for (unsigned i = 0; i < s->nregs;) {
		if ((int)i == *mi || (!all && s->regs[i].key != key)) {
			i++;
			continue;
		}
		if (fx_add(fx, PR_FX_REGS_PREEMPTED, &s->regs[i]) < 0 ||
		    (abort && fx_add(fx, PR_FX_ABORT, &s->regs[i]) < 0))
			return -ENOMEM;
		if (remove_reg(s, i, false, fx) < 0)
			return -ENOMEM;
		if ((int)i < *mi)
			(*mi)--;
		removed++;
	}
	return removed;
}

/* PREEMPT and PREEMPT AND ABORT (SPC-4 5.12.11.4, 5.12.11.5). */
static struct pr_status do_preempt(struct pr_state *s, int mi, const struct pr_out *o,
				   struct pr_effects *fx)
{
	bool abort = o->sa == PR_OUT_PREEMPT_ABORT;
	struct pr_status st;
	int n;

	if (!s->reserved || (pr_type_all_registrants(s->type) && o->sa_key != 0)) {
		/* Only registrations are preempted (5.12.11.4.2, and 5.12.11.4.4 for an
		 * all-registrants reservation with a non-zero key). */
		if (o->sa_key == 0)
			return st_err(PR_BAD_PARAM, PO_SA_KEY, -1);
		n = preempt_regs(s, &mi, o->sa_key, false, abort, fx);
		if (n < 0)
			return errno_status(n);
		if (n == 0)
			return st_err(PR_CONFLICT, 0, -1);
		s->generation++;
		return st_ok();
	}
	if (pr_type_all_registrants(s->type)) {
		/* Key 0 preempts every other registrant and takes the reservation. */
		st = check_scope_type(o);
		if (st.r != PR_OK)
			return st;
		n = preempt_regs(s, &mi, 0, true, abort, fx);
		if (n < 0)
			return errno_status(n);
	} else {
		unsigned h;
		uint8_t old_type = s->type, old_scope = s->scope;

		for (h = 0; h < s->nregs && !s->regs[h].holder; h++)
			;
		if (h == s->nregs || s->regs[h].key != o->sa_key) {
			/* Not the holder's key: registrations only, the reservation stays. */
			if (o->sa_key == 0)
				return st_err(PR_BAD_PARAM, PO_SA_KEY, -1);
			n = preempt_regs(s, &mi, o->sa_key, false, abort, fx);
			if (n < 0)
				return errno_status(n);
			if (n == 0)
				return st_err(PR_CONFLICT, 0, -1);
			s->generation++;
			return st_ok();
		}
		st = check_scope_type(o);
		if (st.r != PR_OK)
			return st;
		n = preempt_regs(s, &mi, o->sa_key, false, abort, fx);
		if (n < 0)
			return errno_status(n);
		/* The reservation changes hands below; the ones left registered hear of it when
		 * its type or scope changed (5.12.11.4.3). */
		if ((old_type != o->type || old_scope != o->scope) &&
		    fx_all_but(s, mi, PR_FX_RESV_RELEASED, fx) < 0)
			return errno_status(-ENOMEM);
	}
	release_reservation(s);
	s->reserved = true;
	s->type = o->type;
	s->scope = o->scope;
	if (!pr_type_all_registrants(o->type))
		s->regs[mi].holder = true;
	s->generation++;
	return st_ok();
}

/* SPC-4 5.12.10. */
static struct pr_status do_register_move(struct pr_state *s, const struct pr_port *me, int mi,
					 const struct pr_out *o, bool ptpl_capable)
{
	struct pr_port dst;
	int di = -1, ret;

	if (!s->reserved || pr_type_all_registrants(s->type) || !s->regs[mi].holder)
		return st_err(PR_CONFLICT, 0, -1);
	if (o->sa_key == 0)
		return st_err(PR_BAD_PARAM, PO_SA_KEY, -1);
	if (o->n_tids != 1)
		return st_err(PR_BAD_PARAM, PO_TID, -1);
	if (o->aptpl && !ptpl_capable)
		return st_err(PR_BAD_PARAM, 17, BIT_APTPL);
	dst = o->tids[0];
	if (ports_overlap(&dst, false, me, false))
		return st_err(PR_BAD_PARAM, PO_TID, -1);
	for (unsigned i = 0; i < s->nregs; i++)
		if (ports_equal(&s->regs[i].port, &dst))
			di = (int)i;
	if (di < 0) {
		ret = add_reg(s, o->sa_key, &dst, false);
		if (ret < 0)
			return errno_status(ret);
		di = (int)s->nregs - 1;
	} else {
		s->regs[di].key = o->sa_key;
	}
	s->regs[mi].holder = false;
	s->regs[di].holder = true;
	if (o->unreg) {
		memmove(&s->regs[mi], &s->regs[mi + 1],
			(s->nregs - (unsigned)mi - 1) * sizeof(s->regs[0]));
		s->nregs--;
	}
	s->aptpl = o->aptpl;
	s->generation++;
	return st_ok();
}

struct pr_status pr_state_apply(struct pr_state *s, const struct pr_port *me,
				const struct pr_out *o, bool ptpl_capable, struct pr_effects *fx)
{
	int mi = pr_state_find(s, me);

	if (o->sa == PR_OUT_REGISTER || o->sa == PR_OUT_REGISTER_IGNORE)
		return do_register(s, me, mi, o, ptpl_capable, fx);
	/* Every other service action needs a registered nexus and its key (SPC-4 5.12.2). */
	if (mi < 0 || s->regs[mi].key != o->key)
		return st_err(PR_CONFLICT, 0, -1);
	if (o->spec_i_pt && o->sa != PR_OUT_REGISTER_MOVE)
		return st_err(PR_BAD_PARAM, PO_FLAGS, BIT_SPEC_I_PT);
	switch (o->sa) {
	case PR_OUT_RESERVE:
		return do_reserve(s, mi, o);
	case PR_OUT_RELEASE:
		return do_release(s, mi, o, fx);
	case PR_OUT_CLEAR:
		return do_clear(s, mi, fx);
	case PR_OUT_PREEMPT:
	case PR_OUT_PREEMPT_ABORT:
		return do_preempt(s, mi, o, fx);
	case PR_OUT_REGISTER_MOVE:
		return do_register_move(s, me, mi, o, ptpl_capable);
	default:
		return st_err(PR_BAD_CDB, 1, 4);
	}
}

bool pr_state_conflict(const struct pr_state *s, const struct pr_port *me, enum pr_access acc)
{
	int mi;
	bool registered;

	if (acc == PR_ACCESS_ALLOWED)
		return false;
	if (acc == PR_ACCESS_SPC2)
		return s->reserved || s->nregs > 0;
	if (!s->reserved)
		return false;
	mi = pr_state_find(s, me);
	if (is_holder(s, mi))
		return false;
	registered = mi >= 0;
	switch (s->type) {
	case PR_TYPE_WE:
		return acc != PR_ACCESS_READ;
	case PR_TYPE_WE_RO:
	case PR_TYPE_WE_AR:
		return acc != PR_ACCESS_READ && !registered;
	case PR_TYPE_EA_RO:
	case PR_TYPE_EA_AR:
		return !registered;
	case PR_TYPE_EA:
	default:
		return true;
	}
}

/* ---- the APTPL file ---------------------------------------------------------------------- */

static void hex_encode(char *out, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool hex_decode(const char *s, uint8_t *out, unsigned n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		unsigned v;

		if (!strchr("0123456789abcdefABCDEF", s[2 * i]) || !s[2 * i] ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]) || !s[2 * i + 1] ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

char *pr_state_to_json(const struct pr_state *s)
{
	json_t *root = NULL, *regs = NULL, *resv = NULL;
	char *text = NULL;

	regs = json_array();
	if (!regs)
		goto out;
	for (unsigned i = 0; i < s->nregs; i++) {
		const struct pr_reg *r = &s->regs[i];
		char key[17], isid[13];
		json_t *o;

		snprintf(key, sizeof(key), "%016" PRIx64, r->key);
		hex_encode(isid, r->port.isid, 6);
		o = json_pack("{s:s, s:s, s:s?, s:i, s:b, s:b}", "key", key, "initiator",
			      r->port.initiator, "isid", r->port.has_isid ? isid : NULL,
			      "rel_port_id", (int)r->port.rel_port_id, "all_tg_pt", r->all_tg_pt,
			      "holder", r->holder);
		if (!o || json_array_append_new(regs, o) < 0)
			goto out;
	}
	if (s->reserved) {
		resv = json_pack("{s:i, s:i}", "type", (int)s->type, "scope", (int)s->scope);
		if (!resv)
			goto out;
	} else {
		resv = json_null();
	}
	root = json_pack("{s:i, s:I, s:b, s:o, s:o}", "version", PR_FILE_VERSION, "generation",
			 (json_int_t)s->generation, "aptpl", s->aptpl, "reservation", resv,
			 "registrations", regs);
	resv = regs = NULL;	/* stolen by "o", even on failure */
	if (root)
		text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
out:
	json_decref(resv);
	json_decref(regs);
	json_decref(root);
	return text;
}

#define FAIL(...) do { snprintf(err, err_len, __VA_ARGS__); goto bad; } while (0)

int pr_state_from_json(struct pr_state *s, const char *text, size_t len, char *err,
		       size_t err_len)
{
	json_error_t je;
	json_t *root, *regs, *resv, *v;
	struct pr_state n;
	json_int_t version, gen;
	int holders = 0;
	size_t i;

	pr_state_init(&n);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, err_len, "not JSON: %s (line %d)", je.text, je.line);
		return -EINVAL;
	}
	if (!json_is_object(root))
		FAIL("not a JSON object");
	v = json_object_get(root, "version");
	if (!json_is_integer(v))
		FAIL("no \"version\"");
	version = json_integer_value(v);
	if (version != PR_FILE_VERSION)
		FAIL("version %lld not supported (this invar reads %d)", (long long)version,
		     PR_FILE_VERSION);
	v = json_object_get(root, "generation");
	if (!json_is_integer(v) || (gen = json_integer_value(v)) < 0 || gen > UINT32_MAX)
		FAIL("bad \"generation\"");
	n.generation = (uint32_t)gen;
	v = json_object_get(root, "aptpl");
	if (!json_is_boolean(v))
		FAIL("bad \"aptpl\"");
	n.aptpl = json_is_true(v);
	regs = json_object_get(root, "registrations");
	if (!json_is_array(regs) || json_array_size(regs) > PR_MAX_REGS)
		FAIL("\"registrations\" must be an array of at most %d", PR_MAX_REGS);
	if (json_array_size(regs)) {
		n.regs = calloc(json_array_size(regs), sizeof(*n.regs));
		if (!n.regs)
			FAIL("out of memory");
	}
	json_array_foreach(regs, i, v) {
		struct pr_reg *r = &n.regs[i];
		const char *key = NULL, *name = NULL;
		json_t *isid = NULL;
		json_int_t rel = -1;
		int all = 0, holder = 0;
		char *end;

		if (json_unpack_ex(v, &je, JSON_STRICT, "{s:s, s:s, s:o, s:I, s:b, s:b}", "key",
				   &key, "initiator", &name, "isid", &isid, "rel_port_id", &rel,
				   "all_tg_pt", &all, "holder", &holder) < 0)
			FAIL("registration %zu: %s", i, je.text);
		if (strlen(key) != 16 || strspn(key, "0123456789abcdef") != 16)
			FAIL("registration %zu: bad key", i);
		r->key = strtoull(key, &end, 16);
		if (!name[0] || strlen(name) > INVAR_NAME_MAX)
			FAIL("registration %zu: bad initiator name", i);
		snprintf(r->port.initiator, sizeof(r->port.initiator), "%s", name);
		if (json_is_string(isid)) {
			if (!hex_decode(json_string_value(isid), r->port.isid, 6))
				FAIL("registration %zu: bad isid", i);
			r->port.has_isid = true;
		} else if (!json_is_null(isid)) {
			FAIL("registration %zu: bad isid", i);
		}
		if (rel < 0 || rel > UINT16_MAX)
			FAIL("registration %zu: bad rel_port_id", i);
		r->port.rel_port_id = (uint16_t)rel;
		r->all_tg_pt = all;
		r->holder = holder;
		holders += holder;
		n.nregs++;
	}
	resv = json_object_get(root, "reservation");
	if (json_is_object(resv)) {
		json_int_t type = -1, scope = -1;

		if (json_unpack_ex(resv, &je, JSON_STRICT, "{s:I, s:I}", "type", &type, "scope",
				   &scope) < 0)
			FAIL("reservation: %s", je.text);
		if (type < 0 || type > 0xf || !pr_type_valid((uint8_t)type) ||
		    scope != PR_SCOPE_LU)
			FAIL("reservation: bad type or scope");
		n.reserved = true;
		n.type = (uint8_t)type;
		n.scope = (uint8_t)scope;
		if (pr_type_all_registrants(n.type) ? (holders != 0 || n.nregs == 0)
						    : holders != 1)
			FAIL("reservation holder does not match its type");
	} else if (!json_is_null(resv)) {
		FAIL("bad \"reservation\"");
	} else if (holders) {
		FAIL("a holder without a reservation");
	}
	json_decref(root);
	pr_state_free(s);
	*s = n;
	return 0;
bad:
	json_decref(root);
	pr_state_free(&n);
	return -EINVAL;
}

/* ---- an LU's reservations ----------------------------------------------------------------- */

struct pr_lu *pr_lu_new(void)
{
	struct pr_lu *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->update, NULL);
	pr_state_init(&p->st);
	atomic_init(&p->reserved, false);
	atomic_init(&p->registered, false);
	return p;
}

void pr_lu_free(struct pr_lu *p)
{
	if (!p)
		return;
	pr_state_free(&p->st);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->update);
	free(p);
}

/* Under p->lock. */
static void pr_lu_publish(struct pr_lu *p)
{
	atomic_store_explicit(&p->reserved, p->st.reserved, memory_order_release);
	atomic_store_explicit(&p->registered, p->st.nregs > 0, memory_order_release);
}

int pr_lu_restore(struct lu *lu, char *err, size_t err_len)
{
	struct pr_lu *p = lu->pr;
	struct pr_state st;
	char why[256];
	char *text;
	size_t len;
	int ret;

	if (!p)
		return 0;
	p->ptpl_capable = lu->state_dir[0] != 0;
	if (!p->ptpl_capable)
		return 0;
	ret = lu_state_load(lu, PR_FILE, PR_FILE_MAX, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(err, err_len, "cannot read %s/%s: %s", lu->state_dir, PR_FILE,
			 strerror(-ret));
		return ret;
	}
	pr_state_init(&st);
	ret = pr_state_from_json(&st, text, len, why, sizeof(why));
	free(text);
	if (ret < 0) {
		snprintf(err, err_len, "corrupt %s/%s: %s", lu->state_dir, PR_FILE, why);
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	pr_state_free(&p->st);
	p->st = st;
	pr_lu_publish(p);
	pthread_mutex_unlock(&p->lock);
	log_info("lu %s: restored %u persistent reservation registration(s)%s from %s",
		 lu->cfg.serial, st.nregs, st.reserved ? " and a reservation" : "", PR_FILE);
	return 0;
}

bool pr_lu_conflict(struct lu *lu, const struct it_nexus *n, enum pr_access acc)
{
	struct pr_lu *p = lu->pr;
	struct pr_port me;
	bool r;

	if (!p || !n || acc == PR_ACCESS_ALLOWED)
		return false;
	if (acc == PR_ACCESS_SPC2)
		return atomic_load_explicit(&p->reserved, memory_order_acquire) ||
		       atomic_load_explicit(&p->registered, memory_order_acquire);
	if (!atomic_load_explicit(&p->reserved, memory_order_acquire))
		return false;
	pr_port_from_nexus(&me, n);
	pthread_mutex_lock(&p->lock);
	r = pr_state_conflict(&p->st, &me, acc);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pr_lu_snapshot(struct lu *lu, struct pr_state *out)
{
	int ret;

	pr_state_init(out);
	if (!lu->pr)
		return 0;
	pthread_mutex_lock(&lu->pr->lock);
	ret = pr_state_copy(out, &lu->pr->st);
	pthread_mutex_unlock(&lu->pr->lock);
	return ret;
}

struct fx_match_arg {
	const struct pr_effect *e;
	uint64_t except;
};

static bool fx_match(const struct lu_nexus *ln, void *arg)
{
	const struct fx_match_arg *a = arg;

	return ln->nexus_id != a->except &&
	       port_covers(&a->e->port, a->e->any_port, ln->initiator, ln->isid, ln->rel_port_id);
}

static const enum ua_kind fx_ua[] = {
	[PR_FX_RESV_PREEMPTED] = UA_RESV_PREEMPTED,
	[PR_FX_RESV_RELEASED] = UA_RESV_RELEASED,
	[PR_FX_REGS_PREEMPTED] = UA_REGS_PREEMPTED,
};

/* Unit attentions now; the ids of the nexuses to abort into *ids. */
static void pr_lu_effects(struct lu *lu, uint64_t me, const struct pr_effects *fx,
			  uint64_t **ids, unsigned *nids)
{
	for (unsigned i = 0; i < fx->n; i++) {
		struct fx_match_arg a = { &fx->e[i], me };

		if (fx->e[i].kind != PR_FX_ABORT) {
			lu_ua_establish_match(lu, fx_ua[fx->e[i].kind], fx_match, &a);
			continue;
		}
		unsigned want = lu_nexus_select(lu, fx_match, &a, NULL, 0), got;
		uint64_t *grown;

		if (!want)
			continue;
		grown = realloc(*ids, (*nids + want) * sizeof(**ids));
		if (!grown) {
			log_err("lu %s: out of memory for PREEMPT AND ABORT", lu->cfg.serial);
			continue;
		}
		*ids = grown;
		/* The set may have grown since the count: take what fits. */
		got = lu_nexus_select(lu, fx_match, &a, *ids + *nids, want);
		*nids += got < want ? got : want;
	}
}

struct pr_status pr_lu_out(struct lu *lu, const struct it_nexus *n, const struct pr_out *o,
			   uint64_t **abort_ids, unsigned *n_abort)
{
	struct pr_lu *p = lu->pr;
	struct pr_effects fx = { 0 };
	struct pr_state ns;
	struct pr_status st;
	struct pr_port me;
	bool was_aptpl;
	int ret;

	*abort_ids = NULL;
	*n_abort = 0;
	if (!p)
		return st_err(PR_BAD_CDB, 0, 7);
	pr_port_from_nexus(&me, n);
	pthread_mutex_lock(&p->update);
	pthread_mutex_lock(&p->lock);
	ret = pr_state_copy(&ns, &p->st);
	was_aptpl = p->st.aptpl;
	pthread_mutex_unlock(&p->lock);
	if (ret < 0) {
		st = st_err(PR_NO_MEMORY, 0, -1);
		goto out;
	}
	st = pr_state_apply(&ns, &me, o, p->ptpl_capable, &fx);
	if (st.r != PR_OK)
		goto out_ns;
	/* Only PR OUT changes the state and only under p->update, so the file and the state
	 * change together; the lock the command path takes is not held across the write. */
	if (ns.aptpl) {
		char *text = pr_state_to_json(&ns);

		ret = text ? lu_state_save(lu, PR_FILE, text, strlen(text)) : -ENOMEM;
		free(text);
		if (ret < 0) {
			log_err("lu %s: cannot save %s: %s", lu->cfg.serial, PR_FILE,
				strerror(-ret));
			st = st_err(PR_SAVE_FAILED, 0, -1);
			goto out_ns;
		}
	} else if (was_aptpl) {
		ret = lu_state_remove(lu, PR_FILE);
		if (ret < 0)
			log_err("lu %s: cannot remove %s: %s", lu->cfg.serial, PR_FILE,
				strerror(-ret));
	}
	pthread_mutex_lock(&p->lock);
	pr_state_free(&p->st);
	p->st = ns;
	pr_state_init(&ns);
	pr_lu_publish(p);
	pthread_mutex_unlock(&p->lock);
	pr_lu_effects(lu, n->id, &fx, abort_ids, n_abort);
out_ns:
	pr_state_free(&ns);
out:
	pthread_mutex_unlock(&p->update);
	pr_effects_free(&fx);
	return st;
}

int pr_lu_replace(struct lu *lu, struct pr_state *st)
{
	struct pr_lu *p = lu->pr;
	int ret = 0;

	if (!p) {
		pr_state_free(st);
		return -EINVAL;
	}
	pthread_mutex_lock(&p->update);
	/* The APTPL file follows the state, as after a PR OUT: written first, so a failed save
	 * changes nothing. No state directory: APTPL cannot have been honoured, keep the bit. */
	if (st->aptpl && p->ptpl_capable) {
		char *json = pr_state_to_json(st);

		ret = json ? lu_state_save(lu, PR_FILE, json, strlen(json)) : -ENOMEM;
		free(json);
	} else if (!st->aptpl && p->ptpl_capable) {
		ret = lu_state_remove(lu, PR_FILE);
	}
	if (ret < 0) {
		pthread_mutex_unlock(&p->update);
		pr_state_free(st);
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	pr_state_free(&p->st);
	p->st = *st;
	pr_lu_publish(p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->update);
	pr_state_init(st);
	return 0;
}
