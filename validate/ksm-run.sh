#!/bin/bash
# ksm-run.sh [options] OUTDIR: one configuration of the KSM validation
# experiment. Boots N QEMU TCG guests (Debian's kernel, busybox initramfs,
# memtrace.ko with hash_free=1 and algo=xxh64, the workload of
# validate/ksmload), turns KSM on aggressively with use_zero_pages=1, waits
# until pages_sharing is stable over two full scans, snapshots KSM's
# counters and every QEMU's /proc/PID/ksm_stat and smaps, has every guest
# write a trace at the same moment (scan 1), waits one more full KSM scan
# and takes a second trace (scan 2, which tells volatile pages apart), then
# compares validate/ksmpredict's prediction with what KSM did. The
# snapshots include KSM's saving computed from our QEMUs' own page tables
# (validate/ksm-pagemap.py), which stays right when other guests share the
# host. Writes into OUTDIR: the traces, the consoles, ksm-*.txt snapshots,
# pages-*/ page-table dumps, predict*.json, diff.json and result.json.
#
#   -n N        guests (default 2)
#   -l LOAD     idle | shared | private (default idle)
#   -m MIB      guest memory (default 256)
#   -M MIB      MiB of shared/private data per guest (default 64)
#   -w SECONDS  wait at most this long for other mergeable processes (other
#               engineers' QEMU guests) to go away first (default 600); the
#               result is marked contaminated if some are still there
#
# REPORT_ONLY=1 recomputes predict.json and result.json of a finished run
# from its traces and snapshots, without booting anything.
#
# With HOSTD=PATH (mb-hostd), each guest also gets a QMP socket and a
# uuid, and right after the guests' traces mb-hostd takes a host-side
# trace of each (host-K/UUID.mbt); predict-host.json is then ksmpredict's
# prediction from those (docs/hostd.md).
#
# KSM is host-wide: every setting this script changes (run, pages_to_scan,
# sleep_millisecs, use_zero_pages, smart_scan) is restored on exit, whatever
# happens, after `echo 2 > run` has unmerged everything. Only the QEMU
# processes this script started are killed, by PID. Needs root, qemu,
# busybox-static, `make kmod`, build/validate/{ksmload,ksmpredict}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
n=2 load=idle mem=256 mib=64 wait_others=600
while getopts "n:l:m:M:w:" opt; do
	case $opt in
	n) n=$OPTARG ;; l) load=$OPTARG ;; m) mem=$OPTARG ;; M) mib=$OPTARG ;;
	w) wait_others=$OPTARG ;;
	*) echo "usage: ksm-run.sh [-n N] [-l LOAD] [-m MIB] [-M MIB] [-w S] OUTDIR" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "ksm-run.sh: no OUTDIR given" >&2; exit 2; }
out=$1
K=/sys/kernel/mm/ksm
BUILD=${BUILD:-$top/build}
predict=${KSMPREDICT:-$BUILD/validate/ksmpredict}
mbuddy=${MBUDDY:-$BUILD/mbuddy}
ksmload=$top/build/validate/ksmload
kver=$(basename "$(ls /boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
say() { echo "ksm-run: $*"; }
die() { echo "ksm-run: $*" >&2; exit 1; }

# report OUTDIR: prediction and result.json from a finished run's files.
report() {
	local i args=() iomem
	# shellcheck disable=SC1091
	. "$1/run.env"
	for i in $(seq 1 "$n"); do args+=("$1/g$i-1.mbt,$1/g$i-2.mbt"); done
	mkdir -p "$1/predicted"
	iomem=()
	[ -s "$1/g1.iomem" ] && iomem=(--iomem "$1/g1.iomem")
	"$predict" --json --max-page-sharing "$mps" --pages "$1/predicted" \
		"${iomem[@]}" "${args[@]}" > "$1/predict.json" || return 1
	# The plain definition, every PFN of the traces.
	"$predict" --json --max-page-sharing "$mps" "${args[@]}" > "$1/predict-all-pfns.json" || return 1
	# The heuristics library's own group figure, for the cross-check.
	"$mbuddy" sharing --json --include-free "${args[@]%%,*}" > "$1/mbuddy-sharing.json" || return 1
	# Page by page: where the prediction and KSM differ, and why.
	if [ -d "$1/pages-before-1" ]; then
		python3 "$here/ksm-diff.py" --json "$1" > "$1/diff.json" || return 1
	fi
	# From the host-side traces too (mb-hostd), when there are some.
	if [ -d "$1/host-2" ]; then
		args=()
		for i in $(seq 1 "$n"); do
			u=$(printf '6b736d00-0000-4000-8000-%012d' "$i")
			args+=("$1/host-1/$u.mbt,$1/host-2/$u.mbt")
		done
		"$predict" --json --max-page-sharing "$mps" "${args[@]}" > "$1/predict-host.json" || return 1
	fi
	python3 "$here/ksm-report.py" result --load "$load" --guests "$n" --mem "$mem" \
		--mib "$mib" --settle "$settle" --stable "$stable" --scans "$samples" \
		"$1" > "$1/result.json" || return 1
	say "result in $1/result.json"
}
if [ "${REPORT_ONLY:-0}" = 1 ]; then	# recompute from the traces kept in OUTDIR
	report "$out"
	exit
fi

[ "$(id -u)" = 0 ] || die "needs root (KSM's settings in $K)"
[ -w $K/run ] || die "$K/run is not writable: this host has no KSM"
for f in "$top/kmod/memtrace.ko" "$ksmload" "$predict" "$mbuddy"; do
	[ -e "$f" ] || die "$f is missing (make kmod; make $BUILD/validate/ksmpredict build/validate/ksmload)"
done
case $load in idle|shared|private) ;; *) die "unknown load '$load'" ;; esac
mkdir -p "$out"
rm -rf "${out:?}"/*
[ -z "${HOSTD:-}" ] || mkdir -p "$out/host-1" "$out/host-2"

# One experiment at a time on this host.
exec 9> /tmp/mb-validate-ksm.lock
flock -w 3600 9 || die "another KSM experiment holds /tmp/mb-validate-ksm.lock"

pids=()		# our QEMU processes
bootpids=()	# the timeout(1) wrappers boot.sh execs into
share=$(mktemp -d /tmp/mbksm.XXXXXX)
saved=()
for f in run pages_to_scan sleep_millisecs use_zero_pages smart_scan; do
	[ -e $K/$f ] && saved+=("$f=$(cat $K/$f)")
done
restore() {
	local kv p
	# timeout(1) passes the signal on to its QEMU and waits for it, so the
	# QEMU PIDs themselves are never signalled (they could have been reused).
	for p in "${bootpids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${bootpids[@]}"; do wait "$p" 2>/dev/null || true; done
	echo 2 > $K/run 2>/dev/null || true	# unmerge everything first
	for kv in "${saved[@]}"; do
		[ "${kv%%=*}" = run ] && continue
		echo "${kv#*=}" > "$K/${kv%%=*}" 2>/dev/null || echo "ksm-run: could not restore ${kv%%=*}" >&2
	done
	for kv in "${saved[@]}"; do
		[ "${kv%%=*}" = run ] && echo "${kv#*=}" > $K/run
	done
	rm -rf "$share"
}
trap restore EXIT
trap 'exit 130' INT TERM

# Processes that are not ours but have mergeable memory or are QEMU guests.
others() {
	local d p q st mine
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		mine=0
		for q in "${pids[@]}" "${bootpids[@]}"; do [ "$p" = "$q" ] && mine=1; done
		[ $mine = 1 ] && continue
		st=$(cat "$d/ksm_stat" 2>/dev/null || true)
		if [[ $st == *"ksm_mergeable: yes"* ]] ||
		   [[ $st == *ksm_merging_pages* && $st != *"ksm_merging_pages 0"* ]] ||
		   [[ "$(cat "$d/comm" 2>/dev/null)" == qemu-system* ]]; then
			echo "$p($(cat "$d/comm" 2>/dev/null))"
		fi
	done | tr '\n' ' '
}
t0=$(date +%s)
while o=$(others); [ -n "$o" ] && [ $(( $(date +%s) - t0 )) -lt "$wait_others" ]; do
	say "waiting for other mergeable processes to end: $o"
	sleep 10
done
[ -n "$o" ] && say "other mergeable processes still running: $o (the result will be marked contaminated)"

# The initramfs: module, workload helper, this script's guest half, 9p.
mods=/lib/modules/$kver/kernel
extra=()
for m in fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
	extra+=("$mods/$m.ko:/9p-modules/$(basename $m).ko")
done
"$top/tests/guest/mkinitrd.sh" "$out/initrd.gz" "$top/kmod/memtrace.ko" "$ksmload" \
	"$here/guest.sh:/test.sh" "${extra[@]}"

# KSM: clean slate, off until the guests are ready.
echo 2 > $K/run
echo "${KSM_PAGES_TO_SCAN:-20000}" > $K/pages_to_scan
echo "${KSM_SLEEP_MS:-20}" > $K/sleep_millisecs
echo 1 > $K/use_zero_pages
[ -e $K/smart_scan ] && echo 0 > $K/smart_scan

hostd_args=()	# mb-hostd's QMP sockets, one per guest
for i in $(seq 1 "$n"); do
	uuid=() qmp=()
	if [ -n "${HOSTD:-}" ]; then
		uuid=(-u "$(printf '6b736d00-0000-4000-8000-%012d' "$i")")
		qmp=(-qmp "unix:$out/g$i.qmp,server=on,wait=off")
		hostd_args+=(--qmp "$out/g$i.qmp")
	fi
	"$top/tests/guest/boot.sh" -m "$mem" -t 1800 "${uuid[@]}" \
		-a "mbhost=g$i mbload=$load mbmib=$mib" "$out/initrd.gz" -- \
		-machine pc,mem-merge=on -vga none "${qmp[@]}" \
		-virtfs "local,path=$share,mount_tag=mbksm,security_model=none,id=mbksm" \
		> "$out/g$i.console" 2>&1 &
	bootpids+=($!)
done
for i in $(seq 1 "$n"); do
	for _ in $(seq 50); do
		p=$(pgrep -P "${bootpids[$((i - 1))]}" qemu-system || true)
		[ -n "$p" ] && break
		sleep 0.1
	done
	[ -n "$p" ] || die "guest g$i: no QEMU process under PID ${bootpids[$((i - 1))]}"
	pids+=("$p")
done
say "$n guests ($load, $mem MiB, load $mib MiB): QEMU PIDs ${pids[*]}"

waitfiles() {	# waitfiles SECONDS FILE...: all exist, or fail naming the guest
	local tmo=$1 f t=0; shift
	for f in "$@"; do
		while [ ! -e "$f" ]; do
			[ $t -lt $((tmo * 10)) ] || die "timed out after $tmo s waiting for $(basename "$f") (consoles in $out)"
			if grep -q 'KSMV-FAIL' "$out"/g*.console 2>/dev/null; then
				die "a guest failed: $(grep -h 'KSMV-FAIL' "$out"/g*.console | tr -d '\r')"
			fi
			sleep 0.1; t=$((t + 1))
		done
	done
}
t_boot=$(date +%s)
waitfiles 600 $(for i in $(seq 1 "$n"); do echo "$share/g$i.ready"; done)
cp "$share/g1.iomem" "$out/g1.iomem"
say "all guests ready after $(( $(date +%s) - t_boot )) s; KSM on"

snap() {	# snap NAME: KSM's counters and each QEMU's ksm_stat and smaps
	local f=$out/ksm-$1.txt i p
	{
		echo "time $(date +%s.%N)"
		for c in pages_shared pages_sharing pages_unshared pages_volatile \
			 full_scans ksm_zero_pages stable_node_chains stable_node_dups \
			 pages_skipped general_profit; do
			[ -e $K/$c ] && echo "$c $(cat $K/$c)"
		done
		for i in $(seq 1 "$n"); do
			p=${pids[$((i - 1))]}
			sed "s/^/g$i./; s/: / /" /proc/$p/ksm_stat
			# KSM pages inside guest RAM (the mapping at least as large
			# as the guest) and in QEMU's other mergeable mappings (ROMs).
			awk -v g=g$i -v ram=$((mem * 1024)) '
				/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); size = 0 }
				/^Size:/ { size = $2 }
				/^AnonHugePages:/ { thp += $2 }
				/^KSM:/ { if (size >= ram) r += $2; else o += $2 }
				END { printf "%s.ksm_ram_pages %d\n%s.ksm_other_pages %d\n%s.thp_kb %d\n",
					g, r / 4, g, o / 4, g, thp }' /proc/$p/smaps
		done
		# The same restricted to our guests, from their page tables.
		mkdir -p "$out/pages-$1"
		python3 "$here/ksm-pagemap.py" --dump "$out/pages-$1" \
			--iomem "$out/g1.iomem" $((mem * 1024)) \
			$(for i in $(seq 1 "$n"); do echo "g$i=${pids[$((i - 1))]}"; done)
		echo "others $(others)"
	} > "$f"
}
echo 1 > $K/run
t_ksm=$(date +%s)

# Stable: pages_sharing sampled at each full scan changed by at most
# max(0.2 %, 16 pages) over the last two full scans (and at least four full
# scans done, as merging needs two scans for a page to enter the unstable tree).
last_scan=$(cat $K/full_scans) samples=() stable=0
while [ $(( $(date +%s) - t_ksm )) -lt "${KSM_SETTLE_MAX:-900}" ]; do
	sleep 0.2
	fs=$(cat $K/full_scans)
	[ "$fs" = "$last_scan" ] && continue
	last_scan=$fs
	samples+=("$(cat $K/pages_sharing)")
	c=${#samples[@]}
	[ "$c" -ge 4 ] || continue
	a=${samples[$((c - 3))]} b=${samples[$((c - 1))]} m=${samples[$((c - 2))]}
	hi=$(printf '%s\n' "$a" "$m" "$b" | sort -n | tail -1)
	lo=$(printf '%s\n' "$a" "$m" "$b" | sort -n | head -1)
	tol=$(( hi / 500 > 16 ? hi / 500 : 16 ))
	if [ $((hi - lo)) -le $tol ]; then stable=1; break; fi
done
settle=$(( $(date +%s) - t_ksm ))
say "KSM $( [ $stable = 1 ] && echo stable || echo NOT stable) after $settle s, ${#samples[@]} full scans: pages_sharing ${samples[*]}"

capture() {	# capture K: every guest writes trace K at the same moment
	local k=$1 i t
	snap before-$k
	t=$(date +%s.%N)
	touch "$share/scan-$k"
	waitfiles 300 $(for i in $(seq 1 "$n"); do echo "$share/g$i-$k.done"; done)
	if [ -n "${HOSTD:-}" ]; then
		"$HOSTD" "${hostd_args[@]}" --output-dir "$out/host-$k" --once \
			--algo xxh64 --max-cpu 100 --nice 0 --ionice off \
			2>> "$out/hostd.log" || die "mb-hostd failed (log $out/hostd.log)"
	fi
	snap after-$k
	for i in $(seq 1 "$n"); do
		grep -q ok "$share/g$i-$k.done" || die "guest g$i: scan $k failed (console $out/g$i.console)"
		mv "$share/g$i-$k.mbt" "$out/g$i-$k.mbt"
	done
	say "scan $k: traces in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}
capture 1
fs=$(cat $K/full_scans)
while [ "$(cat $K/full_scans)" -lt $((fs + 2)) ]; do sleep 0.2; done
capture 2
touch "$share/stop"
for p in "${bootpids[@]}"; do
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done

cat > "$out/run.env" <<ENV
n=$n load=$load mem=$mem mib=$mib settle=$settle stable=$stable
samples="${samples[*]}" mps=$(cat $K/max_page_sharing)
ENV
report "$out"
