#!/bin/bash
# test-ksmpredict.sh KSMPREDICT MBUDDY: the prediction model on hand-made
# traces whose answer is known, before any guest boots. Two "guests" of six
# pages each are written as raw memory images (Z = all-zero page, Pn and V
# = pages filled with one byte value) and turned into traces by
# `mbuddy trace hash`:
#
#   page      0   1   2   3   4   5
#   A, scan 1 Z   P1  P1  P2  V   Z
#   B, scan 1 P1  P2  P5  Z   V   P6
#   scan 2    the same, except page 4 (V) changed in both
#
# Every figure below follows from the definitions in ksmpredict.c.
set -uo pipefail
predict=$1 mbuddy=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
passed=0 failed=0
python3 - "$d" <<'PY'
import sys
d = sys.argv[1]
def img(name, pages):
    with open(f"{d}/{name}.img", "wb") as f:
        for v in pages:
            f.write(bytes([v]) * 4096)
Z, P1, P2, P5, P6, V, W, X = 0, 1, 2, 5, 6, 7, 8, 9
img("a1", [Z, P1, P1, P2, V, Z]); img("a2", [Z, P1, P1, P2, W, Z])
img("b1", [P1, P2, P5, Z, V, P6]); img("b2", [P1, P2, P5, Z, X, P6])
PY
for t in a1 a2 b1 b2; do
	out=$("$mbuddy" trace hash --algo xxh64 --vm "${t:0:1}" "$d/$t.img" "$d/$t.mbt" 2>&1) ||
		{ echo "test-ksmpredict: FAIL: mbuddy trace hash $t.img: $out"; exit 1; }
done
printf '00000000-00003fff : System RAM\n00004000-00005fff : Reserved\n' > "$d/iomem"

# expect NAME JSON-PATH VALUE ARGS...: run ksmpredict --json ARGS, compare.
expect() {
	local name=$1 path=$2 want=$3 got; shift 3
	got=$("$predict" --json "$@" 2>&1 | python3 -c "
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split('.'):
    v = v[int(k)] if k.isdigit() else v[k]
print(v)" "$path" 2>&1)
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "test-ksmpredict: PASS $name ($path = $got)"
	else
		failed=$((failed + 1)); echo "test-ksmpredict: FAIL $name: expected $path = $want, got: $got"
	fi
}
A="$d/a1.mbt" B="$d/b1.mbt" A2="$d/a1.mbt,$d/a2.mbt" B2="$d/b1.mbt,$d/b2.mbt"
expect "zero pages left out: 9 non-zero pages, 5 distinct (P1 P2 V P5 P6)" all.saved 4 "$A" "$B"
expect "zero pages counted like mbuddy sharing --include-free" all.saved_with_zero 6 "$A" "$B"
mb=$("$mbuddy" sharing --json --include-free "$A" "$B" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["group"]["saved"]))')
expect "ksmpredict and mbuddy sharing agree with zero pages counted" all.saved_with_zero "$mb" "$A" "$B"
expect "volatile page V left out: 7 pages, 4 distinct" stable.saved 3 "$A2" "$B2"
expect "a content held by 3 pages with max_page_sharing 2 needs 2 KSM pages" \
	stable.saved_ksm 2 --max-page-sharing 2 "$A2" "$B2"
expect "without chains the KSM figure is the plain one" stable.saved_ksm 3 "$A2" "$B2"
expect "guest A's merging pages: P1 P1 P2" stable.merging.0 3 "$A2" "$B2"
expect "guest B's merging pages: P1 P2" stable.merging.1 2 "$A2" "$B2"
expect "volatile pages counted per guest" guests.0.volatile 1 "$A2" "$B2"
expect "only System RAM counts (PFNs 0-3): P1 P1 P2 / P1 P2 P5" all.saved 3 --iomem "$d/iomem" "$A" "$B"
expect "pages outside System RAM counted per guest" guests.1.not_ram 2 --iomem "$d/iomem" "$A" "$B"
expect "64-bit digests cut to 32 bits change nothing here" all.saved_32bit 4 "$A" "$B"
if "$predict" "$d/a1.mbt,$d/missing.mbt" > "$d/out" 2>&1; then
	failed=$((failed + 1)); echo "test-ksmpredict: FAIL expected a missing second scan to be an error, got success"
elif grep -q "missing.mbt" "$d/out"; then
	passed=$((passed + 1)); echo "test-ksmpredict: PASS a missing second scan is an error naming the file"
else
	failed=$((failed + 1)); echo "test-ksmpredict: FAIL expected an error naming missing.mbt, got: $(cat "$d/out")"
fi
echo "test-ksmpredict: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
