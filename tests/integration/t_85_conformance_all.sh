#!/usr/bin/env bash
# Issue 3's "done when": libiscsi's whole conformance suite (ALL) with two paths to one file LU
# (profile invar-2026.3), one through each of two portals in different target portal groups.
# Fails on any failed test, when the MultipathIO tests did not run, or when more than
# ${MAX_SKIPS:-10} SKIPPED messages remain; prints the summary and the distinct skipped tests.
# CONFORMANCE_LUN replaces the file backstore (t_161 runs this against an RBD image).
. "$(dirname "$0")/lib.sh"
need iscsi-test-cu
need iscsi-ls
PORT2=$(free_port) || fail "no free port"
invar_start --listen "127.0.0.1:$PORT2,tpg=2" --target "$TEST_IQN" \
	--lun "${CONFORMANCE_LUN:-file:$TMP/data/lun0.img,size=1G},profile=invar-2026.3,removable=1"
wait_listening "$PORT2" || fail "invard did not listen on $PORT2"
URL1="iscsi://127.0.0.1:$PORT/$TEST_IQN/0"
URL2="iscsi://127.0.0.1:$PORT2/$TEST_IQN/0"

# Discovery lists the target through both portals, each with its own portal group tag.
iscsi-ls -s "$URL" >"$TMP/ls.txt" 2>&1 || { cat "$TMP/ls.txt" >&2; fail "iscsi-ls failed"; }
grep -q "127.0.0.1:$PORT,1" "$TMP/ls.txt" || fail "SendTargets lacks 127.0.0.1:$PORT,1: $(cat "$TMP/ls.txt")"
grep -q "127.0.0.1:$PORT2,2" "$TMP/ls.txt" || fail "SendTargets lacks 127.0.0.1:$PORT2,2: $(cat "$TMP/ls.txt")"

out="$TMP/cu-all.log"
start=$(date +%s)
iscsi-test-cu --dataloss --allow-sanitize --test=ALL "$URL1" "$URL2" >"$out" 2>&1
rc=$?
secs=$(($(date +%s) - start))
grep -q "found matching LU device identifier for all (2) paths" "$out" ||
	{ head -n 30 "$out" >&2; fail "iscsi-test-cu did not accept the two paths as one LU"; }
line=$(grep -E '^[[:space:]]+tests[[:space:]]' "$out" | tail -n 1)
[ -n "$line" ] || { tail -n 30 "$out" >&2; fail "iscsi-test-cu printed no summary (exit $rc)"; }
set -- $line
total=$2 ran=$3 passed=$4 failed=$5
skips=$(grep -o '\[SKIPPED\]' "$out" | wc -l)
# CUnit prints "  Test: NAME ..." when a test starts and "passed"/"FAILED" when it ends; what a
# test logs in between belongs to it. Skips outside any test (libiscsi's start-up and exit
# probes) are listed as such.
awk '
	/^Suite: / { suite = $2; next }
	/^  Test: / { cur = suite "." $2; intest = 1 }
	{
		line = $0
		if (!intest) { n = gsub(/\[SKIPPED\]/, "", line); for (i = 0; i < n; i++) print "(outside any test)"; next }
		if (match(line, /\.\.\.(passed|FAILED)/) || match(line, /^(passed|FAILED)/)) {
			head = substr(line, 1, RSTART - 1); tail = substr(line, RSTART)
			n = gsub(/\[SKIPPED\]/, "", head); for (i = 0; i < n; i++) print cur
			n = gsub(/\[SKIPPED\]/, "", tail); for (i = 0; i < n; i++) print "(outside any test)"
			intest = 0; next
		}
		n = gsub(/\[SKIPPED\]/, "", line); for (i = 0; i < n; i++) print cur
	}' "$out" >"$TMP/skipped.txt"
echo "  iscsi-test-cu ALL, 2 paths: $total tests, ran $ran, passed $passed, failed $failed;" \
	"$skips SKIPPED messages; ${secs}s"
echo "  $line"
echo "  skipped tests ($(sort -u "$TMP/skipped.txt" | grep -vc outside) distinct):"
sort "$TMP/skipped.txt" | uniq -c | sed 's/^/    /'

# The multipath suite ran over both paths and passed: none of its tests skipped or failed.
grep -q '^MultipathIO\.' "$TMP/skipped.txt" &&
	fail "MultipathIO tests skipped: $(grep '^MultipathIO\.' "$TMP/skipped.txt" | sort -u)"
mp=$(awk '/^Suite: MultipathIO/{on=1; next} /^Suite: /{on=0} on' "$out")
[ -n "$mp" ] || fail "the MultipathIO suite did not run"
mp_pass=$(echo "$mp" | grep -cE '^  Test: .*\.\.\.passed|^passed' || true)
mp_fail=$(echo "$mp" | grep -cE 'FAILED' || true)
echo "  MultipathIO: $mp_pass passed, $mp_fail failed"
[ "$mp_fail" -eq 0 ] && [ "$mp_pass" -ge 4 ] || fail "MultipathIO: $mp_pass passed, $mp_fail failed"

# Two failures come from libiscsi 1.19's tests, not from invar; each is let through only when
# its own check below shows invar gives the answer the standard asks for.
# - Sanitize.Reset: with two paths, Sanitize.Reservations takes RESERVE(6) on the shared
#   second-path session and returns at its CRYPTO ERASE skip without releasing it, so the
#   next test's SANITIZE from the first path gets RESERVATION CONFLICT (SPC-2). Check: the
#   test passes on its own over the same two paths.
# - GetLBAStatus.UnmapSingle: with more than one logical block per physical block (invar-2026.3
#   reports 4096-byte physical blocks), its second loop asks GET LBA STATUS for LBA i+1 and
#   requires the first descriptor to start at i+LBPPB, which cannot contain the requested LBA
#   (SBC-3 5.20: the first descriptor contains the STARTING LOGICAL BLOCK ADDRESS). Check: after
#   unmapping LBAs 0-7 of 16 written, GET LBA STATUS at LBA 9 answers one mapped descriptor
#   starting at 9.
failed_tests=$(awk '/^Suite: /{suite=$2} /^  Test: /{cur=suite "." $2}
	/\.\.\.FAILED|^FAILED/{print cur}' "$out" | sort -u | tr '\n' ' ')
echo "  failed tests: ${failed_tests:-none}"
check_sanitize_reset() {
	iscsi-test-cu --dataloss --allow-sanitize --test=SCSI.Sanitize.Reset "$URL1" "$URL2" \
		>"$TMP/reset.log" 2>&1 ||
		{ tail -n 40 "$TMP/reset.log" >&2; fail "Sanitize.Reset fails on its own too"; }
	grep -qE '^[[:space:]]+tests[[:space:]]+1[[:space:]]+1[[:space:]]+1[[:space:]]+0' \
		"$TMP/reset.log" || fail "Sanitize.Reset on its own did not pass"
	echo "  Sanitize.Reset passes on its own over both paths"
}
check_lba_status() {
	local data got
	data=$(head -c 8192 /dev/urandom | xxd -p | tr -d '\n')
	# WRITE(10) LBAs 0-15, UNMAP LBAs 0-7, GET LBA STATUS from LBA 9.
	got=$("$ISCSI_CMD" -n 24 "$URL1" "2a000000000000001000=$data" \
		"42000000000000001800=0016001000000000000000000000000000000008000000000000" \
		"9e120000000000000009000000180000" | awk '/^data/{print $2}' | tail -n 1)
	# Descriptor 1: LBA (bytes 8-15) 9, provisioning status (byte 20) 0 = mapped.
	[ "${got:16:16}" = 0000000000000009 ] && [ "${got:40:2}" = 00 ] ||
		fail "GET LBA STATUS at LBA 9 answered '$got', not a mapped descriptor from LBA 9"
	echo "  GET LBA STATUS at LBA 9 answers a mapped descriptor starting at LBA 9"
}
if [ "$failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
	known=0
	for t in $failed_tests; do
		case $t in
		Sanitize.Reset) check_sanitize_reset; known=$((known + 1)) ;;
		GetLBAStatus.UnmapSingle) check_lba_status; known=$((known + 1)) ;;
		*) ;;
		esac
	done
	if [ "$known" -ne "$failed" ]; then
		grep -E 'FAILED|^[[:space:]]+[0-9]+\. ' "$out" | head -n 60 >&2
		fail "$failed of $ran iscsi-test-cu tests failed (exit $rc): $failed_tests"
	fi
fi
[ "$skips" -le "${MAX_SKIPS:-10}" ] ||
	fail "$skips SKIPPED messages, more than MAX_SKIPS=${MAX_SKIPS:-10}"
invar_stop
