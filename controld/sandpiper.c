// SPDX-License-Identifier: GPL-2.0
/*
 * sandpiper.c - Sandpiper on the controller's statistics (sandpiper.h).
 *
 * Profiles. Every statistics round, each running VM's newest samples
 * become one observation of its CPU, network and memory utilisation as
 * fractions of its host's capacities (mb_hs_utilisation(): cores from
 * --host ...,cpus=N or the node's, the link from net-mbps=N, memory the
 * host's capacity less its reserve), kept in a window per VM; a host's
 * observation is the sum of its VMs'. A VM that moved starts a new
 * profile.
 *
 * Detection and mitigation are heuristics/hotspot.h's. A mitigation is
 * made when some host is hot and no sandpiper migration is queued or
 * running; it is stored as a plan (policies "sandpiper", with the hotspots
 * it saw and in which mode) and, with --apply, its migrations are queued
 * in order (a swap's moves cross one host pair and so run one after the
 * other). Hold-off: a VM that migrated less than --sandpiper-holdoff
 * seconds ago does not move, and a host is not mitigated again within that
 * time, so that the cluster does not thrash.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ring.h"
#include "sandpiper.h"

struct obs {
	double u[MB_RESOURCES];
};

struct vm_profile {
	char uuid[37];
	char name[64];
	char host[64];
	struct ring ring;		/* struct obs */
	double memory_mb;
	bool seen;
};

struct host_profile {
	char name[64];
	struct ring ring;		/* struct obs */
	double capacity[MB_RESOURCES];
	struct mb_hot_verdict verdict[MB_RESOURCES];
	bool hot;
	double mitigated;		/* when, seconds */
	bool up;
};

struct sandpiper {
	struct sandpiper_options o;
	struct inventory *inv;
	struct stats *stats;
	struct scheduler *sched;
	struct controldb *db;
	sandpiper_sharing_fn sharing;
	void *ctx;
	pthread_mutex_t lock;
	struct vm_profile *vms;
	size_t nvms, vms_cap;
	struct host_profile *hosts;
	size_t nhosts;
	json_t *last;			/* the last mitigation's plan record */
	size_t window;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sandpiper *sandpiper_new(const struct sandpiper_options *o,
				struct inventory *inv, struct stats *stats,
				struct scheduler *sched, struct controldb *db,
				sandpiper_sharing_fn sharing, void *ctx,
				struct mb_err *err)
{
	struct sandpiper *sp = calloc(1, sizeof(*sp));

	if (!sp) {
		mb_errf(err, "sandpiper: out of memory");
		return NULL;
	}
	sp->o = *o;
	sp->inv = inv;
	sp->stats = stats;
	sp->sched = sched;
	sp->db = db;
	sp->sharing = sharing;
	sp->ctx = ctx;
	sp->window = o->params.window > o->params.n ? o->params.window :
		     o->params.n;
	pthread_mutex_init(&sp->lock, NULL);
	return sp;
}

void sandpiper_free(struct sandpiper *sp)
{
	size_t i;

	if (!sp)
		return;
	for (i = 0; i < sp->nvms; i++)
		ring_free(&sp->vms[i].ring);
	for (i = 0; i < sp->nhosts; i++)
		ring_free(&sp->hosts[i].ring);
	free(sp->vms);
	free(sp->hosts);
	json_decref(sp->last);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

/* ---- profiles ---- */

static struct vm_profile *vm_profile(struct sandpiper *sp, const char *uuid)
{
	struct vm_profile *v;
	size_t i;

	for (i = 0; i < sp->nvms; i++)
		if (!strcmp(sp->vms[i].uuid, uuid))
			return &sp->vms[i];
	if (sp->nvms == sp->vms_cap) {
		size_t cap = sp->vms_cap ? sp->vms_cap * 2 : 16;
		struct vm_profile *g = realloc(sp->vms, cap * sizeof(*g));

		if (!g)
			return NULL;
		sp->vms = g;
		sp->vms_cap = cap;
	}
	v = &sp->vms[sp->nvms];
	memset(v, 0, sizeof(*v));
	if (ring_init(&v->ring, sizeof(struct obs), sp->window))
		return NULL;
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	sp->nvms++;
	return v;
}

static struct host_profile *host_profile(struct sandpiper *sp,
					 const char *name)
{
	struct host_profile *g;
	size_t i;

	for (i = 0; i < sp->nhosts; i++)
		if (!strcmp(sp->hosts[i].name, name))
			return &sp->hosts[i];
	g = realloc(sp->hosts, (sp->nhosts + 1) * sizeof(*g));
	if (!g)
		return NULL;
	sp->hosts = g;
	memset(&g[sp->nhosts], 0, sizeof(*g));
	if (ring_init(&g[sp->nhosts].ring, sizeof(struct obs), sp->window))
		return NULL;
	snprintf(g[sp->nhosts].name, sizeof(g[sp->nhosts].name), "%s", name);
	return &g[sp->nhosts++];
}

/* The series of resource @r of @ring, oldest first, into @x. */
static size_t series(const struct ring *ring, enum mb_resource r, double *x,
		     size_t max)
{
	size_t i, n = ring->n < max ? ring->n : max;

	for (i = 0; i < n; i++)
		x[i] = ((const struct obs *)ring_at(ring, ring->n - n + i))->u[r];
	return n;
}

static void reading_of(struct sandpiper *sp, const char *uuid, double now,
		       const struct inv_domain *d, struct mb_hs_reading *rd)
{
	struct vm_sample bb;
	struct guest_sample g;
	int have = stats_vm_latest(sp->stats, uuid, &bb, &g);
	double stale = 3.0 * (sp->o.stats_interval ? sp->o.stats_interval : 5);

	rd->cpu_cores = rd->net_bps = rd->rss_mb = rd->guest_used_mb = NAN;
	rd->swapin_pages = NAN;
	rd->balloon_mb = d->current_mb;
	if ((have & 1) && now - bb.t <= stale) {
		rd->cpu_cores = bb.cpu_pct / 100;
		rd->net_bps = (isfinite(bb.rx_bps) ? bb.rx_bps : 0) +
			      (isfinite(bb.tx_bps) ? bb.tx_bps : 0);
		rd->rss_mb = bb.rss_mb;
		if (isfinite(bb.balloon_mb))
			rd->balloon_mb = bb.balloon_mb;
	}
	if ((have & 2) && now - g.t <= 15) {
		rd->guest_used_mb = g.mem_total_mb - g.mem_available_mb;
		rd->swapin_pages = g.swap_in;
		/*
		 * Gray box: a VM whose interfaces libvirt cannot count (QEMU
		 * user networking has no host device) is counted from its
		 * guest's /proc/net/dev.
		 */
		if (sp->o.mode == MB_HS_GRAY && !(rd->net_bps > 0) &&
		    isfinite(g.rx_bps) && isfinite(g.tx_bps))
			rd->net_bps = g.rx_bps + g.tx_bps;
	}
}

/* One observation of every host and VM. Lock held. */
static void observe(struct sandpiper *sp, struct inv_snapshot *snap,
		    double now)
{
	size_t i, j, k;

	for (k = 0; k < sp->nvms; k++)
		sp->vms[k].seen = false;
	for (i = 0; i < sp->nhosts; i++)
		sp->hosts[i].up = false;
	for (i = 0; i < snap->nhosts; i++) {
		struct inv_host_view *h = &snap->hosts[i];
		struct host_profile *hp;
		struct obs sum = { { 0 } };

		if (!h->up || !(hp = host_profile(sp, h->spec.name)))
			continue;
		hp->up = true;
		hp->capacity[MB_RES_CPU] = h->spec.cpus > 0 ? h->spec.cpus :
					   h->cpus;
		hp->capacity[MB_RES_NET] = h->spec.net_mbps > 0 ?
					   h->spec.net_mbps : 1000;
		hp->capacity[MB_RES_MEM] = h->capacity_mb;
		for (j = 0; j < h->ndomains; j++) {
			const struct inv_domain *d = &h->domains[j];
			struct mb_hs_reading rd;
			struct vm_profile *v;
			struct obs o;
			int r;

			if (!inv_domain_running(d) ||
			    !(v = vm_profile(sp, d->uuid)))
				continue;
			if (strcmp(v->host, h->spec.name)) {
				/* It moved: its profile starts again there. */
				v->ring.n = v->ring.head = 0;
				snprintf(v->host, sizeof(v->host), "%s",
					 h->spec.name);
			}
			snprintf(v->name, sizeof(v->name), "%s", d->name);
			v->seen = true;
			reading_of(sp, d->uuid, now, d, &rd);
			v->memory_mb = isfinite(rd.balloon_mb) &&
				       rd.balloon_mb > 0 ? rd.balloon_mb :
				       d->memory_mb;
			mb_hs_utilisation(&rd, hp->capacity, sp->o.mode, o.u);
			ring_push(&v->ring, &o);
			for (r = 0; r < MB_RESOURCES; r++)
				sum.u[r] += o.u[r];
		}
		ring_push(&hp->ring, &sum);
	}
	for (k = 0; k < sp->nvms; k++)
		if (!sp->vms[k].seen) {
			ring_free(&sp->vms[k].ring);
			sp->vms[k--] = sp->vms[--sp->nvms];
		}
}

/* Detect on every host. Lock held. Returns whether any is hot. */
static bool detect(struct sandpiper *sp)
{
	double x[256];
	bool any = false;
	size_t i;
	int r;

	for (i = 0; i < sp->nhosts; i++) {
		struct host_profile *h = &sp->hosts[i];

		h->hot = false;
		for (r = 0; r < MB_RESOURCES; r++) {
			size_t n = series(&h->ring, r, x, 256);

			mb_hot_check(x, n, sp->o.params.threshold[r],
				     &sp->o.params, &h->verdict[r]);
			h->hot |= h->up && h->verdict[r].hot;
		}
		any |= h->hot;
	}
	return any;
}

/* ---- mitigation ---- */

struct sharing_ctx {
	struct sandpiper *sp;
	const struct mb_hs_vm *vms;
	const char **uuids;
	const struct mb_hs_host *hosts;
};

static double sharing_of(void *ctx, size_t v, int h)
{
	struct sharing_ctx *c = ctx;

	if (!c->sp->sharing)
		return 0;
	return c->sp->sharing(c->sp->ctx, c->uuids[v], c->hosts[h].name);
}

static bool migrated_recently(struct sandpiper *sp, const char *uuid)
{
	return scheduler_recently_ended(sp->sched, uuid, sp->o.holdoff);
}

static const char *mode_name(enum mb_hs_mode m)
{
	return m == MB_HS_GRAY ? "gray-box" : "black-box";
}

static json_t *hotspots_json(struct sandpiper *sp)
{
	json_t *arr = json_array();
	size_t i;
	int r;

	for (i = 0; i < sp->nhosts; i++)
		for (r = 0; r < MB_RESOURCES; r++) {
			const struct mb_hot_verdict *v = &sp->hosts[i].verdict[r];

			if (!v->hot)
				continue;
			json_array_append_new(arr, json_pack(
				"{s:s,s:s,s:s,s:i,s:i,s:f,s:f,s:f}", "host",
				sp->hosts[i].name, "resource",
				mb_resource_name(r), "seen_by",
				mode_name(sp->o.mode), "over", v->over, "of",
				v->seen, "threshold",
				sp->o.params.threshold[r], "last", v->last,
				"predicted", v->predicted));
		}
	return arr;
}

/* Build the cluster, mitigate, record and (with --apply) queue. */
static void mitigate(struct sandpiper *sp, double now)
{
	struct mb_hs_host *hosts = calloc(sp->nhosts + 1, sizeof(*hosts));
	struct mb_hs_vm *vms = calloc(sp->nvms + 1, sizeof(*vms));
	const char **uuids = calloc(sp->nvms + 1, sizeof(*uuids));
	struct action *acts = NULL;
	struct mb_hs_result *res = calloc(1, sizeof(*res));
	struct sharing_ctx sc = { sp, vms, uuids, hosts };
	json_t *plan = NULL, *ja, *jm;
	struct mb_err err;
	char *body = NULL;
	double x[256];
	size_t i, k, n;
	int64_t id;
	int r;

	if (!hosts || !vms || !uuids || !res)
		goto out;
	for (i = 0; i < sp->nhosts; i++) {
		struct host_profile *h = &sp->hosts[i];

		hosts[i].name = h->name;
		memcpy(hosts[i].capacity, h->capacity, sizeof(h->capacity));
		hosts[i].down = !h->up;
		for (r = 0; r < MB_RESOURCES; r++)
			/* A host mitigated within the hold-off waits. */
			hosts[i].hot[r] = h->verdict[r].hot && h->up &&
					  now - h->mitigated >= sp->o.holdoff;
	}
	for (k = 0; k < sp->nvms; k++) {
		struct vm_profile *v = &sp->vms[k];
		char why[ACTION_TEXT_LEN];

		vms[k].name = v->name;
		uuids[k] = v->uuid;
		vms[k].memory_mb = v->memory_mb;
		vms[k].host = 0;
		for (i = 0; i < sp->nhosts; i++)
			if (!strcmp(sp->hosts[i].name, v->host))
				vms[k].host = (int)i;
		for (r = 0; r < MB_RESOURCES; r++) {
			double sum = 0, peak = 0;
			size_t m = series(&v->ring, r, x, 256), j, used = 0;

			for (j = 0; j < m; j++)
				peak = fmax(peak, x[j]);
			for (j = m > sp->o.params.n ? m - sp->o.params.n : 0;
			     j < m; j++, used++)
				sum += x[j];
			vms[k].mean[r] = used ? sum / used : 0;
			vms[k].peak[r] = peak;
		}
		vms[k].pinned = scheduler_pinned(sp->sched, v->uuid,
						 ACTION_MIGRATE, why,
						 sizeof(why)) ||
				migrated_recently(sp, v->uuid);
	}
	mb_hs_mitigate(hosts, sp->nhosts, vms, sp->nvms, &sp->o.params,
		       sharing_of, &sc, res);
	if (!res->nmoves && !res->unresolved)
		goto out;		/* nothing hot outside its hold-off */
	acts = calloc(res->nmoves + 1, sizeof(*acts));
	ja = json_array();
	jm = json_array();
	for (i = 0; acts && i < res->nmoves; i++) {
		const struct mb_hs_move *m = &res->moves[i];
		struct action *a = &acts[i];

		a->kind = ACTION_MIGRATE;
		snprintf(a->uuid, sizeof(a->uuid), "%s", uuids[m->vm]);
		snprintf(a->name, sizeof(a->name), "%s", vms[m->vm].name);
		snprintf(a->src, sizeof(a->src), "%s", hosts[m->from].name);
		snprintf(a->dst, sizeof(a->dst), "%s", hosts[m->to].name);
		snprintf(a->policy, sizeof(a->policy), "sandpiper");
		snprintf(a->reason, sizeof(a->reason), "%s (%s)", m->reason,
			 mode_name(sp->o.mode));
		json_array_append_new(ja, json_pack(
			"{s:s,s:s,s:s,s:s,s:s,s:f,s:s,s:s,s:s,s:b}", "action",
			"migrate", "uuid", a->uuid, "name", a->name, "from",
			a->src, "to", a->dst, "gain_mb", 0.0, "kind",
			"hotspot", "policy", "sandpiper", "reason", a->reason,
			"swap", m->swap));
		json_array_append_new(jm, json_deep_copy(json_array_get(ja,
							      i)));
	}
	plan = json_pack("{s:I,s:s,s:s,s:b,s:o,s:o,s:o,s:O,s:o}",
			 "created", (json_int_t)now, "algorithm", "sandpiper",
			 "policies", "sandpiper", "apply", sp->o.apply,
			 "hotspots", hotspots_json(sp), "actions", ja,
			 "moves", jm, "skipped", json_array(),
			 "unresolved", res->unresolved ?
			 json_string(res->why) : json_null());
	json_object_set_new(plan, "mode", json_string(mode_name(sp->o.mode)));
	body = plan ? json_dumps(plan, JSON_COMPACT) : NULL;
	if (!body || !acts ||
	    controldb_plan_add(sp->db, (int64_t)now, body, acts, res->nmoves,
			       &id, &err)) {
		log_err("sandpiper: cannot store the plan: %s", body && acts ?
			err.msg : "out of memory");
		goto out;
	}
	json_object_set_new(plan, "id", json_integer(id));
	for (i = 0; i < sp->nhosts; i++)
		for (r = 0; r < MB_RESOURCES; r++)
			if (hosts[i].hot[r])
				sp->hosts[i].mitigated = now;
	for (i = 0; i < res->nmoves; i++) {
		log_info("sandpiper plan %" PRId64 ": migrate %s from %s to %s: "
			 "%s", id, acts[i].name, acts[i].src, acts[i].dst,
			 acts[i].reason);
		acts[i].plan_id = id;
	}
	if (res->unresolved)
		log_warn("sandpiper: %s", res->why);
	for (n = 0; sp->o.apply && n < res->nmoves; n++)
		if (scheduler_submit(sp->sched, &acts[n], &err))
			log_info("sandpiper: %s", err.msg);
	json_decref(sp->last);
	sp->last = plan;
	plan = NULL;
out:
	json_decref(plan);
	free(body);
	free(acts);
	free(res);
	free(hosts);
	free(vms);
	free(uuids);
}

/* Whether a sandpiper migration is queued or running. */
static int unfinished(void *ctx, const struct action *a)
{
	bool *busy = ctx;

	if (!strcmp(a->policy, "sandpiper") && action_unfinished(a->state))
		*busy = true;
	return 0;
}

void sandpiper_round(struct sandpiper *sp)
{
	struct inv_snapshot snap;
	struct mb_err err;
	double now = now_s();
	bool hot, busy = false;

	if (inventory_snapshot(sp->inv, &snap))
		return;
	pthread_mutex_lock(&sp->lock);
	observe(sp, &snap, now);
	hot = detect(sp);
	if (hot && controldb_action_foreach(sp->db, ACTION_MIGRATE, -1, 0,
					    unfinished, &busy, &err))
		busy = true;
	if (hot && !busy)
		mitigate(sp, now);
	pthread_mutex_unlock(&sp->lock);
	if (hot && !busy && sp->o.apply)
		scheduler_start_queued(sp->sched);
	inv_snapshot_free(&snap);
}

/* ---- the served form ---- */

static json_t *obs_json(const struct ring *ring)
{
	const struct obs *o = ring_newest(ring);

	if (!o)
		return json_null();
	return json_pack("{s:f,s:f,s:f}", "cpu", o->u[MB_RES_CPU], "net",
			 o->u[MB_RES_NET], "mem", o->u[MB_RES_MEM]);
}

json_t *sandpiper_json(struct sandpiper *sp)
{
	json_t *hosts = json_array(), *vms = json_array(), *th, *out;
	size_t i;
	int r;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->nhosts; i++) {
		const struct host_profile *h = &sp->hosts[i];
		json_t *verdicts = json_object();

		for (r = 0; r < MB_RESOURCES; r++)
			json_object_set_new(verdicts, mb_resource_name(r),
				json_pack("{s:b,s:i,s:i,s:o,s:o}", "hot",
					  h->verdict[r].hot, "over",
					  h->verdict[r].over, "of",
					  h->verdict[r].seen, "last",
					  isfinite(h->verdict[r].last) ?
					  json_real(h->verdict[r].last) :
					  json_null(), "predicted",
					  isfinite(h->verdict[r].predicted) ?
					  json_real(h->verdict[r].predicted) :
					  json_null()));
		json_array_append_new(hosts, json_pack(
			"{s:s,s:b,s:b,s:{s:f,s:f,s:f},s:o,s:o,s:o}", "name",
			h->name, "up", h->up, "hot", h->hot, "capacity",
			"cpus", h->capacity[MB_RES_CPU], "net_mbps",
			h->capacity[MB_RES_NET], "memory_mb",
			h->capacity[MB_RES_MEM], "now", obs_json(&h->ring),
			"verdicts", verdicts, "mitigated", h->mitigated > 0 ?
			json_real(h->mitigated) : json_null()));
	}
	for (i = 0; i < sp->nvms; i++) {
		const struct vm_profile *v = &sp->vms[i];

		json_array_append_new(vms, json_pack(
			"{s:s,s:s,s:s,s:f,s:o}", "uuid", v->uuid, "name",
			v->name, "host", v->host, "memory_mb", v->memory_mb,
			"now", obs_json(&v->ring)));
	}
	th = json_pack("{s:f,s:f,s:f}", "cpu",
		       sp->o.params.threshold[MB_RES_CPU], "net",
		       sp->o.params.threshold[MB_RES_NET], "mem",
		       sp->o.params.threshold[MB_RES_MEM]);
	out = json_pack("{s:s,s:b,s:{s:i,s:i,s:o,s:i,s:i,s:f,s:i},s:o,s:o,s:O}",
		"mode", mode_name(sp->o.mode), "apply", sp->o.apply,
		"params", "k", (int)sp->o.params.k, "n", (int)sp->o.params.n,
		"threshold", th, "window", (int)sp->o.params.window,
		"ar_order", (int)sp->o.params.ar_order, "tie",
		sp->o.params.tie, "holdoff_s", (int)sp->o.holdoff,
		"hosts", hosts, "vms", vms,
		"last_mitigation", sp->last ? sp->last : json_null());
	pthread_mutex_unlock(&sp->lock);
	return out;
}
