#!/usr/bin/env bash
# Write buffers are budgeted: a WRITE's buffer is allocated (and zeroed) when the command
# arrives, before its data, so without a budget a handful of PDUs would pin gigabytes. With
# --limit session_write_mb=64 and write_buffer_mb=96, WRITEs of 16 MiB whose data never comes
# (iscsi-raw heldwrites):
#  - session A: the first 4 get an R2T (64 MiB held), the other 12 TASK SET FULL at once;
#  - session B, while A holds: 2 get an R2T (the daemon's 96 MiB), the other 14 BUSY;
#  - invard's resident memory grows by about what is admitted, not by 512 MiB;
#  - once both sessions are gone the budgets are free again (a third session gets 4 R2Ts) and
#    a WRITE with its data still works.
. "$(dirname "$0")/lib.sh"
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
[ -x "$RAW" ] || fail "$RAW not built"
invar_start --target "$TEST_IQN" --lun ram:64M --limit session_write_mb=64 --limit write_buffer_mb=96
LEN=$((16 << 20))
rss_mb() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$INVARD_PID/status"; }
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

rss0=$(rss_mb)
"$RAW" -w 6 "127.0.0.1:$PORT" "$TEST_IQN" heldwrites 16 $LEN >"$TMP/a" 2>&1 &
PA=$!
for _ in $(seq 1 100); do grep -q "^other" "$TMP/a" && break; sleep 0.05; done
[ "$(val r2t "$TMP/a")" = 4 ] && [ "$(val tsf "$TMP/a")" = 12 ] && [ "$(val busy "$TMP/a")" = 0 ] &&
	[ "$(val other "$TMP/a")" = 0 ] || fail "session A: $(tr '\n' ' ' <"$TMP/a")"
echo "  session A, 16 x 16 MiB: 4 admitted (its 64 MiB), 12 TASK SET FULL"

"$RAW" -w 2 "127.0.0.1:$PORT" "$TEST_IQN" heldwrites 16 $LEN >"$TMP/b" 2>&1 &
PB=$!
for _ in $(seq 1 100); do grep -q "^other" "$TMP/b" && break; sleep 0.05; done
[ "$(val r2t "$TMP/b")" = 2 ] && [ "$(val busy "$TMP/b")" = 14 ] && [ "$(val tsf "$TMP/b")" = 0 ] &&
	[ "$(val other "$TMP/b")" = 0 ] || fail "session B: $(tr '\n' ' ' <"$TMP/b")"
rss1=$(rss_mb)
grow=$((rss1 - rss0))
[ "$grow" -le 150 ] || fail "invard grew by $grow MiB with 96 MiB admitted"
echo "  session B while A holds: 2 admitted (the daemon's 96 MiB), 14 BUSY; invard grew $grow MiB"

wait $PA $PB
sleep 0.5
"$RAW" -w 0 "127.0.0.1:$PORT" "$TEST_IQN" heldwrites 16 $LEN >"$TMP/c" 2>&1 ||
	fail "session C: $(cat "$TMP/c")"
[ "$(val r2t "$TMP/c")" = 4 ] && [ "$(val tsf "$TMP/c")" = 12 ] ||
	fail "session C after A and B left: $(tr '\n' ' ' <"$TMP/c")"
head -c 4096 /dev/urandom >"$TMP/wdata"
out=$("$ISCSI_CMD" "$URL/$TEST_IQN/0" "2a000000000000000800=@$TMP/wdata") || fail "write: $out"
echo "$out" | grep -q "^status 0x00" || fail "write after the sessions left: $out"
got=$("$ISCSI_CMD" -n 4096 "$URL/$TEST_IQN/0" 28000000000000000800 | sed -n 's/^data *//p')
[ "$got" = "$(od -An -v -tx1 "$TMP/wdata" | tr -d ' \n')" ] || fail "read back differs"
echo "  after A and B left: the budgets are free again (4 admitted), and a WRITE with data is GOOD"
invar_stop
