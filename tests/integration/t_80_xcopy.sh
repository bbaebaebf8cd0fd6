#!/usr/bin/env bash
# EXTENDED COPY and RECEIVE COPY RESULTS (profile invar-2026.3): libiscsi's suites run (and do
# not skip), a copy between two LUs of one target moves the right bytes, and a CSCD descriptor
# naming a LU the session cannot address (another target's LU, an unmapped LUN) is refused with
# COPY ABORTED / COPY TARGET DEVICE NOT REACHABLE and moves nothing (the CVE-2020-28374 class).
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
OTHER_IQN=iqn.2026-11.org.invar:other
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/a.img,size=64M,profile=invar-2026.3" \
	--lun "file:$TMP/data/b.img,size=64M,profile=invar-2026.3" \
	--lun "ram:16M,profile=invar-2026.1"
"${CTL[@]}" target create "$OTHER_IQN" >/dev/null || fail "target create"
"${CTL[@]}" lun add "$OTHER_IQN" "file:$TMP/data/c.img,size=64M,profile=invar-2026.3" >/dev/null ||
	fail "lun add on the other target"

CU_URL="$URL/$TEST_IQN/0"
run_cu SCSI.ExtendedCopy SCSI.ReceiveCopyResults
unexpected=$(grep -F '[SKIPPED]' "$TMP/cu.log" | grep -v 'PERSISTENT RESERVE IN is not implemented' |
	sort | uniq -c || true)
[ -z "$unexpected" ] || fail "unexpected skips: $unexpected"

A="$URL/$TEST_IQN/0" B="$URL/$TEST_IQN/1" OLD="$URL/$TEST_IQN/2" C="$URL/$OTHER_IQN/0"

# cmd [-n LEN] URL CMD...: runs ISCSI_CMD (one session for all CMDs); $OUT is the output of the
# last command, $ALL all of it.
cmd() {
	ALL=$("$ISCSI_CMD" "$@") || fail "iscsi-cmd $* failed to run"
	OUT=$(awk '/^next$/ { buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }' <<<"$ALL")
}
status_is() {
	grep -q "^status $1\$" <<<"$OUT" || fail "$2: expected status $1, got: $OUT"
}
sense_is() {
	grep -q "^key    $1 asc $2 ascq $3\$" <<<"$OUT" || fail "$4: expected sense $1/$2/$3, got: $OUT"
}
# The LU's NAA designator: the first designation descriptor of VPD 0x83 (8 bytes).
naa_of() {
	cmd -n 255 "$1" 12018300ff00
	status_is 0x00 "INQUIRY VPD 83h of $1"
	local d
	d=$(sed -n 's/^data   //p' <<<"$OUT")
	[ "${d:8:8}" = 01030008 ] || fail "VPD 83h of $1 does not start with an 8-byte NAA: $d"
	echo "${d:16:16}"
}
cscd() { # NAA -> identification CSCD descriptor, block device of 512-byte blocks
	echo "e400000001030008${1}00000000000000000000000000000200"
}
seg() { # SRC DST NBLOCKS SRC_LBA DST_LBA -> block -> block segment descriptor
	printf '02000018%04x%04x0000%04x%016x%016x' "$1" "$2" "$3" "$4" "$5"
}
# xcopy_cmd LIST_ID USAGE CSCDS SEGS: an EXTENDED COPY(LID1) CMD with that parameter list.
xcopy_cmd() {
	local cs=$3 sg=$4 hdr
	hdr=$(printf '%02x%02x%04x00000000%08x00000000' "$1" $(($2 << 3)) $((${#cs} / 2)) \
		$((${#sg} / 2)))
	printf '83000000000000000000%08x0000=%s' $(((${#hdr} + ${#cs} + ${#sg}) / 2)) "$hdr$cs$sg"
}
xcopy() { # URL LIST_ID USAGE CSCDS SEGS
	local url=$1
	shift
	cmd "$url" "$(xcopy_cmd "$@")"
}

NAA_A=$(naa_of "$A") NAA_B=$(naa_of "$B") NAA_C=$(naa_of "$C")
[ "$NAA_A" != "$NAA_B" ] && [ "$NAA_A" != "$NAA_C" ] || fail "NAA designators are not distinct"

# 64 blocks of random data at LBA 0 of LUN 0.
head -c 32768 /dev/urandom >"$TMP/pattern"
cmd "$A" "2a000000000000004000=@$TMP/pattern"
status_is 0x00 "WRITE(10) of the pattern"

# Copy LUN 0 [0,64) to LUN 1 at 1000, in two segments (list id 7, status held).
# RECEIVE COPY RESULTS, COPY STATUS for list id 7 in the same session: completed, 2 segments,
# 32768 bytes; read once, the status is gone.
cmd -n 64 "$A" "$(xcopy_cmd 7 0 "$(cscd "$NAA_A")$(cscd "$NAA_B")" \
	"$(seg 0 1 40 0 1000)$(seg 0 1 24 40 1040)")" \
	84000700000000000000000000400000 84000700000000000000000000400000
[ "$(grep -c '^status 0x00$' <<<"$ALL")" = 2 ] || fail "EXTENDED COPY LUN 0 -> LUN 1: $ALL"
grep -qx 'data   000000080100020000008000' <<<"$ALL" || fail "COPY STATUS for list id 7: $ALL"
sense_is 0x05 0x24 0x00 "COPY STATUS read twice"
cmd -n 32768 "$B" 2800000003e800004000
status_is 0x00 "READ(10) of the copy"
[ "$(sed -n 's/^data   //p' <<<"$OUT")" = "$(xxd -p "$TMP/pattern" | tr -d '\n')" ] ||
	fail "the copy on LUN 1 differs from the source"

# A CSCD naming another target's LU: refused, nothing written there.
xcopy "$A" 8 0 "$(cscd "$NAA_A")$(cscd "$NAA_C")" "$(seg 0 1 64 0 0)"
status_is 0x02 "EXTENDED COPY to another target's LU"
sense_is 0x0a 0x0d 0x02 "EXTENDED COPY to another target's LU"
xcopy "$A" 9 0 "$(cscd "$NAA_C")$(cscd "$NAA_A")" "$(seg 0 1 64 0 65536)"
sense_is 0x0a 0x0d 0x02 "EXTENDED COPY from another target's LU"
cmd -n 32768 "$C" 28000000000000004000
[ "$(sed -n 's/^data   //p' <<<"$OUT" | tr -d 0)" = "" ] || fail "data reached the other target's LU"
cmd -n 32768 "$A" 28000001000000004000
[ "$(sed -n 's/^data   //p' <<<"$OUT" | tr -d 0)" = "" ] || fail "data came from the other target's LU: $OUT"
# A refused copy leaves no status behind for its list id.
cmd -n 64 "$A" "$(xcopy_cmd 8 0 "$(cscd "$NAA_A")$(cscd "$NAA_C")" "$(seg 0 1 64 0 0)")" \
	84000800000000000000000000400000
sense_is 0x05 0x24 0x00 "COPY STATUS of a refused copy"

# A source range past the end of the medium: COPY ABORTED with the segment pointer.
xcopy "$A" 10 0 "$(cscd "$NAA_A")$(cscd "$NAA_B")" "$(seg 0 1 8 131070 0)"
sense_is 0x0a 0x00 0x00 "EXTENDED COPY beyond the end"

# Once LUN 1 is unmapped, the session can no longer name it.
"${CTL[@]}" lun delete "$TEST_IQN" 1 >/dev/null || fail "lun delete"
xcopy "$A" 11 0 "$(cscd "$NAA_A")$(cscd "$NAA_B")" "$(seg 0 1 8 0 0)"
sense_is 0x0a 0x0d 0x02 "EXTENDED COPY to an unmapped LUN"

# invar-2026.1 and 2026.2 are unchanged: no such commands, no VPD 8Fh.
cmd -n 64 "$OLD" 84030000000000000000000000400000
sense_is 0x05 0x20 0x00 "RECEIVE COPY RESULTS on invar-2026.1"
cmd -n 64 "$OLD" 12010000ff00
status_is 0x00 "VPD 00h on invar-2026.1"
grep -q '8f' <<<"$(sed -n 's/^data   //p' <<<"$OUT" | cut -c9- | fold -w2)" &&
	fail "invar-2026.1 lists VPD 8Fh"
cmd -n 64 "$A" 12010000ff00
grep -qx '8f' <<<"$(sed -n 's/^data   //p' <<<"$OUT" | cut -c9- | fold -w2)" ||
	fail "invar-2026.3 does not list VPD 8Fh: $OUT"
invar_stop
