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
 * Profiles, detection and mitigation are heuristics/hotspot.h's (its
 * tracker, which `mbuddy hotspots` replays recorded statistics through
 * the same way). A mitigation is
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
#include "sandpiper.h"

struct sandpiper {
	struct sandpiper_options o;
	struct inventory *inv;
	struct stats *stats;
	struct scheduler *sched;
	struct controldb *db;
	sandpiper_sharing_fn sharing;
	void *ctx;
	pthread_mutex_t lock;		/* the tracker, last */
	struct mb_hs_tracker *tracker;
	json_t *last;			/* the last mitigation's plan record */
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

	if (!sp || !(sp->tracker = mb_hs_tracker_new(&o->params, o->mode))) {
		free(sp);
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
	pthread_mutex_init(&sp->lock, NULL);
	return sp;
}

void sandpiper_free(struct sandpiper *sp)
{
	if (!sp)
		return;
	mb_hs_tracker_free(sp->tracker);
	json_decref(sp->last);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

/* ---- one round ---- */

static void reading_of(struct sandpiper *sp, const char *uuid, double now,
		       const struct inv_domain *d, struct mb_hs_reading *rd)
{
	struct vm_sample bb;
	struct guest_sample g;
	int have = stats_vm_latest(sp->stats, uuid, &bb, &g);
	double stale = 3.0 * (sp->o.stats_interval ? sp->o.stats_interval : 5);

	if ((have & 1) && now - bb.t <= stale)
		mb_hs_reading_black(rd, bb.cpu_pct, bb.rx_bps, bb.tx_bps,
				    bb.rss_mb, isfinite(bb.balloon_mb) ?
				    bb.balloon_mb : d->current_mb);
	else
		mb_hs_reading_black(rd, NAN, NAN, NAN, NAN, d->current_mb);
	if ((have & 2) && now - g.t <= 15)
		mb_hs_reading_gray(rd, sp->o.mode,
				   g.mem_total_mb - g.mem_available_mb,
				   g.swap_in, g.rx_bps, g.tx_bps);
}

/* One observation of every host and VM into the tracker. Lock held. */
static void observe(struct sandpiper *sp, struct inv_snapshot *snap,
		    double now)
{
	size_t i, j;

	mb_hs_round_begin(sp->tracker);
	for (i = 0; i < snap->nhosts; i++) {
		struct inv_host_view *h = &snap->hosts[i];
		double cap[MB_RESOURCES];

		cap[MB_RES_CPU] = h->spec.cpus > 0 ? h->spec.cpus : h->cpus;
		cap[MB_RES_NET] = h->spec.net_mbps > 0 ? h->spec.net_mbps :
				  1000;
		cap[MB_RES_MEM] = h->capacity_mb;
		if (mb_hs_observe_host(sp->tracker, h->spec.name, cap, h->up))
			continue;
		for (j = 0; h->up && j < h->ndomains; j++) {
			const struct inv_domain *d = &h->domains[j];
			struct mb_hs_reading rd;

			if (!inv_domain_running(d))
				continue;
			reading_of(sp, d->uuid, now, d, &rd);
			mb_hs_observe_vm(sp->tracker, d->uuid, d->name,
					 h->spec.name, &rd,
					 isfinite(rd.balloon_mb) &&
					 rd.balloon_mb > 0 ? rd.balloon_mb :
					 d->memory_mb);
		}
	}
}

static const char *mode_name(enum mb_hs_mode m)
{
	return m == MB_HS_GRAY ? "gray-box" : "black-box";
}

/* Pinned: an unfinished action, a recent failure, or the hold-off. */
static bool pinned(void *ctx, const char *uuid)
{
	struct sandpiper *sp = ctx;
	char why[ACTION_TEXT_LEN];

	return scheduler_pinned(sp->sched, uuid, ACTION_MIGRATE, why,
				sizeof(why)) ||
	       scheduler_recently_ended(sp->sched, uuid, sp->o.holdoff);
}

static double share(void *ctx, const char *uuid, const char *host)
{
	struct sandpiper *sp = ctx;

	return sp->sharing ? sp->sharing(sp->ctx, uuid, host) : 0;
}

static json_t *hotspots_json(struct sandpiper *sp)
{
	json_t *arr = json_array();
	size_t i;
	int r;

	for (i = 0; i < mb_hs_tracker_hosts(sp->tracker); i++)
		for (r = 0; r < MB_RESOURCES; r++) {
			const struct mb_hot_verdict *v =
				mb_hs_host_verdict(sp->tracker, i, r);

			if (!v->hot)
				continue;
			json_array_append_new(arr, json_pack(
				"{s:s,s:s,s:s,s:i,s:i,s:f,s:f,s:f}", "host",
				mb_hs_host_name(sp->tracker, i), "resource",
				mb_resource_name(r), "seen_by",
				mode_name(sp->o.mode), "over", v->over, "of",
				v->seen, "threshold",
				sp->o.params.threshold[r], "last", v->last,
				"predicted", v->predicted));
		}
	return arr;
}

/* Mitigate, record the plan and (with --apply) queue. Lock held. */
static void mitigate(struct sandpiper *sp, double now)
{
	struct mb_hs_result *res = calloc(1, sizeof(*res));
	struct mb_hs_tracker *t = sp->tracker;
	struct action *acts = NULL;
	json_t *plan = NULL, *ja, *jm;
	struct mb_err err;
	char *body = NULL;
	size_t i;
	int64_t id;

	if (!res || !mb_hs_tracker_mitigate(t, now, sp->o.holdoff, pinned,
					    sp->sharing ? share : NULL, sp,
					    res) ||
	    (!res->nmoves && !res->unresolved))
		goto out;
	acts = calloc(res->nmoves + 1, sizeof(*acts));
	ja = json_array();
	jm = json_array();
	for (i = 0; acts && i < res->nmoves; i++) {
		const struct mb_hs_move *m = &res->moves[i];
		struct action *a = &acts[i];

		a->kind = ACTION_MIGRATE;
		snprintf(a->uuid, sizeof(a->uuid), "%s", mb_hs_vm_id(t, m->vm));
		snprintf(a->name, sizeof(a->name), "%s",
			 mb_hs_vm_name(t, m->vm));
		snprintf(a->src, sizeof(a->src), "%s",
			 mb_hs_host_name(t, m->from));
		snprintf(a->dst, sizeof(a->dst), "%s",
			 mb_hs_host_name(t, m->to));
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
	plan = json_pack("{s:I,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o}",
			 "created", (json_int_t)now, "algorithm", "sandpiper",
			 "policies", "sandpiper", "mode",
			 mode_name(sp->o.mode), "apply", sp->o.apply,
			 "hotspots", hotspots_json(sp), "actions", ja,
			 "moves", jm, "skipped", json_array(),
			 "unresolved", res->unresolved ?
			 json_string(res->why) : json_null());
	body = plan ? json_dumps(plan, JSON_COMPACT) : NULL;
	if (!body || !acts ||
	    controldb_plan_add(sp->db, (int64_t)now, body, acts, res->nmoves,
			       &id, &err)) {
		log_err("sandpiper: cannot store the plan: %s", body && acts ?
			err.msg : "out of memory");
		goto out;
	}
	json_object_set_new(plan, "id", json_integer(id));
	for (i = 0; i < res->nmoves; i++) {
		acts[i].plan_id = id;
		log_info("sandpiper plan %" PRId64 ": migrate %s from %s to %s: "
			 "%s", id, acts[i].name, acts[i].src, acts[i].dst,
			 acts[i].reason);
		if (sp->o.apply && scheduler_submit(sp->sched, &acts[i], &err))
			log_info("sandpiper: %s", err.msg);
	}
	if (res->unresolved)
		log_warn("sandpiper: %s", res->why);
	json_decref(sp->last);
	sp->last = plan;
	plan = NULL;
out:
	json_decref(plan);
	free(body);
	free(acts);
	free(res);
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
	hot = mb_hs_round_end(sp->tracker);
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

static json_t *obs_json(const double *u)
{
	if (!u)
		return json_null();
	return json_pack("{s:f,s:f,s:f}", "cpu", u[MB_RES_CPU], "net",
			 u[MB_RES_NET], "mem", u[MB_RES_MEM]);
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *sandpiper_json(struct sandpiper *sp)
{
	json_t *hosts = json_array(), *vms = json_array(), *th, *out;
	struct mb_hs_tracker *t = sp->tracker;
	size_t i;
	int r;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < mb_hs_tracker_hosts(t); i++) {
		const double *cap = mb_hs_host_capacity(t, i);
		json_t *verdicts = json_object();
		bool hot = false;

		for (r = 0; r < MB_RESOURCES; r++) {
			const struct mb_hot_verdict *v =
				mb_hs_host_verdict(t, i, r);

			hot |= v->hot;
			json_object_set_new(verdicts, mb_resource_name(r),
				json_pack("{s:b,s:i,s:i,s:o,s:o}", "hot",
					  v->hot, "over", v->over, "of",
					  v->seen, "last", num(v->last),
					  "predicted", num(v->predicted)));
		}
		json_array_append_new(hosts, json_pack(
			"{s:s,s:b,s:b,s:{s:f,s:f,s:f},s:o,s:o,s:o}", "name",
			mb_hs_host_name(t, i), "up", mb_hs_host_up(t, i),
			"hot", hot, "capacity", "cpus", cap[MB_RES_CPU],
			"net_mbps", cap[MB_RES_NET], "memory_mb",
			cap[MB_RES_MEM], "now", obs_json(mb_hs_host_now(t, i)),
			"verdicts", verdicts, "mitigated",
			mb_hs_host_mitigated(t, i) > 0 ?
			json_real(mb_hs_host_mitigated(t, i)) : json_null()));
	}
	for (i = 0; i < mb_hs_tracker_vms(t); i++)
		json_array_append_new(vms, json_pack(
			"{s:s,s:s,s:s,s:f,s:o}", "uuid", mb_hs_vm_id(t, i),
			"name", mb_hs_vm_name(t, i), "host",
			mb_hs_vm_host(t, i), "memory_mb", mb_hs_vm_memory(t, i),
			"now", obs_json(mb_hs_vm_now(t, i))));
	th = json_pack("{s:f,s:f,s:f}", "cpu",
		       sp->o.params.threshold[MB_RES_CPU], "net",
		       sp->o.params.threshold[MB_RES_NET], "mem",
		       sp->o.params.threshold[MB_RES_MEM]);
	out = json_pack("{s:s,s:b,s:{s:i,s:i,s:o,s:i,s:i,s:f,s:i},s:i,s:o,s:o,s:O}",
		"mode", mode_name(sp->o.mode), "apply", sp->o.apply,
		"params", "k", (int)sp->o.params.k, "n", (int)sp->o.params.n,
		"threshold", th, "window", (int)sp->o.params.window,
		"ar_order", (int)sp->o.params.ar_order, "tie",
		sp->o.params.tie, "holdoff_s", (int)sp->o.holdoff,
		"interval_s", (int)sp->o.stats_interval,
		"hosts", hosts, "vms", vms,
		"last_mitigation", sp->last ? sp->last : json_null());
	pthread_mutex_unlock(&sp->lock);
	return out;
}
