#!/usr/bin/env python3
"""Baseline for bench_sharing_real.sh: the straightforward way to compute
what `mbuddy sharing` computes, as the first prototype's tools did it: read
each legacy text trace (one decimal digest per line) into a Python
set, then intersect every pair and union the group.

usage: bench_sharing_baseline.py TRACE.txt...
Prints the group's pages, distinct pages and the sum of pairwise common
pages, so the run can be checked against mbuddy's answer."""
import sys

paths = sys.argv[1:]
pages = 0
sets = []
for p in paths:
    with open(p) as f:
        digests = [int(line) for line in f]
    pages += len(digests)
    sets.append(set(digests))
pair_sum = 0
for a in range(len(sets)):
    for b in range(a + 1, len(sets)):
        pair_sum += len(sets[a] & sets[b])
distinct = len(set().union(*sets))
print(f"pages={pages} distinct={distinct} pair_sum={pair_sum}")
