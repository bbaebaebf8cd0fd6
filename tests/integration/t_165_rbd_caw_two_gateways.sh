#!/usr/bin/env bash
# COMPARE AND WRITE on one RBD image through two gateways at once: two invards serve the same
# image; a client on each runs a compare-and-swap counter on one sector (read the counter, CAW
# it to counter+1, retry on MISCOMPARE) until it has N successes. The CAW is the OSD's
# (rbd_aio_compare_and_write: one cmpext + write on the object), so the final counter must be
# exactly 2N: a non-atomic CAW lets both gateways move it from the same value and lose one
# (the same loop on 2 blocks, which librbd cannot compare atomically, loses updates:
# docs/design/rbd.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
trap 'peer_stop_all; ceph_stop; cleanup' EXIT
N=${CAW_ROUNDS:-25}
ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 16M rbd/caw || fail "rbd create failed"
invar_start --target "$TEST_IQN" --lun "rbd:rbd/caw,conf=$CEPH_CONF"
peer_start B --target "$TEST_IQN" --lun "rbd:rbd/caw,conf=$CEPH_CONF"
URL_A="$URL/$TEST_IQN/0"
URL_B="iscsi://127.0.0.1:$B_PORT/$TEST_IQN/0"
ZEROS=$(printf '%01008d' 0)
blk() { printf '%016x%s' "$1" "$ZEROS"; }
READ=28000000000000000100            # READ(10) LBA 0, 1 block
CAW=89000000000000000000000000010000 # COMPARE AND WRITE LBA 0, 1 block

casloop() { # URL OUTFILE
	local url=$1 ok=0 miss=0 cur v out
	while [ "$ok" -lt "$N" ]; do
		cur=$("$ISCSI_CMD" -n 512 "$url" $READ | awk '/^data/{print $2}')
		[ ${#cur} -eq 1024 ] || { echo "read failed" >"$2"; return 1; }
		v=$((16#${cur:0:16}))
		out=$("$ISCSI_CMD" "$url" "$CAW=$cur$(blk $((v + 1)))")
		if echo "$out" | grep -qE '^status +0x00'; then
			ok=$((ok + 1))
		elif echo "$out" | grep -qE '^key +0x0e asc 0x1d'; then
			miss=$((miss + 1))
		else
			echo "CAW answered: $out" >"$2"
			return 1
		fi
	done
	echo "ok $ok miscompares $miss" >"$2"
}
s=$(date +%s%3N)
casloop "$URL_A" "$TMP/a.out" &
pa=$!
casloop "$URL_B" "$TMP/b.out" &
pb=$!
wait "$pa" || fail "gateway A: $(cat "$TMP/a.out")"
wait "$pb" || fail "gateway B: $(cat "$TMP/b.out")"
ms=$(($(date +%s%3N) - s))
cur=$("$ISCSI_CMD" -n 512 "$URL_A" $READ | awk '/^data/{print $2}')
final=$((16#${cur:0:16}))
echo "  gateway A: $(cat "$TMP/a.out"); gateway B: $(cat "$TMP/b.out"); ${ms} ms"
[ "$final" -eq $((2 * N)) ] || fail "counter is $final after $((2 * N)) successful CAWs"
[ "${cur:16}" = "$ZEROS" ] || fail "the rest of the sector changed"
echo "  counter $final = 2 x $N successful CAWs: no update lost across gateways"
invar_stop
