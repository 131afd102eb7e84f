#!/bin/bash
# tests/heuristics/hotspots.sh: `mbuddy hotspots RECORDING` through the real
# binary on the recordings of memtraces/hotspots/ (made by
# tests/libvirt/sandpiper.sh --record): the replay decides what the live
# policy decided (p from a to b on the CPU hotspot, r from b to a on the
# network one), the black box alone does not see the network hotspot,
# overrides change the decisions as they should, and bad recordings get
# an error that names what is wrong. A second. Needs $MBUDDY and python3.
set -u
MBUDDY=${MBUDDY:-build/mbuddy}
here=$(cd "$(dirname "$0")/../.." && pwd)
rec=$here/memtraces/hotspots
work=$(mktemp -d /tmp/mb-hotspots.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; shift; printf '  %s\n' "$@"; }
expect() {	# NAME WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "expected: $2" "got:      $3"; fi
}
moves() {	# ARGS...: "vm:from>to ..." of every decision, in order
	"$MBUDDY" hotspots --json "$@" 2>&1 | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
except ValueError:
    print("not JSON"); sys.exit()
print(" ".join("%s:%s>%s" % (m["vm"], m["from"], m["to"]) for d in j["decisions"] for m in d["moves"]) or "none")'
}
# What the live policy decided: the recording's sandpiper.last_mitigation.
live() { python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["sandpiper"]["last_mitigation"]
print(" ".join("%s:%s>%s" % (a["name"], a["from"], a["to"]) for a in m["actions"]))' "$1"; }

expect "cpu recording: the replay moves p from a to b, once" "p:a>b" "$(moves "$rec/cpu-black.json")"
expect "cpu recording: the live policy decided the same" "p:a>b" "$(live "$rec/cpu-black.json")"
expect "net recording: the gray box moves r from b to a, once" "r:b>a" "$(moves "$rec/net-gray.json")"
expect "net recording: the live policy decided the same" "r:b>a" "$(live "$rec/net-gray.json")"
expect "net recording: the black box alone sees no hotspot" "none" "$(moves --mode black "$rec/net-gray.json")"
expect "cpu recording: a threshold of 100 % is never exceeded" "none" "$(moves --threshold 100 "$rec/cpu-black.json")"
# k of n: with k = 2 the decision comes a round earlier than the live
# one (k = 3); with k = 4 none, the live migration ended the burst first.
rounds() { "$MBUDDY" hotspots --json "$@" | python3 -c 'import json,sys; print(" ".join(str(d["round"]) for d in json.load(sys.stdin)["decisions"]) or "none")'; }
r3=$(rounds "$rec/cpu-black.json") r2=$(rounds --k 2 "$rec/cpu-black.json")
expect "cpu recording: --k 2 decides one round before k = 3 ($r3)" "$((r3 - 1))" "$r2"
expect "cpu recording: --k 4 decides nothing (p had moved)" none "$(rounds --k 4 "$rec/cpu-black.json")"
out=$("$MBUDDY" hotspots "$rec/cpu-black.json")
case $out in
*"migrate p from a to b: sandpiper: cpu hotspot on a; p has the largest volume-to-size ratio"*) ok "the text output gives the decision with its reason" ;;
*) bad "the text output gives the decision with its reason" "$out" ;;
esac

# Bad recordings: exit 1 and a message naming what is wrong.
err_of() {	# FILE: exit status and the first line of stderr
	"$MBUDDY" hotspots "$1" > /dev/null 2> "$work/err"; echo "$? $(head -1 "$work/err")"
}
python3 - "$rec/cpu-black.json" "$work" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); w = sys.argv[2]
def put(name, f):
    k = json.loads(json.dumps(j)); f(k); json.dump(k, open(w + "/" + name, "w"))
put("no-sp.json", lambda k: k.pop("sandpiper"))
put("k-gt-n.json", lambda k: k["sandpiper"]["params"].update(k=9))
put("bad-cap.json", lambda k: k["sandpiper"]["hosts"][0]["capacity"].update(cpus=0))
put("bad-t.json", lambda k: k["vms"][0]["samples"][1].update(t="soon"))
put("order.json", lambda k: k["vms"][0]["samples"].reverse())
put("host.json", lambda k: k["vms"][1]["samples"][0].update(host="z"))
put("off.json", lambda k: k["sandpiper"].update(mode="off"))
open(w + "/trunc.json", "w").write(open(sys.argv[1]).read()[:5000])
PY
for c in "no-sp.json|no \"sandpiper\" object" "k-gt-n.json|k (9) is more than n (5)" \
	 "bad-cap.json|host a: its \"capacity\" needs cpus" "bad-t.json|\"t\" is not a number" \
	 "order.json|earlier than the sample before" "host.json|host 'z' is not among the recording's hosts" \
	 "off.json|mode 'off' is not black or gray" "trunc.json|line 1"; do
	f=${c%%|*} want=${c#*|}
	got=$(err_of "$work/$f")
	case $got in
	"1 mbuddy hotspots: $work/$f: "*"$want"*) ok "$f: rejected, saying '$want'" ;;
	*) bad "$f: rejected, saying '$want'" "got: $got" ;;
	esac
done
# A VM named with a terminal escape and a newline (names come from the
# hosts' libvirt and the guests): the human output shows it escaped, on
# the one line of its decision; --json carries it exactly.
python3 - "$rec/cpu-black.json" "$work/evil.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for v in j["sandpiper"]["vms"] + j["vms"]:
    if v["name"] == "p":
        v["name"] = "p\x1b[2J\nmigrate x"
json.dump(j, open(sys.argv[2], "w"))
PY
human=$("$MBUDDY" hotspots "$work/evil.json" 2>&1)
if printf '%s' "$human" | grep -q $'\x1b'; then
	bad "a VM name with an escape: the human output holds no ESC" "got: $human"
elif [ "$(printf '%s\n' "$human" | grep -c '^  migrate ')" != 1 ] ||
     ! printf '%s' "$human" | grep -qF 'migrate p\x1b[2J\nmigrate x from a to b'; then
	bad "a VM name with an escape: one decision line, the name escaped" "got: $human"
else
	ok "a VM name with an escape and a newline: escaped, on one line"
fi
expect "a VM name with an escape: --json carries it exactly" \
	"$(printf 'p\033[2J\nmigrate x:a>b')" "$(moves "$work/evil.json")"

got=$("$MBUDDY" hotspots --k 0 "$rec/cpu-black.json" 2>&1; echo "rc=$?")
case $got in *"--k '0' is not a number 1..100"*rc=2) ok "--k 0 is a usage error" ;; *) bad "--k 0 is a usage error" "$got" ;; esac

echo "hotspots: $passed passed, $failed failed"
[ "$failed" = 0 ]
