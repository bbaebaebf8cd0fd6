# Guest-side helpers, prepended to every script a guest runs (/host/run.sh, and each command of
# the agent). Runs under bash in the guest built by build-guest.sh (no udev, no systemd).

# Prints the uptime in seconds (a clock that QEMU's TCG keeps close to the host's).
up() { cut -d' ' -f1 /proc/uptime; }

# iscsi_start INITIATOR_IQN: names the initiator and starts iscsid (without it nothing logs in
# again after a logout request or a dropped connection, so logins go through iscsid always).
iscsi_start() {
	mkdir -p /etc/iscsi /run/lock/iscsi
	echo "InitiatorName=$1" >/etc/iscsi/initiatorname.iscsi
	if ! pidof iscsid >/dev/null; then
		iscsid || return 1
		# Ready once iscsiadm reaches it: 0 (sessions) or 21 (none), not 20 (no daemon).
		for _ in $(seq 1 100); do
			iscsiadm -m session >/dev/null 2>&1
			case $? in 0 | 21) return 0 ;; esac
			sleep 0.1
		done
	fi
	pidof iscsid >/dev/null
}

# iscsi_node TARGET PORTAL [NAME=VALUE...]: makes the node record by hand (SendTargets answers
# the target's own portal address, 127.0.0.1:PORT, which the guest cannot reach) and sets the
# given node settings (an existing record is updated) (node.session.auth.*, node.conn[0].iscsi.HeaderDigest...).
iscsi_node() {
	local t=$1 p=$2 kv
	shift 2
	# -o new on an existing record would reset what was set on it before.
	iscsiadm -m node -T "$t" -p "$p" >/dev/null 2>&1 ||
		iscsiadm -m node -o new -T "$t" -p "$p" >/dev/null || return 1
	for kv in "$@"; do
		iscsiadm -m node -T "$t" -p "$p" -o update -n "${kv%%=*}" -v "${kv#*=}" >/dev/null || return 1
	done
}

# iscsi_disks TARGET: prints the sd devices (sdX) of TARGET's sessions, LUN order.
iscsi_disks() {
	local s h
	for s in /sys/class/iscsi_session/session*; do
		[ "$(cat "$s/targetname" 2>/dev/null)" = "$1" ] || continue
		for h in "$s"/device/target*/*:*:*:*; do
			[ -d "$h/block" ] && ls "$h/block"
		done
	done
}

# iscsi_wait_disk TARGET [COUNT] [SECONDS]: waits until TARGET has COUNT (1) disks with device
# nodes and prints them.
iscsi_wait_disk() {
	local t=$1 n=${2:-1} secs=${3:-30} d disks i
	for i in $(seq 1 $((secs * 10))); do
		disks=$(iscsi_disks "$t")
		if [ "$(echo "$disks" | grep -c .)" -ge "$n" ]; then
			for d in $disks; do [ -b "/dev/$d" ] || continue 2; done
			echo "$disks"
			return 0
		fi
		sleep 0.1
	done
	echo "no disk for $t after ${secs}s" >&2
	return 1
}

# iscsi_disk_of TARGET INITIATOR: the sd device of LUN 0 of INITIATOR's session to TARGET (a
# guest may hold several sessions to one target through ifaces with their own initiator names).
iscsi_disk_of() {
	local s h
	for s in /sys/class/iscsi_session/session*; do
		[ "$(cat "$s/targetname" 2>/dev/null)" = "$1" ] || continue
		[ "$(cat "$s/initiatorname" 2>/dev/null)" = "$2" ] || continue
		for h in "$s"/device/target*/*:*:*:0; do
			[ -d "$h/block" ] && ls "$h/block" && return 0
		done
	done
	return 1
}

# iscsi_iface NAME INITIATOR: an iface that logs in under another initiator name.
iscsi_iface() {
	iscsiadm -m iface -I "$1" >/dev/null 2>&1 || iscsiadm -m iface -I "$1" -o new >/dev/null || return 1
	iscsiadm -m iface -I "$1" -o update -n iface.initiatorname -v "$2" >/dev/null
}
