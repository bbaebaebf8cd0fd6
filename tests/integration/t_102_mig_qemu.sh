#!/usr/bin/env bash
# qemu-img convert onto a LU while the LU is live-migrated back and forth (docs/design/migration.md,
# "Handover"): QEMU's iSCSI driver (libiscsi) is given only A's URL, follows every move by
# itself, retries BUSY, and the copy ends with exit 0 and the exact data, read back through
# A's URL (redirected to whoever serves) and straight from the shared file.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null || skip "qemu-img not installed"
qemu-img --help | grep -q "Supported formats:.* iscsi" || skip "qemu-img has no iscsi driver"
IMG=$TMP/shared.img
PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap 'stop_all; invar_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT

AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "file:$IMG,size=96M" --migration-listen "127.0.0.1:$AMIG"
BPORT=$(free_port) || fail "no free port"
BMIG=$(free_port) || fail "no free port"
mkdir -p "$TMP/B"
"$INVARD" --listen "127.0.0.1:$BPORT" --data-dir "$TMP/B" --migration-listen "127.0.0.1:$BMIG" \
	>>"$TMP/B.log" 2>&1 &
PIDS+=($!)
wait_listening "$BPORT" && wait_listening "$BMIG" && wait_ctl_socket "$TMP/B/invar.sock" ||
	fail "B did not start"
BCTL=("$INVARCTL" --socket "$TMP/B/invar.sock")

head -c $((64 << 20)) /dev/urandom >"$TMP/src.raw"
moves=0
at=A
# A copy that ends before the first move (a fast machine) is simply run again, at most 3 times.
for attempt in 1 2 3; do
	qemu-img convert -n -f raw -O raw "$TMP/src.raw" "$URL/$TEST_IQN/0" 2>"$TMP/qemu.err" &
	QPID=$!
	while kill -0 "$QPID" 2>/dev/null; do
		sleep 0.1
		kill -0 "$QPID" 2>/dev/null || break
		if [ "$at" = A ]; then
			"${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$BMIG" >"$TMP/mig.out" 2>&1 ||
				fail "A -> B failed: $(cat "$TMP/mig.out")"
			at=B
		else
			"${BCTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$AMIG" >"$TMP/mig.out" 2>&1 ||
				fail "B -> A failed: $(cat "$TMP/mig.out")"
			at=A
		fi
		moves=$((moves + 1))
		sleep 3.5	# libiscsi reconnects at most once every 3 s
	done
	wait "$QPID"
	rc=$?
	cat "$TMP/qemu.err"
	[ "$rc" -eq 0 ] || fail "qemu-img convert failed (exit $rc) across $moves migration(s)"
	[ "$moves" -ge 1 ] && break
done
[ "$moves" -ge 1 ] || fail "the copy ended before any migration: make it larger"
echo "qemu-img convert finished across $moves migration(s); the LU is now on $at"
cmp -n $((64 << 20)) "$TMP/src.raw" "$IMG" || fail "the shared file differs from the source"
qemu-img compare -f raw -F raw "$TMP/src.raw" \
	"json:{\"driver\":\"raw\",\"size\":$((64 << 20)),\"file\":{\"driver\":\"iscsi\",\"transport\":\"tcp\",\"portal\":\"127.0.0.1:$PORT\",\"target\":\"$TEST_IQN\",\"lun\":0}}" ||
	fail "the data read back through A's URL differs"
stop_all
PIDS=()
invar_stop
echo "PASS"
