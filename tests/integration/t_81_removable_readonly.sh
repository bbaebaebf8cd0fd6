#!/usr/bin/env bash
# LU options removable=1 and readonly=1 (LU configuration, any profile): libiscsi's PreventAllow,
# StartStopUnit and ReadOnly suites run instead of skipping, with no failure; a read-only LU
# answers writes like a software-write-protected one (the 2026.1 SWP answer, byte for byte),
# reports WP in MODE SENSE, has its file open O_RDONLY and cannot be an EXTENDED COPY target.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
head -c 16M /dev/zero >"$TMP/ro.img"
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/rm.img,size=64M,removable=1" \
	--lun "file:$TMP/ro.img,readonly=1,profile=invar-2026.3" \
	--lun "ram:16M,readonly=1,profile=invar-2026.1" \
	--lun "ram:16M,profile=invar-2026.1" \
	--lun "file:$TMP/data/src.img,size=16M,profile=invar-2026.3"

cmd() {
	ALL=$("$ISCSI_CMD" "$@") || fail "iscsi-cmd $* failed to run"
	OUT=$(awk '/^next$/ { buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }' <<<"$ALL")
}

CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.PreventAllow SCSI.StartStopUnit
CU_URL="$URL/$TEST_IQN/1"
run_cu SCSI.ReadOnly
# Only the global PERSISTENT RESERVE probe and ORWRITE (not in this profile yet) may skip.
unexpected=$(grep -F '[SKIPPED]' "$TMP/cu.log" |
	grep -vE 'PERSISTENT RESERVE IN is not implemented|ORWRITE is not implemented' |
	sort | uniq -c || true)
[ -z "$unexpected" ] || fail "unexpected skips: $unexpected"

# Removable: RMB set, eject answers MEDIUM NOT PRESENT until a load; PREVENT blocks the eject.
cmd -n 96 "$URL/$TEST_IQN/0" 120000006000
grep -q '^data   0080' <<<"$OUT" || fail "INQUIRY RMB not set on the removable LU: $OUT"
cmd "$URL/$TEST_IQN/0" 000000000000 1b0000000200 000000000000
grep -q '^key    0x02 asc 0x3a ascq 0x00$' <<<"$OUT" || fail "no MEDIUM NOT PRESENT after eject: $ALL"
cmd "$URL/$TEST_IQN/0" 000000000000 1b0000000300 000000000000 1e0000000100 1b0000000200
grep -q '^key    0x05 asc 0x53 ascq 0x02$' <<<"$OUT" || fail "eject not prevented: $ALL"
[ "$(grep -c '^status 0x00$' <<<"$ALL")" -ge 3 ] || fail "load/TUR/PREVENT failed: $ALL"
# A non-removable LU answers as before: no RMB.
cmd -n 96 "$URL/$TEST_IQN/3" 120000006000
grep -q '^data   0000' <<<"$OUT" || fail "RMB set on a fixed LU: $OUT"

# Read-only: WRITE(10) is DATA PROTECT / WRITE PROTECTED, MODE SENSE says WP.
for l in 1 2; do
	cmd "$URL/$TEST_IQN/$l" 000000000000 "2a000000000000000100=$(printf '%01024d' 0)"
	grep -q '^key    0x07 asc 0x27 ascq 0x00$' <<<"$OUT" || fail "LUN $l write not protected: $OUT"
	cmd -n 4 "$URL/$TEST_IQN/$l" 1a083f000400
	grep -qE '^data   ....[89a-f]' <<<"$OUT" || fail "LUN $l MODE SENSE WP not set: $OUT"
done
# On invar-2026.1, readonly=1 answers exactly as SWP=1 set through MODE SELECT does.
cmd "$URL/$TEST_IQN/2" 000000000000 "2a000000000000000100=$(printf '%01024d' 0)"
ro_sense=$(grep '^sense' <<<"$OUT")
cmd "$URL/$TEST_IQN/3" 000000000000 \
	"151000001000=000000000a0a001008000000ffff0000" \
	"2a000000000000000100=$(printf '%01024d' 0)"
[ "$(grep '^sense' <<<"$OUT")" = "$ro_sense" ] ||
	fail "readonly and SWP answers differ: '$ro_sense' vs $ALL"
# The read-only file is open O_RDONLY (fdinfo flags, access mode bits 0).
fd=$(for f in /proc/$INVARD_PID/fd/*; do [ "$(readlink "$f")" = "$TMP/ro.img" ] && basename "$f"; done | head -n 1)
[ -n "$fd" ] || fail "ro.img is not open"
flags=$(awk '/^flags:/ { print $2 }' "/proc/$INVARD_PID/fdinfo/$fd")
[ $((8#$flags & 3)) -eq 0 ] || fail "ro.img is open with flags $flags, not O_RDONLY"
# EXTENDED COPY into the read-only LU: WRITE PROTECTED, nothing written.
naa() {
	cmd -n 255 "$1" 12018300ff00
	sed -n 's/^data   //p' <<<"$OUT" | cut -c17-32
}
N_SRC=$(naa "$URL/$TEST_IQN/4") N_RO=$(naa "$URL/$TEST_IQN/1")
cscd() { echo "e400000001030008${1}00000000000000000000000000000200"; }
pl=$(printf '%02x%02x%04x00000000%08x00000000' 1 0 64 28)$(cscd "$N_SRC")$(cscd "$N_RO")
pl+=$(printf '02000018%04x%04x0000%04x%016x%016x' 0 1 8 0 0)
cmd "$URL/$TEST_IQN/4" 000000000000 "$(printf '83000000000000000000%08x0000' $((${#pl} / 2)))=$pl"
grep -q '^key    0x07 asc 0x27 ascq 0x00$' <<<"$OUT" || fail "EXTENDED COPY into a read-only LU: $ALL"
cmp -s "$TMP/ro.img" <(head -c 16M /dev/zero) || fail "ro.img changed"

# A read-only file LU never creates its file.
"${CTL[@]}" lun add "$TEST_IQN" "file:$TMP/none.img,size=1M,readonly=1" >/dev/null 2>&1 &&
	fail "a read-only LU created its file"
[ ! -e "$TMP/none.img" ] || fail "none.img was created"
invar_stop
