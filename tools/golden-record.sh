#!/usr/bin/env bash
# Records the golden corpus of a behaviour profile: starts a private invard with the fixed-identity
# LU every corpus uses, sends the CDB list of tools/golden/gen.c and writes tests/golden/PROFILE.corpus
# (or OUT). invar-golden refuses to overwrite the corpus of a released profile: run this for a
# draft profile while it is being built, and once more (file absent) is never needed again.
#   tools/golden-record.sh PROFILE [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
profile=${1:?usage: tools/golden-record.sh PROFILE [OUT]}
out=${2:-tests/golden/$profile.corpus}
# The identity every corpus is recorded with (and replayed with: the corpus header keeps it).
target=iqn.2026-11.org.invar:golden
spec="ram:16M,block_size=512,serial=INVARGOLDEN0001,naa=3a1b2c3d4e5f6071,profile=$profile"

make -s "$BUILD/invard" "$BUILD/invar-golden" >/dev/null
tmp=$(mktemp -d /tmp/invar-golden.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
"$BUILD/invard" --listen "127.0.0.1:$port" --data-dir "$tmp" --target "$target" --lun "$spec" \
	>"$tmp/invard.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/invard.log" >&2; exit 1; }
	sleep 0.1
done
"$BUILD/invar-golden" record "iscsi://127.0.0.1:$port/$target/0" "$out" --lun "$spec" --target "$target"
