#!/usr/bin/env bash
# Persistent reservations (profile invar-2026.3) against a file LUN with libiscsi's PR suites:
# nothing may fail and none may skip for want of PERSISTENT RESERVE. LUN 1 is pinned to the
# released invar-2026.2, which must still answer PERSISTENT RESERVE IN as an unknown opcode.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
PR_TOOL=${PR_TOOL:-$PWD/$BUILD/tests/tools/pr_tool}
[ -x "$PR_TOOL" ] || fail "$PR_TOOL not built (make integration builds it)"
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/pr.img,size=64M,profile=invar-2026.3" \
	--lun "file:$TMP/data/old.img,size=16M,profile=invar-2026.2"
CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.PrinReadKeys SCSI.PrinServiceactionRange SCSI.PrinReportCapabilities \
	SCSI.ProutRegister SCSI.ProutReserve SCSI.ProutClear SCSI.ProutPreempt
ran=$(grep -cE '^\s+Test: ' "$TMP/cu.log" || true)
[ "$ran" -ge 20 ] || fail "only $ran PR tests ran"
skips=$(grep -E 'SKIPPED' "$TMP/cu.log" | grep -iE 'PERSISTEN|PROUT|PRIN' || true)
[ -z "$skips" ] || fail "PR tests skipped: $skips"

# The suites leave nothing registered behind.
keys=$("$PR_TOOL" "$CU_URL" iqn.2026-11.org.invar:pr-a read-keys) || fail "read-keys failed"
echo "$keys" | grep -q '^key ' && fail "registrations left after the suites: $keys"

# invar-2026.2 never learned PERSISTENT RESERVE: ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE.
out=$("$PR_TOOL" "$URL/$TEST_IQN/1" iqn.2026-11.org.invar:pr-a read-keys)
[ "$out" = "CHECK CONDITION 5/2000" ] || fail "invar-2026.2 PR IN answered: $out"
out=$("$PR_TOOL" "$URL/$TEST_IQN/1" iqn.2026-11.org.invar:pr-a register 0x1234)
[ "$out" = "CHECK CONDITION 5/2000" ] || fail "invar-2026.2 PR OUT answered: $out"
invar_stop
