#!/bin/sh
# guest-test.sh: runs as /test.sh inside the guest (busybox sh). The kernel
# parameter mtsuite=NAME picks what it does; every check prints
# "MT-PASS <test>: ..." or "MT-FAIL <test>: expected ..., got ...", and bulk
# data (traces) goes base64-encoded to the second serial port between
# "MT-DATA-BEGIN <name>" and "MT-DATA-END <name>" lines.
#
#   main     tests 1 (known pages), 2 (whole memory), 4 (lifecycle), the
#            guest half of 5 (digest agreement), 6 (the module's SIMD
#            and scalar scans of the same memory) and 7 (keyed scans)
#   stress   memory blocks going offline and online between and during
#            scans; then test 3: 20 scans while two churn programs run
#   bench    module scan throughput against user-space hashing
#   capture  one trace for memtraces/, after the workload named by mtload=
#            (idle, fill, bigger-userland, drift); mtcount= traces mtevery=
#            seconds apart; mthashfree=1 hashes free pages too
PATH=/bin:/sbin
M=/sys/module/memtrace/parameters

pass() { echo "MT-PASS $*"; }
fail() { echo "MT-FAIL $*"; }
# field NAME LINE: the value of NAME=value in an MT-TRACE line
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
send() {
	{ echo "MT-DATA-BEGIN $1"; base64 "$2"; echo "MT-DATA-END $1"; } > /dev/ttyS1
}
load() {
	insmod /memtrace.ko "$@" || { fail "insmod: expected memtrace.ko to load, got an error"; exit 1; }
}
kernel_check() {
	bad=$(dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace')
	if [ -n "$bad" ]; then fail "kernel-log: expected no BUG/WARNING/Oops, got: $bad"
	else pass "kernel-log: no kernel error reports in dmesg"; fi
}

lifecycle() {
	/mtguest busy
	/mtguest shared
	/mtguest hold-open 60 > /tmp/hold.out &
	holder=$!
	i=0; while ! grep -q MT-HOLDING /tmp/hold.out && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	if rmmod memtrace 2>/dev/null; then
		fail "lifecycle-rmmod-busy: expected rmmod to be refused while /dev/memtrace is open, got success"
		load
	else
		pass "lifecycle-rmmod-busy: rmmod refused while the device is open"
	fi
	kill $holder; wait $holder 2>/dev/null
	if rmmod memtrace && [ ! -e /dev/memtrace ]; then
		pass "lifecycle-rmmod: rmmod after close removes /dev/memtrace"
	else
		fail "lifecycle-rmmod: expected rmmod to succeed after close, got failure"
	fi
	load algo=xxh32
	got=$(cat $M/algo)
	[ "$got" = xxh32 ] && pass "lifecycle-insmod-param: algo=xxh32 at insmod" \
		|| fail "lifecycle-insmod-param: expected algo xxh32, got $got"
	line=$(/mtguest parse)
	[ "$(field algo "$line")" = xxh32 ] && [ "$(field digest_size "$line")" = 4 ] \
		&& pass "lifecycle-rescan: scan after re-insmod is xxh32" \
		|| fail "lifecycle-rescan: expected an xxh32 trace, got: $line"
	echo xxh64 > $M/algo
	line=$(/mtguest parse)
	[ "$(field algo "$line")" = xxh64 ] && [ "$(field digest_size "$line")" = 8 ] \
		&& pass "lifecycle-param-change: algo=xxh64 via sysfs takes effect on the next scan" \
		|| fail "lifecycle-param-change: expected an xxh64 trace with 8-byte digests, got: $line"
	if echo md5 > $M/algo 2>/dev/null; then
		fail "lifecycle-bad-algo: expected writing 'md5' to be refused, got success"
	elif [ "$(cat $M/algo)" = xxh64 ]; then
		pass "lifecycle-bad-algo: 'md5' refused, algo stays xxh64"
	else
		fail "lifecycle-bad-algo: expected algo to stay xxh64, got $(cat $M/algo)"
	fi
	echo superfast > $M/algo
	echo 1 > $M/hash_free
	line=$(/mtguest parse)
	[ "$(field flags "$line")" = 0x1 ] && [ "$(field free_nonzero "$line")" -gt 0 ] \
		&& pass "lifecycle-hash-free: hash_free=1 sets FREE_HASHED and free pages carry digests ($(field free_nonzero "$line") non-zero)" \
		|| fail "lifecycle-hash-free: expected flags 0x1 and non-zero free digests, got: $line"
	echo 0 > $M/hash_free
	line=$(/mtguest parse)
	[ "$(field flags "$line")" = 0x0 ] && [ "$(field free_nonzero "$line")" = 0 ] \
		&& pass "lifecycle-hash-free-off: hash_free=0 gives flags 0 and zero free digests" \
		|| fail "lifecycle-hash-free-off: expected flags 0x0, got: $line"
	if echo sse > $M/simd 2>/dev/null; then
		fail "lifecycle-simd-param: expected writing 'sse' to simd to be refused, got success"
	elif [ "$(cat $M/simd)" != auto ]; then
		fail "lifecycle-simd-param: expected simd to stay auto, got $(cat $M/simd)"
	else
		echo off > $M/simd
		line=$(/mtguest parse)
		got=$(cat $M/simd) impl=$(cat /sys/class/misc/memtrace/last_impl)
		echo auto > $M/simd
		[ "$got" = off ] && [ "$impl" = scalar ] && [ "$(field algo "$line")" = superfast ] \
			&& pass "lifecycle-simd-param: 'sse' refused; simd=off via sysfs gives a scalar scan" \
			|| fail "lifecycle-simd-param: expected simd off and a scalar scan, got simd $got, last_impl $impl, $line"
	fi
	[ "$(cat /sys/class/misc/memtrace/last_algo)" = superfast ] && [ "$(cat /sys/class/misc/memtrace/last_error)" = 0 ] \
		&& pass "lifecycle-stats: last_algo and last_error in sysfs" \
		|| fail "lifecycle-stats: expected last_algo superfast and last_error 0, got $(cat /sys/class/misc/memtrace/last_algo) $(cat /sys/class/misc/memtrace/last_error)"
}

# hotplug: a memory block of ZONE_MOVABLE (the boot uses movablecore= and
# nokaslr: a block holding reserved pages, such as the kernel image KASLR
# may put anywhere or early boot allocations at the top, cannot go offline) is
# taken offline and back online: its pages leave and return to the trace,
# and scans racing with offline/online cycles give valid traces or EAGAIN.
hotplug() {
	mem=/sys/devices/system/memory
	pages() { /mtguest parse | tr ' ' '\n' | sed -n 's/^pages=//p'; }
	bs=$(( $(printf %d 0x$(cat $mem/block_size_bytes)) / 4096 ))
	before=$(pages)
	blk=""
	# Offlining can fail while pages are in transit (being freed, on
	# per-cpu lists); a few attempts with a pause make it dependable.
	for try in 1 2 3 4 5; do
		for b in $mem/memory*; do
			grep -q Movable $b/valid_zones 2>/dev/null || continue
			if echo offline > $b/state 2>/dev/null; then blk=$b; break; fi
		done
		[ -n "$blk" ] && break
		sleep 1
	done
	if [ -z "$blk" ]; then
		fail "hotplug-offline: expected to offline a ZONE_MOVABLE memory block, got none offlineable: $(dmesg | grep -i offlin | tail -2 | tr '\n' ' ') zones: $(cat $mem/memory*/valid_zones | tr '\n' ' ')"
		return
	fi
	after=$(pages)
	[ "$after" -eq $((before - bs)) ] \
		&& pass "hotplug-offline: $(basename $blk) offline: $before - $bs = $after records" \
		|| fail "hotplug-offline: expected $((before - bs)) records with $(basename $blk) offline, got $after"
	echo online_movable > $blk/state
	again=$(pages)
	[ "$again" -eq "$before" ] \
		&& pass "hotplug-online: $(basename $blk) back online: $again records" \
		|| fail "hotplug-online: expected $before records after onlining, got $again"
	( while :; do echo offline > $blk/state; echo online_movable > $blk/state; done ) 2>/dev/null &
	cycler=$!
	/mtguest stress 20 eagain
	kill $cycler; wait $cycler 2>/dev/null
	echo online_movable > $blk/state 2>/dev/null
}

workload() {
	case "${mtload:-idle}" in
	idle) ;;
	fill)
		# Random data over most of the free memory (MemAvailable - 64 MiB).
		avail=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
		/mtguest fill $((avail - 64)) > /tmp/fill.out &
		i=0; while ! grep -q MT-FILLED /tmp/fill.out && [ $i -lt 600 ]; do sleep 0.5; i=$((i + 1)); done
		cat /tmp/fill.out ;;
	bigger-userland)
		# glibc programs (bash, perl, coreutils) instead of busybox alone.
		/usr/bin/perl -e 'my %h; $h{"key$_"} = "value" x 8 for 1 .. 200000; print "MT-PERL ", scalar(keys %h), "\n"; sleep 100000' &
		/bin/bash -c 'for i in $(seq 1 2000); do echo "line $i $RANDOM"; done | /usr/bin/sort -n > /tmp/sorted; /usr/bin/sha256sum /tmp/sorted' 
		sleep 5 ;;
	drift)
		# 48 MiB of data, 5% of it rewritten every 10 s, and 256 KiB of
		# new random data in tmpfs every 10 s.
		/mtguest drift 48 5 10 &
		( while :; do dd if=/dev/urandom bs=4096 count=64 2>/dev/null >> /tmp/log; sleep 10; done ) & ;;
	esac
}

case "${mtsuite:-main}" in
main)
	load
	/mtguest known 1024 256
	/mtguest simd 4096
	/mtguest keyed 1024
	/mtguest whole
	line=$(/mtguest parse -o /tmp/agree.mbt)
	echo "$line" | sed 's/^MT-TRACE/MT-AGREE/'
	send agree /tmp/agree.mbt
	lifecycle
	;;
stress)
	load
	# Hotplug first, on a quiet guest.
	hotplug
	/mtguest churn 600 > /tmp/churn1.out &
	c1=$!
	/mtguest churn 600 > /tmp/churn2.out &
	c2=$!
	sleep 1
	/mtguest stress ${mtscans:-20}
	kill $c1 $c2; wait
	;;
bench)
	load
	/mtguest bench 64
	;;
capture)
	# mthashfree=1: free pages are hashed too (memtrace hash_free=1).
	if [ "${mthashfree:-0}" = 1 ]; then load hash_free=1; else load; fi
	workload
	sleep ${mtsettle:-20}
	n=0
	while [ $n -lt ${mtcount:-1} ]; do
		[ $n -gt 0 ] && sleep ${mtevery:-120}
		line=$(/mtguest parse -o /tmp/capture.mbt)
		echo "$line" | sed "s/^MT-TRACE/MT-CAPTURED $n/"
		send "capture-$n" /tmp/capture.mbt
		n=$((n + 1))
	done
	;;
esac
kernel_check
exit 0
