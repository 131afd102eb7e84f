// SPDX-License-Identifier: GPL-2.0
/*
 * test_profile.c - the sharing profile (heuristics/profile.h) against the
 * sorted digest sets of sharing.h.
 *
 * The same traces go both ways: into sets (mb_set_from_trace, sorted) and
 * into split digests and a profile. Everything the profile answers must be
 * the integer the sets give: each VM's pages and distinct pages, the whole
 * matrix of mb_sharing_exact() (every field), distinct(G) of
 * mb_group_distinct() and |D(v) ∩ U(G)| of a union and a merge, for
 * random groups. The traces have free pages, runs of one digest, repeats
 * far apart, digests in one VM, in a few, in many and in all; 32- and
 * 64-bit digests; one bucket and many, VMs split with different bits;
 * one thread and two; groups of 1 to 64 VMs, and 64 VMs of nearly one
 * mask per digest, which takes the bit-matrix columns.
 *
 * Then placement: scenarios of the real traces of memtraces/ placed by
 * every algorithm from the sets (mb_scenario_load, mb_place) and from the
 * profile (mb_scenario_load_profiled, mb_place_with) must give the same
 * placement and the same memory per host, bit for bit.
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

#include "placement.h"
#include "profile.h"
#include "scenario.h"
#include "sharing.h"
#include "synth.h"

/*
 * Trace @v of a group: the base with a private fraction depending on v,
 * every seventh page free, a run of equal pages, and a page of a small
 * pool shared by a few VMs; @random_masks: every page in a random subset
 * of the VMs instead (nearly one mask per digest).
 */
static void make_trace(struct mbt_trace *t, const uint64_t *base,
		       uint64_t pages, size_t v, size_t n, int algo,
		       bool random_masks, uint64_t seed)
{
	uint64_t i, state = seed * 31 + v;

	memset(t, 0, sizeof(*t));
	mbt_info_init(&t->info, algo);
	snprintf(t->info.vm_name, sizeof(t->info.vm_name), "vm%zu", v);
	t->info.page_count = pages;
	t->digests = calloc(pages + 1, sizeof(uint64_t));
	t->free_bits = calloc(pages / 8 + 1, 1);
	assert_non_null(t->digests);
	assert_non_null(t->free_bits);
	if (random_masks) {
		for (i = 0; i < pages; i++) {
			uint64_t h = base[i] * 0x9E3779B97F4A7C15ULL;

			/* page i of each VM that draws it holds digest i */
			t->digests[i] = (h >> (v % 64)) & 1 ? base[i] :
				mb_synth_next(&state);
		}
	} else {
		double f = 0.05 + 0.9 * (double)v / (double)(n > 1 ? n - 1 : 1);

		mb_synth_vm(t->digests, base, pages, f, seed, v);
		for (i = 0; i < pages; i += 7) {
			t->free_bits[i / 8] |= (uint8_t)(1u << (i % 8));
			t->digests[i] = 0;
		}
		for (i = 10; i < 40 && i < pages; i++)
			t->digests[i] = base[3];	/* a run */
		if (pages > 100)
			t->digests[100] = 0xabcdef00ULL + v % 5;
		if (pages > 200)
			t->digests[pages - 1] = t->digests[200];
	}
	if (algo != MB_ALGO_XXH64)
		for (i = 0; i < pages; i++)
			t->digests[i] &= 0xffffffffULL;
}

struct group {
	size_t n;
	struct mb_digest_set *sets;	/* sorted, from sharing.h */
	struct mb_digest_set *meta;	/* descriptions from profile.h */
	struct mb_digest_parts *parts;
	struct mb_profile profile;
};

static void group_make(struct group *g, size_t n, uint64_t pages, int algo,
		       bool include_free, bool random_masks,
		       unsigned int bits, unsigned int threads)
{
	uint64_t *base = malloc(pages * sizeof(uint64_t));
	struct mb_err err;
	size_t v;

	assert_non_null(base);
	mb_synth_base(base, pages, 0.1, 11 + n);
	g->n = n;
	g->sets = calloc(n, sizeof(*g->sets));
	g->meta = calloc(n, sizeof(*g->meta));
	g->parts = calloc(n, sizeof(*g->parts));
	assert_non_null(g->sets);
	assert_non_null(g->meta);
	assert_non_null(g->parts);
	for (v = 0; v < n; v++) {
		struct mbt_trace t;
		/* VMs split with different bits: the grouping coarsens. */
		unsigned int b = bits + (v % 2 && bits < MB_PARTS_MAX_BITS);

		make_trace(&t, base, pages, v, n, algo, random_masks, 5 + n);
		assert_int_equal(mb_set_from_trace(&g->sets[v], &t,
						   include_free, NULL, &err), 0);
		if (mb_parts_from_trace(&g->parts[v], &g->meta[v], &t,
					include_free, NULL, b, &err))
			fail_msg("splitting vm%zu: %s", v, err.msg);
		mbt_trace_free(&t);
		assert_string_equal(g->meta[v].name, g->sets[v].name);
		assert_int_equal(g->meta[v].pages, g->sets[v].pages);
		assert_int_equal(g->meta[v].algorithm, g->sets[v].algorithm);
		assert_int_equal(g->meta[v].width, g->sets[v].width);
		assert_null(g->meta[v].d32);
		assert_null(g->meta[v].d64);
	}
	free(base);
	if (mb_profile_build(&g->profile, g->parts, n, threads, &err))
		fail_msg("profile of %zu VMs: %s", n, err.msg);
	mb_profile_set_distinct(&g->profile, g->meta);
	for (v = 0; v < n; v++)
		if (g->meta[v].distinct != g->sets[v].distinct)
			fail_msg("vm%zu: the profile gives %llu distinct pages, "
				 "the sorted set %llu", v,
				 (unsigned long long)g->meta[v].distinct,
				 (unsigned long long)g->sets[v].distinct);
}

static void group_free(struct group *g)
{
	size_t v;

	for (v = 0; v < g->n; v++) {
		mb_set_free(&g->sets[v]);
		mb_set_free(&g->meta[v]);
		mb_parts_free(&g->parts[v]);
	}
	free(g->sets);
	free(g->meta);
	free(g->parts);
	mb_profile_free(&g->profile);
}

static void check_matrix(const struct group *g)
{
	struct mb_sharing_matrix want, got;
	struct mb_err err;
	uint64_t pages = 0;
	size_t v, i;

	for (v = 0; v < g->n; v++)
		pages += g->sets[v].pages;
	assert_int_equal(mb_sharing_exact(g->sets, g->n, NULL, &want, &err), 0);
	if (mb_profile_matrix(&g->profile, pages, NULL, &got, &err))
		fail_msg("matrix: %s", err.msg);
	for (i = 0; i < g->n * g->n; i++)
		if (want.common[i] != got.common[i])
			fail_msg("%zu VMs: common(%zu, %zu): sets %llu, profile "
				 "%llu", g->n, i / g->n, i % g->n,
				 (unsigned long long)want.common[i],
				 (unsigned long long)got.common[i]);
	assert_int_equal(got.n, want.n);
	assert_int_equal(got.group_pages, want.group_pages);
	assert_int_equal(got.group_distinct, want.group_distinct);
	assert_int_equal(got.digests_single, want.digests_single);
	assert_int_equal(got.digests_sparse, want.digests_sparse);
	assert_int_equal(got.digests_dense, want.digests_dense);
	assert_int_equal(got.digests_all, want.digests_all);
	mb_sharing_matrix_free(&want);
	mb_sharing_matrix_free(&got);
}

/* distinct(G) and |D(v) ∩ U(G)| for random groups, against the sets. */
static void check_groups(const struct group *g, unsigned int rounds)
{
	const struct mb_digest_set **ptr = calloc(g->n, sizeof(*ptr));
	uint64_t state = 99 + g->n;
	unsigned int r;

	assert_non_null(ptr);
	for (r = 0; r < rounds; r++) {
		uint64_t group = mb_synth_next(&state), want, got;
		struct mb_digest_set uni = { 0 }, next;
		size_t v, k = 0, vm = (size_t)(mb_synth_next(&state) % g->n);

		if (g->n < 64)
			group &= (1ULL << g->n) - 1;
		for (v = 0; v < g->n; v++) {
			if (!(group & (1ULL << v)))
				continue;
			ptr[k++] = &g->sets[v];
			if (!uni.width) {
				assert_int_equal(mb_set_union(&uni, &g->sets[v],
							      &g->sets[v], NULL), 0);
				continue;
			}
			assert_int_equal(mb_set_union(&next, &uni, &g->sets[v],
						      NULL), 0);
			mb_set_free(&uni);
			uni = next;
		}
		want = mb_group_distinct(ptr, k);
		got = mb_profile_distinct(&g->profile, group);
		if (want != got)
			fail_msg("distinct of group %llx: sets %llu, profile %llu",
				 (unsigned long long)group,
				 (unsigned long long)want,
				 (unsigned long long)got);
		want = k ? mb_set_common(&g->sets[vm], &uni) : 0;
		got = mb_profile_shared(&g->profile, vm, group);
		if (want != got)
			fail_msg("vm%zu against group %llx: sets %llu, profile "
				 "%llu", vm, (unsigned long long)group,
				 (unsigned long long)want,
				 (unsigned long long)got);
		mb_set_free(&uni);
	}
	free(ptr);
}

static void profile_equals_sets(void **state)
{
	static const struct {
		size_t n;
		uint64_t pages;
		int algo;
		bool include_free;
		unsigned int bits, threads;
	} cases[] = {
		{ 1, 3000, MB_ALGO_SUPERFAST, false, 2, 1 },
		{ 2, 3000, MB_ALGO_SUPERFAST, true, 0, 1 },
		{ 3, 5000, MB_ALGO_XXH64, false, 4, 1 },
		{ 9, 20000, MB_ALGO_SUPERFAST, false, 9, 2 },
		{ 16, 12000, MB_ALGO_XXH32, true, 7, 2 },
		{ 16, 12000, MB_ALGO_XXH64, false, 16, 1 },
		{ 40, 4000, MB_ALGO_SUPERFAST, false, 5, 2 },
		{ 64, 3000, MB_ALGO_XXH64, true, 6, 2 },
		/* over a hundred thousand digests: two threads */
		{ 4, 60000, MB_ALGO_SUPERFAST, false, 8, 2 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct group g;

		group_make(&g, cases[i].n, cases[i].pages, cases[i].algo,
			   cases[i].include_free, false, cases[i].bits,
			   cases[i].threads);
		check_matrix(&g);
		check_groups(&g, 40);
		group_free(&g);
	}
}

/* Nearly one mask per digest: the masks of many VMs become columns. */
static void many_masks_take_columns(void **state)
{
	struct group g;
	size_t i, spread = 0;

	(void)state;
	group_make(&g, 64, 4000, MB_ALGO_XXH64, false, true, 4, 2);
	for (i = 0; i < g.profile.nmasks; i++)
		spread += __builtin_popcountll(g.profile.mask[i]) > 8 &&
			  g.profile.count[i] == 1;
	if (spread < 1000)
		fail_msg("expected over 1,000 masks of many VMs held by one "
			 "digest each, got %zu", spread);
	check_matrix(&g);
	check_groups(&g, 20);
	group_free(&g);
}

/* @a and @b: the same split, bucket by bucket, digest by digest. */
static void same_parts(const struct mb_digest_parts *a,
		       const struct mb_digest_set *am,
		       const struct mb_digest_parts *b,
		       const struct mb_digest_set *bm)
{
	uint64_t nb = 1ULL << a->bits, i;

	assert_int_equal(a->width, b->width);
	assert_int_equal(a->bits, b->bits);
	assert_int_equal(a->pages, b->pages);
	assert_memory_equal(a->start, b->start, (nb + 1) * sizeof(uint64_t));
	for (i = 0; i < a->start[nb]; i++)
		assert_int_equal(a->width == 4 ? a->d32[i] : a->d64[i],
				 b->width == 4 ? b->d32[i] : b->d64[i]);
	assert_string_equal(am->name, bm->name);
	assert_int_equal(am->pages, bm->pages);
	assert_int_equal(am->algorithm, bm->algorithm);
	assert_int_equal(am->width, bm->width);
	assert_int_equal(am->key_id, bm->key_id);
}

/*
 * mb_parts_from_path() splits a text file as it parses it, and an .mbt
 * file after loading it: either way the split mb_trace_load() and
 * mb_parts_from_trace() give, with and without free pages.
 */
static void parts_from_path_equal_loaded(void **state)
{
	char txt[] = "/tmp/mb-test-profile-XXXXXX.txt";
	char mbt[] = "/tmp/mb-test-profile-XXXXXX.mbt";
	uint64_t pages = 30000, *base = malloc(pages * sizeof(uint64_t)), i;
	const char *paths[2] = { txt, mbt };
	struct mb_digest_parts pp, tp;
	struct mb_digest_set pm, tm;
	struct mbt_trace t;
	struct mb_err err;
	int f, fd;
	FILE *out;

	(void)state;
	assert_non_null(base);
	mb_synth_base(base, pages, 0.1, 3);
	make_trace(&t, base, pages, 1, 3, MB_ALGO_SUPERFAST, false, 9);
	fd = mkstemps(txt, 4);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	for (i = 0; i < pages; i++)	/* free pages too: all are lines */
		fprintf(out, "%llu\n", (unsigned long long)t.digests[i]);
	assert_int_equal(fclose(out), 0);
	fd = mkstemps(mbt, 4);
	assert_true(fd >= 0);
	close(fd);
	t.chunks = calloc(1, sizeof(*t.chunks));
	assert_non_null(t.chunks);
	t.chunks[0] = (struct mbt_chunk){ .count = (uint32_t)pages };
	t.nchunks = 1;
	for (i = 0; i < pages; i++)
		t.info.used_pages += !mbt_is_free(&t, i);
	if (mbt_write_file(mbt, &t, &err))
		fail_msg("%s: %s", mbt, err.msg);
	mbt_trace_free(&t);
	for (f = 0; f < 4; f++) {
		const char *path = paths[f % 2];
		bool include_free = f >= 2;

		assert_int_equal(mb_parts_from_path(&pp, &pm, path,
						    include_free, 7, &err), 0);
		assert_int_equal(mb_trace_load(path, &t, &err), 0);
		assert_int_equal(mb_parts_from_trace(&tp, &tm, &t,
						     include_free, NULL, 7,
						     &err), 0);
		mbt_trace_free(&t);
		same_parts(&pp, &pm, &tp, &tm);
		mb_parts_free(&pp);
		mb_parts_free(&tp);
		mb_set_free(&pm);
		mb_set_free(&tm);
	}
	/* Errors start with the path. */
	assert_int_equal(mb_parts_from_path(&pp, &pm, txt, false,
					    MB_PARTS_MAX_BITS + 1, &err), -1);
	assert_non_null(strstr(err.msg, txt));
	assert_non_null(strstr(err.msg, "bucket bits"));
	unlink(txt);
	unlink(mbt);
	assert_int_equal(mb_parts_from_path(&pp, &pm, txt, false, 7, &err),
			 -1);
	assert_non_null(strstr(err.msg, txt));
	free(base);
}

static void profile_errors(void **state)
{
	struct mb_digest_parts parts[2];
	struct mb_digest_set meta[2];
	struct mb_profile p;
	struct mbt_trace t;
	struct mb_err err;
	uint64_t base[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	make_trace(&t, base, 8, 0, 1, MB_ALGO_SUPERFAST, false, 1);
	assert_int_equal(mb_parts_from_trace(&parts[0], &meta[0], &t, false,
					     "x", MB_PARTS_MAX_BITS + 1, &err), -1);
	assert_non_null(strstr(err.msg, "bucket bits"));
	assert_int_equal(mb_parts_from_trace(&parts[0], &meta[0], &t, false,
					     "a", 3, &err), 0);
	mbt_trace_free(&t);
	make_trace(&t, base, 8, 1, 2, MB_ALGO_XXH64, false, 1);
	t.info.algorithm = 99;
	assert_int_equal(mb_parts_from_trace(&parts[1], &meta[1], &t, false,
					     "c", 3, &err), -1);
	assert_non_null(strstr(err.msg, "unknown digest algorithm"));
	mbt_trace_free(&t);
	make_trace(&t, base, 8, 1, 2, MB_ALGO_XXH64, false, 1);
	assert_int_equal(mb_parts_from_trace(&parts[1], &meta[1], &t, false,
					     "b", 3, &err), 0);
	mbt_trace_free(&t);
	assert_int_equal(mb_profile_build(&p, parts, 2, 1, &err), -1);
	assert_non_null(strstr(err.msg, "digests of 8 and 4 bytes"));
	/* keyed traces: the description carries the key id, as a set does */
	{
		struct mb_digest_parts kp[2];
		struct mb_digest_set km[2], ks;
		size_t v;

		for (v = 0; v < 2; v++) {
			make_trace(&t, base, 8, v, 2, MB_ALGO_XXH64, false, 1);
			t.info.key_id = 0x1234u + 0x4444u * (uint32_t)v;
			assert_int_equal(mb_parts_from_trace(&kp[v], &km[v], &t,
							     false, NULL, 2,
							     &err), 0);
			assert_int_equal(mb_set_from_trace(&ks, &t, false, NULL,
							   &err), 0);
			assert_int_equal(km[v].key_id, ks.key_id);
			assert_int_equal(km[v].key_id, t.info.key_id);
			mb_set_free(&ks);
			mbt_trace_free(&t);
		}
		assert_int_equal(mb_set_comparable(&km[0], &km[1], &err), -1);
		assert_non_null(strstr(err.msg, "different keys"));
		for (v = 0; v < 2; v++) {
			mb_parts_free(&kp[v]);
			mb_set_free(&km[v]);
		}
	}
	assert_int_equal(mb_profile_build(&p, parts, 0, 1, &err), -1);
	assert_int_equal(mb_profile_build(&p, parts, 65, 1, &err), -1);
	assert_non_null(strstr(err.msg, "1 to 64 VMs, not 65"));
	assert_int_equal(mb_profile_build(&p, parts, 1, 1, &err), 0);
	/* 8 pages, every seventh free: 0 and 7 */
	assert_int_equal(meta[0].pages, 6);
	assert_int_equal(mb_profile_common(&p, 1), 6);
	assert_int_equal(mb_profile_distinct(&p, 0), 0);
	mb_profile_free(&p);
	mb_parts_free(&parts[0]);
	mb_parts_free(&parts[1]);
	mb_set_free(&meta[0]);
	mb_set_free(&meta[1]);
}

/* ---- placement from the profile against placement from the sets ---- */

/* Two doubles equal to the last bit (both NaN or both not, same bits). */
static void same_double(double want, double got, const char *what,
			const char *algo, size_t h)
{
	if (memcmp(&want, &got, sizeof(want)))
		fail_msg("%s, %s of host %zu: sets %.17g, profile %.17g", algo,
			 what, h, want, got);
}

/* Every algorithm on @sets and @prof (one scenario loaded both ways). */
static void check_placements(const struct mb_scenario *sets,
			     const struct mb_scenario *prof, const char *what)
{
	int algo;

	assert_int_equal(sets->nvms, prof->nvms);
	if (prof->profile.n != prof->nvms)
		fail_msg("%s: a profile of %zu VMs for %zu VMs", what,
			 prof->profile.n, prof->nvms);
	for (size_t v = 0; v < prof->nvms; v++) {
		/* the profiled sets hold no digests, only their numbers */
		assert_null(prof->sets[v].d32);
		assert_null(prof->sets[v].d64);
		assert_int_equal(prof->sets[v].pages, sets->sets[v].pages);
		assert_int_equal(prof->sets[v].distinct, sets->sets[v].distinct);
	}
	for (algo = 0; algo < MB_PLACE_COUNT; algo++) {
		const char *name = mb_place_algo_name(algo);
		int *want = calloc(sets->nvms + 1, sizeof(int));
		int *got = calloc(sets->nvms + 1, sizeof(int));
		struct mb_place_eval ew, eg;
		struct mb_err err;
		size_t v, h;

		assert_non_null(want);
		assert_non_null(got);
		if (algo == MB_PLACE_OPTIMAL && sets->nvms > MB_OPTIMAL_MAX_VMS) {
			free(want);
			free(got);
			continue;
		}
		if (mb_place(&sets->problem, algo, want, &err))
			fail_msg("%s, %s from the sets: %s", what, name, err.msg);
		if (mb_place_with(&prof->problem, &prof->profile, algo, got,
				  &err))
			fail_msg("%s, %s from the profile: %s", what, name,
				 err.msg);
		for (v = 0; v < sets->nvms; v++)
			if (want[v] != got[v])
				fail_msg("%s, %s: %s on host %d from the sets, "
					 "%d from the profile", what, name,
					 sets->vms[v].name, want[v], got[v]);
		assert_int_equal(mb_place_evaluate(&sets->problem, want, &ew,
						   &err), 0);
		assert_int_equal(mb_place_evaluate_with(&prof->problem,
							&prof->profile, got,
							&eg, &err), 0);
		for (h = 0; h < sets->nhosts; h++) {
			same_double(ew.before_mb[h], eg.before_mb[h],
				    "before_mb", name, h);
			same_double(ew.after_mb[h], eg.after_mb[h], "after_mb",
				    name, h);
		}
		same_double(ew.before_total_mb, eg.before_total_mb,
			    "before_total_mb", name, 0);
		same_double(ew.after_total_mb, eg.after_total_mb,
			    "after_total_mb", name, 0);
		same_double(ew.saved_mb, eg.saved_mb, "saved_mb", name, 0);
		assert_int_equal(ew.placed, eg.placed);
		assert_int_equal(ew.unplaced, eg.unplaced);
		assert_int_equal(ew.hosts_used, eg.hosts_used);
		assert_int_equal(ew.moves, eg.moves);
		assert_int_equal(ew.over_capacity, eg.over_capacity);
		mb_place_eval_free(&ew);
		mb_place_eval_free(&eg);
		free(want);
		free(got);
	}
}

/* memtraces/scenario.json through the file loaders, free pages or not. */
static void placement_scenario_file(void **state)
{
	int include_free;

	(void)state;
	for (include_free = 0; include_free < 2; include_free++) {
		struct mb_scenario sets, prof;
		struct mb_err err;

		if (mb_scenario_load("memtraces/scenario.json", include_free,
				     &sets, &err))
			fail_msg("%s", err.msg);
		if (mb_scenario_load_profiled("memtraces/scenario.json",
					      include_free, &prof, &err))
			fail_msg("%s", err.msg);
		check_placements(&sets, &prof, "memtraces/scenario.json");
		mb_scenario_free(&sets);
		mb_scenario_free(&prof);
	}
}

/*
 * Every real trace of memtraces/ on hosts roomy, tight (some VMs left
 * unplaced) and many, with VMs of configured and of defaulted memory,
 * some running somewhere now.
 */
static void placement_real_traces(void **state)
{
	static const char *const traces[] = {
		"idle-1", "idle-2", "idle-nokaslr-1", "idle-nokaslr-2",
		"loaded", "series-0", "series-1", "series-2", "userland",
	};
	static const char *const hosts[] = {
		"{\"name\": \"a\", \"memory_mb\": 1450}, "
		"{\"name\": \"b\", \"memory_mb\": 1000}, "
		"{\"name\": \"c\", \"memory_mb\": 700}",
		"{\"name\": \"a\", \"memory_mb\": 900}, "
		"{\"name\": \"b\", \"memory_mb\": 620}",
		"{\"name\": \"a\", \"memory_mb\": 600}, "
		"{\"name\": \"b\", \"memory_mb\": 600}, "
		"{\"name\": \"c\", \"memory_mb\": 600}, "
		"{\"name\": \"d\", \"memory_mb\": 600}, "
		"{\"name\": \"e\", \"memory_mb\": 600}, "
		"{\"name\": \"f\", \"memory_mb\": 1200}",
	};
	size_t hi, v;
	int include_free;

	(void)state;
	for (hi = 0; hi < sizeof(hosts) / sizeof(hosts[0]); hi++)
		for (include_free = 0; include_free < 2; include_free++) {
			char json[4096], what[64];
			size_t len;
			struct mb_scenario sets, prof;
			struct mb_err err;

			len = (size_t)snprintf(json, sizeof(json),
					       "{\"hosts\": [%s], \"vms\": [",
					       hosts[hi]);
			for (v = 0; v < sizeof(traces) / sizeof(traces[0]); v++) {
				char mem[32] = "";

				if (v % 3)
					snprintf(mem, sizeof(mem),
						 ", \"memory_mb\": %zu",
						 400 + 37 * v);
				len += (size_t)snprintf(json + len,
					sizeof(json) - len,
					"%s{\"name\": \"%s\", \"trace\": "
					"\"%s.mbt\"%s%s}", v ? ", " : "",
					traces[v], traces[v], mem,
					v % 2 ? ", \"host\": \"a\"" : "");
			}
			len += (size_t)snprintf(json + len, sizeof(json) - len,
						"]}");
			assert_true(len < sizeof(json));
			snprintf(what, sizeof(what), "hosts %zu, free pages %s",
				 hi, include_free ? "counted" : "not counted");
			if (mb_scenario_parse(json, len, "memtraces", &sets,
					      &err) ||
			    mb_scenario_load_traces(&sets, include_free, &err))
				fail_msg("%s: %s", what, err.msg);
			if (mb_scenario_parse(json, len, "memtraces", &prof,
					      &err) ||
			    mb_scenario_load_traces_profiled(&prof,
							     include_free,
							     &err))
				fail_msg("%s: %s", what, err.msg);
			check_placements(&sets, &prof, what);
			mb_scenario_free(&sets);
			mb_scenario_free(&prof);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(profile_equals_sets),
		cmocka_unit_test(many_masks_take_columns),
		cmocka_unit_test(profile_errors),
		cmocka_unit_test(parts_from_path_equal_loaded),
		cmocka_unit_test(placement_scenario_file),
		cmocka_unit_test(placement_real_traces),
	};

	return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
