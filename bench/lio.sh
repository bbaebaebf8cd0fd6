#!/usr/bin/env bash
# invar vs LIO (the kernel's own target) vs tgt, all three inside one QEMU guest of the test
# harness (tests/vm): this host's kernel has no LIO, so the guest's Debian kernel runs it. One
# guest boot per round; in it bench/lio-guest.sh sets up each target in turn on an equal tmpfs
# file (LIO also on rd_mcp), runs the same clients against it and tears it down; the target
# order rotates each round. Prints the medians of the rounds with ratios against LIO (fileio)
# and tgt, each target's negotiated parameters, and whether KVM or TCG ran the guest. It prints
# figures and never fails on a number; compare figures within one run only (TCG emulation is
# about 12x slower than native, and this host is shared).
#
#   bench/lio.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--size MB] [--smp N]
#                [--targets LIST] [--workloads LIST] [--invard PATH] [--out DIR]
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	cat <<'EOF'
usage: bench/lio.sh [OPTION]...
invard against LIO (fileio on tmpfs and rd_mcp) and tgt, in one guest per round (tests/vm).

  --quick          1 round, 1 s warm-up, 4 s timed (default: 3 rounds, 2 s, 8 s)
  --rounds N       rounds (one guest boot each; the target order rotates; medians printed)
  --duration S     timed seconds per run        --warmup S   warm-up seconds per run
  --size MB        LU size (default 1024; the guest gets MB + 1024 MiB of RAM)
  --smp N          guest vCPUs (default 2)
  --targets L      of lio-file,lio-rd,invar,invar-r2t,invar-w1,tgt (default: all but
                   invar-w1; invar-r2t is invard with LIO's InitialR2T=Yes and 64 KiB
                   FirstBurstLength, write workloads only; invar-w1 is invard --workers 1)
  --workloads L    subset of perf-rr32,fio-rr32,fio-rw32,fio-rr1,fio-rw1,fio-sr128
  --invard PATH    the invard binary run in the guest (default build/invard)
  --out DIR        keep raw client output and results.csv in DIR
  -h, --help       this text
EOF
}

ROUNDS=3 DURATION=8 WARMUP=2 SIZE_MB=1024 SMP=2 INVARD=$ROOT/build/invard OUT=""
TARGETS=lio-file,lio-rd,invar,invar-r2t,tgt
WORKLOADS=perf-rr32,fio-rr32,fio-rw32,fio-rr1,fio-rw1,fio-sr128
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) ROUNDS=1 DURATION=4 WARMUP=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--size) SIZE_MB=$2; shift ;;
	--smp) SMP=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--workloads) WORKLOADS=$2; shift ;;
	--invard) INVARD=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "lio: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
die() { echo "lio: $*" >&2; exit 1; }
note() { echo "lio: $*" >&2; }
for v in "$ROUNDS" "$DURATION" "$WARMUP" "$SIZE_MB" "$SMP"; do
	[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || die "expected a positive integer, got '$v'"
done
for t in ${TARGETS//,/ }; do
	case $t in lio-file | lio-rd | invar | invar-r2t | invar-w1 | tgt) ;; *) die "unknown target '$t'" ;; esac
done
for w in ${WORKLOADS//,/ }; do
	case $w in perf-rr32 | fio-rr32 | fio-rw32 | fio-rr1 | fio-rw1 | fio-sr128) ;; *) die "unknown workload '$w'" ;; esac
done
[ "$(id -u)" = 0 ] || die "must run as root (the guest is built with mmdebstrap)"
if [ ! -x "$INVARD" ]; then
	note "building invard (make -C $ROOT)"
	make -C "$ROOT" -s all >&2 || die "make failed"
fi
[ -x "$INVARD" ] || die "no invard at $INVARD"

TMP=$(mktemp -d /tmp/invar-lio.XXXXXX) || die "mktemp failed"
fail() { echo "lio: $*" >&2; exit 1; }
# shellcheck source=../tests/vm/lib.sh
. "$ROOT/tests/vm/lib.sh"
cleanup() {
	trap - EXIT INT TERM
	vm_cleanup
	[ -n "$OUT" ] && cp -r "$TMP/share/out/." "$OUT/" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM
[ -n "$OUT" ] && { mkdir -p "$OUT" || die "cannot create $OUT"; }

vm_accel
note "guest: $VM_ACCEL ($VM_ACCEL_WHY)"
mkdir -p "$TMP/share/out"
cp "$INVARD" "$TMP/share/invard"
: >"$TMP/share/out/results.csv"
read -r -a order <<<"${TARGETS//,/ }"
n=${#order[@]}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
	rot=()
	for i in $(seq 0 $((n - 1))); do rot+=("${order[$(((i + r - 1) % n))]}"); done
	cat >"$TMP/share/env" <<EOF
ROUND=$r
ORDER="${rot[*]}"
WORKLOADS=$WORKLOADS
DURATION=$DURATION
WARMUP=$WARMUP
SIZE_MB=$SIZE_MB
EOF
	note "round $r of $ROUNDS: ${rot[*]} (host load average $(cut -d' ' -f1-3 /proc/loadavg))"
	rc=0
	vm_run "lio$r" "$ROOT/bench/lio-guest.sh" --mem $((SIZE_MB + 1024)) --smp "$SMP" \
		--timeout $((n * 8 * (DURATION + WARMUP + 20) + 300)) --share "bench=$TMP/share" || rc=$?
	grep 'lio-guest:' "$TMP/vm-lio$r/console.log" | sed 's/^/    /' >&2
	[ "$rc" = 0 ] || { vm_dump "lio$r" 30; note "round $r: the guest ended with status $rc"; }
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
res=$TMP/share/out/results.csv
[ -s "$res" ] || die "no results"
echo
echo "invar vs LIO vs tgt in one guest: $VM_ACCEL ($VM_ACCEL_WHY), $SMP vCPU, kernel $VM_KVER,"
echo "$ROUNDS round(s) of ${DURATION} s (+${WARMUP} s warm-up), ${SIZE_MB} MiB LUs; host load average $load0 before, $load1 after"
echo "(a shared host: compare within this run only). Medians of the rounds; CPU = target-side"
echo "µs per I/O (guest busy minus the client process; fio rows include the kernel initiator)."
echo
for t in ${TARGETS//,/ }; do
	[ -f "$TMP/share/out/params-$t.txt" ] || continue
	printf '%-10s %s\n' "$t:" "$(grep -E 'InitialR2T|ImmediateData|FirstBurstLength|MaxBurstLength|MaxRecvDataSegmentLength|MaxOutstandingR2T' "$TMP/share/out/params-$t.txt" |
		grep -v -i target | sed 's/^[[:space:]]*//; s/: /=/' | tr '\n' ' ')write_cache=$(tail -n 1 "$TMP/share/out/params-$t.txt" | tr ' ' _)"
done
echo
# Medians per target and workload, then the table with ratios against lio-file and tgt.
awk -F, '
	function median(s,   a, k, i, j, x) {
		k = split(s, a, " ")
		for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	$11 != "ok" { bad[$3 "," $2] = bad[$3 "," $2] " r" $1 ":" $11; next }
	{ k = $3 "," $2; iops[k] = iops[k] " " $5; mbps[k] = mbps[k] " " $6; cpu[k] = cpu[k] " " $7
	  if ($10 != "") p50[k] = p50[k] " " $10; seen[k] = 1
	  if (!($3 in wseen)) { wseen[$3] = 1; wl[++nw] = $3 }
	  if (!($2 in tseen)) { tseen[$2] = 1; tg[++nt] = $2 } }
	END {
		np = split("lio-file lio-rd invar invar-r2t invar-w1 tgt", pref, " ")
		printf "%-10s %-10s %9s %8s %9s %8s %11s %11s %11s %11s\n", "workload", "target", "IOPS", "MB/s",
			"CPU us/IO", "p50 us", "IOPS/LIO", "CPU/LIO", "IOPS/tgt", "CPU/tgt"
		for (w = 1; w <= nw; w++) for (p = 1; p <= np; p++) {
			k = wl[w] "," pref[p]
			if (!(k in seen)) { if (k in bad) printf "%-10s %-10s %s\n", wl[w], pref[p], "no result:" bad[k]; continue }
			mi = median(iops[k]); mc = median(cpu[k]); mp = (k in p50) ? median(p50[k]) : "-"
			li = wl[w] ",lio-file"; ti = wl[w] ",tgt"
			rl = (li in seen && median(iops[li]) > 0) ? sprintf("%.2f", mi / median(iops[li])) : "-"
			cl = (li in seen && median(cpu[li]) > 0) ? sprintf("%.2f", mc / median(cpu[li])) : "-"
			rt = (ti in seen && median(iops[ti]) > 0) ? sprintf("%.2f", mi / median(iops[ti])) : "-"
			ct = (ti in seen && median(cpu[ti]) > 0) ? sprintf("%.2f", mc / median(cpu[ti])) : "-"
			printf "%-10s %-10s %9.0f %8.1f %9.1f %8s %11s %11s %11s %11s\n", wl[w], pref[p], mi,
				median(mbps[k]), mc, mp, rl, cl, rt, ct
		}
	}' "$res"
echo
echo "workloads: perf-rr32 iscsi-perf (libiscsi) 4 KiB random read QD32; fio-* the kernel initiator"
echo "+ fio (libaio, direct): rr/rw 4 KiB random read/write at QD32 and QD1, sr128 128 KiB"
echo "sequential read QD8. p50: fio's completion latency. Rows per round: results.csv (--out)."
