# Helpers for the out-of-process handler tests (t_65..t_69), sourced after lib.sh.
HANDLER_FILE=${HANDLER_FILE:-$PWD/$BUILD/invar-handler-file}
HANDLER_RAM=${HANDLER_RAM:-$PWD/$BUILD/invar-handler-ram}
HANDLER_PID=

# handler_start BINARY NAME [ARGS...]: starts a handler on the daemon's socket and waits until
# the daemon logs it ready.
handler_start() {
	local bin=$1 name=$2 n
	shift 2
	n=$(grep -c "user $name: handler pid .* ready" "$TMP/invard.log")
	"$bin" --socket "$TMP/data/invar.sock" --name "$name" "$@" >>"$TMP/handler.log" 2>&1 &
	HANDLER_PID=$!
	for _ in $(seq 1 100); do
		[ "$(grep -c "user $name: handler pid .* ready" "$TMP/invard.log")" -gt "$n" ] && return 0
		kill -0 "$HANDLER_PID" 2>/dev/null || { tail -5 "$TMP/handler.log" >&2; fail "handler $bin exited"; }
		sleep 0.05
	done
	fail "handler $bin did not attach"
}

handler_kill() {
	[ -n "$HANDLER_PID" ] || return 0
	kill -"${1:-TERM}" "$HANDLER_PID" 2>/dev/null
	wait "$HANDLER_PID" 2>/dev/null
	HANDLER_PID=
}

handler_cleanup() {
	[ -n "$HANDLER_PID" ] && kill -KILL "$HANDLER_PID" 2>/dev/null
	[ -n "$INVARD_PID" ] && kill -KILL "$INVARD_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap handler_cleanup EXIT

[ -x "$HANDLER_FILE" ] && [ -x "$HANDLER_RAM" ] || fail "handlers not built (make handlers)"
