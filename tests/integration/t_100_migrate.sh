#!/usr/bin/env bash
# Live migration between two daemons on one backing file (docs/design/migration.md):
#  - a destination whose LU at that address differs (block size) refuses with the reason, and
#    the source never stopped: it still serves reads, writes and PR IN;
#  - A -> B moves a LU holding two registrations and a reservation: B answers READ KEYS and
#    READ RESERVATION as A did (generation included), fences off the non-holder, reads the
#    data A wrote; a login to A is redirected to B;
#  - B -> A moves it back, state intact again.
. "$(dirname "$0")/lib.sh"
need jq
PR_TOOL=${PR_TOOL:-$PWD/$BUILD/tests/tools/pr_tool}
[ -x "$PR_TOOL" ] || fail "$PR_TOOL not built (make integration builds it)"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
IA=iqn.2026-11.org.invar:mig-a
IB=iqn.2026-11.org.invar:mig-b
IMG=$TMP/shared.img
LUN="file:$IMG,size=32M,profile=invar-2026.3"
trap 'peer_stop_all; invar_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT
expect() { # expect WANT CMD...: run pr_tool and compare its first line
	local want=$1 got
	shift
	got=$("$PR_TOOL" "$@" | head -n 1)
	[ "$got" = "$want" ] || fail "pr_tool $*: got '$got', want '$want'"
}

# A: the source, also listening for migrations so the LU can come back.
AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "$LUN" --migration-listen "127.0.0.1:$AMIG"
UA="$URL/$TEST_IQN/0"
# Known data in LBA 8..15 (4 KiB; pr_tool writes LBA 0), before any reservation.
head -c 4096 /dev/urandom >"$TMP/pattern"
"$ISCSI_CMD" "$UA" "2a000000000800000800=@$TMP/pattern" | grep -q '^status 0x00' ||
	fail "WRITE(10) on A failed"
expect GOOD "$UA" "$IA" register 0xaaaa000000000001
expect GOOD "$UA" "$IB" register 0xbbbb000000000002
expect GOOD "$UA" "$IA" reserve 0xaaaa000000000001 1
expect "RESERVATION CONFLICT" "$UA" "$IB" write
keys_a=$("$PR_TOOL" "$UA" "$IB" read-keys)
resv_a=$("$PR_TOOL" "$UA" "$IB" read-resv)
echo "on A: $keys_a / $resv_a"

# C: a destination whose LU at the same address has another block size.
peer_start C --target "$TEST_IQN" --lun "file:$IMG,block_size=4096,profile=invar-2026.3"
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$C_MIG" 2>&1) &&
	fail "migration to an incompatible destination succeeded: $out"
echo "$out"
echo "$out" | grep -qi "refused" || fail "no refusal reported: $out"
echo "$out" | grep -qi "block size" || fail "the reason (block size) is not named: $out"
# Nothing stopped on A.
expect "RESERVATION CONFLICT" "$UA" "$IB" write
expect GOOD "$UA" "$IA" write
[ "$("$PR_TOOL" "$UA" "$IB" read-keys)" = "$keys_a" ] || fail "A's keys changed after a refusal"
# A profile the LU does not have is refused as well.
peer_start D --target "$TEST_IQN" --lun "file:$IMG,profile=invar-2026.2"
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$D_MIG" 2>&1) &&
	fail "migration to a destination with another profile succeeded: $out"
echo "$out" | grep -qi "profile" || fail "the reason (profile) is not named: $out"
expect GOOD "$UA" "$IA" write

# B: the destination, with nothing at that address yet.
peer_start B --target iqn.2026-11.org.invar:other --lun ram:1M
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG") || fail "A -> B failed: $out"
echo "$out"
echo "$out" | grep -q "^migrated $TEST_IQN LUN 0 to 127.0.0.1:$B_MIG in .* ms (LU paused .* ms)" ||
	fail "no result line: $out"
UB="iscsi://127.0.0.1:$B_PORT/$TEST_IQN/0"
[ "$("$PR_TOOL" "$UB" "$IB" read-keys)" = "$keys_a" ] || fail "B answers READ KEYS differently"
[ "$("$PR_TOOL" "$UB" "$IB" read-resv)" = "$resv_a" ] || fail "B answers READ RESERVATION differently"
expect "RESERVATION CONFLICT" "$UB" "$IB" write
expect GOOD "$UB" "$IA" write
got=$("$ISCSI_CMD" -n 4096 "$UB" 28000000000800000800 | sed -n 's/^data *//p')
want=$(xxd -p "$TMP/pattern" | tr -d "\n")
[ "$got" = "$want" ] || fail "B reads other data than A wrote: ${got:0:64}... want ${want:0:64}... (${#got}/${#want})"
# A gave the LU away: a login there is redirected to B (t_101, t_103 test the handover).
st=$("$ISCSI_CMD" "$UA" 000000000000 2>&1)
[ "$st" = "status 0x00" ] || fail "A's URL answers '$st' for a LU that moved to B"
grep -q "moved: login redirected to 127.0.0.1:$B_PORT," "$TMP/invard.log" || fail "A did not redirect"
# Each side saved what it serves now (docs/CONFIG.md "Persistence"): B has the LU, A not any more,
# so a restart of A cannot serve it beside B.
luns_of() { jq -r --arg t "$TEST_IQN" '[.targets[] | select(.iqn == $t) | .luns[]?] | length' "$1"; }
[ "$(luns_of "$TMP/B/invar.json")" = 1 ] || fail "B did not save the LU that arrived"
[ "$(luns_of "$TMP/data/invar.json")" = 0 ] || fail "A still saves the LU it handed over"
# Migrating a LU that is not running is refused.
"${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG" 2>"$TMP/err" &&
	fail "a stopped LU was migrated again"
grep -q "not running" "$TMP/err" || fail "no reason for migrating a stopped LU: $(cat "$TMP/err")"

# B -> A: back home, state intact.
BCTL=("$INVARCTL" --socket "$TMP/B/invar.sock")
out=$("${BCTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$AMIG") || fail "B -> A failed: $out"
echo "$out"
[ "$("$PR_TOOL" "$UA" "$IB" read-keys)" = "$keys_a" ] || fail "A answers READ KEYS differently after B -> A"
[ "$("$PR_TOOL" "$UA" "$IB" read-resv)" = "$resv_a" ] || fail "A's reservation changed after B -> A"
expect "RESERVATION CONFLICT" "$UA" "$IB" write
expect GOOD "$UA" "$IA" write
st=$("$ISCSI_CMD" "iscsi://127.0.0.1:$B_PORT/$TEST_IQN/0" 000000000000 2>&1)
[ "$st" = "status 0x00" ] || fail "B's URL answers '$st' after giving the LU back"
grep -q "moved: login redirected to 127.0.0.1:$PORT," "$TMP/B.log" || fail "B did not redirect to A"
[ "$(luns_of "$TMP/data/invar.json")" = 1 ] || fail "A did not save the LU that came back"
[ "$(luns_of "$TMP/B/invar.json")" = 0 ] || fail "B still saves the LU it gave back"
peer_stop_all
invar_stop
echo "PASS"
