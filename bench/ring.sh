#!/usr/bin/env bash
# The handler ring's cost: the same file backstore in-process (file:PATH) and through the ring
# (user:NAME served by build/invar-handler-file), one invard, the same client, alternating
# rounds. 4 KiB random reads at QD32 with libiscsi's iscsi-perf (-m 32 -b 8 -r). Prints IOPS and
# CPU µs per I/O (daemon, plus the handler for the ring) for each, the ratios of the totals, and
# the median of the per-round IOPS ratios (the two runs of a round are back to back).
#   bench/ring.sh [--seconds N] [--warmup N] [--rounds N] [--workers N] [--split] [--blast]
# --split puts the client on CPU 0 and invard and the handler on the other CPUs (taskset), the
# way an initiator on another host leaves the target its own cores; without it all three share
# every CPU, and on a small host the handler's CPU time comes straight out of the client's.
# --blast uses bench/iscsi-blast.c (about 1 µs of CPU per I/O, against iscsi-perf's 7) as the
# client, so that the target, not the client, is what runs out of CPU: with --split, the
# figure for a target whose own core is saturated.
# Informational: never part of make check; the exit status is non-zero only when the benchmark
# itself could not run. Backing files live in /dev/shm when it exists (the device is not what
# is measured).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECS=10 WARM=2 ROUNDS=2 WORKERS=2 SPLIT=0 BLAST=0
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECS=$2; shift 2 ;;
	--warmup) WARM=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--workers) WORKERS=$2; shift 2 ;;
	--split) SPLIT=1; shift ;;
	--blast) BLAST=1; shift ;;
	*) echo "usage: bench/ring.sh [--seconds N] [--warmup N] [--rounds N] [--workers N] [--split] [--blast]" >&2; exit 2 ;;
	esac
done
[ $BLAST = 1 ] || command -v iscsi-perf >/dev/null || { echo "bench/ring.sh: needs iscsi-perf (libiscsi-bin)" >&2; exit 1; }
CLIENT_PIN= TARGET_PIN=
if [ $SPLIT = 1 ]; then
	ncpu=$(nproc)
	[ "$ncpu" -ge 2 ] || { echo "bench/ring.sh: --split needs 2 CPUs" >&2; exit 1; }
	CLIENT_PIN="taskset -c 0" TARGET_PIN="taskset -c 1-$((ncpu - 1))"
fi
[ -x "$BUILD/invard" ] && [ -x "$BUILD/invar-handler-file" ] || { echo "build first (make)" >&2; exit 1; }
base=/tmp; [ -d /dev/shm ] && base=/dev/shm
TMP=$(mktemp -d "$base/invar-ring-bench.XXXXXX")
DPID= HPID=
cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
if [ $BLAST = 1 ]; then
	cc -O2 -std=gnu11 -o "$TMP/iscsi-blast" bench/iscsi-blast.c -lpthread ||
		{ echo "bench/ring.sh: cannot build bench/iscsi-blast.c" >&2; exit 1; }
fi
IQN=iqn.2026-11.org.invar:bench
PORT=$((30000 + RANDOM % 20000))
SIZE=1G
# Both files fully written first, so both paths read real data from the page cache.
for f in inproc ring; do
	head -c $((256 << 20)) /dev/urandom >"$TMP/$f.img"
	truncate -s $SIZE "$TMP/$f.img"
done
$TARGET_PIN "$BUILD/invard" --listen 127.0.0.1:$PORT --data-dir "$TMP/data" --target $IQN --workers "$WORKERS" \
	--lun "file:$TMP/inproc.img" --lun user:ring,size=$SIZE >"$TMP/invard.log" 2>&1 &
DPID=$!
for _ in $(seq 50); do [ -S "$TMP/data/handler.sock" ] && break; sleep 0.1; done
$TARGET_PIN "$BUILD/invar-handler-file" --socket "$TMP/data/handler.sock" --name ring "$TMP/ring.img" \
	>"$TMP/handler.log" 2>&1 &
HPID=$!
for _ in $(seq 50); do grep -q "handler pid .* ready" "$TMP/invard.log" && break; sleep 0.1; done
grep -q "handler pid .* ready" "$TMP/invard.log" || { echo "handler did not attach" >&2; exit 1; }

ticks() { # utime + stime of a process, in clock ticks
	local f
	read -r f <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
	f=${f##*) }
	set -- $f
	echo $((${12} + ${13}))
}
HZ=$(getconf CLK_TCK)

# run LUN -> "ios cpu_ticks_daemon cpu_ticks_handler"
run() {
	local lun=$1 out=$TMP/perf.$1 d0 d1 h0 h1 ios
	if [ $BLAST = 1 ]; then
		$CLIENT_PIN "$TMP/iscsi-blast" -q 32 -W "$WARM" -t "$SECS" "iscsi://127.0.0.1:$PORT/$IQN/$lun" >"$out" 2>&1 &
	else
		$CLIENT_PIN iscsi-perf -m 32 -b 8 -r -t $((WARM + SECS + 1)) "iscsi://127.0.0.1:$PORT/$IQN/$lun" >"$out" 2>&1 &
	fi
	local cp=$!
	sleep "$WARM"
	d0=$(ticks $DPID) h0=$(ticks $HPID)
	sleep "$SECS"
	d1=$(ticks $DPID) h1=$(ticks $HPID)
	wait $cp
	# "HH:MM:SS - lba N, iops current N (...)" once a second, '\r'-separated: count the
	# seconds after the warm-up.
	if [ $BLAST = 1 ]; then
		ios=$(awk '$1 == "ios" { print $2; f = 1 } END { if (!f) print 0 }' "$out")
	else
		ios=$(tr '\r' '\n' <"$out" | grep -oE 'iops current [0-9]+' | awk -v w="$WARM" -v s="$SECS" \
			'{ n++; if (n > w && n <= w + s) t += $3 } END { print t + 0 }')
	fi
	echo "$ios $((d1 - d0)) $((h1 - h0))"
}

declare -A IOS CPU
for k in inproc ring; do IOS[$k]=0 CPU[$k]=0; done
RATIOS=()
echo "4 KiB random read, QD32, $([ $BLAST = 1 ] && echo iscsi-blast || echo iscsi-perf); ${SECS}s per run after ${WARM}s warm-up, $ROUNDS rounds, $WORKERS workers"
[ $SPLIT = 1 ] && echo "split: client on CPU 0, invard and the handler on CPUs 1-$((ncpu - 1))"
for r in $(seq "$ROUNDS"); do
	for k in inproc ring; do
		lun=0; [ $k = ring ] && lun=1
		set -- $(run $lun)
		ios=$1 cpu=$2; [ $k = ring ] && cpu=$(($2 + $3))
		IOS[$k]=$((IOS[$k] + ios)) CPU[$k]=$((CPU[$k] + cpu))
		[ $k = inproc ] && ios_in=$ios
		printf '  round %d %-7s %8d IOPS  %6.1f µs CPU/IO (daemon %d, handler %d ticks)\n' "$r" "$k" \
			$((ios / SECS)) "$(echo "$cpu $HZ $ios" | awk '{ printf "%.1f", $2 ? $1 * 1e6 / $2 / ($3 ? $3 : 1) : 0 }')" \
			"$2" "$([ $k = ring ] && echo "$3" || echo 0)"
	done
	# The two runs of a round are back to back: their ratio is the figure least disturbed by
	# load that comes and goes on a shared machine.
	RATIOS+=("$(awk -v a="$ios" -v b="$ios_in" 'BEGIN { printf "%.3f", b ? a / b : 0 }')")
	echo "  round $r ring/in-process IOPS ${RATIOS[-1]}"
done
awk -v ii="${IOS[inproc]}" -v ir="${IOS[ring]}" -v ci="${CPU[inproc]}" -v cr="${CPU[ring]}" \
	-v hz="$HZ" -v t=$((SECS * ROUNDS)) 'BEGIN {
	printf "in-process: %d IOPS, %.1f µs CPU per I/O (daemon)\n", ii / t, ci * 1e6 / hz / (ii ? ii : 1)
	printf "ring:       %d IOPS, %.1f µs CPU per I/O (daemon + handler)\n", ir / t, cr * 1e6 / hz / (ir ? ir : 1)
	printf "ring/in-process: IOPS %.3f, CPU per I/O %.3f\n", ir / (ii ? ii : 1), (cr / (ir ? ir : 1)) / ((ci ? ci : 1) / (ii ? ii : 1))
}'
printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{ v[NR] = $1 } END {
	printf "median of the round ratios: IOPS %.3f (%d rounds)\n",
		NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, NR }'
