#!/usr/bin/env bash
# Compatibility descriptions: `invarctl lu describe` prints the versioned JSON of what a guest
# sees; `invarctl compat check` accepts identical descriptions (and two daemons with the same
# LU identity), refuses a different profile, block size, capacity or identity naming each
# difference (exit 1), and rejects malformed input (exit 2). `invarctl profile list` shows the
# profiles and the default (the newest released one; a draft, when there is one, is marked).
. "$(dirname "$0")/lib.sh"
need jq
IQN=iqn.2026-11.org.invar:compat
LU="ram:16M,serial=COMPAT01,naa=3a1b2c3d4e5f6072"

invar_start --target "$IQN" --lun "$LU" --lun "ram:16M,block_size=4096,profile=invar-2026.1"
"${CTL[@]}" lu describe "$IQN" 0 >"$TMP/a.json" || fail "lu describe failed"
cat "$TMP/a.json"
ver=$(sed -n 's/^#define INVAR_VERSION_STRING "\(.*\)"/\1/p' include/invar/version.h)
jq -e --arg v "$ver" '.describe_version == 1 and .device_api == "scsi-sbc" and .type == "disk"
	and .software_version == $v and .profile == "invar-2026.3" and .profile_draft == false
	and .identity.vendor == "INVAR" and .identity.product == "invar disk"
	and .identity.revision == "2026" and .identity.serial == "COMPAT01"
	and .identity.naa == "3a1b2c3d4e5f6072" and .identity.target == "'"$IQN"'"
	and .attributes.block_size == 512 and .attributes.capacity_blocks == 32768
	and .attributes.capacity_bytes == 16777216 and .attributes.provisioning == "thin"
	and .attributes.lbprz == true and .attributes.reservations == "reserve-release+persistent"
	and .attributes.write_cache.wce == true and .attributes.read_only == false
	and .attributes.software_write_protect == false' "$TMP/a.json" >/dev/null ||
	fail "lu describe is missing or has wrong fields"
"${CTL[@]}" lu describe "$IQN" 1 >"$TMP/one.json" || fail "lu describe LUN 1 failed"
jq -e '.profile == "invar-2026.1" and .attributes.provisioning == "full"
	and .attributes.lbprz == false and .attributes.block_size == 4096' "$TMP/one.json" >/dev/null ||
	fail "a 2026.1 LU must describe itself as fully provisioned without LBPRZ"
"${CTL[@]}" lu describe "$IQN" 7 2>"$TMP/err" && fail "describing a missing LUN succeeded"
grep -q "no LUN 7" "$TMP/err" || fail "no reason for the missing LUN"

# profile list: the released profiles, the newest marked as the default; no draft today.
"${CTL[@]}" profile list >"$TMP/profiles" || fail "profile list failed"
cat "$TMP/profiles"
grep -q '^invar-2026.1 ' "$TMP/profiles" || fail "invar-2026.1 not listed"
grep -q '^invar-2026.2 ' "$TMP/profiles" || fail "invar-2026.2 not listed"
grep -q '^invar-2026.3 *(default) ' "$TMP/profiles" || fail "invar-2026.3 is not shown as the default"
grep -q '(draft)' "$TMP/profiles" && fail "a released profile is marked as a draft"
[ "$(grep -c '(default)' "$TMP/profiles")" -eq 1 ] || fail "exactly one default expected"
"${CTL[@]}" --json profile list | jq -e '.default == "invar-2026.3" and (.profiles | length) >= 3
	and all(.profiles[]; (.summary | length) > 10)' >/dev/null || fail "profile_list JSON"

# A second daemon, same LU identity: compatible.
PORT1=$PORT; PID1=$INVARD_PID; CTL1=("${CTL[@]}")
mkdir -p "$TMP/data2"
PORT2=$(free_port)
"$INVARD" --listen "127.0.0.1:$PORT2" --data-dir "$TMP/data2" --target "$IQN" --lun "$LU" \
	>>"$TMP/invard2.log" 2>&1 &
PID2=$!
wait_listening "$PORT2" || fail "second invard did not start"
for _ in $(seq 1 100); do [ -S "$TMP/data2/invar.sock" ] && break; sleep 0.05; done
[ -S "$TMP/data2/invar.sock" ] || { cat "$TMP/invard2.log"; fail "the second invard has no control socket"; }
"$INVARCTL" --socket "$TMP/data2/invar.sock" lu describe "$IQN" 0 >"$TMP/b.json"
kill -TERM "$PID2"; wait "$PID2" || fail "second invard did not stop cleanly"
"$INVARCTL" compat check "$TMP/a.json" "$TMP/b.json" || fail "same identity on two daemons judged incompatible"
"$INVARCTL" compat check "$TMP/a.json" "$TMP/a.json" >/dev/null || fail "identical descriptions judged incompatible"

# Each difference is refused, named on its own line.
check_refused() { # JQ_EDIT EXPECTED_LINE_REGEX
	jq "$1" "$TMP/a.json" >"$TMP/x.json"
	"$INVARCTL" compat check "$TMP/a.json" "$TMP/x.json" >"$TMP/out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || { cat "$TMP/out"; fail "compat check after '$1' exited $rc, not 1"; }
	grep -Eq "$2" "$TMP/out" || { cat "$TMP/out"; fail "no reason matching '$2' after '$1'"; }
	echo "refused ($1): $(head -n 1 "$TMP/out")"
}
check_refused '.profile = "invar-2026.1"' '^behaviour profile differs: "invar-2026.3" on the source, "invar-2026.1"'
check_refused '.attributes.block_size = 4096' '^block size differs: 512 on the source, 4096'
check_refused '.attributes.capacity_blocks = 1000' '^capacity smaller on the destination: 1000 blocks'
check_refused '.attributes.capacity_blocks = 99999' '^capacity larger on the destination'
check_refused '.identity.serial = "OTHER"' '^serial number \(VPD 80h\) differs'
check_refused '.identity.naa = "3000000000000001"' '^NAA designator \(VPD 83h\) differs'
check_refused '.device_api = "scsi-mmc"' '^device API differs'
check_refused '.attributes.write_cache.wce = false' '^write cache \(WCE, current\) differs'
check_refused '.describe_version = 2' 'destination: describe_version 2 is newer'
# Several differences: one line each.
jq '.profile = "invar-2026.1" | .attributes.block_size = 4096 | .identity.serial = "X"' \
	"$TMP/a.json" >"$TMP/x.json"
"$INVARCTL" compat check "$TMP/a.json" "$TMP/x.json" >"$TMP/out"
[ $? -eq 1 ] && [ "$(wc -l <"$TMP/out")" -eq 3 ] || { cat "$TMP/out"; fail "3 differences, 3 lines expected"; }
# The describe of the 2026.1 LU differs from LUN 0 in many ways.
"$INVARCTL" compat check "$TMP/a.json" "$TMP/one.json" >/dev/null && fail "LUN 0 and LUN 1 judged compatible"

# Malformed input: exit 2 with a clear error.
echo '{' >"$TMP/bad.json"
"$INVARCTL" compat check "$TMP/a.json" "$TMP/bad.json" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "not valid JSON" "$TMP/err" || fail "invalid JSON not refused with exit 2"
jq 'del(.identity.serial)' "$TMP/a.json" >"$TMP/bad.json"
"$INVARCTL" compat check "$TMP/bad.json" "$TMP/a.json" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q 'source description: "identity.serial" is missing' "$TMP/err" ||
	{ cat "$TMP/err"; fail "missing field not refused with exit 2"; }
"$INVARCTL" compat check "$TMP/a.json" "$TMP/nonexistent.json" 2>/dev/null
[ $? -eq 2 ] || fail "a missing file must exit 2"
invar_stop
