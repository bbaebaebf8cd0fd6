#!/usr/bin/env bash
# Builds the test guest from Debian 12 packages only, once per machine: Debian's own kernel, a
# raw ext4 root image (mmdebstrap, populated with mkfs.ext4 -d: no loop device, no mount) and a
# small initramfs (busybox + the modules that mount that root) whose /init hands over to
# /sbin/invar-vm-init (tests/vm/guest-init.sh). The result lives in VM_CACHE/guest-KEY/, KEY a
# hash of this script, the package list and guest-init.sh, so a change rebuilds and an unchanged
# guest is reused. Prints that directory. Needs root, mmdebstrap and e2fsprogs
# (tools/install-deps.sh test). Usage: build-guest.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VM_CACHE=${VM_CACHE:-$here/../../build/vm}

# What the tests run in the guest. invard's own run-time libraries are here so that a guest can
# run the host's build/invard from a 9p share (the power-cut tests).
PACKAGES=(
	linux-image-amd64 tiny-initramfs kmod busybox-static
	iproute2 procps util-linux e2fsprogs xfsprogs
	open-iscsi fio sg3-utils multipath-tools
	liburing2 libjansson4 libssl3 libisal2
	# bench/lio.sh: tgt beside LIO and invard, libiscsi's iscsi-perf as a client; invard
	# links libmicrohttpd (the metrics endpoint)
	tgt libiscsi-bin libmicrohttpd12
)
# Modules the initramfs loads to mount the root image; the rest load from the root itself.
INITRD_MODULES=(virtio_pci virtio_blk ext4 crc32c_generic)
# The rest of invard's run-time libraries (the power-cut loop runs build/invard in the guest),
# and the sanitizers' run-times for build-san/invard.
PACKAGES+=(libmicrohttpd12 libsystemd0 libasan8 libubsan1)

key=$(cat "$0" "$here/guest-init.sh" | sha256sum | cut -c1-16)
out=$VM_CACHE/guest-$key
if [ "${1:-}" != --force ] && [ -f "$out/ready" ]; then
	echo "$out"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-guest: needs root (mmdebstrap, chroot)" >&2; exit 1; }
command -v mmdebstrap >/dev/null && command -v mkfs.ext4 >/dev/null ||
	{ echo "build-guest: needs mmdebstrap and e2fsprogs (tools/install-deps.sh test)" >&2; exit 1; }
mkdir -p "$VM_CACHE"
# One build at a time per cache; a second caller waits and then finds it ready.
exec 9>"$VM_CACHE/.build.lock"
flock 9
if [ "${1:-}" != --force ] && [ -f "$out/ready" ]; then
	echo "$out"
	exit 0
fi
start=$(date +%s)
work=$(mktemp -d "$VM_CACHE/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# The machine's own Debian sources when it has them (a mirror or snapshot it is set up for),
# else mmdebstrap's default (stable, with updates and security).
mirrors=()
[ -f /etc/apt/sources.list.d/debian.sources ] && mirrors=(/etc/apt/sources.list.d/debian.sources)
# No documentation, locales or apt lists: smaller image, faster mkfs and boot.
nice -n 10 mmdebstrap --variant=minbase --mode=root --quiet \
	--include="$(IFS=,; echo "${PACKAGES[*]}")" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--customize-hook='echo invar-guest >"$1/etc/hostname"' \
	--customize-hook='printf "127.0.0.1 localhost invar-guest\n" >"$1/etc/hosts"' \
	--customize-hook='chroot "$1" passwd --delete root' \
	--customize-hook="cp '$here/guest-init.sh' \"\$1/sbin/invar-vm-init\"" \
	--customize-hook='chmod 755 "$1/sbin/invar-vm-init"' \
	--customize-hook='mkdir -p "$1/host" "$1/mnt/share"' \
	bookworm "$root" "${mirrors[@]}" >"$work/mmdebstrap.log" 2>&1 ||
	{ tail -n 40 "$work/mmdebstrap.log" >&2; echo "build-guest: mmdebstrap failed" >&2; exit 1; }

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || { echo "build-guest: no kernel in the image" >&2; exit 1; }
mkdir -p "$work/out"
cp "$root/boot/vmlinuz-$kver" "$work/out/vmlinuz"
rm -f "$root"/boot/initrd.img* "$root"/initrd.img* # tiny-initramfs' own; ours is below

# The initramfs: busybox, the modules above in dependency order, and /init.
ird=$work/initrd
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/newroot" "$ird/lib/modules"
cp "$root/bin/busybox" "$ird/bin/busybox"
for m in "${INITRD_MODULES[@]}"; do
	chroot "$root" modprobe -S "$kver" --show-depends "$m"
done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' >"$work/modlist"
: >"$ird/lib/modules/order"
while read -r ko; do
	cp "$root$ko" "$ird/lib/modules/"
	echo "$(basename "$ko")" >>"$ird/lib/modules/order"
done <"$work/modlist"
cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
# Loads what the root image needs, mounts it (/dev/vda) and hands over to its invar-vm-init.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
for i in $(seq 1 50); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -t ext4 /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; echo o >/proc/sysrq-trigger; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/invar-vm-init
EOF
chmod 755 "$ird/init"
# busybox-static runs on the host too: no cpio needed there.
(cd "$ird" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$work/out/initrd.img"

# The root image: the tree plus room for what tests write (the guest writes to a snapshot
# overlay, never to this file).
size_mb=$(( $(du -sm "$root" | cut -f1) + 256 ))
# (stderr: it tells of "Creating regular file" on stdout, which is the image's path here)
mkfs.ext4 -q -L invar-guest -d "$root" "$work/out/rootfs.img" "${size_mb}M" >&2
echo "$kver" >"$work/out/kernel-version"
printf '%s\n' "${PACKAGES[@]}" >"$work/out/packages"
echo "built in $(( $(date +%s) - start )) s on $(date -u +%FT%TZ)" >"$work/out/ready"
rm -rf "$out"
mv "$work/out" "$out"
# Older guests are no longer used by anything.
for old in "$VM_CACHE"/guest-*; do [ "$old" = "$out" ] || rm -rf "$old"; done
echo "build-guest: $(cat "$out/ready"), kernel $kver, root image ${size_mb} MiB" >&2
echo "$out"
