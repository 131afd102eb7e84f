// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_balance.c - the balance policy of mb-controld
 * (controld/policy_balance.c): known answers on one host, the emergency
 * boost, fixed VMs, the bounds on random hosts, and the same decisions as
 * `mbuddy balance-sim --policy cagma` makes on the same inputs (the
 * simulator's own checkpoints, replayed through the controller's path).
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

#include "policy_balance.h"
#include "sim.h"
#include "sim_input.h"

static struct balance_in_vm vm(const char *name, double used, double current,
			       double max, double swapin, double psi)
{
	struct balance_in_vm v = { .uuid = name, .name = name, .max_mb = max };

	v.obs = (struct mb_vm_observed){
		.used_mib = used, .committed_mib = NAN, .swapin_rate = swapin,
		.majfault_rate = swapin, .psi_some_avg10 = psi,
		.current_mib = current,
	};
	v.recent_misses = swapin * 10;
	return v;
}

static void decide(struct balance_in_vm *vms, size_t n, double capacity,
		   struct mb_balance_host *host, struct balance_out_vm *out)
{
	struct balance_in_host h = { "h1", capacity, n, vms };
	struct balance_settings s;
	struct mb_err err;

	balance_settings_init(&s, MB_BALANCE_CAGMA, 128);
	if (policy_balance(&h, &s, host, out, &err))
		fail_msg("policy_balance: %s", err.msg);
}

/* A VM swapping gets memory from the host's free memory at once. */
static void test_swapping_vm_grows(void **state)
{
	struct balance_in_vm vms[2] = {
		vm("busy", 500, 512, 2048, 400, 30),
		vm("idle", 200, 1024, 2048, 0, 0),
	};
	struct balance_out_vm out[2];
	struct mb_balance_host host;

	(void)state;
	decide(vms, 2, 4096, &host, out);
	assert_int_equal(out[0].bv.action, MB_BALANCE_GROW);
	assert_true(out[0].bv.target_mib > 512);
	assert_true(out[0].bv.needy);
	assert_true(out[0].bv.target_mib >= out[0].bv.cma_mib);
	/* The CMA counts what it faulted in and what it stalls. */
	assert_true(out[0].parts.shortfall > 0 || out[0].parts.pressure > 0);
	assert_true(host.target_sum <= 4096);
	assert_false(host.hotspot);
	assert_non_null(strstr(out[0].bv.reason, "grow"));
}

/* A pressure report raises the CMA by the pressure term, PSI or not. */
static void test_emergency_boost(void **state)
{
	struct balance_in_vm vms[2] = {
		vm("quiet", 300, 400, 2048, 0, NAN),
		vm("other", 300, 1024, 2048, 0, 0),
	};
	struct balance_out_vm before[2], after[2];
	struct mb_balance_host host;

	(void)state;
	decide(vms, 2, 1536, &host, before);
	vms[0].emergency = true;
	decide(vms, 2, 1536, &host, after);
	assert_true(after[0].parts.pressure > 0);
	assert_true(fabs(after[0].parts.pressure - 0.5 * 0.5 * 400) < 1);
	assert_true(after[0].bv.cma_mib > before[0].bv.cma_mib);
	assert_true(after[0].bv.target_mib > before[0].bv.target_mib);
	/* Room came from the VM above its CMA, not below its CMA. */
	assert_true(after[1].bv.target_mib >= after[1].bv.cma_mib ||
		    host.overcommitted);
	assert_true(host.target_sum <= 1536);
}

/* A fixed VM (an action of it unfinished) keeps its size exactly. */
static void test_fixed_vm_kept(void **state)
{
	struct balance_in_vm vms[2] = {
		vm("fixed", 900, 700, 2048, 300, 40),
		vm("free", 100, 1000, 2048, 0, 0),
	};
	struct balance_out_vm out[2];
	struct mb_balance_host host;

	(void)state;
	vms[0].fixed = true;
	decide(vms, 2, 4096, &host, out);
	assert_int_equal(out[0].bv.action, MB_BALANCE_KEEP);
	assert_int_equal(out[0].bv.target_mib, 700);
}

/* More CMA than capacity: a memory hotspot, no VM below min(CMA, now). */
static void test_hotspot(void **state)
{
	struct balance_in_vm vms[3] = {
		vm("a", 900, 1000, 2048, 50, 20),
		vm("b", 900, 1000, 2048, 50, 20),
		vm("c", 900, 1000, 2048, 50, 20),
	};
	struct balance_out_vm out[3];
	struct mb_balance_host host;
	size_t i;

	(void)state;
	decide(vms, 3, 3000, &host, out);
	assert_true(host.hotspot);
	assert_true(host.cma_sum > 3000);
	assert_true(host.target_sum <= 3000);
	for (i = 0; i < 3; i++)
		assert_true(out[i].bv.target_mib >= 128);
}

/* Random hosts: floor <= target <= max, the sum within the capacity. */
static void test_random_bounds(void **state)
{
	unsigned int seed = 11;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		struct balance_in_vm vms[6];
		struct balance_out_vm out[6];
		struct mb_balance_host host;
		struct balance_in_host h;
		struct balance_settings s;
		struct mb_err err;
		size_t n = 1 + rand_r(&seed) % 6, i;
		double cap = 0;

		for (i = 0; i < n; i++) {
			double max = 256 + rand_r(&seed) % 4096;
			double cur = 128 + rand_r(&seed) % (int)max;

			vms[i] = vm("v", rand_r(&seed) % (int)max, fmin(cur, max),
				    max, rand_r(&seed) % 3 ? 0 :
				    rand_r(&seed) % 1000, rand_r(&seed) % 100);
			vms[i].fixed = rand_r(&seed) % 7 == 0;
			vms[i].emergency = rand_r(&seed) % 5 == 0;
			cap += vms[i].fixed ? vms[i].obs.current_mib : 128;
		}
		cap += rand_r(&seed) % 8192;
		h = (struct balance_in_host){ "h", cap, n, vms };
		balance_settings_init(&s, rand_r(&seed) % 2 ? MB_BALANCE_CAGMA :
				      MB_BALANCE_PROPORTIONAL, 128);
		if (policy_balance(&h, &s, &host, out, &err))
			fail_msg("round %d: %s", round, err.msg);
		for (i = 0; i < n; i++) {
			assert_true(out[i].bv.target_mib >= out[i].bv.floor_mib);
			assert_true(out[i].bv.target_mib <= out[i].bv.max_mib);
			if (vms[i].fixed)
				assert_int_equal(out[i].bv.target_mib,
						 (uint64_t)llround(vms[i].obs.current_mib));
		}
		assert_true(host.target_sum <= (uint64_t)llround(cap));
	}
}

/* ---- the same decisions as the simulator's cagma ---- */

#define SIM_VMS 3
#define SIM_MAX_CP 64

struct sim_log {
	size_t count;
	struct mb_vm_observed obs[SIM_MAX_CP][SIM_VMS];
	struct mb_balance_vm dec[SIM_MAX_CP][SIM_VMS];
	uint64_t capacity;
};

static void log_checkpoint(void *ctx, const struct mb_sim_checkpoint *cp)
{
	struct sim_log *log = ctx;
	size_t i;

	if (!cp->decisions || log->count == SIM_MAX_CP)
		return;
	for (i = 0; i < cp->count; i++) {
		log->obs[log->count][i] = cp->observed[i];
		log->dec[log->count][i] = cp->decisions[i];
	}
	log->capacity = cp->host->capacity_mib;
	log->count++;
}

static void test_same_decisions_as_the_simulator(void **state)
{
	static struct sim_log log;
	const uint64_t frames = 300, floor = 4;
	struct mb_phase_spec spec;
	struct mb_sim_config cfg;
	struct mb_sim_result res;
	struct mb_sim_input in;
	struct balance_settings s;
	struct mb_err err;
	size_t cp, i, differing = 0;

	(void)state;
	mb_phases_defaults(&spec);
	spec.vms = SIM_VMS;
	spec.accesses = 20000;
	spec.small = 20;
	spec.large = 200;
	assert_int_equal(mb_phases_generate(&spec, &in, &err), 0);
	mb_sim_defaults(&cfg);
	cfg.policy = MB_SIM_CAGMA;
	cfg.frames = frames;
	cfg.every = 500;
	cfg.floor = floor;
	cfg.on_checkpoint = log_checkpoint;
	cfg.ctx = &log;
	assert_int_equal(mb_sim_run(&in, &cfg, &res, &err), 0);
	assert_true(log.count >= 20);
	/* The controller's path, with the simulator's scale of units. */
	balance_settings_init(&s, MB_BALANCE_CAGMA, (double)floor);
	mb_sim_cagma_params(floor, 10, &s.cma, &s.alloc);
	for (cp = 0; cp < log.count; cp++) {
		struct balance_in_vm vms[SIM_VMS];
		struct balance_out_vm out[SIM_VMS];
		struct mb_balance_host host;
		struct balance_in_host h = { "sim", (double)log.capacity,
					     SIM_VMS, vms };

		for (i = 0; i < SIM_VMS; i++) {
			const struct mb_balance_vm *d = &log.dec[cp][i];

			vms[i] = (struct balance_in_vm){
				.uuid = "v", .name = "v", .obs = log.obs[cp][i],
				.max_mb = (double)d->max_mib,
				.recent_misses = (double)d->recent_misses,
			};
		}
		assert_int_equal(policy_balance(&h, &s, &host, out, &err), 0);
		for (i = 0; i < SIM_VMS; i++) {
			if (out[i].bv.cma_mib != log.dec[cp][i].cma_mib ||
			    out[i].bv.target_mib != log.dec[cp][i].target_mib)
				fail_msg("checkpoint %zu vm %zu: the simulator "
					 "decided CMA %llu target %llu, the "
					 "controller CMA %llu target %llu", cp,
					 i, (unsigned long long)log.dec[cp][i].cma_mib,
					 (unsigned long long)log.dec[cp][i].target_mib,
					 (unsigned long long)out[i].bv.cma_mib,
					 (unsigned long long)out[i].bv.target_mib);
			differing += log.dec[cp][i].target_mib !=
				     log.dec[cp][i].current_mib;
		}
	}
	/* The phases made the simulator move memory: a real comparison. */
	assert_true(differing > 0);
	mb_sim_result_free(&res);
	mb_sim_input_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swapping_vm_grows),
		cmocka_unit_test(test_emergency_boost),
		cmocka_unit_test(test_fixed_vm_kept),
		cmocka_unit_test(test_hotspot),
		cmocka_unit_test(test_random_bounds),
		cmocka_unit_test(test_same_decisions_as_the_simulator),
	};

	return cmocka_run_group_tests_name("controld_balance", tests, NULL,
					   NULL);
}
