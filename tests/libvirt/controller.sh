#!/bin/bash
# controller.sh - mb-controld's live statistics and its resize action
# against a real libvirt host (an unprivileged session libvirtd, QEMU TCG).
#
# Host a runs two guests with a virtio balloon device, memtrace.ko and
# mb-guestd (which reports its statistics every 5 s):
#   g4  384 MiB, virtio_balloon loaded, idle (mb-guestd scans once);
#   g5  256 MiB, a vCPU kept busy by a shell loop, virtio_balloon NOT
#       loaded: its balloon device never moves.
# Scenarios, in this order:
#   statistics  g5 shows >= 80 % CPU within three --stats-interval of its
#               burner's start, in GET /v1/vms/{uuid}/stats and mbuddy top
#               (when other work leaves its QEMU process under 90 % of a
#               core, /proc/PID/stat says so and the bar is what the
#               process got less 10 points); g4 under 20 %; g4's mb-guestd
#               reports arrive (gray-box).
#   bounds      resizes below --resize-floor-mb or above the maximum are
#               refused with a clear error, and nothing is queued.
#   resize      g4 to 200 MiB: the action is done, libvirt's balloon and
#               the guest's own MemTotal reach the target within bounds.
#   restart     controld is killed while a resize of g4 runs and started
#               again: the resize runs again and ends done.
#   vanish      a resize of g5 (whose balloon never moves) while g5 is
#               destroyed: the action ends failed, with why.
#   reset       g5 is started again (counters from zero): no negative rate.
#   xen         a host given with balloon=xenctrl: the resize goes to
#               libxenctrl and fails at the hypervisor call (no Xen here),
#               recorded with libxenctrl's reason.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

for need in virsh libvirtd qemu-system-x86_64 setpriv; do
	command -v $need >/dev/null || { fail "$need is installed (scripts/deps.sh)" "$need" missing; finish; }
done
[ -f "$ROOT/kmod/memtrace.ko" ] || make -C "$ROOT" --no-print-directory kmod >/dev/null 2>&1
[ -f "$ROOT/kmod/memtrace.ko" ] || { fail "memtrace.ko is built (make kmod)" kmod/memtrace.ko missing; finish; }

on_exit() {
	lv_cleanup
	cleanup
}
trap on_exit EXIT

G4=6d62756c-6c76-4000-8000-0000000000c4
G5=6d62756c-6c76-4000-8000-0000000000c5
INTERVAL=2

lv_images || { fail "the guest initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }
lv_host_start a || { fail "a libvirt daemon starts" started "see above"; finish; }

HOST=(--host "a,$(lv_uri a),capacity=2048")
start_cd() {
	start_controld "$WORK/data" --insecure-no-auth --listen 127.0.0.1 \
		--inventory-interval 1 --plan-interval 0 --stats-interval $INTERVAL \
		--resize-floor-mb 128 --resize-timeout 30 "$@"
}
start_cd "${HOST[@]}" --port 0 || exit 1
PORT=$CD_PORT
export MB_CONTROLD_URL=$CD_URL

LV_BALLOON=1 LV_GUESTD_INTERVAL=600 LV_CMDLINE="mbballoon=1" lv_domain a g4 $G4 384 "" "$PORT" &&
LV_BALLOON=1 LV_GUESTD_INTERVAL=600 LV_CMDLINE="mbburn=1" lv_domain a g5 $G5 256 "" "$PORT" ||
	{ fail "two domains are created" "virsh create succeeds" "$(tail -n 3 "$LV"/*/libvirtd.log)"; finish; }

vmstats() { curl -s "$CD_URL/v1/vms/$1/stats" > "$2"; }
# g5's burner starts two seconds before its console's first tick.
for _ in $(seq 900); do
	grep -q tick "$LV/cons/g5.console" 2>/dev/null && break
	sleep 0.2
done
# What the kernel says g5's QEMU process got over the same window: the
# truth controld's figure is held to when other work on this machine
# leaves the burner less than a core.
qemu_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
G5_PID=$(pgrep -f -- "-name guest=g5,.*$LV/" | head -1)
T0=$(date +%s.%N)
C0=$(qemu_cpu_s "$G5_PID" 2>/dev/null)
sleep $((3 * INTERVAL + 1))
C1=$(qemu_cpu_s "$G5_PID" 2>/dev/null)
T1=$(date +%s.%N)
vmstats $G5 "$WORK/g5.json"
got=$(python3 -c "print('%.1f' % (100 * (${C1:-0} - ${C0:-0}) / ($T1 - $T0)))")
# The bar: 80 %, or with a busy machine (the process got under 90 % of a
# core) within 10 points of what it got.
bar=$(python3 -c "print(80 if $got >= 90 else max(0, $got - 10))")
burn=$(jget "$WORK/g5.json" 'max([s["cpu_pct"] for s in j["samples"] if s["cpu_pct"] is not None and '"$T0"' < s["t"] <= '"$T0"' + 3 * '$INTERVAL'] or [0])')
# Until g4's mb-guestd has reported twice.
for _ in $(seq 180); do
	vmstats $G4 "$WORK/g4.json"
	[ "$(jget "$WORK/g4.json" 'len(j["guest"])')" -ge 2 ] 2>/dev/null && break
	sleep 1
done

# ---- statistics ----
check_eq "gray-box: g4's mb-guestd reports arrive" yes \
	"$(jget "$WORK/g4.json" '"yes" if len(j["guest"]) >= 2 else "no"')"
mt=$(jget "$WORK/g4.json" 'j["guest"][-1]["mem_total_mb"]')
check_eq "gray-box: g4's MemTotal, as the guest sees it, is most of its 384 MiB" yes \
	"$(python3 -c "print('yes' if 300 < float('${mt:-0}') <= 384 else 'no ($mt)')")"
check_eq "gray-box: g4 reports its memory PSI" yes \
	"$(jget "$WORK/g4.json" '"yes" if j["guest"][-1]["psi_some_avg10"] is not None else "no"')"
check_eq "black-box: the CPU burner g5 shows at least $bar % CPU within three intervals of starting (its QEMU process got $got % of a core)" yes \
	"$(python3 -c "print('yes' if float('${burn:-0}') >= $bar else 'no ($burn)')")"
echo "    (g5's CPU: $burn %; its last samples: $(jget "$WORK/g5.json" '[round(s["cpu_pct"] or -1) for s in j["samples"]][-6:]'))"
idle=$(jget "$WORK/g4.json" '[s["cpu_pct"] for s in j["samples"] if s["cpu_pct"] is not None][-1]')
check_eq "black-box: the idle g4 shows under 20 % CPU" yes \
	"$(python3 -c "print('yes' if float('${idle:-100}') < 20 else 'no ($idle)')")"
check_eq "black-box: libvirt's balloon of g4 is its 384 MiB" 384.0 \
	"$(jget "$WORK/g4.json" 'j["samples"][-1]["balloon_mb"]')"
for _ in 1 2 3; do	# the newest sample, within three intervals
	"$MBUDDY" top --once > "$WORK/top.txt" 2>&1
	g5top=$(awk '$1 == "g5" { print $2 }' "$WORK/top.txt")
	python3 -c "import sys; sys.exit(0 if float('${g5top:-0}') >= $bar else 1)" 2>/dev/null && break
	sleep $INTERVAL
done
check_eq "mbuddy top --once shows g5 at $bar % CPU or more" yes \
	"$(python3 -c "print('yes' if float('${g5top:-0}') >= $bar else 'no')" 2>/dev/null || echo "no: $(cat "$WORK/top.txt")")"
curl -s "$CD_URL/v1/hosts/a/stats" > "$WORK/host.json"
check_eq "host a's samples count its two VMs and their CPU" "2 yes" \
	"$(jget "$WORK/host.json" 'str(int(j["samples"][-1]["vms"])) + " " + ("yes" if j["samples"][-1]["cpu_pct"] is not None else "no")')"
check_contains "/metrics exports the VMs' CPU" "mb_controld_vm_cpu_percent{vm=\"$G5\"" "$(curl -s "$CD_URL/metrics")"

# ---- bounds ----
act() { curl -s -o "$WORK/act.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary "$1" "$CD_URL/v1/actions"; }
check_eq "a resize below --resize-floor-mb is refused (400)" 400 \
	"$(act '{"kind":"resize","vm":"g4","target_mb":64}')"
check_contains "... saying so" "below the floor of 128 MiB (--resize-floor-mb)" "$(cat "$WORK/act.json")"
check_eq "a resize above the VM's maximum is refused (400)" 400 \
	"$(act '{"kind":"resize","vm":"g4","target_mb":1024}')"
check_contains "... saying so" "above the VM's maximum memory of 384 MiB" "$(cat "$WORK/act.json")"
check_eq "a resize of a VM that does not exist: 404" 404 "$(act '{"kind":"resize","vm":"nobody","target_mb":200}')"
check_eq "nothing was queued" 0 "$(curl -s "$CD_URL/v1/actions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')"

# ---- resize ----
before_mt=$mt
"$MBUDDY" resize g4 200 --wait 60 > "$WORK/resize.txt" 2>&1
check_eq "mbuddy resize g4 200 --wait ends (exit 0)" 0 "$?"
curl -s "$CD_URL/v1/actions" > "$WORK/acts.json"
check_eq "the resize is done" "resize done a" \
	"$(jget "$WORK/acts.json" 'j["actions"][-1]["kind"] + " " + j["actions"][-1]["state"] + " " + j["actions"][-1]["host"]')"
dur=$(jget "$WORK/acts.json" '"%.1f" % j["actions"][-1]["duration_s"]')
actual=$(lv_virsh a dommemstat g4 | awk '$1 == "actual" { printf "%.1f", $2 / 1024 }')
check_eq "libvirt's balloon of g4 is within 4 MiB of 200 MiB" yes \
	"$(python3 -c "print('yes' if abs(float('${actual:-0}') - 200) <= 4 else 'no ($actual)')")"
sleep 6	# a report from the guest after the change
vmstats $G4 "$WORK/g4b.json"
after_mt=$(jget "$WORK/g4b.json" 'j["guest"][-1]["mem_total_mb"]')
check_eq "g4's own MemTotal shrank by the 184 MiB taken, within 8 MiB" yes \
	"$(python3 -c "d = float('$before_mt') - float('${after_mt:-0}'); print('yes' if abs(d - 184) <= 8 else 'no (%.1f -> %s)' % (float('$before_mt'), '$after_mt'))")"
check_eq "GET /v1/vms/{uuid}/stats shows the balloon at 200 MiB" yes \
	"$(jget "$WORK/g4b.json" '"yes" if abs(j["samples"][-1]["balloon_mb"] - 200) <= 4 else "no"')"
echo "    (resize 384 -> 200 MiB: $dur s; balloon $actual MiB; guest MemTotal $before_mt -> $after_mt MiB)"
"$MBUDDY" actions > "$WORK/actions.txt" 2>&1
check_contains "mbuddy actions lists the resize" "resize   g4" "$(cat "$WORK/actions.txt")"
check_eq "mbuddy migrations lists no resize" "(no migrations)" "$("$MBUDDY" migrations | tail -1)"

# ---- restart during a resize ----
# The balloon moves within a second: controld is frozen (SIGSTOP) as soon
# as the action is seen running, and killed only if control.db says
# running then; otherwise it goes on and the next target is tried.
state_of() { curl -s "$CD_URL/v1/actions?kind=resize" | grep -o "\"id\":$1,[^}]*\"state\":\"[a-z]*\"" | sed 's/.*"state":"//; s/"//'; }
resized=no
for target in 330 250 300 220; do
	act '{"kind":"resize","vm":"g4","target_mb":'$target'}' >/dev/null
	id=$(jget "$WORK/act.json" 'j["action"]["id"]')
	for _ in $(seq 400); do
		st=$(state_of "$id")
		[ "$st" != planned ] && break
	done
	if [ "$st" = running ]; then
		kill -STOP "$CD_PID"
		if [ "$(sqlite3 "$WORK/data/control.db" "SELECT state FROM actions WHERE id = $id")" = running ]; then
			kill -9 "$CD_PID"; wait "$CD_PID" 2>/dev/null
			resized=$target
			break
		fi
		kill -CONT "$CD_PID"
	fi
	"$MBUDDY" actions --wait 60 >/dev/null 2>&1
done
check_eq "restart: controld is killed while a resize runs" yes "$([ "$resized" != no ] && echo yes || echo "no: it was never seen running")"
start_cd "${HOST[@]}" --port "$PORT" || exit 1
"$MBUDDY" actions --wait 60 --json > "$WORK/acts2.json" 2>&1
check_eq "restart: the interrupted resize is run again and done" "done run again after a controld restart" \
	"$(jget "$WORK/acts2.json" '[a["state"] + " " + a["note"].split(";")[0] for a in j["actions"] if a["id"] == '"$id"'][0]')"
actual=$(lv_virsh a dommemstat g4 | awk '$1 == "actual" { printf "%.1f", $2 / 1024 }')
check_eq "restart: g4's balloon is at the new target" yes \
	"$(python3 -c "print('yes' if abs(float('${actual:-0}') - $resized) <= 4 else 'no ($actual)')")"

# ---- a VM that disappears during its resize ----
act '{"kind":"resize","vm":"g5","target_mb":150}' >/dev/null
id=$(jget "$WORK/act.json" 'j["action"]["id"]')
for _ in $(seq 100); do
	st=$(curl -s "$CD_URL/v1/actions" | python3 -c 'import json,sys; print([a["state"] for a in json.load(sys.stdin)["actions"] if a["id"] == '"$id"'][0])')
	[ "$st" = running ] && break
	sleep 0.1
done
check_eq "vanish: the resize of g5 runs (its balloon driver is not loaded)" running "$st"
sleep 1
lv_virsh a destroy g5 >/dev/null
"$MBUDDY" actions --wait 30 --json > "$WORK/acts3.json" 2>&1
check_eq "vanish: the resize ends failed" failed \
	"$(jget "$WORK/acts3.json" '[a["state"] for a in j["actions"] if a["id"] == '"$id"'][0]')"
check_contains "vanish: with the reason recorded" "the domain disappeared during the resize" \
	"$(jget "$WORK/acts3.json" '[a["error"] for a in j["actions"] if a["id"] == '"$id"'][0]')"

# ---- counters that reset ----
vmstats $G5 "$WORK/g5a.json"
n_before=$(jget "$WORK/g5a.json" 'len(j["samples"])')
lv_virsh a create "$LV/g5.xml" >/dev/null
for _ in $(seq 60); do
	vmstats $G5 "$WORK/g5b.json"
	[ "$(jget "$WORK/g5b.json" 'len([s for s in j["samples"][int('"${n_before:-0}"'):] if s["cpu_pct"] is not None])')" -ge 3 ] 2>/dev/null && break
	sleep 1
done
check_eq "reset: g5 runs again and has new CPU samples" yes \
	"$(jget "$WORK/g5b.json" '"yes" if len([s for s in j["samples"][int('"${n_before:-0}"'):] if s["cpu_pct"] is not None]) >= 3 else "no"')"
check_eq "reset: no rate of g5 is ever negative" "[]" \
	"$(jget "$WORK/g5b.json" '[(s["t"], k) for s in j["samples"] for k, v in s.items() if k not in ("t", "host") and v is not None and v < 0]')"

# ---- Xen, up to the hypervisor call ----
stop_controld TERM
start_cd --host "a,$(lv_uri a),capacity=2048,balloon=xenctrl" --port "$PORT" || exit 1
"$MBUDDY" resize g4 256 --wait 30 --json > "$WORK/acts4.json" 2>&1
check_eq "xen: a resize on a balloon=xenctrl host fails here (no Xen)" failed \
	"$(jget "$WORK/acts4.json" 'j["actions"][-1]["state"]')"
check_contains "xen: with libxenctrl's reason" "cannot open the Xen hypervisor interface" \
	"$(jget "$WORK/acts4.json" 'j["actions"][-1]["error"]')"
kill -0 "$CD_PID" && pass "controld still runs" || fail "controld still runs" alive dead
for route in "GET /v1/vms/{uuid}/stats" "POST /v1/vms/{uuid}/stats" "GET /v1/hosts/{name}/stats" \
	"GET /v1/stats" "GET /v1/actions" "POST /v1/actions" "POST /v1/vms/{uuid}/pressure" "GET /v1/balance"; do
	check_contains "docs/api.md documents $route" "## $route" "$(cat "$ROOT/docs/api.md")"
done
finish
