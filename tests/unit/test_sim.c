// SPDX-License-Identifier: GPL-2.0
/*
 * test_sim.c - the balancing simulator (sim.h), its inputs (sim_input.h),
 * the O(1) LRU (lru.h) and the stack distances (mrc.h):
 *   - faithful mode reproduces the seed's Tables 1 and 2 exactly on
 *     memtraces/seed/test{1,2,3}.dat (the tables are the seed's published
 *     numbers), with glibc's rand() and single precision as the seed had;
 *   - bad .dat and page-trace inputs fail naming the line and field;
 *   - the LRU equals a brute-force LRU on random sequences with resizes;
 *   - the miss curve equals a brute-force simulation at every size;
 *   - the cagma policy makes, at every checkpoint, the decisions balance.h
 *     makes on inputs derived here independently, with a brute-force LRU.
 * Run from the source tree's top (make check-unit does).
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

#include "balance.h"
#include "lru.h"
#include "mrc.h"
#include "sim.h"
#include "sim_input.h"

static void load_n(const char *path, uint64_t limit, struct mb_sim_input *in)
{
	struct mb_err err;

	memset(in, 0, sizeof(*in));
	if (mb_sim_load(path, limit, in, &err))
		fail_msg("%s", err.msg);
}

static void load(const char *path, struct mb_sim_input *in)
{
	struct mb_err err;

	memset(in, 0, sizeof(*in));
	if (mb_sim_load(path, 0, in, &err))
		fail_msg("%s", err.msg);
}

static void run(const struct mb_sim_input *in, enum mb_sim_policy policy,
		bool faithful, uint64_t every, struct mb_sim_result *res)
{
	struct mb_sim_config cfg;
	struct mb_err err;

	mb_sim_defaults(&cfg);
	cfg.policy = policy;
	cfg.faithful = faithful;
	cfg.every = every;
	if (mb_sim_run(in, &cfg, res, &err))
		fail_msg("%s", err.msg);
}

/* ---- the seed's numbers ---- */

static void seed_rand_is_glibc_rand_never_seeded(void **state)
{
	struct mb_seed_rand g;
	int i;

	(void)state;
	/* a program that never calls srand() gets srand(1)'s sequence */
	srand(1);
	mb_seed_rand_init(&g, 1);
	for (i = 0; i < 100000; i++) {
		int want = rand(), got = mb_seed_rand_next(&g);

		if (want != got)
			fail_msg("rand() number %d: glibc %d, ours %d", i, want, got);
	}
	srand(12345);
	mb_seed_rand_init(&g, 12345);
	for (i = 0; i < 1000; i++)
		assert_int_equal(mb_seed_rand_next(&g), rand());
}

static void seed_share_is_single_precision(void **state)
{
	(void)state;
	/*
	 * (float)(2^25 - 1) / 2^25 rounds to 1.0f (24-bit mantissa), so
	 * the seed gives 2 of 2 bonus frames where exact arithmetic (and
	 * double) give 1: the faithful share must be the float one.
	 */
	assert_int_equal(mb_seed_bonus_share(33554431, 33554432, 2), 2);
	assert_int_equal((int)((double)33554431 / 33554432 * 2), 1);
	assert_int_equal(mb_seed_bonus_share(1, 3, 12), 4);
	assert_int_equal(mb_seed_bonus_share(2, 3, 8), 5);	/* 5.33 truncated */
	assert_int_equal(mb_seed_bonus_share(0, 7, 8), 0);
}

/* Table 2 of the seed: test1.dat, last-n, misses of each VM, N = 1..10. */
static const int table2[10][4] = {
	{ 3, 3, 3, 3 }, { 5, 2, 3, 5 }, { 5, 3, 3, 5 }, { 5, 2, 2, 5 },
	{ 5, 5, 5, 5 }, { 5, 4, 4, 5 }, { 5, 3, 3, 5 }, { 5, 2, 2, 5 },
	{ 5, 1, 2, 5 }, { 6, 0, 2, 6 },
};

static void faithful_reproduces_table_2(void **state)
{
	struct mb_sim_input in;
	uint64_t n;

	(void)state;
	load("memtraces/seed/test1.dat", &in);
	assert_int_equal(in.count, 4);
	for (n = 1; n <= 10; n++) {
		struct mb_sim_result res;
		size_t v;

		run(&in, MB_SIM_LAST_N, true, n, &res);
		for (v = 0; v < 4; v++)
			if (res.vms[v].misses != (uint64_t)table2[n - 1][v])
				fail_msg("N = %llu, VM%zu: the seed's Table 2 has %d "
					 "misses, we have %llu", (unsigned long long)n,
					 v, table2[n - 1][v],
					 (unsigned long long)res.vms[v].misses);
		mb_sim_result_free(&res);
	}
	mb_sim_input_free(&in);
}

static void faithful_reproduces_table_1(void **state)
{
	static const struct {
		enum mb_sim_policy policy;
		const char *ratio;
	} table1[] = {
		{ MB_SIM_STATIC, "0.321" },
		{ MB_SIM_LAST_N, "0.236" },
		{ MB_SIM_PROPORTIONAL, "0.198" },
	};
	static const char *const files[] = {
		"memtraces/seed/test1.dat", "memtraces/seed/test2.dat",
		"memtraces/seed/test3.dat",
	};
	size_t p, f;

	(void)state;
	for (p = 0; p < 3; p++) {
		uint64_t misses = 0, accesses = 0;
		char got[16];

		for (f = 0; f < 3; f++) {
			struct mb_sim_input in;
			struct mb_sim_result res;

			load(files[f], &in);
			run(&in, table1[p].policy, true, 1, &res);
			misses += res.misses;
			accesses += res.accesses;
			mb_sim_result_free(&res);
			mb_sim_input_free(&in);
		}
		snprintf(got, sizeof(got), "%.3f", (double)misses / (double)accesses);
		assert_int_equal(accesses, 106);
		if (strcmp(got, table1[p].ratio))
			fail_msg("%s: the seed's Table 1 has %s, we have %s (%llu "
				 "misses)", mb_sim_policy_name(table1[p].policy),
				 table1[p].ratio, got, (unsigned long long)misses);
	}
}

static void faithful_first_allocation_and_frames(void **state)
{
	struct mb_sim_input in;
	struct mb_sim_result res;

	(void)state;
	/* three VMs: ceil(16/3) = 6, 6, and the last the remaining 4 */
	load("memtraces/seed/test3.dat", &in);
	run(&in, MB_SIM_STATIC, true, 1, &res);
	assert_int_equal(res.vms[0].frames_final, 6);
	assert_int_equal(res.vms[1].frames_final, 6);
	assert_int_equal(res.vms[2].frames_final, 4);
	/* VM2 of test3 with 4 frames: 4 fills, then every other reference evicts */
	assert_int_equal(res.vms[2].cold_misses, 4);
	assert_int_equal(res.vms[2].misses, 8);
	mb_sim_result_free(&res);
	mb_sim_input_free(&in);
}

static int sim_error(const char *dat, enum mb_sim_policy policy, bool faithful,
		     struct mb_err *err)
{
	struct mb_sim_input in;
	struct mb_sim_result res;
	struct mb_sim_config cfg;
	int ret;

	if (mb_dat_parse(dat, strlen(dat), &in, err))
		fail_msg("%s", err->msg);
	mb_sim_defaults(&cfg);
	cfg.policy = policy;
	cfg.faithful = faithful;
	ret = mb_sim_run(&in, &cfg, &res, err);
	if (!ret)
		mb_sim_result_free(&res);
	mb_sim_input_free(&in);
	return ret;
}

static void faithful_refuses_what_the_seed_cannot_run(void **state)
{
	struct mb_err err;
	char dat[512];
	int i, k;

	(void)state;
	/* five VMs: 4 + 4 + 4 + 4 frames leave the fifth none */
	assert_int_equal(sim_error("5 1 0 1 0 1 0 1 0 1 0", MB_SIM_STATIC, true, &err), -1);
	assert_non_null(strstr(err.msg, "leaves VM 4 without a frame"));
	/* 17 VMs on 16 frames */
	k = snprintf(dat, sizeof(dat), "17");
	for (i = 0; i < 17; i++)
		k += snprintf(dat + k, sizeof(dat) - k, " 1 0");
	assert_int_equal(sim_error(dat, MB_SIM_STATIC, false, &err), -1);
	assert_non_null(strstr(err.msg, "17 VMs but only 16 frames"));
	assert_int_equal(sim_error(dat, MB_SIM_STATIC, true, &err), -1);
	assert_non_null(strstr(err.msg, "17 VMs but only 16 frames"));
	/* the seed's policies only */
	assert_int_equal(sim_error("1 2 0 1", MB_SIM_CAGMA, true, &err), -1);
	assert_non_null(strstr(err.msg, "seed's policies only"));
	/*
	 * VM 0 references one page, VM 1 a new page each step. VM 1 fills
	 * its 8 frames (no miss), then misses at step 8 and gets one of VM
	 * 0's unused frames, which its next reference fills (no miss): a
	 * frame moves every other step, at 8, 10, ..., 20, which leaves VM 0
	 * one frame; giving it away at step 22 is where the seed
	 * dereferences NULL.
	 */
	k = snprintf(dat, sizeof(dat), "2 40");
	for (i = 0; i < 40; i++)
		k += snprintf(dat + k, sizeof(dat) - k, " 0");
	k += snprintf(dat + k, sizeof(dat) - k, " 40");
	for (i = 0; i < 40; i++)
		k += snprintf(dat + k, sizeof(dat) - k, " %d", i);
	assert_int_equal(sim_error(dat, MB_SIM_LAST_N, true, &err), -1);
	assert_non_null(strstr(err.msg, "step 22, VM 0: gives away its last frame"));
	/* the real simulator keeps the floor instead */
	assert_int_equal(sim_error(dat, MB_SIM_LAST_N, false, &err), 0);
}

/* ---- input errors ---- */

static void dat_errors_name_line_and_field(void **state)
{
	static const struct {
		const char *dat, *want;
	} cases[] = {
		{ "2\n3 1 2 3\n5 1 2\n3\n", "line 4: VM 1's length says 5 pages but the file ends after 3" },
		{ "1\n2 4 5 6\n", "line 2, field 4: '6' after the last VM's pages" },
		{ "1\n3 1 -2 3\n", "line 2, field 3: page 1 of VM 0 is negative (-2)" },
		{ "1\n3 1 x2 3\n", "line 2, field 3: page 1 of VM 0 'x2' is not a number" },
		{ "1\n3 1 2 2147483648\n", "line 2, field 4: page 2 of VM 0 2147483648 is larger than 2147483647" },
		{ "0\n", "line 1, field 1: the VM count is 0" },
		{ "  \n\n -1", "line 3, field 1: the VM count is negative (-1)" },
		{ "4096x", "line 1, field 1: the VM count '4096x' is not a number" },
		{ "5000 1 1", "the VM count 5000 is more than 4096" },
		{ "1\n-3 1 2 3\n", "line 2, field 1: the length of VM 0 is negative (-3)" },
		{ "2\n1 7\n", "line 2: the file ends before the length of VM 1 (the VM count says 2 VMs)" },
		{ "", "line 1: the file is empty" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mb_sim_input in;
		struct mb_err err;

		if (mb_dat_parse(cases[i].dat, strlen(cases[i].dat), &in, &err) != -1)
			fail_msg("case %zu: accepted", i);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: expected '%s', got '%s'", i,
				 cases[i].want, err.msg);
		assert_int_equal(in.count, 0);
	}
}

static void dat_parses_and_numbers_pages_densely(void **state)
{
	static const char dat[] = "2\n4 10 7 10 3\n\n 3  5\t5 5 ";
	struct mb_sim_input in;
	struct mb_err err;

	(void)state;
	assert_int_equal(mb_dat_parse(dat, strlen(dat), &in, &err), 0);
	assert_int_equal(in.count, 2);
	assert_string_equal(in.vms[0].name, "VM0");
	assert_int_equal(in.vms[0].n, 4);
	assert_int_equal(in.vms[0].pages, 3);
	assert_int_equal(in.vms[0].refs[2], in.vms[0].refs[0]);
	assert_int_equal(in.vms[0].page_of[in.vms[0].refs[3]], 3);
	assert_int_equal(in.vms[1].pages, 1);
	mb_sim_input_free(&in);
}

static int trace_parse(const char *text, size_t split, struct mb_sim_vm *vm,
		       struct mb_err *err)
{
	struct mb_pagetrace_parser p;
	size_t len = strlen(text);
	int ret;

	mb_pagetrace_init(&p);
	ret = mb_pagetrace_feed(&p, text, split, err);
	if (!ret)
		ret = mb_pagetrace_feed(&p, text + split, len - split, err);
	if (!ret)
		ret = mb_pagetrace_finish(&p, "file", vm, err);
	mb_pagetrace_release(&p);
	return ret;
}

static void pagetrace_reads_in_any_pieces(void **state)
{
	static const char text[] = "# mbuddy page trace 1\n# name: gzip\n"
				   "401a\n1fff000\n  0x401A \n\n# comment\n"
				   "ffffffffffffffff\r\n401b";
	size_t split;

	(void)state;
	for (split = 0; split <= strlen(text); split++) {
		struct mb_sim_vm vm;
		struct mb_err err;

		if (trace_parse(text, split, &vm, &err))
			fail_msg("split at %zu: %s", split, err.msg);
		assert_string_equal(vm.name, "gzip");
		assert_int_equal(vm.n, 5);
		assert_int_equal(vm.pages, 4);
		assert_int_equal(vm.refs[2], vm.refs[0]);
		assert_true(vm.page_of[vm.refs[3]] == UINT64_MAX);
		assert_true(vm.page_of[vm.refs[4]] == 0x401b);
		free(vm.refs);
		free(vm.page_of);
	}
}

static void pagetrace_errors_name_the_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "401a\n", "line 1: not a page trace" },
		{ "# mbuddy page trace 1\n12\nxyz\n", "line 3: 'xyz' is not a hexadecimal page number" },
		{ "# mbuddy page trace 1\n12 13\n", "line 2: '12 13' is not a hexadecimal" },
		{ "# mbuddy page trace 1\n10000000000000000\n", "line 2: page number of 17 hex digits is longer than 64 bits" },
		{ "# mbuddy page trace 1\n# name: x\n", "line 3: the trace ends without a page reference" },
		{ "", "line 1: the file is empty" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mb_sim_vm vm;
		struct mb_err err;

		if (trace_parse(cases[i].text, strlen(cases[i].text) / 2, &vm, &err) != -1)
			fail_msg("case %zu: accepted", i);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: expected '%s', got '%s'", i,
				 cases[i].want, err.msg);
	}
	{
		/* a line longer than the reader's buffer */
		char *big = malloc(10000);
		struct mb_sim_vm vm;
		struct mb_err err;

		strcpy(big, "# mbuddy page trace 1\n");
		memset(big + 22, '1', 5000);
		big[5022] = 0;
		assert_int_equal(trace_parse(big, 100, &vm, &err), -1);
		assert_non_null(strstr(err.msg, "line 2: longer than 4095 bytes"));
		free(big);
	}
}

static void phases_parse_and_generate_deterministically(void **state)
{
	struct mb_phase_spec s;
	struct mb_sim_input a, b;
	struct mb_err err;
	uint64_t t, big = 0;

	(void)state;
	mb_phases_defaults(&s);
	assert_int_equal(mb_phases_parse("vms=3,accesses=9000,small=8,large=64,"
					 "phases=3,seed=9", &s, &err), 0);
	assert_int_equal(mb_phases_generate(&s, &a, &err), 0);
	assert_int_equal(mb_phases_generate(&s, &b, &err), 0);
	assert_int_equal(a.count, 3);
	assert_memory_equal(a.vms[2].refs, b.vms[2].refs, 9000 * sizeof(uint32_t));
	/* VM 1 has the large working set in phase 2 ((2 + 1) % 3 == 0) only */
	for (t = 0; t < 9000; t++) {
		uint32_t p = a.vms[1].refs[t];

		if (t < 6000)
			assert_true(p < 8);
		else
			big += p >= 8;
	}
	assert_true(big > 1000);
	mb_sim_input_free(&a);
	mb_sim_input_free(&b);
	assert_int_equal(mb_phases_parse("vms=2,size=3", &s, &err), -1);
	assert_non_null(strstr(err.msg, "unknown key 'size'"));
	assert_int_equal(mb_phases_parse("small=9,large=3", &s, &err), -1);
	assert_int_equal(mb_phases_parse("accesses=-1", &s, &err), -1);
	assert_non_null(strstr(err.msg, "accesses=-1"));
}

/* ---- LRU and stack distances against brute force ---- */

struct brute_lru {
	uint32_t *stack;	/* most recent first */
	uint64_t n, cap;
};

static bool brute_access(struct brute_lru *b, uint32_t page)
{
	uint64_t i;

	for (i = 0; i < b->n && b->stack[i] != page; i++)
		;
	if (i < b->n) {
		memmove(b->stack + 1, b->stack, i * sizeof(uint32_t));
		b->stack[0] = page;
		return true;
	}
	if (!b->cap)
		return false;
	if (b->n == b->cap)
		b->n--;
	memmove(b->stack + 1, b->stack, b->n * sizeof(uint32_t));
	b->stack[0] = page;
	b->n++;
	return false;
}

static void brute_resize(struct brute_lru *b, uint64_t cap)
{
	b->cap = cap;
	if (b->n > cap)
		b->n = cap;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void lru_equals_brute_force_with_resizes(void **state)
{
	uint64_t s = 42;
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		uint32_t pages = 1 + (uint32_t)(xs(&s) % 300);
		uint64_t cap = xs(&s) % (pages + 3), i;
		struct brute_lru b = { malloc((pages + 3) * sizeof(uint32_t)), 0, cap };
		struct mb_lru l;

		assert_int_equal(mb_lru_init(&l, pages, cap, NULL), 0);
		for (i = 0; i < 5000; i++) {
			/* skewed: small pages much more often */
			uint32_t p = (uint32_t)((xs(&s) % pages) * (xs(&s) % pages) / pages);

			if (mb_lru_access(&l, p) != brute_access(&b, p))
				fail_msg("round %d reference %llu (page %u, %llu frames): "
					 "hit/miss differs", round,
					 (unsigned long long)i, p,
					 (unsigned long long)b.cap);
			if (xs(&s) % 500 == 0) {
				cap = xs(&s) % (pages + 3);
				mb_lru_resize(&l, cap);
				brute_resize(&b, cap);
			}
			assert_int_equal(l.resident, b.n);
		}
		mb_lru_free(&l);
		free(b.stack);
	}
}

/* misses(c) by simulating a brute-force LRU of c frames, every c */
static void check_curve(const uint32_t *refs, uint64_t n, uint32_t pages,
			const char *what)
{
	uint64_t *curve = malloc((pages + 3) * sizeof(uint64_t)), c, i;
	struct mb_err err;

	if (mb_mrc_curve(refs, n, pages, curve, pages + 2, &err))
		fail_msg("%s", err.msg);
	for (c = 0; c <= pages + 2; c++) {
		struct brute_lru b = { malloc((pages + 3) * sizeof(uint32_t)), 0, c };
		uint64_t misses = 0;

		for (i = 0; i < n; i++)
			misses += !brute_access(&b, refs[i]);
		if (misses != curve[c])
			fail_msg("%s: %llu frames: LRU misses %llu, the curve says %llu",
				 what, (unsigned long long)c,
				 (unsigned long long)misses,
				 (unsigned long long)curve[c]);
		free(b.stack);
	}
	free(curve);
}

static void mrc_equals_brute_force_at_every_size(void **state)
{
	uint64_t s = 7;
	int round;

	(void)state;
	for (round = 0; round < 60; round++) {
		/* few pages and many references: the positions are recycled
		 * (compacted) many times */
		uint32_t pages = 1 + (uint32_t)(xs(&s) % 200);
		uint64_t n = 100 + xs(&s) % 6000, i;
		uint32_t *refs = malloc(n * sizeof(uint32_t));
		char what[64];

		for (i = 0; i < n; i++) {
			uint64_t r = xs(&s);

			/* loops, hot pages and uniform references mixed */
			refs[i] = r % 3 == 0 ? (uint32_t)(i % pages) :
				  r % 3 == 1 ? (uint32_t)((r >> 8) % (pages / 4 + 1)) :
				  (uint32_t)((r >> 16) % pages);
		}
		snprintf(what, sizeof(what), "round %d (%u pages, %llu refs)",
			 round, pages, (unsigned long long)n);
		check_curve(refs, n, pages, what);
		free(refs);
	}
}

static void mrc_equals_brute_force_on_a_real_trace(void **state)
{
	struct mb_sim_input in;

	(void)state;
	/* the first 20000 references: the dynamic loader and cc1's start */
	load_n("memtraces/lackey/cc1.pages.xz", 20000, &in);
	assert_int_equal(in.vms[0].n, 20000);
	check_curve(in.vms[0].refs, 20000, in.vms[0].pages, "cc1");
	mb_sim_input_free(&in);
}

static void mrc_distances_by_hand(void **state)
{
	struct mb_mrc m;
	/* a b c a a d b: cold cold cold 2 0 cold 3 */
	static const uint32_t refs[] = { 0, 1, 2, 0, 0, 3, 1 };
	static const uint32_t want[] = { MB_MRC_COLD, MB_MRC_COLD, MB_MRC_COLD,
					 2, 0, MB_MRC_COLD, 3 };
	size_t i;

	(void)state;
	assert_int_equal(mb_mrc_init(&m, 4, NULL), 0);
	for (i = 0; i < 7; i++)
		assert_int_equal(mb_mrc_access(&m, refs[i]), want[i]);
	mb_mrc_free(&m);
}

/* ---- the real simulator ---- */

static void real_static_equals_brute_force_lru(void **state)
{
	struct mb_phase_spec spec;
	struct mb_sim_input in;
	struct mb_sim_result res;
	struct mb_sim_config cfg;
	struct mb_err err;
	size_t v;

	(void)state;
	mb_phases_defaults(&spec);
	spec.vms = 3;
	spec.accesses = 20000;
	assert_int_equal(mb_phases_generate(&spec, &in, &err), 0);
	mb_sim_defaults(&cfg);
	cfg.frames = 301;	/* 101, 100, 100 */
	assert_int_equal(mb_sim_run(&in, &cfg, &res, &err), 0);
	for (v = 0; v < 3; v++) {
		struct brute_lru b = { malloc(400 * sizeof(uint32_t)), 0, v ? 100 : 101 };
		uint64_t i, misses = 0;

		for (i = 0; i < in.vms[v].n; i++)
			misses += !brute_access(&b, in.vms[v].refs[i]);
		assert_int_equal(res.vms[v].misses, misses);
		assert_int_equal(res.vms[v].frames_final, v ? 100 : 101);
		free(b.stack);
	}
	mb_sim_result_free(&res);
	mb_sim_input_free(&in);
}

struct bounds_ctx {
	uint64_t frames, floor, checkpoints;
	bool ok;
};

static void check_bounds(void *ctx, const struct mb_sim_checkpoint *cp)
{
	struct bounds_ctx *b = ctx;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < cp->count; i++) {
		sum += cp->frames[i];
		if (cp->frames[i] < b->floor)
			b->ok = false;
	}
	if (sum > b->frames)
		b->ok = false;
	b->checkpoints++;
}

static void real_policies_keep_frames_within_host_and_floor(void **state)
{
	static const enum mb_sim_policy policies[] = {
		MB_SIM_LAST_N, MB_SIM_PROPORTIONAL, MB_SIM_MEB, MB_SIM_CAGMA,
	};
	struct mb_phase_spec spec;
	struct mb_sim_input in;
	struct mb_err err;
	size_t p;

	(void)state;
	mb_phases_defaults(&spec);
	spec.vms = 4;
	spec.accesses = 40000;
	spec.phases = 5;
	assert_int_equal(mb_phases_generate(&spec, &in, &err), 0);
	for (p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		struct bounds_ctx b = { 400, 3, 0, true };
		struct mb_sim_config cfg;
		struct mb_sim_result res, stat;

		mb_sim_defaults(&cfg);
		cfg.policy = policies[p];
		cfg.frames = 400;
		cfg.floor = 3;
		cfg.every = 250;
		cfg.on_checkpoint = check_bounds;
		cfg.ctx = &b;
		assert_int_equal(mb_sim_run(&in, &cfg, &res, &err), 0);
		if (!b.ok)
			fail_msg("%s: frames outside the host or below the floor",
				 mb_sim_policy_name(policies[p]));
		assert_int_equal(b.checkpoints, 160);
		assert_int_equal(res.checkpoints, 159);
		/* working sets that move between VMs: moving frames pays */
		cfg.policy = MB_SIM_STATIC;
		cfg.on_checkpoint = NULL;
		assert_int_equal(mb_sim_run(&in, &cfg, &stat, &err), 0);
		if (policies[p] == MB_SIM_MEB || policies[p] == MB_SIM_CAGMA)
			if (res.misses >= stat.misses)
				fail_msg("%s: %llu misses, static %llu",
					 mb_sim_policy_name(policies[p]),
					 (unsigned long long)res.misses,
					 (unsigned long long)stat.misses);
		mb_sim_result_free(&res);
		mb_sim_result_free(&stat);
	}
	mb_sim_input_free(&in);
}

/*
 * cagma: record what the simulator decided at each checkpoint, then redo
 * the run here: a brute-force LRU per VM, the interval's statistics
 * counted from the references themselves, balance.h called on them, its
 * targets applied. Every decision, every derived input and every final
 * count must match.
 */
#define CAGMA_VMS 3
#define CAGMA_MAX_CP 512

struct cagma_log {
	size_t count;
	struct mb_vm_observed obs[CAGMA_MAX_CP][CAGMA_VMS];
	uint64_t target[CAGMA_MAX_CP][CAGMA_VMS];
	uint64_t frames[CAGMA_MAX_CP][CAGMA_VMS];
	bool hotspot[CAGMA_MAX_CP];
};

static void log_cagma(void *ctx, const struct mb_sim_checkpoint *cp)
{
	struct cagma_log *log = ctx;
	size_t i;

	if (!cp->decisions || log->count == CAGMA_MAX_CP)
		return;
	for (i = 0; i < cp->count; i++) {
		log->obs[log->count][i] = cp->observed[i];
		log->target[log->count][i] = cp->decisions[i].target_mib;
		log->frames[log->count][i] = cp->frames[i];
	}
	log->hotspot[log->count] = cp->host->hotspot;
	log->count++;
}

static void cagma_decides_as_balance_h_on_independent_inputs(void **state)
{
	static struct cagma_log log;
	struct mb_phase_spec spec;
	struct mb_sim_input in;
	struct mb_sim_result res;
	struct mb_sim_config cfg;
	struct mb_err err;
	struct brute_lru lru[CAGMA_VMS];
	uint8_t *seen[CAGMA_VMS];
	uint64_t misses[CAGMA_VMS] = { 0 }, footprint[CAGMA_VMS] = { 0 };
	const uint64_t frames = 240, every = 400, floor = 2;
	uint64_t t, k, steps;
	size_t v, cp = 0;

	(void)state;
	mb_phases_defaults(&spec);
	spec.vms = CAGMA_VMS;
	spec.accesses = 60000;
	spec.phases = 6;
	spec.small = 24;
	spec.large = 160;
	assert_int_equal(mb_phases_generate(&spec, &in, &err), 0);
	mb_sim_defaults(&cfg);
	cfg.policy = MB_SIM_CAGMA;
	cfg.frames = frames;
	cfg.every = every;
	cfg.floor = floor;
	cfg.on_checkpoint = log_cagma;
	cfg.ctx = &log;
	memset(&log, 0, sizeof(log));
	assert_int_equal(mb_sim_run(&in, &cfg, &res, &err), 0);
	steps = in.vms[0].n;
	assert_int_equal(log.count, steps / every - 1);

	for (v = 0; v < CAGMA_VMS; v++) {
		lru[v].stack = malloc(frames * sizeof(uint32_t));
		lru[v].n = 0;
		lru[v].cap = frames / CAGMA_VMS;
		seen[v] = calloc(in.vms[v].pages, 1);
	}
	for (t = 0; t + every < steps; t += every, cp++) {
		struct mb_balance_vm bv[CAGMA_VMS];
		struct mb_balance_host host = { .capacity_mib = frames, .reserve_mib = 0 };
		struct mb_cma_params cparams;
		struct mb_balance_params bparams;

		mb_sim_cagma_params(floor, 10, &cparams, &bparams);
		for (v = 0; v < CAGMA_VMS; v++) {
			const uint32_t *r = in.vms[v].refs;
			uint8_t *in_window = calloc(in.vms[v].pages, 1);
			uint64_t distinct = 0, refaults = 0, wmiss = 0, end = t + every;
			struct mb_vm_observed o;

			for (k = t; k < end; k++) {
				if (!brute_access(&lru[v], r[k])) {
					wmiss++;
					if (seen[v][r[k]])
						refaults++;
					else
						footprint[v]++;
					seen[v][r[k]] = 1;
				}
			}
			/* the working set: distinct pages of the last 10 intervals */
			for (k = end > 10 * every ? end - 10 * every : 0; k < end; k++) {
				distinct += !in_window[r[k]];
				in_window[r[k]] = 1;
			}
			free(in_window);
			misses[v] += wmiss;
			/* the mapping of docs/balancing.md, "Units in the simulator":
			 * memory in use is the working set, at most what is resident */
			o.used_mib = (double)(distinct < lru[v].n ? distinct : lru[v].n);
			o.committed_mib = (double)footprint[v];
			o.swapin_rate = o.majfault_rate = (double)refaults / 10;
			o.psi_some_avg10 = 100.0 * (double)refaults / (double)every;
			o.current_mib = (double)lru[v].cap;
			if (memcmp(&o, &log.obs[cp][v], sizeof(o)))
				fail_msg("checkpoint %zu vm %zu: the simulator derived "
					 "used %.0f committed %.0f swap-in %.2f psi %.2f "
					 "current %.0f; counted here: %.0f %.0f %.2f %.2f %.0f",
					 cp, v, log.obs[cp][v].used_mib,
					 log.obs[cp][v].committed_mib,
					 log.obs[cp][v].swapin_rate,
					 log.obs[cp][v].psi_some_avg10,
					 log.obs[cp][v].current_mib, o.used_mib,
					 o.committed_mib, o.swapin_rate,
					 o.psi_some_avg10, o.current_mib);
			memset(&bv[v], 0, sizeof(bv[v]));
			bv[v].cma_mib = mb_cma(&o, &cparams, NULL);
			bv[v].floor_mib = floor;
			bv[v].max_mib = frames - (CAGMA_VMS - 1) * floor;
			bv[v].current_mib = lru[v].cap;
			bv[v].fault_rate = o.swapin_rate;
			bv[v].psi_some_avg10 = o.psi_some_avg10;
			bv[v].recent_misses = wmiss;
		}
		assert_int_equal(mb_balance_allocate(&host, bv, CAGMA_VMS,
						     MB_BALANCE_CAGMA, &bparams, &err), 0);
		assert_int_equal(host.hotspot, log.hotspot[cp]);
		for (v = 0; v < CAGMA_VMS; v++) {
			if (bv[v].target_mib != log.target[cp][v] ||
			    log.frames[cp][v] != bv[v].target_mib)
				fail_msg("checkpoint %zu vm %zu: balance.h decides %llu, "
					 "the simulator %llu and holds %llu", cp, v,
					 (unsigned long long)bv[v].target_mib,
					 (unsigned long long)log.target[cp][v],
					 (unsigned long long)log.frames[cp][v]);
			brute_resize(&lru[v], bv[v].target_mib);
		}
	}
	for (v = 0; v < CAGMA_VMS; v++) {
		for (k = t; k < steps; k++)
			misses[v] += !brute_access(&lru[v], in.vms[v].refs[k]);
		assert_int_equal(res.vms[v].misses, misses[v]);
		assert_int_equal(res.vms[v].frames_final, lru[v].cap);
		free(lru[v].stack);
		free(seen[v]);
	}
	/* the run moved frames: the phases are seen */
	assert_true(res.moved > 0);
	mb_sim_result_free(&res);
	mb_sim_input_free(&in);
}

static void policy_names_round_trip(void **state)
{
	enum mb_sim_policy p;

	(void)state;
	assert_int_equal(mb_sim_policy_parse("last-n", &p), 0);
	assert_int_equal(p, MB_SIM_LAST_N);
	assert_string_equal(mb_sim_policy_name(MB_SIM_MEB), "meb");
	assert_int_equal(mb_sim_policy_parse("lru", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_rand_is_glibc_rand_never_seeded),
		cmocka_unit_test(seed_share_is_single_precision),
		cmocka_unit_test(faithful_reproduces_table_2),
		cmocka_unit_test(faithful_reproduces_table_1),
		cmocka_unit_test(faithful_first_allocation_and_frames),
		cmocka_unit_test(faithful_refuses_what_the_seed_cannot_run),
		cmocka_unit_test(dat_errors_name_line_and_field),
		cmocka_unit_test(dat_parses_and_numbers_pages_densely),
		cmocka_unit_test(pagetrace_reads_in_any_pieces),
		cmocka_unit_test(pagetrace_errors_name_the_line),
		cmocka_unit_test(phases_parse_and_generate_deterministically),
		cmocka_unit_test(lru_equals_brute_force_with_resizes),
		cmocka_unit_test(mrc_distances_by_hand),
		cmocka_unit_test(mrc_equals_brute_force_at_every_size),
		cmocka_unit_test(mrc_equals_brute_force_on_a_real_trace),
		cmocka_unit_test(real_static_equals_brute_force_lru),
		cmocka_unit_test(real_policies_keep_frames_within_host_and_floor),
		cmocka_unit_test(cagma_decides_as_balance_h_on_independent_inputs),
		cmocka_unit_test(policy_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
