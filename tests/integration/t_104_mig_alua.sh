#!/usr/bin/env bash
# The source's port group states travel with a migrated LU (docs/design/migration.md, "Export and
# import"): applied by tag on a destination where the LU is its target's only serving LU,
# left alone where the target serves other LUs (states are per target), and a tag the
# destination has no portal for is skipped.
. "$(dirname "$0")/lib.sh"
trap 'peer_stop_all; invar_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT
state_of() { # state_of SOCKET TPG: the state of group TPG of the test target there
	"$INVARCTL" --socket "$1" --json alua list "$TEST_IQN" |
		jq -r ".groups[] | select(.tpg == $2) | .state"
}

P3=$(free_port) || fail "no free port"
P4=$(free_port) || fail "no free port"
invar_start --listen "127.0.0.1:$(free_port)" --listen "127.0.0.1:$P3,tpg=2" \
	--listen "127.0.0.1:$P4,tpg=3" --target "$TEST_IQN" \
	--lun "file:$TMP/a.img,size=8M,profile=invar-2026.3" \
	--lun "file:$TMP/b.img,size=8M,profile=invar-2026.3"
"${CTL[@]}" alua set "$TEST_IQN" 2 standby >/dev/null || fail "alua set 2"
"${CTL[@]}" alua set "$TEST_IQN" 3 unavailable >/dev/null || fail "alua set 3"

# B has nothing of the target: LUN 0 arrives alone, group 2 takes A's state; B has no group 3.
peer_start B --listen "127.0.0.1:$(free_port),tpg=2"
"${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG" >/dev/null || fail "LUN 0 -> B"
[ "$(state_of "$TMP/B/invar.sock" 2)" = "standby" ] ||
	fail "B's group 2 is '$(state_of "$TMP/B/invar.sock" 2)', want standby as on A"
[ "$(state_of "$TMP/B/invar.sock" 1)" = "active/optimized" ] || fail "B's group 1 changed"
grep -q "port group 3" "$TMP/B.log" && fail "B applied a state for a group it has no portal for"

# C already serves another LU in that target: its states stay its own.
peer_start C --listen "127.0.0.1:$(free_port),tpg=2" --target "$TEST_IQN" --lun ram:1M
"${CTL[@]}" lu migrate "$TEST_IQN" 1 --to "127.0.0.1:$C_MIG" >"$TMP/out" 2>&1 ||
	fail "LUN 1 -> C: $(cat "$TMP/out")"
[ "$(state_of "$TMP/C/invar.sock" 2)" = "active/optimized" ] ||
	fail "C changed the states of a target that serves another LU"
peer_stop_all
invar_stop
echo "PASS"
