#!/usr/bin/env bash
# A slow reader: a client sends hundreds of 256 KiB READs and never reads its socket. invard must
# stop taking requests from that connection once its send queue is over the bound (8 MiB or 4096
# PDUs, src/fabric/iscsi/conn.c), including requests already in its receive buffer, so its memory
# stays bounded; other sessions stay served meanwhile; once the client reads again every command
# is answered (the requests held back are run after all).
. "$(dirname "$0")/lib.sh"
need iscsi-inq
need qemu-io
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
# max_cmds 1024: every READ fits the CmdSN window, so all of them must be answered in the end.
invar_start --target "$TEST_IQN" --lun ram:64M --limit max_cmds=1024
rss() { awk '/^VmRSS/ {print $2}' "/proc/$INVARD_PID/status"; }
# Under ASan freed memory sits in the quarantine, so RSS says nothing about leaks there;
# LeakSanitizer checks at exit instead (invar_stop requires status 0).
rss_bounds=1
case $BUILD in *san*) rss_bounds=0 ;; esac

base=$(rss)
# 1000 x 256 KiB = 250 MiB of read data asked for; hold 4 s without reading, then drain.
"$RAW" -w 4 "127.0.0.1:$PORT" "$TEST_IQN" slowread-drain 1000 262144 >"$TMP/slow.out" 2>&1 &
slow=$!
sleep 2
held=$(rss)
# Others are served while the slow reader holds its queue full.
timeout 10 iscsi-inq "$URL/$TEST_IQN/0" >/dev/null || fail "another client not served"
timeout 20 qemu-io -f raw -c "write -P 0x42 0 1M" -c "read -P 0x42 0 1M" "$URL/$TEST_IQN/0" \
	>"$TMP/q" 2>&1 || fail "qemu-io while a slow reader holds its queue: $(cat "$TMP/q")"
wait "$slow"
cat "$TMP/slow.out"
grep -qx "sent 1000" "$TMP/slow.out" || fail "slow reader could not send its READs"
grep -qx "answers 1000" "$TMP/slow.out" || fail "not every READ answered after draining"
grep -qx "good 1000" "$TMP/slow.out" || fail "READs failed"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$INVARD_PID/status")
echo "  RSS ${base} KiB idle, ${held} KiB while the reader stalls, peak ${hwm} KiB"
# Bound: the 8 MiB send queue plus the commands in flight when it filled; without the bound the
# daemon took every buffered READ and held ~250 MiB.
[ $((held - base)) -lt 65536 ] || fail "RSS grew by $((held - base)) KiB behind a stalled reader"
[ "$rss_bounds" = 0 ] || [ $((hwm - base)) -lt 98304 ] || fail "RSS peaked $((hwm - base)) KiB over idle"

# 2. A reader that never comes back: the connection is held, bounded, and dropped by the NOP-In
# timeout at the latest; here the client just goes away and the session ends.
"$RAW" -w 2 "127.0.0.1:$PORT" "$TEST_IQN" slowread 2000 262144 >"$TMP/slow2.out" 2>&1 ||
	fail "slowread: $(cat "$TMP/slow2.out")"
now=$(rss)
echo "  reader gone: RSS ${now} KiB"
[ "$rss_bounds" = 0 ] || [ $((now - base)) -lt 65536 ] || fail "RSS ${now} KiB after the reader went away"
timeout 10 iscsi-inq "$URL/$TEST_IQN/0" >/dev/null || fail "not serving after the slow readers"
invar_stop
