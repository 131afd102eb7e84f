#!/usr/bin/env python3
"""Baseline for bench_best_match.sh: `mbuddy best-match`'s default
algorithm (buddies, docs/placement.md) written the straightforward way in
Python, with sets: every legacy text trace (one decimal digest per line)
becomes a set, each host keeps the union of its VMs' sets, and a VM is
tried on a host with one set intersection.

usage: best_match_baseline.py SCENARIO.json
The scenario's traces must be text traces, relative to its directory, and
every VM must give memory_mb. Prints the placement and the memory in use
per host before and after, as one JSON object, so the run can be checked
against mbuddy's answer."""
import json
import os
import sys

EPS = 1e-9


def pages_mb(pages):
    return pages * 4096 / 2 ** 20


def main():
    path = sys.argv[1]
    with open(path) as f:
        sc = json.load(f)
    base = os.path.dirname(path)
    hosts = sc["hosts"]
    vms = sc["vms"]
    host_index = {h["name"]: i for i, h in enumerate(hosts)}
    sets, pages = [], []
    for v in vms:
        with open(os.path.join(base, v["trace"])) as f:
            digests = [int(line) for line in f]
        pages.append(len(digests))
        sets.append(set(digests))
    mem = [float(v["memory_mb"]) for v in vms]

    def after_mb(members):
        if not members:
            return 0.0
        total = sum(mem[m] for m in members)
        union = set().union(*(sets[m] for m in members))
        return total - pages_mb(sum(pages[m] for m in members) - len(union))

    # buddies: decreasing memory (stable), each VM to the feasible host
    # where it shares the most with the host's aggregate.
    order = sorted(range(len(vms)), key=lambda v: -mem[v])
    assign = [-1] * len(vms)
    agg = [set() for _ in hosts]
    for v in order:
        best, best_share = -1, -1.0
        for h in range(len(hosts)):
            members = [k for k in range(len(vms)) if assign[k] == h]
            share = float(len(sets[v] & agg[h])) if members else 0.0
            total = sum(mem[k] for k in members) + mem[v]
            n = sum(pages[k] for k in members) + pages[v]
            distinct = len(agg[h]) + len(sets[v]) - share
            after = total - pages_mb(n - distinct)
            if after > hosts[h]["memory_mb"] + EPS:
                continue
            if share > best_share + 0.5:
                best, best_share = h, share
        if best >= 0:
            assign[v] = best
            agg[best] |= sets[v]
    current = [host_index.get(v.get("host"), -1) for v in vms]
    out = {
        "placement": {v["name"]: hosts[assign[i]]["name"] if assign[i] >= 0 else None
                      for i, v in enumerate(vms)},
        "before_mb": {h["name"]: after_mb([k for k in range(len(vms)) if current[k] == i])
                      for i, h in enumerate(hosts)},
        "after_mb": {h["name"]: after_mb([k for k in range(len(vms)) if assign[k] == i])
                     for i, h in enumerate(hosts)},
    }
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
