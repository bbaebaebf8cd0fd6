#!/usr/bin/env bash
# A file LUN whose file system fills up: writes past the space must fail with an error the
# initiator sees (SPACE ALLOCATION FAILED), never GOOD; data written before stays readable;
# the daemon keeps serving.
. "$(dirname "$0")/lib.sh"
need qemu-io
mkdir -p "$TMP/small"
mount -t tmpfs -o size=2M invar-test "$TMP/small" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
trap 'umount "$TMP/small" 2>/dev/null; cleanup' EXIT
invar_start --target "$TEST_IQN" --lun "file:$TMP/small/d.img,size=64M"
LUN="$URL/$TEST_IQN/0"

# 1 MiB fits.
out=$(qemu-io -f raw -c 'write -P 0x5a 0 1M' "$LUN" 2>&1) || fail "1 MiB write failed: $out"
echo "$out" | grep -q 'wrote 1048576' || fail "unexpected qemu-io output: $out"
# 8 MiB further on does not: it must be reported as a failure.
out=$(qemu-io -f raw -c 'write -P 0xa5 8M 8M' "$LUN" 2>&1)
echo "write past the space -> $(echo "$out" | tail -n 1)"
echo "$out" | grep -q 'wrote 8388608' && fail "a write that could not be stored was acknowledged"
echo "$out" | grep -qiE 'error|failed' || fail "no error reported for the failed write: $out"
grep -qiE 'space|ENOSPC|No space' "$TMP/invard.log" || echo "(no ENOSPC line in the daemon log)"
# What was stored before is intact and the daemon still serves.
kill -0 "$INVARD_PID" || fail "invard died on a full file system"
out=$(qemu-io -f raw -c 'read -P 0x5a 0 1M' "$LUN" 2>&1) || fail "read-back failed: $out"
echo "$out" | grep -q 'Pattern verification failed' && fail "data written before the disk filled is corrupt"
echo "first 1 MiB intact after ENOSPC"
invar_stop
