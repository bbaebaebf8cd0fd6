#!/usr/bin/env bash
# A portal-binding change ends the live sessions it no longer admits, and only those: an
# initiator holds a session through each of two portals (tests/tools/iscsi-robust.c hold, a
# READ every 50 ms) while `acl bind` / `acl unbind` change the target's portals.
#  - binding the target to portal 1 ends the session that came in through portal 2 (a login
#    there is now refused, 0203), and the one through portal 1 goes on;
#  - binding portal 2 as well admits it again;
#  - unbinding portal 1 ends the session through portal 1; portal 2's goes on.
. "$(dirname "$0")/lib.sh"
IA=iqn.2026-11.org.invar.test:alice
invar_start --target "$TEST_IQN" --lun ram:16M
P1=127.0.0.1:$PORT
PORT2=$(free_port) || fail "no free port"
P2=127.0.0.1:$PORT2
"${CTL[@]}" portal add "$P2" >/dev/null || fail "portal add $P2"
wait_listening "$PORT2" || fail "not listening on $P2"


hold_start A "$IA" "$P1" 60
hold_start B "$IA" "$P2" 60
"${CTL[@]}" acl bind "$TEST_IQN" "$P1" >/dev/null || fail "acl bind $P1"
hold_ended B
grep -q "is no longer bound to portal $P2" "$TMP/invard.log" || fail "closing not logged"
out=$("$ROBUST" -n "$IA" "$P2" "$TEST_IQN" hold 1)
[ "$out" = "login 0x0203" ] || fail "login through $P2 after the bind: $out"
sleep 0.3
hold_running A
echo "  bind to portal 1: the session through portal 2 ended, its login refused (0203); portal 1's goes on"

"${CTL[@]}" acl bind "$TEST_IQN" "$P2" >/dev/null || fail "acl bind $P2"
hold_start B "$IA" "$P2" 60
sleep 0.3
hold_running A
echo "  bind portal 2 as well: a session through it works again; portal 1's goes on"

"${CTL[@]}" acl unbind "$TEST_IQN" "$P1" >/dev/null || fail "acl unbind $P1"
hold_ended A
sleep 0.3
hold_running B
echo "  unbind portal 1: its session ended; portal 2's goes on"
kill "$HOLD_PID_B" 2>/dev/null
wait "$HOLD_PID_B" 2>/dev/null
invar_stop
