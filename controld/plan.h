/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plan.h - from the cluster as it is to the actions that improve it
 * (plan.c): the policies of policy.h run in a fixed order over one
 * working placement, each proposing actions with their reason and
 * expected effect. Pure computation: no libvirt, no I/O, so unit tests
 * drive it with synthetic digest sets.
 */
#ifndef MB_CONTROLD_PLAN_H
#define MB_CONTROLD_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "action.h"
#include "mb_error.h"
#include "sharing.h"

struct plan_host {
	const char *name;
	double capacity_mb;		/* usable memory */
	double cma_sum_mb;		/* balancing: its VMs' CMAs, 0 = unknown */
};

struct plan_vm {
	const char *uuid;
	const char *name;
	double memory_mb;		/* configured memory, or with balancing
					 * its balanced target */
	int host;			/* current host index */
	const struct mb_digest_set *set;
	double swap_rate;		/* pages/s in+out, < 0 = unknown */
	const char *pinned;		/* not NULL: must not move, and why */
};

struct plan_opts {
	double min_gain_mb;
	unsigned int max_moves;		/* migrations per plan, all policies */
	double swap_threshold;		/* pages/s; 0 = swapping is ignored */
};

/* One proposed action. */
struct plan_action {
	enum action_kind kind;
	const char *policy;		/* the proposing policy's name */
	size_t vm;
	int from, to;			/* host indices (resize: from == to) */
	double target_mb;		/* resize: the new size */
	double gain_mb;			/* expected effect: MiB saved */
	bool hotspot;			/* relieves a hotspot */
	char reason[200];
};

struct plan_result {
	size_t nactions;
	struct plan_action *actions;	/* in the order they should run */
	double saved_mb;		/* sum of gain_mb */
	double *before_mb, *after_mb;	/* per host */
	size_t nskipped;
	struct plan_action *skipped;	/* proposed, not taken; reason: why */
};

int plan_compute(const struct plan_host *hosts, size_t nhosts,
		 const struct plan_vm *vms, size_t nvms,
		 const struct plan_opts *o, struct plan_result *r,
		 struct mb_err *err);
void plan_result_free(struct plan_result *r);

/* The policies' names, in the order they run, separated by " > ". */
const char *plan_policy_order(void);

#endif /* MB_CONTROLD_PLAN_H */
