// SPDX-License-Identifier: GPL-2.0
/*
 * bloom.c - Bloom-filter fingerprints and the paper's sharing estimate.
 *
 * Filters of all VMs live in one array (row a = VM a's filter), so the
 * all-pairs count of popcount(A & B) is the same blocked, threaded loop
 * the exact estimator uses for its dense bit matrix (pairwise.c). Building
 * the filters is one pass over each set, VMs spread over the threads.
 *
 * The digest is a hash already, but a 32-bit one is too short to give k
 * independent positions in a large filter, so it is remixed into two
 * 64-bit values (the splitmix64 finaliser with two different offsets).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "pairwise.h"

#define MAX_BITS (1ULL << 40)

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

int mb_bloom_choose(double bits_per_page, uint64_t bytes, uint64_t pages,
		    struct mb_bloom_params *p, struct mb_err *err)
{
	double bits, k;

	if (bytes)
		bits = (double)bytes * 8;
	else if (!(bits_per_page > 0))
		return mb_errf(err, "bits per page must be positive, not %g",
			       bits_per_page);
	else
		bits = ceil(bits_per_page * (double)(pages ? pages : 1));
	if (bits < 64)
		bits = 64;
	if (bits > (double)MAX_BITS)
		return mb_errf(err, "a filter of %.0f bits is too large "
			       "(the limit is 2^40)", bits);
	p->m = ((uint64_t)bits + 63) / 64 * 64;
	k = round((double)p->m / (double)(pages ? pages : 1) * M_LN2);
	if (k < 1)
		k = 1;
	if (k > 32)
		k = 32;
	p->k = (unsigned int)k;
	return 0;
}

int mb_bloom_init(struct mb_bloom *b, const struct mb_bloom_params *p,
		  struct mb_err *err)
{
	memset(b, 0, sizeof(*b));
	if (!p->m || p->m % 64 || !p->k)
		return mb_errf(err, "bad filter size m=%llu k=%u",
			       (unsigned long long)p->m, p->k);
	b->m = p->m;
	b->k = p->k;
	b->words = p->m / 64;
	b->bits = calloc(b->words, sizeof(uint64_t));
	if (!b->bits)
		return mb_errf(err, "out of memory for a filter of %llu bits",
			       (unsigned long long)p->m);
	return 0;
}

void mb_bloom_free(struct mb_bloom *b)
{
	free(b->bits);
	memset(b, 0, sizeof(*b));
}

void mb_bloom_add_raw(uint64_t *bits, uint64_t m, unsigned int k,
		      uint64_t digest)
{
	uint64_t h1 = mix64(digest + 0x9e3779b97f4a7c15ULL);
	uint64_t h2 = mix64(digest + 0x632be59bd9b4e019ULL) | 1;
	unsigned int i;

	for (i = 0; i < k; i++) {
		uint64_t g = h1 + i * h2;
		uint64_t pos = (uint64_t)(((unsigned __int128)g * m) >> 64);

		bits[pos >> 6] |= 1ULL << (pos & 63);
	}
}

void mb_bloom_add_set(struct mb_bloom *b, const struct mb_digest_set *s)
{
	uint64_t i;

	for (i = 0; i < s->distinct; i++)
		mb_bloom_add_raw(b->bits, b->m, b->k, mb_set_key(s, i));
}

void mb_bloom_or(struct mb_bloom *dst, const struct mb_bloom *src)
{
	size_t i;

	for (i = 0; i < dst->words && i < src->words; i++)
		dst->bits[i] |= src->bits[i];
}

uint64_t mb_bloom_zeros(const struct mb_bloom *b)
{
	return b->m - mb_popcount_words(b->bits, b->words);
}

uint64_t mb_bloom_zeros_and(const struct mb_bloom *a, const struct mb_bloom *b)
{
	return a->m - mb_popcount_and(a->bits, b->bits, a->words);
}

/* ln m - ln(m - 1), computed without cancellation. */
static double lambda1(uint64_t m)
{
	return -log1p(-1.0 / (double)m);
}

double mb_bloom_estimate(uint64_t m, unsigned int k, uint64_t z1, uint64_t z2,
			 uint64_t z12)
{
	double zu = (double)z1 + (double)z2 - (double)z12;

	if (!z1 || !z2 || !(zu > 0) || m < 2)
		return NAN;
	return (log(zu) - log((double)z1) - log((double)z2) + log((double)m)) /
	       ((double)k * lambda1(m));
}

double mb_bloom_common(const struct mb_bloom *a, const struct mb_bloom *b)
{
	return mb_bloom_estimate(a->m, a->k, mb_bloom_zeros(a),
				 mb_bloom_zeros(b), mb_bloom_zeros_and(a, b));
}

double mb_bloom_cardinality(uint64_t m, unsigned int k, uint64_t zeros)
{
	if (!zeros || m < 2)
		return NAN;
	return -log((double)zeros / (double)m) / ((double)k * lambda1(m));
}

double mb_bloom_stddev(uint64_t m, unsigned int k, double n1, double n2,
		       double common)
{
	double lam = (double)k * lambda1(m);	/* -ln p, p = (1 - 1/m)^k */
	double q1 = exp(-lam * n1), q2 = exp(-lam * n2);
	double qu = exp(-lam * (n1 + n2 - common));
	double v = 1 / qu - 1 / q1 - 1 / q2 + 2 * exp(lam * common) - 1;

	if (v < 0)
		v = 0;
	return sqrt(v / ((double)m * lam * lam));
}

/* ---- all pairs ---- */

struct bloom_build {
	const struct mb_digest_set *sets;
	uint64_t *rows;
	size_t words;
	const struct mb_bloom_params *p;
};

static void build_one(void *ctx, size_t v)
{
	struct bloom_build *bb = ctx;
	const struct mb_digest_set *s = &bb->sets[v];
	uint64_t *row = bb->rows + v * bb->words, i;

	for (i = 0; i < s->distinct; i++)
		mb_bloom_add_raw(row, bb->p->m, bb->p->k, mb_set_key(s, i));
}

int mb_bloom_all_pairs(const uint64_t *rows, size_t n,
		       const struct mb_bloom_params *params,
		       const struct mb_sharing_opts *opts, double **est,
		       struct mb_err *err)
{
	size_t words = params->m / 64, a, b;
	uint64_t *zeros, *counts;

	*est = NULL;
	zeros = calloc(n + 1, sizeof(uint64_t));
	counts = calloc(n * n + 1, sizeof(uint64_t));
	if (!zeros || !counts) {
		free(zeros);
		free(counts);
		return mb_errf(err, "out of memory for a %zu x %zu matrix", n, n);
	}
	for (a = 0; a < n; a++)
		zeros[a] = params->m - mb_popcount_words(rows + a * words, words);
	if (mb_pairwise_and_count(rows, n, words, counts, opts, 0.1, 1.0, err)) {
		free(zeros);
		free(counts);
		return -1;
	}
	/* Turn the counts into estimates in place: a double is 8 bytes too. */
	for (a = 0; a < n; a++) {
		double e;

		for (b = a + 1; b < n; b++) {
			e = mb_bloom_estimate(params->m, params->k, zeros[a],
					      zeros[b], params->m -
					      counts[a * n + b]);
			memcpy(&counts[a * n + b], &e, sizeof(e));
			memcpy(&counts[b * n + a], &e, sizeof(e));
		}
		e = mb_bloom_cardinality(params->m, params->k, zeros[a]);
		memcpy(&counts[a * n + a], &e, sizeof(e));
	}
	free(zeros);
	*est = (double *)(void *)counts;
	return 0;
}

int mb_sharing_bloom(const struct mb_digest_set *sets, size_t n,
		     const struct mb_bloom_params *params,
		     const struct mb_sharing_opts *opts, double **est,
		     struct mb_err *err)
{
	struct bloom_build bb;
	size_t words = params->m / 64, a;
	uint64_t *rows;
	int rc;

	*est = NULL;
	if (!params->m || params->m % 64 || !params->k)
		return mb_errf(err, "bad filter size m=%llu k=%u",
			       (unsigned long long)params->m, params->k);
	for (a = 1; a < n; a++)
		if (mb_set_comparable(&sets[0], &sets[a], err))
			return -1;
	rows = calloc(n * words + 1, sizeof(uint64_t));
	if (!rows)
		return mb_errf(err, "out of memory for %zu filters of %llu bits",
			       n, (unsigned long long)params->m);
	bb = (struct bloom_build){ sets, rows, words, params };
	mb_parallel_for(n, opts ? opts->threads : 0, build_one, &bb);
	if (opts && opts->progress)
		opts->progress(opts->progress_ctx, 0.1);
	rc = mb_bloom_all_pairs(rows, n, params, opts, est, err);
	free(rows);
	return rc;
}
