// SPDX-License-Identifier: GPL-2.0
/*
 * balance.c - the critical memory amount and the per-host allocation of
 * balance.h.
 *
 * mb_balance_allocate() works in two passes. The first decides what every
 * VM should ideally hold (want): its guarantee min(CMA, max) within its
 * floor, plus a share of what is left over, or, when the guarantees do not
 * fit, what it holds now capped at its guarantee (nobody is taken below
 * its CMA to feed another) cut down only if even that does not fit. The
 * second turns wants into targets for this interval: shrink gradually,
 * grow at once from the memory actually free, skip changes under a step.
 * A shrink that is gradual would leave growing VMs waiting; when the
 * targets would add up to more than the host has, the shrinking VMs go to
 * their wants at once, which always fit, since the wants do.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"

void mb_cma_defaults(struct mb_cma_params *p)
{
	p->commit_weight = 0.25;
	p->reserve_mib = 64;
	p->reserve_fraction = 0.05;
	p->fault_window_s = 10;
	p->fault_growth_max = 0.5;
	p->psi_gain = 0.5;
	p->psi_threshold = 1;
	p->min_mib = 128;
	p->page_kib = 4;
}

void mb_balance_defaults(struct mb_balance_params *p)
{
	p->step_mib = 16;
	p->shrink_fraction = 0.25;
	p->fault_threshold = 1;
	p->psi_threshold = 10;
}

/* An observation: NaN stays NaN (unknown), negative becomes 0. */
static double seen(double v)
{
	return isnan(v) ? v : v < 0 ? 0 : v;
}

static double known(double v)
{
	v = seen(v);
	return isnan(v) ? 0 : v;
}

uint64_t mb_cma(const struct mb_vm_observed *o, const struct mb_cma_params *p,
		struct mb_cma_parts *parts)
{
	struct mb_cma_parts t;
	double current = known(o->current_mib), used = seen(o->used_mib);
	double committed = seen(o->committed_mib), psi = known(o->psi_some_avg10);
	double rate = fmax(known(o->swapin_rate), known(o->majfault_rate));
	double base, cma;

	t.used = isnan(used) ? current : used;
	t.commit = isnan(committed) || committed <= t.used ? 0 :
		   p->commit_weight * (committed - t.used);
	base = t.used + t.commit;
	t.shortfall = fmin(rate * p->page_kib / 1024.0 * p->fault_window_s,
			   p->fault_growth_max * current);
	t.pressure = psi >= p->psi_threshold && psi > 0 ?
		     p->psi_gain * fmin(psi, 100) / 100.0 * current : 0;
	t.reserve = fmax(p->reserve_mib, p->reserve_fraction * base);
	cma = fmax(p->min_mib, base + fmax(t.shortfall, t.pressure) + t.reserve);
	if (parts)
		*parts = t;
	if (!(cma > 0))
		return 0;
	if (cma >= 0x1p62)
		return UINT64_C(1) << 62;
	return (uint64_t)ceil(cma - 1e-9);
}

static double nonneg(double v)
{
	return v > 0 ? v : 0;	/* NaN and negatives count as 0 */
}

void mb_balance_vm_prepare(struct mb_balance_vm *bv,
			   const struct mb_vm_observed *o,
			   const struct mb_cma_params *cp, uint64_t floor_mib,
			   uint64_t max_mib, uint64_t recent_misses,
			   struct mb_cma_parts *parts)
{
	memset(bv, 0, sizeof(*bv));
	bv->cma_mib = mb_cma(o, cp, parts);
	bv->floor_mib = floor_mib;
	bv->max_mib = max_mib;
	bv->current_mib = (uint64_t)llround(nonneg(o->current_mib));
	bv->fault_rate = fmax(nonneg(o->swapin_rate), nonneg(o->majfault_rate));
	bv->psi_some_avg10 = nonneg(o->psi_some_avg10);
	bv->recent_misses = recent_misses;
}

const char *mb_balance_mode_name(enum mb_balance_mode mode)
{
	return mode == MB_BALANCE_PROPORTIONAL ? "proportional" : "cagma";
}

int mb_balance_mode_parse(const char *name, enum mb_balance_mode *mode)
{
	if (!strcmp(name, "cagma"))
		*mode = MB_BALANCE_CAGMA;
	else if (!strcmp(name, "proportional"))
		*mode = MB_BALANCE_PROPORTIONAL;
	else
		return -1;
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * Give up to @amount MiB to the VMs in proportion to @weight, VM i taking
 * at most room[i] (which shrinks as it is filled) into want_mib. What a
 * full VM cannot take is shared again among the others; whole MiB that
 * rounding leaves go one at a time to the heaviest first. Returns what
 * could not be given (everybody with weight full).
 */
static uint64_t spread(uint64_t amount, const double *weight, uint64_t *room,
		       struct mb_balance_vm *vms, size_t n, size_t *order)
{
	size_t i, k;

	/* order: indices by weight, heaviest first, ties by index. */
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && weight[order[k]] > weight[order[k - 1]]; k--) {
			size_t t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	while (amount) {
		double total = 0;
		uint64_t given = 0;

		for (i = 0; i < n; i++)
			if (room[i] && weight[i] > 0)
				total += weight[i];
		if (total <= 0)
			break;
		for (i = 0; i < n; i++) {
			uint64_t share;

			if (!room[i] || !(weight[i] > 0))
				continue;
			share = (uint64_t)floor((double)amount * (weight[i] / total));
			share = min_u64(min_u64(share, room[i]), amount - given);
			vms[i].want_mib += share;
			room[i] -= share;
			given += share;
		}
		if (!given)
			for (k = 0; k < n && given < amount; k++) {
				i = order[k];
				if (room[i] && weight[i] > 0) {
					vms[i].want_mib++;
					room[i]--;
					given++;
				}
			}
		amount -= given;
	}
	return amount;
}

/* Growth order: below the guarantee before above it, needy first, then
 * by fault rate, pressure and size of the gap. */
struct grow_key {
	const struct mb_balance_vm *vms;
	const uint64_t *guard;
};

static int grow_class(const struct mb_balance_vm *v, uint64_t guard)
{
	return (v->current_mib < guard ? 0 : 2) + (v->needy ? 0 : 1);
}

static bool grows_before(const struct grow_key *g, size_t a, size_t b)
{
	const struct mb_balance_vm *x = &g->vms[a], *y = &g->vms[b];
	int cx = grow_class(x, g->guard[a]), cy = grow_class(y, g->guard[b]);

	if (cx != cy)
		return cx < cy;
	if (x->fault_rate != y->fault_rate)
		return x->fault_rate > y->fault_rate;
	if (x->psi_some_avg10 != y->psi_some_avg10)
		return x->psi_some_avg10 > y->psi_some_avg10;
	if (x->want_mib - x->current_mib != y->want_mib - y->current_mib)
		return x->want_mib - x->current_mib > y->want_mib - y->current_mib;
	return a < b;
}

static void why(struct mb_balance_vm *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void why(struct mb_balance_vm *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static const char *need_words(const struct mb_balance_vm *v,
			      const struct mb_balance_params *p, char *buf,
			      size_t len)
{
	if (v->fault_rate >= p->fault_threshold)
		snprintf(buf, len, ": swapping %.0f pages/s", v->fault_rate);
	else if (v->psi_some_avg10 >= p->psi_threshold)
		snprintf(buf, len, ": under pressure (PSI some %.1f %%)",
			 v->psi_some_avg10);
	else
		buf[0] = 0;
	return buf;
}

/* Pass 1: want_mib for every VM. guard[i] = min(CMA, max) within floor. */
static void decide_wants(struct mb_balance_host *host, struct mb_balance_vm *vms,
			 size_t n, enum mb_balance_mode mode, uint64_t avail,
			 const uint64_t *guard, double *weight, uint64_t *room,
			 size_t *order)
{
	uint64_t sum = 0, rest;
	size_t i;

	for (i = 0; i < n; i++)
		sum += guard[i];
	if (sum <= avail) {
		rest = avail - sum;
		for (i = 0; i < n; i++) {
			vms[i].want_mib = guard[i];
			room[i] = vms[i].max_mib - guard[i];
		}
		if (mode == MB_BALANCE_CAGMA) {
			bool any_rate = false;

			for (i = 0; i < n; i++)
				any_rate |= vms[i].needy && vms[i].fault_rate > 0;
			for (i = 0; i < n; i++)
				weight[i] = !vms[i].needy ? 0 :
					    any_rate ? vms[i].fault_rate : 1;
			rest = spread(rest, weight, room, vms, n, order);
			for (i = 0; i < n; i++)
				weight[i] = (double)max_u64(vms[i].cma_mib, 1);
			spread(rest, weight, room, vms, n, order);
		} else {
			uint64_t misses = 0;

			for (i = 0; i < n; i++)
				misses += vms[i].recent_misses;
			for (i = 0; i < n; i++)
				weight[i] = misses ? (double)vms[i].recent_misses :
					    (double)max_u64(vms[i].cma_mib, 1);
			rest = spread(rest, weight, room, vms, n, order);
			for (i = 0; i < n && misses; i++)
				weight[i] = (double)max_u64(vms[i].cma_mib, 1);
			if (misses)
				spread(rest, weight, room, vms, n, order);
		}
		return;
	}
	/*
	 * The guarantees do not fit: nobody grows beyond what it holds
	 * (capped at its guarantee) unless memory is left, which goes to the
	 * VMs still below their guarantee, neediest first.
	 */
	sum = 0;
	for (i = 0; i < n; i++) {
		vms[i].want_mib = max_u64(vms[i].floor_mib,
					  min_u64(guard[i], vms[i].current_mib));
		sum += vms[i].want_mib;
	}
	if (sum <= avail) {
		for (i = 0; i < n; i++) {
			room[i] = guard[i] - vms[i].want_mib;
			weight[i] = vms[i].needy ? 1 + vms[i].fault_rate : 0;
		}
		rest = spread(avail - sum, weight, room, vms, n, order);
		for (i = 0; i < n; i++)
			weight[i] = 1;
		spread(rest, weight, room, vms, n, order);
		return;
	}
	/* Not even that fits: cut everybody toward the floor, in proportion
	 * to what each holds above it. */
	host->overcommitted = true;
	for (i = 0; i < n; i++) {
		room[i] = vms[i].want_mib - vms[i].floor_mib;
		weight[i] = (double)room[i];
		vms[i].want_mib = vms[i].floor_mib;
	}
	sum = 0;
	for (i = 0; i < n; i++)
		sum += vms[i].floor_mib;
	spread(avail - sum, weight, room, vms, n, order);
}

int mb_balance_allocate(struct mb_balance_host *host, struct mb_balance_vm *vms,
			size_t n, enum mb_balance_mode mode,
			const struct mb_balance_params *p, struct mb_err *err)
{
	uint64_t avail, floors = 0, total, free_mib, urgent;
	uint64_t *guard, *room;
	double *weight;
	size_t *order, i, k;
	struct grow_key key;
	char need[64];
	int ret = -1;

	host->cma_sum = host->want_sum = host->target_sum = 0;
	host->hotspot = host->overcommitted = false;
	if (host->reserve_mib > host->capacity_mib)
		return mb_errf(err, "reserve of %llu MiB is more than the host's "
			       "capacity of %llu MiB",
			       (unsigned long long)host->reserve_mib,
			       (unsigned long long)host->capacity_mib);
	avail = host->capacity_mib - host->reserve_mib;
	for (i = 0; i < n; i++) {
		if (vms[i].floor_mib > vms[i].max_mib)
			return mb_errf(err, "vm %zu: floor of %llu MiB is above "
				       "its maximum of %llu MiB", i,
				       (unsigned long long)vms[i].floor_mib,
				       (unsigned long long)vms[i].max_mib);
		floors += vms[i].floor_mib;
		host->cma_sum += vms[i].cma_mib;
	}
	if (floors > avail)
		return mb_errf(err, "the VMs' floors add up to %llu MiB, more "
			       "than the host's %llu MiB less its %llu MiB "
			       "reserve", (unsigned long long)floors,
			       (unsigned long long)host->capacity_mib,
			       (unsigned long long)host->reserve_mib);
	host->hotspot = host->cma_sum > host->capacity_mib;
	if (!n)
		return 0;
	guard = calloc(n, sizeof(*guard));
	room = calloc(n, sizeof(*room));
	weight = calloc(n, sizeof(*weight));
	order = calloc(n, sizeof(*order));
	if (!guard || !room || !weight || !order) {
		mb_errf(err, "out of memory for %zu VMs", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct mb_balance_vm *v = &vms[i];

		guard[i] = max_u64(v->floor_mib, min_u64(v->cma_mib, v->max_mib));
		v->needy = v->fault_rate >= p->fault_threshold ||
			   v->psi_some_avg10 >= p->psi_threshold;
		v->reason[0] = 0;
	}
	decide_wants(host, vms, n, mode, avail, guard, weight, room, order);

	/* Pass 2, shrinking and keeping: target_mib for every VM but the
	 * growing ones, which hold their current size for now. */
	total = 0;
	for (i = 0; i < n; i++) {
		struct mb_balance_vm *v = &vms[i];
		uint64_t cur = v->current_mib, want = v->want_mib, cut;

		host->want_sum += want;
		v->action = MB_BALANCE_KEEP;
		if (cur > v->max_mib) {
			v->target_mib = v->max_mib;
			why(v, "shrink to its maximum");
		} else if (cur < v->floor_mib) {
			v->target_mib = v->floor_mib;
			why(v, "grow to its floor");
		} else if (want < cur && cur - want < max_u64(p->step_mib, 1)) {
			v->target_mib = cur;
			why(v, "keep: %llu MiB above its target, under the "
			    "%llu MiB step", (unsigned long long)(cur - want),
			    (unsigned long long)p->step_mib);
		} else if (want < cur) {
			cut = (uint64_t)ceil((double)(cur - want) * p->shrink_fraction);
			cut = max_u64(max_u64(cut, p->step_mib), 1);
			v->target_mib = cur - min_u64(cut, cur - want);
			why(v, "shrink toward %llu MiB (%.0f %% of the excess "
			    "per interval)", (unsigned long long)want,
			    p->shrink_fraction * 100);
		} else {
			v->target_mib = cur;
			if (want == cur)
				why(v, "keep: at its target");
		}
		total += v->target_mib;
	}
	/*
	 * Room for the VMs that must have memory now: when the targets do not
	 * fit, or a VM that swaps below its CMA would wait for the gradual
	 * shrinks, the shrinking VMs go straight to their wants; if the
	 * targets still do not fit, so do the ones kept within a step.
	 */
	urgent = 0;
	for (i = 0; i < n; i++)
		if (vms[i].needy && vms[i].target_mib == vms[i].current_mib &&
		    vms[i].current_mib < guard[i] && vms[i].want_mib > vms[i].current_mib)
			urgent += min_u64(vms[i].want_mib, guard[i]) - vms[i].current_mib;
	for (k = 0; k < 2; k++)
		for (i = 0; i < n; i++) {
			struct mb_balance_vm *v = &vms[i];
			bool shrinking = v->target_mib < v->current_mib;

			if (k == 0 ? total + urgent <= avail : total <= avail)
				break;
			if (v->target_mib <= v->want_mib ||
			    (k == 0 && !shrinking))
				continue;
			total -= v->target_mib - v->want_mib;
			v->target_mib = v->want_mib;
			why(v, "shrink to %llu MiB at once: the host needs the "
			    "memory", (unsigned long long)v->want_mib);
		}
	free_mib = avail > total ? avail - total : 0;

	/* Growth, from the memory free now, neediest first. */
	k = 0;
	for (i = 0; i < n; i++)
		if (vms[i].want_mib > vms[i].target_mib &&
		    vms[i].target_mib == vms[i].current_mib)
			order[k++] = i;
	key.vms = vms;
	key.guard = guard;
	for (i = 1; i < k; i++) {
		size_t j;

		for (j = i; j > 0 && grows_before(&key, order[j], order[j - 1]); j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	for (i = 0; i < k; i++) {
		struct mb_balance_vm *v = &vms[order[i]];
		uint64_t gap = v->want_mib - v->current_mib;
		uint64_t give = min_u64(gap, free_mib);

		need_words(v, p, need, sizeof(need));
		if (gap < max_u64(p->step_mib, 1)) {
			why(v, "keep: %llu MiB below its target, under the "
			    "%llu MiB step", (unsigned long long)gap,
			    (unsigned long long)p->step_mib);
		} else if (give < gap && give < max_u64(p->step_mib, 1)) {
			why(v, "keep: waiting for host memory (wants %llu MiB "
			    "more, %llu MiB free)%s", (unsigned long long)gap,
			    (unsigned long long)free_mib, need);
		} else {
			v->target_mib += give;
			free_mib -= give;
			why(v, "grow %llu MiB%s%s%s", (unsigned long long)give,
			    v->target_mib <= guard[order[i]] ? " toward its CMA" :
			    " above its CMA", give < gap ? " (all that is free)" :
			    "", need);
		}
	}
	for (i = 0; i < n; i++) {
		struct mb_balance_vm *v = &vms[i];

		v->action = v->target_mib > v->current_mib ? MB_BALANCE_GROW :
			    v->target_mib < v->current_mib ? MB_BALANCE_SHRINK :
			    MB_BALANCE_KEEP;
		if (host->overcommitted && v->target_mib < guard[i] &&
		    v->action != MB_BALANCE_GROW)
			why(v, "%s: below its CMA of %llu MiB, the host is "
			    "over capacity", v->action == MB_BALANCE_SHRINK ?
			    "shrink" : "keep", (unsigned long long)v->cma_mib);
		if (v->action == MB_BALANCE_KEEP && !v->reason[0])
			why(v, "keep");
		host->target_sum += v->target_mib;
	}
	ret = 0;
out:
	free(guard);
	free(room);
	free(weight);
	free(order);
	return ret;
}
