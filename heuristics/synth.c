// SPDX-License-Identifier: GPL-2.0
/*
 * synth.c - synthetic VM memory (the model is described in synth.h).
 *
 * Distinct base digests and private digests come from different mixes of
 * the seed, the VM number and the page number, so with 64-bit digests they
 * never meet; truncated to 32 bits they collide only as real 32-bit digests
 * do (the birthday bound reported next to every 32-bit result).
 */
#include "synth.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t mb_synth_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return mix(*state);
}

double mb_synth_uniform(uint64_t *state)
{
	return (double)(mb_synth_next(state) >> 11) * 0x1.0p-53;
}

void mb_synth_base(uint64_t *out, uint64_t n, double zero, uint64_t seed)
{
	uint64_t state = mix(seed ^ 0x42415345ULL), zero_digest, i;

	zero_digest = mix(seed ^ 0x5a45524fULL);
	for (i = 0; i < n; i++) {
		if (mb_synth_uniform(&state) < zero)
			out[i] = zero_digest;
		else
			out[i] = mix(mix(seed) ^ (i * 0xd1342543de82ef95ULL + 1));
	}
}

void mb_synth_vm(uint64_t *out, const uint64_t *base, uint64_t n,
		 double private_fraction, uint64_t seed, uint64_t vm)
{
	uint64_t state = mix(seed ^ mix(vm + 0x564dULL)), i;
	uint64_t vm_key = mix(mix(seed + 0x50525656ULL) ^ vm);

	for (i = 0; i < n; i++) {
		if (mb_synth_uniform(&state) < private_fraction)
			out[i] = mix(vm_key + i * 0x9e3779b97f4a7c15ULL);
		else
			out[i] = base[i];
	}
}
