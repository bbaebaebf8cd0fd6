#!/usr/bin/env bash
# invard restarted while a QEMU guest's vhost-user-scsi controller is connected:
#  - SIGTERM with the guest's rings running: the rings drain, the front-end is dropped, invard
#    exits 0 within 10 s (invar_stop);
#  - the data the guest wrote before is on the medium (read back over iSCSI after the restart);
#  - what QEMU 7.2 does: it stays alive but never reconnects its vhost-user-scsi chardev (it has
#    no reconnect support for vhost-user-scsi; with -chardev ...,reconnect=N it does not start at
#    all, see docs/design/vhost-user-scsi.md), so the guest's disk hangs; this test asserts that
#    behaviour, so a QEMU that changes it is noticed;
#  - the restarted invard serves a new front-end on the same socket at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; cleanup' EXIT
HOSTILE=$PWD/$BUILD/tests/tools/vhost-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE is not built"
SOCK=$TMP/vhost.sock
args=(--target "$TEST_IQN" --lun "file:$TMP/disk0.img,size=32M" --vhost-user "$SOCK,target=$TEST_IQN")
invar_start "${args[@]}"
vm_start g --memfd --qemu -chardev --qemu "socket,id=vu0,path=$SOCK" \
	--qemu -device --qemu "vhost-user-scsi-pci,chardev=vu0,num_queues=1"
d=$(vm_exec g 'for i in $(seq 1 100); do [ -e /sys/class/scsi_disk/0:0:0:0 ] && break; sleep 0.2; done;
	      ls /sys/class/scsi_disk/0:0:0:0/device/block') || fail "no disk: $d"
vm_exec g "head -c 4096 /dev/zero | tr '\\000' v | dd of=/dev/$d bs=4096 count=1 oflag=direct 2>/dev/null" ||
	fail "guest write"
echo "  guest wrote 4 KiB of 'v' to LBA 0 of /dev/$d"

invar_stop	# SIGTERM with the rings running: exit 0 within 10 s
grep -q "front-end gone (shutting down)" "$TMP/invard.log" || fail "the front-end was not dropped at shutdown"
vm_alive g || fail "QEMU died when invard stopped"
echo "  SIGTERM: rings drained, front-end dropped, invard exited 0; QEMU still runs"

invar_start "${args[@]}"
r=$("$ISCSI_CMD" -n 4096 "$URL/$TEST_IQN/0" 28000000000000000800) || fail "iSCSI READ: $r"
[ "$(echo "$r" | awk '$1 == "data" { print $2 }')" = "$(printf 'v%.0s' $(seq 1 4096) | od -An -v -tx1 | tr -d ' \n')" ] ||
	fail "the guest's write is not on the medium after the restart"
echo "  after the restart the guest's write reads back over iSCSI"
sleep 5
vm_alive g || fail "QEMU died after invard restarted"
if [ "$(grep -c "front-end connected" "$TMP/invard.log")" -gt 1 ]; then
	echo "  QEMU reconnected by itself (newer than 7.2?)"
else
	echo "  QEMU 7.2 stays alive and does not reconnect (no vhost-user-scsi reconnect support)"
fi
v=$("$HOSTILE" "$SOCK" inquiry) || fail "a new front-end on the restarted invard is not served: $v"
echo "$v" | grep -q INVAR || fail "INQUIRY: $v"
echo "  a new front-end on the same socket is served at once"
vm_kill g
invar_stop
