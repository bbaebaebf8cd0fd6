#!/usr/bin/env bash
# Resource limits at run time: RPC limits_get / limits_set and invarctl limits. A change is
# validated as a whole (ranges, first_burst_length <= max_burst_length; nothing changes on an
# error), applies to what starts after it (new connections and logins; sessions already in keep
# theirs), and config save keeps it so a restart from the saved config has it.
. "$(dirname "$0")/lib.sh"
need jq
need socat
RAW=$PWD/$BUILD/tests/tools/iscsi-raw
ROBUST=$PWD/$BUILD/tests/tools/iscsi-robust
invar_start --target "$TEST_IQN" --lun ram:16M

lim() { "${CTL[@]}" --json limits | jq -r ".limits.$1"; }
rpc_err() {	# rpc_err PARAMS_JSON: prints "code message" of a limits_set error
	echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits_set\",\"params\":$1}" |
		socat - "UNIX-CONNECT:$TMP/data/invar.sock" | jq -r '"\(.error.code) \(.error.message)"'
}

[ "$("${CTL[@]}" --json limits | jq '.keys | length')" = 9 ] || fail "limits_get: not 9 keys"
[ "$(lim max_cmds)" = 128 ] && [ "$(lim login_timeout)" = 30 ] || fail "defaults"
"${CTL[@]}" limits | grep -q "^max_cmds  *128  (default 128; applies to sessions logged in after" ||
	fail "invarctl limits: $("${CTL[@]}" limits)"

# A session logged in before the change keeps its window.
"$ROBUST" -n iqn.2026-11.org.invar.test:before "127.0.0.1:$PORT" "$TEST_IQN" hold 30 >"$TMP/before" &
HOLD=$!
for _ in $(seq 1 100); do grep -q io_running "$TMP/before" && break; sleep 0.05; done
"${CTL[@]}" limits set max_cmds=8 max_recv_data_segment_length=8192 >/dev/null || fail "limits set"
[ "$(lim max_cmds)" = 8 ] && [ "$(lim max_recv_data_segment_length)" = 8192 ] || fail "not set"
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" login)
echo "$out" | grep -qx "window 8" || fail "new session's window: $out"
echo "$out" | grep -qx "mrdsl 8192" || fail "new connection's MaxRecvDataSegmentLength: $out"
echo "  max_cmds=8, MRDSL=8192 set at run time: the next login gets them"

# Refused changes name the reason and change nothing.
e=$(rpc_err '{"max_cmds":0}')
[ "$e" = "-32602 max_cmds: 0 is not 1 to 1024" ] || fail "max_cmds=0: $e"
e=$(rpc_err '{"max_cmds":16,"bogus":1}')
case $e in "-32602 unknown param 'bogus'"*) ;; *) fail "unknown key: $e" ;; esac
e=$(rpc_err '{"first_burst_length":2097152}')
[ "$e" = "-22 first_burst_length 2097152 is larger than max_burst_length 1048576" ] || fail "burst: $e"
e=$(rpc_err '{}')
case $e in "-32602 no limit given"*) ;; *) fail "empty: $e" ;; esac
e=$(rpc_err '{"login_timeout":"5"}')
case $e in "-32602 param 'login_timeout' must be an integer"*) ;; *) fail "string: $e" ;; esac
"${CTL[@]}" limits set max_cmds=2000 2>"$TMP/err" && fail "max_cmds=2000 accepted"
grep -q "max_cmds: 2000 is not 1 to 1024" "$TMP/err" || fail "no reason: $(cat "$TMP/err")"
"${CTL[@]}" limits set max_cmds 2>/dev/null; [ $? = 2 ] || fail "invarctl: KEY without =VALUE not a usage error"
[ "$(lim max_cmds)" = 8 ] && [ "$(lim first_burst_length)" = 262144 ] || fail "a refused change changed something"
echo "  bad values refused with reasons (-32602 range/unknown/type, -22 first > max burst); nothing changed"

# max_sessions_per_target=1: the session already in stays, the next login is refused (0302).
"${CTL[@]}" limits set max_sessions_per_target=1 >/dev/null || fail "limits set per target"
out=$("$RAW" "127.0.0.1:$PORT" "$TEST_IQN" login)
echo "$out" | grep -qx "login 0x0302" || fail "second session admitted: $out"
kill -0 "$HOLD" 2>/dev/null && ! grep -q io_ended "$TMP/before" || fail "the session already in ended: $(cat "$TMP/before")"
kill "$HOLD"; wait "$HOLD" 2>/dev/null
echo "  max_sessions_per_target=1: the next login gets 0302, the session already in goes on"

# login_timeout=1: a connection that does not log in is closed after about a second.
"${CTL[@]}" limits set login_timeout=1 max_sessions_per_target=1024 >/dev/null || fail "limits set timeout"
start=$(date +%s%N)
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
timeout 10 cat <&3 >/dev/null
exec 3<&-
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 700 ] && [ "$ms" -lt 5000 ] || fail "idle connection closed after $ms ms, want about 1000"
echo "  login_timeout=1: an idle connection closed after $ms ms"

# Saved with the config, restored by a restart from it.
"${CTL[@]}" config save "$TMP/saved.json" >/dev/null || fail "config save"
[ "$(jq -c .limits "$TMP/saved.json")" = '{"login_timeout":1,"max_cmds":8,"max_recv_data_segment_length":8192}' ] ||
	fail "saved limits: $(jq -c .limits "$TMP/saved.json")"
invar_stop
invar_start_config "$TMP/saved.json"
[ "$(lim max_cmds)" = 8 ] && [ "$(lim login_timeout)" = 1 ] || fail "limits not restored"
echo "  config save keeps them; restart from the saved config restores them"
invar_stop
