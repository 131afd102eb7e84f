#!/bin/bash
# trace_tools.sh MBUDDY: time `mbuddy trace import` + `mbuddy trace info` on
# the largest trace in memtraces/ (as legacy text, the import's input format)
# against a plain Python script computing the same counts (distinct,
# duplicate and zero pages) with a set, the way the first prototype's tools worked.
# Prints both times (best of 3) and the ratio.
set -eu
M=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# The largest trace is the one with the most used pages (the text format
# holds used pages only; every .mbt of a 512 MiB guest has the same size).
largest=$(for t in memtraces/*.mbt; do [ -f "$t" ] && "$M" trace info --json "$t"; done | python3 -c '
import json, sys
dec, text, pos, best = json.JSONDecoder(), sys.stdin.read(), 0, (-1, "")
while text[pos:].strip():
    d, pos = dec.raw_decode(text, pos)
    pos += len(text[pos:]) - len(text[pos:].lstrip())
    best = max(best, (d["used_pages"], d["file"]))
print(best[1])')
if [ -z "$largest" ]; then
	echo "trace tools: no .mbt trace in memtraces/ yet; using a synthetic 262,144-page text trace"
	python3 -c "
import random
r = random.Random(1)
pool = [r.getrandbits(32) for _ in range(150000)]
print('\n'.join(str(r.choice(pool)) for _ in range(262144)))" > "$W/trace.txt"
else
	"$M" trace export "$largest" "$W/trace.txt"
fi
pages=$(wc -l < "$W/trace.txt")
cat > "$W/naive.py" <<'PY'
import sys
digests = [int(line) for line in open(sys.argv[1]) if line.strip()]
distinct = set(digests)
zero = int(sys.argv[2])
print(len(digests), len(distinct), len(digests) - len(distinct),
      sum(1 for d in digests if d == zero))
PY
head -c 4096 /dev/zero > "$W/z"
"$M" trace hash "$W/z" "$W/z.mbt" 2>/dev/null
zero=$(printf '%d' "0x$("$M" trace dump "$W/z.mbt" | awk '!/^#/ {print $2}')")
best() { # CMD...: best wall time of 3 runs, in seconds
	local b=999999 i t0 t1
	for i in 1 2 3; do
		t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
		b=$(echo "$t1 $t0 $b" | awk '{d = $1 - $2; print (d < $3) ? d : $3}')
	done
	echo "$b"
}
ours() { "$M" trace import --vm bench "$W/trace.txt" "$W/t.mbt" && "$M" trace info --json "$W/t.mbt"; }
t_ours=$(best ours)
t_py=$(best python3 "$W/naive.py" "$W/trace.txt" "$zero")
# Both must agree before the times mean anything.
read -r n d dup z < <(python3 "$W/naive.py" "$W/trace.txt" "$zero")
got=$("$M" trace info --json "$W/t.mbt" | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['used_pages'], j['distinct_digests'], j['duplicate_pages'], j['zero_pages'])")
[ "$got" = "$n $d $dup $z" ] || { echo "trace tools: counts disagree: mbuddy '$got', python '$n $d $dup $z'"; exit 1; }
echo "trace import + info on ${largest:-a synthetic trace} ($pages pages):"
awk -v a="$t_ours" -v b="$t_py" 'BEGIN {
	printf "  mbuddy %.3f s, python set baseline %.3f s: %.1f x faster\n", a, b, b / a }'
