#!/usr/bin/env bash
# Many sessions at once, spread over the workers: 32 initiators each write their own 1 MiB region
# with their own pattern, then every region is read back and verified from fresh sessions.
. "$(dirname "$0")/lib.sh"
need qemu-io
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/d.img,size=64M" --workers 2
LUN="$URL/$TEST_IQN/0"
N=32
pids=()
for i in $(seq 0 $((N - 1))); do
	qemu-io -f raw -c "write -P $((i + 1)) $((i * 2))M 1M" "$LUN" >"$TMP/w$i.log" 2>&1 &
	pids+=($!)
done
for i in $(seq 0 $((N - 1))); do
	wait "${pids[$i]}" || fail "writer $i failed: $(cat "$TMP/w$i.log")"
	grep -q 'wrote 1048576' "$TMP/w$i.log" || fail "writer $i: $(cat "$TMP/w$i.log")"
done
pids=()
for i in $(seq 0 $((N - 1))); do
	qemu-io -f raw -c "read -P $((i + 1)) $((i * 2))M 1M" "$LUN" >"$TMP/r$i.log" 2>&1 &
	pids+=($!)
done
for i in $(seq 0 $((N - 1))); do
	wait "${pids[$i]}" || fail "reader $i failed: $(cat "$TMP/r$i.log")"
	grep -q 'Pattern verification failed' "$TMP/r$i.log" && fail "region $i corrupt"
	grep -q 'read 1048576' "$TMP/r$i.log" || fail "reader $i: $(cat "$TMP/r$i.log")"
done
sessions=$(grep -c 'normal session' "$TMP/invard.log")
echo "$N writers and $N readers verified ($sessions sessions logged)"
[ "$sessions" -ge $((2 * N)) ] || fail "expected at least $((2 * N)) sessions, saw $sessions"
invar_stop
