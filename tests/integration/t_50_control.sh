#!/usr/bin/env bash
# The control plane: invarctl creates and deletes targets, LUNs and portals on a running daemon;
# bad requests get clear errors and the daemon keeps serving; `config save` restores exactly.
. "$(dirname "$0")/lib.sh"
need jq
need socat
need iscsi-ls
invar_start --target "$TEST_IQN" --lun ram:32M
T2=iqn.2026-11.org.invar:second

"${CTL[@]}" version || fail "invarctl version"
"${CTL[@]}" target create "$T2" || fail "target create"
"${CTL[@]}" lun add "$T2" ram:16M,serial=SER-RAM-1 || fail "lun add ram"
"${CTL[@]}" lun add "$T2" "file:$TMP/data/t2.img,size=8M" || fail "lun add file"
"${CTL[@]}" target list
n=$("${CTL[@]}" --json target list | jq '[.targets[] | select(.iqn == "'"$T2"'") | .luns | length] | .[0]')
[ "$n" = 2 ] || fail "target list shows $n LUNs for $T2, expected 2"
iscsi-ls -s "$URL" | grep -q "Target:$T2" || fail "new target not discoverable"

# Errors: clear message, non-zero exit, daemon still alive.
out=$("${CTL[@]}" target create "not a valid name" 2>&1) && fail "bad IQN accepted"
echo "bad iqn -> $out"
out=$("${CTL[@]}" target create "$T2" 2>&1) && fail "duplicate target accepted"
echo "duplicate -> $out"
out=$("${CTL[@]}" lun add "$T2" ram:12Q 2>&1) && fail "bad size accepted"
echo "bad size -> $out"
out=$("${CTL[@]}" lun add "$T2" "file:/nonexistent-dir/x.img,size=1M" 2>&1) && fail "bad path accepted"
echo "bad path -> $out"
resp=$(printf '{"jsonrpc":"2.0","id":1,"method":"no_such_method"}\n' | socat -t 2 - "UNIX-CONNECT:$TMP/data/invar.sock")
echo "unknown method -> $resp"
echo "$resp" | jq -e '.error.code == -32601' >/dev/null || fail "unknown method not -32601"
resp=$(printf '{this is not json\n' | socat -t 2 - "UNIX-CONNECT:$TMP/data/invar.sock")
echo "garbage -> $resp"
echo "$resp" | jq -e '.error.code == -32700' >/dev/null || fail "parse error not -32700"
resp=$(printf '{"jsonrpc":"2.0","id":2,"method":"target_create","params":{"iqn":5}}\n' | socat -t 2 - "UNIX-CONNECT:$TMP/data/invar.sock")
echo "bad param -> $resp"
echo "$resp" | jq -e '.error.code == -32602' >/dev/null || fail "bad param type not -32602"
kill -0 "$INVARD_PID" || fail "daemon died on bad requests"

# Save, restart from the saved config, save again: identical.
"${CTL[@]}" config save "$TMP/saved1.json" || fail "config save"
jq . "$TMP/saved1.json" >/dev/null || fail "saved config is not JSON"
invar_stop
invar_start_config "$TMP/saved1.json"
"${CTL[@]}" config save "$TMP/saved2.json" || fail "config save after restore"
cmp "$TMP/saved1.json" "$TMP/saved2.json" ||
	fail "restored config differs from the saved one"
iscsi-ls -s "$URL" | grep -q "Target:$T2" || fail "restored target not discoverable"

"${CTL[@]}" lun delete "$T2" 1 || fail "lun delete"
"${CTL[@]}" target delete "$T2" || fail "target delete"
iscsi-ls -s "$URL" | grep -q "Target:$T2" && fail "deleted target still discoverable"

# A bad config file: clear error, exit non-zero, no daemon.
echo '{"version": 99, "targets": []}' >"$TMP/bad.json"
out=$("$INVARD" --data-dir "$TMP/bad" --config "$TMP/bad.json" 2>&1) && fail "newer config version accepted"
echo "$out" | grep -q version || fail "bad config error does not name the version"
echo "bad config -> $out"
invar_stop
