#!/usr/bin/env bash
# qemu-img writes 64 MiB of random data to a LUN and reads it back byte for byte, over a file LUN
# (io_uring path) and a RAM LUN.
. "$(dirname "$0")/lib.sh"
need qemu-img
qemu-img --help 2>/dev/null | grep -q iscsi || skip "qemu-img has no iscsi driver (install qemu-block-extra)"
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/disk.img,size=128M" --lun ram:128M
head -c $((64 << 20)) /dev/urandom >"$TMP/src.img"
for lun in 0 1; do
	qemu-img convert -n -f raw -O raw "$TMP/src.img" "$URL/$TEST_IQN/$lun" ||
		fail "qemu-img convert to LUN $lun failed"
	qemu-img convert -f raw -O raw "$URL/$TEST_IQN/$lun" "$TMP/back.img" ||
		fail "qemu-img convert from LUN $lun failed"
	head -c $((64 << 20)) "$TMP/back.img" | cmp - "$TMP/src.img" || fail "LUN $lun: data read back differs"
	echo "LUN $lun: 64 MiB written and read back identical"
	rm -f "$TMP/back.img"
done
# The file LUN's data is in the file, durable across a restart.
invar_stop
head -c $((64 << 20)) "$TMP/data/disk.img" | cmp - "$TMP/src.img" || fail "backing file does not hold the data"
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/disk.img"
qemu-img convert -f raw -O raw "$URL/$TEST_IQN/0" "$TMP/back.img" || fail "read after restart failed"
head -c $((64 << 20)) "$TMP/back.img" | cmp - "$TMP/src.img" || fail "data differs after restart"
echo "file LUN: data intact after restart"
invar_stop
