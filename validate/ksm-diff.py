#!/usr/bin/env python3
"""ksm-diff.py RUNDIR: page by page, where the prediction and KSM differ.

Joins, for every guest of a finished validate/ksm-run.sh run, the
prediction per page (RUNDIR/predicted/gN.records from ksmpredict --pages:
"PFN FREE ZERO VOLATILE MERGING") with what the host's page tables showed
just before the first trace (RUNDIR/pages-before-1/gN.pages from
ksm-pagemap.py --dump: "N KPAGEFLAGS" for each present page of guest RAM,
N being the guest PFN). Prints per guest how many pages both call merged,
and the pages only one side calls merged, broken down by what the host
had there (not allocated, part of a transparent huge page, an ordinary
page) and what the guest had (free or used page, changed between the two
traces, outside its System RAM: the ISA hole, counted with the firmware). Prints JSON with --json.
"""
import json
import os
import sys

from ksmiomem import system_ram

KPF_KSM = 1 << 21
KPF_THP = 1 << 22
KPF_ZERO_PAGE = 1 << 24


def load_pages(path):
    d = {}
    with open(path) as f:
        for line in f:
            i, fl = line.split()
            d[int(i)] = int(fl, 16)
    return d


def host_kind(fl):
    if fl is None:
        return "host: not allocated"
    if fl & KPF_ZERO_PAGE:
        return "host: zero page"
    if fl & KPF_THP:
        return "host: in a huge page"
    return "host: ordinary page"


def guest(rundir, name):
    host = load_pages(os.path.join(rundir, "pages-before-1", f"{name}.pages"))
    ram = system_ram(os.path.join(rundir, "g1.iomem"))
    agree = over = under = 0
    why_over, why_under = {}, {}
    with open(os.path.join(rundir, "predicted", f"{name}.records")) as f:
        for line in f:
            pfn, free, zero, vol, merging = (int(x) for x in line.split())
            fl = host.get(pfn)
            ksm = fl is not None and bool(fl & KPF_KSM)
            if merging and ksm:
                agree += 1
                continue
            if merging == ksm:
                continue
            kind = host_kind(fl) + (", guest: free" if free else ", guest: used")
            if ram and not any(a <= pfn <= b for a, b in ram):
                kind += ", ISA hole (firmware)"
            if vol:
                kind += ", changed"
            if zero:
                kind += ", zero"
            if merging:
                over += 1
                why_over[kind] = why_over.get(kind, 0) + 1
            else:
                under += 1
                why_under[kind] = why_under.get(kind, 0) + 1
    return {"guest": name, "both": agree, "predicted_only": over,
            "ksm_only": under, "predicted_only_by_kind": why_over,
            "ksm_only_by_kind": why_under}


def main():
    args = sys.argv[1:]
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    if len(args) != 1:
        print("usage: ksm-diff.py [--json] RUNDIR", file=sys.stderr)
        return 2
    rundir = args[0]
    names = sorted(f[:-8] for f in os.listdir(os.path.join(rundir, "predicted"))
                   if f.endswith(".records"))
    res = [guest(rundir, n) for n in names]
    if as_json:
        json.dump(res, sys.stdout, indent=2)
        print()
        return 0
    for r in res:
        print(f"{r['guest']}: merged by both {r['both']}, predicted only "
              f"{r['predicted_only']}, KSM only {r['ksm_only']}")
        for title, d in (("predicted only", r["predicted_only_by_kind"]),
                         ("KSM only", r["ksm_only_by_kind"])):
            for k, v in sorted(d.items(), key=lambda kv: -kv[1]):
                print(f"  {title}: {v:6d}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
