// SPDX-License-Identifier: GPL-2.0
/*
 * sim.c - the real simulator of sim.h: any number of frames and VMs, the
 * O(1) LRU of lru.h, and five policies run at every checkpoint.
 *
 *   static        frames stay where they start;
 *   last-n        the seed's pairing: VMs sorted by misses in the last
 *                 interval, the fewest-miss VM of each pair gives one
 *                 frame to the most-miss one (never below the floor);
 *   proportional  the seed's share: floor + bonus * (misses so far /
 *                 all misses), in exact integers, the frames rounding
 *                 leaves by largest remainder;
 *   meb           every VM's LRU stack distances (mrc.h), older intervals
 *                 weighted down by meb_decay, give its miss curve; frames
 *                 go one at a time where the curve saves most (greedy on
 *                 each curve's lower convex hull, so a plateau before a
 *                 drop does not stop it);
 *   cagma         the simulator derives what a guest would report and
 *                 hands it to balance.h, the code mb-controld runs.
 * A frame taken from a VM takes its least recently used page with it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "mrc.h"
#include "sim.h"

static const char *const policy_names[] = {
	[MB_SIM_STATIC] = "static",
	[MB_SIM_LAST_N] = "last-n",
	[MB_SIM_PROPORTIONAL] = "proportional",
	[MB_SIM_MEB] = "meb",
	[MB_SIM_CAGMA] = "cagma",
};

const char *mb_sim_policy_name(enum mb_sim_policy policy)
{
	return (unsigned)policy < sizeof(policy_names) / sizeof(policy_names[0]) ?
	       policy_names[policy] : "?";
}

int mb_sim_policy_parse(const char *name, enum mb_sim_policy *policy)
{
	size_t i;

	for (i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (!strcmp(name, policy_names[i])) {
			*policy = (enum mb_sim_policy)i;
			return 0;
		}
	return -1;
}

void mb_sim_defaults(struct mb_sim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->policy = MB_SIM_STATIC;
	c->balance_mode = MB_BALANCE_CAGMA;
	c->interval_s = 10;
	c->meb_decay = 0.9;
}

void mb_sim_result_free(struct mb_sim_result *res)
{
	free(res->vms);
	memset(res, 0, sizeof(*res));
}

struct rvm {
	const struct mb_sim_vm *in;
	struct mb_lru lru;
	uint8_t *seen;		/* page referenced before */
	uint64_t win_acc, win_miss, win_refault;
	uint64_t cumulative;	/* misses so far */
	uint64_t footprint;	/* distinct pages so far */
	uint64_t *last_step;	/* cagma: step + 1 of the page's last reference */
	struct mb_mrc mrc;	/* meb */
	double *hist;		/* meb: distance histogram, hist_len + 1 */
	double frame_steps;
};

struct rsim {
	struct rvm *vm;
	size_t n;
	uint64_t frames, floor, max_per_vm, hist_len;
	uint64_t *target;	/* scratch: next allocation */
	uint64_t moved;
};

/* Move to the allocation in s->target (which adds up to <= frames). */
static void apply(struct rsim *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		uint64_t cur = s->vm[i].lru.capacity;

		if (s->target[i] < cur) {
			s->moved += cur - s->target[i];
			mb_lru_resize(&s->vm[i].lru, s->target[i]);
		}
	}
	for (i = 0; i < s->n; i++)
		if (s->target[i] > s->vm[i].lru.capacity)
			mb_lru_resize(&s->vm[i].lru, s->target[i]);
}

static void policy_last_n(struct rsim *s, size_t *order)
{
	size_t i, j, lo, hi;

	for (i = 0; i < s->n; i++) {
		s->target[i] = s->vm[i].lru.capacity;
		for (j = i; j > 0 && s->vm[order[j - 1]].win_miss > s->vm[i].win_miss; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (lo = 0, hi = s->n - 1; lo < hi; lo++, hi--) {
		size_t g = order[lo], k = order[hi];

		if (s->vm[g].win_miss == s->vm[k].win_miss)
			break;
		if (s->target[g] <= s->floor)
			continue;
		s->target[g]--;
		s->target[k]++;
	}
	apply(s);
}

static void policy_proportional(struct rsim *s, double *rem)
{
	uint64_t bonus = s->frames - s->n * s->floor, total = 0, given = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		total += s->vm[i].cumulative;
	if (!total)
		return;
	for (i = 0; i < s->n; i++) {
		/* exact: floor(bonus * misses / total), no float rounding */
		unsigned __int128 x = (unsigned __int128)bonus * s->vm[i].cumulative;
		uint64_t part = (uint64_t)(x / total);

		rem[i] = (double)(x % total) / (double)total;
		s->target[i] = s->floor + part;
		given += part;
	}
	while (given < bonus) {	/* largest remainder, lowest index on ties */
		size_t best = 0;

		for (i = 1; i < s->n; i++)
			if (rem[i] > rem[best])
				best = i;
		s->target[best]++;
		rem[best] = -1;
		given++;
	}
	apply(s);
}

/*
 * MEB: on each VM's curve misses(c) = sum of hist[d] for d >= c, walk the
 * lower convex hull from the floor; the VM whose next hull segment saves
 * the most misses per frame gets that segment's frames, until none is
 * left or no segment saves anything. Frames no curve wants stay with the
 * VMs that hold them, then go round the VMs in turn. Afterwards the
 * histograms are weighted down by @decay: at 0.9 the curve remembers
 * about ten intervals.
 */
struct meb_scratch {
	uint64_t **hull;	/* per VM: hull vertices (memory sizes) */
	double **gain;		/* per VM: misses saved per frame on each segment */
	uint64_t *hull_len, *at;
	double *curve;		/* misses(c), c = 0 .. hist_len */
};

static void policy_meb(struct rsim *s, double decay, struct meb_scratch *m)
{
	uint64_t H = s->hist_len, budget = s->frames - s->n * s->floor;
	uint64_t top = s->max_per_vm < H ? s->max_per_vm : H, c, k;
	size_t i;

	for (i = 0; i < s->n; i++) {
		double *h = s->vm[i].hist, *curve = m->curve, acc = 0;
		uint64_t *hv = m->hull[i];

		for (c = H + 1; c-- > 0;) {
			acc += h[c];
			curve[c] = acc;
		}
		for (k = 0, c = s->floor; c <= top; c++) {
			/* drop the last vertex while it lies on or above the
			 * segment from the one before it to c */
			while (k >= 2) {
				uint64_t a = hv[k - 2], b = hv[k - 1];
				double cross = (curve[b] - curve[a]) * (double)(c - a) -
					       (curve[c] - curve[a]) * (double)(b - a);

				if (cross < 0)
					break;
				k--;
			}
			hv[k++] = c;
		}
		m->hull_len[i] = k;
		for (c = 0; c + 1 < k; c++)
			m->gain[i][c] = (curve[hv[c]] - curve[hv[c + 1]]) /
					(double)(hv[c + 1] - hv[c]);
		m->at[i] = 0;
		s->target[i] = s->floor;
		for (c = 0; c <= H; c++)
			h[c] *= decay;
	}
	while (budget) {
		size_t best = SIZE_MAX;
		double best_gain = 0;
		uint64_t len;

		for (i = 0; i < s->n; i++)
			if (m->at[i] + 1 < m->hull_len[i] &&
			    m->gain[i][m->at[i]] > best_gain) {
				best_gain = m->gain[i][m->at[i]];
				best = i;
			}
		if (best == SIZE_MAX)
			break;
		len = m->hull[best][m->at[best] + 1] - m->hull[best][m->at[best]];
		if (len > budget)
			len = budget;
		s->target[best] += len;
		budget -= len;
		m->at[best]++;
	}
	for (i = 0; i < s->n && budget; i++) {
		uint64_t cur = s->vm[i].lru.capacity;

		if (cur > s->target[i]) {
			uint64_t back = cur - s->target[i];

			if (back > budget)
				back = budget;
			s->target[i] += back;
			budget -= back;
		}
	}
	for (i = 0; budget; i = (i + 1) % s->n)
		if (s->target[i] < s->max_per_vm) {
			s->target[i]++;
			budget--;
		}
	apply(s);
}

/*
 * cagma: what a guest would report, from what the simulation knows
 * (docs/balancing.md, "Units in the simulator"): one frame is one MiB;
 * memory in use is the interval's working set (distinct pages referenced
 * in it), at most the VM's frames; Committed_AS is every page the VM has
 * touched; misses of pages seen before are swap-ins and major faults,
 * counted per second of an interval of interval_s; PSI "some" is the
 * share of the interval's references that missed.
 */
void mb_sim_cagma_observe(uint64_t distinct, uint64_t footprint,
			  uint64_t refaults, uint64_t accesses, uint64_t frames,
			  double interval_s, struct mb_vm_observed *o)
{
	o->used_mib = (double)(distinct < frames ? distinct : frames);
	o->committed_mib = (double)footprint;
	o->swapin_rate = (double)refaults / interval_s;
	o->majfault_rate = o->swapin_rate;
	o->psi_some_avg10 = accesses ? 100.0 * (double)refaults / (double)accesses : 0;
	o->current_mib = (double)frames;
}

void mb_sim_cagma_params(uint64_t floor, double interval_s,
			 struct mb_cma_params *cp, struct mb_balance_params *bp)
{
	mb_cma_defaults(cp);
	cp->reserve_mib = (double)floor;
	cp->min_mib = (double)floor;
	cp->fault_window_s = interval_s;
	cp->page_kib = 1024;
	mb_balance_defaults(bp);
	bp->step_mib = 1;
	bp->fault_threshold = 1.0 / interval_s;
}

/*
 * The working set of the last @window references, read off the LRU stack:
 * the resident pages from the most recent down to the first one not
 * referenced since (at most the VM's frames, as in a guest).
 */
static uint64_t working_set(const struct rvm *v, uint64_t steps, uint64_t window)
{
	uint64_t since = steps > window ? steps - window : 0, ws = 0;
	uint32_t p;

	for (p = v->lru.head; p != MB_LRU_NONE && v->last_step[p] > since;
	     p = v->lru.link[p].next)
		ws++;
	return ws;
}

static int policy_cagma(struct rsim *s, const struct mb_sim_config *cfg,
			uint64_t steps, uint64_t window,
			struct mb_vm_observed *obs, struct mb_balance_vm *bv,
			struct mb_balance_host *host, struct mb_err *err)
{
	struct mb_cma_params cp;
	struct mb_balance_params bp;
	size_t i;

	mb_sim_cagma_params(s->floor, cfg->interval_s, &cp, &bp);
	for (i = 0; i < s->n; i++) {
		struct rvm *v = &s->vm[i];

		mb_sim_cagma_observe(working_set(v, steps, window), v->footprint,
				     v->win_refault,
				     v->win_acc, v->lru.capacity, cfg->interval_s,
				     &obs[i]);
		mb_balance_vm_prepare(&bv[i], &obs[i], &cp, s->floor,
				      s->max_per_vm, v->win_miss, NULL);
	}
	host->capacity_mib = s->frames;
	host->reserve_mib = 0;
	if (mb_balance_allocate(host, bv, s->n, cfg->balance_mode, &bp, err))
		return -1;
	for (i = 0; i < s->n; i++)
		s->target[i] = bv[i].target_mib;
	apply(s);
	return 0;
}

int mb_sim_run(const struct mb_sim_input *in, const struct mb_sim_config *cfg,
	       struct mb_sim_result *res, struct mb_err *err)
{
	struct rsim s;
	uint64_t steps = 0, every, t, share, distinct = 0, ws_window, max_pages = 0;
	uint64_t *scratch = NULL, *frames_now, *win_acc, *win_miss;
	struct meb_scratch meb_s = { NULL, NULL, NULL, NULL, NULL };
	struct mb_vm_observed *obs = NULL;
	struct mb_balance_vm *bv = NULL;
	struct mb_balance_host host;
	double *rem = NULL;
	size_t *order = NULL, i, n = in->count;
	bool meb = cfg->policy == MB_SIM_MEB, cagma = cfg->policy == MB_SIM_CAGMA;
	bool small = true;
	int ret = -1;

	if (cfg->faithful)
		return mb_sim_run_faithful(in, cfg, res, err);
	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	if (!n)
		return mb_errf(err, "no VM to simulate");
	for (i = 0; i < n; i++) {
		if (in->vms[i].n > steps)
			steps = in->vms[i].n;
		distinct += in->vms[i].pages;
		small &= in->vms[i].pages <= 64;
		if (in->vms[i].pages > max_pages)
			max_pages = in->vms[i].pages;
	}
	s.n = n;
	s.frames = cfg->frames ? cfg->frames : small ? 16 : distinct / 2;
	s.floor = cfg->floor ? cfg->floor : 2;
	every = cfg->every ? cfg->every : 10000;
	ws_window = cfg->ws_window ? cfg->ws_window : 10 * every;
	if (n > s.frames)
		return mb_errf(err, "%zu VMs but only %llu frames: every VM "
			       "needs at least one", n, (unsigned long long)s.frames);
	if (n * s.floor > s.frames)
		return mb_errf(err, "%zu VMs of at least %llu frames each (the "
			       "floor) need %llu frames, more than the %llu "
			       "there are", n, (unsigned long long)s.floor,
			       (unsigned long long)(n * s.floor),
			       (unsigned long long)s.frames);
	s.max_per_vm = s.frames - (n - 1) * s.floor;
	/* no distance reaches a VM's page count: longer curves are flat */
	s.hist_len = s.max_per_vm < max_pages + 1 ? s.max_per_vm : max_pages + 1;
	s.vm = calloc(n, sizeof(*s.vm));
	s.target = calloc(n, sizeof(*s.target));
	scratch = calloc(5 * n, sizeof(*scratch));
	order = calloc(n, sizeof(*order));
	rem = calloc(n, sizeof(*rem));
	res->vms = calloc(n, sizeof(*res->vms));
	if (!s.vm || !s.target || !scratch || !order || !rem || !res->vms)
		goto oom;
	res->count = n;
	frames_now = scratch;
	win_acc = scratch + n;
	win_miss = scratch + 2 * n;
	meb_s.hull_len = scratch + 3 * n;
	meb_s.at = scratch + 4 * n;
	if (cagma) {
		obs = calloc(n, sizeof(*obs));
		bv = calloc(n, sizeof(*bv));
		if (!obs || !bv)
			goto oom;
	}
	if (meb) {
		meb_s.hull = calloc(n, sizeof(*meb_s.hull));
		meb_s.gain = calloc(n, sizeof(*meb_s.gain));
		meb_s.curve = malloc((s.hist_len + 1) * sizeof(*meb_s.curve));
		if (!meb_s.hull || !meb_s.gain || !meb_s.curve)
			goto oom;
	}
	share = s.frames / n;
	for (i = 0; i < n; i++) {
		struct rvm *v = &s.vm[i];
		uint32_t pages = in->vms[i].pages;

		v->in = &in->vms[i];
		if (mb_lru_init(&v->lru, pages, share + (i < s.frames % n), err))
			goto fail;
		v->seen = calloc(pages ? pages : 1, 1);
		if (!v->seen)
			goto oom;
		if (cagma) {
			v->last_step = calloc(pages ? pages : 1, sizeof(*v->last_step));
			if (!v->last_step)
				goto oom;
		}
		if (meb) {
			if (mb_mrc_init(&v->mrc, pages, err))
				goto fail;
			/* hist[hist_len]: distances >= hist_len */
			v->hist = calloc(s.hist_len + 1, sizeof(*v->hist));
			meb_s.hull[i] = malloc((s.hist_len + 1) * sizeof(**meb_s.hull));
			meb_s.gain[i] = malloc((s.hist_len + 1) * sizeof(**meb_s.gain));
			if (!v->hist || !meb_s.hull[i] || !meb_s.gain[i])
				goto oom;
		}
	}
	for (t = 0; t < steps; t++) {
		for (i = 0; i < n; i++) {
			struct rvm *v = &s.vm[i];
			uint32_t page;

			if (t >= v->in->n)
				continue;
			page = v->in->refs[t];
			v->win_acc++;
			if (!mb_lru_access(&v->lru, page)) {
				v->win_miss++;
				if (v->seen[page]) {
					v->win_refault++;
				} else {
					v->seen[page] = 1;
					v->footprint++;
					res->vms[i].cold_misses++;
				}
			}
			if (cagma)
				v->last_step[page] = t + 1;
			if (meb) {
				uint32_t d = mb_mrc_access(&v->mrc, page);

				if (d != MB_MRC_COLD)
					v->hist[d < s.hist_len ? d : s.hist_len] += 1;
			}
		}
		if ((t + 1) % every && t + 1 != steps)
			continue;
		/* checkpoint */
		for (i = 0; i < n; i++) {
			struct rvm *v = &s.vm[i];

			v->cumulative += v->win_miss;
			res->vms[i].accesses += v->win_acc;
			res->vms[i].misses += v->win_miss;
			v->frame_steps += (double)v->lru.capacity * (double)v->win_acc;
			win_acc[i] = v->win_acc;
			win_miss[i] = v->win_miss;
		}
		if (t + 1 != steps) {
			res->checkpoints++;
			switch (cfg->policy) {
			case MB_SIM_LAST_N:
				policy_last_n(&s, order);
				break;
			case MB_SIM_PROPORTIONAL:
				policy_proportional(&s, rem);
				break;
			case MB_SIM_MEB:
				policy_meb(&s, cfg->meb_decay, &meb_s);
				break;
			case MB_SIM_CAGMA:
				if (policy_cagma(&s, cfg, t + 1, ws_window, obs, bv,
						 &host, err))
					goto fail;
				res->hotspots += host.hotspot;
				break;
			default:
				break;
			}
		}
		for (i = 0; i < n; i++) {
			s.vm[i].win_acc = s.vm[i].win_miss = 0;
			s.vm[i].win_refault = 0;
			frames_now[i] = s.vm[i].lru.capacity;
		}
		if (cfg->on_checkpoint) {
			struct mb_sim_checkpoint cp;

			memset(&cp, 0, sizeof(cp));
			cp.step = t + 1;
			cp.count = n;
			cp.frames = frames_now;
			cp.window_accesses = win_acc;
			cp.window_misses = win_miss;
			if (cagma && t + 1 != steps) {
				cp.observed = obs;
				cp.decisions = bv;
				cp.host = &host;
			}
			cfg->on_checkpoint(cfg->ctx, &cp);
		}
	}
	for (i = 0; i < n; i++) {
		struct mb_sim_vm_result *r = &res->vms[i];

		r->frames_final = s.vm[i].lru.capacity;
		r->frames_mean = r->accesses ? s.vm[i].frame_steps / (double)r->accesses :
				 (double)r->frames_final;
		res->accesses += r->accesses;
		res->misses += r->misses;
	}
	res->frames = s.frames;
	res->every = every;
	res->floor = s.floor;
	res->steps = steps;
	res->moved = s.moved;
	ret = 0;
	goto out;
oom:
	mb_errf(err, "out of memory for %zu VMs", n);
fail:
	mb_sim_result_free(res);
out:
	for (i = 0; s.vm && i < n; i++) {
		mb_lru_free(&s.vm[i].lru);
		free(s.vm[i].seen);
		free(s.vm[i].last_step);
		free(s.vm[i].hist);
		if (s.vm[i].mrc.tree)
			mb_mrc_free(&s.vm[i].mrc);
		if (meb_s.hull)
			free(meb_s.hull[i]);
		if (meb_s.gain)
			free(meb_s.gain[i]);
	}
	free(meb_s.hull);
	free(meb_s.gain);
	free(meb_s.curve);
	free(s.vm);
	free(s.target);
	free(scratch);
	free(order);
	free(rem);
	free(obs);
	free(bv);
	return ret;
}
