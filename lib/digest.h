/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest.h - page digests in user space: SuperFastHash (the shared source
 * that memtrace.ko also compiles), xxh32 and xxh64 (libxxhash, seed 0,
 * which compute the same function as the kernel's lib/xxhash), and keyed
 * digests: xxh64 with a secret seed.
 *
 * The algorithms are the rows of mbt_algorithms.h; mb_algos[] binds each
 * row to its user-space function, and everything below is a look-up in it.
 * Batches of buffers (mb_digest_pages(), mb_digest_batch()) also run the
 * multi-buffer SIMD variants of digest_simd.h, which give the same digests.
 */
#ifndef MB_DIGEST_H
#define MB_DIGEST_H

#include <stdbool.h>
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

/* ---- many buffers at once ---- */

/*
 * The implementations of every algorithm: its scalar function in
 * mb_algos[] (the reference, and the fallback on any CPU), and its
 * multi-buffer SIMD variants (digest_simd.h), which digest one buffer per
 * vector lane and give the same digests bit for bit.
 */
enum mb_impl {
	MB_IMPL_SCALAR,
	MB_IMPL_AVX2,		/* AVX2 */
	MB_IMPL_AVX512,		/* AVX-512 F, BW, DQ and VL */
	MB_IMPL_COUNT
};

/* "scalar", "avx2", "avx512"; "unknown" for anything else. */
const char *mb_impl_name(int impl);

/* The implementation named @name, or -1 (also for NULL). */
int mb_impl_parse(const char *name);

/*
 * Can this CPU run @impl (its instructions, and the OS saving their
 * registers)? Always for MB_IMPL_SCALAR; false for an unknown @impl.
 */
bool mb_impl_usable(int impl);

/*
 * Buffers one call of @algo's @impl variant digests at once: 1 for
 * MB_IMPL_SCALAR, 4 to 16 for a SIMD variant, 0 when @algo has no variant
 * for @impl (its batches then run the scalar code) or either is unknown.
 * Says what the code has, not whether this CPU can run it.
 */
unsigned int mb_impl_lanes(int algo, int impl);

/*
 * The implementation mb_digest_pages() uses for @algo on this CPU: its
 * widest usable variant, else MB_IMPL_SCALAR (also for an unknown @algo).
 */
int mb_impl_best(int algo);

/*
 * Digests of @n buffers of @len bytes each with implementation @impl:
 * @digests[i] = mb_digest(@algo, @bufs[i], @len) for every i < @n, as
 * many per call of the variant as it has lanes (the last call may be
 * short). When @algo has no variant for @impl, its scalar code runs.
 * Returns 0, or -1 (and writes nothing) when @algo or @impl is unknown or
 * this CPU cannot run @impl. For tests and benchmarks; programs call
 * mb_digest_pages().
 */
int mb_digest_batch(int algo, int impl, const void *const bufs[], size_t n,
		    size_t len, uint64_t digests[]);

/*
 * Digests of @n 4096-byte pages: @digests[i] = mb_digest_page(@algo,
 * @pages[i]), computed by the fastest implementation this CPU runs
 * (mb_impl_best()). An unknown @algo gives 0 for every page, like
 * mb_digest(). The pages need no alignment and may repeat.
 */
void mb_digest_pages(int algo, const void *const pages[], size_t n,
		     uint64_t digests[]);

/* ---- keyed digests ---- */

/*
 * A keyed digest is xxh64 with a tenant's secret 64-bit seed in place of
 * seed 0 (docs/security.md): equal pages still give equal digests, but
 * nobody without the seed can tell which content a digest stands for.
 * Traces of such digests carry MBT_FLAG_KEYED, algorithm MB_ALGO_XXH64 and
 * the key's id. Seed 0 gives plain xxh64. The SIMD variants of xxh64 run
 * them too, with the same digests as the scalar code.
 */

/* The keyed digest of @len bytes at @buf under @seed. */
uint64_t mb_digest_keyed(uint64_t seed, const void *buf, size_t len);

/*
 * mb_digest_batch() for keyed digests: @digests[i] =
 * mb_digest_keyed(@seed, @bufs[i], @len) with implementation @impl (its
 * xxh64 variant, or the scalar code when it has none). Returns 0, or -1
 * (writing nothing) when @impl is unknown or this CPU cannot run it.
 */
int mb_digest_batch_keyed(int impl, uint64_t seed, const void *const bufs[],
			  size_t n, size_t len, uint64_t digests[]);

/*
 * Keyed digests of @n 4096-byte pages by the fastest implementation this
 * CPU runs (mb_impl_best(MB_ALGO_XXH64)).
 */
void mb_digest_pages_keyed(uint64_t seed, const void *const pages[], size_t n,
			   uint64_t digests[]);

#endif /* MB_DIGEST_H */
