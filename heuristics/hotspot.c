// SPDX-License-Identifier: GPL-2.0
/*
 * hotspot.c - Sandpiper's detector and its mitigation (hotspot.h,
 * docs/hotspots.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotspot.h"

#define MAX_HOSTS 256
#define MAX_AR 8
#define EPS 1e-9

const char *mb_resource_name(enum mb_resource r)
{
	static const char *const names[MB_RESOURCES] = { "cpu", "net", "mem" };

	return (unsigned int)r < MB_RESOURCES ? names[r] : "?";
}

void mb_hotspot_defaults(struct mb_hotspot_params *p)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->k = 3;
	p->n = 5;
	for (r = 0; r < MB_RESOURCES; r++)
		p->threshold[r] = 0.75;
	p->window = 12;
	p->ar_order = 1;
	p->tie = 0.05;
}

/* ---- the forecast ---- */

double mb_ar_predict(const double *x, size_t len, unsigned int window,
		     unsigned int order)
{
	double v[256], r[MAX_AR + 1], phi[MAX_AR + 1], tmp[MAX_AR + 1];
	double mean = 0, err, pred;
	size_t n = 0, i, start = len > window ? len - window : 0;
	unsigned int p = order > MAX_AR ? MAX_AR : order, j, m;

	for (i = start; i < len && n < sizeof(v) / sizeof(v[0]); i++)
		if (isfinite(x[i]))
			v[n++] = x[i];
	if (!n)
		return NAN;
	if (!p || n < p + 2)
		return v[n - 1];
	for (i = 0; i < n; i++)
		mean += v[i];
	mean /= (double)n;
	/* Autocovariances r[0..p] around the mean. */
	for (j = 0; j <= p; j++) {
		r[j] = 0;
		for (i = j; i < n; i++)
			r[j] += (v[i] - mean) * (v[i - j] - mean);
		r[j] /= (double)n;
	}
	if (r[0] < EPS)
		return v[n - 1];	/* a flat series stays flat */
	/* Levinson-Durbin: phi[1..p] of the Yule-Walker equations. */
	memset(phi, 0, sizeof(phi));
	err = r[0];
	for (m = 1; m <= p; m++) {
		double acc = r[m], k;

		for (j = 1; j < m; j++)
			acc -= phi[j] * r[m - j];
		k = acc / err;
		memcpy(tmp, phi, sizeof(phi));
		phi[m] = k;
		for (j = 1; j < m; j++)
			phi[j] = tmp[j] - k * tmp[m - j];
		err *= 1 - k * k;
		if (err < EPS)
			break;
	}
	pred = mean;
	for (j = 1; j <= p; j++)
		pred += phi[j] * (v[n - j] - mean);
	return pred;
}

void mb_hot_check(const double *x, size_t len, double threshold,
		  const struct mb_hotspot_params *p,
		  struct mb_hot_verdict *v)
{
	size_t i, start = len > p->n ? len - p->n : 0;

	memset(v, 0, sizeof(*v));
	v->last = NAN;
	for (i = start; i < len; i++) {
		if (!isfinite(x[i]))
			continue;
		v->seen++;
		v->over += x[i] > threshold;
		v->last = x[i];
	}
	v->predicted = mb_ar_predict(x, len, p->window, p->ar_order);
	v->hot = v->over >= p->k && isfinite(v->predicted) &&
		 v->predicted > threshold;
}

/* ---- readings, utilisations ---- */

void mb_hs_reading_black(struct mb_hs_reading *r, double cpu_pct,
			 double rx_bps, double tx_bps, double rss_mb,
			 double balloon_mb)
{
	r->cpu_cores = cpu_pct / 100;
	r->net_bps = isfinite(rx_bps) || isfinite(tx_bps) ?
		     (isfinite(rx_bps) ? rx_bps : 0) +
		     (isfinite(tx_bps) ? tx_bps : 0) : NAN;
	r->rss_mb = rss_mb;
	r->balloon_mb = balloon_mb;
	r->guest_used_mb = r->swapin_pages = NAN;
}

void mb_hs_reading_gray(struct mb_hs_reading *r, enum mb_hs_mode mode,
			double used_mb, double swapin_pages, double rx_bps,
			double tx_bps)
{
	r->guest_used_mb = used_mb;
	r->swapin_pages = swapin_pages;
	if (mode == MB_HS_GRAY && !(r->net_bps > 0) && isfinite(rx_bps) &&
	    isfinite(tx_bps))
		r->net_bps = rx_bps + tx_bps;
}

static double known(double v)
{
	return isfinite(v) && v > 0 ? v : 0;
}

void mb_hs_utilisation(const struct mb_hs_reading *r,
		       const double cap[MB_RESOURCES], enum mb_hs_mode mode,
		       double out[MB_RESOURCES])
{
	double mem = isfinite(r->rss_mb) ? r->rss_mb : known(r->balloon_mb);

	if (mode == MB_HS_GRAY && isfinite(r->guest_used_mb))
		mem = r->guest_used_mb + known(r->swapin_pages) * 4.0 / 1024 * 10;
	out[MB_RES_CPU] = cap[MB_RES_CPU] > 0 ?
			  known(r->cpu_cores) / cap[MB_RES_CPU] : 0;
	out[MB_RES_NET] = cap[MB_RES_NET] > 0 ?
			  known(r->net_bps) * 8 / (cap[MB_RES_NET] * 1e6) : 0;
	out[MB_RES_MEM] = cap[MB_RES_MEM] > 0 ? known(mem) / cap[MB_RES_MEM] :
			  0;
}

/* ---- volume, VSR ---- */

static double cap1(double u)
{
	if (!isfinite(u) || u < 0)
		return 0;
	return u > 0.99 ? 0.99 : u;
}

double mb_volume(double cpu, double net, double mem)
{
	return 1.0 / ((1 - cap1(cpu)) * (1 - cap1(net)) * (1 - cap1(mem)));
}

double mb_hs_vm_volume(const struct mb_hs_vm *v)
{
	return mb_volume(v->peak[MB_RES_CPU], v->peak[MB_RES_NET],
			 v->peak[MB_RES_MEM]);
}

double mb_hs_vsr(const struct mb_hs_vm *v)
{
	return mb_hs_vm_volume(v) / (v->memory_mb > 1 ? v->memory_mb : 1);
}

/* ---- mitigation ---- */

struct state {
	const struct mb_hs_host *hosts;
	size_t nhosts;
	const struct mb_hs_vm *vms;
	size_t nvms;
	const struct mb_hotspot_params *p;
	int *at;			/* where each VM is after the moves so far */
	bool *moved;
};

/* VM @v's share of resource @r on host @h (its utilisation rescaled). */
static double share_on(const struct state *s, size_t v, int h,
		       enum mb_resource r, bool peak)
{
	const struct mb_hs_vm *vm = &s->vms[v];
	double u = peak ? vm->peak[r] : vm->mean[r];
	double from = s->hosts[vm->host].capacity[r], to = s->hosts[h].capacity[r];

	if (!isfinite(u) || u <= 0)
		return 0;
	return from > 0 && to > 0 ? u * from / to : u;
}

/* Utilisation of @r on @h under the moves so far, +@plus, -@minus. */
static double load(const struct state *s, int h, enum mb_resource r,
		   bool peak, long plus, long minus)
{
	double u = 0;
	size_t v;

	for (v = 0; v < s->nvms; v++)
		if ((s->at[v] == h && (long)v != minus) || (long)v == plus)
			u += share_on(s, v, h, r, peak);
	return u;
}

static double mem_held(const struct state *s, int h, long plus, long minus)
{
	double m = 0;
	size_t v;

	for (v = 0; v < s->nvms; v++)
		if ((s->at[v] == h && (long)v != minus) || (long)v == plus)
			m += s->vms[v].memory_mb;
	return m;
}

static double host_volume(const struct state *s, int h)
{
	return mb_volume(load(s, h, MB_RES_CPU, false, -1, -1),
			 load(s, h, MB_RES_NET, false, -1, -1),
			 load(s, h, MB_RES_MEM, false, -1, -1));
}

/* Whether @h stays below every threshold, peak and mean, with the change. */
static bool fits(const struct state *s, int h, long plus, long minus)
{
	int r;

	if (s->hosts[h].down)
		return false;
	if (s->hosts[h].capacity[MB_RES_MEM] > 0 &&
	    mem_held(s, h, plus, minus) > s->hosts[h].capacity[MB_RES_MEM] + EPS)
		return false;
	for (r = 0; r < MB_RESOURCES; r++)
		if (load(s, h, r, true, plus, minus) > s->p->threshold[r] + EPS ||
		    load(s, h, r, false, plus, minus) > s->p->threshold[r] + EPS)
			return false;
	return true;
}

/*
 * Whether hot host @h still needs relief under the moves so far: by the
 * same rule a destination is judged, peak or mean over a threshold. (By
 * the mean alone, a host that has just become hot, k of n observations
 * over, often looks relieved before anything moved.)
 */
static bool hot_now(const struct state *s, int h)
{
	int r;

	for (r = 0; r < MB_RESOURCES; r++)
		if (load(s, h, r, true, -1, -1) > s->p->threshold[r] + EPS ||
		    load(s, h, r, false, -1, -1) > s->p->threshold[r] + EPS)
			return true;
	return false;
}

static const char *hot_names(const struct mb_hs_host *h, char *buf,
			     size_t size)
{
	size_t len = 0;
	int r;

	buf[0] = '\0';
	for (r = 0; r < MB_RESOURCES; r++)
		if (h->hot[r] && len < size)
			len += snprintf(buf + len, size - len, "%s%s",
					len ? "+" : "", mb_resource_name(r));
	return buf;
}

static void add_move(struct mb_hs_result *r, size_t v, int from, int to,
		     bool swap, const char *reason)
{
	struct mb_hs_move *m;

	if (r->nmoves == sizeof(r->moves) / sizeof(r->moves[0]))
		return;
	m = &r->moves[r->nmoves++];
	m->vm = v;
	m->from = from;
	m->to = to;
	m->swap = swap;
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

/*
 * The best destination for @v: the lowest volume among the hosts that
 * take it; hosts within p->tie of each other in volume are equally good,
 * and among those the one @v shares most with wins (then the lower volume).
 */
static int destination(const struct state *s, size_t v, int from,
		       mb_hs_sharing_fn sharing, void *ctx)
{
	double vol[MAX_HOSTS], sh[MAX_HOSTS], low = INFINITY;
	int best = -1, h;

	for (h = 0; h < (int)s->nhosts; h++) {
		vol[h] = INFINITY;
		if (h == from || !fits(s, h, (long)v, -1))
			continue;
		vol[h] = host_volume(s, h);
		sh[h] = sharing ? sharing(ctx, v, h) : 0;
		if (vol[h] < low)
			low = vol[h];
	}
	for (h = 0; h < (int)s->nhosts; h++) {
		if (!isfinite(vol[h]) || vol[h] > low * (1 + s->p->tie) + EPS)
			continue;
		if (best < 0 || sh[h] > sh[best] + EPS ||
		    (fabs(sh[h] - sh[best]) <= EPS && vol[h] < vol[best]))
			best = h;
	}
	return best;
}

/* Try a swap of hot VM @v of @from with colder VMs of one other host. */
static bool try_swap(struct state *s, size_t v, int from,
		     struct mb_hs_result *r, const char *hot)
{
	int h;

	for (h = 0; h < (int)s->nhosts; h++) {
		size_t order[256], n = 0, i, j;
		char why[240];

		if (h == from || s->hosts[h].down)
			continue;
		/* Its VMs, coldest (lowest VSR) first. */
		for (i = 0; i < s->nvms && n < 256; i++)
			if (s->at[i] == h && !s->vms[i].pinned && !s->moved[i])
				order[n++] = i;
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && mb_hs_vsr(&s->vms[order[j]]) <
				    mb_hs_vsr(&s->vms[order[j - 1]]); j--) {
				size_t t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (i = 0; i < n; i++) {
			bool hot_fits, cold_fits, cold_first;
			size_t k;

			/* The set order[0..i] goes to @from, @v to @h. */
			for (k = 0; k <= i; k++)
				s->at[order[k]] = from;
			s->at[v] = h;
			hot_fits = fits(s, h, -1, -1);
			cold_fits = fits(s, from, -1, -1);
			s->at[v] = from;
			/* Staging: can one side arrive before the other leaves? */
			cold_first = s->hosts[from].capacity[MB_RES_MEM] <= 0 ||
				     mem_held(s, from, -1, -1) <=
				     s->hosts[from].capacity[MB_RES_MEM] + EPS;
			for (k = 0; k <= i; k++)
				s->at[order[k]] = h;
			if (!hot_fits || !cold_fits)
				continue;
			if (!cold_first &&
			    !(s->hosts[h].capacity[MB_RES_MEM] <= 0 ||
			      mem_held(s, h, (long)v, -1) <=
			      s->hosts[h].capacity[MB_RES_MEM] + EPS))
				continue;	/* no spare memory either way */
			snprintf(why, sizeof(why), "sandpiper: %s hotspot on "
				 "%s; no single move relieves it: %s swaps "
				 "with %zu colder VM%s of %s", hot,
				 s->hosts[from].name, s->vms[v].name, i + 1,
				 i ? "s" : "", s->hosts[h].name);
			if (cold_first)
				for (k = 0; k <= i; k++)
					add_move(r, order[k], h, from, true,
						 why);
			add_move(r, v, from, h, true, why);
			if (!cold_first)
				for (k = 0; k <= i; k++)
					add_move(r, order[k], h, from, true,
						 why);
			for (k = 0; k <= i; k++) {
				s->at[order[k]] = from;
				s->moved[order[k]] = true;
			}
			s->at[v] = h;
			s->moved[v] = true;
			return true;
		}
	}
	return false;
}

void mb_hs_mitigate(const struct mb_hs_host *hosts, size_t nhosts,
		    const struct mb_hs_vm *vms, size_t nvms,
		    const struct mb_hotspot_params *p,
		    mb_hs_sharing_fn sharing, void *ctx,
		    struct mb_hs_result *r)
{
	struct state s = { hosts, nhosts, vms, nvms, p, NULL, NULL };
	int order[MAX_HOSTS], nh = 0, i, j;
	size_t v;

	memset(r, 0, sizeof(*r));
	if (nhosts > MAX_HOSTS)
		nhosts = s.nhosts = MAX_HOSTS;
	s.at = calloc(nvms + 1, sizeof(int));
	s.moved = calloc(nvms + 1, sizeof(bool));
	if (!s.at || !s.moved) {
		r->unresolved = true;
		snprintf(r->why, sizeof(r->why), "out of memory");
		goto out;
	}
	for (v = 0; v < nvms; v++)
		s.at[v] = vms[v].host;
	/* The hot hosts, hottest (largest volume) first. */
	for (i = 0; i < (int)nhosts; i++)
		if (hosts[i].hot[MB_RES_CPU] || hosts[i].hot[MB_RES_NET] ||
		    hosts[i].hot[MB_RES_MEM])
			order[nh++] = i;
	for (i = 1; i < nh; i++)
		for (j = i; j > 0 && host_volume(&s, order[j]) >
			    host_volume(&s, order[j - 1]); j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (i = 0; i < nh; i++) {
		int h = order[i];
		char hot[32], why[240];
		size_t cand[256], nc = 0, a, b;

		hot_names(&hosts[h], hot, sizeof(hot));
		/* Its VMs, largest VSR first. */
		for (v = 0; v < nvms && nc < 256; v++)
			if (s.at[v] == h && !vms[v].pinned && !s.moved[v])
				cand[nc++] = v;
		for (a = 1; a < nc; a++)
			for (b = a; b > 0 && mb_hs_vsr(&vms[cand[b]]) >
				    mb_hs_vsr(&vms[cand[b - 1]]); b--) {
				size_t t = cand[b];

				cand[b] = cand[b - 1];
				cand[b - 1] = t;
			}
		for (a = 0; a < nc && hot_now(&s, h); a++) {
			int to = destination(&s, cand[a], h, sharing, ctx);

			if (to < 0)
				continue;
			snprintf(why, sizeof(why), "sandpiper: %s hotspot on %s;"
				 " %s has the largest volume-to-size ratio "
				 "(%.3g), %s the lowest volume that takes it "
				 "(%.2f)", hot, hosts[h].name, vms[cand[a]].name,
				 mb_hs_vsr(&vms[cand[a]]), hosts[to].name,
				 host_volume(&s, to));
			add_move(r, cand[a], h, to, false, why);
			s.at[cand[a]] = to;
			s.moved[cand[a]] = true;
		}
		if (!hot_now(&s, h))
			continue;
		/*
		 * No single move was enough: swap its hottest VM, the first
		 * by VSR still there (those moved above have left).
		 */
		for (a = 0; a < nc && s.moved[cand[a]]; a++)
			;
		if (a < nc && try_swap(&s, cand[a], h, r, hot) &&
		    !hot_now(&s, h))
			continue;
		if (!r->unresolved) {
			r->unresolved = true;
			snprintf(r->why, sizeof(r->why), "%s hotspot on %s: no "
				 "move or swap keeps every host below its "
				 "thresholds", hot, hosts[h].name);
		}
	}
out:
	free(s.at);
	free(s.moved);
}

/* ---- the tracker ---- */

/* A window of observations, newest last, of a fixed capacity. */
struct window {
	double (*u)[MB_RESOURCES];
	size_t cap, head, n;
};

static int window_init(struct window *w, size_t cap)
{
	w->u = calloc(cap ? cap : 1, sizeof(*w->u));
	w->cap = cap ? cap : 1;
	w->head = w->n = 0;
	return w->u ? 0 : -1;
}

static void window_push(struct window *w, const double u[MB_RESOURCES])
{
	memcpy(w->u[w->head], u, sizeof(w->u[0]));
	w->head = (w->head + 1) % w->cap;
	if (w->n < w->cap)
		w->n++;
}

static const double *window_at(const struct window *w, size_t i)
{
	return w->u[(w->head + w->cap - w->n + i) % w->cap];
}

/* Resource @r of @w into @x, oldest first. */
static size_t window_series(const struct window *w, enum mb_resource r,
			    double *x)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		x[i] = window_at(w, i)[r];
	return w->n;
}

struct tvm {
	char id[64], name[64], host[64];
	struct window w;
	double memory_mb;
	bool seen;
};

struct thost {
	char name[64];
	struct window w;
	double capacity[MB_RESOURCES];
	double sum[MB_RESOURCES];	/* this round's */
	struct mb_hot_verdict verdict[MB_RESOURCES];
	double mitigated;
	bool up;
};

struct mb_hs_tracker {
	struct mb_hotspot_params p;
	enum mb_hs_mode mode;
	size_t window;
	struct tvm *vms;
	size_t nvms, vms_cap;
	struct thost *hosts;
	size_t nhosts, hosts_cap;
};

struct mb_hs_tracker *mb_hs_tracker_new(const struct mb_hotspot_params *p,
					enum mb_hs_mode mode)
{
	struct mb_hs_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->p = *p;
	t->mode = mode;
	t->window = p->window > p->n ? p->window : p->n;
	if (t->window > 256)
		t->window = 256;
	return t;
}

void mb_hs_tracker_free(struct mb_hs_tracker *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nvms; i++)
		free(t->vms[i].w.u);
	for (i = 0; i < t->nhosts; i++)
		free(t->hosts[i].w.u);
	free(t->vms);
	free(t->hosts);
	free(t);
}

void mb_hs_round_begin(struct mb_hs_tracker *t)
{
	size_t i;

	for (i = 0; i < t->nvms; i++)
		t->vms[i].seen = false;
	for (i = 0; i < t->nhosts; i++) {
		t->hosts[i].up = false;
		memset(t->hosts[i].sum, 0, sizeof(t->hosts[i].sum));
	}
}

static struct thost *find_host(struct mb_hs_tracker *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nhosts; i++)
		if (!strcmp(t->hosts[i].name, name))
			return &t->hosts[i];
	return NULL;
}

int mb_hs_observe_host(struct mb_hs_tracker *t, const char *name,
		       const double capacity[MB_RESOURCES], bool up)
{
	struct thost *h = find_host(t, name);

	if (!h) {
		if (t->nhosts == t->hosts_cap) {
			size_t cap = t->hosts_cap ? t->hosts_cap * 2 : 8;
			struct thost *g = realloc(t->hosts, cap * sizeof(*g));

			if (!g)
				return -1;
			t->hosts = g;
			t->hosts_cap = cap;
		}
		h = &t->hosts[t->nhosts];
		memset(h, 0, sizeof(*h));
		if (window_init(&h->w, t->window))
			return -1;
		snprintf(h->name, sizeof(h->name), "%s", name);
		t->nhosts++;
	}
	memcpy(h->capacity, capacity, sizeof(h->capacity));
	h->up = up;
	return 0;
}

int mb_hs_observe_vm(struct mb_hs_tracker *t, const char *id,
		     const char *name, const char *host,
		     const struct mb_hs_reading *r, double memory_mb)
{
	struct thost *h = find_host(t, host);
	struct tvm *v = NULL;
	double u[MB_RESOURCES];
	size_t i;
	int k;

	if (!h)
		return -1;
	for (i = 0; i < t->nvms && !v; i++)
		if (!strcmp(t->vms[i].id, id))
			v = &t->vms[i];
	if (!v) {
		if (t->nvms == t->vms_cap) {
			size_t cap = t->vms_cap ? t->vms_cap * 2 : 16;
			struct tvm *g = realloc(t->vms, cap * sizeof(*g));

			if (!g)
				return -1;
			t->vms = g;
			t->vms_cap = cap;
		}
		v = &t->vms[t->nvms];
		memset(v, 0, sizeof(*v));
		if (window_init(&v->w, t->window))
			return -1;
		snprintf(v->id, sizeof(v->id), "%s", id);
		t->nvms++;
	}
	if (strcmp(v->host, host)) {
		/* It moved: its profile starts again there. */
		v->w.n = v->w.head = 0;
		snprintf(v->host, sizeof(v->host), "%s", host);
	}
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->memory_mb = memory_mb;
	v->seen = true;
	mb_hs_utilisation(r, h->capacity, t->mode, u);
	window_push(&v->w, u);
	for (k = 0; k < MB_RESOURCES; k++)
		h->sum[k] += u[k];
	return 0;
}

bool mb_hs_round_end(struct mb_hs_tracker *t)
{
	double x[256];
	bool any = false;
	size_t i, n;
	int r;

	for (i = 0; i < t->nvms; i++)
		if (!t->vms[i].seen) {
			free(t->vms[i].w.u);
			t->vms[i--] = t->vms[--t->nvms];
		}
	for (i = 0; i < t->nhosts; i++) {
		struct thost *h = &t->hosts[i];

		if (h->up)
			window_push(&h->w, h->sum);
		for (r = 0; r < MB_RESOURCES; r++) {
			n = window_series(&h->w, r, x);
			mb_hot_check(x, n, t->p.threshold[r], &t->p,
				     &h->verdict[r]);
			if (!h->up)
				h->verdict[r].hot = false;
			any |= h->verdict[r].hot;
		}
	}
	return any;
}

size_t mb_hs_tracker_hosts(const struct mb_hs_tracker *t)
{
	return t->nhosts;
}

const char *mb_hs_host_name(const struct mb_hs_tracker *t, size_t i)
{
	return t->hosts[i].name;
}

bool mb_hs_host_up(const struct mb_hs_tracker *t, size_t i)
{
	return t->hosts[i].up;
}

const double *mb_hs_host_capacity(const struct mb_hs_tracker *t, size_t i)
{
	return t->hosts[i].capacity;
}

const double *mb_hs_host_now(const struct mb_hs_tracker *t, size_t i)
{
	const struct window *w = &t->hosts[i].w;

	return w->n ? window_at(w, w->n - 1) : NULL;
}

const struct mb_hot_verdict *mb_hs_host_verdict(const struct mb_hs_tracker *t,
						size_t i, enum mb_resource r)
{
	return &t->hosts[i].verdict[r];
}

double mb_hs_host_mitigated(const struct mb_hs_tracker *t, size_t i)
{
	return t->hosts[i].mitigated;
}

size_t mb_hs_tracker_vms(const struct mb_hs_tracker *t)
{
	return t->nvms;
}

const char *mb_hs_vm_id(const struct mb_hs_tracker *t, size_t v)
{
	return t->vms[v].id;
}

const char *mb_hs_vm_name(const struct mb_hs_tracker *t, size_t v)
{
	return t->vms[v].name;
}

const char *mb_hs_vm_host(const struct mb_hs_tracker *t, size_t v)
{
	return t->vms[v].host;
}

double mb_hs_vm_memory(const struct mb_hs_tracker *t, size_t v)
{
	return t->vms[v].memory_mb;
}

const double *mb_hs_vm_now(const struct mb_hs_tracker *t, size_t v)
{
	const struct window *w = &t->vms[v].w;

	return w->n ? window_at(w, w->n - 1) : NULL;
}

struct share_bridge {
	const struct mb_hs_tracker *t;
	mb_hs_share_fn share;
	void *ctx;
};

static double share_bridge(void *ctx, size_t v, int h)
{
	struct share_bridge *b = ctx;

	return b->share(b->ctx, b->t->vms[v].id, b->t->hosts[h].name);
}

bool mb_hs_tracker_mitigate(struct mb_hs_tracker *t, double now,
			    unsigned int holdoff, mb_hs_pinned_fn pinned,
			    mb_hs_share_fn share, void *ctx,
			    struct mb_hs_result *r)
{
	struct mb_hs_host *hosts = calloc(t->nhosts + 1, sizeof(*hosts));
	struct mb_hs_vm *vms = calloc(t->nvms + 1, sizeof(*vms));
	struct share_bridge bridge = { t, share, ctx };
	bool due = false;
	double x[256];
	size_t i, k;
	int res;

	memset(r, 0, sizeof(*r));
	if (!hosts || !vms)
		goto out;
	for (i = 0; i < t->nhosts; i++) {
		struct thost *h = &t->hosts[i];

		hosts[i].name = h->name;
		memcpy(hosts[i].capacity, h->capacity, sizeof(h->capacity));
		hosts[i].down = !h->up;
		for (res = 0; res < MB_RESOURCES; res++) {
			/* A host mitigated within the hold-off waits. */
			hosts[i].hot[res] = h->verdict[res].hot &&
					    (!h->mitigated ||
					     now - h->mitigated >= holdoff);
			due |= hosts[i].hot[res];
		}
	}
	if (!due)
		goto out;
	for (k = 0; k < t->nvms; k++) {
		struct tvm *v = &t->vms[k];

		vms[k].name = v->name;
		vms[k].memory_mb = v->memory_mb;
		for (i = 0; i < t->nhosts; i++)
			if (!strcmp(t->hosts[i].name, v->host))
				vms[k].host = (int)i;
		for (res = 0; res < MB_RESOURCES; res++) {
			size_t m = window_series(&v->w, res, x), j, used = 0;
			double sum = 0, peak = 0;

			for (j = 0; j < m; j++)
				peak = fmax(peak, x[j]);
			for (j = m > t->p.n ? m - t->p.n : 0; j < m; j++) {
				sum += x[j];
				used++;
			}
			vms[k].mean[res] = used ? sum / (double)used : 0;
			vms[k].peak[res] = peak;
		}
		vms[k].pinned = pinned && pinned(ctx, v->id);
	}
	mb_hs_mitigate(hosts, t->nhosts, vms, t->nvms, &t->p,
		       share ? share_bridge : NULL, &bridge, r);
	if (r->nmoves || r->unresolved)
		for (i = 0; i < t->nhosts; i++)
			for (res = 0; res < MB_RESOURCES; res++)
				if (hosts[i].hot[res])
					t->hosts[i].mitigated = now;
out:
	free(hosts);
	free(vms);
	return due;
}
