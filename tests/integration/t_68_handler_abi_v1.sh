#!/usr/bin/env bash
# ABI compatibility: a handler (libinvar-handler's code and the RAM example) compiled against
# the first released ring header, tests/abi/handler-ring-v1.h, attaches to the current daemon,
# negotiates, and serves verified I/O.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/handler_lib.sh"
need qemu-io
V1=$PWD/$BUILD/tests/invar-handler-ram-v1
[ -x "$V1" ] || fail "$V1 not built"
invar_start --target "$TEST_IQN" --lun user:old,size=32M
handler_start "$V1" old
grep -q "user old: handler pid $HANDLER_PID ready (features 0x7" "$TMP/invard.log" ||
	fail "v1 handler did not negotiate the v1 features"
qemu-io -f raw -c "write -P 0x33 1M 256k" -c "read -P 0x33 1M 256k" -c "read -P 0 0 64k" \
	"$URL/$TEST_IQN/0" >"$TMP/io.out" 2>&1 || fail "qemu-io failed"
grep -qiE 'fail|error' "$TMP/io.out" && { cat "$TMP/io.out" >&2; fail "I/O through the v1 handler failed"; }
echo "handler built against ring header v1.0 serves verified I/O on the current daemon"
handler_kill TERM
invar_stop
