#!/bin/bash
# bench-scan.sh: in-guest scan throughput of memtrace.ko (make bench-kmod).
#
# Boots a 512 MiB QEMU TCG guest with QEMU's "max" CPU (AVX2; TCG has no
# AVX-512), mtsuite=bench in guest-test.sh. mtguest first fills most of
# the free memory with random data, so most pages the module hashes belong
# to that buffer. For each algorithm, best of three (interleaved):
#   module    the pages the module hashed (the used pages; free ones are
#             only marked) over the wall time of reading the whole trace
#             from /dev/memtrace, as user space sees it, with simd=off
#             (scalar) and simd=auto (the guest CPU's widest variant):
#             seconds per GiB hashed, and SIMD's speedup (goal >= 3);
#   user      the same number of 4 KiB pages of the same buffer hashed in
#             user space with the same code (lib/), scalar and in batches;
#   ratio     module / user, SIMD against SIMD (goal >= 0.9: the walk, the
#             page references and the stream cost little beside the
#             hashing), and scalar against scalar;
#   all       hash_free=1 with SIMD: every page hashed, free ones through a
#             bounce copy (copy_from_kernel_nofault), against user SIMD.
# TCG emulates the CPU, so absolute numbers are far below real hardware;
# the ratios compare like with like in the same guest and the same run.
# The first line says which CPU features the guest saw.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${GUEST_BUILD:-$top/build/guest}
cd "$top"
mkdir -p "$build/bench"
"$here/mkinitrd.sh" "$build/bench/bench.gz" kmod/memtrace.ko "$build/mtguest" tests/guest/guest-test.sh:/test.sh
"$here/boot.sh" -m 512 -c max -t 900 -a "mtsuite=bench mbhost=mt-bench" "$build/bench/bench.gz" > "$build/bench/bench.log" 2>&1 || true
tr -d '\r' < "$build/bench/bench.log" > "$build/bench/bench.txt"
if ! grep -q '^MT-BENCH algo=' "$build/bench/bench.txt" || grep -q '^MT-FAIL' "$build/bench/bench.txt"; then
	echo "bench-kmod: the guest did not report results (see $build/bench/bench.log)"
	exit 1
fi
sed -n 's/^MT-BENCH-CPU /guest CPU flags: /p' "$build/bench/bench.txt"
awk '
/^MT-BENCH algo=/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	if (!hdr++) printf "%-10s %6s %8s | %10s %10s %7s | %9s %9s %7s | %6s %6s | %7s\n", "algorithm", "impl", "hashed", "scalar s/GiB", "SIMD s/GiB", "speedup", "user sc/s", "user SIMD", "speedup", "ratio", "sc.rat", "all rat"
	printf "%-10s %6s %8d | %10.2f %10.2f %6.2fx | %9.0f %9.0f %6.2fx | %6.3f %6.3f | %7.3f\n", v["algo"], v["impl"], v["used_pages"],
		v["module_scalar_s_per_gib"], v["module_simd_s_per_gib"], v["simd_speedup"],
		v["user_scalar_pages_per_s"], v["user_simd_pages_per_s"], v["user_simd_speedup"],
		v["ratio"], v["scalar_ratio"], v["all_ratio"]
}
END { print "(goals: module SIMD speedup >= 3; ratio, module against user space, >= 0.9)" }' "$build/bench/bench.txt"
