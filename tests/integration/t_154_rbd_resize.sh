#!/usr/bin/env bash
# An RBD image resized under a running LU (`rbd resize`): the backstore's header watch
# (rbd_update_watch) notices the new size, takes it as the backstore's size and logs it, for a
# grow and for a shrink. (The LU's capacity and CAPACITY DATA HAS CHANGED follow once the core's
# capacity entry point is wired to it: docs/design/rbd.md.) I/O goes on across both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 32M rbd/grow || fail "rbd create failed"
invar_start --target "$TEST_IQN" --lun "rbd:rbd/grow,conf=$CEPH_CONF"
LUN="$URL/$TEST_IQN/0"
wait_log() { # PATTERN: within 30 s
	for _ in $(seq 1 300); do
		grep -qF "$1" "$TMP/invard.log" && return 0
		sleep 0.1
	done
	return 1
}
s=$(date +%s%3N)
ceph_rbd resize --size 64M rbd/grow >/dev/null 2>&1 || fail "rbd resize (grow) failed"
wait_log "rbd rbd/grow: image resized from 33554432 to 67108864 bytes" ||
	fail "no resize seen after growing the image"
echo "  grow 32 MiB -> 64 MiB seen by the watch $(($(date +%s%3N) - s)) ms after rbd resize began"
"$ISCSI_CMD" -n 512 "$LUN" 28000000000000000100 | grep -qE '^status +0x00' ||
	fail "READ after the grow failed"
s=$(date +%s%3N)
ceph_rbd resize --allow-shrink --size 16M rbd/grow >/dev/null 2>&1 || fail "rbd resize (shrink) failed"
wait_log "rbd rbd/grow: image resized from 67108864 to 16777216 bytes" ||
	fail "no resize seen after shrinking the image"
echo "  shrink 64 MiB -> 16 MiB seen by the watch $(($(date +%s%3N) - s)) ms after rbd resize began"
"$ISCSI_CMD" -n 512 "$LUN" 28000000000000000100 | grep -qE '^status +0x00' ||
	fail "READ after the shrink failed"
# Past the new end (LBA 40000 of a 16 MiB image): refused, not sent to the cluster.
out=$("$ISCSI_CMD" -n 512 "$LUN" 280000009c4000000100)
echo "$out" | grep -qE '^status +0x00' && fail "READ past the shrunk image succeeded"
echo "  READ past the shrunk end refused: $(echo "$out" | grep -E '^key' | tr -s ' ')"
invar_stop
