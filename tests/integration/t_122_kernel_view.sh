#!/usr/bin/env bash
# What the Linux kernel makes of invar's disks (a QEMU guest, tests/vm), per profile: the block
# queue limits in sysfs and the sd driver's conclusions, and what sg3-utils reads (sg_inq,
# sg_vpd, sg_readcap), against the values each profile promises, written down below, and
# against `invarctl lu describe` (serial, NAA, capacity, block size, provisioning, WCE).
#
# How the kernel (Debian 12, 6.1) derives its limits from invar's answers:
#  logical_block_size      READ CAPACITY(16) block length
#  physical_block_size     block length << LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (2026.3: 3
#                          on a 512-byte LU; earlier profiles report 0)
#  max_hw_sectors_kb       min(VPD B0h MAXIMUM TRANSFER LENGTH = 32 MiB, iscsi_tcp's own 0xFFFF
#                          sectors) = 32767 KiB (32764 on a 4096-byte LU: whole blocks)
#  max_sectors_kb          VPD B0h OPTIMAL TRANSFER LENGTH (1 MiB), also optimal_io_size
#  minimum_io_size         OPTIMAL TRANSFER LENGTH GRANULARITY in bytes (4096), or the physical
#                          block if larger
#  discard_granularity     OPTIMAL UNMAP GRANULARITY (4096 bytes); discard_max_hw_bytes MAXIMUM
#                          UNMAP LBA COUNT x block (512 MiB); both 0 on invar-2026.1 (no UNMAP:
#                          provisioning_mode full)
#  write_zeroes_max_bytes  MAXIMUM WRITE SAME LENGTH x block (32 MiB), 0 without WRITE SAME
#  write_same_max_bytes    always 0 on 6.1: the block layer has no WRITE SAME request any more
#                          (the kernel uses WRITE SAME only for write-zeroes)
#  rotational 0            VPD B1h MEDIUM ROTATION RATE 1 (non-rotating)
#  write_cache, FUA        MODE SENSE caching page WCE and DPOFUA; but sd makes a write-protected
#                          disk write-through whatever WCE says (no cache flush allowed for it):
#                          invar's read-only LU answers WCE=1, the kernel shows write through
#  ro, removable           MODE SENSE WP; INQUIRY RMB
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/lib.sh"
trap 'vm_cleanup; cleanup' EXIT
GUEST=iqn.2026-12.org.invar:guest
truncate -s 64M "$TMP/ro.img"
invar_start --target "$TEST_IQN" --lun "file:$TMP/l0.img,size=64M" \
	--lun "file:$TMP/l1.img,size=64M,block_size=4096" \
	--lun "file:$TMP/l2.img,size=64M,profile=invar-2026.2" \
	--lun "file:$TMP/l3.img,size=64M,profile=invar-2026.1" \
	--lun "file:$TMP/ro.img,readonly=1,removable=1"
HP=10.0.2.2:$PORT
vm_start g
SHARE=$TMP/vm-g/share

# Per LUN: sysfs queue limits and sd's view, then sg3-utils' answers, as one line of KEY=VALUE.
cat >"$SHARE/view.sh" <<'EOF'
for d in "$@"; do
	q=/sys/block/$d/queue
	sdk=$(echo /sys/block/$d/device/scsi_disk/*)
	printf '%s' "$d"
	for f in logical_block_size physical_block_size max_hw_sectors_kb max_sectors_kb \
		discard_granularity discard_max_hw_bytes write_zeroes_max_bytes write_same_max_bytes \
		optimal_io_size minimum_io_size rotational write_cache; do
		printf ' %s=%s' "$f" "$(tr ' ' _ <"$q/$f")"
	done
	printf ' ro=%s removable=%s' "$(cat /sys/block/$d/ro)" "$(cat /sys/block/$d/removable)"
	for f in provisioning_mode thin_provisioning FUA; do printf ' %s=%s' "$f" "$(cat "$sdk/$f")"; done
	inq=$(sg_inq /dev/$d)
	printf ' inq_version=%s' "$(echo "$inq" | sed -n 's/.*version=\(0x[0-9a-f]*\).*/\1/p')"
	printf ' tpgs=%s 3pc=%s rmb=%s' "$(echo "$inq" | sed -n 's/.*TPGS=\([0-9]\).*/\1/p')" \
		"$(echo "$inq" | sed -n 's/.*3PC=\([0-9]\).*/\1/p')" "$(echo "$inq" | sed -n 's/.*RMB=\([0-9]\).*/\1/p')"
	printf ' vendor=%s product=%s' "$(echo "$inq" | sed -n 's/.*Vendor identification: *\([^ ]*\).*/\1/p')" \
		"$(echo "$inq" | sed -n 's/.*Product identification: *\(.*[^ ]\) *$/\1/p' | tr ' ' _)"
	printf ' serial=%s' "$(sg_vpd -p sn /dev/$d | sed -n 's/.*Unit serial number: *//p')"
	printf ' naa=%s' "$(sg_vpd -p di /dev/$d | grep -A1 'designator type: NAA' | sed -n 's/^ *0x//p' | head -n 1)"
	printf ' vpd=%s' "$(sg_vpd /dev/$d | sed -n 's/.*\[\([a-z]*\)\]$/\1/p' | tr '\n' ,)"
	rc=$(sg_readcap -R -l /dev/$d)
	printf ' blocks=%s lbpme=%s lbprz=%s lbppbe=%s' \
		"$(echo "$rc" | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')" \
		"$(echo "$rc" | sed -n 's/.*lbpme=\([0-9]\).*/\1/p')" "$(echo "$rc" | sed -n 's/.*lbprz=\([0-9]\).*/\1/p')" \
		"$(echo "$rc" | sed -n 's/.*per physical block exponent=\([0-9]*\).*/\1/p')"
	bl=$(sg_vpd -p bl /dev/$d)
	printf ' max_unmap=%s max_ws=%s\n' "$(echo "$bl" | sed -n 's/.*Maximum unmap LBA count: \([0-9]*\).*/\1/p')" \
		"$(echo "$bl" | sed -n 's/.*Maximum write same length: \([0-9a-fx]*\).*/\1/p')"
done
EOF
disks=$(vm_exec g "iscsi_start $GUEST && iscsi_node $TEST_IQN $HP &&
           iscsiadm -m node -T $TEST_IQN -p $HP --login >/dev/null && iscsi_wait_disk $TEST_IQN 5") ||
	fail "login: $disks"
vm_exec g "bash /host/view.sh $(echo $disks)" >"$TMP/view" || fail "view: $(cat "$TMP/view")"
vm_exec g "iscsiadm -m node -T $TEST_IQN -p $HP --logout" >/dev/null || fail "logout"
vm_stop g

# The promises, per LUN (a profile and the LU's options). Common to all five:
common="max_hw_sectors_kb=32767 max_sectors_kb=1024 write_same_max_bytes=0 optimal_io_size=1048576
	minimum_io_size=4096 rotational=0 FUA=1 inq_version=0x06 vendor=INVAR product=invar_disk"
unmap="discard_granularity=4096 discard_max_hw_bytes=536870912 write_zeroes_max_bytes=33554432
	provisioning_mode=unmap thin_provisioning=1 lbpme=1 lbprz=1"
expect=(
	# LUN 0: invar-2026.3, 512-byte blocks
	"$common $unmap logical_block_size=512 physical_block_size=4096 lbppbe=3 write_cache=write_back
	 ro=0 removable=0 rmb=0 tpgs=1 3pc=1 vpd=sv,sn,di,tpc,bl,bdc,lbpv, blocks=131072 max_unmap=1048576 max_ws=0x10000"
	# LUN 1: invar-2026.3, 4096-byte blocks
	"${common/max_hw_sectors_kb=32767/max_hw_sectors_kb=32764} $unmap logical_block_size=4096
	 physical_block_size=4096 lbppbe=0 write_cache=write_back ro=0 removable=0 rmb=0 tpgs=1 3pc=1
	 vpd=sv,sn,di,tpc,bl,bdc,lbpv, blocks=16384 max_unmap=131072 max_ws=0x2000"
	# LUN 2: invar-2026.2: no physical block exponent, no ALUA, no copy manager
	"$common $unmap logical_block_size=512 physical_block_size=512 lbppbe=0 write_cache=write_back
	 ro=0 removable=0 rmb=0 tpgs=0 3pc=0 vpd=sv,sn,di,bl,bdc,lbpv, blocks=131072 max_unmap=1048576 max_ws=0x10000"
	# LUN 3: invar-2026.1: no UNMAP, no WRITE SAME, so no discard and no write-zeroes offload
	"$common discard_granularity=0 discard_max_hw_bytes=0 write_zeroes_max_bytes=0 provisioning_mode=full
	 thin_provisioning=0 lbpme=0 lbprz=0 logical_block_size=512 physical_block_size=512 lbppbe=0
	 write_cache=write_back ro=0 removable=0 rmb=0 tpgs=0 3pc=0 vpd=sv,sn,di,bl,bdc,lbpv, blocks=131072
	 max_unmap=0 max_ws=0"
	# LUN 4: invar-2026.3, readonly=1 removable=1
	"$common $unmap logical_block_size=512 physical_block_size=4096 lbppbe=3 write_cache=write_through
	 ro=1 removable=1 rmb=1 tpgs=1 3pc=1 vpd=sv,sn,di,tpc,bl,bdc,lbpv, blocks=131072 max_unmap=1048576 max_ws=0x10000"
)
lun=0
while read -r line; do
	d=${line%% *}
	for kv in ${expect[$lun]}; do
		echo " $line " | grep -q " $kv " ||
			fail "LUN $lun (/dev/$d): expected $kv, the guest sees: $(echo " $line " | grep -o " ${kv%%=*}=[^ ]*")"
	done
	# The same identity and attributes as the daemon describes.
	"${CTL[@]}" --json lu describe "$TEST_IQN" "$lun" >"$TMP/desc.json" || fail "lu describe $lun"
	for kv in "serial=$(jq -r .identity.serial "$TMP/desc.json")" "naa=$(jq -r .identity.naa "$TMP/desc.json")" \
		"blocks=$(jq -r .attributes.capacity_blocks "$TMP/desc.json")" \
		"logical_block_size=$(jq -r .attributes.block_size "$TMP/desc.json")" \
		"thin_provisioning=$(jq -r 'if .attributes.provisioning == "thin" then 1 else 0 end' "$TMP/desc.json")" \
		"write_cache=$(jq -r 'if .attributes.write_cache.wce and (.attributes.read_only | not) then "write_back" else "write_through" end' "$TMP/desc.json")" \
		"ro=$(jq -r 'if .attributes.read_only then 1 else 0 end' "$TMP/desc.json")"; do
		echo " $line " | grep -q " $kv " || fail "LUN $lun (/dev/$d): lu describe says $kv, the guest sees: $line"
	done
	echo "  LUN $lun $(jq -r .profile "$TMP/desc.json"): $line"
	lun=$((lun + 1))
done <"$TMP/view"
[ "$lun" = 5 ] || fail "the guest saw $lun disks: $(cat "$TMP/view")"
invar_stop
