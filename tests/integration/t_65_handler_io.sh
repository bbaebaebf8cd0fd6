#!/usr/bin/env bash
# User LUs served by out-of-process handlers: the file handler and the RAM example. qemu-img
# writes 16 MiB of random data through each and reads it back; the file handler's backing file
# holds the data; libiscsi's conformance tests for reads, writes, UNMAP and WRITE SAME pass on the
# ring; a handler stopped with SIGTERM detaches cleanly and a new one serves the same data.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/handler_lib.sh"
need qemu-img
need iscsi-test-cu
qemu-img --help 2>/dev/null | grep -q iscsi || skip "qemu-img has no iscsi driver (install qemu-block-extra)"

invar_start --target "$TEST_IQN" --lun user:f1,size=64M --lun user:r1,size=64M --workers 2
handler_start "$HANDLER_FILE" f1 "$TMP/f1.img"
FILE_PID=$HANDLER_PID
handler_start "$HANDLER_RAM" r1
RAM_PID=$HANDLER_PID
# The file handler accepts every 1.1 feature, the completion wake-up flag included.
grep -q "user f1: handler pid $FILE_PID ready (features 0x1f," "$TMP/invard.log" ||
	fail "the file handler did not negotiate the 1.1 features"

head -c $((16 << 20)) /dev/urandom >"$TMP/src.img"
for lun in 0 1; do
	qemu-img convert -n -f raw -O raw "$TMP/src.img" "$URL/$TEST_IQN/$lun" || fail "write LUN $lun"
	qemu-img convert -f raw -O raw "$URL/$TEST_IQN/$lun" "$TMP/back.img" || fail "read LUN $lun"
	head -c $((16 << 20)) "$TMP/back.img" | cmp - "$TMP/src.img" || fail "LUN $lun: data differs"
	echo "LUN $lun: 16 MiB through the ring, read back identical"
done
head -c $((16 << 20)) "$TMP/f1.img" | cmp - "$TMP/src.img" || fail "the file handler's file lacks the data"
echo "file handler: the backing file holds the data"

CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.Read10 SCSI.Write10 SCSI.Read16 SCSI.Write16 SCSI.Unmap SCSI.WriteSame16
CU_URL="$URL/$TEST_IQN/1"
run_cu SCSI.Read16 SCSI.Write16 SCSI.Unmap

# A clean restart of the file handler: same data afterwards.
HANDLER_PID=$FILE_PID
handler_kill TERM
handler_start "$HANDLER_FILE" f1 "$TMP/f1.img"
qemu-img convert -f raw -O raw "$URL/$TEST_IQN/0" "$TMP/back2.img" || fail "read after handler restart"
cmp "$TMP/back2.img" "$TMP/f1.img" || fail "data differs after handler restart"
echo "file handler restarted: LUN 0 reads the backing file"
handler_kill TERM
HANDLER_PID=$RAM_PID
handler_kill TERM
invar_stop
grep -q "handler broke the ring" "$TMP/invard.log" && fail "a ring was reported broken"
true
