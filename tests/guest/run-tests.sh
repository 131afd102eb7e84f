#!/bin/bash
# run-tests.sh: the guest test suite (make check-guest). Boots Debian's
# kernel under QEMU TCG twice with memtrace.ko and mtguest in a busybox
# initramfs, and judges what the guests print:
#
#   boot "main"   (640 MiB, two NUMA nodes of 320 MiB; more than 512 MiB so
#                 the kernel enables transparent huge pages): test 1 known
#                 pages (most of them THP tail pages) for each algorithm,
#                 test 6 the module's SIMD against its scalar digests (four
#                 scans of the same memory per algorithm, simd=auto and
#                 simd=off in turn: known pages, and every page that stayed
#                 unchanged; and a scan in which the module digests every
#                 batch both ways), test 7 keyed scans (a tenant key set
#                 with MEMTRACE_IOC_SET_KEY: 1024 known pages' digests
#                 under it, SIMD and scalar alike, no plain digest of them
#                 in the trace, the seed in no sysfs file, bad keys
#                 refused, CLEAR_KEY and closing the file end it), test 2
#                 whole memory on both nodes, test 4 lifecycle (EBUSY, CAP_SYS_ADMIN, rmmod refused while
#                 open, insmod again, parameter changes), and the guest half
#                 of test 5, whose trace comes out over the second serial port
#   boot "stress" (640 MiB, 2 vCPUs): test 3, 20 scans while two churn
#                 programs allocate (half of it as THPs), write, partly
#                 discard (splitting THPs) and free memory; then a memory
#                 block of ZONE_MOVABLE (movablecore=384M; nokaslr keeps the
#                 kernel image, which KASLR may place in any block, out of
#                 it, as reserved pages make a block impossible to offline)
#                 goes offline and
#                 online between scans (its pages leave and return) and
#                 during 20 more (each gives a valid trace or EAGAIN)
#
# Both boot QEMU's "max" CPU, so the guest has AVX2 (TCG emulates no
# AVX-512) and the module's SIMD path runs in every test; test 6 prints the
# CPU flags the guest saw.
#
# On the host, test 5 runs `mbuddy trace info --json` on the copied trace and
# compares it with the counts the guest printed. Every boot must reach
# GUEST-EXIT, print every expected MT-PASS line and no MT-FAIL, and its
# console must hold no kernel "BUG:", "WARNING:", "Oops" or "Call Trace".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${GUEST_BUILD:-$top/build/guest}
mbuddy=${MBUDDY:-$top/build/mbuddy}
cd "$top"
mkdir -p "$build/check"
passed=0 failed=0

ok() { echo "PASS $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

# test 1 runs once per algorithm, by the names of lib/mbt_algorithms.h
known_tests=$(sed -n 's/^MBT_ALGORITHM([A-Z0-9_]*, *\([a-z0-9_]*\),.*/known-\1/p' lib/mbt_algorithms.h)
[ -n "$known_tests" ] || { echo "run-tests: no algorithms in lib/mbt_algorithms.h" >&2; exit 1; }
simd_tests=$(for t in $known_tests; do a=${t#known-}; echo simd-impl-$a simd-known-$a simd-check-$a simd-whole-$a; done)
keyed_tests="keyed-algo keyed-known keyed-plain keyed-simd keyed-check keyed-sysfs
	keyed-errors keyed-clear keyed-close"
main_tests="known-thp $(echo $known_tests) simd-cpu $(echo $simd_tests) $(echo $keyed_tests) whole-count whole-bounds
	whole-used-free whole-sysfs whole-nodes busy-second-open busy-read
	busy-seek busy-write-open busy-cap busy-shared-fd lifecycle-rmmod-busy lifecycle-rmmod
	lifecycle-insmod-param lifecycle-rescan lifecycle-param-change
	lifecycle-bad-algo lifecycle-hash-free lifecycle-hash-free-off
	lifecycle-simd-param
	lifecycle-stats kernel-log"
stress_tests="stress hotplug-offline hotplug-online stress-hotplug kernel-log"

# judge NAME LOG TESTS: the console protocol of one boot
judge() {
	local name=$1 log=$2 tests=$3 t line
	tr -d '\r' < "$log" > "$log.txt"
	if grep -q '^GUEST-EXIT' "$log.txt"; then
		ok "$name-boot: the guest ran its tests to the end"
	else
		bad "$name-boot: expected a GUEST-EXIT line, got none (guest hung or crashed; see $log)"
	fi
	line=$(grep -v '^MT-' "$log.txt" | grep -E 'BUG:|WARNING:|Oops|Call Trace' | head -5)
	if [ -z "$line" ]; then
		ok "$name-kernel-console: no BUG/WARNING/Oops/call trace on the console"
	else
		bad "$name-kernel-console: expected no kernel error report, got: $line"
	fi
	for t in $tests; do
		if grep -q "^MT-PASS $t:" "$log.txt"; then
			ok "$name/$(grep "^MT-PASS $t:" "$log.txt" | head -1 | sed 's/^MT-PASS //')"
		elif grep -q "^MT-FAIL $t:" "$log.txt"; then
			while read -r line; do bad "$name/${line#MT-FAIL }"; done < <(grep "^MT-FAIL $t:" "$log.txt")
		else
			bad "$name/$t: expected an MT-PASS line, got none"
		fi
	done
	while read -r line; do
		t=${line#MT-FAIL }; t=${t%%:*}
		case " $(echo $tests) " in *" $t "*) ;; *) bad "$name/${line#MT-FAIL }" ;; esac
	done < <(grep '^MT-FAIL' "$log.txt")
}

# agreement LOG DATA: test 5, the host's reader against the guest's counts
agreement() {
	local log=$1 data=$2 trace=$build/check/agree.mbt guest json
	guest=$(grep '^MT-AGREE' "$log.txt" | head -1)
	if [ -z "$guest" ]; then
		bad "agree: expected the guest's MT-AGREE counts, got none"; return
	fi
	if ! "$here/extract-data.sh" "$data" agree "$trace"; then
		bad "agree: expected the trace on the second serial port, got none"; return
	fi
	if ! json=$("$mbuddy" trace info --json "$trace" 2>&1); then
		bad "agree: expected mbuddy trace info to accept the guest's trace, got: $json"; return
	fi
	python3 - "$guest" "$json" "$main_uuid" <<'PY' && ok "agree: mbuddy trace info agrees with the guest (and the SMBIOS UUID given to QEMU): $guest" || bad "agree: mbuddy trace info disagrees with the guest (above)"
import json, sys
guest = dict(kv.split("=", 1) for kv in sys.argv[1].split()[1:] if "=" in kv)
info = json.loads(sys.argv[2])
guest["uuid"] = sys.argv[3]
pairs = [("pages", "pages"), ("used", "used_pages"), ("free", "free_pages"),
         ("algo", "algorithm"), ("name", "vm_name"), ("first_pfn", "first_pfn"),
         ("last_pfn", "last_pfn"), ("uuid", "vm_uuid")]
bad = 0
for g, h in pairs:
    if str(info.get(h)) != guest.get(g):
        print(f"agree: {h}: guest says {guest.get(g)}, mbuddy says {info.get(h)}")
        bad = 1
sys.exit(bad)
PY
}

initrd=$build/check/test.gz
main_uuid=6d62756c-7465-4000-8000-0000000000aa
"$here/mkinitrd.sh" "$initrd" kmod/memtrace.ko "$build/mtguest" tests/guest/guest-test.sh:/test.sh || {
	echo "guest tests: cannot build the initramfs"; exit 1; }

start=$(date +%s)
rm -f "$build/check/main.data"
"$here/boot.sh" -m 640 -n 2 -c max -d "$build/check/main.data" -t 300 -u "$main_uuid" \
	-a "mtsuite=main mbhost=mt-main" "$initrd" > "$build/check/main.log" 2>&1
judge main "$build/check/main.log" "$main_tests"
agreement "$build/check/main.log" "$build/check/main.data"
echo "guest tests: main boot took $(( $(date +%s) - start )) s"

start=$(date +%s)
"$here/boot.sh" -m 640 -s 2 -c max -t 400 -a "mtsuite=stress mbhost=mt-stress movablecore=384M nokaslr" \
	"$initrd" > "$build/check/stress.log" 2>&1
judge stress "$build/check/stress.log" "$stress_tests"
echo "guest tests: stress boot took $(( $(date +%s) - start )) s"

echo "guest tests: $passed passed, $failed failed (consoles in $build/check/)"
[ "$failed" -eq 0 ]
