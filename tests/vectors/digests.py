#!/usr/bin/env python3
"""Independent reference implementations of the page digests, for tests.

Written from the algorithms' descriptions (Paul Hsieh's SuperFastHash,
Yann Collet's XXH32/XXH64 specification), deliberately in a different
language and style from lib/, so that a shared mistake is unlikely.

Prints the algorithms' names on the first line ("algorithms NAME..."), as
lib/mbt_algorithms.h spells them, then one line per test vector: NAME
LENGTH and one hex digest per algorithm, in that order. The vectors are
rebuilt identically by tests/unit/test_digest.c, which requires every
algorithm of lib/ to be here: a new one needs its reference implementation
in ALGORITHMS below.

With --records FILE, digests the records of FILE instead (each a 4-byte
little-endian length and that many bytes; tests/unit/test_digest_batch.c
writes random ones): the same first line, then one line per record with
its length and one hex digest per algorithm.

Keyed digests (xxh64 with a secret seed, docs/security.md):
  --seeded SEED,SEED,... [--records FILE]
      a first line "seeded xxh64", then for every vector (or record) and
      seed one line: NAME (or "record"), LENGTH, SEED and the digest, in hex
      (tests/unit/test_digest_keyed.c);
  --pages FILE SEED
      for every 4096-byte page of FILE one line: its index, its xxh64 and
      its xxh64 under SEED, in hex (the keyed guest test, which puts FILE
      into both guests' memory).
Seeds are hex, with or without 0x.
"""
import struct
import sys

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def superfasthash(data):
    n = len(data)
    if n == 0:
        return 0
    h = n
    rem = n & 3
    i = 0
    for _ in range(n >> 2):
        h = (h + (data[i] | data[i + 1] << 8)) & M32
        tmp = (((data[i + 2] | data[i + 3] << 8) << 11) ^ h) & M32
        h = ((h << 16) ^ tmp) & M32
        h = (h + (h >> 11)) & M32
        i += 4

    def signed(b):
        return b - 256 if b >= 128 else b

    if rem == 3:
        h = (h + (data[i] | data[i + 1] << 8)) & M32
        h ^= (h << 16) & M32
        h ^= (signed(data[i + 2]) << 18) & M32
        h = (h + (h >> 11)) & M32
    elif rem == 2:
        h = (h + (data[i] | data[i + 1] << 8)) & M32
        h ^= (h << 11) & M32
        h = (h + (h >> 17)) & M32
    elif rem == 1:
        h = (h + signed(data[i])) & M32
        h ^= (h << 10) & M32
        h = (h + (h >> 1)) & M32
    h ^= (h << 3) & M32
    h = (h + (h >> 5)) & M32
    h ^= (h << 4) & M32
    h = (h + (h >> 17)) & M32
    h ^= (h << 25) & M32
    h = (h + (h >> 6)) & M32
    return h


P32 = [0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1]
P64 = [0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
       0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5]


def rotl(x, r, bits):
    mask = (1 << bits) - 1
    return ((x << r) | (x >> (bits - r))) & mask


def xxh32(data, seed=0):
    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + P32[0] + P32[1]) & M32, (seed + P32[1]) & M32,
             seed & M32, (seed - P32[0]) & M32]
        while i + 16 <= n:
            for k in range(4):
                lane = struct.unpack_from('<I', data, i + 4 * k)[0]
                v[k] = (rotl((v[k] + lane * P32[1]) & M32, 13, 32) * P32[0]) & M32
            i += 16
        h = (rotl(v[0], 1, 32) + rotl(v[1], 7, 32) + rotl(v[2], 12, 32) +
             rotl(v[3], 18, 32)) & M32
    else:
        h = (seed + P32[4]) & M32
    h = (h + n) & M32
    while i + 4 <= n:
        h = (h + struct.unpack_from('<I', data, i)[0] * P32[2]) & M32
        h = (rotl(h, 17, 32) * P32[3]) & M32
        i += 4
    while i < n:
        h = (h + data[i] * P32[4]) & M32
        h = (rotl(h, 11, 32) * P32[0]) & M32
        i += 1
    h ^= h >> 15
    h = (h * P32[1]) & M32
    h ^= h >> 13
    h = (h * P32[2]) & M32
    h ^= h >> 16
    return h


def xxh64_round(acc, lane):
    acc = (acc + lane * P64[1]) & M64
    return (rotl(acc, 31, 64) * P64[0]) & M64


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + P64[0] + P64[1]) & M64, (seed + P64[1]) & M64,
             seed & M64, (seed - P64[0]) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = xxh64_round(v[k], struct.unpack_from('<Q', data, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1, 64) + rotl(v[1], 7, 64) + rotl(v[2], 12, 64) +
             rotl(v[3], 18, 64)) & M64
        for k in range(4):
            h ^= xxh64_round(0, v[k])
            h = (h * P64[0] + P64[3]) & M64
    else:
        h = (seed + P64[4]) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= xxh64_round(0, struct.unpack_from('<Q', data, i)[0])
        h = (rotl(h, 27, 64) * P64[0] + P64[3]) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from('<I', data, i)[0] * P64[0]) & M64
        h = (rotl(h, 23, 64) * P64[1] + P64[2]) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P64[4]) & M64
        h = (rotl(h, 11, 64) * P64[0]) & M64
        i += 1
    h ^= h >> 33
    h = (h * P64[1]) & M64
    h ^= h >> 29
    h = (h * P64[2]) & M64
    h ^= h >> 32
    return h


# The algorithms by the names lib/ gives them.
ALGORITHMS = (
    ('superfast', superfasthash),
    ('xxh32', xxh32),
    ('xxh64', xxh64),
)


def splitmix64(state):
    """Yields the splitmix64 sequence from @state (the tests' PRNG)."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def vectors():
    page = 4096
    yield 'zero', bytes(page)
    yield 'ones', b'\xff' * page
    yield 'count8', bytes(i & 0xFF for i in range(page))
    yield 'count32', b''.join(struct.pack('<I', i) for i in range(page // 4))
    for k in range(4):
        g = splitmix64(k + 1)
        yield 'random%d' % k, b''.join(struct.pack('<Q', next(g)) for _ in range(page // 8))
    # Short inputs exercise every tail of the algorithms, with high bytes
    # so SuperFastHash's signed-char tail reads matter.
    for n in (1, 2, 3, 5, 6, 7, 13, 31, 33, 4095):
        yield 'short%d' % n, bytes((0x80 + 37 * i) & 0xFF for i in range(n))


def records(path):
    with open(path, 'rb') as f:
        raw = f.read()
    i = 0
    while i < len(raw):
        n = struct.unpack_from('<I', raw, i)[0]
        if i + 4 + n > len(raw):
            sys.exit('digests.py: %s: record at byte %d is truncated' % (path, i))
        yield raw[i + 4:i + 4 + n]
        i += 4 + n


def seeded(argv):
    seeds = [int(x, 16) & M64 for x in argv[0].split(',')]
    if len(argv) == 3 and argv[1] == '--records':
        inputs = (('record', data) for data in records(argv[2]))
    elif len(argv) == 1:
        inputs = vectors()
    else:
        sys.exit('usage: digests.py --seeded SEED,... [--records FILE]')
    print('seeded xxh64')
    for name, data in inputs:
        for seed in seeds:
            print('%s %d %x %x' % (name, len(data), seed, xxh64(data, seed)))
    return 0


def pages(path, seed):
    with open(path, 'rb') as f:
        raw = f.read()
    if not raw or len(raw) % 4096:
        sys.exit('digests.py: %s: %d bytes is not a whole number of pages'
                 % (path, len(raw)))
    for i in range(len(raw) // 4096):
        page = raw[4096 * i:4096 * (i + 1)]
        print('%d %x %x' % (i, xxh64(page), xxh64(page, seed)))
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == '--seeded':
        return seeded(sys.argv[2:])
    if len(sys.argv) == 4 and sys.argv[1] == '--pages':
        return pages(sys.argv[2], int(sys.argv[3], 16) & M64)
    print('algorithms ' + ' '.join(name for name, _ in ALGORITHMS))
    if len(sys.argv) == 3 and sys.argv[1] == '--records':
        for data in records(sys.argv[2]):
            print('%d %s' % (len(data), ' '.join('%x' % fn(data) for _, fn in ALGORITHMS)))
        return 0
    if len(sys.argv) != 1:
        sys.exit('usage: digests.py [--records FILE | --seeded SEED,... '
                 '[--records FILE] | --pages FILE SEED]')
    for name, data in vectors():
        print('%s %d %s' % (name, len(data),
                            ' '.join('%x' % fn(data) for _, fn in ALGORITHMS)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
