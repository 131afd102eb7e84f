// SPDX-License-Identifier: GPL-2.0
/*
 * hotspot_replay.c - a recording of mb-controld's statistics replayed
 * through Sandpiper's tracker (hotspot_replay.h).
 *
 * Every field is checked before the first round: a recording is input
 * from a file, and the message names what is wrong with it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hotspot_replay.h"

#define MAX_SAMPLES 4000000	/* more is not a recording of ours */

struct sample {
	double t;
	json_t *bb;		/* one black-box sample of VM @vm */
	size_t vm;
};

struct rhost {
	const char *name;
	double capacity[MB_RESOURCES];
};

struct rvm {
	const char *uuid, *name;
	json_t *guest;		/* its guest samples, time order */
	size_t guest_next;	/* the first not yet seen */
	double moved_at;	/* by a decision; 0 = never */
};

struct mb_hs_replay {
	struct mb_hs_replay_info info;
	struct rhost *hosts;
	struct rvm *vms;
	struct sample *ss;
};

static const char *const res_names[MB_RESOURCES] = { "cpu", "net", "mem" };

/* A number: finite, or null/missing = NaN; anything else is an error. */
static int number(json_t *o, const char *key, double *v, const char *what,
		  struct mb_err *err)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x)) {
		*v = NAN;
		return 0;
	}
	if (!json_is_number(x) || !isfinite(json_number_value(x)))
		return mb_errf(err, "%s: \"%s\" is not a number", what, key);
	*v = json_number_value(x);
	return 0;
}

static int integer(json_t *o, const char *key, long lo, long hi, long *v,
		   const char *what, struct mb_err *err)
{
	json_t *x = json_object_get(o, key);

	if (!json_is_integer(x) || json_integer_value(x) < lo ||
	    json_integer_value(x) > hi)
		return mb_errf(err, "%s: \"%s\" is not an integer %ld..%ld",
			       what, key, lo, hi);
	*v = (long)json_integer_value(x);
	return 0;
}

static int text(json_t *o, const char *key, const char **v, const char *what,
		struct mb_err *err)
{
	*v = json_string_value(json_object_get(o, key));
	if (!*v || !**v)
		return mb_errf(err, "%s: \"%s\" is not a name", what, key);
	return 0;
}

static int by_time(const void *a, const void *b)
{
	double x = ((const struct sample *)a)->t;
	double y = ((const struct sample *)b)->t;

	return x < y ? -1 : x > y;
}

static int read_params(struct mb_hs_replay *r, json_t *sp,
		       const struct mb_hs_replay_opts *o, struct mb_err *err)
{
	struct mb_hs_replay_info *in = &r->info;
	json_t *params = json_object_get(sp, "params"), *th;
	const char *mode = o && o->mode ? o->mode :
			   json_string_value(json_object_get(sp, "mode"));
	long k, n, window, order, holdoff;
	double v;
	int i;

	if (!json_is_object(params))
		return mb_errf(err, "sandpiper: no \"params\" object");
	if (integer(params, "k", 1, 100, &k, "sandpiper params", err) ||
	    integer(params, "n", 1, 100, &n, "sandpiper params", err) ||
	    integer(params, "window", 2, 256, &window, "sandpiper params",
		    err) ||
	    integer(params, "ar_order", 0, 8, &order, "sandpiper params",
		    err) ||
	    integer(params, "holdoff_s", 0, 86400, &holdoff,
		    "sandpiper params", err))
		return -1;
	mb_hotspot_defaults(&in->params);
	in->params.k = (unsigned int)(o && o->k > 0 ? o->k : k);
	in->params.n = (unsigned int)(o && o->n > 0 ? o->n : n);
	in->params.window = (unsigned int)window;
	in->params.ar_order = (unsigned int)order;
	if (in->params.k > in->params.n)
		return mb_errf(err, "k (%u) is more than n (%u)",
			       in->params.k, in->params.n);
	th = json_object_get(params, "threshold");
	for (i = 0; i < MB_RESOURCES; i++) {
		if (number(th, res_names[i], &v, "sandpiper params threshold",
			   err))
			return -1;
		if (o && o->threshold_pct > 0)
			v = o->threshold_pct / 100.0;
		if (!(v > 0 && v <= 1))
			return mb_errf(err, "sandpiper params: threshold %s is "
				       "not a fraction in (0, 1]",
				       res_names[i]);
		in->params.threshold[i] = v;
	}
	in->holdoff = (unsigned int)(o && o->holdoff >= 0 ? o->holdoff :
				     holdoff);
	if (!mode || (strcmp(mode, "black") && strcmp(mode, "black-box") &&
		      strcmp(mode, "gray") && strcmp(mode, "gray-box")))
		return mb_errf(err, "sandpiper: mode '%s' is not black or gray "
			       "(a recording of --sandpiper off has nothing "
			       "to replay)", mode ? mode : "(none)");
	in->mode = !strncmp(mode, "gray", 4) ? MB_HS_GRAY : MB_HS_BLACK;
	if (number(sp, "interval_s", &in->interval, "sandpiper", err))
		return -1;
	if (!(in->interval >= 1 && in->interval <= 86400))
		return mb_errf(err, "sandpiper: \"interval_s\" is not 1..86400");
	return 0;
}

static int read_hosts(struct mb_hs_replay *r, json_t *sp, struct mb_err *err)
{
	json_t *hosts = json_object_get(sp, "hosts"), *h, *c;
	size_t i;

	if (!json_is_array(hosts) || !json_array_size(hosts) ||
	    json_array_size(hosts) > 256)
		return mb_errf(err, "sandpiper: \"hosts\" is not a list of 1 "
			       "to 256 hosts");
	r->info.hosts = json_array_size(hosts);
	r->hosts = calloc(r->info.hosts, sizeof(*r->hosts));
	if (!r->hosts)
		return mb_errf(err, "out of memory");
	json_array_foreach(hosts, i, h) {
		struct rhost *rh = &r->hosts[i];
		char what[64];

		snprintf(what, sizeof(what), "sandpiper host %zu", i);
		if (text(h, "name", &rh->name, what, err))
			return -1;
		c = json_object_get(h, "capacity");
		if (number(c, "cpus", &rh->capacity[MB_RES_CPU], what, err) ||
		    number(c, "net_mbps", &rh->capacity[MB_RES_NET], what,
			   err) ||
		    number(c, "memory_mb", &rh->capacity[MB_RES_MEM], what,
			   err))
			return -1;
		if (!(rh->capacity[MB_RES_CPU] > 0) ||
		    !(rh->capacity[MB_RES_NET] > 0) ||
		    !(rh->capacity[MB_RES_MEM] >= 0))
			return mb_errf(err, "host %s: its \"capacity\" needs "
				       "cpus and net_mbps above 0 and "
				       "memory_mb", rh->name);
	}
	return 0;
}

/* A VM's samples: objects with a finite "t", in time order. */
static int samples_of(json_t *vm, const char *key, const char *name,
		      json_t **out, struct mb_err *err)
{
	json_t *a = json_object_get(vm, key), *s;
	double t, last = -INFINITY;
	size_t i;
	char what[160];

	*out = a;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return mb_errf(err, "VM %s: \"%s\" is not a list", name, key);
	json_array_foreach(a, i, s) {
		snprintf(what, sizeof(what), "VM %s: %s[%zu]", name, key, i);
		if (!json_is_object(s))
			return mb_errf(err, "%s is not an object", what);
		if (number(s, "t", &t, what, err))
			return -1;
		if (!isfinite(t) || t < last)
			return mb_errf(err, "%s: \"t\" is missing or earlier "
				       "than the sample before", what);
		last = t;
	}
	return 0;
}

static bool known_host(const struct mb_hs_replay *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->info.hosts; i++)
		if (!strcmp(r->hosts[i].name, name))
			return true;
	return false;
}

static int read_vms(struct mb_hs_replay *r, json_t *rec, struct mb_err *err)
{
	json_t *vms = json_object_get(rec, "vms"), *vm, *bb, *s;
	size_t i, j, cap = 0, n = 0;

	if (!json_is_array(vms))
		return mb_errf(err, "no \"vms\" list");
	r->info.vms = json_array_size(vms);
	r->vms = calloc(r->info.vms + 1, sizeof(*r->vms));
	if (!r->vms)
		return mb_errf(err, "out of memory");
	json_array_foreach(vms, i, vm) {
		struct rvm *v = &r->vms[i];
		char what[64];

		snprintf(what, sizeof(what), "vms[%zu]", i);
		if (!json_is_object(vm))
			return mb_errf(err, "%s is not an object", what);
		if (text(vm, "uuid", &v->uuid, what, err))
			return -1;
		v->name = json_string_value(json_object_get(vm, "name"));
		if (!v->name || !*v->name)
			v->name = v->uuid;
		if (samples_of(vm, "samples", v->name, &bb, err) ||
		    samples_of(vm, "guest", v->name, &v->guest, err))
			return -1;
		for (j = 0; j < i; j++)
			if (!strcmp(r->vms[j].uuid, v->uuid))
				return mb_errf(err, "VM %s is recorded twice",
					       v->uuid);
		json_array_foreach(bb, j, s) {
			const char *host;

			if (text(s, "host", &host, v->name, err))
				return -1;
			if (!known_host(r, host))
				return mb_errf(err, "VM %s: samples[%zu]: host "
					       "'%s' is not among the "
					       "recording's hosts", v->name, j,
					       host);
			if (n == MAX_SAMPLES)
				return mb_errf(err, "more than %d samples",
					       MAX_SAMPLES);
			if (n == cap) {
				size_t c = cap ? 2 * cap : 256;
				struct sample *g = realloc(r->ss,
							   c * sizeof(*g));

				if (!g)
					return mb_errf(err, "out of memory");
				r->ss = g;
				cap = c;
			}
			r->ss[n].t = json_number_value(json_object_get(s, "t"));
			r->ss[n].bb = s;
			r->ss[n++].vm = i;
		}
	}
	r->info.samples = n;
	if (n)
		qsort(r->ss, n, sizeof(*r->ss), by_time);
	return 0;
}

struct mb_hs_replay *mb_hs_replay_open(json_t *rec,
				       const struct mb_hs_replay_opts *o,
				       struct mb_err *err)
{
	struct mb_hs_replay *r = calloc(1, sizeof(*r));
	json_t *sp = json_object_get(rec, "sandpiper");

	if (!r) {
		mb_errf(err, "out of memory");
		return NULL;
	}
	if (!json_is_object(sp)) {
		mb_errf(err, "not a recording: no \"sandpiper\" object "
			"(mbuddy hotspots --record makes one)");
		goto fail;
	}
	if (read_params(r, sp, o, err) || read_hosts(r, sp, err) ||
	    read_vms(r, rec, err))
		goto fail;
	return r;
fail:
	mb_hs_replay_close(r);
	return NULL;
}

const struct mb_hs_replay_info *mb_hs_replay_info(const struct mb_hs_replay *r)
{
	return &r->info;
}

void mb_hs_replay_close(struct mb_hs_replay *r)
{
	if (!r)
		return;
	free(r->hosts);
	free(r->vms);
	free(r->ss);
	free(r);
}

/* The VM's newest guest sample at @t, at most 15 s old (as live), or NULL. */
static json_t *guest_at(struct rvm *v, double t)
{
	json_t *g, *best = NULL;
	size_t n = json_array_size(v->guest);

	while (v->guest_next < n) {
		g = json_array_get(v->guest, v->guest_next);
		if (json_number_value(json_object_get(g, "t")) > t + 0.5)
			break;
		v->guest_next++;
	}
	if (v->guest_next) {
		g = json_array_get(v->guest, v->guest_next - 1);
		if (json_number_value(json_object_get(g, "t")) >= t - 15)
			best = g;
	}
	return best;
}

static double num(json_t *o, const char *key)
{
	json_t *x = json_object_get(o, key);

	return json_is_number(x) ? json_number_value(x) : NAN;
}

struct hold {
	struct mb_hs_replay *r;
	double now;
};

static struct rvm *vm_by_id(struct mb_hs_replay *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->info.vms; i++)
		if (!strcmp(r->vms[i].uuid, id))
			return &r->vms[i];
	return NULL;
}

static bool held_off(void *ctx, const char *id)
{
	struct hold *h = ctx;
	struct rvm *v = vm_by_id(h->r, id);

	return v && v->moved_at > 0 && h->now - v->moved_at < h->r->info.holdoff;
}

static int observe(struct mb_hs_replay *r, struct mb_hs_tracker *t,
		   const struct sample *s, struct mb_err *err)
{
	struct rvm *v = &r->vms[s->vm];
	struct mb_hs_reading rd;
	json_t *b = s->bb, *g = guest_at(v, s->t);
	double memory;

	mb_hs_reading_black(&rd, num(b, "cpu_pct"), num(b, "rx_bps"),
			    num(b, "tx_bps"), num(b, "rss_mb"),
			    num(b, "balloon_mb"));
	if (g)
		mb_hs_reading_gray(&rd, r->info.mode,
				   num(g, "mem_total_mb") -
				   num(g, "mem_available_mb"),
				   num(g, "swap_in"), num(g, "rx_bps"),
				   num(g, "tx_bps"));
	memory = isfinite(rd.balloon_mb) ? rd.balloon_mb :
		 num(b, "balloon_max_mb");
	if (mb_hs_observe_vm(t, v->uuid, v->name,
			     json_string_value(json_object_get(b, "host")),
			     &rd, isfinite(memory) ? memory : 0))
		return mb_errf(err, "out of memory");
	return 0;
}

long mb_hs_replay_run(struct mb_hs_replay *r, mb_hs_decision_fn fn, void *ctx,
		      struct mb_err *err)
{
	struct mb_hs_tracker *t = mb_hs_tracker_new(&r->info.params,
						    r->info.mode);
	struct mb_hs_result *res = calloc(1, sizeof(*res));
	struct hold hold = { r, 0 };
	size_t i = 0, j, rounds = 0;
	long ret = -1;

	for (j = 0; j < r->info.vms; j++) {
		r->vms[j].moved_at = 0;
		r->vms[j].guest_next = 0;
	}
	if (!t || !res) {
		mb_errf(err, "out of memory");
		goto out;
	}
	while (i < r->info.samples) {
		double rt = r->ss[i].t;
		struct mb_hs_decision d;

		hold.now = rt;
		mb_hs_round_begin(t);
		for (j = 0; j < r->info.hosts; j++)
			if (mb_hs_observe_host(t, r->hosts[j].name,
					       r->hosts[j].capacity, true)) {
				mb_errf(err, "out of memory");
				goto out;
			}
		for (; i < r->info.samples &&
		       r->ss[i].t < rt + r->info.interval / 2; i++)
			if (observe(r, t, &r->ss[i], err))
				goto out;
		rounds++;
		if (!mb_hs_round_end(t) ||
		    !mb_hs_tracker_mitigate(t, rt, r->info.holdoff, held_off,
					    NULL, &hold, res) ||
		    (!res->nmoves && !res->unresolved))
			continue;
		for (j = 0; j < res->nmoves; j++) {
			struct rvm *v = vm_by_id(r, mb_hs_vm_id(t,
							res->moves[j].vm));

			if (v)
				v->moved_at = rt;
		}
		d.t = rt;
		d.since_start = rt - r->ss[0].t;
		d.round = rounds;
		d.res = res;
		d.tracker = t;
		if (fn)
			fn(ctx, &d);
	}
	ret = (long)rounds;
out:
	free(res);
	mb_hs_tracker_free(t);
	return ret;
}
