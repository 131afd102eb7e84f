#!/bin/bash
# record-lackey.sh OUTDIR [NAME...]: record the page traces of memtraces/lackey/.
#
# Each trace is one real program run under `valgrind --tool=lackey
# --trace-mem=yes`, its memory records reduced to 4 KiB page numbers by
# scripts/lackey-pages.py and compressed with `xz -9`. The programs' inputs
# are made here from fixed seeds, so a run on Debian 12 records the same
# programs on the same inputs (addresses may differ by a few pages with
# another build of a library or of valgrind). memtraces/README.md lists
# the traces and the versions they were recorded with. Needs valgrind,
# python3, gcc, xz, gzip, coreutils (scripts/packages.d/balance-sim.txt).
#
#   scripts/record-lackey.sh memtraces/lackey            # all of them
#   scripts/record-lackey.sh /tmp/t gzip sort             # some
set -eu
out=${1:?usage: record-lackey.sh OUTDIR [NAME...]}
shift
names=${*:-gzip xz sort python cc1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/mb-lackey.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Inputs: English-like text (words drawn from a fixed list with a seeded
# generator), random numbers, a C file and a Python script.
/usr/bin/python3 - "$work" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(13)
words = ("memory page frame balloon guest host swap fault share digest kernel "
         "trace buddy virtual machine policy miss ratio curve stack distance "
         "working set allocation reserve target pressure").split()
with open(f"{d}/text.txt", "w") as f:
    size = 0
    while size < 120000:
        line = " ".join(r.choice(words) for _ in range(r.randint(4, 14))) + "\n"
        f.write(line)
        size += len(line)
with open(f"{d}/numbers.txt", "w") as f:
    for _ in range(6000):
        f.write(f"{r.randint(0, 10**9)}\n")
with open(f"{d}/prog.c", "w") as f:
    f.write("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n")
    for i in range(12):
        f.write(f"""static int f{i}(const int *a, int n)
{{
\tint s = 0, i;
\tfor (i = 0; i < n; i++)
\t\ts += a[i] * {i + 3} - (a[i] >> {i % 5});
\treturn s;
}}

""")
    f.write("int main(void)\n{\n\tint a[64], i, s = 0;\n\n"
            "\tfor (i = 0; i < 64; i++)\n\t\ta[i] = rand();\n")
    for i in range(12):
        f.write(f"\ts += f{i}(a, 64);\n")
    f.write('\tprintf("%d\\n", s);\n\treturn 0;\n}\n')
with open(f"{d}/work.py", "w") as f:
    f.write("""import random
r = random.Random(5)
d = {}
for i in range(3000):
    k = r.randrange(10**6)
    d[k] = d.get(k, 0) + i
items = sorted(d.items(), key=lambda kv: (kv[1], kv[0]))
print(len(items), items[0], items[-1])
""")
PY

record() {	# NAME COMMAND...
	local name=$1; shift
	echo "record-lackey: $name: $*" >&2
	(cd "$work" && valgrind --tool=lackey --trace-mem=yes --log-fd=3 "$@" \
		3>&1 >/dev/null 2>/dev/null) |
		/usr/bin/python3 "$here/lackey-pages.py" --name "$name" --command "$*" |
		xz -9 > "$out/$name.pages.xz"
}

for n in $names; do
	case $n in
	gzip)	record gzip gzip -6 -c text.txt ;;
	xz)	record xz xz -1 -c text.txt ;;
	sort)	record sort sort -n numbers.txt ;;
	python)	record python /usr/bin/python3 -S work.py ;;
	cc1)	record cc1 /usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet -O1 prog.c -o prog.s ;;
	*)	echo "record-lackey: unknown trace '$n' (gzip xz sort python cc1)" >&2; exit 2 ;;
	esac
done
ls -l "$out"/*.pages.xz
