// SPDX-License-Identifier: GPL-2.0
/*
 * test_balance.c - the CMA and the per-host allocation of balance.h, the
 * code mb-controld's balance policy and `mbuddy balance-sim --policy
 * cagma` share: answers worked out by hand (the arithmetic is in the
 * comments), the failure modes, and the bounds on random hosts (never
 * below the floor, never above the maximum, the sum never above capacity
 * less reserve, nobody taken below min(CMA, current) while that fits).
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

static struct mb_vm_observed observed(double used, double committed,
				      double swapin, double majfault,
				      double psi, double current)
{
	struct mb_vm_observed o = { used, committed, swapin, majfault, psi, current };

	return o;
}

static void cma_idle_vm_is_used_plus_commit_share_plus_reserve(void **state)
{
	struct mb_cma_params p;
	struct mb_cma_parts parts;
	struct mb_vm_observed o = observed(300, 500, 0, 0, 0, 1024);

	(void)state;
	mb_cma_defaults(&p);
	/* 300 + 0.25 * (500 - 300) = 350; reserve max(64, 17.5) = 64 */
	assert_int_equal(mb_cma(&o, &p, &parts), 414);
	assert_true(parts.used == 300 && parts.commit == 50);
	assert_true(parts.shortfall == 0 && parts.pressure == 0);
	assert_true(parts.reserve == 64);
}

static void cma_swapping_vm_counts_the_larger_of_faults_and_stall(void **state)
{
	struct mb_cma_params p;
	struct mb_cma_parts parts;
	/* swap-in 500/s, major faults 800/s (they include swap-ins), 20 % stalled */
	struct mb_vm_observed o = observed(1000, 1200, 500, 800, 20, 1024);

	(void)state;
	mb_cma_defaults(&p);
	/*
	 * base 1000 + 0.25 * 200 = 1050; shortfall 800 pages/s * 4 KiB *
	 * 10 s = 31.25 MiB; pressure 0.5 * 0.20 * 1024 = 102.4; the larger
	 * counts: 1050 + 102.4 + max(64, 52.5) = 1216.4 -> 1217.
	 */
	assert_int_equal(mb_cma(&o, &p, &parts), 1217);
	assert_true(fabs(parts.shortfall - 31.25) < 1e-9);
	assert_true(fabs(parts.pressure - 102.4) < 1e-9);
	/* without PSI the faults decide: 1050 + 31.25 + 64 -> 1146 */
	o.psi_some_avg10 = 0;
	assert_int_equal(mb_cma(&o, &p, NULL), 1146);
	/* PSI under the threshold is noise */
	o.psi_some_avg10 = 0.5;
	assert_int_equal(mb_cma(&o, &p, NULL), 1146);
}

static void cma_shortfall_is_capped_at_half_the_current_size(void **state)
{
	struct mb_cma_params p;
	struct mb_vm_observed o = observed(1024, NAN, 1e6, 0, 0, 1024);

	(void)state;
	mb_cma_defaults(&p);
	/* 1024 + min(39062.5, 512) + max(64, 51.2) = 1600 */
	assert_int_equal(mb_cma(&o, &p, NULL), 1600);
}

static void cma_unknown_values_count_nothing_but_used_falls_back(void **state)
{
	struct mb_cma_params p;
	/* libvirt balloon stats only: nothing but the current size */
	struct mb_vm_observed o = observed(NAN, NAN, NAN, NAN, NAN, 2048);

	(void)state;
	mb_cma_defaults(&p);
	/* used := current 2048; reserve max(64, 102.4): 2150.4 -> 2151 */
	assert_int_equal(mb_cma(&o, &p, NULL), 2151);
	/* negative observations count as 0; the minimum holds */
	o = observed(-5, -1, -3, -3, -50, 10);
	assert_int_equal(mb_cma(&o, &p, NULL), 128);
	/* a tiny VM gets the minimum CMA: 10 + 64 < 128 */
	o = observed(10, 10, 0, 0, 0, 512);
	assert_int_equal(mb_cma(&o, &p, NULL), 128);
}

static void cma_page_size_scales_the_fault_rate(void **state)
{
	struct mb_cma_params p;
	struct mb_vm_observed o = observed(100, 100, 3, 0, 0, 200);

	(void)state;
	mb_cma_defaults(&p);
	p.page_kib = 1024;	/* the simulator: a page is a 1 MiB frame */
	p.reserve_mib = 2;
	p.min_mib = 2;
	/* 100 + min(3 * 1 MiB * 10 s = 30, 100) + max(2, 5) = 135 */
	assert_int_equal(mb_cma(&o, &p, NULL), 135);
}

static void vm(struct mb_balance_vm *v, uint64_t cma, uint64_t floor,
	       uint64_t max, uint64_t current, double fault, double psi,
	       uint64_t misses)
{
	memset(v, 0, sizeof(*v));
	v->cma_mib = cma;
	v->floor_mib = floor;
	v->max_mib = max;
	v->current_mib = current;
	v->fault_rate = fault;
	v->psi_some_avg10 = psi;
	v->recent_misses = misses;
}

static void expect_targets(const struct mb_balance_vm *v, size_t n,
			   const uint64_t *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].target_mib != want[i])
			fail_msg("vm %zu: expected target %llu MiB, got %llu (%s)",
				 i, (unsigned long long)want[i],
				 (unsigned long long)v[i].target_mib, v[i].reason);
}

/*
 * vm0 CMA 1000 at 1024, vm1 CMA 1500 (max 2048) at 1024 and swapping,
 * vm2 CMA 500 at 2048; 4096 MiB. Guarantees 1000 + 1500 + 500 = 3000,
 * 1096 left: the swapping vm1 fills to its max (+548); the other 548 by
 * CMA among those with room: vm0 floor(548 * 1000/1500) = 365, vm2 182,
 * the last MiB to the heaviest with room, vm0. Wants 1366, 2048, 682.
 * vm2 would shrink by a quarter of 1366 (342) to 1706, but vm1 swaps
 * below its CMA and needs 476 MiB: vm2 goes to 682 at once, vm1 grows
 * 1024 first (needy, below CMA), vm0 takes the last 342.
 */
static void allocate_swapping_vm_first_and_shrink_at_once_for_it(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 4096, .reserve_mib = 0 };
	struct mb_balance_params p;
	struct mb_balance_vm v[3];
	static const uint64_t want[3] = { 1366, 2048, 682 };
	struct mb_err err;

	(void)state;
	mb_balance_defaults(&p);
	vm(&v[0], 1000, 256, 4096, 1024, 0, 0, 0);
	vm(&v[1], 1500, 256, 2048, 1024, 100, 0, 0);
	vm(&v[2], 500, 256, 4096, 2048, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 3, MB_BALANCE_CAGMA, &p, &err), 0);
	assert_int_equal(v[0].want_mib, 1366);
	assert_int_equal(v[1].want_mib, 2048);
	assert_int_equal(v[2].want_mib, 682);
	expect_targets(v, 3, want);
	assert_int_equal(v[1].action, MB_BALANCE_GROW);
	assert_int_equal(v[2].action, MB_BALANCE_SHRINK);
	assert_true(v[1].needy && !v[0].needy);
	assert_non_null(strstr(v[1].reason, "swapping"));
	assert_non_null(strstr(v[2].reason, "at once"));
	assert_int_equal(host.cma_sum, 3000);
	assert_int_equal(host.target_sum, 4096);
	assert_false(host.hotspot);
}

/*
 * The same without the swapping: the same wants, but vm2 shrinks
 * gradually (2048 - 342 = 1706), which frees 342 MiB: vm1, below its
 * CMA, gets them; vm0, above its CMA, waits.
 */
static void allocate_gradual_shrink_feeds_the_vm_below_its_cma(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 4096, .reserve_mib = 0 };
	struct mb_balance_params p;
	struct mb_balance_vm v[3];
	static const uint64_t want[3] = { 1024, 1366, 1706 };

	(void)state;
	mb_balance_defaults(&p);
	vm(&v[0], 1000, 256, 4096, 1024, 0, 0, 0);
	vm(&v[1], 1500, 256, 2048, 1024, 0, 0, 0);
	vm(&v[2], 500, 256, 4096, 2048, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 3, MB_BALANCE_CAGMA, &p, NULL), 0);
	assert_int_equal(v[0].want_mib, 1366);
	expect_targets(v, 3, want);
	assert_non_null(strstr(v[0].reason, "waiting"));
	assert_non_null(strstr(v[1].reason, "all that is free"));
	assert_non_null(strstr(v[2].reason, "25 %"));
}

/* Two VMs of CMA 1500 on 2048 MiB: a hotspot; both keep their 1024. */
static void allocate_hotspot_keeps_what_vms_hold(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 2048, .reserve_mib = 0 };
	struct mb_balance_params p;
	struct mb_balance_vm v[2];
	static const uint64_t want[2] = { 1024, 1024 };

	(void)state;
	mb_balance_defaults(&p);
	vm(&v[0], 1500, 256, 4096, 1024, 0, 0, 0);
	vm(&v[1], 1500, 256, 4096, 1024, 50, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 2, MB_BALANCE_CAGMA, &p, NULL), 0);
	expect_targets(v, 2, want);
	assert_true(host.hotspot);
	assert_false(host.overcommitted);
}

/*
 * Capacity cut to 1500 under two VMs of 1024: even min(CMA, current)
 * does not fit; both are cut toward their floors of 256 in proportion to
 * what they hold above them (768 each): 256 + 494 = 750 each, at once.
 */
static void allocate_overcommitted_host_cuts_everybody_at_once(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 1500, .reserve_mib = 0 };
	struct mb_balance_params p;
	struct mb_balance_vm v[2];
	static const uint64_t want[2] = { 750, 750 };

	(void)state;
	mb_balance_defaults(&p);
	vm(&v[0], 1500, 256, 4096, 1024, 0, 0, 0);
	vm(&v[1], 1500, 256, 4096, 1024, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 2, MB_BALANCE_CAGMA, &p, NULL), 0);
	expect_targets(v, 2, want);
	assert_true(host.overcommitted && host.hotspot);
	assert_non_null(strstr(v[0].reason, "over capacity"));
}

/*
 * Proportional: CMAs of 500 take 1500 of 3000; the other 1500 in
 * proportion to misses 100 : 300 : 0 = 375, 1125, 0. Wants 875, 1625,
 * 500. vm0 shrinks by max(ceil(125/4), 16) = 32 to 968, vm2 by 125 to 875,
 * which leaves 157 for vm1.
 */
static void allocate_proportional_follows_recent_misses(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 3000, .reserve_mib = 0 };
	struct mb_balance_params p;
	struct mb_balance_vm v[3];
	static const uint64_t want[3] = { 968, 1157, 875 };

	(void)state;
	mb_balance_defaults(&p);
	vm(&v[0], 500, 100, 3000, 1000, 0, 0, 100);
	vm(&v[1], 500, 100, 3000, 1000, 0, 0, 300);
	vm(&v[2], 500, 100, 3000, 1000, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 3, MB_BALANCE_PROPORTIONAL, &p, NULL), 0);
	assert_int_equal(v[0].want_mib, 875);
	assert_int_equal(v[1].want_mib, 1625);
	assert_int_equal(v[2].want_mib, 500);
	expect_targets(v, 3, want);
}

/* Changes under a step are not made; the reserve is kept free. */
static void allocate_small_changes_skipped_reserve_kept(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 2000, .reserve_mib = 100 };
	struct mb_balance_params p;
	struct mb_balance_vm v[2];
	static const uint64_t want[2] = { 950, 940 };

	(void)state;
	mb_balance_defaults(&p);
	/* wants 950 each (1900 by CMA 950:950): vm0 there, vm1 10 below: kept */
	vm(&v[0], 950, 100, 2000, 950, 0, 0, 0);
	vm(&v[1], 950, 100, 2000, 940, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 2, MB_BALANCE_CAGMA, &p, NULL), 0);
	expect_targets(v, 2, want);
	assert_non_null(strstr(v[1].reason, "step"));
	assert_true(host.target_sum <= 1900);
}

static void allocate_rejects_bounds_that_cannot_hold(void **state)
{
	struct mb_balance_host host = { .capacity_mib = 1000, .reserve_mib = 0 };
	struct mb_balance_params p;
	struct mb_balance_vm v[2];
	struct mb_err err;

	(void)state;
	mb_balance_defaults(&p);
	vm(&v[0], 100, 600, 500, 550, 0, 0, 0);
	vm(&v[1], 100, 100, 500, 100, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 2, MB_BALANCE_CAGMA, &p, &err), -1);
	assert_non_null(strstr(err.msg, "vm 0: floor of 600 MiB is above its maximum of 500"));
	vm(&v[0], 100, 600, 900, 600, 0, 0, 0);
	vm(&v[1], 100, 500, 900, 500, 0, 0, 0);
	assert_int_equal(mb_balance_allocate(&host, v, 2, MB_BALANCE_CAGMA, &p, &err), -1);
	assert_non_null(strstr(err.msg, "floors add up to 1100 MiB"));
	host.reserve_mib = 2000;
	assert_int_equal(mb_balance_allocate(&host, v, 2, MB_BALANCE_CAGMA, &p, &err), -1);
	assert_non_null(strstr(err.msg, "reserve of 2000 MiB"));
	host.reserve_mib = 0;
	assert_int_equal(mb_balance_allocate(&host, v, 0, MB_BALANCE_CAGMA, &p, &err), 0);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return n ? *s % n : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Random hosts, both modes: the bounds hold every time. */
static void allocate_bounds_hold_on_random_hosts(void **state)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	struct mb_balance_params p;
	struct mb_err err;
	int iter, checked_cma = 0;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		struct mb_balance_vm v[12], again[12];
		struct mb_balance_host host, host2;
		size_t n = 1 + rnd(&s, 12), i;
		uint64_t floors = 0, sum = 0, keep = 0;
		enum mb_balance_mode mode = rnd(&s, 2) ? MB_BALANCE_CAGMA :
						      MB_BALANCE_PROPORTIONAL;

		mb_balance_defaults(&p);
		p.step_mib = rnd(&s, 64);
		p.shrink_fraction = (double)rnd(&s, 101) / 100;
		for (i = 0; i < n; i++) {
			uint64_t floor = rnd(&s, 512), max = floor + rnd(&s, 8192);
			uint64_t cur = rnd(&s, 10) ? floor + rnd(&s, max - floor + 1) :
					rnd(&s, max * 2 + 1);

			vm(&v[i], rnd(&s, 3) ? rnd(&s, 9000) : 0, floor, max, cur,
			   rnd(&s, 3) ? 0 : (double)rnd(&s, 5000),
			   rnd(&s, 3) ? 0 : (double)rnd(&s, 101),
			   rnd(&s, 1000000));
			floors += floor;
		}
		host.capacity_mib = floors + rnd(&s, 40000);
		host.reserve_mib = rnd(&s, 4) ? 0 : rnd(&s, host.capacity_mib - floors + 1);
		memcpy(again, v, sizeof(v));
		if (mb_balance_allocate(&host, v, n, mode, &p, &err))
			fail_msg("iteration %d: %s", iter, err.msg);
		for (i = 0; i < n; i++) {
			uint64_t guard = v[i].cma_mib < v[i].max_mib ? v[i].cma_mib :
					 v[i].max_mib;

			if (guard < v[i].floor_mib)
				guard = v[i].floor_mib;
			if (v[i].target_mib < v[i].floor_mib || v[i].target_mib > v[i].max_mib)
				fail_msg("iteration %d vm %zu: target %llu outside "
					 "[%llu, %llu]", iter, i,
					 (unsigned long long)v[i].target_mib,
					 (unsigned long long)v[i].floor_mib,
					 (unsigned long long)v[i].max_mib);
			sum += v[i].target_mib;
			keep += v[i].floor_mib > min_u64(guard, v[i].current_mib) ?
				v[i].floor_mib : min_u64(guard, v[i].current_mib);
		}
		if (sum > host.capacity_mib - host.reserve_mib)
			fail_msg("iteration %d: targets add up to %llu, more than "
				 "%llu - %llu", iter, (unsigned long long)sum,
				 (unsigned long long)host.capacity_mib,
				 (unsigned long long)host.reserve_mib);
		assert_int_equal(sum, host.target_sum);
		/* nobody below min(CMA, current) while all of those fit */
		if (keep <= host.capacity_mib - host.reserve_mib) {
			checked_cma++;
			for (i = 0; i < n; i++) {
				uint64_t guard = min_u64(v[i].cma_mib, v[i].max_mib);
				uint64_t least = min_u64(guard, min_u64(v[i].current_mib,
									v[i].max_mib));

				if (v[i].target_mib < least)
					fail_msg("iteration %d vm %zu: target %llu "
						 "below min(CMA, current) %llu", iter,
						 i, (unsigned long long)v[i].target_mib,
						 (unsigned long long)least);
			}
		}
		/* the same inputs, the same decisions */
		host2.capacity_mib = host.capacity_mib;
		host2.reserve_mib = host.reserve_mib;
		assert_int_equal(mb_balance_allocate(&host2, again, n, mode, &p, NULL), 0);
		for (i = 0; i < n; i++)
			assert_int_equal(again[i].target_mib, v[i].target_mib);
	}
	assert_true(checked_cma > 1000);
}

static void mode_names_round_trip(void **state)
{
	enum mb_balance_mode m;

	(void)state;
	assert_int_equal(mb_balance_mode_parse("cagma", &m), 0);
	assert_int_equal(m, MB_BALANCE_CAGMA);
	assert_int_equal(mb_balance_mode_parse("proportional", &m), 0);
	assert_string_equal(mb_balance_mode_name(m), "proportional");
	assert_int_equal(mb_balance_mode_parse("off", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cma_idle_vm_is_used_plus_commit_share_plus_reserve),
		cmocka_unit_test(cma_swapping_vm_counts_the_larger_of_faults_and_stall),
		cmocka_unit_test(cma_shortfall_is_capped_at_half_the_current_size),
		cmocka_unit_test(cma_unknown_values_count_nothing_but_used_falls_back),
		cmocka_unit_test(cma_page_size_scales_the_fault_rate),
		cmocka_unit_test(allocate_swapping_vm_first_and_shrink_at_once_for_it),
		cmocka_unit_test(allocate_gradual_shrink_feeds_the_vm_below_its_cma),
		cmocka_unit_test(allocate_hotspot_keeps_what_vms_hold),
		cmocka_unit_test(allocate_overcommitted_host_cuts_everybody_at_once),
		cmocka_unit_test(allocate_proportional_follows_recent_misses),
		cmocka_unit_test(allocate_small_changes_skipped_reserve_kept),
		cmocka_unit_test(allocate_rejects_bounds_that_cannot_hold),
		cmocka_unit_test(allocate_bounds_hold_on_random_hosts),
		cmocka_unit_test(mode_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
