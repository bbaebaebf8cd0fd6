#!/usr/bin/env bash
# Power cuts (docs/design/durability.md): a few cuts of tests/vm/crash-loop.sh, the three
# configurations (file backstore on ext4 and on xfs, the user backstore) in one QEMU guest with
# invard inside it: the seed scenarios of tests/vm/crash-seeds, then random cuts. Every
# acknowledged-durable block, APTPL reservation, saved mode page and configuration change must
# survive each cut; no block may read as garbage. The long run is `make crash-test CUTS=N`.
# Prints each cut's time and the summary lines; everything when it fails.
export CRASH_MAX_DELAY=${CRASH_MAX_DELAY:-4}
out=$(mktemp /tmp/invar-crash-out.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
"$(dirname "$0")/../vm/crash-loop.sh" "${CRASH_CUTS:-3}" >"$out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
	grep -E '^crash|cut [0-9]+ done|BAD' "$out"
else
	cat "$out"
fi
exit "$rc"
