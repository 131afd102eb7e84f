// SPDX-License-Identifier: GPL-2.0
/*
 * placement.c - first-fit, classic, buddies and optimal placement.
 *
 * Memory in use on a host is computed exactly from the VMs' digest sets
 * (mb_group_distinct, a k-way merge), so every algorithm judges capacity
 * the same way and a placement is checked by the same function that
 * produced it. Scenarios are small (tens of VMs), so recomputing a group's
 * union when a VM is tried costs milliseconds; mb-controld's planner will
 * want cached host aggregates when clusters grow.
 *
 * With a profile of the VMs (profile.h, at most 64 VMs: mb_place_with()),
 * every distinct(G), common(a, b) and |D(v) ∩ U(G)| above is a pass over
 * the profile's masks instead of a merge or a sort: the same integers, so
 * the same placements and the same memory to the last bit of the double.
 *
 * optimal: for every subset S of the n <= 12 VMs, after_mb(S) and
 * saved(S) come from one pass over all digests: each digest's VM mask is
 * counted, a subset-sum transform gives for every S the digests held by
 * no VM of S, and distinct(S) is the rest. Then a dynamic program over
 * (host, VMs still unplaced) picks each host's subset: 3^n * hosts steps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "profile.h"

#define EPS 1e-9

static const char *const algo_names[MB_PLACE_COUNT] = {
	"first-fit", "classic", "buddies", "optimal",
};

const char *mb_place_algo_name(int algo)
{
	if (algo < 0 || algo >= MB_PLACE_COUNT)
		return NULL;
	return algo_names[algo];
}

int mb_place_algo_parse(const char *name)
{
	int i;

	for (i = 0; i < MB_PLACE_COUNT; i++)
		if (!strcmp(name, algo_names[i]))
			return i;
	return -1;
}

/* A problem and, when the caller has one, the profile of its VMs. */
struct place_ctx {
	const struct mb_placement *p;
	const struct mb_profile *prof;	/* NULL: the sets' digests */
};

static int check_sets(const struct place_ctx *c, struct mb_err *err)
{
	const struct mb_placement *p = c->p;
	size_t v;

	if (c->prof && (c->prof->n != p->nvms || p->nvms > MB_PROFILE_MAX_VMS))
		return mb_errf(err, "the profile is of %zu VMs, the problem "
			       "has %zu", c->prof->n, p->nvms);
	for (v = 1; v < p->nvms; v++)
		if (mb_set_comparable(p->vms[0].set, p->vms[v].set, err))
			return -1;
	return 0;
}

/* The mask of the VMs @members[0..n-1] (profile order: vms[] order). */
static uint64_t members_mask(const size_t *members, size_t n)
{
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		m |= 1ULL << members[i];
	return m;
}

/* common(a, b) from the profile or by a merge of the sets. */
static uint64_t pair_common(const struct place_ctx *c, size_t a, size_t b)
{
	if (c->prof)
		return mb_profile_common(c->prof, (1ULL << a) | (1ULL << b));
	return mb_set_common(c->p->vms[a].set, c->p->vms[b].set);
}

/* mb_group_after_mb() with the profile of @c when it has one. */
static double group_after(const struct place_ctx *c, const size_t *members,
			  size_t n)
{
	const struct mb_placement *p = c->p;
	const struct mb_digest_set *stack[64] = { 0 }, **sets = stack;
	double mem = 0, pages = 0, distinct;
	size_t i;

	if (!n)
		return 0;
	if (c->prof) {
		for (i = 0; i < n; i++) {
			mem += p->vms[members[i]].memory_mb;
			pages += (double)p->vms[members[i]].set->pages;
		}
		distinct = (double)mb_profile_distinct(
			c->prof, members_mask(members, n));
		return mem - mb_pages_mb(pages - distinct);
	}
	if (n > 64) {
		sets = malloc(n * sizeof(*sets));
		if (!sets)
			return INFINITY;
	}
	for (i = 0; i < n; i++) {
		const struct mb_place_vm *vm = &p->vms[members[i]];

		sets[i] = vm->set;
		mem += vm->memory_mb;
		pages += (double)vm->set->pages;
	}
	distinct = (double)mb_group_distinct(sets, n);
	if (sets != stack)
		free(sets);
	return mem - mb_pages_mb(pages - distinct);
}

double mb_group_after_mb(const struct mb_placement *p, const size_t *members,
			 size_t n)
{
	struct place_ctx c = { p, NULL };

	return group_after(&c, members, n);
}

/* after_mb of host @h's VMs under @assign, plus VM @extra when >= 0. */
static double host_after(const struct place_ctx *c, const int *assign,
			 size_t h, long extra, size_t *members)
{
	size_t v, n = 0;

	for (v = 0; v < c->p->nvms; v++)
		if (assign[v] == (int)h)
			members[n++] = v;
	if (extra >= 0)
		members[n++] = (size_t)extra;
	return group_after(c, members, n);
}

static bool fits(const struct mb_placement *p, size_t h, double after)
{
	return after <= p->hosts[h].memory_mb + EPS;
}

/* ---- first-fit ---- */

static int place_first_fit(const struct mb_placement *p, int *assign)
{
	double *used = calloc(p->nhosts + 1, sizeof(double));
	size_t v, h;

	if (!used)
		return -1;
	for (v = 0; v < p->nvms; v++) {
		assign[v] = -1;
		for (h = 0; h < p->nhosts; h++) {
			if (used[h] + p->vms[v].memory_mb <=
			    p->hosts[h].memory_mb + EPS) {
				used[h] += p->vms[v].memory_mb;
				assign[v] = (int)h;
				break;
			}
		}
	}
	free(used);
	return 0;
}

/* ---- classic ---- */

static int place_classic(const struct place_ctx *c, int *assign,
			 size_t *members)
{
	const struct mb_placement *p = c->p;
	size_t n = p->nvms, h, a, b, left = n;
	uint64_t *common = calloc(n * n + 1, sizeof(uint64_t));

	if (!common)
		return -1;
	for (a = 0; a < n; a++) {
		assign[a] = -1;
		for (b = a + 1; b < n; b++)
			common[a * n + b] = common[b * n + a] =
				pair_common(c, a, b);
	}
	for (h = 0; h < p->nhosts && left; h++) {
		long best_a = -1, best_b = -1;
		size_t on_host = 0;

		/* Seed: the best-sharing pair of unplaced VMs that fits. */
		for (a = 0; a < n; a++) {
			if (assign[a] >= 0)
				continue;
			for (b = a + 1; b < n; b++) {
				size_t pair[2] = { a, b };

				if (assign[b] >= 0)
					continue;
				if (best_a >= 0 && common[a * n + b] <=
				    common[best_a * n + best_b])
					continue;
				if (fits(p, h, group_after(c, pair, 2))) {
					best_a = (long)a;
					best_b = (long)b;
				}
			}
		}
		if (best_a >= 0) {
			assign[best_a] = assign[best_b] = (int)h;
			on_host = 2;
			left -= 2;
		} else {
			/* No pair fits (or one VM is left): a lone VM. */
			for (a = 0; a < n; a++) {
				size_t one[1] = { a };

				if (assign[a] < 0 &&
				    fits(p, h, group_after(c, one, 1))) {
					assign[a] = (int)h;
					on_host = 1;
					left--;
					break;
				}
			}
			if (!on_host)
				continue;
		}
		/* Grow: the VM sharing most on average with the host's VMs. */
		while (left) {
			long best = -1;
			double best_mean = -1;

			for (a = 0; a < n; a++) {
				double sum = 0;

				if (assign[a] >= 0)
					continue;
				for (b = 0; b < n; b++)
					if (assign[b] == (int)h)
						sum += (double)common[a * n + b];
				if (sum / (double)on_host > best_mean) {
					best_mean = sum / (double)on_host;
					best = (long)a;
				}
			}
			if (!fits(p, h, host_after(c, assign, h, best, members)))
				break;
			assign[best] = (int)h;
			on_host++;
			left--;
		}
	}
	free(common);
	return 0;
}

/* ---- buddies ---- */

/*
 * Each host keeps its aggregate U(G), the union of its VMs' sets, so
 * trying VM v there is one intersection, |D(v) ∩ U(G)|, from which follow
 * distinct(G ∪ v) = distinct(G) + |D(v)| - |D(v) ∩ U(G)| and after_mb; the
 * aggregate grows by one union when v is placed. (Recomputing the group's
 * union for every try, as mb_group_after_mb() does, costs a sort of all
 * the host's digests each time.) With a profile the aggregate is only
 * the mask of the host's VMs, and both numbers are passes over the masks.
 */
static int place_buddies(const struct place_ctx *c, int *assign,
			 size_t *members)
{
	const struct mb_placement *p = c->p;
	size_t n = p->nvms, i, j, h;
	size_t *order = malloc((n + 1) * sizeof(size_t));
	struct mb_digest_set *agg = calloc(p->nhosts + 1, sizeof(*agg));
	uint64_t *on_host = calloc(p->nhosts + 1, sizeof(*on_host));
	struct mb_err err;
	int rc = -1;

	if (!order || !agg || !on_host)
		goto out;
	/* Decreasing memory, stable (insertion sort keeps input order). */
	for (i = 0; i < n; i++) {
		size_t v = i;

		assign[i] = -1;
		for (j = i; j > 0 && p->vms[order[j - 1]].memory_mb <
				      p->vms[v].memory_mb; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
	for (i = 0; i < n; i++) {
		size_t v = order[i];
		const struct mb_digest_set *s = p->vms[v].set;
		double best_share = -1;
		long best = -1;

		for (h = 0; h < p->nhosts; h++) {
			size_t k, m = 0;
			double after, mem = 0, pages = 0, share = 0, agg_distinct;

			/* Sums in the order mb_group_after_mb() takes. */
			for (k = 0; k < n; k++)
				if (assign[k] == (int)h) {
					members[m++] = k;
					mem += p->vms[k].memory_mb;
					pages += (double)p->vms[k].set->pages;
				}
			mem += p->vms[v].memory_mb;
			pages += (double)s->pages;
			if (c->prof) {
				share = (double)mb_profile_shared(c->prof, v,
								  on_host[h]);
				agg_distinct = (double)mb_profile_distinct(
					c->prof, on_host[h]);
			} else {
				if (m)
					share = (double)mb_set_common(s, &agg[h]);
				agg_distinct = (double)agg[h].distinct;
			}
			after = mem - mb_pages_mb(pages - (agg_distinct +
							   (double)s->distinct -
							   share));
			if (!fits(p, h, after))
				continue;
			if (share > best_share + 0.5) {
				best_share = share;
				best = (long)h;
			}
		}
		if (best >= 0) {
			struct mb_digest_set grown;

			assign[v] = (int)best;
			if (c->prof) {
				on_host[best] |= 1ULL << v;
				continue;
			}
			if (!agg[best].width) {
				/* The first VM: its own set (s ∪ s). */
				if (mb_set_union(&agg[best], s, s, &err))
					goto out;
				agg[best].pages = s->pages;
				continue;
			}
			if (mb_set_union(&grown, &agg[best], s, &err))
				goto out;
			mb_set_free(&agg[best]);
			agg[best] = grown;
		}
	}
	rc = 0;
out:
	for (h = 0; agg && h < p->nhosts; h++)
		mb_set_free(&agg[h]);
	free(agg);
	free(on_host);
	free(order);
	return rc;
}

/* ---- optimal ---- */

struct opt_value {
	int placed;
	int hosts;
	double saved;
};

static bool opt_better(const struct opt_value *a, const struct opt_value *b)
{
	if (a->placed != b->placed)
		return a->placed > b->placed;
	if (a->hosts != b->hosts)
		return a->hosts < b->hosts;
	return a->saved > b->saved + EPS;
}

/*
 * Tie-break: prefer the subset holding the earliest VM where the two
 * differ, so equal plans put earlier VMs on earlier hosts.
 */
static bool earlier_vms(size_t a, size_t b)
{
	size_t diff = a ^ b;

	return diff && (a & diff & -diff);
}

/* cnt[mask] = digests held by exactly the VMs of mask. */
static void mask_counts(const struct place_ctx *c, uint64_t *cnt)
{
	const struct mb_placement *p = c->p;
	size_t n = p->nvms, v;
	uint64_t pos[MB_OPTIMAL_MAX_VMS] = { 0 };

	if (c->prof) {
		for (v = 0; v < c->prof->nmasks; v++)
			cnt[c->prof->mask[v]] += c->prof->count[v];
		return;
	}
	for (;;) {
		uint64_t min = 0;
		unsigned int mask = 0;
		bool any = false;

		for (v = 0; v < n; v++) {
			const struct mb_digest_set *s = p->vms[v].set;
			uint64_t k;

			if (pos[v] >= s->distinct)
				continue;
			k = mb_set_key(s, pos[v]);
			if (!any || k < min) {
				min = k;
				mask = 1u << v;
				any = true;
			} else if (k == min) {
				mask |= 1u << v;
			}
		}
		if (!any)
			break;
		cnt[mask]++;
		for (v = 0; v < n; v++)
			if (mask & (1u << v))
				pos[v]++;
	}
}

static int place_optimal(const struct place_ctx *c, int *assign,
			 struct mb_err *err)
{
	const struct mb_placement *p = c->p;
	size_t n = p->nvms, H = p->nhosts, full = (size_t)1 << n, s, v;
	uint64_t *cnt = NULL, total = 0;
	double *after = NULL, *saved = NULL;
	struct opt_value *val = NULL;
	uint16_t *choice = NULL;
	long h;
	int rc = -1;

	if (n > MB_OPTIMAL_MAX_VMS)
		return mb_errf(err, "optimal placement handles at most %d VMs, "
			       "not %zu", MB_OPTIMAL_MAX_VMS, n);
	if (H > MB_OPTIMAL_MAX_HOSTS)
		return mb_errf(err, "optimal placement handles at most %d "
			       "hosts, not %zu", MB_OPTIMAL_MAX_HOSTS, H);
	cnt = calloc(full, sizeof(*cnt));
	after = calloc(full, sizeof(*after));
	saved = calloc(full, sizeof(*saved));
	val = calloc((H + 1) * full, sizeof(*val));
	choice = calloc((H + 1) * full, sizeof(*choice));
	if (!cnt || !after || !saved || !val || !choice) {
		mb_errf(err, "out of memory planning %zu VMs", n);
		goto out;
	}
	mask_counts(c, cnt);
	for (s = 0; s < full; s++)
		total += cnt[s];
	/* Subset sums: cnt[S] becomes the digests held only inside S. */
	for (v = 0; v < n; v++)
		for (s = 0; s < full; s++)
			if (s & ((size_t)1 << v))
				cnt[s] += cnt[s ^ ((size_t)1 << v)];
	for (s = 1; s < full; s++) {
		double mem = 0, pages = 0, distinct;

		for (v = 0; v < n; v++)
			if (s & ((size_t)1 << v)) {
				mem += p->vms[v].memory_mb;
				pages += (double)p->vms[v].set->pages;
			}
		distinct = (double)(total - cnt[(full - 1) ^ s]);
		saved[s] = mb_pages_mb(pages - distinct);
		after[s] = mem - saved[s];
	}
	/* val[h][R]: best for VMs R on hosts h..H-1; val[H][R] = zero. */
	for (h = (long)H - 1; h >= 0; h--) {
		struct opt_value *row = val + (size_t)h * full;
		const struct opt_value *next = val + (size_t)(h + 1) * full;

		for (s = 0; s < full; s++) {
			struct opt_value best = next[s];
			size_t sub, best_sub = 0;

			/* Non-empty subsets of s, largest first. */
			for (sub = s; sub; sub = (sub - 1) & s) {
				struct opt_value c;

				if (!fits(p, (size_t)h, after[sub]))
					continue;
				c = next[s ^ sub];
				c.placed += __builtin_popcountl(sub);
				c.hosts += 1;
				c.saved += saved[sub];
				if (opt_better(&c, &best) ||
				    (!opt_better(&best, &c) &&
				     earlier_vms(sub, best_sub))) {
					best = c;
					best_sub = sub;
				}
			}
			row[s] = best;
			choice[(size_t)h * full + s] = (uint16_t)best_sub;
		}
	}
	for (v = 0; v < n; v++)
		assign[v] = -1;
	s = full - 1;
	for (h = 0; h < (long)H; h++) {
		size_t sub = choice[(size_t)h * full + s];

		for (v = 0; v < n; v++)
			if (sub & ((size_t)1 << v))
				assign[v] = (int)h;
		s ^= sub;
	}
	rc = 0;
out:
	free(cnt);
	free(after);
	free(saved);
	free(val);
	free(choice);
	return rc;
}

int mb_place_with(const struct mb_placement *p, const struct mb_profile *prof,
		  int algo, int *assign, struct mb_err *err)
{
	struct place_ctx c = { p, prof };
	size_t *members;
	int rc;

	if (check_sets(&c, err))
		return -1;
	members = malloc((p->nvms + 1) * sizeof(size_t));
	if (!members)
		return mb_errf(err, "out of memory");
	switch (algo) {
	case MB_PLACE_FIRST_FIT:
		rc = place_first_fit(p, assign);
		break;
	case MB_PLACE_CLASSIC:
		rc = place_classic(&c, assign, members);
		break;
	case MB_PLACE_BUDDIES:
		rc = place_buddies(&c, assign, members);
		break;
	case MB_PLACE_OPTIMAL:
		rc = place_optimal(&c, assign, err);
		free(members);
		return rc;
	default:
		free(members);
		return mb_errf(err, "unknown placement algorithm %d", algo);
	}
	free(members);
	if (rc)
		return mb_errf(err, "out of memory placing %zu VMs", p->nvms);
	return 0;
}

int mb_place(const struct mb_placement *p, int algo, int *assign,
	     struct mb_err *err)
{
	return mb_place_with(p, NULL, algo, assign, err);
}

void mb_place_eval_free(struct mb_place_eval *ev)
{
	free(ev->before_mb);
	free(ev->after_mb);
	memset(ev, 0, sizeof(*ev));
}

int mb_place_evaluate_with(const struct mb_placement *p,
			   const struct mb_profile *prof, const int *assign,
			   struct mb_place_eval *ev, struct mb_err *err)
{
	struct place_ctx c = { p, prof };
	size_t *members, h, v;
	int *current;

	memset(ev, 0, sizeof(*ev));
	if (check_sets(&c, err))
		return -1;
	ev->before_mb = calloc(p->nhosts + 1, sizeof(double));
	ev->after_mb = calloc(p->nhosts + 1, sizeof(double));
	members = malloc((p->nvms + 1) * sizeof(size_t));
	current = malloc((p->nvms + 1) * sizeof(int));
	if (!ev->before_mb || !ev->after_mb || !members || !current) {
		free(members);
		free(current);
		mb_place_eval_free(ev);
		return mb_errf(err, "out of memory");
	}
	for (v = 0; v < p->nvms; v++) {
		current[v] = p->vms[v].host;
		if (current[v] < 0)
			ev->before_total_mb += p->vms[v].memory_mb;
		if (assign[v] < 0) {
			ev->after_total_mb += p->vms[v].memory_mb;
			ev->unplaced++;
		} else {
			ev->placed++;
		}
		if (assign[v] != current[v])
			ev->moves++;
	}
	for (h = 0; h < p->nhosts; h++) {
		bool used = false;

		ev->before_mb[h] = host_after(&c, current, h, -1, members);
		ev->after_mb[h] = host_after(&c, assign, h, -1, members);
		for (v = 0; v < p->nvms; v++)
			used |= assign[v] == (int)h;
		ev->hosts_used += used;
		if (!fits(p, h, ev->after_mb[h]))
			ev->over_capacity++;
		ev->before_total_mb += ev->before_mb[h];
		ev->after_total_mb += ev->after_mb[h];
	}
	ev->saved_mb = ev->before_total_mb - ev->after_total_mb;
	free(members);
	free(current);
	return 0;
}

int mb_place_evaluate(const struct mb_placement *p, const int *assign,
		      struct mb_place_eval *ev, struct mb_err *err)
{
	return mb_place_evaluate_with(p, NULL, assign, ev, err);
}
