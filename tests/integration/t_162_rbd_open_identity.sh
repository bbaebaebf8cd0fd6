#!/usr/bin/env bash
# The rbd backstore's start-up errors and identity, against a one-node Ceph (tests/ceph/lib.sh):
#  - invard --lun on a missing image, or in a missing pool, exits with an error naming the pool
#    and the image; a bad spec is refused before any connection;
#  - `lun add` of a missing image returns the same error to invarctl and leaves the daemon
#    serving; against an unreachable cluster it fails within about timeout=S; `lun add` of an
#    existing image then serves it;
#  - two daemons serving one image present the same device: VPD 0x80 serial and VPD 0x83 NAA
#    equal (derived from the cluster fsid, pool id and image id), though their targets differ.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
trap 'peer_stop_all; ceph_stop; cleanup' EXIT
ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 16M rbd/one || fail "rbd create failed"

# Refused at start, naming what is missing.
start_fails() {
	local spec=$1 want=$2 out
	out=$(timeout 60 "$INVARD" --listen "127.0.0.1:$(free_port)" --data-dir "$TMP/fail" \
		--target "$TEST_IQN" --lun "$spec" 2>&1)
	[ $? -ne 0 ] || fail "invard started with --lun $spec"
	echo "$out" | grep -qF "$want" || fail "--lun $spec: error lacks '$want': $out"
	echo "  --lun ${spec%%,*}: $(echo "$out" | grep -F "$want" | head -n 1 | sed 's/.*invard error: //')"
}
mkdir -p "$TMP/fail"
start_fails "rbd:rbd/nosuch,conf=$CEPH_CONF" "cannot open image 'nosuch' in pool 'rbd'"
start_fails "rbd:nopool/one,conf=$CEPH_CONF" "pool 'nopool': no such pool"
start_fails "rbd:rbd/one,conf=$TMP/none.conf" "cannot read $TMP/none.conf"
start_fails "rbd:rbd,conf=$CEPH_CONF" "expected POOL/IMAGE"
start_fails "rbd:rbd/one,conf=$CEPH_CONF,size=16M" "takes its size from the image"
start_fails "rbd:rbd/one,conf=$CEPH_CONF,timeout=0" "timeout must be 1 to"
start_fails "file:$TMP/x.img,size=1M,conf=$CEPH_CONF" "only the rbd backstore takes it"

# lun add: the same error through the control plane; the daemon carries on.
invar_start --target "$TEST_IQN" --lun ram:4M
out=$("${CTL[@]}" lun add "$TEST_IQN" "rbd:rbd/nosuch,conf=$CEPH_CONF" --lun 1 2>&1) &&
	fail "lun add of a missing image succeeded: $out"
echo "$out" | grep -qF "cannot open image 'nosuch' in pool 'rbd'" ||
	fail "lun add error does not name the pool and image: $out"
echo "  lun add rbd/nosuch: $out"
# An unreachable cluster (a monitor address nobody listens on): refused within about timeout=S.
dead=$(free_port) || fail "no free port"
sed "s/^mon host = .*/mon host = v2:127.0.0.1:$dead/" "$CEPH_CONF" >"$TMP/dead.conf"
s=$(date +%s%3N)
out=$("${CTL[@]}" lun add "$TEST_IQN" "rbd:rbd/one,conf=$TMP/dead.conf,timeout=3" --lun 1 2>&1) &&
	fail "lun add against an unreachable cluster succeeded: $out"
ms=$(($(date +%s%3N) - s))
echo "$out" | grep -qF "rbd rbd/one: cannot connect to the cluster" ||
	fail "lun add against an unreachable cluster: $out"
[ "$ms" -lt 15000 ] || fail "lun add against an unreachable cluster took $ms ms (timeout=3)"
echo "  lun add, cluster unreachable: refused after $ms ms: $out"
"${CTL[@]}" lun add "$TEST_IQN" "rbd:rbd/one,conf=$CEPH_CONF,timeout=15" --lun 1 >/dev/null ||
	fail "lun add of rbd/one failed"
"${CTL[@]}" lun list "$TEST_IQN" | grep -qF "rbd/one,conf=$CEPH_CONF,timeout=15" ||
	fail "lun list does not show the rbd LUN: $("${CTL[@]}" lun list "$TEST_IQN")"
# The saved configuration brings the rbd LUN back, options and all.
cp "$TMP/data/invar.json" "$TMP/saved.json"
grep -qF "rbd/one,conf=$CEPH_CONF,timeout=15" "$TMP/saved.json" || fail "saved config lacks the rbd LUN"
invar_stop
invar_start_config "$TMP/saved.json"
"${CTL[@]}" lun list "$TEST_IQN" | grep -qF "rbd/one,conf=$CEPH_CONF,timeout=15" ||
	fail "the rbd LUN did not come back from the saved config"
echo "  lun add rbd/one; restarted from the saved config, LUN 1 is rbd/one again"

# One identity on two daemons: a second daemon with another target name serves the same image.
peer_start B --target iqn.2026-12.org.invar:other --lun "rbd:rbd/one,conf=$CEPH_CONF"
vpd() { # URL PAGE -> the page's data (hex)
	"$ISCSI_CMD" -n 255 "$1" "1201${2}00ff00" | awk '/^data/{print $2}'
}
a80=$(vpd "$URL/$TEST_IQN/1" 80)
b80=$(vpd "iscsi://127.0.0.1:$B_PORT/iqn.2026-12.org.invar:other/0" 80)
a83=$(vpd "$URL/$TEST_IQN/1" 83)
b83=$(vpd "iscsi://127.0.0.1:$B_PORT/iqn.2026-12.org.invar:other/0" 83)
[ -n "$a80" ] && [ "$a80" = "$b80" ] || fail "serials differ: '$a80' vs '$b80'"
# The NAA designator: the first designator of VPD 0x83 (after the 4-byte header, 4-byte
# designator header, 8 bytes).
[ -n "$a83" ] && [ "${a83:8:24}" = "${b83:8:24}" ] || fail "NAA differs: '$a83' vs '$b83'"
# And not the ram LUN's.
r80=$(vpd "$URL/$TEST_IQN/0" 80)
[ "$r80" != "$a80" ] || fail "the ram LUN has the rbd LUN's serial"
echo "  two daemons, one image: serial $(echo "$a80" | cut -c9- | xxd -r -p), NAA ${a83:16:16}"
invar_stop
