#!/bin/bash
# capture-memtraces.sh [OUTDIR]: boot real guests under QEMU TCG with
# memtrace.ko and capture the traces kept in memtraces/ (default OUTDIR).
# Every guest has 512 MiB, one vCPU, Debian's linux-image-amd64 kernel and a
# busybox initramfs; memtraces/README.md describes each trace. Needs
# `make kmod` and build/guest/mtguest (run it as `make memtraces`).
#
#   idle-1.mbt, idle-2.mbt   two idle guests, same kernel and initramfs
#   idle-nokaslr-1.mbt, idle-nokaslr-2.mbt
#                            the same with kernel address randomization off
#   loaded.mbt               random data written over most free memory
#   userland.mbt             glibc userland (bash, perl, coreutils) and the
#                            kernel parameters init_on_free=1 init_on_alloc=0
#   series-0..2.mbt          one guest with a slowly changing workload,
#                            scanned three times 120 s apart
#
# CAPTURES="idle-1 loaded ..." limits the run to the named guests.
#
# CAPTURE_SET=large captures instead the six traces of the best-match
# benchmark (bench/bench_best_match.sh): 960 MiB guests, about 240,000
# pages each, every page hashed (hash_free=1) so free pages carry their
# real contents' digests too:
#   large-idle-1, large-idle-2, large-userland, large-loaded-1,
#   large-loaded-2, large-drift
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/memtraces}
build=${GUEST_BUILD:-$top/build/guest}
mkdir -p "$out" "$build/capture"
cd "$top"
mbuddy=${MBUDDY:-$top/build/mbuddy}

base=(kmod/memtrace.ko "$build/mtguest" tests/guest/guest-test.sh:/test.sh)
"$here/mkinitrd.sh" "$build/capture/busybox.gz" "${base[@]}"
"$here/mkinitrd.sh" "$build/capture/userland.gz" "${base[@]}" \
	/bin/bash:/bin/bash /usr/bin/perl:/usr/bin/perl \
	/usr/bin/sort:/usr/bin/sort /usr/bin/sha256sum:/usr/bin/sha256sum

mem=512 default_set="series idle-1 idle-2 idle-nokaslr-1 idle-nokaslr-2 loaded userland"
if [ "${CAPTURE_SET:-}" = large ]; then
	mem=960 default_set="large-idle-1 large-idle-2 large-userland large-loaded-1 large-loaded-2 large-drift"
fi

# capture NAME UUID INITRD COUNT APPEND: boot one guest, save NAME[-i].mbt
capture() {
	case " ${CAPTURES:-$default_set} " in
	*" $1 "*) ;;
	*) return 0 ;;
	esac
	local name=$1 uuid=$2 initrd=$3 count=$4 append=$5 i file
	local log=$build/capture/$name.log data=$build/capture/$name.data
	rm -f "$data"
	echo "capture: $name (kernel parameters: mbhost=$name mtsuite=capture mtcount=$count $append)"
	"$here/boot.sh" -m "$mem" -u "$uuid" -d "$data" -t 1800 \
		-a "mbhost=$name mtsuite=capture mtcount=$count $append" "$initrd" > "$log" 2>&1 || true
	if grep -E 'MT-FAIL|BUG:|WARNING:|Oops|Call Trace' "$log"; then
		echo "capture: $name: the guest reported a failure (see $log)" >&2
		return 1
	fi
	for ((i = 0; i < count; i++)); do
		file=$out/$name.mbt
		[ "$count" -gt 1 ] && file=$out/$name-$i.mbt
		"$here/extract-data.sh" "$data" "capture-$i" "$file"
		"$mbuddy" trace info "$file" > /dev/null || { echo "capture: $file does not parse" >&2; return 1; }
		echo "capture: $file: $(grep "MT-CAPTURED $i " "$log" | tr -d '\r')"
	done
}

if [ "${CAPTURE_SET:-}" = large ]; then
	capture large-idle-1 6d62756c-0000-4000-8000-000000000011 "$build/capture/busybox.gz" 1 "mtload=idle mthashfree=1"
	capture large-idle-2 6d62756c-0000-4000-8000-000000000012 "$build/capture/busybox.gz" 1 "mtload=idle mthashfree=1 nokaslr"
	capture large-userland 6d62756c-0000-4000-8000-000000000013 "$build/capture/userland.gz" 1 \
		"mtload=bigger-userland mthashfree=1 init_on_free=1 init_on_alloc=0"
	capture large-loaded-1 6d62756c-0000-4000-8000-000000000014 "$build/capture/busybox.gz" 1 "mtload=fill mthashfree=1"
	capture large-loaded-2 6d62756c-0000-4000-8000-000000000015 "$build/capture/busybox.gz" 1 "mtload=fill mthashfree=1"
	capture large-drift 6d62756c-0000-4000-8000-000000000016 "$build/capture/busybox.gz" 1 "mtload=drift mthashfree=1"
	ls -l "$out"/large-*.mbt
	exit 0
fi

# The series spends most of its 4+ minutes asleep: run it alongside the rest.
capture series 6d62756c-0000-4000-8000-000000000004 "$build/capture/busybox.gz" 3 \
	"mtload=drift mtevery=120" &
series=$!
capture idle-1 6d62756c-0000-4000-8000-000000000001 "$build/capture/busybox.gz" 1 "mtload=idle"
capture idle-2 6d62756c-0000-4000-8000-000000000002 "$build/capture/busybox.gz" 1 "mtload=idle"
capture idle-nokaslr-1 6d62756c-0000-4000-8000-000000000006 "$build/capture/busybox.gz" 1 "mtload=idle nokaslr"
capture idle-nokaslr-2 6d62756c-0000-4000-8000-000000000007 "$build/capture/busybox.gz" 1 "mtload=idle nokaslr"
capture loaded 6d62756c-0000-4000-8000-000000000003 "$build/capture/busybox.gz" 1 "mtload=fill"
capture userland 6d62756c-0000-4000-8000-000000000005 "$build/capture/userland.gz" 1 \
	"mtload=bigger-userland init_on_free=1 init_on_alloc=0"
wait $series
ls -l "$out"/*.mbt
