#!/usr/bin/env bash
# LU capacity change at run time (docs/design/resize.md): `invarctl lun resize`.
#  1. Growth under I/O: two sessions (two I_T nexuses) each get CAPACITY DATA HAS CHANGED
#     exactly once, READ CAPACITY(10)/(16) give the new values, I/O past the old end works and
#     past the new end is LBA OUT OF RANGE; verify loops on two more sessions see no error; the
#     file grows sparse.
#  2. Shrink: refused without --force; with it, under verify I/O below the new end (no error)
#     and I/O across it (only LBA OUT OF RANGE); the file is cut; RAM shrinks and regrows zeroed.
#  3. --reread: a file grown outside invard; a block device (a loop device) after losetup -c.
#  4. Bad input: size 0, not a block multiple, unknown LUN/target, read-only, user backstore.
#  5. The size survives a restart (saved config) and a live migration.
. "$(dirname "$0")/lib.sh"
need jq
need socat
VERIFY=${VERIFY:-$PWD/$BUILD/tests/tools/iscsi-verify}
[ -x "$VERIFY" ] || fail "$VERIFY not built (make integration builds tests/tools)"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built"
IMG=$TMP/disk.img
RO=$TMP/ro.img
MIB=1048576
VPIDS=()
LOOP=
# (A loop device still open by invard is detached once invard, killed by cleanup, closes it.)
trap 'peer_stop_all; [ ${#VPIDS[@]} -eq 0 ] || kill "${VPIDS[@]}" 2>/dev/null
	[ -z "$LOOP" ] || losetup -d "$LOOP"; cleanup' EXIT

TUR=000000000000
RC10=25000000000000000000
RC16=9e100000000000000000000000200000
read16() { printf '8800%016x000000010000' "$1"; }	 # READ(16) one block at LBA
write16() { printf '8a00%016x000000010000=@%s' "$1" "$2"; } # WRITE(16) one block from FILE
head -c 512 /dev/urandom >"$TMP/blk"

# The answers of one iscsi-cmd run, a line per command: "status 0x.." or "key/asc/ascq" or data.
answers() { # answers FILE: one line per command: STATUS[ KEY/ASC/ASCQ][ data HEX]
	awk '/^status/ {if (l != "") print l; l = $2} /^key/ {l = l " " $2 "/" $4 "/" $6}
	     /^data/ {l = l " " $2} /^waiting/ {if (l != "") print l; l = ""; print "waiting"}
	     END {if (l != "") print l}' "$1"
}
nth() { answers "$1" | sed -n "$2p"; }
rc16_blocks() { # rc16_blocks URL: the number of blocks READ CAPACITY(16) reports
	local hex
	hex=$("$ISCSI_CMD" -n 32 "$1" "$RC16" | sed -n 's/^data *//p')
	[ -n "$hex" ] || return 1
	echo $((16#${hex:0:16} + 1))
}
verify_start() { # verify_start NAME URL SECONDS FIRST NBLOCKS
	"$VERIFY" -i "iqn.2026-11.org.invar:verify-$1" "$2" "$3" "$4" "$5" >"$TMP/verify-$1" 2>&1 &
	eval "VPID_$1=$!"
	VPIDS+=($!)
}
# verify_check NAME [END]: it did I/O without error and saw one UA; with END, errors are allowed only at or
# past LBA END (a shrink cut it off): LBA OUT OF RANGE, or a read-back that found the old data
# gone (a read admitted before the shrink, finished after the cut).
verify_check() {
	local pid line
	pid=$(eval echo "\$VPID_$1")
	wait "$pid" || fail "verify $1 exited with $?: $(cat "$TMP/verify-$1")"
	line=$(grep '^ios' "$TMP/verify-$1") || fail "verify $1: $(cat "$TMP/verify-$1")"
	set -- "$1" "${2:-}" $line
	[ "$4" -gt 0 ] || fail "verify $1 did no I/O: $line"
	# Each loop spans one resize: one CAPACITY DATA HAS CHANGED on its nexus.
	[ "$6" = 1 ] || fail "verify $1 saw $6 unit attentions, want 1: $line"
	if [ -n "$2" ]; then
		awk -v end="$2" '/^error/ && ($4 + 0 < end + 0 ||
			!(/key 0x5 ascq 0x2100/ || /^error verify/)) {bad = 1} END {exit bad}' \
			"$TMP/verify-$1" || fail "verify $1: unexpected errors: $(grep '^error' "$TMP/verify-$1")"
	else
		[ "$8" = 0 ] || fail "verify $1: $(cat "$TMP/verify-$1")"
	fi
	echo "    verify $1: $line"
}

truncate -s 4M "$RO"
invar_start --target "$TEST_IQN" --lun "file:$IMG,size=8M" --lun ram:4M \
	--lun "file:$RO,readonly=1" --workers 2
U0="$URL/$TEST_IQN/0"
U1="$URL/$TEST_IQN/1"
[ "$(rc16_blocks "$U0")" = 16384 ] || fail "LUN 0 does not start at 8 MiB"

# --- 1. growth under I/O, the UA once per nexus ------------------------------------------------
run_session() { # run_session NAME: the commands of one nexus around the resize
	"$ISCSI_CMD" -i "iqn.2026-11.org.invar:$1" -n 512 "$U0" $TUR $TUR $RC16 "wait:$TMP/go" \
		$TUR $TUR $RC10 $RC16 "$(read16 16383)" "$(read16 16384)" \
		"$(write16 30000 "$TMP/blk")" "$(read16 30000)" "$(read16 32767)" \
		"$(read16 32768)" >"$TMP/sess-$1" 2>&1
}
run_session a & SA=$!; VPIDS+=($SA)
run_session b & SB=$!; VPIDS+=($SB)
verify_start g1 "$U0" 6 0 8192	# disjoint ranges: each loop checks its own writes
verify_start g2 "$U0" 6 8192 8192
for _ in $(seq 1 100); do
	grep -q waiting "$TMP/sess-a" 2>/dev/null && grep -q waiting "$TMP/sess-b" 2>/dev/null && break
	sleep 0.1
done
grep -q waiting "$TMP/sess-a" && grep -q waiting "$TMP/sess-b" || fail "sessions not ready"
sleep 1	# the verify loops are running
t0=$(date +%s%N)
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 16M) || fail "lun resize 16M: $out"
grow_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$out" = "LUN 0 of $TEST_IQN: 8MiB -> 16MiB" ] || fail "lun resize said: $out"
touch "$TMP/go"
wait $SA || fail "session a: $(cat "$TMP/sess-a")"
wait $SB || fail "session b: $(cat "$TMP/sess-b")"
want_blk=$(xxd -p "$TMP/blk" | tr -d '\n')
for s in a b; do
	f=$TMP/sess-$s
	# (libiscsi's login sends TEST UNIT READY until the POWER ON UA has gone.)
	[ "$(nth "$f" 1)" = 0x00 ] || fail "$s: first TUR: $(nth "$f" 1)"
	[ "$(nth "$f" 2)" = 0x00 ] || fail "$s: second TUR: $(nth "$f" 2)"
	[ "$(nth "$f" 3 | cut -c1-29)" = "0x00 0000000000003fff00000200" ] ||
		fail "$s: RC16 before: $(nth "$f" 3)"
	[ "$(nth "$f" 4)" = waiting ] || fail "$s: $(answers "$f")"
	[ "$(nth "$f" 5)" = "0x02 0x06/0x2a/0x09" ] ||
		fail "$s: no CAPACITY DATA HAS CHANGED after the resize: $(nth "$f" 5)"
	[ "$(nth "$f" 6)" = 0x00 ] || fail "$s: the UA was reported twice: $(nth "$f" 6)"
	[ "$(nth "$f" 7)" = "0x00 00007fff00000200" ] || fail "$s: RC10 after: $(nth "$f" 7)"
	[ "$(nth "$f" 8 | cut -c1-29)" = "0x00 0000000000007fff00000200" ] ||
		fail "$s: RC16 after: $(nth "$f" 8)"
	[ "$(nth "$f" 9 | cut -c1-4)" = 0x00 ] || fail "$s: read at the old last LBA: $(nth "$f" 9)"
	[ "$(nth "$f" 10)" = "0x00 $(printf '%01024d' 0)" ] ||
		fail "$s: read past the old end (zeroes): $(nth "$f" 10 | cut -c1-40)"
	[ "$(nth "$f" 11)" = 0x00 ] || fail "$s: write past the old end: $(nth "$f" 11)"
	[ "$(nth "$f" 12)" = "0x00 $want_blk" ] || fail "$s: read back past the old end"
	[ "$(nth "$f" 13 | cut -c1-4)" = 0x00 ] || fail "$s: read at the new last LBA: $(nth "$f" 13)"
	[ "$(nth "$f" 14)" = "0x02 0x05/0x21/0x00" ] ||
		fail "$s: read past the new end: $(nth "$f" 14)"
done
echo "  grow 8M -> 16M (invarctl answered in $grow_ms ms): each nexus got 2A/09 once;" \
	"READ CAPACITY 10/16 new; I/O past the old end"
verify_check g1
verify_check g2
[ "$(stat -c %s "$IMG")" = $((16 * MIB)) ] || fail "the file is $(stat -c %s "$IMG") bytes"
alloc=$(( $(stat -c %b "$IMG") * $(stat -c %B "$IMG") ))
# The verify loops filled the first 8 MiB; of the grown half only the block written at 30000.
[ "$alloc" -le $((8 * MIB + 65536)) ] || fail "the grown file is not sparse: $alloc bytes allocated"
echo "  the file grew sparse: $alloc bytes allocated of 16 MiB (8 MiB written before)"

# --- 2. shrink ------------------------------------------------------------------------------
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 4M 2>&1) && fail "shrink without --force: $out"
echo "$out" | grep -q "discards the data past the new end.*--force" || fail "shrink refusal: $out"
[ "$(rc16_blocks "$U0")" = 32768 ] || fail "a refused shrink changed the capacity"
verify_start s1 "$U0" 5 0 4096		# below the new end: no error
verify_start s2 "$U0" 5 4096 28672	# across it: errors only past the end once shrunk
sleep 1.5
t0=$(date +%s%N)
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 4M --force) || fail "shrink --force: $out"
shrink_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$out" = "LUN 0 of $TEST_IQN: 16MiB -> 4MiB" ] || fail "lun resize said: $out"
verify_check s1
verify_check s2 8192
[ "$(rc16_blocks "$U0")" = 8192 ] || fail "RC16 after the shrink: $(rc16_blocks "$U0")"
[ "$(nth <("$ISCSI_CMD" -n 512 "$U0" "$(read16 8192)") 1)" = "0x02 0x05/0x21/0x00" ] ||
	fail "read past the shrunk end"
[ "$(stat -c %s "$IMG")" = $((4 * MIB)) ] || fail "the file was not cut: $(stat -c %s "$IMG")"
# RAM: shrink, then grow again: the regrown range reads zeroes.
"$ISCSI_CMD" "$U1" "$(write16 6000 "$TMP/blk")" | grep -q '^status 0x00' || fail "ram write"
"${CTL[@]}" lun resize "$TEST_IQN" 1 1M --force >/dev/null || fail "ram shrink"
"${CTL[@]}" lun resize "$TEST_IQN" 1 4M >/dev/null || fail "ram grow"
[ "$(nth <("$ISCSI_CMD" -n 512 "$U1" $TUR "$(read16 6000)") 2)" = "0x00 $(printf '%01024d' 0)" ] ||
	fail "ram: the regrown range does not read zeroes"
echo "  shrink: refused without --force; 16M -> 4M under I/O, writes drained (invarctl" \
	"answered in $shrink_ms ms; errors only past the end); file cut; RAM regrows zeroed"

# --- 3. re-read a file grown outside invard --------------------------------------------------
truncate -s 24M "$IMG"
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 --reread) || fail "--reread: $out"
[ "$out" = "LUN 0 of $TEST_IQN: 4MiB -> 24MiB" ] || fail "--reread said: $out"
[ "$(rc16_blocks "$U0")" = 49152 ] || fail "RC16 after --reread"
out=$("${CTL[@]}" lun resize "$TEST_IQN" 0 --reread) || fail "--reread again: $out"
[ "$out" = "LUN 0 of $TEST_IQN: 24MiB, unchanged" ] || fail "--reread unchanged said: $out"
echo "  --reread: 4M -> 24M grown outside invard"
# A block device (a loop device over a file, where the machine lets us make one): its size is
# its own; --reread takes it after `losetup -c`, a larger explicit size is refused.
truncate -s 8M "$TMP/dev.img"
if LOOP=$(losetup -f --show "$TMP/dev.img" 2>/dev/null); then
	"${CTL[@]}" lun add "$TEST_IQN" "file:$LOOP" --lun 4 >/dev/null || fail "lun add $LOOP"
	truncate -s 12M "$TMP/dev.img"
	losetup -c "$LOOP" || fail "losetup -c"
	out=$("${CTL[@]}" lun resize "$TEST_IQN" 4 --reread) || fail "--reread $LOOP: $out"
	[ "$out" = "LUN 4 of $TEST_IQN: 8MiB -> 12MiB" ] || fail "--reread $LOOP said: $out"
	[ "$(rc16_blocks "$URL/$TEST_IQN/4")" = 24576 ] || fail "RC16 of the block device LU"
	out=$("${CTL[@]}" lun resize "$TEST_IQN" 4 16M 2>&1) && fail "grew past the device: $out"
	echo "$out" | grep -q "larger than block device" || fail "past the device: $out"
	"${CTL[@]}" lun delete "$TEST_IQN" 4 >/dev/null || fail "lun delete 4"
	losetup -d "$LOOP"
	LOOP=
	echo "  block device ($(basename "$TMP")/dev.img on a loop device): --reread 8M -> 12M after losetup -c; past its end refused"
else
	echo "  (no loop device here: the block device case is not run)"
fi

# --- 4. bad input ---------------------------------------------------------------------------
bad() { # bad WANT_REGEX ARGS...: invarctl lun resize ARGS fails saying WANT
	local want=$1 out
	shift
	out=$("${CTL[@]}" lun resize "$@" 2>&1) && fail "lun resize $* succeeded: $out"
	echo "$out" | grep -qE "$want" || fail "lun resize $*: $out (want /$want/)"
}
bad "not a size" "$TEST_IQN" 0 0
bad "not a size" "$TEST_IQN" 0 12X
bad "multiple of the block size" "$TEST_IQN" 0 1000
bad "has no LUN 9" "$TEST_IQN" 9 1M
bad "no target" iqn.2026-11.org.invar:nosuch 0 1M
bad "read-only" "$TEST_IQN" 2 8M
bad "usage" "$TEST_IQN" 0 1M --reread
# size 0 at the RPC level as well.
out=$(printf '{"jsonrpc":"2.0","id":1,"method":"lun_resize","params":{"iqn":"%s","lun":0,"size":0}}\n' \
	"$TEST_IQN" | socat -t 2 - "UNIX-CONNECT:$TMP/data/invar.sock")
echo "$out" | jq -e '.error.code == -32602' >/dev/null || fail "size 0 over RPC: $out"
"${CTL[@]}" lun add "$TEST_IQN" user:nohandler,size=1M --lun 3 >/dev/null || fail "user lun add"
bad "handler ring .* cannot tell a handler" "$TEST_IQN" 3 2M
[ "$(stat -c %s "$RO")" = $((4 * MIB)) ] || fail "the read-only file changed"
kill -0 "$INVARD_PID" || fail "invard died"
echo "  refused: size 0, 12X, 1000, unknown LUN/target, read-only, user backstore"

# --- 5. restart and migration keep the size -------------------------------------------------
"${CTL[@]}" lun resize "$TEST_IQN" 0 32M >/dev/null || fail "resize to 32M"
"${CTL[@]}" lun delete "$TEST_IQN" 3 >/dev/null || fail "lun delete"
invar_stop
"$INVARD" --data-dir "$TMP/data" >>"$TMP/invard.log" 2>&1 &
INVARD_PID=$!
wait_listening "$PORT" || fail "invard did not restart from the saved config"
wait_ctl_socket "$TMP/data/invar.sock" || fail "no control socket after restart"
[ "$(rc16_blocks "$U0")" = 65536 ] || fail "after restart LUN 0 has $(rc16_blocks "$U0") blocks"
[ "$(rc16_blocks "$U1")" = 8192 ] || fail "after restart LUN 1 (ram) has $(rc16_blocks "$U1") blocks"
echo "  restart: LUN 0 32M and LUN 1 4M kept (saved config)"
invar_stop
AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "file:$IMG" --lun ram:2M --migration-listen "127.0.0.1:$AMIG"
"${CTL[@]}" lun resize "$TEST_IQN" 0 40M >/dev/null || fail "resize before migrating"
"${CTL[@]}" lun resize "$TEST_IQN" 1 6M >/dev/null || fail "ram resize before migrating"
peer_start B --target iqn.2026-11.org.invar:other --lun ram:1M
for l in 0 1; do
	"${CTL[@]}" lu migrate "$TEST_IQN" $l --to "127.0.0.1:$B_MIG" >/dev/null ||
		fail "migrating LUN $l after the resize failed"
done
UB="iscsi://127.0.0.1:$B_PORT/$TEST_IQN"
[ "$(rc16_blocks "$UB/0")" = 81920 ] || fail "B serves LUN 0 with $(rc16_blocks "$UB/0") blocks"
[ "$(rc16_blocks "$UB/1")" = 12288 ] || fail "B serves LUN 1 with $(rc16_blocks "$UB/1") blocks"
echo "  migration after a resize: B serves 40M (file) and 6M (ram)"
peer_stop_all
invar_stop
echo "PASS"
