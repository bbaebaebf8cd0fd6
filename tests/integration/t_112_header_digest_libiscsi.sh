#!/usr/bin/env bash
# HeaderDigest=CRC32C with a real initiator, libiscsi (it has no data digest; t_111 covers that
# with raw PDUs). libiscsi's tools offer "None,CRC32C", which RFC 7143 13.1 makes None (the
# initiator's first choice): that is checked too. iscsi-cmd -H offers only CRC32C: a 512 KiB
# write and read-back (several PDUs each way, every header digest checked by both ends), and a
# mix of commands in one session.
. "$(dirname "$0")/lib.sh"
need iscsi-inq
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built"
invar_start --target "$TEST_IQN" --lun ram:64M

iscsi-inq "$URL/$TEST_IQN/0" >"$TMP/inq" 2>&1 || fail "iscsi-inq: $(cat "$TMP/inq")"
grep -q "digests None/None" "$TMP/invard.log" || fail "None,CRC32C offered: not answered None"
U="$URL/$TEST_IQN/0"
out=$("$ISCSI_CMD" -H "$U" 000000000000 000000000000 2>&1)
grep -q "digests CRC32C/None" "$TMP/invard.log" || fail "header digest not negotiated with libiscsi"

# 512 KiB of known data: more than one PDU each way (both ends' MaxRecvDataSegmentLength and the
# burst are 256 KiB).
head -c $((512 * 1024)) /dev/urandom >"$TMP/pattern"
head -c 512 /dev/urandom >"$TMP/pattern512"
out=$("$ISCSI_CMD" -H "$U" "2a000000010000040000=@$TMP/pattern" 2>&1)
echo "$out" | grep -q '^status 0x00' || fail "write with header digest: $out"
got=$("$ISCSI_CMD" -H -n $((512 * 1024)) "$U" 28000000010000040000 | sed -n 's/^data *//p')
[ "$got" = "$(xxd -p "$TMP/pattern" | tr -d '\n')" ] || fail "read back differs with header digest"
echo "  libiscsi with HeaderDigest=CRC32C: 512 KiB written and read back"

# Several commands in one session: INQUIRY, READ CAPACITY(10), REPORT LUNS, WRITE and READ(16).
out=$("$ISCSI_CMD" -H -n 4096 "$U" 120000006000 25000000000000000000 a00000000000000010000000 \
	"8a000000000000000020000000010000=@$TMP/pattern512" 88000000000000000020000000010000 2>&1)
[ "$(echo "$out" | grep -c '^status 0x00')" = 5 ] || fail "commands with header digest: $out"
[ "$(echo "$out" | sed -n 's/^data *//p' | tail -n 1)" = "$(xxd -p "$TMP/pattern512" | tr -d '\n')" ] ||
	fail "READ(16) after WRITE(16) differs with header digest"
echo "  five commands in one session with header digests: all GOOD"
grep -q "header digest error" "$TMP/invard.log" && fail "a header digest error with libiscsi"
invar_stop
