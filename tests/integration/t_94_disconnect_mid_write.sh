#!/usr/bin/env bash
# Initiator disconnect in the middle of writes: a raw client that sends half of a solicited
# burst and resets the connection (the task is collecting Data-Out), and qemu-io killed with
# SIGKILL during large writes (tasks with backstore I/O in flight). Repeated. The daemon must keep
# serving, end every session (no stuck task: the target can be deleted without --force, shutdown is clean
# within 10 s) and, under ASan (make check), leak nothing.
. "$(dirname "$0")/lib.sh"
need qemu-io
need iscsi-inq
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
invar_start --target "$TEST_IQN" --lun "file:$TMP/disk.img,size=256M"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$INVARD_PID/status"; }
# Under ASan freed memory sits in the quarantine, so RSS says nothing about leaks there;
# LeakSanitizer checks at exit instead (invar_stop requires status 0).
rss_bounds=1
case $BUILD in *san*) rss_bounds=0 ;; esac

# 1. Half a burst, then a reset.
for i in $(seq 1 30); do
	out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" abort-write 1048576) || fail "abort-write $i: $out"
	echo "$out" | grep -q "^sent " || fail "abort-write $i got no R2T: $out"
done
echo "  30 writes cut off after half a burst: $(echo "$out" | grep '^sent')"
before=$(rss)
for i in $(seq 1 30); do
	"$RAW" "127.0.0.1:$PORT" "$TEST_IQN" abort-write 1048576 >/dev/null || fail "abort-write $i"
done
after=$(rss)
echo "  30 more: RSS ${before} -> ${after} KiB"
[ "$rss_bounds" = 0 ] || [ $((after - before)) -lt 16384 ] || fail "RSS grew by $((after - before)) KiB over 30 cut writes"

# 2. qemu-io killed during 64 MiB writes, at a different moment each time.
for i in 1 2 3 4 5 6; do
	qemu-io -f raw -c "write -P 0x$i$i 0 64M" -c "write -P 0x$i$i 64M 64M" "$URL/$TEST_IQN/0" \
		>/dev/null 2>&1 &
	q=$!
	sleep "0.$((i * 15))"
	kill -KILL "$q" 2>/dev/null
	wait "$q" 2>/dev/null
done
echo "  6 qemu-io writers killed mid-write"

iscsi-inq "$URL/$TEST_IQN/0" >/dev/null || fail "daemon not serving after the disconnects"
qemu-io -f raw -c "write -P 0x77 0 1M" -c "read -P 0x77 0 1M" "$URL/$TEST_IQN/0" >"$TMP/qio" 2>&1 ||
	fail "write/read after the disconnects: $(cat "$TMP/qio")"
grep -q "read 1048576/1048576" "$TMP/qio" || fail "read back: $(cat "$TMP/qio")"
# No stuck task: every session ends (a target with sessions refuses a delete without --force).
for _ in $(seq 1 100); do
	"${CTL[@]}" target delete "$TEST_IQN" >"$TMP/del" 2>&1 && break
	sleep 0.1
done
grep -q "session" "$TMP/del" && fail "sessions never ended: $(cat "$TMP/del")"
"${CTL[@]}" target list | grep -q "$TEST_IQN" && fail "target not deleted: $(cat "$TMP/del")"
echo "  new clients served; every session ended (target deleted without --force)"
invar_stop
