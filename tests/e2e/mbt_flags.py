#!/usr/bin/env python3
"""mbt_flags.py IN OUT FLAGS: copy the .mbt trace IN to OUT with header
flags FLAGS (a number, e.g. 0x8 for FROM_HOST) and the trailer's checksum
recomputed, so that tests can make a host-side trace without a QEMU
(tests/e2e/hostside.sh). The checksum is tests/vectors/digests.py's own
xxh64, independent of lib/; small traces only (it is pure Python)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vectors'))
from digests import xxh64  # noqa: E402

if len(sys.argv) != 4:
    raise SystemExit(__doc__)
data = bytearray(open(sys.argv[1], 'rb').read())
if data[:8] != b'\x89MBT\r\n\x1a\n' or data[-40:-32] != b'MBTEND01':
    raise SystemExit(f'{sys.argv[1]}: not an .mbt trace')
struct.pack_into('<H', data, 14, int(sys.argv[3], 0))
struct.pack_into('<Q', data, len(data) - 8, xxh64(bytes(data[:-8])))
open(sys.argv[2], 'wb').write(data)
