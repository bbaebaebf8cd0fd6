#!/usr/bin/env bash
# Session reinstatement (RFC 7143 6.3.5) end to end, with raw PDUs (tests/tools/iscsi-robust.c):
# session A registers a PR key and leaves a WRITE waiting for its data; a second login with A's
# InitiatorName and ISID and TSIH 0 must close A (connection dropped, the write aborted: its late
# data never reaches the medium), log in, and continue A's I_T nexus: on invar-2026.3 its first
# command sees I_T NEXUS LOSS OCCURRED (6/29/07, SAM-5 6.3.4) and A's registration is its own
# (READ KEYS lists it, RESERVE with A's key succeeds). Released profiles keep their answer: the
# new session is a new nexus with POWER ON (6/29/00). Then connection reinstatement and session
# continuation, which ErrorRecoveryLevel 0 with MaxConnections=1 does not offer: a login naming
# a live TSIH is refused with 0206 (too many connections) and the live session goes on; a TSIH
# nobody has gets 020a (session does not exist).
. "$(dirname "$0")/lib.sh"
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
[ -x "$ROBUST" ] || fail "$ROBUST not built"
T2=iqn.2026-11.org.invar:released
invar_start --target "$TEST_IQN" --lun ram:16M,profile=invar-2026.3
"${CTL[@]}" target create "$T2" >/dev/null || fail "target create"
"${CTL[@]}" lun add "$T2" ram:16M,profile=invar-2026.2 >/dev/null || fail "lun add"

expect() {	# expect OUTPUT LINE...
	local out=$1 l
	shift
	for l in "$@"; do
		echo "$out" | grep -qx "$l" || fail "missing '$l' in:
$out"
	done
}

for round in 1 2 3; do
	out=$("$ROBUST" "127.0.0.1:$PORT" "$TEST_IQN" reinstate $((round * 64))) || fail "reinstate: $out"
	expect "$out" "a_register status 0x00" "a_write r2t 0 4096" "b_login 0x0000" "a_conn closed" \
		"b_first status 0x02 sense 6/29/07" "b_second status 0x00" "b_read status 0x00" \
		"b_read_written no" "b_keys 0x0000000000000abc" "b_reserve status 0x00" \
		"b_release status 0x00" "b_unregister status 0x00"
done
echo "  invar-2026.3: old session closed, its write aborted, 29/07 on the new one, PR registration kept (3 rounds)"
grep -q "reinstating session tsih" "$TMP/invard.log" || fail "reinstatement not logged"

out=$("$ROBUST" "127.0.0.1:$PORT" "$T2" reinstate 64) || fail "reinstate 2026.2: $out"
expect "$out" "a_write r2t 0 4096" "b_login 0x0000" "a_conn closed" \
	"b_first status 0x02 sense 6/29/00" "b_second status 0x00" "b_read_written no"
echo "  invar-2026.2: reinstated session is a new nexus (29/00, unchanged answer)"

out=$("$ROBUST" "127.0.0.1:$PORT" "$TEST_IQN" tsih) || fail "tsih: $out"
expect "$out" "same_tsih 0x0206" "unknown_tsih 0x020a" "a_after status 0x00"
echo "  login with a live TSIH: 0206, the session goes on; unknown TSIH: 020a"

# Nothing is left behind: every session ended.
sleep 0.3
n=$("${CTL[@]}" --json target list | jq '[.targets[].sessions] | add')
[ "$n" = 0 ] || fail "$n sessions still logged in"
invar_stop
