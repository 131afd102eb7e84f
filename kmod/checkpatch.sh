#!/bin/bash
# checkpatch.sh FILE...: run the kernel's scripts/checkpatch.pl --no-tree -f
# on each FILE and print one summary line. Debian's linux-headers package does
# not ship checkpatch.pl, so it is extracted (with the data files it reads)
# from linux-source-6.1's tarball into build/checkpatch/ the first time.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build/checkpatch
tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
if [ ! -f "$dir/scripts/checkpatch.pl" ]; then
	[ -n "$tarball" ] || { echo "checkpatch: no /usr/src/linux-source-*.tar.xz (install linux-source-6.1)" >&2; exit 1; }
	mkdir -p "$dir"
	top_dir=$(basename "$tarball" .tar.xz)
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		"$top_dir/scripts/checkpatch.pl" "$top_dir/scripts/spelling.txt" \
		"$top_dir/scripts/const_structs.checkpatch" || exit 1
fi
clean=0 dirty=0
for f in "$@"; do
	if out=$(perl "$dir/scripts/checkpatch.pl" --no-tree -f -q "$f" 2>&1) && [ -z "$out" ]; then
		echo "checkpatch: $f: clean"
		clean=$((clean + 1))
	else
		echo "$out"
		echo "checkpatch: $f: expected no errors or warnings, got the report above"
		dirty=$((dirty + 1))
	fi
done
echo "checkpatch: $clean clean, $dirty with problems"
[ "$dirty" -eq 0 ]
