#!/usr/bin/env bash
# The rbd backstore when the cluster stops answering (tests/ceph/lib.sh): the one OSD is frozen
# (SIGSTOP: to a client exactly a dead host or a partition, and memstore keeps its data).
#  - a WRITE and a READ to the RBD LU end in BUSY (retryable) after the LU's timeout=S, bounded;
#  - meanwhile the same worker (--workers 1) keeps answering other commands at once: a ram LU
#    on the same daemon reads, and the RBD LU answers TEST UNIT READY and INQUIRY;
#  - once the OSD runs again the same commands succeed, and what was acknowledged before the
#    stall reads back intact;
#  - SIGTERM during a stall: invard exits cleanly once the request has timed out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
need xxd
TMO=5
ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 16M rbd/stall || fail "rbd create failed"
invar_start --workers 1 --target "$TEST_IQN" --lun "rbd:rbd/stall,conf=$CEPH_CONF,timeout=$TMO" \
	--lun ram:4M
RBD="$URL/$TEST_IQN/0"
RAM="$URL/$TEST_IQN/1"
a=$(head -c 4096 /dev/urandom | xxd -p | tr -d '\n')
b=$(head -c 4096 /dev/urandom | xxd -p | tr -d '\n')
WRITE0=2a000000000000000800    # WRITE(10) LBA 0, 8 blocks
WRITE8=2a000000000800000800    # WRITE(10) LBA 8, 8 blocks
READ0=28000000000000000800
READ8=28000000000800000800
"$ISCSI_CMD" "$RBD" "$WRITE0=$a" | grep -qE '^status +0x00' || fail "WRITE before the stall failed"

ceph_osd_pause
# A command on the RBD LU in the background, while others run on the same worker.
t0=$(date +%s%3N)
"$ISCSI_CMD" "$RBD" "$WRITE8=$b" >"$TMP/stalled.out" 2>&1 &
bg=$!
sleep 1
for cmd in "$ISCSI_CMD -n 4096 $RAM $READ0" "$ISCSI_CMD $RBD 000000000000" \
	"$ISCSI_CMD -n 96 $RBD 120000006000"; do
	s=$(date +%s%3N)
	out=$(timeout 10 $cmd) || fail "'$cmd' failed during the stall: $out"
	echo "$out" | grep -qE '^status +0x00' || fail "'$cmd' during the stall answered: $out"
	ms=$(($(date +%s%3N) - s))
	[ "$ms" -lt 3000 ] || fail "'$cmd' took $ms ms during the stall (worker blocked?)"
done
echo "  during the stall: the ram LU reads, the RBD LU answers TEST UNIT READY and INQUIRY"
wait "$bg"
ms=$(($(date +%s%3N) - t0))
grep -qE '^status +0x08' "$TMP/stalled.out" || fail "stalled WRITE answered: $(cat "$TMP/stalled.out")"
[ "$ms" -ge $((TMO * 1000 - 500)) ] && [ "$ms" -lt $((TMO * 1000 * 4 + 5000)) ] ||
	fail "stalled WRITE ended after $ms ms with timeout=$TMO s"
echo "  stalled WRITE: BUSY after $ms ms (timeout=${TMO}s)"
s=$(date +%s%3N)
out=$("$ISCSI_CMD" -n 4096 "$RBD" "$READ0")
echo "$out" | grep -qE '^status +0x08' || fail "stalled READ answered: $out"
echo "  stalled READ: BUSY after $(($(date +%s%3N) - s)) ms"

ceph_osd_resume
s=$(date +%s%3N)
ok=
for _ in $(seq 1 60); do
	if "$ISCSI_CMD" "$RBD" "$WRITE8=$b" | grep -qE '^status +0x00'; then ok=1; break; fi
	sleep 1
done
[ -n "$ok" ] || fail "WRITE still failing a minute after the OSD resumed"
echo "  after the OSD resumed: WRITE succeeds after $(($(date +%s%3N) - s)) ms"
got=$("$ISCSI_CMD" -n 4096 "$RBD" "$READ0" | awk '/^data/{print $2}')
[ "$got" = "$a" ] || fail "data written before the stall reads back wrong"
got=$("$ISCSI_CMD" -n 4096 "$RBD" "$READ8" | awk '/^data/{print $2}')
[ "$got" = "$b" ] || fail "data written after the stall reads back wrong"
echo "  data from before and after the stall read back intact"

# SIGTERM during a stall: invard waits for the request in the cluster (it ends BUSY after the
# timeout), closes the image (each of librbd's closing steps also waits for the timeout) and
# exits cleanly, bounded; nothing from librbd reaches freed memory afterwards (SAN=1 run).
ceph_osd_pause
# (libiscsi's client retries for ever when the connection closes under a command: bounded.)
timeout 120 "$ISCSI_CMD" "$RBD" "$WRITE8=$b" >"$TMP/term.out" 2>&1 &
bg=$!
sleep 1
s=$(date +%s%3N)
kill -TERM "$INVARD_PID"
for _ in $(seq 1 900); do
	kill -0 "$INVARD_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$INVARD_PID" 2>/dev/null && fail "invard still running 90 s after SIGTERM during a stall"
wait "$INVARD_PID"
rc=$?
INVARD_PID=
[ "$rc" -eq 0 ] || fail "invard exited with status $rc after SIGTERM during a stall"
echo "  SIGTERM during a stall: exit 0 after $(($(date +%s%3N) - s)) ms"
wait "$bg"
# The request in the cluster was answered (BUSY) before the connection closed.
grep -qE '^status +0x08' "$TMP/term.out" || fail "the WRITE in flight at SIGTERM got: $(cat "$TMP/term.out")"
ceph_osd_resume
