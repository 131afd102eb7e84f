#!/usr/bin/env python3
"""keyed_trace.py OUT UUID NAME KEYFILE|- SET:COUNT...

Write the .mbt trace OUT of a VM whose memory is made of page sets: SET
is a number, and page i of set S is 4096 bytes of the splitmix64 sequence
started at S * 2^20 + i (so two VMs with the same set hold the same
pages). Its digests are xxh64 under the seed of KEYFILE, the JSON answer
of GET /v1/vms/{uuid}/key (a keyed trace: flag KEYED, the answer's
key_id), or plain xxh64 when KEYFILE is "-". Everything is computed with
tests/vectors/digests.py, independent of lib/, and written by this file's
own encoder of docs/trace-format.md, so a keyed trace that lib/ reads is
a check of both. Small traces only: pure Python (about 2 ms a page).

--key-id HEX after KEYFILE overrides the header's key id (for a trace
that claims another key than the one it was digested with).
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vectors'))
from digests import M64, splitmix64, xxh64  # noqa: E402

FLAG_KEYED = 0x10


def page(set_id, i):
    g = splitmix64((set_id << 20) + i)
    return b''.join(struct.pack('<Q', next(g)) for _ in range(512))


def main(argv):
    if len(argv) < 5:
        raise SystemExit(__doc__)
    out, uuid, name, keyfile = argv[:4]
    rest = argv[4:]
    override = None
    if rest[:1] == ['--key-id']:
        override = int(rest[1], 16)
        rest = rest[2:]
    seed, key_id = 0, 0
    if keyfile != '-':
        key = json.load(open(keyfile))
        seed, key_id = int(key['seed'], 16) & M64, int(key['key_id'], 16)
    if override is not None:
        key_id = override
    digests = []
    for spec in rest:
        set_id, count = (int(x) for x in spec.split(':'))
        for i in range(count):
            digests.append(xxh64(page(set_id, i), seed))
    n = len(digests)
    header = bytearray(256)
    header[0:8] = b'\x89MBT\r\n\x1a\n'
    struct.pack_into('<HHBBHII', header, 8, 1, 256, 3, 8,
                     FLAG_KEYED if key_id else 0, 4096, 4096)
    struct.pack_into('<QQ', header, 24, n, 1700000000000000000)
    header[40:56] = bytes.fromhex(uuid.replace('-', ''))
    header[56:56 + len(name)] = name.encode()
    struct.pack_into('<I', header, 184, key_id)
    body = bytearray(header)
    for start in range(0, n, 4096):
        count = min(4096, n - start)
        body += struct.pack('<QII', start, count, 0)
        body += bytes((count + 63) // 64 * 8)       # no page is free
        body += b''.join(struct.pack('<Q', d) for d in digests[start:start + count])
    body += b'MBTEND01' + struct.pack('<QQQ', n, 0, 1000)
    body += struct.pack('<Q', xxh64(bytes(body)))
    open(out, 'wb').write(body)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
