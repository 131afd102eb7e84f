// SPDX-License-Identifier: GPL-2.0
/*
 * digest_avx2.c - the multi-buffer digests with AVX2 (256-bit vectors):
 * SuperFastHash and xxh32 in 8 lanes, xxh64 in 4.
 *
 * The algorithms are in digest_simd_body.h; this file supplies what
 * differs per instruction set: the vector types, the loads that make one
 * vector per word out of several buffers, and the 64-bit multiply, which
 * AVX2 lacks and which is built from three 32 x 32 -> 64-bit ones.
 *
 * The loads are 64-bit ones, put together with inserts, masks and shifts
 * but no shuffle: as fast here as loading whole vectors and transposing
 * them, and several times faster under an emulator such as QEMU's TCG
 * (which a test guest runs), whose 128- and 256-bit loads and shuffles
 * are slow helpers while these ops are translated inline.
 * Only this file's functions may use AVX2 (the pragmas below); callers
 * check the CPU first (digest_simd.h).
 */
#include "digest_simd.h"
#include "superfasthash.h"

#ifdef __x86_64__

#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2"))), \
			     apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#define SIMD_BYTES	32
#define SIMD_NAME(name)	mb_simd_##name##_avx2

typedef uint32_t vu32 __attribute__((vector_size(32)));
typedef uint64_t vu64 __attribute__((vector_size(32)));
typedef int32_t vi32 __attribute__((vector_size(32)));


static __always_inline uint64_t simd_ld64(const unsigned char *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * A block of 8 words of 8 buffers without a shuffle: for each pair of
 * words, one 64-bit load per buffer fills two vectors of 4 buffers each
 * (lo, hi), and masks and shifts split them into a vector of the first
 * word and one of the second: lane 2m holds buffer m, lane 2m + 1 buffer
 * m + 4.
 */
static __always_inline unsigned int simd_lane32(unsigned int i)
{
	return i / 2 + (i & 1) * 4;
}

static __always_inline void simd_block32(vu32 w[8],
					 const unsigned char *const p[],
					 size_t off)
{
	const vu64 low = (vu64){ 0 } + 0xffffffffULL;
	int k;

#pragma GCC unroll 4
	for (k = 0; k < 4; k++) {
		size_t o = off + 8 * k;
		vu64 lo = { simd_ld64(p[0] + o), simd_ld64(p[1] + o),
			    simd_ld64(p[2] + o), simd_ld64(p[3] + o) };
		vu64 hi = { simd_ld64(p[4] + o), simd_ld64(p[5] + o),
			    simd_ld64(p[6] + o), simd_ld64(p[7] + o) };

		w[2 * k] = (vu32)((lo & low) | (hi << 32));
		w[2 * k + 1] = (vu32)((lo >> 32) | (hi & ~low));
	}
}

/* 4 64-bit words of 4 buffers: lane i is buffer i, one load each. */
static __always_inline unsigned int simd_lane64(unsigned int i)
{
	return i;
}

static __always_inline void simd_block64(vu64 w[4],
					 const unsigned char *const p[],
					 size_t off)
{
	int j;

#pragma GCC unroll 4
	for (j = 0; j < 4; j++)
		w[j] = (vu64){ simd_ld64(p[0] + off + 8 * j),
			       simd_ld64(p[1] + off + 8 * j),
			       simd_ld64(p[2] + off + 8 * j),
			       simd_ld64(p[3] + off + 8 * j) };
}

/* The low 32 bits of each lane of @a times those of @b, 64-bit products. */
static __always_inline vu64 simd_mul32x32(vu64 a, vu64 b)
{
	/* vpmuludq; written as a builtin, or the compiler expands a * b
	 * with a constant into a long chain of shifts and adds.
	 */
	return (vu64)__builtin_ia32_pmuludq256((vi32)a, (vi32)b);
}

/*
 * a * b mod 2^64 = lo(a) lo(b) + ((hi(a) lo(b) + lo(a) hi(b)) << 32), from
 * three 32 x 32 -> 64-bit multiplies.
 */
static __always_inline vu64 simd_mul64(vu64 a, uint64_t b)
{
	const vu64 b_lo = (vu64){ 0 } + (uint64_t)(uint32_t)b;
	const vu64 b_hi = (vu64){ 0 } + (b >> 32);
	vu64 cross = simd_mul32x32(a >> 32, b_lo) + simd_mul32x32(a, b_hi);

	return simd_mul32x32(a, b_lo) + (cross << 32);
}

#include "digest_simd_body.h"

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif /* __x86_64__ */
