#!/usr/bin/env bash
# Two fresh daemons, same LU identity (different ports and data directories): every corpus CDB
# plus 1000 seeded mutations of them go to both, and every answer must be identical, with no
# command unanswered (no timeout, no dropped connection). Runs for each released profile.
. "$(dirname "$0")/lib.sh"
GOLDEN=${GOLDEN:-$PWD/$BUILD/invar-golden}
[ -x "$GOLDEN" ] || fail "$GOLDEN is not built (make golden; needs libiscsi-dev)"
directive() { sed -n "s/^#! $2 //p" "$1" | head -n 1; }
SEED=${SWEEP_SEED:-20261121}

pid2=
stop2() {
	[ -n "$pid2" ] || return 0
	kill -TERM "$pid2" 2>/dev/null || fail "the second invard died during the sweep"
	wait "$pid2" || fail "the second invard exited with status $?"
	pid2=
}
trap 'stop2 2>/dev/null; cleanup' EXIT

for p in $("$GOLDEN" profiles | awk '$2 == "released" { print $1 }'); do
	corpus=tests/golden/$p.corpus
	target=$(directive "$corpus" target)
	spec=$(directive "$corpus" lun)
	invar_start --target "$target" --lun "$spec"
	port2=$(free_port) || fail "no free port"
	mkdir -p "$TMP/data2"
	"$INVARD" --listen "127.0.0.1:$port2" --data-dir "$TMP/data2" --target "$target" \
		--lun "$spec" >>"$TMP/invard2.log" 2>&1 &
	pid2=$!
	wait_listening "$port2" || fail "the second invard did not start"
	"$GOLDEN" sweep "$URL/$target/0" "iscsi://127.0.0.1:$port2/$target/0" "$corpus" \
		--seed "$SEED" --count 1000 >"$TMP/sweep.out" 2>&1
	rc=$?
	head -n 150 "$TMP/sweep.out"
	[ "$rc" -eq 0 ] || fail "$p: the two daemons did not answer the sweep identically"
	grep -q ": 0 differ, 0 unanswered" "$TMP/sweep.out" || fail "no sweep summary"
	stop2
	invar_stop
done

# Control: the comparison is real. Daemons whose LUs differ only in profile must differ.
c1=tests/golden/invar-2026.1.corpus
target=$(directive "$c1" target)
spec=$(directive "$c1" lun)
invar_start --target "$target" --lun "$spec"
port2=$(free_port) || fail "no free port"
"$INVARD" --listen "127.0.0.1:$port2" --data-dir "$TMP/data2" --target "$target" \
	--lun "${spec/profile=invar-2026.1/profile=invar-2026.2}" >>"$TMP/invard2.log" 2>&1 &
pid2=$!
wait_listening "$port2" || fail "the second invard did not start"
"$GOLDEN" sweep "$URL/$target/0" "iscsi://127.0.0.1:$port2/$target/0" "$c1" --count 0 \
	>"$TMP/sweep.out" 2>&1 && fail "a 2026.1 and a 2026.2 LU answered identically"
grep -q "^DIFF corpus CDB .*UNMAP" "$TMP/sweep.out" || fail "the profile difference (UNMAP) was not named"
echo "control: 2026.1 vs 2026.2 differ: $(grep '^sweep: [0-9]' "$TMP/sweep.out")"
stop2
invar_stop
