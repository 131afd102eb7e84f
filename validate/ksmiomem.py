"""A guest's System RAM, read from a copy of its /proc/iomem: shared by
ksm-report.py and ksm-diff.py, which count only those frames."""


def system_ram(path):
    """System RAM ranges of @path as inclusive PFN ranges; [] if unreadable."""
    r = []
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(" ") or ": System RAM" not in line:
                    continue
                a, b = (int(x, 16) for x in line.split(" ")[0].split("-"))
                r.append(((a + 4095) // 4096, (b + 1) // 4096 - 1))
    except OSError:
        pass
    return r
