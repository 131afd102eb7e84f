// SPDX-License-Identifier: GPL-2.0
/*
 * test_digest.c - the page digests against independent implementations.
 *
 * tests/vectors/digests.py implements every algorithm from its description
 * in Python; this test rebuilds the same inputs in C and requires each row
 * of lib/'s table (lib/superfasthash.c, the source memtrace.ko compiles,
 * and libxxhash for xxh32/xxh64) to agree with it on every vector: zero
 * page, 0xFF page, counting patterns, random pages from a fixed seed, and
 * short inputs that reach every tail of the algorithms. An algorithm
 * without a Python reference fails the test.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "digest_vectors.h"
#include "superfasthash.h"

/* The row of mb_algos named @name, or -1. */
static int row_of(const char *name)
{
	size_t i;

	for (i = 0; i < mb_algo_count; i++)
		if (!strcmp(mb_algos[i].name, name))
			return (int)i;
	return -1;
}

static void digests_match_independent_implementation(void **state)
{
	FILE *p = popen("python3 tests/vectors/digests.py", "r");
	char line[512], name[64], *s, *end;
	int rows[16], nalgos = 0, vectors = 0, i, used;
	bool covered[16] = { false };
	unsigned long len;
	uint8_t buf[4096];
	size_t r;

	(void)state;
	assert_non_null(p);
	assert_true(mb_algo_count <= 16);
	/* "algorithms superfast xxh32 ...": the columns that follow. */
	if (!fgets(line, sizeof(line), p) || strncmp(line, "algorithms ", 11))
		fail_msg("digests.py: expected an 'algorithms' line first, got "
			 "'%s'", line);
	for (s = strtok(line + 11, " \n"); s; s = strtok(NULL, " \n")) {
		if (nalgos == 16)
			fail_msg("digests.py: more than 16 algorithms");
		rows[nalgos] = row_of(s);
		if (rows[nalgos] < 0)
			fail_msg("digests.py implements '%s', an algorithm lib/ "
				 "does not have", s);
		covered[rows[nalgos]] = true;
		nalgos++;
	}
	for (r = 0; r < mb_algo_count; r++)
		if (!covered[r])
			fail_msg("algorithm %s has no reference implementation in "
				 "tests/vectors/digests.py", mb_algos[r].name);

	while (fgets(line, sizeof(line), p)) {
		long n;

		if (sscanf(line, "%63s %lu %n", name, &len, &used) != 2)
			fail_msg("digests.py: malformed line '%s'", line);
		n = make_vector(name, buf);
		if (n != (long)len)
			fail_msg("vector %s: C builds %ld bytes, Python %lu",
				 name, n, len);
		s = line + used;
		for (i = 0; i < nalgos; i++) {
			const struct mb_algo_info *a = &mb_algos[rows[i]];
			unsigned long long want = strtoull(s, &end, 16);
			uint64_t got = a->digest(buf, (size_t)n);

			if (end == s)
				fail_msg("vector %s: no %s digest in '%s'",
					 name, a->name, line);
			s = end;
			if (got != want)
				fail_msg("vector %s: %s 0x%0*" PRIx64 ", expected "
					 "0x%0*llx", name, a->name,
					 (int)a->digest_size * 2, got,
					 (int)a->digest_size * 2, want);
			/* The id-based entry points reach the same function. */
			assert_true(mb_digest(a->id, buf, (size_t)n) == want);
			if (n == 4096)
				assert_true(mb_digest_page(a->id, buf) == want);
		}
		vectors++;
	}
	assert_int_equal(pclose(p), 0);
	/* 8 pages and 10 short inputs: a short read means a broken script. */
	assert_int_equal(vectors, 18);
}

static void superfast_edge_cases(void **state)
{
	(void)state;
	assert_int_equal(mb_superfasthash(NULL, 10), 0);
	assert_int_equal(mb_superfasthash("x", 0), 0);
}

static void algorithm_table_is_consistent(void **state)
{
	char names[256] = "";
	size_t i;

	(void)state;
	assert_true(mb_algo_count > 0);
	for (i = 0; i < mb_algo_count; i++) {
		const struct mb_algo_info *a = &mb_algos[i];

		if (mb_algo_find(a->id) != a)
			fail_msg("id %d of %s finds another row", a->id,
				 a->name);
		assert_int_equal(mb_algo_parse(a->name), a->id);
		assert_string_equal(mb_algo_name(a->id), a->name);
		assert_int_equal(mb_algo_digest_size(a->id),
				 (int)a->digest_size);
		if (a->digest_size != 4 && a->digest_size != 8)
			fail_msg("%s: digest size %u, the format holds 4 or 8",
				 a->name, a->digest_size);
		if (i)
			strcat(names, ", ");
		strcat(names, a->name);
	}
	assert_string_equal(mb_algo_names(), names);
}

/* The ids are on disk in every trace (docs/trace-format.md): fixed. */
static void algorithm_ids_and_sizes_are_the_formats(void **state)
{
	(void)state;
	assert_int_equal(mb_algo_parse("superfast"), 1);
	assert_int_equal(mb_algo_parse("xxh32"), 2);
	assert_int_equal(mb_algo_parse("xxh64"), 3);
	assert_int_equal(MB_ALGO_SUPERFAST, 1);
	assert_int_equal(MB_ALGO_XXH32, 2);
	assert_int_equal(MB_ALGO_XXH64, 3);
	assert_int_equal(mb_algo_digest_size(MB_ALGO_SUPERFAST), 4);
	assert_int_equal(mb_algo_digest_size(MB_ALGO_XXH32), 4);
	assert_int_equal(mb_algo_digest_size(MB_ALGO_XXH64), 8);
}

static void unknown_algorithms(void **state)
{
	(void)state;
	assert_int_equal(mb_algo_parse("md5"), -1);
	assert_int_equal(mb_algo_parse(""), -1);
	assert_int_equal(mb_algo_parse(NULL), -1);
	assert_null(mb_algo_find(0));
	assert_null(mb_algo_find(256));
	assert_string_equal(mb_algo_name(42), "unknown");
	assert_int_equal(mb_algo_digest_size(0), 0);
	assert_true(mb_digest(0, "abc", 3) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digests_match_independent_implementation),
		cmocka_unit_test(superfast_edge_cases),
		cmocka_unit_test(algorithm_table_is_consistent),
		cmocka_unit_test(algorithm_ids_and_sizes_are_the_formats),
		cmocka_unit_test(unknown_algorithms),
	};

	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
