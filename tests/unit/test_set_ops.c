// SPDX-License-Identifier: GPL-2.0
/*
 * test_set_ops.c - the digest-set operations the placement algorithms
 * lean on: mb_set_common() (branch-free merge), mb_set_union() and
 * mb_group_distinct() (one intersection for two sets, a radix sort of all
 * digests for more), against a plain computation with qsort, for 32- and
 * 64-bit digests, random overlaps, empty sets and sets with one digest.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sharing.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A set of @n digests, each from @pool (so sets overlap) or fresh. */
static void make(struct mb_digest_set *s, int algo, const uint64_t *pool,
		 size_t npool, size_t n)
{
	uint64_t *d = malloc((n + 1) * sizeof(*d));
	struct mb_err err;
	size_t i;

	assert_non_null(d);
	for (i = 0; i < n; i++)
		d[i] = next() % 3 ? pool[next() % npool] : next();
	if (algo == MB_ALGO_SUPERFAST)
		for (i = 0; i < n; i++)
			d[i] &= 0xffffffff;
	assert_int_equal(mb_set_from_digests(s, d, n, algo, "t", &err), 0);
	free(d);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Distinct digests of the sets together, the plain way. */
static uint64_t plain_distinct(const struct mb_digest_set *const *sets,
			       size_t n)
{
	uint64_t total = 0, k = 0, i, count = 0, *all;
	size_t v;

	for (v = 0; v < n; v++)
		total += sets[v]->distinct;
	all = malloc((total + 1) * sizeof(*all));
	assert_non_null(all);
	for (v = 0; v < n; v++)
		for (i = 0; i < sets[v]->distinct; i++)
			all[k++] = mb_set_key(sets[v], i);
	qsort(all, total, sizeof(*all), cmp_u64);
	for (i = 0; i < total; i++)
		count += !i || all[i] != all[i - 1];
	free(all);
	return count;
}

static void set_operations_equal_plain_ones(void **state)
{
	static const int algos[] = { MB_ALGO_SUPERFAST, MB_ALGO_XXH64 };
	uint64_t pool[5000];
	size_t a, round, i;

	(void)state;
	for (i = 0; i < 5000; i++)
		pool[i] = next();
	for (a = 0; a < 2; a++) {
		for (round = 0; round < 40; round++) {
			struct mb_digest_set s[7], u;
			const struct mb_digest_set *ptr[7];
			size_t n = 1 + round % 7, v;
			struct mb_err err;
			uint64_t want, got;

			for (v = 0; v < n; v++) {
				/* Sizes 0, 1 and a few thousand. */
				size_t size = round % 5 == 0 && v == 0 ? 0 :
					      round % 5 == 1 && v == 1 ? 1 :
					      next() % 6000;

				make(&s[v], algos[a], pool, 1000 + round * 100,
				     size);
				ptr[v] = &s[v];
			}
			want = plain_distinct(ptr, n);
			got = mb_group_distinct(ptr, n);
			if (got != want)
				fail_msg("%s, %zu sets: group distinct %llu, "
					 "expected %llu", mb_algo_name(algos[a]),
					 n, (unsigned long long)got,
					 (unsigned long long)want);
			if (n >= 2) {
				uint64_t common = ptr[0]->distinct +
						  ptr[1]->distinct -
						  plain_distinct(ptr, 2);

				assert_true(mb_set_common(&s[0], &s[1]) == common);
				assert_int_equal(mb_set_union(&u, &s[0], &s[1],
							      &err), 0);
				assert_true(u.distinct == plain_distinct(ptr, 2));
				assert_true(u.pages == s[0].pages + s[1].pages);
				for (i = 1; i < u.distinct; i++)
					assert_true(mb_set_key(&u, i - 1) <
						    mb_set_key(&u, i));
				mb_set_free(&u);
			}
			for (v = 0; v < n; v++)
				mb_set_free(&s[v]);
		}
	}
}

static void union_of_incomparable_sets_fails(void **state)
{
	struct mb_digest_set a, b, u;
	uint64_t d[2] = { 1, 2 };
	struct mb_err err;

	(void)state;
	assert_int_equal(mb_set_from_digests(&a, d, 2, MB_ALGO_SUPERFAST, "a",
					     &err), 0);
	assert_int_equal(mb_set_from_digests(&b, d, 2, MB_ALGO_XXH64, "b",
					     &err), 0);
	assert_int_equal(mb_set_union(&u, &a, &b, &err), -1);
	assert_non_null(strstr(err.msg, "digests"));
	mb_set_free(&a);
	mb_set_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_operations_equal_plain_ones),
		cmocka_unit_test(union_of_incomparable_sets_fails),
	};

	return cmocka_run_group_tests_name("set_ops", tests, NULL, NULL);
}
