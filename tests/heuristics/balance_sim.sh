#!/bin/bash
# tests/heuristics/balance_sim.sh: shell tests of `mbuddy balance-sim`
# through the real binary: the seed's Tables 1 and 2 in faithful mode, the
# --json contract, errors that name the line and field, the real traces of
# memtraces/lackey/ (cut short) checked against an LRU written here in
# Python, the phase generator and the SVG. The expected tables are the
# seed's published results (Tables 1 and 2 of seed 001); every other
# answer is computed here. A few seconds. Needs $MBUDDY and python3.
set -u
MBUDDY=${MBUDDY:-build/mbuddy}
here=$(cd "$(dirname "$0")/../.." && pwd)
seed=$here/memtraces/seed
lackey=$here/memtraces/lackey
work=$(mktemp -d /tmp/mb-balance-sim.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; shift; printf '  %s\n' "$@"; }

misses_of() {	# FILE ARGS...: "m0 m1 ..." per VM
	local f=$1; shift
	"$MBUDDY" balance-sim --faithful --json "$@" "$f" |
		python3 -c 'import json,sys; print(" ".join(str(v["misses"]) for v in json.load(sys.stdin)["vms"]))'
}

# ---- Table 2: test1.dat, last-n, misses per VM for N = 1 .. 10 ----
table2=("3 3 3 3" "5 2 3 5" "5 3 3 5" "5 2 2 5" "5 5 5 5"
	"5 4 4 5" "5 3 3 5" "5 2 2 5" "5 1 2 5" "6 0 2 6")
t2ok=1 t2msg=()
for n in 1 2 3 4 5 6 7 8 9 10; do
	got=$(misses_of "$seed/test1.dat" --policy last-n --every "$n" 2>&1)
	if [ "$got" != "${table2[$((n - 1))]}" ]; then
		t2ok=0; t2msg+=("N=$n: expected ${table2[$((n - 1))]}, got $got")
	fi
done
if [ $t2ok = 1 ]; then ok "faithful last-n: Table 2 (test1.dat, N = 1..10) exactly"
else bad "faithful last-n: Table 2" "${t2msg[@]}"; fi

# ---- Table 1: total misses of the three files / 106 accesses ----
declare -A table1=([static]=0.321 [last-n]=0.236 [proportional]=0.198)
for p in static last-n proportional; do
	total=0 acc=0
	for f in 1 2 3; do
		read -r m a < <("$MBUDDY" balance-sim --faithful --policy "$p" --json \
			"$seed/test$f.dat" | python3 -c \
			'import json,sys; j=json.load(sys.stdin); print(j["misses"], j["accesses"])')
		total=$((total + m)); acc=$((acc + a))
	done
	got=$(python3 -c "print('%.3f' % ($total / $acc))")
	if [ "$acc" = 106 ] && [ "$got" = "${table1[$p]}" ]; then
		ok "faithful $p: Table 1 ratio $got ($total misses / 106 accesses)"
	else
		bad "faithful $p: Table 1" "expected ${table1[$p]} over 106 accesses" \
			"got $got ($total / $acc)"
	fi
done

# ---- the --json contract ----
"$MBUDDY" balance-sim --policy proportional --json "$seed/test3.dat" > "$work/c.json" 2> "$work/err"
if out=$(python3 - "$work/c.json" <<'EOF' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
errs = []
for k in ("policy", "frames", "vms", "accesses", "misses", "miss_ratio"):
    if k not in j:
        errs.append(f"missing key {k}")
if [v["name"] for v in j["vms"]] != ["VM0", "VM1", "VM2"]:
    errs.append(f"VMs not in input order: {[v['name'] for v in j['vms']]}")
for v in j["vms"]:
    for k in ("name", "accesses", "misses", "miss_ratio", "frames_final"):
        if k not in v:
            errs.append(f"vm {v.get('name')}: missing {k}")
    if abs(v["miss_ratio"] - v["misses"] / v["accesses"]) > 1e-9:
        errs.append(f"vm {v['name']}: miss_ratio is not misses / accesses")
if j["accesses"] != sum(v["accesses"] for v in j["vms"]) or j["misses"] != sum(v["misses"] for v in j["vms"]):
    errs.append("totals are not the sums of the VMs")
if sum(v["frames_final"] for v in j["vms"]) > j["frames"]:
    errs.append("the VMs hold more frames than the host has")
if j["policy"] != "proportional" or j["frames"] != 16:
    errs.append(f"policy {j['policy']} frames {j['frames']}")
print("\n".join(errs)); sys.exit(1 if errs else 0)
EOF
); then ok "--json: the contract's keys, VMs in input order, totals are sums"
else bad "--json contract" "$out" "$(cat "$work/err")"; fi

# ---- bad .dat files: the error names the line and field ----
check_err() {	# NAME CONTENT EXPECTED-SUBSTRING [ARGS...]
	local name=$1 content=$2 want=$3; shift 3
	printf '%b' "$content" > "$work/bad.dat"
	"$MBUDDY" balance-sim --faithful "$@" "$work/bad.dat" > "$work/out" 2> "$work/err"
	local st=$?
	if [ $st -eq 1 ] && grep -qF -- "$want" "$work/err"; then
		ok "bad .dat ($name): exit 1, '$want'"
	else
		bad "bad .dat ($name)" "expected exit 1 and '$want'" "got $st: $(cat "$work/err")"
	fi
}
check_err "length promises more pages" '2\n3 1 2 3\n5 1 2\n3\n' "line 4: VM 1's length says 5 pages but the file ends after 3"
check_err "pages after the last VM" '1\n2 4 5 6\n' "line 2, field 4: '6' after the last VM's pages"
check_err "negative page" '1\n3 1 -2 3\n' "line 2, field 3: page 1 of VM 0 is negative (-2)"
check_err "non-numeric page" '1\n3 1 x2 3\n' "line 2, field 3: page 1 of VM 0 'x2' is not a number"
check_err "VM count 0" '0\n' "line 1, field 1: the VM count is 0"
check_err "non-numeric VM count" 'four\n' "line 1, field 1: the VM count 'four' is not a number"
check_err "negative length" '1\n-3 1 2 3\n' "line 2, field 1: the length of VM 0 is negative (-3)"
check_err "empty file" '' "line 1: the file is empty"
python3 -c 'print(17); [print(2, 1, 2) for _ in range(17)]' > "$work/many.dat"
"$MBUDDY" balance-sim --faithful "$work/many.dat" > /dev/null 2> "$work/err"
if [ $? -eq 1 ] && grep -qF "17 VMs but only 16 frames" "$work/err"; then
	ok "more VMs than frames: exit 1, names both counts"
else bad "more VMs than frames" "got: $(cat "$work/err")"; fi

# ---- usage errors exit 2 ----
st_of() { "$MBUDDY" balance-sim "$@" > /dev/null 2>&1; echo $?; }
if [ "$(st_of --policy lru "$seed/test1.dat")" = 2 ] && [ "$(st_of --every 0 "$seed/test1.dat")" = 2 ] &&
   [ "$(st_of)" = 2 ] && [ "$(st_of --synth vms=x)" = 2 ]; then
	ok "usage errors (unknown policy, --every 0, no input, bad --synth) exit 2"
else bad "usage errors exit 2" "policy $(st_of --policy lru "$seed/test1.dat"), every $(st_of --every 0 "$seed/test1.dat")"; fi
"$MBUDDY" balance-sim --faithful --policy meb "$seed/test1.dat" > /dev/null 2> "$work/err"
if grep -q "faithful mode has the seed's policies only" "$work/err"; then
	ok "faithful mode refuses meb, naming the seed's policies"
else bad "faithful meb" "$(cat "$work/err")"; fi

# A VM that never misses gives frames to one that misses every other step
# (tests/unit/test_sim.c works the steps out): giving its last frame away
# at step 22 is where the seed dereferences NULL.
python3 -c 'print(2); print(40, *[0]*40); print(40, *range(40))' > "$work/crash.dat"
"$MBUDDY" balance-sim --faithful --policy last-n "$work/crash.dat" > /dev/null 2> "$work/err"
if [ $? -eq 1 ] && grep -q "step 22, VM 0: gives away its last frame" "$work/err"; then
	ok "faithful: the seed's NULL dereference is an error naming step and VM"
else bad "faithful seed crash" "$(cat "$work/err")"; fi
if "$MBUDDY" balance-sim --policy last-n "$work/crash.dat" > /dev/null 2>&1; then
	ok "real mode runs the same file (the floor keeps the giver alive)"
else bad "real mode on crash.dat" "it failed"; fi

# ---- real traces, cut short, against an LRU written here ----
LIMIT=30000
for t in "$lackey"/*.pages.xz; do
	name=$(basename "$t" .pages.xz)
	"$MBUDDY" balance-sim --policy static --frames 64 --floor 1 --limit $LIMIT --json \
		"$t" "$t" > "$work/t.json" 2> "$work/err"
	if out=$(python3 - "$t" "$work/t.json" $LIMIT <<'EOF' 2>&1
import collections, json, lzma, sys
path, res, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
refs = []
with lzma.open(path, "rt") as f:
    assert f.readline().strip() == "# mbuddy page trace 1"
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        refs.append(int(line, 16))
        if len(refs) == limit:
            break
def lru(refs, frames):
    mem, misses = collections.OrderedDict(), 0
    for p in refs:
        if p in mem:
            mem.move_to_end(p)
        else:
            misses += 1
            mem[p] = 1
            if len(mem) > frames:
                mem.popitem(last=False)
    return misses
j = json.load(open(res))
want = lru(refs, 32)   # two copies of the trace share 64 frames: 32 each
got = [v["misses"] for v in j["vms"]]
if got != [want, want] or j["accesses"] != 2 * len(refs):
    print(f"expected {want} misses per VM over {len(refs)} refs, got {got}, {j['accesses']} accesses")
    sys.exit(1)
EOF
); then ok "real static on $name ($LIMIT refs): misses equal an OrderedDict LRU"
	else bad "real static on $name" "$out" "$(cat "$work/err")"; fi
done

# Every policy on two real traces: the frames add up, no VM below the floor.
set -- "$lackey"/gzip.pages.xz "$lackey"/cc1.pages.xz
for p in static last-n proportional meb cagma; do
	"$MBUDDY" balance-sim --policy "$p" --frames 600 --every 2000 --limit 200000 --json "$@" \
		> "$work/p.json" 2> "$work/err"
	if out=$(python3 - "$work/p.json" <<'EOF' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
fr = [v["frames_final"] for v in j["vms"]]
if sum(fr) > j["frames"] or min(fr) < j["floor"] or j["accesses"] != 400000:
    print(f"frames {fr} of {j['frames']}, floor {j['floor']}, accesses {j['accesses']}")
    sys.exit(1)
print(f"miss ratio {j['miss_ratio']:.4f}, frames {fr}")
EOF
); then ok "real $p on gzip + cc1: frames within the host and floors ($out)"
	else bad "real $p on gzip + cc1" "$out" "$(cat "$work/err")"; fi
done

# ---- synthetic phases: balancing pays; the SVG is a picture ----
synth="vms=3,accesses=60000,small=32,large=256,phases=6,seed=3"
for p in static meb cagma; do
	"$MBUDDY" balance-sim --synth "$synth" --frames 384 --every 500 --policy $p --json \
		> "$work/s-$p.json" 2> "$work/err" || bad "synth $p" "$(cat "$work/err")"
done
if out=$(python3 - "$work" <<'EOF' 2>&1
import json, sys
r = {p: json.load(open(f"{sys.argv[1]}/s-{p}.json")) for p in ("static", "meb", "cagma")}
s = r["static"]["misses"]
msg = ", ".join(f"{p} {r[p]['misses']}" for p in r)
print(msg)
sys.exit(0 if r["meb"]["misses"] < s and r["cagma"]["misses"] < s else 1)
EOF
); then ok "synthetic phases: meb and cagma miss less than static ($out)"
else bad "synthetic phases: balancing beats static" "$out"; fi
"$MBUDDY" balance-sim --synth "$synth" --frames 384 --every 500 --policy cagma \
	--svg "$work/s.svg" > /dev/null 2> "$work/err"
if out=$(python3 - "$work/s.svg" <<'EOF' 2>&1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
polys = root.findall(f"{ns}polygon"); lines = root.findall(f"{ns}polyline")
if len(polys) != 3 or len(lines) != 3:
    print(f"{len(polys)} areas, {len(lines)} lines for 3 VMs"); sys.exit(1)
if min(len(l.get("points").split()) for l in lines) < 100:
    print("too few points"); sys.exit(1)
EOF
); then ok "--svg: well-formed, an area and a line per VM over the run"
else bad "--svg" "$out" "$(cat "$work/err")"; fi

# ---- stdin and the human table ----
if "$MBUDDY" balance-sim --faithful --policy last-n - < "$seed/test1.dat" | grep -q "^total .* 40 .* 12 "; then
	ok "reads stdin ('-'); the table's total row"
else bad "stdin" "$("$MBUDDY" balance-sim --faithful --policy last-n - < "$seed/test1.dat" 2>&1)"; fi

# ---- --help and the man page's section list the same options ----
help_opts=$("$MBUDDY" balance-sim --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
man_opts=$(sed -n '/^\.SS "mbuddy balance-sim"/,/^\.S[SH] /p' "$here/docs/mbuddy.1" |
	grep -o -- '\\-\\-[a-z][a-z\\-]*' | sed 's/\\//g' | sort -u)
syn_opts=$(sed -n '/^\.B mbuddy balance-sim/,/^\.br/p' "$here/docs/mbuddy.1" |
	grep -o -- '\\-\\-[a-z][a-z\\-]*' | sed 's/\\//g' | sort -u)
missing=$(comm -23 <(printf '%s\n' "$help_opts" | grep -v -- '--help') <(printf '%s\n' "$man_opts"))
if [ "$(printf '%s\n' "$help_opts" | grep -v -- '--help')" = "$syn_opts" ] && [ -z "$missing" ]; then
	ok "--help, the man page's synopsis and its section name the same options"
else
	bad "--help vs docs/mbuddy.1" "help: $(echo $help_opts)" "synopsis: $(echo $syn_opts)" "not in the section: $(echo $missing)"
fi

echo "balance-sim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
