# shellcheck shell=bash
# One round of bench/lio.sh, run inside the test guest (tests/vm) as its script: the host's
# share "bench" holds invard, env (ROUND, ORDER, WORKLOADS, DURATION, WARMUP, SIZE_MB) and
# out/, where this writes results.csv rows and, in round 1, each target's negotiated
# parameters. Each target in ORDER gets a fresh tmpfs file (rd_mcp: its own memory), is set up,
# runs every workload with the same clients, and is torn down before the next one starts, so
# only one target is ever running.
#
# Targets: lio-file (LIO fileio on the tmpfs file, buffered, write cache on: targetcli's
# default), lio-rd (LIO rd_mcp), invar (invard, file LU), invar-r2t (invard with LIO's
# InitialR2T=Yes and a 64 KiB first burst: the write workloads only; reads do not use them),
# invar-w1 (invard with one worker thread: on 2 vCPUs that also run the client), tgt (tgtd, rdwr
# backing store, its default write cache).
# Workloads: perf-rr32 (iscsi-perf 4 KiB random read QD32, libiscsi); through the kernel
# initiator and fio: fio-rr32, fio-rw32 (4 KiB random read, write QD32), fio-rr1, fio-rw1 (QD1),
# fio-sr128 (128 KiB sequential read QD8).
# CPU: busy ticks of the whole guest (/proc/stat) over the timed window minus the client
# process's own ticks (/proc/PID/stat). For the fio rows that remainder includes the kernel
# initiator's own work (iscsi_tcp, the block layer), which is the same for every target.
set -u
mkdir -p /bench
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 bench /bench || { echo "lio-guest: no share 'bench'"; exit 1; }
# shellcheck source=/dev/null
. /bench/env
OUT=/bench/out
mkdir -p "$OUT"
IQN_LIO=iqn.2026-12.lab.example:bench-lio
IQN_INVAR=iqn.2026-12.lab.example:bench-invar
IQN_TGT=iqn.2026-12.lab.example:bench-tgt
IQN_INI=iqn.2026-12.lab.example:guest
HZ=1000000	# CPU figures are in µs (sample)
NCPU=$(nproc)
BYTES=$((SIZE_MB * 1048576))
CFS=/sys/kernel/config/target
DATA=/mnt/bench
TARGET_PID=""
say() { echo "lio-guest: round $ROUND: $*"; }

# The samplers fork nothing (a fork costs milliseconds under TCG and would shift the window):
# CPU time as the scheduler counts it, in µs: the guest's (/proc/schedstat: each CPU's time
# running tasks, the idle task not counted) and a process's (every thread's
# /proc/PID/task/*/schedstat). Not /proc/stat: its busy ticks are sampled by the timer tick,
# which a vCPU starved by a loaded host misses, while a task's time is its measured runtime;
# under load the two disagreed (a client "using" more than the whole guest). The sleep is a
# read with a timeout on a FIFO nobody writes.
# sample PID: sets S_BUSY (the guest) and S_CLIENT (PID, 0 once it is gone), no subshell.
sample() {
	local line f t x sum=0
	while read -r line; do
		case $line in
		cpu[0-9]*)
			read -r -a f <<<"$line"
			sum=$((sum + f[7]))
			;;
		esac
	done </proc/schedstat
	S_BUSY=$((sum / 1000))
	sum=0
	for t in /proc/"$1"/task/*/schedstat; do
		read -r x _ <"$t" 2>/dev/null && sum=$((sum + x))
	done
	S_CLIENT=$((sum / 1000))
}
mkfifo /run/lio-tick && exec 8<>/run/lio-tick
nap() { read -r -t "$1" -u 8 _ || :; }

echo 1 >/proc/sys/kernel/sched_schedstats 2>/dev/null
mkdir -p "$DATA"
mount -t tmpfs -o size=$((SIZE_MB + 64))M bench "$DATA" || exit 1
modprobe configfs 2>/dev/null
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
for m in target_core_mod target_core_file iscsi_target_mod; do
	modprobe "$m" || { say "modprobe $m failed"; exit 1; }
done
iscsi_start "$IQN_INI" || { say "iscsid did not start"; exit 1; }
mkdir -p /var/run/tgtd

make_file() {
	fallocate -l "$BYTES" "$DATA/lu.img" 2>/dev/null ||
		dd if=/dev/zero of="$DATA/lu.img" bs=1M count="$SIZE_MB" status=none
}

# ---------------------------------------------------------------- targets
# start_T / stop_T for each; start sets PORT, IQN, LUN (libiscsi's LUN) and TARGET_PID (0 for
# LIO: the kernel).
lio_start() {
	local kind=$1 so t
	if [ "$kind" = file ]; then
		make_file
		so=$CFS/core/fileio_0/lu
		mkdir -p "$so" &&
			echo "fd_dev_name=$DATA/lu.img,fd_dev_size=$BYTES,fd_buffered_io=1" >"$so/control" &&
			echo 1 >"$so/enable" &&
			echo 1 >"$so/attrib/emulate_write_cache" || return 1
	else
		so=$CFS/core/rd_mcp_0/lu
		mkdir -p "$so" && echo "rd_pages=$((BYTES / 4096))" >"$so/control" && echo 1 >"$so/enable" || return 1
	fi
	t=$CFS/iscsi/$IQN_LIO/tpgt_1
	mkdir -p "$t/lun/lun_0" "$t/np/127.0.0.1:3260" &&
		ln -s "$so" "$t/lun/lun_0/lu" &&
		echo 0 >"$t/attrib/authentication" &&
		echo 1 >"$t/attrib/generate_node_acls" &&
		echo 1 >"$t/attrib/cache_dynamic_acls" &&
		echo 0 >"$t/attrib/demo_mode_write_protect" &&
		echo 1 >"$t/enable" || return 1
	PORT=3260 IQN=$IQN_LIO LUN=0 TARGET_PID=0 SO=$so
}
lio_stop() {
	local t=$CFS/iscsi/$IQN_LIO/tpgt_1
	echo 0 >"$t/enable" 2>/dev/null
	rm -f "$t/lun/lun_0/lu"
	rmdir "$t/lun/lun_0" "$t/np/127.0.0.1:3260" "$t" "$CFS/iscsi/$IQN_LIO" 2>/dev/null
	rmdir "$SO" "$(dirname "$SO")" 2>/dev/null
	rm -f "$DATA/lu.img"
}
invar_start() {
	local extra=()
	make_file
	[ "${1:-}" = r2t ] && extra=(--limit first_burst_length=65536)
	[ "${1:-}" = w1 ] && extra=(--workers 1)
	rm -rf /tmp/invar-state
	/bench/invard --listen 127.0.0.1:3261 --data-dir /tmp/invar-state --target "$IQN_INVAR" \
		--lun "file:$DATA/lu.img,block_size=512" "${extra[@]}" >/tmp/invard.log 2>&1 &
	TARGET_PID=$!
	for _ in $(seq 1 200); do
		grep -q ' ready: ' /tmp/invard.log && break
		kill -0 "$TARGET_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q ' ready: ' /tmp/invard.log || { cat /tmp/invard.log; return 1; }
	PORT=3261 IQN=$IQN_INVAR LUN=0
}
invar_stop() {
	kill -TERM "$TARGET_PID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$TARGET_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$TARGET_PID" 2>/dev/null
	wait "$TARGET_PID" 2>/dev/null
	grep -iE 'error|crit|fatal|sanitizer' /tmp/invard.log | head -n 5
	rm -f "$DATA/lu.img"
}
tgt_start() {
	make_file
	tgtd -f --iscsi portal=127.0.0.1:3262 >/tmp/tgtd.log 2>&1 &
	TARGET_PID=$!
	for _ in $(seq 1 100); do
		tgtadm --mode sys --op show >/dev/null 2>&1 && break
		sleep 0.1
	done
	tgtadm --lld iscsi --mode target --op new --tid 1 --targetname "$IQN_TGT" &&
		tgtadm --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$DATA/lu.img" &&
		tgtadm --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL || return 1
	PORT=3262 IQN=$IQN_TGT LUN=1
}
tgt_stop() {
	tgtadm --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1
	tgtadm --mode system --op delete >/dev/null 2>&1
	for _ in $(seq 1 50); do kill -0 "$TARGET_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$TARGET_PID" 2>/dev/null
	wait "$TARGET_PID" 2>/dev/null
	rm -f "$DATA/lu.img"
}
start_target() {
	case $1 in
	lio-file) lio_start file ;;
	lio-rd) lio_start rd ;;
	invar) invar_start ;;
	invar-r2t) invar_start r2t ;;
	invar-w1) invar_start w1 ;;
	tgt) tgt_start ;;
	esac
}
stop_target() {
	case $1 in
	lio-*) lio_stop ;;
	invar*) invar_stop ;;
	tgt) tgt_stop ;;
	esac
}

# ---------------------------------------------------------------- clients
# result T WL IOS BUSY CLIENT P50 STATUS: one results.csv row (CPU in µs per I/O).
result() {
	awk -v r="$ROUND" -v t="$1" -v w="$2" -v ios="$3" -v busy="$4" -v cl="$5" -v p50="$6" \
		-v st="$7" -v d="$DURATION" -v hz="$HZ" -v ncpu="$NCPU" -v bs="$BS" 'BEGIN {
		iops = ios / d
		cpu = (ios > 0) ? (busy - cl) / hz * 1e6 / ios : 0
		printf "%s,%s,%s,%d,%.0f,%.1f,%.1f,%.2f,%.2f,%s,%s\n", r, t, w, ios, iops, iops * bs / 1e6,
			cpu, busy / hz / d, cl / hz / d, p50, st
	}' | tee -a "$OUT/results.csv"
}

# iscsi-perf: sums "iops current" of seconds WARMUP+1 .. WARMUP+DURATION; CPU sampled at
# WARMUP and WARMUP+DURATION seconds after it started; stopped (SIGINT) a second later.
run_perf() {
	local t=$1 wl=$2 raw=$OUT/$2-$1-r$ROUND.txt pid b0 b1 c0 c1 ios st=ok
	BS=4096
	stdbuf -o0 iscsi-perf -i "$IQN_INI:perf" -m 32 -b 8 -r \
		"iscsi://127.0.0.1:$PORT/$IQN/$LUN" >"$raw.cr" 2>&1 &
	pid=$!
	nap "$WARMUP"
	sample "$pid"
	b0=$S_BUSY c0=$S_CLIENT
	nap "$DURATION"
	sample "$pid"
	b1=$S_BUSY c1=$S_CLIENT
	nap 1.5
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	tr '\r' '\n' <"$raw.cr" >"$raw" && rm -f "$raw.cr"
	ios=$(awk -v w="$WARMUP" -v d="$DURATION" '
		match($0, /^[0-9]+:[0-9]+:[0-9]+ - .*iops current [0-9]+/) {
			split($1, h, ":"); s = h[1] * 3600 + h[2] * 60 + h[3]
			n = $0; sub(/.*iops current /, "", n); sub(/[^0-9].*/, "", n)
			if (s > w && s <= w + d) sum += n
		} END { print sum + 0 }' "$raw")
	grep -qiE 'error|fail|timeout|reconnect' "$raw" && st=CLIENT-ERRORS
	[ "$ios" -gt 0 ] || st=ERROR
	[ "$c1" -ge "$c0" ] && [ "$c1" -gt 0 ] || st=NO-CPU-SAMPLE
	result "$t" "$wl" "$ios" $((b1 - b0)) $((c1 - c0)) "" "$st"
}

# fio on the kernel initiator's disk: iops from its terse (version 3) output, read field 8,
# write 49; the completion latency p50 among the read (18-37) or write (59-78) percentiles. fio
# runs 2 s past the sampled window, so that its rate covers the window; ios = rate x DURATION.
run_fio() {
	local t=$1 wl=$2 dev=$3 rw=$4 bs=$5 qd=$6 raw=$OUT/$2-$1-r$ROUND.txt pid b0 b1 c0 c1 line ios p50 st=ok
	BS=$bs
	fio --name="$wl" --filename="/dev/$dev" --direct=1 --ioengine=libaio --rw="$rw" --bs="$bs" \
		--iodepth="$qd" --thread --time_based --ramp_time="$WARMUP" --runtime=$((DURATION + 2)) \
		--randrepeat=0 --norandommap --minimal >"$raw" 2>&1 &
	pid=$!
	nap "$WARMUP"
	sample "$pid"
	b0=$S_BUSY c0=$S_CLIENT
	nap "$DURATION"
	sample "$pid"
	b1=$S_BUSY c1=$S_CLIENT
	wait "$pid" || st=ERROR
	line=$(grep '^3;' "$raw" | tail -n 1)
	[ -n "$line" ] || st=ERROR
	ios=$(echo "$line" | awk -F';' -v d="$DURATION" '{ printf "%d", ($8 + $49) * d }')
	p50=$(echo "$line" | awk -F';' '{ lo = ($8 > 0) ? 18 : 59
		for (i = lo; i < lo + 20; i++) if ($i ~ /^50\.0+%=/) { sub(/.*=/, "", $i); print $i; exit } }')
	[ "$(echo "$line" | cut -d';' -f5)" = 0 ] || st=ERROR
	[ "$c1" -ge "$c0" ] && [ "$c1" -gt 0 ] || st=NO-CPU-SAMPLE
	result "$t" "$wl" "${ios:-0}" $((b1 - b0)) $((c1 - c0)) "$p50" "$st"
}

wants() { [[ ",$WORKLOADS," == *",$1,"* ]]; }

run_target() {
	local t=$1 wl dev portal node=() kinds
	say "$t: starting"
	start_target "$t" || { say "$t: set-up failed"; stop_target "$t"; return 1; }
	kinds="perf-rr32 fio-rr32 fio-rw32 fio-rr1 fio-rw1 fio-sr128"
	[ "$t" = invar-r2t ] && kinds="fio-rw32 fio-rw1"
	if [ "$t" != invar-r2t ] && wants perf-rr32; then
		run_perf "$t" perf-rr32
	fi
	portal=127.0.0.1:$PORT
	# LIO's and tgt's answers are what they are; invar-r2t asks for LIO's values.
	[ "$t" = invar-r2t ] && node=(node.session.iscsi.InitialR2T=Yes node.session.iscsi.FirstBurstLength=65536)
	if iscsi_node "$IQN" "$portal" "${node[@]}" && iscsiadm -m node -T "$IQN" -p "$portal" --login >/dev/null; then
		dev=$(iscsi_wait_disk "$IQN" 1 60 | head -n 1)
		if [ "$ROUND" = 1 ]; then
			iscsiadm -m session -P 2 | sed -n '/Negotiated iSCSI params/,/^$/p' >"$OUT/params-$t.txt"
			cat "/sys/block/$dev/queue/write_cache" >>"$OUT/params-$t.txt" 2>/dev/null
		fi
		for wl in $kinds; do
			wants "$wl" || continue
			case $wl in
			fio-rr32) run_fio "$t" "$wl" "$dev" randread 4096 32 ;;
			fio-rw32) run_fio "$t" "$wl" "$dev" randwrite 4096 32 ;;
			fio-rr1) run_fio "$t" "$wl" "$dev" randread 4096 1 ;;
			fio-rw1) run_fio "$t" "$wl" "$dev" randwrite 4096 1 ;;
			fio-sr128) run_fio "$t" "$wl" "$dev" read 131072 8 ;;
			esac
		done
		iscsiadm -m node -T "$IQN" -p "$portal" --logout >/dev/null
		iscsiadm -m node -T "$IQN" -p "$portal" -o delete >/dev/null
	else
		say "$t: kernel login failed"
	fi
	stop_target "$t"
	say "$t: done"
}

say "kernel $(uname -r), $NCPU vCPU, $(awk '/MemTotal/ { print $2 / 1024 }' /proc/meminfo) MiB, order: $ORDER"
for t in $ORDER; do
	run_target "$t"
done
exit 0
