#!/usr/bin/env bash
# A portal-binding change ends the live sessions it no longer admits, and only those: an
# initiator holds a session through each of two portals (tests/tools/iscsi-robust.c hold, a
# READ every 50 ms) while `acl bind` / `acl unbind` change the target's portals.
#  - binding the target to portal 1 ends the session that came in through portal 2 (a login
#    there is now refused, 0203), and the one through portal 1 goes on;
#  - binding portal 2 as well admits it again;
#  - unbinding portal 1 ends the session through portal 1; portal 2's goes on.
. "$(dirname "$0")/lib.sh"
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
[ -x "$ROBUST" ] || fail "$ROBUST not built"
IA=iqn.2026-11.org.invar.test:alice
invar_start --target "$TEST_IQN" --lun ram:16M
P1=127.0.0.1:$PORT
PORT2=$(free_port) || fail "no free port"
P2=127.0.0.1:$PORT2
"${CTL[@]}" portal add "$P2" >/dev/null || fail "portal add $P2"
wait_listening "$PORT2" || fail "not listening on $P2"

hold() {	# hold NAME PORTAL SECONDS: background session, output in $TMP/NAME
	"$ROBUST" -n "$IA" "$2" "$TEST_IQN" hold "$3" >"$TMP/$1" 2>&1 &
	eval "PID_$1=$!"
	for _ in $(seq 1 100); do
		grep -q io_running "$TMP/$1" && return 0
		sleep 0.05
	done
	fail "$1 did not start I/O: $(cat "$TMP/$1")"
}
ended() {	# ended NAME: its I/O stopped because the session was closed, within 5 s
	local pid
	pid=$(eval echo "\$PID_$1")
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "$1 still doing I/O: $(cat "$TMP/$1")"
	wait "$pid"
	grep -q "^io_ended after [0-9]*: read closed" "$TMP/$1" || fail "$1: $(cat "$TMP/$1")"
}
running() {	# running NAME: still doing I/O
	local pid
	pid=$(eval echo "\$PID_$1")
	kill -0 "$pid" 2>/dev/null || fail "$1 stopped: $(cat "$TMP/$1")"
	grep -q io_ended "$TMP/$1" && fail "$1: $(cat "$TMP/$1")"
	return 0
}

hold A "$P1" 60
hold B "$P2" 60
"${CTL[@]}" acl bind "$TEST_IQN" "$P1" >/dev/null || fail "acl bind $P1"
ended B
grep -q "is no longer bound to portal $P2" "$TMP/invard.log" || fail "closing not logged"
out=$("$ROBUST" -n "$IA" "$P2" "$TEST_IQN" hold 1)
[ "$out" = "login 0x0203" ] || fail "login through $P2 after the bind: $out"
sleep 0.3
running A
echo "  bind to portal 1: the session through portal 2 ended, its login refused (0203); portal 1's goes on"

"${CTL[@]}" acl bind "$TEST_IQN" "$P2" >/dev/null || fail "acl bind $P2"
hold B "$P2" 60
sleep 0.3
running A
echo "  bind portal 2 as well: a session through it works again; portal 1's goes on"

"${CTL[@]}" acl unbind "$TEST_IQN" "$P1" >/dev/null || fail "acl unbind $P1"
ended A
sleep 0.3
running B
echo "  unbind portal 1: its session ended; portal 2's goes on"
kill "$PID_B" 2>/dev/null
wait "$PID_B" 2>/dev/null
invar_stop
