/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest_simd_rows.h - the multi-buffer SIMD variants (digest_simd.h), one
 * row each: MB_SIMD_VARIANT(name, isa, lanes), where
 *   name   is the algorithm's row in mbt_algorithms.h,
 *   isa    the instruction set (avx2: AVX2; avx512: AVX-512 F, BW, DQ, VL),
 *   lanes  the buffers one call digests;
 * the row's function is mb_simd_<name>_<isa>(). Like mbt_algorithms.h it
 * has no include guard: lib/digest.c and kmod/memtrace_main.c define
 * MB_SIMD_VARIANT and include it to build their tables. An algorithm
 * without a row is digested by its scalar code alone, and so is every
 * algorithm on other architectures than x86-64.
 */
#ifdef __x86_64__
MB_SIMD_VARIANT(superfast, avx2, 8)
MB_SIMD_VARIANT(xxh32, avx2, 8)
MB_SIMD_VARIANT(xxh64, avx2, 4)
MB_SIMD_VARIANT(superfast, avx512, 16)
MB_SIMD_VARIANT(xxh32, avx512, 16)
MB_SIMD_VARIANT(xxh64, avx512, 8)
#endif
