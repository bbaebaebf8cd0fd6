#!/usr/bin/env bash
# EXTENDED COPY data movement (invar-2026.3): 16 MiB copies in 1 MiB chunks between file LUs of
# both block sizes land byte for byte, with COPY STATUS counting segments and bytes; mixed block
# sizes are refused. (Errors in the middle of a copy are covered by tests/unit/test_scsi_xcopy.c
# with a backstore that fails on demand.)
. "$(dirname "$0")/lib.sh"
need cmp
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
head -c 32M /dev/urandom >"$TMP/src.img"
head -c 32M /dev/urandom >"$TMP/src4k.img"
invar_start --target "$TEST_IQN" --lun "file:$TMP/src.img,profile=invar-2026.3" \
	--lun "file:$TMP/data/dst.img,size=32M,profile=invar-2026.3" \
	--lun "file:$TMP/src4k.img,block_size=4096,profile=invar-2026.3" \
	--lun "file:$TMP/data/dst4k.img,size=32M,block_size=4096,profile=invar-2026.3"

cmd() {
	ALL=$("$ISCSI_CMD" "$@") || fail "iscsi-cmd $* failed to run"
	OUT=$(awk '/^next$/ { buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }' <<<"$ALL")
}
naa() {
	cmd -n 255 "$URL/$TEST_IQN/$1" 12018300ff00
	sed -n 's/^data   //p' <<<"$OUT" | cut -c17-32
}
cscd() { printf 'e400000001030008%s000000000000000000000000%08x' "$1" "$2"; }
seg() { printf '02000018%04x%04x0000%04x%016x%016x' "$1" "$2" "$3" "$4" "$5"; }
xcopy_cmd() { # LIST_ID CSCDS SEGS
	local hdr
	hdr=$(printf '%02x00%04x00000000%08x00000000' "$1" $((${#2} / 2)) $((${#3} / 2)))
	printf '83000000000000000000%08x0000=%s' $(((${#hdr} + ${#2} + ${#3}) / 2)) "$hdr$2$3"
}
TUR=000000000000
RCR_STATUS=84000500000000000000000000400000

# 512-byte blocks: 2 segments of 16384 blocks (8 MiB each, 8 chunks each) into dst.img.
S=$(naa 0) D=$(naa 1)
cmd -n 64 "$URL/$TEST_IQN/0" $TUR \
	"$(xcopy_cmd 5 "$(cscd "$S" 512)$(cscd "$D" 512)" \
		"$(seg 0 1 16384 0 0)$(seg 0 1 16384 16384 16384)")" $RCR_STATUS
[ "$(grep -c '^status 0x00$' <<<"$ALL")" = 3 ] || fail "16 MiB copy: $ALL"
# COPY STATUS: done, 2 segments, 16 MiB = 0x1000000 bytes.
grep -qx 'data   000000080100020001000000' <<<"$ALL" || fail "COPY STATUS after 16 MiB: $ALL"
cmp -n 16777216 "$TMP/src.img" "$TMP/data/dst.img" || fail "dst.img differs from src.img"

# 4096-byte blocks: 4096 blocks (16 MiB) in one segment.
S4=$(naa 2) D4=$(naa 3)
cmd "$URL/$TEST_IQN/2" $TUR \
	"$(xcopy_cmd 0 "$(cscd "$S4" 4096)$(cscd "$D4" 4096)" "$(seg 0 1 4096 0 0)")"
grep -q '^status 0x00$' <<<"$OUT" || fail "4 KiB-block copy: $ALL"
cmp -n 16777216 "$TMP/src4k.img" "$TMP/data/dst4k.img" || fail "dst4k.img differs"
# Mixing block sizes is not a copy we do.
cmd "$URL/$TEST_IQN/2" $TUR \
	"$(xcopy_cmd 0 "$(cscd "$S4" 4096)$(cscd "$D" 512)" "$(seg 0 1 8 0 0)")"
grep -q '^key    0x05 asc 0x26 ascq 0x0c$' <<<"$OUT" || fail "mixed block sizes: $ALL"

invar_stop
