#!/usr/bin/env bash
# I/O statistics (docs/design/stats.md, docs/RPC.md "stats"): known I/O on one LU is counted
# exactly (READs, WRITEs, bytes, an ILLEGAL REQUEST by its sense key, a RESERVATION CONFLICT by
# its status), latency percentiles are
# there and ordered, a session under load is counted as its LU is; `invarctl stats` and
# `invarctl top -n 2` print sensible tables; /metrics (--metrics-listen) passes
# `promtool check metrics` while I/O runs and carries the same figures.
. "$(dirname "$0")/lib.sh"
need jq
need curl
need promtool
need iscsi-perf
MPORT=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun ram:16M --lun ram:16M --lun ram:1M \
	--metrics-listen "127.0.0.1:$MPORT"

# LUN 1: 7 READ(10) of 8 blocks, 3 WRITE(10) of 2 blocks, 1 READ(10) past the end.
N=7 M=3
cmds=()
for i in $(seq 1 $N); do cmds+=("28 00 00 00 00 $(printf %02x $((i * 8))) 00 00 08 00"); done
data=$(head -c 1024 /dev/urandom | xxd -p | tr -d '\n')
for i in $(seq 1 $M); do cmds+=("2a 00 00 00 01 $(printf %02x "$i") 00 00 02 00=$data"); done
cmds+=("28 00 00 ff ff 00 00 00 01 00")
"$ISCSI_CMD" -n 4096 "$URL/$TEST_IQN/1" "${cmds[@]}" >"$TMP/cmd.out" 2>&1 || fail "iscsi-cmd: $(cat "$TMP/cmd.out")"
[ "$(grep -c '^status 0x00' "$TMP/cmd.out")" = $((N + M)) ] || fail "not all commands GOOD: $(cat "$TMP/cmd.out")"
grep -q '^key    0x05 asc 0x21' "$TMP/cmd.out" || fail "no LBA OUT OF RANGE: $(cat "$TMP/cmd.out")"

"${CTL[@]}" --json stats "$TEST_IQN" 1 >"$TMP/s1.json" || fail "stats RPC"
lu1() { jq -e ".luns[] | select(.lun == 1) | $1" "$TMP/s1.json" >/dev/null || fail "LUN 1: $1: $(jq -c '.luns[]' "$TMP/s1.json")"; }
[ "$(jq '.luns | length' "$TMP/s1.json")" = 1 ] || fail "stats IQN 1 lists other LUs"
lu1 ".commands.read == $((N + 1)) and .commands.write == $M"
lu1 ".bytes_read == $((N * 4096)) and .bytes_written == $((M * 1024))"
lu1 '.sense_keys.illegal_request == 1'
lu1 '.status.check_condition == (.sense_keys | add)'
lu1 '.status.good == (.commands.read + .commands.write + .commands.other - .status.check_condition)'
lu1 '.latency.count == (.status | add) and .aborted == 0 and .queue_depth == 0'
lu1 '.latency.p50_us > 0 and .latency.p50_us <= .latency.p99_us and .latency.p99_us <= .latency.p999_us'
lu1 '(.latency.buckets | add) == .latency.count and .latency.sum_us >= 0'
echo "  LUN 1: $((N + 1)) READs, $M WRITEs, $((N * 4096)) and $((M * 1024)) bytes, 1 ILLEGAL REQUEST, counted exactly; p50 <= p99 <= p99.9"

# LUN 2: a persistent reservation (Write Exclusive) held by one initiator; another's WRITE(10)
# is answered RESERVATION CONFLICT, a status without sense data (SPC-4 5.12).
K=000000000000abcd
"$ISCSI_CMD" -i iqn.2026-12.org.invar:holder "$URL/$TEST_IQN/2" \
	"5f 00 00 00 00 00 00 00 18 00=0000000000000000${K}000000000000000000000000" \
	"5f 01 01 00 00 00 00 00 18 00=${K}0000000000000000000000000000000000000000" \
	>"$TMP/pr.out" 2>&1 && [ "$(grep -c '^status 0x00' "$TMP/pr.out")" = 2 ] ||
	fail "PR register/reserve: $(cat "$TMP/pr.out")"
"$ISCSI_CMD" -i iqn.2026-12.org.invar:other "$URL/$TEST_IQN/2" \
	"2a 00 00 00 00 00 00 00 01 00=$(head -c 512 /dev/zero | xxd -p | tr -d '\n')" \
	>"$TMP/conflict.out" 2>&1 && grep -q '^status 0x18' "$TMP/conflict.out" ||
	fail "no RESERVATION CONFLICT: $(cat "$TMP/conflict.out")"
"${CTL[@]}" --json stats "$TEST_IQN" 2 | jq -e '.luns[0] | .status.reservation_conflict == 1 and
	.commands.write == 1 and .bytes_written == 0' >/dev/null ||
	fail "LUN 2: $("${CTL[@]}" --json stats "$TEST_IQN" 2 | jq -c '.luns[0] | {commands, status}')"
echo "  LUN 2: a WRITE answered RESERVATION CONFLICT counted by its status, no bytes written"

# LUN 0 under load; its session is counted as the LU is.
timeout 20 iscsi-perf -m 8 "$URL/$TEST_IQN/0" >"$TMP/perf" 2>&1 &
PP=$!
trap 'kill $PP 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do
	n=$("${CTL[@]}" --json stats "$TEST_IQN" 0 | jq '.luns[0].commands.read')
	[ "${n:-0}" -gt 1000 ] && break
	sleep 0.1
done
[ "${n:-0}" -gt 1000 ] || fail "no reads counted on LUN 0 under load: $n"
"${CTL[@]}" --json stats >"$TMP/s2.json" || fail "stats RPC"
jq -e '.sessions[] | select(.initiator == "iqn.2010-11.libiscsi:iscsi-perf") |
	.commands.read > 1000 and .target == "'"$TEST_IQN"'" and (.isid | length) == 12 and
	.latency.p50_us <= .latency.p99_us' "$TMP/s2.json" >/dev/null ||
	fail "the load's session is not counted: $(jq -c .sessions "$TMP/s2.json")"

# The tables.
"${CTL[@]}" stats >"$TMP/table" || fail "invarctl stats"
grep -q '^LU / SESSION  *READS  *WRITES' "$TMP/table" || fail "no header: $(cat "$TMP/table")"
awk -v n="$TEST_IQN/1" '$1 == n && $2 == '$((N + 1))' && $3 == '$M' { ok = 1 } END { exit !ok }' \
	"$TMP/table" || fail "LUN 1 row: $(cat "$TMP/table")"
grep -q 'illegal_request 1' "$TMP/table" || fail "no error column: $(cat "$TMP/table")"
grep -q "^$TEST_IQN/2 .*reservation_conflict 1" "$TMP/table" || fail "no status in the error column: $(cat "$TMP/table")"
grep -q '^session .*iscsi-perf' "$TMP/table" || fail "no session row: $(cat "$TMP/table")"
"${CTL[@]}" stats "$TEST_IQN" 1 | grep -q "$TEST_IQN/0" && fail "stats IQN 1 shows LUN 0"
"${CTL[@]}" stats "$TEST_IQN" 999 >/dev/null 2>&1 && fail "stats accepted LUN 999"
"${CTL[@]}" top -n 2 -d 1 >"$TMP/top" || fail "invarctl top"
[ "$(grep -c '^invarctl top' "$TMP/top")" = 2 ] || fail "top -n 2 printed: $(cat "$TMP/top")"
grep -q $'\033' "$TMP/top" && fail "top wrote escape codes to a pipe"
awk -v n="$TEST_IQN/0" '$1 == n && $2 > 100 { ok = 1 } END { exit !ok }' "$TMP/top" ||
	fail "top shows no IOPS on LUN 0: $(cat "$TMP/top")"
echo "  invarctl stats: a row per LU and session; top -n 2: two plain blocks with IOPS"

# Prometheus, while the load runs.
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$TMP/metrics" || fail "GET /metrics"
promtool check metrics <"$TMP/metrics" >"$TMP/promtool" 2>&1 ||
	fail "promtool check metrics: $(cat "$TMP/promtool")"
m() { grep -qxF "$1" "$TMP/metrics" || fail "no '$1' in /metrics: $(grep 'lun="1"' "$TMP/metrics" | head -20)"; }
L="target=\"$TEST_IQN\",lun=\"1\""
m "invar_lu_commands_total{$L,kind=\"read\"} $((N + 1))"
m "invar_lu_commands_total{$L,kind=\"write\"} $M"
m "invar_lu_read_bytes_total{$L} $((N * 4096))"
m "invar_lu_written_bytes_total{$L} $((M * 1024))"
m "invar_lu_check_conditions_total{$L,sense_key=\"illegal_request\"} 1"
m "invar_lu_queue_depth{$L} 0"
m "invar_lu_responses_total{target=\"$TEST_IQN\",lun=\"2\",status=\"reservation_conflict\"} 1"
cnt=$(jq '.luns[] | select(.lun == 1) | .latency.count' "$TMP/s1.json")
m "invar_lu_command_duration_seconds_bucket{$L,le=\"+Inf\"} $cnt"
m "invar_lu_command_duration_seconds_count{$L} $cnt"
grep -q '^invar_session_commands_total{target="'"$TEST_IQN"'",initiator="iqn.2010-11.libiscsi:iscsi-perf",isid="[0-9a-f]\{12\}",kind="read"} [1-9]' \
	"$TMP/metrics" || fail "no session series in /metrics"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")" = 404 ] ||
	fail "/other is not 404"
echo "  /metrics: promtool check metrics passes; LU and session series match the RPC"
kill "$PP" 2>/dev/null
wait "$PP" 2>/dev/null
invar_stop

