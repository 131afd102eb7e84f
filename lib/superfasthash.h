/* SPDX-License-Identifier: GPL-2.0 */
/*
 * superfasthash.h - Paul Hsieh's SuperFastHash, the default page digest.
 *
 * The same source file is compiled into memtrace.ko and into user space, so
 * a digest computed by the guest kernel can be checked bit for bit by any
 * tool. It uses no libc and no kernel API.
 */
#ifndef MB_SUPERFASTHASH_H
#define MB_SUPERFASTHASH_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

/*
 * mb_superfasthash - 32-bit SuperFastHash of @len bytes at @data.
 *
 * The hash starts from @len, consumes the input 4 bytes at a time as two
 * little-endian 16-bit halves, then the 1-3 remaining bytes, and ends with
 * the algorithm's avalanche. A NULL @data or a zero @len gives 0, as in the
 * original. Byte order is fixed (little-endian), so every machine agrees.
 */
uint32_t mb_superfasthash(const void *data, size_t len);

/*
 * mb_superfasthash_resume - the rest of a SuperFastHash whose state is
 * @hash after some whole 4-byte blocks: consumes the @len bytes at @data
 * (blocks, tail, avalanche) and returns the digest. The multi-buffer
 * variants (digest_simd.h) hash the bulk of each buffer in a vector lane and
 * finish it here; mb_superfasthash(d, n) is mb_superfasthash_resume(n, d, n).
 */
uint32_t mb_superfasthash_resume(uint32_t hash, const void *data, size_t len);

#endif /* MB_SUPERFASTHASH_H */
