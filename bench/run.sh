#!/usr/bin/env bash
# invar vs tgt benchmark: starts tgtd and invard on equal tmpfs-backed file LUs, runs the same
# workloads against each in turns, reads each daemon's CPU time from /proc and prints IOPS, MB/s,
# CPU µs per I/O and the invar/tgt ratios. It prints figures; it never fails on a number (the exit
# status is non-zero only when the benchmark itself could not run).
#
#   bench/run.sh [--quick] [--workers N] [--only invar|tgt] [--rounds N] [--duration S]
#                [--warmup S] [--size SIZE] [--invard PATH] [--baseline PATH] [--workloads LIST]
#                [--out DIR] [--profile] [--no-install]
#
# See docs/PERFORMANCE.md for what each workload is, how figures are computed, and results.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	cat <<'EOF'
usage: bench/run.sh [OPTION]...
Benchmark invard against tgtd (Debian's tgt) on equal tmpfs-backed LUs over loopback.

  --quick          short runs: 1 round, 1 s warm-up, 4 s timed (default: 3 rounds, 3 s, 12 s;
                   about 40 minutes, --quick about 7)
  --rounds N       rounds; each round runs every workload against each target, the target
                   order alternating between rounds; the summary shows medians
  --duration S     timed seconds per run          --warmup S   warm-up seconds per run
  --workers N      invard --workers N (default: invard's own default, one per CPU); when N > 1
                   a second invard with --workers 1 (target invar1) runs the scaling
                   workloads (rl4k32, rl4k32x2, rl4k32x4 and bl4k32, bl4k32x2, bl4k32x4)
                   for the workers 1 vs N tables
  --only T         benchmark only T (invar or tgt); ratios are then not printed
  --size SIZE      size of each LU file (default 1G; dd size suffixes: M, G)
  --invard PATH    the invard binary (default: build/invard, built with `make` if missing)
  --baseline PATH  also benchmark another invard binary (target "base", e.g. a build of main)
                   in the same rounds: before/after figures from one run, with invar/base ratios
  --out DIR        keep raw client output, daemon logs and results.csv in DIR
  --profile        afterwards, perf-record invard during an extra 4 KiB random-read run
                   and print its top symbols (needs perf; figures of that run not counted)
  --syscalls       afterwards, each daemon's system calls per I/O at QD1 (4 KiB random
                   reads and writes, iscsi-lat -q 1): all of them counted with perf stat
                   (raw_syscalls:sys_enter), and the mix by name from a second run under
                   strace -c (slower, so only its shares are used)
  --workloads L    comma-separated subset of rr4k,rw4k,sr4k,sw4k,sr128k,sw128k,rl4k1,rl4k32,
                   wl4k1,rl4k32x2,rl4k32x4,bl4k32,bl4k32x2,bl4k32x4,bw4k32,bm32x128,bm1000x4
                   (default: all; rw4k, rl4k* and wl4k* are bench/iscsi-lat.c runs with
                   latency percentiles; rl4k32xN are N clients; bl4k32*, bw4k32 and bm* are
                   bench/iscsi-blast.c, a light raw-PDU client: 4 KiB random reads QD32 on 1, 2
                   or 4 sessions of one process, and random writes on one, cheap enough that
                   the target rather than the client is the limit; bm32x128 and bm1000x4 are
                   32 sessions x QD128 and 1,000 x QD4, with the daemon's memory per session)
  --disk DIR       put the LU files in a fresh directory under DIR (a disk file system: the page
                   cache and the file system's own paths, and no tmpfs mapping) instead of tmpfs
  --no-install     do not apt-get install missing packages
  -h, --help       this text
EOF
}

# ---------------------------------------------------------------- options
ROUNDS=3 DURATION=12 WARMUP=3 WORKERS="" ONLY="" SIZE=1G INVARD="" BASELINE="" OUT="" PROFILE=0 INSTALL=1 ONLY_WL="" SYSCALLS=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) ROUNDS=1 DURATION=4 WARMUP=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--invard) INVARD=$2; shift ;;
	--baseline) BASELINE=$2; shift ;;
	--out) OUT=$2; shift ;;
	--profile) PROFILE=1 ;;
	--syscalls) SYSCALLS=1 ;;
	--workloads) ONLY_WL=$2; shift ;;
	--no-install) INSTALL=0 ;;
	--disk) DISK_DIR=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
case "$ONLY" in "" | invar | tgt) ;; *) die "--only takes invar or tgt" ;; esac
for v in "$ROUNDS" "$DURATION" "$WARMUP" ${WORKERS:+"$WORKERS"}; do
	[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || die "expected a positive integer, got '$v'"
done
[[ "$SIZE" =~ ^[0-9]+[MG]$ ]] || die "--size takes NM or NG"
SIZE_MB=${SIZE%?}; [ "${SIZE: -1}" = G ] && SIZE_MB=$((SIZE_MB * 1024))
TARGETS=(tgt invar)
[ -n "$ONLY" ] && TARGETS=("$ONLY")
if [ -n "$BASELINE" ]; then
	[ -x "$BASELINE" ] || die "no invard at $BASELINE"
	TARGETS=("${TARGETS[0]}" base "${TARGETS[@]:1}")
fi
# Worker scaling: with the scaling workloads (rl4k32*, bl4k32*) and invar benchmarked
# with more than one worker, a second invard of the same binary with --workers 1 (target
# "invar1") runs those workloads in the same rounds.
NCPU=$(nproc)
if [ "$ONLY" != tgt ] && [ "${WORKERS:-$NCPU}" -gt 1 ] && { [ -z "$ONLY_WL" ] || [[ ",$ONLY_WL," == *,rl4k32* || ",$ONLY_WL," == *,bl4k32* ]]; }; then
	TARGETS=("${TARGETS[@]/invar/invar1 invar}")
	read -r -a TARGETS <<<"${TARGETS[*]}"
fi

# ---------------------------------------------------------------- packages and binaries
need_pkgs=(libiscsi-bin libiscsi-dev gcc qemu-utils qemu-block-extra coreutils)
[ "$ONLY" != invar ] && need_pkgs+=(tgt)
[ "$PROFILE" = 1 ] || [ "$SYSCALLS" = 1 ] && need_pkgs+=(linux-perf)
[ "$SYSCALLS" = 1 ] && need_pkgs+=(strace)
missing=()
for p in "${need_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$INSTALL" = 1 ] || die "missing packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
	note "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
	# Debian's tgt package enables tgt.service; a system instance on :3260 is not ours to run.
	command -v systemctl >/dev/null && systemctl is-active -q tgt 2>/dev/null &&
		note "note: the tgt system service is running (port 3260); it is not used here"
fi
[ "$(id -u)" = 0 ] || die "must run as root (tgtd, tmpfs mount)"
if [ -z "$INVARD" ]; then
	INVARD=$ROOT/build/invard
	if [ ! -x "$INVARD" ]; then
		note "building invard (make -C $ROOT)"
		make -C "$ROOT" -s all >&2 || die "make failed"
	fi
fi
[ -x "$INVARD" ] || die "no invard at $INVARD"

# ---------------------------------------------------------------- scratch space and cleanup
WORK=$(mktemp -d /tmp/invar-bench.XXXXXX) || die "mktemp failed"
LOGS=${OUT:-$WORK/logs}
mkdir -p "$LOGS" || die "cannot create $LOGS"
DATA=$WORK/data MOUNTED=0
TGT_PID="" INVAR_PID="" BASE_PID="" INVAR1_PID="" TGT_CTL="" CLIENT_PID=""

cleanup() {
	trap - EXIT INT TERM
	# shellcheck disable=SC2086
	[ -n "$CLIENT_PID" ] && kill -KILL $CLIENT_PID 2>/dev/null
	if [ -n "$INVAR_PID" ]; then
		kill -TERM "$INVAR_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$INVAR_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$INVAR_PID" 2>/dev/null
		wait "$INVAR_PID" 2>/dev/null
	fi
	for p in "$BASE_PID" "$INVAR1_PID"; do
		[ -n "$p" ] || continue
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$TGT_PID" ]; then
		# tgtd ignores SIGTERM while it has targets: delete them and the system first.
		tgtadm -C "$TGT_CTL" --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1
		tgtadm -C "$TGT_CTL" --mode system --op delete >/dev/null 2>&1
		for _ in $(seq 30); do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
		rm -f "/var/run/tgtd/socket.$TGT_CTL" "/var/run/tgtd/socket.$TGT_CTL.lock"
	fi
	[ "$MOUNTED" = 1 ] && umount "$DATA" 2>/dev/null
	rm -rf "$DATA" "$WORK/logs"
	rm -f "$WORK/iscsi-lat" "$WORK/iscsi-blast" "$WORK"/time.*
	[ -n "$OUT" ] || rm -rf "$WORK"
	[ -d "$WORK" ] && rmdir "$WORK" 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

FSDESC=tmpfs
if [ -n "${DISK_DIR:-}" ]; then
	DATA=$(mktemp -d "$DISK_DIR/invar-bench.XXXXXX") || die "cannot create a directory under $DISK_DIR"
	FSDESC="$(stat -f -c %T "$DATA") ($DISK_DIR)"
elif mkdir -p "$DATA" && mount -t tmpfs -o "size=$((${#TARGETS[@]} * SIZE_MB + 64))M,mode=0700" invar-bench "$DATA" 2>/dev/null; then
	MOUNTED=1
else
	rmdir "$DATA"
	DATA=$(mktemp -d /dev/shm/invar-bench.XXXXXX) || die "no tmpfs: mount failed and /dev/shm unusable"
	note "tmpfs mount not permitted; using $DATA"
fi
note "filling ${#TARGETS[@]} files of ${SIZE_MB} MiB on $FSDESC ($DATA)"
for f in "${TARGETS[@]}"; do
	dd if=/dev/zero of="$DATA/$f.img" bs=1M count="$SIZE_MB" status=none || die "cannot write $DATA/$f.img"
done

# ---------------------------------------------------------------- daemons
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p=$1
	while port_in_use "$p" || [ "$p" = "${TGT_PORT:-0}" ]; do p=$((p + 1)); done
	echo "$p"
}
TGT_IQN=iqn.2026-11.org.invar:bench-tgt
INVAR_IQN=iqn.2026-11.org.invar:bench-invar
declare -A URL PID LOG LOGPOS

if [[ " ${TARGETS[*]} " == *" tgt "* ]]; then
	TGT_PORT=$(free_port 3261)
	TGT_CTL=$((1000 + $$ % 8000))
	while [ -e "/var/run/tgtd/socket.$TGT_CTL" ]; do TGT_CTL=$((TGT_CTL + 1)); done
	LOG[tgt]=$LOGS/tgtd.log
	setsid tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$TGT_PORT" >"${LOG[tgt]}" 2>&1 &
	TGT_PID=$!
	ok=0
	for _ in $(seq 50); do
		kill -0 "$TGT_PID" 2>/dev/null || break
		tgtadm -C "$TGT_CTL" --mode sys --op show >/dev/null 2>&1 && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" = 1 ] || { cat "${LOG[tgt]}" >&2; die "tgtd did not start"; }
	tgtadm -C "$TGT_CTL" --lld iscsi --mode target --op new --tid 1 --targetname "$TGT_IQN" &&
		tgtadm -C "$TGT_CTL" --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 \
			--backing-store "$DATA/tgt.img" &&
		tgtadm -C "$TGT_CTL" --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL ||
		die "tgtadm set-up failed"
	URL[tgt]=iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1
	PID[tgt]=$TGT_PID
fi
# start_invard NAME BINARY [WORKERS]: invard on the first free port from 3262, its own LU file
# and state.
start_invard() {
	local name=$1 bin=$2 workers=${3:-$WORKERS} port pid ok=0
	port=$(free_port 3262)
	while [ "$port" = "${INVAR_PORT:-0}" ] || port_in_use "$port"; do port=$((port + 1)); done
	LOG[$name]=$LOGS/invard-$name.log
	: >"${LOG[$name]}"
	setsid "$bin" --listen "127.0.0.1:$port" --data-dir "$DATA/$name-state" \
		--target "$INVAR_IQN" --lun "file:$DATA/$name.img,block_size=512" \
		${workers:+--workers "$workers"} >"${LOG[$name]}" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		grep -q ' ready: ' "${LOG[$name]}" && port_in_use "$port" && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" = 1 ] || { cat "${LOG[$name]}" >&2; die "invard ($name) did not start"; }
	URL[$name]=iscsi://127.0.0.1:$port/$INVAR_IQN/0
	PID[$name]=$pid
	STARTED_PORT=$port STARTED_PID=$pid
}
if [[ " ${TARGETS[*]} " == *" invar "* ]]; then
	start_invard invar "$INVARD"
	INVAR_PORT=$STARTED_PORT INVAR_PID=$STARTED_PID
fi
if [[ " ${TARGETS[*]} " == *" base "* ]]; then
	start_invard base "$BASELINE"
	BASE_PID=$STARTED_PID
fi
if [[ " ${TARGETS[*]} " == *" invar1 "* ]]; then
	start_invard invar1 "$INVARD" 1
	INVAR1_PID=$STARTED_PID
fi
for t in "${TARGETS[@]}"; do
	qemu-img info -f raw "${URL[$t]}" >"$LOGS/info-$t.txt" 2>&1 ||
		{ cat "$LOGS/info-$t.txt" >&2; die "$t: qemu-img info ${URL[$t]} failed"; }
	LOGPOS[$t]=$(wc -l <"${LOG[$t]}")
	grep -q "($((SIZE_MB * 1048576)) bytes)" "$LOGS/info-$t.txt" ||
		note "warning: $t LU size differs from ${SIZE_MB} MiB: $(grep 'virtual size' "$LOGS/info-$t.txt")"
done

# ---------------------------------------------------------------- measuring helpers
HZ=$(getconf CLK_TCK)
# utime+stime, in clock ticks, of all threads (live and exited) of a process.
proc_ticks() {
	local line rest f
	read -r line <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
	rest=${line##*) }
	read -r -a f <<<"$rest"
	echo $((f[11] + f[12]))
}
# Busy ticks of the whole host, all CPUs (user nice system irq softirq steal).
host_ticks() {
	local u n s irq sirq st
	read -r _ u n s _ _ irq sirq st _ </proc/stat
	echo $((u + n + s + irq + sirq + st))
}
now() { echo "$EPOCHREALTIME"; }

# Reports daemon log lines written since the last call that look like trouble; checks it lives.
check_daemon() {
	local t=$1 what=$2 n bad
	if ! kill -0 "${PID[$t]}" 2>/dev/null; then
		note "ERROR: $t daemon died during $what; last log lines:"
		tail -n 20 "${LOG[$t]}" >&2
		exit 1
	fi
	n=$(wc -l <"${LOG[$t]}")
	bad=$(sed -n "$((LOGPOS[$t] + 1)),${n}p" "${LOG[$t]}" |
		grep -iE 'error|warn|crit|fatal|abort|assert|sanitizer|fail' |
		grep -vE 'iser_ib_init|Failed to initialize RDMA' || true)
	if [ -n "$bad" ]; then
		note "$t log during $what:"
		echo "$bad" | head -n 20 | sed 's/^/    /' >&2
	fi
	LOGPOS[$t]=$n
}

# One result: round workload target ios secs daemon_ticks client_ticks host_ticks wall status
RESULTS=$LOGS/results.csv
echo "round,workload,target,ios,seconds,iops,mbps,cpu_us_per_io,daemon_cores,client_cores,other_cores,status" >"$RESULTS"
record() {
	local round=$1 wl=$2 t=$3 ios=$4 secs=$5 dt=$6 ct=$7 ht=$8 wall=$9 status=${10} bs=${BS[$2]}
	awk -v r="$round" -v w="$wl" -v t="$t" -v ios="$ios" -v s="$secs" -v dt="$dt" -v ct="$ct" \
		-v ht="$ht" -v wall="$wall" -v hz="$HZ" -v bs="$bs" -v st="$status" 'BEGIN {
		iops = (s > 0) ? ios / s : 0
		cpu = (ios > 0) ? dt / hz * 1e6 / ios : 0
		other = (wall > 0) ? (ht - dt - ct) / hz / wall : 0
		if (other < 0) other = 0
		printf "%s,%s,%s,%d,%.3f,%.0f,%.1f,%.2f,%.2f,%.2f,%.2f,%s\n", r, w, t, ios, s, iops,
			iops * bs / 1e6, cpu, dt / hz / (wall > 0 ? wall : 1), ct / hz / (wall > 0 ? wall : 1), other, st
	}' >>"$RESULTS"
	tail -n 1 "$RESULTS" | awk -F, '{ printf "  %-7s %-6s %9s IOPS %8s MB/s %7s us/IO  (daemon %s, client %s, other %s cores) %s\n",
		$2, $3, $6, $7, $8, $9, $10, $11, ($12 == "ok" ? "" : $12) }' >&2
}

# iscsi-perf: 4 KiB random reads, QD32. It prints a line a second ("\rHH:MM:SS - lba N, iops
# current N (...), iops average ..."), each begun by '\r', so a line is complete when the next
# one starts. The first WARMUP seconds are the warm-up; CPU is sampled when the line of second
# WARMUP has been printed and again when the line of second WARMUP+DURATION has; the I/O count is
# the sum of "iops current" of seconds WARMUP+1 .. WARMUP+DURATION.
run_iscsi_perf() {
	local round=$1 t=$2 wl=$3 dur=$4 warm=$5 raw=$LOGS/$3-$2-r$1.txt
	local d0=0 d1=0 c0=0 c1=0 h0=0 h1=0 w0=0 w1=0 ios=0 sec status=ok line cur fd rc=0 first=1
	exec {fd}< <(exec stdbuf -o0 iscsi-perf -m 32 -b 8 -r "${URL[$t]}" 2>&1)
	CLIENT_PID=$!
	: >"$raw"
	while [ "$rc" = 0 ]; do
		IFS= read -r -t 10 -d $'\r' -u "$fd" line || rc=$?
		[ "$rc" = 0 ] || [ -n "$line" ] || break
		printf '%s\n' "$line" >>"$raw"
		if [[ "$line" =~ ^([0-9]+):([0-9]+):([0-9]+)\ -\ .*iops\ current\ ([0-9]+) ]]; then
			sec=$((10#${BASH_REMATCH[1]} * 3600 + 10#${BASH_REMATCH[2]} * 60 + 10#${BASH_REMATCH[3]}))
			cur=${BASH_REMATCH[4]}
		elif [ "$first" = 1 ]; then
			sec=0 cur=0 # the banner, returned when the line of second 1 starts
		else
			continue
		fi
		first=0
		[ "$sec" -gt "$warm" ] && [ "$sec" -le $((warm + dur)) ] && ios=$((ios + cur))
		[ "$rc" = 0 ] || break # the last line, cut by EOF: counted, no sample
		# A line is returned when the next one starts: now is about second sec+1.
		if [ "$sec" -eq $((warm - 1)) ]; then
			d0=$(proc_ticks "${PID[$t]}") c0=$(proc_ticks "$CLIENT_PID") h0=$(host_ticks) w0=$(now)
		elif [ "$sec" -eq $((warm + dur - 1)) ]; then
			d1=$(proc_ticks "${PID[$t]}") c1=$(proc_ticks "$CLIENT_PID") h1=$(host_ticks) w1=$(now)
			kill -INT "$CLIENT_PID" 2>/dev/null
		elif [ "$sec" -ge $((warm + dur)) ]; then
			kill -INT "$CLIENT_PID" 2>/dev/null
		fi
	done
	# A read timeout (rc > 128) with the client alive is a hang: no progress line for 10 s.
	if [ "$rc" -gt 128 ] && kill -0 "$CLIENT_PID" 2>/dev/null; then
		status=HANG
		note "ERROR: $t $wl: iscsi-perf printed nothing for 10 s; killing it"
		kill -KILL "$CLIENT_PID" 2>/dev/null
	fi
	cat <&"$fd" >>"$raw" 2>/dev/null
	exec {fd}<&-
	wait "$CLIENT_PID" 2>/dev/null
	CLIENT_PID=""
	tr '\r' '\n' <"$raw" >"$raw.tmp" && mv "$raw.tmp" "$raw"
	if [ "$w1" = 0 ]; then
		[ "$status" = ok ] && status=ERROR
		note "ERROR: $t $wl: iscsi-perf ended before the timed window; its output:"
		tail -n 5 "$raw" | sed 's/^/    /' >&2
		ios=0
	elif grep -qiE 'error|fail|timeout|reconnect' "$raw"; then
		status=CLIENT-ERRORS
		note "$t $wl: iscsi-perf reported:"
		grep -iE 'error|fail|timeout|reconnect' "$raw" | head -n 5 | sed 's/^/    /' >&2
	fi
	local wall secs
	wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')
	secs=$dur
	record "$round" "$wl" "$t" "$ios" "$secs" $((d1 - d0)) $((c1 - c0)) $((h1 - h0)) "$wall" "$status"
}

# One qemu-img bench run; sets QB_SECS (its "Run completed in" figure), QB_RC, QB_CLIENT_TICKS.
qemu_bench_once() {
	local t=$1 args=$2 count=$3 raw=$4 tf=$WORK/time.$$ TIMEFORMAT='%3U %3S'
	# shellcheck disable=SC2086
	{ time timeout -s KILL $((DURATION * 5 + 60)) qemu-img bench -f raw -t none $args -c "$count" \
		"${URL[$t]}" >"$raw" 2>&1; } 2>"$tf"
	QB_RC=$?
	QB_SECS=$(sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p' "$raw")
	QB_CLIENT_TICKS=$(awk -v hz="$HZ" '{ printf "%d", ($1 + $2) * hz }' "$tf" 2>/dev/null)
	rm -f "$tf"
}

# qemu-img bench: COUNT requests of the workload's size at its queue depth, sequential (qemu-img
# bench steps the offset by the buffer size and wraps at the end of the image). The warm-up run
# also calibrates the count of the timed run to about DURATION seconds.
run_qemu_bench() {
	local round=$1 t=$2 wl=$3 dur=$4 warm=$5 args=${ARGS[$3]} raw=$LOGS/$3-$2-r$1.txt
	local guess count d0 d1 h0 h1 w0 w1 status=ok
	guess=${GUESS[$wl]}
	qemu_bench_once "$t" "$args" $((guess * warm)) "$raw.warmup"
	if [ "$QB_RC" != 0 ] || [ -z "$QB_SECS" ]; then
		note "ERROR: $t $wl warm-up: qemu-img bench exited $QB_RC:"
		tail -n 5 "$raw.warmup" | sed 's/^/    /' >&2
		record "$round" "$wl" "$t" 0 0 0 0 0 0 "ERROR"
		return
	fi
	count=$(awk -v n=$((guess * warm)) -v s="$QB_SECS" -v d="$dur" \
		'BEGIN { c = (s > 0) ? n / s * d : n; if (c < 1000) c = 1000; printf "%d", c }')
	d0=$(proc_ticks "${PID[$t]}") h0=$(host_ticks) w0=$(now)
	qemu_bench_once "$t" "$args" "$count" "$raw"
	d1=$(proc_ticks "${PID[$t]}") h1=$(host_ticks) w1=$(now)
	if [ "$QB_RC" != 0 ] || [ -z "$QB_SECS" ]; then
		status=ERROR
		note "ERROR: $t $wl: qemu-img bench exited $QB_RC:"
		tail -n 5 "$raw" | sed 's/^/    /' >&2
		count=0 QB_SECS=0
	fi
	record "$round" "$wl" "$t" "$count" "$QB_SECS" $((d1 - d0)) "${QB_CLIENT_TICKS:-0}" $((h1 - h0)) \
		"$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" "$status"
}

# iscsi-lat (bench/iscsi-lat.c, built here): random I/O at a queue depth for a time, with the
# latency distribution. NCLI[wl] clients (default 1) run at once, each its own process and
# session; IOPS are their sum. CPU is sampled when the warm-up ends and when the last one exits.
# With several clients the latency row is the worst client's percentiles (max over clients).
LAT_CSV=$LOGS/latency.csv
MEM_CSV=$LOGS/memory.csv
echo "round,workload,target,sessions,rss_base_kb,rss_idle_kb,idle_kb_per_session,busy_kb_per_session" >"$MEM_CSV"
echo "round,workload,target,p50_us,p90_us,p99_us,p999_us,max_us" >"$LAT_CSV"
SPREAD_CSV=$LOGS/workers.csv
echo "round,workload,target,clients,worker_cores,sessions" >"$SPREAD_CSV"
# Per-thread CPU of a daemon: "name ticks" per line, for threads named invar-w* (workers).
worker_ticks() {
	local f line rest a
	for f in /proc/"$1"/task/*/stat; do
		read -r line <"$f" 2>/dev/null || continue
		rest=${line##*) }
		a=${line#*(}
		a=${a%%)*}
		[[ "$a" == invar-w* ]] || continue
		local -a fl
		read -r -a fl <<<"$rest"
		echo "$a $((fl[11] + fl[12]))"
	done | sort
}
# Where the sessions ran: busy cores per worker thread over the timed window, and the worker
# each session of this run was placed on (from invard's login log lines).
# note_spread ROUND WL TARGET CLIENTS W0 W1 WORKER_TICKS0 WORKER_TICKS1
note_spread() {
	local round=$1 wl=$2 t=$3 n=$4 w0=$5 w1=$6 wt0=$7 wt1=$8 spread placed
	[ -n "$wt0" ] || return 0
	spread=$(join <(echo "$wt0") <(echo "$wt1") | awk -v hz="$HZ" -v a="$w0" -v b="$w1" \
		'{ sub(/^invar-/, "", $1); printf "%s%s=%.2f", (NR > 1 ? " " : ""), $1, ($3 - $2) / hz / (b - a) }')
	placed=$(sed -n "$((LOGPOS[$t] + 1)),\$p" "${LOG[$t]}" |
		sed -n 's/.*normal session tsih [0-9]* on worker \([0-9]*\):.*/\1/p' | sort | uniq -c |
		awk '{ printf "%s%s on w%s", (NR > 1 ? " + " : ""), $1, $2 }')
	echo "$round,$wl,$t,$n,$spread,$placed" >>"$SPREAD_CSV"
	note "  $wl $t: worker cores: $spread; sessions: ${placed:-?}"
}
run_iscsi_lat() {
	local round=$1 t=$2 wl=$3 dur=$4 warm=$5 n=${NCLI[$3]:-1} i raw rc bad=0
	local d0 d1 c0=0 h0 h1 w0 w1 status=ok ios=0 secs=0 wt0="" wt1="" TIMEFORMAT='%3U %3S'
	local -a raws pids
	for ((i = 0; i < n; i++)); do
		raw=$LOGS/$3-$2-r$1.txt
		[ "$n" -gt 1 ] && raw=$LOGS/$3-$2-r$1-c$i.txt
		raws[i]=$raw
		# shellcheck disable=SC2086
		{ time timeout -s KILL $((dur + warm + 60)) "$LAT_BIN" ${ARGS[$wl]} -t "$dur" -W "$warm" \
			"${URL[$t]}" >"$raw" 2>&1; } 2>"$WORK/time.$$.$i" &
		pids[i]=$!
	done
	CLIENT_PID="${pids[*]}"
	sleep "$warm"
	d0=$(proc_ticks "${PID[$t]}") h0=$(host_ticks) w0=$(now)
	[[ "$t" == invar* || "$t" == base ]] && wt0=$(worker_ticks "${PID[$t]}")
	for ((i = 0; i < n; i++)); do
		wait "${pids[i]}" || bad=1
	done
	CLIENT_PID=""
	d1=$(proc_ticks "${PID[$t]}") h1=$(host_ticks) w1=$(now)
	[ -n "$wt0" ] && wt1=$(worker_ticks "${PID[$t]}")
	# The clients' CPU (from time) covers their warm-up too: count the timed share of it.
	c0=$(cat "$WORK"/time.$$.* 2>/dev/null | awk -v hz="$HZ" -v d="$dur" -v w="$warm" \
		'{ s += ($1 + $2) } END { printf "%d", s * hz * d / (d + w) }')
	rm -f "$WORK"/time.$$.*
	for raw in "${raws[@]}"; do
		if ! grep -q '^ios ' "$raw"; then
			bad=1
			note "ERROR: $t $wl: iscsi-lat failed:"
			tail -n 5 "$raw" | sed 's/^/    /' >&2
		fi
	done
	if [ "$bad" = 1 ]; then
		status=ERROR
	else
		read -r ios secs < <(cat "${raws[@]}" | awk '/^ios / { n += $2; s = $4 } END { print n, s }')
		cat "${raws[@]}" | awk -v r="$round" -v w="$wl" -v t="$t" '/^ios / {
			for (f = 8; f <= 16; f += 2) if ($f > m[f]) m[f] = $f }
			END { printf "%s,%s,%s,%s,%s,%s,%s,%s\n", r, w, t, m[8], m[10], m[12], m[14], m[16] }' >>"$LAT_CSV"
	fi
	record "$round" "$wl" "$t" "$ios" "$secs" $((d1 - d0)) "${c0:-0}" $((h1 - h0)) \
		"$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" "$status"
	tail -n 1 "$LAT_CSV" | awk -F, -v r="$round" -v w="$wl" -v t="$t" -v n="$n" '$1 == r && $2 == w && $3 == t {
		printf "  %-7s %-6s latency p50 %s us, p90 %s, p99 %s, p99.9 %s, max %s%s\n", w, t, $4, $5, $6, $7, $8,
			(n > 1 ? " (worst of " n " clients)" : "") }' >&2
	note_spread "$round" "$wl" "$t" "$n" "$w0" "$w1" "$wt0" "$wt1"
}

# iscsi-blast (bench/iscsi-blast.c, built here): the light client. One process runs NCLI[wl]
# sessions (default 1) on a thread per CPU, 4 KiB random reads at QD32 each (the many-session
# workloads: their own QD); IOPS are their sum. The daemon's CPU is sampled when the warm-up
# ends (counted from when every session has logged in) and when the client exits; the client's
# CPU is its own figure over the timed window (client_us_per_io x ios). For MANY_WL the client
# also reads the daemon's anonymous RSS (RssAnon: not the LU file pages it maps) before the
# logins, with the sessions idle and at the end of the load (-M): memory per idle and per busy
# session, into MEM_CSV.
run_blast() {
	local round=$1 t=$2 wl=$3 dur=$4 warm=$5 n=${NCLI[$3]:-1} raw=$LOGS/$3-$2-r$1.txt rc
	local d0 d1 h0 h1 w0 w1 c0=0 status=ok ios=0 secs=0 wt0="" wt1="" pid mem=()
	[[ " ${MANY_WL[*]} " == *" $wl "* ]] && mem=(-M "${PID[$t]}" -I 1)
	# shellcheck disable=SC2086
	timeout -s KILL $((dur + warm + 180)) "$BLAST_BIN" ${ARGS[$wl]} -c "$n" -t "$dur" -W "$warm" \
		"${mem[@]}" "${URL[$t]}" >"$raw" 2>&1 &
	pid=$!
	CLIENT_PID=$pid
	for _ in $(seq 1 1200); do
		grep -q 'sessions logged in' "$raw" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep "$warm"
	d0=$(proc_ticks "${PID[$t]}") h0=$(host_ticks) w0=$(now)
	[[ "$t" == invar* || "$t" == base ]] && wt0=$(worker_ticks "${PID[$t]}")
	wait "$pid"
	rc=$?
	CLIENT_PID=""
	d1=$(proc_ticks "${PID[$t]}") h1=$(host_ticks) w1=$(now)
	[ -n "$wt0" ] && wt1=$(worker_ticks "${PID[$t]}")
	if [ "$rc" != 0 ] || ! grep -q '^ios ' "$raw"; then
		status=ERROR
		note "ERROR: $t $wl: iscsi-blast exited $rc:"
		tail -n 5 "$raw" | sed 's/^/    /' >&2
	fi
	if grep -q '^ios ' "$raw"; then
		read -r ios secs c0 < <(awk -v hz="$HZ" '/^ios / {
			printf "%d %s %d\n", $2, $4, $2 * $12 / 1e6 * hz }' "$raw")
		[ "$status" = ok ] || status=CLIENT-ERRORS
	fi
	record "$round" "$wl" "$t" "$ios" "$secs" $((d1 - d0)) "${c0:-0}" $((h1 - h0)) \
		"$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" "$status"
	awk '/^ios / { printf "  iscsi-blast: %s sessions, client %s us/IO\n", $8, $12 }' "$raw" >&2
	if [ ${#mem[@]} -gt 0 ] && grep -q '^target_rss_kb ' "$raw"; then
		awk -v r="$round" -v w="$wl" -v t="$t" -v n="$n" '/^target_rss_kb / {
			printf "%s,%s,%s,%s,%s,%s,%s,%s\n", r, w, t, n, $3, $5, $9, $11 }' "$raw" >>"$MEM_CSV"
		awk '/^target_rss_kb / { printf "  %s RssAnon: %s KiB before, %s idle, %s busy: %s KiB per idle session, %s per busy one\n",
			"daemon", $3, $5, $7, $9, $11 }' "$raw" >&2
	fi
	note_spread "$round" "$wl" "$t" "$n" "$w0" "$w1" "$wt0" "$wt1"
}

# ---------------------------------------------------------------- workloads
WORKLOADS=(rr4k rw4k sr4k sw4k sr128k sw128k rl4k1 rl4k32 wl4k1 rl4k32x2 rl4k32x4 bl4k32 bl4k32x2 bl4k32x4 bw4k32
	bm32x128 bm1000x4)
# The scaling workloads: 1, 2 and 4 clients at once (rl4k32 is the 1-client one). Target invar1
# (invard --workers 1) runs only these, so one run shows workers 1 vs N and clients 1, 2, 4.
SCALE_WL=(rl4k32 rl4k32x2 rl4k32x4)
# The same with the light client (iscsi-blast), 1, 2 and 4 sessions: on a small host the
# libiscsi clients above need more CPU per I/O than the target, so they, not the target, are
# the limit; this one needs far less, so these show what the target itself can do.
BLAST_WL=(bl4k32 bl4k32x2 bl4k32x4)
# Many sessions: the same 4,000 commands in flight as 32 sessions x QD128 and as 1,000 x QD4,
# with the daemon's memory per idle and per busy session.
MANY_WL=(bm32x128 bm1000x4)
declare -A DESC BS ARGS GUESS KIND NCLI
DESC[rr4k]="4 KiB random read, QD32 (iscsi-perf -m 32 -b 8 -r)"
DESC[rw4k]="4 KiB random write, QD32, with latency (iscsi-lat -q 32 -w)"
DESC[sr4k]="4 KiB sequential read, QD32 (qemu-img bench -d 32 -s 4k)"
DESC[sw4k]="4 KiB sequential write, QD32 (qemu-img bench -w -d 32 -s 4k)"
DESC[sr128k]="128 KiB sequential read, QD8 (qemu-img bench -d 8 -s 128k)"
DESC[sw128k]="128 KiB sequential write, QD8 (qemu-img bench -w -d 8 -s 128k)"
DESC[rl4k1]="4 KiB random read, QD1, latency (iscsi-lat -q 1)"
DESC[rl4k32]="4 KiB random read, QD32, latency (iscsi-lat -q 32); 1 client of the scaling set"
DESC[wl4k1]="4 KiB random write, QD1, latency (iscsi-lat -q 1 -w)"
DESC[rl4k32x2]="2 clients of rl4k32 at once, each its own process and session"
DESC[rl4k32x4]="4 clients of rl4k32 at once, each its own process and session"
DESC[bl4k32]="4 KiB random read, QD32, light client (iscsi-blast -q 32), 1 session"
DESC[bl4k32x2]="bl4k32 on 2 sessions at once (one iscsi-blast process, a thread per CPU)"
DESC[bl4k32x4]="bl4k32 on 4 sessions at once (one iscsi-blast process, a thread per CPU)"
DESC[bw4k32]="4 KiB random write, QD32, light client (iscsi-blast -q 32 -w), 1 session"
DESC[bm32x128]="4 KiB random read, 32 sessions x QD128 (4,000 in flight), light client, with memory"
DESC[bm1000x4]="4 KiB random read, 1,000 sessions x QD4 (4,000 in flight), light client, with memory"
BS=([rr4k]=4096 [rw4k]=4096 [sr4k]=4096 [sw4k]=4096 [sr128k]=131072 [sw128k]=131072 [rl4k1]=4096
	[rl4k32]=4096 [wl4k1]=4096 [rl4k32x2]=4096 [rl4k32x4]=4096
	[bl4k32]=4096 [bl4k32x2]=4096 [bl4k32x4]=4096 [bw4k32]=4096 [bm32x128]=4096 [bm1000x4]=4096)
KIND=([rr4k]=iscsi_perf [sr4k]=qemu_bench [sw4k]=qemu_bench [sr128k]=qemu_bench [sw128k]=qemu_bench
	[rw4k]=iscsi_lat [rl4k1]=iscsi_lat [rl4k32]=iscsi_lat [wl4k1]=iscsi_lat [rl4k32x2]=iscsi_lat
	[rl4k32x4]=iscsi_lat [bl4k32]=blast [bl4k32x2]=blast [bl4k32x4]=blast [bw4k32]=blast
	[bm32x128]=blast [bm1000x4]=blast)
ARGS=([sr4k]="-d 32 -s 4k -S 4k" [sw4k]="-w -d 32 -s 4k -S 4k"
	[sr128k]="-d 8 -s 128k -S 128k" [sw128k]="-w -d 8 -s 128k -S 128k"
	[rl4k1]="-q 1 -b 4096" [rl4k32]="-q 32 -b 4096" [wl4k1]="-q 1 -b 4096 -w"
	[rw4k]="-q 32 -b 4096 -w" [rl4k32x2]="-q 32 -b 4096" [rl4k32x4]="-q 32 -b 4096"
	[bl4k32]="-q 32 -b 4096" [bl4k32x2]="-q 32 -b 4096" [bl4k32x4]="-q 32 -b 4096"
	[bw4k32]="-q 32 -b 4096 -w" [bm32x128]="-q 128 -b 4096" [bm1000x4]="-q 4 -b 4096")
NCLI=([rl4k32x2]=2 [rl4k32x4]=4 [bl4k32x2]=2 [bl4k32x4]=4 [bm32x128]=32 [bm1000x4]=1000)
GUESS=([sr4k]=50000 [sw4k]=40000 [sr128k]=10000 [sw128k]=8000) # I/Os per warm-up second

if [ -n "$ONLY_WL" ]; then
	sel=()
	for wl in ${ONLY_WL//,/ }; do
		[ -n "${KIND[$wl]:-}" ] || die "unknown workload '$wl' (${WORKLOADS[*]})"
		sel+=("$wl")
	done
	WORKLOADS=("${sel[@]}")
fi

LAT_BIN=$WORK/iscsi-lat
need_lat=0
for wl in "${WORKLOADS[@]}"; do [ "${KIND[$wl]}" = iscsi_lat ] && need_lat=1; done
[ "$SYSCALLS" = 1 ] && need_lat=1
if [ "$need_lat" = 1 ] &&
	! cc -O2 -std=gnu11 -o "$LAT_BIN" "$ROOT/bench/iscsi-lat.c" -liscsi 2>"$LOGS/iscsi-lat-build.txt"; then
	note "cannot build bench/iscsi-lat.c (libiscsi-dev?); latency workloads skipped:"
	sed 's/^/    /' "$LOGS/iscsi-lat-build.txt" >&2
	sel=()
	for wl in "${WORKLOADS[@]}"; do [ "${KIND[$wl]}" = iscsi_lat ] || sel+=("$wl"); done
	WORKLOADS=("${sel[@]}")
fi

BLAST_BIN=$WORK/iscsi-blast
need_blast=0
for wl in "${WORKLOADS[@]}"; do [ "${KIND[$wl]}" = blast ] && need_blast=1; done
if [ "$need_blast" = 1 ] &&
	! cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/tests/tools" -o "$BLAST_BIN" \
		"$ROOT/bench/iscsi-blast.c" "$ROOT/tests/tools/rawini.c" \
		"$ROOT/src/fabric/iscsi/pdu.c" "$ROOT/src/util/crc32c.c" -lisal -lpthread \
		2>"$LOGS/iscsi-blast-build.txt"; then
	note "cannot build bench/iscsi-blast.c; light-client workloads skipped:"
	sed 's/^/    /' "$LOGS/iscsi-blast-build.txt" >&2
	sel=()
	for wl in "${WORKLOADS[@]}"; do [ "${KIND[$wl]}" = blast ] || sel+=("$wl"); done
	WORKLOADS=("${sel[@]}")
fi

in_scale() { [[ " ${SCALE_WL[*]} ${BLAST_WL[*]} " == *" $1 "* ]]; }
run_one() {
	[ "$3" = invar1 ] && ! in_scale "$2" && return 0 # invar1 runs only the scaling workloads
	"run_${KIND[$2]}" "$1" "$3" "$2" "$DURATION" "$WARMUP"
	check_daemon "$3" "$2"
}

{
	echo "invar bench: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host: $NCPU CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "invard: $INVARD ($("$INVARD" --version 2>&1 | head -n 1)), workers ${WORKERS:-default ($NCPU)}"
	[ -n "$INVAR1_PID" ] && echo "invar1: the same invard with --workers 1 (scaling workloads only: ${SCALE_WL[*]} ${BLAST_WL[*]})"
	[ -n "$BASELINE" ] && echo "base: $BASELINE ($("$BASELINE" --version 2>&1 | head -n 1))"
	[ -n "$TGT_PID" ] && echo "tgtd: $(tgtd --version 2>&1 | head -n 1) (tgt $(dpkg-query -W -f='${Version}' tgt 2>/dev/null)), default threads"
	echo "LUs: ${SIZE_MB} MiB files on $FSDESC, 512-byte blocks; $ROUNDS round(s) x ${WARMUP} s warm-up + ${DURATION} s timed"
	echo "load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$LOGS/header.txt"

for round in $(seq "$ROUNDS"); do
	# Rotate the order by one each round, so that no target always runs first or last.
	order=()
	for i in "${!TARGETS[@]}"; do order+=("${TARGETS[$(((i + round - 1) % ${#TARGETS[@]}))]}"); done
	note "round $round/$ROUNDS (order: ${order[*]})"
	for wl in "${WORKLOADS[@]}"; do
		for t in "${order[@]}"; do run_one "$round" "$wl" "$t"; done
	done
done

# ---------------------------------------------------------------- summary
summary() {
	awk -F, -v rounds="$ROUNDS" '
	function median(key,   n, i, j, v, tmp) {
		n = cnt[key]; if (n == 0) return ""
		for (i = 1; i <= n; i++) v[i] = val[key, i]
		for (i = 2; i <= n; i++) { tmp = v[i]; for (j = i - 1; j >= 1 && v[j] > tmp; j--) v[j + 1] = v[j]; v[j + 1] = tmp }
		return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function add(key, x) { val[key, ++cnt[key]] = x }
	NR == 1 { next }
	{
		if (!($2 in seen)) { seen[$2] = 1; order[++nw] = $2 }
		if ($12 != "ok") { bad[$2, $3] = bad[$2, $3] " " $12; if ($4 == 0) next }
		add($2 SUBSEP $3 SUBSEP "iops", $6); add($2 SUBSEP $3 SUBSEP "mbps", $7)
		add($2 SUBSEP $3 SUBSEP "cpu", $8); add($2 SUBSEP $3 SUBSEP "dc", $9)
		add($2 SUBSEP $3 SUBSEP "oc", $11)
		if (rounds > 1) { iops_all[$2, $3] = iops_all[$2, $3] (iops_all[$2, $3] == "" ? "" : "/") $6 }
	}
	END {
		printf "\n%-8s %-6s %10s %9s %11s %8s %7s  %s\n", "workload", "target", "IOPS", "MB/s", "CPU us/IO", "daemon", "other", (rounds > 1 ? "IOPS per round" : "")
		printf "%-8s %-6s %10s %9s %11s %8s %7s\n", "", "", "", "", "", "cores", "cores"
		for (w = 1; w <= nw; w++) {
			wl = order[w]
			for (ti = 1; ti <= 4; ti++) {
				t = (ti == 1) ? "tgt" : (ti == 2) ? "base" : (ti == 3) ? "invar1" : "invar"
				k = wl SUBSEP t
				if (cnt[k SUBSEP "iops"] == 0 && !((wl, t) in bad)) continue
				if (cnt[k SUBSEP "iops"] == 0) { printf "%-8s %-6s %10s  (%s)\n", wl, t, "-", bad[wl, t]; continue }
				m[t, "iops"] = median(k SUBSEP "iops"); m[t, "cpu"] = median(k SUBSEP "cpu")
				printf "%-8s %-6s %10.0f %9.1f %11.2f %8.2f %7.2f  %s%s\n", wl, t, m[t, "iops"],
					median(k SUBSEP "mbps"), m[t, "cpu"], median(k SUBSEP "dc"), median(k SUBSEP "oc"),
					iops_all[wl, t], ((wl, t) in bad ? "  (" bad[wl, t] " )" : "")
				have[t] = 1
			}
			if (have["tgt"] && have["invar"] && m["tgt", "iops"] > 0 && m["tgt", "cpu"] > 0)
				printf "%-8s %-6s %9.2fx %9s %10.2fx\n", "", "ratio", m["invar", "iops"] / m["tgt", "iops"], "",
					m["invar", "cpu"] / m["tgt", "cpu"]
			if (have["base"] && have["invar"] && m["base", "iops"] > 0 && m["base", "cpu"] > 0)
				printf "%-8s %-6s %9.2fx %9s %10.2fx\n", "", "i/base", m["invar", "iops"] / m["base", "iops"], "",
					m["invar", "cpu"] / m["base", "cpu"]
			delete have
		}
	}' "$RESULTS"
	echo
	echo "IOPS, MB/s (10^6 B/s), CPU us/IO and cores are medians over rounds. ratio = invar/tgt,"
	echo "i/base = invar/base (--baseline: the other invard binary, same rounds); invar1 = the"
	echo "same invard as invar with --workers 1 (scaling workloads only)"
	echo "(IOPS: higher is better for invar; CPU us/IO: lower is better). 'daemon' is the target's"
	echo "CPU time / wall time, 'other' the rest of the host minus daemon and client: above ~0.1"
	echo "something else was competing for the $NCPU CPUs. Latency percentiles come from"
	echo "bench/iscsi-lat.c (the rl4k*/wl4k* workloads); the other clients report none."
	for wl in "${WORKLOADS[@]}"; do printf '  %-7s %s\n' "$wl" "${DESC[$wl]}"; done
}
# Latency medians over rounds, per workload and target (µs, from iscsi-lat).
lat_summary() {
	[ "$(wc -l <"$LAT_CSV")" -gt 1 ] || return 0
	echo
	echo "latency (us, medians over rounds; from iscsi-lat, submit to completion in the client)"
	awk -F, '
	function median(key,   n, i, j, v, tmp) {
		n = cnt[key]
		for (i = 1; i <= n; i++) v[i] = val[key, i]
		for (i = 2; i <= n; i++) { tmp = v[i]; for (j = i - 1; j >= 1 && v[j] > tmp; j--) v[j + 1] = v[j]; v[j + 1] = tmp }
		return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	NR == 1 { next }
	{
		k = $2 SUBSEP $3
		if (!(k in seen)) { seen[k] = 1; order[++n] = k }
		cnt[k]++
		for (f = 4; f <= 8; f++) val[k SUBSEP f, cnt[k]] = $f
		cnt[k SUBSEP 4] = cnt[k SUBSEP 5] = cnt[k SUBSEP 6] = cnt[k SUBSEP 7] = cnt[k SUBSEP 8] = cnt[k]
	}
	END {
		printf "%-8s %-6s %8s %8s %8s %8s %8s\n", "workload", "target", "p50", "p90", "p99", "p99.9", "max"
		for (i = 1; i <= n; i++) {
			split(order[i], kk, SUBSEP)
			printf "%-8s %-6s", kk[1], kk[2]
			for (f = 4; f <= 8; f++) printf " %8.0f", median(order[i] SUBSEP f)
			printf "\n"
		}
	}' "$LAT_CSV"
}
# Scaling tables: the same 4 KiB random-read QD32 client, 1, 2 and 4 of them at once, against
# tgt, invard with 1 worker (invar1) and invard with N workers (invar). scale_table lat: the
# iscsi-lat clients (SCALE_WL); scale_table blast: the light client's sessions (BLAST_WL), with
# the client's own CPU per I/O as well.
scale_table() {
	local kind=$1 wl sel=()
	shift
	for wl in "$@"; do [[ " ${WORKLOADS[*]} " == *" $wl "* ]] && sel+=("$wl"); done
	[ "${#sel[@]}" -ge 2 ] || return 0
	echo
	if [ "$kind" = blast ]; then
		echo "scaling, light client: 4 KiB random reads, QD32 per session, 1, 2 and 4 sessions of"
		echo "one iscsi-blast process (bench/iscsi-blast.c, raw PDUs, batched sends: a fraction of"
		echo "a libiscsi client's CPU per I/O, so the target rather than the client is the limit);"
	else
		echo "scaling: 4 KiB random reads, QD32 per client (iscsi-lat), each client its own session;"
	fi
	echo "IOPS summed over clients, medians over rounds; invar1 = invard --workers 1, invar ="
	echo "invard --workers ${WORKERS:-$NCPU}"
	awk -F, -v list="${sel[*]}" -v light="$([ "$kind" = blast ] && echo 1 || echo 0)" '
	function median(key,   n, i, j, v, tmp) {
		n = cnt[key]; if (n == 0) return 0
		for (i = 1; i <= n; i++) v[i] = val[key, i]
		for (i = 2; i <= n; i++) { tmp = v[i]; for (j = i - 1; j >= 1 && v[j] > tmp; j--) v[j + 1] = v[j]; v[j + 1] = tmp }
		return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	NR == 1 { next }
	$12 == "ok" {
		k = $2 SUBSEP $3; val[k SUBSEP "i", ++cnt[k SUBSEP "i"]] = $6; val[k SUBSEP "c", ++cnt[k SUBSEP "c"]] = $8
		# the client: its cores over the timed window / IOPS
		if ($6 > 0) val[k SUBSEP "cl", ++cnt[k SUBSEP "cl"]] = $10 * 1e6 / $6
	}
	END {
		nw = split(list, wls, " ")
		printf "%-13s %8s %8s %8s %10s %13s   %s%s\n", (light ? "sessions" : "clients"), "tgt", "invar1",
			"invar", "invar/tgt", "invar/invar1", "CPU us/IO tgt / invar1 / invar",
			(light ? "   client us/IO" : "")
		for (i = 1; i <= nw; i++) {
			w = wls[i]; n = (w ~ /x[0-9]+$/) ? substr(w, index(w, "x") + 1) : 1
			for (ti = 1; ti <= 3; ti++) {
				t = (ti == 1) ? "tgt" : (ti == 2) ? "invar1" : "invar"
				io[i, t] = median(w SUBSEP t SUBSEP "i"); cp[i, t] = median(w SUBSEP t SUBSEP "c")
				cl[i, t] = median(w SUBSEP t SUBSEP "cl")
			}
			printf "%-13s %8.0f %8.0f %8.0f %9.2fx %12.2fx   %.1f / %.1f / %.1f", n " (" w ")", io[i, "tgt"],
				io[i, "invar1"], io[i, "invar"], (io[i, "tgt"] > 0 ? io[i, "invar"] / io[i, "tgt"] : 0),
				(io[i, "invar1"] > 0 ? io[i, "invar"] / io[i, "invar1"] : 0), cp[i, "tgt"], cp[i, "invar1"], cp[i, "invar"]
			if (light) printf "   %.1f / %.1f / %.1f", cl[i, "tgt"], cl[i, "invar1"], cl[i, "invar"]
			printf "\n"
		}
		printf "growth, %s over 1 %s:", wls[nw], (light ? "session" : "client")
		for (ti = 1; ti <= 3; ti++) {
			t = (ti == 1) ? "tgt" : (ti == 2) ? "invar1" : "invar"
			printf " %s %.2fx%s", t, (io[1, t] > 0 ? io[nw, t] / io[1, t] : 0), (ti < 3 ? "," : "\n")
		}
	}' "$RESULTS"
	echo "invard worker threads (busy cores over the timed window) and session placement, per run:"
	awk -F, 'NR > 1 { printf "  r%s %-9s %-6s %s clients: %s; sessions: %s\n", $1, $2, $3, $4, $5, $6 }' \
		"$SPREAD_CSV" | grep -Ev ' tgt ' | grep -E " ($(IFS='|'; echo "${sel[*]}")) "
}
scale_summary() {
	scale_table lat "${SCALE_WL[@]}"
	scale_table blast "${BLAST_WL[@]}"
}
# The many-session pair: IOPS of 1,000 x QD4 against 32 x QD128 (the same 4,000 in flight) and
# the daemon's RssAnon growth per session, idle and busy (medians over rounds).
many_summary() {
	[ "$(wc -l <"$MEM_CSV")" -gt 1 ] || return 0
	echo
	echo "many sessions (iscsi-blast, 4 KiB random reads, 4,000 commands in flight either way):"
	awk -F, '
	function median(s,   a, k, i, j, x) {
		k = split(s, a, " ")
		for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	FNR == 1 { f++; next }
	f == 1 && ($2 == "bm32x128" || $2 == "bm1000x4") && $12 == "ok" { io[$2, $3] = io[$2, $3] " " $6; cpu[$2, $3] = cpu[$2, $3] " " $8 }
	f == 2 { idle[$2, $3] = idle[$2, $3] " " $7; busy[$2, $3] = busy[$2, $3] " " $8; seen[$3] = 1 }
	END {
		printf "  %-6s %12s %12s %9s %14s %14s %14s\n", "target", "32xQD128", "1000xQD4", "1000/32", "CPU us/IO 1000", "KiB/idle sess", "KiB/busy sess"
		for (t in seen) {
			a = median(io["bm32x128", t]); b = median(io["bm1000x4", t])
			printf "  %-6s %12.0f %12.0f %8.2fx %14.2f %14.1f %14.1f\n", t, a, b, (a > 0 ? b / a : 0),
				median(cpu["bm1000x4", t]), median(idle["bm1000x4", t]), median(busy["bm1000x4", t])
		}
	}' "$RESULTS" "$MEM_CSV"
	echo "  (growth of the daemon's RssAnon over its value before the logins of that run: memory"
	echo "  an earlier run freed and the allocator kept is reused and not counted again)"
}
{ summary; lat_summary; scale_summary; many_summary; } | tee "$LOGS/summary.txt"

# ---------------------------------------------------------------- optional profile
# profile_breakdown PERF_DATA: where invard's CPU goes, by what it was doing (inclusive shares
# of the kernel entry points, and user space by object): the loopback TCP stack (sendmsg, which
# on loopback also runs the receiving side's softirq, and recvfrom), waiting (epoll_wait:
# mostly the context switch), file I/O syscalls, page faults, and invard's own code.
profile_breakdown() {
	local data=$1
	{
		perf report -i "$data" --stdio --children --sort symbol -g none 2>/dev/null | grep -v '^#'
		echo "@@dso"
		perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#'
	} | awk '
	/^@@dso/ { dso = 1; next }
	!dso && NF >= 4 { sym = $4; v = $1; sub(/%/, "", v); inc[sym] = v }
	dso && NF >= 2 { v = $1; sub(/%/, "", v); d = $2; for (i = 3; i <= NF; i++) d = d " " $i; obj[d] = v }
	END {
		send = inc["__sys_sendmsg"] + 0; recv = inc["__sys_recvfrom"] + inc["__sys_recvmsg"]
		wait = inc["do_epoll_wait"] + 0
		fio = inc["__x64_sys_pread64"] + inc["__x64_sys_pwrite64"] + inc["__x64_sys_pwritev2"] + inc["__x64_sys_preadv2"] + inc["__x64_sys_io_uring_enter"]
		pf = inc["asm_exc_page_fault"] + 0
		user = 0; for (d in obj) if (d !~ /kernel/) user += obj[d]
		printf "  %-58s %6.1f%%\n", "TCP send (sendmsg, incl. loopback delivery to the peer)", send
		printf "  %-58s %6.1f%%\n", "TCP receive (recvfrom)", recv
		printf "  %-58s %6.1f%%\n", "  = kernel TCP, total", send + recv
		printf "  %-58s %6.1f%%\n", "epoll_wait (idle wake-ups, context switches)", wait
		printf "  %-58s %6.1f%%\n", "file I/O syscalls (pread/pwrite/io_uring_enter)", fio
		printf "  %-58s %6.1f%%\n", "page faults", pf
		for (d in obj) if (d !~ /kernel/ && obj[d] >= 0.1) printf "  %-58s %6.1f%%\n", "user: " d, obj[d]
		printf "  %-58s %6.1f%%\n", "  = user space, total", user
	}'
}
if [ "$PROFILE" = 1 ] && [ -n "$INVAR_PID" ]; then
	note "profiling invard during ${DURATION} s of rr4k (perf record -e cpu-clock -g)"
	perf_data=$WORK/perf.data
	[ -n "$OUT" ] && perf_data=$OUT/perf.data
	stdbuf -o0 iscsi-perf -m 32 -b 8 -r "${URL[invar]}" >"$LOGS/profile-iscsi-perf.txt" 2>&1 &
	CLIENT_PID=$!
	sleep "$WARMUP"
	perf record -q -e cpu-clock -g -p "$INVAR_PID" -o "$perf_data" -- sleep "$DURATION" >/dev/null 2>&1 ||
		note "perf record failed"
	kill -INT "$CLIENT_PID" 2>/dev/null
	wait "$CLIENT_PID" 2>/dev/null
	CLIENT_PID=""
	check_daemon invar "profile run"
	if [ -s "$perf_data" ]; then
		echo
		echo "invard profile, 4 KiB random read QD32 (perf, cpu-clock, self time, top symbols):"
		perf report -i "$perf_data" --stdio --no-children --sort dso,symbol -g none \
			--percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 40 |
			tee "$LOGS/profile.txt"
		echo
		echo "where invard's CPU goes (inclusive shares of the profile above):"
		profile_breakdown "$perf_data" | tee -a "$LOGS/profile.txt"
	fi
	[ -n "$OUT" ] || rm -f "$perf_data"
fi
# ---------------------------------------------------------------- optional system calls
# syscalls_per_io T MODE: iscsi-lat at QD1 (MODE read or write) against T; the daemon's system
# calls over DURATION s counted by perf stat, divided by the I/Os of that window; then a second
# run under strace -c -f for the mix by name (strace slows the daemon, so only its shares are
# used: calls per I/O = share x the perf figure).
syscalls_per_io() {
	local t=$1 mode=$2 w=() raw=$LOGS/syscalls-$1-$2.txt n ios secs per pid
	[ "$mode" = write ] && w=(-w)
	"$LAT_BIN" -q 1 -b 4096 "${w[@]}" -t $((DURATION + 2)) -W 0 "${URL[$t]}" >"$raw" 2>&1 &
	pid=$!
	CLIENT_PID=$pid
	sleep "$WARMUP"
	n=$(perf stat -x, -e raw_syscalls:sys_enter -p "${PID[$t]}" -- sleep "$DURATION" 2>&1 |
		awk -F, '/raw_syscalls:sys_enter/ { print $1 }')
	wait "$pid"
	CLIENT_PID=""
	read -r ios secs < <(awk '/^ios / { print $2, $4 }' "$raw")
	if [ -z "${ios:-}" ] || [ -z "$n" ] || [ "$n" = "<not counted>" ]; then
		note "syscalls: $t $mode: no figure (iscsi-lat or perf stat failed)"
		return
	fi
	per=$(awk -v n="$n" -v ios="$ios" -v s="$secs" -v d="$DURATION" 'BEGIN { printf "%.2f", n / (ios / s * d) }')
	"$LAT_BIN" -q 1 -b 4096 "${w[@]}" -t $((DURATION + 2)) -W 0 "${URL[$t]}" >/dev/null 2>&1 &
	pid=$!
	CLIENT_PID=$pid
	sleep 1
	timeout -s INT "$DURATION" strace -c -f -p "${PID[$t]}" -o "$raw.strace" >/dev/null 2>&1
	wait "$pid"
	CLIENT_PID=""
	awk -v per="$per" -v t="$t" -v m="$mode" '
		$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls[$NF] = $4; tot += $4 }
		END {
			line = sprintf("  %-6s 4 KiB random %-5s QD1: %5s system calls per I/O:", t, m, per)
			for (c in calls) if (tot > 0 && calls[c] / tot * per >= 0.05) line = line sprintf(" %s %.2f", c, calls[c] / tot * per)
			print line
		}' "$raw.strace"
}
if [ "$SYSCALLS" = 1 ]; then
	echo
	echo "system calls per I/O at QD1 (perf stat over ${DURATION} s; the mix from strace -c):"
	for t in "${TARGETS[@]}"; do
		[ "$t" = invar1 ] && continue
		syscalls_per_io "$t" read
		syscalls_per_io "$t" write
	done | tee "$LOGS/syscalls.txt"
fi
[ -n "$OUT" ] && note "raw output, logs and results.csv kept in $OUT"
exit 0
