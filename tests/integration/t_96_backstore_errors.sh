#!/usr/bin/env bash
# Backstore errors on write and on flush become the right sense, never GOOD: EIO on a WRITE is
# MEDIUM ERROR / WRITE ERROR (3/0C/00) with the LBA in INFORMATION, ENOSPC and EDQUOT are DATA
# PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT (7/27/07), EIO on SYNCHRONIZE CACHE and on a FUA
# write is MEDIUM ERROR / WRITE ERROR. The errors come from invard's test-only --fault option
# (src/backstore/fault.c): the container cannot make a real disk fail (no device-mapper), and an
# injected errno goes through exactly the completion path a failing file or device would take.
. "$(dirname "$0")/lib.sh"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"

BLOCK=$(head -c 512 /dev/zero | tr '\0' '\132' | xxd -p | tr -d '\n')
W10="2a000000001000000100"
W10_FUA="2a080000001000000100"
SYNC10="35000000000000000000"
TUR="000000000000"

# run CMD...: one session; the power-on unit attention is taken by a TEST UNIT READY first.
# Prints one line per command: "status 0xSS [key 0xK asc 0xA ascq 0xQ]".
run() {
	"$ISCSI_CMD" "$URL/$TEST_IQN/0" "$TUR" "$@" >"$TMP/out" 2>&1 || fail "iscsi-cmd: $(cat "$TMP/out")"
	awk '/^next/ {n++; next} n >= 1 && /^(status|key)/ {$1 = $1; line[n] = line[n] (line[n] ? " " : "") $0}
	     END {for (i = 1; i <= n; i++) print line[i]}' "$TMP/out"
}
expect() {	# expect N "WHAT" "LINE"
	local got
	got=$(sed -n "${1}p" "$TMP/res")
	[ "$got" = "$3" ] || fail "$2: got '$got', expected '$3'"
	echo "  $2: $3"
}

# 1. EIO on the second write only: GOOD, MEDIUM ERROR, GOOD (the LU keeps working).
invar_start --target "$TEST_IQN" --lun "file:$TMP/a.img,size=16M" --fault write=eio,after=1,count=1
run "$W10=$BLOCK" "$W10=$BLOCK" "$W10=$BLOCK" >"$TMP/res"
expect 1 "write before the fault" "status 0x00"
expect 2 "write with EIO" "status 0x02 key 0x03 asc 0x0c ascq 0x00"
expect 3 "write after the fault" "status 0x00"
# INFORMATION holds the LBA of the failed write (16): fixed format bytes 3-6 with VALID set.
sense=$(awk '/^next/ {n++; next} n == 2 && /^sense/ {print $2}' "$TMP/out")
case $sense in
f0??03000000101*|f0??0300000010*) ;;
*) fail "EIO write sense $sense: INFORMATION is not LBA 16 (fixed format, VALID)" ;;
esac
invar_stop

# 2. ENOSPC and EDQUOT on write: SPACE ALLOCATION FAILED.
invar_start --target "$TEST_IQN" --lun "file:$TMP/b.img,size=16M" --fault write=enospc,count=1 \
	--fault write=edquot,count=1
run "$W10=$BLOCK" "$W10=$BLOCK" "$W10=$BLOCK" >"$TMP/res"
expect 1 "write with ENOSPC" "status 0x02 key 0x07 asc 0x27 ascq 0x07"
expect 2 "write with EDQUOT" "status 0x02 key 0x07 asc 0x27 ascq 0x07"
expect 3 "write once space is back" "status 0x00"
invar_stop

# 3. EIO on fsync: SYNCHRONIZE CACHE and FUA writes fail; plain writes still succeed.
invar_start --target "$TEST_IQN" --lun "file:$TMP/c.img,size=16M" --fault flush=eio \
	--fault fua=eio
run "$W10=$BLOCK" "$SYNC10" "$W10_FUA=$BLOCK" "$W10=$BLOCK" >"$TMP/res"
expect 1 "plain write" "status 0x00"
expect 2 "SYNCHRONIZE CACHE with EIO" "status 0x02 key 0x03 asc 0x0c ascq 0x00"
expect 3 "FUA write with EIO" "status 0x02 key 0x03 asc 0x0c ascq 0x00"
expect 4 "plain write after" "status 0x00"
invar_stop

# 4. The same through a real client: qemu-io's flush gets the error, the write before it not.
if command -v qemu-io >/dev/null; then
	invar_start --target "$TEST_IQN" --lun "file:$TMP/d.img,size=16M" --fault flush=eio
	qemu-io -f raw -c "write -P 0x5a 0 4k" -c "flush" "$URL/$TEST_IQN/0" >"$TMP/qio" 2>&1 &&
		fail "qemu-io succeeded despite the failing flush"
	grep -q "wrote 4096/4096" "$TMP/qio" || fail "qemu-io write: $(cat "$TMP/qio")"
	grep -q "SYNCHRONIZECACHE10 failed: SENSE KEY:.*(3)" "$TMP/qio" ||
		fail "qemu-io flush: $(cat "$TMP/qio")"
	echo "  qemu-io: write ok, flush fails with MEDIUM ERROR"
	invar_stop
fi
