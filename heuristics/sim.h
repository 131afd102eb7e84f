/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim.h - the memory-balancing simulator behind `mbuddy balance-sim`.
 *
 * A host hands a fixed number of page frames to several VMs; each VM
 * replaces its pages by LRU; a balancing policy moves frames between VMs
 * at checkpoints. The VMs advance in lock step: at every step each VM
 * makes one reference, and every `every` steps the policy runs.
 *
 * Two models (docs/balancing.md):
 *   faithful  the seed simulator's model exactly (sim_faithful.c): 16
 *             frames, at least 2 per VM, its three policies, its linked
 *             lists with their quirks, its misses (only a miss that
 *             evicts a frame in use counts), glibc's unseeded rand();
 *   real      (sim.c) any frames and VMs, the O(1) LRU of lru.h, every
 *             miss counted (cold ones reported apart), and the policies
 *             static, last-n, proportional, meb (stack distances, mrc.h)
 *             and cagma (the CMA and allocation of balance.h, shared with
 *             mb-controld's balance policy).
 */
#ifndef MB_SIM_H
#define MB_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balance.h"
#include "mb_error.h"
#include "sim_input.h"

enum mb_sim_policy {
	MB_SIM_STATIC,		/* no balancing */
	MB_SIM_LAST_N,		/* pairs by misses in the last interval, a frame each */
	MB_SIM_PROPORTIONAL,	/* bonus frames in proportion to all misses so far */
	MB_SIM_MEB,		/* frames where the miss curves save most (real only) */
	MB_SIM_CAGMA,		/* balance.h's CMA guarantee (real only) */
};

/* "static", "last-n", "proportional", "meb", "cagma"; parse: 0 or -1. */
const char *mb_sim_policy_name(enum mb_sim_policy policy);
int mb_sim_policy_parse(const char *name, enum mb_sim_policy *policy);

/*
 * What a checkpoint hook sees, after the policy ran. Arrays have one entry
 * per VM, in input order, and are valid during the call only.
 */
struct mb_sim_checkpoint {
	uint64_t step;			/* steps simulated so far */
	size_t count;			/* VMs */
	const uint64_t *frames;		/* frames after the checkpoint */
	const uint64_t *window_accesses; /* references since the previous one */
	const uint64_t *window_misses;	/* misses since the previous one */
	/* cagma only, NULL otherwise: the inputs the simulator derived and
	 * the decisions of balance.h (docs/balancing.md, "Units in the
	 * simulator"). */
	const struct mb_vm_observed *observed;
	const struct mb_balance_vm *decisions;
	const struct mb_balance_host *host;
};

struct mb_sim_config {
	enum mb_sim_policy policy;
	bool faithful;		/* the seed's model */
	uint64_t frames;	/* frames in all; 0: 16 for .dat-sized inputs,
				 * see mb_sim_run() */
	uint64_t every;		/* steps between checkpoints; 0: 1 faithful,
				 * 10000 real */
	uint64_t floor;		/* frames a VM keeps at least; 0: 2 */
	enum mb_balance_mode balance_mode; /* of the cagma policy */
	double interval_s;	/* seconds one interval stands for (cagma) [10] */
	uint64_t ws_window;	/* references the working set spans (cagma);
				 * 0: 10 intervals */
	double meb_decay;	/* weight of older intervals' distances (meb) [0.9] */
	void (*on_checkpoint)(void *ctx, const struct mb_sim_checkpoint *cp);
	void *ctx;
};

/* The defaults: static, real mode, everything else 0 (see above). */
void mb_sim_defaults(struct mb_sim_config *c);

struct mb_sim_vm_result {
	uint64_t accesses;	/* references simulated */
	uint64_t misses;	/* faithful: evicting misses; real: all misses */
	uint64_t cold_misses;	/* first references (real); fills of unused
				 * frames (faithful), not in misses */
	uint64_t frames_final;
	double frames_mean;	/* over the steps the VM was active */
};

struct mb_sim_result {
	struct mb_sim_vm_result *vms;	/* count entries, owned */
	size_t count;
	uint64_t frames, every, floor, steps, checkpoints;
	uint64_t accesses, misses;	/* totals */
	uint64_t moved;			/* frames that changed VM, in all */
	uint64_t hotspots;		/* cagma: checkpoints the host was a hotspot */
};

/*
 * Simulate @in under @cfg into @res (free with mb_sim_result_free()).
 *
 * Real mode: frames default to 16 when every VM has at most 64 distinct
 * pages (the seed's files), else to half the distinct pages of all VMs;
 * they start split equally (the first VMs get the remainder); the run
 * lasts until the longest VM ends.
 *
 * Faithful mode: frames default to 16; each VM starts with ceil(frames/N)
 * frames in VM order and the last with what is left; the run lasts as many
 * steps as VM 0 has references (a shorter VM idles when done, a longer one
 * is cut: the seed's threads would deadlock). Where the seed's code has
 * undefined behaviour (a NULL dereference, a list walk that never ends)
 * the run stops with an error naming the step, the VM and the seed's
 * operation; writes the seed makes outside a page table are dropped.
 *
 * Returns 0, or -1: more VMs than frames, floors that do not fit, a policy
 * the mode lacks, out of memory, or the faithful errors above.
 */
int mb_sim_run(const struct mb_sim_input *in, const struct mb_sim_config *cfg,
	       struct mb_sim_result *res, struct mb_err *err);

void mb_sim_result_free(struct mb_sim_result *res);

/*
 * glibc's rand() as the seed used it: never seeded, i.e. srand(1). The
 * additive feedback generator r[i] = r[i-3] + r[i-31] (mod 2^32) over a
 * state filled by 16807 * r mod (2^31 - 1), its first 310 outputs
 * discarded, each result r >> 1. Its own state, so runs are repeatable.
 */
struct mb_seed_rand {
	uint32_t r[34];
	unsigned i;
};

void mb_seed_rand_init(struct mb_seed_rand *g, uint32_t seed);
int mb_seed_rand_next(struct mb_seed_rand *g);

/*
 * The seed's proportional share of @bonus frames for a VM with @missed of
 * @total misses: (int)((float)missed / total * bonus), in single
 * precision as its C code computes it.
 */
int mb_seed_bonus_share(int missed, int total, int bonus);

/*
 * What the cagma policy hands to balance.h (docs/balancing.md, "Units in
 * the simulator"). One frame stands for one MiB. From a VM's working set
 * @distinct (the distinct pages of its last ws_window references, read off
 * its LRU stack), an interval of @accesses references with @refaults
 * misses of pages referenced before, its @footprint distinct pages since
 * the start and its @frames frames: used = min(distinct, frames),
 * Committed_AS = footprint, swap-in = major-fault rate = refaults /
 * interval_s, PSI some = 100 * refaults / accesses, current = frames.
 */
void mb_sim_cagma_observe(uint64_t distinct, uint64_t footprint,
			  uint64_t refaults, uint64_t accesses, uint64_t frames,
			  double interval_s, struct mb_vm_observed *o);

/*
 * The tunables the cagma policy uses, balance.h's defaults at the
 * simulator's scale: reserve and minimum CMA of @floor frames, fault
 * window of one interval, pages of 1024 KiB (a frame), a step of one
 * frame, one refault per interval counting as swapping.
 */
void mb_sim_cagma_params(uint64_t floor, double interval_s,
			 struct mb_cma_params *cp, struct mb_balance_params *bp);

/* Internal: the faithful model, called by mb_sim_run(). */
int mb_sim_run_faithful(const struct mb_sim_input *in,
			const struct mb_sim_config *cfg,
			struct mb_sim_result *res, struct mb_err *err);

#endif /* MB_SIM_H */
