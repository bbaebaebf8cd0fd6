#!/usr/bin/env bash
# Losing access ends live sessions, not only new logins: initiators hold sessions doing a READ
# every 50 ms (tests/tools/iscsi-robust.c hold) while the ACL changes under them.
#  - the first acl add closes the target to everyone else: their sessions end at once;
#  - acl delete of an initiator ends its sessions, and it cannot log in again (0202);
#  - the others' sessions keep working throughout; deleting the last entry opens the target
#    again, so nobody's session ends then;
#  - target delete refuses while sessions are in (-16) and with --force ends them.
. "$(dirname "$0")/lib.sh"
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
[ -x "$ROBUST" ] || fail "$ROBUST not built"
IA=iqn.2026-11.org.invar.test:alice
IB=iqn.2026-11.org.invar.test:bob
IC=iqn.2026-11.org.invar.test:carol
invar_start --target "$TEST_IQN" --lun ram:16M

hold() {	# hold NAME INITIATOR SECONDS: background session, output in $TMP/NAME
	"$ROBUST" -n "$2" "127.0.0.1:$PORT" "$TEST_IQN" hold "$3" >"$TMP/$1" 2>&1 &
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
sessions() { "${CTL[@]}" --json target list | jq ".targets[] | select(.iqn == \"$TEST_IQN\") | .sessions"; }

hold A "$IA" 60
hold C "$IC" 60
"${CTL[@]}" acl add "$TEST_IQN" "$IA" >/dev/null || fail "acl add A"
ended C
sleep 0.3
running A
echo "  first acl add (alice): carol's session ended, alice's goes on"

"${CTL[@]}" acl add "$TEST_IQN" "$IB" >/dev/null || fail "acl add B"
hold B "$IB" 60
"${CTL[@]}" acl delete "$TEST_IQN" "$IA" >/dev/null || fail "acl delete A"
ended A
out=$("$ROBUST" -n "$IA" "127.0.0.1:$PORT" "$TEST_IQN" hold 1)
[ "$out" = "login 0x0202" ] || fail "alice logs in again after removal: $out"
grep -q "'$IA' is no longer in the ACL of $TEST_IQN" "$TMP/invard.log" || fail "closing not logged"
sleep 0.3
running B
[ "$(sessions)" = 1 ] || fail "sessions: $(sessions), want 1 (bob)"
echo "  acl delete alice: her session ended, her login refused (0202); bob's goes on"

# Removing the last entry opens the target to every initiator: nobody loses access.
"${CTL[@]}" acl delete "$TEST_IQN" "$IB" >/dev/null || fail "acl delete B"
sleep 0.5
running B
echo "  acl delete of the last entry (target open again): bob's session goes on"

"${CTL[@]}" target delete "$TEST_IQN" 2>"$TMP/err" && fail "target deleted with a session in"
grep -q "session" "$TMP/err" || fail "no reason: $(cat "$TMP/err")"
running B
"${CTL[@]}" --json target delete "$TEST_IQN" --force >"$TMP/del" || fail "target delete --force"
[ "$(jq .sessions_closed "$TMP/del")" = 1 ] || fail "sessions_closed: $(cat "$TMP/del")"
ended B
echo "  target delete: refused with a session in; --force ended bob's session"
invar_stop
