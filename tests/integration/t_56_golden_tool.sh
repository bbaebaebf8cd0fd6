#!/usr/bin/env bash
# The golden tooling itself: a changed answer is caught (and shown as CDB + diff), the recorder
# refuses to overwrite a released profile's corpus, and a corpus recorded on one fresh daemon
# (the draft profile's, or without a draft the newest profile's) replays cleanly against another.
. "$(dirname "$0")/lib.sh"
GOLDEN=${GOLDEN:-$PWD/$BUILD/invar-golden}
[ -x "$GOLDEN" ] || fail "$GOLDEN is not built (make golden; needs libiscsi-dev)"
directive() { sed -n "s/^#! $2 //p" "$1" | head -n 1; }

corpus=tests/golden/invar-2026.1.corpus
target=$(directive "$corpus" target)
spec=$(directive "$corpus" lun)

# 1. One expected byte changed (the INQUIRY VPD 80h serial's last digit): replay must fail and
#    name the line, the CDB and the differing byte.
line=$(grep -n '# INQUIRY VPD page 80h$' "$corpus" | cut -d: -f1)
[ -n "$line" ] || fail "no VPD 80h line in $corpus"
sed "${line}s/3031  #/3032  #/" "$corpus" >"$TMP/changed.corpus"
cmp -s "$corpus" "$TMP/changed.corpus" && fail "the test's edit did not change the corpus"
invar_start --target "$target" --lun "$spec"
"$GOLDEN" replay "$URL/$target/0" "$TMP/changed.corpus" >"$TMP/out" 2>&1 && {
	cat "$TMP/out"; fail "replay accepted a corpus with a changed answer"; }
grep -q "^DIFF $TMP/changed.corpus:$line (INQUIRY VPD page 80h): data-in differs at byte 18" "$TMP/out" ||
	{ cat "$TMP/out"; fail "the difference is not reported with its line and byte"; }
grep -q "CDB: 12 01 80 00 ff 00" "$TMP/out" || fail "the CDB is not printed"
grep -q "^    - 0010  30 30 32" "$TMP/out" && grep -q "^    + 0010  30 30 31" "$TMP/out" ||
	fail "no -/+ diff rows printed"
grep -q ", 1 differ" "$TMP/out" || { cat "$TMP/out"; fail "exactly one difference expected"; }
echo "changed answer caught: $(grep -m1 '^DIFF' "$TMP/out")"
invar_stop

# 2. A released profile's corpus is never re-recorded.
cp "$corpus" "$TMP/released.corpus"
"$GOLDEN" record "iscsi://127.0.0.1:1/$target/0" "$TMP/released.corpus" --lun "$spec" \
	--target "$target" 2>"$TMP/err" && fail "record overwrote a released profile's corpus"
grep -q "is released" "$TMP/err" || { cat "$TMP/err"; fail "no reason given for refusing"; }
cmp -s "$corpus" "$TMP/released.corpus" || fail "the refused record changed the file"
# Malformed corpora are refused with the line number.
printf '#! profile x\n#! target y\n#! lun z\n12zz - 00 - -\n' >"$TMP/bad.corpus"
"$GOLDEN" check "$TMP/bad.corpus" 2>"$TMP/err"; [ $? -eq 2 ] || fail "bad corpus not refused"
grep -q "bad.corpus:4: CDB" "$TMP/err" || { cat "$TMP/err"; fail "bad corpus error without line"; }

# 3. Recording is deterministic: record a corpus on a fresh daemon, then replay it on another.
#    With a draft profile: the draft, whose corpus may then be recorded again (drafts change).
#    Without one: the newest released profile, into a new file (allowed: nothing is
#    overwritten), which may then not be recorded again.
draft=$("$GOLDEN" profiles | awk '$2 == "draft" { print $1; exit }')
prof=${draft:-$("$GOLDEN" profiles | awk '$2 == "released" { p = $1 } END { print p }')}
[ -n "$prof" ] || fail "no profile listed"
dspec=${spec/profile=invar-2026.1/profile=$prof}
invar_start --target "$target" --lun "$dspec"
"$GOLDEN" record "$URL/$target/0" "$TMP/fresh.corpus" --lun "$dspec" --target "$target" ||
	fail "recording profile $prof into a new file failed"
invar_stop
invar_start --target "$target" --lun "$dspec"
"$GOLDEN" replay "$URL/$target/0" "$TMP/fresh.corpus" >"$TMP/out" 2>&1 || {
	head -n 100 "$TMP/out"; fail "$prof: a fresh daemon does not answer as recorded"; }
tail -n 1 "$TMP/out"
invar_stop
invar_start --target "$target" --lun "$dspec"
if [ -n "$draft" ]; then
	"$GOLDEN" record "$URL/$target/0" "$TMP/fresh.corpus" --lun "$dspec" --target "$target" >/dev/null ||
		fail "re-recording the draft profile $draft was refused"
else
	"$GOLDEN" record "$URL/$target/0" "$TMP/fresh.corpus" --lun "$dspec" --target "$target" \
		>/dev/null 2>"$TMP/err" && fail "re-recording released profile $prof was allowed"
	grep -q "is released" "$TMP/err" || { cat "$TMP/err"; fail "no reason given for refusing"; }
	echo "no draft profile: round trip on released $prof; re-recording refused"
fi
invar_stop
