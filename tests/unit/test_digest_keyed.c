// SPDX-License-Identifier: GPL-2.0
/*
 * test_digest_keyed.c - keyed digests (xxh64 under a tenant's secret
 * seed, docs/security.md) and the traces and sets that carry them.
 *
 *   - the scalar code (libxxhash), and every multi-buffer SIMD variant this
 *     CPU runs in batches of every size, against the independent Python
 *     xxh64 of tests/vectors/digests.py, for several seeds, on its vectors
 *     and on random records of 33 lengths (every tail of the algorithm);
 *   - seed 0 is plain xxh64; other seeds change every digest;
 *   - a keyed trace round-trips with its key id, and the writer and the
 *     reader refuse a KEYED flag without a key id, a key id without the
 *     flag, and keyed digests of another algorithm than xxh64;
 *   - sharing: keyed sets of one key share exactly what the plain sets of
 *     the same pages share; plain and keyed sets, or sets under two keys,
 *     are refused as incomparable (and share nothing).
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
#include "mbt.h"
#include "membuf.h"
#include "sharing.h"

/* The seeds: small, with high bits, all ones, and two random ones. */
static const uint64_t seeds[] = {
	1, 0x8000000000000000ULL, 0xffffffffffffffffULL,
	0x9b1f3c5d7e2a4b6cULL, 0x0123456789abcdefULL,
};
#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))

/* One input and its reference digest under one seed. */
struct ref {
	uint8_t *data;			/* owned by the caller's pool */
	size_t len;
	uint64_t seed, want;
};

struct refs {
	struct ref *v;
	size_t n;
};

/*
 * Run "digests.py --seeded SEEDS @extra" and read its lines into @out, in
 * order; @data gives each line's input (@ndata of them, each repeated for
 * the NSEEDS seeds), or NULL to rebuild the named vectors.
 */
static void run_reference(const char *extra, uint8_t *const *data,
			  const size_t *lens, size_t ndata, struct refs *out)
{
	char cmd[600], line[256], name[64], list[400] = "";
	unsigned long len;
	uint64_t seed, want;
	size_t i, off = 0;
	FILE *p;

	for (i = 0; i < NSEEDS; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%" PRIx64,
				i ? "," : "", seeds[i]);
	snprintf(cmd, sizeof(cmd), "python3 tests/vectors/digests.py --seeded "
		 "%s %s", list, extra);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(line, sizeof(line), p) || strcmp(line, "seeded xxh64\n"))
		fail_msg("%s: expected a 'seeded xxh64' line first, got '%s'",
			 cmd, line);
	out->n = 0;
	out->v = NULL;
	while (fgets(line, sizeof(line), p)) {
		struct ref r = { 0 };

		if (sscanf(line, "%63s %lu %" SCNx64 " %" SCNx64, name, &len,
			   &seed, &want) != 4)
			fail_msg("%s: malformed line '%s'", cmd, line);
		if (data) {
			i = out->n / NSEEDS;
			if (i >= ndata || lens[i] != len)
				fail_msg("%s: line %zu does not match record "
					 "%zu: '%s'", cmd, out->n, i, line);
			r.data = data[i];
		} else {
			r.data = malloc(4096);
			assert_non_null(r.data);
			if (make_vector(name, r.data) != (long)len)
				fail_msg("vector %s: C and Python build "
					 "different lengths", name);
		}
		if (seed != seeds[out->n % NSEEDS])
			fail_msg("%s: line %zu has seed %" PRIx64 ", expected "
				 "%" PRIx64, cmd, out->n, seed,
				 seeds[out->n % NSEEDS]);
		r.len = len;
		r.seed = seed;
		r.want = want;
		out->v = realloc(out->v, (out->n + 1) * sizeof(*out->v));
		assert_non_null(out->v);
		out->v[out->n++] = r;
	}
	assert_int_equal(pclose(p), 0);
	if (data && out->n != ndata * NSEEDS)
		fail_msg("%s: %zu lines for %zu records x %zu seeds", cmd,
			 out->n, ndata, NSEEDS);
}

/*
 * The scalar digest of @r, and batches of 1 .. 2 * lanes + 3 of the
 * @npool inputs (all of @len bytes, one seed) with every usable
 * implementation. Returns the digests compared.
 */
static size_t check_pool(const struct ref *const pool[], size_t npool,
			 size_t len, const char *what)
{
	const void *bufs[2 * MB_SIMD_LANES_MAX + 3];
	uint64_t got[2 * MB_SIMD_LANES_MAX + 3], seed = pool[0]->seed;
	size_t n, i, compared = 0, first = 0;
	int impl;

	for (i = 0; i < npool; i++) {
		uint64_t d = mb_digest_keyed(seed, pool[i]->data, len);

		if (d != pool[i]->want)
			fail_msg("%s, %zu bytes, seed %" PRIx64 ", scalar: "
				 "0x%" PRIx64 ", Python says 0x%" PRIx64, what,
				 len, seed, d, pool[i]->want);
		compared++;
	}
	for (impl = 0; impl < MB_IMPL_COUNT; impl++) {
		unsigned int lanes = mb_impl_lanes(MB_ALGO_XXH64, impl);
		size_t max = 2 * (lanes ? lanes : 1) + 3;

		if (!mb_impl_usable(impl)) {
			assert_int_equal(mb_digest_batch_keyed(impl, seed, bufs,
						1, len, got), -1);
			continue;
		}
		for (n = 1; n <= max; n++, first++) {
			for (i = 0; i < n; i++)
				bufs[i] = pool[(first + i) % npool]->data;
			memset(got, 0xa5, sizeof(got));
			assert_int_equal(mb_digest_batch_keyed(impl, seed, bufs,
						n, len, got), 0);
			for (i = 0; i < n; i++) {
				uint64_t want = pool[(first + i) % npool]->want;

				if (got[i] != want)
					fail_msg("%s, %zu bytes, seed %" PRIx64
						 ", %s batch of %zu, buffer "
						 "%zu: 0x%" PRIx64 ", expected "
						 "0x%" PRIx64, what, len, seed,
						 mb_impl_name(impl), n, i,
						 got[i], want);
				compared++;
			}
			if (got[n] != 0xa5a5a5a5a5a5a5a5ULL)
				fail_msg("%s: a batch of %zu wrote digest %zu",
					 mb_impl_name(impl), n, n);
		}
	}
	return compared;
}

static void keyed_digests_match_reference_on_vectors(void **state)
{
	struct refs r;
	const struct ref *pool[64];
	size_t s, v, w, k, nvec, compared = 0;

	(void)state;
	run_reference("", NULL, NULL, 0, &r);
	assert_int_equal(r.n, 18 * NSEEDS);
	nvec = r.n / NSEEDS;
	/* Pools of the vectors of one length, under one seed. */
	for (s = 0; s < NSEEDS; s++)
		for (v = 0; v < nvec; v++) {
			const struct ref *x = &r.v[v * NSEEDS + s];

			for (w = 0; w < v; w++)
				if (r.v[w * NSEEDS + s].len == x->len)
					break;
			if (w < v)
				continue;	/* that length is done */
			for (w = v, k = 0; w < nvec; w++)
				if (r.v[w * NSEEDS + s].len == x->len)
					pool[k++] = &r.v[w * NSEEDS + s];
			compared += check_pool(pool, k, x->len, "vector");
		}
	print_message("%zu keyed digests of %zu vectors x %zu seeds compared\n",
		      compared, nvec, NSEEDS);
	for (v = 0; v < r.n; v++)
		free(r.v[v].data);
	free(r.v);
}

/* Around every block size of xxh64 and its SIMD steps, and pages. */
static const size_t lengths[] = {
	0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 36, 63, 64, 65,
	68, 95, 96, 127, 128, 129, 255, 256, 1000, 4095, 4096, 4097, 8192,
	8195,
};
#define NLENGTHS (sizeof(lengths) / sizeof(lengths[0]))
#define PER_LENGTH 20		/* > 2 * 8 + 3: no batch repeats a buffer */

static void keyed_digests_match_reference_on_random_records(void **state)
{
	char path[] = "/tmp/mb-digest-keyed-XXXXXX", args[64];
	size_t nrec = NLENGTHS * PER_LENGTH, i, j, s, l, compared = 0;
	uint8_t **data = calloc(nrec, sizeof(*data));
	size_t *lens = calloc(nrec, sizeof(*lens));
	uint64_t prng = 0x6b6579;
	struct refs r;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(data);
	assert_non_null(lens);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	for (i = 0; i < nrec; i++) {
		uint32_t len = (uint32_t)lengths[i / PER_LENGTH];

		lens[i] = len;
		/* Odd addresses: the code must not need alignment. */
		data[i] = malloc(len + 9);
		assert_non_null(data[i]);
		for (j = 0; j < len + 8; j += 8) {
			uint64_t x = splitmix64(&prng);

			memcpy(data[i] + j, &x, len + 8 - j < 8 ? len + 8 - j :
			       8);
		}
		data[i] += 1;
		assert_int_equal(fwrite(&len, 4, 1, f), 1);
		assert_int_equal(fwrite(data[i], 1, len, f), len);
	}
	assert_int_equal(fclose(f), 0);
	snprintf(args, sizeof(args), "--records %s", path);
	run_reference(args, data, lens, nrec, &r);
	unlink(path);
	for (l = 0; l < NLENGTHS; l++)
		for (s = 0; s < NSEEDS; s++) {
			const struct ref *pool[PER_LENGTH];

			for (i = 0; i < PER_LENGTH; i++)
				pool[i] = &r.v[(l * PER_LENGTH + i) * NSEEDS +
					       s];
			compared += check_pool(pool, PER_LENGTH, lengths[l],
					       "random record");
		}
	print_message("%zu keyed digests of %zu records x %zu seeds "
		      "compared\n", compared, nrec, NSEEDS);
	for (i = 0; i < nrec; i++)
		free(data[i] - 1);
	free(data);
	free(lens);
	free(r.v);
}

/* Seed 0 is plain xxh64; any other seed changes every vector's digest. */
static void seed_zero_is_plain_xxh64_and_others_differ(void **state)
{
	static const char *const names[] = { "zero", "ones", "count8",
					     "random0", "short1", "short33" };
	uint8_t buf[4096];
	size_t v, s;

	(void)state;
	for (v = 0; v < sizeof(names) / sizeof(names[0]); v++) {
		long len = make_vector(names[v], buf);
		uint64_t plain = mb_digest(MB_ALGO_XXH64, buf, (size_t)len);

		assert_true(len >= 0);
		if (mb_digest_keyed(0, buf, (size_t)len) != plain)
			fail_msg("vector %s: seed 0 gives 0x%" PRIx64 ", plain "
				 "xxh64 0x%" PRIx64, names[v],
				 mb_digest_keyed(0, buf, (size_t)len), plain);
		for (s = 0; s < NSEEDS; s++)
			if (mb_digest_keyed(seeds[s], buf, (size_t)len) ==
			    plain)
				fail_msg("vector %s: seed %" PRIx64 " gives "
					 "the plain digest", names[v],
					 seeds[s]);
	}
}

/* mb_digest_pages_keyed(): the best implementation, over many pages. */
static void keyed_pages_equal_scalar(void **state)
{
	enum { N = 600 };
	uint8_t *mem = malloc((size_t)N * 4096 + 3);
	const void *pages[N];
	uint64_t got[N], prng = 11;
	size_t i, j;

	(void)state;
	assert_non_null(mem);
	for (i = 0; i < (size_t)N * 4096; i += 8) {
		uint64_t x = splitmix64(&prng);

		memcpy(mem + 3 + i, &x, 8);
	}
	for (i = 0; i < N; i++)		/* some pages twice, misaligned */
		pages[i] = mem + 3 + (i % 7 == 6 ? i - 1 : i) * 4096;
	for (j = 0; j < NSEEDS; j++) {
		mb_digest_pages_keyed(seeds[j], pages, N, got);
		for (i = 0; i < N; i++)
			if (got[i] != mb_digest_keyed(seeds[j], pages[i], 4096))
				fail_msg("page %zu, seed %" PRIx64 ": %s gives "
					 "0x%" PRIx64 ", scalar 0x%" PRIx64, i,
					 seeds[j], mb_impl_name(mb_impl_best(
					 MB_ALGO_XXH64)), got[i],
					 mb_digest_keyed(seeds[j], pages[i],
							 4096));
	}
	free(mem);
}

/* ---- traces ---- */

/* A trace of @n pages, digests @digests, free none. */
static void make_trace(struct mbt_trace *t, int algo, uint16_t flags,
		       uint32_t key_id, const uint64_t *digests, size_t n)
{
	memset(t, 0, sizeof(*t));
	mbt_info_init(&t->info, algo);
	t->info.flags = flags;
	t->info.key_id = key_id;
	t->info.page_count = n;
	strcpy(t->info.vm_name, "keyed-vm");
	t->digests = calloc(n, sizeof(*t->digests));
	t->free_bits = calloc((n + 7) / 8, 1);
	t->chunks = calloc(1, sizeof(*t->chunks));
	assert_non_null(t->digests);
	assert_non_null(t->free_bits);
	assert_non_null(t->chunks);
	memcpy(t->digests, digests, n * sizeof(*digests));
	t->chunks[0] = (struct mbt_chunk){ .start_pfn = 0, .first = 0,
					   .count = (uint32_t)n };
	t->nchunks = 1;
}

static void keyed_trace_round_trips_with_its_key_id(void **state)
{
	uint64_t d[5] = { 1, 2, 3, 0xfeedfacecafebeefULL, 5 };
	struct mbt_trace t, back;
	struct membuf m = { 0 };
	struct mb_err err;

	(void)state;
	make_trace(&t, MB_ALGO_XXH64, MBT_FLAG_KEYED, 0x1a2b3c4d, d, 5);
	if (mbt_write(&t, mem_sink, &m, &err))
		fail_msg("writing a keyed trace: %s", err.msg);
	assert_int_equal(m.data[MBT_OFF_KEY_ID], 0x4d);
	assert_int_equal(m.data[MBT_OFF_KEY_ID + 3], 0x1a);
	if (mbt_read_mem(m.data, m.len, &back, &err))
		fail_msg("reading a keyed trace: %s", err.msg);
	assert_int_equal(back.info.key_id, 0x1a2b3c4d);
	assert_int_equal(back.info.flags, MBT_FLAG_KEYED);
	assert_memory_equal(back.digests, d, sizeof(d));
	mbt_trace_free(&back);
	mbt_trace_free(&t);
	free(m.data);
}

/* The writer refuses what the format does not allow. */
static void writer_refuses_inconsistent_keyed_headers(void **state)
{
	static const struct {
		int algo;
		uint16_t flags;
		uint32_t key_id;
		const char *want;
	} bad[] = {
		{ MB_ALGO_XXH64, MBT_FLAG_KEYED, 0, "KEYED flag without a key id" },
		{ MB_ALGO_XXH64, 0, 7, "key id without the KEYED flag" },
		{ MB_ALGO_SUPERFAST, MBT_FLAG_KEYED, 7, "other than xxh64" },
		{ MB_ALGO_XXH32, MBT_FLAG_KEYED, 7, "other than xxh64" },
	};
	uint64_t d[2] = { 1, 2 };
	struct membuf m = { 0 };
	struct mbt_trace t;
	struct mb_err err = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_trace(&t, bad[i].algo, bad[i].flags, bad[i].key_id, d, 2);
		m.len = 0;
		if (!mbt_write(&t, mem_sink, &m, &err))
			fail_msg("case %zu: written; expected \"%s\"", i,
				 bad[i].want);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("case %zu: expected \"%s\", got \"%s\"", i,
				 bad[i].want, err.msg);
		mbt_trace_free(&t);
	}
	free(m.data);
}

/* The reader refuses the same, at the byte that is wrong. */
static void reader_refuses_inconsistent_keyed_headers(void **state)
{
	uint64_t d[2] = { 1, 2 };
	struct membuf good = { 0 }, m;
	struct mbt_trace t;
	struct mb_err err = { "" };
	uint32_t id = 0;
	int i;

	(void)state;
	make_trace(&t, MB_ALGO_XXH64, MBT_FLAG_KEYED, 99, d, 2);
	assert_int_equal(mbt_write(&t, mem_sink, &good, &err), 0);
	mbt_trace_free(&t);
	for (i = 0; i < 3; i++) {
		const char *want;

		m.data = malloc(good.len);
		assert_non_null(m.data);
		memcpy(m.data, good.data, good.len);
		m.len = good.len;
		if (i == 0) {
			memcpy(m.data + MBT_OFF_KEY_ID, &id, 4);
			want = "byte 14: the KEYED flag without a key id";
		} else if (i == 1) {
			m.data[MBT_OFF_FLAGS] = 0;
			want = "byte 184: a key id without the KEYED flag";
		} else {
			m.data[MBT_OFF_ALGORITHM] = MB_ALGO_XXH32;
			m.data[MBT_OFF_DIGEST_SIZE] = 4;
			want = "byte 184: the KEYED flag on digests other";
		}
		if (!mbt_read_mem(m.data, m.len, &t, &err))
			fail_msg("case %d: accepted; expected \"%s\"", i, want);
		if (!strstr(err.msg, want))
			fail_msg("case %d: expected \"%s\", got \"%s\"", i, want,
				 err.msg);
		free(m.data);
	}
	free(good.data);
}

/* ---- sharing ---- */

#define VM_PAGES 3000
#define SHARED 1200		/* pages the two VMs have in common */

/*
 * Pages of two VMs: the first SHARED of each are the same content, the
 * rest their own; a few pages repeat inside a VM (zero pages).
 */
static uint8_t *vm_pages(int vm)
{
	uint8_t *mem = malloc((size_t)VM_PAGES * 4096);
	uint64_t prng;
	size_t i, j;

	assert_non_null(mem);
	for (i = 0; i < VM_PAGES; i++) {
		prng = i < SHARED ? i + 1 : (uint64_t)vm << 32 | i;
		if (i % 50 == 49) {
			memset(mem + i * 4096, 0, 4096);
			continue;
		}
		for (j = 0; j < 4096; j += 8) {
			uint64_t x = splitmix64(&prng);

			memcpy(mem + i * 4096 + j, &x, 8);
		}
	}
	return mem;
}

/* The set of @mem's pages: plain xxh64 (@seed 0) or keyed with @key_id. */
static void set_of(struct mb_digest_set *s, const uint8_t *mem,
		   uint64_t seed, uint32_t key_id, const char *name)
{
	const void *pages[VM_PAGES];
	uint64_t *d = malloc(VM_PAGES * sizeof(*d));
	struct mbt_trace t;
	struct mb_err err;
	size_t i;

	assert_non_null(d);
	for (i = 0; i < VM_PAGES; i++)
		pages[i] = mem + i * 4096;
	if (key_id)
		mb_digest_pages_keyed(seed, pages, VM_PAGES, d);
	else
		mb_digest_pages(MB_ALGO_XXH64, pages, VM_PAGES, d);
	make_trace(&t, MB_ALGO_XXH64, key_id ? MBT_FLAG_KEYED : 0, key_id,
		   d, VM_PAGES);
	if (mb_set_from_trace(s, &t, false, name, &err))
		fail_msg("set of %s: %s", name, err.msg);
	assert_int_equal(s->key_id, key_id);
	mbt_trace_free(&t);
	free(d);
}

static void keyed_sharing_equals_plain_sharing(void **state)
{
	uint8_t *a = vm_pages(1), *b = vm_pages(2);
	struct mb_digest_set plain[2], keyed[2], other, mixed[2];
	struct mb_sharing_matrix pm = { 0 }, km = { 0 };
	struct mb_err err = { "" };

	(void)state;
	set_of(&plain[0], a, 0, 0, "a");
	set_of(&plain[1], b, 0, 0, "b");
	set_of(&keyed[0], a, seeds[3], 0x6b657931, "a-keyed");
	set_of(&keyed[1], b, seeds[3], 0x6b657931, "b-keyed");
	set_of(&other, b, seeds[4], 0x6b657932, "b-other-key");
	assert_int_equal(mb_sharing_exact(plain, 2, NULL, &pm, &err), 0);
	assert_int_equal(mb_sharing_exact(keyed, 2, NULL, &km, &err), 0);
	/* SHARED pages of one content, and the zero page among them. */
	assert_int_equal(pm.common[1], SHARED - SHARED / 50 + 1);
	assert_int_equal(km.common[1], pm.common[1]);
	assert_int_equal(km.common[0], pm.common[0]);
	assert_int_equal(km.common[3], pm.common[3]);
	assert_int_equal(km.group_distinct, pm.group_distinct);
	assert_int_equal(km.group_pages, pm.group_pages);
	/* The same pages keyed and plain, or under two keys: nothing in common. */
	assert_int_equal(mb_set_common(&keyed[0], &plain[0]), 0);
	assert_int_equal(mb_set_common(&keyed[1], &other), 0);
	/* ... and refused, so no estimate silently counts zero. */
	assert_int_equal(mb_set_comparable(&keyed[0], &plain[1], &err), -1);
	assert_non_null(strstr(err.msg, "keyed and plain digests cannot be "
			       "compared"));
	assert_int_equal(mb_set_comparable(&keyed[0], &other, &err), -1);
	assert_non_null(strstr(err.msg, "keyed with key 6b657931 but "
			       "b-other-key with key 6b657932"));
	mixed[0] = keyed[0];
	mixed[1] = plain[1];
	mb_sharing_matrix_free(&pm);
	memset(&pm, 0, sizeof(pm));
	assert_int_equal(mb_sharing_exact(mixed, 2, NULL, &pm, &err), -1);
	mb_sharing_matrix_free(&km);
	mb_set_free(&plain[0]);
	mb_set_free(&plain[1]);
	mb_set_free(&keyed[0]);
	mb_set_free(&keyed[1]);
	mb_set_free(&other);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keyed_digests_match_reference_on_vectors),
		cmocka_unit_test(keyed_digests_match_reference_on_random_records),
		cmocka_unit_test(seed_zero_is_plain_xxh64_and_others_differ),
		cmocka_unit_test(keyed_pages_equal_scalar),
		cmocka_unit_test(keyed_trace_round_trips_with_its_key_id),
		cmocka_unit_test(writer_refuses_inconsistent_keyed_headers),
		cmocka_unit_test(reader_refuses_inconsistent_keyed_headers),
		cmocka_unit_test(keyed_sharing_equals_plain_sharing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
