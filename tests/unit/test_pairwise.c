// SPDX-License-Identifier: GPL-2.0
/*
 * test_pairwise.c - mb_pairwise_and_count(), the all-pairs popcount(a & b)
 * behind the Bloom estimator, against one popcount per word pair: row
 * counts around the 4 x 4 register block and the 128-row super-block
 * (1 to 4, 5, 7, 9, 17, 129, 131 rows), word counts around the 8-word
 * vector and the 1024-word chunk (1, 7, 8, 9, 1031, 2050), one and two
 * threads, and nothing written below the diagonal.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pairwise.h"
#include "sharing.h"

static uint64_t rng = 0xD1B54A32D192ED03ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void counts_equal_plain_popcounts(void **state)
{
	static const size_t rows[] = { 1, 2, 3, 4, 5, 7, 9, 17, 129, 131 };
	static const size_t words[] = { 1, 7, 8, 9, 1031, 2050 };
	size_t ri, wi, a, b, i, checked = 0;
	unsigned int threads;

	(void)state;
	for (ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
		for (wi = 0; wi < sizeof(words) / sizeof(words[0]); wi++) {
			size_t n = rows[ri], w = words[wi];
			uint64_t *m, *out;

			if (n > 20 && w > 9)
				continue;	/* keep it quick */
			m = malloc(n * w * sizeof(*m));
			out = malloc(n * n * sizeof(*out));
			assert_non_null(m);
			assert_non_null(out);
			for (i = 0; i < n * w; i++)	/* dense and sparse */
				m[i] = next() & (i % 3 ? next() : ~0ULL);
			for (threads = 1; threads <= 2; threads++) {
				struct mb_sharing_opts o = { .threads = threads };
				struct mb_err err;

				memset(out, 0, n * n * sizeof(*out));
				assert_int_equal(mb_pairwise_and_count(m, n, w,
						 out, &o, 0, 1, &err), 0);
				for (a = 0; a < n; a++)
					for (b = 0; b < n; b++) {
						uint64_t want = 0;

						if (a < b)
							for (i = 0; i < w; i++)
								want += __builtin_popcountll(
									m[a * w + i] &
									m[b * w + i]);
						if (out[a * n + b] != want)
							fail_msg("%zu rows x %zu words, "
								 "%u threads: pair (%zu, "
								 "%zu) counts %llu, "
								 "expected %llu", n, w,
								 threads, a, b,
								 (unsigned long long)
								 out[a * n + b],
								 (unsigned long long)want);
						checked++;
					}
			}
			free(m);
			free(out);
		}
	}
	print_message("%zu counts checked\n", checked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_equal_plain_popcounts),
	};

	return cmocka_run_group_tests_name("pairwise", tests, NULL, NULL);
}
