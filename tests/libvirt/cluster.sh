#!/bin/bash
# cluster.sh - mb-controld's control loop against two real libvirt hosts.
#
# Host a runs g1 and g2, host b runs g3 (QEMU TCG guests with memtrace.ko
# and mb-guestd uploading every 8 s). g1 and g3 each hold the same 64 MiB
# of pseudo-random pages (mbfill seed 1), g2 holds 64 MiB of other pages
# (seed 2): g3 shares 64 MiB more with g1 than with g2, so the plan the
# definitions predict is "g3 from b to a" (or "g1 from a to b"), saving
# about 64 MiB. Scenarios, in this order:
#   dry-run     controld makes plans on a timer without --apply: the plan
#               has that move, and nothing moves.
#   failure     host a's daemon is stopped, then the stored plan applied:
#               the migration is recorded failed with libvirt's message,
#               g3 still runs on b, controld keeps serving.
#   timeout     controld with --apply, 1 MiB/s and --migrate-timeout 3:
#               the migration is aborted and recorded so, g3 stays on b.
#   restart     controld with --apply (and a bandwidth limit, so the
#               migration takes seconds) is killed while the migration
#               runs and started again: the record is resolved to the host
#               g3 actually runs on, and no second migration starts.
#   colocation  g3 ends on a, keeps running (console ticks continue, its
#               mb-guestd uploads again) and /v1/vms shows it on a.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

for need in virsh libvirtd qemu-system-x86_64 setpriv; do
	command -v $need >/dev/null || { fail "$need is installed (scripts/deps.sh)" "$need" missing; finish; }
done
[ -f "$ROOT/kmod/memtrace.ko" ] || make -C "$ROOT" --no-print-directory kmod >/dev/null 2>&1
[ -f "$ROOT/kmod/memtrace.ko" ] || { fail "memtrace.ko is built (make kmod)" kmod/memtrace.ko missing; finish; }

CD_ARGS=()
on_exit() {
	lv_cleanup
	cleanup
}
trap on_exit EXIT

G1=6d62756c-6c76-4000-8000-0000000000c1
G2=6d62756c-6c76-4000-8000-0000000000c2
G3=6d62756c-6c76-4000-8000-0000000000c3
MPORT=$((49200 + RANDOM % 600))

lv_images || { fail "the guest initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }
lv_host_start a && lv_host_start b || { fail "two libvirt daemons start" started "see above"; finish; }

hosts=(--host "a,$(lv_uri a),capacity=1024,migrate-uri=tcp://127.0.0.1:$MPORT"
       --host "b,$(lv_uri b),capacity=1024,migrate-uri=tcp://127.0.0.1:$((MPORT + 1))")
add_token admin "$ADMIN_TOKEN"
start_cd() {
	start_controld "$WORK/data" --insecure-no-auth --listen 127.0.0.1 \
		--inventory-interval 1 --min-gain-mb 32 --retry-after 5 "${hosts[@]}" "$@"
}
# The guests need controld's port on their command line: fix it for all
# controld runs (the first one picks it).
start_cd --plan-interval 2 --port 0 || exit 1
PORT=$CD_PORT
hosts+=(--port "$PORT")
export MB_CONTROLD_URL=$CD_URL

lv_domain a g1 $G1 256 1:64 "$PORT" &&
lv_domain a g2 $G2 256 2:64 "$PORT" &&
lv_domain b g3 $G3 256 1:64 "$PORT" ||
	{ fail "three domains are created" "virsh create succeeds" "$(tail -n 3 "$LV"/*/libvirtd.log)"; finish; }

# Until every guest has uploaded twice (the second trace has the fill).
versions() { "$MBUDDY" status --json > "$WORK/st.json" 2>/dev/null &&
	jget "$WORK/st.json" '",".join(str(v["versions"]) for v in sorted(j["vms"], key=lambda v: v["uuid"]) if v.get("versions"))'; }
for _ in $(seq 240); do
	v=$(versions)
	case $v in [2-9]*,[2-9]*,[2-9]*|[1-9][0-9]*,*) break ;; esac
	sleep 1
done
check_eq "each guest uploads at least two traces (versions g1,g2,g3)" ok \
	"$(echo "$v" | awk -F, 'NF == 3 && $1 >= 2 && $2 >= 2 && $3 >= 2 { print "ok"; exit } { print }')"

curl -s "$CD_URL/v1/vms" > "$WORK/vms.json"
for g in 1 2 3; do
	u=G$g; want=a; [ $g = 3 ] && want=b
	check_eq "inventory joins g$g's traces with its domain on host $want" "$want" \
		"$(jget "$WORK/vms.json" '[v["host"] for v in j["vms"] if v["uuid"] == "'"${!u}"'"][0]')"
done
curl -s "$CD_URL/v1/hosts" > "$WORK/hosts.json"
check_eq "GET /v1/hosts: both hosts up with their domains" "a:True:2 b:True:1" \
	"$(jget "$WORK/hosts.json" '" ".join("%s:%s:%d" % (h["name"], h["up"], len(h["domains"])) for h in j["hosts"])')"

# ---- dry-run ----
sleep 3
"$MBUDDY" plan --latest --json > "$WORK/plan1.json" 2>"$WORK/plan1.err"
check_eq "dry run: controld made a plan on its timer" yes \
	"$(jget "$WORK/plan1.json" '"yes" if j["id"] >= 1 else "no"')"
"$MBUDDY" plan --json > "$WORK/plan.json" 2>"$WORK/plan.err"
move=$(jget "$WORK/plan.json" '" ".join("%s:%s>%s" % (m["name"], m["from"], m["to"]) for m in j["moves"])')
case $move in
"g3:b>a"|"g1:a>b") pass "the plan moves g3 to a or g1 to b ($move)" ;;
*) fail "the plan moves g3 to a or g1 to b" "g3:b>a or g1:a>b" "'$move' $(cat "$WORK/plan.err")" ;;
esac
gain=$(jget "$WORK/plan.json" 'int(j["moves"][0]["gain_mb"]) if j["moves"] else 0')
if [ "${gain:-0}" -ge 48 ] && [ "${gain:-0}" -le 200 ]; then
	pass "the move saves about the 64 MiB g1 and g3 hold in common ($gain MiB)"
else
	fail "the move saves about the 64 MiB g1 and g3 hold in common" "48..200 MiB" "'$gain'"
fi
# The gain the definitions predict, from the very traces the plan used:
# moving g3 from b to a saves saved({g1,g2,g3}) - saved({g1,g2}) - saved({g3})
# (configured memory cancels out; docs/sharing.md, docs/placement.md).
jget "$WORK/plan.json" '"\n".join("%s %s %s" % (i["name"], i["uuid"], i["version"]) for i in j["inputs"])' |
while read -r n u ver; do
	curl -s -o "$WORK/$n.mbt" "$CD_URL/v1/vms/$u/traces/$ver"
done
saved() { "$MBUDDY" sharing --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["group"]["saved_mb"])'; }
expect=$(python3 -c "print('%.1f' % ($(saved "$WORK"/g1.mbt "$WORK"/g2.mbt "$WORK"/g3.mbt) - $(saved "$WORK"/g1.mbt "$WORK"/g2.mbt) - $(saved "$WORK"/g3.mbt)))")
check_eq "the plan's gain is the one mbuddy sharing computes from the same traces" "$expect" \
	"$(jget "$WORK/plan.json" '"%.1f" % j["moves"][0]["gain_mb"] if j["moves"] else "none"')"
"$MBUDDY" plan > "$WORK/plan.txt" 2>&1
check_contains "mbuddy plan prints the move in words" "saves" "$(cat "$WORK/plan.txt")"
sleep 3
check_eq "dry run: no migration is recorded" 0 \
	"$(curl -s "$CD_URL/v1/migrations" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["migrations"]))')"
check_eq "dry run: g3 still runs on b" b "$(lv_where g3)"
PLAN_ID=$(jget "$WORK/plan.json" 'j["id"]')

# ---- failure ----
lv_host_stop a
for _ in $(seq 20); do
	curl -s "$CD_URL/v1/hosts" > "$WORK/hosts2.json"
	[ "$(jget "$WORK/hosts2.json" 'j["hosts"][0]["up"]')" = False ] && break
	sleep 0.5
done
check_eq "inventory: host a is marked down when its daemon stops, with libvirt's reason" "False yes" \
	"$(jget "$WORK/hosts2.json" 'str(j["hosts"][0]["up"]) + " " + ("yes" if j["hosts"][0]["error"] else "no error")')"
"$MBUDDY" plan --json > "$WORK/plan-down.json" 2>&1
check_eq "a host that is down is left out of plans (no move to a)" "0" \
	"$(jget "$WORK/plan-down.json" 'len([m for m in j["moves"] if m["to"] == "a"])')"
code=$(curl -s -o "$WORK/apply.json" -w '%{http_code}' -X POST "$CD_URL/v1/plan/apply?plan=$PLAN_ID")
check_eq "POST /v1/plan/apply queues the plan's move" 200:1 \
	"$code:$(jget "$WORK/apply.json" 'len(j["migrations"])')"
"$MBUDDY" migrations --wait 120 --json > "$WORK/mig1.json" 2>&1
state=$(jget "$WORK/mig1.json" 'j["migrations"][-1]["state"]')
check_eq "failure: the migration to the stopped host is recorded failed" failed "$state"
err=$(jget "$WORK/mig1.json" 'j["migrations"][-1]["error"]')
check_contains "failure: libvirt's error names the destination's socket" "libvirt-sock" "$err"
check_eq "failure: the record says g3 runs on b" b "$(jget "$WORK/mig1.json" 'j["migrations"][-1]["host"]')"
check_eq "failure: g3 still runs on b" b "$(lv_where g3)"
check_eq "failure: controld keeps serving" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$CD_URL/v1/health")"
"$MBUDDY" migrations > "$WORK/mig1.txt" 2>&1
check_contains "mbuddy migrations shows the failure and libvirt's error" "error:" "$(cat "$WORK/mig1.txt")"
lv_host_start a || { fail "host a's daemon restarts" started "see above"; finish; }
sleep 2
check_eq "host a's daemon restarted: g1 and g2 still run there" "a a" "$(lv_where g1) $(lv_where g2)"

# ---- timeout ----
stop_controld TERM
start_cd --plan-interval 1 --apply --migrate-bandwidth 1 --migrate-timeout 3 || exit 1
for _ in $(seq 80); do
	curl -s "$CD_URL/v1/migrations" > "$WORK/migt.json"
	[ "$(jget "$WORK/migt.json" 'j["migrations"][-1]["state"]')" = aborted ] && break
	sleep 0.5
done
check_eq "timeout: a migration still running after --migrate-timeout is aborted" "aborted 2" \
	"$(jget "$WORK/migt.json" 'j["migrations"][-1]["state"] + " " + str(len(j["migrations"]))')"
check_eq "timeout: the aborted migration left g3 on b" "b b" \
	"$(jget "$WORK/migt.json" 'str(j["migrations"][-1]["host"])') $(lv_where g3)"

# ---- restart, then colocation ----
stop_controld TERM
before=$(jget "$WORK/st.json" '[v["versions"] for v in j["vms"] if v["uuid"] == "'"$G3"'"][0]')
start_cd --plan-interval 1 --apply --migrate-bandwidth 10 || exit 1
for _ in $(seq 60); do
	curl -s "$CD_URL/v1/migrations" > "$WORK/mig2.json"
	[ "$(jget "$WORK/mig2.json" 'j["migrations"][-1]["state"]')" = running ] && break
	sleep 0.5
done
check_eq "restart: with --apply the failed move is retried after --retry-after and runs" running \
	"$(jget "$WORK/mig2.json" 'j["migrations"][-1]["state"]')"
MIG=$(jget "$WORK/mig2.json" 'j["migrations"][-1]["id"]')
sleep 1
kill -9 "$CD_PID"; wait "$CD_PID" 2>/dev/null
start_cd --plan-interval 1 --apply --migrate-bandwidth 10 || exit 1
"$MBUDDY" migrations --wait 180 --json > "$WORK/mig3.json" 2>&1
where=$(lv_where g3)
rec=$(jget "$WORK/mig3.json" '[m for m in j["migrations"] if m["id"] == '"$MIG"'][0]')
check_eq "restart: the interrupted record is resolved to where g3 runs" "$where" \
	"$(jget "$WORK/mig3.json" '[m["host"] for m in j["migrations"] if m["id"] == '"$MIG"'][0]')"
st=$(jget "$WORK/mig3.json" '[m["state"] for m in j["migrations"] if m["id"] == '"$MIG"'][0]')
case $st:$where in
done:a|failed:b) pass "restart: its state ($st) matches where g3 runs ($where)" ;;
*) fail "restart: its state matches where g3 runs" "done:a or failed:b" "$st:$where ($rec)" ;;
esac
if [ "$st" = done ]; then
	check_eq "restart: no second migration of g3 was started (failed, aborted, resolved)" 3 \
		"$(jget "$WORK/mig3.json" 'len(j["migrations"])')"
fi
# A migration that did not survive the kill is retried by a later plan.
for _ in $(seq 120); do [ "$(lv_where g3)" = a ] && break; sleep 1; done
"$MBUDDY" migrations --wait 120 > "$WORK/mig4.txt" 2>&1
check_eq "colocation: g3 runs on host a (and only there)" a "$(lv_where g3)"
curl -s "$CD_URL/v1/migrations" > "$WORK/mig4.json"
check_eq "colocation: the last migration is done with g3 on a" "done a" \
	"$(jget "$WORK/mig4.json" 'j["migrations"][-1]["state"] + " " + str(j["migrations"][-1]["host"])')"
dur=$(jget "$WORK/mig4.json" '"%.1f" % [m for m in j["migrations"] if m["state"] == "done"][-1]["duration_s"]')
echo "    (migration time of g3, 256 MiB, TCG, --migrate-bandwidth 10: $dur s)"
ticks=$(grep -c tick "$LV/cons/g3.console")
sleep 4
check_eq "colocation: g3's console keeps ticking after the migration" yes \
	"$([ "$(grep -c tick "$LV/cons/g3.console")" -gt "$ticks" ] && echo yes || echo "no ($ticks)")"
for _ in $(seq 60); do
	curl -s "$CD_URL/v1/vms" > "$WORK/vms2.json"
	after=$(jget "$WORK/vms2.json" '[v["versions"] for v in j["vms"] if v["uuid"] == "'"$G3"'"][0]')
	[ "${after:-0}" -gt "$((before + 1))" ] && break
	sleep 1
done
check_eq "colocation: g3's mb-guestd uploads again after the move" yes \
	"$([ "${after:-0}" -gt "$((before + 1))" ] && echo yes || echo "no ($before -> $after)")"
check_eq "colocation: the catalogue shows g3 on a" a \
	"$(jget "$WORK/vms2.json" '[v["host"] for v in j["vms"] if v["uuid"] == "'"$G3"'"][0]')"
check_eq "colocation: g1 and g2 did not move" "a a" "$(lv_where g1) $(lv_where g2)"
kill -0 "$CD_PID" && pass "controld still runs" || fail "controld still runs" alive dead
for route in "GET /v1/hosts" "POST /v1/plan " "GET /v1/plan " "POST /v1/plan/apply" "GET /v1/migrations"; do
	check_contains "docs/api.md documents $route" "## $route" "$(cat "$ROOT/docs/api.md")"
done
# The dashboard on this live cluster (docs/dashboard.md): every view's
# numbers against the API while the guests keep uploading.
ui_browser "$BUILD/ui-screenshots-cluster" --url "$CD_URL" --token "$ADMIN_TOKEN" \
	--no-auth --live --mode view --tag cluster
finish
