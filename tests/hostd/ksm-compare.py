#!/usr/bin/env python3
"""ksm-compare.py [--json] [--bound PCT] RUNDIR...: KSM's real merging
against the prediction from mb-hostd's host-side traces, next to the
prediction from the guests' own traces (validate/ksm-run.sh with HOSTD set:
RUNDIR holds result.json and predict-host.json).

Host-side prediction: ksmpredict over every page of the host-side traces
(all of each guest's RAM blocks, so QEMU's ROMs and firmware are in, and
free pages are counted as the host sees them), pages that changed between
the two traces left out, KSM's stable-node chains applied ("stable" model,
saved_ksm); "exact" is the plain saved(G) over every page. The guest-side
figures are ksm-report.py's "exact" and "refined". With --bound, exits 1
when a host-side stable error is beyond +-PCT %.
"""
import json
import os
import sys


def err(p, a):
    return None if not a else 100.0 * (p - a) / a


def compare(run):
    r = json.load(open(os.path.join(run, "result.json")))
    h = json.load(open(os.path.join(run, "predict-host.json")))
    act = r["actual_value"]
    st = h.get("stable", h["all"])
    c = r["config"]
    return {
        "configuration": f"{c['load']} x{c['guests']}",
        "actual": act, "actual_source": r["actual_source"],
        "host_stable": st["saved_ksm"], "host_exact": h["all"]["saved"],
        "host_pages": sum(g["pages"] for g in h["guests"]),
        "host_volatile": sum(g.get("volatile", 0) for g in h["guests"]),
        "guest_exact": r["predicted"]["exact"],
        "guest_refined": r["predicted"]["refined"],
        "error_pct": {
            "host_stable": err(st["saved_ksm"], act),
            "host_exact": err(h["all"]["saved"], act),
            "guest_exact": r["error_pct"]["exact"],
            "guest_refined": r["error_pct"]["refined"],
        },
    }


def pct(x):
    return "n/a" if x is None else f"{x:+.2f} %"


def main():
    args = sys.argv[1:]
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    bound = None
    if "--bound" in args:
        i = args.index("--bound")
        bound = float(args[i + 1])
        del args[i:i + 2]
    if not args:
        raise SystemExit(__doc__)
    rows = [compare(run) for run in args]
    if as_json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        for x in rows:
            e = x["error_pct"]
            print(f"KSM {x['configuration']}: actual {x['actual']} "
                  f"({x['actual_source']}); host-side traces: "
                  f"{x['host_stable']} ({pct(e['host_stable'])}), exact "
                  f"{x['host_exact']} ({pct(e['host_exact'])}); guest "
                  f"traces: exact {x['guest_exact']} "
                  f"({pct(e['guest_exact'])}), refined "
                  f"{x['guest_refined']} ({pct(e['guest_refined'])})")
    if bound is not None and any(
            x["error_pct"]["host_stable"] is None or
            abs(x["error_pct"]["host_stable"]) > bound for x in rows):
        print(f"ksm-compare: a host-side prediction is off by more than "
              f"{bound} %")
        return 1
    return 0


sys.exit(main())
