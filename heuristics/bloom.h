/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bloom.h - Bloom-filter memory fingerprints and the sharing estimate of
 * Wood et al., "Memory Buddies: Exploiting Page Sharing for Smart
 * Colocation in Virtualized Data Centers", VEE 2009, sections 3.2-3.3.
 *
 * Each VM is summarised by one filter of m bits with k hash functions over
 * its page digests. A host's aggregate is the OR of its VMs' filters. The
 * number of digests two filters have in common is estimated from zero-bit
 * counts: z1, z2 of the two filters and z12 of their AND,
 *
 *   common ≈ [ln(z1 + z2 - z12) - ln(z1 * z2) + ln m]
 *            / [k * (ln m - ln(m - 1))]
 *
 * Sizing (mb_bloom_choose): m = bits_per_page * pages (or 8 * bytes),
 * rounded up to whole 64-bit words; k = round(m / pages * ln 2), the k that
 * minimises a filter's false-positive rate for that many pages, at least 1.
 * Hashing: the k positions come from the digest by double hashing
 * (Kirsch and Mitzenmacher): g_i = h1 + i * h2 mod 2^64, with h1, h2 two
 * independent 64-bit mixes of the digest (h2 odd), mapped onto 0..m-1 by a
 * multiply-shift (g * m) >> 64. Two filters are comparable only when they
 * share m and k.
 *
 * Nothing here prints; errors go through struct mb_err.
 */
#ifndef MB_BLOOM_H
#define MB_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#include "sharing.h"

struct mb_bloom_params {
	uint64_t m;		/* bits, a multiple of 64 */
	unsigned int k;		/* hash functions */
};

/*
 * Size filters for sets of up to @pages digests: by @bits_per_page when
 * @bytes is 0, else @bytes per filter. Fails on a zero or absurd size
 * (more than 2^40 bits) or a negative bits_per_page.
 */
int mb_bloom_choose(double bits_per_page, uint64_t bytes, uint64_t pages,
		    struct mb_bloom_params *p, struct mb_err *err);

struct mb_bloom {
	uint64_t m;
	unsigned int k;
	size_t words;		/* m / 64 */
	uint64_t *bits;		/* owned */
};

/* An empty filter. Returns 0, or -1 when out of memory. */
int mb_bloom_init(struct mb_bloom *b, const struct mb_bloom_params *p,
		  struct mb_err *err);
void mb_bloom_free(struct mb_bloom *b);

/* Set the k bits of @digest in the filter of @words words at @bits. */
void mb_bloom_add_raw(uint64_t *bits, uint64_t m, unsigned int k,
		      uint64_t digest);

static inline void mb_bloom_add(struct mb_bloom *b, uint64_t digest)
{
	mb_bloom_add_raw(b->bits, b->m, b->k, digest);
}

/* Add every digest of @s. */
void mb_bloom_add_set(struct mb_bloom *b, const struct mb_digest_set *s);

/* dst |= src (same m and k): a host's aggregate fingerprint. */
void mb_bloom_or(struct mb_bloom *dst, const struct mb_bloom *src);

/* Zero bits in @b. */
uint64_t mb_bloom_zeros(const struct mb_bloom *b);

/* Zero bits of (a AND b). */
uint64_t mb_bloom_zeros_and(const struct mb_bloom *a, const struct mb_bloom *b);

/*
 * The paper's estimate from zero counts. NaN when a count is 0 (the
 * filter is saturated and says nothing).
 */
double mb_bloom_estimate(uint64_t m, unsigned int k, uint64_t z1, uint64_t z2,
			 uint64_t z12);

/* Estimated common digests of the sets behind @a and @b. */
double mb_bloom_common(const struct mb_bloom *a, const struct mb_bloom *b);

/*
 * Estimated number of distinct digests in a filter with @zeros zero bits
 * (-ln(z/m) / (k * -ln(1 - 1/m))). NaN when saturated.
 */
double mb_bloom_cardinality(uint64_t m, unsigned int k, uint64_t zeros);

/*
 * Standard deviation the estimator is expected to have for two sets of
 * @n1 and @n2 distinct digests with @common in common (delta method,
 * treating bits as independent; docs/sharing.md derives it).
 */
double mb_bloom_stddev(uint64_t m, unsigned int k, double n1, double n2,
		       double common);

/*
 * All pairs: one filter per set, then est[a * n + b] for a != b (and the
 * set's own distinct count estimate on the diagonal). @est is allocated
 * here (n * n doubles; free() it). NaN entries mean a saturated filter.
 * @params fixes m and k for all filters.
 */
int mb_sharing_bloom(const struct mb_digest_set *sets, size_t n,
		     const struct mb_bloom_params *params,
		     const struct mb_sharing_opts *opts, double **est,
		     struct mb_err *err);

/*
 * The same from filters already built: @rows holds n filters of m bits
 * one after the other (row a = n's a-th filter, m / 64 words each), e.g.
 * fingerprints kept instead of whole traces. @rows is not modified.
 */
int mb_bloom_all_pairs(const uint64_t *rows, size_t n,
		       const struct mb_bloom_params *params,
		       const struct mb_sharing_opts *opts, double **est,
		       struct mb_err *err);

#endif /* MB_BLOOM_H */
