// SPDX-License-Identifier: GPL-2.0
/*
 * test_trace_stats.c - what `mbuddy trace info|diff|hash` compute: distinct
 * and duplicate pages, zero pages, version diffs by PFN, image hashing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_stats.h"

static void text_trace(const char *text, struct mbt_trace *t)
{
	struct mb_err err;

	if (mb_text_read_mem(text, strlen(text), "t", t, &err) < 0)
		fail_msg("%s", err.msg);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void sort_unique_matches_qsort(void **state)
{
	enum { N = 200000 };
	uint64_t *a = malloc(N * sizeof(*a)), *b = malloc(N * sizeof(*b));
	uint64_t i, n, k, x = 88172645463325252ULL;

	(void)state;
	for (i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* Many repeats, both narrow (32-bit) and wide values. */
		a[i] = i % 3 ? x % 50000 : x;
		b[i] = a[i];
	}
	n = mb_sort_unique(a, N);
	qsort(b, N, sizeof(*b), cmp_u64);
	for (k = 1, i = 1; i < N; i++)
		if (b[i] != b[k - 1])
			b[k++] = b[i];
	assert_int_equal(n, k);
	assert_memory_equal(a, b, n * sizeof(*a));
	assert_int_equal(mb_sort_unique(a, 0), 0);
	free(a);
	free(b);
}

static void stats_count_distinct_duplicate_and_zero_pages(void **state)
{
	static const uint8_t zero[4096];
	struct mbt_trace t;
	struct mb_trace_stats s;
	char text[128];

	(void)state;
	snprintf(text, sizeof(text), "%u\n5\n5\n%u\n9\n5\n",
		 (unsigned int)mb_digest_page(MB_ALGO_SUPERFAST, zero),
		 (unsigned int)mb_digest_page(MB_ALGO_SUPERFAST, zero));
	text_trace(text, &t);
	t.free_bits[0] |= 1 << 4;	/* the 9 is a free page */
	assert_int_equal(mb_trace_stats(&t, false, &s), 0);
	assert_int_equal(s.pages, 6);
	assert_int_equal(s.used_pages, 5);
	assert_int_equal(s.free_pages, 1);
	assert_int_equal(s.distinct_digests, 2);
	assert_int_equal(s.duplicate_pages, 3);
	assert_int_equal(s.zero_pages, 2);
	/* Free pages count only when the trace hashed them. */
	assert_int_equal(mb_trace_stats(&t, true, &s), 0);
	assert_int_equal(s.distinct_digests, 2);
	t.info.flags |= MBT_FLAG_FREE_HASHED;
	assert_int_equal(mb_trace_stats(&t, true, &s), 0);
	assert_int_equal(s.distinct_digests, 3);
	mbt_trace_free(&t);
}

static void birthday_bound(void **state)
{
	(void)state;
	assert_true(mb_birthday_bound(0, 32) == 0);
	assert_true(mb_birthday_bound(1, 32) == 0);
	/* 65,536 contents: C(65536, 2) / 2^32 = 0.49999... */
	assert_true(mb_birthday_bound(65536, 32) > 0.4999 &&
		    mb_birthday_bound(65536, 32) < 0.5);
	assert_true(mb_birthday_bound(65536, 64) < 1e-9);
}

static void diff_matches_pages_by_pfn(void **state)
{
	struct mbt_trace a, b;
	struct mb_trace_diff d;

	(void)state;
	text_trace("1\n2\n3\n4\n5\n6\n", &a);
	text_trace("1\n7\n3\n4\n8\n6\n9\n", &b);
	a.free_bits[0] |= 1 << 3;	/* pfn 3: free -> used (allocated) */
	b.free_bits[0] |= 1 << 5;	/* pfn 5: used -> free (freed) */
	assert_int_equal(mb_trace_diff(&a, &b, &d), 0);
	assert_int_equal(d.common_pfns, 6);
	assert_int_equal(d.compared, 4);	/* pfns 0, 1, 2, 4 */
	assert_int_equal(d.changed, 2);		/* pfns 1 and 4 */
	assert_int_equal(d.allocated, 1);
	assert_int_equal(d.freed, 1);
	assert_int_equal(d.only_old, 0);
	assert_int_equal(d.only_new, 1);
	assert_true(d.change_rate == 50.0);
	/* New used digests 1,7,3,4,8,9 vs old used 1,2,3,5,6. */
	assert_int_equal(d.new_distinct, 4);
	mbt_trace_free(&a);
	mbt_trace_free(&b);
}

static void hash_image_pads_the_last_page(void **state)
{
	char dir[] = "/tmp/mbt-hash-XXXXXX", img[64], out[64];
	uint8_t pages[3][4096];
	struct mbt_info info;
	struct mbt_trace t;
	struct mb_err err;
	int fd, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(out, sizeof(out), "%s/img.mbt", dir);
	for (i = 0; i < 3; i++)
		memset(pages[i], 'a' + i, 4096);
	memset(pages[2] + 100, 0, 4096 - 100);	/* the padded tail */
	fd = open(img, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_int_equal(write(fd, pages, 2 * 4096 + 100), 2 * 4096 + 100);
	close(fd);

	mbt_info_init(&info, MB_ALGO_XXH64);
	info.flags = MBT_FLAG_SYNTHETIC_PFN | MBT_FLAG_FROM_IMAGE;
	info.page_count = 3;
	fd = open(img, O_RDONLY);
	assert_int_equal(mb_hash_image(fd, &info, out, &err), 0);
	close(fd);
	assert_int_equal(mb_trace_load(out, &t, &err), 0);
	assert_int_equal(t.info.page_count, 3);
	for (i = 0; i < 3; i++)
		assert_true(t.digests[i] ==
			    mb_digest_page(MB_ALGO_XXH64, pages[i]));
	mbt_trace_free(&t);

	/* An image shorter than promised is an error, and no file is left. */
	info.page_count = 5;
	fd = open(img, O_RDONLY);
	unlink(out);
	assert_int_equal(mb_hash_image(fd, &info, out, &err), -1);
	assert_non_null(strstr(err.msg, "image shrank"));
	close(fd);
	assert_int_equal(access(out, F_OK), -1);
	unlink(img);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sort_unique_matches_qsort),
		cmocka_unit_test(stats_count_distinct_duplicate_and_zero_pages),
		cmocka_unit_test(birthday_bound),
		cmocka_unit_test(diff_matches_pages_by_pfn),
		cmocka_unit_test(hash_image_pads_the_last_page),
	};

	return cmocka_run_group_tests_name("trace_stats", tests, NULL, NULL);
}
