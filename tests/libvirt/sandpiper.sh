#!/bin/bash
# sandpiper.sh [--record DIR] - Sandpiper's hotspot policy (controld
# --sandpiper) with real guests: QEMU TCG on two session libvirtd "hosts".
#
# Host a runs p and q, host b runs r (256 MiB each, mb-guestd in each).
# The capacities are declared (--host ...,cpus=N,net-mbps=N): the guests
# are real, the hosts' sizes are what the test needs them to be.
#
# 1. Idle (black box). a is declared with half a core (cpus=0.5, so that
#    the burner makes it hot even when other work on this machine leaves
#    the guest's vCPU thread less than a core), b with 2. controld starts
#    once the guests are up (a booting guest keeps a core busy); for
#    IDLE_S seconds nothing is hot and nothing moves.
# 2. CPU hotspot (black box). p starts a CPU burner: a is over 75 % of its
#    half core in 3 of 5 rounds, with the forecast over too; the policy
#    moves p, the VM of highest volume-to-size ratio, to b (about 50 %
#    there). Measured: the time from the burner's start to the migration's
#    end; then a is no longer hot, q stays, nothing moves again (the
#    hold-off), and the idle run was at least as long. mbuddy hotspots
#    --record saves the statistics; replaying them offline decides the
#    same move.
# 3. Network hotspot (gray box). controld restarts with b's link at
#    NET_MBPS Mbit/s; r sends to a listener on the host's loopback (nc to
#    10.0.2.2 through user networking). libvirt counts nothing for QEMU
#    user networking, so only the gray box (the guest's /proc/net/dev in
#    mb-guestd's reports) sees it: r moves to a.
# Ends with the lines scripts read:
#    sandpiper: cpu hotspot on a resolved in N.N s by moving p to b
#    sandpiper: net hotspot on b resolved in N.N s by moving r to a
# With --record DIR the two recordings are kept in DIR (memtraces/hotspots
# holds a pair, replayed by make check-hotspots).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

RECORD_DIR=
[ "${1:-}" = --record ] && RECORD_DIR=$2
IDLE_S=${IDLE_S:-30}
NET_MBPS=${NET_MBPS:-4}

for need in virsh libvirtd qemu-system-x86_64 setpriv python3; do
	command -v $need >/dev/null || { fail "$need is installed (scripts/deps.sh)" "$need" missing; finish; }
done
[ -f "$ROOT/kmod/memtrace.ko" ] || make -C "$ROOT" --no-print-directory kmod >/dev/null 2>&1
[ -f "$ROOT/kmod/memtrace.ko" ] || { fail "memtrace.ko is built (make kmod)" kmod/memtrace.ko missing; finish; }

SINK_PID=
on_exit() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	lv_cleanup
	cleanup
}
trap on_exit EXIT

P=6d62756c-6c76-4000-8000-0000000000d1
Q=6d62756c-6c76-4000-8000-0000000000d2
R=6d62756c-6c76-4000-8000-0000000000d3
MPORT=$((49800 + RANDOM % 600))
GO_PORT=$((48900 + RANDOM % 600))
SINK_PORT=$((GO_PORT + 600))

lv_images || { fail "the guest initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }
lv_host_start a && lv_host_start b || { fail "two libvirt daemons start" started "see above"; finish; }
rm -rf "$LV/go-dir"; mkdir -p "$LV/go-dir"
lv_go_server $GO_PORT
# The listener r sends to: every connection read and dropped.
python3 - "$SINK_PORT" > "$WORK/sink.log" 2>&1 <<'PY' &
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
def drain(c):
    while c.recv(1 << 16):
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
PY
SINK_PID=$!

# start_cd CPUS_A NET_A CPUS_B NET_B [controld options]
start_cd() {
	local ca=$1 na=$2 cb=$3 nb=$4
	shift 4
	start_controld "$WORK/data" --insecure-no-auth --listen 127.0.0.1 \
		--host "a,$(lv_uri a),capacity=2048,cpus=$ca,net-mbps=$na,migrate-uri=tcp://127.0.0.1:$MPORT" \
		--host "b,$(lv_uri b),capacity=2048,cpus=$cb,net-mbps=$nb,migrate-uri=tcp://127.0.0.1:$((MPORT + 1))" \
		--inventory-interval 1 --plan-interval 0 --stats-interval 2 \
		--retry-after 5 "$@"
}
# migrations [SINCE]: the sandpiper migrations (after action SINCE).
migrations() { curl -s "$CD_URL/v1/actions?kind=migrate" > "$WORK/m.json"
	jget "$WORK/m.json" '" ".join("%s:%s>%s:%s" % (a["name"], a["from"], a["to"], a["state"]) for a in j["actions"] if a["policy"] == "sandpiper" and a["id"] > '"${1:-0}"')'; }
# wait_move NAME: until a sandpiper migration of NAME has ended (120 s).
wait_move() {
	local _
	for _ in $(seq 240); do
		migrations | grep -Eq "(^| )$1:[a-z]+>[a-z]+:(done|failed|aborted)" && return 0
		sleep 0.5
	done
	return 1
}
hot() { curl -s "$CD_URL/v1/hotspots" > "$WORK/hs.json"
	jget "$WORK/hs.json" '" ".join("%s:%s" % (h["name"], r) for h in j["hosts"] for r in ("cpu", "net", "mem") if h["verdicts"][r]["hot"]) or "none"'; }
now() { date +%s.%N; }

# The guests are booted with a controld that only serves them, so the
# policy never sees them boot; its port is kept for every later run.
start_cd 0.5 1000 2 1000 --port 0 || exit 1
PORT=$CD_PORT
export MB_CONTROLD_URL=$CD_URL
LV_GUESTD_INTERVAL=3600 LV_CMDLINE="mbburn=go mbgo=$GO_PORT" lv_domain a p $P 256 "" "$PORT" &&
LV_GUESTD_INTERVAL=3600 lv_domain a q $Q 256 "" "$PORT" &&
LV_GUESTD_INTERVAL=3600 LV_CMDLINE="mbnet=$SINK_PORT mbgo=$GO_PORT" lv_domain b r $R 256 "" "$PORT" ||
	{ fail "three domains are created" "virsh create succeeds" "$(tail -n 3 "$LV"/*/libvirtd.log)"; finish; }
lv_booted p q r
sleep 5
stop_controld TERM

# ---- 1. idle ----
start_cd 0.5 1000 2 1000 --port "$PORT" --sandpiper black --apply --sandpiper-holdoff 60 || exit 1
sleep "$IDLE_S"
curl -s "$CD_URL/v1/hotspots" > "$WORK/idle.json"
check_eq "idle: nothing is hot" none "$(hot)"
check_eq "idle: nothing moves" "" "$(migrations)"
echo "    (idle: host a at $(jget "$WORK/idle.json" '"%.0f %%" % (100 * [h for h in j["hosts"] if h["name"] == "a"][0]["now"]["cpu"])') of its half core, b at $(jget "$WORK/idle.json" '"%.0f %%" % (100 * [h for h in j["hosts"] if h["name"] == "b"][0]["now"]["cpu"])') of two)"
"$MBUDDY" hotspots > "$WORK/live.txt" 2>&1
check_contains "mbuddy hotspots shows the policy and its hosts" "sandpiper (black-box)" "$(cat "$WORK/live.txt")"

# ---- 2. a CPU hotspot ----
t0=$(now)
echo go > "$LV/go-dir/burn-p"
wait_move p || true
m=$(migrations)
check_eq "cpu: the policy moved p from a to b" "p:a>b:done" "$m"
curl -s "$CD_URL/v1/actions?kind=migrate" > "$WORK/cpu-acts.json"
cpu_s=$(jget "$WORK/cpu-acts.json" '"%.1f" % ([a["finished_ms"] for a in j["actions"] if a["name"] == "p"][0] / 1000.0 - '"$t0"')')
breakdown() {	# ACTIONS.json NAME T0: when decided and how long the migration ran
	jget "$1" '"decided at +%.1f s, the migration ran %.1f s" % [(a["created"] - '"$3"', (a["finished_ms"] - a["started_ms"]) / 1000.0) for a in j["actions"] if a["name"] == "'"$2"'"][0]'
}
echo "    (cpu: the burner started at 0 s; $(breakdown "$WORK/cpu-acts.json" p "$t0"))"
check_contains "cpu: the reason names the hot resource" "cpu" \
	"$(jget "$WORK/cpu-acts.json" '[a["reason"] for a in j["actions"] if a["name"] == "p"][0]')"
check_contains "cpu: p's console shows its burner started" "MB-BURN" "$(cat "$LV/cons/p.console")"
check_eq "cpu: p runs on b, q still on a" "b a" "$(lv_where p) $(lv_where q)"
curl -s "$CD_URL/v1/plan" > "$WORK/plan.json"
check_eq "cpu: the plan records a's CPU hotspot, seen by the black box" "sandpiper a cpu black-box" \
	"$(jget "$WORK/plan.json" 'j["algorithm"] + " " + " ".join([" ".join((h["host"], h["resource"], h["seen_by"])) for h in j["hotspots"]][:1])')"
# a cools once its history is past the burst (k of n under again).
for _ in $(seq 60); do [ "$(hot)" = none ] && break; sleep 1; done
check_eq "cpu: a is no longer hot, nothing else is" none "$(hot)"
sleep 10
check_eq "cpu: nothing moves again (hold-off, p now fits on b)" "p:a>b:done" "$(migrations)"
check_eq "idle: the idle run ($IDLE_S s) was as long as the hotspot's ($cpu_s s)" yes \
	"$(python3 -c "print('yes' if ${cpu_s:-999} <= $IDLE_S else 'no')")"
last=$(jget "$WORK/m.json" 'max([a["id"] for a in j["actions"]] or [0])')
"$MBUDDY" hotspots --record "$WORK/cpu-rec.json" > "$WORK/rec.txt" 2>&1
check_contains "mbuddy hotspots --record saves the hosts and VMs" "recorded 2 hosts and 3 VMs" "$(cat "$WORK/rec.txt")"
"$MBUDDY" hotspots --json "$WORK/cpu-rec.json" > "$WORK/replay.json" 2> "$WORK/replay.err"
check_eq "cpu: replaying the recording decides the same move first" "p a b" \
	"$(jget "$WORK/replay.json" '" ".join([" ".join((m["vm"], m["from"], m["to"])) for d in j["decisions"] for m in d["moves"]][:1])')"
stop_controld TERM

# ---- 3. a network hotspot, seen only by the gray box ----
start_cd 8 1000 8 "$NET_MBPS" --port "$PORT" --sandpiper gray --apply --sandpiper-holdoff 60 || exit 1
sleep 6
t1=$(now)
echo go > "$LV/go-dir/net-r"
wait_move r || true
check_eq "net: the policy moved r from b to a" "r:b>a:done" "$(migrations "$last")"
curl -s "$CD_URL/v1/actions?kind=migrate" > "$WORK/net-acts.json"
net_s=$(jget "$WORK/net-acts.json" '"%.1f" % ([a["finished_ms"] for a in j["actions"] if a["name"] == "r"][0] / 1000.0 - '"$t1"')')
echo "    (net: the sender started at 0 s; $(breakdown "$WORK/net-acts.json" r "$t1"))"
check_contains "net: the reason names the network (gray box)" "net" \
	"$(jget "$WORK/net-acts.json" '[a["reason"] for a in j["actions"] if a["name"] == "r"][0]')"
check_eq "net: r runs on a" a "$(lv_where r)"
check_contains "net: r's console shows it sending" "MB-NET" "$(cat "$LV/cons/r.console")"
curl -s "$CD_URL/v1/vms/$R/stats" > "$WORK/r-stats.json"
echo "    (net: r's guest counted $(jget "$WORK/r-stats.json" '"%.2f" % max((g["tx_bps"] or 0) / 1e6 for g in j["guest"])') MB/s at most; libvirt $(jget "$WORK/r-stats.json" '"counted nothing" if all(s["tx_bps"] is None for s in j["samples"]) else "counted some"'))"
"$MBUDDY" hotspots --record "$WORK/net-rec.json" >/dev/null 2>&1
stop_controld TERM

if [ -n "$RECORD_DIR" ]; then
	mkdir -p "$RECORD_DIR"
	cp "$WORK/cpu-rec.json" "$RECORD_DIR/cpu-black.json"
	cp "$WORK/net-rec.json" "$RECORD_DIR/net-gray.json"
	echo "    (recordings in $RECORD_DIR)"
fi
echo "sandpiper: cpu hotspot on a resolved in ${cpu_s:-?} s by moving p to b"
echo "sandpiper: net hotspot on b resolved in ${net_s:-?} s by moving r to a"
finish
