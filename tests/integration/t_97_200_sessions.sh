#!/usr/bin/env bash
# 200 concurrent sessions: one client process logs all 200 in (each held open until all are
# in), then each does TEST UNIT READY and a 4 KiB READ, then each logs out. All must succeed, and
# the daemon's RSS must stay bounded: a third round may not grow it further (nothing kept per
# ended session), and the peak stays well under what 200 sessions may cost (64 KiB receive
# buffer and a LUN view each).
. "$(dirname "$0")/lib.sh"
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
[ "$(ulimit -n)" -ge 512 ] || ulimit -n 1024 2>/dev/null || skip "needs 512 file descriptors"
invar_start --target "$TEST_IQN" --lun ram:16M
rss() { awk '/^VmRSS/ {print $2}' "/proc/$INVARD_PID/status"; }
# Under ASan freed memory sits in the quarantine, so RSS says nothing about leaks there;
# LeakSanitizer checks at exit instead (invar_stop requires status 0).
rss_bounds=1
case $BUILD in *san*) rss_bounds=0 ;; esac

base=$(rss)
for round in 1 2 3; do
	out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" sessions 200) || fail "round $round: $out"
	for want in "logged_in 200" "io_ok 200" "logged_out 200" "refused 0" "failed 0"; do
		echo "$out" | grep -qx "$want" || fail "round $round: expected '$want': $(echo $out)"
	done
	eval "rss$round=$(rss)"
done
echo "  3 rounds of 200 sessions: all logged in, did I/O, logged out"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$INVARD_PID/status")
echo "  RSS: ${base} KiB before, peak ${hwm}, after each round ${rss1} ${rss2} ${rss3}"
[ "$rss_bounds" = 0 ] || [ $((hwm - base)) -lt 65536 ] || fail "200 sessions peaked at $((hwm - base)) KiB over the idle RSS"
# The first rounds warm up the workers' malloc arenas; after that nothing may accumulate.
[ "$rss_bounds" = 0 ] || [ $((rss3 - rss2)) -lt 1024 ] || fail "RSS grew by $((rss3 - rss2)) KiB in the third round"
grep -q "rejected" "$TMP/invard.log" && fail "a login was rejected"
invar_stop
