#!/bin/bash
# deb.sh OUTDIR: build the Debian packages (debian/, docs/packaging.md)
# from this working tree into OUTDIR, then run lintian on them.
#
# The tree's files (tracked and new, not ignored) are copied to
# OUTDIR/memory-buddies-VERSION and built there with dpkg-buildpackage,
# so that the checkout gets no build products and the .deb files land in
# OUTDIR, not in the checkout's parent. lintian's tags, with the
# explanations of those kept in debian/lintian-expected, go to
# OUTDIR/lintian.txt; any other tag fails the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$root/debian/changelog")
src=$out/memory-buddies-$version

rm -rf "$src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"
(cd "$root" && git ls-files -z -c -o --exclude-standard) |
	(cd "$root" && tar -cf - --null --no-recursion -T -) | tar -xf - -C "$src"
echo "deb: building in $src"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1; then
	tail -30 "$out/build.log"
	echo "deb: dpkg-buildpackage failed; the log is $out/build.log" >&2
	exit 1
fi
ls "$out"/*.deb
lintian --tag-display-limit 0 "$out"/memory-buddies_"$version"_*.changes > "$out/lintian.txt" 2>&1 || true
# Tags explained in docs/packaging.md and listed in debian/lintian-expected
# ("TAG" per line) are kept; anything else is a failure.
expected=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/^[[:space:]]*/ /; s/[[:space:]]*$/ /' \
	"$root/debian/lintian-expected")
unexpected=$(grep -E '^[EW]: ' "$out/lintian.txt" | sed 's/$/ /' |
	grep -v -F -e "${expected:- no-such-tag }" || true)
if [ -n "$unexpected" ]; then
	printf '%s\n' "$unexpected"
	echo "deb: lintian reports the errors or warnings above (all of it: $out/lintian.txt)" >&2
	exit 1
fi
echo "deb: lintian: no error or warning but those explained in docs/packaging.md ($out/lintian.txt)"
