#!/bin/bash
# demo-cluster.sh [BUILD]: the whole Memory Buddies system on this machine,
# in a few minutes, explained as it goes.
#
# Two libvirt "hosts" (unprivileged session-mode libvirtd instances, as in
# tests/libvirt/), four small QEMU TCG guests booting Debian's kernel with
# memtrace.ko and mb-guestd inside, and mb-controld on 127.0.0.1 receiving
# their traces. web1 and web2 hold the same 64 MiB of data, db1 and db2
# other 64 MiB; they start spread over the hosts (a: web1 db1, b: web2
# db2). controld plans from their traces, the plan is shown, applied, and
# the live migrations it makes are followed. Everything is stopped and
# removed at the end (also on Ctrl-C). Needs root (the daemons run as
# nobody), the packages of scripts/packages.d/libvirt.txt, and `make` and
# `make kmod` done.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
MBUDDY=$BUILD/mbuddy
CONTROLD=$BUILD/mb-controld
WORK=$(mktemp -d /tmp/mb-demo.XXXXXX)
. "$ROOT/tests/libvirt/lib.sh"
CD_PID=
finish() {
	echo
	echo "== Cleaning up: guests destroyed, daemons stopped, files removed"
	[ -n "$CD_PID" ] && kill "$CD_PID" 2>/dev/null && wait "$CD_PID" 2>/dev/null
	lv_cleanup
	rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 130' INT TERM
say() { printf '\n== %s\n' "$*"; }
jq_() { python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
exec(sys.argv[2])' "$@"; }

for f in "$MBUDDY" "$CONTROLD" "$BUILD/mb-guestd" "$ROOT/kmod/memtrace.ko"; do
	[ -e "$f" ] || { echo "demo-cluster: $f is missing (run make and make kmod)"; exit 1; }
done
for p in libvirtd virsh qemu-system-x86_64; do
	command -v $p >/dev/null || { echo "demo-cluster: $p is missing (scripts/deps.sh)"; exit 1; }
done
T0=$(date +%s)

say "Two libvirt hosts on this machine: 'a' and 'b' (1024 MiB each for VMs)"
lv_images || { echo "cannot build the guest initramfs:"; tail -5 "$WORK/mkinitrd.log"; exit 1; }
lv_host_start a && lv_host_start b || exit 1
echo "host a: $(lv_uri a)"
echo "host b: $(lv_uri b)"
MPORT=$((49200 + RANDOM % 600))

say "mb-controld on 127.0.0.1, watching both hosts (dry run: it only plans)"
"$CONTROLD" --insecure-no-auth --datadir "$WORK/data" --port 0 \
	--port-file "$WORK/ports" --inventory-interval 2 --plan-interval 0 \
	--min-gain-mb 32 \
	--host "a,$(lv_uri a),capacity=1024,migrate-uri=tcp://127.0.0.1:$MPORT" \
	--host "b,$(lv_uri b),capacity=1024,migrate-uri=tcp://127.0.0.1:$((MPORT + 1))" \
	> "$WORK/controld.log" 2>&1 &
CD_PID=$!
for _ in $(seq 100); do [ -s "$WORK/ports" ] && break; sleep 0.1; done
PORT=$(awk '$1 == "http" { print $2 }' "$WORK/ports")
[ -n "$PORT" ] || { echo "mb-controld did not start:"; cat "$WORK/controld.log"; exit 1; }
export MB_CONTROLD_URL=http://127.0.0.1:$PORT
echo "listening on $MB_CONTROLD_URL"

say "Four guests (256 MiB each): web1 and db1 on a, web2 and db2 on b"
echo "web1 and web2 each fill 64 MiB with the same data, db1 and db2 with"
echo "other data; all run the same kernel. Each guest's mb-guestd loads"
echo "memtrace.ko, scans its memory every 8 s and uploads the trace."
lv_domain a web1 6d62756c-6465-4d6f-8000-0000000000a1 256 1:64 "$PORT" &&
lv_domain a db1 6d62756c-6465-4d6f-8000-0000000000d1 256 2:64 "$PORT" &&
lv_domain b web2 6d62756c-6465-4d6f-8000-0000000000a2 256 1:64 "$PORT" &&
lv_domain b db2 6d62756c-6465-4d6f-8000-0000000000d2 256 2:64 "$PORT" || {
	echo "cannot create the domains:"; tail -n 5 "$LV"/*/libvirtd.log; exit 1; }
printf 'waiting for two uploads from every guest (TCG boots take a while) '
for i in $(seq 300); do
	"$MBUDDY" status --json > "$WORK/st.json" 2>/dev/null &&
	n=$(jq_ "$WORK/st.json" 'print(sum(1 for v in j["vms"] if v["versions"] >= 2))') &&
	[ "$n" = 4 ] && break
	[ $((i % 5)) = 0 ] && printf .
	sleep 1
done
echo " $(( $(date +%s) - T0 )) s"
"$MBUDDY" status

say "How much the guests' memory has in common (mbuddy sharing on their latest traces)"
jq_ "$WORK/st.json" '
for v in j["vms"]:
    print(v["uuid"], v["name"], v["latest_version"])' | while read -r u n ver; do
	curl -s -o "$WORK/$n.mbt" "$MB_CONTROLD_URL/v1/vms/$u/traces/$ver"
done
"$MBUDDY" sharing "$WORK"/web1.mbt "$WORK"/web2.mbt "$WORK"/db1.mbt "$WORK"/db2.mbt

say "The plan (dry run: nothing moves yet)"
"$MBUDDY" plan
echo
echo "NOW and AFTER are the memory the host's VMs need when identical pages"
echo "are stored once: the plan puts the guests that share most together."

say "Applying the plan: live migrations, one at a time"
"$MBUDDY" plan --apply --json > "$WORK/applied.json"
jq_ "$WORK/applied.json" '
for m in j.get("applied", []):
    print("queued: migrate %s from host %s to host %s (saves %.0f MiB)" % (m["name"], m["from"], m["to"], m["gain_mb"]))'
"$MBUDDY" migrations --wait 600 --json > "$WORK/mig.json"
"$MBUDDY" migrations
echo
jq_ "$WORK/mig.json" '
for m in j["migrations"]:
    if m["state"] == "done":
        print("%s moved live from %s to %s in %.1f s and runs on %s" % (m["name"], m["from"], m["to"], m["duration_s"], m["host"]))
    else:
        print("%s was not moved (%s): %s; it runs on %s" % (m["name"], m["state"], m["error"], m["host"]))'

say "Where the guests run now (asked of libvirt)"
for h in a b; do
	echo "host $h: $(lv_virsh $h list --name | grep . | tr '\n' ' ')"
done
echo "The migrated guests keep running: their consoles keep counting, e.g. web2:"
sleep 3
grep -a tick "$LV/cons/web2.console" | tail -n 2 | sed 's/^/   /'

say "A new plan from the new placement"
sleep 3
"$MBUDDY" plan --json > "$WORK/plan2.json"
jq_ "$WORK/plan2.json" '
print("%d further move(s) proposed." % len(j["moves"]))
for h in j["hosts"]:
    if h["before_mb"] is not None:
        print("host %s now needs %.0f MiB for %s" % (h["name"], h["before_mb"], ", ".join(h["vms"]) or "no VM"))
'
echo
echo "Demo took $(( $(date +%s) - T0 )) s."
