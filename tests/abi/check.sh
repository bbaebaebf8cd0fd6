#!/usr/bin/env bash
# The ABI guard (make abi-check, part of make check):
#  1. the ring header's layout: every line of tests/abi/ring-layout.txt (the released layout)
#     is still printed by tests/abi/ring_layout.c: fields may be added, never moved or resized;
#  2. libinvar-handler.so against tests/abi/libinvar-handler.abi with abidiff (abigail-tools):
#     any change to a released symbol or the types it reaches fails; added symbols pass.
# To bless a deliberate, compatible change: tests/abi/check.sh --update (never for a change
# abidiff calls incompatible: that needs a new major and soname).
set -uo pipefail
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.."
lib=$BUILD/libinvar-handler.so.1
"$BUILD/tests/ring-layout" >"$BUILD/tests/ring-layout.txt" || exit 1
if [ "${1:-}" = --update ]; then
	cp "$BUILD/tests/ring-layout.txt" tests/abi/ring-layout.txt
	abidw --no-corpus-path "$lib" >tests/abi/libinvar-handler.abi
	echo "abi-check: baselines updated"
	exit 0
fi
missing=$(sort tests/abi/ring-layout.txt | comm -23 - <(sort "$BUILD/tests/ring-layout.txt"))
if [ -n "$missing" ]; then
	echo "abi-check: the ring layout changed incompatibly; these released lines are gone:" >&2
	echo "$missing" >&2
	exit 1
fi
echo "abi-check: ring layout keeps all $(wc -l <tests/abi/ring-layout.txt) released entries"
if ! command -v abidiff >/dev/null; then
	echo "abi-check: abidiff missing (apt-get install abigail-tools)" >&2
	exit 1
fi
abidiff --no-added-syms tests/abi/libinvar-handler.abi "$lib" >"$BUILD/tests/abidiff.txt" 2>&1
rc=$?
# abidiff's status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
# Added symbols are filtered out (--no-added-syms), so any change left, even one abidiff does
# not call incompatible (a changed return type), fails: released symbols never change.
if [ "$rc" -ne 0 ]; then
	cat "$BUILD/tests/abidiff.txt" >&2
	echo "abi-check: libinvar-handler changed incompatibly (abidiff status $rc)" >&2
	exit 1
fi
echo "abi-check: libinvar-handler compatible with its baseline (abidiff status $rc)"
