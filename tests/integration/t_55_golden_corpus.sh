#!/usr/bin/env bash
# Golden corpus: every released profile has a checked-in corpus (tests/golden/PROFILE.corpus,
# non-trivial), and a fresh invard whose LU has the corpus' fixed identity answers every CDB in
# it byte for byte (status, sense, data-in). Any difference fails, printing the CDB and a diff.
. "$(dirname "$0")/lib.sh"
GOLDEN=${GOLDEN:-$PWD/$BUILD/invar-golden}
[ -x "$GOLDEN" ] || fail "$GOLDEN is not built (make golden; needs libiscsi-dev)"

# Corpus header directives: "#! key value".
directive() { sed -n "s/^#! $2 //p" "$1" | head -n 1; }

released=$("$GOLDEN" profiles | awk '$2 == "released" { print $1 }')
[ -n "$released" ] || fail "no released profile listed"
for p in $released; do
	corpus=tests/golden/$p.corpus
	[ -f "$corpus" ] || fail "released profile $p has no golden corpus ($corpus)"
	"$GOLDEN" check "$corpus" --min 1000 || fail "$corpus is missing or trivial"
	[ "$(directive "$corpus" profile)" = "$p" ] || fail "$corpus does not say profile $p"
	target=$(directive "$corpus" target)
	spec=$(directive "$corpus" lun)
	case $spec in *",profile=$p"*) ;; *) fail "$corpus: LU spec without profile=$p" ;; esac
	invar_start --target "$target" --lun "$spec"
	"$GOLDEN" replay "$URL/$target/0" "$corpus" >"$TMP/replay.out" 2>&1
	rc=$?
	head -n 200 "$TMP/replay.out"
	[ "$rc" -eq 0 ] || fail "profile $p does not answer as its golden corpus says"
	invar_stop
done
