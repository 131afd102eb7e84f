#!/bin/bash
# equality.sh [-n GUESTS] [-m MIB]: host-side traces against the guest
# module's (make check-hostd). Boots GUESTS (default 2) QEMU TCG guests of
# MIB (default 256) MiB with memtrace.ko (algo=xxh64 hash_free=1; the guest
# half is validate/guest.sh, which writes a trace to a virtio-9p share when
# asked) and a QMP socket each; then, for every guest, mb-hostd takes a
# trace through the QMP socket just before and just after the guest's own.
# tests/hostd/compare.py compares them page by page over the guest's System
# RAM. Prints per guest what differs, then the one line scripts read:
#   host-side trace: NN.NN % of System RAM pages equal to the guest module's
# and fails below 99 %. Needs root (process_vm_readv of QEMU), qemu,
# busybox-static, `make kmod`, mb-hostd. Only the QEMUs it started are
# ended, through their timeout(1) wrappers.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
HOSTD=${HOSTD:-$BUILD/mb-hostd}
n=2 mem=256
while getopts "n:m:" opt; do
	case $opt in n) n=$OPTARG ;; m) mem=$OPTARG ;;
	*) echo "usage: equality.sh [-n GUESTS] [-m MIB]" >&2; exit 2 ;; esac
done
say() { echo "equality: $*"; }
die() { echo "equality: FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (mb-hostd reads the QEMU processes)"
for f in "$top/kmod/memtrace.ko" "$HOSTD"; do
	[ -e "$f" ] || die "$f is missing (make kmod; make $HOSTD)"
done
work=$(mktemp -d /tmp/mb-hostd-eq.XXXXXX)
bootpids=()
keep=${KEEP:-0}	# KEEP=1: keep the files (the traces, consoles)
cleanup() {
	local p
	touch "$work"/share-*/stop 2>/dev/null
	for p in "${bootpids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	[ "${keep:-0}" = 1 ] && { echo "equality: files kept in $work"; return; }
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kver=$(basename "$(ls /boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
mods=/lib/modules/$kver/kernel
extra=()
for m in fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
	extra+=("$mods/$m.ko:/9p-modules/$(basename $m).ko")
done
"$top/tests/guest/mkinitrd.sh" "$work/initrd.gz" "$top/kmod/memtrace.ko" \
	"$top/validate/guest.sh:/test.sh" "${extra[@]}" > "$work/mkinitrd.log" 2>&1 ||
	die "mkinitrd.sh failed: $(tail -3 "$work/mkinitrd.log")"
# One share per guest, so that each scans when told, alone.
for i in $(seq 1 "$n"); do
	uuid=$(printf '4057a1e5-0000-4000-8000-%012d' "$i")
	mkdir -p "$work/share-g$i"
	"$top/tests/guest/boot.sh" -m "$mem" -t 900 -u "$uuid" \
		-a "mbhost=g$i mbload=idle" "$work/initrd.gz" -- \
		-machine pc -vga none -name "g$i" \
		-qmp "unix:$work/g$i.qmp,server=on,wait=off" \
		-virtfs "local,path=$work/share-g$i,mount_tag=mbksm,security_model=none,id=mbksm" \
		> "$work/g$i.console" 2>&1 &
	bootpids+=($!)
done
t0=$(date +%s)
for i in $(seq 1 "$n"); do
	while [ ! -e "$work/share-g$i/g$i.ready" ]; do
		[ $(( $(date +%s) - t0 )) -lt 600 ] || { keep=1; die "guest g$i not ready after 600 s (console $work/g$i.console)"; }
		grep -q KSMV-FAIL "$work/g$i.console" && { keep=1; die "guest g$i: $(grep KSMV-FAIL "$work/g$i.console")"; }
		sleep 0.2
	done
done
say "$n guests of $mem MiB ready after $(( $(date +%s) - t0 )) s"

hostd() {	# hostd GUEST OUTDIR: one host-side trace of guest GUEST
	mkdir -p "$2"
	"$HOSTD" --qmp "$work/$1.qmp" --output-dir "$2" --once --algo xxh64 \
		--max-cpu 100 --nice 0 --ionice off 2>> "$work/hostd.log"
}
total=0 equal=0 failed=0
for i in $(seq 1 "$n"); do
	g=g$i uuid=$(printf '4057a1e5-0000-4000-8000-%012d' "$i")
	share=$work/share-$g
	hostd "$g" "$work/before" || { keep=1; die "mb-hostd failed on $g: $(tail -3 "$work/hostd.log")"; }
	t1=$(date +%s.%N)
	touch "$share/scan-1"
	for _ in $(seq 3000); do [ -e "$share/$g-1.done" ] && break; sleep 0.02; done
	hostd "$g" "$work/after" || { keep=1; die "mb-hostd failed on $g: $(tail -3 "$work/hostd.log")"; }
	say "$g: guest trace and the host traces around it in $(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	grep -q ok "$share/$g-1.done" 2>/dev/null || { keep=1; die "$g: the guest's scan failed"; }
	python3 "$here/compare.py" --name "$g" "$share/$g.iomem" "$share/$g-1.mbt" \
		"$work/before/$uuid.mbt" "$work/after/$uuid.mbt" || failed=1
	python3 "$here/compare.py" --json --name "$g" "$share/$g.iomem" "$share/$g-1.mbt" \
		"$work/before/$uuid.mbt" "$work/after/$uuid.mbt" > "$work/$g.json" || failed=1
	total=$((total + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["system_ram_pages"])' "$work/$g.json")))
	equal=$((equal + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["equal"])' "$work/$g.json")))
done
[ "$total" -gt 0 ] || die "no System RAM page compared"
pct=$(awk -v e="$equal" -v t="$total" 'BEGIN { printf "%.2f", 100 * e / t }')
echo "host-side trace: $pct % of System RAM pages equal to the guest module's"
if [ "$failed" = 0 ] && awk -v p="$pct" 'BEGIN { exit !(p >= 99) }'; then
	say "PASS ($equal of $total pages, $n guests)"
	exit 0
fi
keep=1
die "$equal of $total pages equal ($pct %), fewer than 99 %"
