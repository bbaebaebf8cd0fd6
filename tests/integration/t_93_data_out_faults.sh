#!/usr/bin/env bash
# Data-Out that does not fit what the target asked for (the SPDK #2781 class), as raw PDUs
# (tests/tools/iscsi-raw.c): past the R2T's desired length, past MaxBurstLength, past the EDTL
# (unsolicited), with a TTT the target never issued. Each fails its command with CHECK
# CONDITION, ABORTED COMMAND / DATA PHASE ERROR (B/4B/00), no byte lands beyond the buffer, the
# session keeps working (TEST UNIT READY after it is GOOD) and the daemon keeps serving others.
# Repeated so a leak would show in RSS; under ASan (make check) a leak fails invar_stop.
. "$(dirname "$0")/lib.sh"
need iscsi-inq
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
invar_start --target "$TEST_IQN" --lun ram:16M

check() {	# check SCENARIO [raw options...]
	local sc=$1 out
	shift
	out=$("$RAW" "$@" "127.0.0.1:$PORT" "$TEST_IQN" "$sc") || fail "$sc: $out"
	echo "$out" | grep -qx "cmd status 0x02 sense b/4b/00" || fail "$sc: $out"
	echo "$out" | grep -qx "after status 0x00" || fail "$sc: session not usable after: $out"
}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$INVARD_PID/status"; }
# Under ASan freed memory sits in the quarantine, so RSS says nothing about leaks there;
# LeakSanitizer checks at exit instead (invar_stop requires status 0).
rss_bounds=1
case $BUILD in *san*) rss_bounds=0 ;; esac

check r2t-overrun
check burst-overrun -k MaxBurstLength=4096 -k FirstBurstLength=4096
check edtl-overrun -k InitialR2T=No
check bad-ttt
grep -q "bad offset in solicited Data-Out" "$TMP/invard.log" || fail "R2T overrun not logged"
grep -q "bad offset in unsolicited Data-Out" "$TMP/invard.log" || fail "EDTL overrun not logged"
grep -q "Data-Out with unknown TTT" "$TMP/invard.log" || fail "bad TTT not logged"
echo "  r2t-overrun, burst-overrun, edtl-overrun, bad-ttt: B/4B/00, session usable after"

before=$(rss)
for _ in $(seq 1 40); do
	check r2t-overrun
	check edtl-overrun -k InitialR2T=No
done
after=$(rss)
echo "  80 more: RSS ${before} -> ${after} KiB"
[ "$rss_bounds" = 0 ] || [ $((after - before)) -lt 8192 ] || fail "RSS grew by $((after - before)) KiB over 80 faulty writes"
iscsi-inq "$URL/$TEST_IQN/0" >/dev/null || fail "daemon not serving after the faults"
invar_stop
