#!/usr/bin/env python3
"""lackey-pages.py: reduce a valgrind lackey memory trace to a page trace.

Reads the output of `valgrind --tool=lackey --trace-mem=yes` (lines
"I  0401ab70,3", " L 1fff0006f8,8", " S ...", " M ...": instruction fetch,
load, store, modify, address in hex, size in bytes) and writes the page
trace that `mbuddy balance-sim` reads (docs/balancing.md, "Page traces"):

    # mbuddy page trace 1
    # name: gzip
    # command: gzip -6 -c input.txt
    # page-size: 4096
    # accesses: 65905316 (lackey records), 29084201 page references
    401a
    1fff000
    ...

one hexadecimal 4 KiB page number (address >> 12) per line. Every record
counts, instruction fetches included; an access that crosses a page
boundary references both pages, in address order. A reference to the page
just referenced is dropped (it is an LRU hit at any memory size, so no
miss count changes; only the number of hits does). Valgrind's own lines
("==123== ...") and anything else that is not a record are skipped.

usage: lackey-pages.py [--name NAME] [--command TEXT] [LOG]   (LOG or stdin)
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="", help="VM name written in the header")
    ap.add_argument("--command", default="", help="the traced command, for the header")
    ap.add_argument("log", nargs="?", help="lackey output (default: stdin)")
    args = ap.parse_args()
    src = open(args.log, "rb") if args.log else sys.stdin.buffer
    pages = []
    out_lines = []
    records = 0
    last = -1
    flush_every = 1 << 16
    body = []
    for line in src:
        # Records start with "I  " or " L ", " S ", " M ".
        c0 = line[:1]
        if c0 == b"I":
            rest = line[3:]
        elif c0 == b" " and line[1:2] in (b"L", b"S", b"M"):
            rest = line[3:]
        else:
            continue
        comma = rest.find(b",")
        if comma <= 0:
            continue
        try:
            addr = int(rest[:comma], 16)
            size = int(rest[comma + 1:])
        except ValueError:
            continue
        records += 1
        first = addr >> 12
        end = (addr + max(size, 1) - 1) >> 12
        p = first
        while p <= end:
            if p != last:
                body.append(p)
                last = p
            p += 1
        if len(body) >= flush_every:
            pages.append(b"".join(b"%x\n" % x for x in body))
            out_lines.append(len(body))
            body = []
    if body:
        pages.append(b"".join(b"%x\n" % x for x in body))
        out_lines.append(len(body))
    refs = sum(out_lines)
    if refs == 0:
        sys.exit("lackey-pages.py: no lackey records in the input "
                 "(was it run with --tool=lackey --trace-mem=yes?)")
    out = sys.stdout.buffer
    out.write(b"# mbuddy page trace 1\n")
    if args.name:
        out.write(b"# name: %s\n" % args.name.encode())
    if args.command:
        out.write(b"# command: %s\n" % args.command.encode())
    out.write(b"# page-size: 4096\n")
    out.write(b"# accesses: %d (lackey records), %d page references\n" % (records, refs))
    for chunk in pages:
        out.write(chunk)


if __name__ == "__main__":
    main()
