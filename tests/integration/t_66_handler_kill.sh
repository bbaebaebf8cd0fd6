#!/usr/bin/env bash
# The issue's "done when": verified random writes and read-backs from libiscsi clients (qemu-io,
# 4 in parallel on disjoint regions) while the file handler is killed with SIGKILL twice and
# restarted. Commands it held come back BUSY and qemu's iSCSI driver retries them; commands sent
# while no handler is attached wait for the next one. Zero failed and zero mismatched I/Os, every
# region still holds its last pattern afterwards, and invard is alive and stops cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/handler_lib.sh"
need qemu-io
qemu-img --help 2>/dev/null | grep -q iscsi || skip "qemu-img has no iscsi driver (install qemu-block-extra)"

invar_start --target "$TEST_IQN" --lun user:crash,size=64M --workers 2
handler_start "$HANDLER_FILE" crash "$TMP/crash.img"

CLIENTS=4 OPS=${OPS:-1500} REGION=$((16 << 20))
declare -A last
for c in $(seq 0 $((CLIENTS - 1))); do
	: >"$TMP/cmds.$c"
	for i in $(seq 1 "$OPS"); do
		off=$((c * REGION + (RANDOM % (REGION / 4096)) * 4096))
		pat=$(((c * 61 + i) % 255 + 1))
		printf 'write -P %d %d 4k\nread -P %d %d 4k\n' "$pat" "$off" "$pat" "$off" >>"$TMP/cmds.$c"
		last[$off]=$pat
	done
done
pids=()
for c in $(seq 0 $((CLIENTS - 1))); do
	qemu-io -f raw "$URL/$TEST_IQN/0" <"$TMP/cmds.$c" >"$TMP/io.$c" 2>&1 &
	pids+=($!)
done
# Two crashes while the clients run.
# Crash when a third and two thirds of the writes are done, so both land mid-run.
progress() { cat "$TMP"/io.* 2>/dev/null | grep -o "wrote 4096/4096" | wc -l; }
for k in 1 2; do
	for _ in $(seq 1 600); do
		[ "$(progress)" -ge $((k * CLIENTS * OPS / 3)) ] && break
		sleep 0.05
	done
	running=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	[ "$running" -gt 0 ] || fail "the clients finished before crash $k (raise OPS)"
	old=$HANDLER_PID
	handler_kill KILL
	echo "killed handler pid $old with SIGKILL"
	sleep 0.3
	handler_start "$HANDLER_FILE" crash "$TMP/crash.img"
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
kill -0 "$INVARD_PID" || fail "invard died"
cat "$TMP"/io.* >"$TMP/io.all"
writes=$(grep -o "wrote 4096/4096" "$TMP/io.all" | wc -l)
reads=$(grep -o 'read 4096/4096' "$TMP/io.all" | wc -l)
bad=$(grep -ciE 'fail|error|mismatch|pattern verification' "$TMP/io.all")
echo "clients: $writes writes and $reads verified reads, $bad failures (qemu-io rc $rc)"
grep -o "[0-9]* commands* in flight failed with BUSY" "$TMP/invard.log" | sed "s/^/  daemon: /"
[ "$bad" -eq 0 ] || { grep -iE 'fail|error|pattern' "$TMP/io.all" | head >&2; fail "$bad failed or mismatched I/Os"; }
[ "$writes" -eq $((CLIENTS * OPS)) ] && [ "$reads" -eq $((CLIENTS * OPS)) ] ||
	fail "expected $((CLIENTS * OPS)) writes and reads"
grep -q "handler broke the ring" "$TMP/invard.log" && fail "the ring was reported broken"
[ "$(grep -c 'handler pid .* detached' "$TMP/invard.log")" -ge 2 ] || fail "the daemon did not see both crashes"

# Every offset holds the last pattern written to it, through the ring and in the file.
: >"$TMP/verify"
for off in "${!last[@]}"; do printf 'read -P %d %d 4k\n' "${last[$off]}" "$off" >>"$TMP/verify"; done
qemu-io -f raw "$URL/$TEST_IQN/0" <"$TMP/verify" >"$TMP/verify.out" 2>&1
n=$(grep -o 'read 4096/4096' "$TMP/verify.out" | wc -l)
grep -qiE 'fail|pattern' "$TMP/verify.out" && fail "final read-back mismatched"
[ "$n" -eq "${#last[@]}" ] || fail "final read-back: $n of ${#last[@]} offsets"
echo "final read-back: ${#last[@]} offsets hold their last pattern"
handler_kill TERM
invar_stop
