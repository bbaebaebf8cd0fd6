#!/usr/bin/env bash
# The pause an initiator sees when its LU is live-migrated (docs/design/migration.md, "Handover").
#
#   bench/mig-pause.sh [N] [GAP_S]     N migrations (default 20), GAP_S seconds apart (default 4)
#
# Two invards on one machine share a 32 MiB file LU (profile invar-2026.3); tests/tools/
# mig_client (one verified 512-byte write or read-back at a time, libiscsi, given only A's URL)
# runs while the LU moves A -> B -> A ... N times. Per migration, the pause is the longest
# client operation that started within GAP_S of the migration start (operations under 1 ms are
# not logged: a migration without one paused the client less than 1 ms). Prints each pause,
# then p50 and max over the N migrations, the daemon-side pause_ms (STOP_COPY to DONE) the
# same way, and the client's totals (failed and mismatched I/Os must be 0). Run from the
# repository root after `make` and `make build/tests/tools/mig_client`.
set -u
N=${1:-20}
GAP=${2:-4}
BUILD=${BUILD:-build}
. "$(dirname "$0")/../tests/integration/lib.sh"
CLIENT=$PWD/$BUILD/tests/tools/mig_client
[ -x "$CLIENT" ] || fail "$CLIENT is not built (make build/tests/tools/mig_client)"
BPID=
CPID=
trap '[ -n "$CPID" ] && kill "$CPID" 2>/dev/null; [ -n "$BPID" ] && kill "$BPID" 2>/dev/null;
      wait 2>/dev/null; cleanup' EXIT

AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "file:$TMP/shared.img,size=32M,profile=invar-2026.3" \
	--migration-listen "127.0.0.1:$AMIG"
BPORT=$(free_port) || fail "no free port"
BMIG=$(free_port) || fail "no free port"
mkdir -p "$TMP/B"
"$INVARD" --listen "127.0.0.1:$BPORT" --data-dir "$TMP/B" --migration-listen "127.0.0.1:$BMIG" \
	>>"$TMP/B.log" 2>&1 &
BPID=$!
wait_listening "$BPORT" && wait_listening "$BMIG" && wait_ctl_socket "$TMP/B/invar.sock" ||
	fail "B did not start"
BCTL=("$INVARCTL" --socket "$TMP/B/invar.sock")
"$CLIENT" -s 1 -o 1024 -n 4096 "$URL/$TEST_IQN/0" "$TMP/stop" >"$TMP/client.out" \
	2>"$TMP/client.err" &
CPID=$!
sleep 2
: >"$TMP/migs"
for i in $(seq 1 "$N"); do
	t=$(date +%s%3N)
	if [ $((i % 2)) -eq 1 ]; then
		r=$("${CTL[@]}" --json lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$BMIG")
	else
		r=$("${BCTL[@]}" --json lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$AMIG")
	fi || fail "migration $i failed: $r"
	echo "$t $(echo "$r" | jq -r .pause_ms)" >>"$TMP/migs"
	sleep "$GAP"
done
touch "$TMP/stop"
wait "$CPID"
CPID=
awk -v gap="$GAP" '
	FNR == NR { mt[++n] = $1; dp[n] = $2; next }
	$1 == "stall" { st[++m] = $2; sl[m] = $3 }
	function pct(a, k, p,   i, j, t, b) {
		for (i = 1; i <= k; i++) b[i] = a[i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
		return b[int((k - 1) * p) + 1]
	}
	END {
		for (i = 1; i <= n; i++) {
			p[i] = 0
			for (j = 1; j <= m; j++)
				if (st[j] >= mt[i] - 50 && st[j] < mt[i] + gap * 1000 && sl[j] > p[i]) p[i] = sl[j]
			printf "migration %2d: client pause %s ms, daemon pause %.2f ms\n", i, p[i] ? sprintf("%.1f", p[i]) : "<1", dp[i]
		}
		printf "client pause over %d migrations: p50 %.1f ms, max %.1f ms (0 = under 1 ms)\n", n, pct(p, n, 0.5), pct(p, n, 1)
		printf "daemon pause (STOP_COPY to DONE): p50 %.2f ms, max %.2f ms\n", pct(dp, n, 0.5), pct(dp, n, 1)
	}' "$TMP/migs" "$TMP/client.out"
grep -E "^(ios|latency_ms)" "$TMP/client.out"
kill "$BPID"
wait "$BPID"
BPID=
invar_stop
