#!/usr/bin/env bash
# Portal groups and ALUA through the control plane: two portals in groups 1 and 2, each
# session's target port follows the portal it used (VPD 0x83), invar-2026.3 answers TPGS=1,
# `invarctl alua set` puts a group in standby (NOT READY 04/0B through it, the other group
# unaffected), portal groups survive config save / restore (format version 2), and a config
# without extra groups stays version 1.
. "$(dirname "$0")/lib.sh"
need iscsi-inq
need iscsi-readcapacity16
PORT2=$(free_port) || fail "no free port"
invar_start --listen "127.0.0.1:$PORT2,tpg=2" --target "$TEST_IQN" \
	--lun "file:$TMP/data/lun0.img,size=64M,profile=invar-2026.3" \
	--lun "ram:16M,profile=invar-2026.2"
wait_listening "$PORT2" || fail "invard did not listen on $PORT2"
U1="iscsi://127.0.0.1:$PORT/$TEST_IQN/0"
U2="iscsi://127.0.0.1:$PORT2/$TEST_IQN/0"

"${CTL[@]}" portal list >"$TMP/pl.txt" || fail "portal list failed"
grep -qx "127.0.0.1:$PORT tpg 1" "$TMP/pl.txt" || fail "portal list: $(cat "$TMP/pl.txt")"
grep -qx "127.0.0.1:$PORT2 tpg 2" "$TMP/pl.txt" || fail "portal list: $(cat "$TMP/pl.txt")"

# The target port is named after the portal group the session came through.
iscsi-inq -e 1 -c 131 "$U1" | grep -q "Designator:\[$TEST_IQN,t,0x0001\]" ||
	fail "VPD 0x83 through group 1 does not name port t,0x0001"
iscsi-inq -e 1 -c 131 "$U2" | grep -q "Designator:\[$TEST_IQN,t,0x0002\]" ||
	fail "VPD 0x83 through group 2 does not name port t,0x0002"
iscsi-inq "$U2" | grep -qx "TPGS:1" || fail "invar-2026.3 LU does not report TPGS=1"
iscsi-inq "iscsi://127.0.0.1:$PORT/$TEST_IQN/1" | grep -qx "TPGS:0" ||
	fail "invar-2026.2 LU no longer reports TPGS=0"

"${CTL[@]}" alua list "$TEST_IQN" >"$TMP/al.txt" || fail "alua list failed"
grep -qx "tpg 2 active/optimized (1 portals)" "$TMP/al.txt" || fail "alua list: $(cat "$TMP/al.txt")"
"${CTL[@]}" alua set "$TEST_IQN" 2 standby >/dev/null || fail "alua set standby failed"
"${CTL[@]}" alua set "$TEST_IQN" 3 standby 2>/dev/null && fail "alua set accepted a group without portals"
"${CTL[@]}" alua set "$TEST_IQN" 2 offline 2>/dev/null && fail "alua set accepted state 'offline'"
"${CTL[@]}" alua list "$TEST_IQN" | grep -qx "tpg 2 standby (1 portals)" || fail "state not listed"
# libiscsi's connect sends TEST UNIT READY: through the standby group that is NOT READY,
# TARGET PORT IN STANDBY STATE; through group 1 the LU works.
iscsi-readcapacity16 "$U2" >"$TMP/rc2.txt" 2>&1 && fail "READ CAPACITY through a standby group succeeded"
grep -q "0x040b" "$TMP/rc2.txt" || fail "standby group: expected 04/0B, got: $(cat "$TMP/rc2.txt")"
iscsi-readcapacity16 "$U1" >/dev/null 2>&1 || fail "group 1 stopped working when group 2 went standby"
"${CTL[@]}" alua set "$TEST_IQN" 2 unavailable >/dev/null || fail "alua set unavailable failed"
iscsi-readcapacity16 "$U2" >"$TMP/rc2.txt" 2>&1 && fail "READ CAPACITY through an unavailable group succeeded"
grep -q "0x040c" "$TMP/rc2.txt" || fail "unavailable group: expected 04/0C, got: $(cat "$TMP/rc2.txt")"
"${CTL[@]}" alua set "$TEST_IQN" 2 active/non-optimized >/dev/null || fail "alua set AN failed"
iscsi-readcapacity16 "$U2" >/dev/null 2>&1 || fail "active/non-optimized group refused READ CAPACITY"

# The portal groups are part of the saved config (version 2) and come back on restore.
"${CTL[@]}" config save "$TMP/saved.json" >/dev/null || fail "config save failed"
jq -e '.version == 2' "$TMP/saved.json" >/dev/null || fail "config with tpg 2 is not version 2"
jq -e --arg a "127.0.0.1:$PORT2" '.portals | index({"address": $a, "tpg": 2})' \
	"$TMP/saved.json" >/dev/null || fail "saved portals: $(jq -c .portals "$TMP/saved.json")"
invar_stop
invar_start_config "$TMP/saved.json"
wait_listening "$PORT2" || fail "restored invard does not listen on $PORT2"
CTL=("$INVARCTL" --socket "$TMP/data/invar.sock")
"${CTL[@]}" portal list | grep -qx "127.0.0.1:$PORT2 tpg 2" || fail "restored portal lost its group"
iscsi-inq -e 1 -c 131 "$U2" | grep -q "t,0x0002" || fail "restored group 2 port identity differs"
# Dropping the extra group makes the file readable by a version-1 invard again.
"${CTL[@]}" portal delete "127.0.0.1:$PORT2" >/dev/null || fail "portal delete failed"
"${CTL[@]}" config save "$TMP/v1.json" >/dev/null || fail "config save failed"
jq -e '.version == 1 and (.portals | all(type == "string"))' "$TMP/v1.json" >/dev/null ||
	fail "config without extra groups is not plain version 1: $(cat "$TMP/v1.json")"
invar_stop
