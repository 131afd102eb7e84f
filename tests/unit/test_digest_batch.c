// SPDX-License-Identifier: GPL-2.0
/*
 * test_digest_batch.c - batches of digests: every implementation (the
 * scalar code and each multi-buffer SIMD variant this CPU runs) against
 * the independent Python implementation in tests/vectors/digests.py.
 *
 * For every algorithm and implementation, batches of every size from 1 to
 * more than twice the variant's lanes (so full batches, short ones and
 * both in one call) must give exactly the reference digests:
 *   - of every vector of digests.py, the vectors of one length mixed in a
 *     batch, each at several misalignments;
 *   - of random records of 33 lengths around the vector widths (0 to 8195
 *     bytes), and of random 4 KiB pages, which Python digests from a file
 *     the test writes.
 * The CPU features the library detects are checked against the kernel's
 * flags in /proc/cpuinfo. An implementation this CPU cannot run is
 * reported as skipped (by name), never silently.
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
#include <unistd.h>

#include "digest.h"
#include "digest_simd.h"
#include "digest_vectors.h"

#define MAX_ALGOS 16

/* A buffer and its reference digests, one per row of mb_algos[]. */
struct ref {
	uint8_t *data;
	size_t len;
	uint64_t want[MAX_ALGOS];
};

struct refs {
	struct ref *v;
	size_t n;
};

static void refs_free(struct refs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].data);
	free(r->v);
}

/* The row of mb_algos named @name, or -1. */
static int row_named(const char *name)
{
	size_t i;

	for (i = 0; i < mb_algo_count; i++)
		if (!strcmp(mb_algos[i].name, name))
			return (int)i;
	return -1;
}

/*
 * Run digests.py with @args and read its lines. With @records given (the
 * buffers written to the file), each line is one record's digests; without,
 * each line names a vector that make_vector() rebuilds.
 */
static void run_reference(const char *args, struct refs *records,
			  struct refs *out)
{
	char cmd[512], line[512], *s, *end;
	int rows[MAX_ALGOS], nalgos = 0, i, used;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "python3 tests/vectors/digests.py %s", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(line, sizeof(line), p) || strncmp(line, "algorithms ", 11))
		fail_msg("%s: expected an 'algorithms' line first, got '%s'",
			 cmd, line);
	for (s = strtok(line + 11, " \n"); s; s = strtok(NULL, " \n")) {
		if (nalgos == MAX_ALGOS)
			fail_msg("digests.py: more than %d algorithms", MAX_ALGOS);
		rows[nalgos] = row_named(s);
		if (rows[nalgos] < 0)
			fail_msg("digests.py implements '%s', which lib/ lacks", s);
		nalgos++;
	}
	if ((size_t)nalgos != mb_algo_count)
		fail_msg("digests.py: %d algorithms, lib/ has %zu", nalgos,
			 mb_algo_count);
	out->n = 0;
	out->v = NULL;
	while (fgets(line, sizeof(line), p)) {
		struct ref r = { 0 };
		char name[64];
		unsigned long len;

		if (records) {
			if (out->n >= records->n)
				fail_msg("%s: more lines than the %zu records",
					 cmd, records->n);
			r = records->v[out->n];
			if (sscanf(line, "%lu %n", &len, &used) != 1 ||
			    len != r.len)
				fail_msg("%s: record %zu: expected length %zu, "
					 "got '%s'", cmd, out->n, r.len, line);
		} else {
			if (sscanf(line, "%63s %lu %n", name, &len, &used) != 2)
				fail_msg("%s: malformed line '%s'", cmd, line);
			r.data = malloc(4096);
			assert_non_null(r.data);
			if (make_vector(name, r.data) != (long)len)
				fail_msg("vector %s: C and Python build different "
					 "lengths", name);
			r.len = len;
		}
		s = line + used;
		for (i = 0; i < nalgos; i++) {
			r.want[rows[i]] = strtoull(s, &end, 16);
			if (end == s)
				fail_msg("%s: no %s digest in '%s'", cmd,
					 mb_algos[rows[i]].name, line);
			s = end;
		}
		out->v = realloc(out->v, (out->n + 1) * sizeof(*out->v));
		assert_non_null(out->v);
		out->v[out->n++] = r;
	}
	assert_int_equal(pclose(p), 0);
	if (records && out->n != records->n)
		fail_msg("%s: %zu lines for %zu records", cmd, out->n,
			 records->n);
}

/* Implementations to test: every one this CPU runs; the rest named. */
static int usable_impls(int impls[MB_IMPL_COUNT])
{
	int impl, n = 0;

	for (impl = 0; impl < MB_IMPL_COUNT; impl++) {
		if (mb_impl_usable(impl))
			impls[n++] = impl;
		else
			print_message("[ SKIPPED  ] implementation %s: this CPU "
				      "cannot run it\n", mb_impl_name(impl));
	}
	return n;
}

/*
 * Batches of 1 .. 2 * lanes + 3 buffers taken in turn from @pool (all of
 * length @len), with each implementation, against the reference digests.
 * Returns the number of digests compared.
 */
static size_t check_batches(const struct ref *const pool[], size_t npool,
			    size_t len, const char *what)
{
	const void *bufs[2 * MB_SIMD_LANES_MAX + 3];
	uint64_t got[2 * MB_SIMD_LANES_MAX + 3];
	int impls[MB_IMPL_COUNT], nimpl = usable_impls(impls), k;
	size_t row, n, i, compared = 0, first = 0;

	for (row = 0; row < mb_algo_count; row++) {
		const struct mb_algo_info *a = &mb_algos[row];

		for (k = 0; k < nimpl; k++) {
			unsigned int lanes = mb_impl_lanes(a->id, impls[k]);
			size_t max = 2 * (lanes ? lanes : 1) + 3;

			for (n = 1; n <= max; n++, first++) {
				for (i = 0; i < n; i++)
					bufs[i] = pool[(first + i) % npool]->data;
				memset(got, 0xa5, sizeof(got));
				if (mb_digest_batch(a->id, impls[k], bufs, n, len,
						    got))
					fail_msg("%s %s: mb_digest_batch refused "
						 "a usable implementation",
						 a->name, mb_impl_name(impls[k]));
				for (i = 0; i < n; i++) {
					uint64_t want = pool[(first + i) %
							     npool]->want[row];

					if (got[i] != want)
						fail_msg("%s, %zu bytes, %s %s, "
							 "batch of %zu (%u lanes), "
							 "buffer %zu: 0x%" PRIx64
							 ", expected 0x%" PRIx64,
							 what, len, a->name,
							 mb_impl_name(impls[k]), n,
							 lanes, i, got[i], want);
					compared++;
				}
				/* Nothing past the batch is written. */
				if (n < sizeof(got) / sizeof(got[0]) &&
				    got[n] != 0xa5a5a5a5a5a5a5a5ULL)
					fail_msg("%s %s: a batch of %zu wrote "
						 "digest %zu", a->name,
						 mb_impl_name(impls[k]), n, n);
			}
		}
	}
	return compared;
}

static void batches_match_reference_on_every_vector(void **state)
{
	struct refs vec;
	size_t v, w, c, g, compared = 0;

	(void)state;
	run_reference("", NULL, &vec);
	assert_int_equal(vec.n, 18);
	for (v = 0; v < vec.n; v++) {
		/*
		 * The vectors of v's length (the eight pages together), each
		 * at 8 misalignments, interleaved so that neighbouring lanes
		 * of a batch hold different vectors wherever there are
		 * several.
		 */
		struct ref copies[8 * 18];
		const struct ref *pool[8 * 18];
		uint8_t *block;
		size_t group[18];

		for (w = 0, g = 0; w < vec.n; w++)
			if (vec.v[w].len == vec.v[v].len)
				group[g++] = w;
		if (group[0] != v)
			continue;	/* that length is done */
		block = malloc(8 * g * (4096 + 64));
		assert_non_null(block);
		for (c = 0; c < 8 * g; c++) {
			copies[c] = vec.v[group[c % g]];
			copies[c].data = block + c * (4096 + 64) + c % 8 * 9;
			memcpy(copies[c].data, vec.v[group[c % g]].data,
			       copies[c].len);
			pool[c] = &copies[c];
		}
		compared += check_batches(pool, 8 * g, vec.v[v].len, "vector");
		free(block);
	}
	print_message("%zu digests of %zu vectors compared\n", compared, vec.n);
	refs_free(&vec);
}

/* Record lengths: around every vector width and block size, and pages. */
static const size_t lengths[] = {
	0, 1, 2, 3, 4, 5, 15, 16, 17, 31, 32, 33, 36, 63, 64, 65, 68, 95,
	96, 127, 128, 129, 255, 256, 1000, 2047, 4000, 4095, 4096, 4097,
	4100, 8192, 8195,
};

#define PER_LENGTH	35	/* > 2 * 16 + 3, so no batch repeats a buffer */
#define PAGES		256

static void batches_match_reference_on_random_records(void **state)
{
	char path[] = "/tmp/mb-digest-batch-XXXXXX", args[64];
	struct refs recs = { 0 }, got;
	size_t nlen = sizeof(lengths) / sizeof(lengths[0]), l, i, j, compared = 0;
	uint64_t seed = 0x5eed;
	FILE *f;
	int fd;

	(void)state;
	recs.n = nlen * PER_LENGTH + PAGES;
	recs.v = calloc(recs.n, sizeof(*recs.v));
	assert_non_null(recs.v);
	for (i = 0; i < recs.n; i++) {
		struct ref *r = &recs.v[i];

		r->len = i < nlen * PER_LENGTH ? lengths[i / PER_LENGTH] : 4096;
		r->data = malloc(r->len + 8);
		assert_non_null(r->data);
		for (j = 0; j < r->len; j += 8) {
			uint64_t x = splitmix64(&seed);

			memcpy(r->data + j, &x, 8);
		}
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	for (i = 0; i < recs.n; i++) {
		uint32_t len = (uint32_t)recs.v[i].len;

		assert_int_equal(fwrite(&len, 4, 1, f), 1);
		assert_int_equal(fwrite(recs.v[i].data, 1, len, f), len);
	}
	assert_int_equal(fclose(f), 0);
	snprintf(args, sizeof(args), "--records %s", path);
	run_reference(args, &recs, &got);
	unlink(path);

	for (l = 0; l < nlen; l++) {
		const struct ref *pool[PER_LENGTH];

		for (i = 0; i < PER_LENGTH; i++)
			pool[i] = &got.v[l * PER_LENGTH + i];
		compared += check_batches(pool, PER_LENGTH, lengths[l],
					  "random record");
	}
	{
		const struct ref *pool[PAGES];

		for (i = 0; i < PAGES; i++)
			pool[i] = &got.v[nlen * PER_LENGTH + i];
		compared += check_batches(pool, PAGES, 4096, "random page");
	}
	print_message("%zu digests of %zu random records compared\n", compared,
		      recs.n);
	free(got.v);		/* the records own the data */
	refs_free(&recs);
}

/* mb_digest_pages(): the best implementation, over many pages. */
static void digest_pages_equals_scalar(void **state)
{
	enum { N = 1000 };
	uint8_t *mem = malloc((size_t)N * 4096 + 1);
	const void *pages[N];
	uint64_t got[N], seed = 7;
	size_t row, i;

	(void)state;
	assert_non_null(mem);
	for (i = 0; i < (size_t)N * 4096 / 8; i++) {
		uint64_t x = splitmix64(&seed);

		memcpy(mem + 1 + 8 * i, &x, 8);
	}
	/* Odd addresses, repeats and a zero page among them. */
	memset(mem + 1 + 17 * 4096, 0, 4096);
	for (i = 0; i < N; i++)
		pages[i] = mem + 1 + (i % 7 == 3 ? 17 : i) * 4096;
	for (row = 0; row < mb_algo_count; row++) {
		const struct mb_algo_info *a = &mb_algos[row];

		mb_digest_pages(a->id, pages, N, got);
		for (i = 0; i < N; i++)
			if (got[i] != mb_digest_page(a->id, pages[i]))
				fail_msg("%s (%s): page %zu: 0x%" PRIx64
					 ", scalar 0x%" PRIx64, a->name,
					 mb_impl_name(mb_impl_best(a->id)), i,
					 got[i], mb_digest_page(a->id, pages[i]));
		print_message("%s: mb_digest_pages uses %s\n", a->name,
			      mb_impl_name(mb_impl_best(a->id)));
	}
	/* An unknown algorithm gives zeros, like mb_digest(). */
	memset(got, 0xff, sizeof(got));
	mb_digest_pages(0, pages, 3, got);
	assert_true(got[0] == 0 && got[1] == 0 && got[2] == 0);
	assert_true(got[3] == UINT64_MAX);
	mb_digest_pages(MB_ALGO_XXH64, pages, 0, got);
	assert_true(got[0] == 0);
	free(mem);
}

/* Does /proc/cpuinfo's first "flags" line list @flag? */
static bool cpuinfo_has(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192], *tok, *save;
	bool found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok_r(strchr(line, ':'), ": \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, flag))
				found = true;
		break;
	}
	fclose(f);
	return found;
}

static void cpu_features_agree_with_the_kernel(void **state)
{
	bool avx2 = cpuinfo_has("avx2");
	bool avx512 = cpuinfo_has("avx512f") && cpuinfo_has("avx512bw") &&
		      cpuinfo_has("avx512dq") && cpuinfo_has("avx512vl");

	(void)state;
	assert_true(mb_impl_usable(MB_IMPL_SCALAR));
#ifdef __x86_64__
	if (mb_impl_usable(MB_IMPL_AVX2) != avx2)
		fail_msg("avx2: /proc/cpuinfo says %d, the library %d", avx2,
			 mb_impl_usable(MB_IMPL_AVX2));
	if (mb_impl_usable(MB_IMPL_AVX512) != avx512)
		fail_msg("avx512: /proc/cpuinfo says %d, the library %d", avx512,
			 mb_impl_usable(MB_IMPL_AVX512));
#endif
	print_message("this CPU: avx2 %s, avx512 (f, bw, dq, vl) %s\n",
		      avx2 ? "yes" : "no", avx512 ? "yes" : "no");
}

static void implementation_table(void **state)
{
	size_t row;
	int impl;

	(void)state;
	for (impl = 0; impl < MB_IMPL_COUNT; impl++)
		assert_int_equal(mb_impl_parse(mb_impl_name(impl)), impl);
	assert_int_equal(mb_impl_parse("sse2"), -1);
	assert_int_equal(mb_impl_parse(NULL), -1);
	assert_string_equal(mb_impl_name(MB_IMPL_COUNT), "unknown");
	assert_string_equal(mb_impl_name(-1), "unknown");
	assert_false(mb_impl_usable(MB_IMPL_COUNT));
	assert_false(mb_impl_usable(-1));
	for (row = 0; row < mb_algo_count; row++) {
		int id = mb_algos[row].id, best = mb_impl_best(id);

		assert_int_equal(mb_impl_lanes(id, MB_IMPL_SCALAR), 1);
		for (impl = 1; impl < MB_IMPL_COUNT; impl++)
			assert_true(mb_impl_lanes(id, impl) <= MB_SIMD_LANES_MAX);
		assert_true(mb_impl_usable(best));
		assert_true(mb_impl_lanes(id, best) > 0);
		/* Nothing usable is wider than the best. */
		for (impl = best + 1; impl < MB_IMPL_COUNT; impl++)
			assert_false(mb_impl_usable(impl) &&
				     mb_impl_lanes(id, impl));
	}
#ifdef __x86_64__
	/* The lanes the issue asked for: 32-bit digests 8 / 16, xxh64 4 / 8. */
	assert_int_equal(mb_impl_lanes(MB_ALGO_SUPERFAST, MB_IMPL_AVX2), 8);
	assert_int_equal(mb_impl_lanes(MB_ALGO_XXH32, MB_IMPL_AVX2), 8);
	assert_int_equal(mb_impl_lanes(MB_ALGO_XXH64, MB_IMPL_AVX2), 4);
	assert_int_equal(mb_impl_lanes(MB_ALGO_SUPERFAST, MB_IMPL_AVX512), 16);
	assert_int_equal(mb_impl_lanes(MB_ALGO_XXH32, MB_IMPL_AVX512), 16);
	assert_int_equal(mb_impl_lanes(MB_ALGO_XXH64, MB_IMPL_AVX512), 8);
#endif
	assert_int_equal(mb_impl_lanes(0, MB_IMPL_SCALAR), 0);
	assert_int_equal(mb_impl_lanes(MB_ALGO_XXH32, MB_IMPL_COUNT), 0);
	assert_int_equal(mb_impl_best(0), MB_IMPL_SCALAR);
}

static void batch_refuses_what_it_cannot_run(void **state)
{
	const void *bufs[1] = { "abcd" };
	uint64_t out[1] = { 42 };
	int impl;

	(void)state;
	assert_int_equal(mb_digest_batch(0, MB_IMPL_SCALAR, bufs, 1, 4, out), -1);
	assert_int_equal(mb_digest_batch(MB_ALGO_XXH32, -1, bufs, 1, 4, out), -1);
	assert_int_equal(mb_digest_batch(MB_ALGO_XXH32, MB_IMPL_COUNT, bufs, 1,
					 4, out), -1);
	for (impl = 0; impl < MB_IMPL_COUNT; impl++)
		if (!mb_impl_usable(impl))
			assert_int_equal(mb_digest_batch(MB_ALGO_XXH32, impl,
							 bufs, 1, 4, out), -1);
	assert_true(out[0] == 42);
	/* An empty batch writes nothing. */
	assert_int_equal(mb_digest_batch(MB_ALGO_XXH64, mb_impl_best(MB_ALGO_XXH64),
					 bufs, 0, 4, out), 0);
	assert_true(out[0] == 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batches_match_reference_on_every_vector),
		cmocka_unit_test(batches_match_reference_on_random_records),
		cmocka_unit_test(digest_pages_equals_scalar),
		cmocka_unit_test(cpu_features_agree_with_the_kernel),
		cmocka_unit_test(implementation_table),
		cmocka_unit_test(batch_refuses_what_it_cannot_run),
	};

	return cmocka_run_group_tests_name("digest_batch", tests, NULL, NULL);
}
