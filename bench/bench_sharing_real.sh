#!/bin/bash
# bench_sharing_real.sh DIR: `mbuddy sharing` over every trace in DIR (the
# real traces of memtraces/) against the straightforward Python baseline
# (bench_sharing_baseline.py: Python sets, pairwise intersections), in the
# same run, on the same legacy text files (exported from the .mbt
# traces first, not timed). Each side runs 5 times; the best time counts.
# Both must agree on pages, distinct pages and the sum of pairwise common
# pages, or the benchmark fails. Goal: mbuddy >= 50x faster.
set -eu
MBUDDY=${MBUDDY:-build/mbuddy}
dir=${1:-memtraces}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/mb-bench-real.XXXXXX)
trap 'rm -rf "$work"' EXIT
shopt -s nullglob
traces=("$dir"/*.mbt "$dir"/*.txt[0-9]*)
if [ ${#traces[@]} -lt 2 ]; then
	echo "bench-sharing-real: fewer than 2 traces in $dir; nothing to measure"
	exit 1
fi
texts=()
for t in "${traces[@]}"; do
	out="$work/$(basename "$t").txt"
	"$MBUDDY" trace export "$t" "$out" >/dev/null
	texts+=("$out")
done
. "$here/bench_lib.sh"	# best
py=$(best python3 "$here/bench_sharing_baseline.py" "${texts[@]}")
mb_txt=$(best "$MBUDDY" sharing --json "${texts[@]}")
mb_mbt=$(best "$MBUDDY" sharing --json "${traces[@]}")
pages=$(cat "${texts[@]}" | wc -l)
# Bloom estimates against exact on the same traces, 1-8 bits per page.
"$MBUDDY" sharing --json "${traces[@]}" > "$work/exact.json"
for bits in 1 2 4 8; do
	"$MBUDDY" sharing --json --bloom $bits "${traces[@]}" > "$work/bloom$bits.json"
done
# The answers must agree.
want=$(python3 "$here/bench_sharing_baseline.py" "${texts[@]}")
got=$("$MBUDDY" sharing --json "${texts[@]}" | python3 -c '
import json, sys
j = json.load(sys.stdin); n = len(j["vms"])
s = sum(j["common"][a][b] for a in range(n) for b in range(a + 1, n))
g = j["group"]
print("pages=%d distinct=%d pair_sum=%d" % (g["pages"], g["distinct"], s))')
if [ "$want" != "$got" ]; then
	echo "bench-sharing-real: answers differ: python $want, mbuddy $got"
	exit 1
fi
python3 - "$py" "$mb_txt" "$mb_mbt" "${#traces[@]}" "$pages" <<'PY'
import sys
py, t, m, n, pages = map(float, sys.argv[1:])
print(f"bench-sharing-real: {int(n)} traces, {int(pages)} used pages, same answers")
print(f"  python sets (text):     {py:.3f} s")
print(f"  mbuddy sharing (text):  {t:.4f} s  {py / t:.1f}x faster")
print(f"  mbuddy sharing (.mbt):  {m:.4f} s  {py / m:.1f}x faster")
PY
# Real traces are small (fixed costs weigh); the same comparison on larger
# synthetic VMs (labelled as such): SYNTH_VMS legacy text traces of 262,144
# pages over one base, 5-95% private pages (the model of docs/sharing.md).
nsyn=${SYNTH_VMS:-16}
mkdir -p "$work/syn"
python3 - "$work/syn" "$nsyn" <<'PY'
import random, sys
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
base = [rnd.getrandbits(32) for _ in range(262144)]
for v in range(n):
    f = 0.05 + 0.9 * rnd.random()
    with open(f"{d}/VM{v}.txt0", "w") as out:
        out.write("".join(f"{x if rnd.random() >= f else rnd.getrandbits(32)}\n" for x in base))
PY
syn=("$work"/syn/VM*.txt0)
spy=$(best python3 "$here/bench_sharing_baseline.py" "${syn[@]}")
smb=$(best "$MBUDDY" sharing --json "${syn[@]}")
python3 -c "import sys; py, m = float(sys.argv[1]), float(sys.argv[2]); print(f'  synthetic, {sys.argv[3]} text traces x 262,144 pages: python {py:.3f} s, mbuddy {m:.4f} s, {py / m:.1f}x faster')" "$spy" "$smb" "$nsyn"
python3 - "$work" <<'PY'
import json, math, sys
d = sys.argv[1]
e = json.load(open(f"{d}/exact.json"))
n = len(e["vms"])
print("  Bloom vs exact on these traces (all pairs; error relative to exact common,")
print("  and absolute error relative to the smaller VM's distinct pages):")
for bits in (1, 2, 4, 8):
    b = json.load(open(f"{d}/bloom{bits}.json"))
    rel, size = [], []
    for x in range(n):
        for y in range(x + 1, n):
            ex, es = e["common"][x][y], b["common"][x][y]
            if es is None or ex == 0:
                continue
            rel.append(abs(es - ex) / ex)
            size.append(abs(es - ex) / min(e["vms"][x]["distinct"], e["vms"][y]["distinct"]))
    print(f"    {bits} bits/page (m={b['bloom']['m_bits']}, k={b['bloom']['k']}): "
          f"mean {100 * sum(rel) / len(rel):.2f}%, worst {100 * max(rel):.2f}% "
          f"of common; mean {100 * sum(size) / len(size):.3f}% of VM size")
PY
