#!/usr/bin/env python3
"""ksm-pagemap.py [--dump DIR] [--iomem FILE] RAM_KB NAME=PID...: what KSM
did to these processes only.

KSM's counters in /sys/kernel/mm/ksm are host-wide. This reads the page
tables of the given QEMU processes instead: for every page of their
mergeable mappings (VmFlags "mg" in /proc/PID/smaps) /proc/PID/pagemap gives
the physical frame and /proc/kpageflags tells whether it is a KSM page
(KPF_KSM) or the zero page (KPF_ZERO_PAGE). A KSM page mapped by c of the
pages looked at saves c - 1 of them, so

    saved = (pages mapped to KSM pages) - (distinct KSM frames among them)

is KSM's pages_sharing restricted to this group, whoever else runs on the
host: a frame these guests share with a foreign process counts only for
the guests' own mappings of it. It is computed twice: over all mergeable
memory, and over guest RAM only (mappings of at least RAM_KB kB), which is
what the guests' traces describe; the rest is QEMU's ROMs and the like.
With --iomem (a guest's /proc/iomem), only the guest RAM pages of "System
RAM" count as guest RAM; the ISA hole's pages count with the ROMs.

With --dump, DIR/NAME.pages lists every present guest RAM page as "N FLAGS":
its number in the mapping (the guest PFN) and its /proc/kpageflags in hex.

Prints "key value" lines (NAME.ksm_ram, NAME.ksm_other, NAME.zero_ram,
NAME.ksm_ram_shared: the guest RAM pages whose KSM frame at least one other
page of the group maps too,
group_saved, group_saved_ram, group_ksm_frames). Needs root.
"""
import struct
import sys

KPF_KSM = 1 << 21
KPF_ZERO_PAGE = 1 << 24
PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1
PAGE = 4096


def system_ram(path):
    """PFN ranges (inclusive) of "System RAM" in a guest's /proc/iomem."""
    r = []
    with open(path) as f:
        for line in f:
            if line.startswith(" ") or ": System RAM" not in line:
                continue
            a, b = (int(x, 16) for x in line.split(" ")[0].split("-"))
            r.append(((a + PAGE - 1) // PAGE, (b + 1) // PAGE - 1))
    return r


def mergeable_ranges(pid, ram_kb):
    ranges, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(" ", 1)[0]
            if "-" in first and ":" not in first:
                a, b = first.split("-")
                cur = [int(a, 16), int(b, 16)]
            elif line.startswith("VmFlags:") and cur:
                if " mg" in line:
                    ranges.append((cur[0], cur[1], (cur[1] - cur[0]) // 1024 >= ram_kb))
                cur = None
    return ranges


def frames(pid, ranges):
    """(pfn, in_ram, index) of every present page of the ranges; index is
    the page's number in the guest RAM mapping (the guest's PFN below the
    PCI hole), -1 elsewhere."""
    out = []
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        for start, end, ram in ranges:
            n = (end - start) // PAGE
            pm.seek(start // PAGE * 8)
            data = pm.read(n * 8)
            for i, (e,) in enumerate(struct.iter_unpack("<Q", data)):
                if e & PRESENT:
                    out.append((e & PFN_MASK, ram, i if ram else -1))
    return out


def main():
    args = sys.argv[1:]
    dump = iomem = None
    while args and args[0] in ("--dump", "--iomem"):
        if args[0] == "--dump":
            dump = args[1]
        else:
            iomem = system_ram(args[1])
        args = args[2:]
    ram_kb = int(args[0])
    guests = [a.split("=", 1) for a in args[1:]]
    per = {}
    flags_of = {}
    with open("/proc/kpageflags", "rb") as kf:
        for name, pid in guests:
            fr = frames(pid, mergeable_ranges(pid, ram_kb))
            if iomem:
                # Guest RAM outside the guest's System RAM (the ISA hole:
                # SMRAM, the BIOS shadow) is firmware memory the guest's
                # trace does not describe: count it with QEMU's ROMs.
                fr = [(pfn, ram and any(a <= i <= b for a, b in iomem), i)
                      for pfn, ram, i in fr]
            for pfn, _, _ in fr:
                if pfn not in flags_of:
                    kf.seek(pfn * 8)
                    flags_of[pfn] = struct.unpack("<Q", kf.read(8))[0]
            per[name] = fr
    total = total_ram = 0
    ksm_frames, ksm_frames_ram = set(), set()
    # How many of the group's pages map each KSM frame: a frame left with
    # one mapping (its twins were written to since) saves nothing.
    users = {}
    for name, _ in guests:
        for pfn, _, _ in per[name]:
            if flags_of[pfn] & KPF_KSM:
                users[pfn] = users.get(pfn, 0) + 1
    for name, _ in guests:
        k_ram = k_other = z_ram = k_shared = 0
        ksm_idx = []
        for pfn, ram, idx in per[name]:
            fl = flags_of[pfn]
            if idx >= 0:
                ksm_idx.append((idx, fl))
            if fl & KPF_KSM:
                ksm_frames.add(pfn)
                total += 1
                if ram:
                    k_ram += 1
                    if users[pfn] > 1:
                        k_shared += 1
                    ksm_frames_ram.add(pfn)
                    total_ram += 1
                else:
                    k_other += 1
            elif fl & KPF_ZERO_PAGE and ram:
                z_ram += 1
        print(f"{name}.ksm_ram {k_ram}\n{name}.ksm_other {k_other}\n{name}.zero_ram {z_ram}")
        print(f"{name}.ksm_ram_shared {k_shared}")
        if dump:
            with open(f"{dump}/{name}.pages", "w") as f:
                f.write("".join(f"{i} {fl:x}\n" for i, fl in ksm_idx))
    print(f"iomem_applied {1 if iomem else 0}")
    print(f"group_ksm_frames {len(ksm_frames)}")
    print(f"group_saved {total - len(ksm_frames)}")
    print(f"group_saved_ram {total_ram - len(ksm_frames_ram)}")


if __name__ == "__main__":
    main()
