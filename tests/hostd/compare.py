#!/usr/bin/env python3
"""compare.py: a guest module's trace against host-side traces of the same
guest, page by page over the guest's System RAM (tests/hostd/equality.sh).

    compare.py [--json] [--name NAME] IOMEM GUEST.mbt HOST-BEFORE.mbt HOST-AFTER.mbt

IOMEM is the guest's /proc/iomem; GUEST.mbt the module's trace (hash_free=1,
so free pages carry digests too); the host traces are mb-hostd's, taken just
before and just after the guest's. A System RAM page is equal when the
guest's digest is the host's before or after: the guest read it at some
moment between the two. The rest is split by what the two host traces say:
changed between them (written while the traces were taken), or the same in
both and yet different from the guest's (an error of either side).

The .mbt reader here is independent of lib/mbt.c (docs/trace-format.md):
header, chunks of start_pfn/count, free bitmap and digests, trailer.
"""
import json
import struct
import sys


def read_mbt(path):
    """{pfn: digest} of every record, the header's flags and digest size."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89MBT\r\n\x1a\n':
        raise SystemExit(f'{path}: not an .mbt trace')
    size = data[13]
    flags, = struct.unpack_from('<H', data, 14)
    count, = struct.unpack_from('<Q', data, 24)
    pos, pages = 256, {}
    while len(pages) < count:
        start, n = struct.unpack_from('<QI', data, pos)
        pos += 16 + ((n + 63) // 64) * 8
        fmt = '<%d%s' % (n, 'I' if size == 4 else 'Q')
        for i, d in enumerate(struct.unpack_from(fmt, data, pos)):
            pages[start + i] = d
        pos += n * size
    if data[pos:pos + 8] != b'MBTEND01':
        raise SystemExit(f'{path}: no trailer after {count} records')
    return pages, flags


def system_ram(path):
    """The PFNs of the top-level "System RAM" ranges of /proc/iomem."""
    pfns = []
    for line in open(path):
        if line.startswith(' ') or 'System RAM' not in line:
            continue
        lo, hi = (int(x, 16) for x in line.split(':')[0].strip().split('-'))
        pfns.extend(range((lo + 4095) // 4096, (hi + 1) // 4096))
    return pfns


def main():
    args = sys.argv[1:]
    as_json = '--json' in args
    args = [a for a in args if a != '--json']
    name = 'guest'
    if '--name' in args:
        i = args.index('--name')
        name = args[i + 1]
        del args[i:i + 2]
    if len(args) != 4:
        raise SystemExit(__doc__)
    ram = system_ram(args[0])
    guest, _ = read_mbt(args[1])
    before, fb = read_mbt(args[2])
    after, fa = read_mbt(args[3])
    if not (fb & fa & 0x0008):
        raise SystemExit('the host traces lack the FROM_HOST flag')
    r = dict(name=name, system_ram_pages=len(ram), equal=0,
             changed_between_host_traces=0, differ_while_unchanged=0,
             missing_in_guest_trace=0, missing_in_host_trace=0)
    for p in ram:
        g, b, a = guest.get(p), before.get(p), after.get(p)
        if g is None:
            r['missing_in_guest_trace'] += 1
        elif b is None or a is None:
            r['missing_in_host_trace'] += 1
        elif g in (b, a):
            r['equal'] += 1
        elif a != b:
            r['changed_between_host_traces'] += 1
        else:
            r['differ_while_unchanged'] += 1
    r['percent'] = 100.0 * r['equal'] / len(ram) if ram else 0.0
    if as_json:
        print(json.dumps(r))
    else:
        print(f"{name}: {r['equal']} of {len(ram)} System RAM pages equal "
              f"({r['percent']:.2f} %); the rest: "
              f"{r['changed_between_host_traces']} changed between the host "
              f"traces, {r['differ_while_unchanged']} differ though "
              f"unchanged, {r['missing_in_guest_trace']} not in the guest's "
              f"trace, {r['missing_in_host_trace']} not in the host's")


main()
