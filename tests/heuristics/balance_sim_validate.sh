#!/bin/bash
# tests/heuristics/balance_sim_validate.sh: the experiments of
# docs/balancing.md, in full (make validate-balance-sim, a few minutes):
#   1. the seed's Tables 1 and 2 in faithful mode, next to the seed's;
#   2. every policy (and cagma in mb-controld's proportional mode) on the
#      five real traces of memtraces/lackey/ run side by side on one host,
#      at three memory sizes, the largest one not a hotspot;
#   3. every policy on synthetic phases (working sets that move between
#      VMs).
# Prints the tables as Markdown, then one line:
#   balance-sim: real traces at F frames: static R, last-n R, ..., best P
# Fails if faithful mode misses the seed's tables or a run fails.
set -u
MBUDDY=${MBUDDY:-build/mbuddy}
here=$(cd "$(dirname "$0")/../.." && pwd)
seed=$here/memtraces/seed
lackey=$here/memtraces/lackey
work=$(mktemp -d /tmp/mb-balance-validate.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0

echo "## Faithful mode: the seed's tables"
echo
python3 - "$MBUDDY" "$seed" <<'EOF' || status=1
import json, subprocess, sys
mbuddy, seed = sys.argv[1], sys.argv[2]
def run(*args):
    out = subprocess.run([mbuddy, "balance-sim", "--faithful", "--json", *args],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)
paper1 = {"static": "0.321", "last-n": "0.236", "proportional": "0.198"}
names = {"static": "static strategy", "last-n": "dynamic balance based on last page access (N = 1)",
         "proportional": "dynamic balance based on working size set (proportional)"}
ok = True
print("Table 1: total misses of test1-3.dat over their 106 references\n")
print("| policy | seed | ours | misses |\n|---|---:|---:|---:|")
for p in ("static", "last-n", "proportional"):
    m = a = 0
    for f in (1, 2, 3):
        j = run("--policy", p, f"{seed}/test{f}.dat")
        m += j["misses"]; a += j["accesses"]
    ours = f"{m / a:.3f}"
    ok &= ours == paper1[p] and a == 106
    print(f"| {names[p]} | {paper1[p]} | {ours} | {m} / {a} |")
paper2 = ["3 3 3 3", "5 2 3 5", "5 3 3 5", "5 2 2 5", "5 5 5 5",
          "5 4 4 5", "5 3 3 5", "5 2 2 5", "5 1 2 5", "6 0 2 6"]
print("\nTable 2: test1.dat, last-n, misses of VM0..VM3 for every N\n")
print("| N | seed | ours |\n|---:|---|---|")
for n in range(1, 11):
    j = run("--policy", "last-n", "--every", str(n), f"{seed}/test1.dat")
    ours = " ".join(str(v["misses"]) for v in j["vms"])
    ok &= ours == paper2[n - 1]
    print(f"| {n} | {paper2[n - 1]} | {ours} |")
print()
sys.exit(0 if ok else 1)
EOF

traces=("$lackey"/cc1.pages.xz "$lackey"/gzip.pages.xz "$lackey"/python.pages.xz
	"$lackey"/sort.pages.xz "$lackey"/xz.pages.xz)
policies="static last-n proportional meb cagma"
summary=""
for frames in 640 1280 2560; do
	for p in $policies cagma-proportional; do
		pol=${p%-proportional}
		mode=()
		[ "$p" = cagma-proportional ] && mode=(--balance-mode proportional)
		/usr/bin/time -f %e -o "$work/time-$frames-$p" \
			"$MBUDDY" balance-sim --policy "$pol" "${mode[@]}" --frames "$frames" \
			--json "${traces[@]}" > "$work/real-$frames-$p.json" 2> "$work/err" ||
			{ echo "FAILED: $p at $frames frames: $(cat "$work/err")"; status=1; }
	done
	line=$(python3 - "$work" "$frames" $policies cagma-proportional <<'EOF'
import json, sys
work, frames, pols = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {p: json.load(open(f"{work}/real-{frames}-{p}.json")) for p in pols}
t = {p: open(f"{work}/time-{frames}-{p}").read().strip() for p in pols}
vms = [v["name"] for v in r[pols[0]]["vms"]]
pages = {v["name"]: v["pages"] for v in r[pols[0]]["vms"]}
acc = {v["name"]: v["accesses"] for v in r[pols[0]]["vms"]}
print(f"## Real traces side by side, {frames} frames "
      f"({sum(pages.values())} distinct pages in all), every {r[pols[0]]['every']} steps\n")
print("Miss ratio of each VM (all misses, cold ones included) and, below it, "
      "the mean frames it held.\n")
print("| policy | " + " | ".join(f"{n} ({acc[n] / 1e6:.1f} M refs, {pages[n]} pages)" for n in vms) +
      " | all | frames moved | hotspot | run time |")
print("|---|" + "---:|" * (len(vms) + 4))
for p in pols:
    v = {x["name"]: x for x in r[p]["vms"]}
    print(f"| {p} | " + " | ".join(f"{v[n]['miss_ratio']:.5f} ({v[n]['frames_mean']:.0f})" for n in vms) +
          f" | **{r[p]['miss_ratio']:.5f}** | {r[p].get('moved', 0)} | " +
          (f"{100 * r[p]['hotspots'] / max(r[p]['checkpoints'], 1):.0f} %" if "hotspots" in r[p] else "") +
          f" | {t[p]} s |")
best = min(pols, key=lambda p: r[p]["misses"])
print("SUMMARY " + f"real traces at {frames} frames: " +
      ", ".join(f"{p} {r[p]['miss_ratio']:.5f}" for p in pols) + f"; best {best}")
EOF
)
	printf '%s\n\n' "$(printf '%s\n' "$line" | grep -v '^SUMMARY')"
	summary="$summary${summary:+; }$(printf '%s\n' "$line" | sed -n 's/^SUMMARY //p')"
done

synth="vms=3,accesses=600000,small=64,large=512,phases=6,skew=2,seed=11"
for p in $policies; do
	"$MBUDDY" balance-sim --synth "$synth" --frames 768 --every 1000 --policy "$p" \
		--json > "$work/synth-$p.json" 2> "$work/err" ||
		{ echo "FAILED: synth $p: $(cat "$work/err")"; status=1; }
done
python3 - "$work" "$synth" $policies <<'EOF'
import json, sys
work, synth, pols = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {p: json.load(open(f"{work}/synth-{p}.json")) for p in pols}
vms = [v["name"] for v in r[pols[0]]["vms"]]
print(f"## Synthetic phases: `--synth {synth} --frames 768 --every 1000`\n")
print("| policy | " + " | ".join(vms) + " | all | vs static | frames moved |")
print("|---|" + "---:|" * (len(vms) + 3))
s = r["static"]["misses"]
for p in pols:
    v = {x["name"]: x for x in r[p]["vms"]}
    print(f"| {p} | " + " | ".join(f"{v[n]['miss_ratio']:.4f}" for n in vms) +
          f" | **{r[p]['miss_ratio']:.4f}** | {r[p]['misses'] / s:.2f}x | {r[p].get('moved', 0)} |")
print()
EOF
echo "balance-sim: $summary"
exit $status
