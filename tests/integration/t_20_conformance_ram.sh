#!/usr/bin/env bash
# libiscsi's conformance suite (the foundation's subset) against a RAM LUN: nothing may fail.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
invar_start --target "$TEST_IQN" --lun ram:128M
CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.TestUnitReady SCSI.Inquiry SCSI.ReadCapacity10 SCSI.ReadCapacity16 \
	SCSI.Read6 SCSI.Read10 SCSI.Read12 SCSI.Read16 SCSI.Write10 SCSI.Write12 SCSI.Write16 \
	SCSI.Verify10 SCSI.Verify16 SCSI.ModeSense6 SCSI.Mandatory \
	iSCSI.iSCSIcmdsn iSCSI.iSCSIdatasn iSCSI.iSCSIResiduals iSCSI.iSCSITMF
invar_stop
