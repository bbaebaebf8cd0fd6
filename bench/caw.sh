#!/usr/bin/env bash
# The COMPARE AND WRITE mix: 4 KiB random writes at QD32 on one session, alone and then with one
# COMPARE AND WRITE every 100 ms on a second session at another LBA (a VMware ATS heartbeat), on
# a tmpfs-backed file LU. Prints both IOPS figures and their ratio per round and the medians;
# the ratio within a round is what counts (SBC-3 only asks a CAW to be atomic against writes
# to its own blocks, so the mix should keep at least 95% of the writes' IOPS). Figures only:
# it never fails on a number.
#
#   bench/caw.sh [--invard PATH] [--baseline PATH] [--rounds N] [--duration S] [--warmup S]
#                [--every MS] [--size SIZE] [--workers N] [--fua] [--disk DIR]
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	cat <<'EOF'
usage: bench/caw.sh [OPTION]...
4 KiB random writes QD32 (bench/iscsi-lat.c -w) without and with one COMPARE AND WRITE every
--every ms on a second session, against invard on a tmpfs file LU.

  --invard PATH    the invard binary (default: build/invard)
  --baseline PATH  a second invard (target "base", e.g. a build of main) in the same rounds
  --rounds N       rounds (default 3); each runs plain then mix (mix then plain on odd rounds)
  --duration S     timed seconds per run (default 10)    --warmup S  warm-up (default 2)
  --every MS       COMPARE AND WRITE period (default 100)
  --size SIZE      LU file size in MiB (default 1024)
  --workers N      invard --workers N (default: invard's own, one per CPU)
  --fua            the random writes carry FUA (durable before GOOD: on a disk, the path where
                   a write waits for the device, so running them one at a time costs most)
  --disk DIR       put the LU files in a fresh directory under DIR (a disk file system)
                   instead of /dev/shm
  -h, --help       this text
EOF
}

INVARD="" BASELINE="" ROUNDS=3 DURATION=10 WARMUP=2 EVERY=100 SIZE_MB=1024 WORKERS="" FUA="" DISK=""
while [ $# -gt 0 ]; do
	case "$1" in
	--invard) INVARD=$2; shift ;;
	--baseline) BASELINE=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--every) EVERY=$2; shift ;;
	--size) SIZE_MB=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--fua) FUA=-f ;;
	--disk) DISK=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "caw: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
die() { echo "caw: $*" >&2; exit 1; }
note() { echo "caw: $*" >&2; }
for v in "$ROUNDS" "$DURATION" "$WARMUP" "$EVERY" "$SIZE_MB" ${WORKERS:+"$WORKERS"}; do
	[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || die "expected a positive integer, got '$v'"
done
INVARD=${INVARD:-$ROOT/build/invard}
[ -x "$INVARD" ] || die "no invard at $INVARD (make first)"
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || die "no invard at $BASELINE"

WORK=$(mktemp -d /tmp/invar-caw.XXXXXX) || die "mktemp failed"
DATA=$(mktemp -d "${DISK:-/dev/shm}/invar-caw.XXXXXX") || die "cannot create a directory under ${DISK:-/dev/shm}"
declare -A URL PID
stop() {
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	PID[$1]=""
}
cleanup() {
	trap - EXIT INT TERM
	for t in "${!PID[@]}"; do stop "$t"; done
	rm -rf "$DATA" "$WORK"
	return 0
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

cc -O2 -std=gnu11 -o "$WORK/iscsi-lat" "$ROOT/bench/iscsi-lat.c" -liscsi 2>"$WORK/build.txt" ||
	{ cat "$WORK/build.txt" >&2; die "cannot build bench/iscsi-lat.c (libiscsi-dev?)"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
IQN=iqn.2026-11.org.invar:bench-caw
# start NAME: a fresh invard (NAME's binary) on a free port from 3300 over NAME's LU file. Every
# run has its own daemon, so nothing one run leaves in the LU (the previous scheme's sticky
# COMPARE AND WRITE mode) carries into the next.
declare -A BIN
start() {
	local name=$1 port=3300 pid ok=0
	while port_in_use "$port"; do port=$((port + 1)); done
	setsid "${BIN[$name]}" --listen "127.0.0.1:$port" --data-dir "$DATA/$name-state" \
		--target "$IQN" --lun "file:$DATA/$name.img,block_size=512" \
		${WORKERS:+--workers "$WORKERS"} >"$WORK/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		grep -q ' ready: ' "$WORK/$name.log" && port_in_use "$port" && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" = 1 ] || { cat "$WORK/$name.log" >&2; die "invard ($name) did not start"; }
	URL[$name]=iscsi://127.0.0.1:$port/$IQN/0
	PID[$name]=$pid
}
# The LU files, written whole (no holes: the file backstore then serves them from a mapping on
# tmpfs, as bench/run.sh's LUs are).
TARGETS=(invar)
BIN[invar]=$INVARD
if [ -n "$BASELINE" ]; then
	TARGETS+=(base)
	BIN[base]=$BASELINE
fi
for t in "${TARGETS[@]}"; do
	dd if=/dev/zero of="$DATA/$t.img" bs=1M count="$SIZE_MB" status=none ||
		die "cannot write $DATA/$t.img"
done

# run TARGET MODE: writes "IOPS CAW_GOOD CAW_OTHER CAW_MAX_US" (CAW fields "-" for plain) to
# $WORK/result (not to stdout: run must not be a subshell, which would own the daemon).
run() {
	local t=$1 mode=$2 out
	start "$t"
	out=$("$WORK/iscsi-lat" -w $FUA -q 32 -t "$DURATION" -W "$WARMUP" \
		${mode:+-c "$EVERY"} "${URL[$t]}" 2>"$WORK/client.err")
	stop "$t"
	[ -n "$out" ] || { note "$t ${mode:-plain}: client failed: $(head -c 300 "$WORK/client.err")"; echo "0 - - -" >"$WORK/result"; return; }
	awk '{ v["iops"] = "-"; for (i = 1; i < NF; i += 2) v[$i] = $(i + 1);
	       printf "%s %s %s %s\n", v["iops"], ("caw_good" in v) ? v["caw_good"] : "-",
		      ("caw_other" in v) ? v["caw_other"] : "-",
		      ("caw_max_us" in v) ? v["caw_max_us"] : "-" }' <<<"$out" >"$WORK/result"
}

echo "COMPARE AND WRITE mix: 4 KiB random writes${FUA:+ with FUA} QD32, ${DURATION} s (+${WARMUP} s warm-up) per run;"
echo "mix = the same plus one COMPARE AND WRITE every ${EVERY} ms on a second session, last LBA"
echo "invar: $INVARD${BASELINE:+; base: $BASELINE}; workers ${WORKERS:-default ($(nproc))}; LU ${SIZE_MB} MiB file on $(stat -f -c %T "$DATA") ($DATA)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-6s %10s %10s %7s %9s %9s %11s\n' round target plain_iops mix_iops ratio caw_good caw_other caw_max_us
declare -A RATIOS PLAINS MIXES
for r in $(seq "$ROUNDS"); do
	for t in "${TARGETS[@]}"; do
		if [ $((r % 2)) = 1 ]; then
			run "$t" "" && read -r p _ _ _ <"$WORK/result"
			run "$t" mix && read -r m g o mx <"$WORK/result"
		else
			run "$t" mix && read -r m g o mx <"$WORK/result"
			run "$t" "" && read -r p _ _ _ <"$WORK/result"
		fi
		ratio=$(awk -v p="$p" -v m="$m" 'BEGIN { if (p > 0) printf "%.3f", m / p; else print "-" }')
		printf '%-6s %-6s %10s %10s %7s %9s %9s %11s\n' "$r" "$t" "$p" "$m" "$ratio" "$g" "$o" "$mx"
		RATIOS[$t]+="$ratio " PLAINS[$t]+="$p " MIXES[$t]+="$m "
	done
done
median() { tr ' ' '\n' | grep -v '^-\?$' | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
echo "medians:"
for t in "${TARGETS[@]}"; do
	printf '  %-6s plain %s IOPS, mix %s IOPS, ratio %s\n' "$t" \
		"$(median <<<"${PLAINS[$t]}")" "$(median <<<"${MIXES[$t]}")" "$(median <<<"${RATIOS[$t]}")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
