/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest_simd_body.h - the multi-buffer digests, written once over a
 * vector width. No include guard: digest_avx2.c and digest_avx512.c each
 * include it once, after defining
 *
 *   SIMD_BYTES              the vector width in bytes (32 or 64);
 *   SIMD_NAME(name)         the name of algorithm @name's function;
 *   vu32, vu64              vectors of SIMD_BYTES / 4 and / 8 lanes;
 *   simd_block32(w, p, off) w[j] = word j of the SIMD_BYTES bytes at @off
 *                           of every buffer p[], the buffers in the lanes
 *                           in the order simd_lane32(lane) gives; and
 *   simd_block64(w, p, off) likewise for 64-bit words, simd_lane64();
 *   simd_mul64(a, b)        each 64-bit lane of @a times @b, modulo 2^64.
 *
 * A step loads one block of every buffer as vectors of one word each and
 * runs the algorithm's rounds on whole vectors: a lane is a buffer's
 * state. The bytes after the last whole block (none in a 4 KiB page) and
 * the final mixing are done per lane in scalar code, from the lane's state:
 * for SuperFastHash by mb_superfasthash_resume(), the same code the scalar
 * digest runs; for xxh32 and xxh64 by the functions below, which follow
 * the specification like tests/vectors/digests.py. The buffers of a batch
 * all have the same length, so every lane does the same work.
 *
 * Lanes past the batch's @n read buffer 0 again and are dropped: a short
 * batch costs a full one, and the caller fills batches when it can.
 */

#define SIMD_L32	(SIMD_BYTES / 4)
#define SIMD_L64	(SIMD_BYTES / 8)

#define SIMD_P32_1	0x9E3779B1U
#define SIMD_P32_2	0x85EBCA77U
#define SIMD_P32_3	0xC2B2AE3DU
#define SIMD_P32_4	0x27D4EB2FU
#define SIMD_P32_5	0x165667B1U
#define SIMD_P64_1	0x9E3779B185EBCA87ULL
#define SIMD_P64_2	0xC2B2AE3D27D4EB4FULL
#define SIMD_P64_3	0x165667B19E3779F9ULL
#define SIMD_P64_4	0x85EBCA77C2B2AE63ULL
#define SIMD_P64_5	0x27D4EB2F165667C5ULL

static __always_inline vu32 simd_splat32(uint32_t x)
{
	return (vu32){ 0 } + x;
}

static __always_inline vu64 simd_splat64(uint64_t x)
{
	return (vu64){ 0 } + x;
}

/* ---- loads: unaligned, little-endian (x86) ---- */

static __always_inline uint32_t simd_le32(const unsigned char *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static __always_inline uint64_t simd_le64(const unsigned char *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* Lane i reads buffer i; the lanes past @n read buffer 0. */
static __always_inline void simd_lanes(const unsigned char *p[], unsigned int lanes,
			      const void *const bufs[], unsigned int n)
{
	unsigned int i;

	for (i = 0; i < lanes; i++)
		p[i] = bufs[i < n ? i : 0];
}

static __always_inline uint32_t simd_rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline uint64_t simd_rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* ---- SuperFastHash ---- */

void SIMD_NAME(superfast)(const void *const bufs[], unsigned int n,
			  size_t len, uint64_t out[])
{
	const unsigned char *p[SIMD_L32];
	size_t off, end = len - len % SIMD_BYTES;
	uint32_t h[SIMD_L32];
	vu32 hash = simd_splat32((uint32_t)len);
	unsigned int i;

	simd_lanes(p, SIMD_L32, bufs, n);
	for (off = 0; off < end; off += SIMD_BYTES) {
		vu32 w[SIMD_L32];

		simd_block32(w, p, off);
		/*
		 * One 4-byte block: hash += low half; hash = (hash << 16) ^
		 * (high half << 11) ^ hash; hash += hash >> 11. (w >> 5)
		 * masked is the high half shifted left by 11.
		 */
#pragma GCC unroll 16
		for (i = 0; i < SIMD_L32; i++) {
			hash += w[i] & 0xffff;
			hash = (hash << 16) ^ ((w[i] >> 5) & 0x07fff800) ^ hash;
			hash += hash >> 11;
		}
	}
	__builtin_memcpy(h, &hash, sizeof(h));
	for (i = 0; i < SIMD_L32; i++) {
		unsigned int b = simd_lane32(i);

		if (b < n)
			out[b] = len ? mb_superfasthash_resume(h[i], p[b] + off,
							       len - off) : 0;
	}
}

/* ---- xxh32 ---- */

static __always_inline vu32 simd_xxh32_round(vu32 acc, vu32 in)
{
	acc += in * SIMD_P32_2;
	acc = (acc << 13) | (acc >> 19);
	return acc * SIMD_P32_1;
}

static __always_inline uint32_t simd_xxh32_round1(uint32_t acc, uint32_t in)
{
	return simd_rotl32(acc + in * SIMD_P32_2, 13) * SIMD_P32_1;
}

/*
 * The rest of one xxh32 of @len bytes (seed 0) whose accumulators are @v
 * with @rem bytes at @p still to read.
 */
static uint32_t simd_xxh32_finish(uint32_t v[4], const unsigned char *p,
				  size_t rem, size_t len)
{
	uint32_t h;
	int k;

	if (len >= 16) {
		for (; rem >= 16; rem -= 16, p += 16)
			for (k = 0; k < 4; k++)
				v[k] = simd_xxh32_round1(v[k],
							 simd_le32(p + 4 * k));
		h = simd_rotl32(v[0], 1) + simd_rotl32(v[1], 7) +
		    simd_rotl32(v[2], 12) + simd_rotl32(v[3], 18);
	} else {
		h = SIMD_P32_5;
	}
	h += (uint32_t)len;
	for (; rem >= 4; rem -= 4, p += 4)
		h = simd_rotl32(h + simd_le32(p) * SIMD_P32_3, 17) * SIMD_P32_4;
	for (; rem > 0; rem--, p++)
		h = simd_rotl32(h + *p * SIMD_P32_5, 11) * SIMD_P32_1;
	h ^= h >> 15;
	h *= SIMD_P32_2;
	h ^= h >> 13;
	h *= SIMD_P32_3;
	h ^= h >> 16;
	return h;
}

void SIMD_NAME(xxh32)(const void *const bufs[], unsigned int n, size_t len,
		      uint64_t out[])
{
	const unsigned char *p[SIMD_L32];
	size_t off, end = len - len % SIMD_BYTES;
	uint32_t acc[4][SIMD_L32];
	vu32 v[4] = {
		simd_splat32(SIMD_P32_1 + SIMD_P32_2),
		simd_splat32(SIMD_P32_2),
		simd_splat32(0),
		simd_splat32(0U - SIMD_P32_1),
	};
	unsigned int i;
	int k;

	simd_lanes(p, SIMD_L32, bufs, n);
	for (off = 0; off < end; off += SIMD_BYTES) {
		vu32 w[SIMD_L32];

		simd_block32(w, p, off);
		/* Word j of a step is word j % 4 of stripe j / 4. */
#pragma GCC unroll 16
		for (i = 0; i < SIMD_L32; i++)
			v[i % 4] = simd_xxh32_round(v[i % 4], w[i]);
	}
	for (k = 0; k < 4; k++)
		__builtin_memcpy(acc[k], &v[k], sizeof(acc[k]));
	for (i = 0; i < SIMD_L32; i++) {
		unsigned int b = simd_lane32(i);
		uint32_t lane[4] = { acc[0][i], acc[1][i], acc[2][i],
				     acc[3][i] };

		if (b < n)
			out[b] = simd_xxh32_finish(lane, p[b] + off, len - off,
						   len);
	}
}

/* ---- xxh64 ---- */

static __always_inline vu64 simd_xxh64_round(vu64 acc, vu64 in)
{
	acc += simd_mul64(in, SIMD_P64_2);
	acc = (acc << 31) | (acc >> 33);
	return simd_mul64(acc, SIMD_P64_1);
}

static __always_inline uint64_t simd_xxh64_round1(uint64_t acc, uint64_t in)
{
	return simd_rotl64(acc + in * SIMD_P64_2, 31) * SIMD_P64_1;
}

/*
 * The rest of one xxh64 with @seed, as simd_xxh32_finish() for xxh32 (an
 * input under 32 bytes has no accumulators: its hash starts from @seed).
 */
static uint64_t simd_xxh64_finish(uint64_t v[4], const unsigned char *p,
				  size_t rem, size_t len, uint64_t seed)
{
	uint64_t h;
	int k;

	if (len >= 32) {
		for (; rem >= 32; rem -= 32, p += 32)
			for (k = 0; k < 4; k++)
				v[k] = simd_xxh64_round1(v[k],
							 simd_le64(p + 8 * k));
		h = simd_rotl64(v[0], 1) + simd_rotl64(v[1], 7) +
		    simd_rotl64(v[2], 12) + simd_rotl64(v[3], 18);
		for (k = 0; k < 4; k++) {
			h ^= simd_xxh64_round1(0, v[k]);
			h = h * SIMD_P64_1 + SIMD_P64_4;
		}
	} else {
		h = seed + SIMD_P64_5;
	}
	h += (uint64_t)len;
	for (; rem >= 8; rem -= 8, p += 8) {
		h ^= simd_xxh64_round1(0, simd_le64(p));
		h = simd_rotl64(h, 27) * SIMD_P64_1 + SIMD_P64_4;
	}
	if (rem >= 4) {
		h ^= (uint64_t)simd_le32(p) * SIMD_P64_1;
		h = simd_rotl64(h, 23) * SIMD_P64_2 + SIMD_P64_3;
		rem -= 4;
		p += 4;
	}
	for (; rem > 0; rem--, p++)
		h = simd_rotl64(h ^ (*p * SIMD_P64_5), 11) * SIMD_P64_1;
	h ^= h >> 33;
	h *= SIMD_P64_2;
	h ^= h >> 29;
	h *= SIMD_P64_3;
	h ^= h >> 32;
	return h;
}

/*
 * xxh64 with @seed: the seed enters the four accumulators (and the hash of
 * an input too short for them), nothing else; seed 0 is plain xxh64.
 */
void SIMD_NAME(xxh64_seeded)(const void *const bufs[], unsigned int n,
			     size_t len, uint64_t seed, uint64_t out[])
{
	const unsigned char *p[SIMD_L64];
	size_t off, end = len - len % SIMD_BYTES;
	uint64_t acc[4][SIMD_L64];
	vu64 v[4] = {
		simd_splat64(seed + SIMD_P64_1 + SIMD_P64_2),
		simd_splat64(seed + SIMD_P64_2),
		simd_splat64(seed),
		simd_splat64(seed - SIMD_P64_1),
	};
	unsigned int i;
	int k;

	simd_lanes(p, SIMD_L64, bufs, n);
	for (off = 0; off < end; off += SIMD_BYTES) {
		vu64 w[SIMD_L64];

		simd_block64(w, p, off);
#pragma GCC unroll 8
		for (i = 0; i < SIMD_L64; i++)
			v[i % 4] = simd_xxh64_round(v[i % 4], w[i]);
	}
	for (k = 0; k < 4; k++)
		__builtin_memcpy(acc[k], &v[k], sizeof(acc[k]));
	for (i = 0; i < SIMD_L64; i++) {
		unsigned int b = simd_lane64(i);
		uint64_t lane[4] = { acc[0][i], acc[1][i], acc[2][i],
				     acc[3][i] };

		if (b < n)
			out[b] = simd_xxh64_finish(lane, p[b] + off, len - off,
						   len, seed);
	}
}

void SIMD_NAME(xxh64)(const void *const bufs[], unsigned int n, size_t len,
		      uint64_t out[])
{
	SIMD_NAME(xxh64_seeded)(bufs, n, len, 0, out);
}
