#!/usr/bin/env bash
# Regenerate the README's supported-command table from the dispatch table
# (tests/integration/t_05_readme_commands.sh fails when it is stale).
set -euo pipefail
cd "$(dirname "$0")/.."
invard=${INVARD:-build/invard}
table=$(mktemp)
trap 'rm -f "$table" README.md.new' EXIT
"$invard" --list-commands >"$table"
awk -v table="$table" '
	/<!-- commands:end -->/ { skip = 0 }
	!skip { print }
	/<!-- commands:begin -->/ { while ((getline line < table) > 0) print line; skip = 1 }
' README.md >README.md.new
mv README.md.new README.md
