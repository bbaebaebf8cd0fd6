#!/usr/bin/env bash
# The whole libiscsi SCSI suite on a removable file LU of the draft profile invar-2026.3: what
# this profile adds (EXTENDED COPY, saved mode pages) and the LU options leave every other
# test passing.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
invar_start --target "$TEST_IQN" \
	--lun "file:$TMP/data/c.img,size=256M,profile=invar-2026.3,removable=1"
CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI
# The copy-offload and removable-media suites ran rather than skipped.
for s in EXTENDEDCOPY RECEIVE_COPY_RESULTS PREVENTALLOW STARTSTOPUNIT 'not removable'; do
	grep -F '[SKIPPED]' "$TMP/cu.log" | grep -qi "$s" && fail "skipped: $s"
done
invar_stop
