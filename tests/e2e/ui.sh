#!/bin/bash
# ui.sh - the dashboard at /ui/ (docs/dashboard.md) in Debian's headless
# Chromium, over HTTP and HTTPS (make check-ui).
#
# The data set is recorded: the real traces of memtraces/ uploaded under
# their own uuids, the three versions of memtraces/series-*.mbt as one VM,
# and the guests' memory reports of memtraces/hotspots/net-gray.json
# posted for three VMs. The hosts are libvirt's test driver (as in
# tenants.sh: an in-process hypervisor, nothing runs), so a plan can be
# made and applied for real while nothing can move: a dry-run cluster.
#
#   host a (4 GiB, 256 MiB reserved): idle-1, loaded, idle-nokaslr-1
#   host b (4 GiB):                   idle-2, userland, idle-nokaslr-2
#
# First the API itself: GET /v1/sharing against `mbuddy sharing --json`
# on the same files. Then tests/e2e/ui_browser.py checks every view's
# numbers against the API, makes and applies a plan, follows the history,
# and keeps screenshots in $BUILD/ui-screenshots/.
. "$(dirname "$0")/lib.sh"

SHOTS=$BUILD/ui-screenshots
PY=/usr/bin/python3		# Debian's, which has python3-selenium
rm -rf "$SHOTS"

T=$ROOT/memtraces
uuid_of() { "$MBUDDY" trace info --json "$1" > "$WORK/info.json" && jget "$WORK/info.json" 'j["vm_uuid"]'; }
VM_TOKEN=tok-vm-$RANDOM$RANDOM$RANDOM
add_token admin "$ADMIN_TOKEN"
add_token "$(uuid_of "$T/idle-1.mbt")" "$VM_TOKEN"

# host FILE NAME...: a test-driver host whose 512 MiB domains are the
# traces NAME.mbt under their uuids.
host() {
	local f=$1 d doms=()
	shift
	for d in "$@"; do doms+=("$d:$(uuid_of "$T/$d.mbt")"); done
	test_host "$f" 512 "${doms[@]}"
}
host "$WORK/a.xml" idle-1 loaded idle-nokaslr-1
host "$WORK/b.xml" idle-2 userland idle-nokaslr-2
HOSTS=(--host "a,test://$WORK/a.xml,reserve=256" --host "b,test://$WORK/b.xml")
start_controld "$WORK/data" "${HOSTS[@]}" --plan-interval 0 --stats-interval 0 \
	--min-gain-mb 1 || exit 1

stored=0
for t in idle-1 loaded idle-nokaslr-1 idle-2 userland idle-nokaslr-2 series-0 series-1 series-2; do
	[ "$(put_trace "$(uuid_of "$T/$t.mbt")" "$T/$t.mbt" "$ADMIN_TOKEN")" = 201 ] && stored=$((stored + 1))
done
check_eq "the nine recorded traces are stored" 9 "$stored"

# The guests' reports of a recorded run, one VM of it per VM here.
$PY - "$T/hotspots/net-gray.json" "$CD_URL" "$ADMIN_TOKEN" \
	"$(uuid_of "$T/idle-1.mbt")" "$(uuid_of "$T/loaded.mbt")" "$(uuid_of "$T/idle-2.mbt")" \
	> "$WORK/reports.out" <<'PY'
import json, sys, time, urllib.error, urllib.request
rec, url, token, targets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
vms = json.load(open(rec))["vms"]
sent = 0
for target, vm in zip(targets, vms):
    for g in vm.get("guest") or []:
        body = {"name": vm["name"], "boot_id": vm["uuid"],
                "mem_total_kb": int(g["mem_total_mb"] * 1024),
                "mem_available_kb": int(g["mem_available_mb"] * 1024),
                "committed_as_kb": int(g["committed_as_mb"] * 1024),
                "swap_total_kb": int(g["swap_total_mb"] * 1024),
                "swap_free_kb": int(g["swap_free_mb"] * 1024)}
        req = urllib.request.Request("%s/v1/vms/%s/stats" % (url, target), method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
        try:
            sent += urllib.request.urlopen(req).status == 202
        except urllib.error.HTTPError as e:
            print("report %s: %d %s" % (target, e.code, e.read().decode()))
        time.sleep(0.3)
print(sent)
PY
check_eq "the recording's eleven guest reports are accepted" 11 "$(cat "$WORK/reports.out")"

# GET /v1/sharing against mbuddy sharing on the same files.
admin_get /v1/sharing "$WORK/sharing.json" > "$WORK/code"
check_eq "GET /v1/sharing answers 200" 200 "$(cat "$WORK/code")"
"$MBUDDY" sharing --json "$T"/idle-1.mbt "$T"/loaded.mbt "$T"/idle-nokaslr-1.mbt "$T"/idle-2.mbt \
	"$T"/userland.mbt "$T"/idle-nokaslr-2.mbt "$T"/series-2.mbt > "$WORK/cli.json"
cmp=$($PY - "$WORK/sharing.json" "$WORK/cli.json" <<'PY'
import json, sys
api, cli = (json.load(open(f)) for f in sys.argv[1:3])
def table(j):
    names = [v["name"] for v in j["vms"]]
    pairs = {(names[i], names[k]): (j["common"][i][k], round(j["shared_fraction"][i][k], 12))
             for i in range(len(names)) for k in range(len(names))}
    vms = {v["name"]: (v["pages"], v["distinct"], v["duplicates"]) for v in j["vms"]}
    return pairs, vms, j["group"], j["algorithm"], j["estimator"]
# The CLI prints reals with 10 significant digits, the API with 17.
def same(x, y):
    if isinstance(x, float) or isinstance(y, float):
        return abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1)
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    return x == y
a, c = table(api), table(cli)
print("same" if same(a, c) else "differ: api %s / cli %s" % (a[1:], c[1:]))
PY
)
check_eq "GET /v1/sharing gives mbuddy sharing's numbers for the latest traces (pairs, VMs, group)" same "$cmp"
check_eq "... with each VM's host and version" "a 1|b 1|- 3" \
	"$(jget "$WORK/sharing.json" '"|".join("%s %d" % (v["host"] or "-", v["version"]) for v in j["vms"] if v["name"] in ("idle-1", "idle-2", "series"))')"
h=$(jget "$WORK/sharing.json" '[h for h in j["hosts"] if h["name"] == "a"][0]["saved"]')
want=$("$MBUDDY" sharing --json "$T"/idle-1.mbt "$T"/loaded.mbt "$T"/idle-nokaslr-1.mbt > "$WORK/a.json" && jget "$WORK/a.json" 'j["group"]["saved"]')
check_eq "... and each host's group of VMs (host a saves what mbuddy sharing says of its three)" \
	"$(printf %.0f "$want")" "$h"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VM_TOKEN" "$CD_URL/v1/sharing")
check_eq "a VM's token may not read the sharing matrix (403)" 403 "$code"

ui_browser "$SHOTS" --url "$CD_URL" --token "$ADMIN_TOKEN" --vm-token "$VM_TOKEN" --mode full --tag http
stop_controld TERM
check_eq "mb-controld exits 0 on SIGTERM after the browser's session" 0 "$CD_STATUS"

# The same data over HTTPS, the browser trusting the test server's key only.
make_test_certs "$WORK/pki" || { fail "the test CA signs a server certificate" "server.pem" "certtool failed"; finish; }
start_controld "$WORK/data" "${HOSTS[@]}" --plan-interval 0 --stats-interval 0 \
	--tls-cert "$WORK/pki/server.pem" --tls-key "$WORK/pki/server.key" || exit 1
spki=$(openssl x509 -in "$WORK/pki/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
ui_browser "$SHOTS" --url "https://127.0.0.1:$CD_PORT" --token "$ADMIN_TOKEN" --ca "$WORK/pki/ca.pem" \
	--spki "$spki" --mode view --tag https
stop_controld TERM
echo "screenshots: $SHOTS"
finish
