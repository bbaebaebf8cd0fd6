#!/usr/bin/env bash
# What the suites do not check about invar-2026.3's SBC-3 commands: SANITIZE BLOCK ERASE really
# leaves zeroes and holes in the image, OVERWRITE leaves the pattern on every block, a sanitize
# keeps running through ABORT TASK, LUN/target resets and a dropped connection, and
# invar-2026.2 still answers the new opcodes INVALID COMMAND OPERATION CODE.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
need qemu-io
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/a.img,size=64M,profile=invar-2026.3" \
	--lun "file:$TMP/data/old.img,size=64M,profile=invar-2026.2" \
	--lun "file:$TMP/data/big.img,size=3G,profile=invar-2026.3"
A="$URL/$TEST_IQN/0"
qio() { qemu-io -f raw "$@" 2>&1; }

# OVERWRITE: the suite's last good sanitize writes a 4-byte 0xaa pattern over every block.
iscsi-test-cu --dataloss --allow-sanitize --test=SCSI.Sanitize.Overwrite "$A" >"$TMP/ow.log" 2>&1
qio -c "read -P 0xaa 0 64M" "$A" | grep -q "read 67108864/67108864" ||
	fail "after SANITIZE OVERWRITE the LU does not read as the 0xaa pattern"

# BLOCK ERASE: zeroes everywhere, and the image is holes again.
qio -c "write -P 0x33 0 8M" -c "write -P 0x33 56M 8M" "$A" >/dev/null
iscsi-test-cu --dataloss --allow-sanitize --test=SCSI.Sanitize.BlockErase "$A" >"$TMP/be.log" 2>&1
grep -q "passed" "$TMP/be.log" || fail "SCSI.Sanitize.BlockErase did not pass"
qio -c "read -P 0 0 64M" "$A" | grep -q "read 67108864/67108864" ||
	fail "after SANITIZE BLOCK ERASE the LU does not read as zeroes"
used_kib=$(du -k "$TMP/data/a.img" | cut -f1)
[ "$used_kib" -lt 1024 ] || fail "a.img still uses ${used_kib} KiB after BLOCK ERASE"

# A sanitize outlives ABORT TASK, LOGICAL UNIT RESET, TARGET WARM/COLD RESET and the
# connection: libiscsi's Sanitize.Reset checks NOT READY/SANITIZE IN PROGRESS after each (its
# final wait loop never ends against a target with NOP-In keepalives, so it is cut short).
B="$URL/$TEST_IQN/2"
# The sanitizes of LU A above logged "done" already: wait for one more, the big LU's.
done_before=$(grep -c "SANITIZE done" "$TMP/invard.log")
timeout 25 iscsi-test-cu --dataloss --allow-sanitize --test=SCSI.Sanitize.Reset "$B" \
	>"$TMP/reset.log" 2>&1
! grep -F '[FAILED]' "$TMP/reset.log" || fail "SCSI.Sanitize.Reset checks failed"
grep -qF 'SANITIZE_IN_PROGRESS' "$TMP/reset.log" ||
	fail "the sanitize was not seen in progress after the resets"
sanitize_done() { [ "$(grep -c "SANITIZE done" "$TMP/invard.log")" -gt "$done_before" ]; }
for _ in $(seq 1 120); do sanitize_done && break; sleep 0.5; done
sanitize_done || fail "the sanitize did not complete"
qio -c "read -P 0 0 1M" -c "read -P 0 3071M 1M" "$B" | grep -c "read 1048576/1048576" |
	grep -q 2 || fail "the big LU was not overwritten with the zero pattern"
rm -f "$TMP/data/big.img"

# invar-2026.2 is unchanged: the suites find these commands not implemented.
O="$URL/$TEST_IQN/1"
iscsi-test-cu --dataloss --allow-sanitize --test=SCSI.OrWrite.Simple "$O" >"$TMP/o.log" 2>&1
iscsi-test-cu --dataloss --test=SCSI.Prefetch10.Simple "$O" >>"$TMP/o.log" 2>&1
iscsi-test-cu --dataloss --test=SCSI.WriteAtomic16.Simple "$O" >>"$TMP/o.log" 2>&1
iscsi-test-cu --dataloss --allow-sanitize --test=SCSI.Sanitize.Overwrite "$O" >>"$TMP/o.log" 2>&1
for what in "ORWRITE is not implemented" "PREFETCH10 is not implemented" \
	"WRITEATOMIC16 is not implemented" "SANITIZE OVERWRITE is not implemented"; do
	grep -qF "$what" "$TMP/o.log" || fail "invar-2026.2 LUN: expected '$what'"
done
invar_stop
