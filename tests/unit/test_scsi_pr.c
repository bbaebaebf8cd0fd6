/* Persistent reservations: the PR OUT state machine (scsi/pr_state.c), the conflict rules, the APTPL
 * file round trip and refusal of corrupt files, and the wire codecs (scsi/pr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scsi/nexus.h"
#include "scsi/pr_codec.h"
#include "scsi/pr_state.h"
#include "util/byteorder.h"

static struct pr_port port(const char *name, uint8_t isid_last)
{
	struct pr_port p;

	memset(&p, 0, sizeof(p));
	snprintf(p.initiator, sizeof(p.initiator), "%s", name);
	p.isid[5] = isid_last;
	p.has_isid = true;
	p.rel_port_id = 1;
	return p;
}

static struct pr_status out(struct pr_state *s, const struct pr_port *me, enum pr_out_sa sa,
			    uint64_t key, uint64_t sa_key, uint8_t type, struct pr_effects *fx)
{
	struct pr_out o = { .sa = sa, .key = key, .sa_key = sa_key, .type = type };

	return pr_state_apply(s, me, &o, false, fx);
}

static void test_register_reserve_release(void **state)
{
	struct pr_port a = port("iqn.a", 1), b = port("iqn.b", 2);
	struct pr_effects fx = { 0 };
	struct pr_state s;

	pr_state_init(&s);
	/* Unregistered REGISTER with a non-zero RESERVATION KEY conflicts. */
	assert_int_equal(out(&s, &a, PR_OUT_REGISTER, 5, 10, 0, &fx).r, PR_CONFLICT);
	assert_int_equal(out(&s, &a, PR_OUT_REGISTER, 0, 10, 0, &fx).r, PR_OK);
	assert_int_equal(s.generation, 1);
	/* Re-register with the wrong key: conflict; REGISTER AND IGNORE: fine. */
	assert_int_equal(out(&s, &a, PR_OUT_REGISTER, 0, 11, 0, &fx).r, PR_CONFLICT);
	assert_int_equal(out(&s, &a, PR_OUT_REGISTER_IGNORE, 0, 11, 0, &fx).r, PR_OK);
	assert_int_equal(s.regs[0].key, 11);
	assert_int_equal(out(&s, &b, PR_OUT_REGISTER, 0, 20, 0, &fx).r, PR_OK);
	assert_int_equal(s.nregs, 2);
	assert_int_equal(s.generation, 3);
	/* RESERVE needs the right key and a valid type; RESERVE does not bump the generation. */
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 10, 0, PR_TYPE_WE, &fx).r, PR_CONFLICT);
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 11, 0, 2, &fx).r, PR_BAD_CDB);
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 11, 0, PR_TYPE_WE, &fx).r, PR_OK);
	assert_true(s.reserved);
	assert_int_equal(s.generation, 3);
	/* The holder again with the same type: no-op; another nexus: conflict. */
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 11, 0, PR_TYPE_WE, &fx).r, PR_OK);
	assert_int_equal(out(&s, &b, PR_OUT_RESERVE, 20, 0, PR_TYPE_WE, &fx).r, PR_CONFLICT);
	/* Conflicts: WE lets others read, not write. */
	assert_false(pr_state_conflict(&s, &b, PR_ACCESS_READ));
	assert_true(pr_state_conflict(&s, &b, PR_ACCESS_WRITE));
	assert_false(pr_state_conflict(&s, &a, PR_ACCESS_WRITE));
	assert_true(pr_state_conflict(&s, &b, PR_ACCESS_SPC2));
	assert_false(pr_state_conflict(&s, &b, PR_ACCESS_ALLOWED));
	/* RELEASE by a non-holder is a no-op; by the holder with the wrong type an error. */
	assert_int_equal(out(&s, &b, PR_OUT_RELEASE, 20, 0, PR_TYPE_WE, &fx).r, PR_OK);
	assert_true(s.reserved);
	assert_int_equal(out(&s, &a, PR_OUT_RELEASE, 11, 0, PR_TYPE_EA, &fx).r, PR_BAD_RELEASE);
	assert_int_equal(out(&s, &a, PR_OUT_RELEASE, 11, 0, PR_TYPE_WE, &fx).r, PR_OK);
	assert_false(s.reserved);
	assert_int_equal(fx.n, 0);	/* WE release tells nobody */
	pr_effects_free(&fx);
	pr_state_free(&s);
}

static void test_types_and_ownership(void **state)
{
	struct pr_port a = port("iqn.a", 1), b = port("iqn.b", 2), c = port("iqn.c", 3);
	struct pr_effects fx = { 0 };
	struct pr_state s;

	pr_state_init(&s);
	out(&s, &a, PR_OUT_REGISTER, 0, 1, 0, &fx);
	out(&s, &b, PR_OUT_REGISTER, 0, 2, 0, &fx);
	/* Registrants only: b (registered) may write, c may not. */
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 1, 0, PR_TYPE_EA_RO, &fx).r, PR_OK);
	assert_false(pr_state_conflict(&s, &b, PR_ACCESS_WRITE));
	assert_true(pr_state_conflict(&s, &c, PR_ACCESS_READ));
	/* The holder unregisters: an RO reservation goes, and b hears RESERVATIONS RELEASED. */
	assert_int_equal(out(&s, &a, PR_OUT_REGISTER, 1, 0, 0, &fx).r, PR_OK);
	assert_false(s.reserved);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.e[0].kind, PR_FX_RESV_RELEASED);
	assert_string_equal(fx.e[0].port.initiator, "iqn.b");
	pr_effects_free(&fx);
	/* All registrants: survives its creator unregistering, key reported as 0 by the codec. */
	out(&s, &a, PR_OUT_REGISTER, 0, 1, 0, &fx);
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 1, 0, PR_TYPE_WE_AR, &fx).r, PR_OK);
	assert_int_equal(out(&s, &a, PR_OUT_REGISTER, 1, 0, 0, &fx).r, PR_OK);
	assert_true(s.reserved);
	assert_false(pr_state_conflict(&s, &b, PR_ACCESS_WRITE));
	assert_true(pr_state_conflict(&s, &c, PR_ACCESS_WRITE));
	assert_false(pr_state_conflict(&s, &c, PR_ACCESS_READ));
	/* ...and goes with the last registrant. */
	assert_int_equal(out(&s, &b, PR_OUT_REGISTER, 2, 0, 0, &fx).r, PR_OK);
	assert_false(s.reserved);
	assert_int_equal(s.nregs, 0);
	pr_effects_free(&fx);
	pr_state_free(&s);
}

static void test_preempt_clear(void **state)
{
	struct pr_port a = port("iqn.a", 1), b = port("iqn.b", 2);
	struct pr_effects fx = { 0 };
	struct pr_state s;
	uint32_t gen;

	pr_state_init(&s);
	out(&s, &a, PR_OUT_REGISTER, 0, 1, 0, &fx);
	out(&s, &b, PR_OUT_REGISTER, 0, 2, 0, &fx);
	/* No reservation: PREEMPT removes the registration (SARK 0 is a bad field). */
	assert_int_equal(out(&s, &b, PR_OUT_PREEMPT, 2, 0, PR_TYPE_EA, &fx).r, PR_BAD_PARAM);
	assert_int_equal(out(&s, &b, PR_OUT_PREEMPT, 2, 99, PR_TYPE_EA, &fx).r, PR_CONFLICT);
	gen = s.generation;
	assert_int_equal(out(&s, &b, PR_OUT_PREEMPT, 2, 1, PR_TYPE_EA, &fx).r, PR_OK);
	assert_int_equal(s.generation, gen + 1);
	assert_int_equal(s.nregs, 1);
	assert_int_equal(s.regs[0].key, 2);
	assert_false(s.reserved);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.e[0].kind, PR_FX_REGS_PREEMPTED);
	pr_effects_free(&fx);
	/* a holds WE; b preempts the holder's key with PREEMPT AND ABORT and takes EA. */
	out(&s, &a, PR_OUT_REGISTER, 0, 1, 0, &fx);
	out(&s, &a, PR_OUT_RESERVE, 1, 0, PR_TYPE_WE, &fx);
	pr_effects_free(&fx);
	assert_int_equal(out(&s, &b, PR_OUT_PREEMPT_ABORT, 2, 1, PR_TYPE_EA, &fx).r, PR_OK);
	assert_true(s.reserved);
	assert_int_equal(s.type, PR_TYPE_EA);
	assert_int_equal(s.nregs, 1);
	assert_true(s.regs[0].holder);
	assert_int_equal(fx.n, 2);
	assert_int_equal(fx.e[0].kind, PR_FX_REGS_PREEMPTED);
	assert_int_equal(fx.e[1].kind, PR_FX_ABORT);
	assert_string_equal(fx.e[1].port.initiator, "iqn.a");
	pr_effects_free(&fx);
	/* CLEAR: everything goes, the others hear RESERVATIONS PREEMPTED. */
	out(&s, &a, PR_OUT_REGISTER, 0, 1, 0, &fx);
	gen = s.generation;
	assert_int_equal(out(&s, &b, PR_OUT_CLEAR, 2, 0, 0, &fx).r, PR_OK);
	assert_int_equal(s.nregs, 0);
	assert_false(s.reserved);
	assert_int_equal(s.generation, gen + 1);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.e[0].kind, PR_FX_RESV_PREEMPTED);
	pr_effects_free(&fx);
	pr_state_free(&s);
}

static void test_spec_i_pt_and_move(void **state)
{
	struct pr_port a = port("iqn.a", 1), b = port("iqn.b", 2);
	struct pr_port tids[2] = { port("iqn.b", 2), port("iqn.c", 0) };
	struct pr_effects fx = { 0 };
	struct pr_state s;
	struct pr_out o = { .sa = PR_OUT_REGISTER, .sa_key = 7, .spec_i_pt = true,
			    .n_tids = 2, .tids = tids };

	tids[1].has_isid = false;	/* format 00b: every ISID of iqn.c */
	pr_state_init(&s);
	assert_int_equal(pr_state_apply(&s, &a, &o, false, &fx).r, PR_OK);
	assert_int_equal(s.nregs, 3);
	assert_int_equal(pr_state_find(&s, &b), 1);
	{
		struct pr_port c9 = port("iqn.c", 9);

		assert_int_equal(pr_state_find(&s, &c9), 2);
	}
	/* SPEC_I_PT from a registered nexus is refused; APTPL without a state dir too. */
	o.key = 7;
	assert_int_equal(pr_state_apply(&s, &a, &o, false, &fx).r, PR_BAD_PARAM);
	o.spec_i_pt = false;
	o.n_tids = 0;
	o.aptpl = true;
	assert_int_equal(pr_state_apply(&s, &a, &o, false, &fx).r, PR_BAD_PARAM);
	assert_int_equal(pr_state_apply(&s, &a, &o, true, &fx).r, PR_OK);
	assert_true(s.aptpl);
	/* REGISTER AND MOVE: a reserves, moves the reservation to iqn.d and unregisters. */
	assert_int_equal(out(&s, &a, PR_OUT_RESERVE, 7, 0, PR_TYPE_WE, &fx).r, PR_OK);
	{
		struct pr_port d = port("iqn.d", 4);
		struct pr_out m = { .sa = PR_OUT_REGISTER_MOVE, .key = 7, .sa_key = 8,
				    .unreg = true, .n_tids = 1, .tids = &d };

		assert_int_equal(pr_state_apply(&s, &a, &m, true, &fx).r, PR_OK);
		assert_int_equal(pr_state_find(&s, &a), -1);
		assert_false(pr_state_conflict(&s, &d, PR_ACCESS_WRITE));
		assert_true(pr_state_conflict(&s, &b, PR_ACCESS_WRITE));
	}
	pr_effects_free(&fx);
	pr_state_free(&s);
}

static void test_json_round_trip_and_corrupt(void **state)
{
	struct pr_port a = port("iqn.a", 1), b = port("iqn.b", 2);
	struct pr_effects fx = { 0 };
	struct pr_state s, r;
	char err[256];
	char *text;

	pr_state_init(&s);
	pr_state_init(&r);
	out(&s, &a, PR_OUT_REGISTER, 0, 0xfedcba9876543210ull, 0, &fx);
	out(&s, &b, PR_OUT_REGISTER, 0, 2, 0, &fx);
	out(&s, &a, PR_OUT_RESERVE, 0xfedcba9876543210ull, 0, PR_TYPE_EA_RO, &fx);
	s.aptpl = true;
	text = pr_state_to_json(&s);
	assert_non_null(text);
	assert_int_equal(pr_state_from_json(&r, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(r.generation, s.generation);
	assert_int_equal(r.nregs, 2);
	assert_true(r.regs[0].key == 0xfedcba9876543210ull);
	assert_true(r.regs[0].holder);
	assert_true(r.reserved);
	assert_int_equal(r.type, PR_TYPE_EA_RO);
	assert_int_equal(pr_state_find(&r, &b), 1);
	free(text);
	/* Corrupt, truncated, newer, or inconsistent files are refused with a reason. */
	static const char *bad[] = {
		"{\"version\": 1, \"generation\": ",
		"[]",
		"{\"version\": 2, \"generation\": 1, \"aptpl\": true, \"reservation\": null, "
		"\"registrations\": []}",
		"{\"version\": 1, \"generation\": 1, \"aptpl\": true, \"reservation\": "
		"{\"type\": 1, \"scope\": 0}, \"registrations\": []}",
		"{\"version\": 1, \"generation\": 1, \"aptpl\": true, \"reservation\": null, "
		"\"registrations\": [{\"key\": \"12\", \"initiator\": \"iqn.a\", \"isid\": null, "
		"\"rel_port_id\": 1, \"all_tg_pt\": false, \"holder\": false}]}",
		"{\"version\": 1, \"generation\": 1, \"aptpl\": true, \"reservation\": null, "
		"\"registrations\": [{\"key\": \"0000000000000012\", \"initiator\": \"iqn.a\", "
		"\"isid\": \"zz\", \"rel_port_id\": 1, \"all_tg_pt\": false, \"holder\": false}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(pr_state_from_json(&r, bad[i], strlen(bad[i]), err, sizeof(err)),
				 -22);
		assert_true(err[0] != 0);
		assert_int_equal(r.nregs, 2);	/* untouched on failure */
	}
	pr_effects_free(&fx);
	pr_state_free(&s);
	pr_state_free(&r);
}

static void test_codecs(void **state)
{
	struct pr_port p = port("iqn.2026-11.org.invar:host", 0xab), q;
	struct it_nexus n = { .id = 1, .initiator = "iqn.a", .rel_port_id = 1 };
	struct sense_extra x = { 0 };
	uint8_t b[512], cdb[10] = { 0x5f, PR_OUT_REGISTER, 0, 0, 0, 0, 0, 0, 24, 0 };
	struct pr_state s;
	struct pr_out o;
	unsigned used, len = pr_tid_encode(b, sizeof(b), &p);
	uint32_t dlen;
	uint8_t *d;

	assert_int_equal(b[0], 0x45);	/* format 01b, iSCSI */
	assert_int_equal(len % 4, 0);
	assert_string_equal((char *)b + 4, "iqn.2026-11.org.invar:host,i,0x0000000000ab");
	assert_int_equal(pr_tid_decode(b, len, &q, &used), 0);
	assert_int_equal(used, len);
	assert_true(q.has_isid && q.isid[5] == 0xab);
	assert_string_equal(q.initiator, p.initiator);
	/* Length past the end, another protocol, unterminated name: refused. */
	assert_int_equal(pr_tid_decode(b, len - 4, &q, &used), -22);
	b[0] = 0x41;
	assert_int_equal(pr_tid_decode(b, len, &q, &used), -22);
	/* PR OUT: exactly 24 bytes without SPEC_I_PT. */
	memset(b, 0, sizeof(b));
	put_be64(b + 8, 0x55);
	assert_int_equal(pr_out_decode(cdb, b, 24, &n, &o, &x), SR_OK);
	assert_true(o.sa_key == 0x55);
	free(o.tids);
	cdb[8] = 28;
	assert_int_equal(pr_out_decode(cdb, b, 28, &n, &o, &x), SR_PARAM_LIST_LENGTH_ERROR);
	free(o.tids);
	/* With SPEC_I_PT: one TransportID after the length field. */
	b[20] = 0x08;
	len = pr_tid_encode(b + 28, sizeof(b) - 28, &p);
	put_be32(b + 24, len);
	cdb[8] = (uint8_t)(28 + len);
	assert_int_equal(pr_out_decode(cdb, b, 28 + len, &n, &o, &x), SR_OK);
	assert_int_equal(o.n_tids, 1);
	assert_true(o.spec_i_pt);
	free(o.tids);
	/* PR IN: READ KEYS and REPORT CAPABILITIES. */
	pr_state_init(&s);
	{
		struct pr_effects fx = { 0 };

		out(&s, &p, PR_OUT_REGISTER, 0, 0x1122334455667788ull, 0, &fx);
		pr_effects_free(&fx);
	}
	d = pr_in_encode(&s, 0, true, &dlen);
	assert_non_null(d);
	assert_int_equal(dlen, 16);
	assert_int_equal(get_be32(d), 1);
	assert_int_equal(get_be32(d + 4), 8);
	assert_true(get_be64(d + 8) == 0x1122334455667788ull);
	free(d);
	d = pr_in_encode(&s, 2, true, &dlen);
	assert_int_equal(dlen, 8);
	assert_int_equal(get_be16(d), 8);
	assert_int_equal(d[2] & 0x01, 1);	/* PTPL_C */
	assert_int_equal(d[3] & 0x80, 0x80);	/* TMV */
	assert_int_equal(d[4], 0xea);
	assert_int_equal(d[5], 0x01);
	free(d);
	d = pr_in_encode(&s, 3, false, &dlen);	/* READ FULL STATUS */
	assert_int_equal(get_be32(d + 4), dlen - 8);
	assert_int_equal(get_be32(d + 8 + 20), dlen - 8 - 24);
	free(d);
	pr_state_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_reserve_release),
		cmocka_unit_test(test_types_and_ownership),
		cmocka_unit_test(test_preempt_clear),
		cmocka_unit_test(test_spec_i_pt_and_move),
		cmocka_unit_test(test_json_round_trip_and_corrupt),
		cmocka_unit_test(test_codecs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
