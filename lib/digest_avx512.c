// SPDX-License-Identifier: GPL-2.0
/*
 * digest_avx512.c - the multi-buffer digests with AVX-512 (512-bit
 * vectors): SuperFastHash and xxh32 in 16 lanes, xxh64 in 8.
 *
 * The algorithms are in digest_simd_body.h; this file supplies the vector
 * types, the transposes and the 64-bit multiply, which AVX-512 DQ has
 * (vpmullq). Only this file's functions may use AVX-512 F, BW, DQ and VL
 * (the pragmas below); callers check the CPU first (digest_simd.h).
 */
#include "digest_simd.h"
#include "superfasthash.h"

#ifdef __x86_64__

#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))), \
			     apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl")
#endif

#define SIMD_BYTES	64
#define SIMD_NAME(name)	mb_simd_##name##_avx512

typedef uint32_t vu32 __attribute__((vector_size(64)));
typedef uint64_t vu64 __attribute__((vector_size(64)));

#define SHUF(a, b, ...)	__builtin_shufflevector(a, b, __VA_ARGS__)

/*
 * The second half of a transpose: in r[0..3], 128-bit block L of r[g]
 * belongs in block g of r[L] (a 4 x 4 transpose of 128-bit blocks).
 */
static __always_inline void simd_transpose_blocks(vu32 *r0, vu32 *r1, vu32 *r2,
					 vu32 *r3)
{
	vu32 s0 = SHUF(*r0, *r1, 0, 1, 2, 3, 8, 9, 10, 11,
		       16, 17, 18, 19, 24, 25, 26, 27);
	vu32 s1 = SHUF(*r0, *r1, 4, 5, 6, 7, 12, 13, 14, 15,
		       20, 21, 22, 23, 28, 29, 30, 31);
	vu32 s2 = SHUF(*r2, *r3, 0, 1, 2, 3, 8, 9, 10, 11,
		       16, 17, 18, 19, 24, 25, 26, 27);
	vu32 s3 = SHUF(*r2, *r3, 4, 5, 6, 7, 12, 13, 14, 15,
		       20, 21, 22, 23, 28, 29, 30, 31);

	*r0 = SHUF(s0, s2, 0, 1, 2, 3, 8, 9, 10, 11,
		   16, 17, 18, 19, 24, 25, 26, 27);
	*r2 = SHUF(s0, s2, 4, 5, 6, 7, 12, 13, 14, 15,
		   20, 21, 22, 23, 28, 29, 30, 31);
	*r1 = SHUF(s1, s3, 0, 1, 2, 3, 8, 9, 10, 11,
		   16, 17, 18, 19, 24, 25, 26, 27);
	*r3 = SHUF(s1, s3, 4, 5, 6, 7, 12, 13, 14, 15,
		   20, 21, 22, 23, 28, 29, 30, 31);
}

/*
 * 16 x 16 words: unpack 32-bit and 64-bit within 128-bit blocks (which
 * leaves, in u[4g + k], block L holding word 4L + k of buffers 4g..4g+3),
 * then move the blocks.
 */
static __always_inline void simd_transpose32(vu32 r[16])
{
	vu32 t[16], u[16];
	int i, k;

#pragma GCC unroll 16
	for (i = 0; i < 16; i += 2) {
		t[i] = SHUF(r[i], r[i + 1], 0, 16, 1, 17, 4, 20, 5, 21,
			    8, 24, 9, 25, 12, 28, 13, 29);
		t[i + 1] = SHUF(r[i], r[i + 1], 2, 18, 3, 19, 6, 22, 7, 23,
				10, 26, 11, 27, 14, 30, 15, 31);
	}
#pragma GCC unroll 16
	for (i = 0; i < 16; i += 4) {
		u[i] = SHUF(t[i], t[i + 2], 0, 1, 16, 17, 4, 5, 20, 21,
			    8, 9, 24, 25, 12, 13, 28, 29);
		u[i + 1] = SHUF(t[i], t[i + 2], 2, 3, 18, 19, 6, 7, 22, 23,
				10, 11, 26, 27, 14, 15, 30, 31);
		u[i + 2] = SHUF(t[i + 1], t[i + 3], 0, 1, 16, 17, 4, 5, 20, 21,
				8, 9, 24, 25, 12, 13, 28, 29);
		u[i + 3] = SHUF(t[i + 1], t[i + 3], 2, 3, 18, 19, 6, 7, 22, 23,
				10, 11, 26, 27, 14, 15, 30, 31);
	}
#pragma GCC unroll 16
	for (k = 0; k < 4; k++) {
		simd_transpose_blocks(&u[k], &u[4 + k], &u[8 + k], &u[12 + k]);
		/* u[4L + k] now holds word 4L + k of every buffer. */
	}
#pragma GCC unroll 16
	for (i = 0; i < 16; i++)
		r[i] = u[i];
}

/*
 * 8 x 8 64-bit words: unpack within 128-bit blocks (t[2p + k], block L:
 * word 2L + k of buffers 2p and 2p + 1), then move the blocks.
 */
static __always_inline void simd_transpose64(vu64 r[8])
{
	vu32 t[8];
	int i, k;

#pragma GCC unroll 16
	for (i = 0; i < 8; i += 2) {
		t[i] = (vu32)SHUF(r[i], r[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
		t[i + 1] = (vu32)SHUF(r[i], r[i + 1], 1, 9, 3, 11, 5, 13,
				      7, 15);
	}
#pragma GCC unroll 16
	for (k = 0; k < 2; k++)
		simd_transpose_blocks(&t[k], &t[2 + k], &t[4 + k], &t[6 + k]);
#pragma GCC unroll 16
	for (i = 0; i < 8; i++)
		r[i] = (vu64)t[i];
}

/* AVX-512 DQ multiplies 64-bit lanes (vpmullq). */
static __always_inline vu64 simd_mul64(vu64 a, uint64_t b)
{
	return a * b;
}

static __always_inline unsigned int simd_lane32(unsigned int i)
{
	return i;
}

static __always_inline unsigned int simd_lane64(unsigned int i)
{
	return i;
}

/* One vector of each buffer, transposed; the lanes in buffer order. */
static __always_inline void simd_block32(vu32 w[16],
					 const unsigned char *const p[],
					 size_t off)
{
	int i;

#pragma GCC unroll 16
	for (i = 0; i < 16; i++)
		__builtin_memcpy(&w[i], p[i] + off, sizeof(w[i]));
	simd_transpose32(w);
}

static __always_inline void simd_block64(vu64 w[8],
					 const unsigned char *const p[],
					 size_t off)
{
	int i;

#pragma GCC unroll 8
	for (i = 0; i < 8; i++)
		__builtin_memcpy(&w[i], p[i] + off, sizeof(w[i]));
	simd_transpose64(w);
}

#include "digest_simd_body.h"

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif /* __x86_64__ */
