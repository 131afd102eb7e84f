/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plan.h - from the current placement and the VMs' digest sets to a list
 * of moves (plan.c): hotspot relief first, then buddies consolidation.
 * Pure computation: no libvirt, no I/O, so unit tests drive it with
 * synthetic sets.
 */
#ifndef MB_CONTROLD_PLAN_H
#define MB_CONTROLD_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mb_error.h"
#include "sharing.h"

struct plan_host {
	const char *name;
	double capacity_mb;		/* usable memory */
};

struct plan_vm {
	const char *uuid;
	const char *name;
	double memory_mb;		/* configured memory */
	int host;			/* current host index */
	const struct mb_digest_set *set;
	double swap_rate;		/* pages/s in+out, < 0 = unknown */
	const char *pinned;		/* not NULL: must not move, and why */
};

struct plan_opts {
	double min_gain_mb;
	unsigned int max_moves;
	double swap_threshold;		/* pages/s; 0 = swapping is ignored */
};

struct plan_move {
	size_t vm;
	int from, to;
	double gain_mb;			/* memory saved by this move */
	bool hotspot;
	char reason[200];
};

struct plan_result {
	size_t nmoves;
	struct plan_move *moves;
	double saved_mb;		/* Σ gain_mb */
	double *before_mb, *after_mb;	/* per host */
	size_t nskipped;
	struct plan_move *skipped;	/* proposed by buddies, not taken */
};

int plan_compute(const struct plan_host *hosts, size_t nhosts,
		 const struct plan_vm *vms, size_t nvms,
		 const struct plan_opts *o, struct plan_result *r,
		 struct mb_err *err);
void plan_result_free(struct plan_result *r);

#endif /* MB_CONTROLD_PLAN_H */
