// SPDX-License-Identifier: GPL-2.0
/*
 * policy_hotspot.c - memory hotspot mitigation (Wood et al., Memory
 * Buddies, VEE 2009, section 4.3).
 *
 * A host is a hotspot when its VMs use more memory than its capacity
 * (counting the pages merging saves), when one of its guests swaps more
 * than --swap-threshold pages/s, or, with balancing on, when its VMs'
 * critical memory amounts add up to more than its capacity (the balancer
 * never takes a VM below its CMA to avoid a migration: it is this
 * policy's job). For each hotspot, in host order,
 * the policy proposes moving away the one VM whose move to another host
 * where it fits saves the most (or costs the least: relieving the host
 * comes first, so no minimum gain applies). Pinned VMs never move.
 */
#include <math.h>
#include <stdio.h>

#include "policy.h"

static int hotspot_propose(struct plan_work *w, struct mb_err *err)
{
	size_t h, v;

	for (h = 0; h < w->nhosts && w->nmoves < w->o->max_moves; h++) {
		double use = plan_after(w, (int)h, -1, -1), best = -INFINITY;
		double cap = w->hosts[h].capacity_mb, rate = 0;
		const char *hot_vm = NULL;
		long bv = -1;
		int bd = -1, d;
		char why[200];

		for (v = 0; v < w->nvms; v++)
			if (w->cur[v] == (int)h && w->o->swap_threshold > 0 &&
			    w->vms[v].swap_rate > w->o->swap_threshold &&
			    w->vms[v].swap_rate > rate) {
				rate = w->vms[v].swap_rate;
				hot_vm = w->vms[v].name;
			}
		if (use <= cap + PLAN_EPS && !hot_vm &&
		    w->hosts[h].cma_sum_mb <= cap + PLAN_EPS)
			continue;
		for (v = 0; v < w->nvms; v++) {
			if (w->cur[v] != (int)h || w->vms[v].pinned)
				continue;
			for (d = 0; d < (int)w->nhosts; d++) {
				double g, da;

				if (d == (int)h)
					continue;
				g = plan_move_gain(w, v, d, &da);
				if (da > w->hosts[d].capacity_mb + PLAN_EPS)
					continue;
				if (g > best + PLAN_EPS) {
					best = g;
					bv = (long)v;
					bd = d;
				}
			}
		}
		if (bv < 0)
			continue;
		if (use > cap + PLAN_EPS)
			snprintf(why, sizeof(why), "hotspot: %s uses %.0f MiB "
				 "of its %.0f MiB; %s shares the most on %s",
				 w->hosts[h].name, use, cap, w->vms[bv].name,
				 w->hosts[bd].name);
		else if (hot_vm)
			snprintf(why, sizeof(why), "hotspot: %s swaps %.0f "
				 "pages/s on %s; %s shares the most on %s",
				 hot_vm, rate, w->hosts[h].name,
				 w->vms[bv].name, w->hosts[bd].name);
		else
			snprintf(why, sizeof(why), "memory hotspot: the CMAs "
				 "on %s add up to %.0f of its %.0f MiB; %s "
				 "shares the most on %s", w->hosts[h].name,
				 w->hosts[h].cma_sum_mb, cap, w->vms[bv].name,
				 w->hosts[bd].name);
		if (plan_propose_move(w, (size_t)bv, bd, best, true, why, err))
			return -1;
	}
	return 0;
}

const struct policy policy_hotspot = {
	.name = "hotspot",
	.propose = hotspot_propose,
};
