#!/bin/bash
# demo.sh MBUDDY: the main job on the traces embedded in memtraces/: what
# each VM's memory holds, how its pages change between versions, and (when
# the sharing and placement commands are built in) how much the VMs share
# and where Memory Buddies would place them.
set -euo pipefail
M=$1
cd "$(dirname "$0")/.."
shopt -s nullglob
traces=(memtraces/*.mbt)
fixture=
if [ ${#traces[@]} -eq 0 ]; then
	fixture=$(mktemp -d)
	trap 'rm -rf "$fixture"' EXIT
	echo "memtraces/ has no traces yet: using a test fixture of two synthetic"
	echo "'memory images' (random pages plus shared ones) made now, not real guests."
	head -c $((4096 * 512)) /dev/urandom > "$fixture/shared"
	for vm in vm-a vm-b; do
		{ cat "$fixture/shared"; head -c $((4096 * 256)) /dev/urandom; } > "$fixture/$vm.img"
		"$M" trace hash --vm "$vm" "$fixture/$vm.img" "$fixture/$vm.mbt" 2>/dev/null
	done
	traces=("$fixture"/*.mbt)
fi

echo
echo "== What each trace holds (mbuddy trace info)"
for t in "${traces[@]}"; do
	"$M" trace info "$t"
done

# Group the traces by VM (uuid, else name), oldest first: the newest trace
# of each VM is its current memory, the older ones show how it changes.
groups=$(for t in "${traces[@]}"; do "$M" trace info --json "$t"; done | python3 -c '
import json, sys
dec, text, pos, vms = json.JSONDecoder(), sys.stdin.read(), 0, {}
while pos < len(text.rstrip()):
    d, pos = dec.raw_decode(text, pos)
    pos += len(text[pos:]) - len(text[pos:].lstrip())
    vms.setdefault(d["vm_uuid"] or d["vm_name"], []).append((d["capture_time_ns"], d["file"]))
for key in sorted(vms, key=lambda k: min(vms[k])[1]):
    print(" ".join(f for _, f in sorted(vms[key])))')
current=()
while read -r -a versions; do
	current+=("${versions[-1]}")
	[ ${#versions[@]} -ge 2 ] || continue
	echo
	echo "== How $(basename "${versions[0]}" .mbt) changes between versions (mbuddy trace diff)"
	for ((i = 1; i < ${#versions[@]}; i++)); do
		"$M" trace diff "${versions[i-1]}" "${versions[i]}"
	done
done <<< "$groups"
traces=("${current[@]}")

if "$M" sharing --help > /dev/null 2>&1; then
	echo
	echo "== What the VMs share (mbuddy sharing)"
	"$M" sharing "${traces[@]}"
fi
if "$M" best-match --help > /dev/null 2>&1 && [ -z "$fixture" ] && [ -f memtraces/scenario.json ]; then
	echo
	echo "== Where Memory Buddies would put them (mbuddy best-match memtraces/scenario.json)"
	"$M" best-match memtraces/scenario.json
	echo
	echo "== The same VMs placed without regard to sharing (--algorithm first-fit)"
	"$M" best-match --algorithm first-fit memtraces/scenario.json
fi
