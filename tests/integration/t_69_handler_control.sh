#!/usr/bin/env bash
# User LUs through the control plane: `invarctl lun add IQN user:NAME,size=SIZE`, a handler
# serves it, `config save` stores it and `invard --config` restores it (the handler re-attaches
# and the data is still in its file), and `lun delete` lets the handler go (its run() returns).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/handler_lib.sh"
need qemu-io
invar_start --target "$TEST_IQN" --lun ram:16M
"${CTL[@]}" lun add "$TEST_IQN" user:ctl1,size=32M >/dev/null || fail "lun add user:ctl1"
"${CTL[@]}" lun add "$TEST_IQN" user:ctl1,size=32M >/dev/null 2>&1 && fail "a second LU took NAME ctl1"
"${CTL[@]}" lun add "$TEST_IQN" 'user:bad/name,size=32M' >/dev/null 2>&1 && fail "a bad NAME was accepted"
"${CTL[@]}" --json lun list "$TEST_IQN" | jq -e '.. | objects | select(.backstore? == "user" and .path? == "ctl1")' >/dev/null ||
	fail "lun list does not show the user LU"
handler_start "$HANDLER_FILE" ctl1 "$TMP/ctl1.img"
qemu-io -f raw -c "write -P 0x42 4M 1M" "$URL/$TEST_IQN/1" >"$TMP/w.out" 2>&1 || fail "write failed"
"${CTL[@]}" config save "$TMP/saved.json" >/dev/null || fail "config save"
jq -e '.. | objects | select(.backstore? == "user") | select(.path == "ctl1")' "$TMP/saved.json" >/dev/null ||
	fail "saved config lacks the user LU"
invar_stop
wait "$HANDLER_PID" 2>/dev/null
HANDLER_PID=
echo "daemon stopped: the handler exited with it"
invar_start_config "$TMP/saved.json"
handler_start "$HANDLER_FILE" ctl1 "$TMP/ctl1.img"
qemu-io -f raw -c "read -P 0x42 4M 1M" "$URL/$TEST_IQN/1" >"$TMP/r.out" 2>&1 || fail "read failed"
grep -qiE 'fail|error' "$TMP/r.out" && fail "data not intact after restore"
echo "restored from the saved config: the handler re-attached, data intact"
"${CTL[@]}" lun delete "$TEST_IQN" 1 >/dev/null || fail "lun delete"
for _ in $(seq 50); do kill -0 "$HANDLER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$HANDLER_PID" 2>/dev/null && fail "the handler was not released by lun delete"
HANDLER_PID=
echo "lun delete: the handler was let go"
invar_stop
