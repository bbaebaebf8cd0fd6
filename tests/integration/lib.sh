# Shared helpers for integration tests: start invard on a free loopback port with a private
# data directory, stop it, and check it shut down cleanly. Sourced by each t_*.sh.
set -u
BUILD=${BUILD:-build}
INVARD=${INVARD:-$PWD/$BUILD/invard}
INVARCTL=${INVARCTL:-$PWD/$BUILD/invarctl}
# Raw CDB client (tests/tools/iscsi-cmd.c): ISCSI_CMD URL CDB_HEX [DATA_OUT_HEX] prints status/sense/data.
ISCSI_CMD=${ISCSI_CMD:-$PWD/$BUILD/tests/tools/iscsi-cmd}
TEST_IQN=iqn.2026-11.org.invar:test
TMP=$(mktemp -d /tmp/invar-test.XXXXXX)
INVARD_PID=
PORT=

fail() {
	echo "FAIL: $*" >&2
	[ -f "$TMP/invard.log" ] && { echo "--- invard log (tail)" >&2; tail -n 40 "$TMP/invard.log" >&2; }
	# More to show, from a library the test sourced (tests/vm/lib.sh: the guests' consoles).
	declare -F fail_hook >/dev/null && fail_hook
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

# A port nobody listens on, below the kernel's ephemeral range: a port that is the local end of
# some client's connection refuses a connect too, but cannot be listened on.
free_port() {
	local p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 21024 ] || lo=32768
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % (lo - 20000 - 1)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wait_listening() {
	local port=$1
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		[ -n "$INVARD_PID" ] && ! kill -0 "$INVARD_PID" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

# invard creates its control socket before any portal listens; waiting for it as well keeps the
# tests right even with --socket elsewhere or an older daemon under test.
wait_ctl_socket() {
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		[ -n "$INVARD_PID" ] && ! kill -0 "$INVARD_PID" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# invar_start [invard args...]: --listen and --data-dir are added unless given. It serves its
# command line: a configuration an earlier run saved in the data directory (invar.json, written
# on every change at run time) is removed first. t_119 tests restarts on the saved file.
invar_start() {
	mkdir -p "$TMP/data"
	rm -f "$TMP/data/invar.json"
	# A port can still be taken between free_port and invard's bind (other tests run their own
	# daemons and clients): try another one then.
	for attempt in 1 2 3; do
		PORT=$(free_port) || fail "no free port"
		"$INVARD" --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" "$@" >>"$TMP/invard.log" 2>&1 &
		INVARD_PID=$!
		wait_listening "$PORT" && break
		wait "$INVARD_PID" 2>/dev/null
		grep -q "Address already in use" "$TMP/invard.log" && [ "$attempt" -lt 3 ] ||
			fail "invard did not start listening on $PORT"
		echo "port $PORT was taken; trying another" >>"$TMP/invard.log"
	done
	case " $* " in *" --socket "*) ;; *) wait_ctl_socket "$TMP/data/invar.sock" ||
		fail "invard did not create its control socket" ;; esac
	URL="iscsi://127.0.0.1:$PORT"
	CTL=("$INVARCTL" --socket "$TMP/data/invar.sock")
}

# invar_start_config FILE: restart from a saved config; it lists its own portals, so the daemon
# listens on the port the config names (the previous run's $PORT).
invar_start_config() {
	"$INVARD" --data-dir "$TMP/data" --config "$1" >>"$TMP/invard.log" 2>&1 &
	INVARD_PID=$!
	wait_listening "$PORT" || fail "invard did not start from $1"
	wait_ctl_socket "$TMP/data/invar.sock" || fail "invard did not create its control socket"
}

# Stops invard with SIGTERM and requires a clean exit (status 0) within 10 s.
invar_stop() {
	local rc
	[ -n "$INVARD_PID" ] || return 0
	kill -TERM "$INVARD_PID" 2>/dev/null || fail "invard died before the end of the test"
	for _ in $(seq 1 100); do
		kill -0 "$INVARD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$INVARD_PID" 2>/dev/null; then
		kill -KILL "$INVARD_PID"
		fail "invard did not exit within 10 s of SIGTERM"
	fi
	wait "$INVARD_PID"
	rc=$?
	INVARD_PID=
	[ "$rc" -eq 0 ] || fail "invard exited with status $rc"
}

cleanup() {
	[ -n "$INVARD_PID" ] && kill -KILL "$INVARD_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# run_cu SUITE... : runs iscsi-test-cu for each test pattern against $CU_URL, prints its summary
# and fails the test if any CUnit test failed or the run did not complete.
run_cu() {
	local out="$TMP/cu.log" pat total=0 failed=0 line
	: >"$out"
	for pat in "$@"; do
		iscsi-test-cu --dataloss --test="$pat" "$CU_URL" >>"$out" 2>&1
		line=$(grep -E '^[[:space:]]+tests[[:space:]]' "$out" | tail -n 1)
		[ -n "$line" ] || { tail -n 30 "$out" >&2; fail "iscsi-test-cu $pat printed no summary"; }
		# "tests  Total Ran Passed Failed Inactive"
		set -- $line
		total=$((total + $3))
		failed=$((failed + $5))
		printf '  %-40s ran %3s passed %3s failed %3s\n' "$pat" "$3" "$4" "$5"
		set -- # reset positional args for the next loop turn
	done
	if [ "$failed" -ne 0 ]; then
		grep -E 'FAILED|Test: .*\.\.\.FAILED|failed' "$out" | head -n 40 >&2
		fail "$failed of $total iscsi-test-cu tests failed"
	fi
}

# Peers for migration tests: another invard with its own data directory, a portal and a
# migration listener. peer_start NAME [ARGS...] sets NAME_PORT and NAME_MIG and records the pid
# in PEER_PIDS; peer_stop_all stops them all (call it from the test's EXIT trap).
PEER_PIDS=()
peer_start() {
	local name=$1 port mport
	shift
	port=$(free_port) || fail "no free port"
	mport=$(free_port) || fail "no free port"
	mkdir -p "$TMP/$name"
	"$INVARD" --listen "127.0.0.1:$port" --data-dir "$TMP/$name" \
		--migration-listen "127.0.0.1:$mport" "$@" >>"$TMP/$name.log" 2>&1 &
	PEER_PIDS+=($!)
	wait_listening "$port" || fail "$name did not start (log: $(tail -5 "$TMP/$name.log"))"
	wait_listening "$mport" || fail "$name is not listening for migrations"
	wait_ctl_socket "$TMP/$name/invar.sock" || fail "$name has no control socket"
	eval "${name}_PORT=$port ${name}_MIG=$mport"
}
peer_stop_all() {
	local p
	for p in "${PEER_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PEER_PIDS=()
}

# Held sessions (tests/tools/iscsi-robust.c hold: log in, READ every 50 ms) for tests that
# change access under live sessions. hold_start NAME INITIATOR HOST:PORT SECONDS [ISID] runs one
# in the background (ISID: its -s, the same for a reinstatement), output in $TMP/NAME, and
# returns once its I/O runs (a refused login fails); hold_ended NAME checks that its I/O stopped
# because the session was closed (within 5 s); hold_running NAME that it goes on.
ROBUST=${ROBUST:-$PWD/$BUILD/tests/tools/iscsi-robust}
hold_start() {
	[ -x "$ROBUST" ] || fail "$ROBUST not built"
	"$ROBUST" -n "$2" ${5:+-s "$5"} "$3" "$TEST_IQN" hold "$4" >"$TMP/$1" 2>&1 &
	eval "HOLD_PID_$1=$!"
	for _ in $(seq 1 200); do
		grep -q io_running "$TMP/$1" && return 0
		grep -q "^login 0x0[1-9]" "$TMP/$1" && fail "$1: login refused: $(cat "$TMP/$1")"
		sleep 0.05
	done
	fail "$1 did not start I/O: $(cat "$TMP/$1")"
}
hold_ended() {
	local pid
	pid=$(eval echo "\$HOLD_PID_$1")
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "$1 still doing I/O: $(cat "$TMP/$1")"
	wait "$pid"
	grep -q "^io_ended after [0-9]*: read closed" "$TMP/$1" || fail "$1: $(cat "$TMP/$1")"
}
hold_running() {
	local pid
	pid=$(eval echo "\$HOLD_PID_$1")
	kill -0 "$pid" 2>/dev/null || fail "$1 stopped: $(cat "$TMP/$1")"
	grep -q io_ended "$TMP/$1" && fail "$1: $(cat "$TMP/$1")"
	return 0
}
