#!/usr/bin/env bash
# The man pages (docs/man/*.scd) and the bash completion (dist/bash-completion/invarctl) cannot
# drift from the programs: every option in `invard --help` is an item of invard(8) and every
# item there is an option; every command synopsis in `invarctl --help` appears in the rendered
# invarctl(8) and every command item there is a synopsis; the completion offers exactly the
# nouns and verbs of `invarctl --help`.
. "$(dirname "$0")/lib.sh"
need scdoc
need man
errors=0
bad() { echo "MISMATCH: $*" >&2; errors=$((errors + 1)); }

# Rendered as plain ASCII text on one long line per paragraph, whitespace collapsed.
render() {
	scdoc <"docs/man/$1.scd" >"$TMP/$1" || fail "scdoc $1.scd failed"
	MANWIDTH=2000 man -E ascii -l "$TMP/$1" 2>/dev/null | col -bx | tr -s ' \t\n' '   ' >"$TMP/$1.txt"
	[ -s "$TMP/$1.txt" ] || fail "man could not render $1"
}
# Items of a page's source: the line of a definition (starts with *, followed by an indented
# paragraph), formatting taken out (* and _ markers, \ escapes).
items() {
	awk 'prev ~ /^\*/ && /^\t/ { print prev } { prev = $0 }' "docs/man/$1.scd" |
		sed 's/\\_/\x01/g; s/[*_]//g; s/\x01/_/g; s/\\//g'
}

# ---- invard: options ----
render invard.8
"$INVARD" --help | grep -oE '^  (-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+' | sort -u >"$TMP/help.opts"
items invard.8 | grep -oE -- '^(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+' | sort -u >"$TMP/man.opts"
[ "$(wc -l <"$TMP/help.opts")" -ge 20 ] || fail "found only $(wc -l <"$TMP/help.opts") options in invard --help"
while read -r o; do bad "invard --help has $o, invard(8) has no item for it"; done \
	< <(comm -23 "$TMP/help.opts" "$TMP/man.opts")
while read -r o; do bad "invard(8) documents $o, invard --help does not list it"; done \
	< <(comm -13 "$TMP/help.opts" "$TMP/man.opts")
echo "invard: $(wc -l <"$TMP/help.opts") options in --help and in invard(8)"

# ---- invarctl: commands and options ----
render invarctl.8
# A synopsis is a command line of --help before the two spaces that start its help.
"$INVARCTL" --help | awk '/^  [a-z]/ { s = substr($0, 3); sub(/  .*/, "", s); print s }' >"$TMP/help.cmds"
[ "$(wc -l <"$TMP/help.cmds")" -ge 20 ] || fail "found only $(wc -l <"$TMP/help.cmds") commands in invarctl --help"
while read -r s; do
	grep -qF -- " $s " "$TMP/invarctl.8.txt" || bad "invarctl --help has '$s', invarctl(8) does not"
done <"$TMP/help.cmds"
items invarctl.8 | grep -v '^-' | sort >"$TMP/man.cmds"
while read -r s; do bad "invarctl(8) documents '$s', invarctl --help does not list it"; done \
	< <(comm -13 <(sort "$TMP/help.cmds") "$TMP/man.cmds")
"$INVARCTL" --help | grep -oE '^  (-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+' | sort -u >"$TMP/ctl.opts"
for o in $(cat "$TMP/ctl.opts") --help --version; do
	grep -qF -- " $o " "$TMP/invarctl.8.txt" || bad "invarctl(8) does not document $o"
done
echo "invarctl: $(wc -l <"$TMP/help.cmds") command synopses in --help and in invarctl(8)"

# ---- bash completion ----
need awk
[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
cat >"$TMP/complete.sh" <<'EOS'
. /usr/share/bash-completion/bash_completion
. dist/bash-completion/invarctl
complete_line() {
	COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
	_invarctl invarctl
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}
EOS
ctl_dir=$(dirname "$INVARCTL")
compl() { PATH="$ctl_dir:$PATH" bash -c ". $TMP/complete.sh; complete_line invarctl $*"; }
awk '{ split($0, w, " "); print w[1] }' "$TMP/help.cmds" | sort -u >"$TMP/nouns"
compl '""' >"$TMP/c.nouns"
diff -u "$TMP/nouns" "$TMP/c.nouns" >&2 || bad "completion of nouns differs from invarctl --help"
for n in $(cat "$TMP/nouns"); do
	awk -v n="$n" '{ split($0, w, " ") } w[1] == n && w[2] ~ /^[a-z][a-z|]*$/ { print w[2] }' \
		"$TMP/help.cmds" | tr '|' '\n' | sort >"$TMP/verbs"
	compl "$n" '""' >"$TMP/c.verbs"
	diff -u "$TMP/verbs" "$TMP/c.verbs" >&2 || bad "completion of '$n' verbs differs from invarctl --help"
done
compl --data-dir /tmp '--j' | grep -qx -- --json || bad "completion does not offer --json"
echo "completion: $(wc -l <"$TMP/nouns") nouns and their verbs, as in invarctl --help"
[ "$errors" -eq 0 ] || fail "$errors mismatches between the programs and their man pages/completion"
