#!/usr/bin/env bash
# The configuration persists by itself (docs/CONFIG.md, "Persistence"): every change made at run
# time is saved to DATA_DIR/invar.json before it is acknowledged, and a restart serves it.
#  1. Changes over RPC, SIGTERM, restart with no configuration arguments: the same config.
#  2. kill -9 at random moments during a stream of changes (target create, lun add, acl add,
#     alua set, chap set): every restart comes up, its file is valid, and what it serves is an
#     acknowledged state: every acknowledged change is there, and at most the one change that
#     was in flight when the daemon died is there too.
#  3. The command line and a saved file would disagree: refused, naming the file. A corrupt or
#     newer-version file stops invard with a clear error and is left untouched.
. "$(dirname "$0")/lib.sh"
need jq
ROUNDS=${CONFIG_KILL_ROUNDS:-12}

# restart: invard on the saved configuration alone (it names its own portal, $PORT).
restart() {
	"$INVARD" --data-dir "$TMP/data" >>"$TMP/invard.log" 2>&1 &
	INVARD_PID=$!
	wait_listening "$PORT" || fail "invard did not restart from the saved config: $(tail -n 3 "$TMP/invard.log")"
	wait_ctl_socket "$TMP/data/invar.sock" || fail "no control socket after restart"
}
# The served targets and their LUN counts, one "IQN LUNS" line each, sorted.
served() {
	"${CTL[@]}" --json target list | jq -r '.targets[] | "\(.iqn) \(.luns | length)"' | sort
}

# --- 1. save and restore --------------------------------------------------------------------
invar_start --target "$TEST_IQN" --lun ram:8M
[ ! -e "$TMP/data/invar.json" ] || fail "a file saved before any change"
"${CTL[@]}" target create iqn.2026-12.org.invar:p1 >/dev/null || fail "target create"
"${CTL[@]}" lun add iqn.2026-12.org.invar:p1 ram:4M >/dev/null || fail "lun add"
"${CTL[@]}" acl add iqn.2026-12.org.invar:p1 iqn.2026-12.org.invar:host1 >/dev/null || fail "acl add"
[ "$(stat -c %a "$TMP/data/invar.json")" = 600 ] || fail "invar.json is not mode 0600"
"${CTL[@]}" config show >"$TMP/before.json" || fail "config show"
invar_stop
restart
"${CTL[@]}" config show >"$TMP/after.json" || fail "config show after restart"
diff -u "$TMP/before.json" "$TMP/after.json" || fail "the restart serves another configuration"
echo "  changes at run time kept over a restart without arguments"

# --- 3. refusals ----------------------------------------------------------------------------
invar_stop
"$INVARD" --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" --lun ram:1M >"$TMP/refused" 2>&1 &&
	fail "invard started with --lun over a saved configuration"
grep -q "invar.json holds the configuration saved at run time" "$TMP/refused" ||
	fail "no clear refusal: $(cat "$TMP/refused")"
cp "$TMP/data/invar.json" "$TMP/good.json"
printf '{"version": 2, "targets": [' >"$TMP/data/invar.json"
cp "$TMP/data/invar.json" "$TMP/corrupt.json"
"$INVARD" --data-dir "$TMP/data" >"$TMP/corrupt.out" 2>&1 && fail "invard started on a corrupt file"
grep -q "config $TMP/data/invar.json: " "$TMP/corrupt.out" || fail "corrupt file not named: $(cat "$TMP/corrupt.out")"
cmp -s "$TMP/data/invar.json" "$TMP/corrupt.json" || fail "the corrupt file was changed"
jq '.version = 99' "$TMP/good.json" >"$TMP/data/invar.json"
"$INVARD" --data-dir "$TMP/data" >"$TMP/newer.out" 2>&1 && fail "invard started on a newer file"
grep -q "newer than this invard understands" "$TMP/newer.out" || fail "newer version: $(cat "$TMP/newer.out")"
cp "$TMP/good.json" "$TMP/data/invar.json"
echo "  refused: command line over a saved file, a corrupt file, a newer file (each left as it was)"

# --- 2. kill -9 during a stream of changes --------------------------------------------------
# Change k (1, 2, ...) is one RPC; after it, the served state is a function of k alone:
# targets iqn...:k1..:kN each with their LUNs, so "what is served" names the last change in it.
change() { # change K: the K-th change; prints nothing, fails like invarctl
	local k=$1 t=$(( (k + 3) / 4 ))
	case $((k % 4)) in
	1) "${CTL[@]}" target create "iqn.2026-12.org.invar:k$t" ;;
	2) "${CTL[@]}" lun add "iqn.2026-12.org.invar:k$t" ram:1M ;;
	3) "${CTL[@]}" lun add "iqn.2026-12.org.invar:k$t" ram:1M ;;
	0) "${CTL[@]}" alua set "iqn.2026-12.org.invar:k$t" 1 standby ;;
	esac >/dev/null 2>&1
}
# What the first K changes leave (targets k*, sorted like served()).
expect_after() {
	local k=$1 t n
	for t in $(seq 1 $(( (k + 3) / 4 ))); do
		n=$(( k - (t - 1) * 4 ))
		[ "$n" -gt 3 ] && n=3
		echo "iqn.2026-12.org.invar:k$t $((n - 1))"
	done | sort
}
restart
acked=0
cuts=0 inflight_kept=0
for round in $(seq 1 "$ROUNDS"); do
	# A stream of changes in the background; its log says which were acknowledged.
	(
		k=$acked
		while :; do
			k=$((k + 1))
			echo "try $k"
			change "$k" || exit 0
			echo "ack $k"
		done
	) >"$TMP/stream.$round" 2>&1 &
	spid=$!
	sleep "0.$(( RANDOM % 9 + 1 ))"
	kill -KILL "$INVARD_PID"
	wait "$INVARD_PID" 2>/dev/null
	wait "$spid" 2>/dev/null
	cuts=$((cuts + 1))
	last_ack=$(grep '^ack ' "$TMP/stream.$round" | tail -n 1 | cut -d' ' -f2)
	last_ack=${last_ack:-$acked}
	[ "$last_ack" -ge "$acked" ] || fail "round $round: acknowledged count went back"
	jq -e . "$TMP/data/invar.json" >/dev/null || fail "round $round: invar.json is not valid JSON after kill -9"
	restart
	served | grep -v "^$TEST_IQN \|^iqn.2026-12.org.invar:p1 " >"$TMP/got"
	expect_after "$last_ack" >"$TMP/want"
	if ! cmp -s "$TMP/got" "$TMP/want"; then
		expect_after "$((last_ack + 1))" >"$TMP/want1"
		cmp -s "$TMP/got" "$TMP/want1" ||
			fail "round $round: after change $last_ack was acknowledged the restart serves $(tr '\n' ';' <"$TMP/got"), want $(tr '\n' ';' <"$TMP/want")"
		inflight_kept=$((inflight_kept + 1))
		last_ack=$((last_ack + 1))	# it was applied and saved: the next round builds on it
	fi
	acked=$last_ack
done
[ "$acked" -ge 4 ] || fail "too few changes were acknowledged ($acked) to test anything"
echo "  $cuts kill -9 during $acked acknowledged changes: every restart served an acknowledged state ($inflight_kept kept the change in flight)"
invar_stop
