#!/usr/bin/env bash
# Data integrity through the Linux kernel initiator (a QEMU guest, tests/vm):
#  - fio with --verify=crc32c, direct I/O: 4 KiB random read/write and 128 KiB sequential;
#  - ext4 and xfs made, mounted, filled, remounted and checked; deleting files and fstrim makes
#    UNMAP reach the host file as holes (its allocated blocks shrink); umount, fsck clean.
# Sizes are small: under TCG the guest is about 12 times slower than the host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; cleanup' EXIT
GUEST=iqn.2026-12.org.invar:guest
# LUN 0 for fio, LUN 1 for ext4, LUN 2 for xfs (mkfs.xfs wants at least 300 MiB).
invar_start --target "$TEST_IQN" --lun "file:$TMP/fio.img,size=64M" \
	--lun "file:$TMP/ext4.img,size=64M" --lun "file:$TMP/xfs.img,size=320M"
HP=10.0.2.2:$PORT
vm_start g
g() { vm_exec g "$@"; }
alloc_kib() { echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") / 1024 )); }

disks=$(g "iscsi_start $GUEST && iscsi_node $TEST_IQN $HP &&
           iscsiadm -m node -T $TEST_IQN -p $HP --login >/dev/null && iscsi_wait_disk $TEST_IQN 3") ||
	fail "login: $disks"
read -r d_fio d_ext4 d_xfs <<<"$(echo $disks)"
for d in $d_fio $d_ext4 $d_xfs; do
	echo "$d $(g "cat /sys/block/$d/size")"
done >"$TMP/sizes"
# Disks appear in LUN order (the kernel scans REPORT LUNS in order).
[ "$(awk '{ print $2 }' "$TMP/sizes" | tr '\n' ' ')" = "131072 131072 655360 " ] ||
	fail "disks not in LUN order: $(cat "$TMP/sizes")"
echo "  logged in: fio /dev/$d_fio, ext4 /dev/$d_ext4, xfs /dev/$d_xfs [${SECONDS}s]"

# fio_run NAME ARGS...: one fio job with verification; fails on any error or mismatch.
fio_run() {
	local name=$1 out
	shift
	out=$(g -t 300 "fio --name=$name --filename=/dev/$d_fio --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --output-format=terse --terse-version=3 \
		--group_reporting $*") || fail "fio $name: $out"
	# terse v3: 5 error, 6 read KiB, 8 read IOPS, 47 write KiB, 49 write IOPS
	echo "$out" | awk -F';' -v n="$name" '$5 == 0 {
		printf "  fio %s: read %d KiB (%d IOPS), written %d KiB (%d IOPS), errors 0, verified crc32c", n, $6, $8, $47, $49; ok = 1 }
		END { exit !ok }' || fail "fio $name: $out"
	echo " [${SECONDS}s]"
}
fio_run randrw4k --rw=randrw --bs=4k --iodepth=16 --size=8M --offset=0
fio_run seq128k --rw=write --bs=128k --iodepth=4 --size=16M --offset=32M
# A second pass over the same range, so that reads of data written before are verified too.
fio_run randrw4k-again --rw=randrw --bs=4k --iodepth=16 --size=8M --offset=0 --randseed=7

# fs_check FS DISK IMG MKFS FSCK
fs_check() {
	local fs=$1 d=$2 img=$3 mkfs=$4 fsck=$5 before after trimmed
	g "$mkfs /dev/$d >/dev/null && mkdir -p /mnt/$fs && mount -t $fs /dev/$d /mnt/$fs" || fail "$fs: mkfs/mount"
	g "mkdir /mnt/$fs/dir && for i in \$(seq 1 20); do head -c 4096 /dev/urandom >/mnt/$fs/dir/small.\$i; done &&
	   head -c 12M /dev/urandom >/mnt/$fs/big && head -c 2M /dev/urandom >/mnt/$fs/keep &&
	   (cd /mnt/$fs && md5sum big keep dir/* >/tmp/$fs.md5) && umount /mnt/$fs &&
	   mount -t $fs /dev/$d /mnt/$fs && (cd /mnt/$fs && md5sum -c --quiet /tmp/$fs.md5)" ||
		fail "$fs: files did not read back equal after a remount"
	before=$(alloc_kib "$img")
	trimmed=$(g "rm /mnt/$fs/big && sync && fstrim -v /mnt/$fs") || fail "$fs: fstrim: $trimmed"
	after=$(alloc_kib "$img")
	[ $((before - after)) -ge $((10 * 1024)) ] ||
		fail "$fs: fstrim did not punch the deleted 12 MiB out of the host file ($before KiB allocated before, $after after; $trimmed)"
	g "(cd /mnt/$fs && grep -v ' big$' /tmp/$fs.md5 | md5sum -c --quiet) && umount /mnt/$fs" ||
		fail "$fs: files kept did not survive the trim"
	out=$(g "$fsck /dev/$d 2>&1") || fail "$fs: $fsck is not clean: $out"
	echo "  $fs: files read back after a remount; rm + fstrim: host file $before -> $after KiB allocated ($trimmed); $fsck clean [${SECONDS}s]"
}
fs_check ext4 "$d_ext4" "$TMP/ext4.img" "mkfs.ext4 -q" "e2fsck -fn"
fs_check xfs "$d_xfs" "$TMP/xfs.img" "mkfs.xfs -q -K" "xfs_repair -n"

g "iscsiadm -m node -T $TEST_IQN -p $HP --logout" >/dev/null || fail "logout"
vm_stop g
invar_stop
