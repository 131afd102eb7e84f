/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest_simd.h - multi-buffer SIMD variants of the page digests.
 *
 * SuperFastHash, xxh32 and xxh64 are sequential within a buffer, but
 * buffers are independent: a variant digests several buffers at once, one
 * per lane of a vector register (8 x 32-bit lanes with AVX2, 16 with
 * AVX-512; 4 and 8 x 64-bit lanes for xxh64), and gives exactly the digests
 * of the scalar code. They are implementations of the rows of
 * mbt_algorithms.h, not new algorithms.
 *
 * Shared, like superfasthash.c, by user space (lib/digest.c binds them to
 * its table and picks one from the CPU's features) and memtrace.ko (which
 * calls them between kernel_fpu_begin() and kernel_fpu_end()). The code is
 * written once, in digest_simd_body.h, over a vector width; digest_avx2.c
 * and digest_avx512.c instantiate it and enable their instruction set for
 * their own functions only, so no build flag is needed and the rest of a
 * program stays generic. Callers must check that the CPU (and the OS, for
 * the register state) supports the instruction set first.
 *
 * digest_simd_rows.h lists the variants, one row each, for the tables
 * that bind them to the algorithms.
 */
#ifndef MB_DIGEST_SIMD_H
#define MB_DIGEST_SIMD_H

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>		/* and, from glibc, __always_inline */
#endif

/* The widest variant has this many lanes: a batch of at most that many. */
#define MB_SIMD_LANES_MAX	16

/*
 * mb_simd_<name>_<isa> - digests of @n buffers of @len bytes each:
 * @out[i] is the digest of @bufs[i], widened to 64 bits, for i < @n, where
 * 1 <= @n <= the variant's lanes (a shorter batch costs as much as a full
 * one). @len may be anything, 0 included; the buffers need no alignment.
 * digest_simd_rows.h lists them, with their lanes, for the tables.
 */
typedef void mb_simd_fn(const void *const bufs[], unsigned int n,
			size_t len, uint64_t out[]);

/*
 * mb_simd_xxh64_seeded_<isa> - the same for xxh64 with @seed instead of 0
 * (keyed digests, digest.h), in as many lanes as mb_simd_xxh64_<isa>.
 */
typedef void mb_simd_seeded_fn(const void *const bufs[], unsigned int n,
			       size_t len, uint64_t seed, uint64_t out[]);

/* AVX2: 8 lanes of 32 bits, 4 of 64. */
mb_simd_fn mb_simd_superfast_avx2;
mb_simd_fn mb_simd_xxh32_avx2;
mb_simd_fn mb_simd_xxh64_avx2;
mb_simd_seeded_fn mb_simd_xxh64_seeded_avx2;
/* AVX-512 F, BW, DQ and VL: 16 lanes of 32 bits, 8 of 64. */
mb_simd_fn mb_simd_superfast_avx512;
mb_simd_fn mb_simd_xxh32_avx512;
mb_simd_fn mb_simd_xxh64_avx512;
mb_simd_seeded_fn mb_simd_xxh64_seeded_avx512;

#endif /* MB_DIGEST_SIMD_H */
