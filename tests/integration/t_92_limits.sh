#!/usr/bin/env bash
# Resource limits (invard --limit, the saved config's "limits"): the login timeout, sessions in
# all and per target (a login over either gets 0x0302 OUT OF RESOURCES), the MaxCmdSN window
# (a command beyond it is dropped, RFC 7143 4.2.2.1), MaxRecvDataSegmentLength, FirstBurstLength
# and MaxBurstLength declared and enforced on receive. Over raw PDUs (tests/tools/iscsi-raw.c).
. "$(dirname "$0")/lib.sh"
need socat
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
T2=iqn.2026-11.org.invar:second

# Bad values never start a daemon.
"$INVARD" --data-dir "$TMP/bad" --limit max_cmds=0 >"$TMP/bad.log" 2>&1 &&
	fail "--limit max_cmds=0 accepted"
grep -q "max_cmds: 0 is not 1 to 1024" "$TMP/bad.log" || fail "bad max_cmds: $(cat "$TMP/bad.log")"
"$INVARD" --data-dir "$TMP/bad" --limit first_burst_length=65536 \
	--limit max_burst_length=8192 >"$TMP/bad.log" 2>&1 && fail "first burst > max burst accepted"
grep -q "larger than max_burst_length" "$TMP/bad.log" || fail "burst check: $(cat "$TMP/bad.log")"
"$INVARD" --data-dir "$TMP/bad" --limit nosuch=1 >"$TMP/bad.log" 2>&1 && fail "unknown limit accepted"

invar_start --target "$TEST_IQN" --lun ram:16M --limit login_timeout=2 --limit max_sessions=3 \
	--limit max_sessions_per_target=2 --limit max_cmds=4 \
	--limit max_recv_data_segment_length=8192 --limit max_burst_length=16384 \
	--limit first_burst_length=4096
"${CTL[@]}" target create "$T2" >/dev/null || fail "target create"
"${CTL[@]}" lun add "$T2" ram:8M >/dev/null || fail "lun add"

# 1. What the target declares and negotiates.
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" login) || fail "login: $out"
echo "$out" | grep -qx "login 0x0000" || fail "login refused: $out"
echo "$out" | grep -qx "window 4" || fail "CmdSN window is not max_cmds=4: $out"
echo "$out" | grep -qx "max_burst 16384" || fail "MaxBurstLength not limited: $out"
echo "$out" | grep -qx "first_burst 4096" || fail "FirstBurstLength not limited: $out"
echo "$out" | grep -qx "mrdsl 8192" || fail "MaxRecvDataSegmentLength not declared: $out"
echo "$out" | grep -qx "logout ok" || fail "logout: $out"
echo "  negotiated: window 4, MaxBurstLength 16384, FirstBurstLength 4096, MRDSL 8192"

# 2. A command beyond MaxCmdSN gets no answer; the session stays usable.
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" window) || fail "window: $out"
echo "$out" | grep -qx "beyond dropped" || fail "command beyond MaxCmdSN was run: $out"
echo "$out" | grep -qx "inside status 0x00" || fail "in-window command after it: $out"

# 3. Sizes enforced on receive: immediate data beyond FirstBurstLength is rejected (protocol
# error), a Data-Out larger than our MaxRecvDataSegmentLength drops the connection.
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" imm-overrun) || fail "imm-overrun: $out"
echo "$out" | grep -qx "cmd reject 0x04" || fail "immediate data over FirstBurstLength: $out"
echo "$out" | grep -qx "after status 0x00" || fail "session after the reject: $out"
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" mrdsl-overrun) || fail "mrdsl-overrun: $out"
echo "$out" | grep -qx "cmd closed" || fail "Data-Out over MaxRecvDataSegmentLength: $out"
grep -q "bad lengths in Data-Out (data 16384, max 8192" "$TMP/invard.log" ||
	fail "oversized Data-Out not reported"
# The burst: an R2T never asks for more than MaxBurstLength.
out=$("$RAW" -k MaxBurstLength=4096 -k FirstBurstLength=4096 "127.0.0.1:$PORT" "$TEST_IQN" \
	burst-overrun) || fail "burst-overrun: $out"
echo "$out" | grep -qx "r2t offset 0 len 4096" || fail "R2T larger than MaxBurstLength: $out"
echo "$out" | grep -qx "cmd status 0x02 sense b/4b/00" || fail "Data-Out past the burst: $out"

# 4. Sessions: two held on the second target, then three logins to the first: max_sessions=3
# lets one in; once the two are gone, max_sessions_per_target=2 lets two in.
"$RAW" -w 4 "127.0.0.1:$PORT" "$T2" login >"$TMP/h1.out" 2>&1 &
h1=$!
"$RAW" -w 4 "127.0.0.1:$PORT" "$T2" login >"$TMP/h2.out" 2>&1 &
h2=$!
for _ in $(seq 1 50); do
	[ "$(grep -c "^login 0x0000" "$TMP/h1.out" "$TMP/h2.out" | awk -F: '{s+=$2} END {print s}')" = 2 ] && break
	sleep 0.1
done
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" sessions 3) || fail "sessions: $out"
echo "$out" | grep -qx "logged_in 1" || fail "max_sessions=3 with 2 held: $out"
echo "$out" | grep -qx "refused 2" || fail "max_sessions refusals: $out"
[ "$(echo "$out" | grep -c "^refused 0x0302")" = 2 ] || fail "refusal status is not 0x0302: $out"
grep -q "rejected (0x0302): max_sessions reached" "$TMP/invard.log" || fail "max_sessions not logged"
wait "$h1" "$h2"
grep -qx "logout ok" "$TMP/h1.out" && grep -qx "logout ok" "$TMP/h2.out" || fail "held sessions"
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" sessions 3) || fail "sessions: $out"
echo "$out" | grep -qx "logged_in 2" || fail "max_sessions_per_target=2: $out"
echo "$out" | grep -qx "io_ok 2" || fail "I/O on the admitted sessions: $out"
grep -q "rejected (0x0302): max_sessions_per_target reached" "$TMP/invard.log" ||
	fail "max_sessions_per_target not logged"
echo "  sessions: over max_sessions and max_sessions_per_target refused with 0x0302"

# 5. Login timeout: a connection that never logs in is closed after login_timeout (2 s).
start=$(date +%s%N)
timeout 10 socat -u "TCP:127.0.0.1:$PORT" - >/dev/null 2>&1
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -ge 1500 ] && [ "$took" -lt 6000 ] || fail "idle connection closed after ${took} ms"
grep -q "closing connection: login timeout" "$TMP/invard.log" || fail "login timeout not logged"
echo "  login timeout: idle connection closed after ${took} ms"

# 6. Saved and restored: "limits" holds what differs from the defaults; the file stays version 1.
"${CTL[@]}" config save "$TMP/saved.json" >/dev/null || fail "config save"
jq -e '.version == 1 and .limits.max_cmds == 4 and .limits.login_timeout == 2 and
	(.limits | has("max_sessions")) and (.limits | length) == 7' "$TMP/saved.json" >/dev/null ||
	fail "saved limits: $(jq -c '{version, limits}' "$TMP/saved.json")"
invar_stop
invar_start_config "$TMP/saved.json"
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" login) || fail "login after restore: $out"
echo "$out" | grep -qx "window 4" || fail "max_cmds not restored: $out"
"${CTL[@]}" config save "$TMP/saved2.json" >/dev/null || fail "config save 2"
cmp -s <(jq -S 'del(.invar_version)' "$TMP/saved.json") <(jq -S 'del(.invar_version)' "$TMP/saved2.json") ||
	fail "save, restore, save differs"
# A limit out of range in the file is refused with its path.
jq '.limits.max_cmds = 5000' "$TMP/saved.json" >"$TMP/badlim.json"
invar_stop
"$INVARD" --data-dir "$TMP/data" --config "$TMP/badlim.json" >"$TMP/bad.log" 2>&1 &&
	fail "max_cmds 5000 in a config accepted"
grep -q "limits.max_cmds: 5000 is not 1 to 1024" "$TMP/bad.log" || fail "bad limit: $(cat "$TMP/bad.log")"
# Defaults are not written: a config without limits stays as it was.
invar_start --target "$TEST_IQN" --lun ram:1M
"${CTL[@]}" config save "$TMP/plain.json" >/dev/null || fail "config save plain"
jq -e '.version == 1 and (has("limits") | not)' "$TMP/plain.json" >/dev/null ||
	fail "default limits written: $(cat "$TMP/plain.json")"
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" login) || fail "login default: $out"
echo "$out" | grep -qx "window 128" || fail "default window: $out"
invar_stop
echo "  config: limits saved (version 1), restored, range checked; defaults not written"
