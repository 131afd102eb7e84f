// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_simdat.c - libFuzzer target for the seed's .dat reader
 * (mb_dat_parse) and, on what it accepts, the simulators behind it: every
 * accepted file must have dense page numbers, and a small one is run in
 * faithful mode (the seed's list code, whose undefined cases must come
 * back as errors, never as crashes) and in the real mode with every
 * policy, whose frames must stay within the host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_input.h"

static void run(const struct mb_sim_input *in, enum mb_sim_policy p,
		bool faithful, uint64_t every)
{
	struct mb_sim_config cfg;
	struct mb_sim_result res;
	struct mb_err err;
	uint64_t sum = 0;
	size_t i;

	mb_sim_defaults(&cfg);
	cfg.policy = p;
	cfg.faithful = faithful;
	cfg.every = every;
	if (mb_sim_run(in, &cfg, &res, &err))
		return;
	for (i = 0; i < res.count; i++)
		sum += res.vms[i].frames_final;
	if (sum > res.frames || res.count != in->count)
		abort();
	mb_sim_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_sim_input in;
	struct mb_err err;
	uint64_t refs = 0, t;
	size_t i;

	if (mb_dat_parse((const char *)data, size, &in, &err))
		return 0;
	if (!in.count)
		abort();
	for (i = 0; i < in.count; i++) {
		for (t = 0; t < in.vms[i].n; t++)
			if (in.vms[i].refs[t] >= in.vms[i].pages)
				abort();
		refs += in.vms[i].n;
	}
	if (refs <= 4000 && in.count <= 16) {
		uint64_t every = 1 + (size ? data[size - 1] % 4 : 0);

		run(&in, MB_SIM_STATIC, true, 1);
		run(&in, MB_SIM_LAST_N, true, every);
		run(&in, MB_SIM_PROPORTIONAL, true, 1);
		run(&in, MB_SIM_LAST_N, false, every);
		run(&in, MB_SIM_PROPORTIONAL, false, every);
		run(&in, MB_SIM_MEB, false, every);
		run(&in, MB_SIM_CAGMA, false, every);
	}
	mb_sim_input_free(&in);
	return 0;
}
