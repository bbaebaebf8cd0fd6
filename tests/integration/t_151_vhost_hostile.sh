#!/usr/bin/env bash
# A hostile vhost-user front-end (tests/tools/vhost-hostile.c) against two controllers:
#  - malformed messages (bad version, sizes, unknown requests, too many regions or fds, memory
#    fds that are not files or too short, overlapping regions, bad ring numbers, features never
#    offered) each close that connection with a log line;
#  - guest-side attacks on the rings (descriptor loop, buffers outside guest memory, a head past
#    the queue, nested indirect tables, a short request header) each break that queue only
#    (its vring error eventfd fires) while another queue of the same device keeps answering;
#  - afterwards the daemon still serves the other controller, a reconnecting front-end on the
#    attacked one, and iSCSI.
. "$(dirname "$0")/lib.sh"
HOSTILE=$PWD/$BUILD/tests/tools/vhost-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE is not built"
invar_start --target "$TEST_IQN" --lun "ram:16M" \
	--vhost-user "$TMP/a.sock,target=$TEST_IQN" --vhost-user "$TMP/b.sock,target=$TEST_IQN"

out=$("$HOSTILE" "$TMP/a.sock" messages) || fail "malformed messages: $out"
echo "$out" | sed 's/^/  /'
n=$(grep -c "closing the connection" "$TMP/invard.log")
[ "$n" -ge 15 ] || fail "expected a log line per refused message, found $n"

out=$("$HOSTILE" "$TMP/a.sock" rings) || fail "ring attacks: $out"
echo "$out" | sed 's/^/  /'
for why in "loops" "outside guest memory" "past" "nested indirect" "request of"; do
	grep -q "is broken (.*$why" "$TMP/invard.log" || fail "no 'queue is broken ($why' log line"
done

v=$("$HOSTILE" "$TMP/b.sock" inquiry) || fail "the other controller does not answer"
echo "$v" | grep -q INVAR || fail "INQUIRY through the other controller: $v"
v=$("$HOSTILE" "$TMP/a.sock" inquiry) || fail "a new front-end on the attacked controller is not served"
echo "$v" | grep -q INVAR || fail "INQUIRY through the attacked controller: $v"
r=$("$ISCSI_CMD" -n 96 "$URL/$TEST_IQN/0" 120000006000) || fail "iSCSI INQUIRY: $r"
echo "$r" | grep -q "status 0x00" || fail "iSCSI INQUIRY: $r"
echo "  afterwards: the other controller, a new front-end on the attacked one and iSCSI all answer INQUIRY"
invar_stop
