/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest.h - page digests in user space: SuperFastHash (the shared source
 * that memtrace.ko also compiles), xxh32 and xxh64 (libxxhash, seed 0,
 * which compute the same function as the kernel's lib/xxhash).
 */
#ifndef MB_DIGEST_H
#define MB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "mbt_format.h"

enum mb_algo {
	MB_ALGO_SUPERFAST = MBT_ALGO_SUPERFAST,
	MB_ALGO_XXH32 = MBT_ALGO_XXH32,
	MB_ALGO_XXH64 = MBT_ALGO_XXH64,
};

/* "superfast", "xxh32", "xxh64"; "unknown" for anything else. */
const char *mb_algo_name(int algo);

/* The algorithm named @name, or -1 when the name is not one of the three. */
int mb_algo_parse(const char *name);

/* Digest width in bytes (4 or 8), or 0 for an unknown algorithm. */
int mb_algo_digest_size(int algo);

/*
 * Digest of @len bytes at @buf, widened to 64 bits (32-bit digests occupy
 * the low half). An unknown @algo gives 0.
 */
uint64_t mb_digest(int algo, const void *buf, size_t len);

/* Digest of one 4096-byte page. */
static inline uint64_t mb_digest_page(int algo, const void *page)
{
	return mb_digest(algo, page, MBT_PAGE_SIZE);
}

#endif /* MB_DIGEST_H */
