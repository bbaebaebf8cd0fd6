#!/usr/bin/env bash
# LUN removal under I/O from several clients: four qemu-io processes write and read LUN 1 (a
# file) and LUN 2 (ram) while `invarctl lun delete` removes them. Each client must end, either
# completing or with an error (never hang: a 60 s timeout fails the test), the daemon must not
# crash, LUN 0 keeps serving, and under ASan (make check) nothing leaks at shutdown.
. "$(dirname "$0")/lib.sh"
need qemu-io
need iscsi-inq
invar_start --target "$TEST_IQN" --lun ram:8M --lun "file:$TMP/one.img,size=128M" --lun ram:128M

pids=()
for lun in 1 2; do
	for k in 1 2; do
		timeout 60 qemu-io -f raw \
			-c "write -P 0x$lun$k 0 32M" -c "read 0 32M" -c "write -P 0x$k$lun 32M 32M" \
			-c "read 32M 32M" -c "write 64M 32M" -c "flush" \
			"$URL/$TEST_IQN/$lun" >"$TMP/q$lun$k.out" 2>&1 &
		pids+=($!)
	done
done
# Delete once some client has done I/O (each has five more commands to go), not after a fixed
# sleep: on a loaded machine 0.4 s was not always enough for the first 32 MiB write.
for _ in $(seq 1 200); do
	cat "$TMP"/q??.out 2>/dev/null | grep -q "^wrote " && break
	sleep 0.05
done
"${CTL[@]}" lun delete "$TEST_IQN" 1 >/dev/null || fail "lun delete 1 under I/O"
sleep 0.2
"${CTL[@]}" lun delete "$TEST_IQN" 2 >/dev/null || fail "lun delete 2 under I/O"
ok=0 errs=0
for p in "${pids[@]}"; do
	wait "$p"
	rc=$?
	[ "$rc" -eq 124 ] && fail "a qemu-io client hung after its LUN was deleted"
	if [ "$rc" -eq 0 ]; then ok=$((ok + 1)); else errs=$((errs + 1)); fi
done
cat "$TMP"/q??.out >"$TMP/all.out"
grep -q "^wrote " "$TMP/all.out" || fail "no client did any I/O before the delete: $(head -n 5 "$TMP/all.out")"
echo "  4 clients ended: $ok completed, $errs got errors"
kill -0 "$INVARD_PID" || fail "invard died"
"${CTL[@]}" lun list "$TEST_IQN" >"$TMP/luns" || fail "lun list"
grep -qE '^ *1 ' "$TMP/luns" && fail "LUN 1 still listed: $(cat "$TMP/luns")"
iscsi-inq "$URL/$TEST_IQN/0" >/dev/null || fail "LUN 0 not served after the deletes"
# A client of a deleted LUN now fails cleanly instead of hanging.
timeout 30 qemu-io -f raw -c "read 0 4k" "$URL/$TEST_IQN/1" >"$TMP/gone" 2>&1 &&
	fail "read from the deleted LUN 1 succeeded"
[ $? -eq 124 ] && fail "client of the deleted LUN hung"
# And the numbers can be reused.
"${CTL[@]}" lun add "$TEST_IQN" ram:4M --lun 1 >/dev/null || fail "lun add 1 again"
qemu-io -f raw -c "write -P 0x33 0 1M" -c "read -P 0x33 0 1M" "$URL/$TEST_IQN/1" >"$TMP/q" 2>&1 ||
	fail "new LUN 1: $(cat "$TMP/q")"
echo "  daemon alive, LUN 0 served, deleted LUN refused, LUN 1 re-added and usable"
invar_stop
