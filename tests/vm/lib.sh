# QEMU guests for tests (docs/design/vm-harness.md). Source it after tests/integration/lib.sh
# (it uses $TMP, fail and the EXIT trap's cleanup), or alone with TMP set.
#
#   vm_start NAME [OPTIONS]   boot a guest in the background; returns once its agent answers
#   vm_exec NAME [-t SECS] CMD   run a shell command in it, print its output, return its status
#   vm_spawn NAME ID CMD      start a command in it without waiting; vm_join NAME ID [SECS]
#   vm_stop NAME              power it off cleanly (checks it exits); vm_kill NAME: power cut
#   vm_run NAME SCRIPT [OPTIONS]  boot, run one script, power off; returns its status
# OPTIONS: --mem MB (1024) --smp N (2) --timeout SECS (hard limit for the whole guest, 900)
#   --memfd (guest RAM shared: vhost-user) --disk FILE[,DRIVE_OPTS] (a virtio disk, cache=none
#   unless given; /dev/vdb, vdc... in order) --share TAG=DIR (another 9p share: mount -t 9p
#   -o trans=virtio,version=9p2000.L TAG DIR in the guest) --qemu ARG (passed through; repeat)
#   --hostfwd HPORT:GPORT (the host's 127.0.0.1:HPORT forwarded to the guest's port GPORT)
# The guest reaches the host's loopback as 10.0.2.2 (QEMU user networking) and nothing else:
# it has no default route. Its console is $TMP/vm-NAME/console.log.
VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${VM_CACHE:-$VM_LIB_DIR/../../build/vm}
VM_QEMU=${VM_QEMU:-qemu-system-x86_64}
VM_NAMES=()

vm_log() { echo "vm: $*" >&2; }

# vm_guest: builds the guest if this machine has none yet (minutes, once) and sets VM_GUEST.
vm_guest() {
	[ -n "${VM_GUEST:-}" ] && return 0
	VM_GUEST=$(VM_CACHE=$VM_CACHE "$VM_LIB_DIR/build-guest.sh") || fail "cannot build the test guest"
	VM_KVER=$(cat "$VM_GUEST/kernel-version")
}

# vm_accel: sets VM_ACCEL (kvm or tcg) and VM_ACCEL_WHY. KVM only when a timed probe boot with
# it reached the guest's script: a /dev/kvm that exists may still not boot Debian's kernel (PVM,
# nested without VT-x). The verdict is kept per host kernel and guest in VM_CACHE.
vm_accel() {
	local cache probe rc
	[ -n "${VM_ACCEL:-}" ] && return 0
	vm_guest
	cache=$VM_CACHE/accel-$(uname -r)-$(basename "$VM_GUEST")
	if [ -n "${VM_FORCE_ACCEL:-}" ]; then
		VM_ACCEL=$VM_FORCE_ACCEL VM_ACCEL_WHY="VM_FORCE_ACCEL"
	elif [ -f "$cache" ]; then
		read -r VM_ACCEL VM_ACCEL_WHY <"$cache"
	else
		if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
			VM_ACCEL=tcg VM_ACCEL_WHY="no usable /dev/kvm"
		else
			probe=$(mktemp -d /tmp/invar-vm-probe.XXXXXX)
			echo 'echo probe-ok' >"$probe/script"
			rc=0
			(TMP=$probe VM_ACCEL=kvm VM_ACCEL_WHY=probe vm_run probe "$probe/script" \
				--timeout 60 --smp 1 --mem 512 >/dev/null 2>&1) || rc=$?
			if [ "$rc" = 0 ] && grep -q probe-ok "$probe/vm-probe/console.log"; then
				VM_ACCEL=kvm VM_ACCEL_WHY="a probe boot with KVM ran its script"
			elif [ -d /sys/module/kvm_pvm ]; then
				VM_ACCEL=tcg VM_ACCEL_WHY="/dev/kvm is PVM (kvm_pvm) and a probe boot with it failed"
			else
				VM_ACCEL=tcg VM_ACCEL_WHY="a probe boot with KVM failed"
			fi
			rm -rf "$probe"
		fi
		echo "$VM_ACCEL $VM_ACCEL_WHY" >"$cache"
	fi
	vm_log "accelerator: $VM_ACCEL ($VM_ACCEL_WHY)"
}

# vm_start NAME [OPTIONS] [--script FILE]: without --script the guest runs an agent that
# executes what vm_exec and vm_spawn hand it; vm_start then waits until it answers.
vm_start() {
	local name=$1 mem=1024 smp=2 tmo=900 memfd=0 script= extra=() disks=() shares=() d i nic
	nic=user,model=virtio-net-pci
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--mem) mem=$2; shift ;;
		--smp) smp=$2; shift ;;
		--timeout) tmo=$2; shift ;;
		--memfd) memfd=1 ;;
		--disk) disks+=("$2"); shift ;;
		--share) shares+=("$2"); shift ;;
		--qemu) extra+=("$2"); shift ;;
		--hostfwd) nic+=",hostfwd=tcp:127.0.0.1:${2%%:*}-10.0.2.15:${2#*:}"; shift ;;
		--script) script=$2; shift ;;
		*) fail "vm_start: unknown option $1" ;;
		esac
		shift
	done
	command -v "$VM_QEMU" >/dev/null || fail "$VM_QEMU is not installed (tools/install-deps.sh test)"
	vm_guest
	vm_accel
	local w=$TMP/vm-$name
	rm -rf "$w"
	mkdir -p "$w/share/cmd"
	{
		cat "$VM_LIB_DIR/guest-lib.sh"
		if [ -n "$script" ]; then cat "$script"; else cat "$VM_LIB_DIR/guest-agent.sh"; fi
	} >"$w/share/run.sh"
	cp "$VM_LIB_DIR/guest-lib.sh" "$w/share/guest-lib.sh"
	local args=(-name "invar-$name" -machine pc -nodefaults -no-user-config -display none
		-m "$mem" -smp "$smp"
		-kernel "$VM_GUEST/vmlinuz" -initrd "$VM_GUEST/initrd.img"
		-append "console=ttyS0 panic=-1 loglevel=4 random.trust_cpu=on tsc=reliable mitigations=off invar.accel=$VM_ACCEL"
		-drive "file=$VM_GUEST/rootfs.img,if=virtio,format=raw,snapshot=on"
		-nic "$nic"
		-fsdev "local,id=hostfs,path=$w/share,security_model=none"
		-device virtio-9p-pci,fsdev=hostfs,mount_tag=host
		-device virtio-rng-pci
		-serial "file:$w/console.log" -monitor none -no-reboot -pidfile "$w/qemu.pid")
	if [ "$VM_ACCEL" = kvm ]; then
		args+=(-accel kvm -cpu host)
	else
		args+=(-accel tcg,thread=multi -cpu max)
	fi
	[ "$memfd" = 1 ] && args+=(-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem)
	for d in "${disks[@]}"; do
		case $d in *,cache=*) ;; *) d=$d,cache=none ;; esac
		args+=(-drive "file=$d,if=virtio,format=raw")
	done
	i=0
	for d in "${shares[@]}"; do
		i=$((i + 1))
		args+=(-fsdev "local,id=share$i,path=${d#*=},security_model=none"
			-device "virtio-9p-pci,fsdev=share$i,mount_tag=${d%%=*}")
	done
	args+=("${extra[@]}")
	printf '%q ' "$VM_QEMU" "${args[@]}" >"$w/qemu.cmd"
	: >"$w/console.log"
	date +%s.%N >"$w/started"
	# A hard limit on the whole guest: a hung guest never hangs the suite.
	timeout -s KILL "$tmo" nice -n 10 "$VM_QEMU" "${args[@]}" >"$w/qemu.log" 2>&1 &
	echo $! >"$w/pid"
	VM_NAMES+=("$name")
	vm_log "$name: booting ($VM_ACCEL, ${mem} MiB, $smp vCPU, kernel $VM_KVER, limit ${tmo}s)"
	[ -n "$script" ] && return 0
	for _ in $(seq 1 1200); do
		[ -f "$w/share/agent.ready" ] && break
		vm_alive "$name" || { vm_dump "$name"; fail "$name: the guest died while booting"; }
		sleep 0.1
	done
	[ -f "$w/share/agent.ready" ] || { vm_dump "$name"; fail "$name: no agent after 120 s"; }
	vm_log "$name: agent up after $(vm_elapsed "$name") s"
}

vm_elapsed() { echo "$(date +%s.%N) $(cat "$TMP/vm-$1/started")" | awk '{ printf "%.1f", $1 - $2 }'; }

vm_alive() { kill -0 "$(cat "$TMP/vm-$1/pid" 2>/dev/null)" 2>/dev/null; }

# vm_dump NAME: the end of its console and QEMU's own messages, on stderr (for failures).
vm_dump() {
	local w=$TMP/vm-$1
	{
		echo "--- $1: console (tail)"
		tail -n "${2:-40}" "$w/console.log" 2>/dev/null
		[ -s "$w/qemu.log" ] && { echo "--- $1: qemu"; tail -n 10 "$w/qemu.log"; }
	} >&2
}

# vm_exec NAME [-t SECS] CMD...: runs CMD (one shell string, the guest library loaded) in the
# guest, prints its output and returns its status; 124 after SECS (default 120).
vm_exec() {
	local name=$1 secs=120 w n i
	shift
	[ "$1" = -t ] && { secs=$2; shift 2; }
	w=$TMP/vm-$name/share/cmd
	n=$(vm_submit "$name" "$*")
	for i in $(seq 1 $((secs * 20))); do
		[ -f "$w/$n.rc" ] && break
		vm_alive "$name" || break
		sleep 0.05
	done
	cat "$w/$n.out" 2>/dev/null
	[ -f "$w/$n.rc" ] || { vm_alive "$name" && return 124; vm_dump "$name"; fail "$name: the guest died running: $*"; }
	return "$(cat "$w/$n.rc")"
}

# vm_submit NAME CMD: hands CMD to the agent (numbered in order), prints its number.
vm_submit() {
	local w=$TMP/vm-$1/share/cmd n
	n=$(cat "$w/.next" 2>/dev/null || echo 0)
	echo $((n + 1)) >"$w/.next"
	printf 'source /host/guest-lib.sh\n%s\n' "$2" >"$w/.$n.tmp"
	mv "$w/.$n.tmp" "$w/$n.sh"
	echo "$n"
}

# vm_spawn NAME ID CMD: starts CMD in the guest and returns at once; vm_join NAME ID [SECS]
# waits for it (default 600 s), prints its output, returns its status (124: still running).
vm_spawn() {
	local n
	n=$(vm_submit "$1" "$3")
	eval "VM_JOB_${1//[^a-zA-Z0-9]/_}_$2=$n"
}
vm_join() {
	local name=$1 secs=${3:-600} w n i
	w=$TMP/vm-$name/share/cmd
	n=$(eval echo "\$VM_JOB_${name//[^a-zA-Z0-9]/_}_$2")
	for i in $(seq 1 $((secs * 10))); do
		[ -f "$w/$n.rc" ] && break
		vm_alive "$name" || break
		sleep 0.1
	done
	cat "$w/$n.out" 2>/dev/null
	[ -f "$w/$n.rc" ] || { vm_alive "$name" && return 124; vm_dump "$name"; fail "$name: the guest died running $2"; }
	return "$(cat "$w/$n.rc")"
}

# vm_wait NAME [SECS]: waits for the guest to power off (default 900 s) and returns the status
# its script printed on the console (INVAR-VM-EXIT), 124 if it is still running then, 125 if it
# ended without one (killed, panic).
vm_wait() {
	local name=$1 secs=${2:-900} w pid rc i
	w=$TMP/vm-$name
	pid=$(cat "$w/pid")
	for i in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && return 124
	wait "$pid" 2>/dev/null
	vm_keep_log "$name"
	rc=$(sed -n 's/^INVAR-VM-EXIT \([0-9]*\).*/\1/p' "$w/console.log" | tail -n 1)
	vm_log "$name: powered off after $(vm_elapsed "$name") s${rc:+, status $rc}"
	vm_forget "$name"
	[ -n "$rc" ] || return 125
	return "$rc"
}

# vm_stop NAME: asks the agent to end, then requires the guest to power off within 60 s.
vm_stop() {
	local rc=0
	vm_alive "$1" || { vm_dump "$1"; fail "$1: the guest is not running"; }
	touch "$TMP/vm-$1/share/cmd/stop"
	vm_wait "$1" 60 || rc=$?
	[ "$rc" = 124 ] && { vm_kill "$1"; fail "$1: did not power off within 60 s"; }
	[ "$rc" = 0 ] || { vm_dump "$1"; fail "$1: ended with status $rc"; }
}

# vm_kill NAME: pulls the plug (SIGKILL to QEMU: nothing the guest did not write out survives).
vm_kill() {
	local pid
	pid=$(cat "$TMP/vm-$1/pid" 2>/dev/null) || return 0
	# That pid is timeout's, which then reports QEMU's death.
	[ -f "$TMP/vm-$1/qemu.pid" ] && kill -KILL "$(cat "$TMP/vm-$1/qemu.pid")" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	vm_keep_log "$1"
	vm_forget "$1"
	return 0
}

# With VM_LOG_DIR set, each guest's console is kept there (as TEST-NAME.console.log) once it ends.
vm_keep_log() {
	[ -n "${VM_LOG_DIR:-}" ] || return 0
	mkdir -p "$VM_LOG_DIR"
	cp "$TMP/vm-$1/console.log" "$VM_LOG_DIR/$(basename "$0" .sh)-$1.console.log" 2>/dev/null
	return 0
}

# vm_run NAME SCRIPT [OPTIONS]: boots a guest that runs SCRIPT (the guest library loaded) and
# powers off; returns SCRIPT's status (124 past --timeout, 125 without a status).
vm_run() {
	local name=$1 script=$2 tmo=900 a
	shift 2
	for a in "$@"; do [ "${prev:-}" = --timeout ] && tmo=$a; local prev=$a; done
	vm_start "$name" --script "$script" "$@"
	vm_wait "$name" "$tmo"
}

vm_forget() {
	local n keep=()
	for n in "${VM_NAMES[@]}"; do [ "$n" = "$1" ] || keep+=("$n"); done
	VM_NAMES=("${keep[@]}")
}

# Host-side helpers for the kernel-initiator tests. vm_wait_logins LOG INITIATOR N SECS: waits
# until invard's LOG shows N normal sessions of INITIATOR (0), or SECS pass (1).
vm_wait_logins() {
	for _ in $(seq 1 $(($4 * 10))); do
		[ "$(grep -c "normal session .*initiator '$2'" "$1")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# vm_since T0: seconds since T0 (from date +%s.%N), one decimal.
vm_since() { echo "$(date +%s.%N) $1" | awk '{ printf "%.1f", $1 - $2 }'; }

# Every guest still running when the test ends is killed (called from the EXIT trap).
vm_cleanup() {
	local n
	for n in "${VM_NAMES[@]}"; do [ -n "$n" ] && vm_kill "$n"; done
}

# For tests/integration/lib.sh's fail: the console of every guest still running.
fail_hook() {
	local n
	for n in "${VM_NAMES[@]}"; do [ -n "$n" ] && vm_dump "$n" 30; done
}
