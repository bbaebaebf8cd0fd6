#!/usr/bin/env bash
# Live LU migration followed by the Linux kernel initiator (a QEMU guest, tests/vm; iscsid
# running, as it must for any re-login): fio with crc32c verification runs on the disk while the
# LU moves A -> B -> A (docs/MIGRATION.md, "Handover"). The kernel knows A's portal only; it must
# answer A's logout request, follow the login redirect to B (named 10.0.2.2, the address the
# guest reaches the host by: --portal), come back to A after B -> A, and see no I/O error and
# no verification failure. Prints the longest I/O latency fio saw (the stall of the moves).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; peer_stop_all; cleanup' EXIT
GUEST=iqn.2026-12.org.invar:guest
IMG=$TMP/shared.img
AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "file:$IMG,size=64M,profile=invar-2026.3" \
	--migration-listen "127.0.0.1:$AMIG"
peer_start B --target iqn.2026-11.org.invar:other --lun ram:1M
BCTL=("$INVARCTL" --socket "$TMP/B/invar.sock")
HP=10.0.2.2:$PORT
wait_sessions() { vm_wait_logins "$1" "$GUEST" "$2" "$3"; }	# LOG N SECS

vm_start g
disk=$(vm_exec g "iscsi_start $GUEST && iscsi_node $TEST_IQN $HP &&
           iscsiadm -m node -T $TEST_IQN -p $HP --login >/dev/null && iscsi_wait_disk $TEST_IQN") ||
	fail "login: $disk"
wait_sessions "$TMP/invard.log" 1 10 || fail "no session on A"

# Random 4 KiB writes, each batch of 64 read back and checked (verify_backlog) while they go on;
# time-based so that both moves fall inside it.
vm_spawn g fio "fio --name=mig --filename=/dev/$disk --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=4 --size=16M --time_based --runtime=60 --verify=crc32c --verify_backlog=64 \
	--verify_fatal=1 --output-format=json >/tmp/fio.json 2>/tmp/fio.err; rc=\$?; cat /tmp/fio.json; cat /tmp/fio.err >&2; exit \$rc"
sleep 12

t0=$(date +%s.%N)
out=$("${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG" --portal "10.0.2.2:$B_PORT") ||
	fail "A -> B: $out"
echo "$out" | grep -q "^logins redirected to 10.0.2.2:$B_PORT" || fail "A -> B: no redirect: $out"
wait_sessions "$TMP/B.log" 1 60 || fail "the kernel did not log in to B"
echo "  A -> B: the kernel logged in to B $(vm_since "$t0") s after the migrate command [${SECONDS}s]"
grep -q "asked session tsih .* to log out" "$TMP/invard.log" || fail "A did not ask the session to log out"
grep -q "target '$TEST_IQN' moved: login redirected to 10.0.2.2:$B_PORT" "$TMP/invard.log" ||
	fail "the kernel's login to A was not redirected"
sleep 10

t0=$(date +%s.%N)
out=$("${BCTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$AMIG" --portal "10.0.2.2:$PORT") ||
	fail "B -> A: $out"
wait_sessions "$TMP/invard.log" 2 60 || fail "the kernel did not come back to A"
echo "  B -> A: the kernel logged in to A again $(vm_since "$t0") s after the migrate command [${SECONDS}s]"
grep -q "asked session tsih .* to log out" "$TMP/B.log" || fail "B did not ask the session to log out"

out=$(vm_join g fio 180) || fail "fio failed across the moves (exit $?): $out"
echo "$out" | jq -e '.jobs[0].error == 0' >/dev/null || fail "fio: $out"
# The longest stall: the slowest write or verification read (total latency, submit to end).
read -r ios reads max_ms verify_err <<<"$(echo "$out" | jq -r '.jobs[0] |
	"\(.write.total_ios) \(.read.total_ios) \([.write.lat_ns.max, .read.lat_ns.max] | max / 1e6 | floor) \(.error)"')"
[ "$ios" -gt 500 ] || fail "fio did only $ios writes"
kmsg=$(vm_exec g "dmesg | grep -E 'I/O error|critical|blk_update_request|Buffer I/O'")
[ -z "$kmsg" ] || fail "the kernel logged I/O errors: $kmsg"
vm_exec g "dmesg | grep -E 'connection[0-9]|session[0-9]|detected conn error' | tail -n 8" | sed 's/^/    guest: /'
sess=$(vm_exec g "iscsiadm -m session") || fail "no session left in the guest"
echo "$sess" | grep -q "10.0.2.2:$PORT" || fail "the guest's session is not on A's portal: $sess"
echo "  fio: $ios random 4 KiB writes, $reads verification reads (crc32c), error $verify_err;" \
	"longest stall (slowest I/O) ${max_ms} ms [${SECONDS}s]"
vm_exec g "iscsiadm -m node -T $TEST_IQN -p $HP --logout" >/dev/null || fail "logout"
vm_stop g
peer_stop_all
invar_stop
