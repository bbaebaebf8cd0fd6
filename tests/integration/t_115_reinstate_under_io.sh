#!/usr/bin/env bash
# Reinstatement while the old session has I/O in flight, over and over, across workers: each new
# login with the same InitiatorName and ISID (iscsi-robust hold -s) must end the previous session
# (its READ loop sees the connection closed, not an error status or a hang) and run its own
# I/O; a bystander session of another ISID is never disturbed. On a file LU, so READs are real
# backstore I/O that may be in flight when the old session is torn down. Under make check this
# runs with ASan+UBSan: a use-after-free or leak in the teardown fails invar_stop.
. "$(dirname "$0")/lib.sh"
invar_start --workers 2 --target "$TEST_IQN" --lun "file:$TMP/lun.img,size=64M,profile=invar-2026.3"
I=iqn.2026-11.org.invar.test:reinstate

hold_start hby "$I" "127.0.0.1:$PORT" 60 0x0b0b0b
hold_start h0 "$I" "127.0.0.1:$PORT" 60 0x5e5e01
for n in $(seq 1 20); do
	hold_start "h$n" "$I" "127.0.0.1:$PORT" 60 0x5e5e01
	hold_ended "h$((n - 1))"	# reinstated: its connection was closed
done
hold_running hby	# the bystander
[ "$(grep -c "reinstating session tsih" "$TMP/invard.log")" = 20 ] || fail "not 20 reinstatements logged"
n=$("${CTL[@]}" --json target list | jq '.targets[0].sessions')
[ "$n" = 2 ] || fail "$n sessions logged in, want 2 (the last and the bystander)"
kill "$HOLD_PID_h20" "$HOLD_PID_hby"
wait "$HOLD_PID_h20" "$HOLD_PID_hby" 2>/dev/null
echo "  20 reinstatements under I/O: each old session closed, each new one served; bystander untouched"
invar_stop
