// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot.c - inventory x catalogue -> the planner's input (snapshot.h).
 *
 * Swap rates: a guest's swap traffic (pages/s in + out) is taken, in this
 * order, from the live statistics of the last minute (mb-guestd's reports,
 * else libvirt's balloon statistics), else from the guest's counters in
 * its last two trace uploads, else unknown.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "placement.h"
#include "snapshot.h"

#define SWAP_WINDOW_S 60.0

/* ---- the digest set cache ---- */

struct cached_set {
	char uuid[37];
	uint64_t version;
	struct mb_digest_set set;
	bool used;			/* asked for since the last sweep */
};

struct set_cache {
	pthread_mutex_t lock;
	struct cached_set *e;
	size_t n, cap;
	uint64_t loads, hits;
};

struct set_cache *set_cache_new(void)
{
	struct set_cache *c = calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void set_cache_free(struct set_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		mb_set_free(&c->e[i].set);
	free(c->e);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int load_set(struct store *store, const struct trace_record *r,
		    const char *name, struct mb_digest_set *set,
		    struct mb_err *err)
{
	struct mbt_trace t;
	uint64_t size;
	int fd, ret;

	fd = store_open_trace(store, r->uuid, r->version, &size, err);
	if (fd < 0)
		return -1;
	ret = mbt_read_fd(fd, size, &t, err);
	close(fd);
	if (ret)
		return mb_err_prefix(err, "trace %s/%" PRIu64, r->uuid,
				     r->version);
	ret = mb_set_from_trace(set, &t, false, name, err);
	mbt_trace_free(&t);
	return ret;
}

const struct mb_digest_set *set_cache_get(struct set_cache *c,
					  struct store *store,
					  const struct trace_record *r,
					  const char *name,
					  struct mb_err *err)
{
	struct cached_set *e = NULL;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		if (c->e[i].version == r->version &&
		    !strcmp(c->e[i].uuid, r->uuid)) {
			e = &c->e[i];
			c->hits++;
			goto out;
		}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct cached_set *g = realloc(c->e, cap * sizeof(*g));

		if (!g) {
			mb_errf(err, "plan: out of memory");
			goto out;
		}
		c->e = g;
		c->cap = cap;
	}
	e = &c->e[c->n];
	memset(e, 0, sizeof(*e));
	/* Parsing takes a while; plans are made one at a time anyway. */
	if (load_set(store, r, name, &e->set, err)) {
		e = NULL;
		goto out;
	}
	snprintf(e->uuid, sizeof(e->uuid), "%s", r->uuid);
	e->version = r->version;
	c->n++;
	c->loads++;
out:
	if (e)
		e->used = true;
	pthread_mutex_unlock(&c->lock);
	return e ? &e->set : NULL;
}

void set_cache_sweep(struct set_cache *c)
{
	size_t i, kept = 0;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++) {
		if (!c->e[i].used) {
			mb_set_free(&c->e[i].set);
			continue;
		}
		c->e[i].used = false;
		c->e[kept++] = c->e[i];
	}
	c->n = kept;
	pthread_mutex_unlock(&c->lock);
}

void set_cache_counts(struct set_cache *c, uint64_t *loads, uint64_t *hits,
		      uint64_t *entries)
{
	pthread_mutex_lock(&c->lock);
	*loads = c->loads;
	*hits = c->hits;
	*entries = c->n;
	pthread_mutex_unlock(&c->lock);
}

/* ---- each VM's latest two traces, from the catalogue ---- */

/*
 * The latest two traces of one VM from one side: the guest's own
 * (memtrace.ko), the host's (mb-hostd, source "host"), or either.
 */
struct side {
	struct trace_record latest, prev;
	bool has, has_prev;
};

enum { SIDE_GUEST, SIDE_HOST, SIDE_ANY, NSIDES };

struct pair {
	struct trace_record latest, prev;	/* the side chosen */
	bool has_prev;
	struct side side[NSIDES];
};

struct pairs {
	struct pair *p;
	size_t n, cap;
};

static void side_add(struct side *s, const struct trace_record *r)
{
	if (s->has) {
		s->prev = s->latest;
		s->has_prev = true;
	}
	s->latest = *r;
	s->has = true;
}

/* Catalogue rows come in (uuid, version) order: one pair per run. */
static int collect_pairs(void *ctx, const struct trace_record *r)
{
	struct pairs *ps = ctx;
	struct pair *p;

	if (!ps->n || strcmp(ps->p[ps->n - 1].side[SIDE_ANY].latest.uuid,
			     r->uuid)) {
		if (ps->n == ps->cap) {
			size_t cap = ps->cap ? ps->cap * 2 : 64;
			struct pair *g = realloc(ps->p, cap * sizeof(*g));

			if (!g)
				return -1;
			ps->p = g;
			ps->cap = cap;
		}
		memset(&ps->p[ps->n], 0, sizeof(ps->p[ps->n]));
		ps->n++;
	}
	p = &ps->p[ps->n - 1];
	side_add(&p->side[strcmp(r->source, "host") ? SIDE_GUEST : SIDE_HOST],
		 r);
	side_add(&p->side[SIDE_ANY], r);
	return 0;
}

/* Each VM's traces of the side --prefer-traces asks for, else the other. */
static void choose_sides(struct pairs *ps, enum trace_pref prefer)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		struct pair *p = &ps->p[i];
		const struct side *s = &p->side[SIDE_ANY];

		if (prefer == TRACE_PREFER_GUEST && p->side[SIDE_GUEST].has)
			s = &p->side[SIDE_GUEST];
		else if (prefer == TRACE_PREFER_HOST && p->side[SIDE_HOST].has)
			s = &p->side[SIDE_HOST];
		else if (prefer != TRACE_PREFER_NEWEST)
			s = &p->side[p->side[SIDE_GUEST].has ? SIDE_GUEST :
				     SIDE_HOST];
		p->latest = s->latest;
		p->prev = s->prev;
		p->has_prev = s->has_prev;
	}
}

static const struct pair *find_pair(const struct pairs *ps, const char *uuid)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->p[i].latest.uuid, uuid))
			return &ps->p[i];
	return NULL;
}

/* Pages/s swapped between the last two uploads; < 0 when unknown. */
static double trace_swap_rate(const struct pair *p)
{
	const struct vm_stats *a = &p->prev.stats, *b = &p->latest.stats;
	int64_t dt = p->latest.upload_time - p->prev.upload_time;

	if (!p->has_prev || dt <= 0 || a->pswpin < 0 || a->pswpout < 0 ||
	    b->pswpin < 0 || b->pswpout < 0)
		return -1;
	return (double)(b->pswpin + b->pswpout - a->pswpin - a->pswpout) /
	       (double)dt;
}

static double swap_rate(const struct snapshot_sources *src,
			const struct pair *p, const char **source)
{
	double r;

	if (src->stats) {
		r = stats_vm_swap_rate(src->stats, p->latest.uuid,
				       SWAP_WINDOW_S, source);
		if (isfinite(r))
			return r;
	}
	r = trace_swap_rate(p);
	*source = r >= 0 ? "traces" : "unknown";
	return r;
}

/* ---- tenant scope ---- */

/* The murmur3 finalizer: a bijection of 64-bit words that mixes well. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int snapshot_scope_set(struct mb_digest_set *out,
		       const struct mb_digest_set *in, uint32_t tenant,
		       uint64_t key, struct mb_err *err)
{
	uint64_t i, k = fmix64(key ^ (0x9e3779b97f4a7c15ULL * tenant));

	*out = *in;
	out->d32 = NULL;
	out->width = 8;
	/* The library sizes sets by their algorithm: a 64-bit one. */
	out->algorithm = MB_ALGO_XXH64;
	out->name = strdup(in->name ? in->name : "");
	out->d64 = malloc((in->distinct ? in->distinct : 1) * sizeof(uint64_t));
	if (!out->name || !out->d64) {
		free(out->name);
		free(out->d64);
		memset(out, 0, sizeof(*out));
		return mb_errf(err, "plan: out of memory");
	}
	out->key_id = 0;		/* every scoped set is in one space */
	if (in->key_id) {
		/*
		 * Keyed digests are in a space of their tenant's own already
		 * (its secret seed): not mixed again, just copied.
		 */
		memcpy(out->d64, in->d64, in->distinct * sizeof(uint64_t));
		return 0;
	}
	if (in->width == 4) {
		/* The tenant above the digest: order kept, no two meet. */
		for (i = 0; i < in->distinct; i++)
			out->d64[i] = (uint64_t)tenant << 32 | in->d32[i];
		return 0;
	}
	for (i = 0; i < in->distinct; i++)
		out->d64[i] = fmix64(in->d64[i] ^ k);
	qsort(out->d64, in->distinct, sizeof(uint64_t), cmp_u64);
	return 0;
}

static int cmp_tenant(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* This daemon's secret: two tenants' 64-bit digests meet by chance only. */
static uint64_t scope_secret;
static pthread_once_t scope_once = PTHREAD_ONCE_INIT;

static void scope_secret_init(void)
{
	if (getrandom(&scope_secret, sizeof(scope_secret), 0) !=
	    sizeof(scope_secret))
		scope_secret = fmix64((uint64_t)time(NULL) ^
				      ((uint64_t)getpid() << 32));
}

static uint64_t scope_key(void)
{
	pthread_once(&scope_once, scope_secret_init);
	return scope_secret;
}

/*
 * With VMs of more than one tenant, give each VM its tenant-scoped set
 * (tenants numbered 1, 2, ... in name order).
 */
static int scope_sets(struct snapshot *s, struct mb_err *err)
{
	const char **names;
	size_t i, n = 0;
	uint64_t key;

	if (!s->nvms)
		return 0;
	names = malloc(s->nvms * sizeof(*names));
	if (!names)
		return mb_errf(err, "plan: out of memory");
	for (i = 0; i < s->nvms; i++)
		names[i] = s->tenants[i];
	qsort(names, s->nvms, sizeof(*names), cmp_tenant);
	for (i = 0; i < s->nvms; i++)
		if (!n || strcmp(names[n - 1], names[i]))
			names[n++] = names[i];
	s->ntenants = n;
	if (n < 2) {
		free(names);
		return 0;
	}
	s->scoped = calloc(s->nvms, sizeof(*s->scoped));
	if (!s->scoped) {
		free(names);
		return mb_errf(err, "plan: out of memory");
	}
	key = scope_key();
	for (i = 0; i < s->nvms; i++) {
		const char **t = bsearch(&(const char *){ s->tenants[i] },
					 names, n, sizeof(*names), cmp_tenant);

		if (snapshot_scope_set(&s->scoped[i], s->vms[i].set,
				       (uint32_t)(t - names) + 1, key, err)) {
			free(names);
			return -1;
		}
		s->vms[i].set = &s->scoped[i];
	}
	free(names);
	return 0;
}

static void unplanned(struct snapshot *s, const char *uuid, const char *name,
		      const char *host, const char *why)
{
	json_array_append_new(s->unplanned, json_pack(
		"{s:s,s:s,s:o,s:s}", "uuid", uuid, "name", name,
		"host", host ? json_string(host) : json_null(), "why", why));
}

/* ---- one digest space per comparison ---- */

/*
 * Digests compare only within one space: one algorithm and one key (key
 * id 0: not keyed). In tenant scope, each tenant's VMs are compared among
 * themselves and tenants are kept apart by scope_sets(); globally, all
 * VMs are compared. So within each tenant (every VM, globally), the space
 * most VMs use is planned (on a tie, that of the first VM), the others
 * are unplanned with the reason.
 */
static bool same_space(const struct mb_digest_set *a,
		       const struct mb_digest_set *b)
{
	return a->algorithm == b->algorithm && a->key_id == b->key_id;
}

static void space_text(const struct mb_digest_set *set, char *buf,
		       size_t size)
{
	if (set->key_id)
		snprintf(buf, size, "%s keyed with key %08" PRIx32,
			 mb_algo_name(set->algorithm), set->key_id);
	else
		snprintf(buf, size, "plain %s", mb_algo_name(set->algorithm));
}

/* Planned VM @from moves to slot @to (the parallel arrays together). */
static void move_vm(struct snapshot *s, size_t to, size_t from)
{
	s->vms[to] = s->vms[from];
	s->versions[to] = s->versions[from];
	s->swap_source[to] = s->swap_source[from];
	memcpy(s->pins[to], s->pins[from], sizeof(s->pins[to]));
	memcpy(s->tenants[to], s->tenants[from], sizeof(s->tenants[to]));
	memcpy(s->trace_sources[to], s->trace_sources[from],
	       sizeof(s->trace_sources[to]));
}

static bool same_group(const struct snapshot *s, bool per_tenant, size_t a,
		       size_t b)
{
	return !per_tenant || !strcmp(s->tenants[a], s->tenants[b]);
}

static int keep_one_space(struct snapshot *s, bool per_tenant,
			  const char *const *host_of, struct mb_err *err)
{
	size_t *votes = calloc(s->nvms + 1, sizeof(*votes));
	size_t *best = calloc(s->nvms + 1, sizeof(*best));
	/* The sets by first position: compaction moves the VMs below. */
	const struct mb_digest_set **set_of = calloc(s->nvms + 1,
						     sizeof(*set_of));
	char have[96], want[96], why[256];
	size_t i, j, kept = 0;

	if (!votes || !best || !set_of) {
		free(votes);
		free(best);
		free(set_of);
		return mb_errf(err, "plan: out of memory");
	}
	for (i = 0; i < s->nvms; i++)
		set_of[i] = s->vms[i].set;
	for (i = 0; i < s->nvms; i++)
		for (j = 0; j < s->nvms; j++)
			votes[i] += same_group(s, per_tenant, i, j) &&
				    same_space(s->vms[i].set, s->vms[j].set);
	/* The space of i's group most VMs use (the earliest wins ties). */
	for (i = 0; i < s->nvms; i++) {
		best[i] = i;
		for (j = 0; j < s->nvms; j++)
			if (same_group(s, per_tenant, i, j) &&
			    (votes[j] > votes[best[i]] ||
			     (votes[j] == votes[best[i]] && j < best[i])))
				best[i] = j;
	}
	for (i = 0; i < s->nvms; i++) {
		const struct mb_digest_set *set = set_of[i];
		const struct mb_digest_set *other = set_of[best[i]];

		if (same_space(set, other)) {
			if (kept != i)
				move_vm(s, kept, i);
			kept++;
			continue;
		}
		if (set->algorithm != other->algorithm) {
			snprintf(why, sizeof(why), "its digests use another "
				 "algorithm (%s) than the others%s (%s)",
				 mb_algo_name(set->algorithm),
				 per_tenant ? " of its tenant" : "",
				 mb_algo_name(other->algorithm));
		} else {
			space_text(set, have, sizeof(have));
			space_text(other, want, sizeof(want));
			snprintf(why, sizeof(why), "its digests are %s, most "
				 "others%s are %s: they cannot be compared",
				 have, per_tenant ? " of its tenant" : "", want);
		}
		unplanned(s, s->vms[i].uuid, s->vms[i].name, host_of[i], why);
	}
	s->nvms = kept;
	free(votes);
	free(best);
	free(set_of);
	return 0;
}

int snapshot_take(struct snapshot *s, const struct snapshot_sources *src,
		  struct mb_err *err)
{
	struct pairs ps = { 0 };
	const char **host_of = NULL;	/* each planned VM's host name */
	size_t i, j, k, ndom = 0;

	memset(s, 0, sizeof(*s));
	s->unplanned = json_array();
	if (inventory_snapshot(src->inv, &s->inv)) {
		mb_errf(err, "plan: out of memory");
		goto fail;
	}
	if (catalogue_foreach(src->cat, NULL, collect_pairs, &ps, err))
		goto fail;
	choose_sides(&ps, src->prefer);
	for (i = 0; i < s->inv.nhosts; i++)
		ndom += s->inv.hosts[i].ndomains;
	s->hosts = calloc(s->inv.nhosts + 1, sizeof(*s->hosts));
	s->plan_host = calloc(s->inv.nhosts + 1, sizeof(*s->plan_host));
	s->vms = calloc(ndom + 1, sizeof(*s->vms));
	s->versions = calloc(ndom + 1, sizeof(*s->versions));
	s->swap_source = calloc(ndom + 1, sizeof(*s->swap_source));
	s->pins = calloc(ndom + 1, sizeof(*s->pins));
	s->tenants = calloc(ndom + 1, sizeof(*s->tenants));
	s->trace_sources = calloc(ndom + 1, sizeof(*s->trace_sources));
	host_of = calloc(ndom + 1, sizeof(*host_of));
	if (!s->hosts || !s->plan_host || !s->vms || !s->versions ||
	    !s->swap_source || !s->pins || !s->tenants || !s->trace_sources ||
	    !host_of) {
		mb_errf(err, "plan: out of memory");
		goto fail;
	}
	for (i = 0; i < s->inv.nhosts; i++) {
		s->plan_host[i] = -1;
		if (!s->inv.hosts[i].up)
			continue;
		s->plan_host[i] = (int)s->nhosts;
		s->hosts[s->nhosts] = (struct plan_host){
			s->inv.hosts[i].spec.name, s->inv.hosts[i].capacity_mb,
			0 };
		if (src->balancer)
			balancer_host_cma(src->balancer,
					  s->inv.hosts[i].spec.name,
					  &s->hosts[s->nhosts].cma_sum_mb);
		s->nhosts++;
	}
	/* Domains, joined with their latest trace by uuid. */
	for (i = 0; i < s->inv.nhosts; i++) {
		struct inv_host_view *h = &s->inv.hosts[i];

		for (j = 0; j < h->ndomains; j++) {
			struct inv_domain *d = &h->domains[j];
			const struct mb_digest_set *set = NULL;
			const struct pair *p;
			const char *why = NULL;
			struct mb_err lerr;
			struct plan_vm *v = &s->vms[s->nvms];

			if (!inv_domain_running(d))
				continue;
			p = find_pair(&ps, d->uuid);
			if (!p)
				why = "no trace uploaded yet";
			else if (!(set = set_cache_get(src->cache, src->store,
						       &p->latest, d->name,
						       &lerr)))
				why = lerr.msg;
			if (why) {
				unplanned(s, d->uuid, d->name, h->spec.name,
					  why);
				continue;
			}
			host_of[s->nvms] = h->spec.name;
			*v = (struct plan_vm){
				.uuid = d->uuid, .name = d->name,
				.memory_mb = d->memory_mb,
				.host = s->plan_host[i], .set = set,
				.swap_rate = swap_rate(src, p,
						&s->swap_source[s->nvms]),
			};
			if (src->balancer)
				balancer_vm_target(src->balancer, d->uuid,
						   &v->memory_mb);
			if (src->sched)
				v->pinned = scheduler_pinned(src->sched,
					d->uuid, ACTION_MIGRATE,
					s->pins[s->nvms],
					sizeof(s->pins[s->nvms]));
			s->versions[s->nvms] = p->latest.version;
			snprintf(s->trace_sources[s->nvms],
				 sizeof(s->trace_sources[s->nvms]), "%s",
				 p->latest.source);
			if (src->tenants) {
				uint8_t bin[MBT_UUID_LEN];

				if (!mb_uuid_parse(d->uuid, bin))
					auth_tenant(src->tenants, bin,
						    s->tenants[s->nvms]);
			}
			s->nvms++;
		}
	}
	if (keep_one_space(s, src->tenants != NULL, host_of, err))
		goto fail;
	if (src->tenants && scope_sets(s, err))
		goto fail;
	/* Traces of VMs no host runs. */
	for (k = 0; k < ps.n; k++) {
		bool found = false;

		for (i = 0; i < s->inv.nhosts && !found; i++)
			for (j = 0; j < s->inv.hosts[i].ndomains; j++)
				if (!strcmp(s->inv.hosts[i].domains[j].uuid,
					    ps.p[k].latest.uuid))
					found = true;
		if (!found)
			unplanned(s, ps.p[k].latest.uuid, ps.p[k].latest.name,
				  NULL, "no running domain has this uuid");
	}
	free(ps.p);
	free(host_of);
	set_cache_sweep(src->cache);
	return 0;
fail:
	free(ps.p);
	free(host_of);
	snapshot_free(s);
	return -1;
}

void snapshot_free(struct snapshot *s)
{
	inv_snapshot_free(&s->inv);
	free(s->hosts);
	free(s->plan_host);
	free(s->vms);
	free(s->versions);
	free(s->swap_source);
	free(s->pins);
	free(s->tenants);
	free(s->trace_sources);
	if (s->scoped) {
		size_t i;

		for (i = 0; i < s->nvms; i++)
			mb_set_free(&s->scoped[i]);
		free(s->scoped);
	}
	json_decref(s->unplanned);
	memset(s, 0, sizeof(*s));
}

double snapshot_shared_mb(const struct snapshot *s, const char *uuid,
			  const char *host)
{
	struct mb_place_host *ph = calloc(s->nhosts + 1, sizeof(*ph));
	struct mb_place_vm *pv = calloc(s->nvms + 1, sizeof(*pv));
	size_t *members = calloc(s->nvms + 1, sizeof(*members));
	struct mb_placement p = { ph, s->nhosts, pv, s->nvms };
	double shared = 0, alone, with;
	long v = -1, h = -1;
	size_t i, m = 0;

	if (!ph || !pv || !members)
		goto out;
	for (i = 0; i < s->nhosts; i++) {
		ph[i] = (struct mb_place_host){ s->hosts[i].name,
						s->hosts[i].capacity_mb };
		if (!strcmp(s->hosts[i].name, host))
			h = (long)i;
	}
	for (i = 0; i < s->nvms; i++) {
		pv[i] = (struct mb_place_vm){ s->vms[i].name,
					      s->vms[i].memory_mb,
					      s->vms[i].host, s->vms[i].set };
		if (!strcmp(s->vms[i].uuid, uuid))
			v = (long)i;
	}
	if (v < 0 || h < 0 || s->vms[v].host == (int)h)
		goto out;
	for (i = 0; i < s->nvms; i++)
		if (s->vms[i].host == (int)h)
			members[m++] = i;
	alone = mb_group_after_mb(&p, members, m);
	members[m++] = (size_t)v;
	with = mb_group_after_mb(&p, members, m);
	shared = alone + s->vms[v].memory_mb - with;
out:
	free(ph);
	free(pv);
	free(members);
	return shared;
}

json_t *snapshot_inputs_json(const struct snapshot *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < s->nvms; i++) {
		const struct plan_vm *v = &s->vms[i];

		json_array_append_new(arr, json_pack(
			"{s:s,s:s,s:s,s:I,s:s,s:f,s:o,s:s,s:s}", "uuid",
			v->uuid, "name", v->name, "host",
			s->hosts[v->host].name,
			"version", (json_int_t)s->versions[i],
			"trace_source", s->trace_sources[i],
			"memory_mb", v->memory_mb, "swap_pages_per_s",
			v->swap_rate < 0 ? json_null() :
			json_real(v->swap_rate),
			"swap_source", s->swap_source[i],
			"tenant", s->tenants[i]));
	}
	return arr;
}
