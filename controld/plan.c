// SPDX-License-Identifier: GPL-2.0
/*
 * plan.c - the moves that bring the cluster closer to the placement the
 * heuristics library proposes.
 *
 * Memory in use on a host is after_mb(G) (placement.h): the configured
 * memory of its VMs minus what merging their identical pages saves. The
 * gain of moving v from host s to host d is what the two hosts use
 * together before minus after:
 *
 *   gain = after(s) + after(d) - after(s - v) - after(d + v)
 *
 * i.e. the pages v shares with d's VMs minus those it shared with s's.
 *
 * 1. Hotspots (the paper's mitigation): a host whose VMs use more than its
 *    capacity, or one of whose guests swaps more than --swap-threshold
 *    pages/s, gives up the VM whose move to some feasible host gains the
 *    most. These go first and need no minimum gain: they relieve a host.
 * 2. Consolidation: mb_place(buddies) on the VMs as they are after step 1.
 *    buddies numbers hosts its own way, so each proposed group is first
 *    matched to the host already holding most of its memory (where it
 *    fits), then the moves that remain are taken greedily, the largest
 *    gain first, each re-evaluated on the placement the earlier ones left
 *    and checked to fit its destination, while the gain reaches
 *    --min-gain-mb and fewer than --max-moves moves are planned. What
 *    buddies proposed but was not taken is reported as skipped.
 *
 * Pinned VMs (a migration running, or one failed recently) never move.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "plan.h"

#define EPS 1e-6

struct work {
	const struct plan_host *hosts;
	size_t nhosts;
	const struct plan_vm *vms;
	size_t nvms;
	struct mb_placement p;
	struct mb_place_host *ph;
	struct mb_place_vm *pv;
	int *cur;			/* working placement */
	size_t *members;
};

/* after_mb of host @h under w->cur, without @minus and with @plus (-1: none). */
static double after(struct work *w, int h, long minus, long plus)
{
	size_t v, m = 0;

	for (v = 0; v < w->nvms; v++)
		if (((w->cur[v] == h && (long)v != minus) || (long)v == plus))
			w->members[m++] = v;
	return mb_group_after_mb(&w->p, w->members, m);
}

static double move_gain(struct work *w, size_t v, int to, double *dst_after)
{
	int from = w->cur[v];
	double a = after(w, to, -1, (long)v);

	if (dst_after)
		*dst_after = a;
	return after(w, from, -1, -1) + after(w, to, -1, -1) -
	       after(w, from, (long)v, -1) - a;
}

static int add_move(struct plan_move **list, size_t *n, size_t v, int from,
		    int to, double gain, bool hot, const char *reason)
{
	struct plan_move *grown = realloc(*list, (*n + 1) * sizeof(**list));

	if (!grown)
		return -1;
	*list = grown;
	grown[*n] = (struct plan_move){ .vm = v, .from = from, .to = to,
					.gain_mb = gain, .hotspot = hot };
	snprintf(grown[*n].reason, sizeof(grown[*n].reason), "%s", reason);
	(*n)++;
	return 0;
}

static int hotspots(struct work *w, const struct plan_opts *o,
		    struct plan_result *r)
{
	size_t h, v;

	for (h = 0; h < w->nhosts && r->nmoves < o->max_moves; h++) {
		double use = after(w, (int)h, -1, -1), best = -INFINITY;
		const char *hot_vm = NULL;
		double rate = 0;
		long bv = -1;
		int bd = -1, d;
		char why[200];

		for (v = 0; v < w->nvms; v++)
			if (w->cur[v] == (int)h && o->swap_threshold > 0 &&
			    w->vms[v].swap_rate > o->swap_threshold &&
			    w->vms[v].swap_rate > rate) {
				rate = w->vms[v].swap_rate;
				hot_vm = w->vms[v].name;
			}
		if (use <= w->hosts[h].capacity_mb + EPS && !hot_vm)
			continue;
		for (v = 0; v < w->nvms; v++) {
			if (w->cur[v] != (int)h || w->vms[v].pinned)
				continue;
			for (d = 0; d < (int)w->nhosts; d++) {
				double g, da;

				if (d == (int)h)
					continue;
				g = move_gain(w, v, d, &da);
				if (da > w->hosts[d].capacity_mb + EPS)
					continue;
				if (g > best + EPS) {
					best = g;
					bv = (long)v;
					bd = d;
				}
			}
		}
		if (bv < 0)
			continue;
		if (use > w->hosts[h].capacity_mb + EPS)
			snprintf(why, sizeof(why), "hotspot: %s uses %.0f MiB "
				 "of its %.0f MiB; %s shares the most on %s",
				 w->hosts[h].name, use, w->hosts[h].capacity_mb,
				 w->vms[bv].name, w->hosts[bd].name);
		else
			snprintf(why, sizeof(why), "hotspot: %s swaps %.0f "
				 "pages/s on %s; %s shares the most on %s",
				 hot_vm, rate, w->hosts[h].name,
				 w->vms[bv].name, w->hosts[bd].name);
		if (add_move(&r->moves, &r->nmoves, bv, (int)h, bd, best, true,
			     why))
			return -1;
		w->cur[bv] = bd;
	}
	return 0;
}

/* Give each group buddies proposed the host that holds most of it. */
static void relabel(struct work *w, int *assign)
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
				    w->hosts[h].capacity_mb + EPS)
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

static int consolidate(struct work *w, const struct plan_opts *o,
		       struct plan_result *r, struct mb_err *err)
{
	int *assign = malloc(w->nvms * sizeof(int));
	bool *done = calloc(w->nvms, sizeof(bool));
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
			g = move_gain(w, v, assign[v], &da);
			if (da > w->hosts[assign[v]].capacity_mb + EPS)
				continue;
			if (g > best + EPS) {
				best = g;
				bv = (long)v;
			}
		}
		if (bv < 0 || best < o->min_gain_mb ||
		    r->nmoves >= o->max_moves)
			break;
		snprintf(why, sizeof(why), "consolidation (buddies): %s "
			 "shares %.0f MiB more on %s than on %s",
			 w->vms[bv].name, best, w->hosts[assign[bv]].name,
			 w->hosts[w->cur[bv]].name);
		if (add_move(&r->moves, &r->nmoves, bv, w->cur[bv],
			     assign[bv], best, false, why))
			goto oom;
		w->cur[bv] = assign[bv];
		done[bv] = true;
	}
	/* What buddies wanted and the limits or capacity held back. */
	for (v = 0; v < w->nvms; v++) {
		double g, da;
		char why[200];

		if (assign[v] < 0 || assign[v] == w->cur[v])
			continue;
		g = move_gain(w, v, assign[v], &da);
		if (w->vms[v].pinned)
			snprintf(why, sizeof(why), "%s", w->vms[v].pinned);
		else if (da > w->hosts[assign[v]].capacity_mb + EPS)
			snprintf(why, sizeof(why), "does not fit on %s now "
				 "(%.0f of %.0f MiB)", w->hosts[assign[v]].name,
				 da, w->hosts[assign[v]].capacity_mb);
		else if (g < o->min_gain_mb)
			snprintf(why, sizeof(why), "gain %.1f MiB is below "
				 "--min-gain-mb %.0f", g, o->min_gain_mb);
		else
			snprintf(why, sizeof(why), "--max-moves %u reached",
				 o->max_moves);
		if (add_move(&r->skipped, &r->nskipped, v, w->cur[v],
			     assign[v], g, false, why))
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	mb_errf(err, "plan: out of memory");
out:
	free(assign);
	free(done);
	return ret;
}

int plan_compute(const struct plan_host *hosts, size_t nhosts,
		 const struct plan_vm *vms, size_t nvms,
		 const struct plan_opts *o, struct plan_result *r,
		 struct mb_err *err)
{
	struct work w = { .hosts = hosts, .nhosts = nhosts, .vms = vms,
			  .nvms = nvms };
	size_t i;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	w.ph = calloc(nhosts + 1, sizeof(*w.ph));
	w.pv = calloc(nvms + 1, sizeof(*w.pv));
	w.cur = calloc(nvms + 1, sizeof(int));
	w.members = calloc(nvms + 1, sizeof(size_t));
	r->before_mb = calloc(nhosts + 1, sizeof(double));
	r->after_mb = calloc(nhosts + 1, sizeof(double));
	if (!w.ph || !w.pv || !w.cur || !w.members || !r->before_mb ||
	    !r->after_mb) {
		mb_errf(err, "plan: out of memory");
		goto out;
	}
	for (i = 0; i < nhosts; i++)
		w.ph[i] = (struct mb_place_host){ hosts[i].name,
						  hosts[i].capacity_mb };
	for (i = 0; i < nvms; i++) {
		if (vms[i].host < 0 || vms[i].host >= (int)nhosts) {
			mb_errf(err, "plan: vm %s has no host", vms[i].name);
			goto out;
		}
		if (i && mb_set_comparable(vms[0].set, vms[i].set, err))
			goto out;
		w.pv[i] = (struct mb_place_vm){ vms[i].name, vms[i].memory_mb,
						vms[i].host, vms[i].set };
		w.cur[i] = vms[i].host;
	}
	w.p = (struct mb_placement){ w.ph, nhosts, w.pv, nvms };
	for (i = 0; i < nhosts; i++)
		r->before_mb[i] = after(&w, (int)i, -1, -1);
	if (nvms && nhosts > 1) {
		if (hotspots(&w, o, r)) {
			mb_errf(err, "plan: out of memory");
			goto out;
		}
		if (consolidate(&w, o, r, err))
			goto out;
	}
	for (i = 0; i < nhosts; i++)
		r->after_mb[i] = after(&w, (int)i, -1, -1);
	for (i = 0; i < r->nmoves; i++)
		r->saved_mb += r->moves[i].gain_mb;
	ret = 0;
out:
	free(w.ph);
	free(w.pv);
	free(w.cur);
	free(w.members);
	if (ret)
		plan_result_free(r);
	return ret;
}

void plan_result_free(struct plan_result *r)
{
	free(r->moves);
	free(r->skipped);
	free(r->before_mb);
	free(r->after_mb);
	memset(r, 0, sizeof(*r));
}
