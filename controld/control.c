// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - the controller: one loop thread that only ticks, and the
 * requests of the HTTP API (control.h).
 *
 * Every second the loop asks each part whether it is due:
 *   - the inventory, every --inventory-interval;
 *   - the black-box statistics, every --stats-interval;
 *   - the scheduler, every tick (it settles, aborts and starts actions);
 *   - a plan, every --plan-interval, made only from a settled cluster (no
 *     action planned or running) and queued at once with --apply.
 * Plans are made one at a time (plan_lock), whether by the loop or by
 * POST /v1/plan: the digest set cache is theirs.
 *
 * A plan is stored twice in the control database: its JSON record, the
 * form it is served in, and its actions as typed rows. The planner hands
 * the scheduler structs (plan_actions()): at once with --apply, or read
 * back from those rows when an operator applies a plan later.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "action_kinds.h"
#include "balancer.h"
#include "sandpiper.h"
#include "collect.h"
#include "control.h"
#include "inventory.h"
#include "log.h"
#include "plan.h"
#include "scheduler.h"
#include "snapshot.h"

struct control {
	struct control_options o;
	struct controldb *db;
	struct stats *stats;
	struct store *store;
	struct catalogue *cat;
	struct inventory *inv;
	struct action_env env;
	struct scheduler *sched;
	struct collector *collector;
	struct set_cache *cache;
	struct balancer *balancer;	/* NULL: --balance off */
	struct sandpiper *sandpiper;	/* NULL: --sandpiper off */
	struct snapshot sharing_snap;	/* sandpiper's ties, plan_lock */
	time_t sharing_taken;		/* monotonic, 0 = none */
	pthread_mutex_t plan_lock;	/* one plan at a time; last_moves */
	pthread_t thread;
	bool stop;
	char last_moves[1024];		/* the loop logs a plan when it changes */
};

/* ---- plans ---- */

static json_t *action_plan_json(const struct snapshot *s,
				const struct plan_action *a, bool skipped)
{
	const struct plan_vm *v = &s->vms[a->vm];
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f}", "uuid", v->uuid,
			      "name", v->name, "from", s->hosts[a->from].name,
			      "to", s->hosts[a->to].name, "gain_mb",
			      a->gain_mb);

	if (skipped) {
		json_object_set_new(o, "why", json_string(a->reason));
		return o;
	}
	json_object_set_new(o, "action", json_string(
		action_kind_name(a->kind)));
	if (a->kind == ACTION_RESIZE)
		json_object_set_new(o, "target_mb", json_real(a->target_mb));
	json_object_set_new(o, "kind", json_string(a->hotspot ? "hotspot" :
						   "consolidation"));
	json_object_set_new(o, "policy", json_string(a->policy));
	json_object_set_new(o, "reason", json_string(a->reason));
	return o;
}

static json_t *plan_json(struct control *c, const struct snapshot *s,
			 const struct plan_result *r)
{
	json_t *jh = json_array(), *jm = json_array(), *ja = json_array();
	json_t *js = json_array();
	size_t i, k;

	for (i = 0; i < s->inv.nhosts; i++) {
		json_t *names = json_array();
		int x = s->plan_host[i];

		for (k = 0; k < s->nvms; k++)
			if (x >= 0 && s->vms[k].host == x)
				json_array_append_new(names,
					json_string(s->vms[k].name));
		json_array_append_new(jh, json_pack(
			"{s:s,s:b,s:f,s:o,s:o,s:o}", "name",
			s->inv.hosts[i].spec.name, "up", s->inv.hosts[i].up,
			"capacity_mb", s->inv.hosts[i].capacity_mb,
			"before_mb", x >= 0 ? json_real(r->before_mb[x]) :
					      json_null(),
			"after_mb", x >= 0 ? json_real(r->after_mb[x]) :
					     json_null(),
			"vms", names));
	}
	for (i = 0; i < r->nactions; i++) {
		json_array_append_new(ja, action_plan_json(s, &r->actions[i],
							   false));
		if (r->actions[i].kind == ACTION_MIGRATE)
			json_array_append_new(jm, action_plan_json(
				s, &r->actions[i], false));
	}
	for (i = 0; i < r->nskipped; i++)
		json_array_append_new(js, action_plan_json(s, &r->skipped[i],
							   true));
	return json_pack("{s:I,s:s,s:s,s:b,s:f,s:i,s:f,s:o,s:o,s:o,s:o,s:O,s:o}",
			 "created", (json_int_t)time(NULL),
			 "algorithm", "buddies",
			 "policies", plan_policy_order(),
			 "apply", c->o.apply,
			 "min_gain_mb", c->o.min_gain_mb,
			 "max_moves", (int)c->o.max_moves,
			 "saved_mb", r->saved_mb, "hosts", jh, "moves", jm,
			 "actions", ja, "skipped", js,
			 "unplanned", s->unplanned,
			 "inputs", snapshot_inputs_json(s));
}

/* The actions of @r as the scheduler takes them: typed, not JSON. */
static struct action *plan_actions(const struct snapshot *s,
				   const struct plan_result *r)
{
	struct action *acts = calloc(r->nactions + 1, sizeof(*acts));
	size_t i;

	for (i = 0; acts && i < r->nactions; i++) {
		const struct plan_action *p = &r->actions[i];
		const struct plan_vm *v = &s->vms[p->vm];
		struct action *a = &acts[i];

		a->kind = p->kind;
		snprintf(a->uuid, sizeof(a->uuid), "%s", v->uuid);
		snprintf(a->name, sizeof(a->name), "%s", v->name);
		snprintf(a->src, sizeof(a->src), "%s", s->hosts[p->from].name);
		snprintf(a->dst, sizeof(a->dst), "%s", s->hosts[p->to].name);
		snprintf(a->policy, sizeof(a->policy), "%s", p->policy);
		snprintf(a->reason, sizeof(a->reason), "%s", p->reason);
		a->gain_mb = p->gain_mb;
		a->target_mb = p->target_mb;
	}
	return acts;
}

/*
 * Make a plan and store it; returns its JSON record, and in *@acts its
 * *@nacts actions (the caller frees them) when @acts is not NULL.
 */
static json_t *make_plan(struct control *c, struct action **acts,
			 size_t *nacts, struct mb_err *err)
{
	const struct snapshot_sources src = {
		.inv = c->inv, .cat = c->cat, .store = c->store,
		.cache = c->cache, .sched = c->sched, .stats = c->stats,
		.balancer = c->balancer, .tenants = c->o.tenants,
		.prefer = (enum trace_pref)c->o.prefer_traces,
	};
	const struct plan_opts po = { c->o.min_gain_mb, c->o.max_moves,
				      c->o.swap_threshold };
	struct action *list = NULL;
	struct plan_result res;
	struct snapshot snap;
	json_t *plan = NULL;
	char *body = NULL;
	size_t n = 0;
	int64_t id;

	if (snapshot_take(&snap, &src, err))
		return NULL;
	if (plan_compute(snap.hosts, snap.nhosts, snap.vms, snap.nvms, &po,
			 &res, err))
		goto out;
	plan = plan_json(c, &snap, &res);
	list = plan_actions(&snap, &res);
	n = res.nactions;
	plan_result_free(&res);
	body = plan ? json_dumps(plan, JSON_COMPACT) : NULL;
	if (!body || !list) {
		mb_errf(err, "plan: out of memory");
		goto fail;
	}
	if (controldb_plan_add(c->db, json_integer_value(
		json_object_get(plan, "created")), body, list, n, &id, err))
		goto fail;
	json_object_set_new(plan, "id", json_integer(id));
	if (acts) {
		size_t i;

		for (i = 0; i < n; i++)
			list[i].plan_id = id;
		*acts = list;
		*nacts = n;
		list = NULL;
	}
	goto out;
fail:
	json_decref(plan);
	plan = NULL;
out:
	free(list);
	free(body);
	snapshot_free(&snap);
	return plan;
}

/* Log @plan; with @dedup, only when its actions differ from the last. */
static void log_plan(struct control *c, json_t *plan, bool dedup)
{
	json_t *actions = json_object_get(plan, "actions"), *m;
	char moves[1024] = "";
	size_t i, len = 0;

	json_array_foreach(actions, i, m)
		if (len < sizeof(moves))
			len += snprintf(moves + len, sizeof(moves) - len,
					"%s:%s>%s ", json_string_value(
					json_object_get(m, "uuid")),
					json_string_value(json_object_get(m,
					"from")), json_string_value(
					json_object_get(m, "to")));
	if (dedup) {
		if (!strcmp(moves, c->last_moves))
			return;
		snprintf(c->last_moves, sizeof(c->last_moves), "%s", moves);
	}
	log_info("plan %" JSON_INTEGER_FORMAT ": %zu action%s, %.0f MiB saved",
		 json_integer_value(json_object_get(plan, "id")),
		 json_array_size(actions),
		 json_array_size(actions) == 1 ? "" : "s",
		 json_real_value(json_object_get(plan, "saved_mb")));
	json_array_foreach(actions, i, m)
		log_info("  %s %s from %s to %s: %s",
			 json_string_value(json_object_get(m, "action")),
			 json_string_value(json_object_get(m, "name")),
			 json_string_value(json_object_get(m, "from")),
			 json_string_value(json_object_get(m, "to")),
			 json_string_value(json_object_get(m, "reason")));
}

json_t *control_plan_new(struct control *c, struct mb_err *err)
{
	json_t *p;

	inventory_refresh(c->inv, false);
	pthread_mutex_lock(&c->plan_lock);
	p = make_plan(c, NULL, NULL, err);
	if (p)
		log_plan(c, p, false);
	pthread_mutex_unlock(&c->plan_lock);
	return p;
}

json_t *control_plan_latest(struct control *c, struct mb_err *err)
{
	json_error_t je;
	int64_t id;
	char *body;
	json_t *p;
	int rc;

	rc = controldb_plan_get(c->db, 0, &id, &body, err);
	if (rc <= 0)
		return rc < 0 ? NULL : json_null();
	p = json_loads(body, 0, &je);
	free(body);
	if (!p) {
		mb_errf(err, "control.db: plan %lld: %s", (long long)id,
			je.text);
		return NULL;
	}
	json_object_set_new(p, "id", json_integer(id));
	return p;
}

/* The queued action's record, or NULL. */
static json_t *queued_json(struct control *c, int64_t id, bool legacy)
{
	struct action a;
	struct mb_err err;

	if (controldb_action_get(c->db, id, &a, &err) != 1)
		return NULL;
	return action_json(&a, legacy);
}

/*
 * Queue a plan's actions; the pinned ones are skipped (and logged).
 * Returns what was queued, or NULL with @err on a database error.
 */
static json_t *submit_all(struct control *c, int64_t plan_id,
			  struct action *acts, size_t n, struct mb_err *err)
{
	json_t *all = json_array(), *migrations = json_array();
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct mb_err serr;

		rc = scheduler_submit(c->sched, &acts[i], &serr);
		if (rc > 0) {
			log_info("plan %lld: %s", (long long)plan_id,
				 serr.msg);
			continue;
		}
		if (rc < 0) {
			mb_errf(err, "%s", serr.msg);
			json_decref(all);
			json_decref(migrations);
			return NULL;
		}
		json_array_append_new(all, queued_json(c, acts[i].id, false));
		if (acts[i].kind == ACTION_MIGRATE)
			json_array_append_new(migrations,
					      queued_json(c, acts[i].id, true));
	}
	return json_pack("{s:I,s:o,s:o}", "plan", (json_int_t)plan_id,
			 "migrations", migrations, "actions", all);
}

struct action_list {
	struct action *a;
	size_t n;
};

static int collect_action(void *ctx, const struct action *a)
{
	struct action_list *l = ctx;
	struct action *g = realloc(l->a, (l->n + 1) * sizeof(*g));

	if (!g)
		return -1;
	l->a = g;
	l->a[l->n++] = *a;
	return 0;
}

json_t *control_plan_apply(struct control *c, int64_t id,
			   enum control_status *st, struct mb_err *err)
{
	struct action_list l = { NULL, 0 };
	json_t *queued = NULL;
	int64_t found;
	char *body;
	int rc;

	*st = CONTROL_FAILED;
	rc = controldb_plan_get(c->db, id, &found, &body, err);
	if (rc <= 0) {
		if (!rc) {
			*st = CONTROL_NOT_FOUND;
			mb_errf(err, id ? "no plan %lld" : "no plan yet (POST "
				"/v1/plan makes one)", (long long)id);
		}
		return NULL;
	}
	free(body);
	rc = controldb_plan_actions(c->db, found, collect_action, &l, err);
	if (rc > 0 || rc < 0) {
		if (rc > 0)
			mb_errf(err, "plan %lld: out of memory",
				(long long)found);
	} else if ((queued = submit_all(c, found, l.a, l.n, err))) {
		*st = CONTROL_OK;
	}
	free(l.a);
	return queued;
}

/* ---- actions an operator asks for ---- */

/* Find VM @vm (uuid or name) among the running domains. */
static const struct inv_domain *find_vm(struct inv_snapshot *s,
					const char *vm, size_t *host)
{
	size_t i, j;

	for (i = 0; i < s->nhosts; i++)
		for (j = 0; s->hosts[i].up && j < s->hosts[i].ndomains; j++) {
			const struct inv_domain *d = &s->hosts[i].domains[j];

			if ((strcasecmp(d->uuid, vm) && strcmp(d->name, vm)) ||
			    !inv_domain_running(d))
				continue;
			*host = i;
			return d;
		}
	return NULL;
}

static json_t *submit_fail(enum control_status *st, enum control_status s)
{
	*st = s;
	return NULL;
}

json_t *control_action_submit(struct control *c, const json_t *req,
			      enum control_status *st, struct mb_err *err)
{
	const char *kind = json_string_value(json_object_get(req, "kind"));
	const char *vm = json_string_value(json_object_get(req, "vm"));
	const char *reason = json_string_value(json_object_get(req, "reason"));
	const struct inv_domain *d;
	struct inv_snapshot snap;
	struct action a;
	size_t host;
	int k, rc;

	*st = CONTROL_OK;
	memset(&a, 0, sizeof(a));
	if (!json_is_object(req))
		return mb_errf(err, "the body must be a JSON object"),
		       submit_fail(st, CONTROL_INVALID);
	k = kind ? action_kind_parse(kind) : -1;
	if (k < 0)
		return mb_errf(err, "'kind' must be \"migrate\" or \"resize\""),
		       submit_fail(st, CONTROL_INVALID);
	if (!vm)
		return mb_errf(err, "'vm' must name a VM (its uuid or name)"),
		       submit_fail(st, CONTROL_INVALID);
	if (reason && strlen(reason) >= sizeof(a.reason))
		return mb_errf(err, "'reason' is longer than %zu bytes",
			       sizeof(a.reason) - 1),
		       submit_fail(st, CONTROL_INVALID);
	if (inventory_snapshot(c->inv, &snap))
		return mb_errf(err, "out of memory"),
		       submit_fail(st, CONTROL_FAILED);
	d = find_vm(&snap, vm, &host);
	if (!d) {
		mb_errf(err, "no running domain is called or has the uuid "
			"'%.80s'", vm);
		*st = CONTROL_NOT_FOUND;
		goto out;
	}
	a.kind = k;
	snprintf(a.uuid, sizeof(a.uuid), "%s", d->uuid);
	snprintf(a.name, sizeof(a.name), "%s", d->name);
	snprintf(a.src, sizeof(a.src), "%s", snap.hosts[host].spec.name);
	snprintf(a.policy, sizeof(a.policy), "operator");
	snprintf(a.reason, sizeof(a.reason), "%s", reason ? reason :
		 "asked for through the API");
	if (k == ACTION_RESIZE) {
		json_t *t = json_object_get(req, "target_mb");

		if (!json_is_number(t)) {
			mb_errf(err, "'target_mb' must be a number of MiB");
			*st = CONTROL_INVALID;
			goto out;
		}
		a.target_mb = json_number_value(t);
		a.from_mb = d->current_mb;
		a.gain_mb = a.from_mb > 0 ? a.from_mb - a.target_mb : 0;
		snprintf(a.dst, sizeof(a.dst), "%s", a.src);
		if (resize_check(&c->env, d->name, a.target_mb, d->memory_mb,
				 err)) {
			*st = CONTROL_INVALID;
			goto out;
		}
	} else {
		const char *to = json_string_value(json_object_get(req, "to"));
		int h = to ? inventory_host_index(c->inv, to) : -1;

		if (h < 0) {
			mb_errf(err, "'to' must name a configured host%s%.60s",
				to ? "; there is no host " : "", to ? to : "");
			*st = to ? CONTROL_NOT_FOUND : CONTROL_INVALID;
			goto out;
		}
		if ((size_t)h == host) {
			mb_errf(err, "%s already runs on %s", d->name, to);
			*st = CONTROL_INVALID;
			goto out;
		}
		snprintf(a.dst, sizeof(a.dst), "%s", to);
	}
	rc = scheduler_submit(c->sched, &a, err);
	if (rc)
		*st = rc > 0 ? CONTROL_CONFLICT : CONTROL_FAILED;
out:
	inv_snapshot_free(&snap);
	return *st == CONTROL_OK ? queued_json(c, a.id, false) : NULL;
}

/* ---- listings, metrics ---- */

struct listing {
	json_t *list;
	bool legacy;
};

static int append_action(void *ctx, const struct action *a)
{
	struct listing *l = ctx;

	return json_array_append_new(l->list, action_json(a, l->legacy));
}

json_t *control_actions_json(struct control *c, int kind, bool legacy,
			     struct mb_err *err)
{
	struct listing l = { json_array(), legacy };

	if (controldb_action_foreach(c->db, kind, -1, 0, append_action, &l,
				     err)) {
		json_decref(l.list);
		return NULL;
	}
	return l.list;
}

static int count_action(void *ctx, const struct action *a)
{
	uint64_t (*n)[ACTION_STATES] = ctx;

	n[a->kind][a->state]++;
	return 0;
}

void control_metrics(struct control *c, FILE *out)
{
	uint64_t n[ACTION_KINDS][ACTION_STATES] = { { 0 } };
	uint64_t loads, hits, entries;
	struct mb_err err;
	int k, s;

	if (controldb_action_foreach(c->db, -1, -1, 0, count_action, n, &err))
		log_err("%s", err.msg);
	fprintf(out, "# HELP mb_controld_actions Actions recorded, by kind "
		"and state.\n# TYPE mb_controld_actions gauge\n");
	for (k = 0; k < ACTION_KINDS; k++)
		for (s = 0; s < ACTION_STATES; s++)
			fprintf(out, "mb_controld_actions{kind=\"%s\","
				"state=\"%s\"} %" PRIu64 "\n",
				action_kind_name(k), action_state_name(s),
				n[k][s]);
	fprintf(out, "# HELP mb_controld_actions_running Actions being "
		"carried out now.\n# TYPE mb_controld_actions_running gauge\n"
		"mb_controld_actions_running %zu\n",
		scheduler_running(c->sched));
	set_cache_counts(c->cache, &loads, &hits, &entries);
	fprintf(out,
		"# HELP mb_controld_digest_cache_loads_total Traces parsed into digest sets for plans.\n"
		"# TYPE mb_controld_digest_cache_loads_total counter\n"
		"mb_controld_digest_cache_loads_total %" PRIu64 "\n"
		"# HELP mb_controld_digest_cache_hits_total Digest sets plans found in the cache.\n"
		"# TYPE mb_controld_digest_cache_hits_total counter\n"
		"mb_controld_digest_cache_hits_total %" PRIu64 "\n"
		"# HELP mb_controld_digest_cache_sets Digest sets held.\n"
		"# TYPE mb_controld_digest_cache_sets gauge\n"
		"mb_controld_digest_cache_sets %" PRIu64 "\n",
		loads, hits, entries);
}

json_t *control_hosts_json(struct control *c)
{
	return inventory_hosts_json(c->inv);
}

void control_annotate_vms(struct control *c, json_t *vms)
{
	inventory_annotate_vms(c->inv, vms);
}

bool control_pressure(struct control *c, const char *uuid, double fired_at)
{
	if (!c->balancer)
		return false;
	balancer_pressure(c->balancer, uuid, fired_at);
	return true;
}

json_t *control_hotspots_json(struct control *c)
{
	if (!c->sandpiper)
		return json_pack("{s:s}", "mode", "off");
	return sandpiper_json(c->sandpiper);
}

static time_t mono(void);

/*
 * Sandpiper's tie-break: what a VM shares with a host's VMs, from a
 * snapshot of the traces at most 30 s old (taken under the plan lock,
 * whose cache it shares with plans).
 */
static double sharing_for_sandpiper(void *ctx, const char *uuid,
				    const char *host)
{
	struct control *c = ctx;
	const struct snapshot_sources src = {
		.inv = c->inv, .cat = c->cat, .store = c->store,
		.cache = c->cache, .stats = c->stats,
		.prefer = (enum trace_pref)c->o.prefer_traces,
	};
	struct mb_err err;
	double shared;

	pthread_mutex_lock(&c->plan_lock);
	if (!c->sharing_taken || mono() - c->sharing_taken > 30) {
		if (c->sharing_taken)
			snapshot_free(&c->sharing_snap);
		c->sharing_taken = 0;
		if (snapshot_take(&c->sharing_snap, &src, &err) == 0)
			c->sharing_taken = mono();
		else
			log_debug("sandpiper: no sharing estimate: %s",
				  err.msg);
	}
	shared = c->sharing_taken ? snapshot_shared_mb(&c->sharing_snap,
						       uuid, host) : 0;
	pthread_mutex_unlock(&c->plan_lock);
	return shared;
}

json_t *control_balance_json(struct control *c)
{
	if (!c->balancer)
		return json_pack("{s:s}", "mode", "off");
	return balancer_json(c->balancer);
}

bool control_has_host(struct control *c, const char *name)
{
	return inventory_host_index(c->inv, name) >= 0;
}

struct inventory *control_inventory(struct control *c)
{
	return c->inv;
}

/* ---- the loop ---- */

static void plan_tick(struct control *c)
{
	struct action *acts = NULL;
	struct mb_err err;
	size_t n = 0;
	json_t *p, *q;

	pthread_mutex_lock(&c->plan_lock);
	p = make_plan(c, &acts, &n, &err);
	if (p)
		log_plan(c, p, true);
	pthread_mutex_unlock(&c->plan_lock);
	if (!p) {
		log_err("plan: %s", err.msg);
		return;
	}
	/* With --apply, the planner's structs go straight to the scheduler. */
	if (c->o.apply && n) {
		q = submit_all(c, json_integer_value(json_object_get(p, "id")),
			       acts, n, &err);
		if (!q)
			log_err("apply: %s", err.msg);
		json_decref(q);
	}
	free(acts);
	json_decref(p);
}

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void *loop(void *arg)
{
	struct control *c = arg;
	time_t next_inventory = 0, next_stats = 0, next_plan;
	struct mb_err err;

	inventory_refresh(c->inv, true);
	if (scheduler_recover(c->sched, &err))
		log_err("%s", err.msg);
	/* The first plan after one inventory round. */
	next_plan = mono() + (c->o.plan_interval ? 2 : 0);
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		time_t now = mono();

		if (now >= next_inventory) {
			inventory_refresh(c->inv, false);
			next_inventory = now + c->o.inventory_interval;
		}
		if (c->collector && now >= next_stats) {
			collector_round(c->collector);
			if (c->sandpiper)
				sandpiper_round(c->sandpiper);
			next_stats = now + c->o.stats_interval;
		}
		scheduler_tick(c->sched);
		if (c->o.plan_interval && now >= next_plan &&
		    !scheduler_busy(c->sched)) {
			plan_tick(c);
			next_plan = now + c->o.plan_interval;
		}
		sleep(1);
	}
	return NULL;
}

struct control *control_start(const struct control_options *o,
			      struct controldb *db, struct stats *stats,
			      struct store *store, struct catalogue *cat,
			      struct mb_err *err)
{
	static const struct action_ops *const ops[ACTION_KINDS] = {
		[ACTION_MIGRATE] = &migrate_ops,
		[ACTION_RESIZE] = &resize_ops,
	};
	struct control *c = calloc(1, sizeof(*c));
	struct scheduler_options so = { .retry_after = o->retry_after };

	if (!c) {
		mb_errf(err, "control: out of memory");
		return NULL;
	}
	c->o = *o;
	c->db = db;
	c->stats = stats;
	c->store = store;
	c->cat = cat;
	pthread_mutex_init(&c->plan_lock, NULL);
	c->inv = inventory_new(o->hosts, o->nhosts, err);
	if (!c->inv)
		goto fail;
	c->env = (struct action_env){
		.inv = c->inv, .migrate_bandwidth = o->migrate_bandwidth,
		.resize_floor_mb = o->resize_floor_mb, .resize_poll_ms = 500,
	};
	so.max_running[ACTION_MIGRATE] = o->max_migrations;
	so.max_running[ACTION_RESIZE] = o->max_resizes;
	so.timeout[ACTION_MIGRATE] = o->migrate_timeout;
	so.timeout[ACTION_RESIZE] = o->resize_timeout;
	c->sched = scheduler_new(&so, db, ops, &c->env, action_env_host_index,
				 err);
	c->cache = set_cache_new();
	if (!c->sched || !c->cache) {
		if (c->sched)
			mb_errf(err, "control: out of memory");
		goto fail;
	}
	if (o->stats_interval && stats &&
	    !(c->collector = collector_new(c->inv, stats, o->stats_interval,
					   err)))
		goto fail;
	if (o->balance >= 0) {
		struct balancer_options bo = {
			.mode = o->balance, .interval = o->balance_interval,
			.apply = o->apply, .floor_mb = o->resize_floor_mb,
			.stats_interval = o->stats_interval,
		};

		c->balancer = balancer_new(&bo, c->inv, stats, c->sched, err);
		if (!c->balancer || balancer_start(c->balancer, err))
			goto fail;
	}
	if (o->sandpiper >= 0) {
		struct sandpiper_options spo = {
			.mode = o->sandpiper, .params = o->sandpiper_params,
			.holdoff = o->sandpiper_holdoff,
			.stats_interval = o->stats_interval, .apply = o->apply,
		};

		c->sandpiper = sandpiper_new(&spo, c->inv, stats, c->sched, db,
					     sharing_for_sandpiper, c, err);
		if (!c->sandpiper)
			goto fail;
	}
	if (pthread_create(&c->thread, NULL, loop, c)) {
		mb_errf(err, "control: cannot start its thread");
		goto fail;
	}
	log_info("controller: %u host%s, inventory every %u s, statistics %s, "
		 "balance %s, sandpiper %s, policies %s, %s, %s", o->nhosts,
		 o->nhosts == 1 ? "" : "s", o->inventory_interval,
		 o->stats_interval ? "on" : "off", o->balance >= 0 ?
		 mb_balance_mode_name(o->balance) : "off",
		 o->sandpiper < 0 ? "off" : o->sandpiper == MB_HS_GRAY ?
		 "gray" : "black", plan_policy_order(),
		 o->plan_interval ? "plans on a timer" : "plans on request",
		 o->apply ? "applying plans (--apply)" : "dry run");
	return c;
fail:
	sandpiper_free(c->sandpiper);
	balancer_free(c->balancer);
	collector_free(c->collector);
	set_cache_free(c->cache);
	scheduler_free(c->sched);
	inventory_free(c->inv);
	pthread_mutex_destroy(&c->plan_lock);
	free(c);
	return NULL;
}

bool control_stop(struct control *c)
{
	struct timespec limit;

	if (!c)
		return true;
	__atomic_store_n(&c->stop, true, __ATOMIC_RELAXED);
	/*
	 * The loop may be inside a libvirt call to a host that hangs: give
	 * it a while, then leave it (the process is exiting).
	 */
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 15;
	if (pthread_timedjoin_np(c->thread, NULL, &limit)) {
		log_warn("the control loop is stuck in a libvirt call; "
			 "exiting without it");
		return false;
	}
	/*
	 * Workers are detached and may still be inside libvirt; their rows
	 * stay "running" to be settled at the next start, and the shared
	 * state is left to them.
	 */
	balancer_free(c->balancer);
	if (!scheduler_stop(c->sched))
		return false;
	sandpiper_free(c->sandpiper);
	if (c->sharing_taken)
		snapshot_free(&c->sharing_snap);
	collector_free(c->collector);
	set_cache_free(c->cache);
	scheduler_free(c->sched);
	inventory_free(c->inv);
	pthread_mutex_destroy(&c->plan_lock);
	free(c);
	return true;
}
