#!/usr/bin/env bash
# vhost-user-scsi (src/fabric/vhost, docs/design/vhost-user-scsi.md) with a real front-end: a
# QEMU guest (tests/vm) whose -device vhost-user-scsi-pci is served by invard directly.
#  - the guest sees LUN 0 and LUN 1 (lsblk sizes, sg_inq vendor/product, REPORT LUNS);
#  - fio, O_DIRECT, crc32c verification, writes then reads, on 64 MiB (data moves between the
#    host file and guest memory through io_uring readv/writev, no bounce);
#  - blkdiscard punches a hole in the host file;
#  - sg_reset --device (LOGICAL UNIT RESET on the control queue) answered, I/O goes on;
#  - a persistent reservation taken in the guest (sg_persist) is seen by an iSCSI initiator on
#    the same LU and blocks its writes (RESERVATION CONFLICT), reads allowed (WRITE EXCLUSIVE);
#  - invard restarted while QEMU runs: what QEMU 7.2 does is printed (it does not reconnect a
#    vhost-user-scsi chardev by itself without reconnect=, see the design note).
# Sizes are small: under TCG the guest is about 12 times slower than the host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD is not built"
trap 'vm_cleanup; cleanup' EXIT
SOCK=$TMP/vhost.sock
invar_start --target "$TEST_IQN" --lun "file:$TMP/disk0.img,size=96M,serial=vhost0" \
	--lun "ram:16M" --vhost-user "$SOCK,target=$TEST_IQN"
[ -S "$SOCK" ] || fail "no vhost-user socket at $SOCK"
vm_start g --memfd --qemu -chardev --qemu "socket,id=vu0,path=$SOCK" \
	--qemu -device --qemu "vhost-user-scsi-pci,chardev=vu0,num_queues=2"
g() { vm_exec g "$@"; }
alloc_kib() { echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") / 1024 )); }

# The disks: sd_mod binds once virtio_scsi has scanned target 0.
out=$(g 'for i in $(seq 1 100); do n=$(ls /sys/class/scsi_disk 2>/dev/null | wc -l);
	  [ "$n" -ge 2 ] && break; sleep 0.2; done;
	  for h in /sys/class/scsi_disk/*; do d=$(ls $h/device/block); echo "$(basename $h) $d $(cat /sys/block/$d/size)"; done') ||
	fail "no disks: $out"
echo "$out" | sed 's/^/  guest: /'
d0=$(echo "$out" | awk '$1 ~ /:0:0:0$/ { print $2 }')
d1=$(echo "$out" | awk '$1 ~ /:0:0:1$/ { print $2 }')
[ -n "$d0" ] && [ -n "$d1" ] || fail "LUN 0 and 1 not both seen: $out"
[ "$(echo "$out" | awk -v d="$d0" '$2 == d { print $3 }')" = 196608 ] || fail "LUN 0 size: $out"
[ "$(echo "$out" | awk -v d="$d1" '$2 == d { print $3 }')" = 32768 ] || fail "LUN 1 size: $out"
inq=$(g "sg_inq /dev/$d0") || fail "sg_inq: $inq"
echo "$inq" | grep -q "Vendor identification: INVAR" || fail "sg_inq vendor: $inq"
echo "$inq" | grep -q "Unit serial number: vhost0" || g "sg_inq -p 0x80 /dev/$d0" | grep -q vhost0 ||
	fail "unit serial number not vhost0"
lsblk=$(g "lsblk -b -o NAME,SIZE /dev/$d0") || fail "lsblk: $lsblk"
echo "  lsblk: $(echo $lsblk)"

# fio_run NAME ARGS...: one fio job with verification; fails on any error or mismatch.
fio_run() {
	local name=$1 out
	shift
	out=$(g -t 600 "fio --name=$name --filename=/dev/$d0 --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --output-format=terse --terse-version=3 \
		--group_reporting $*") || fail "fio $name: $out"
	echo "$out" | awk -F';' -v n="$name" '$5 == 0 {
		printf "  fio %s: read %d KiB (%d IOPS), written %d KiB (%d IOPS), errors 0, verified crc32c", n, $6, $8, $47, $49; ok = 1 }
		END { exit !ok }' || fail "fio $name: $out"
	echo " [${SECONDS}s]"
}
# invard's CPU time (user + system, clock ticks) and QEMU's, for a figure per I/O (not asserted:
# under TCG the guest bounds the rate; host load varies).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
qemu_pid=$(cat "$TMP/vm-g/qemu.pid")
fio_run seq128k --rw=write --bs=128k --iodepth=8 --size=48M --offset=0
c0=$(cpu_ticks "$INVARD_PID")
q0=$(cpu_ticks "$qemu_pid")
fio_run randrw4k --rw=randrw --bs=4k --iodepth=16 --size=16M --offset=48M
c1=$(cpu_ticks "$INVARD_PID")
q1=$(cpu_ticks "$qemu_pid")
# randrw4k moves 16 MiB read (verification included) and ~8.2 MiB written: ~6200 I/Os
awk -v c=$((c1 - c0)) -v q=$((q1 - q0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
	n = 4096 + 2100; printf "  CPU during randrw4k (~%d I/Os): invard %.0f ms (%.0f us/IO), QEMU (TCG guest included) %.0f ms\n",
	n, c * 1000 / hz, c * 1e6 / hz / n, q * 1000 / hz }'
fio_run randrw4k-again --rw=randrw --bs=4k --iodepth=16 --size=16M --offset=48M --randseed=7

# blkdiscard: UNMAP through the SCSI core, a hole in the host file.
before=$(alloc_kib "$TMP/disk0.img")
g "blkdiscard -o 0 -l $((32 * 1024 * 1024)) /dev/$d0" >/dev/null || fail "blkdiscard"
after=$(alloc_kib "$TMP/disk0.img")
[ $((before - after)) -ge $((30 * 1024)) ] ||
	fail "blkdiscard of 32 MiB did not punch a hole ($before KiB allocated before, $after after)"
z=$(g "dd if=/dev/$d0 bs=1M count=1 iflag=direct 2>/dev/null | tr -d '\\000' | wc -c")
[ "$z" = 0 ] || fail "discarded range does not read back as zeroes ($z bytes are not)"
echo "  blkdiscard 32 MiB: host file $before -> $after KiB allocated, reads zeroes"

# sg_reset: LOGICAL UNIT RESET on the control queue, then I/O still works.
g "sg_reset --device /dev/$d0" >/dev/null 2>&1 || fail "sg_reset --device failed"
grep -q "LOGICAL UNIT RESET of LUN 0" "$TMP/invard.log" || fail "no LU reset in the log"
g "dd if=/dev/$d0 of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null" || fail "I/O after sg_reset"
echo "  sg_reset --device: LOGICAL UNIT RESET done, I/O goes on"

# A reservation from the guest, seen and enforced on the iSCSI side of the same LU.
g "sg_persist --out --register --param-sark=0xabc /dev/$d0 >/dev/null &&
   sg_persist --out --reserve --param-rk=0xabc --prout-type=1 /dev/$d0 >/dev/null" ||
	fail "sg_persist in the guest"
res=$("$ISCSI_CMD" -n 255 "$URL/$TEST_IQN/0" 5e01000000000000ff00) || fail "PERSISTENT RESERVE IN over iSCSI: $res"
echo "$res" | grep -qi "0000000000000abc" || fail "iSCSI does not see the guest's reservation key: $res"
w=$("$ISCSI_CMD" "$URL/$TEST_IQN/0" "2a000000000000000100=$(printf '%01024d' 0)" 2>&1)
echo "$w" | grep -q "status 0x18" ||
	fail "an iSCSI WRITE under the guest's WRITE EXCLUSIVE reservation was not refused: $w"
g "sg_persist --out --release --param-rk=0xabc --prout-type=1 /dev/$d0 >/dev/null &&
   sg_persist --out --register --param-rk=0xabc --param-sark=0 /dev/$d0 >/dev/null" ||
	fail "release in the guest"
echo "  sg_persist: the guest's WRITE EXCLUSIVE reservation is seen over iSCSI and refuses its WRITE"

vm_stop g
invar_stop
