#!/usr/bin/env bash
# Runs every tests/integration/t_*.sh, or the ones named on the command line (each starts its
# own invard on a free loopback port). Exit 77 from a test means skipped. Prints a closing count.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
passed=0 failed=0 skipped=0 failed_names=()
out=$(mktemp -d /tmp/invar-integration.XXXXXX)
trap 'rm -rf "$out"' EXIT
if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/integration/t_*.sh); fi
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	bash "$t" >"$out/$name.out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) passed=$((passed + 1)); echo "PASS $name (${secs}s)"; cat "$out/$name.out" | sed 's/^/     /' | grep -v '^     $' | head -n 40 ;;
	77) skipped=$((skipped + 1)); echo "SKIP $name: $(tail -n 1 "$out/$name.out")" ;;
	*) failed=$((failed + 1)); failed_names+=("$name"); echo "FAIL $name (${secs}s, exit $rc)"; sed 's/^/     /' "$out/$name.out" | tail -n 80 ;;
	esac
done
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
