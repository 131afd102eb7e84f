#!/bin/bash
# tenants.sh - tenant scope for sharing (--sharing-scope, docs/security.md)
# through the real mb-controld and its planner. The hosts are libvirt's
# built-in "test" driver (test:///FILE.xml: an in-process hypervisor with
# the domains the file describes, no QEMU), because planning needs only the
# inventory; tests/libvirt/ runs the controller against real QEMU hosts.
#
#   host a: g1 (tenant red, pages S), g2 (tenant blue, pages T)
#   host b: g3 (tenant blue, pages S), g4 (tenant red, pages T),
#           g5 (tenant red, pages S)
#
# Pages S and T are 20000 random digests each (78 MiB). With the tenant
# scope, host b's g3 and g5 (identical pages, two tenants) share nothing,
# while g1 and g5 (identical pages, one tenant) share all of S, and the
# only move the plan makes brings red's S pages together. With the global
# scope the same hosts count the cross-tenant sharing and the plan
# colocates across tenants.
. "$(dirname "$0")/lib.sh"

U1=11111111-1111-4111-8111-000000000001
U2=11111111-1111-4111-8111-000000000002
U3=11111111-1111-4111-8111-000000000003
U4=11111111-1111-4111-8111-000000000004
U5=11111111-1111-4111-8111-000000000005
add_token admin "$ADMIN_TOKEN"
add_token "$U1" tok-g1-$RANDOM$RANDOM red
add_token "$U2" tok-g2-$RANDOM$RANDOM blue
add_token "$U3" tok-g3-$RANDOM$RANDOM blue
add_token "$U4" tok-g4-$RANDOM$RANDOM red
add_token "$U5" tok-g5-$RANDOM$RANDOM red

test_host "$WORK/a.xml" 256 "g1:$U1" "g2:$U2"
test_host "$WORK/b.xml" 256 "g3:$U3" "g4:$U4" "g5:$U5"
pages() { awk -v s="$1" 'BEGIN { srand(s); for (i = 0; i < 20000; i++) printf "%u\n", int(rand() * 4294967295) }'; }
pages 101 > "$WORK/S.txt"
pages 202 > "$WORK/T.txt"
n=0
for vm in g1:S g2:T g3:S g4:T g5:S; do
	n=$((n + 1))
	"$MBUDDY" trace import --vm "${vm%%:*}" --uuid "11111111-1111-4111-8111-00000000000$n" \
		"$WORK/${vm#*:}.txt" "$WORK/${vm%%:*}.mbt" >/dev/null
done

# plan SCOPE: start controld with --sharing-scope SCOPE, upload the five
# traces, make a plan into $WORK/plan-SCOPE.json (its status in $WORK/code).
plan() {
	local n=0 vm
	start_controld "$WORK/data-$1" --sharing-scope "$1" \
		--host "a,test://$WORK/a.xml" --host "b,test://$WORK/b.xml" \
		--plan-interval 0 --stats-interval 0 --min-gain-mb 1 || return 1
	for vm in g1 g2 g3 g4 g5; do
		n=$((n + 1))
		put_trace "11111111-1111-4111-8111-00000000000$n" "$WORK/$vm.mbt" "$ADMIN_TOKEN" >/dev/null
	done
	curl -s -o "$WORK/plan-$1.json" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $ADMIN_TOKEN" "$CD_URL/v1/plan" > "$WORK/code"
}
host_mb() { jget "$WORK/plan-$1.json" "[h['$3'] for h in j['hosts'] if h['name'] == '$2'][0]"; }
moved() { jget "$WORK/plan-$1.json" '" ".join(sorted(m["name"] for m in j["moves"]))'; }

plan tenant || exit 1
check_eq "a plan is made with --sharing-scope tenant" 200 "$(cat "$WORK/code")"
stop_controld TERM
plan global || exit 1
check_eq "... and with --sharing-scope global" 200 "$(cat "$WORK/code")"
stop_controld TERM

# about MB: "yes" when the number $2 is within 0.05 of $1.
about() { python3 -c 'import sys; print("yes" if abs(float(sys.argv[1]) - float(sys.argv[2])) < 0.05 else "no: %s" % sys.argv[2])' "$1" "$2"; }
# 20000 pages are 78.125 MiB; each VM is configured with 256 MiB.
check_eq "tenant scope: host b counts no sharing between g3 (blue) and g5 (red), though their pages are identical" \
	yes "$(about 768 "$(host_mb tenant b before_mb)")"
check_eq "global scope: host b counts their 78 MiB of identical pages" \
	yes "$(about 689.875 "$(host_mb global b before_mb)")"
check_eq "the plan's inputs carry each VM's tenant" "red blue blue red red" \
	"$(jget "$WORK/plan-tenant.json" '" ".join(v["tenant"] for v in sorted(j["inputs"], key=lambda v: v["name"]))')"
move=$(jget "$WORK/plan-tenant.json" '" ".join(m["name"] + ">" + m["to"] for m in j["moves"])')
case $move in
"g5>a"|"g1>b") pass "tenant scope: the only move brings red's identical pages together ($move)" ;;
*) fail "tenant scope: one move brings g1 and g5 (red, pages S) together" "g5>a or g1>b" "$move" ;;
esac
to=$(jget "$WORK/plan-tenant.json" 'j["moves"][0]["to"]')
want=689.875
[ "$to" = b ] && want=945.875
check_eq "... where all of S is shared within the tenant (its host saves 78.125 MiB)" \
	yes "$(about "$want" "$(host_mb tenant "$to" after_mb)")"
check_contains "... as its reason says" "shares 78 MiB more on $to" \
	"$(jget "$WORK/plan-tenant.json" 'j["moves"][0]["reason"]')"
cross=$(jget "$WORK/plan-global.json" '" ".join(sorted(set(m["name"] for m in j["moves"]) & {"g2", "g3"}))')
if [ -n "$cross" ]; then
	pass "global scope: the plan colocates across tenants (moves $cross of blue next to red)"
else
	fail "global scope colocates across tenants" "a move of g2 or g3" "moves: $(moved global)"
fi
finish
