// SPDX-License-Identifier: GPL-2.0
/*
 * test_sharing.c - digest sets and the exact sharing estimator.
 *
 * The all-pairs estimator is checked against the definition computed the
 * slow, obvious way (one sorted merge per pair, a union by sorting) on
 * synthetic VMs chosen so that every path runs: digests in one VM, in a
 * few (sparse), in many (dense bit matrix) and in all VMs; 32- and 64-bit
 * digests; one thread and several. Trace loading is checked on real files
 * in both formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sharing.h"
#include "synth.h"

/* n VMs over one base, private fractions spread over [0.05, 0.95]. */
static struct mb_digest_set *make_vms(size_t n, uint64_t pages, int algo,
				      uint64_t seed)
{
	struct mb_digest_set *sets = calloc(n, sizeof(*sets));
	uint64_t *base = malloc(pages * sizeof(uint64_t));
	uint64_t *buf = malloc(pages * sizeof(uint64_t));
	size_t v;

	assert_non_null(sets);
	assert_non_null(base);
	assert_non_null(buf);
	mb_synth_base(base, pages, 0.1, seed);
	for (v = 0; v < n; v++) {
		char name[16];
		double f = 0.05 + 0.9 * (double)v / (double)(n > 1 ? n - 1 : 1);

		/* Every third VM also gets a page from a small side pool, so
		 * some digests are held by only a few VMs (the sparse path). */
		mb_synth_vm(buf, base, pages, f, seed, v);
		if (v % 3 == 0)
			buf[0] = 0xabcdef00ULL + (v % 7);
		snprintf(name, sizeof(name), "vm%zu", v);
		assert_int_equal(mb_set_from_digests(&sets[v], buf, pages, algo,
						     name, NULL), 0);
	}
	free(base);
	free(buf);
	return sets;
}

static void free_vms(struct mb_digest_set *sets, size_t n)
{
	size_t v;

	for (v = 0; v < n; v++)
		mb_set_free(&sets[v]);
	free(sets);
}

/* The union by brute force: concatenate, sort, count. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t union_brute(const struct mb_digest_set *sets, size_t n)
{
	uint64_t total = 0, k = 0, i, c = 0;
	uint64_t *all;
	size_t v;

	for (v = 0; v < n; v++)
		total += sets[v].distinct;
	all = malloc((total + 1) * sizeof(uint64_t));
	assert_non_null(all);
	for (v = 0; v < n; v++)
		for (i = 0; i < sets[v].distinct; i++)
			all[k++] = mb_set_key(&sets[v], i);
	qsort(all, total, sizeof(uint64_t), cmp_u64);
	for (i = 0; i < total; i++)
		c += !i || all[i] != all[i - 1];
	free(all);
	return c;
}

static void check_exact(size_t n, uint64_t pages, int algo, unsigned threads)
{
	struct mb_digest_set *sets = make_vms(n, pages, algo, 7 + n);
	struct mb_sharing_opts opts = { .threads = threads };
	struct mb_sharing_matrix m;
	struct mb_err err;
	size_t a, b;

	assert_int_equal(mb_sharing_exact(sets, n, &opts, &m, &err), 0);
	for (a = 0; a < n; a++) {
		for (b = 0; b < n; b++) {
			uint64_t want = a == b ? sets[a].distinct :
				mb_set_common(&sets[a], &sets[b]);

			if (m.common[a * n + b] != want)
				fail_msg("n=%zu width=%d threads=%u: common(%zu,"
					 "%zu) expected %llu, got %llu", n,
					 sets[0].width, threads, a, b,
					 (unsigned long long)want,
					 (unsigned long long)m.common[a * n + b]);
		}
	}
	if (m.group_distinct != union_brute(sets, n))
		fail_msg("group distinct: expected %llu, got %llu",
			 (unsigned long long)union_brute(sets, n),
			 (unsigned long long)m.group_distinct);
	/* The path split must add up to the union. */
	assert_int_equal(m.digests_single + m.digests_sparse +
			 m.digests_dense + m.digests_all, m.group_distinct);
	mb_sharing_matrix_free(&m);
	free_vms(sets, n);
}

static void test_exact_small_matches_merges(void **state)
{
	(void)state;
	check_exact(2, 3000, MB_ALGO_SUPERFAST, 1);
	check_exact(5, 3000, MB_ALGO_SUPERFAST, 1);
	check_exact(5, 3000, MB_ALGO_XXH64, 1);
}

static void test_exact_many_vms_all_paths(void **state)
{
	struct mb_digest_set *sets = make_vms(70, 4000, MB_ALGO_SUPERFAST, 3);
	struct mb_sharing_matrix m;

	(void)state;
	/* 70 VMs: threads, sparse (the side pool), dense and all-VM digests. */
	assert_int_equal(mb_sharing_exact(sets, 70, NULL, &m, NULL), 0);
	assert_true(m.digests_single > 0);
	assert_true(m.digests_sparse > 0);
	assert_true(m.digests_dense > 0);
	assert_true(m.digests_all > 0);	/* the zero page */
	mb_sharing_matrix_free(&m);
	free_vms(sets, 70);
	/* Over a million digests: the estimator really uses the threads. */
	check_exact(70, 16000, MB_ALGO_SUPERFAST, 2);
	check_exact(70, 16000, MB_ALGO_XXH64, 2);
	check_exact(70, 4000, MB_ALGO_XXH32, 1);
}

static void test_group_distinct_and_saved(void **state)
{
	/* Hand-made: a = {1,2,3,3}, b = {2,3,4}, c = {9}. */
	uint64_t da[] = { 3, 1, 2, 3 }, db[] = { 4, 3, 2 }, dc[] = { 9 };
	struct mb_digest_set s[3];
	const struct mb_digest_set *ptr[3] = { &s[0], &s[1], &s[2] };
	struct mb_sharing_matrix m;

	(void)state;
	assert_int_equal(mb_set_from_digests(&s[0], da, 4, MB_ALGO_XXH32, "a", NULL), 0);
	assert_int_equal(mb_set_from_digests(&s[1], db, 3, MB_ALGO_XXH32, "b", NULL), 0);
	assert_int_equal(mb_set_from_digests(&s[2], dc, 1, MB_ALGO_XXH32, "c", NULL), 0);
	assert_int_equal(s[0].pages, 4);
	assert_int_equal(s[0].distinct, 3);
	assert_int_equal(mb_set_self_duplicates(&s[0]), 1);
	assert_int_equal(mb_set_common(&s[0], &s[1]), 2);
	assert_int_equal(mb_set_common(&s[0], &s[2]), 0);
	assert_int_equal(mb_group_distinct(ptr, 3), 5);
	assert_int_equal(mb_group_distinct(ptr, 2), 4);
	assert_int_equal(mb_sharing_exact(s, 3, NULL, &m, NULL), 0);
	assert_int_equal(m.common[0 * 3 + 1], 2);
	assert_int_equal(m.common[1 * 3 + 0], 2);
	assert_int_equal(m.common[2 * 3 + 1], 0);
	assert_int_equal(m.group_pages, 8);
	assert_int_equal(m.group_distinct, 5);	/* saved(G) = 8 - 5 = 3 */
	mb_sharing_matrix_free(&m);
	mb_set_free(&s[0]);
	mb_set_free(&s[1]);
	mb_set_free(&s[2]);
}

static void test_incomparable_algorithms_fail(void **state)
{
	uint64_t d[] = { 1, 2 };
	struct mb_digest_set s[2];
	struct mb_sharing_matrix m;
	struct mb_err err;

	(void)state;
	assert_int_equal(mb_set_from_digests(&s[0], d, 2, MB_ALGO_SUPERFAST, "a", NULL), 0);
	assert_int_equal(mb_set_from_digests(&s[1], d, 2, MB_ALGO_XXH32, "b", NULL), 0);
	assert_int_equal(mb_sharing_exact(s, 2, NULL, &m, &err), -1);
	assert_non_null(strstr(err.msg, "superfast"));
	assert_non_null(strstr(err.msg, "xxh32"));
	mb_set_free(&s[0]);
	mb_set_free(&s[1]);
}

static void test_birthday_bound(void **state)
{
	(void)state;
	/* 65536 x 65536 pairs of 32-bit digests: 2^32 / 2^32 = 1. */
	assert_true(mb_false_matches(65536, 65536, 4) > 0.999 &&
		    mb_false_matches(65536, 65536, 4) < 1.001);
	assert_true(mb_false_matches(65536, 65536, 8) < 1e-9);
	/* n(n-1)/2 / 2^32 for n = 2^16: about 0.5. */
	assert_true(mb_false_matches_within(65536, 4) > 0.49 &&
		    mb_false_matches_within(65536, 4) < 0.51);
}

/* Write a trace with free pages in both formats; both give one set. */
static void test_legacy_text_and_mbt_agree(void **state)
{
	char dir[] = "/tmp/test_sharing.XXXXXX", txt[128], mbt[128];
	struct mbt_trace t, t2, t3;
	struct mb_digest_set a, b, c, all;
	struct mb_err err;
	uint64_t n = 5000, i, used = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(txt, sizeof(txt), "%s/VM1.txt0", dir);
	snprintf(mbt, sizeof(mbt), "%s/vm1.mbt", dir);
	memset(&t, 0, sizeof(t));
	mbt_info_init(&t.info, MB_ALGO_SUPERFAST);
	t.info.page_count = n;
	t.digests = calloc(n, sizeof(uint64_t));
	t.free_bits = calloc((n + 7) / 8 + 8, 1);
	t.chunks = calloc(1, sizeof(*t.chunks));
	assert_non_null(t.digests);
	t.chunks[0] = (struct mbt_chunk){ .start_pfn = 0, .first = 0, .count = (uint32_t)n };
	t.nchunks = 1;
	f = fopen(txt, "w");
	assert_non_null(f);
	for (i = 0; i < n; i++) {
		bool is_free = i % 5 == 0;

		if (is_free) {
			t.free_bits[i / 8] |= 1 << (i % 8);
			t.digests[i] = 0;
		} else {
			t.digests[i] = (i * 2654435761u) % 1000u;	/* duplicates */
			fprintf(f, "%llu\n", (unsigned long long)t.digests[i]);
			used++;
		}
	}
	fclose(f);
	t.info.used_pages = used;
	t.info.free_pages = n - used;
	if (mbt_write_file(mbt, &t, &err))
		fail_msg("writing %s: %s", mbt, err.msg);
	memset(&t2, 0, sizeof(t2));
	memset(&t3, 0, sizeof(t3));
	if (mb_trace_load(txt, &t2, &err) || mb_trace_load(mbt, &t3, &err))
		fail_msg("loading: %s", err.msg);
	assert_int_equal(mb_set_from_trace(&a, &t2, false, NULL, NULL), 0);
	assert_int_equal(mb_set_from_trace(&b, &t3, false, NULL, NULL), 0);
	assert_int_equal(mb_set_from_trace(&c, &t, false, "mem", NULL), 0);
	assert_int_equal(mb_set_from_trace(&all, &t3, true, NULL, NULL), 0);
	assert_int_equal(a.pages, used);
	assert_int_equal(b.pages, used);
	assert_int_equal(a.distinct, b.distinct);
	assert_int_equal(a.distinct, c.distinct);
	assert_int_equal(mb_set_common(&a, &b), a.distinct);
	assert_string_equal(a.name, "VM1");
	/* Free pages (digest 0 here) only with include_free. */
	assert_int_equal(all.pages, n);
	assert_int_equal(all.distinct, b.distinct + (mb_set_key(&b, 0) != 0));
	mb_set_free(&a);
	mb_set_free(&b);
	mb_set_free(&c);
	mb_set_free(&all);
	mbt_trace_free(&t);
	mbt_trace_free(&t2);
	mbt_trace_free(&t3);
	unlink(txt);
	unlink(mbt);
	rmdir(dir);
}

static void test_empty_sets(void **state)
{
	struct mb_digest_set s[2];
	struct mb_sharing_matrix m;

	(void)state;
	assert_int_equal(mb_set_from_digests(&s[0], NULL, 0, MB_ALGO_XXH64, "e", NULL), 0);
	assert_int_equal(mb_set_from_digests(&s[1], NULL, 0, MB_ALGO_XXH64, "f", NULL), 0);
	assert_int_equal(mb_sharing_exact(s, 2, NULL, &m, NULL), 0);
	assert_int_equal(m.common[1], 0);
	assert_int_equal(m.group_distinct, 0);
	mb_sharing_matrix_free(&m);
	mb_set_free(&s[0]);
	mb_set_free(&s[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_small_matches_merges),
		cmocka_unit_test(test_exact_many_vms_all_paths),
		cmocka_unit_test(test_group_distinct_and_saved),
		cmocka_unit_test(test_incomparable_algorithms_fail),
		cmocka_unit_test(test_birthday_bound),
		cmocka_unit_test(test_legacy_text_and_mbt_agree),
		cmocka_unit_test(test_empty_sets),
	};

	return cmocka_run_group_tests_name("sharing", tests, NULL, NULL);
}
