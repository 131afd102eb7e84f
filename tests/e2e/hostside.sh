#!/bin/bash
# hostside.sh - who may upload host-side traces (docs/security.md, host
# tokens) and which trace a plan uses when a VM has both kinds
# (--prefer-traces), through the real mb-controld. The hosts are libvirt's
# test driver (test:///FILE.xml, domains without QEMU): the rule needs the
# inventory only. The host-side traces are ordinary ones with the FROM_HOST
# flag set (tests/e2e/mbt_flags.py); tests/hostd/ takes real ones from real
# QEMU guests with mb-hostd.
#
#   host a: g1    host b: g2    host c: in the tokens file, not a --host
. "$(dirname "$0")/lib.sh"

U1=22222222-2222-4222-8222-000000000001
U2=22222222-2222-4222-8222-000000000002
T1=tok-g1-$RANDOM$RANDOM T2=tok-g2-$RANDOM$RANDOM
HA=tok-ha-$RANDOM$RANDOM HB=tok-hb-$RANDOM$RANDOM HC=tok-hc-$RANDOM$RANDOM
add_token admin "$ADMIN_TOKEN"
add_token "$U1" "$T1"
add_token "$U2" "$T2"
add_token host=a "$HA"
add_token host=b "$HB"
add_token host=c "$HC"

host() {	# host FILE NAME:UUID: a test-driver host with one domain
	{
		echo "<node><cpu><mhz>2000</mhz><model>i686</model><active>2</active>"
		echo "<nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>"
		echo "<memory>4194304</memory>"
		echo "<domain type='test'><name>${2%%:*}</name><uuid>${2#*:}</uuid>"
		echo "<memory>262144</memory><currentMemory>262144</currentMemory>"
		echo "<vcpu>1</vcpu><os><type arch='i686'>hvm</type></os></domain>"
		echo "</node>"
	} > "$1"
}
host "$WORK/a.xml" "g1:$U1"
host "$WORK/b.xml" "g2:$U2"
make_trace "$WORK/g1.mbt" 500 1 "$U1" g1
make_trace "$WORK/g2.mbt" 500 2 "$U2" g2
python3 "$E2E_DIR/mbt_flags.py" "$WORK/g1.mbt" "$WORK/g1-host.mbt" 0x8
python3 "$E2E_DIR/mbt_flags.py" "$WORK/g2.mbt" "$WORK/g2-host.mbt" 0x8
check_contains "mbt_flags.py makes a valid host-side trace" "taken from the host" \
	"$("$MBUDDY" trace info "$WORK/g1-host.mbt")"
HOSTS=(--host "a,test://$WORK/a.xml" --host "b,test://$WORK/b.xml"
       --plan-interval 0 --stats-interval 0)
err() { jget "$WORK/body" 'j["error"]'; }

start_controld "$WORK/data" "${HOSTS[@]}" || exit 1
check_eq "host a's token uploads g1's host-side trace (201)" 201 \
	"$(put_trace "$U1" "$WORK/g1-host.mbt" "$HA")"
code=$(put_trace "$U1" "$WORK/g1-host.mbt" "$HB")
check_eq "host b's token may not upload for g1, which runs on host a (403)" \
	"403 host b may not upload for vm $U1: the inventory has it running on a" "$code $(err)"
code=$(put_trace "$U1" "$WORK/g1-host.mbt" "$HC")
check_eq "a host that is not one of controld's is refused (403)" \
	"403 host c may not upload for vm $U1: it is not one of controld's hosts (--host)" "$code $(err)"
code=$(put_trace "$U1" "$WORK/g1.mbt" "$HA")
check_eq "a host token cannot upload a guest trace (403)" "403" "$code"
check_contains "... saying why" "host-side traces (mb-hostd, flag FROM_HOST) only" "$(err)"
code=$(put_trace "$U1" "$WORK/g1-host.mbt" "$T1")
check_eq "a vm's token cannot upload a host-side trace (403)" "403" "$code"
check_contains "... saying why" "not host-side ones (FROM_HOST)" "$(err)"
check_eq "the vm's token uploads its guest trace (201)" 201 \
	"$(put_trace "$U1" "$WORK/g1.mbt" "$T1")"
check_eq "the admin token uploads a host-side trace (201)" 201 \
	"$(put_trace "$U1" "$WORK/g1-host.mbt" "$ADMIN_TOKEN")"
check_eq "host b uploads g2's host-side trace (201)" 201 \
	"$(put_trace "$U2" "$WORK/g2-host.mbt" "$HB")"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $HA" \
	-H 'Content-Type: application/json' --data '{"name":"g1"}' "$CD_URL/v1/vms/$U1/stats")
check_eq "a host token may not report a vm's statistics (403)" 403 "$code"
check_eq "a host token may not read (403)" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HA" "$CD_URL/v1/vms")"
admin_get "/v1/vms/$U1/traces" "$WORK/traces.json" >/dev/null
check_eq "the catalogue records where each trace came from" "host http host" \
	"$(jget "$WORK/traces.json" '" ".join(t["source"] for t in j["traces"])')"

# Which trace a plan uses: g1 has guest and host-side traces (the newest
# a host-side one), g2 a host-side one only.
plan_sources() {
	curl -s -o "$WORK/plan.json" -H "Authorization: Bearer $ADMIN_TOKEN" -X POST "$CD_URL/v1/plan"
	jget "$WORK/plan.json" '" ".join("%s:%s:%d" % (v["name"], v["trace_source"], v["version"]) for v in sorted(j["inputs"], key=lambda v: v["name"]))'
}
check_eq "by default a plan uses g1's guest trace, and g2's host-side one" \
	"g1:http:2 g2:host:1" "$(plan_sources)"
stop_controld TERM
start_controld "$WORK/data" "${HOSTS[@]}" --prefer-traces host || exit 1
check_eq "--prefer-traces host: the host-side traces" "g1:host:3 g2:host:1" "$(plan_sources)"
stop_controld TERM
start_controld "$WORK/data" "${HOSTS[@]}" --prefer-traces newest || exit 1
check_eq "--prefer-traces newest: the latest of either" "g1:host:3 g2:host:1" "$(plan_sources)"
put_trace "$U1" "$WORK/g1.mbt" "$T1" >/dev/null
check_eq "--prefer-traces newest: a newer guest trace then" "g1:http:4 g2:host:1" "$(plan_sources)"
stop_controld TERM
out=$("$CONTROLD" --tokens "$WORK/tokens" --datadir "$WORK/d2" -n --prefer-traces guests 2>&1)
check_contains "mb-controld -n refuses a bad --prefer-traces" \
	"prefer-traces: 'guests' is not guest, host or newest" "$out"

# Without hosts there is no inventory, so no host may upload.
start_controld "$WORK/data" || exit 1
code=$(put_trace "$U1" "$WORK/g1-host.mbt" "$HA")
check_eq "without --host, host tokens are refused (403)" \
	"403 host a may not upload for vm $U1: host tokens need the inventory (--host), which says what each host runs" \
	"$code $(err)"
stop_controld TERM

# The tokens file: a host token has a name and no tenant.
(umask 077; printf 'host=a tok-xxxxxxxx tenant=red\n' > "$WORK/bad-tokens")
out=$("$CONTROLD" --tokens "$WORK/bad-tokens" --datadir "$WORK/d3" -n 2>&1)
check_contains "a host token with a tenant is refused" "a host token belongs to no tenant" "$out"
(umask 077; printf 'host=a/b tok-xxxxxxxx\n' > "$WORK/bad-tokens")
out=$("$CONTROLD" --tokens "$WORK/bad-tokens" --datadir "$WORK/d3" -n 2>&1)
check_contains "a host name with a '/' is refused" "host name 'a/b' has a character" "$out"
finish
