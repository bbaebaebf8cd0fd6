#!/usr/bin/env bash
# virtio-scsi's event queue through vhost-user-scsi (docs/design/vhost-user-scsi.md), with a
# QEMU guest whose Linux virtio_scsi driver acts on the events by itself (nothing in the guest
# asks for a rescan):
#  - `lun add` on the host: TRANSPORT_RESET/RESCAN, a new /dev/sdX appears in the guest;
#  - `lun resize` of that LUN: PARAM_CHANGE 2A/09, the guest's /sys/block/sdX/size grows;
#  - `lun delete`: TRANSPORT_RESET/REMOVED, the disk goes away in the guest;
#  - the LUN added back while the controller is connected appears again (buffers reposted);
#  - the front-end is a session in `invarctl session list` and `stats`, with its I/O counted;
#  - PREEMPT AND ABORT from an iSCSI initiator against the guest's registration reaches the
#    front-end (routed to its nexus), and the guest's writes are then refused;
#  - `target delete` refuses while the front-end is connected, and with --force drops it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD is not built"
trap 'vm_cleanup; cleanup' EXIT
SOCK=$TMP/vhost.sock
invar_start --target "$TEST_IQN" --lun "ram:16M" --vhost-user "$SOCK,target=$TEST_IQN"
vm_start g --memfd --qemu -chardev --qemu "socket,id=vu0,path=$SOCK" \
	--qemu -device --qemu "vhost-user-scsi-pci,chardev=vu0,num_queues=1"
g() { vm_exec g "$@"; }
# wait_guest COND WHAT: COND (a guest shell test) becomes true within 60 s, by itself.
wait_guest() {
	g -t 100 "for i in \$(seq 1 300); do $1 && exit 0; sleep 0.2; done; exit 1" ||
		{ vm_dump g; fail "$2"; }
}
g 'for i in $(seq 1 100); do [ -e /sys/class/scsi_disk/0:0:0:0 ] && break; sleep 0.2; done;
   [ -e /sys/class/scsi_disk/0:0:0:0 ]' || fail "the guest does not see LUN 0"
[ -z "$(g 'ls /sys/class/scsi_disk | grep -v "^0:0:0:0$"')" ] || fail "more than LUN 0 at start"

t0=$SECONDS
"${CTL[@]}" lun add "$TEST_IQN" "file:$TMP/disk1.img,size=8M" --lun 1 >/dev/null || fail "lun add"
wait_guest '[ -e /sys/class/scsi_disk/0:0:0:1/device/block ]' \
	"LUN 1 added on the host did not appear in the guest"
d1=$(g 'ls /sys/class/scsi_disk/0:0:0:1/device/block') || fail "no block device for LUN 1"
wait_guest "[ \"\$(cat /sys/block/$d1/size)\" = 16384 ]" "LUN 1's size in the guest is not 8 MiB"
grep -q "event TRANSPORT_RESET RESCAN on LUN 1" "$TMP/invard.log" || fail "no RESCAN event in the log"
echo "  lun add: /dev/$d1 (LUN 1, 8 MiB) appeared in the guest by itself in $((SECONDS - t0)) s"
g "dd if=/dev/$d1 of=/dev/null bs=64k count=4 iflag=direct 2>/dev/null" || fail "read of /dev/$d1"

t0=$SECONDS
out=$("${CTL[@]}" lun resize "$TEST_IQN" 1 16M) || fail "lun resize: $out"
wait_guest "[ \"\$(cat /sys/block/$d1/size)\" = 32768 ]" \
	"the guest's /sys/block/$d1/size did not grow to 16 MiB by itself ($(g "cat /sys/block/$d1/size"))"
grep -q "event PARAM_CHANGE 2A/09 on LUN 1" "$TMP/invard.log" || fail "no PARAM_CHANGE event in the log"
echo "  lun resize 8M -> 16M: the guest's /sys/block/$d1/size went 16384 -> 32768 by itself in $((SECONDS - t0)) s"

t0=$SECONDS
"${CTL[@]}" lun delete "$TEST_IQN" 1 >/dev/null || fail "lun delete"
wait_guest '[ ! -e /sys/class/scsi_disk/0:0:0:1 ]' "LUN 1 deleted on the host is still in the guest"
grep -q "event TRANSPORT_RESET REMOVED on LUN 1" "$TMP/invard.log" || fail "no REMOVED event in the log"
g '[ -e /sys/class/scsi_disk/0:0:0:0 ]' || fail "LUN 0 went too"
echo "  lun delete: LUN 1 left the guest by itself in $((SECONDS - t0)) s; LUN 0 stays"

"${CTL[@]}" lun add "$TEST_IQN" ram:4M --lun 2 >/dev/null || fail "lun add 2"
wait_guest '[ -e /sys/class/scsi_disk/0:0:0:2/device/block ]' "LUN 2 did not appear in the guest"
echo "  lun add again (LUN 2, 4 MiB): appeared in the guest"
grep -q "EVENTS_MISSED\|dropped" "$TMP/invard.log" && fail "events were dropped: $(grep -m3 dropped "$TMP/invard.log")"

# The controller as a session (fabric vhost), with the I/O the guest did (statistics summed
# over its request queues).
sl=$("${CTL[@]}" session list) || fail "session list: $sl"
echo "$sl" | grep -q "vhost-user:$SOCK" || fail "session list does not show the front-end: $sl"
js=$("${CTL[@]}" --json session list) || fail "session list --json"
[ "$(echo "$js" | jq -r '.sessions[] | select(.fabric == "vhost") | .initiator')" = "vhost-user:$SOCK" ] ||
	fail "no vhost session in: $js"
st=$("${CTL[@]}" --json stats "$TEST_IQN") || fail "stats: $st"
reads=$(echo "$st" | jq -r '.sessions[] | select(.fabric == "vhost") |
	"\(.commands.read) \(.bytes_read)"') || reads=
[ -n "$reads" ] && [ "${reads%% *}" -gt 0 ] || fail "no read statistics for the vhost session: $st"
echo "  session list: the front-end is a vhost session; stats: ${reads%% *} reads, ${reads##* } bytes read"

# PREEMPT AND ABORT from iSCSI against the guest's key: the fabric is asked to abort the
# guest nexus's tasks on the LU (SPC-4 5.12.11.5), then the reservation is iSCSI's.
d0=$(g 'ls /sys/class/scsi_disk/0:0:0:0/device/block') || fail "no block device for LUN 0"
# (the LUN changes above left unit attentions for LUN 0: TEST UNIT READY takes them)
g "sg_turs /dev/$d0 >/dev/null 2>&1; sg_turs /dev/$d0 >/dev/null 2>&1;
   sg_persist --out --register --param-sark=0xabc /dev/$d0 >/dev/null &&
   sg_persist --out --reserve --param-rk=0xabc --prout-type=1 /dev/$d0 >/dev/null" ||
	fail "sg_persist in the guest"
# One iSCSI session (one I_T nexus): REGISTER 0xdef, then PREEMPT AND ABORT 0xabc (type 1).
out=$("$ISCSI_CMD" "$URL/$TEST_IQN/0" \
	"5f000000000000001800=$(printf '%016x%016x%016x' 0 $((0xdef)) 0)" \
	"5f050100000000001800=$(printf '%016x%016x%016x' $((0xdef)) $((0xabc)) 0)" 2>&1) ||
	fail "iSCSI REGISTER, PREEMPT AND ABORT: $out"
[ "$(echo "$out" | grep -c '^status 0x00')" = 2 ] || fail "iSCSI REGISTER, PREEMPT AND ABORT: $out"
for _ in $(seq 1 50); do
	grep -q "PREEMPT AND ABORT on LU .* reaches this front-end" "$TMP/invard.log" && break
	sleep 0.1
done
grep -q "PREEMPT AND ABORT on LU .* reaches this front-end" "$TMP/invard.log" ||
	fail "PREEMPT AND ABORT did not reach the vhost front-end"
w=$(g "dd if=/dev/zero of=/dev/$d0 bs=4k count=1 oflag=direct 2>&1") &&
	fail "the guest could still write after being preempted: $w"
g "dd if=/dev/$d0 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null" ||
	fail "the guest cannot read under WRITE EXCLUSIVE"
echo "  PREEMPT AND ABORT from iSCSI reached the guest's nexus; its writes are refused, reads go on"

# target delete: refused while the guest's disk is served, dropped with --force.
out=$("${CTL[@]}" target delete "$TEST_IQN" 2>&1) && fail "target delete with a front-end connected: $out"
echo "$out" | grep -q "1 session" || fail "target delete said: $out"
"${CTL[@]}" target delete "$TEST_IQN" --force >/dev/null || fail "target delete --force"
for _ in $(seq 1 100); do
	grep -q "front-end gone (target deleted)" "$TMP/invard.log" && break
	sleep 0.1
done
grep -q "front-end gone (target deleted)" "$TMP/invard.log" || fail "the front-end was not dropped"
[ -z "$("${CTL[@]}" session list | grep vhost-user)" ] || fail "the front-end is still a session"
echo "  target delete: refused with the front-end connected; --force dropped it"

vm_kill g	# its disk is gone: QEMU 7.2 does not reconnect (t_152)
invar_stop
