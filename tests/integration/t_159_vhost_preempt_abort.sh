#!/usr/bin/env bash
# PREEMPT AND ABORT (SPC-4 5.12.11.5) from an iSCSI initiator reaches a task a vhost-user-scsi
# front-end has in flight: the front-end (tests/tools/vhost-hostile.c "abort") registers a key
# and sends a READ to a LU whose out-of-process handler is stopped (SIGSTOP), so the READ stays
# in flight; iSCSI preempts that key with PREEMPT AND ABORT; once the handler runs again the
# READ is answered VIRTIO_SCSI_S_ABORTED (2), not with data. (The session list's in_flight
# says when the READ is in flight.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/handler_lib.sh"
HOSTILE=$PWD/$BUILD/tests/tools/vhost-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE is not built"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD is not built"
SOCK=$TMP/vhost.sock
invar_start --target "$TEST_IQN" --lun user:r1,size=16M --vhost-user "$SOCK,target=$TEST_IQN"
handler_start "$HANDLER_RAM" r1
mkdir -p "$TMP/ab"
"$HOSTILE" "$SOCK" abort "$TMP/ab" >"$TMP/ab/out" 2>&1 &
ab=$!
for _ in $(seq 1 300); do [ -e "$TMP/ab/ready" ] && break; sleep 0.02; done
[ -e "$TMP/ab/ready" ] || fail "the front-end did not get ready: $(cat "$TMP/ab/out")"
grep -q "register status 0x00" "$TMP/ab/out" || fail "REGISTER over vhost: $(cat "$TMP/ab/out")"

kill -STOP "$HANDLER_PID"
touch "$TMP/ab/go"
for _ in $(seq 1 300); do [ -e "$TMP/ab/sent" ] && break; sleep 0.02; done
[ -e "$TMP/ab/sent" ] || fail "the front-end did not send its READ"
# The READ is in flight once the front-end's session shows it (its worker took it).
for _ in $(seq 1 200); do
	[ "$("${CTL[@]}" --json session list | jq '[.sessions[] | select(.fabric == "vhost") | .in_flight] | add')" = 1 ] && break
	sleep 0.05
done
[ "$("${CTL[@]}" --json session list | jq '[.sessions[] | select(.fabric == "vhost") | .in_flight] | add')" = 1 ] ||
	{ kill -CONT "$HANDLER_PID"; fail "the READ is not in flight: $("${CTL[@]}" --json session list)"; }
out=$("$ISCSI_CMD" "$URL/$TEST_IQN/0" \
	"5f000000000000001800=$(printf '%016x%016x%016x' 0 $((0xdef)) 0)" \
	"5f050100000000001800=$(printf '%016x%016x%016x' $((0xdef)) $((0xabc)) 0)" 2>&1)
rc=$?
[ "$rc" = 0 ] && [ "$(echo "$out" | grep -c '^status 0x00')" = 2 ] || {
	kill -CONT "$HANDLER_PID"
	fail "iSCSI REGISTER, PREEMPT AND ABORT: $out"
}
for _ in $(seq 1 100); do
	grep -q "PREEMPT AND ABORT: 1 task(s) will end ABORTED" "$TMP/invard.log" && break
	sleep 0.05
done
kill -CONT "$HANDLER_PID"
grep -q "PREEMPT AND ABORT: 1 task(s) will end ABORTED" "$TMP/invard.log" ||
	fail "the READ in flight was not marked aborted: $(grep -i preempt "$TMP/invard.log")"
wait $ab || fail "abort: $(cat "$TMP/ab/out")"
grep -q "read response 2 " "$TMP/ab/out" || fail "the READ was not answered ABORTED: $(cat "$TMP/ab/out")"
echo "  PREEMPT AND ABORT from iSCSI: the vhost READ held in the handler was answered VIRTIO_SCSI_S_ABORTED"
# The front-end is still served: its nexus lost its registration, the LU is iSCSI's (WE).
"$HOSTILE" "$SOCK" inquiry >/dev/null || fail "INQUIRY over vhost after the abort"
handler_kill
invar_stop
