// SPDX-License-Identifier: GPL-2.0
/*
 * test_hotspot.c - Sandpiper's detector and mitigation
 * (heuristics/hotspot.c) on known series and small known clusters: the
 * AR forecast, k of n, volume and VSR, a move, a swap with its staging
 * order, a cluster with no solution, pinned (held-off) VMs, and the
 * tracker over rounds with its hold-off.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hotspot.h"

static void test_ar_forecast(void **state)
{
	double x[40], flat[6] = { 0.4, 0.4, 0.4, 0.4, 0.4, 0.4 };
	double two[2] = { 0.1, 0.9 }, p;
	size_t i;

	(void)state;
	/* Alternating around 0.5: phi near -1, the next one swings back. */
	for (i = 0; i < 40; i++)
		x[i] = i % 2 ? 0.7 : 0.3;
	p = mb_ar_predict(x, 40, 12, 1);
	assert_true(p < 0.4);		/* the last was 0.7 */
	/* Decaying toward 0.5 from above, phi positive: stays above 0.5. */
	x[0] = 0.9;
	for (i = 1; i < 12; i++)
		x[i] = 0.5 + 0.8 * (x[i - 1] - 0.5);
	p = mb_ar_predict(x, 12, 12, 1);
	assert_true(p > 0.5 && p < x[11] + 0.2);
	/* A flat series stays flat; too short a one repeats its last value. */
	assert_true(fabs(mb_ar_predict(flat, 6, 12, 1) - 0.4) < 1e-12);
	assert_true(mb_ar_predict(two, 2, 12, 1) == 0.9);
	/* A rising series is predicted to stay high. */
	{
		double up[8] = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8 };

		assert_true(mb_ar_predict(up, 8, 8, 1) > 0.6);
		assert_true(mb_ar_predict(up, 8, 8, 2) > 0.6);
	}
	/* NaNs are skipped. */
	{
		double gaps[5] = { NAN, 0.5, NAN, 0.5, 0.5 };

		assert_true(fabs(mb_ar_predict(gaps, 5, 12, 1) - 0.5) < 1e-12);
	}
}

static void test_k_of_n(void **state)
{
	struct mb_hotspot_params p;
	struct mb_hot_verdict v;
	double hot[8] = { 0.2, 0.3, 0.5, 0.8, 0.9, 0.7, 0.85, 0.9 };
	double two[8] = { 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.9, 0.95 };
	double falling[8] = { 0.95, 0.95, 0.95, 0.95, 0.9, 0.8, 0.4, 0.1 };

	(void)state;
	mb_hotspot_defaults(&p);
	assert_int_equal(p.k, 3);
	assert_int_equal(p.n, 5);
	mb_hot_check(hot, 8, 0.75, &p, &v);
	assert_true(v.hot);
	assert_int_equal(v.over, 4);
	assert_int_equal(v.seen, 5);
	mb_hot_check(two, 8, 0.75, &p, &v);
	assert_false(v.hot);		/* 2 of 5 */
	assert_int_equal(v.over, 2);
	mb_hot_check(falling, 8, 0.75, &p, &v);
	assert_int_equal(v.over, 3);	/* 3 of 5 over, but falling */
	assert_true(v.predicted < 0.75);
	assert_false(v.hot);
}

static void test_volume_vsr(void **state)
{
	struct mb_hs_vm v = { .name = "v", .memory_mb = 512 };

	(void)state;
	assert_true(fabs(mb_volume(0.5, 0, 0) - 2) < 1e-12);
	assert_true(fabs(mb_volume(0.5, 0.5, 0.5) - 8) < 1e-12);
	assert_true(fabs(mb_volume(0, 0, 0) - 1) < 1e-12);
	assert_true(mb_volume(1.5, 0, 0) <= 100.0 + 1e-9);	/* capped */
	v.peak[MB_RES_CPU] = 0.5;
	v.peak[MB_RES_MEM] = 0.5;
	assert_true(fabs(mb_hs_vm_volume(&v) - 4) < 1e-12);
	assert_true(fabs(mb_hs_vsr(&v) - 4.0 / 512) < 1e-12);
}

static struct mb_hs_vm vm(const char *name, int host, double cpu,
			  double mem_mb)
{
	struct mb_hs_vm v = { .name = name, .host = host,
			      .memory_mb = mem_mb };

	v.mean[MB_RES_CPU] = v.peak[MB_RES_CPU] = cpu;
	return v;
}

static struct mb_hs_host host(const char *name, double cores, double mem_mb)
{
	struct mb_hs_host h = { .name = name };

	h.capacity[MB_RES_CPU] = cores;
	h.capacity[MB_RES_NET] = 1000;
	h.capacity[MB_RES_MEM] = mem_mb;
	return h;
}

/* The VM of largest VSR goes to the host of lowest volume. */
static void test_single_move(void **state)
{
	struct mb_hs_host h[3] = { host("h0", 4, 4096), host("h1", 4, 4096),
				   host("h2", 4, 4096) };
	struct mb_hs_vm v[4] = { vm("v0", 0, 0.5, 512), vm("v1", 0, 0.4, 512),
				 vm("v2", 1, 0.3, 512), vm("v3", 2, 0.1, 512) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	mb_hs_mitigate(h, 3, v, 4, &p, NULL, NULL, &r);
	assert_false(r.unresolved);
	assert_int_equal(r.nmoves, 1);
	assert_int_equal(r.moves[0].vm, 0);
	assert_int_equal(r.moves[0].to, 2);
	assert_false(r.moves[0].swap);
	assert_non_null(strstr(r.moves[0].reason, "cpu hotspot on h0"));
}

/* Ties in volume are broken by sharing. */
static double prefer_h1(void *ctx, size_t v, int h)
{
	(void)ctx;
	(void)v;
	return h == 1 ? 100 : 0;
}

static void test_sharing_breaks_ties(void **state)
{
	struct mb_hs_host h[3] = { host("h0", 4, 4096), host("h1", 4, 4096),
				   host("h2", 4, 4096) };
	struct mb_hs_vm v[4] = { vm("v0", 0, 0.5, 512), vm("v1", 0, 0.4, 512),
				 vm("v2", 1, 0.1, 512), vm("v3", 2, 0.1, 512) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	mb_hs_mitigate(h, 3, v, 4, &p, NULL, NULL, &r);
	assert_int_equal(r.moves[0].to, 1);	/* equal: the first */
	mb_hs_mitigate(h, 3, v, 4, &p, prefer_h1, NULL, &r);
	assert_int_equal(r.moves[0].to, 1);
	v[2].mean[MB_RES_CPU] = v[2].peak[MB_RES_CPU] = 0.11;	/* still a tie */
	mb_hs_mitigate(h, 3, v, 4, &p, NULL, NULL, &r);
	assert_int_equal(r.moves[0].to, 2);	/* lowest volume */
	mb_hs_mitigate(h, 3, v, 4, &p, prefer_h1, NULL, &r);
	assert_int_equal(r.moves[0].to, 1);	/* sharing wins the tie */
}

/*
 * No single move fits (h1's memory is full), a swap does: v0 for v2,
 * the coldest (lowest VSR). h0 has room for v2 while v0 is still there,
 * so v2 goes first.
 */
static void test_swap(void **state)
{
	struct mb_hs_host h[2] = { host("h0", 4, 1400), host("h1", 4, 1000) };
	struct mb_hs_vm v[4] = { vm("v0", 0, 0.6, 400), vm("v1", 0, 0.3, 300),
				 vm("v2", 1, 0.1, 600), vm("v3", 1, 0.05, 300) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	mb_hs_mitigate(h, 2, v, 4, &p, NULL, NULL, &r);
	assert_false(r.unresolved);
	assert_int_equal(r.nmoves, 2);
	assert_true(r.moves[0].swap && r.moves[1].swap);
	assert_int_equal(r.moves[0].vm, 2);	/* the coldest (lowest VSR) first */
	assert_int_equal(r.moves[0].to, 0);
	assert_int_equal(r.moves[1].vm, 0);
	assert_int_equal(r.moves[1].to, 1);
	assert_non_null(strstr(r.moves[0].reason, "swaps with 1 colder VM"));
}

/*
 * A single move that does not relieve the host, then a swap: the swap is
 * of the hottest VM still there, never of the one that just left. v0
 * (the largest VSR) fits on h2 but h0 stays at 0.8 CPU; v1 and v4 fit
 * nowhere alone (CPU on h1, memory on h1 and h2); v1 swaps with h1's
 * coldest VM.
 */
static void test_move_then_swap(void **state)
{
	struct mb_hs_host h[3] = { host("h0", 4, 2000), host("h1", 4, 800),
				   host("h2", 4, 60) };
	struct mb_hs_vm v[5] = { vm("v0", 0, 0.1, 25), vm("v1", 0, 0.6, 400),
				 vm("v2", 1, 0.5, 500), vm("v3", 1, 0.02, 250),
				 vm("v4", 0, 0.2, 400) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;
	bool seen[5] = { false };
	size_t i;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	mb_hs_mitigate(h, 3, v, 5, &p, NULL, NULL, &r);
	assert_false(r.unresolved);
	assert_int_equal(r.nmoves, 3);
	assert_int_equal(r.moves[0].vm, 0);
	assert_false(r.moves[0].swap);
	for (i = 0; i < r.nmoves; i++) {
		assert_false(seen[r.moves[i].vm]);	/* no VM moves twice */
		seen[r.moves[i].vm] = true;
	}
	assert_true(r.moves[1].swap && r.moves[2].swap);
	assert_true(seen[1] && seen[2]);	/* v1 out, v2 in its place */
	assert_non_null(strstr(r.moves[1].reason, "v1 swaps with 1 colder VM of h1"));
}

/* Without spare memory on either side a swap cannot be staged: unresolved. */
static void test_no_solution(void **state)
{
	struct mb_hs_host h[2] = { host("h0", 4, 700), host("h1", 4, 900) };
	struct mb_hs_vm v[4] = { vm("v0", 0, 0.6, 400), vm("v1", 0, 0.3, 300),
				 vm("v2", 1, 0.1, 600), vm("v3", 1, 0.05, 300) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	mb_hs_mitigate(h, 2, v, 4, &p, NULL, NULL, &r);
	assert_true(r.unresolved);
	assert_int_equal(r.nmoves, 0);
	assert_non_null(strstr(r.why, "cpu hotspot on h0: no move or swap"));
}

/* A pinned VM (held off after its last migration) never moves. */
static void test_pinned(void **state)
{
	struct mb_hs_host h[3] = { host("h0", 4, 4096), host("h1", 4, 4096),
				   host("h2", 4, 4096) };
	struct mb_hs_vm v[4] = { vm("v0", 0, 0.5, 512), vm("v1", 0, 0.4, 512),
				 vm("v2", 1, 0.3, 512), vm("v3", 2, 0.1, 512) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	v[0].pinned = true;
	mb_hs_mitigate(h, 3, v, 4, &p, NULL, NULL, &r);
	assert_int_equal(r.nmoves, 1);
	assert_int_equal(r.moves[0].vm, 1);
	v[1].pinned = true;
	mb_hs_mitigate(h, 3, v, 4, &p, NULL, NULL, &r);
	assert_int_equal(r.nmoves, 0);
	assert_true(r.unresolved);
}

/* A utilisation counts on another host scaled by the capacities. */
static void test_capacity_scaling(void **state)
{
	struct mb_hs_host h[2] = { host("small", 2, 4096), host("big", 8, 4096) };
	struct mb_hs_vm v[3] = { vm("burner", 0, 0.6, 512),
				 vm("idle", 0, 0.2, 512), vm("there", 1, 0.6, 512) };
	struct mb_hotspot_params p;
	struct mb_hs_result r;

	(void)state;
	mb_hotspot_defaults(&p);
	h[0].hot[MB_RES_CPU] = true;
	/* burner: 1.2 of 2 cores = 0.15 of 8; big: 0.6 + 0.15 = 0.75 fits. */
	mb_hs_mitigate(h, 2, v, 3, &p, NULL, NULL, &r);
	assert_int_equal(r.nmoves, 1);
	assert_int_equal(r.moves[0].vm, 0);
	assert_int_equal(r.moves[0].to, 1);
}

/* One round of the tracker: hosts h0 (1 core) and h1 (4 cores), every VM
 * on its host with its CPU in cores. */
static bool tracker_round(struct mb_hs_tracker *t, const char *const *ids,
			  const char *const *hosts, const double *cores,
			  size_t n)
{
	static const double cap1[MB_RESOURCES] = { 1, 1000, 4096 };
	static const double cap4[MB_RESOURCES] = { 4, 1000, 4096 };
	struct mb_hs_reading rd;
	size_t i;

	mb_hs_round_begin(t);
	assert_int_equal(mb_hs_observe_host(t, "h0", cap1, true), 0);
	assert_int_equal(mb_hs_observe_host(t, "h1", cap4, true), 0);
	for (i = 0; i < n; i++) {
		mb_hs_reading_black(&rd, 100 * cores[i], NAN, NAN, 200, 512);
		assert_int_equal(mb_hs_observe_vm(t, ids[i], ids[i], hosts[i],
						  &rd, 512), 0);
	}
	return mb_hs_round_end(t);
}

struct held { const char *id; };

static bool held_pinned(void *ctx, const char *id)
{
	const struct held *h = ctx;

	return h->id && !strcmp(h->id, id);
}

/*
 * The tracker over rounds: hot only after k of n rounds over; a host
 * mitigated is not mitigated again within the hold-off (even while its
 * verdict stays hot, as when the migration has not ended), and after it
 * is; a VM the caller holds off is not moved, the next one is.
 */
static void test_tracker_holdoff(void **state)
{
	const char *ids[3] = { "burner", "idle", "there" };
	const char *on[3] = { "h0", "h0", "h1" };
	double cores[3] = { 0.1, 0.1, 0.2 };
	struct mb_hotspot_params p;
	struct mb_hs_tracker *t;
	struct mb_hs_result r;
	struct held held = { NULL };
	int i;

	(void)state;
	mb_hotspot_defaults(&p);
	t = mb_hs_tracker_new(&p, MB_HS_BLACK);
	assert_non_null(t);
	for (i = 0; i < 5; i++)
		assert_false(tracker_round(t, ids, on, cores, 3));
	assert_false(mb_hs_tracker_mitigate(t, 10, 60, NULL, NULL, NULL, &r));
	/* The burner starts: 0.9 + 0.1 of h0's core, 2 rounds over: not yet. */
	cores[0] = 0.9;
	assert_false(tracker_round(t, ids, on, cores, 3));
	assert_false(tracker_round(t, ids, on, cores, 3));
	/* The third: 3 of 5 over, and the forecast. */
	assert_true(tracker_round(t, ids, on, cores, 3));
	assert_true(mb_hs_tracker_mitigate(t, 20, 60, NULL, NULL, NULL, &r));
	assert_int_equal(r.nmoves, 1);
	assert_string_equal(mb_hs_vm_id(t, r.moves[0].vm), "burner");
	assert_string_equal(mb_hs_host_name(t, r.moves[0].to), "h1");
	assert_true(mb_hs_host_mitigated(t, 0) == 20);
	/* Still hot (the migration runs): no decision within the hold-off. */
	assert_true(tracker_round(t, ids, on, cores, 3));
	assert_false(mb_hs_tracker_mitigate(t, 50, 60, NULL, NULL, NULL, &r));
	assert_int_equal(r.nmoves, 0);
	assert_true(tracker_round(t, ids, on, cores, 3));
	/* Past it, due again; the burner held off, the idle VM moves. */
	held.id = "burner";
	assert_true(mb_hs_tracker_mitigate(t, 80, 60, held_pinned, NULL,
					   &held, &r));
	assert_int_equal(r.nmoves, 1);
	assert_string_equal(mb_hs_vm_id(t, r.moves[0].vm), "idle");
	mb_hs_tracker_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ar_forecast),
		cmocka_unit_test(test_k_of_n),
		cmocka_unit_test(test_volume_vsr),
		cmocka_unit_test(test_single_move),
		cmocka_unit_test(test_sharing_breaks_ties),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_move_then_swap),
		cmocka_unit_test(test_no_solution),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_capacity_scaling),
		cmocka_unit_test(test_tracker_holdoff),
	};

	return cmocka_run_group_tests_name("hotspot", tests, NULL, NULL);
}
