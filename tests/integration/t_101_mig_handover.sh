#!/usr/bin/env bash
# Live migration handover with an initiator that only knows the source (docs/design/migration.md,
# "Handover"): a libiscsi client does verified random writes and read-backs on A's LU (a
# shared file, profile invar-2026.3, two persistent registrations) while the LU moves A -> B
# and back B -> A. It must see no failed and no mismatched I/O, and follow each move by itself
# (async logout request, login redirect, reconnect). The registrations are on B after the
# first move and on A after the second; after the first move a login to A is redirected to B's
# portal, after the second one logins to A are served again and B redirects to A.
. "$(dirname "$0")/lib.sh"
PR_TOOL=${PR_TOOL:-$PWD/$BUILD/tests/tools/pr_tool}
CLIENT=${MIG_CLIENT:-$PWD/$BUILD/tests/tools/mig_client}
[ -x "$PR_TOOL" ] || fail "$PR_TOOL not built (make integration builds it)"
[ -x "$CLIENT" ] || fail "$CLIENT not built (make integration builds tests/tools)"
IA=iqn.2026-11.org.invar:mig-a
IB=iqn.2026-11.org.invar:mig-b
IC=iqn.2026-11.org.invar:mig-client
IMG=$TMP/shared.img
LUN="file:$IMG,size=32M,profile=invar-2026.3"
CPID=
stop_all() {
	[ -n "$CPID" ] && kill -TERM "$CPID" 2>/dev/null
	peer_stop_all
}
trap 'stop_all; invar_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT
sessions_of() { # sessions_of LOG: normal sessions the client opened there
	grep -c "normal session .*initiator '$IC'" "$1"
}
wait_session() { # wait_session LOG N: until the client has N sessions there (10 s)
	for _ in $(seq 1 100); do
		[ "$(sessions_of "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "$LUN" --migration-listen "127.0.0.1:$AMIG"
UA="$URL/$TEST_IQN/0"
peer_start B --target iqn.2026-11.org.invar:other --lun ram:1M
UB="iscsi://127.0.0.1:$B_PORT/$TEST_IQN/0"
BCTL=("$INVARCTL" --socket "$TMP/B/invar.sock")

"$PR_TOOL" "$UA" "$IA" register 0xaaaa000000000001 | grep -q GOOD || fail "register on A"
"$PR_TOOL" "$UA" "$IB" register 0xbbbb000000000002 | grep -q GOOD || fail "register on A"
keys_a=$("$PR_TOOL" "$UA" "$IB" read-keys)
echo "keys on A: $(echo $keys_a)"

# The client knows A's URL only. LBAs 1024.. (pr_tool writes LBA 0).
STOP=$TMP/stop
"$CLIENT" -i "$IC" -o 1024 -n 4096 -s 20 "$UA" "$STOP" >"$TMP/client.out" 2>"$TMP/client.err" &
CPID=$!
wait_session "$TMP/invard.log" 1 || fail "the client did not log in to A: $(cat "$TMP/client.err")"
sleep 1

# A -> B. The result names the redirect: B's portal, learnt on the channel.
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG") || fail "A -> B failed: $out"
echo "$out"
echo "$out" | grep -q "^logins redirected to 127.0.0.1:$B_PORT,1 " ||
	fail "A -> B does not redirect to B's portal: $out"
wait_session "$TMP/B.log" 1 || fail "the client did not come to B: $(tail -5 "$TMP/client.err")"
grep -q "asked session tsih .* to log out" "$TMP/invard.log" || fail "A did not ask the client to log out"
grep -q "target '$TEST_IQN' moved: login redirected to 127.0.0.1:$B_PORT,1" "$TMP/invard.log" ||
	fail "A did not redirect the client's login"
# The registrations moved; a fresh initiator given A's URL is redirected to B as well.
[ "$("$PR_TOOL" "$UB" "$IB" read-keys)" = "$keys_a" ] || fail "B answers READ KEYS differently"
[ "$("$PR_TOOL" "$UA" "$IB" read-keys)" = "$keys_a" ] || fail "A's URL does not lead to B's keys"
sleep 2

# B -> A: A serves again, B redirects to A.
out=$("${BCTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$AMIG") || fail "B -> A failed: $out"
echo "$out"
echo "$out" | grep -q "^logins redirected to 127.0.0.1:$PORT,1 " ||
	fail "B -> A does not redirect to A's portal: $out"
wait_session "$TMP/invard.log" 2 || fail "the client did not come back to A: $(tail -5 "$TMP/client.err")"
[ "$("$PR_TOOL" "$UA" "$IB" read-keys)" = "$keys_a" ] || fail "A answers READ KEYS differently after B -> A"
[ "$("$PR_TOOL" "$UB" "$IB" read-keys)" = "$keys_a" ] || fail "B's URL does not lead back to A's keys"
grep -q "target '$TEST_IQN' moved: login redirected to 127.0.0.1:$PORT,1" "$TMP/B.log" ||
	fail "B did not redirect a login to A"
sleep 2

touch "$STOP"
wait "$CPID"
rc=$?
CPID=
cat "$TMP/client.out"
grep -v -e "^libiscsi: " -e "Can not reconnect right now" -e "^ \[" -e "^$" "$TMP/client.err" | head -40
[ "$rc" -eq 0 ] || fail "the client saw failed or mismatched I/O (exit $rc)"
sum=$(grep "^ios " "$TMP/client.out") || fail "no client summary"
echo "$sum" | grep -q " failed 0 mismatched 0 " || fail "client: $sum"
ios=$(echo "$sum" | awk '{print $2}')
[ "$ios" -gt 100 ] || fail "the client did only $ios I/Os"
rec=$(echo "$sum" | sed 's/.* reconnects \([0-9]*\).*/\1/')
[ "$rec" -ge 2 ] || fail "the client reconnected $rec times, want 2 (A -> B, B -> A)"
peer_stop_all
invar_stop
echo "PASS"
