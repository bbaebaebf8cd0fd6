#!/usr/bin/env bash
# Malformed input on the iSCSI port must never take the daemon down: garbage, a truncated BHS,
# a login PDU claiming a huge data segment, a SCSI command before login, then real clients still
# work.
. "$(dirname "$0")/lib.sh"
need iscsi-ls
need socat
invar_start --target "$TEST_IQN" --lun ram:16M
send() { # hex string
	printf '%s' "$1" | xxd -r -p | socat -t 1 - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 || true
}
command -v xxd >/dev/null || skip "xxd missing"
# 1. random garbage
head -c 4096 /dev/urandom | socat -t 1 - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 || true
# 2. truncated BHS
send "4387000000000000"
# 3. login request with DataSegmentLength = 0xffffff
send "4387000000ffffff00023d0000000000000000000000000000000000000000000000000000000000000000000000000000"
# 4. SCSI command (opcode 0x01) before any login
send "0181000000000000000000000000000000000001000000000000000000000000280000000000000000000000000000000000"
# 5. login with TotalAHSLength set and a non-NUL-terminated key
send "43870000ff000010000000000000000000000000000000000000000000000000000000000000000000000000000000004b65793d"
# 6. many connections opened and dropped
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; done
sleep 0.5
kill -0 "$INVARD_PID" || fail "invard died on malformed input"
iscsi-ls -s "$URL" | grep -q "Target:$TEST_IQN" || fail "discovery broken after malformed input"
invar_stop
