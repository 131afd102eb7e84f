/* SPDX-License-Identifier: GPL-2.0 */
/*
 * synth.h - deterministic synthetic VMs for tests, benchmarks and the
 * cluster experiment.
 *
 * Model (docs/sharing.md): a base trace of n pages, of which a fraction
 * `zero` hold the zero page (one shared digest) and the rest distinct
 * digests; a VM is the base with each page independently replaced, with
 * probability `private_fraction`, by a digest unique to that VM and page
 * (its private data). Two VMs built from one base with private fractions
 * f1 and f2 thus share about (1 - f1)(1 - f2) of the base's distinct
 * digests. Everything derives from a 64-bit seed through splitmix64, so a
 * seed always gives the same VMs on every machine.
 */
#ifndef MB_SYNTH_H
#define MB_SYNTH_H

#include <stdint.h>

/* The next value of a splitmix64 stream whose state is *state. */
uint64_t mb_synth_next(uint64_t *state);

/* A uniform double in [0, 1) from the stream. */
double mb_synth_uniform(uint64_t *state);

/*
 * Fill @out with @n base digests from @seed: a fraction @zero of the pages
 * (chosen at random) carry one common digest, the others distinct ones.
 */
void mb_synth_base(uint64_t *out, uint64_t n, double zero, uint64_t seed);

/*
 * A VM from @base: each of the @n pages is kept, or with probability
 * @private_fraction replaced by a digest unique to (@seed, @vm, page).
 */
void mb_synth_vm(uint64_t *out, const uint64_t *base, uint64_t n,
		 double private_fraction, uint64_t seed, uint64_t vm);

#endif /* MB_SYNTH_H */
