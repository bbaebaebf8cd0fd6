#!/usr/bin/env bash
# The power-cut loop (docs/design/durability.md). invard runs inside a QEMU guest whose disks are
# host files opened with cache=none, reached from the host over iSCSI (--hostfwd). Each cut:
# tests/tools/crashini runs its workload from the host on every LU while the guest changes each
# daemon's configuration over RPC; at a random moment QEMU is killed; the guest boots again,
# the daemons start on the same data directories, and crashini checks every block, the
# reservations and the saved caching page against its oracle, and this script checks each
# configuration against the changes the guest logged.
#
#   tests/vm/crash-loop.sh CUTS [CONFIG...]    CONFIG: ext4 xfs user (default: all three)
#
# The configurations share one guest and are cut at the same moment:
#   ext4  file backstore; invard "e" on /dev/vdb (ext4): data directory and LU file
#   user  the user backstore (invar-handler-file, its file on the same ext4), a LUN of "e"
#   xfs   file backstore; invard "x" on /dev/vdc (xfs): data directory and LU file
# The first cuts end with the seed scenarios listed in tests/vm/crash-seeds (CRASH_SEEDS=FILE,
# or none): cases the loop once found, each cut right after its scenario went quiet.
# Environment: CRASH_SEED (the workloads and the cut moments; default random, printed),
# CRASH_MAX_DELAY (longest workload before a cut, seconds, default 6), CRASH_KEEP=DIR (keep the
# disk images, logs and oracles there). Prints a few lines per cut, then one summary line per
# configuration:
#   crash CONFIG: cuts N blocks B lost L garbage G pr P mode M config C; S s per cut
# (config: mismatches of its daemon's configuration) and exits 1 if anything was lost, garbage,
# or not an acknowledged state.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
trap 'vm_cleanup; [ -n "${CRASH_KEEP:-}" ] && cp -a "$CD/." "$CRASH_KEEP/" 2>/dev/null; cleanup' EXIT
need jq
CUTS=${1:?usage: crash-loop.sh CUTS [ext4] [xfs] [user]}
shift
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(ext4 xfs user)
SEED=${CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
MAX_DELAY=${CRASH_MAX_DELAY:-6}
RANDOM=$SEED
CI=$PWD/$BUILD/tests/tools/crashini
[ -x "$CI" ] || fail "$CI not built"
IQN=iqn.2026-12.org.invar:crash
CD=$TMP/crash
mkdir -p "$CD"
[ -n "${CRASH_KEEP:-}" ] && mkdir -p "$CRASH_KEEP"

# Per configuration: its daemon, LUN and LU spec. A fixed serial and NAA: the LU keeps its
# state directory (reservations, mode pages) even when invard restarts from its command line,
# before any run-time change saved invar.json.
declare -A DAEMON LUNNO SPEC URLS CIDX
declare -A D_LUNS D_DEV D_FS D_MNT D_PORT D_HPORT
ci=0
for c in "${CONFIGS[@]}"; do
	CIDX[$c]=$ci ci=$((ci + 1))
	case $c in
	ext4) DAEMON[$c]=e SPEC[$c]=file:/data/lu.img ;;
	user) DAEMON[$c]=e SPEC[$c]=user:c1 ;;
	xfs) DAEMON[$c]=x SPEC[$c]=file:/xfs/lu.img ;;
	*) fail "unknown configuration $c (ext4, xfs, user)" ;;
	esac
done
DAEMONS=()
for d in e x; do
	n=0
	for c in ext4 user xfs; do
		[ "${DAEMON[$c]:-}" = "$d" ] || continue
		LUNNO[$c]=$n
		D_LUNS[$d]+=" --lun ${SPEC[$c]},size=4M,profile=invar-2026.3,serial=crash-$c,naa=3c0ffee0000000$n$([ $d = e ] && echo 1 || echo 2)"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || continue
	DAEMONS+=("$d")
	case $d in
	e) D_DEV[$d]=/dev/vdb D_FS[$d]=ext4 D_MNT[$d]=/data D_PORT[$d]=3260 ;;
	x) D_DEV[$d]=/dev/vdc D_FS[$d]=xfs D_MNT[$d]=/xfs D_PORT[$d]=3261 ;;
	esac
	D_HPORT[$d]=$(free_port) || fail "no free port"
	truncate -s 512M "$CD/disk-$d.img"
done
VMOPTS=(--share "invar=$PWD/$BUILD" --share "out=$CD" --timeout 7200)
for d in "${DAEMONS[@]}"; do
	VMOPTS+=(--hostfwd "${D_HPORT[$d]}:${D_PORT[$d]}" --disk "$CD/disk-$d.img")
done
# Each daemon's disk must be the one its device names: vdb, vdc in --disk order.
[ "${DAEMONS[*]}" = x ] && D_DEV[x]=/dev/vdb
for c in "${CONFIGS[@]}"; do
	d=${DAEMON[$c]}
	URLS[$c]=iscsi://127.0.0.1:${D_HPORT[$d]}/$IQN/${LUNNO[$c]}
done
SEEDFILE=${CRASH_SEEDS:-$(dirname "$0")/crash-seeds}
SCENARIOS=()
# A scenario starts a line; lines that start with a blank continue its note.
[ "$SEEDFILE" = none ] || SCENARIOS=($(awk '/^[^[:space:]#]/ { print $1 }' "$SEEDFILE"))
echo "crash: seed $SEED, $CUTS cuts of ${CONFIGS[*]}; seed scenarios first: ${SCENARIOS[*]:-none}"

# What the guest runs (sourced by every command; /out is $CD, /invar the build). A daemon is
# named by its letter: D (data directory), C (invarctl) come from it.
cat >"$CD/guest.sh" <<'EOF'
use() { D=$1/invar C="/invar/invarctl --socket $1/invar/invar.sock"; }
setup() { # DEV FS MNT
	if ! blkid "$1" >/dev/null 2>&1; then
		case $2 in
		ext4) mkfs.ext4 -q -F "$1" ;;
		xfs) mkfs.xfs -q -f "$1" ;;
		esac || return 1
		echo "made $2 on $1"
	fi
	mkdir -p "$3" && mount -t "$2" "$1" "$3" && mkdir -p "$3/invar"
}
start_invard() { # MNT NAME PORT LUN-ARGS...: the saved configuration once there is one
	local mnt=$1 name=$2 port=$3
	shift 3
	use "$mnt"
	[ -f "$D/invar.json" ] && set --
	[ -f "$D/invar.json" ] || set -- --listen "0.0.0.0:$port" --target iqn.2026-12.org.invar:crash "$@"
	echo "--- boot $(cat /proc/sys/kernel/random/boot_id)" >>"/out/invard-$name.log"
	exec /invar/invard --data-dir "$D" "$@" >>"/out/invard-$name.log" 2>&1
}
ready() { # MNT
	use "$1"
	for i in $(seq 1 600); do $C target list >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
start_handler() { # MNT
	exec /invar/invar-handler-file --socket "$1/invar/invar.sock" --name c1 "$1/user.img" \
		>>/out/handler.log 2>&1
}
handler_ready() { # LOG N: more than N "ready" lines in the daemon's log
	for i in $(seq 1 600); do
		[ "$(grep -c 'user c1: handler pid .* ready' "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# Change K (1, 2, ...): after it the served configuration is a function of K alone.
change() {
	local t=$(( ($1 + 3) / 4 ))
	case $(($1 % 4)) in
	1) $C target create iqn.2026-12.org.invar:c$t ;;
	2) $C lun add iqn.2026-12.org.invar:c$t ram:1M ;;
	3) $C acl add iqn.2026-12.org.invar:c$t iqn.2026-12.org.invar:h$t ;;
	0) $C lun delete iqn.2026-12.org.invar:c$t 0 ;;
	esac >/dev/null
}
changes() { # MNT NAME K: from K+1 on until the power goes, each logged before and after (9p:
	# the host's file, written through)
	local k=$3 log=/out/cfg-$2.log
	use "$1"
	while :; do
		k=$((k + 1))
		echo "sub $k" >>$log
		change $k || { echo "err $k" >>$log; return 1; }
		echo "ack $k" >>$log
		sleep 0.$((RANDOM % 10))
	done
}
EOF

# The configuration targets the first K changes leave: "IQN LUNS ACLS" lines, sorted.
expect_after() {
	local k=$1 t n
	for t in $(seq 1 $(((k + 3) / 4))); do
		n=$((k - (t - 1) * 4))
		[ "$n" -gt 4 ] && n=4
		case $n in 1) echo "iqn.2026-12.org.invar:c$t 0 0" ;; 2) echo "iqn.2026-12.org.invar:c$t 1 0" ;;
		3) echo "iqn.2026-12.org.invar:c$t 1 1" ;; 4) echo "iqn.2026-12.org.invar:c$t 0 1" ;; esac
	done | sort
}
served() { # DAEMON
	vm_exec g ". /out/guest.sh; use ${D_MNT[$1]}; \$C config show" |
		jq -r '.targets[] | select(.iqn | test(":c[0-9]+$")) | "\(.iqn) \(.luns | length) \((.auth.acl // []) | length)"' | sort
}

HANDLERS_READY=0
boot() {
	local d
	vm_start g "${VMOPTS[@]}"
	vm_exec g 'mkdir -p /invar /out && mount -t 9p -o trans=virtio,version=9p2000.L invar /invar &&
		mount -t 9p -o trans=virtio,version=9p2000.L out /out' || fail "guest mounts failed"
	for d in "${DAEMONS[@]}"; do
		vm_exec g ". /out/guest.sh; setup ${D_DEV[$d]} ${D_FS[$d]} ${D_MNT[$d]}" || fail "guest setup $d failed"
		vm_spawn g "invard$d" ". /out/guest.sh; start_invard ${D_MNT[$d]} $d ${D_PORT[$d]} ${D_LUNS[$d]}"
	done
	for d in "${DAEMONS[@]}"; do
		vm_exec g -t 120 ". /out/guest.sh; ready ${D_MNT[$d]}" ||
			{ tail -n 20 "$CD/invard-$d.log" >&2; fail "invard $d did not start in the guest"; }
	done
	if [ -n "${DAEMON[user]:-}" ]; then
		vm_spawn g handler ". /out/guest.sh; start_handler ${D_MNT[e]}"
		vm_exec g -t 120 ". /out/guest.sh; handler_ready /out/invard-e.log $HANDLERS_READY" ||
			{ tail -n 20 "$CD/invard-e.log" "$CD/handler.log" >&2; fail "the handler did not attach"; }
		HANDLERS_READY=$((HANDLERS_READY + 1))
	fi
}

declare -A LOST GARBAGE BLOCKS PRBAD MODEBAD CFGBAD K
for c in "${CONFIGS[@]}"; do LOST[$c]=0 GARBAGE[$c]=0 BLOCKS[$c]=0 PRBAD[$c]=0 MODEBAD[$c]=0; done
for d in "${DAEMONS[@]}"; do CFGBAD[$d]=0 K[$d]=0; done

# check: crashini's check of every LU, then each daemon's configuration against the
# acknowledged changes.
check() {
	local c d out rc sub ack got log
	for c in "${CONFIGS[@]}"; do
		rc=0
		out=$("$CI" check "${URLS[$c]}" "$CD/state-$c" 2>&1) || rc=$?
		echo "$out" | sed "s/^/    $c /"
		[ "$rc" -le 1 ] || fail "crashini check $c failed (status $rc)"
		set -- $(echo "$out" | sed -n 's/^check: blocks \([0-9]*\) .* lost \([0-9]*\) garbage \([0-9]*\) pr \([a-zA-Z]*\) mode \([a-zA-Z]*\) .*/\1 \2 \3 \4 \5/p')
		[ $# = 5 ] || fail "no summary from crashini check $c"
		BLOCKS[$c]=$((BLOCKS[$c] + $1)) LOST[$c]=$((LOST[$c] + $2)) GARBAGE[$c]=$((GARBAGE[$c] + $3))
		[ "$4" = ok ] || PRBAD[$c]=$((PRBAD[$c] + 1))
		[ "$5" = ok ] || MODEBAD[$c]=$((MODEBAD[$c] + 1))
	done
	for d in "${DAEMONS[@]}"; do
		# Since the last check (its base K): the last change acknowledged and the last sent;
		# one that was in flight at an earlier cut and then found served is in K.
		log=$CD/cfg-$d.log
		ack=$(sed -n 's/^ack //p' "$log" 2>/dev/null | tail -n 1)
		sub=$(sed -n 's/^sub //p' "$log" 2>/dev/null | tail -n 1)
		ack=${ack:-0} sub=${sub:-0}
		[ "$ack" -ge "${K[$d]}" ] || ack=${K[$d]}
		[ "$sub" -ge "$ack" ] || sub=$ack
		got=$(served "$d")
		if [ "$got" = "$(expect_after "$ack")" ]; then
			K[$d]=$ack
		elif [ "$sub" != "$ack" ] && [ "$got" = "$(expect_after "$sub")" ]; then
			K[$d]=$sub
		else
			echo "    BAD config of $d: acknowledged $ack changes (in flight: $sub); serves:"
			echo "$got" | sed 's/^/      /'
			CFGBAD[$d]=$((CFGBAD[$d] + 1))
			# Go on from the state served, if it is one of the sequence.
			K[$d]=$sub
			for k in $(seq 0 "$sub"); do
				[ "$got" = "$(expect_after "$k")" ] && K[$d]=$k
			done
		fi
		echo "base ${K[$d]}" >>"$log"
		echo "    config $d: ${K[$d]} changes served (acknowledged $ack, sent $sub)"
	done
}

T0=$(date +%s.%N)
DONE=0
boot
check
for cut in $(seq 1 "$CUTS"); do
	tc=$(date +%s.%N)
	declare -A RUNPID=()
	# A seed scenario, or for one random cut in three the quiet ending: the workload stops
	# at a random point and the cut comes in the silence, if it comes after it. Neither has
	# configuration changes: no fsync from anyone may make durable what invard did not.
	sc=${SCENARIOS[$((cut - 1))]:-} ending=
	if [ -n "$sc" ]; then
		ending=$sc
	elif [ $((RANDOM % 3)) = 0 ]; then
		ending=quiet
	fi
	for d in "${DAEMONS[@]}"; do
		[ -n "$ending" ] || vm_spawn g "changes$d" ". /out/guest.sh; changes ${D_MNT[$d]} $d ${K[$d]}"
	done
	for c in "${CONFIGS[@]}"; do
		"$CI" run "${URLS[$c]}" "$CD/state-$c" $((SEED * 4 + cut * 16 + ${CIDX[$c]})) 4 $ending \
			>"$CD/run-$c.out" 2>&1 &
		RUNPID[$c]=$!
	done
	for c in "${CONFIGS[@]}"; do
		for _ in $(seq 1 600); do
			grep -q '^running' "$CD/run-$c.out" && break
			kill -0 "${RUNPID[$c]}" 2>/dev/null || break
			sleep 0.1
		done
		grep -q '^running' "$CD/run-$c.out" || { cat "$CD/run-$c.out" >&2; fail "crashini run $c did not start"; }
	done
	# The cut: somewhere in 0.5 .. MAX_DELAY s of workload, or just after a seed scenario.
	delay=$(awk -v r=$RANDOM -v m="$MAX_DELAY" 'BEGIN { printf "%.2f", 0.5 + (m - 0.5) * r / 32768 }')
	if [ -n "$sc" ]; then
		for c in "${CONFIGS[@]}"; do
			for _ in $(seq 1 1200); do
				grep -q '^quiet' "$CD/run-$c.out" && break
				kill -0 "${RUNPID[$c]}" 2>/dev/null || break
				sleep 0.1
			done
		done
		delay="scenario $sc, then 0.3"
		sleep 0.3
	else
		sleep "$delay"
		[ -z "$ending" ] || delay="$delay (quiet ending)"
	fi
	for c in "${CONFIGS[@]}"; do
		kill -0 "${RUNPID[$c]}" 2>/dev/null || { cat "$CD/run-$c.out" >&2; fail "crashini run $c ended before the cut"; }
	done
	vm_kill g
	for c in "${CONFIGS[@]}"; do
		rc=0
		wait "${RUNPID[$c]}" || rc=$?
		sed "s/^/    $c /" "$CD/run-$c.out"
		[ "$rc" = 0 ] || fail "crashini run $c: status $rc (unexpected answers above)"
	done
	echo "  cut $cut after ${delay} s of workload; rebooting"
	boot
	check
	DONE=$cut
	echo "  cut $cut done in $(vm_since "$tc") s"
done
per=$(echo "$(date +%s.%N) $T0 $DONE" | awk '{ printf "%.1f", ($1 - $2) / ($3 > 0 ? $3 : 1) }')
vm_stop g
bad=0
for c in "${CONFIGS[@]}"; do
	d=${DAEMON[$c]}
	echo "crash $c: cuts $DONE blocks ${BLOCKS[$c]} lost ${LOST[$c]} garbage ${GARBAGE[$c]} pr ${PRBAD[$c]} mode ${MODEBAD[$c]} config ${CFGBAD[$d]}; $per s per cut (seed $SEED)"
	bad=$((bad + LOST[$c] + GARBAGE[$c] + PRBAD[$c] + MODEBAD[$c] + CFGBAD[$d]))
done
[ "$bad" = 0 ] || exit 1
exit 0
