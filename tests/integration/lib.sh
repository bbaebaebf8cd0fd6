# Shared helpers for integration tests: start invard on a free loopback port with a private
# data directory, stop it, and check it shut down cleanly. Sourced by each t_*.sh.
set -u
BUILD=${BUILD:-build}
INVARD=${INVARD:-$PWD/$BUILD/invard}
INVARCTL=${INVARCTL:-$PWD/$BUILD/invarctl}
TEST_IQN=iqn.2026-11.org.invar:test
TMP=$(mktemp -d /tmp/invar-test.XXXXXX)
INVARD_PID=
PORT=

fail() {
	echo "FAIL: $*" >&2
	[ -f "$TMP/invard.log" ] && { echo "--- invard log (tail)" >&2; tail -n 40 "$TMP/invard.log" >&2; }
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
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

# invar_start [invard args...]: --listen and --data-dir are added unless given.
invar_start() {
	PORT=$(free_port) || fail "no free port"
	mkdir -p "$TMP/data"
	"$INVARD" --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" "$@" >>"$TMP/invard.log" 2>&1 &
	INVARD_PID=$!
	wait_listening "$PORT" || fail "invard did not start listening on $PORT"
	# The control socket comes up after the portals: wait for it too (unless --socket moved it).
	for _ in $(seq 1 50); do [ -S "$TMP/data/invar.sock" ] && break; sleep 0.1; done
	URL="iscsi://127.0.0.1:$PORT"
	CTL=("$INVARCTL" --socket "$TMP/data/invar.sock")
}

# invar_start_config FILE: restart from a saved config; it lists its own portals, so the daemon
# listens on the port the config names (the previous run's $PORT).
invar_start_config() {
	"$INVARD" --data-dir "$TMP/data" --config "$1" >>"$TMP/invard.log" 2>&1 &
	INVARD_PID=$!
	wait_listening "$PORT" || fail "invard did not start from $1"
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
