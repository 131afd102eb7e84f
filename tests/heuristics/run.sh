#!/bin/bash
# tests/heuristics/run.sh: shell tests of `mbuddy sharing`, `mbuddy
# best-match` and `mbuddy pack` on real files. Answers are checked against
# an independent computation in Python (plain set intersections, as the
# definitions in docs/sharing.md say), never against numbers copied from a
# previous run. Each test names the behaviour; a failure prints what was
# expected and what came instead. Needs $MBUDDY (the binary) and python3.
set -u
MBUDDY=${MBUDDY:-build/mbuddy}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/mb-heuristics.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; shift; printf '  %s\n' "$@"; }

# Four legacy text VMs over one base: VMi keeps each base page with
# probability 1 - 0.2 (i + 1), plus 100 zero pages (duplicates).
python3 - "$work" <<'EOF'
import random, sys
random.seed(7)
d = sys.argv[1]
base = [random.getrandbits(32) for _ in range(4000)]
for v in range(4):
    pages = [x if random.random() > 0.2 * (v + 1) else random.getrandbits(32)
             for x in base] + [0] * 100
    open(f"{d}/VM{v}.txt0", "w").write("".join(f"{x}\n" for x in pages))
EOF

# ---- sharing: exact answers equal plain set intersections ----
"$MBUDDY" sharing --json "$work"/VM{0,1,2,3}.txt0 > "$work/sharing.json" 2> "$work/err"
if out=$(python3 - "$work" <<'EOF' 2>&1
import json, sys
d = sys.argv[1]
sets = [set(int(l) for l in open(f"{d}/VM{v}.txt0")) for v in range(4)]
pages = [sum(1 for _ in open(f"{d}/VM{v}.txt0")) for v in range(4)]
j = json.load(open(f"{d}/sharing.json"))
errs = []
for a in range(4):
    if j["vms"][a]["distinct"] != len(sets[a]):
        errs.append(f"vm {a}: distinct expected {len(sets[a])}, got {j['vms'][a]['distinct']}")
    if j["vms"][a]["pages"] != pages[a]:
        errs.append(f"vm {a}: pages expected {pages[a]}, got {j['vms'][a]['pages']}")
    for b in range(4):
        want = len(sets[a]) if a == b else len(sets[a] & sets[b])
        if j["common"][a][b] != want:
            errs.append(f"common[{a}][{b}] expected {want}, got {j['common'][a][b]}")
union = len(set().union(*sets))
if j["group"]["distinct"] != union:
    errs.append(f"group distinct expected {union}, got {j['group']['distinct']}")
if j["group"]["saved"] != sum(pages) - union:
    errs.append(f"group saved expected {sum(pages) - union}, got {j['group']['saved']}")
if j["digest_bits"] != 32 or "false_matches" not in j or "false_matches" not in j["group"]:
    errs.append("32-bit result without expected false matches")
print("\n".join(errs))
sys.exit(1 if errs else 0)
EOF
); then
	ok "sharing --json: pages, distinct, every pair's common and the group equal set intersections"
else
	bad "sharing --json equals set intersections" "$out" "$(cat "$work/err")"
fi

# ---- the same traces as .mbt give the same answers ----
for v in 0 1 2 3; do
	"$MBUDDY" trace import --vm "VM$v" "$work/VM$v.txt0" "$work/VM$v.mbt" >/dev/null 2>&1
done
"$MBUDDY" sharing --json "$work"/VM{0,1,2,3}.mbt > "$work/sharing-mbt.json" 2>&1
if python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
sys.exit(0 if a["common"] == b["common"] and a["group"] == b["group"] else 1)' \
	"$work/sharing.json" "$work/sharing-mbt.json" 2>/dev/null; then
	ok "sharing: legacy text and .mbt copies of the same VMs give identical matrices"
else
	bad "sharing: text vs .mbt" "expected identical common/group" "got: $(head -c 300 "$work/sharing-mbt.json")"
fi

# ---- the fallbacks for CPUs without AVX2, SSSE3 or POPCNT agree ----
# The vector text parser and the popcount kernels are chosen from the
# features glibc found (lib/cpu.h); GLIBC_TUNABLES hides them, as on an
# older CPU, so the SSSE3 code and then the scalar code run on the same
# traces.
for hide in -AVX2,-AVX512F -SSSE3,-POPCNT,-AVX2,-AVX512F,-AVX512_VPOPCNTDQ; do
	GLIBC_TUNABLES=glibc.cpu.hwcaps=$hide \
		"$MBUDDY" sharing --json "$work"/VM{0,1,2,3}.txt0 > "$work/sharing-hidden.json" 2>&1
	if cmp -s "$work/sharing.json" "$work/sharing-hidden.json"; then
		ok "sharing with CPU features $hide hidden: the same output byte for byte"
	else
		bad "sharing with CPU features $hide hidden" "expected the output of the default code" \
			"got: $(head -c 300 "$work/sharing-hidden.json")"
	fi
done

# ---- human output names the birthday bound for 32-bit digests ----
"$MBUDDY" sharing "$work"/VM0.txt0 "$work"/VM1.txt0 > "$work/human" 2>&1
if grep -q 'birthday' "$work/human" && grep -q 'all 2 VMs together' "$work/human"; then
	ok "sharing: human output has the group line and the expected false matches"
else
	bad "sharing human output" "expected 'all 2 VMs together' and 'birthday'" "got: $(cat "$work/human")"
fi

# ---- Bloom: parameters reported, estimates near the exact values ----
"$MBUDDY" sharing --json --bloom 8 "$work"/VM{0,1,2,3}.txt0 > "$work/bloom.json" 2>&1
if out=$(python3 - "$work" <<'EOF' 2>&1
import json, math, sys
d = sys.argv[1]
e = json.load(open(f"{d}/sharing.json")); b = json.load(open(f"{d}/bloom.json"))
errs = []
if b["estimator"] != "bloom" or b["bloom"]["k"] != 6 or b["bloom"]["m_bits"] < 8 * 4001:
    errs.append(f"expected estimator bloom, k=6, m>=32008 (8 x the largest distinct count); got {b['estimator']} {b['bloom']}")
for x in range(4):
    for y in range(4):
        if x != y:
            ex, es = e["common"][x][y], b["common"][x][y]
            # generous bound: 6 sigma of a filter this size is < 150 pages
            if abs(ex - es) > 150:
                errs.append(f"pair {x},{y}: exact {ex}, Bloom {es}")
print("\n".join(errs)); sys.exit(1 if errs else 0)
EOF
); then
	ok "sharing --bloom 8: k = 6, estimates within 150 pages of exact"
else
	bad "sharing --bloom" "$out"
fi

# ---- VMs with the same name are told apart by file name ----
cp "$work/VM0.mbt" "$work/copy-a.mbt"; cp "$work/VM0.mbt" "$work/copy-b.mbt"
"$MBUDDY" sharing --json "$work/copy-a.mbt" "$work/copy-b.mbt" "$work/VM1.mbt" > "$work/names.json" 2>&1
names=$(python3 -c 'import json, sys; print(" ".join(v["name"] for v in json.load(open(sys.argv[1]))["vms"]))' "$work/names.json" 2>/dev/null)
if [ "$names" = "copy-a.mbt copy-b.mbt VM1" ]; then
	ok "sharing: VMs whose trace names repeat are labelled by their file names"
else
	bad "sharing: repeated VM names" "expected 'copy-a.mbt copy-b.mbt VM1'" "got '$names'"
fi

# ---- free pages: left out, or counted with --include-free ----
real=$(cd "$here/../.." && pwd)/memtraces/idle-1.mbt
if [ -f "$real" ]; then
	"$MBUDDY" trace dump "$real" > "$work/dump" 2>&1
	"$MBUDDY" sharing --json "$real" > "$work/used.json" 2>&1
	"$MBUDDY" sharing --json --include-free "$real" > "$work/all.json" 2>&1
	if out=$(python3 - "$work" <<'EOF2' 2>&1
import json, sys
d = sys.argv[1]
used, every = [], []
for line in open(f"{d}/dump"):
    if line.startswith("#"):
        continue
    pfn, digest, state = line.split()
    every.append(int(digest, 16))
    if state == "used":
        used.append(int(digest, 16))
u = json.load(open(f"{d}/used.json"))["vms"][0]
a = json.load(open(f"{d}/all.json"))["vms"][0]
errs = []
if (u["pages"], u["distinct"]) != (len(used), len(set(used))):
    errs.append(f"used pages: expected {len(used)}/{len(set(used))}, got {u['pages']}/{u['distinct']}")
if (a["pages"], a["distinct"]) != (len(every), len(set(every))):
    errs.append(f"--include-free: expected {len(every)}/{len(set(every))}, got {a['pages']}/{a['distinct']}")
print("\n".join(errs)); sys.exit(1 if errs else 0)
EOF2
	); then
		ok "sharing: free pages of a real trace are left out, and counted with --include-free"
	else
		bad "sharing --include-free on memtraces/idle-1.mbt" "$out"
	fi
else
	echo "SKIP: memtraces/idle-1.mbt is not there; --include-free is covered by the unit tests"
fi

# ---- heatmap ----
"$MBUDDY" sharing --svg "$work/h.svg" "$work"/VM{0,1,2}.txt0 > /dev/null 2>&1
rects=$(grep -c '<rect' "$work/h.svg" 2>/dev/null)
if head -1 "$work/h.svg" 2>/dev/null | grep -q '^<svg' && [ "$rects" = 9 ] &&
   python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$work/h.svg" 2>/dev/null; then
	ok "sharing --svg: well-formed SVG with one cell per pair (9 for 3 VMs)"
else
	bad "sharing --svg" "expected well-formed <svg> with 9 <rect>" "got $rects rects"
fi

# ---- 64-bit digests, and mixing algorithms is refused ----
python3 -c '
import os, sys
page = os.urandom(4096)
open(sys.argv[1], "wb").write(page * 3 + os.urandom(4096 * 5))' "$work/img"
"$MBUDDY" trace hash --algo xxh64 --vm img "$work/img" "$work/img.mbt" >/dev/null 2>&1
"$MBUDDY" sharing --json "$work/img.mbt" "$work/img.mbt" > "$work/x64.json" 2>&1
if python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
v = j["vms"][0]
sys.exit(0 if j["digest_bits"] == 64 and v["pages"] == 8 and v["distinct"] == 6 and j["common"][0][1] == 6 and "false_matches" not in j else 1)' "$work/x64.json" 2>/dev/null; then
	ok "sharing: xxh64 trace of an image with a page 3 times: 8 pages, 6 distinct, no birthday line"
else
	bad "sharing on 64-bit digests" "expected 64 bits, 8 pages, 6 distinct" "got: $(head -c 400 "$work/x64.json")"
fi
if ! "$MBUDDY" sharing "$work/img.mbt" "$work/VM0.txt0" > /dev/null 2> "$work/err" &&
   grep -q 'cannot be compared' "$work/err"; then
	ok "sharing: traces of different algorithms are refused with a reason"
else
	bad "mixed algorithms" "expected failure 'cannot be compared'" "got: $(cat "$work/err")"
fi

# ---- best-match ----
cat > "$work/scenario.json" <<EOF
{"hosts": [{"name": "h0", "memory_mb": 40}, {"name": "h1", "memory_mb": 40}],
 "vms": [{"name": "a", "trace": "VM0.txt0", "memory_mb": 16, "host": "h1"},
         {"name": "b", "trace": "VM1.mbt", "memory_mb": 16, "host": "h0"},
         {"name": "c", "trace": "VM2.txt0", "memory_mb": 16, "host": "h1"},
         {"name": "d", "trace": "VM3.mbt", "memory_mb": 16}]}
EOF
for algo in first-fit classic buddies optimal; do
	"$MBUDDY" best-match --algorithm $algo --json "$work/scenario.json" > "$work/bm-$algo.json" 2> "$work/err"
	if out=$(python3 - "$work" "$algo" <<'EOF' 2>&1
import json, sys
d, algo = sys.argv[1], sys.argv[2]
j = json.load(open(f"{d}/bm-{algo}.json"))
errs = []
for k in ("placement", "hosts", "before_mb", "after_mb", "saved_mb", "moves"):
    if k not in j:
        errs.append(f"missing key {k}")
if errs:
    print("\n".join(errs)); sys.exit(1)
sets = {v: set(int(l) for l in open(f"{d}/VM{i}.txt0")) for i, v in enumerate("abcd")}
pages = {v: sum(1 for _ in open(f"{d}/VM{i}.txt0")) for i, v in enumerate("abcd")}
now = {"a": "h1", "b": "h0", "c": "h1", "d": None}
def after(group):
    if not group: return 0.0
    saved = sum(pages[v] for v in group) - len(set().union(*(sets[v] for v in group)))
    return 16.0 * len(group) - saved * 4096 / 2**20
for h in ("h0", "h1"):
    g = [v for v, x in j["placement"].items() if x == h]
    want = after(g)
    if abs(j["hosts"][h]["after_mb"] - want) > 1e-6:
        errs.append(f"{h}: after_mb expected {want}, got {j['hosts'][h]['after_mb']}")
    if j["hosts"][h]["after_mb"] > 40 + 1e-9:
        errs.append(f"{h}: over capacity ({j['hosts'][h]['after_mb']} > 40)")
    wb = after([v for v, x in now.items() if x == h])
    if abs(j["hosts"][h]["before_mb"] - wb) > 1e-6:
        errs.append(f"{h}: before_mb expected {wb}, got {j['hosts'][h]['before_mb']}")
moves = sorted(m["vm"] for m in j["moves"])
want_moves = sorted(v for v in "abcd" if j["placement"][v] != now[v])
if moves != want_moves:
    errs.append(f"moves expected {want_moves}, got {moves}")
unplaced = [v for v in "abcd" if j["placement"][v] is None]
wb_total = after([v for v in "abcd" if now[v] == "h0"]) + after([v for v in "abcd" if now[v] == "h1"]) + 16
wa_total = sum(j["hosts"][h]["after_mb"] for h in ("h0", "h1")) + 16 * len(unplaced)
if abs(j["before_mb"] - wb_total) > 1e-6 or abs(j["after_mb"] - wa_total) > 1e-6 \
   or abs(j["saved_mb"] - (wb_total - wa_total)) > 1e-6:
    errs.append(f"totals expected {wb_total}/{wa_total}, got {j['before_mb']}/{j['after_mb']}/{j['saved_mb']}")
if algo != "first-fit" and unplaced:
    errs.append(f"{algo}: expected every VM placed (two per host fit with sharing), unplaced {unplaced}")
print("\n".join(errs)); sys.exit(1 if errs else 0)
EOF
); then
		ok "best-match --algorithm $algo: per-host before/after, totals and moves match the definitions; capacity kept"
	else
		bad "best-match $algo" "$out" "$(cat "$work/err")"
	fi
done
"$MBUDDY" best-match "$work/scenario.json" > "$work/bm.txt" 2>&1
if grep -q 'algorithm buddies' "$work/bm.txt" && grep -q '^total: before' "$work/bm.txt"; then
	ok "best-match: buddies by default, human table with totals"
else
	bad "best-match default" "expected 'algorithm buddies' and a total line" "got: $(cat "$work/bm.txt")"
fi

# ---- bad scenarios and usage errors ----
check_fail() { # name expected-status expected-text command...
	local name=$1 want=$2 text=$3; shift 3
	"$@" > "$work/out" 2> "$work/err"; local st=$?
	if [ "$st" = "$want" ] && grep -qF -- "$text" "$work/err"; then
		ok "$name"
	else
		bad "$name" "expected status $want and '$text' on stderr" \
			"got status $st: $(cat "$work/err")"
	fi
}
printf '{"hosts":[{"name":"h0","memory_mb":10}],"vms":[{"name":"a","trace":"missing.mbt"}]}' > "$work/s1.json"
check_fail "best-match: a missing trace names the VM and the file" 1 'vms[0] ("a"): ' \
	"$MBUDDY" best-match "$work/s1.json"
grep -q 'missing.mbt' "$work/err" || bad "missing trace message names the path" "got: $(cat "$work/err")"
printf '{"hosts":[{"name":"h0","memory_mb":10}],"vms":[{"name":"a","trace":"VM0.txt0","host":"nowhere"}]}' > "$work/s2.json"
check_fail "best-match: an unknown host is named" 1 'unknown host "nowhere"' \
	"$MBUDDY" best-match "$work/s2.json"
printf '{"hosts":[{"name":"h0","memory_mb":10}],"vms":[{"name":"a","trace":"VM0.txt0","memory_mb":-3}]}' > "$work/s3.json"
check_fail "best-match: negative memory is refused" 1 'must be a positive number of MiB, not -3' \
	"$MBUDDY" best-match "$work/s3.json"
python3 -c '
import json, sys
print(json.dumps({"hosts": [{"name": "h", "memory_mb": 1000}],
  "vms": [{"name": f"v{i}", "trace": "VM0.txt0"} for i in range(13)]}))' > "$work/s13.json"
check_fail "best-match --algorithm optimal: more than 12 VMs is refused" 1 'at most 12 VMs' \
	"$MBUDDY" best-match --algorithm optimal "$work/s13.json"
check_fail "best-match: unknown algorithm is a usage error" 2 "unknown algorithm 'best'" \
	"$MBUDDY" best-match --algorithm best "$work/scenario.json"
check_fail "sharing: no trace is a usage error" 2 'no trace given' "$MBUDDY" sharing
check_fail "sharing: a missing trace names it" 1 'nope.mbt' "$MBUDDY" sharing "$work/nope.mbt"
check_fail "sharing: --bloom 0 is a usage error" 2 '--bloom' "$MBUDDY" sharing --bloom 0 "$work/VM0.txt0"
for cmd in sharing best-match pack; do
	if "$MBUDDY" $cmd --help > "$work/help" 2>&1 && grep -q "usage: mbuddy $cmd" "$work/help"; then
		ok "$cmd --help prints its usage and exits 0"
	else
		bad "$cmd --help" "expected 'usage: mbuddy $cmd' and status 0" "got: $(head -3 "$work/help")"
	fi
done

# ---- pack ----
"$MBUDDY" pack --json --hosts 10 --host-mb 64 --private 0.1:0.3 "$work"/VM{0,1}.txt0 > "$work/pack.json" 2> "$work/err"
"$MBUDDY" pack --json --hosts 10 --host-mb 64 --private 0.1:0.3 --exact "$work"/VM{0,1}.txt0 > "$work/pack-exact.json" 2>> "$work/err"
if out=$(python3 - "$work" <<'EOF' 2>&1
import json, sys
d = sys.argv[1]
errs = []
for f in ("pack.json", "pack-exact.json"):
    j = json.load(open(f"{d}/{f}"))
    # each VM is 4100 pages = 16.02 MiB; 3 fit a 64 MiB host without sharing
    if j["first_fit"] != 30:
        errs.append(f"{f}: first-fit expected 30 (3 x 16.02 MiB per 64 MiB host, 10 hosts), got {j['first_fit']}")
    if j["buddies"] <= j["first_fit"]:
        errs.append(f"{f}: buddies expected more than first-fit with 70-90% shared pages, got {j['buddies']}")
    if f == "pack-exact.json" and j["hosts_over_capacity"] != 0:
        errs.append(f"{f}: exact sharing may never over-fill a host, got {j['hosts_over_capacity']}")
print("\n".join(errs)); sys.exit(1 if errs else 0)
EOF
); then
	ok "pack: first-fit packs 3 VMs per host; buddies packs more, exact buddies never over-fills"
else
	bad "pack" "$out" "$(cat "$work/err")"
fi
"$MBUDDY" pack --json --hosts 10 --host-mb 64 --private 1:1 --exact "$work"/VM{0,1}.txt0 > "$work/pack-private.json" 2>&1
if python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
# all pages private: only the 99 duplicate zero pages per VM are shared
sys.exit(0 if j["buddies"] == 30 and j["first_fit"] == 30 else 1)' "$work/pack-private.json" 2>/dev/null; then
	ok "pack --private 1:1: nothing shared across VMs, buddies packs the same as first-fit"
else
	bad "pack with only private pages" "expected 30 and 30" "got: $(cat "$work/pack-private.json")"
fi

echo "heuristics: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
