#!/usr/bin/env bash
# An RBD image resized under a running LU (`rbd resize`, outside invard): the backstore's header
# watch (rbd_update_watch) notices it, the LU's capacity follows on the main loop
# (lu_set_capacity, docs/design/resize.md): READ CAPACITY(16) gives the new size, a session
# that was logged in gets CAPACITY DATA HAS CHANGED once, and verified I/O goes on across it;
# after a shrink, I/O past the new end is LBA OUT OF RANGE and never reaches the cluster; the
# saved config names the new size.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
need jq
VERIFY=${VERIFY:-$PWD/$BUILD/tests/tools/iscsi-verify}
[ -x "$VERIFY" ] || fail "$VERIFY not built (make integration builds tests/tools)"
VPID=
trap '[ -z "$VPID" ] || kill "$VPID" 2>/dev/null; cleanup' EXIT
ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 32M rbd/grow || fail "rbd create failed"
invar_start --target "$TEST_IQN" --lun "rbd:rbd/grow,conf=$CEPH_CONF"
LUN="$URL/$TEST_IQN/0"
RC16=9e100000000000000000000000200000
rc16_blocks() { # the number of 512-byte blocks READ CAPACITY(16) reports
	local hex
	hex=$("$ISCSI_CMD" -n 32 "$LUN" "$RC16" | sed -n 's/^data *//p')
	[ -n "$hex" ] || return 1
	echo $((16#${hex:0:16} + 1))
}
wait_blocks() { # N: READ CAPACITY(16) reports N blocks within 30 s
	for _ in $(seq 1 300); do
		[ "$(rc16_blocks)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# verify I/O over the first 8 MiB on its own session (its own I_T nexus) across a change.
verify_run() { # NAME SECONDS
	"$VERIFY" -i "iqn.2026-12.org.invar:verify-$1" "$LUN" "$2" 0 16384 >"$TMP/verify-$1" 2>&1 &
	VPID=$!
	sleep 2
}
verify_check() { # NAME: no error and exactly one UA (CAPACITY DATA HAS CHANGED)
	wait "$VPID" || fail "verify $1 exited with $?: $(cat "$TMP/verify-$1")"
	VPID=
	line=$(grep '^ios' "$TMP/verify-$1") || fail "verify $1: $(cat "$TMP/verify-$1")"
	echo "$line" | grep -q 'uas 1 errors 0' || fail "verify $1: $line (wanted one UA, no error)"
	echo "    verify $1: $line"
}
[ "$(rc16_blocks)" = 65536 ] || fail "READ CAPACITY(16) before: $(rc16_blocks), wanted 65536"

verify_run grow 8
s=$(date +%s%3N)
ceph_rbd resize --size 64M rbd/grow >/dev/null 2>&1 || fail "rbd resize (grow) failed"
wait_blocks 131072 || fail "READ CAPACITY(16) after the grow: $(rc16_blocks), wanted 131072"
echo "  grow 32 MiB -> 64 MiB: READ CAPACITY(16) follows $(($(date +%s%3N) - s)) ms after rbd resize began"
grep -qF "rbd rbd/grow: image resized from 33554432 to 67108864 bytes" "$TMP/invard.log" ||
	fail "the header watch did not log the grow"
verify_check grow
"$ISCSI_CMD" -n 512 "$LUN" 28000001000000000100 | grep -qE '^status +0x00' ||
	fail "READ past the old end after the grow failed"
size=$(jq '.targets[0].luns[0].size' "$TMP/data/invar.json")
[ "$size" = 67108864 ] || fail "saved config: size $size after the grow, wanted 67108864"

verify_run shrink 8
s=$(date +%s%3N)
ceph_rbd resize --allow-shrink --size 16M rbd/grow >/dev/null 2>&1 || fail "rbd resize (shrink) failed"
wait_blocks 32768 || fail "READ CAPACITY(16) after the shrink: $(rc16_blocks), wanted 32768"
echo "  shrink 64 MiB -> 16 MiB: READ CAPACITY(16) follows $(($(date +%s%3N) - s)) ms after rbd resize began"
verify_check shrink
"$ISCSI_CMD" -n 512 "$LUN" 28000000000000000100 | grep -qE '^status +0x00' ||
	fail "READ after the shrink failed"
# Past the new end (LBA 40000 of a 16 MiB image): LBA OUT OF RANGE, not sent to the cluster.
out=$("$ISCSI_CMD" -n 512 "$LUN" 280000009c4000000100)
echo "$out" | grep -qE '^key +0x05 .*asc +0x21' ||
	fail "READ past the shrunk end: wanted ILLEGAL REQUEST / LBA OUT OF RANGE: $out"
echo "  READ past the shrunk end: LBA OUT OF RANGE"
invar_stop
