#!/usr/bin/env bash
# The Debian package, end to end (as root; CI runs on a fresh throw-away machine): build it with
# dpkg-buildpackage from a copy of the tree, lintian (no error or warning), install it, check
# the unit with systemd-analyze verify and the -dev package by linking against it, run invard
# from it on /var/lib/invar exactly as the unit does (under systemd when PID 1 is systemd), talk
# to it with /usr/bin/invarctl and iscsi-inq, restart it on the configuration it saved, stop it,
# then dpkg -r and dpkg -P and check that nothing the package or invard made is left behind.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: installs the package with dpkg"
# It builds its own binaries, so the sanitizer pass of `make check` would only repeat it.
[ "$(basename "$BUILD")" = build-san ] && skip "the package is built and tested once, on the normal pass"
for t in dpkg-buildpackage dh lintian systemd-analyze iscsi-inq iscsi-ls cc; do
	command -v "$t" >/dev/null || fail "$t is not installed (tools/install-deps.sh test)"
done
SRC=$PWD
STATE=/var/lib/invar
PKGS=(invar libinvar-handler1 libinvar-handler-dev)
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'not-installed' ||
		! dpkg-query -W "$p" >/dev/null 2>&1 ||
		fail "package $p is already on this machine: refusing to replace and purge it"
done
[ -e "$STATE" ] && fail "$STATE exists: refusing to run invard on, and purge, someone's state"

SYSTEMD=0
[ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ] && SYSTEMD=1
pkg_cleanup() {
	[ "$SYSTEMD" = 1 ] && systemctl stop invard 2>/dev/null
	[ -n "$INVARD_PID" ] && kill -KILL "$INVARD_PID" 2>/dev/null
	INVARD_PID=
	dpkg -P "${PKGS[@]}" >/dev/null 2>&1
	rm -rf "$STATE"
	cleanup
}
trap pkg_cleanup EXIT

# ---- build, from a copy: debian/rules clean would remove the suite's build/ ----
start=$(date +%s)
mkdir -p "$TMP/src/invar"
tar -C "$SRC" --exclude=./build --exclude=./build-san --exclude=./.git --exclude=./invar-data \
	-cf - . | tar -C "$TMP/src/invar" -xf -
(cd "$TMP/src/invar" && DEB_BUILD_OPTIONS=parallel=2 nice -n 10 \
	dpkg-buildpackage -b -us -uc) >"$TMP/build.log" 2>&1 ||
	{ tail -n 40 "$TMP/build.log"; fail "dpkg-buildpackage failed"; }
version=$(cd "$TMP/src/invar" && dpkg-parsechangelog -S Version)
debs=()
for p in "${PKGS[@]}"; do
	f="$TMP/src/${p}_${version}_$(dpkg --print-architecture).deb"
	[ -f "$f" ] || fail "dpkg-buildpackage built no $(basename "$f")"
	debs+=("$f")
done
echo "built ${PKGS[*]} $version in $(($(date +%s) - start)) s"

lintian --fail-on error,warning --pedantic -I "$TMP/src/invar_${version}_"*.changes >"$TMP/lintian.log" 2>&1 ||
	{ cat "$TMP/lintian.log"; fail "lintian found errors or warnings"; }
# (lintian says it should not run as root; the tags are the lines with a tag letter)
grep -E '^[EWIPX]: ' "$TMP/lintian.log" >"$TMP/tags"
echo "lintian --pedantic -I: $(wc -l <"$TMP/tags") tags beyond the overrides in debian/"
sed 's/^/  /' "$TMP/tags"

# ---- install ----
dpkg -i "${debs[@]}" >"$TMP/dpkg-i.log" 2>&1 || { cat "$TMP/dpkg-i.log"; fail "dpkg -i failed"; }
dpkg -L "${PKGS[@]}" | sort -u >"$TMP/files"
for f in /usr/sbin/invard /usr/bin/invarctl /lib/systemd/system/invard.service \
	/usr/share/man/man8/invard.8.gz /usr/share/man/man8/invarctl.8.gz \
	/usr/share/bash-completion/completions/invarctl /etc/default/invard \
	"/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libinvar-handler.so.1" \
	/usr/include/invar/handler.h /usr/include/invar/handler-ring.h \
	/usr/share/doc/libinvar-handler-dev/examples/invar-handler-ram.c; do
	grep -qx "$f" "$TMP/files" && [ -e "$f" ] || fail "the packages do not install $f"
done
echo "installed: $(wc -l <"$TMP/files") paths"
/usr/sbin/invard --version | grep -q "invard $version " ||
	fail "debian/changelog says $version, invard --version says $(/usr/sbin/invard --version)"
out=$(systemd-analyze verify /lib/systemd/system/invard.service 2>&1) &&
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
echo "systemd-analyze verify /lib/systemd/system/invard.service: clean"
printf '#include <stdio.h>\n#include <invar/handler.h>\nint main(void) { puts(invar_handler_version()); return 0; }\n' \
	>"$TMP/h.c"
pkg-config --exists invar-handler || fail "pkg-config does not know invar-handler"
cc -o "$TMP/h" "$TMP/h.c" $(pkg-config --cflags --libs invar-handler) ||
	fail "cannot build against libinvar-handler-dev"
echo "libinvar-handler-dev: a program builds with pkg-config invar-handler $(pkg-config --modversion invar-handler), library version $("$TMP/h")"

# ---- run invard from the package, as the unit does ----
PORT=3260
ctl() { /usr/bin/invarctl --data-dir "$STATE" "$@"; }
pkg_start() {
	if [ "$SYSTEMD" = 1 ]; then
		systemctl start invard || fail "systemctl start invard: $(journalctl -u invard -n 20)"
	else
		# ExecStart, with the unit's INVARD_OPTS from /etc/default/invard.
		cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/invard.service)
		INVARD_OPTS=$(. /etc/default/invard; echo "$INVARD_OPTS")
		eval "set -- ${cmd//\$INVARD_OPTS/$INVARD_OPTS}"
		"$@" ${EXTRA[@]+"${EXTRA[@]}"} >>"$TMP/invard.log" 2>&1 &
		INVARD_PID=$!
	fi
	wait_listening "$PORT" || fail "the packaged invard did not listen on $PORT"
	wait_ctl_socket "$STATE/invar.sock" || fail "no control socket in $STATE"
}
pkg_stop() {
	if [ "$SYSTEMD" = 1 ]; then systemctl stop invard; else invar_stop; fi
}
EXTRA=()
if [ "$SYSTEMD" = 0 ]; then
	echo "PID 1 is $(ps -p 1 -o comm=), not systemd: running the unit's ExecStart by hand"
	# The embedded default's portal is 127.0.0.1:3260; if something else has it, first start
	# on another port (the restart then serves the saved portal).
	if (exec 3<>/dev/tcp/127.0.0.1/3260) 2>/dev/null; then
		PORT=$(free_port) || fail "no free port"
		EXTRA=(--listen "127.0.0.1:$PORT")
		echo "port 3260 is in use here: first start with --listen 127.0.0.1:$PORT"
	fi
fi
pkg_start
[ "$(stat -c %a "$STATE")" = 700 ] || fail "$STATE is mode $(stat -c %a "$STATE"), not 0700"
IQN=iqn.2026-11.org.invar:default
ctl target list | grep -q "$IQN" || fail "the embedded default target is not served"
ctl lun add "$IQN" ram:64M,serial=PKGTEST >/dev/null || fail "invarctl lun add failed"
[ "$(stat -c %a "$STATE/invar.json")" = 600 ] || fail "invar.json is not mode 0600"
for l in 0 1; do
	out=$(iscsi-inq "iscsi://127.0.0.1:$PORT/$IQN/$l" 2>&1) || fail "iscsi-inq LUN $l: $out"
done
echo "$out" | grep -qi invar || fail "iscsi-inq did not see invar: $out"
pkg_stop
# Started again, the service serves what it saved (no configuration on its command line).
EXTRA=()
pkg_start
ctl lun list "$IQN" | grep -q PKGTEST || fail "the LUN added at run time did not survive a restart"
iscsi-inq -e 1 -c 128 "iscsi://127.0.0.1:$PORT/$IQN/1" 2>&1 | grep -q PKGTEST ||
	fail "LUN 1 is not served after the restart"
iscsi-ls -s "iscsi://127.0.0.1:$PORT" | grep -c 'Lun:' | grep -qx 2 || fail "iscsi-ls does not list 2 LUNs"
pkg_stop
echo "invard from the package: served, changed with invarctl, restarted on $STATE/invar.json"

# ---- remove, then purge ----
dpkg -r "${PKGS[@]}" >"$TMP/dpkg-r.log" 2>&1 || { cat "$TMP/dpkg-r.log"; fail "dpkg -r failed"; }
[ -e /usr/sbin/invard ] && fail "dpkg -r left /usr/sbin/invard"
[ -f /etc/default/invard ] || fail "dpkg -r removed the conffile /etc/default/invard"
[ -f "$STATE/invar.json" ] || fail "dpkg -r removed the saved configuration"
dpkg -P "${PKGS[@]}" >"$TMP/dpkg-p.log" 2>&1 || { cat "$TMP/dpkg-p.log"; fail "dpkg -P failed"; }
# (dpkg -r removed the libraries completely: they have no conffiles; dpkg -P says so)
sed 's/^/  dpkg -P: /' "$TMP/dpkg-p.log" |
	grep -v "^  dpkg -P: (Reading\|^  dpkg -P: Removing\|^  dpkg -P: Purging\|which isn't installed"
left=()
while read -r f; do
	case $f in /. | /etc | /lib | /usr | /usr/* | /lib/* | /etc/*) ;; *) continue ;; esac
	# Directories other packages also own (/usr/share/man...) stay; anything else must go.
	if [ -e "$f" ] && ! [ -d "$f" ]; then left+=("$f"); fi
	if [ -d "$f" ] && ! dpkg -S "$f" >/dev/null 2>&1 && [ -z "$(ls -A "$f" 2>/dev/null)" ]; then
		left+=("$f (empty directory)")
	fi
done <"$TMP/files"
for f in /etc/systemd/system/multi-user.target.wants/invard.service \
	/var/lib/systemd/deb-systemd-helper-enabled/invard.service.dsh-also \
	/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/invard.service \
	/usr/include/invar "$STATE/invar.json" "$STATE/invard.lock" "$STATE/invar.sock" "$STATE/lu"; do
	[ -e "$f" ] && left+=("$f")
done
[ ${#left[@]} -eq 0 ] || fail "left behind after dpkg -P: ${left[*]}"
dpkg-query -W -f='${db:Status-Abbrev}\n' "${PKGS[@]}" 2>/dev/null | grep -q '^.[^n]' &&
	fail "dpkg still knows the packages: $(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PKGS[@]}")"
# The embedded default's LUN image is data: purge keeps it, and says so; nothing else is there.
[ "$(ls -A "$STATE")" = lun0.img ] || fail "$STATE after purge: $(ls -A "$STATE")"
rm -rf "$STATE"
echo "dpkg -r kept the conffile and the configuration; dpkg -P removed them, the unit's" \
	"enablement and every packaged file, and kept only the LUN image $STATE/lun0.img"
echo "total $(($(date +%s) - start)) s"
