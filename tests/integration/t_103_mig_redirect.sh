#!/usr/bin/env bash
# Login redirection after a live migration (docs/design/migration.md, "Handover"):
#  - a bad --portal is refused before anything stops (the LU still serves);
#  - a target of which only one LU moved is not redirected: logins are served, the moved LU
#    answers BUSY, the others answer as before;
#  - once every LU moved to the same portal, a login to the source gets "target moved
#    temporarily" with that TargetAddress, which libiscsi tools follow by themselves;
#  - a LU migrated before any command answers the released golden corpus (invar-2026.2) on
#    the destination exactly as recorded.
. "$(dirname "$0")/lib.sh"
GOLDEN=${GOLDEN:-$PWD/$BUILD/invar-golden}
[ -x "$GOLDEN" ] || fail "$GOLDEN is not built (make golden; needs libiscsi-dev)"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
trap 'peer_stop_all; invar_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT
status_of() { "$ISCSI_CMD" "$1" 000000000000 2>&1 | head -n 1; }

invar_start --target "$TEST_IQN" --lun "file:$TMP/l0.img,size=8M" --lun "file:$TMP/l1.img,size=8M"
peer_start B --target iqn.2026-11.org.invar:other --lun ram:1M
U0="$URL/$TEST_IQN/0"
U1="$URL/$TEST_IQN/1"

# Bad redirect addresses are refused by the RPC, before the LU stops.
for bad in "bad host:3260" "127.0.0.1:99999" "127.0.0.1:3260,0" "[zz::1]:3260" \
	"127.0.0.1:3260;rm" "$(printf 'h%.0s' $(seq 1 400)):1"; do
	"${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG" --portal "$bad" \
		>"$TMP/out" 2>&1 && fail "--portal '$bad' was accepted"
	grep -Eq "is not HOST:PORT|longer than" "$TMP/out" || fail "--portal '$bad': $(cat "$TMP/out")"
done
[ "$(status_of "$U0")" = "status 0x00" ] || fail "LUN 0 stopped after refused migrations"

# Only LUN 0 moves: no redirect, LUN 1 still served here, LUN 0 BUSY.
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG") || fail "LUN 0 -> B: $out"
echo "$out"
[ "$(status_of "$U1")" = "status 0x00" ] || fail "LUN 1 is not served after LUN 0 moved"
status_of "$U0" | grep -Eq "^status 0x08|BUSY" || fail "moved LUN 0 answers '$(status_of "$U0")'"
grep -q "moved: login redirected" "$TMP/invard.log" && fail "a partly moved target was redirected"
[ "$(status_of "iscsi://127.0.0.1:$B_PORT/$TEST_IQN/0")" = "status 0x00" ] ||
	fail "B does not serve LUN 0"

# LUN 1 follows, to the same portal given explicitly: now the whole target redirects.
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 1 --to "127.0.0.1:$B_MIG" --portal "127.0.0.1:$B_PORT,1") ||
	fail "LUN 1 -> B: $out"
echo "$out" | grep -q "^logins redirected to 127.0.0.1:$B_PORT,1 " || fail "no redirect: $out"
[ "$(status_of "$U1")" = "status 0x00" ] || fail "A's URL for LUN 1 does not reach B"
[ "$(status_of "$U0")" = "status 0x00" ] || fail "A's URL for LUN 0 does not reach B"
grep -q "target '$TEST_IQN' moved: login redirected to 127.0.0.1:$B_PORT,1" "$TMP/invard.log" ||
	fail "A logged no redirect"
iscsi-inq "$U1" | grep -q "Peripheral Device Type" || fail "iscsi-inq does not follow the redirect"
peer_stop_all
invar_stop

# The golden corpus, replayed on the destination (invar-golden logs in with iscsi_login_sync,
# which, unlike iscsi_full_connect, does not follow redirects).
corpus=tests/golden/invar-2026.2.corpus
target=$(sed -n 's/^#! target //p' "$corpus")
spec=$(sed -n 's/^#! lun //p' "$corpus")
invar_start --target "$target" --lun "$spec"
peer_start G
out=$("${CTL[@]}" lu migrate "$target" 0 --to "127.0.0.1:$G_MIG") || fail "golden LU -> G: $out"
"$GOLDEN" replay "iscsi://127.0.0.1:$G_PORT/$target/0" "$corpus" >"$TMP/replay.out" 2>&1
rc=$?
tail -n 3 "$TMP/replay.out"
[ "$rc" -eq 0 ] || fail "the migrated LU does not answer the invar-2026.2 corpus as recorded"
peer_stop_all
invar_stop
echo "PASS"
