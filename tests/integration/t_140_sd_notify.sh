#!/usr/bin/env bash
# systemd readiness (Type=notify): with NOTIFY_SOCKET set, invard sends READY=1 once its portal
# listens and its control socket exists, and STOPPING=1 on SIGTERM (sd_notify from libsystemd;
# every other test runs it without NOTIFY_SOCKET, where nothing is sent). The unit file in
# dist/systemd passes `systemd-analyze verify`.
. "$(dirname "$0")/lib.sh"
need socat

# A unix datagram socket standing in for systemd's; socat writes what arrives to a file.
notify="$TMP/notify.sock"
socat -u "UNIX-RECV:$notify" "OPEN:$TMP/notify.log,creat,append" &
SOCAT_PID=$!
trap 'kill $SOCAT_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do [ -S "$notify" ] && break; sleep 0.05; done
[ -S "$notify" ] || fail "socat did not create $notify"

PORT=$(free_port) || fail "no free port"
mkdir -p "$TMP/data"
NOTIFY_SOCKET=$notify "$INVARD" --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" \
	--lun ram:16M >>"$TMP/invard.log" 2>&1 &
INVARD_PID=$!
for _ in $(seq 1 100); do
	grep -q 'READY=1' "$TMP/notify.log" 2>/dev/null && break
	kill -0 "$INVARD_PID" 2>/dev/null || fail "invard exited before READY=1"
	sleep 0.05
done
grep -q 'READY=1' "$TMP/notify.log" 2>/dev/null || fail "no READY=1 within 5 s"
# Ready means ready: the portal and the control socket are there the moment READY=1 arrives.
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || fail "READY=1 before the portal listens"
[ -S "$TMP/data/invar.sock" ] || fail "READY=1 before the control socket exists"
"$INVARCTL" --socket "$TMP/data/invar.sock" version >/dev/null || fail "invarctl version failed"
grep -q 'STOPPING=1' "$TMP/notify.log" && fail "STOPPING=1 before any signal"
echo "received at start: $(tr '\n' ' ' <"$TMP/notify.log")"
invar_stop
for _ in $(seq 1 20); do grep -q 'STOPPING=1' "$TMP/notify.log" && break; sleep 0.05; done
grep -q 'STOPPING=1' "$TMP/notify.log" || fail "no STOPPING=1 on SIGTERM: $(cat "$TMP/notify.log")"
echo "STOPPING=1 received on SIGTERM"

# The unit, with ExecStart pointing at the binary under test (verify checks it exists).
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (tools/install-deps.sh test)"
sed "s|/usr/sbin/invard|$INVARD|" dist/systemd/invard.service >"$TMP/invard.service"
out=$(systemd-analyze verify --man=no "$TMP/invard.service" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
grep -q '^Type=notify' "$TMP/invard.service" || fail "the unit is not Type=notify"
grep -q '^ExecReload' "$TMP/invard.service" && fail "ExecReload without a reload in invard"
echo "systemd-analyze verify: dist/systemd/invard.service clean"
