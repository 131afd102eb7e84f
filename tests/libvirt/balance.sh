#!/bin/bash
# balance.sh [--full] - memory balancing (controld --balance) with real
# guests: QEMU TCG, each with a virtio balloon, a swap disk of its own and
# mb-guestd, on one session libvirtd "host".
#
# 1. The emergency path. Guest e (320 MiB) is resized to 150 MiB by an
#    operator, with controld --balance cagma --apply and balancing rounds
#    too rare to matter; then a workload of 200 MiB starts in it. It swaps,
#    its PSI trigger fires, mb-guestd posts /v1/vms/{uuid}/pressure, and
#    the balancer grows it at once: the resize must be recorded, done, and
#    started (the balloon call to libvirt) within 1 s of the trigger in the
#    guest (the report says how long before sending it fired).
# 2. The experiment (docs/balancing.md, "The experiment with real
#    guests"). Guests a and b (VM_MB each) share a host of HOST_MB; a runs
#    working sets of SMALL, then LARGE, then SMALL MiB, b the reverse,
#    PASSES writes of every page each, the phases in step (a phase starts
#    when both guests are done with the one before). Three runs, each with fresh guests
#    started at HOST_MB / 2 each: static (nothing moves), proportional and
#    cagma (--balance MODE --apply). Measured per run: pages swapped in and
#    out and major faults (the guests' /proc/vmstat at the end), the
#    workload's completion time (the slower guest), the balloon changes.
#    With --full (make validate-balance) every run; without (make check),
#    static and cagma with fewer passes, checked against bounds from the
#    full runs. Ends with the line scripts read:
#    balance: swap I/O vs static: cagma -NN.N %, proportional -NN.N %;
#    completion vs static: cagma N.NNx; emergency reaction NNN ms
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

FULL=no
[ "${1:-}" = --full ] && FULL=yes
HOST_MB=${HOST_MB:-540}
VM_MB=${VM_MB:-384}
SMALL=${SMALL:-32}
LARGE=${LARGE:-240}
if [ $FULL = yes ]; then PASSES=${PASSES:-12}; RUNS=${RUNS:-"static proportional cagma"}
else PASSES=${PASSES:-6}; RUNS=${RUNS:-"static cagma"}; fi

for need in virsh libvirtd qemu-system-x86_64 setpriv python3; do
	command -v $need >/dev/null || { fail "$need is installed (scripts/deps.sh)" "$need" missing; finish; }
done
[ -f "$ROOT/kmod/memtrace.ko" ] || make -C "$ROOT" --no-print-directory kmod >/dev/null 2>&1
[ -f "$ROOT/kmod/memtrace.ko" ] || { fail "memtrace.ko is built (make kmod)" kmod/memtrace.ko missing; finish; }

on_exit() {
	lv_cleanup
	cleanup
}
trap on_exit EXIT

GO_PORT=$((48000 + RANDOM % 900))
lv_images || { fail "the guest initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }
lv_host_start a || { fail "a libvirt daemon starts" started "see above"; finish; }
lv_go_server $GO_PORT

start_cd() {
	start_controld "$WORK/data" --insecure-no-auth --listen 127.0.0.1 \
		--host "a,$(lv_uri a),capacity=$HOST_MB" --inventory-interval 1 \
		--plan-interval 0 --stats-interval 2 --resize-floor-mb 64 \
		--resize-timeout 20 --retry-after 5 "$@"
}
act() { curl -s -o "$WORK/act.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary "$1" "$CD_URL/v1/actions"; }
console_value() {	# console_value NAME KEY: the number after KEY on the MB-VMSTAT line
	grep -a "MB-VMSTAT" "$LV/cons/$1.console" | tail -1 | tr ' ' '\n' | grep -A1 -x "$2" | tail -1
}

# ---- 1. the emergency path ----
rm -rf "$LV/go-dir"; mkdir -p "$LV/go-dir"
start_cd --port 0 --balance cagma --balance-interval 3600 --apply || exit 1
PORT=$CD_PORT
export MB_CONTROLD_URL=$CD_URL
E=6d62756c-6c76-4000-8000-0000000000e1
LV_BALLOON=1 LV_SWAP_MB=256 LV_GUESTD_INTERVAL=3600 \
	LV_CMDLINE="mbballoon=1 mbswap=1 mbgo=$GO_PORT mbwork=200:3" \
	lv_domain a e $E 320 "" "$PORT" || { fail "guest e is created" created "$(tail -3 "$LV"/a/libvirtd.log)"; finish; }
lv_booted e
check_contains "emergency: guest e swaps on its own disk" "MB-SWAP on" "$(cat "$LV/cons/e.console")"
"$MBUDDY" resize e 150 --wait 30 >/dev/null 2>&1
check_eq "emergency: an operator resized e to 150 MiB first" done \
	"$(curl -s "$CD_URL/v1/actions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["actions"][-1]["state"])')"
lv_go
for _ in $(seq 120); do
	curl -s "$CD_URL/v1/actions?kind=resize" > "$WORK/e.json"
	[ "$(jget "$WORK/e.json" 'len([a for a in j["actions"] if a["policy"] == "balance" and a["state"] == "done"])')" -ge 1 ] 2>/dev/null && break
	sleep 0.5
done
curl -s "$CD_URL/v1/balance" > "$WORK/eb.json"
check_contains "emergency: e's mb-guestd reported memory pressure" "reports memory pressure" "$(cat "$CD_LOG")"
check_eq "emergency: the balancer grew e, saying why" "done grow yes" \
	"$(jget "$WORK/e.json" '" ".join([[a["state"], "grow" if a["target_mb"] > a["from_mb"] else "shrink", "yes" if "reported memory pressure" in a["reason"] else "no"] for a in j["actions"] if a["policy"] == "balance"][0])')"
# From the PSI trigger in the guest (its report says how long before
# sending it fired) to the resize's start (the balloon call to libvirt),
# and to its end (libvirt's balloon at the target).
read -r reaction report_ms done_ms <<< "$(python3 - "$WORK/e.json" "$WORK/eb.json" <<'PY'
import json, sys
acts = json.load(open(sys.argv[1]))["actions"]
bal = json.load(open(sys.argv[2]))
a = [a for a in acts if a["policy"] == "balance"][0]
em = [e for h in bal["hosts"] for v in h["vms"] if v["name"] == "e" for e in v["emergencies"]]
e = [e for e in em if e["action"] == a["id"]][0]
print(round(a["started_ms"] - e["fired_at"] * 1000), round(a["started_ms"] - e["pressure_at"] * 1000),
      round(a["finished_ms"] - e["fired_at"] * 1000))
PY
)"
check_eq "emergency: the balloon call came within 1 s of the guest's trigger ($reaction ms; $report_ms ms after the report)" yes \
	"$(python3 -c "print('yes' if 0 <= int('${reaction:-9999}') <= 1000 else 'no')")"
echo "    (emergency: the balloon reached its target $done_ms ms after the trigger)"
echo "    (emergency: $(jget "$WORK/e.json" '[("%.0f -> %.0f MiB: " % (a["from_mb"], a["target_mb"])) + a["reason"] for a in j["actions"] if a["policy"] == "balance"][0]'))"
"$MBUDDY" balance > "$WORK/balance.txt" 2>&1
check_contains "mbuddy balance shows e with its decision" "(pressure)" "$(cat "$WORK/balance.txt")"
EMERGENCY_MS=$reaction
stop_controld TERM
lv_virsh a destroy e >/dev/null 2>&1

# ---- 2. the experiment ----
A=6d62756c-6c76-4000-8000-0000000000a1
B=6d62756c-6c76-4000-8000-0000000000b1
half=$((HOST_MB / 2))
declare -A SWAP FAULTS DONE CHANGES MOVED
for run in $RUNS; do
	rm -rf "$LV/go-dir"; mkdir -p "$LV/go-dir"
	rm -f "$LV/cons/a.console" "$LV/cons/b.console"
	: > "$LV/go-server.log"
	rm -rf "$WORK/data"
	if [ "$run" = static ]; then start_cd --port "$PORT" || exit 1
	else start_cd --port "$PORT" --balance "$run" --balance-interval 5 --apply || exit 1; fi
	LV_BALLOON=1 LV_SWAP_MB=256 LV_GUESTD_INTERVAL=3600 \
		LV_CMDLINE="mbballoon=1 mbswap=1 mbgo=$GO_PORT mbwork=$SMALL:$PASSES,$LARGE:$PASSES,$SMALL:$PASSES" \
		lv_domain a a $A $VM_MB "" "$PORT" &&
	LV_BALLOON=1 LV_SWAP_MB=256 LV_GUESTD_INTERVAL=3600 \
		LV_CMDLINE="mbballoon=1 mbswap=1 mbgo=$GO_PORT mbwork=$LARGE:$PASSES,$SMALL:$PASSES,$LARGE:$PASSES" \
		lv_domain a b $B $VM_MB "" "$PORT" || { fail "$run: guests a and b are created" created "see libvirtd.log"; finish; }
	lv_booted a b
	# Both start at HOST_MB / 2; in the static run they stay there.
	"$MBUDDY" resize a $half --wait 30 >/dev/null 2>&1
	"$MBUDDY" resize b $half --wait 30 >/dev/null 2>&1
	before=$(curl -s "$CD_URL/v1/actions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
	lv_go
	lv_phases 3 a b
	for _ in $(seq 1800); do
		[ "$(grep -ac 'MB-VMSTAT' "$LV/cons/a.console" "$LV/cons/b.console" | awk -F: '{ s += $2 } END { print s }')" -ge 2 ] && break
		sleep 1
	done
	in_a=$(console_value a pswpin); out_a=$(console_value a pswpout); in_b=$(console_value b pswpin); out_b=$(console_value b pswpout)
	SWAP[$run]=$(( ${in_a:-0} + ${out_a:-0} + ${in_b:-0} + ${out_b:-0} ))
	FAULTS[$run]=$(( $(console_value a pgmajfault) + $(console_value b pgmajfault) ))
	da=$(grep -a "MBWORK done" "$LV/cons/a.console" | tail -1 | awk '{ print $3 }')
	db=$(grep -a "MBWORK done" "$LV/cons/b.console" | tail -1 | awk '{ print $3 }')
	DONE[$run]=$(( ${da:-0} > ${db:-0} ? ${da:-0} : ${db:-0} ))
	curl -s "$CD_URL/v1/actions" > "$WORK/acts-$run.json"
	CHANGES[$run]=$(jget "$WORK/acts-$run.json" 'len([a for a in j["actions"][int('"$before"'):] if a["kind"] == "resize"])')
	MOVED[$run]=$(jget "$WORK/acts-$run.json" 'int(sum(abs(a["target_mb"] - (a["from_mb"] or a["target_mb"])) for a in j["actions"][int('"$before"'):] if a["kind"] == "resize"))')
	check_eq "$run: both workloads ran to the end" "2" \
		"$( (grep -a 'MBWORK done' "$LV/cons/a.console" | tail -1; grep -a 'MBWORK done' "$LV/cons/b.console" | tail -1) | wc -l)"
	echo "    ($run: swap in+out ${SWAP[$run]} pages (a ${in_a:-?}+${out_a:-?}, b ${in_b:-?}+${out_b:-?}), major faults ${FAULTS[$run]}, completion ${DONE[$run]} ms (a $da, b $db), balloon changes ${CHANGES[$run]}, ${MOVED[$run]} MiB moved)"
	stop_controld TERM
	lv_virsh a destroy a >/dev/null 2>&1
	lv_virsh a destroy b >/dev/null 2>&1
done

pct() { python3 -c "s = $1; print('%.1f' % (100.0 * ($2 - s) / s if s else 0))"; }
ratio() { python3 -c "print('%.2f' % ($1 / $2 if $2 else 0))"; }
printf '\n    %-13s %12s %9s %12s %12s %9s %10s\n' run "swap pages" "vs static" "maj faults" "completion" "speed-up" "resizes"
for run in $RUNS; do
	printf '    %-13s %12s %8s%% %12s %10s ms %8sx %5s (%s MiB)\n' "$run" "${SWAP[$run]}" \
		"$(pct "${SWAP[static]}" "${SWAP[$run]}")" "${FAULTS[$run]}" "${DONE[$run]}" \
		"$(ratio "${DONE[static]}" "${DONE[$run]}")" "${CHANGES[$run]}" "${MOVED[$run]}"
done
cagma_cut=$(pct "${SWAP[static]}" "${SWAP[cagma]}")
speed=$(ratio "${DONE[static]}" "${DONE[cagma]}")
check_eq "static swaps (the host is too small for static allocation)" yes \
	"$([ "${SWAP[static]}" -gt 1000 ] && echo yes || echo "no (${SWAP[static]})")"
# Bounds: the goals of the issue in the full run; looser in the short one
# (fewer passes, the same phases), from the full runs in docs/balancing.md.
want_cut=-80; [ $FULL = no ] && want_cut=${SHORT_CUT:--60}
check_eq "cagma cuts swap I/O against static by at least ${want_cut#-} % ($cagma_cut %)" yes \
	"$(python3 -c "print('yes' if $cagma_cut <= $want_cut else 'no')")"
check_eq "cagma completes the phased workload faster than static (${speed}x)" yes \
	"$(python3 -c "print('yes' if $speed > 1 else 'no')")"
prop=$( [ -n "${SWAP[proportional]:-}" ] && pct "${SWAP[static]}" "${SWAP[proportional]}" || echo "n/a")
echo "balance: swap I/O vs static: cagma $cagma_cut %, proportional $prop %; completion vs static: cagma ${speed}x; emergency reaction ${EMERGENCY_MS:-?} ms"
finish
