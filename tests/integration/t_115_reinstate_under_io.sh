#!/usr/bin/env bash
# Reinstatement while the old session has I/O in flight, over and over, across workers: each new
# login with the same InitiatorName and ISID (iscsi-robust hold -s) must end the previous session
# (its READ loop sees the connection closed, not an error status or a hang) and run its own
# I/O; a bystander session of another ISID is never disturbed. On a file LU, so READs are real
# backstore I/O that may be in flight when the old session is torn down. Under make check this
# runs with ASan+UBSan: a use-after-free or leak in the teardown fails invar_stop.
. "$(dirname "$0")/lib.sh"
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
[ -x "$ROBUST" ] || fail "$ROBUST not built"
invar_start --workers 2 --target "$TEST_IQN" --lun "file:$TMP/lun.img,size=64M,profile=invar-2026.3"
I=iqn.2026-11.org.invar.test:reinstate

start_hold() {	# start_hold N ISID
	"$ROBUST" -n "$I" -s "$2" "127.0.0.1:$PORT" "$TEST_IQN" hold 60 >"$TMP/h$1" 2>&1 &
	eval "PID$1=$!"
	for _ in $(seq 1 200); do
		grep -q io_running "$TMP/h$1" && return 0
		grep -q "^login 0x0[1-9]" "$TMP/h$1" && fail "hold $1 refused: $(cat "$TMP/h$1")"
		sleep 0.05
	done
	fail "hold $1 did not start I/O: $(cat "$TMP/h$1")"
}
gone() {	# gone N: hold N ended because its connection was closed
	local pid
	pid=$(eval echo "\$PID$1")
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "session $1 still running after it was reinstated"
	wait "$pid"
	grep -q "^io_ended after [0-9]*: read closed" "$TMP/h$1" || fail "session $1: $(cat "$TMP/h$1")"
}

start_hold by 0x0b0b0b
start_hold 0 0x5e5e01
for n in $(seq 1 20); do
	start_hold "$n" 0x5e5e01
	gone $((n - 1))
done
kill -0 "$PIDby" 2>/dev/null && ! grep -q io_ended "$TMP/hby" || fail "bystander disturbed: $(cat "$TMP/hby")"
[ "$(grep -c "reinstating session tsih" "$TMP/invard.log")" = 20 ] || fail "not 20 reinstatements logged"
n=$("${CTL[@]}" --json target list | jq '.targets[0].sessions')
[ "$n" = 2 ] || fail "$n sessions logged in, want 2 (the last and the bystander)"
kill "$PID20" "$PIDby"
wait "$PID20" "$PIDby" 2>/dev/null
echo "  20 reinstatements under I/O: each old session closed, each new one served; bystander untouched"
invar_stop
