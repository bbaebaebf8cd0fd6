#!/usr/bin/env bash
# A hostile vhost-user front-end (tests/tools/vhost-hostile.c) against two controllers:
#  - malformed messages (bad version, sizes, unknown requests, too many regions or fds, memory
#    fds that are not files or too short, overlapping regions, bad ring numbers, features never
#    offered) each close that connection with a log line;
#  - guest-side attacks on the rings (descriptor loop, buffers outside guest memory, a head past
#    the queue, nested indirect tables, a short request header, rings outside guest memory)
#    each break that queue only; a blocking, full call eventfd stalls nothing
#    (its vring error eventfd fires) while another queue of the same device keeps answering;
#  - afterwards the daemon still serves the other controller, a reconnecting front-end on the
#    attacked one, and iSCSI;
#  - invarctl vhost add/list/delete at run time; controllers saved in the config and served
#    again after a restart;
#  - a LUN added under a connected front-end: unit attention, REPORT LUNS, and a RESCAN event
#    in the buffer the front-end posted on the event queue.
. "$(dirname "$0")/lib.sh"
HOSTILE=$PWD/$BUILD/tests/tools/vhost-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE is not built"
# One worker: anything that stalled it would stall every queue, controller and session.
invar_start --workers 1 --target "$TEST_IQN" --lun "ram:16M" \
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

# At run time: invarctl vhost add / list / delete (RPC vhost_add, vhost_list, vhost_delete).
"${CTL[@]}" vhost add "$TMP/c.sock" "$TEST_IQN" >/dev/null || fail "vhost add"
l=$("${CTL[@]}" vhost list) || fail "vhost list"
[ "$(echo "$l" | wc -l)" = 3 ] && echo "$l" | grep -q "^$TMP/c.sock target $TEST_IQN waiting$" ||
	fail "vhost list: $l"
v=$("$HOSTILE" "$TMP/c.sock" inquiry) && echo "$v" | grep -q INVAR || fail "INQUIRY through an added controller: $v"
"${CTL[@]}" vhost add "$TMP/c.sock" "$TEST_IQN" 2>/dev/null && fail "a second vhost add of the same path succeeded"
"${CTL[@]}" vhost add "$TMP/d.sock" "Not An IQN" 2>/dev/null && fail "vhost add with a bad target name succeeded"
"${CTL[@]}" vhost delete "$TMP/c.sock" >/dev/null || fail "vhost delete"
[ -e "$TMP/c.sock" ] && fail "vhost delete left the socket"
"${CTL[@]}" vhost delete "$TMP/c.sock" 2>/dev/null && fail "deleting a deleted controller succeeded"
[ "$("${CTL[@]}" vhost list | wc -l)" = 2 ] || fail "vhost list after delete"
echo "  invarctl vhost add/list/delete: a controller added at run time serves, duplicates and bad names refused"

# A LUN added while a front-end is connected: REPORTED LUNS DATA HAS CHANGED, and REPORT LUNS
# lists it (the view is swapped with the rings stopped); deleted again, it is gone.
mkdir -p "$TMP/lc"
"$HOSTILE" "$TMP/b.sock" luns "$TMP/lc" >"$TMP/lc/out" 2>&1 &
lc=$!
for _ in $(seq 1 300); do [ -e "$TMP/lc/ready" ] && break; sleep 0.02; done
[ -e "$TMP/lc/ready" ] || fail "the front-end did not get ready: $(cat "$TMP/lc/out")"
"${CTL[@]}" lun add "$TEST_IQN" ram:8M >/dev/null || fail "lun add"
touch "$TMP/lc/go"
wait $lc || fail "luns: $(cat "$TMP/lc/out")"
# The event queue: TRANSPORT_RESET (1) / RESCAN (1) for LUN 1 of target 0, 16 bytes written.
[ "$(tr '\n' ' ' <"$TMP/lc/out")" = "luns 1 tur status 0x02 sense 06/3f/0e luns 2 event 1 lun 1/0/1 reason 1 len 16 " ] ||
	fail "LUN added under a connected front-end: $(cat "$TMP/lc/out")"
grep -q "LUN view refreshed (2 LUNs)" "$TMP/invard.log" || fail "no view refresh logged"
"${CTL[@]}" lun delete "$TEST_IQN" 1 >/dev/null || fail "lun delete"
echo "  lun add under a connected front-end: REPORTED LUNS DATA HAS CHANGED, REPORT LUNS lists 2," \
	"RESCAN event on the event queue"

# Saved with the config (version 3) and served again after a restart from it.
"${CTL[@]}" vhost add "$TMP/e.sock" "$TEST_IQN" >/dev/null || fail "vhost add e.sock"
jq -e '.version == 3 and ([.vhost[].path] | sort) == (["a", "b", "e"] | map("'"$TMP"'/" + . + ".sock"))' \
	"$TMP/data/invar.json" >/dev/null || fail "invar.json does not list the controllers: $(cat "$TMP/data/invar.json")"
cp "$TMP/data/invar.json" "$TMP/saved.json"
invar_stop
[ -e "$TMP/a.sock" ] && fail "the socket outlived invard"
invar_start_config "$TMP/saved.json"
[ "$("${CTL[@]}" vhost list | wc -l)" = 3 ] || fail "controllers after a restart: $("${CTL[@]}" vhost list)"
v=$("$HOSTILE" "$TMP/e.sock" inquiry) && echo "$v" | grep -q INVAR || fail "INQUIRY after a restart: $v"
echo "  controllers are saved in invar.json (version 3) and served again after a restart"
invar_stop
