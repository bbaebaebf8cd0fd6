#!/usr/bin/env bash
# APTPL: a registration and reservation made with APTPL=1 survive a daemon restart (saved as
# DATA_DIR/lu/<NAA>/pr.json), still fence off other initiators and still belong to their
# holder; clearing APTPL removes the file; a corrupt pr.json refuses the LU with a reason.
. "$(dirname "$0")/lib.sh"
PR_TOOL=${PR_TOOL:-$PWD/$BUILD/tests/tools/pr_tool}
[ -x "$PR_TOOL" ] || fail "$PR_TOOL not built (make integration builds it)"
A=iqn.2026-11.org.invar:pr-a
B=iqn.2026-11.org.invar:pr-b
LUN="file:$TMP/data/aptpl.img,size=32M,profile=invar-2026.3"
expect() { # expect WANT CMD...: run pr_tool and compare its first line
	local want=$1 got
	shift
	got=$("$PR_TOOL" "$@" | head -n 1)
	[ "$got" = "$want" ] || fail "pr_tool $*: got '$got', want '$want'"
}

invar_start --target "$TEST_IQN" --lun "$LUN"
U="$URL/$TEST_IQN/0"
expect GOOD "$U" "$A" register 0xaaaa000000000001 aptpl
# APTPL is one bit for the whole LU: the last REGISTER sets it (SPC-4 5.12.5).
expect GOOD "$U" "$B" register 0xbbbb000000000002 aptpl
expect GOOD "$U" "$A" reserve 0xaaaa000000000001 1
expect "RESERVATION CONFLICT" "$U" "$B" write
expect GOOD "$U" "$A" write
f=$(find "$TMP/data/lu" -name pr.json)
[ -n "$f" ] || fail "no pr.json written with APTPL=1"
jq -e '.version == 1 and .reservation.type == 1 and (.registrations | length) == 2' "$f" \
	>/dev/null || fail "pr.json does not hold the state: $(cat "$f")"
gen_before=$("$PR_TOOL" "$U" "$A" read-keys | sed -n 's/^generation //p')
invar_stop

# Restart: everything is back, generation included.
invar_start --target "$TEST_IQN" --lun "$LUN"
U="$URL/$TEST_IQN/0"
keys=$("$PR_TOOL" "$U" "$B" read-keys)
echo "$keys" | grep -q '^key 0xaaaa000000000001$' || fail "key A lost in restart: $keys"
echo "$keys" | grep -q '^key 0xbbbb000000000002$' || fail "key B lost in restart: $keys"
[ "$(echo "$keys" | sed -n 's/^generation //p')" = "$gen_before" ] || fail "generation changed: $keys"
expect "key 0xaaaa000000000001 type 1" "$U" "$B" read-resv
expect "RESERVATION CONFLICT" "$U" "$B" write
# A LUN reset keeps persistent reservations (SPC-4 5.12.1) and SPC-2 RESERVE still conflicts.
expect "TMF COMPLETE" "$U" "$B" lun-reset
expect "key 0xaaaa000000000001 type 1" "$U" "$B" read-resv
expect "RESERVATION CONFLICT" "$U" "$A" reserve6
# The holder is recognised after the restart: it may release.
expect GOOD "$U" "$A" release 0xaaaa000000000001 1
expect none "$U" "$B" read-resv
expect GOOD "$U" "$B" write
# Registering without APTPL turns persistence off and removes the file.
expect GOOD "$U" "$A" register 0xaaaa000000000001
[ -z "$(find "$TMP/data/lu" -name pr.json)" ] || fail "pr.json kept after APTPL=0"
expect GOOD "$U" "$A" register 0xaaaa000000000001 aptpl
invar_stop

# A corrupt pr.json refuses the LU with a reason naming the file; the daemon does not crash.
f=$(find "$TMP/data/lu" -name pr.json)
[ -n "$f" ] || fail "no pr.json after the second APTPL registration"
printf '{"version": 1, "generation": ' >"$f"
"$INVARD" --listen "127.0.0.1:$(free_port)" --data-dir "$TMP/data" --target "$TEST_IQN" \
	--lun "$LUN" >"$TMP/corrupt.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	kill -KILL $pid
	fail "invard kept running with a corrupt pr.json"
fi
wait $pid
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "invard exited $rc on a corrupt pr.json"
grep -q 'corrupt .*pr.json' "$TMP/corrupt.log" || fail "no reason naming pr.json: $(cat "$TMP/corrupt.log")"
