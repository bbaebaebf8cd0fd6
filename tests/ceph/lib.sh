# A one-node Ceph cluster for a test: Debian's ceph-mon and ceph-osd (16.2), one monitor and one
# OSD on the memstore object store (RAM only), no cephx, on 127.0.0.1 at free ports, every file
# under the test's own directory ($TMP/ceph), started and stopped by the test (no systemd, no
# /etc/ceph, no /var/lib/ceph). Source it after tests/integration/lib.sh. docs/design/rbd.md
# has the why; tests/ceph/README.md the how.
#
#   ceph_start            start mon + osd, create pool "rbd" (sets CEPH_CONF, CEPH_START_MS)
#   ceph_rbd ARGS...      the rbd tool against this cluster (rbd create --size 64M rbd/img ...)
#   ceph_cli ARGS...      the ceph tool against this cluster
#   ceph_osd_stop         SIGKILL the OSD (its memstore data survive only in memory: see below)
#   ceph_osd_pause / ceph_osd_resume   SIGSTOP / SIGCONT the OSD (an unresponsive OSD, data kept)
#   ceph_stop             stop everything (also run from the EXIT trap)
#
# memstore keeps objects in the OSD's memory, so a killed OSD loses them: the fault tests stop
# an OSD with SIGSTOP, which keeps the data and looks to clients exactly like an OSD that does
# not answer (a dead host, a partition).
CEPH_DIR=
CEPH_CONF=
CEPH_MON_PID=
CEPH_OSD_PID=
CEPH_START_MS=

ceph_need() {
	need ceph-mon
	need ceph-osd
	need ceph
	need rbd
	need monmaptool
}

ceph_cli() {
	timeout 60 ceph -c "$CEPH_CONF" "$@"
}

ceph_rbd() {
	timeout 120 rbd -c "$CEPH_CONF" "$@"
}

_ceph_uuid() {
	cat /proc/sys/kernel/random/uuid
}

_ceph_log_tail() {
	local f
	for f in "$CEPH_DIR"/log/*.log "$CEPH_DIR"/*.out; do
		[ -f "$f" ] || continue
		echo "--- $f (tail)" >&2
		tail -n 15 "$f" >&2
	done
}

# A base port with 40 free ones above it (the OSD binds several messenger ports in its range).
_ceph_port_base() {
	local p i ok
	for _ in $(seq 1 30); do
		p=$(free_port) || return 1
		[ "$p" -lt 60000 ] || continue
		ok=1
		for i in $(seq 1 40); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$((p + i))") 2>/dev/null; then
				ok=0
				break
			fi
		done
		[ "$ok" = 1 ] && { echo "$p"; return 0; }
	done
	return 1
}

ceph_start() {
	local t0 fsid base osd_uuid osd_id
	ceph_need
	t0=$(date +%s%3N)
	CEPH_DIR=$TMP/ceph
	CEPH_CONF=$CEPH_DIR/ceph.conf
	mkdir -p "$CEPH_DIR/run" "$CEPH_DIR/log" "$CEPH_DIR/mon.a" "$CEPH_DIR/osd.0"
	fsid=$(_ceph_uuid)
	base=$(_ceph_port_base) || fail "ceph: no free ports"
	cat >"$CEPH_CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$base
public addr = 127.0.0.1
ms bind port min = $((base + 1))
ms bind port max = $((base + 40))
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
mon data = $CEPH_DIR/mon.\$id
osd data = $CEPH_DIR/osd.\$id
osd objectstore = memstore
memstore device bytes = ${CEPH_MEMSTORE_BYTES:-1073741824}
# A test cluster on a loaded host: no scrubbing, and be patient with heartbeats.
osd scrub during recovery = false
osd max scrubs = 0
mon osd down out interval = 0
EOF
	monmaptool --create --addv a "[v2:127.0.0.1:$base]" --fsid "$fsid" "$CEPH_DIR/monmap" \
		>"$CEPH_DIR/monmaptool.out" 2>&1 || { _ceph_log_tail; fail "ceph: monmaptool failed"; }
	ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" >"$CEPH_DIR/mkfs-mon.out" 2>&1 ||
		{ _ceph_log_tail; fail "ceph: ceph-mon --mkfs failed"; }
	ceph-mon -f -c "$CEPH_CONF" -i a >"$CEPH_DIR/mon.out" 2>&1 &
	CEPH_MON_PID=$!
	osd_uuid=$(_ceph_uuid)
	osd_id=$(ceph_cli osd new "$osd_uuid" 2>"$CEPH_DIR/osd-new.out") ||
		{ _ceph_log_tail; fail "ceph: the monitor did not answer (osd new)"; }
	[ "$osd_id" = 0 ] || fail "ceph: osd new gave id '$osd_id', not 0"
	ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$CEPH_DIR/mkfs-osd.out" 2>&1 ||
		{ _ceph_log_tail; fail "ceph: ceph-osd --mkfs failed"; }
	ceph_osd_start
	ceph_cli osd pool create rbd 8 8 >"$CEPH_DIR/pool.out" 2>&1 ||
		{ cat "$CEPH_DIR/pool.out" >&2; fail "ceph: pool create failed"; }
	ceph_rbd pool init rbd >>"$CEPH_DIR/pool.out" 2>&1 ||
		{ cat "$CEPH_DIR/pool.out" >&2; fail "ceph: rbd pool init failed"; }
	CEPH_START_MS=$(($(date +%s%3N) - t0))
}

# Starts osd.0 (after ceph_osd_stop, or from ceph_start) and waits until the monitor has it up.
ceph_osd_start() {
	ceph-osd -f -c "$CEPH_CONF" -i 0 >>"$CEPH_DIR/osd.out" 2>&1 &
	CEPH_OSD_PID=$!
	for _ in $(seq 1 600); do
		ceph_cli osd stat 2>/dev/null | grep -q '1 up' && return 0
		kill -0 "$CEPH_OSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	_ceph_log_tail
	fail "ceph: osd.0 did not come up"
}

ceph_osd_stop() {
	[ -n "$CEPH_OSD_PID" ] || return 0
	kill -KILL "$CEPH_OSD_PID" 2>/dev/null
	wait "$CEPH_OSD_PID" 2>/dev/null
	CEPH_OSD_PID=
}

ceph_osd_pause() {
	kill -STOP "$CEPH_OSD_PID" || fail "ceph: osd.0 is not running"
}

ceph_osd_resume() {
	kill -CONT "$CEPH_OSD_PID" || fail "ceph: osd.0 is not running"
}

ceph_stop() {
	local p
	for p in "$CEPH_OSD_PID" "$CEPH_MON_PID"; do
		[ -n "$p" ] || continue
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in "$CEPH_OSD_PID" "$CEPH_MON_PID"; do
		[ -n "$p" ] || continue
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CEPH_OSD_PID=
	CEPH_MON_PID=
}

# The EXIT trap: the cluster first (its files are under $TMP), then lib.sh's cleanup.
trap 'ceph_stop; cleanup' EXIT
