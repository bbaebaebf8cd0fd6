/* Persistent reservations: state, the PERSISTENT RESERVE OUT state machine (SPC-4 5.12.x and
 * 6.16), conflict rules (SPC-4 5.12.1 Table 50, SBC-3 4.18), the APTPL file, and the LU glue
 * (locking, unit attentions, which nexuses PREEMPT AND ABORT hits). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
bool pr_port_covers(const struct pr_port *p, bool any_port, const char *initiator,
		    const uint8_t isid[6], uint16_t rel_port_id)
{
	return strcmp(p->initiator, initiator) == 0 &&
	       (!p->has_isid || memcmp(p->isid, isid, 6) == 0) &&
	       (any_port || p->rel_port_id == rel_port_id);
}

bool pr_reg_matches(const struct pr_reg *r, const struct pr_port *me)
{
	return pr_port_covers(&r->port, r->all_tg_pt, me->initiator, me->isid, me->rel_port_id);
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
	return pr_status_err(ret == -ENOSPC ? PR_NO_RESOURCES : PR_NO_MEMORY, 0, -1);
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.12.7, 5.12.8). */
static struct pr_status do_register(struct pr_state *s, const struct pr_port *me, int mi,
				    const struct pr_out *o, bool ptpl_capable,
				    struct pr_effects *fx)
{
	bool ignore = o->sa == PR_OUT_REGISTER_IGNORE;
	int ret;

	if (o->spec_i_pt && (ignore || mi >= 0))
		return pr_status_err(PR_BAD_PARAM, PO_FLAGS, BIT_SPEC_I_PT);
	if (mi < 0) {
		if (!ignore && o->key != 0)
			return pr_status_err(PR_CONFLICT, 0, -1);
		if (o->sa_key == 0)
			return st_ok();	/* nothing to register, nothing changes */
	} else if (!ignore && o->key != s->regs[mi].key) {
		return pr_status_err(PR_CONFLICT, 0, -1);
	}
	if (o->aptpl && !ptpl_capable)
		return pr_status_err(PR_BAD_PARAM, PO_FLAGS, BIT_APTPL);

	if (mi >= 0) {
		if (o->sa_key == 0) {
			if (remove_reg(s, (unsigned)mi, true, fx) < 0)
				return errno_status(-ENOMEM);
		} else {
			s->regs[mi].key = o->sa_key;
		}
	} else {
		if (s->nregs + 1 + o->n_tids > PR_MAX_REGS)
			return pr_status_err(PR_NO_RESOURCES, 0, -1);
		/* Every TransportID must name a port not yet registered, and no two the same
		 * (SPC-4 6.16.4: then nothing is registered). */
		for (unsigned i = 0; i < o->n_tids; i++) {
			if (ports_overlap(&o->tids[i], o->all_tg_pt, me, o->all_tg_pt))
				return pr_status_err(PR_BAD_PARAM, PO_TID, -1);
			for (unsigned j = 0; j < s->nregs; j++)
				if (ports_overlap(&o->tids[i], o->all_tg_pt, &s->regs[j].port,
						  s->regs[j].all_tg_pt))
					return pr_status_err(PR_BAD_PARAM, PO_TID, -1);
			for (unsigned j = 0; j < i; j++)
				if (ports_overlap(&o->tids[i], true, &o->tids[j], true))
					return pr_status_err(PR_BAD_PARAM, PO_TID, -1);
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
		return pr_status_err(PR_BAD_CDB, CDB_SCOPE_TYPE, 7);
	if (!pr_type_valid(o->type))
		return pr_status_err(PR_BAD_CDB, CDB_SCOPE_TYPE, 3);
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
		return pr_status_err(PR_CONFLICT, 0, -1);
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
		return pr_status_err(PR_BAD_RELEASE, 0, -1);
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
/* PREEMPT (AND ABORT) of registrations only (SPC-4 5.12.11.4.2): the reservation stays. A zero
 * key is an invalid parameter, a key nobody holds a conflict. */
static struct pr_status preempt_registrations(struct pr_state *s, int *mi, uint64_t key,
					      bool abort, struct pr_effects *fx)
{
	int n;

	if (key == 0)
		return pr_status_err(PR_BAD_PARAM, PO_SA_KEY, -1);
	n = preempt_regs(s, mi, key, false, abort, fx);
	if (n < 0)
		return errno_status(n);
	if (n == 0)
		return pr_status_err(PR_CONFLICT, 0, -1);
	s->generation++;
	return st_ok();
}

static struct pr_status do_preempt(struct pr_state *s, int mi, const struct pr_out *o,
				   struct pr_effects *fx)
{
	bool abort = o->sa == PR_OUT_PREEMPT_ABORT;
	struct pr_status st;
	int n;

	if (!s->reserved || (pr_type_all_registrants(s->type) && o->sa_key != 0)) {
		/* Only registrations are preempted (5.12.11.4.2, and 5.12.11.4.4 for an
		 * all-registrants reservation with a non-zero key). */
		return preempt_registrations(s, &mi, o->sa_key, abort, fx);
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
			return preempt_registrations(s, &mi, o->sa_key, abort, fx);
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
		return pr_status_err(PR_CONFLICT, 0, -1);
	if (o->sa_key == 0)
		return pr_status_err(PR_BAD_PARAM, PO_SA_KEY, -1);
	if (o->n_tids != 1)
		return pr_status_err(PR_BAD_PARAM, PO_TID, -1);
	if (o->aptpl && !ptpl_capable)
		return pr_status_err(PR_BAD_PARAM, 17, BIT_APTPL);
	dst = o->tids[0];
	if (ports_overlap(&dst, false, me, false))
		return pr_status_err(PR_BAD_PARAM, PO_TID, -1);
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
		return pr_status_err(PR_CONFLICT, 0, -1);
	if (o->spec_i_pt && o->sa != PR_OUT_REGISTER_MOVE)
		return pr_status_err(PR_BAD_PARAM, PO_FLAGS, BIT_SPEC_I_PT);
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
		return pr_status_err(PR_BAD_CDB, 1, 4);
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
