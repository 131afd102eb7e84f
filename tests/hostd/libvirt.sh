#!/bin/bash
# libvirt.sh - mb-hostd against real libvirt (make check-hostd): two
# session-mode libvirt "hosts" (tests/libvirt/lib.sh), g1 on host a and g2
# on host b (QEMU TCG guests), mb-controld with host tokens and both hosts
# in its inventory. mb-hostd finds each domain's QEMU through libvirt and
# its monitor, hashes it and uploads with its host's token: stored as a
# host-side trace. With the other host's token the same upload is refused
# (403, the inventory has the domain on its own host) and mb-hostd exits
# 4. Also: --domain, the metrics file, --max-cpu on a real guest.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../libvirt/lib.sh"
HOSTD=$BUILD/mb-hostd

for need in virsh libvirtd qemu-system-x86_64 setpriv; do
	command -v $need >/dev/null || { fail "$need is installed (scripts/deps.sh)" "$need" missing; finish; }
done
[ -f "$ROOT/kmod/memtrace.ko" ] || { fail "memtrace.ko is built (make kmod)" kmod/memtrace.ko missing; finish; }
[ -x "$HOSTD" ] || { fail "mb-hostd is built" "$HOSTD" missing; finish; }
on_exit() {
	lv_cleanup
	cleanup
}
trap on_exit EXIT

U1=6d62756c-6864-4000-8000-0000000000a1
U2=6d62756c-6864-4000-8000-0000000000b2
TA=tok-host-a-$RANDOM$RANDOM TB=tok-host-b-$RANDOM$RANDOM
add_token admin "$ADMIN_TOKEN"
add_token host=a "$TA"
add_token host=b "$TB"
(umask 077; echo "$TA" > "$WORK/a.token"; echo "$TB" > "$WORK/b.token")

lv_images || { fail "the guest initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }
lv_host_start a && lv_host_start b || { fail "two libvirt daemons start" started "see above"; finish; }
start_controld "$WORK/data" --inventory-interval 1 --plan-interval 0 --stats-interval 0 \
	--host "a,$(lv_uri a)" --host "b,$(lv_uri b)" || exit 1
# The guests' mb-guestd has no token: its uploads are refused (401), which
# leaves the host-side traces alone in the store.
lv_domain a g1 $U1 256 "" "$CD_PORT" && lv_domain b g2 $U2 256 "" "$CD_PORT" ||
	{ fail "two domains are created" "virsh create succeeds" "$(tail -n 3 "$LV"/*/libvirtd.log)"; finish; }
for _ in $(seq 600); do
	grep -q "^tick 3" "$LV/cons/g1.console" 2>/dev/null &&
		grep -q "^tick 3" "$LV/cons/g2.console" 2>/dev/null && break
	sleep 0.2
done
check_contains "both guests booted" "tick 3" "$(grep -h '^tick 3' "$LV"/cons/g*.console | head -1)"

hostd() {	# hostd HOST TOKEN-FILE [ARGS...]: one cycle; status in $WORK/rc
	local h=$1 t=$2
	shift 2
	"$HOSTD" --connect "$(lv_uri "$h")" --server "$CD_URL" --token-file "$t" \
		--once --retries 0 "$@" > "$WORK/hostd.out" 2> "$WORK/hostd.log"
	echo $? > "$WORK/rc"
}
hostd a "$WORK/a.token" --metrics-file "$WORK/hostd.prom" --verbose
check_eq "mb-hostd on host a stores g1's trace (exit 0)" 0 "$(cat "$WORK/rc")"
check_contains "... found through libvirt's monitor" "RAM block pc.ram" "$(cat "$WORK/hostd.log")"
check_contains "... and uploaded" "domain g1 ($U1): stored as version 1" "$(cat "$WORK/hostd.log")"
admin_get "/v1/vms/$U1/traces" "$WORK/traces.json" >/dev/null
check_eq "controld records it as a host-side trace" host "$(jget "$WORK/traces.json" 'j["traces"][-1]["source"]')"
admin_get "/v1/vms/$U1/traces/1" "$WORK/g1.mbt" >/dev/null
"$MBUDDY" trace info --json "$WORK/g1.mbt" > "$WORK/g1.json"
check_eq "the trace has the FROM_HOST flag and every page of the guest's 256 MiB" "from_host yes" \
	"$(jget "$WORK/g1.json" '" ".join(j["flags"])') $(jget "$WORK/g1.json" '"yes" if j["pages"] >= 65536 else j["pages"]')"
check_contains "the metrics file has g1's pages" \
	"mb_hostd_domain_pages{uuid=\"$U1\",name=\"g1\"} $(jget "$WORK/g1.json" 'j["pages"]')" "$(cat "$WORK/hostd.prom")"
check_contains "... and the uploads" 'mb_hostd_uploads_total{result="stored"} 1' "$(cat "$WORK/hostd.prom")"

# The wrong host's token: the inventory has g1 on a.
hostd a "$WORK/b.token"
check_eq "host b's token cannot upload g1's trace (mb-hostd exits 4)" 4 "$(cat "$WORK/rc")"
check_contains "... controld says why" "host b may not upload for vm $U1: the inventory has it running on a" \
	"$(cat "$WORK/hostd.log")"
admin_get "/v1/vms/$U1/traces" "$WORK/traces.json" >/dev/null
check_eq "... and nothing more is stored" 1 "$(jget "$WORK/traces.json" 'len(j["traces"])')"
hostd b "$WORK/b.token" --domain g2
check_eq "host b stores g2's trace with its own token" 0 "$(cat "$WORK/rc")"
hostd b "$WORK/b.token" --domain no-such-domain
check_eq "--domain naming no running domain: exit 3" 3 "$(cat "$WORK/rc")"

# Every system call of a cycle through libvirt is one the unit allows
# (hostd/mb-hostd.service; tests/e2e/privilege.sh does the same for the
# other daemons).
if command -v strace >/dev/null; then
	strace -f -qq -o "$WORK/hostd.strace" "$HOSTD" --connect "$(lv_uri a)" --server "$CD_URL" \
		--token-file "$WORK/a.token" --once --retries 0 --metrics-file "$WORK/hostd.prom" 2>/dev/null
	bad=$(comm -23 <(used "$WORK/hostd.strace") <(allowed "$ROOT/hostd/mb-hostd.service"))
	check_eq "every system call mb-hostd made ($(used "$WORK/hostd.strace" | wc -l) kinds) is allowed by its unit" "" "$(echo $bad)"
fi

# The CPU budget on a real guest: at most 10 % of a CPU.
hostd a "$WORK/a.token" --max-cpu 10
line=$(grep -o 'hashed with .* in [0-9.]* s, CPU [0-9.]* s' "$WORK/hostd.log")
share=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) { if ($i == "in") w = $(i + 1); if ($i == "CPU") c = $(i + 1) } } END { if (w > 0) printf "%.3f", c / w }')
echo "    --max-cpu 10: $line"
check_eq "--max-cpu 10 keeps the scan at or below 12.5 % of a CPU" yes \
	"$(awk -v s="${share:-1}" 'BEGIN { print (s <= 0.125 ? "yes" : "no: " s) }')"
stop_controld TERM
finish
