#!/bin/bash
# trace.sh: `mbuddy trace` end to end, through the real binary: every
# subcommand's normal path, its --help, and its errors (exit status and
# message). Usage: tests/cli/trace.sh [MBUDDY]
set -u
M=${1:-build/mbuddy}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its stdout+stderr
# match the extended regular expression PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3 out status
	shift 3
	out=$("$@" 2>&1); status=$?
	if [ "$status" -ne "$want" ]; then
		bad "$name: exit status $status, expected $want; output: $out"
	elif [ -n "$pattern" ] && ! printf '%s' "$out" | grep -Eq -- "$pattern"; then
		bad "$name: output does not match /$pattern/: $out"
	else
		ok
	fi
}

# A host-side "memory image": 3 random pages, 2 copies of one page, 2 zero
# pages and a 100-byte tail (zero-padded to a page).
head -c 12288 /dev/urandom > "$W/rand"
head -c 4096 /dev/urandom > "$W/page"
{ cat "$W/rand" "$W/page" "$W/page"; head -c 8192 /dev/zero; head -c 100 /dev/urandom; } > "$W/img"
printf '7\n1\n4294967295\n1\n3735928559\n' > "$W/VM1.txt0"

expect "top-level help lists trace" 0 "trace" "$M" --help
expect "no command is a usage error" 2 "usage: mbuddy" "$M"
expect "unknown command" 2 "'frobnicate' is not a command" "$M" frobnicate
expect "trace help" 0 "diff \[--json\] OLD NEW" "$M" trace --help
for sub in info dump import export diff hash; do
	expect "trace $sub --help" 0 "usage: mbuddy trace" "$M" trace "$sub" --help
done
expect "unknown trace command" 2 "'bogus' is not a trace command" "$M" trace bogus
expect "unknown option" 2 "unknown option '--nope'" "$M" trace info --nope "$W/VM1.txt0"
expect "option of another subcommand" 2 "unknown option '--vm'" "$M" trace info --vm x "$W/VM1.txt0"

# hash: 8 pages (7 full + padded tail), page counts and duplicates right.
expect "hash an image" 0 "8 pages hashed with xxh64" \
	"$M" trace hash --algo xxh64 --vm imgvm --uuid 5F0E1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B "$W/img" "$W/img.mbt"
json=$("$M" trace info --json "$W/img.mbt")
check_json() { # KEY VALUE
	if printf '%s' "$json" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if str(d['$1']) == '$2' else 1)"; then ok
	else bad "info --json: $1 is not $2 in $json"; fi
}
check_json pages 8
check_json used_pages 8
check_json free_pages 0
check_json distinct_digests 6
check_json duplicate_pages 2
check_json zero_pages 2
check_json algorithm xxh64
check_json digest_bits 64
check_json vm_name imgvm
check_json vm_uuid 5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b
expect "info text" 0 "distinct +6 digests" "$M" trace info "$W/img.mbt"
expect "hash: unknown algorithm" 2 "unknown algorithm 'md5'" "$M" trace hash --algo md5 "$W/img" "$W/x.mbt"
expect "hash: bad uuid" 1 "'nope' is not a uuid" "$M" trace hash --uuid nope "$W/img" "$W/x.mbt"
expect "hash: missing image" 1 "$W/none: No such file" "$M" trace hash "$W/none" "$W/x.mbt"
expect "hash: not a regular file" 1 "not a regular file" "$M" trace hash /dev/null "$W/x.mbt"
: > "$W/empty"
expect "hash: empty image" 1 "empty image" "$M" trace hash "$W/empty" "$W/x.mbt"
expect "hash: wrong argument count" 2 "expected 2 arguments, got 1" "$M" trace hash "$W/img"
[ ! -e "$W/x.mbt" ] && ok || bad "a failed hash left $W/x.mbt behind"

# import/export: byte-identical round trip of a canonical legacy text file.
expect "import" 0 "" "$M" trace import --vm VM1 "$W/VM1.txt0" "$W/vm1.mbt"
expect "export" 0 "" "$M" trace export "$W/vm1.mbt" "$W/back.txt"
cmp -s "$W/VM1.txt0" "$W/back.txt" && ok || bad "import -> export changed the bytes"
expect "export to stdout" 0 "^7" "$M" trace export "$W/vm1.mbt" -
expect "import needs --vm" 2 "--vm NAME is required" "$M" trace import "$W/VM1.txt0" "$W/x.mbt"
expect "export of xxh64 refused" 1 "only 32-bit SuperFastHash" "$M" trace export "$W/img.mbt" "$W/x.txt"
printf '1\n2\nx3\n' > "$W/bad.txt"
expect "import: bad line named" 1 "bad.txt: line 3: unexpected character 'x'" "$M" trace import --vm v "$W/bad.txt" "$W/x.mbt"
printf '1\n99999999999\n' > "$W/big.txt"
expect "import: value too large" 1 "line 2: value exceeds 4294967295" "$M" trace info "$W/big.txt"
printf '1\n\n2\n' > "$W/gap.txt"
expect "import: empty line" 1 "line 2: empty line in the middle" "$M" trace info "$W/gap.txt"
expect "import: long vm name" 1 "longer than 63 bytes" "$M" trace import --vm "$(printf 'v%.0s' $(seq 70))" "$W/VM1.txt0" "$W/x.mbt"
expect "legacy text info" 0 "distinct +4 digests" "$M" trace info "$W/VM1.txt0"
expect "dump" 0 "^# vm VM1" "$M" trace dump "$W/vm1.mbt"
[ "$("$M" trace dump "$W/vm1.mbt" | grep -c ' used$')" -eq 5 ] && ok || bad "dump does not list 5 used pages"

# .mbt errors reach the user with path, offset and reason.
head -c 300 "$W/img.mbt" > "$W/trunc.mbt"
expect "truncated trace" 1 "trunc.mbt: byte 24: page count 8 needs" "$M" trace info "$W/trunc.mbt"
cp "$W/img.mbt" "$W/flip.mbt"; printf '\x00' | dd of="$W/flip.mbt" bs=1 seek=300 conv=notrunc 2>/dev/null
expect "corrupt trace" 1 "flip.mbt: byte [0-9]+: checksum mismatch" "$M" trace info "$W/flip.mbt"
printf 'hello' > "$W/junk"
expect "unknown format" 1 "junk: byte 0: neither an .mbt trace" "$M" trace info "$W/junk"

# diff: a second version of the image with one page changed.
cp "$W/img" "$W/img2"; head -c 4096 /dev/urandom | dd of="$W/img2" bs=4096 seek=1 conv=notrunc 2>/dev/null
"$M" trace hash --algo xxh64 "$W/img2" "$W/img2.mbt" 2>/dev/null
expect "diff" 0 "changed +1 of 8 pages used in both \(12.50%\)" "$M" trace diff "$W/img.mbt" "$W/img2.mbt"
json=$("$M" trace diff --json "$W/img.mbt" "$W/img2.mbt")
check_json changed_pages 1
check_json new_distinct_digests 1
expect "diff of different algorithms" 1 "cannot compare xxh64 digests" "$M" trace diff "$W/img.mbt" "$W/vm1.mbt"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
