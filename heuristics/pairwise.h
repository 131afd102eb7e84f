/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pairwise.h - the one hot loop both estimators share: for n bit rows of
 * equal length, popcount(row[a] & row[b]) for every pair a < b. The exact
 * estimator feeds it the columns of digests held by many VMs, the Bloom
 * estimator the VMs' filters. Internal to libmbheur.
 */
#ifndef MB_PAIRWISE_H
#define MB_PAIRWISE_H

#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"

struct mb_sharing_opts;

/* Worker threads to use for @requested (0 = one per online CPU). */
unsigned int mb_thread_count(unsigned int requested);

/*
 * For every a < b: out[a * n + b] += popcount(rows[a] & rows[b]) over
 * @words 64-bit words per row (row a starts at rows + a * words). The
 * lower triangle and the diagonal are left alone. Progress is reported
 * through @opts (may be NULL) scaled into [@p0, @p1]. Returns 0 or -1.
 */
int mb_pairwise_and_count(const uint64_t *rows, size_t n, size_t words,
			  uint64_t *out, const struct mb_sharing_opts *opts,
			  double p0, double p1, struct mb_err *err);

/*
 * Run fn(ctx, i) for i = 0..n-1 on @threads workers (0 = one per CPU),
 * each index exactly once, in no particular order.
 */
void mb_parallel_for(size_t n, unsigned int threads,
		     void (*fn)(void *ctx, size_t i), void *ctx);

/* popcount over @words words (uses the CPU's popcount when it has one). */
uint64_t mb_popcount_words(const uint64_t *w, size_t words);

/* popcount(a & b) over @words words. */
uint64_t mb_popcount_and(const uint64_t *a, const uint64_t *b, size_t words);

#endif /* MB_PAIRWISE_H */
