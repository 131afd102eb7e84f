/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest.h - page digests in user space: SuperFastHash (the shared source
 * that memtrace.ko also compiles), xxh32 and xxh64 (libxxhash, seed 0,
 * which compute the same function as the kernel's lib/xxhash).
 *
 * The algorithms are the rows of mbt_algorithms.h; mb_algos[] binds each
 * row to its user-space function, and everything below is a look-up in it.
 */
#ifndef MB_DIGEST_H
#define MB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "mbt_format.h"

/* MB_ALGO_SUPERFAST, MB_ALGO_XXH32, ...: the ids of header byte 12. */
enum mb_algo {
#define MBT_ALGORITHM(NAME, name, id, size) MB_ALGO_##NAME = (id),
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
};

/* One algorithm: a row of mbt_algorithms.h and its code. */
struct mb_algo_info {
	int id;				/* MB_ALGO_* */
	const char *name;		/* "superfast", "xxh32", ... */
	unsigned int digest_size;	/* bytes: 4 or 8 */
	/* Digest of @len bytes at @buf, widened to 64 bits. */
	uint64_t (*digest)(const void *buf, size_t len);
};

/* Every algorithm, mb_algo_count of them, in the order of their rows. */
extern const struct mb_algo_info mb_algos[];
extern const size_t mb_algo_count;

/* The algorithm with id @algo, or NULL when there is none. */
const struct mb_algo_info *mb_algo_find(int algo);

/* Its name; "unknown" for an id no algorithm has. */
const char *mb_algo_name(int algo);

/* The id of the algorithm named @name, or -1 when none is (or @name is NULL). */
int mb_algo_parse(const char *name);

/* Digest width in bytes (4 or 8), or 0 for an unknown algorithm. */
int mb_algo_digest_size(int algo);

/* Every name, for messages: "superfast, xxh32, xxh64". A static string. */
const char *mb_algo_names(void);

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
