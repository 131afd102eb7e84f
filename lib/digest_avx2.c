// SPDX-License-Identifier: GPL-2.0
/*
 * digest_avx2.c - the multi-buffer digests with AVX2 (256-bit vectors):
 * SuperFastHash and xxh32 in 8 lanes, xxh64 in 4.
 *
 * The algorithms are in digest_simd_body.h; this file supplies what
 * differs per instruction set: the vector types, the transposes that turn
 * one vector per buffer into one vector per word, and the 64-bit multiply,
 * which AVX2 lacks and which is built from three 32 x 32 -> 64-bit ones.
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

#define SHUF(a, b, ...)	__builtin_shufflevector(a, b, __VA_ARGS__)

/* 8 x 8 words: unpack 32-bit, unpack 64-bit, swap 128-bit halves. */
static __always_inline void simd_transpose32(vu32 r[8])
{
	vu32 t[8], u[8];
	int i;

#pragma GCC unroll 16
	for (i = 0; i < 8; i += 2) {
		t[i] = SHUF(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
		t[i + 1] = SHUF(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
	}
#pragma GCC unroll 16
	for (i = 0; i < 8; i += 4) {
		u[i] = SHUF(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
		u[i + 1] = SHUF(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
		u[i + 2] = SHUF(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
		u[i + 3] = SHUF(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
	}
#pragma GCC unroll 16
	for (i = 0; i < 4; i++) {
		r[i] = SHUF(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
		r[i + 4] = SHUF(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
	}
}

/* 4 x 4 64-bit words: unpack 64-bit, swap 128-bit halves. */
static __always_inline void simd_transpose64(vu64 r[4])
{
	vu64 t0 = SHUF(r[0], r[1], 0, 4, 2, 6);
	vu64 t1 = SHUF(r[0], r[1], 1, 5, 3, 7);
	vu64 t2 = SHUF(r[2], r[3], 0, 4, 2, 6);
	vu64 t3 = SHUF(r[2], r[3], 1, 5, 3, 7);

	r[0] = SHUF(t0, t2, 0, 1, 4, 5);
	r[1] = SHUF(t1, t3, 0, 1, 4, 5);
	r[2] = SHUF(t0, t2, 2, 3, 6, 7);
	r[3] = SHUF(t1, t3, 2, 3, 6, 7);
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
