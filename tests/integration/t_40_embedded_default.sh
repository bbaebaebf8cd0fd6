#!/usr/bin/env bash
# `invard` with no arguments: a ready target on 127.0.0.1:3260 with LUN 0 on a 1 GiB sparse file
# in ./invar-data, created once and reused.
. "$(dirname "$0")/lib.sh"
need iscsi-ls
if (exec 3<>/dev/tcp/127.0.0.1/3260) 2>/dev/null; then
	skip "port 3260 is in use on this machine"
fi
cd "$TMP"
"$INVARD" >>"$TMP/invard.log" 2>&1 &
INVARD_PID=$!
PORT=3260
wait_listening 3260 || fail "embedded default did not listen on 127.0.0.1:3260"
wait_ctl_socket invar-data/invar.sock || fail "no control socket at ./invar-data/invar.sock"
img=$(ls invar-data/*.img 2>/dev/null | head -n 1)
[ -n "$img" ] || fail "no LUN image created in ./invar-data"
size=$(stat -c %s "$img")
[ "$size" -eq $((1 << 30)) ] || fail "$img is $size bytes, expected 1 GiB"
blocks=$(stat -c %b "$img")
[ "$blocks" -lt 2048 ] || fail "$img is not sparse ($blocks blocks)"
out=$(iscsi-ls -s iscsi://127.0.0.1:3260 2>&1) || fail "iscsi-ls failed: $out"
echo "$out"
iqn=$(echo "$out" | sed -n 's/^Target:\([^ ]*\).*/\1/p' | head -n 1)
[ -n "$iqn" ] || fail "no target discovered"
echo "$out" | grep -q 'Lun:0' || fail "LUN 0 not listed"
echo "$out" | grep -q '1073741824\|1024.*M\|1 *G' || echo "(size as listed: see above)"
invar_stop
# Second start reuses the image (data written now survives).
printf 'invar-marker' | dd of="$img" bs=1 seek=4096 conv=notrunc status=none
"$INVARD" >>"$TMP/invard.log" 2>&1 &
INVARD_PID=$!
wait_listening 3260 || fail "embedded default did not restart"
[ "$(ls invar-data/*.img | wc -l)" -eq 1 ] || fail "a second image was created"
dd if="$img" bs=1 skip=4096 count=12 status=none | grep -q invar-marker || fail "image was recreated"
invar_stop
