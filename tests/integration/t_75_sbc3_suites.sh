#!/usr/bin/env bash
# The rest of SBC-3 (profile invar-2026.3) against libiscsi's conformance suites on a file LU:
# ORWRITE, PRE-FETCH, READ DEFECT DATA, WRITE ATOMIC, SANITIZE (--allow-sanitize), REPORT
# SUPPORTED OPCODES and the iSCSI TMF tests. Nothing may fail, and the suites must really run:
# the only skips allowed are CRYPTOGRAPHIC ERASE (not offered: nothing encrypts) and the
# PERSISTENT RESERVE IN probe (another piece of 2026.3). SCSI.Sanitize.Reset is left out: it
# sleeps 60 s between TEST UNIT READYs without answering NOP-In pings, so invar drops the
# connection and each reconnect is a new nexus with a new POWER ON unit attention, forever;
# t_76 checks what it checks (a sanitize survives aborts, resets and the connection).
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/lu.img,size=64M,profile=invar-2026.3"
CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.OrWrite SCSI.Prefetch10 SCSI.Prefetch16 SCSI.ReadDefectData10 \
	SCSI.ReadDefectData12 SCSI.WriteAtomic16 SCSI.ReportSupportedOpcodes iSCSI.iSCSITMF
cp "$TMP/cu.log" "$TMP/cu-main.log"
# run_cu without --allow-sanitize cannot reach the SANITIZE tests: run those here.
: >"$TMP/cu-san.log"
total=0; failed=0
for t in BlockErase BlockEraseReserved CryptoErase CryptoEraseReserved ExitFailureMode \
	InvalidServiceAction Overwrite OverwriteReserved Readonly Reservations; do
	iscsi-test-cu --dataloss --allow-sanitize --test="SCSI.Sanitize.$t" "$CU_URL" \
		>>"$TMP/cu-san.log" 2>&1
	line=$(grep -E '^[[:space:]]+tests[[:space:]]' "$TMP/cu-san.log" | tail -n 1)
	[ -n "$line" ] || fail "iscsi-test-cu SCSI.Sanitize.$t printed no summary"
	set -- $line
	printf '  %-40s ran %3s passed %3s failed %3s\n' "SCSI.Sanitize.$t" "$3" "$4" "$5"
	total=$((total + $3)); failed=$((failed + $5))
	set --
done
[ "$failed" -eq 0 ] || { grep -E 'FAILED' "$TMP/cu-san.log" >&2; fail "$failed sanitize tests failed"; }
[ "$total" -eq 10 ] || fail "expected 10 sanitize tests to run, ran $total"
unexpected=$(cat "$TMP/cu-main.log" "$TMP/cu-san.log" | grep -F '[SKIPPED]' |
	grep -vE 'PERSISTENT RESERVE IN is not implemented|CRYPTO_ERASE is not implemented|No (alignment|granularity) restrictions' |
	sort | uniq -c || true)
[ -z "$unexpected" ] || fail "unexpected skips on the 2026.3 LUN: $unexpected"
invar_stop
