#!/usr/bin/env bash
# The README's supported-command table is exactly what the dispatch table says.
. "$(dirname "$0")/lib.sh"
"$INVARD" --list-commands >"$TMP/now.md" || fail "invard --list-commands failed"
sed -n '/<!-- commands:begin -->/,/<!-- commands:end -->/p' README.md | sed '1d;$d' >"$TMP/readme.md"
[ -s "$TMP/readme.md" ] || fail "README has no commands:begin/end block"
diff -u "$TMP/readme.md" "$TMP/now.md" ||
	fail "README command table is stale: replace it with the output of build/invard --list-commands"
echo "README lists $(grep -c '^| [0-9A-F][0-9A-F]h' "$TMP/now.md") commands, matching the dispatch table"
