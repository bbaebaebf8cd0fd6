#!/bin/bash
# PID 1 of the test guest (installed as /sbin/invar-vm-init by build-guest.sh; the initramfs
# mounted the root image and switched to it). No systemd, no udev: mounts the API file systems,
# loads the modules the tests rely on (nothing loads by itself without udev), configures QEMU's
# user network by hand (10.0.2.15, the host's loopback is 10.0.2.2), mounts the host's 9p share
# "host" on /host and runs /host/run.sh with bash. Its exit status is printed on the console as
# "INVAR-VM-EXIT <status>", then the guest powers off (QEMU exits).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
[ -e /dev/null ] || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
mkdir -p /run/lock
echo "invar-vm-init: kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s"

for m in virtio_net virtio_rng virtio_scsi 9p 9pnet_virtio sd_mod sg iscsi_tcp; do
	modprobe "$m" || echo "invar-vm-init: modprobe $m failed"
done
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
	ip addr add 10.0.2.15/24 dev eth0
	ip link set eth0 up
	ip route add default via 10.0.2.2
fi

rc=1
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /host 2>/dev/null; then
	if [ -f /host/run.sh ]; then
		echo "invar-vm-init: running /host/run.sh at $(cut -d' ' -f1 /proc/uptime) s"
		(cd /host && exec bash /host/run.sh) </dev/null
		rc=$?
	else
		echo "invar-vm-init: /host/run.sh is missing"
	fi
else
	echo "invar-vm-init: no 9p share named host"
fi
echo "INVAR-VM-EXIT $rc"
sync
umount /host 2>/dev/null
echo o >/proc/sysrq-trigger
sleep 10
