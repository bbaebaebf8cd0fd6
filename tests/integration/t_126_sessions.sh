#!/usr/bin/env bash
# Sessions seen and ended by the operator (docs/RPC.md "session_list"): `invarctl session list`
# shows each logged-in session with its initiator, ISID, portal, peer, negotiated parameters,
# digests, CHAP user, age and commands in flight; `session drop` closes one now, `session
# logout` asks the initiator to log out first (Async Message, RFC 7143 11.9.1); a bad id is a
# clear error.
. "$(dirname "$0")/lib.sh"
need jq
need iscsi-perf
CHAP_IQN=iqn.2026-12.org.invar:chapped
invar_start --target "$TEST_IQN" --lun ram:16M
"${CTL[@]}" target create "$CHAP_IQN" >/dev/null || fail "target create"
"${CTL[@]}" lun add "$CHAP_IQN" ram:16M >/dev/null || fail "lun add"
"${CTL[@]}" chap set "$CHAP_IQN" alice:alicesecret123 >/dev/null || fail "chap set"

# A with digests (raw initiator, ISID ...0a0a), B plain; C a libiscsi load with CHAP.
"$ROBUST" -d -n iqn.2026-12.org.invar:host-a -s 0x0a0a "127.0.0.1:$PORT" "$TEST_IQN" hold 30 \
	>"$TMP/A" 2>&1 &
HA=$!
hold_start B iqn.2026-12.org.invar:host-b "127.0.0.1:$PORT" 30
timeout 30 iscsi-perf -i iqn.2026-12.org.invar:host-c -m 32 \
	"iscsi://alice%alicesecret123@127.0.0.1:$PORT/$CHAP_IQN/0" >"$TMP/C" 2>&1 &
PC=$!
trap 'kill $HA $PC 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do
	n=$("${CTL[@]}" --json session list | jq '[.sessions[] | select(.type == "normal")] | length')
	[ "$n" = 3 ] && break
	sleep 0.1
done
[ "$n" = 3 ] || fail "expected 3 sessions, got $n: $("${CTL[@]}" session list)"

"${CTL[@]}" --json session list >"$TMP/list.json"
sess() { jq -e ".sessions[] | select(.initiator == \"$1\")" "$TMP/list.json"; }
A=$(sess iqn.2026-12.org.invar:host-a) || fail "A not listed"
B=$(sess iqn.2026-12.org.invar:host-b) || fail "B not listed"
C=$(sess iqn.2026-12.org.invar:host-c) || fail "C not listed"
chk() { # chk JSON JQ-EXPR WHAT
	echo "$1" | jq -e "$2" >/dev/null || fail "$3: $(echo "$1" | jq -c .)"
}
chk "$A" '.header_digest == "CRC32C" and .data_digest == "CRC32C"' "A's digests"
chk "$B" '.header_digest == "None" and .data_digest == "None"' "B's digests"
chk "$A" '.isid | test("^[0-9a-f]{8}0a0a$")' "A's ISID"
chk "$A" ".target == \"$TEST_IQN\" and .portal == \"127.0.0.1:$PORT\" and .tpgt == 1" "A's target and portal"
chk "$A" '.peer | test("^127\\.0\\.0\\.1:[0-9]+$")' "A's peer address"
chk "$A" '.chap_user == null and .mutual_chap == false' "A has no CHAP"
chk "$C" ".chap_user == \"alice\" and .target == \"$CHAP_IQN\"" "C's CHAP user"
chk "$A" '.params.max_recv_data_segment_length > 0 and .params.max_burst_length > 0 and (.params.initial_r2t | type) == "boolean"' "A's parameters"
chk "$A" '.age_s >= 0 and .age_s < 60 and (.login_time | test("^20[0-9-]+T[0-9:]+Z$"))' "A's age"
chk "$C" '.max_cmds > 0 and .in_flight >= 0 and .in_flight <= .max_cmds' "C's window"
# Four WRITEs whose data never comes are in flight, exactly, until the session goes.
"$BUILD/tests/tools/iscsi-raw" -w 10 "127.0.0.1:$PORT" "$TEST_IQN" heldwrites 4 65536 \
	>"$TMP/held" 2>&1 &
PH=$!
busy=0
for _ in $(seq 1 100); do
	busy=$("${CTL[@]}" --json session list "$TEST_IQN" | jq '[.sessions[].in_flight] | max')
	[ "$busy" = 4 ] && break
	sleep 0.05
done
[ "$busy" = 4 ] || fail "4 held WRITEs, in_flight shows $busy"
kill "$PH" 2>/dev/null
wait "$PH" 2>/dev/null
echo "  3 sessions listed: digests, ISID, portal, peer, CHAP user, parameters, age; 4 held WRITEs shown in flight"
[ "$("${CTL[@]}" --json session list "$CHAP_IQN" | jq '.sessions | length')" = 1 ] ||
	fail "session list IQN does not filter by target"
"${CTL[@]}" session list | grep -q "^ID  *TYPE  *INITIATOR" || fail "no table header"
"${CTL[@]}" session list | grep -q "alice" || fail "the table does not show the CHAP user"

# drop B: its I/O ends at once, the others go on.
idb=$(echo "$B" | jq .id)
"${CTL[@]}" session drop "$idb" | grep -q "dropped" || fail "session drop"
hold_ended B
grep -q "dropped by the operator (session drop)" "$TMP/invard.log" || fail "no log line for the drop"
kill -0 "$HA" || fail "A ended with B"
# logout C: libiscsi logs out when asked and logs in again (a new session id).
idc=$(echo "$C" | jq .id)
"${CTL[@]}" session logout "$idc" --wait 2 | grep -q "logout requested" || fail "session logout"
for _ in $(seq 1 60); do
	"${CTL[@]}" --json session list "$CHAP_IQN" | jq -e ".sessions[] | select(.id == $idc)" \
		>/dev/null || break
	sleep 0.1
done
"${CTL[@]}" --json session list "$CHAP_IQN" | jq -e ".sessions[] | select(.id == $idc)" >/dev/null &&
	fail "session $idc still there 6 s after the logout request"
grep -q "asked session tsih $idc to log out within 2 s (the operator asked)" "$TMP/invard.log" ||
	fail "no log line for the logout request"
echo "  drop ended B's I/O at once; logout asked C to log out and it left"

# Errors.
"${CTL[@]}" session drop 65000 2>"$TMP/err" && fail "dropping a session nobody has"
grep -q "no session 65000" "$TMP/err" || fail "unclear error: $(cat "$TMP/err")"
"${CTL[@]}" session drop 0 2>/dev/null; [ $? = 2 ] || fail "id 0 is not a usage error"
"${CTL[@]}" session logout "$idb" --wait 99999 2>/dev/null; [ $? = 2 ] || fail "--wait out of range"
echo "  unknown id and bad arguments refused"
kill -KILL "$HA" "$PC" 2>/dev/null; pkill -KILL -f "iscsi-perf -i iqn.2026-12.org.invar:host-c" 2>/dev/null
wait "$HA" "$PC" 2>/dev/null
invar_stop
