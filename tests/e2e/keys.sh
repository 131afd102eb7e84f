#!/bin/bash
# keys.sh - keyed digests through the real mb-controld (docs/security.md,
# docs/api.md): GET /v1/vms/{uuid}/key, keyed uploads, and sharing and
# plans over keyed traces. The hosts are libvirt's test driver, as in
# tenants.sh; the traces are written by tests/e2e/keyed_trace.py from
# page sets (digests by the Python reference, under the key controld
# handed out). tests/e2e/keyed.sh does the same with real guests.
#
#   tenant red: k1, k2, k5    tenant blue: k3    no tenant: k4
#   tenant green: k6 (never fetches a key)
#
# Checks: only a VM's own token gets its key (401/403 for the others,
# admin and host tokens too); one key per tenant, kept 0600 in
# DATADIR/keys and the same after a restart; a world-readable keys file
# stops the daemon; a keyed upload must carry its tenant's key id; the
# seeds are nowhere in the log (--verbose), /metrics or the catalogue;
# /v1/sharing compares only traces of one key; a plan over keyed traces
# of one tenant is the plan over the same pages plain, and a VM whose
# trace is of another space than its tenant's others is not planned.
. "$(dirname "$0")/lib.sh"

K1=6b657973-0000-4000-8000-000000000001
K2=6b657973-0000-4000-8000-000000000002
K3=6b657973-0000-4000-8000-000000000003
K4=6b657973-0000-4000-8000-000000000004
K5=6b657973-0000-4000-8000-000000000005
K6=6b657973-0000-4000-8000-000000000006
add_token admin "$ADMIN_TOKEN"
add_token host=a "tok-host-a-$RANDOM$RANDOM"
HOST_TOKEN=$(awk '$1 == "host=a" { print $2 }' "$WORK/tokens")
declare -A TOK
for k in 1 2 3 4 5 6; do
	TOK[$k]=tok-k$k-$RANDOM$RANDOM
done
add_token "$K1" "${TOK[1]}" red
add_token "$K2" "${TOK[2]}" red
add_token "$K3" "${TOK[3]}" blue
add_token "$K4" "${TOK[4]}"
add_token "$K5" "${TOK[5]}" red
add_token "$K6" "${TOK[6]}" green
KEYED_TRACE=$E2E_DIR/keyed_trace.py
S=300	# pages of set 1, which every VM holds: 1.17 MiB

# host FILE NAME:UUID...: a test-driver host of 4 GiB with 256 MiB domains.
host() {
	local f=$1 d
	shift
	{
		echo "<node><cpu><mhz>2000</mhz><model>i686</model><active>2</active>"
		echo "<nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>"
		echo "<memory>4194304</memory>"
		for d in "$@"; do
			echo "<domain type='test'><name>${d%%:*}</name><uuid>${d#*:}</uuid>"
			echo "<memory>262144</memory><currentMemory>262144</currentMemory>"
			echo "<vcpu>1</vcpu><os><type arch='i686'>hvm</type></os></domain>"
		done
		echo "</node>"
	} > "$f"
}
host "$WORK/a.xml" "k1:$K1" "k3:$K3"
host "$WORK/b.xml" "k2:$K2" "k4:$K4" "k5:$K5"
HOSTS=(--host "a,test://$WORK/a.xml" --host "b,test://$WORK/b.xml")

# get_key N [UUID] [TOKEN]: GET the key of UUID (default kN's) with TOKEN
# (default kN's); prints the status, the body goes to $WORK/key-N.json,
# the headers to $WORK/key-N.headers.
get_key() {
	local n=$1 u=${2:-} t v=K$1
	if [ $# -ge 3 ]; then t=$3; else t=${TOK[$1]}; fi
	[ -n "$u" ] || u=${!v}
	curl -s -D "$WORK/key-$n.headers" -o "$WORK/key-$n.json" -w '%{http_code}' \
		${t:+-H "Authorization: Bearer $t"} "$CD_URL/v1/vms/$u/key"
}

DATA=$WORK/data
start_controld "$DATA" --verbose || exit 1
check_eq "no key exists before a VM asks" "absent" "$([ -e "$DATA/keys" ] && echo present || echo absent)"

# ---- who gets a key ----
check_eq "k1's own token gets its key (200)" 200 "$(get_key 1)"
check_eq "... as {key_id, seed, algorithm}" "8 16 xxh64" \
	"$(jget "$WORK/key-1.json" '"%d %d %s" % (len(j["key_id"]), len(j["seed"]), j["algorithm"])')"
check_contains "... never cached on the way (Cache-Control: no-store)" "no-store" \
	"$(tr -d '\r' < "$WORK/key-1.headers" | grep -i '^cache-control:')"
check_eq "k2 (also tenant red) gets the same key" "$(cat "$WORK/key-1.json")" \
	"$(get_key 2 >/dev/null; cat "$WORK/key-2.json")"
check_eq "k3 (tenant blue) gets a key" 200 "$(get_key 3)"
check_eq "k4 (no tenant) gets a key" 200 "$(get_key 4)"
ids=$(for n in 1 3 4; do jget "$WORK/key-$n.json" 'j["key_id"] + ":" + j["seed"]'; done | sort -u | wc -l)
check_eq "red, blue and the VMs without a tenant have three different keys" 3 "$ids"
check_eq "k1's token for k2's key: 403" 403 "$(get_key x "$K2" "${TOK[1]}")"
check_contains "... saying so" "this token may not fetch this vm's key" "$(cat "$WORK/key-x.json")"
check_eq "the admin token: 403" 403 "$(get_key x "$K1" "$ADMIN_TOKEN")"
check_contains "... only the vm's own token may" "only the vm's own token may" "$(cat "$WORK/key-x.json")"
check_eq "a host token: 403" 403 "$(get_key x "$K1" "$HOST_TOKEN")"
check_eq "no token: 401" 401 "$(get_key x "$K1" "")"
check_eq "an unknown token: 401" 401 "$(get_key x "$K1" "not-a-token")"
check_eq "a malformed uuid: 400" 400 "$(get_key x "not-a-uuid" "${TOK[1]}")"
check_eq "POST to the key: 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer ${TOK[1]}" "$CD_URL/v1/vms/$K1/key")"
check_eq "DATADIR/keys is mode 0600" 600 "$(stat -c %a "$DATA/keys")"
check_eq "... with the three keys" 3 "$(grep -c '^[0-9a-f]\{8\} [0-9a-f]\{16\}' "$DATA/keys")"
RED_ID=$(jget "$WORK/key-1.json" 'j["key_id"]')
BLUE_ID=$(jget "$WORK/key-3.json" 'j["key_id"]')

# ---- keyed uploads ----
python3 "$KEYED_TRACE" "$WORK/k1.mbt" "$K1" k1 "$WORK/key-1.json" 1:$S 2:30
python3 "$KEYED_TRACE" "$WORK/k2.mbt" "$K2" k2 "$WORK/key-1.json" 1:$S 3:30
python3 "$KEYED_TRACE" "$WORK/k3.mbt" "$K3" k3 "$WORK/key-3.json" 1:$S 4:30
python3 "$KEYED_TRACE" "$WORK/k4.mbt" "$K4" k4 - 1:$S 5:30
python3 "$KEYED_TRACE" "$WORK/k5.mbt" "$K5" k5 - 1:$S 6:30
python3 "$KEYED_TRACE" "$WORK/k1-blue.mbt" "$K1" k1 "$WORK/key-3.json" 1:10
python3 "$KEYED_TRACE" "$WORK/k6.mbt" "$K6" k6 "$WORK/key-3.json" 1:10
python3 "$KEYED_TRACE" "$WORK/k1-forged.mbt" "$K1" k1 "$WORK/key-3.json" --key-id "$RED_ID" 1:10
check_eq "k1 uploads a trace keyed with red's key (201)" 201 "$(put_trace "$K1" "$WORK/k1.mbt" "${TOK[1]}")"
check_eq "k1's trace keyed with blue's key: 403" 403 "$(put_trace "$K1" "$WORK/k1-blue.mbt" "${TOK[1]}")"
check_contains "... saying whose key it carries" "keyed with key $BLUE_ID, but this vm's tenant's key is $RED_ID" "$(cat "$WORK/body")"
check_eq "... also from the admin token: 403" 403 "$(put_trace "$K1" "$WORK/k1-blue.mbt" "$ADMIN_TOKEN")"
check_eq "k6 (tenant green, no key handed out) uploads a keyed trace: 403" 403 "$(put_trace "$K6" "$WORK/k6.mbt" "${TOK[6]}")"
check_contains "... no key was handed out" "no key was handed out for this vm's tenant" "$(cat "$WORK/body")"
# A trace with red's id but digests under blue's seed is accepted (the id
# is all controld can check); the planner then finds it shares nothing.
check_eq "red's key id on other digests: accepted (201), its pages just match nothing" 201 \
	"$(put_trace "$K1" "$WORK/k1-forged.mbt" "${TOK[1]}")"
check_eq "k1 uploads its keyed trace again (201)" 201 "$(put_trace "$K1" "$WORK/k1.mbt" "${TOK[1]}")"
for n in 2 3 4 5; do
	v=K$n
	check_eq "k$n uploads its trace (201)" 201 "$(put_trace "${!v}" "$WORK/k$n.mbt" "${TOK[$n]}")"
done

# ---- sharing over keyed traces ----
check_eq "GET /v1/sharing" 200 "$(admin_get /v1/sharing "$WORK/sharing.json")"
check_eq "... compares the two traces under red's key (the most common key)" "k1 k2" \
	"$(jget "$WORK/sharing.json" '" ".join(sorted(v["name"] for v in j["vms"]))')"
check_eq "... and skips blue's and the plain ones, saying why" "k3:keyed with key $BLUE_ID k4:plain digests k5:plain digests" \
	"$(jget "$WORK/sharing.json" '" ".join(sorted(s["name"] + ":" + s["why"].split(",")[0].replace("digests keyed", "keyed") for s in j["skipped"]))')"
check_eq "... k1 and k2 share the $S pages of set 1" $S \
	"$(jget "$WORK/sharing.json" 'j["common"][0][1]')"
"$MBUDDY" sharing --json "$WORK/k1.mbt" "$WORK/k2.mbt" > "$WORK/mbuddy-keyed.json"
check_eq "mbuddy sharing says the same of the keyed files" $S \
	"$(jget "$WORK/mbuddy-keyed.json" 'j["common"][0][1]')"
python3 "$KEYED_TRACE" "$WORK/k1-plain.mbt" "$K1" k1 - 1:$S 2:30
python3 "$KEYED_TRACE" "$WORK/k2-plain.mbt" "$K2" k2 - 1:$S 3:30
"$MBUDDY" sharing --json "$WORK/k1-plain.mbt" "$WORK/k2-plain.mbt" > "$WORK/mbuddy-plain.json"
check_eq "... which is what the same pages share plain" \
	"$(jget "$WORK/mbuddy-plain.json" '[j["common"], j["group"]]')" \
	"$(jget "$WORK/mbuddy-keyed.json" '[j["common"], j["group"]]')"
out=$("$MBUDDY" sharing "$WORK/k1.mbt" "$WORK/k1-plain.mbt" 2>&1)
check_contains "mbuddy sharing refuses to compare keyed with plain digests" "keyed and plain digests cannot be compared" "$out"

# ---- no seed anywhere but the keys file ----
admin_get /metrics "$WORK/metrics.txt" >/dev/null
leaks=0
for n in 1 3 4; do
	seed=$(jget "$WORK/key-$n.json" 'j["seed"]')
	for f in "$CD_LOG" "$WORK/metrics.txt" "$WORK/sharing.json" "$DATA/catalogue.db"; do
		grep -qi "$seed" "$f" && { leaks=$((leaks + 1)); echo "seed of k$n found in $f"; }
	done
	grep -rqi --exclude=keys "$seed" "$DATA" && { leaks=$((leaks + 1)); echo "seed of k$n found in $DATA"; }
done
check_eq "no seed in the log (--verbose), /metrics, /v1/sharing or the data directory but its keys file" 0 "$leaks"
check_contains "the log says a key was made, by its id" "made key $RED_ID for tenant 'red'" "$(cat "$CD_LOG")"
stop_controld TERM

# ---- persistence and the file's mode ----
start_controld "$DATA" || exit 1
get_key r1 "$K1" "${TOK[1]}" >/dev/null
check_eq "after a restart k1 gets the same key" "$(cat "$WORK/key-1.json")" "$(cat "$WORK/key-r1.json")"
stop_controld TERM
chmod 0644 "$DATA/keys"
start_controld "$DATA" >/dev/null 2>&1
check_contains "a keys file others can read stops mb-controld, naming it" "keys file $DATA/keys is mode 0644" "$(cat "$CD_LOG")"
kill "$CD_PID" 2>/dev/null
chmod 0600 "$DATA/keys"

# ---- plans: keyed traces of one tenant plan as the same pages plain ----
# plan NAME DATADIR: start controld on the test-driver hosts, upload the
# traces $WORK/NAME-kN.mbt, make a plan into $WORK/plan-NAME.json.
plan() {
	local n v
	start_controld "$2" "${HOSTS[@]}" --plan-interval 0 --stats-interval 0 \
		--min-gain-mb 1 || return 1
	for n in 1 2 3 4 5; do
		v=K$n
		check_eq "$1 plan: k$n's trace is stored" 201 \
			"$(put_trace "${!v}" "$WORK/$1-k$n.mbt" "${TOK[$n]}")"
	done
	curl -s -o "$WORK/plan-$1.json" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $ADMIN_TOKEN" "$CD_URL/v1/plan" > "$WORK/code"
	stop_controld TERM
}
# keyed: k1, k2 under red's key, k3 under blue's, k4 plain (no tenant),
# k5 plain though red: the odd one out of its tenant. plain: the same
# pages plain, but k5 keyed (red's key): again the odd one out of red.
for n in 1 2 3 4 5; do
	cp "$WORK/k$n.mbt" "$WORK/keyed-k$n.mbt"
done
for n in 1 2 3; do
	v=K$n
	python3 "$KEYED_TRACE" "$WORK/plain-k$n.mbt" "${!v}" k$n - 1:$S $((n + 1)):30
done
cp "$WORK/k4.mbt" "$WORK/plain-k4.mbt"
python3 "$KEYED_TRACE" "$WORK/plain-k5.mbt" "$K5" k5 "$WORK/key-1.json" 1:$S 6:30
mkdir -p "$WORK/data-plain"
cp -p "$DATA/keys" "$WORK/data-plain/keys"
plan keyed "$DATA" || exit 1
check_eq "a plan over keyed traces is made" 200 "$(cat "$WORK/code")"
plan plain "$WORK/data-plain" || exit 1
check_eq "a plan over the same pages plain is made" 200 "$(cat "$WORK/code")"
why() { jget "$WORK/plan-$1.json" '[u["why"] for u in j["unplanned"] if u["name"] == "k5"][0]'; }
check_contains "keyed plan: k5 (red, plain) is not planned beside red's keyed traces, saying why" \
	"its digests are plain xxh64, most others of its tenant are xxh64 keyed with key $RED_ID" "$(why keyed)"
check_contains "plain plan: k5 (red, keyed) is not planned beside red's plain traces" \
	"its digests are xxh64 keyed with key $RED_ID, most others of its tenant are plain xxh64" "$(why plain)"
moves() { jget "$WORK/plan-$1.json" '" ".join(sorted(m["name"] + ">" + m["to"] for m in j["moves"]))'; }
hosts() { jget "$WORK/plan-$1.json" '" ".join("%s:%.4f:%.4f" % (h["name"], h["before_mb"], h["after_mb"]) for h in j["hosts"])'; }
case " $(moves keyed) " in
*" k2>a "*|*" k1>b "*) pass "the keyed plan brings red's shared pages together ($(moves keyed))" ;;
*) fail "the keyed plan brings k1 and k2 (red, set 1) together" "a move k2>a or k1>b" "$(moves keyed)" ;;
esac
check_eq "... the same moves as the plan over the same pages plain" "$(moves plain)" "$(moves keyed)"
check_eq "... with the same memory on every host before and after ($(hosts keyed))" "$(hosts plain)" "$(hosts keyed)"
check_eq "... and the same saving" "$(jget "$WORK/plan-plain.json" '"%.4f" % j["saved_mb"]')" \
	"$(jget "$WORK/plan-keyed.json" '"%.4f" % j["saved_mb"]')"
finish
