// SPDX-License-Identifier: GPL-2.0
/*
 * test_digest.c - the page digests against independent implementations.
 *
 * tests/vectors/digests.py implements SuperFastHash, XXH32 and XXH64 from
 * their descriptions in Python; this test rebuilds the same inputs in C and
 * requires lib/superfasthash.c (the source memtrace.ko compiles) and
 * libxxhash (what user space uses for xxh32/xxh64) to agree with it on
 * every vector: zero page, 0xFF page, counting patterns, random pages from
 * a fixed seed, and short inputs that reach every tail of the algorithms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "digest.h"
#include "superfasthash.h"

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Build vector @name into @buf (4096 bytes); returns its length or -1. */
static long make_vector(const char *name, uint8_t *buf)
{
	long i, n;

	if (!strcmp(name, "zero")) {
		memset(buf, 0, 4096);
		return 4096;
	}
	if (!strcmp(name, "ones")) {
		memset(buf, 0xff, 4096);
		return 4096;
	}
	if (!strcmp(name, "count8")) {
		for (i = 0; i < 4096; i++)
			buf[i] = (uint8_t)i;
		return 4096;
	}
	if (!strcmp(name, "count32")) {
		for (i = 0; i < 1024; i++) {
			uint32_t v = (uint32_t)i;

			memcpy(buf + 4 * i, &v, 4);	/* x86-64: little-endian */
		}
		return 4096;
	}
	if (sscanf(name, "random%ld", &n) == 1) {
		uint64_t state = (uint64_t)n + 1;

		for (i = 0; i < 512; i++) {
			uint64_t v = splitmix64(&state);

			memcpy(buf + 8 * i, &v, 8);
		}
		return 4096;
	}
	if (sscanf(name, "short%ld", &n) == 1 && n > 0 && n <= 4096) {
		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)(0x80 + 37 * i);
		return n;
	}
	return -1;
}

static void digests_match_independent_implementation(void **state)
{
	FILE *p = popen("python3 tests/vectors/digests.py", "r");
	char name[64];
	unsigned long len;
	unsigned int want_sfh, want_x32;
	unsigned long long want_x64;
	uint8_t buf[4096];
	int vectors = 0;

	(void)state;
	assert_non_null(p);
	while (fscanf(p, "%63s %lu %x %x %llx", name, &len, &want_sfh,
		      &want_x32, &want_x64) == 5) {
		long n = make_vector(name, buf);

		if (n != (long)len)
			fail_msg("vector %s: C builds %ld bytes, Python %lu",
				 name, n, len);
		if (mb_superfasthash(buf, (size_t)n) != want_sfh)
			fail_msg("vector %s: superfast 0x%08x, expected 0x%08x",
				 name, mb_superfasthash(buf, (size_t)n),
				 want_sfh);
		if (XXH32(buf, (size_t)n, 0) != want_x32)
			fail_msg("vector %s: libxxhash XXH32 0x%08x, expected "
				 "0x%08x", name, XXH32(buf, (size_t)n, 0),
				 want_x32);
		if (XXH64(buf, (size_t)n, 0) != want_x64)
			fail_msg("vector %s: libxxhash XXH64 0x%016llx, "
				 "expected 0x%016llx", name,
				 (unsigned long long)XXH64(buf, (size_t)n, 0),
				 want_x64);
		if (n == 4096) {
			assert_int_equal(mb_digest_page(MB_ALGO_SUPERFAST, buf),
					 want_sfh);
			assert_int_equal(mb_digest_page(MB_ALGO_XXH32, buf),
					 want_x32);
			assert_true(mb_digest_page(MB_ALGO_XXH64, buf) ==
				    want_x64);
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

static void algorithm_names_round_trip(void **state)
{
	int a;

	(void)state;
	for (a = MB_ALGO_SUPERFAST; a <= MB_ALGO_XXH64; a++)
		assert_int_equal(mb_algo_parse(mb_algo_name(a)), a);
	assert_int_equal(mb_algo_parse("md5"), -1);
	assert_int_equal(mb_algo_parse(NULL), -1);
	assert_string_equal(mb_algo_name(42), "unknown");
	assert_int_equal(mb_algo_digest_size(MB_ALGO_SUPERFAST), 4);
	assert_int_equal(mb_algo_digest_size(MB_ALGO_XXH32), 4);
	assert_int_equal(mb_algo_digest_size(MB_ALGO_XXH64), 8);
	assert_int_equal(mb_algo_digest_size(0), 0);
	assert_true(mb_digest(0, "abc", 3) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digests_match_independent_implementation),
		cmocka_unit_test(superfast_edge_cases),
		cmocka_unit_test(algorithm_names_round_trip),
	};

	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
