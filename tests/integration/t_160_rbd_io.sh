#!/usr/bin/env bash
# The rbd backstore over iSCSI against a one-node Ceph (tests/ceph/lib.sh): 32 MiB of random
# data written with qemu-img and read back through the LU, then read straight from the image
# with `rbd export` (the data is in the cluster, not in invard); the LU's capacity is the
# image's; the data survives kill -9 of invard; UNMAP, WRITE SAME,
# COMPARE AND WRITE (match and miscompare) and GET LBA STATUS reach the image.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
need qemu-img
need xxd
qemu-img --help 2>/dev/null | grep -q iscsi || skip "qemu-img has no iscsi driver (install qemu-block-extra)"
ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 64M rbd/disk || fail "rbd create failed"
invar_start --target "$TEST_IQN" --lun "rbd:rbd/disk,conf=$CEPH_CONF,timeout=20"
LUN="$URL/$TEST_IQN/0"

# READ CAPACITY(16): 64 MiB of 512-byte blocks, last LBA 131071.
got=$("$ISCSI_CMD" -n 32 "$LUN" 9e100000000000000000000000200000 | awk '/^data/{print $2}')
[ "${got:0:16}" = 000000000001ffff ] || fail "READ CAPACITY(16) answered '$got'"

head -c $((32 << 20)) /dev/urandom >"$TMP/src.img"
qemu-img convert -n -f raw -O raw "$TMP/src.img" "$LUN" || fail "qemu-img convert to the LU failed"
qemu-img convert -f raw -O raw "$LUN" "$TMP/back.img" || fail "qemu-img convert from the LU failed"
head -c $((32 << 20)) "$TMP/back.img" | cmp - "$TMP/src.img" || fail "data read back differs"
ceph_rbd export rbd/disk "$TMP/export.img" >/dev/null 2>&1 || fail "rbd export failed"
head -c $((32 << 20)) "$TMP/export.img" | cmp - "$TMP/src.img" || fail "the image does not hold the data"
echo "  32 MiB written through the LU, read back and found in the image"
# What was acknowledged survives invard's death (no cache between it and the OSDs): kill -9,
# restart, read it all back.
kill -KILL "$INVARD_PID"
wait "$INVARD_PID" 2>/dev/null
INVARD_PID=
invar_start --target "$TEST_IQN" --lun "rbd:rbd/disk,conf=$CEPH_CONF,timeout=20"
LUN="$URL/$TEST_IQN/0"
qemu-img convert -f raw -O raw "$LUN" "$TMP/back2.img" || fail "read after kill -9 failed"
head -c $((32 << 20)) "$TMP/back2.img" | cmp - "$TMP/src.img" || fail "data differs after kill -9"
rm -f "$TMP/back.img" "$TMP/back2.img" "$TMP/export.img"
echo "  after kill -9 and a restart the 32 MiB read back intact"
# The first write after it waits for the dead daemon's exclusive lock: librbd breaks it once the
# dead client's watch has expired (about 30 s). Bounded here; the figure is printed.
s=$(date +%s%3N)
out=$("$ISCSI_CMD" "$LUN" "2a000000000000000100=$(xxd -p -l 512 "$TMP/src.img" | tr -d '\n')")
echo "$out" | grep -qE "^status +0x00" || fail "first WRITE after kill -9 answered: $out"
echo "  first WRITE after kill -9: $(($(date +%s%3N) - s)) ms (the dead owner's exclusive lock)"

# COMPARE AND WRITE (one block at LBA 10): the medium matches the verify data -> GOOD and the
# write data is in the image; then a miscompare -> MISCOMPARE (sense key E) and no write.
old=$(xxd -p -s $((10 * 512)) -l 512 "$TMP/src.img" | tr -d '\n')
new=$(head -c 512 /dev/urandom | xxd -p | tr -d '\n')
CAW=8900000000000000000a000000010000
READ10=28000000000a00000100
out=$("$ISCSI_CMD" "$LUN" "$CAW=$old$new")
echo "$out" | grep -qE "^status +0x00" || fail "COMPARE AND WRITE (match) answered: $out"
got=$("$ISCSI_CMD" -n 512 "$LUN" $READ10 | awk '/^data/{print $2}')
[ "$got" = "$new" ] || fail "COMPARE AND WRITE did not write its data"
# The verify data equal to the medium but for byte 300 (flipped).
b=$((16#${new:600:2} ^ 0xff))
verify=${new:0:600}$(printf %02x "$b")${new:602}
out=$("$ISCSI_CMD" "$LUN" "$CAW=$verify$old")
echo "$out" | grep -qE "^key +0x0e asc 0x1d" || fail "COMPARE AND WRITE (mismatch) answered: $out"
# INFORMATION (fixed sense bytes 3-6): the offset of the first byte that differs.
first=300
info=$(echo "$out" | awk '/^sense/{print substr($2, 7, 8)}')
[ "$((16#$info))" = "$first" ] || fail "MISCOMPARE INFORMATION $((16#$info)), first difference at $first"
got=$("$ISCSI_CMD" -n 512 "$LUN" $READ10 | awk '/^data/{print $2}')
[ "$got" = "$new" ] || fail "a miscompared COMPARE AND WRITE changed the medium"
echo "  COMPARE AND WRITE: match writes, miscompare does not (INFORMATION $first)"

# COMPARE AND WRITE of 2 blocks across the first object boundary (LBA 8191): librbd compares
# within one sector only, so the core reads, compares and writes itself (asynchronously).
old2=$(xxd -p -s $((8191 * 512)) -l 1024 "$TMP/src.img" | tr -d '\n')
new2=$(head -c 1024 /dev/urandom | xxd -p | tr -d '\n')
CAW2=89000000000000001fff000000020000
out=$("$ISCSI_CMD" "$LUN" "$CAW2=$old2$new2")
echo "$out" | grep -qE "^status +0x00" || fail "2-block COMPARE AND WRITE (match) answered: $out"
out=$("$ISCSI_CMD" "$LUN" "$CAW2=$old2$old2")
echo "$out" | grep -qE "^key +0x0e asc 0x1d" || fail "2-block COMPARE AND WRITE (mismatch) answered: $out"
got=$("$ISCSI_CMD" -n 1024 "$LUN" 280000001fff00000200 | awk '/^data/{print $2}')
[ "$got" = "$new2" ] || fail "2-block COMPARE AND WRITE: medium holds the wrong data"
echo "  COMPARE AND WRITE across an object boundary: match writes, miscompare does not"

# WRITE SAME(16), 16 blocks at LBA 4096, one request to the image (rbd_aio_writesame).
pat=$(head -c 512 /dev/urandom | xxd -p | tr -d '\n')
out=$("$ISCSI_CMD" "$LUN" "93000000000000001000000000100000=$pat")
echo "$out" | grep -qE "^status +0x00" || fail "WRITE SAME answered: $out"
got=$("$ISCSI_CMD" -n 8192 "$LUN" 28000000100000001000 | awk '/^data/{print $2}')
[ "$got" = "$(for _ in $(seq 16); do printf %s "$pat"; done)" ] || fail "WRITE SAME: wrong data"
echo "  WRITE SAME: 16 blocks of the pattern"

# UNMAP the whole second object (LBA 8192, 8192 blocks) and one block in the first (LBA 100):
# both read back as zeroes; GET LBA STATUS reports the object deallocated.
out=$("$ISCSI_CMD" "$LUN" "42000000000000001800=001600100000000000000000000020000000200000000000")
echo "$out" | grep -qE "^status +0x00" || fail "UNMAP answered: $out"
out=$("$ISCSI_CMD" "$LUN" "42000000000000001800=001600100000000000000000000000640000000100000000")
echo "$out" | grep -qE "^status +0x00" || fail "UNMAP answered: $out"
zero=$(head -c 512 /dev/zero | xxd -p | tr -d '\n')
got=$("$ISCSI_CMD" -n 512 "$LUN" 28000000006400000100 | awk '/^data/{print $2}')
[ "$got" = "$zero" ] || fail "UNMAPped LBA 100 does not read as zeroes"
got=$("$ISCSI_CMD" -n 512 "$LUN" 28000000200000000100 | awk '/^data/{print $2}')
[ "$got" = "$zero" ] || fail "UNMAPped LBA 8192 does not read as zeroes"
got=$("$ISCSI_CMD" -n 24 "$LUN" 9e120000000000002000000000180000 | awk '/^data/{print $2}')
# Descriptor 1: LBA 8192, provisioning status (byte 20) 1 = deallocated.
[ "${got:16:16}" = 0000000000002000 ] && [ "${got:40:2}" = 01 ] ||
	fail "GET LBA STATUS at 8192 after UNMAP answered '$got'"
got=$("$ISCSI_CMD" -n 24 "$LUN" 9e120000000000000000000000180000 | awk '/^data/{print $2}')
[ "${got:16:16}" = 0000000000000000 ] && [ "${got:40:2}" = 00 ] ||
	fail "GET LBA STATUS at 0 answered '$got'"
echo "  UNMAP reads back zeroes; GET LBA STATUS: LBA 0 mapped, LBA 8192 deallocated"
invar_stop
