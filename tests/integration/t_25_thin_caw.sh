#!/usr/bin/env bash
# Thin provisioning and COMPARE AND WRITE (profile invar-2026.2) against a sparse file LUN with
# libiscsi's conformance suites: nothing may fail, and the suites must really run (not skip for
# want of LBPME/LBPU/LBPWS). LUN 1 is pinned to invar-2026.1, which must still lack them.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/thin.img,size=256M,profile=invar-2026.2" \
	--lun "file:$TMP/data/old.img,size=64M,profile=invar-2026.1"
CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.Unmap SCSI.WriteSame10 SCSI.WriteSame16 SCSI.CompareAndWrite SCSI.GetLBAStatus \
	SCSI.Inquiry SCSI.ReadCapacity16
# The thin-provisioning tests ran rather than skipped: only skips for LBPPB < 2, WSNZ and the
# PERSISTENT RESERVE probe are expected.
unexpected=$(grep -F '[SKIPPED]' "$TMP/cu.log" |
	grep -vE 'LBPPB < 2|does not support 0-blocks|PERSISTENT RESERVE IN is not implemented' |
	sort | uniq -c || true)
[ -z "$unexpected" ] || fail "unexpected skips on the 2026.2 LUN: $unexpected"
# UNMAP punched holes: the 256 MiB image holds far less than that.
used_kib=$(du -k "$TMP/data/thin.img" | cut -f1)
[ "$used_kib" -lt 65536 ] || fail "thin.img uses ${used_kib} KiB after UNMAP"

# invar-2026.1 answers as it always did: the same suites find nothing to test.
CU_URL="$URL/$TEST_IQN/1"
run_cu SCSI.Unmap SCSI.CompareAndWrite SCSI.GetLBAStatus
grep -qF 'COMPAREANDWRITE is not implemented' "$TMP/cu.log" ||
	fail "invar-2026.1 LUN appears to implement COMPARE AND WRITE"
invar_stop
