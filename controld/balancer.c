// SPDX-License-Identifier: GPL-2.0
/*
 * balancer.c - the balancing rounds (balancer.h).
 *
 * A thread of its own waits --balance-interval seconds, or less when a
 * guest reports pressure, then runs a round: for each host that is up, the
 * running domains with what is known of them, the balance policy's
 * decisions (policy_balance.c), and for every VM to grow or shrink a
 * resize action. Rounds are kept off the controller's loop thread so that
 * a pressure report is acted on within a second, whatever the loop is
 * doing (a plan over a thousand traces takes longer).
 *
 * What a VM is observed as, in order of preference:
 *   - its guest's last report (mb-guestd), when fresh: in use = MemTotal -
 *     MemAvailable, Committed_AS, swap-in and major-fault rates, PSI;
 *   - else libvirt's balloon statistics: in use = balloon - usable,
 *     swap-in and major-fault rates, no Committed_AS, no PSI;
 *   - its size is libvirt's balloon (else the inventory's current memory).
 * A sample is fresh when younger than three statistics intervals. A VM
 * whose last action ended less than two statistics intervals ago is held
 * at its size, its samples may not show the change yet, unless it
 * reported pressure.
 *
 * The state kept per VM (CMA, target, last decision and why) is what GET
 * /v1/balance serves and what plans count a VM's memory as; it is dropped
 * for VMs that no host runs any more.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balancer.h"
#include "log.h"
#include "policy_balance.h"

struct vm_state {
	char uuid[37];
	char name[64];
	char host[64];
	struct mb_vm_observed obs;
	const char *source;		/* "guest" or "libvirt" */
	struct balance_out_vm out;
	double max_mb;
	bool fixed;
	char fixed_why[ACTION_TEXT_LEN];
	bool emergency;			/* the last decision answered pressure */
	double pressure_at;		/* its last pressure report, seconds */
	double fired_at;		/* ... and when its trigger fired */
	double answered_at;		/* the report the last decision answered */
	double answered_fired;		/* ... its trigger */
	struct {
		double at, fired;	/* a pressure report, its trigger ... */
		int64_t action;		/* ... and the resize that answered it */
	} emergencies[4];		/* the last ones, oldest first */
	size_t nemergencies;
	double decided;			/* when, seconds */
	int64_t action;			/* the resize queued, 0 none */
	char note[ACTION_TEXT_LEN];	/* dry run, pinned, queue error */
	bool seen;			/* in the last round */
};

struct host_state {
	char name[64];
	double capacity_mb;
	struct mb_balance_host out;
	bool ok;
	char error[MB_ERR_LEN];
	double decided;
};

struct balancer {
	struct balancer_options o;
	struct balance_settings settings;
	struct inventory *inv;
	struct stats *stats;
	struct scheduler *sched;
	pthread_mutex_t lock;		/* state, pressure; rounds one at a time */
	pthread_mutex_t round_lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	char (*pressure)[37];		/* VMs that reported since the last round */
	size_t npressure, pressure_cap;
	struct vm_state *vms;
	size_t nvms, vms_cap;
	struct host_state *hosts;
	size_t nhosts;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct balancer *balancer_new(const struct balancer_options *o,
			      struct inventory *inv, struct stats *stats,
			      struct scheduler *sched, struct mb_err *err)
{
	struct balancer *b = calloc(1, sizeof(*b));

	if (!b) {
		mb_errf(err, "balance: out of memory");
		return NULL;
	}
	b->o = *o;
	if (!b->o.interval)
		b->o.interval = 10;
	balance_settings_init(&b->settings, o->mode, o->floor_mb);
	b->inv = inv;
	b->stats = stats;
	b->sched = sched;
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->round_lock, NULL);
	pthread_cond_init(&b->wake, NULL);
	return b;
}

/* ---- observing a VM ---- */

static bool fresh(double t, double now, unsigned int interval)
{
	return now - t <= 3.0 * (interval ? interval : 5) + 1;
}

static void observe(struct balancer *b, const struct inv_domain *d,
		    double now, struct mb_vm_observed *o, const char **source)
{
	struct vm_sample bb;
	struct guest_sample g;
	int have = stats_vm_latest(b->stats, d->uuid, &bb, &g);
	bool bb_ok = (have & 1) && fresh(bb.t, now, b->o.stats_interval);

	o->current_mib = bb_ok && isfinite(bb.balloon_mb) ? bb.balloon_mb :
			 d->current_mb;
	if ((have & 2) && fresh(g.t, now, 5)) {
		o->used_mib = g.mem_total_mb - g.mem_available_mb;
		o->committed_mib = g.committed_as_mb;
		o->swapin_rate = g.swap_in;
		o->majfault_rate = g.major_faults;
		o->psi_some_avg10 = g.psi_some[0];
		*source = "guest";
		return;
	}
	o->used_mib = bb_ok ? bb.balloon_mb - bb.usable_mb : NAN;
	o->committed_mib = NAN;
	o->swapin_rate = bb_ok ? bb.swap_in : NAN;
	o->majfault_rate = bb_ok ? bb.major_faults : NAN;
	o->psi_some_avg10 = NAN;
	*source = "libvirt";
}

/* ---- the state ---- */

static struct vm_state *vm_state(struct balancer *b, const char *uuid,
				 bool create)
{
	size_t i;

	for (i = 0; i < b->nvms; i++)
		if (!strcmp(b->vms[i].uuid, uuid))
			return &b->vms[i];
	if (!create)
		return NULL;
	if (b->nvms == b->vms_cap) {
		size_t cap = b->vms_cap ? b->vms_cap * 2 : 16;
		struct vm_state *g = realloc(b->vms, cap * sizeof(*g));

		if (!g)
			return NULL;
		b->vms = g;
		b->vms_cap = cap;
	}
	memset(&b->vms[b->nvms], 0, sizeof(b->vms[b->nvms]));
	snprintf(b->vms[b->nvms].uuid, sizeof(b->vms[b->nvms].uuid), "%s",
		 uuid);
	return &b->vms[b->nvms++];
}

/* Take the pressure reports of VMs on @h: true for @uuid if it had one. */
static bool took_pressure(struct balancer *b, const char *uuid)
{
	size_t i;

	for (i = 0; i < b->npressure; i++)
		if (!strcmp(b->pressure[i], uuid)) {
			memmove(b->pressure[i], b->pressure[i + 1],
				(b->npressure - i - 1) * sizeof(*b->pressure));
			b->npressure--;
			return true;
		}
	return false;
}

/* ---- one host ---- */

/* Queue (or, in a dry run, only note) the resize @vs decided. */
static void act(struct balancer *b, struct vm_state *vs,
		const struct inv_host_view *h)
{
	const struct mb_balance_vm *bv = &vs->out.bv;
	struct action a;
	struct mb_err err;
	int rc;

	vs->action = 0;
	vs->note[0] = '\0';
	if (bv->action == MB_BALANCE_KEEP)
		return;
	if (!b->o.apply) {
		snprintf(vs->note, sizeof(vs->note), "dry run: not applied "
			 "(--apply)");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.kind = ACTION_RESIZE;
	snprintf(a.uuid, sizeof(a.uuid), "%s", vs->uuid);
	snprintf(a.name, sizeof(a.name), "%s", vs->name);
	snprintf(a.src, sizeof(a.src), "%s", h->spec.name);
	snprintf(a.dst, sizeof(a.dst), "%s", h->spec.name);
	snprintf(a.policy, sizeof(a.policy), "balance");
	snprintf(a.reason, sizeof(a.reason), "balance (%s): %s%s",
		 mb_balance_mode_name(b->o.mode), bv->reason,
		 vs->emergency ? "; it reported memory pressure" : "");
	a.target_mb = (double)bv->target_mib;
	a.from_mb = (double)bv->current_mib;
	a.gain_mb = a.from_mb - a.target_mb;
	rc = scheduler_submit(b->sched, &a, &err);
	if (rc == 0)
		vs->action = a.id;
	else
		snprintf(vs->note, sizeof(vs->note), "%s", err.msg);
}

/* Keep the last few (pressure report, resize) pairs: the reaction times. */
static void record_emergency(struct vm_state *v, double at, double fired,
			     int64_t action)
{
	size_t max = sizeof(v->emergencies) / sizeof(v->emergencies[0]);

	if (v->nemergencies == max) {
		memmove(&v->emergencies[0], &v->emergencies[1],
			(max - 1) * sizeof(v->emergencies[0]));
		v->nemergencies--;
	}
	v->emergencies[v->nemergencies].at = at;
	v->emergencies[v->nemergencies].fired = fired;
	v->emergencies[v->nemergencies].action = action;
	v->nemergencies++;
}

static void balance_host(struct balancer *b, const struct inv_host_view *h,
			 struct host_state *hs, double now)
{
	struct balance_in_vm *in = calloc(h->ndomains + 1, sizeof(*in));
	struct balance_out_vm *out = calloc(h->ndomains + 1, sizeof(*out));
	size_t *vs = calloc(h->ndomains + 1, sizeof(*vs));	/* into b->vms */
	struct balance_in_host ih = { h->spec.name, h->capacity_mb, 0, in };
	unsigned int settle = 2 * (b->o.stats_interval ? b->o.stats_interval :
				   5) + 1;
	struct mb_err err;
	size_t i, n = 0;

	snprintf(hs->name, sizeof(hs->name), "%s", h->spec.name);
	hs->capacity_mb = h->capacity_mb;
	hs->decided = now;
	if (!in || !out || !vs) {
		hs->ok = false;
		snprintf(hs->error, sizeof(hs->error), "out of memory");
		goto out;
	}
	pthread_mutex_lock(&b->lock);
	for (i = 0; i < h->ndomains; i++) {
		const struct inv_domain *d = &h->domains[i];
		struct vm_state *v;
		const char *why;

		/* Indices, not pointers: creating entries moves the array. */
		if (!inv_domain_running(d) || !(v = vm_state(b, d->uuid, true)))
			continue;
		snprintf(v->name, sizeof(v->name), "%s", d->name);
		snprintf(v->host, sizeof(v->host), "%s", h->spec.name);
		observe(b, d, now, &v->obs, &v->source);
		v->max_mb = d->memory_mb;
		v->emergency = took_pressure(b, d->uuid);
		v->answered_at = v->emergency ? v->pressure_at : 0;
		v->answered_fired = v->emergency ? v->fired_at : 0;
		why = scheduler_pinned(b->sched, d->uuid, ACTION_RESIZE,
				       v->fixed_why, sizeof(v->fixed_why));
		/*
		 * Until the statistics have sampled it since, a VM's last
		 * action may not show: its size stays as it is, unless it
		 * reported pressure (growing it cannot wait).
		 */
		if (!why && !v->emergency &&
		    scheduler_recently_ended(b->sched, d->uuid, settle)) {
			snprintf(v->fixed_why, sizeof(v->fixed_why), "its last "
				 "action ended less than %u s ago", settle);
			why = v->fixed_why;
		}
		v->fixed = why != NULL;
		v->seen = true;
		in[n] = (struct balance_in_vm){
			.uuid = d->uuid, .name = d->name, .obs = v->obs,
			.max_mb = v->max_mb, .fixed = v->fixed,
			.emergency = v->emergency,
			.recent_misses = fmax(v->obs.swapin_rate,
					      v->obs.majfault_rate) *
					 b->o.interval,
		};
		vs[n++] = (size_t)(v - b->vms);
	}
	ih.nvms = n;
	hs->ok = policy_balance(&ih, &b->settings, &hs->out, out, &err) == 0;
	if (!hs->ok) {
		snprintf(hs->error, sizeof(hs->error), "%s", err.msg);
		pthread_mutex_unlock(&b->lock);
		log_warn("%s", err.msg);
		goto out;
	}
	hs->error[0] = '\0';
	for (i = 0; i < n; i++) {
		b->vms[vs[i]].out = out[i];
		b->vms[vs[i]].decided = now;
	}
	pthread_mutex_unlock(&b->lock);
	/* Queue outside the state lock: the scheduler has its own. */
	for (i = 0; i < n; i++) {
		struct vm_state copy;

		pthread_mutex_lock(&b->lock);
		copy = b->vms[vs[i]];
		pthread_mutex_unlock(&b->lock);
		act(b, &copy, h);
		pthread_mutex_lock(&b->lock);
		b->vms[vs[i]].action = copy.action;
		snprintf(b->vms[vs[i]].note, sizeof(b->vms[vs[i]].note), "%s",
			 copy.note);
		if (copy.action && copy.answered_at > 0)
			record_emergency(&b->vms[vs[i]], copy.answered_at,
					 copy.answered_fired, copy.action);
		pthread_mutex_unlock(&b->lock);
		if (copy.action)
			log_info("balance: %s on %s: %s (action %" PRId64 ")",
				 copy.name, h->spec.name, copy.out.bv.reason,
				 copy.action);
	}
out:
	free(in);
	free(out);
	free(vs);
}

static struct host_state *host_state(struct balancer *b, const char *name)
{
	size_t i;
	struct host_state *g;

	for (i = 0; i < b->nhosts; i++)
		if (!strcmp(b->hosts[i].name, name))
			return &b->hosts[i];
	g = realloc(b->hosts, (b->nhosts + 1) * sizeof(*g));
	if (!g)
		return NULL;
	b->hosts = g;
	memset(&g[b->nhosts], 0, sizeof(*g));
	snprintf(g[b->nhosts].name, sizeof(g[b->nhosts].name), "%s", name);
	return &g[b->nhosts++];
}

/* A round over the hosts that are up; with @only, those with a VM in it. */
static void round_of(struct balancer *b, bool pressure_only)
{
	struct inv_snapshot snap;
	double now = now_s();
	size_t i, j, k;

	if (inventory_snapshot(b->inv, &snap))
		return;
	pthread_mutex_lock(&b->round_lock);
	pthread_mutex_lock(&b->lock);
	for (k = 0; k < b->nvms && !pressure_only; k++)
		b->vms[k].seen = false;
	pthread_mutex_unlock(&b->lock);
	for (i = 0; i < snap.nhosts; i++) {
		struct inv_host_view *h = &snap.hosts[i];
		struct host_state hs, *slot;
		bool wanted = !pressure_only;

		if (!h->up)
			continue;
		pthread_mutex_lock(&b->lock);
		for (j = 0; j < h->ndomains && !wanted; j++)
			for (k = 0; k < b->npressure && !wanted; k++)
				wanted = !strcmp(h->domains[j].uuid,
						 b->pressure[k]);
		slot = host_state(b, h->spec.name);
		hs = slot ? *slot : (struct host_state){ 0 };
		pthread_mutex_unlock(&b->lock);
		if (!wanted || !slot)
			continue;
		balance_host(b, h, &hs, now);
		pthread_mutex_lock(&b->lock);
		*host_state(b, h->spec.name) = hs;
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_lock(&b->lock);
	/* Reports of VMs no running host has are dropped with them. */
	if (!pressure_only) {
		b->npressure = 0;
		for (k = 0; k < b->nvms; k++)
			if (!b->vms[k].seen)
				b->vms[k--] = b->vms[--b->nvms];
	}
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&b->round_lock);
	scheduler_start_queued(b->sched);
	inv_snapshot_free(&snap);
}

void balancer_round(struct balancer *b)
{
	round_of(b, false);
}

static void *balancer_thread(void *arg)
{
	struct balancer *b = arg;
	struct timespec until;
	/* The first round after one interval: the statistics need time. */
	double next = now_s() + b->o.interval;

	for (;;) {
		bool urgent, due;

		pthread_mutex_lock(&b->lock);
		until.tv_sec = (time_t)next;
		until.tv_nsec = (long)((next - (double)(time_t)next) * 1e9);
		while (!b->stop && !b->npressure && now_s() < next &&
		       pthread_cond_timedwait(&b->wake, &b->lock, &until) == 0)
			;
		if (b->stop) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		urgent = b->npressure > 0;
		pthread_mutex_unlock(&b->lock);
		due = now_s() >= next;
		if (due)
			next = now_s() + b->o.interval;
		round_of(b, !due && urgent);
	}
}

int balancer_start(struct balancer *b, struct mb_err *err)
{
	if (pthread_create(&b->thread, NULL, balancer_thread, b))
		return mb_errf(err, "balance: cannot start its thread");
	b->running = true;
	return 0;
}

void balancer_free(struct balancer *b)
{
	if (!b)
		return;
	if (b->running) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_signal(&b->wake);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->thread, NULL);
	}
	free(b->pressure);
	free(b->vms);
	free(b->hosts);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->round_lock);
	pthread_cond_destroy(&b->wake);
	free(b);
}

void balancer_pressure(struct balancer *b, const char *uuid, double fired_at)
{
	struct vm_state *v;
	size_t i;

	pthread_mutex_lock(&b->lock);
	v = vm_state(b, uuid, true);
	if (v) {
		v->pressure_at = now_s();
		v->fired_at = fired_at <= v->pressure_at ? fired_at :
			      v->pressure_at;
	}
	for (i = 0; i < b->npressure; i++)
		if (!strcmp(b->pressure[i], uuid))
			break;
	if (i == b->npressure && b->npressure < 4096) {
		if (b->npressure == b->pressure_cap) {
			size_t cap = b->pressure_cap ? b->pressure_cap * 2 : 8;
			char (*g)[37] = realloc(b->pressure, cap * sizeof(*g));

			if (!g)
				goto out;
			b->pressure = g;
			b->pressure_cap = cap;
		}
		snprintf(b->pressure[b->npressure++], 37, "%s", uuid);
	}
	pthread_cond_signal(&b->wake);
out:
	pthread_mutex_unlock(&b->lock);
}

bool balancer_vm_target(struct balancer *b, const char *uuid,
			double *target_mb)
{
	struct vm_state *v;
	bool ok;

	pthread_mutex_lock(&b->lock);
	v = vm_state(b, uuid, false);
	ok = v && v->decided > 0;
	if (ok)
		*target_mb = (double)v->out.bv.target_mib;
	pthread_mutex_unlock(&b->lock);
	return ok;
}

bool balancer_host_cma(struct balancer *b, const char *name,
		       double *cma_sum_mb)
{
	size_t i;
	bool ok = false;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < b->nhosts; i++)
		if (!strcmp(b->hosts[i].name, name) && b->hosts[i].ok) {
			*cma_sum_mb = (double)b->hosts[i].out.cma_sum;
			ok = true;
		}
	pthread_mutex_unlock(&b->lock);
	return ok;
}

/* ---- the served form ---- */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static const char *action_word(enum mb_balance_action a)
{
	return a == MB_BALANCE_GROW ? "grow" : a == MB_BALANCE_SHRINK ?
	       "shrink" : "keep";
}

static json_t *vm_json(const struct vm_state *v)
{
	const struct mb_balance_vm *bv = &v->out.bv;
	const struct mb_cma_parts *p = &v->out.parts;
	json_t *em = json_array(), *o;
	size_t i;

	for (i = 0; i < v->nemergencies; i++)
		json_array_append_new(em, json_pack("{s:f,s:f,s:I}",
			"pressure_at", v->emergencies[i].at, "fired_at",
			v->emergencies[i].fired, "action",
			(json_int_t)v->emergencies[i].action));
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:f,s:f,s:f,s:f,s:f},s:I,"
			 "s:I,s:f,s:o,s:o,s:f,s:b,s:o,s:o,"
			 "s:{s:f,s:s,s:I,s:s,s:b,s:o,s:o}}",
		"uuid", v->uuid, "name", v->name, "host", v->host,
		"observed_from", v->source ? v->source : "libvirt",
		"cma_mb", (json_int_t)bv->cma_mib,
		"cma_parts", "used_mb", p->used, "commit_mb", p->commit,
		"shortfall_mb", p->shortfall, "pressure_mb", p->pressure,
		"reserve_mb", p->reserve,
		"target_mb", (json_int_t)bv->target_mib,
		"current_mb", (json_int_t)bv->current_mib,
		"max_mb", v->max_mb,
		"psi_some_avg10", num(v->obs.psi_some_avg10),
		"fault_rate", num(fmax(v->obs.swapin_rate,
				       v->obs.majfault_rate)),
		"floor_mb", (double)bv->floor_mib,
		"needy", bv->needy,
		"fixed", v->fixed ? json_string(v->fixed_why) : json_null(),
		"pressure_at", v->pressure_at > 0 ? json_real(v->pressure_at) :
		json_null(),
		"decision", "t", v->decided, "action", action_word(bv->action),
		"target_mb", (json_int_t)bv->target_mib,
		"reason", bv->reason, "emergency", v->emergency,
		"queued", v->action ? json_integer(v->action) : json_null(),
		"note", v->note[0] ? json_string(v->note) : json_null());
	json_object_set_new(o, "emergencies", em);
	return o;
}

json_t *balancer_json(struct balancer *b)
{
	json_t *hosts = json_array();
	size_t i, k;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < b->nhosts; i++) {
		const struct host_state *h = &b->hosts[i];
		json_t *vms = json_array();

		for (k = 0; k < b->nvms; k++)
			if (!strcmp(b->vms[k].host, h->name) &&
			    b->vms[k].decided > 0)
				json_array_append_new(vms, vm_json(&b->vms[k]));
		json_array_append_new(hosts, json_pack(
			"{s:s,s:f,s:f,s:I,s:I,s:b,s:b,s:o,s:o}", "name",
			h->name, "t", h->decided, "capacity_mb", h->capacity_mb,
			"cma_sum_mb", (json_int_t)h->out.cma_sum,
			"target_sum_mb", (json_int_t)h->out.target_sum,
			"hotspot", h->out.hotspot,
			"overcommitted", h->out.overcommitted,
			"error", h->ok ? json_null() : json_string(h->error),
			"vms", vms));
	}
	pthread_mutex_unlock(&b->lock);
	return json_pack("{s:s,s:i,s:b,s:o}", "mode",
			 mb_balance_mode_name(b->o.mode), "interval_s",
			 (int)b->o.interval, "apply", b->o.apply, "hosts", hosts);
}
