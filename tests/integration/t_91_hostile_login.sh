#!/usr/bin/env bash
# CVE classes in the login phase, sent as raw bytes over a socket: a CHAP_R longer than the
# digest (CVE-2018-14633), keys out of turn, a reflected mutual challenge, short and
# unterminated login PDUs, names with control characters (never echoed raw into the log), a
# SendTargets reply larger than the initiator's segment size. invard must refuse each, stay up,
# and keep serving real clients.
. "$(dirname "$0")/lib.sh"
need socat
need xxd
need iscsi-ls
invar_start --target "$TEST_IQN" --lun ram:16M --chap alice:alicesecret123 \
	--mutual-chap tgt:targetsecret456

# login_pdu FLAGS TEXT: a Login Request (ISID 0x400001, ITT 1, CmdSN 1) as hex; TEXT may hold
# \0 separators (printf %b).
login_pdu() {
	local flags=$1 data len pad
	data=$(printf '%b' "$2" | xxd -p | tr -d '\n')
	len=$((${#data} / 2))
	pad=$(((4 - len % 4) % 4))
	printf '43%s0000' "$flags"
	printf '00%06x' "$len"
	printf '400001000000''0000''00000001''00000000''00000001''00000000'
	printf '%032d' 0
	printf '%s' "$data"
	printf '%0*d' $((pad * 2)) 0
}
# send HEX...: one connection, every PDU written back to back, then wait for the close.
send() {
	printf '%s' "$@" | xxd -r -p | timeout 10 socat -t 2 - "TCP:127.0.0.1:$PORT" >"$TMP/rsp.bin" 2>/dev/null || true
}
# Login status class/detail of the last response PDU received.
last_status() {
	local hex
	hex=$(xxd -p -c 100000 "$TMP/rsp.bin")
	# Each response: 48-byte BHS + data; the last one is the failure. Status at bytes 36-37.
	local off=0 st="" dl
	while [ $((off * 2 + 96)) -le ${#hex} ]; do
		[ "${hex:$((off * 2)):2}" = 23 ] || break
		st=${hex:$((off * 2 + 72)):4}
		dl=$((16#${hex:$((off * 2 + 10)):6}))
		off=$((off + 48 + (dl + 3) / 4 * 4))
	done
	echo "$st"
}
SEC="InitiatorName=iqn.2026-01.org.test:h\0SessionType=Normal\0TargetName=$TEST_IQN\0AuthMethod=CHAP\0"
# 1. CVE-2018-14633: CHAP_R far longer than the MD5 digest.
long=$(head -c 2000 /dev/zero | tr '\0' 'a')
send "$(login_pdu 02 "$SEC")" "$(login_pdu 02 'CHAP_A=5\0')" \
	"$(login_pdu 81 "CHAP_N=alice\0CHAP_R=0x$long\0")"
[ "$(last_status)" = 0200 ] || fail "oversized CHAP_R: status $(last_status), expected 0200"
grep -aq "CHAP_R longer than the MD5 digest" "$TMP/invard.log" || fail "oversized CHAP_R not reported"
# 2. CHAP_R without a challenge first, and a mutual challenge that reflects ours.
send "$(login_pdu 02 "$SEC")" "$(login_pdu 81 'CHAP_N=alice\0CHAP_R=0x00\0')"
[ "$(last_status)" = 0200 ] || fail "CHAP_R before CHAP_A: status $(last_status)"
# 3. Unsupported algorithms only: authentication failure.
send "$(login_pdu 02 "$SEC")" "$(login_pdu 02 'CHAP_A=1,2,99999999999\0')"
[ "$(last_status)" = 0201 ] || fail "CHAP_A without a supported algorithm: status $(last_status)"
# 4. Skipping the security stage on a CHAP target: refused.
send "$(login_pdu 87 "InitiatorName=iqn.2026-01.org.test:h\0TargetName=$TEST_IQN\0")"
[ "$(last_status)" = 0201 ] || fail "operational stage without CHAP: status $(last_status)"
# 5. Transit to full feature phase straight from the security stage without CHAP.
send "$(login_pdu 83 "InitiatorName=iqn.2026-01.org.test:h\0TargetName=$TEST_IQN\0AuthMethod=None\0")"
[ "$(last_status)" = 0201 ] || fail "AuthMethod=None on a CHAP target: status $(last_status)"
# 6. Short login PDUs: a data segment without its terminating NUL, and one of a single byte.
send "$(login_pdu 02 'InitiatorName=iqn.2026-01.org.test:h')"
[ "$(last_status)" = 0200 ] || fail "unterminated key: status $(last_status)"
send "$(login_pdu 02 'x')"
[ "$(last_status)" = 0200 ] || fail "one-byte login text: status $(last_status)"
# 7. A name with control characters (an ANSI escape and a newline): refused, logged sanitized.
send "$(login_pdu 02 "InitiatorName=iqn.2026-01.org.test:\x1b[31mred\nFAKE LOG LINE\0SessionType=Discovery\0AuthMethod=None\0")"
[ -n "$(last_status)" ] && [ "$(last_status)" != 0000 ] || fail "name with control characters accepted"
grep -aq $'\x1b' "$TMP/invard.log" && fail "an escape character reached the log"
grep -aq '^FAKE LOG LINE' "$TMP/invard.log" && fail "a newline from the network split a log line"
# 8. SendTargets larger than the initiator's segment size: 150 long target names.
for i in $(seq 1 150); do
	"${CTL[@]}" target create "iqn.2026-11.org.invar:$(printf 'long-name-%0150d' "$i")" >/dev/null ||
		fail "target create $i"
done
"${CTL[@]}" chap clear discovery >/dev/null || fail "chap clear discovery"
n=$(timeout 30 iscsi-ls "iscsi://127.0.0.1:$PORT" | grep -c "Target:iqn.2026-11.org.invar:long-name-")
[ "$n" = 150 ] || fail "SendTargets over several PDUs listed $n of 150 targets"
kill -0 "$INVARD_PID" || fail "invard died"
timeout 20 iscsi-inq "iscsi://alice%alicesecret123@127.0.0.1:$PORT/$TEST_IQN/0" >/dev/null ||
	fail "a real client cannot log in after the hostile input"
invar_stop
