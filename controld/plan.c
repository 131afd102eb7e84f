// SPDX-License-Identifier: GPL-2.0
/*
 * plan.c - run the policies over one working placement (plan.h,
 * policy.h).
 *
 * The policies run in the order of the table below, a fixed priority:
 * each sees the cluster as the ones before it left it, and --max-moves
 * bounds the migrations of all of them together.
 *
 *   1. hotspot (policy_hotspot.c): the paper's hotspot mitigation. A host
 *      over capacity, or with a guest swapping, gives up a VM first: it
 *      relieves a host, so it needs no minimum gain.
 *   2. buddies (policy_buddies.c): consolidation by sharing, the paper's
 *      buddies placement turned into the moves worth making.
 *
 * The plan's before_mb / after_mb are each host's memory in use before
 * any action and after all of them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const struct policy *const policies[] = {
	&policy_hotspot,
	&policy_buddies,
};

#define NPOLICIES (sizeof(policies) / sizeof(policies[0]))

const char *plan_policy_order(void)
{
	static char order[128];
	size_t i, len = 0;

	if (!order[0])
		for (i = 0; i < NPOLICIES; i++)
			len += snprintf(order + len, sizeof(order) - len,
					"%s%s", i ? " > " : "",
					policies[i]->name);
	return order;
}

double plan_after(struct plan_work *w, int h, long minus, long plus)
{
	size_t v, m = 0;

	for (v = 0; v < w->nvms; v++)
		if ((w->cur[v] == h && (long)v != minus) || (long)v == plus)
			w->members[m++] = v;
	return mb_group_after_mb(&w->p, w->members, m);
}

double plan_move_gain(struct plan_work *w, size_t v, int to,
		      double *dst_after)
{
	int from = w->cur[v];
	double a = plan_after(w, to, -1, (long)v);

	if (dst_after)
		*dst_after = a;
	return plan_after(w, from, -1, -1) + plan_after(w, to, -1, -1) -
	       plan_after(w, from, (long)v, -1) - a;
}

static int append(struct plan_action **list, size_t *n,
		  const struct plan_action *a, struct mb_err *err)
{
	struct plan_action *grown = realloc(*list, (*n + 1) * sizeof(**list));

	if (!grown)
		return mb_errf(err, "plan: out of memory");
	*list = grown;
	grown[(*n)++] = *a;
	return 0;
}

static struct plan_action move(struct plan_work *w, size_t v, int to,
			       double gain, bool hotspot, const char *reason)
{
	struct plan_action a = {
		.kind = ACTION_MIGRATE, .policy = w->policy, .vm = v,
		.from = w->cur[v], .to = to, .gain_mb = gain,
		.hotspot = hotspot,
	};

	snprintf(a.reason, sizeof(a.reason), "%s", reason);
	return a;
}

int plan_propose_move(struct plan_work *w, size_t v, int to, double gain,
		      bool hotspot, const char *reason, struct mb_err *err)
{
	struct plan_action a = move(w, v, to, gain, hotspot, reason);

	if (append(&w->r->actions, &w->r->nactions, &a, err))
		return -1;
	w->cur[v] = to;
	w->nmoves++;
	return 0;
}

int plan_skip(struct plan_work *w, size_t v, int to, double gain,
	      const char *why, struct mb_err *err)
{
	struct plan_action a = move(w, v, to, gain, false, why);

	return append(&w->r->skipped, &w->r->nskipped, &a, err);
}

int plan_compute(const struct plan_host *hosts, size_t nhosts,
		 const struct plan_vm *vms, size_t nvms,
		 const struct plan_opts *o, struct plan_result *r,
		 struct mb_err *err)
{
	struct plan_work w = { .hosts = hosts, .nhosts = nhosts, .vms = vms,
			       .nvms = nvms, .o = o, .r = r };
	struct mb_place_host *ph;
	struct mb_place_vm *pv;
	size_t i;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	ph = calloc(nhosts + 1, sizeof(*ph));
	pv = calloc(nvms + 1, sizeof(*pv));
	w.cur = calloc(nvms + 1, sizeof(int));
	w.members = calloc(nvms + 1, sizeof(size_t));
	r->before_mb = calloc(nhosts + 1, sizeof(double));
	r->after_mb = calloc(nhosts + 1, sizeof(double));
	if (!ph || !pv || !w.cur || !w.members || !r->before_mb ||
	    !r->after_mb) {
		mb_errf(err, "plan: out of memory");
		goto out;
	}
	for (i = 0; i < nhosts; i++)
		ph[i] = (struct mb_place_host){ hosts[i].name,
						hosts[i].capacity_mb };
	for (i = 0; i < nvms; i++) {
		if (vms[i].host < 0 || vms[i].host >= (int)nhosts) {
			mb_errf(err, "plan: vm %s has no host", vms[i].name);
			goto out;
		}
		if (i && mb_set_comparable(vms[0].set, vms[i].set, err))
			goto out;
		pv[i] = (struct mb_place_vm){ vms[i].name, vms[i].memory_mb,
					      vms[i].host, vms[i].set };
		w.cur[i] = vms[i].host;
	}
	w.p = (struct mb_placement){ ph, nhosts, pv, nvms };
	w.pv = pv;
	for (i = 0; i < nhosts; i++)
		r->before_mb[i] = plan_after(&w, (int)i, -1, -1);
	if (nvms && nhosts > 1)
		for (i = 0; i < NPOLICIES; i++) {
			w.policy = policies[i]->name;
			if (policies[i]->propose(&w, err))
				goto out;
		}
	for (i = 0; i < nhosts; i++)
		r->after_mb[i] = plan_after(&w, (int)i, -1, -1);
	for (i = 0; i < r->nactions; i++)
		r->saved_mb += r->actions[i].gain_mb;
	ret = 0;
out:
	free(ph);
	free(pv);
	free(w.cur);
	free(w.members);
	if (ret)
		plan_result_free(r);
	return ret;
}

void plan_result_free(struct plan_result *r)
{
	free(r->actions);
	free(r->skipped);
	free(r->before_mb);
	free(r->after_mb);
	memset(r, 0, sizeof(*r));
}
