#!/usr/bin/env bash
# COMPARE AND WRITE while another session keeps 32 random 4 KiB writes in flight (the mix of a
# VMware ATS heartbeat on a busy datastore): with two workers the sessions run on different
# threads, so every CAW goes through the write gate's cross-worker path (src/scsi/lu_io.h:
# raise, drain the lock-free writes, hold the range, release). Every CAW must be GOOD (each
# compares with what the previous one wrote: a lost or torn CAW would miscompare), none BUSY,
# and the writes must go on.
. "$(dirname "$0")/lib.sh"
need cc
[ -e /usr/include/iscsi/iscsi.h ] || skip "libiscsi-dev not installed"
cc -O2 -std=gnu11 -o "$TMP/iscsi-lat" "$(dirname "$0")/../../bench/iscsi-lat.c" -liscsi ||
	fail "cannot build bench/iscsi-lat.c"
truncate -s 256M "$TMP/caw.img"
invar_start --workers 2 --target "$TEST_IQN" --lun "file:$TMP/caw.img"
out=$("$TMP/iscsi-lat" -w -q 32 -t 3 -W 0.5 -c 20 "$URL/$TEST_IQN/0" 2>"$TMP/lat.err") ||
	fail "iscsi-lat failed: $(head -c 500 "$TMP/lat.err")"
echo "$out"
val() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$out"; }
[ "$(val caw_other)" = 0 ] || fail "COMPARE AND WRITEs not GOOD: $(cat "$TMP/lat.err")"
[ "$(val caw_good)" -ge 100 ] || fail "only $(val caw_good) COMPARE AND WRITEs completed"
[ "$(val ios)" -ge 1000 ] || fail "only $(val ios) writes beside the CAWs"
grep -q "session.*on worker 0" "$TMP/invard.log" && grep -q "session.*on worker 1" "$TMP/invard.log" ||
	echo "note: both sessions landed on one worker"
invar_stop
