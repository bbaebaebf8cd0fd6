#!/usr/bin/env bash
# Makes sure clang can build libFuzzer targets (-fsanitize=fuzzer): installs Debian 12's clang
# and its compiler-rt only when they are missing, so repeated runs cost nothing. Kept apart from
# tools/install-deps.sh: only `make fuzz` / `make fuzz-smoke` need it.
set -euo pipefail

CC_FUZZ="${FUZZ_CC:-clang}"

probe() {
	local dir rc
	command -v "$CC_FUZZ" >/dev/null 2>&1 || return 1
	dir="$(mktemp -d)"
	printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$dir/p.c"
	rc=0
	"$CC_FUZZ" -fsanitize=fuzzer,address,undefined -o "$dir/p" "$dir/p.c" >/dev/null 2>&1 || rc=1
	rm -rf "$dir"
	return $rc
}

probe && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-clang: $CC_FUZZ with libFuzzer is missing; run as root or: sudo apt-get install clang libclang-rt-dev" >&2
	exit 1
fi
echo "install-clang: installing clang and libclang-rt-dev (libFuzzer, sanitizers)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
probe || { echo "install-clang: $CC_FUZZ still cannot link -fsanitize=fuzzer" >&2; exit 1; }
