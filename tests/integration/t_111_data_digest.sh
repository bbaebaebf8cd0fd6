#!/usr/bin/env bash
# HeaderDigest=CRC32C and DataDigest=CRC32C end to end, with raw PDUs (libiscsi negotiates
# header digests only; tests/tools/iscsi-robust.c computes both, and checks every digest the
# target sends). Good digests: a 16 KiB write (immediate data + R2T'd Data-Outs) reads back
# equal over several Data-In PDUs whose digests are right. Bad data digests (RFC 7143 7.8): the
# PDU is answered with a Reject, reason 02h, and discarded; the connection lives.
#  - a Data-Out: its command waits for the rest of its data, then ends CHECK CONDITION, ABORTED
#    COMMAND / PROTOCOL SERVICE CRC ERROR (B/47/05), and the medium is unchanged;
#  - a SCSI Command with immediate data: never executed, its CmdSN is a gap that holds the next
#    command until the initiator retries it (same ITT and CmdSN), which then runs;
#  - a NOP-Out ping with data: not answered; a good one is.
# A bad header digest drops the connection (its lengths cannot be trusted). Throughout, the daemon
# keeps serving: a fresh session after all of it works.
. "$(dirname "$0")/lib.sh"
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
[ -x "$ROBUST" ] || fail "$ROBUST not built"
invar_start --target "$TEST_IQN" --lun ram:16M

expect() {	# expect OUTPUT LINE...
	local out=$1 l
	shift
	for l in "$@"; do
		echo "$out" | grep -qx "$l" || fail "missing '$l' in:
$out"
	done
}
run() { "$ROBUST" -d "127.0.0.1:$PORT" "$TEST_IQN" "$@" || fail "$*: exit $?"; }

out=$(run digest-good 128)
expect "$out" "write status 0x00" "read status 0x00" "datain_pdus 2" "read_match yes" \
	"target_digest_errors 0"
grep -q "digests CRC32C/CRC32C" "$TMP/invard.log" || fail "digests not negotiated"
echo "  good digests: 16 KiB written and read back over 2 Data-In PDUs, every target digest right"

for round in 1 2 3 4 5; do
	out=$(run digest-bad-dataout $((1024 + round * 64)))
	expect "$out" "good_write status 0x00" "before_rest reject 0x02" "before_rest_then timeout" \
		"bad_write status 0x02 sense b/47/05" "medium unchanged" "after status 0x00" \
		"target_digest_errors 0"
done
echo "  bad Data-Out digest: Reject 02h, response only after the rest of the data, B/47/05, medium unchanged"

out=$(run digest-bad-imm 2048)
expect "$out" "bad_cmd reject 0x02" "bad_cmd_then timeout" "read_in_gap timeout" \
	"retry status 0x00" "read_after_retry status 0x00" "read_sees retried_write" \
	"medium written" "bad_nop reject 0x02" "bad_nop_then timeout" "good_nop echoed" \
	"after status 0x00" "target_digest_errors 0"
echo "  bad immediate-data digest: Reject 02h, not executed, CmdSN gap until the retry; bad NOP-Out: Reject, not answered"

out=$(run hdigest-bad)
expect "$out" "tur closed"
grep -q "closing connection: header digest error" "$TMP/invard.log" || fail "header digest error not logged"
echo "  bad header digest: connection dropped"

out=$(run digest-good 4096)
expect "$out" "write status 0x00" "read_match yes"
[ "$(grep -c "data digest error in" "$TMP/invard.log")" -ge 7 ] || fail "digest errors not logged"
echo "  daemon still serving"
invar_stop
