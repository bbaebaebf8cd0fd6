#!/usr/bin/env bash
# Failure semantics of user LUs. No handler: commands wait --handler-wait-ms, then BUSY, and
# libiscsi's iscsi-perf gives up after its retries instead of hanging. A handler that attaches
# while a command waits serves it. Hostile handlers (a completion with an unknown tag, a duplicate
# completion, a wild completion index, a command held past --handler-timeout-ms) are killed with
# SIGKILL, the daemon stays up, and a good handler attaches and serves again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/handler_lib.sh"
need iscsi-perf
need qemu-io
HOSTILE=$PWD/$BUILD/tests/hostile-handler
[ -x "$HOSTILE" ] || fail "hostile-handler not built"

invar_start --target "$TEST_IQN" --lun user:h1,size=16M --workers 2 --handler-wait-ms 400 \
	--handler-timeout-ms 1500
LUN="$URL/$TEST_IQN/0"

start=$(date +%s)
timeout 60 iscsi-perf -t 2 "$LUN" >"$TMP/perf.out" 2>&1 && fail "I/O succeeded without a handler"
took=$(($(date +%s) - start))
grep -q "retries" "$TMP/perf.out" || { cat "$TMP/perf.out" >&2; fail "iscsi-perf did not see retryable BUSY"; }
[ "$took" -lt 30 ] || fail "no-handler I/O took ${took}s to fail"
echo "no handler: iscsi-perf got BUSY, retried and gave up after ${took}s (never hung)"

# A command that waits is served by a handler attaching within the wait (qemu retries BUSY).
qemu-io -f raw -c "write -P 0x5a 0 64k" -c "read -P 0x5a 0 64k" "$LUN" >"$TMP/late.out" 2>&1 &
QP=$!
sleep 0.2
handler_start "$HANDLER_RAM" h1
wait $QP || fail "qemu-io failed"
grep -qiE 'fail|error' "$TMP/late.out" && fail "late handler: I/O failed"
echo "late handler: the waiting write and its read-back succeeded"
handler_kill TERM

for mode in unknown duplicate garbage hang; do
	"$HOSTILE" "$TMP/data/handler.sock" h1 "$mode" >>"$TMP/hostile.log" 2>&1 &
	HP=$!
	for _ in $(seq 1 50); do grep -q "handler pid $HP ready" "$TMP/invard.log" && break; sleep 0.05; done
	timeout 60 qemu-io -f raw -c "read 0 4k" "$LUN" >"$TMP/h.out" 2>&1 &
	QP=$!
	wait $HP
	rc=$?
	[ "$rc" -eq 137 ] || fail "$mode: hostile handler exited $rc, not killed by SIGKILL"
	kill -0 "$INVARD_PID" || fail "$mode: invard died"
	if [ "$mode" = hang ]; then
		grep -q "timed out in the handler" "$TMP/invard.log" || fail "hang: no timeout logged"
	else
		grep -q "handler broke the ring" "$TMP/invard.log" || fail "$mode: not reported broken"
	fi
	# A good handler takes over; the waiting read completes (retried after BUSY).
	handler_start "$HANDLER_RAM" h1
	wait $QP || { cat "$TMP/h.out" >&2; fail "$mode: read after recovery failed"; }
	grep -q "read 4096/4096" "$TMP/h.out" || fail "$mode: read did not complete"
	echo "$mode: hostile handler killed, daemon alive, service resumed"
	handler_kill TERM
done
invar_stop
