#!/usr/bin/env bash
# Data digest errors with several R2Ts outstanding (MaxBurstLength=4096, MaxOutstandingR2T=4: a
# 16 KiB WRITE gets four R2Ts at once, each answered by one 4 KiB Data-Out). Whichever Data-Out is
# damaged (the first, one in the middle, the last), the target rejects it (02h), takes the data of
# the other R2Ts, and ends the command with B/47/05 without writing anything; the session goes on.
# Then 100 damaged writes in a row, to show nothing accumulates (RSS; LeakSanitizer under make
# check) and the connection stays up.
. "$(dirname "$0")/lib.sh"
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
[ -x "$ROBUST" ] || fail "$ROBUST not built"
invar_start --target "$TEST_IQN" --lun "file:$TMP/lun.img,size=64M"
K=(-d -k MaxBurstLength=4096 -k MaxOutstandingR2T=4)

for bad in 0 1 3; do
	out=$("$ROBUST" "${K[@]}" -b "$bad" "127.0.0.1:$PORT" "$TEST_IQN" digest-bad-dataout $((bad * 64))) ||
		fail "bad Data-Out $bad: exit $?"
	for l in "good_write status 0x00" "write_pdu reject 0x02" "bad_write status 0x02 sense b/47/05" \
		"medium unchanged" "after status 0x00" "target_digest_errors 0"; do
		echo "$out" | grep -qx "$l" || fail "bad Data-Out $bad of 4: missing '$l' in:
$out"
	done
done
echo "  four R2Ts, Data-Out 0, 1 or 3 damaged: Reject 02h, B/47/05, nothing written, session usable"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$INVARD_PID/status"; }
before=$(rss)
for i in $(seq 1 25); do
	for bad in 0 1 2 3; do
		"$ROBUST" "${K[@]}" -b "$bad" "127.0.0.1:$PORT" "$TEST_IQN" digest-bad-dataout 512 |
			grep -qx "bad_write status 0x02 sense b/47/05" || fail "round $i, Data-Out $bad"
	done
done
after=$(rss)
case $BUILD in *san*) ;; *)
	[ $((after - before)) -lt 8192 ] || fail "RSS grew from $before to $after KiB over 100 damaged writes" ;;
esac
[ "$(grep -c "data digest error in Data-Out" "$TMP/invard.log")" -ge 103 ] || fail "errors not logged"
echo "  100 more damaged writes: each failed alone, RSS $before -> $after KiB"
invar_stop
