// SPDX-License-Identifier: GPL-2.0
/*
 * sim_faithful.c - the seed simulator's model, reproduced operation by
 * operation (docs/balancing.md, "Faithful mode").
 *
 * The seed keeps every VM's frames as a doubly linked list, most recently
 * used at the head, and a page table per VM of max page + 1 entries. Its
 * results depend on details of those lists, so they are modelled here
 * with the same links (indices instead of pointers):
 *   - a frame moved between VMs keeps its old content number when last-n
 *     moves it, and a later move of that unused frame clears the page
 *     table entry of that number in the VM giving it, which may be a page
 *     the VM still holds (that page is then loaded a second time);
 *   - after proportional balancing the new tail of a VM that received
 *     frames still points into the frames handed to the next VM, until a
 *     reference relinks it; the seed counts a VM's frames by walking the
 *     list to its end, so such a VM's count includes them;
 *   - the bonus shares are computed in single precision and truncated, and
 *     the frames rounding leaves go to VM rand() % N, glibc's rand() never
 *     seeded.
 * Where the seed dereferences NULL or would loop forever, the run stops
 * with an error; a write the seed makes outside a page table (the content
 * -1 of a never used frame, or another VM's page number) is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define NIL (-1)

/* ---- glibc's rand() ---- */

void mb_seed_rand_init(struct mb_seed_rand *g, uint32_t seed)
{
	int64_t word = seed ? seed : 1;
	unsigned i;

	g->r[0] = (uint32_t)word;
	for (i = 1; i < 31; i++) {
		/* 16807 * word mod (2^31 - 1), kept in range as Schrage does */
		int64_t hi = word / 127773, lo = word % 127773;

		word = 16807 * lo - 2836 * hi;
		if (word < 0)
			word += 2147483647;
		g->r[i] = (uint32_t)word;
	}
	for (i = 31; i < 34; i++)
		g->r[i] = g->r[i - 31];
	g->i = 34;
	for (i = 0; i < 310; i++)
		mb_seed_rand_next(g);
}

int mb_seed_rand_next(struct mb_seed_rand *g)
{
	/* r[i] = r[i-31] + r[i-3]; the ring holds the last 34 values */
	uint32_t v = g->r[(g->i - 31) % 34] + g->r[(g->i - 3) % 34];

	g->r[g->i % 34] = v;
	g->i = (g->i - 33) % 34 + 34;	/* i + 1, kept in [34, 68) */
	return (int)(v >> 1);
}

int mb_seed_bonus_share(int missed, int total, int bonus)
{
	/* The seed's expression, one float operation at a time. */
	volatile float share = (float)missed / (float)total;

	share = share * (float)bonus;
	return (int)share;
}

/* ---- the seed's lists ---- */

struct frame {
	int prev, next;
	int used;
	long long content;	/* the VM's page number, -1 never used */
};

struct fvm {
	int head, tail;
	int *table;		/* page -> frame, NIL */
	long long table_len;	/* max page + 1 of the VM's whole sequence */
	uint8_t *miss;		/* per step: 1 evicting miss */
	uint64_t owned;		/* frames in its list (head to tail) */
	uint64_t window, cumulative;
};

struct fsim {
	struct frame *f;	/* frames, plus the pool's head at index nf */
	int nf;
	struct fvm *vm;
	size_t n;
	uint64_t step;		/* current step, for messages */
	struct mb_err *err;
};

static void table_clear(struct fvm *v, long long content)
{
	if (content >= 0 && content < v->table_len)
		v->table[content] = NIL;
}

static int seed_crash(struct fsim *s, size_t vm, const char *what)
{
	return mb_errf(s->err, "faithful mode, step %llu, VM %zu: %s; the "
		       "seed's code dereferences NULL here, so the run has "
		       "no defined result (the real simulator runs it)",
		       (unsigned long long)s->step, vm, what);
}

/* access_page of the seed's VM.c. Returns 0, or -1. */
static int access(struct fsim *s, size_t vi, long long page, uint64_t t,
		  uint64_t *cold)
{
	struct fvm *v = &s->vm[vi];
	struct frame *f = s->f;
	int x = v->table[page];

	if (x != NIL) {
		if (x != v->head) {
			if (x == v->tail) {
				f[f[x].prev].next = NIL;
				v->tail = f[x].prev;
			} else {
				f[f[x].prev].next = f[x].next;
				f[f[x].next].prev = f[x].prev;
			}
			f[v->head].prev = x;
			f[x].prev = NIL;
			f[x].next = v->head;
			v->head = x;
		}
		v->miss[t] = 0;
		return 0;
	}
	x = v->tail;
	if (f[x].prev == NIL)
		return seed_crash(s, vi, "a miss with one frame");
	if (f[x].used) {
		table_clear(v, f[x].content);
		v->miss[t] = 1;
	} else {
		v->miss[t] = 0;
		(*cold)++;
	}
	f[x].used = 1;
	f[x].content = page;
	v->table[page] = x;
	v->tail = f[x].prev;
	f[v->tail].next = NIL;
	f[x].prev = NIL;
	f[x].next = v->head;
	f[v->head].prev = x;
	v->head = x;
	return 0;
}

/* The seed's last-n balancing (dynamic_balance_1). */
static int balance_last_n(struct fsim *s)
{
	size_t *order = malloc(s->n * sizeof(*order)), i, j, lo, hi;

	if (!order)
		return mb_errf(s->err, "out of memory");
	/* Insertion sort by window misses, ascending; equal counts keep
	 * VM order (a VM goes after those with as many misses). */
	for (i = 0; i < s->n; i++) {
		for (j = i; j > 0 && s->vm[order[j - 1]].window > s->vm[i].window; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	/* Pairs from both ends until they meet or cross, or their counts
	 * are equal. */
	for (lo = 0, hi = s->n - 1; lo < hi; lo++, hi--) {
		struct fvm *giver = &s->vm[order[lo]], *taker = &s->vm[order[hi]];
		struct frame *f = s->f;
		int x = giver->tail;

		if (giver->window == taker->window)
			break;
		table_clear(giver, f[x].content);
		f[x].used = 0;
		if (f[x].prev == NIL) {
			size_t vm = order[lo];

			free(order);
			return seed_crash(s, vm, "gives away its last frame");
		}
		giver->tail = f[x].prev;
		f[giver->tail].next = NIL;
		f[taker->tail].next = x;
		f[x].prev = taker->tail;
		f[x].next = NIL;
		taker->tail = x;
		giver->owned--;
		taker->owned++;
	}
	free(order);
	return 0;
}

/* The seed's frame count: the list walked from the head to a NULL. */
static int seed_count(struct fsim *s, size_t vi, int *count)
{
	int x = s->vm[vi].head, c = 0;

	while (x != NIL) {
		if (++c > s->nf)
			return mb_errf(s->err, "faithful mode, step %llu, VM %zu: "
				       "the seed's count of the VM's frames "
				       "walks a cycle and never ends",
				       (unsigned long long)s->step, vi);
		x = s->f[x].next;
	}
	*count = c;
	return 0;
}

/* The seed's proportional balancing (dynamic_balance_2). */
static int balance_proportional(struct fsim *s, int floor,
				struct mb_seed_rand *rnd)
{
	int bonus = s->nf - (int)s->n * floor, remaining = bonus;
	int *share = calloc(s->n, sizeof(int)), *change = calloc(s->n, sizeof(int));
	long long total = 0;
	struct frame *f = s->f;
	int pool = s->nf, cur, ret = -1;
	size_t i;
	int j;

	if (!share || !change) {
		mb_errf(s->err, "out of memory");
		goto out;
	}
	for (i = 0; i < s->n; i++)
		total += (long long)s->vm[i].cumulative;
	if (total == 0) {
		ret = 0;
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		share[i] = mb_seed_bonus_share((int)s->vm[i].cumulative,
					       (int)total, bonus);
		remaining -= share[i];
	}
	if (remaining)
		share[mb_seed_rand_next(rnd) % (int)s->n] += remaining;
	for (i = 0; i < s->n; i++) {
		int count = 0;

		if (seed_count(s, i, &count))
			goto out;
		change[i] = share[i] + floor - count;
	}
	/* Frames above the share leave from the tail into a pool, in VM
	 * order; the pool's head is the extra frame at index nf. */
	f[pool].next = NIL;
	cur = pool;
	for (i = 0; i < s->n; i++) {
		struct fvm *v = &s->vm[i];

		for (j = change[i]; j < 0; j++) {
			int x = v->tail;

			if (f[x].prev == NIL) {
				seed_crash(s, i, "gives away its last frame");
				goto out;
			}
			f[f[x].prev].next = NIL;
			if (f[x].used == 1)
				table_clear(v, f[x].content);
			v->tail = f[x].prev;
			f[x].next = NIL;
			f[x].used = 0;
			f[x].content = -1;
			f[cur].next = x;
			f[x].prev = cur;
			cur = x;
			v->owned--;
		}
	}
	/* ... and are appended, in pool order, to the tails of the VMs below
	 * theirs. The last frame a VM takes keeps its link to the pool's
	 * next frame: the seed does not cut it. */
	for (i = 0; i < s->n; i++) {
		struct fvm *v = &s->vm[i];
		int first = f[pool].next, end = pool;

		for (j = 0; j < change[i]; j++) {
			end = f[end].next;
			if (end == NIL) {
				seed_crash(s, i, "takes more frames than the "
					   "pool holds");
				goto out;
			}
		}
		f[pool].next = f[end].next;
		if (change[i] > 0) {
			f[v->tail].next = first;
			f[first].prev = v->tail;
			v->tail = end;
			v->owned += (uint64_t)change[i];
		}
	}
	ret = 0;
out:
	free(share);
	free(change);
	return ret;
}

static void report_checkpoint(const struct mb_sim_config *cfg, struct fsim *s,
			      uint64_t step, uint64_t *frames, uint64_t *acc,
			      uint64_t *miss)
{
	struct mb_sim_checkpoint cp;
	size_t i;

	if (!cfg->on_checkpoint)
		return;
	for (i = 0; i < s->n; i++)
		frames[i] = s->vm[i].owned;
	memset(&cp, 0, sizeof(cp));
	cp.step = step;
	cp.count = s->n;
	cp.frames = frames;
	cp.window_accesses = acc;
	cp.window_misses = miss;
	cfg->on_checkpoint(cfg->ctx, &cp);
	memset(acc, 0, s->n * sizeof(*acc));
	memset(miss, 0, s->n * sizeof(*miss));
}

int mb_sim_run_faithful(const struct mb_sim_input *in,
			const struct mb_sim_config *cfg,
			struct mb_sim_result *res, struct mb_err *err)
{
	uint64_t nf = cfg->frames ? cfg->frames : 16, every = cfg->every ? cfg->every : 1;
	uint64_t floor = cfg->floor ? cfg->floor : 2, steps, t, *hook = NULL;
	struct mb_seed_rand rnd;
	struct fsim s;
	size_t i, n = in->count;
	int ret = -1, count = 0;
	uint64_t average;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.err = err;
	if (!n)
		return mb_errf(err, "no VM to simulate");
	if (cfg->policy != MB_SIM_STATIC && cfg->policy != MB_SIM_LAST_N &&
	    cfg->policy != MB_SIM_PROPORTIONAL)
		return mb_errf(err, "faithful mode has the seed's policies only "
			       "(static, last-n, proportional), not %s",
			       mb_sim_policy_name(cfg->policy));
	if (nf > 1 << 20)
		return mb_errf(err, "faithful mode: %llu frames is more than "
			       "%d", (unsigned long long)nf, 1 << 20);
	if (n > nf)
		return mb_errf(err, "%zu VMs but only %llu frames: every VM "
			       "needs at least one", n, (unsigned long long)nf);
	if (cfg->policy == MB_SIM_PROPORTIONAL && n * floor > nf)
		return mb_errf(err, "%zu VMs of at least %llu frames each need "
			       "%llu frames, more than the %llu there are", n,
			       (unsigned long long)floor,
			       (unsigned long long)(n * floor),
			       (unsigned long long)nf);
	average = (nf + n - 1) / n;
	if ((n - 1) * average >= nf)
		return mb_errf(err, "faithful mode: with %zu VMs the seed's first "
			       "allocation (%llu frames to each VM in turn) "
			       "leaves VM %zu without a frame", n,
			       (unsigned long long)average, n - 1);
	steps = in->vms[0].n;
	s.nf = (int)nf;
	s.n = n;
	s.f = calloc(nf + 1, sizeof(*s.f));
	s.vm = calloc(n, sizeof(*s.vm));
	res->vms = calloc(n, sizeof(*res->vms));
	hook = calloc(3 * n, sizeof(*hook));
	if (!s.f || !s.vm || !res->vms || !hook) {
		mb_errf(err, "out of memory");
		goto out;
	}
	res->count = n;
	/* ceil(frames / N) frames to each VM in order, the rest to the last */
	for (i = 0; i < n; i++) {
		struct fvm *v = &s.vm[i];
		uint64_t k, take = i + 1 < n ? average : nf - (uint64_t)count, j;
		long long maxpage = -1;

		for (k = 0; k < take; k++, count++) {
			s.f[count].prev = k ? count - 1 : NIL;
			s.f[count].next = k + 1 < take ? count + 1 : NIL;
			s.f[count].content = -1;
		}
		v->head = count - (int)take;
		v->tail = count - 1;
		v->owned = take;
		for (j = 0; j < in->vms[i].n; j++) {
			long long p = (long long)in->vms[i].page_of[in->vms[i].refs[j]];

			if (p > maxpage)
				maxpage = p;
		}
		if (maxpage >= 1 << 24) {
			mb_errf(err, "faithful mode: VM %zu's page %lld is too "
				"large for the seed's page table of max page + "
				"1 entries (at most %d)", i, maxpage, (1 << 24) - 1);
			goto out;
		}
		v->table_len = maxpage + 1;
		v->table = malloc((size_t)(maxpage + 1 > 0 ? maxpage + 1 : 1) * sizeof(int));
		v->miss = calloc(steps ? steps : 1, 1);
		if (!v->table || !v->miss) {
			mb_errf(err, "out of memory");
			goto out;
		}
		for (j = 0; j < (uint64_t)v->table_len; j++)
			v->table[j] = NIL;
	}
	mb_seed_rand_init(&rnd, 1);
	for (t = 0; t < steps; t++) {
		s.step = t;
		for (i = 0; i < n; i++) {
			const struct mb_sim_vm *vm = &in->vms[i];
			struct mb_sim_vm_result *r = &res->vms[i];

			if (t < vm->n) {
				if (access(&s, i, (long long)vm->page_of[vm->refs[t]],
					   t, &r->cold_misses))
					goto out;
				r->accesses++;
				r->misses += s.vm[i].miss[t];
				s.vm[i].cumulative += s.vm[i].miss[t];
				hook[n + i]++;
				hook[2 * n + i] += s.vm[i].miss[t];
			}
			/* misses of the last `every` steps, as the seed sums
			 * them back from the current step */
			s.vm[i].window += t < vm->n ? s.vm[i].miss[t] : 0;
			if (t >= every && t - every < vm->n)
				s.vm[i].window -= s.vm[i].miss[t - every];
		}
		if (cfg->policy == MB_SIM_LAST_N && (t + 1) % every == 0) {
			if (balance_last_n(&s))
				goto out;
		} else if (cfg->policy == MB_SIM_PROPORTIONAL) {
			if (balance_proportional(&s, (int)floor, &rnd))
				goto out;
		}
		for (i = 0; i < n; i++)
			if (t < in->vms[i].n)
				res->vms[i].frames_mean += (double)s.vm[i].owned;
		if ((t + 1) % every == 0 || t + 1 == steps)
			report_checkpoint(cfg, &s, t + 1, hook, hook + n,
					  hook + 2 * n);
	}
	for (i = 0; i < n; i++) {
		struct mb_sim_vm_result *r = &res->vms[i];

		r->frames_final = s.vm[i].owned;
		r->frames_mean = r->accesses ? r->frames_mean / (double)r->accesses :
				 (double)s.vm[i].owned;
		res->accesses += r->accesses;
		res->misses += r->misses;
	}
	res->frames = nf;
	res->every = every;
	res->floor = floor;
	res->steps = steps;
	res->checkpoints = cfg->policy == MB_SIM_PROPORTIONAL ? steps :
			   cfg->policy == MB_SIM_LAST_N ? steps / every : 0;
	ret = 0;
out:
	if (ret)
		mb_sim_result_free(res);
	for (i = 0; s.vm && i < n; i++) {
		free(s.vm[i].table);
		free(s.vm[i].miss);
	}
	free(s.vm);
	free(s.f);
	free(hook);
	return ret;
}
