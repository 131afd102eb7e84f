// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_plan.c - mb-controld's planner (controld/plan.c and the
 * policies it runs) on hand-made VMs whose sharing is known exactly, and
 * the --host spec parser (controld/hostspec.c). Each VM has 256 pages
 * (1 MiB) of consecutive digests, so two VMs share exactly the overlap of
 * their ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inventory.h"
#include "plan.h"

static void range_set(struct mb_digest_set *s, uint64_t from, uint64_t n)
{
	uint64_t *d = malloc(n * sizeof(uint64_t)), i;

	assert_non_null(d);
	for (i = 0; i < n; i++)
		d[i] = from + i;
	assert_int_equal(mb_set_from_digests(s, d, n, MB_ALGO_XXH64, "v", NULL), 0);
	free(d);
}

/* g1, g2 on host a; g3 on host b. g3 holds g1's pages, g2 others. */
struct three {
	struct mb_digest_set s[3];
	struct plan_host hosts[2];
	struct plan_vm vms[3];
	struct plan_opts o;
	struct plan_result r;
};

static void three_init(struct three *t, uint64_t g3_from, double cap_a,
		       double cap_b)
{
	static const char *names[] = { "g1", "g2", "g3" };
	static const int host[] = { 0, 0, 1 };
	size_t i;

	memset(t, 0, sizeof(*t));
	range_set(&t->s[0], 0, 256);
	range_set(&t->s[1], 10000, 256);
	range_set(&t->s[2], g3_from, 256);
	t->hosts[0] = (struct plan_host){ .name = "a", .capacity_mb = cap_a };
	t->hosts[1] = (struct plan_host){ .name = "b", .capacity_mb = cap_b };
	for (i = 0; i < 3; i++)
		t->vms[i] = (struct plan_vm){ names[i], names[i], 1.0, host[i],
					      &t->s[i], -1, NULL };
	t->o = (struct plan_opts){ .min_gain_mb = 0.5, .max_moves = 4,
				   .swap_threshold = 100 };
}

static void three_free(struct three *t)
{
	size_t i;

	plan_result_free(&t->r);
	for (i = 0; i < 3; i++)
		mb_set_free(&t->s[i]);
}

static void plan(struct three *t)
{
	struct mb_err err;

	assert_int_equal(plan_compute(t->hosts, 2, t->vms, 3, &t->o, &t->r,
				      &err), 0);
}

/* The colocation the definitions predict: g3 joins g1, saving 1 MiB. */
static void test_colocates_buddies(void **state)
{
	struct three t;

	(void)state;
	three_init(&t, 0, 10, 10);
	plan(&t);
	assert_int_equal(t.r.nactions, 1);
	assert_int_equal(t.r.actions[0].vm, 2);
	assert_int_equal(t.r.actions[0].from, 1);
	assert_int_equal(t.r.actions[0].to, 0);
	assert_false(t.r.actions[0].hotspot);
	assert_true(t.r.actions[0].gain_mb > 0.999 && t.r.actions[0].gain_mb < 1.001);
	assert_true(t.r.saved_mb > 0.999 && t.r.saved_mb < 1.001);
	assert_true(t.r.before_mb[0] > 1.999 && t.r.before_mb[0] < 2.001);
	assert_true(t.r.after_mb[0] > 1.999 && t.r.after_mb[0] < 2.001);
	assert_true(t.r.after_mb[1] < 0.001);
	three_free(&t);
}

/* A gain below --min-gain-mb is reported as skipped, not planned. */
static void test_min_gain(void **state)
{
	struct three t;

	(void)state;
	three_init(&t, 0, 10, 10);
	t.o.min_gain_mb = 2;
	plan(&t);
	assert_int_equal(t.r.nactions, 0);
	assert_int_equal(t.r.nskipped, 1);
	assert_int_equal(t.r.skipped[0].vm, 2);
	assert_non_null(strstr(t.r.skipped[0].reason, "min-gain-mb"));
	three_free(&t);
}

/* --max-moves 0 plans nothing; a pinned VM never moves. */
static void test_limits_and_pins(void **state)
{
	struct three t;

	(void)state;
	three_init(&t, 0, 10, 10);
	t.o.max_moves = 0;
	plan(&t);
	assert_int_equal(t.r.nactions, 0);
	three_free(&t);

	three_init(&t, 0, 10, 10);
	t.vms[2].pinned = "its last migration failed";
	plan(&t);
	assert_int_equal(t.r.nactions, 0);
	assert_int_equal(t.r.nskipped, 1);
	assert_string_equal(t.r.skipped[0].reason, "its last migration failed");
	three_free(&t);
}

/* Nothing is moved onto a host it does not fit. */
static void test_capacity(void **state)
{
	struct three t;

	(void)state;
	/* g3 shares nothing: all three on a would need 3 MiB of 2.5. */
	three_init(&t, 50000, 2.5, 2.5);
	plan(&t);
	assert_int_equal(t.r.nactions, 0);
	three_free(&t);
}

/* An over-full host gives up the VM that gains most elsewhere, first. */
static void test_hotspot_capacity(void **state)
{
	struct three t;

	(void)state;
	three_init(&t, 0, 1.5, 10);
	plan(&t);
	assert_true(t.r.nactions >= 1);
	assert_true(t.r.actions[0].hotspot);
	assert_int_equal(t.r.actions[0].vm, 0);	/* g1 shares with g3 on b */
	assert_int_equal(t.r.actions[0].to, 1);
	assert_non_null(strstr(t.r.actions[0].reason, "uses"));
	assert_true(t.r.after_mb[0] <= 1.5);
	three_free(&t);
}

/* A guest swapping above the threshold makes its host a hotspot. */
static void test_hotspot_swap(void **state)
{
	struct three t;

	(void)state;
	three_init(&t, 0, 10, 10);
	t.o.min_gain_mb = 100;		/* no consolidation move */
	t.vms[1].swap_rate = 500;
	plan(&t);
	assert_int_equal(t.r.nactions, 1);
	assert_true(t.r.actions[0].hotspot);
	assert_int_equal(t.r.actions[0].vm, 0);
	assert_non_null(strstr(t.r.actions[0].reason, "g2 swaps 500"));
	three_free(&t);

	three_init(&t, 0, 10, 10);
	t.o.min_gain_mb = 100;
	t.vms[1].swap_rate = 50;	/* below the threshold */
	plan(&t);
	assert_int_equal(t.r.nactions, 0);
	three_free(&t);
}

/* With balancing, a host whose VMs' CMAs exceed its capacity is a hotspot. */
static void test_hotspot_cma(void **state)
{
	struct three t;

	(void)state;
	three_init(&t, 0, 10, 10);
	t.o.min_gain_mb = 100;		/* no consolidation move */
	t.hosts[0].cma_sum_mb = 12;	/* over a's 10 MiB */
	plan(&t);
	assert_int_equal(t.r.nactions, 1);
	assert_true(t.r.actions[0].hotspot);
	assert_int_equal(t.r.actions[0].from, 0);
	assert_string_equal(t.r.actions[0].policy, "hotspot");
	assert_non_null(strstr(t.r.actions[0].reason,
			       "memory hotspot: the CMAs on a add up to 12"));
	three_free(&t);

	three_init(&t, 0, 10, 10);
	t.o.min_gain_mb = 100;
	t.hosts[0].cma_sum_mb = 9;	/* within */
	plan(&t);
	assert_int_equal(t.r.nactions, 0);
	three_free(&t);
}

static void test_host_spec(void **state)
{
	struct inv_host_spec h;
	struct mb_err err;

	(void)state;
	assert_int_equal(inv_parse_host("a,qemu+tcp://a/system", &h, &err), 0);
	assert_string_equal(h.name, "a");
	assert_string_equal(h.uri, "qemu+tcp://a/system");
	assert_true(h.capacity_mb == 0 && h.reserve_mb == 0);
	assert_int_equal(inv_parse_host("h-2,qemu+unix:///session?socket=/x/s,"
					"capacity=2048,reserve=256.5,"
					"migrate-uri=tcp://10.0.0.2:49152",
					&h, &err), 0);
	assert_true(h.capacity_mb == 2048 && h.reserve_mb == 256.5);
	assert_string_equal(h.uri, "qemu+unix:///session?socket=/x/s");
	assert_string_equal(h.migrate_uri, "tcp://10.0.0.2:49152");
	assert_int_equal(inv_parse_host("a", &h, &err), -1);
	assert_non_null(strstr(err.msg, "NAME,URI"));
	assert_int_equal(inv_parse_host("a,notauri", &h, &err), -1);
	assert_int_equal(inv_parse_host("a b,qemu:///system", &h, &err), -1);
	assert_int_equal(inv_parse_host("a,qemu:///system,capacity=lots", &h,
					&err), -1);
	assert_non_null(strstr(err.msg, "capacity"));
	assert_int_equal(inv_parse_host("a,qemu:///system,colour=red", &h,
					&err), -1);
	assert_non_null(strstr(err.msg, "colour"));
	assert_int_equal(inv_parse_host("x,xen+ssh://x/system,balloon=xenctrl",
					&h, &err), 0);
	assert_true(h.xen_balloon);
	assert_int_equal(inv_parse_host("a,qemu:///system,balloon=magic", &h,
					&err), -1);
	assert_non_null(strstr(err.msg, "libvirt or xenctrl"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_colocates_buddies),
		cmocka_unit_test(test_min_gain),
		cmocka_unit_test(test_limits_and_pins),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_hotspot_capacity),
		cmocka_unit_test(test_hotspot_swap),
		cmocka_unit_test(test_hotspot_cma),
		cmocka_unit_test(test_host_spec),
	};

	return cmocka_run_group_tests_name("controld_plan", tests, NULL, NULL);
}
