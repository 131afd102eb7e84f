// SPDX-License-Identifier: GPL-2.0
/*
 * policy_buddies.c - consolidation by sharing: the paper's buddies
 * placement (Wood et al., Memory Buddies, VEE 2009, section 4.2;
 * heuristics/placement.c) turned into the moves worth making now.
 *
 * mb_place(buddies) runs on the VMs as the earlier policies left them.
 * It numbers hosts its own way, so each group it proposes is first
 * matched to the host already holding most of its memory (where it
 * fits), then the moves that remain are taken greedily, the largest gain
 * first, each re-evaluated on the placement the earlier ones left and
 * checked to fit its destination, while the gain reaches --min-gain-mb
 * and fewer than --max-moves migrations are planned. What buddies
 * proposed but was not taken is reported as skipped, with why.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

static void relabel(struct plan_work *w, int *assign)
{
	size_t H = w->nhosts, g, h, v;
	double *overlap = calloc(H * H, sizeof(double));
	int *label = malloc(H * sizeof(int));
	bool *taken = calloc(H, sizeof(bool));

	if (!overlap || !label || !taken)
		goto out;
	for (v = 0; v < w->nvms; v++)
		if (assign[v] >= 0 && w->cur[v] >= 0)
			overlap[assign[v] * H + w->cur[v]] +=
				w->vms[v].memory_mb;
	for (g = 0; g < H; g++)
		label[g] = -1;
	for (;;) {
		double best = 0;
		long bg = -1, bh = -1;

		for (g = 0; g < H; g++) {
			if (label[g] >= 0)
				continue;
			for (h = 0; h < H; h++) {
				size_t m = 0;

				if (taken[h] || overlap[g * H + h] <= best)
					continue;
				for (v = 0; v < w->nvms; v++)
					if (assign[v] == (int)g)
						w->members[m++] = v;
				if (mb_group_after_mb(&w->p, w->members, m) >
				    w->hosts[h].capacity_mb + PLAN_EPS)
					continue;
				best = overlap[g * H + h];
				bg = (long)g;
				bh = (long)h;
			}
		}
		if (bg < 0)
			break;
		label[bg] = (int)bh;
		taken[bh] = true;
	}
	/* The rest keep buddies' host when it is free, else any free one. */
	for (g = 0; g < H; g++) {
		if (label[g] >= 0)
			continue;
		if (!taken[g]) {
			label[g] = (int)g;
			taken[g] = true;
			continue;
		}
		for (h = 0; h < H; h++)
			if (!taken[h]) {
				label[g] = (int)h;
				taken[h] = true;
				break;
			}
	}
	for (v = 0; v < w->nvms; v++)
		if (assign[v] >= 0)
			assign[v] = label[assign[v]];
out:
	free(overlap);
	free(label);
	free(taken);
}

static int buddies_propose(struct plan_work *w, struct mb_err *err)
{
	int *assign = malloc(w->nvms * sizeof(int));
	bool *done = calloc(w->nvms, sizeof(bool));
	const struct plan_opts *o = w->o;
	size_t v;
	int ret = -1;

	if (!assign || !done) {
		mb_errf(err, "plan: out of memory");
		goto out;
	}
	for (v = 0; v < w->nvms; v++)
		w->pv[v].host = w->cur[v];
	if (mb_place(&w->p, MB_PLACE_BUDDIES, assign, err))
		goto out;
	relabel(w, assign);
	for (;;) {
		double best = -INFINITY;
		long bv = -1;
		char why[200];

		for (v = 0; v < w->nvms; v++) {
			double g, da;

			if (done[v] || assign[v] < 0 ||
			    assign[v] == w->cur[v] || w->vms[v].pinned)
				continue;
			g = plan_move_gain(w, v, assign[v], &da);
			if (da > w->hosts[assign[v]].capacity_mb + PLAN_EPS)
				continue;
			if (g > best + PLAN_EPS) {
				best = g;
				bv = (long)v;
			}
		}
		if (bv < 0 || best < o->min_gain_mb ||
		    w->nmoves >= o->max_moves)
			break;
		snprintf(why, sizeof(why), "consolidation (buddies): %s "
			 "shares %.0f MiB more on %s than on %s",
			 w->vms[bv].name, best, w->hosts[assign[bv]].name,
			 w->hosts[w->cur[bv]].name);
		if (plan_propose_move(w, (size_t)bv, assign[bv], best, false,
				      why, err))
			goto out;
		done[bv] = true;
	}
	/* What buddies wanted and the limits or capacity held back. */
	for (v = 0; v < w->nvms; v++) {
		double g, da;
		char why[200];

		if (assign[v] < 0 || assign[v] == w->cur[v])
			continue;
		g = plan_move_gain(w, v, assign[v], &da);
		if (w->vms[v].pinned)
			snprintf(why, sizeof(why), "%s", w->vms[v].pinned);
		else if (da > w->hosts[assign[v]].capacity_mb + PLAN_EPS)
			snprintf(why, sizeof(why), "does not fit on %s now "
				 "(%.0f of %.0f MiB)", w->hosts[assign[v]].name,
				 da, w->hosts[assign[v]].capacity_mb);
		else if (g < o->min_gain_mb)
			snprintf(why, sizeof(why), "gain %.1f MiB is below "
				 "--min-gain-mb %.0f", g, o->min_gain_mb);
		else
			snprintf(why, sizeof(why), "--max-moves %u reached",
				 o->max_moves);
		if (plan_skip(w, v, assign[v], g, why, err))
			goto out;
	}
	ret = 0;
out:
	free(assign);
	free(done);
	return ret;
}

const struct policy policy_buddies = {
	.name = "buddies",
	.propose = buddies_propose,
};
