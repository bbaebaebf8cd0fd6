#!/usr/bin/env bash
# Live migration does not stall the daemons (docs/design/migration.md, "Threading"): two LUs move
# A -> B at once, each held mid-way by fault injection (invard --mig-hold): first on the source
# (drained, the LU answering BUSY, B waiting for the final state), then on the destination
# (final state imported, A waiting for READY). During each hold, on BOTH daemons, logins
# (iscsi-ls discovery; iscsi-inq on a LU that does not move, as LUN 0 answers BUSY while
# drained) and RPCs (invarctl version, target list) are answered within 100 ms each, and a
# second migration of a held LU is refused at once.
# Then the holds end, both migrations complete, and B reads the data A wrote. Last, a
# migration B -> C held at C is cut off by C dying: B answers meanwhile, then serves on, and a
# request sent behind lu_migrate on the same connection is answered after it.
. "$(dirname "$0")/lib.sh"
[ -x "$ISCSI_CMD" ] || fail "$ISCSI_CMD not built (make integration builds tests/tools)"
need iscsi-ls
need iscsi-inq
need socat
HOLD_MS=3000
LIMIT_MS=100
trap 'peer_stop_all; invar_stop >/dev/null 2>&1; rm -rf "$TMP"' EXIT

AMIG=$(free_port) || fail "no free port"
invar_start --target "$TEST_IQN" --lun "file:$TMP/l0.img,size=16M,profile=invar-2026.3" \
	--lun ram:1M --lun "file:$TMP/l2.img,size=16M,profile=invar-2026.3" \
	--migration-listen "127.0.0.1:$AMIG" --mig-hold "src-drained=$HOLD_MS"
peer_start B --target iqn.2026-11.org.invar:other --lun ram:1M --mig-hold "dst-final=$HOLD_MS"
BCTL=("$INVARCTL" --socket "$TMP/B/invar.sock")
UB="iscsi://127.0.0.1:$B_PORT"
head -c 4096 /dev/urandom >"$TMP/p0"
head -c 4096 /dev/urandom >"$TMP/p2"
for l in 0 2; do
	"$ISCSI_CMD" "$URL/$TEST_IQN/$l" "2a000000000800000800=@$TMP/p$l" | grep -q '^status 0x00' ||
		fail "WRITE(10) to LUN $l on A failed"
done

# probe NAME CMD...: runs CMD, prints its time, fails over LIMIT_MS. A second try is allowed
# when the first is slow, for a machine busy with other work: a daemon blocked by the
# migration would be slow both times (for the whole hold).
probe() {
	local name=$1 t0 ms try
	shift
	for try in 1 2; do
		t0=$(date +%s%N)
		"$@" >"$TMP/probe.out" 2>&1 || fail "$name failed: $(cat "$TMP/probe.out")"
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ "$ms" -le "$LIMIT_MS" ] && break
		echo "  $name: ${ms} ms (try $try, over ${LIMIT_MS} ms)"
	done
	printf '  %-28s %4d ms\n' "$name" "$ms"
	[ "$ms" -le "$LIMIT_MS" ] || fail "$name took ${ms} ms during a held migration"
}
probe_both() {
	probe "A iscsi-ls" iscsi-ls "$URL"
	probe "A iscsi-inq (LUN 1)" iscsi-inq "$URL/$TEST_IQN/1"
	probe "A invarctl version" "${CTL[@]}" version
	probe "A invarctl target list" "${CTL[@]}" target list
	probe "B iscsi-ls" iscsi-ls "$UB"
	probe "B iscsi-inq" iscsi-inq "$UB/iqn.2026-11.org.invar:other/0"
	probe "B invarctl version" "${BCTL[@]}" version
	probe "B invarctl target list" "${BCTL[@]}" target list
}
wait_log() { # wait_log LOG PATTERN COUNT: until PATTERN is in LOG COUNT times (10 s)
	for _ in $(seq 1 200); do
		[ "$(grep -c -- "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.05
	done
	fail "no '$2' (x$3) in $1: $(tail -5 "$1")"
}
again_refused() { # a second migration of LUN 0 is refused at once
	local t0 ms
	t0=$(date +%s%N)
	"${CTL[@]}" lu migrate "$TEST_IQN" 0 --to "127.0.0.1:$B_MIG" >/dev/null 2>"$TMP/err" &&
		fail "a second migration of a held LU was started"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	grep -q "not running" "$TMP/err" || fail "second migration: $(cat "$TMP/err")"
	printf '  %-28s %4d ms\n' "A second lu migrate refused" "$ms"
}

for l in 0 2; do
	"${CTL[@]}" lu migrate "$TEST_IQN" "$l" --to "127.0.0.1:$B_MIG" >"$TMP/mig$l.out" 2>&1 &
	eval "MPID$l=\$!"
done
wait_log "$TMP/invard.log" "holding at src-drained" 2
echo "held on the source (LUs drained, BUSY on A; B waiting for the final state):"
probe_both
again_refused
grep -q "hold over" "$TMP/invard.log" && fail "the source's hold ended during the probes"
wait_log "$TMP/B.log" "holding at dst-final" 2
echo "held on the destination (final state imported; A waiting for READY):"
probe_both
grep -q "hold over" "$TMP/B.log" && fail "the destination's hold ended during the probes"

for l in 0 2; do
	eval "wait \$MPID$l" || fail "migration of LUN $l failed: $(cat "$TMP/mig$l.out")"
	cat "$TMP/mig$l.out"
	grep -q "^migrated $TEST_IQN LUN $l to 127.0.0.1:$B_MIG in" "$TMP/mig$l.out" ||
		fail "no result line for LUN $l: $(cat "$TMP/mig$l.out")"
	got=$("$ISCSI_CMD" -n 4096 "$UB/$TEST_IQN/$l" 28000000000800000800 | sed -n 's/^data *//p')
	want=$(xxd -p "$TMP/p$l" | tr -d "\n")
	[ "$got" = "$want" ] || fail "B reads other data on LUN $l than A wrote"
done
# A still serves the LU that stayed.
"$ISCSI_CMD" "$URL/$TEST_IQN/1" 000000000000 | grep -q '^status 0x00' || fail "A's LUN 1 stopped"

# Aborted mid-way: C holds the offer and dies; B answers at once meanwhile and serves on.
peer_start C --target iqn.2026-11.org.invar:other --lun ram:1M --mig-hold "dst-offer=$HOLD_MS"
CPID=${PEER_PIDS[1]}
# Raw, with a second request behind it on the same connection: answered after it, in order.
printf '%s\n%s\n' \
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"lu_migrate\",\"params\":{\"iqn\":\"$TEST_IQN\",\"lun\":0,\"to\":\"127.0.0.1:$C_MIG\"}}" \
	'{"jsonrpc":"2.0","id":2,"method":"rpc_version"}' |
	socat -t 20 - "UNIX-CONNECT:$TMP/B/invar.sock" >"$TMP/migc.out" 2>&1 &
MPID=$!
wait_log "$TMP/C.log" "holding at dst-offer" 1
echo "held on the destination before ACCEPT (B waiting):"
probe "B invarctl target list" "${BCTL[@]}" target list
probe "B iscsi-inq" iscsi-inq "$UB/iqn.2026-11.org.invar:other/0"
{ kill -KILL "$CPID" && wait "$CPID"; } 2>/dev/null
wait "$MPID"
sed -n 1p "$TMP/migc.out" | grep -q '"id":1,"error".*refused, still served here' ||
	fail "B -> C: $(cat "$TMP/migc.out")"
sed -n 2p "$TMP/migc.out" | grep -q '"id":2,"result"' ||
	fail "the request behind lu_migrate: $(cat "$TMP/migc.out")"
cut -c 1-200 "$TMP/migc.out"
got=$("$ISCSI_CMD" -n 4096 "$UB/$TEST_IQN/0" 28000000000800000800 | sed -n 's/^data *//p')
[ "$got" = "$(xxd -p "$TMP/p0" | tr -d "\n")" ] || fail "B lost LUN 0 after the abort"
peer_stop_all
invar_stop
echo "PASS"
