#!/usr/bin/env python3
"""ksm-report.py: the numbers of the KSM validation experiment.

  ksm-report.py result [--load L --guests N ...] OUTDIR
      combine OUTDIR/predict.json (validate/ksmpredict) with the KSM
      snapshots ksm-*.txt that validate/ksm-run.sh took into one JSON
      document (stdout)
  ksm-report.py table RESULT.json...
      the Markdown tables of docs/accuracy.md
  ksm-report.py check --bound PCT [--bloom-bound PCT] RESULT.json
      exit 1 unless the prediction's error is within the bounds, printing
      what was expected and what came instead

Definitions (docs/accuracy.md): actual = /sys/kernel/mm/ksm/pages_sharing
just before the guests' first trace; predicted = saved(G) = pages(G) -
distinct(G) over the guests' non-zero pages, used and free; refined = the
same without the pages that changed by the second trace, with KSM's
stable-node chains (max_page_sharing), plus (n - 1) times the pages KSM
merges in QEMU's own mergeable memory (ROMs) per guest; error = (predicted
- actual) / actual.
"""
import argparse
import json
import os
import sys

from ksmiomem import system_ram


def snapshot(path):
    d = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            try:
                d[k] = int(v)
            except ValueError:
                try:
                    d[k] = float(v)
                except ValueError:
                    d[k] = v.strip()
    return d


def hidden_ksm(path, ram):
    """KSM pages of a guest's RAM mapping outside its System RAM."""
    if not ram:
        return 0
    count = 0
    try:
        with open(path) as f:
            for line in f:
                i, fl = line.split()
                i = int(i)
                if int(fl, 16) & (1 << 21) and not any(a <= i <= b for a, b in ram):
                    count += 1
    except OSError:
        return 0
    return count


def err(pred, actual):
    if pred is None or not actual:
        return None
    return 100.0 * (pred - actual) / actual


def result(a):
    out = a.outdir
    with open(os.path.join(out, "predict.json")) as f:
        p = json.load(f)
    p0 = p      # every PFN of the traces, not only the guests' System RAM
    if os.path.exists(os.path.join(out, "predict-all-pfns.json")):
        with open(os.path.join(out, "predict-all-pfns.json")) as f:
            p0 = json.load(f)
    b1 = snapshot(os.path.join(out, "ksm-before-1.txt"))
    a1 = snapshot(os.path.join(out, "ksm-after-1.txt"))
    b2 = snapshot(os.path.join(out, "ksm-before-2.txt"))
    n = len(p["guests"])
    others = " ".join(str(s.get("others", "")) for s in (b1, a1, b2)).split()
    # The host-side term: KSM pages the guests cannot see in their traces,
    # QEMU's other mergeable memory (ROMs) and the guest RAM under the ISA
    # hole (firmware data such as SMRAM and the BIOS shadow). It is the same
    # in every guest: each such page is held n times and saves n - 1.
    ram = system_ram(os.path.join(out, "g1.iomem"))
    rom = [b1.get(f"g{i + 1}.ksm_other", b1.get(f"g{i + 1}.ksm_other_pages", 0))
           for i in range(n)]
    hole = [0] * n
    if not b1.get("iomem_applied"):     # older snapshots: count them here
        hole = [hidden_ksm(os.path.join(out, "pages-before-1", f"g{i + 1}.pages"), ram)
                for i in range(n)]
    rom_saved = round((sum(rom) + sum(hole)) / n * (n - 1)) if n else 0
    st = p.get("stable", p["all"])
    mb = None
    try:
        with open(os.path.join(out, "mbuddy-sharing.json")) as f:
            mb = round(json.load(f)["group"]["saved"])
    except (OSError, KeyError, ValueError):
        pass
    guests = []
    for i, g in enumerate(p["guests"]):
        k = f"g{i + 1}."
        guests.append({
            "name": g["name"], "trace_pages": g["pages"], "used": g["used"],
            "not_ram": g.get("not_ram", 0),
            "free": g["free"], "zero": g["zero"], "volatile": g.get("volatile"),
            "predicted_merging": p["all"]["merging"][i],
            "predicted_merging_stable": st["merging"][i],
            "ksm_merging_pages": b1.get(k + "ksm_merging_pages"),
            "ksm_merging_pages_ram": b1.get(k + "ksm_ram", b1.get(k + "ksm_ram_pages")),
            "ksm_merging_pages_other": b1.get(k + "ksm_other", b1.get(k + "ksm_other_pages")),
            "smaps_ksm_ram": b1.get(k + "ksm_ram_pages"),
            "zero_page_mapped_ram": b1.get(k + "zero_ram"),
            "ksm_zero_pages": b1.get(k + "ksm_zero_pages"),
            "anon_huge_kb": b1.get(k + "thp_kb"),
        })
        # KSM pages whose twins were written to since keep one mapping: they
        # count in ksm_merging_pages but save nothing; compare without them.
        shared = b1.get(k + "ksm_ram_shared")
        guests[-1]["ksm_merging_pages_ram_shared"] = shared
        guests[-1]["error_pct"] = err(guests[-1]["predicted_merging_stable"],
                                      shared if shared is not None else
                                      guests[-1]["ksm_merging_pages_ram"])
    r = {
        "config": {"load": a.load, "guests": n, "mem_mib": a.mem,
                   "load_mib": a.mib if a.load != "idle" else 0,
                   "settle_s": a.settle, "stable": bool(a.stable),
                   "pages_sharing_per_full_scan": [int(x) for x in a.scans.split()],
                   "algorithm": p["algorithm"],
                   "max_page_sharing": p["max_page_sharing"]},
        "contaminated": bool(others),
        "others": sorted(set(others)),
        "actual": {
            "pages_sharing": b1["pages_sharing"],
            "pages_sharing_after_scan": a1["pages_sharing"],
            "pages_sharing_second_scan": b2["pages_sharing"],
            "pages_shared": b1["pages_shared"],
            "ksm_zero_pages": b1.get("ksm_zero_pages"),
            "pages_volatile": b1.get("pages_volatile"),
            "stable_node_chains": b1.get("stable_node_chains"),
            "stable_node_dups": b1.get("stable_node_dups"),
            "full_scans": b1["full_scans"],
        },
        "predicted": {
            "exact": p0["all"]["saved"],
            "ram_only": p["all"]["saved"],
            "stable": st["saved"],
            "chains": st["saved_ksm"],
            "qemu_rom": rom_saved,
            "hidden_pages_per_guest": [a + b for a, b in zip(rom, hole)],
            "refined": st["saved_ksm"] + rom_saved,
            "exact_32bit": p0["all"]["saved_32bit"],
            "used_pages_only": p0["all"]["saved_used_only"],
            "with_zero_pages": p0["all"]["saved_with_zero"],
            "mbuddy_sharing_include_free": mb,
            "bloom": p0["all"]["bloom_saved"],
            "bloom_refined": (st["bloom_saved"] + rom_saved
                              if st["bloom_saved"] is not None else None),
        },
        "guests": guests,
    }
    # KSM's pages_sharing counts every process on the host; the page-table
    # figure counts only these guests and equals it when nothing else runs.
    r["actual"]["group_saved"] = b1.get("group_saved")
    r["actual"]["group_saved_ram"] = b1.get("group_saved_ram")
    r["actual"]["group_saved_after_scan"] = a1.get("group_saved")
    try:
        with open(os.path.join(out, "diff.json")) as f:
            r["page_diff"] = json.load(f)
    except (OSError, ValueError):
        r["page_diff"] = None
    gs, ps = r["actual"]["group_saved"], r["actual"]["pages_sharing"]
    if gs is not None and abs(ps - gs) > max(16, gs // 500):
        # Merging by some process that came and went between the checks
        # (KSM clears an exited process's pages only on its next pass).
        r["contaminated"] = True
        r["others"].append("(host-wide pages_sharing differs from the "
                           "guests' page tables)")
    if r["contaminated"] and r["actual"]["group_saved"] is not None:
        act, r["actual_source"] = r["actual"]["group_saved"], "page tables"
    else:
        act, r["actual_source"] = r["actual"]["pages_sharing"], "pages_sharing"
    r["actual_value"] = act
    r["error_pct"] = {k: err(v, act) for k, v in r["predicted"].items()
                      if k not in ("qemu_rom", "mbuddy_sharing_include_free",
                                   "hidden_pages_per_guest")}
    # Guest memory alone: the traces against KSM's merging in guest RAM.
    ram = r["actual"]["group_saved_ram"]
    r["error_ram_pct"] = {"chains": err(st["saved_ksm"], ram),
                          "exact": err(p0["all"]["saved"], ram),
                          "ram_only": err(p["all"]["saved"], ram),
                          "bloom": err(st["bloom_saved"], ram)}
    json.dump(r, sys.stdout, indent=2)
    print()


def pct(x):
    return "n/a" if x is None else f"{x:+.2f} %"


def drift(r):
    a = r["actual"]
    if a.get("group_saved_after_scan") is None or a.get("group_saved") is None:
        return "n/a"
    return f"{a['group_saved_after_scan'] - a['group_saved']:+d}"


def table(a):
    rs = []
    for path in a.results:
        with open(path) as f:
            rs.append(json.load(f))
    print("| configuration | guests | actual (pages_sharing) | predicted (exact) | error "
          "| refined | error | Bloom 4 bits/page | error | Bloom refined | error |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        c, p, e = r["config"], r["predicted"], r["error_pct"]
        name = c["load"] + (f" {c['load_mib']} MiB" if c["load_mib"] else "")
        if not c["stable"]:
            name += " (KSM not stable)"
        act = str(r["actual_value"])
        if r["actual_source"] != "pages_sharing":
            act += f" † ({r['actual']['pages_sharing']})"
        print(f"| {name} | {c['guests']} | {act} | {p['exact']} "
              f"| {pct(e['exact'])} | {p['refined']} | {pct(e['refined'])} "
              f"| {p['bloom']:.0f} | {pct(e['bloom'])} "
              f"| {p['bloom_refined']:.0f} | {pct(e['bloom_refined'])} |")
    if any(r["actual_source"] != "pages_sharing" for r in rs):
        print()
        print("† other QEMU guests ran on the host at the time (host-wide "
              "pages_sharing in brackets): actual is KSM's saving over these "
              "guests' own page tables (validate/ksm-pagemap.py).")
    print()
    print("Guest memory alone: KSM's saving inside guest RAM (page tables, "
          "QEMU's ROMs left out) against the prediction from the traces "
          "without the ROM term:")
    print()
    print("| configuration | guests | pages_sharing | saved, page tables (all) "
          "| saved in guest RAM | predicted (System RAM, stable, chains) | error "
          "| exact (all PFNs) | error | Bloom | error |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        c, p, e, a_ = r["config"], r["predicted"], r["error_ram_pct"], r["actual"]
        name = c["load"] + (f" {c['load_mib']} MiB" if c["load_mib"] else "")
        bl = p["bloom_refined"] - p["qemu_rom"]
        print(f"| {name} | {c['guests']} | {a_['pages_sharing']}"
              f"{' (others running)' if r['contaminated'] else ''} "
              f"| {a_['group_saved']} | {a_['group_saved_ram']} | {p['chains']} "
              f"| {pct(e['chains'])} | {p['exact']} | {pct(e['exact'])} "
              f"| {bl:.0f} | {pct(e['bloom'])} |")
    print()
    print("Where the refinement comes from (pages; a negative effect lowers "
          "the prediction):")
    print()
    print("| configuration | guests | ISA hole left out | volatile pages left out "
          "| stable-node chains | QEMU ROMs and firmware | 32-bit digests instead of 64 "
          "| free pages left out | zero pages counted | KSM's saving changed during the "
          "trace | KSM settle time | full scans |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        c, p = r["config"], r["predicted"]
        name = c["load"] + (f" {c['load_mib']} MiB" if c["load_mib"] else "")
        print(f"| {name} | {c['guests']} | {p['ram_only'] - p['exact']:+d} "
              f"| {p['stable'] - p['ram_only']:+d} "
              f"| {p['chains'] - p['stable']:+d} | {p['qemu_rom']:+d} "
              f"| {p['exact_32bit'] - p['exact']:+d} "
              f"| {p['used_pages_only'] - p['exact']:+d} "
              f"| {p['with_zero_pages'] - p['exact']:+d} "
              f"| {drift(r)} | {c['settle_s']} s | {r['actual']['full_scans']} |")
    print()
    print("Per guest: predicted merging pages (non-zero, unchanged System RAM "
          "pages whose content occurs at least twice in the group) against "
          "/proc/PID/ksm_stat's ksm_merging_pages, split by the QEMU process's "
          "page tables into QEMU's ROMs and firmware memory and the guest's "
          "System RAM; \"shared\" leaves out KSM pages no other page of the "
          "group maps any more (their twins were written to after the merge: "
          "they still count in ksm_merging_pages but save nothing). The error "
          "is against the shared ones:")
    print()
    print("| configuration | guest | trace pages (used/free/zero/volatile) "
          "| predicted merging | ksm_merging_pages | in ROMs and firmware | in guest RAM "
          "| of which shared | error |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        c = r["config"]
        name = f"{c['load']} x{c['guests']}"
        for g in r["guests"]:
            print(f"| {name} | {g['name']} | {g['trace_pages']} ({g['used']}/{g['free']}/"
                  f"{g['zero']}/{g['volatile']}) | {g['predicted_merging_stable']} "
                  f"| {g['ksm_merging_pages']} | {g['ksm_merging_pages_other']} "
                  f"| {g['ksm_merging_pages_ram']} "
                  f"| {g.get('ksm_merging_pages_ram_shared', 'n/a')} | {pct(g['error_pct'])} |")
    if not any(r.get("page_diff") for r in rs):
        return
    print()
    print("Page by page (validate/ksm-diff.py): guest RAM pages both call merged, "
          "and the pages only one side calls merged with the most common reason "
          "(what the host's page table held there, what the guest's trace said):")
    print()
    print("| configuration | merged by both | predicted only | KSM only "
          "| most common reasons |")
    print("|---|---:|---:|---:|---|")
    for r in rs:
        if not r.get("page_diff"):
            continue
        c = r["config"]
        both = sum(g["both"] for g in r["page_diff"])
        po = sum(g["predicted_only"] for g in r["page_diff"])
        ko = sum(g["ksm_only"] for g in r["page_diff"])
        why = {}
        for g in r["page_diff"]:
            for side, key in (("predicted only", "predicted_only_by_kind"),
                              ("KSM only", "ksm_only_by_kind")):
                for k, v in g[key].items():
                    why[f"{side}: {k}"] = why.get(f"{side}: {k}", 0) + v
        top = sorted(why.items(), key=lambda kv: -kv[1])[:3]
        print(f"| {c['load']} x{c['guests']} | {both} | {po} | {ko} | "
              + "; ".join(f"{v} {k}" for k, v in top) + " |")


def check(a):
    with open(a.result) as f:
        r = json.load(f)
    c, e = r["config"], r["error_pct"]
    what = f"{c['guests']} {c['load']} guests"
    bad = 0
    if r["contaminated"]:
        print(f"check-ksm: note: other mergeable processes ran ({' '.join(r['others'])}); "
              f"actual is KSM's saving over the guests' own page tables "
              f"({r['actual_value']}), not the host-wide pages_sharing "
              f"({r['actual']['pages_sharing']})")
    if not c["stable"]:
        print(f"check-ksm: expected KSM's pages_sharing to settle, but it was still "
              f"moving: {c['pages_sharing_per_full_scan']}")
        bad = 1
    mb = r["predicted"].get("mbuddy_sharing_include_free")
    if mb != r["predicted"]["with_zero_pages"]:
        print(f"check-ksm: expected ksmpredict's saved pages with zero pages "
              f"({r['predicted']['with_zero_pages']}) to equal mbuddy sharing "
              f"--include-free's group saved, got {mb}")
        bad = 1
    else:
        print(f"check-ksm: PASS ksmpredict agrees with mbuddy sharing --include-free "
              f"({mb} pages saved, zero pages counted)")
    checks = [("refined", a.bound), ("exact", a.exact_bound),
              ("bloom_refined", a.bloom_bound)]
    for key, bound in checks:
        if bound is None:
            continue
        v = e.get(key)
        if v is None or abs(v) > bound:
            print(f"check-ksm: {what}: expected the {key} prediction "
                  f"({r['predicted'][key]:.0f} pages) within ±{bound} % of KSM's "
                  f"{r['actual_source']} ({r['actual_value']}), got {pct(v)}")
            bad = 1
        else:
            print(f"check-ksm: PASS {what}: {key} prediction {r['predicted'][key]:.0f} "
                  f"pages vs {r['actual_source']} {r['actual_value']}: "
                  f"error {pct(v)} (bound ±{bound} %)")
    if a.ram_bound is not None:
        v = r["error_ram_pct"]["chains"]
        act = r["actual"]["group_saved_ram"]
        if v is None or abs(v) > a.ram_bound:
            print(f"check-ksm: {what}: expected the guest-memory prediction "
                  f"({r['predicted']['chains']} pages) within ±{a.ram_bound} % of "
                  f"KSM's saving in guest RAM ({act}), got {pct(v)}")
            bad = 1
        else:
            print(f"check-ksm: PASS {what}: guest-memory prediction "
                  f"{r['predicted']['chains']} vs KSM's saving in guest RAM {act}: "
                  f"error {pct(v)} (bound ±{a.ram_bound} %)")
    for g in r["guests"]:
        v = g["error_pct"]
        if a.guest_bound is None:
            continue
        if v is None or abs(v) > a.guest_bound:
            print(f"check-ksm: {what}: expected {g['name']}'s predicted merging pages "
                  f"({g['predicted_merging_stable']}) within ±{a.guest_bound} % of its "
                  f"QEMU's shared KSM pages in guest RAM "
                  f"({g.get('ksm_merging_pages_ram_shared')}), "
                  f"got {pct(v)}")
            bad = 1
        else:
            print(f"check-ksm: PASS {what}: {g['name']} merging pages "
                  f"{g['predicted_merging_stable']} vs shared KSM pages in its guest RAM "
                  f"{g.get('ksm_merging_pages_ram_shared')}: error {pct(v)} "
                  f"(bound ±{a.guest_bound} %)")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("result")
    r.add_argument("--load", required=True)
    r.add_argument("--guests", type=int, required=True)
    r.add_argument("--mem", type=int, required=True)
    r.add_argument("--mib", type=int, required=True)
    r.add_argument("--settle", type=int, required=True)
    r.add_argument("--stable", type=int, required=True)
    r.add_argument("--scans", required=True)
    r.add_argument("outdir")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    c = sub.add_parser("check")
    c.add_argument("--bound", type=float, required=True)
    c.add_argument("--exact-bound", type=float)
    c.add_argument("--bloom-bound", type=float)
    c.add_argument("--guest-bound", type=float)
    c.add_argument("--ram-bound", type=float)
    c.add_argument("result")
    a = ap.parse_args()
    if a.cmd == "result":
        result(a)
        return 0
    if a.cmd == "table":
        table(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
