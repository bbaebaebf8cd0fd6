#!/usr/bin/env bash
# Installs what invar needs from Debian 12's archive. `build`: compiler and libraries;
# `test`: those plus the real initiators the tests drive (libiscsi tools, qemu-img), what the
# QEMU guest tests need (qemu-system-x86; mmdebstrap builds the guest, tests/vm/build-guest.sh)
# and the Debian packaging tools the package tests use (debhelper, lintian, systemd-analyze);
# a one-node Ceph for the rbd backstore's tests (tests/ceph/lib.sh).
# Installs only what is missing, so repeated runs cost nothing.
set -euo pipefail

build_pkgs=(gcc make pkg-config liburing-dev libisal-dev libjansson-dev libssl-dev libmicrohttpd-dev
	libsystemd-dev scdoc librbd-dev librados-dev)
test_pkgs=(libcmocka-dev libiscsi-bin libiscsi-dev qemu-utils qemu-block-extra jq socat xxd procps abigail-tools
	qemu-system-x86 mmdebstrap e2fsprogs curl prometheus
	debhelper dpkg-dev fakeroot lintian bash-completion systemd man-db bsdextrautils strace
	ceph-mon ceph-osd ceph-common)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
