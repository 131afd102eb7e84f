#!/bin/bash
# bench-scan.sh: in-guest scan throughput of memtrace.ko (make bench-kmod).
#
# Boots a 512 MiB QEMU TCG guest (mtsuite=bench in guest-test.sh). mtguest
# first fills most of the free memory with random data, so most pages the
# module hashes belong to that buffer. For each algorithm, best of three (interleaved):
#   module    the pages the module hashed (the used pages; free ones are
#             only marked) over the wall time of reading the whole trace
#             from /dev/memtrace, as user space sees it;
#   user      the same number of 4 KiB pages of the same buffer hashed in
#             user space with the same code (lib/digest.c);
#   ratio     module / user (goal >= 0.9: the walk, the page references and
#             the stream cost little beside the hashing);
#   all       hash_free=1: every page hashed, free ones through a bounce
#             copy (copy_from_kernel_nofault), against the same user rate.
# TCG emulates the CPU, so absolute numbers are far below real hardware;
# the ratios compare like with like in the same guest and the same run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$top/build/guest
cd "$top"
mkdir -p "$build/bench"
"$here/mkinitrd.sh" "$build/bench/bench.gz" kmod/memtrace.ko "$build/mtguest" tests/guest/guest-test.sh:/test.sh
"$here/boot.sh" -m 512 -t 600 -a "mtsuite=bench mbhost=mt-bench" "$build/bench/bench.gz" > "$build/bench/bench.log" 2>&1 || true
tr -d '\r' < "$build/bench/bench.log" > "$build/bench/bench.txt"
if ! grep -q '^MT-BENCH algo=' "$build/bench/bench.txt" || grep -q '^MT-FAIL' "$build/bench/bench.txt"; then
	echo "bench-kmod: the guest did not report results (see $build/bench/bench.log)"
	exit 1
fi
awk '
/^MT-BENCH algo=/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	if (!hdr++) printf "%-10s %8s %12s %8s %12s %8s %7s | %12s %7s\n", "algorithm", "hashed", "module pg/s", "GB/s", "user pg/s", "GB/s", "ratio", "all pg/s", "ratio"
	printf "%-10s %8d %12.0f %8.3f %12.0f %8.3f %7.3f | %12.0f %7.3f%s\n", v["algo"], v["used_pages"],
		v["module_pages_per_s"], v["module_gb_per_s"], v["user_pages_per_s"],
		v["user_gb_per_s"], v["ratio"], v["all_pages_per_s"], v["all_ratio"],
		(v["ratio"] >= 0.9 ? "" : "  (below the 0.9 goal)")
}' "$build/bench/bench.txt"
