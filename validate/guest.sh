#!/bin/sh
# guest.sh: runs as /test.sh in each guest of the KSM validation experiment
# (validate/ksm-run.sh). Kernel parameters arrive as environment variables:
#   mbhost=NAME     the guest's name (files in the share are NAME-*)
#   mbload=LOAD     idle | shared | private (what validate/ksmload does)
#   mbmib=N         MiB of shared or private data
#
# The host talks to the guest through a virtio-9p share mounted on /mnt:
#   the guest writes NAME.iomem (its /proc/iomem) and then NAME.ready once
#   its workload is in place;
#   for each file scan-K the host creates, the guest writes one trace of
#   /dev/memtrace (hash_free=1) to NAME-K.mbt (through a temporary name) and
#   then NAME-K.done; on "stop" it powers off.
# The trace goes straight from the device to the host through 9p (no copy in
# the guest's page cache), so capturing it changes as little guest memory as
# possible. Lines starting with KSMV- on the console report progress.
PATH=/bin:/sbin
say() { echo "KSMV-$*"; }
for m in netfs fscache 9pnet 9pnet_virtio 9p; do
	grep -q "^$m " /proc/modules || insmod /9p-modules/$m.ko || say "FAIL insmod $m"
done
mkdir -p /mnt
i=0	# the virtio channel shows up asynchronously after 9pnet_virtio loads
until mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 mbksm /mnt 2>/tmp/mount.err; do
	i=$((i + 1))
	[ $i -lt 50 ] || { say "FAIL 9p mount: $(cat /tmp/mount.err) $(dmesg | grep -i 9p | tail -3)"; exit 1; }
	sleep 0.2
done
insmod /memtrace.ko algo=xxh64 hash_free=1 || { say "FAIL insmod memtrace.ko"; exit 1; }
me=${mbhost:-guest}
case ${mbload:-idle} in
idle) ;;
shared) /ksmload shared "${mbmib:-64}" /tmp/shared.bin || { say "FAIL ksmload"; exit 1; } ;;
private)
	/ksmload private "${mbmib:-64}" > /tmp/ksmload.out &
	i=0
	while ! grep -q KSMLOAD-READY /tmp/ksmload.out 2>/dev/null; do
		sleep 0.2; i=$((i + 1))
		[ $i -lt 1500 ] || { say "FAIL ksmload private never became ready"; exit 1; }
	done ;;
*) say "FAIL unknown mbload=$mbload"; exit 1 ;;
esac
cat /proc/iomem > /mnt/$me.iomem	# which PFNs are RAM (ksmpredict --iomem)
echo ready > /mnt/$me.ready
say "READY $me ${mbload:-idle}"
k=1
while [ ! -e /mnt/stop ]; do
	if [ -e /mnt/scan-$k ]; then
		if cat /dev/memtrace > /mnt/.$me-$k.tmp; then
			mv /mnt/.$me-$k.tmp /mnt/$me-$k.mbt
			echo ok > /mnt/$me-$k.done
			say "SCANNED $me $k"
		else
			echo failed > /mnt/$me-$k.done
			say "FAIL scan $k"
		fi
		k=$((k + 1))
		continue
	fi
	sleep 0.1
done
say "STOP $me"
