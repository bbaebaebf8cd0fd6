#!/usr/bin/env bash
# Persistent reservations from the Linux kernel initiator (a QEMU guest, tests/vm): two sessions
# from one guest (two ifaces, two initiator names, so two I_T nexuses and two sd devices of the
# same LU), driven with sg_persist and sg_raw, with the conflicts SPC-4 demands (5.13, table
# 65 for Write Exclusive); a libiscsi session on the host sees the same keys and reservation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; cleanup' EXIT
PR_TOOL=${PR_TOOL:-$PWD/$BUILD/tests/tools/pr_tool}
[ -x "$PR_TOOL" ] || fail "$PR_TOOL not built (make integration builds it)"
IA=iqn.2026-12.org.invar:guest-a
IB=iqn.2026-12.org.invar:guest-b
IH=iqn.2026-12.org.invar:host
invar_start --target "$TEST_IQN" --lun "file:$TMP/l0.img,size=16M"
HP=10.0.2.2:$PORT
vm_start g
g() { vm_exec g "$@"; }
pr() { g "sg_persist $*"; }
# write10 DISK: one WRITE(10) of LBA 8 through sg_raw (the SCSI status, not an errno).
status() { sed -n 's/^SCSI Status: \(.*[^ ]\) *$/\1/p' | head -n 1; }
write10() { g "sg_raw -s 512 -i /host/blk /dev/$1 2a 00 00 00 00 08 00 00 01 00 2>&1" | status; }
read10() { g "sg_raw -r 512 /dev/$1 28 00 00 00 00 08 00 00 01 00 2>&1" | status; }
head -c 512 /dev/urandom >"$TMP/vm-g/share/blk"

# The second iface's node record is made after the first login (a login without -I takes
# every iface the target has a record for).
out=$(g "iscsi_start $IA && iscsi_node $TEST_IQN $HP &&
   iscsiadm -m node -T $TEST_IQN -p $HP --login >/dev/null && iscsi_iface b $IB &&
   iscsiadm -m node -o new -T $TEST_IQN -p $HP -I b >/dev/null &&
   iscsiadm -m node -T $TEST_IQN -p $HP -I b --login >/dev/null && iscsi_wait_disk $TEST_IQN 2" 2>&1) ||
	fail "two sessions: $out"
da=$(g "iscsi_disk_of $TEST_IQN $IA") && db=$(g "iscsi_disk_of $TEST_IQN $IB") || fail "no disks"
[ "$da" != "$db" ] || fail "one disk for two sessions"
echo "  $IA: /dev/$da, $IB: /dev/$db (same LU) [${SECONDS}s]"
[ "$(write10 "$da")" = Good ] && [ "$(write10 "$db")" = Good ] || fail "writes before any reservation"

pr "--out --register --param-sark=0x1111 /dev/$da" >/dev/null || fail "register A"
pr "--out --register --param-sark=0x2222 /dev/$db" >/dev/null || fail "register B"
keys=$(pr "--in --read-keys /dev/$db") || fail "read keys: $keys"
echo "$keys" | grep -q "0x1111" && echo "$keys" | grep -q "0x2222" || fail "read keys: $keys"
"$PR_TOOL" "$URL/$TEST_IQN/0" "$IH" read-keys | grep -q "key 0x0000000000001111" || fail "the host's session does not see A's key"
# A takes Write Exclusive (type 1).
pr "--out --reserve --param-rk=0x1111 --prout-type=1 /dev/$da" >/dev/null || fail "reserve A"
resv=$(pr "--in --read-reservation /dev/$db") || fail "read reservation: $resv"
echo "$resv" | grep -q "Key=0x1111" && echo "$resv" | grep -qi "write exclusive" || fail "read reservation: $resv"
[ "$("$PR_TOOL" "$URL/$TEST_IQN/0" "$IH" read-resv)" = "key 0x0000000000001111 type 1" ] || fail "the host does not see A's reservation"
echo "  registered 0x1111 (A) and 0x2222 (B); A holds Write Exclusive, seen by B and by a host session [${SECONDS}s]"
[ "$(write10 "$da")" = Good ] || fail "the holder's write failed"
[ "$(write10 "$db")" = "Reservation Conflict" ] || fail "B's write under A's WE: $(write10 "$db")"
[ "$(read10 "$db")" = Good ] || fail "B's read under A's WE: $(read10 "$db")"
"$PR_TOOL" "$URL/$TEST_IQN/0" "$IH" write | grep -q "RESERVATION CONFLICT" || fail "the host's write was not refused"
# The kernel's own block I/O from B fails: RESERVATION CONFLICT is BLK_STS_NEXUS, which the
# block layer returns as EBADE ("Invalid exchange"), not EIO.
out=$(g "dd if=/host/blk of=/dev/$db bs=512 seek=16 count=1 oflag=direct status=none" 2>&1) && fail "dd from B succeeded"
echo "$out" | grep -q "Invalid exchange" || fail "dd from B: $out"
g "dmesg | grep -qi 'reservation conflict'" || fail "the kernel did not log the reservation conflict"
# A second RESERVE from B conflicts; B preempts A: B holds it, A's key is gone.
pr "--out --reserve --param-rk=0x2222 --prout-type=1 /dev/$db" >/dev/null 2>&1 && fail "B reserved over A"
pr "--out --preempt --param-rk=0x2222 --param-sark=0x1111 --prout-type=1 /dev/$db" >/dev/null || fail "preempt"
keys=$(pr "--in --read-keys /dev/$da")
echo "$keys" | grep -q "0x1111" && fail "A's key survived the preemption: $keys"
resv=$(pr "--in --read-reservation /dev/$da")
echo "$resv" | grep -q "Key=0x2222" || fail "after preempt: $resv"
[ "$(write10 "$db")" = Good ] || fail "B's write after preempting"
[ "$(write10 "$da")" = "Reservation Conflict" ] || fail "A's write after being preempted: $(write10 "$da")"
pr "--out --register --param-sark=0x1111 /dev/$da" >/dev/null || fail "A registers again"
[ "$(write10 "$da")" = "Reservation Conflict" ] || fail "a registrant's write under WE (not WE-RO) succeeded"
echo "  WE: B's WRITE and the host's conflict, reads pass, dd from B fails with EBADE; B preempts A: roles swap [${SECONDS}s]"
# Release and clear: everyone writes again.
pr "--out --release --param-rk=0x2222 --prout-type=1 /dev/$db" >/dev/null || fail "release"
[ "$(write10 "$da")" = Good ] || fail "A's write after release"
pr "--out --clear --param-rk=0x2222 /dev/$db" >/dev/null || fail "clear"
keys=$(pr "--in --read-keys /dev/$da")
echo "$keys" | grep -q "0x" && fail "keys after clear: $keys"
echo "  release and clear: no keys, A writes again [${SECONDS}s]"
g "iscsiadm -m node -T $TEST_IQN -p $HP --logout >/dev/null" ||
	fail "logout"
vm_stop g
invar_stop
