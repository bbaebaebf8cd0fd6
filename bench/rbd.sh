#!/usr/bin/env bash
# The rbd backstore against librbd's own ceiling, first version: a one-node Ceph
# (tests/ceph/lib.sh, memstore), one image, prefilled; `rbd bench` straight on librbd, then the
# same I/O sizes through invard's rbd backstore over iSCSI (bench/iscsi-blast, random
# block-aligned LBAs), printing IOPS, MB/s and invard's CPU µs per I/O. It prints figures and
# never fails on a number. Not yet: Debian's tgt with its rbd backstore (tgt-rbd), and
# sequential 128 KiB through iSCSI (iscsi-blast is random only; 128 KiB is random here).
#
#   bench/rbd.sh [--seconds S] [--size SIZE_MIB]
#
# Run it from the repository root after `make` and `make build/bench/iscsi-blast`.
set -uo pipefail
SECS=10
SIZE_MIB=256
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECS=$2; shift 2 ;;
	--size) SIZE_MIB=$2; shift 2 ;;
	*) echo "usage: bench/rbd.sh [--seconds S] [--size SIZE_MIB]" >&2; exit 2 ;;
	esac
done
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/ceph/lib.sh"
BLAST=${BLAST:-$PWD/$BUILD/bench/iscsi-blast}
[ -x "$BLAST" ] || fail "$BLAST not built (make $BUILD/bench/iscsi-blast)"
CEPH_MEMSTORE_BYTES=$(((SIZE_MIB + 512) << 20)) ceph_start
echo "one-node ceph up in ${CEPH_START_MS} ms; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
ceph_rbd create --size "${SIZE_MIB}M" rbd/bench || fail "rbd create failed"
ceph_rbd bench --io-type write --io-pattern seq --io-size 4M --io-threads 4 \
	--io-total "${SIZE_MIB}M" rbd/bench >/dev/null 2>&1 || fail "prefill failed"

# rbd bench: ops/sec from its last line ("elapsed: N ops: N ops/sec: X bytes/sec: Y").
rbd_bench() { # TYPE PATTERN SIZE TOTAL
	ceph_rbd bench --io-type "$1" --io-pattern "$2" --io-size "$3" --io-threads 32 \
		--io-total "$4" rbd/bench 2>&1 | awk '/^elapsed/{for (i = 1; i < NF; i++) if ($i == "ops/sec:") print int($(i + 1))}'
}
printf '%-28s %10s %10s %12s\n' workload iops MB/s invard_us/io
for w in "read rand 4K" "write rand 4K" "read seq 128K" "write seq 128K"; do
	set -- $w
	total=$([ "$3" = 4K ] && echo 256M || echo "${SIZE_MIB}M")
	iops=$(rbd_bench "$1" "$2" "$3" "$total")
	kib=${3%K}
	printf '%-28s %10s %10s %12s\n' "rbd bench $1 $2 $3 qd32" "$iops" \
		"$(awk -v i="${iops:-0}" -v k="$kib" 'BEGIN{printf "%.1f", i * k / 1024}')" "-"
done

invar_start --target "$TEST_IQN" --lun "rbd:rbd/bench,conf=$CEPH_CONF"
LUN="$URL/$TEST_IQN/0"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$INVARD_PID/stat"; }
hz=$(getconf CLK_TCK)
for w in "read 4096" "write 4096" "read 131072" "write 131072"; do
	set -- $w
	t0=$(cpu_ticks)
	out=$("$BLAST" -q 32 -t "$SECS" -W 2 -b "$2" $([ "$1" = write ] && echo -w) "$LUN" 2>&1)
	t1=$(cpu_ticks)
	ios=$(echo "$out" | awk '/^ios/{print $2}')
	iops=$(echo "$out" | awk '/^ios/{print int($6)}')
	# invard's CPU over the whole run (warm-up included) per I/O of the timed window: an
	# upper bound.
	us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="${ios:-0}" -v s="$SECS" \
		'BEGIN{if (n > 0) printf "%.0f", d / hz * 1e6 / (n * (s + 2) / s); else print "-"}')
	printf '%-28s %10s %10s %12s\n' "invar rbd $1 rand $(($2 / 1024))K qd32" "${iops:-fail}" \
		"$(awk -v i="${iops:-0}" -v b="$2" 'BEGIN{printf "%.1f", i * b / 1048576}')" "$us"
	[ -n "$iops" ] || echo "$out" | tail -n 3 >&2
done
invar_stop
