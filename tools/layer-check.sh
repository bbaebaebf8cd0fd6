#!/usr/bin/env bash
# The layer check (make layer-check, part of make check): every #include "dir/..." in src/ must
# point at a directory its own layer may use. The allowed matrix is the architecture; it is
# drawn the same way in docs/ARCHITECTURE.md ("Layers"). Arrows point down only, so the graph of
# directories has no cycle; the check also proves that by ordering them.
#
#   layer           may include (besides itself)
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allow=(
	[util]=""
	[rt]="util"
	[backstore]="rt util invar"
	[scsi]="backstore rt util"
	[target]="scsi backstore rt util"
	[mig]="target scsi backstore rt util"
	[fabric]="mig target scsi rt util"
	[ctl]="mig target scsi backstore rt util invar"
	[main]="ctl fabric mig target scsi backstore rt util invar"
)
# A total order consistent with the matrix (lowest first): the no-cycle proof.
order=(util rt backstore scsi target mig fabric ctl main)

layer_of() {
	case "$1" in
	src/main.c) echo main ;;
	src/fabric/*) echo fabric ;;
	src/*/*) local p=${1#src/}; echo "${p%%/*}" ;;
	*) echo "?" ;;
	esac
}

rank() {
	for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done
	echo -1
}

bad=0
nfiles=0
nedges=0
for l in "${!allow[@]}"; do
	for u in ${allow[$l]}; do
		[ "$u" = invar ] && continue
		if [ "$(rank "$u")" -ge "$(rank "$l")" ]; then
			echo "layer-check: the matrix itself has $l -> $u pointing up" >&2
			bad=1
		fi
	done
done

while IFS= read -r f; do
	nfiles=$((nfiles + 1))
	from=$(layer_of "$f")
	if [ "$from" = "?" ] || [ -z "${allow[$from]+x}" ]; then
		echo "layer-check: $f is in no known layer (add its directory to tools/layer-check.sh)" >&2
		bad=1
		continue
	fi
	while IFS= read -r inc; do
		top=${inc%%/*}
		[ "$top" = "$inc" ] && continue	# same-directory include
		to=$top
		[ "$to" = fabric ] && to=fabric
		nedges=$((nedges + 1))
		[ "$to" = "$from" ] && continue
		if [[ " ${allow[$from]} " != *" $to "* ]]; then
			echo "layer-check: $f includes \"$inc\": $from may not use $to" >&2
			bad=1
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done < <(find src -name '*.[ch]' | sort)

if [ "$bad" -ne 0 ]; then
	echo "layer-check: FAILED (docs/ARCHITECTURE.md, \"Layers\", has the matrix)" >&2
	exit 1
fi
echo "layer-check: $nfiles files, $nedges includes, all within the layer matrix (${order[*]})"
