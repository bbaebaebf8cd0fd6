#!/usr/bin/env bash
# SendTargets discovery with iscsi-ls, and INQUIRY through iscsi-inq on a RAM LUN.
. "$(dirname "$0")/lib.sh"
need iscsi-ls
need iscsi-inq
invar_start --target "$TEST_IQN" --lun ram:64M --lun null:1G
out=$(iscsi-ls -s "$URL" 2>&1) || fail "iscsi-ls failed: $out"
echo "$out"
echo "$out" | grep -q "Target:$TEST_IQN" || fail "iscsi-ls did not list $TEST_IQN"
echo "$out" | grep -q "Lun:0" || fail "iscsi-ls did not show LUN 0"
echo "$out" | grep -q "Lun:1" || fail "iscsi-ls did not show LUN 1"
inq=$(iscsi-inq "$URL/$TEST_IQN/0" 2>&1) || fail "iscsi-inq failed: $inq"
echo "$inq" | grep -qi "Peripheral Device Type: DIRECT_ACCESS\|Device Type:.*0\|DIRECT" || fail "unexpected INQUIRY: $inq"
# VPD pages must be reachable too.
iscsi-inq -e 1 -c 0x80 "$URL/$TEST_IQN/0" >/dev/null 2>&1 || fail "VPD 0x80 failed"
iscsi-inq -e 1 -c 0x83 "$URL/$TEST_IQN/0" >/dev/null 2>&1 || fail "VPD 0x83 failed"
invar_stop
