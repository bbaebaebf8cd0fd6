#!/usr/bin/env bash
# A LU resized under the Linux kernel initiator (a QEMU guest, tests/vm), fio with crc32c
# verification running, zero I/O errors allowed (docs/design/resize.md):
#  - `invarctl lun resize` 32M -> 64M while fio writes: the kernel logs the unit attention
#    ("Capacity data has changed"); whether it revalidates the disk on its own is recorded (it
#    only raises an event for udev, and the guest has no udev); a session rescan
#    (iscsiadm -m session -R) makes it read the capacity again ("detected capacity change"),
#    /sys/block/sdX/size matches, and fio verifies over the new range;
#  - a forced shrink to 48M and a rescan: the kernel sees the smaller disk.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
need jq
trap 'vm_cleanup; cleanup' EXIT
GUEST=iqn.2026-12.org.invar:guest
invar_start --target "$TEST_IQN" --lun "file:$TMP/l0.img,size=32M"
HP=10.0.2.2:$PORT
MIB=1048576

vm_start g
disk=$(vm_exec g "iscsi_start $GUEST && iscsi_node $TEST_IQN $HP &&
           iscsiadm -m node -T $TEST_IQN -p $HP --login >/dev/null && iscsi_wait_disk $TEST_IQN") ||
	fail "login: $disk"
sectors() { vm_exec g "cat /sys/block/$disk/size"; }
[ "$(sectors)" = $((32 * MIB / 512)) ] || fail "the guest sees $(sectors) sectors, want 32 MiB"

vm_spawn g fio "fio --name=rs --filename=/dev/$disk --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=4 --size=16M --time_based --runtime=40 --verify=crc32c --verify_backlog=64 \
	--verify_fatal=1 --output-format=json >/tmp/fio.json 2>/tmp/fio.err; rc=\$?; cat /tmp/fio.json; cat /tmp/fio.err >&2; exit \$rc"
sleep 8

# Grow under fio.
t0=$(date +%s.%N)
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 64M) || fail "lun resize: $out"
echo "  $out [${SECONDS}s]"
# fio's next command gets the UA; give the kernel 15 s to act on it by itself.
self=$(vm_exec g -t 60 "for i in \$(seq 1 30); do
		[ \$(cat /sys/block/$disk/size) = $((64 * MIB / 512)) ] && { echo yes; exit 0; }
		sleep 0.5
	done; echo no")
vm_exec g "dmesg | grep -q 'Capacity data has changed'" ||
	fail "the kernel did not log the unit attention CAPACITY DATA HAS CHANGED"
if [ "$self" = yes ]; then
	echo "  the kernel logged 'Capacity data has changed' and revalidated by itself, $(vm_since "$t0") s after the resize"
else
	echo "  the kernel logged 'Capacity data has changed' but kept the old size for 15 s (no udev to rescan)"
	vm_exec g "iscsiadm -m session -R >/dev/null" || fail "iscsiadm -m session -R"
fi
[ "$(sectors)" = $((64 * MIB / 512)) ] || fail "after the rescan the guest sees $(sectors) sectors"
vm_exec g "dmesg | grep 'detected capacity change' | tail -n 1" | sed 's/^/    guest: /'
vm_exec g "dmesg | grep -q 'detected capacity change from $((32 * MIB / 512)) to $((64 * MIB / 512))'" ||
	fail "no 'detected capacity change' in the guest's log"
echo "  /sys/block/$disk/size is $((64 * MIB / 512)) sectors (64 MiB) [${SECONDS}s]"

out=$(vm_join g fio 240) || fail "fio failed across the resize (exit $?): $out"
read -r ios reads max_ms err <<<"$(echo "$out" | jq -r '.jobs[0] |
	"\(.write.total_ios) \(.read.total_ios) \([.write.lat_ns.max, .read.lat_ns.max] | max / 1e6 | floor) \(.error)"')"
[ "$err" = 0 ] || fail "fio error $err: $out"
[ "$ios" -gt 50 ] || fail "fio did only $ios writes"
echo "  fio across the resize: $ios random 4 KiB writes, $reads verification reads, error 0; longest I/O ${max_ms} ms [${SECONDS}s]"

# The new range: written and verified by the kernel, and on the host's file.
out=$(vm_exec g -t 300 "fio --name=new --filename=/dev/$disk --direct=1 --ioengine=libaio \
	--rw=randwrite --bs=4k --iodepth=4 --offset=32M --size=32M --io_size=4M --verify=crc32c \
	--verify_fatal=1 --output-format=json 2>&1") || fail "fio over the new range: $out"
[ "$(echo "$out" | jq -r '.jobs[0].error')" = 0 ] || fail "fio over the new range: $out"
echo "  fio over the new 32 MiB: $(echo "$out" | jq -r '.jobs[0].write.total_ios') writes verified [${SECONDS}s]"
[ "$(stat -c %s "$TMP/l0.img")" = $((64 * MIB)) ] || fail "the file is $(stat -c %s "$TMP/l0.img") bytes"
kmsg=$(vm_exec g "dmesg | grep -E 'I/O error|critical|Buffer I/O'")
[ -z "$kmsg" ] || fail "the kernel logged I/O errors: $kmsg"

# Shrink (nothing in flight past the new end), then a rescan.
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 48M --force) || fail "shrink: $out"
vm_exec g "dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct status=none;
	iscsiadm -m session -R >/dev/null" || fail "rescan after the shrink"
[ "$(sectors)" = $((48 * MIB / 512)) ] || fail "after the shrink the guest sees $(sectors) sectors"
echo "  shrink to 48M --force: the guest sees $((48 * MIB / 512)) sectors after a rescan [${SECONDS}s]"
vm_exec g "iscsiadm -m node -T $TEST_IQN -p $HP --logout" >/dev/null || fail "logout"
vm_stop g
invar_stop
