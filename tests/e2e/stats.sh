#!/bin/bash
# stats.sh - live statistics and the route table through the real
# mb-controld and mb-guestd on loopback, without libvirt: guests' reports
# (POST /v1/vms/{uuid}/stats) with their token rules and bad input, what
# GET /v1/vms/{uuid}/stats and GET /v1/stats serve, 405 with Allow, every
# status counted in /metrics, and the controller routes without --host.
. "$(dirname "$0")/lib.sh"

U=$(new_uuid); U2=$(new_uuid)
TOK=tok-$RANDOM$RANDOM; TOK2=tok-$RANDOM$RANDOM
add_token "$U" "$TOK"; add_token "$U2" "$TOK2"; add_token admin "$ADMIN_TOKEN"
start_controld "$WORK/data" || exit 1

post() {	# post UUID TOKEN BODY: the status; the answer in $WORK/body
	curl -s -o "$WORK/body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary "$3" "$CD_URL/v1/vms/$1/stats"
}
report() {	# report T PSWPIN: a guest report body
	printf '{"name":"g-%s","boot_id":"b1","mem_total_kb":262144,"mem_available_kb":%d,"pswpin":%d,"pswpout":0,"pgmajfault":5,"psi_memory":{"some":{"avg10":2.5,"avg60":1,"avg300":0,"total_us":10}}}' \
		"$1" "$((131072 + $1))" "$2"
}

check_eq "a VM reports its own statistics (202)" 202 "$(post "$U" "$TOK" "$(report 1 100)")"
check_eq "... the answer names the VM" "$U" "$(jget "$WORK/body" 'j["uuid"]')"
sleep 1.1
check_eq "a second report (202)" 202 "$(post "$U" "$TOK" "$(report 2 1200)")"
admin_get "/v1/vms/$U/stats" "$WORK/s.json" >/dev/null
check_eq "GET /v1/vms/{uuid}/stats: both reports, in order" 2 \
	"$(jget "$WORK/s.json" 'len(j["guest"])')"
rate=$(jget "$WORK/s.json" 'j["guest"][1]["swap_in"]')
check_eq "the swap-in rate comes from the counters (1100 pages over about 1.1 s)" yes \
	"$(python3 -c "print('yes' if 700 < float('$rate') < 1100 else 'no ($rate)')")"
check_eq "the guest's MemTotal is served in MiB" 256.0 "$(jget "$WORK/s.json" 'j["guest"][1]["mem_total_mb"]')"
check_eq "PSI some avg10 is served" 2.5 "$(jget "$WORK/s.json" 'j["guest"][1]["psi_some_avg10"]')"
t0=$(jget "$WORK/s.json" 'j["guest"][0]["t"]')
admin_get "/v1/vms/$U/stats?since=$t0" "$WORK/s2.json" >/dev/null
check_eq "?since= leaves out what is not newer" 1 "$(jget "$WORK/s2.json" 'len(j["guest"])')"
check_eq "?since= that is not a time: 400" 400 "$(admin_get "/v1/vms/$U/stats?since=yesterday" "$WORK/body")"
admin_get /v1/stats "$WORK/all.json" >/dev/null
check_eq "GET /v1/stats lists the VM with its latest guest sample" "g-1 256.0" \
	"$(jget "$WORK/all.json" '" ".join("%s %s" % (v["name"], v["guest"]["mem_total_mb"]) for v in j["vms"])')"
"$MBUDDY" top --once --url "$CD_URL" --token "$ADMIN_TOKEN" > "$WORK/top.txt" 2>&1
check_contains "mbuddy top --once shows the VM" "g-1" "$(cat "$WORK/top.txt")"
"$MBUDDY" top --json --url "$CD_URL" --token "$ADMIN_TOKEN" > "$WORK/top.json" 2>&1
check_eq "mbuddy top --json prints GET /v1/stats: the VM and its latest guest sample" "g-1 256.0" \
	"$(jget "$WORK/top.json" '" ".join("%s %s" % (v["name"], v["guest"]["mem_total_mb"]) for v in j["vms"])')"

# Token rules, as for uploads.
check_eq "another VM's token: 403" 403 "$(post "$U" "$TOK2" "$(report 3 1)")"
check_contains "... saying what it may not do" "may not report statistics for this vm" "$(cat "$WORK/body")"
check_eq "no token: 401" 401 "$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST --data-binary '{}' "$CD_URL/v1/vms/$U/stats")"
check_eq "the admin token may report for any VM" 202 "$(post "$U2" "$ADMIN_TOKEN" '{}')"
check_eq "a VM token may not read statistics: 403" 403 \
	"$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" "$CD_URL/v1/vms/$U/stats")"
# Bad input: a clear error, nothing stored.
before=$(admin_get "/v1/vms/$U/stats" "$WORK/b.json" >/dev/null; jget "$WORK/b.json" 'len(j["guest"])')
check_eq "a body that is not JSON: 400" 400 "$(post "$U" "$TOK" 'nonsense')"
check_contains "... saying so" "not JSON" "$(cat "$WORK/body")"
check_eq "a negative counter: 400" 400 "$(post "$U" "$TOK" '{"pswpin":-3}')"
check_contains "... naming the field" "'pswpin' must be a non-negative integer" "$(cat "$WORK/body")"
check_eq "a PSI average over 100: 400" 400 "$(post "$U" "$TOK" '{"psi_memory":{"full":{"avg10":400}}}')"
check_eq "a bad uuid: 400" 400 "$(post "not-a-uuid" "$ADMIN_TOKEN" '{}')"
head -c 70000 /dev/zero | tr '\0' ' ' > "$WORK/big.json"
check_eq "a body over 64 KiB: 413" 413 "$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $TOK" --data-binary @"$WORK/big.json" "$CD_URL/v1/vms/$U/stats")"
check_eq "... and nothing of it was kept" "$before" \
	"$(admin_get "/v1/vms/$U/stats" "$WORK/b.json" >/dev/null; jget "$WORK/b.json" 'len(j["guest"])')"
check_eq "statistics of a VM never seen: 404" 404 "$(admin_get "/v1/vms/$(new_uuid)/stats" "$WORK/body")"

# mb-guestd itself, one report.
"$GUESTD" --server "$CD_URL" --token-file <(echo "$TOK") --vm-uuid "$U" --stats-once \
	> "$WORK/guestd.out" 2> "$WORK/guestd.err"
check_eq "mb-guestd --stats-once is accepted (exit 0)" 0 "$?"
admin_get "/v1/vms/$U/stats" "$WORK/s3.json" >/dev/null
check_eq "... and controld has this machine's MemTotal from it" \
	"$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1024 }' /proc/meminfo)" \
	"$(jget "$WORK/s3.json" '"%.1f" % j["guest"][-1]["mem_total_mb"]')"

# Routes: 405 with Allow, 404, and the controller's without --host.
code=$(curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X DELETE \
	-H "Authorization: Bearer $ADMIN_TOKEN" "$CD_URL/v1/vms/$U/traces")
check_eq "DELETE on a traces path: 405" 405 "$code"
check_contains "... with an Allow header" "Allow: PUT, GET, HEAD" "$(tr -d '\r' < "$WORK/headers")"
check_eq "PUT on a VM's path: 405" 405 "$(curl -s -o "$WORK/body" -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $ADMIN_TOKEN" --data-binary x "$CD_URL/v1/vms/$U")"
check_eq "an unknown path: 404" 404 "$(admin_get /v1/nothing "$WORK/body")"
check_eq "GET /v1/actions without --host: 404" 404 "$(admin_get /v1/actions "$WORK/body")"
check_contains "... saying the controller is off" "no hosts are configured" "$(cat "$WORK/body")"
admin_get /metrics "$WORK/metrics" >/dev/null
m=$(cat "$WORK/metrics")
check_contains "/metrics counts the 405 answers" 'mb_controld_errors_total{status="405"} 2' "$m"
check_contains "/metrics counts the 202 answers" 'mb_controld_responses_total{status="202"} 4' "$m"
check_contains "/metrics counts the 413 answer" 'mb_controld_errors_total{status="413"} 1' "$m"
check_contains "/metrics has the guest's gauges" "mb_controld_guest_mem_total_bytes{vm=\"$U\"" "$m"
stop_controld TERM
check_eq "controld stops cleanly" 0 "$CD_STATUS"

# The pressure route, with a controller whose one host is down (the route
# needs --host; tests/libvirt/balance.sh drives it against a real host).
start_controld "$WORK/data2" --host "x,qemu+unix:///session?socket=$WORK/no-such-socket,capacity=1024" \
	--balance cagma --stats-interval 0 || exit 1
pressure() {	# pressure UUID TOKEN BODY
	curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$3" "$CD_URL/v1/vms/$1/pressure"
}
check_eq "a VM reports memory pressure for itself (202)" 202 \
	"$(pressure "$U" "$TOK" '{"trigger":"psi some 100000 1000000","pswpin":5}')"
check_eq "... and the balancer takes it" True "$(jget "$WORK/body" 'j["balancing"]')"
check_contains "... logged with what fired" "reports memory pressure: psi some 100000 1000000" "$(cat "$CD_LOG")"
check_eq "another VM's token may not report pressure for it (403)" 403 "$(pressure "$U" "$TOK2" '{}')"
check_contains "... saying so" "may not report memory pressure for this vm" "$(cat "$WORK/body")"
check_eq "a pressure report with a bad field: 400" 400 "$(pressure "$U" "$TOK" '{"trigger":7}')"
check_contains "... naming it" "'trigger' must be a string" "$(cat "$WORK/body")"
check_eq "the report is kept as a sample too" 1 \
	"$(admin_get "/v1/vms/$U/stats" "$WORK/p.json" >/dev/null; jget "$WORK/p.json" 'len(j["guest"])')"
admin_get /v1/balance "$WORK/bal.json" >/dev/null
check_eq "GET /v1/balance: cagma, a dry run, no round yet on a host that is down" "cagma False 0" \
	"$(jget "$WORK/bal.json" '"%s %s %d" % (j["mode"], j["apply"], len(j["hosts"]))')"
"$MBUDDY" balance --url "$CD_URL" --token "$ADMIN_TOKEN" > "$WORK/bal.txt"
check_contains "mbuddy balance says the mode and the dry run" "balance cagma every 10 s, dry run" "$(cat "$WORK/bal.txt")"
stop_controld TERM
check_eq "... and that controller stops cleanly" 0 "$CD_STATUS"
out=$("$CONTROLD" --insecure-no-auth --datadir "$WORK/d3" --balance cagma -n 2>&1)
check_contains "--balance without hosts is refused" "--balance needs the hosts" "$out"
out=$("$CONTROLD" --insecure-no-auth --datadir "$WORK/d3" --balance magic -n 2>&1)
check_contains "--balance with an unknown mode names it" "'magic' is not cagma, proportional or off" "$out"
finish
