#!/usr/bin/env bash
# Runs libFuzzer harnesses built by fuzz.mk.
#   run.sh fuzz  BUILD SECONDS HARNESS...   fuzz each for SECONDS
#   run.sh smoke BUILD SECONDS HARNESS...   replay tests/fuzz/corpus/<h>/, then fuzz SECONDS
# New inputs go to BUILD/corpus/<h>/ (the checked-in seeds are read, never written); crashing
# inputs to BUILD/artifacts/. Exits non-zero if any harness found anything.
set -uo pipefail
cd "$(dirname "$0")/../.."

mode="$1" build="$2" secs="$3"
shift 3
failed=()

# Per-harness libFuzzer options: the connection harness needs room for a whole login and a few
# commands; text and JSON harnesses get a dictionary.
opts_for() {
	case "$1" in
	fuzz_conn) echo "-max_len=16384" ;;
	fuzz_cdb) echo "-max_len=4096" ;;
	fuzz_json) echo "-max_len=4096" ;;
	fuzz_virtq) echo "-max_len=16386" ;;
	*) echo "-max_len=2048" ;;
	esac
	[ -f "tests/fuzz/$1.dict" ] && echo "-dict=tests/fuzz/$1.dict"
}

for h in "$@"; do
	bin="$build/$h"
	seeds="tests/fuzz/corpus/$h"
	work="$build/corpus/$h"
	mkdir -p "$work" "$build/artifacts" "$seeds"
	# shellcheck disable=SC2046
	common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$h-" $(opts_for "$h"))
	start=$(date +%s)
	if [ "$mode" = smoke ] && compgen -G "$seeds/*" >/dev/null; then
		echo "== $h: replaying $(ls "$seeds" | wc -l) seed(s)"
		if ! "$bin" "${common[@]}" "$seeds"/* >"$build/$h.replay.log" 2>&1; then
			tail -n 60 "$build/$h.replay.log"
			failed+=("$h (replay)")
			continue
		fi
	fi
	echo "== $h: fuzzing for ${secs}s"
	if ! "$bin" "${common[@]}" -max_total_time="$secs" -print_final_stats=1 \
		"$work" "$seeds" >"$build/$h.log" 2>&1; then
		tail -n 80 "$build/$h.log"
		failed+=("$h")
		continue
	fi
	stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
		"$build/$h.log" | sed 's/^stat:://' | tr -s ' \n' ' ')
	cov=$(grep -oE 'cov: [0-9]+' "$build/$h.log" | tail -n 1)
	echo "   $h: ok in $(($(date +%s) - start))s; $cov; $stats"
done

if [ ${#failed[@]} -ne 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
	echo "fuzz: $(($# - ${#failed[@]})) passed, ${#failed[@]} failed"
	exit 1
fi
echo "fuzz: $# passed, 0 failed"
