/* Persistent reservations in their saved form (the APTPL file, SPC-4 5.12.4, PR_FILE in the
 * LU's state directory): struct pr_state <-> JSON. Pure, like the state machine beside it;
 * docs/design/reservations.md describes the format. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/pr_state.h"
#include "util/hex.h"

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
			if (hex_decode(json_string_value(isid), r->port.isid, 6) < 0)
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
