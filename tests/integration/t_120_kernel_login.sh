#!/usr/bin/env bash
# The Linux kernel initiator (open-iscsi: iscsiadm + iscsid, iscsi_tcp) in a QEMU guest
# (tests/vm), against invard on the host's loopback, reached from the guest as 10.0.2.2:
#  - SendTargets discovery lists the target (with invard's own portal address, 127.0.0.1,
#    which the guest cannot reach: the node record is made by hand with 10.0.2.2);
#  - login, the sd disk appears, data written by the guest is in the host file and data put in
#    the host file is read by the guest (O_DIRECT both ways), logout removes the disk;
#  - an initiator outside the ACL is refused and does not see the target in discovery;
#  - CHAP one-way (wrong or missing secret refused), mutual (a wrong target secret is refused by
#    the initiator), CHAP on discovery;
#  - HeaderDigest and DataDigest CRC32C negotiated, data round-trips over them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; cleanup' EXIT
GUEST=iqn.2026-12.org.invar:guest
OTHER=iqn.2026-12.org.invar:other
IMG=$TMP/l0.img
invar_start --target "$TEST_IQN" --lun "file:$IMG,size=32M"
HP=10.0.2.2:$PORT
vm_start g
SHARE=$TMP/vm-g/share
g() { vm_exec g "$@"; }
node() { echo "iscsiadm -m node -T $TEST_IQN -p $HP $*"; }

# roundtrip DISK TAG: 1 MiB from the guest lands in the host file at 1 MiB, 1 MiB put in the
# host file at 4 MiB is what the guest reads (both O_DIRECT in the guest; invard's file
# backstore goes through the host's page cache, so the host's own writes are seen).
roundtrip() {
	head -c 1M /dev/urandom >"$SHARE/a.bin"
	head -c 1M /dev/urandom >"$SHARE/b.bin"
	g "dd if=/host/a.bin of=/dev/$1 bs=256k seek=4 oflag=direct conv=fsync status=none" ||
		fail "$2: guest write failed"
	cmp -n 1048576 "$SHARE/a.bin" "$IMG" 0 1048576 || fail "$2: the guest's write is not in the host file"
	dd if="$SHARE/b.bin" of="$IMG" bs=1M seek=4 conv=notrunc,fsync status=none
	g "dd if=/dev/$1 bs=256k skip=16 count=4 iflag=direct status=none | cmp - /host/b.bin" ||
		fail "$2: the guest does not read what the host file holds"
}
login() { g "$(node --login)" >"$TMP/login.out" 2>&1; }
logout() { g "$(node --logout)" >/dev/null || fail "logout: $(cat "$TMP/login.out")"; }
tsih_count() { grep -c "normal session tsih .*initiator '$GUEST'" "$TMP/invard.log"; }

# Discovery: the target is listed, with invard's own portal.
out=$(g "iscsi_start $GUEST && iscsiadm -m discovery -t sendtargets -p $HP") || fail "discovery: $out"
echo "$out" | grep -qx "127.0.0.1:$PORT,1 $TEST_IQN" || fail "discovery: $out"
grep -q "discovery session tsih .*initiator '$GUEST'" "$TMP/invard.log" || fail "no discovery session in the log"
g "iscsiadm -m node -o delete && iscsi_node $TEST_IQN $HP" >/dev/null || fail "node record"
echo "  discovery: '$out' (the portal the guest uses is $HP) [${SECONDS}s]"

# Login, disk, data, logout.
t0=$(date +%s.%N)
login || fail "login: $(cat "$TMP/login.out")"
disk=$(g "iscsi_wait_disk $TEST_IQN") || fail "no disk after login: $disk"
echo "  login: /dev/$disk after $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s [${SECONDS}s]"
[ "$(g "cat /sys/block/$disk/size")" = 65536 ] || fail "/dev/$disk is not 32 MiB"
roundtrip "$disk" plain
logout
g "iscsiadm -m session" >/dev/null 2>&1 && fail "a session is left after logout"
g "[ ! -e /sys/block/$disk ]" || fail "/dev/$disk is still there after logout"
for _ in $(seq 1 50); do grep -q "session tsih .* ended" "$TMP/invard.log" && break; sleep 0.1; done
grep -q "logout" "$TMP/invard.log" || grep -q "session tsih 2 ended" "$TMP/invard.log" ||
	fail "invard did not see the logout"
echo "  data round trip (1 MiB each way, O_DIRECT), logout: disk gone [${SECONDS}s]"

# ACL: only $GUEST. A second iface carries another initiator name through the same iscsid.
"${CTL[@]}" acl add "$TEST_IQN" "$GUEST" >/dev/null || fail "acl add"
g "iscsiadm -m iface -I other -o new >/dev/null &&
   iscsiadm -m iface -I other -o update -n iface.initiatorname -v $OTHER >/dev/null &&
   iscsiadm -m node -o new -T $TEST_IQN -p $HP -I other >/dev/null" || fail "iface other"
g "iscsiadm -m node -T $TEST_IQN -p $HP -I other --login" >"$TMP/login.out" 2>&1 &&
	fail "an initiator outside the ACL logged in"
grep -q "authorization failure" "$TMP/login.out" || fail "outside the ACL: $(cat "$TMP/login.out")"
grep -q "login of '$OTHER' rejected (0x0202)" "$TMP/invard.log" || fail "invard did not log the refusal"
out=$(g "iscsiadm -m discovery -t sendtargets -p $HP -I other" 2>&1)
echo "$out" | grep -q "$TEST_IQN" && fail "discovery lists the target to an initiator outside the ACL: $out"
# Discovery without -I goes through every iface: leave only the default one.
g "iscsiadm -m node -o delete -I other; iscsiadm -m iface -I other -o delete; iscsiadm -m node -o delete;
   iscsi_node $TEST_IQN $HP" >/dev/null ||
	fail "node record after discovery"
login || fail "the initiator in the ACL was refused: $(cat "$TMP/login.out")"
logout
echo "  ACL: $OTHER refused (authorization failure) and not listed by discovery; $GUEST logs in [${SECONDS}s]"

# CHAP, one-way.
"${CTL[@]}" chap set "$TEST_IQN" alice:alicesecret123 >/dev/null || fail "chap set"
login && fail "login without CHAP accepted"
g "iscsi_node $TEST_IQN $HP node.session.auth.authmethod=CHAP node.session.auth.username=alice \
   node.session.auth.password=wrongsecret12" >/dev/null || fail "node update"
login && fail "login with a wrong CHAP secret accepted"
grep -q "authorization failure" "$TMP/login.out" || fail "wrong secret: $(cat "$TMP/login.out")"
g "iscsi_node $TEST_IQN $HP node.session.auth.password=alicesecret123" >/dev/null || fail "node update"
# open-iscsi offers MD5 only unless told (node.session.auth.chap_algs); then its first choice.
for algs in MD5:MD5 SHA1:SHA-1 SHA256:SHA-256 SHA3-256:SHA3-256; do
	logged=${algs#*:} algs=${algs%:*}
	g "iscsi_node $TEST_IQN $HP node.session.auth.chap_algs=$algs" >/dev/null || fail "chap_algs $algs"
	login || fail "CHAP $algs login: $(cat "$TMP/login.out")"
	grep "CHAP (" "$TMP/invard.log" | tail -n 1 | grep -q "CHAP ($logged)" ||
		fail "CHAP $algs: $(grep "CHAP (" "$TMP/invard.log" | tail -n 1)"
	logout
done
g "iscsi_node $TEST_IQN $HP node.session.auth.chap_algs=SHA3-256,SHA256,SHA1,MD5" >/dev/null || fail "chap_algs"
echo "  CHAP: missing and wrong secrets refused, right one accepted with MD5, SHA1, SHA256 and SHA3-256 [${SECONDS}s]"

# Mutual CHAP: the target proves itself; a wrong expectation is refused by the initiator.
"${CTL[@]}" chap set "$TEST_IQN" tgt:targetsecret456 --mutual >/dev/null || fail "chap set --mutual"
g "iscsi_node $TEST_IQN $HP node.session.auth.username_in=tgt node.session.auth.password_in=targetsecret456" \
	>/dev/null || fail "node update"
login || fail "mutual CHAP login: $(cat "$TMP/login.out")"
grep "CHAP (" "$TMP/invard.log" | tail -n 1 | grep -q ", mutual" || fail "invard did not log a mutual CHAP"
disk=$(g "iscsi_wait_disk $TEST_IQN") || fail "no disk after mutual CHAP login"
roundtrip "$disk" "mutual CHAP"
logout
g "iscsi_node $TEST_IQN $HP node.session.auth.password_in=notthetargetsecret" >/dev/null || fail "node update"
login && fail "the initiator accepted a wrong target secret"
echo "  mutual CHAP: accepted with the target's secret, refused by the initiator with a wrong one: $(tail -n 1 "$TMP/login.out") [${SECONDS}s]"
g "iscsi_node $TEST_IQN $HP node.session.auth.password_in=targetsecret456" >/dev/null || fail "node update"

# CHAP on discovery.
"${CTL[@]}" chap set discovery disco:discosecret12 >/dev/null || fail "chap set discovery"
g "iscsiadm -m discovery -t sendtargets -p $HP" >"$TMP/disc.out" 2>&1 && fail "discovery without CHAP accepted"
g "iscsiadm -m discoverydb -t sendtargets -p $HP -o new >/dev/null &&
   iscsiadm -m discoverydb -t sendtargets -p $HP -o update -n discovery.sendtargets.auth.authmethod -v CHAP &&
   iscsiadm -m discoverydb -t sendtargets -p $HP -o update -n discovery.sendtargets.auth.username -v disco &&
   iscsiadm -m discoverydb -t sendtargets -p $HP -o update -n discovery.sendtargets.auth.password -v discosecret12" \
	>/dev/null || fail "discoverydb"
out=$(g "iscsiadm -m discoverydb -t sendtargets -p $HP --discover -o nonpersistent") || fail "discovery with CHAP: $out"
echo "$out" | grep -q "$TEST_IQN" || fail "discovery with CHAP: $out"
echo "  discovery CHAP: refused without, lists the target with [${SECONDS}s]"

# Digests: CRC32C on headers and data.
g "iscsi_node $TEST_IQN $HP node.conn[0].iscsi.HeaderDigest=CRC32C node.conn[0].iscsi.DataDigest=CRC32C" \
	>/dev/null || fail "node update"
login || fail "login with digests: $(cat "$TMP/login.out")"
grep "normal session tsih .*initiator '$GUEST'" "$TMP/invard.log" | tail -n 1 | grep -q "digests CRC32C/CRC32C" ||
	fail "digests not negotiated: $(grep "normal session" "$TMP/invard.log" | tail -n 1)"
g "iscsiadm -m session -P 2" | grep -q "DataDigest: CRC32C" || fail "the initiator does not report DataDigest CRC32C"
disk=$(g "iscsi_wait_disk $TEST_IQN") || fail "no disk with digests"
roundtrip "$disk" digests
g "dd if=/dev/urandom of=/tmp/big bs=1M count=4 status=none &&
   dd if=/tmp/big of=/dev/$disk bs=1M seek=8 oflag=direct status=none &&
   dd if=/dev/$disk bs=1M skip=8 count=4 iflag=direct status=none | cmp - /tmp/big" ||
	fail "4 MiB in 1 MiB I/Os with digests did not read back equal"
grep -q "digest error" "$TMP/invard.log" && fail "invard saw digest errors"
logout
echo "  digests: CRC32C/CRC32C negotiated, 1 MiB each way and 4 MiB in 1 MiB I/Os read back equal [${SECONDS}s]"
echo "  $(tsih_count) normal sessions of $GUEST in all [${SECONDS}s]"
vm_stop g
invar_stop
