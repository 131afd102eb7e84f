// SPDX-License-Identifier: GPL-2.0
/*
 * test_bloom.c - Bloom fingerprints: sizing, the paper's estimate, and
 * that its errors stay within what the variance formula predicts (not
 * only bounded: the observed spread must also match the prediction, so a
 * uselessly loose formula fails too).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bloom.h"
#include "synth.h"

static void test_choose_sizes(void **state)
{
	struct mb_bloom_params p;
	struct mb_err err;

	(void)state;
	assert_int_equal(mb_bloom_choose(4, 0, 262144, &p, NULL), 0);
	assert_int_equal(p.m, 1048576);
	assert_int_equal(p.k, 3);		/* round(4 ln 2) */
	assert_int_equal(mb_bloom_choose(1, 0, 262144, &p, NULL), 0);
	assert_int_equal(p.k, 1);
	assert_int_equal(mb_bloom_choose(8, 0, 262144, &p, NULL), 0);
	assert_int_equal(p.k, 6);
	assert_int_equal(mb_bloom_choose(2, 0, 1000, &p, NULL), 0);
	assert_int_equal(p.m, 2048);		/* 2000 rounded up to words */
	assert_int_equal(mb_bloom_choose(0, 4096, 8192, &p, NULL), 0);
	assert_int_equal(p.m, 32768);
	assert_int_equal(p.k, 3);
	assert_int_equal(mb_bloom_choose(-1, 0, 10, &p, &err), -1);
	assert_non_null(strstr(err.msg, "positive"));
}

static void make_set(struct mb_digest_set *s, const uint64_t *base,
		     uint64_t n, double f, uint64_t vm, int algo)
{
	uint64_t *buf = malloc(n * sizeof(uint64_t));

	assert_non_null(buf);
	mb_synth_vm(buf, base, n, f, 99, vm);
	assert_int_equal(mb_set_from_digests(s, buf, n, algo, "vm", NULL), 0);
	free(buf);
}

/*
 * 300 pairs across 1, 2, 4, 8 bits per page and overlaps from 2% to 90%:
 * every error within 5 sigma, and the z-scores' RMS near 1.
 */
static void test_estimate_within_predicted_error(void **state)
{
	static const double bits[] = { 1, 2, 4, 8 };
	uint64_t n = 20000, *base = malloc(n * sizeof(uint64_t));
	double sum_z2 = 0;
	size_t trials = 0, b, i;

	(void)state;
	assert_non_null(base);
	mb_synth_base(base, n, 0.0, 5);
	for (b = 0; b < 4; b++) {
		struct mb_bloom_params p;

		assert_int_equal(mb_bloom_choose(bits[b], 0, n, &p, NULL), 0);
		for (i = 0; i < 75; i++) {
			struct mb_digest_set x, y;
			struct mb_bloom fx, fy;
			double f1 = 0.1 + 0.85 * (double)(i % 15) / 14;
			double f2 = 0.1 + 0.85 * (double)((i * 7) % 15) / 14;
			double exact, est, sigma, z;

			make_set(&x, base, n, f1, 2 * i + 1000 * b,
				 i % 2 ? MB_ALGO_SUPERFAST : MB_ALGO_XXH64);
			make_set(&y, base, n, f2, 2 * i + 1 + 1000 * b,
				 i % 2 ? MB_ALGO_SUPERFAST : MB_ALGO_XXH64);
			assert_int_equal(mb_bloom_init(&fx, &p, NULL), 0);
			assert_int_equal(mb_bloom_init(&fy, &p, NULL), 0);
			mb_bloom_add_set(&fx, &x);
			mb_bloom_add_set(&fy, &y);
			exact = (double)mb_set_common(&x, &y);
			est = mb_bloom_common(&fx, &fy);
			sigma = mb_bloom_stddev(p.m, p.k, (double)x.distinct,
						(double)y.distinct, exact);
			z = (est - exact) / sigma;
			if (!(fabs(z) <= 5))
				fail_msg("%g bits/page, pair %zu: exact %.0f, "
					 "estimate %.1f, predicted sigma %.1f "
					 "(z = %.2f, expected |z| <= 5)",
					 bits[b], i, exact, est, sigma, z);
			sum_z2 += z * z;
			trials++;
			mb_bloom_free(&fx);
			mb_bloom_free(&fy);
			mb_set_free(&x);
			mb_set_free(&y);
		}
	}
	/* Independent-bits approximation: RMS z close to 1. */
	if (!(sqrt(sum_z2 / (double)trials) > 0.5 &&
	      sqrt(sum_z2 / (double)trials) < 1.5))
		fail_msg("RMS of (estimate - exact) / predicted sigma over %zu "
			 "pairs: expected 0.5-1.5, got %.3f", trials,
			 sqrt(sum_z2 / (double)trials));
	print_message("bloom: %zu pairs, RMS z-score %.3f\n", trials,
		      sqrt(sum_z2 / (double)trials));
	free(base);
}

static void test_all_pairs_equals_pairwise(void **state)
{
	uint64_t n = 5000, *base = malloc(n * sizeof(uint64_t));
	struct mb_digest_set sets[9];
	struct mb_bloom_params p;
	struct mb_bloom f[9];
	double *est;
	size_t a, b;

	(void)state;
	assert_non_null(base);
	mb_synth_base(base, n, 0.05, 11);
	assert_int_equal(mb_bloom_choose(4, 0, n, &p, NULL), 0);
	for (a = 0; a < 9; a++) {
		make_set(&sets[a], base, n, 0.1 * (double)a, a, MB_ALGO_XXH32);
		assert_int_equal(mb_bloom_init(&f[a], &p, NULL), 0);
		mb_bloom_add_set(&f[a], &sets[a]);
	}
	assert_int_equal(mb_sharing_bloom(sets, 9, &p, NULL, &est, NULL), 0);
	for (a = 0; a < 9; a++)
		for (b = 0; b < 9; b++)
			if (a != b && fabs(est[a * 9 + b] -
					   mb_bloom_common(&f[a], &f[b])) > 1e-6)
				fail_msg("pair %zu,%zu: all-pairs %.3f, single %.3f",
					 a, b, est[a * 9 + b],
					 mb_bloom_common(&f[a], &f[b]));
	free(est);
	for (a = 0; a < 9; a++) {
		mb_bloom_free(&f[a]);
		mb_set_free(&sets[a]);
	}
	free(base);
}

/* A VM against a host's aggregate (OR of filters) estimates the overlap
 * with the union of the host's VMs. */
static void test_host_aggregate(void **state)
{
	uint64_t n = 20000, *base = malloc(n * sizeof(uint64_t));
	struct mb_digest_set s[4];
	const struct mb_digest_set *host[3] = { &s[0], &s[1], &s[2] };
	const struct mb_digest_set *with[4] = { &s[0], &s[1], &s[2], &s[3] };
	struct mb_bloom_params p;
	struct mb_bloom agg, fv, tmp;
	double exact, est, sigma;
	uint64_t u;
	size_t i;

	(void)state;
	assert_non_null(base);
	mb_synth_base(base, n, 0.0, 21);
	for (i = 0; i < 4; i++)
		make_set(&s[i], base, n, 0.5, 40 + i, MB_ALGO_XXH64);
	assert_int_equal(mb_bloom_choose(8, 0, 3 * n, &p, NULL), 0);
	assert_int_equal(mb_bloom_init(&agg, &p, NULL), 0);
	assert_int_equal(mb_bloom_init(&fv, &p, NULL), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mb_bloom_init(&tmp, &p, NULL), 0);
		mb_bloom_add_set(&tmp, &s[i]);
		mb_bloom_or(&agg, &tmp);
		mb_bloom_free(&tmp);
	}
	mb_bloom_add_set(&fv, &s[3]);
	u = mb_group_distinct(host, 3);
	exact = (double)(u + s[3].distinct - mb_group_distinct(with, 4));
	est = mb_bloom_common(&fv, &agg);
	sigma = mb_bloom_stddev(p.m, p.k, (double)s[3].distinct, (double)u,
				exact);
	if (fabs(est - exact) > 5 * sigma)
		fail_msg("VM vs host aggregate: exact %.0f, estimate %.1f, "
			 "sigma %.1f", exact, est, sigma);
	mb_bloom_free(&agg);
	mb_bloom_free(&fv);
	for (i = 0; i < 4; i++)
		mb_set_free(&s[i]);
	free(base);
}

static void test_saturated_filter_is_nan(void **state)
{
	struct mb_bloom_params p = { .m = 64, .k = 4 };
	struct mb_bloom a, b;
	uint64_t i;

	(void)state;
	assert_int_equal(mb_bloom_init(&a, &p, NULL), 0);
	assert_int_equal(mb_bloom_init(&b, &p, NULL), 0);
	for (i = 0; i < 5000; i++)
		mb_bloom_add(&a, i);
	mb_bloom_add(&b, 1);
	assert_int_equal(mb_bloom_zeros(&a), 0);
	assert_true(isnan(mb_bloom_common(&a, &b)));
	assert_true(isnan(mb_bloom_cardinality(p.m, p.k, 0)));
	mb_bloom_free(&a);
	mb_bloom_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose_sizes),
		cmocka_unit_test(test_estimate_within_predicted_error),
		cmocka_unit_test(test_all_pairs_equals_pairwise),
		cmocka_unit_test(test_host_aggregate),
		cmocka_unit_test(test_saturated_filter_is_nan),
	};

	return cmocka_run_group_tests_name("bloom", tests, NULL, NULL);
}
