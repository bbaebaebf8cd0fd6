#!/usr/bin/env bash
# Saved mode pages (invar-2026.3 only): MODE SELECT with SP=1 saves the changeable pages,
# MODE SENSE page control 3 reports them, and they are the current values after a restart; a
# corrupt mode.json is refused with a clear error. invar-2026.1/2026.2 still refuse SP=1 and
# saved values exactly as before. The readonly/removable options survive config save/restore.
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
invar_start --target "$TEST_IQN" --lun "file:$TMP/data/m3.img,size=16M,profile=invar-2026.3" \
	--lun "ram:16M,profile=invar-2026.1" --lun "ram:16M,profile=invar-2026.2" \
	--lun "ram:16M,profile=invar-2026.3,removable=1,readonly=1"

cmd() {
	ALL=$("$ISCSI_CMD" "$@") || fail "iscsi-cmd $* failed to run"
	OUT=$(awk '/^next$/ { buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }' <<<"$ALL")
}
L0="$URL/$TEST_IQN/0"
TUR=000000000000
# MODE SENSE(6), DBD, caching page: current (00h) and saved (C0h) page control.
SENSE_CUR=1a0808001800 SENSE_SAVED=1a08c8001800
# MODE SELECT(6) PF=1 with SP=1 / SP=0: the caching page with WCE cleared / set.
WCE0=000000000812$(printf '%036d' 0) WCE1=00000000081204$(printf '%034d' 0)
SEL_SAVE="151100001800=$WCE0" SEL_CUR="151000001800=$WCE1"
wce_of() { # the WCE bit of the caching page in a MODE SENSE(6) DBD answer ($OUT)
	local d
	d=$(sed -n 's/^data   //p' <<<"$OUT")
	[ "${d:8:4}" = 0812 ] || fail "no caching page in: $OUT"
	echo $(((16#${d:12:2} >> 2) & 1))
}

# Released profiles: SP=1 and saved values are SAVING PARAMETERS NOT SUPPORTED, as always.
for l in 1 2; do
	cmd -n 64 "$URL/$TEST_IQN/$l" $TUR "$SEL_SAVE"
	grep -q '^key    0x05 asc 0x39 ascq 0x00$' <<<"$OUT" || fail "LUN $l accepted SP=1: $OUT"
	cmd -n 64 "$URL/$TEST_IQN/$l" $TUR $SENSE_SAVED
	grep -q '^key    0x05 asc 0x39 ascq 0x00$' <<<"$OUT" || fail "LUN $l saved values: $OUT"
done

# invar-2026.3: saved values start as the defaults (WCE=1).
cmd -n 64 "$L0" $TUR $SENSE_SAVED
[ "$(wce_of)" = 1 ] || fail "default saved WCE is not 1"
# Save WCE=0, then change the current value only back to 1.
cmd -n 64 "$L0" $TUR "$SEL_SAVE" "$SEL_CUR" $SENSE_SAVED
[ "$(grep -c '^status 0x00$' <<<"$ALL")" = 4 ] || fail "MODE SELECT SP=1 failed: $ALL"
[ "$(wce_of)" = 0 ] || fail "saved WCE is not 0 after SP=1"
cmd -n 64 "$L0" $TUR $SENSE_CUR
[ "$(wce_of)" = 1 ] || fail "current WCE is not 1 after SP=0"
mf=$(find "$TMP/data/lu" -name mode.json | head -n 1)
[ -n "$mf" ] || fail "no mode.json under $TMP/data/lu"
jq -e '.version == 1 and .profile == "invar-2026.3"' "$mf" >/dev/null || fail "mode.json: $(cat "$mf")"

# Restart from the saved config: the current value is the saved one, and the LU options hold.
"${CTL[@]}" config save "$TMP/config.json" >/dev/null || fail "config save"
jq -e '[.targets[0].luns[] | select(.readonly == true and .removable == true)] | length == 1' \
	"$TMP/config.json" >/dev/null || fail "readonly/removable not saved: $(cat "$TMP/config.json")"
invar_stop
invar_start_config "$TMP/config.json"
cmd -n 64 "$L0" $TUR $SENSE_CUR
[ "$(wce_of)" = 0 ] || fail "current WCE after restart is not the saved 0"
cmd -n 64 "$L0" $TUR $SENSE_SAVED
[ "$(wce_of)" = 0 ] || fail "saved WCE after restart is not 0"
cmd -n 96 "$URL/$TEST_IQN/3" 120000006000 "2a000000000000000100=$(printf '%01024d' 0)"
grep -q '^key    0x07 asc 0x27 ascq 0x00$' <<<"$OUT" || fail "LUN 3 not read-only after restore"
grep -q '^data   0080' <<<"$ALL" || fail "LUN 3 not removable after restore: $ALL"
invar_stop

# A corrupt mode.json stops the LU from being created, naming the file. A config that cannot be
# applied whole stops invard (nothing half-restored is served): it must exit on its own, with a
# failure status, after saying why.
expect_refused() {
	local msg=$1 rc=0
	"$INVARD" --data-dir "$TMP/data" --config "$TMP/config.json" >>"$TMP/invard.log" 2>&1 &
	INVARD_PID=$!
	for _ in $(seq 1 100); do
		kill -0 "$INVARD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$INVARD_PID" 2>/dev/null && fail "invard still running with a bad mode.json ($msg)"
	wait "$INVARD_PID" || rc=$?
	INVARD_PID=
	[ "$rc" -ne 0 ] || fail "invard exited 0 with a bad mode.json ($msg)"
	grep -qF "$msg" "$TMP/invard.log" || fail "bad mode.json not reported: want '$msg'"
}
echo '{"version": 1, "profile": "invar-2026.3", "pages": [{"page": 8, "subpage": 0, "data": "zz"}]}' >"$mf"
expect_refused 'mode.json: pages[0]: data must be 20 bytes of hex'
echo 'not json' >"$mf"
expect_refused 'mode.json: not JSON'
exit 0
