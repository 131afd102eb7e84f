#!/bin/bash
# boot.sh [options] INITRD.gz [-- QEMU-ARGS...]: boot Debian's kernel under
# QEMU TCG (KVM hangs on these machines) with INITRD; the serial console
# (ttyS0) goes to stdout.
#
#   -m MIB      guest memory (default 512)
#   -s N        virtual CPUs (default 1)
#   -n N        split memory into N NUMA nodes of equal size (default: no NUMA)
#   -a TEXT     more kernel parameters (e.g. "mtsuite=stress mbhost=vm1")
#   -d FILE     second serial port (ttyS1) written to FILE, for bulk data
#   -u UUID     SMBIOS system UUID (what /sys/class/dmi/id/product_uuid shows)
#   -t SECONDS  kill QEMU after this long (default 300)
#   -c CPU      QEMU CPU model (default: QEMU's own, qemu64); "max" gives
#               the guest every feature TCG emulates (AVX2, not AVX-512)
#
# The kernel is the newest /boot/vmlinuz-* (Debian's linux-image-amd64).
# Kernel messages of level warning and above reach the console (loglevel=5),
# so a test can see BUG/WARNING/Oops lines. User networking: the host's
# loopback is 10.0.2.2 inside the guest.
set -euo pipefail
mem=512 smp=1 numa=0 append="" data="" uuid="" tmo=300 cpu=""
while getopts "m:s:n:a:d:u:t:c:" opt; do
	case $opt in
	m) mem=$OPTARG ;; s) smp=$OPTARG ;; n) numa=$OPTARG ;;
	a) append=$OPTARG ;; d) data=$OPTARG ;; u) uuid=$OPTARG ;;
	t) tmo=$OPTARG ;; c) cpu=$OPTARG ;;
	*) echo "usage: boot.sh [-m MIB] [-s N] [-n N] [-a TEXT] [-d FILE] [-u UUID] [-t S] [-c CPU] INITRD.gz [-- QEMU-ARGS]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "boot.sh: no initrd given" >&2; exit 2; }
initrd=$1; shift
[ "${1:-}" = "--" ] && shift
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -1)
args=(-accel tcg -m "$mem" -smp "$smp" -display none -no-reboot
      -kernel "$kernel" -initrd "$initrd"
      -append "console=ttyS0 loglevel=5 panic=-1 $append"
      -nic user,model=virtio-net-pci -serial mon:stdio)
if [ "$numa" -gt 1 ]; then
	per=$((mem / numa))
	for i in $(seq 0 $((numa - 1))); do
		args+=(-object "memory-backend-ram,id=ram$i,size=${per}M"
		       -numa "node,nodeid=$i,memdev=ram$i")
	done
fi
[ -n "$data" ] && args+=(-chardev "file,id=mbdata,path=$data" -serial chardev:mbdata)
[ -n "$uuid" ] && args+=(-uuid "$uuid")
[ -n "$cpu" ] && args+=(-cpu "$cpu")
exec timeout "$tmo" qemu-system-x86_64 "${args[@]}" "$@" </dev/null
