#!/bin/bash
# upload.sh - end to end on loopback: mb-controld plus two mb-guestd
# --once --device FILE runs per cycle. Checks: the stored bytes equal the
# uploaded ones; versions 1, 2, 3 after three cycles; statistics reach
# the catalogue; retention (--keep) drops the oldest; versions stay
# monotonic across restarts and retention; the catalogue is rebuilt from
# the files when deleted or damaged; mbuddy status reports the VMs.
#
# Traces: the captured ones in memtraces/ when there are any (each VM
# cycles through them), otherwise synthetic ones made with mbuddy.
. "$(dirname "$0")/lib.sh"

DATA=$WORK/data
ZERO=00000000-0000-0000-0000-000000000000
declare -A VM_UUID VM_TOKEN
mapfile -t REAL < <(real_traces)
if [ ${#REAL[@]} -gt 0 ]; then
	echo "traces: ${#REAL[@]} captured trace(s) from memtraces/"
else
	echo "traces: memtraces/ has none; synthetic traces made with mbuddy"
fi
# Each VM's first cycle uploads a captured trace exactly as captured (its
# header names the VM, or is zero); later cycles upload other captures
# relabelled with this VM's uuid by 'mbuddy trace import', as the same
# guest would produce over time.
base=0
for vm in a b; do
	if [ ${#REAL[@]} -gt 0 ]; then
		u=$(trace_uuid "${REAL[$base]}")
		[ "$u" = "$ZERO" ] && u=$(new_uuid)
		for c in 1 2 3; do
			src=${REAL[$(( (base + c - 1) % ${#REAL[@]} ))]}
			hu=$(trace_uuid "$src")
			if [ "$c" = 1 ] || [ "$hu" = "$ZERO" ]; then
				cp "$src" "$WORK/$vm-$c.mbt"
			else
				"$MBUDDY" trace import --vm "vm-$vm" --uuid "$u" "$src" "$WORK/$vm-$c.mbt" >/dev/null
			fi
		done
		base=$((base + 3 < ${#REAL[@]} ? base + 3 : 1))
	else
		u=$(new_uuid)
		for c in 1 2 3; do
			make_trace "$WORK/$vm-$c.mbt" $((3000 + 100 * c)) "$c$RANDOM" "$u" "vm-$vm"
		done
	fi
	VM_UUID[$vm]=$u
	VM_TOKEN[$vm]=tok-$vm-$RANDOM$RANDOM
	add_token "$u" "${VM_TOKEN[$vm]}"
	echo "${VM_TOKEN[$vm]}" > "$WORK/token-$vm"
done
add_token admin "$ADMIN_TOKEN"

start_controld "$DATA" || exit 1

cycle() {	# cycle N: both guests run once with trace N; check versions
	local c=$1 vm out status
	for vm in a b; do
		out=$("$GUESTD" --once --server "$CD_URL" --device "$WORK/$vm-$c.mbt" \
			--vm-uuid "${VM_UUID[$vm]}" --vm-name "vm-$vm" \
			--token-file "$WORK/token-$vm" 2>>"$WORK/guestd.log")
		status=$?
		check_eq "cycle $c: mb-guestd --once for vm $vm exits 0" 0 "$status"
		check_eq "cycle $c: vm $vm's upload is stored as version $c" "$c" "$out"
	done
}
for c in 1 2 3; do cycle "$c"; done

for vm in a b; do
	u=${VM_UUID[$vm]}
	for c in 1 2 3; do
		if cmp -s "$WORK/$vm-$c.mbt" "$DATA/vms/$u/$c.mbt"; then
			pass "vm $vm version $c on disk is byte for byte the uploaded trace"
		else
			fail "vm $vm version $c on disk equals the upload" "identical bytes" "$(cmp "$WORK/$vm-$c.mbt" "$DATA/vms/$u/$c.mbt" 2>&1)"
		fi
		st=$(admin_get "/v1/vms/$u/traces/$c" "$WORK/got.mbt")
		if [ "$st" = 200 ] && cmp -s "$WORK/got.mbt" "$WORK/$vm-$c.mbt"; then
			pass "GET /v1/vms/{uuid}/traces/$c returns the uploaded bytes (vm $vm)"
		else
			fail "GET vm $vm version $c returns the uploaded bytes" "200 and identical bytes" "status $st, $(cmp "$WORK/got.mbt" "$WORK/$vm-$c.mbt" 2>&1)"
		fi
	done
done

admin_get /v1/vms "$WORK/vms.json" >/dev/null
check_eq "GET /v1/vms lists two VMs" 2 "$(jget "$WORK/vms.json" 'len(j["vms"])')"
admin_get "/v1/vms/${VM_UUID[a]}/traces" "$WORK/traces.json" >/dev/null
check_eq "GET /v1/vms/{uuid}/traces lists versions 1, 2, 3" "[1, 2, 3]" \
	"$(jget "$WORK/traces.json" '[t["version"] for t in j["traces"]]')"
check_eq "the upload's page count is catalogued" \
	"$("$MBUDDY" trace info --json "$WORK/a-3.mbt" > "$WORK/i.json"; jget "$WORK/i.json" 'j["pages"]')" \
	"$(jget "$WORK/traces.json" 'j["traces"][2]["page_count"]')"
memtotal=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
check_eq "the guest's MemTotal reaches the catalogue" "$memtotal" \
	"$(jget "$WORK/traces.json" 'j["traces"][2]["stats"]["mem_total_kb"]')"
check_eq "GET /v1/vms/{uuid} names the VM after its latest trace" \
	"$("$MBUDDY" trace info --json "$WORK/a-3.mbt" > "$WORK/i.json"; jget "$WORK/i.json" 'j["vm_name"]')" \
	"$(admin_get "/v1/vms/${VM_UUID[a]}" "$WORK/vm.json" >/dev/null; jget "$WORK/vm.json" 'j["name"]')"

# mbuddy status, human and JSON.
if "$MBUDDY" status --help >/dev/null 2>&1; then
	MB_CONTROLD_URL=$CD_URL MB_ADMIN_TOKEN=$ADMIN_TOKEN "$MBUDDY" status --json > "$WORK/status.json" 2>"$WORK/status.err"
	check_eq "mbuddy status --json sees two VMs with 3 versions each" "[3, 3]" \
		"$(jget "$WORK/status.json" 'sorted(v["versions"] for v in j["vms"])')"
	out=$(MB_CONTROLD_URL=$CD_URL MB_ADMIN_TOKEN=$ADMIN_TOKEN "$MBUDDY" status 2>&1)
	check_contains "mbuddy status prints vm a's uuid" "${VM_UUID[a]}" "$out"
	out=$("$MBUDDY" status --url "$CD_URL" --token bad-token-123 2>&1)
	check_contains "mbuddy status with a bad token explains the refusal" "unknown token" "$out"
fi

# The daemon mode: a cycle every --interval seconds until SIGTERM.
"$GUESTD" --server "$CD_URL" --device "$WORK/b-1.mbt" --interval 1 \
	--vm-uuid "${VM_UUID[b]}" --token-file "$WORK/token-b" --verbose 2>"$WORK/daemon.log" &
gpid=$!
STARTED_PIDS+=("$gpid")
for i in $(seq 1 100); do
	[ -f "$DATA/vms/${VM_UUID[b]}/6.mbt" ] && break
	sleep 0.1
done
kill -TERM "$gpid"; wait "$gpid"
check_eq "mb-guestd in daemon mode exits 0 on SIGTERM" 0 "$?"
check_eq "mb-guestd in daemon mode uploaded versions 4, 5, 6 one interval apart" 3 \
	"$(grep -c 'stored as version [456] ' "$WORK/daemon.log")"

# Retention and monotonic versions across a restart.
stop_controld TERM
check_eq "SIGTERM stops mb-controld with status 0" 0 "$CD_STATUS"
start_controld "$DATA" --keep 2 || exit 1
admin_get "/v1/vms/${VM_UUID[a]}/traces" "$WORK/traces.json" >/dev/null
check_eq "restart with --keep 2 drops the oldest version" "[2, 3]" \
	"$(jget "$WORK/traces.json" '[t["version"] for t in j["traces"]]')"
out=$("$GUESTD" --once --server "$CD_URL" --device "$WORK/a-1.mbt" \
	--vm-uuid "${VM_UUID[a]}" --token-file "$WORK/token-a" 2>>"$WORK/guestd.log")
check_eq "the next upload after a restart is version 4" 4 "$out"
admin_get "/v1/vms/${VM_UUID[a]}/traces" "$WORK/traces.json" >/dev/null
check_eq "retention keeps the newest 2 (3, 4)" "[3, 4]" \
	"$(jget "$WORK/traces.json" '[t["version"] for t in j["traces"]]')"
check_eq "the dropped versions' files are gone" "3.json 3.mbt 4.json 4.mbt" \
	"$(ls "$DATA/vms/${VM_UUID[a]}" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "a dropped version answers 404" 404 \
	"$(admin_get "/v1/vms/${VM_UUID[a]}/traces/1" "$WORK/x")"

# Catalogue lost: rebuilt from the files, versions still never reused.
stop_controld TERM
rm -f "$DATA"/catalogue.db*
start_controld "$DATA" --keep 2 || exit 1
admin_get /v1/vms "$WORK/vms.json" >/dev/null
check_eq "a deleted catalogue is rebuilt from the files" "[2, 2]" \
	"$(jget "$WORK/vms.json" 'sorted(v["versions"] for v in j["vms"])')"
admin_get "/v1/vms/${VM_UUID[a]}/traces" "$WORK/traces.json" >/dev/null
check_eq "the rebuilt catalogue keeps the guest's statistics" "$memtotal" \
	"$(jget "$WORK/traces.json" 'j["traces"][1]["stats"]["mem_total_kb"]')"
out=$("$GUESTD" --once --server "$CD_URL" --device "$WORK/a-2.mbt" \
	--vm-uuid "${VM_UUID[a]}" --token-file "$WORK/token-a" 2>>"$WORK/guestd.log")
check_eq "after a rebuild the next version is 5 (never reused)" 5 "$out"

# Catalogue damaged: moved aside and rebuilt.
stop_controld TERM
rm -f "$DATA"/catalogue.db-wal "$DATA"/catalogue.db-shm
head -c 8192 /dev/urandom > "$DATA/catalogue.db"
start_controld "$DATA" --keep 2 || exit 1
admin_get "/v1/vms/${VM_UUID[a]}/traces" "$WORK/traces.json" >/dev/null
check_eq "a damaged catalogue is rebuilt from the files" "[4, 5]" \
	"$(jget "$WORK/traces.json" '[t["version"] for t in j["traces"]]')"
check_contains "the log says the catalogue was rebuilt" "rebuilding it" "$(cat "$CD_LOG")"
if [ -f "$DATA/catalogue.db.damaged" ]; then
	pass "the damaged catalogue is kept aside as catalogue.db.damaged"
else
	fail "the damaged catalogue is kept aside" "catalogue.db.damaged" "$(ls "$DATA")"
fi
stop_controld TERM
check_eq "SIGTERM stops mb-controld with status 0" 0 "$CD_STATUS"
finish
