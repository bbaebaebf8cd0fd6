#!/usr/bin/env bash
# Losing access ends live sessions, not only new logins: initiators hold sessions doing a READ
# every 50 ms (tests/tools/iscsi-robust.c hold) while the ACL changes under them.
#  - the first acl add closes the target to everyone else: their sessions end at once;
#  - acl delete of an initiator ends its sessions, and it cannot log in again (0202);
#  - the others' sessions keep working throughout; deleting the last entry opens the target
#    again, so nobody's session ends then;
#  - target delete refuses while sessions are in (-16) and with --force ends them.
. "$(dirname "$0")/lib.sh"
IA=iqn.2026-11.org.invar.test:alice
IB=iqn.2026-11.org.invar.test:bob
IC=iqn.2026-11.org.invar.test:carol
invar_start --target "$TEST_IQN" --lun ram:16M

sessions() { "${CTL[@]}" --json target list | jq ".targets[] | select(.iqn == \"$TEST_IQN\") | .sessions"; }

hold_start A "$IA" "127.0.0.1:$PORT" 60
hold_start C "$IC" "127.0.0.1:$PORT" 60
"${CTL[@]}" acl add "$TEST_IQN" "$IA" >/dev/null || fail "acl add A"
hold_ended C
sleep 0.3
hold_running A
echo "  first acl add (alice): carol's session ended, alice's goes on"

"${CTL[@]}" acl add "$TEST_IQN" "$IB" >/dev/null || fail "acl add B"
hold_start B "$IB" "127.0.0.1:$PORT" 60
"${CTL[@]}" acl delete "$TEST_IQN" "$IA" >/dev/null || fail "acl delete A"
hold_ended A
out=$("$ROBUST" -n "$IA" "127.0.0.1:$PORT" "$TEST_IQN" hold 1)
[ "$out" = "login 0x0202" ] || fail "alice logs in again after removal: $out"
grep -q "'$IA' is no longer in the ACL of $TEST_IQN" "$TMP/invard.log" || fail "closing not logged"
sleep 0.3
hold_running B
[ "$(sessions)" = 1 ] || fail "sessions: $(sessions), want 1 (bob)"
echo "  acl delete alice: her session ended, her login refused (0202); bob's goes on"

# Removing the last entry opens the target to every initiator: nobody loses access.
"${CTL[@]}" acl delete "$TEST_IQN" "$IB" >/dev/null || fail "acl delete B"
sleep 0.5
hold_running B
echo "  acl delete of the last entry (target open again): bob's session goes on"

"${CTL[@]}" target delete "$TEST_IQN" 2>"$TMP/err" && fail "target deleted with a session in"
grep -q "session" "$TMP/err" || fail "no reason: $(cat "$TMP/err")"
hold_running B
"${CTL[@]}" --json target delete "$TEST_IQN" --force >"$TMP/del" || fail "target delete --force"
[ "$(jq .sessions_closed "$TMP/del")" = 1 ] || fail "sessions_closed: $(cat "$TMP/del")"
hold_ended B
echo "  target delete: refused with a session in; --force ended bob's session"
invar_stop
