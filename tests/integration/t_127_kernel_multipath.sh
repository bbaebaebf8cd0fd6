#!/usr/bin/env bash
# dm-multipath in a QEMU guest (tests/vm) over two invard portals in two ALUA port groups
# (implicit ALUA, invar-2026.3): multipathd with the alua prioritiser and scsi_dh_alua (udevd
# runs in the guest for this: multipath-tools finds paths and WWIDs through udev).
#  - both groups active/optimized: one path group, both paths in it;
#  - `alua set` makes group 2 active/non-optimized: multipath -ll shows two path groups (prio
#    50 active, 10 enabled) and reads go through group 1's path only; then the reverse, and the
#    I/O moves to group 2's path;
#  - fio with crc32c verification on the multipath device while the target is bound to portal 1
#    only (`acl bind`: the session through portal 2 is ended and its logins refused): the path
#    fails (replacement_timeout 5 s), I/O goes on through the other one, fio sees no error;
#    binding portal 2 again brings its path back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; cleanup' EXIT
GUEST=iqn.2026-12.org.invar:guest
PORT2=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "file:$TMP/l0.img,size=32M" --listen "127.0.0.1:$PORT2,tpg=2"
vm_start g
g() { vm_exec g "$@"; }
cat >"$TMP/vm-g/share/multipath.conf" <<'EOF'
defaults {
	user_friendly_names no
	find_multipaths no
	polling_interval 2
}
blacklist {
	devnode "^vd"
}
devices {
	device {
		vendor "INVAR"
		product "invar disk"
		path_grouping_policy group_by_prio
		prio alua
		hardware_handler "1 alua"
		failback immediate
		path_checker tur
		no_path_retry 12
	}
}
EOF

out=$(g "iscsi_start $GUEST &&
	iscsi_node $TEST_IQN 10.0.2.2:$PORT node.session.timeo.replacement_timeout=5 &&
	iscsi_node $TEST_IQN 10.0.2.2:$PORT2 node.session.timeo.replacement_timeout=5 &&
	iscsiadm -m node -T $TEST_IQN --login >/dev/null && iscsi_wait_disk $TEST_IQN 2 >/dev/null &&
	/lib/systemd/systemd-udevd --daemon 2>/dev/null && udevadm trigger --action=add --subsystem-match=block &&
	udevadm settle --timeout=60 && cp /host/multipath.conf /etc/multipath.conf &&
	modprobe dm_multipath && modprobe scsi_dh_alua && multipathd && sleep 1 && multipath -v1 2>/dev/null;
	for i in \$(seq 1 60); do [ \$(multipath -ll 2>/dev/null | grep -c ' ready ') = 2 ] && break; sleep 0.5; done;
	multipath -ll 2>/dev/null" 2>&1) || fail "multipath set-up: $out"
echo "$out" | grep -q "hwhandler='1 alua'" && [ "$(echo "$out" | grep -c ' active ready running')" = 2 ] ||
	fail "multipath -ll: $out"
wwid=$(echo "$out" | awk 'NR == 1 { print $1 }')
dm=$(echo "$out" | awk 'NR == 1 { print $2 }')
# Which sd is which portal group.
map=$(g "iscsiadm -m session -P3" | awk '/Current Portal:/ { split($3, a, ","); tpg = a[2] }
	/Attached scsi disk/ { print tpg, $4 }')
d1=$(echo "$map" | awk '$1 == 1 { print $2 }')
d2=$(echo "$map" | awk '$1 == 2 { print $2 }')
[ -n "$d1" ] && [ -n "$d2" ] || fail "paths: $map"
echo "  $wwid ($dm): group 1 /dev/$d1, group 2 /dev/$d2, one path group [${SECONDS}s]"

# groups: the path groups as "PRIO:STATUS:DISK..." (waits until multipathd agrees with $1).
groups() {
	g "multipath -ll 2>/dev/null" | awk '/policy=/ { if (s) print s; match($0, /prio=[0-9]+/); p = substr($0, RSTART + 5, RLENGTH - 5)
		match($0, /status=[a-z]+/); s = p ":" substr($0, RSTART + 7, RLENGTH - 7) }
		/ sd[a-z]+ / { for (i = 1; i <= NF; i++) if ($i ~ /^sd[a-z]+$/) s = s ":" $i } END { print s }' | tr '\n' ' '
}
wait_groups() {
	local want=$1 got
	for _ in $(seq 1 30); do
		got=$(groups)
		[ "$got" = "$want" ] && return 0
		# Any command makes the kernel see the ALUA unit attention and re-read the states.
		g "dd if=/dev/$dm of=/dev/null bs=4k count=1 iflag=direct status=none" >/dev/null
		sleep 1
	done
	fail "path groups: want '$want', multipath shows '$got'"
}
# reads_on: 2 MiB of direct reads from the multipath device; prints how many reads each path did.
reads_on() {
	g "a1=\$(awk '{ print \$1 }' /sys/block/$d1/stat); a2=\$(awk '{ print \$1 }' /sys/block/$d2/stat);
	   dd if=/dev/$dm of=/dev/null bs=64k count=32 iflag=direct status=none;
	   echo \$((\$(awk '{ print \$1 }' /sys/block/$d1/stat) - a1)) \$((\$(awk '{ print \$1 }' /sys/block/$d2/stat) - a2))"
}

"${CTL[@]}" alua set "$TEST_IQN" 2 active/non-optimized >/dev/null || fail "alua set"
wait_groups "50:active:$d1 10:enabled:$d2 "
read -r n1 n2 <<<"$(reads_on)"
[ "$n1" -ge 32 ] && [ "$n2" = 0 ] || fail "group 2 non-optimized: reads went $n1 through group 1, $n2 through group 2"
echo "  group 2 active/non-optimized: path groups '$(groups)', 2 MiB read: $n1 reads via group 1, $n2 via group 2 [${SECONDS}s]"
"${CTL[@]}" alua set "$TEST_IQN" 2 active/optimized >/dev/null &&
	"${CTL[@]}" alua set "$TEST_IQN" 1 active/non-optimized >/dev/null || fail "alua set"
wait_groups "50:active:$d2 10:enabled:$d1 "
read -r n1 n2 <<<"$(reads_on)"
[ "$n2" -ge 32 ] && [ "$n1" = 0 ] || fail "group 1 non-optimized: reads went $n1 through group 1, $n2 through group 2"
echo "  group 1 active/non-optimized: path groups '$(groups)', 2 MiB read: $n1 reads via group 1, $n2 via group 2 [${SECONDS}s]"

# Portal 2 (the optimized path) goes away under fio.
vm_spawn g fio "fio --name=mp --filename=/dev/$dm --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=4 --size=16M --time_based --runtime=45 --verify=crc32c --verify_backlog=64 \
	--verify_fatal=1 --output-format=json >/tmp/fio.json 2>/tmp/fio.err; rc=\$?; cat /tmp/fio.json; cat /tmp/fio.err >&2; exit \$rc"
sleep 8
"${CTL[@]}" acl bind "$TEST_IQN" "127.0.0.1:$PORT" >/dev/null || fail "acl bind portal 1"
for _ in $(seq 1 30); do
	g "multipath -ll 2>/dev/null" | grep -q " $d2 .*failed" && break
	sleep 1
done
g "multipath -ll 2>/dev/null" | grep -q " $d2 .*failed" || fail "the path through portal 2 did not fail: $(g "multipath -ll")"
echo "  target bound to portal 1: the path through portal 2 failed [${SECONDS}s]"
sleep 5
"${CTL[@]}" acl bind "$TEST_IQN" "127.0.0.1:$PORT2" >/dev/null || fail "acl bind portal 2"
out=$(vm_join g fio 180) || fail "fio on the multipath device failed (exit $?): $out"
read -r ios reads max_ms err <<<"$(echo "$out" | jq -r '.jobs[0] |
	"\(.write.total_ios) \(.read.total_ios) \([.write.lat_ns.max, .read.lat_ns.max] | max / 1e6 | floor) \(.error)"')"
[ "$err" = 0 ] && [ "$ios" -gt 300 ] || fail "fio: error $err, $ios writes: $out"
echo "  fio on $dm across the path loss: $ios random 4 KiB writes, $reads verification reads, error 0; longest stall ${max_ms} ms [${SECONDS}s]"
for _ in $(seq 1 60); do
	[ "$(g "multipath -ll 2>/dev/null" | grep -c ' active ready running')" = 2 ] && break
	sleep 1
done
[ "$(g "multipath -ll 2>/dev/null" | grep -c ' active ready running')" = 2 ] ||
	fail "the path through portal 2 did not come back: $(g "multipath -ll")"
echo "  portal 2 bound again: both paths active and ready [${SECONDS}s]"
g "multipathd shutdown >/dev/null 2>&1; multipath -F >/dev/null 2>&1; iscsiadm -m node -T $TEST_IQN --logout" >/dev/null ||
	fail "logout"
vm_stop g
invar_stop
