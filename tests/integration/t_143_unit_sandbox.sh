#!/usr/bin/env bash
# What the unit's sandbox (dist/systemd/invard.service) allows, checked without systemd as PID 1:
# invard runs with the unit's capability bounding set, no_new_privs, its limits and umask, under
# strace, serves a file LUN (login, writes, reads, a change saved to invar.json, sd_notify,
# metrics over HTTP), and
# then the trace must show only
#   - system calls in the unit's SystemCallFilter= allow-list and none of its ~deny-list,
#   - socket families in RestrictAddressFamilies=,
#   - no writable+executable mapping and no mprotect to executable (MemoryDenyWriteExecute=),
#   - writes only under the data directory (ProtectSystem=strict + ReadWritePaths=).
# The unit grants no capability (3260 is above 1024): the effective set must be empty.
# systemd itself applies these through seccomp and mount namespaces; this checks that invard's
# behaviour stays inside what the unit grants (t_142 runs systemd-analyze verify on it).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: drops capabilities with setpriv"
# The unit runs the normal build; a sanitizer runtime makes calls of its own (setrlimit for
# core dumps, ...) that the service never makes.
[ "$(basename "$BUILD")" = build-san ] && skip "the sandbox applies to the normal build, not the sanitizer one"
for t in strace setpriv prlimit systemd-analyze socat iscsi-test-cu curl; do
	command -v "$t" >/dev/null || fail "$t is not installed (tools/install-deps.sh test)"
done
UNIT=$PWD/dist/systemd/invard.service
prop() { sed -n "s/^$1=//p" "$UNIT"; }
# systemd-analyze syscall-filter @set, groups expanded.
expand() {
	systemd-analyze syscall-filter "$1" | awk 'NR > 1 && !/^ *#/ && NF { print $1 }' |
		while read -r x; do case $x in @*) expand "$x" ;; *) echo "$x" ;; esac; done
}

# The bounding set for setpriv: "-all" and the unit's capabilities added back.
bset=-all
for c in $(prop CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_//g'); do bset+=",+$c"; done
memlock=$(prop LimitMEMLOCK); nofile=$(prop LimitNOFILE)
[ "$memlock" = infinity ] && memlock=unlimited

PORT=$(free_port) || fail "no free port"
MPORT=$(free_port) || fail "no free port"
mkdir -p "$TMP/data"
D=$(realpath "$TMP/data")
notify="$TMP/notify.sock"
socat -u "UNIX-RECV:$notify" "OPEN:$TMP/notify.log,creat,append" &
SOCAT_PID=$!
trap 'kill $SOCAT_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do [ -S "$notify" ] && break; sleep 0.05; done

# With the unit's bounding set and limits, traced.
# (limits first: raising them takes a capability the sandbox no longer has, as under systemd;
# a container without CAP_SYS_RESOURCE cannot raise them at all: then the current ones stay)
limits=()
for l in "memlock=$memlock:$memlock" "nofile=$nofile:$nofile"; do
	if prlimit --"$l" true 2>/dev/null; then limits+=(--"$l"); else echo "note: cannot set $l here"; fi
done
(umask 077; exec prlimit ${limits[@]+"${limits[@]}"} -- \
	setpriv --no-new-privs --bounding-set "$bset" --inh-caps -all -- \
	env NOTIFY_SOCKET="$notify" strace -f -qq -o "$TMP/trace" -- \
	"$INVARD" --data-dir "$D" --listen "127.0.0.1:$PORT" --lun "file:$D/disk.img,size=32M" \
	--metrics-listen "127.0.0.1:$MPORT") \
	>>"$TMP/invard.log" 2>&1 &
STRACE_PID=$!
for _ in $(seq 1 200); do grep -q READY=1 "$TMP/notify.log" 2>/dev/null && break; sleep 0.05; done
grep -q READY=1 "$TMP/notify.log" || { kill $STRACE_PID; fail "invard did not become ready"; }
INVARD_PID=$(awk 'NR == 1 { print $1 }' "$TMP/trace")
[ "$bset" != -all ] || grep -q "CapEff:[[:space:]]*0000000000000000" "/proc/$INVARD_PID/status" ||
	fail "invard's effective capabilities: $(grep CapEff "/proc/$INVARD_PID/status")"
URL="iscsi://127.0.0.1:$PORT/iqn.2026-11.org.invar:default/0"
iscsi-test-cu --dataloss --test=SCSI.Write10.Simple "$URL" >"$TMP/cu.log" 2>&1 || fail "writes: $(tail "$TMP/cu.log")"
iscsi-test-cu --dataloss --test=SCSI.Read10.Simple "$URL" >>"$TMP/cu.log" 2>&1 || fail "reads: $(tail "$TMP/cu.log")"
curl -sf "http://127.0.0.1:$MPORT/metrics" | grep -q '^invar_' || fail "no metrics at :$MPORT/metrics"
"$INVARCTL" --data-dir "$D" stats >/dev/null || fail "invarctl stats"
"$INVARCTL" --data-dir "$D" lun add iqn.2026-11.org.invar:default ram:8M >/dev/null || fail "lun add"
[ -f "$D/invar.json" ] || fail "the change was not saved"
kill -TERM "$INVARD_PID"
for _ in $(seq 1 100); do kill -0 "$STRACE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$STRACE_PID" 2>/dev/null && { kill -KILL "$INVARD_PID"; fail "invard did not stop within 10 s"; }
wait "$STRACE_PID" || fail "invard exited with status $? under the sandbox"
INVARD_PID=
echo "with the bounding set $bset, no_new_privs, ${limits[*]:-the current limits}, umask 077:" \
	"served port $PORT, wrote, read, served /metrics, saved a change, stopped cleanly"

errors=0
bad() { echo "OUTSIDE THE SANDBOX: $*" >&2; errors=$((errors + 1)); }
# System calls.
sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1/; s/\(.*//' "$TMP/trace" |
	grep -E '^[a-z0-9_]+$' | sort -u >"$TMP/used"
allow=() deny=()
while read -r line; do
	case $line in "~"*) deny+=(${line#\~}) ;; *) allow+=($line) ;; esac
done < <(prop SystemCallFilter)
for s in "${allow[@]}"; do case $s in @*) expand "$s" ;; *) echo "$s" ;; esac; done | sort -u >"$TMP/allowed"
for s in "${deny[@]}"; do case $s in @*) expand "$s" ;; *) echo "$s" ;; esac; done | sort -u >"$TMP/denied"
[ "$(wc -l <"$TMP/allowed")" -gt 100 ] || fail "could not expand SystemCallFilter=${allow[*]}"
for s in $(comm -23 "$TMP/used" "$TMP/allowed"); do bad "system call $s is not in SystemCallFilter=${allow[*]}"; done
for s in $(comm -12 "$TMP/used" "$TMP/denied"); do bad "system call $s is in SystemCallFilter=~${deny[*]}"; done
echo "system calls: $(wc -l <"$TMP/used") distinct, all in ${allow[*]}, none in ~${deny[*]}"
# Address families.
fams=$(prop RestrictAddressFamilies)
for f in $(grep -oE '(socket|socketpair)\(AF_[A-Z0-9]+' "$TMP/trace" | sed 's/.*(//' | sort -u); do
	case " $fams " in *" $f "*) ;; *) bad "socket family $f is not in RestrictAddressFamilies=$fams" ;; esac
done
# W^X.
grep -E 'mprotect\([^)]*PROT_EXEC|mmap\([^)]*(PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE)' "$TMP/trace" |
	head -3 | while read -r l; do bad "memory made writable and executable: $l"; done
# Writes: only under the data directory (the unit's ReadWritePaths), and /dev.
grep -E '(openat\(AT_FDCWD, "[^"]+", [^)]*O_(WRONLY|RDWR|CREAT)|(mkdir|unlink|chmod|rename|truncate)\("[^"]+"|bind\([0-9]+, \{sa_family=AF_UNIX, sun_path=")' \
	"$TMP/trace" | grep -vE '= -1 (EEXIST|ENOENT)' |
	grep -oE '"/[^"]*"' | tr -d '"' | sort -u >"$TMP/written"
while read -r p; do
	case $p in "$D"/* | "$D" | /dev/*) ;; *) bad "wrote $p, outside ReadWritePaths" ;; esac
done <"$TMP/written"
echo "writes: $(wc -l <"$TMP/written") paths, all under the data directory; socket families $(grep -oE 'socket\(AF_[A-Z0-9]+' "$TMP/trace" | sed 's/.*(//' | sort -u | tr '\n' ' ')"
[ "$errors" -eq 0 ] || fail "$errors uses outside the unit's sandbox"
