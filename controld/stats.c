// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - rings of samples per VM and host, rates from counters, minute
 * records, and the served forms (stats.h).
 *
 * Each kind of sample is described once, by a table of its numeric fields
 * (name, offset): the JSON of a sample, the minute averages and the
 * Prometheus gauges are all walks over these tables, so a new statistic
 * is one struct member and one row.
 *
 * Entities live in two arrays kept sorted by key (VM uuid, host name) and
 * found by binary search. An entity silent for a whole window is dropped,
 * so memory is bounded by what reported in the last window: per VM two
 * rings of window/interval samples (about 150 KiB for an hour at 5 s).
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_alloc.h"
#include "log.h"
#include "ring.h"
#include "stats.h"

struct field {
	const char *name;
	size_t off;
	const char *metric;		/* Prometheus gauge, NULL = none */
	const char *help;
	double scale;			/* metric = value * scale */
};

#define F(type, m) #m, offsetof(struct type, m)
static const struct field vm_fields[] = {
	{ F(vm_sample, cpu_pct), "vm_cpu_percent",
	  "CPU time per wall time, percent of one core", 1 },
	{ F(vm_sample, vcpus), "vm_vcpus", "vCPUs", 1 },
	{ F(vm_sample, balloon_mb), "vm_balloon_bytes",
	  "Memory the balloon leaves the VM", 1048576 },
	{ F(vm_sample, balloon_max_mb), "vm_memory_max_bytes",
	  "The VM's maximum memory", 1048576 },
	{ F(vm_sample, rss_mb), "vm_rss_bytes",
	  "Resident memory of the VM's process on its host", 1048576 },
	{ F(vm_sample, usable_mb), "vm_usable_bytes",
	  "Memory the guest could use without swapping (balloon stats)",
	  1048576 },
	{ F(vm_sample, available_mb), NULL, NULL, 0 },
	{ F(vm_sample, unused_mb), NULL, NULL, 0 },
	{ F(vm_sample, swap_in), "vm_swap_in_pages_per_second",
	  "Pages swapped in (balloon stats)", 1 },
	{ F(vm_sample, swap_out), "vm_swap_out_pages_per_second",
	  "Pages swapped out (balloon stats)", 1 },
	{ F(vm_sample, major_faults), "vm_major_faults_per_second",
	  "Major page faults (balloon stats)", 1 },
	{ F(vm_sample, minor_faults), NULL, NULL, 0 },
	{ F(vm_sample, rx_bps), "vm_rx_bytes_per_second",
	  "Bytes received on the VM's interfaces", 1 },
	{ F(vm_sample, tx_bps), "vm_tx_bytes_per_second",
	  "Bytes sent on the VM's interfaces", 1 },
};

static const struct field guest_fields[] = {
	{ F(guest_sample, mem_total_mb), "guest_mem_total_bytes",
	  "MemTotal inside the guest", 1048576 },
	{ F(guest_sample, mem_available_mb), "guest_mem_available_bytes",
	  "MemAvailable inside the guest", 1048576 },
	{ F(guest_sample, committed_as_mb), "guest_committed_as_bytes",
	  "Committed_AS inside the guest", 1048576 },
	{ F(guest_sample, swap_total_mb), NULL, NULL, 0 },
	{ F(guest_sample, swap_free_mb), NULL, NULL, 0 },
	{ F(guest_sample, swap_in), "guest_swap_in_pages_per_second",
	  "pswpin per second inside the guest", 1 },
	{ F(guest_sample, swap_out), "guest_swap_out_pages_per_second",
	  "pswpout per second inside the guest", 1 },
	{ F(guest_sample, major_faults), "guest_major_faults_per_second",
	  "pgmajfault per second inside the guest", 1 },
	{ "psi_some_avg10", offsetof(struct guest_sample, psi_some[0]),
	  "guest_psi_memory_some_avg10",
	  "Memory PSI 'some' avg10 inside the guest, percent", 1 },
	{ "psi_some_avg60", offsetof(struct guest_sample, psi_some[1]),
	  NULL, NULL, 0 },
	{ "psi_some_avg300", offsetof(struct guest_sample, psi_some[2]),
	  NULL, NULL, 0 },
	{ "psi_full_avg10", offsetof(struct guest_sample, psi_full[0]),
	  "guest_psi_memory_full_avg10",
	  "Memory PSI 'full' avg10 inside the guest, percent", 1 },
	{ "psi_full_avg60", offsetof(struct guest_sample, psi_full[1]),
	  NULL, NULL, 0 },
	{ "psi_full_avg300", offsetof(struct guest_sample, psi_full[2]),
	  NULL, NULL, 0 },
	{ F(guest_sample, rx_bps), NULL, NULL, 0 },
	{ F(guest_sample, tx_bps), NULL, NULL, 0 },
};

static const struct field host_fields[] = {
	{ F(host_sample, cores), "host_cores", "CPU cores", 1 },
	{ F(host_sample, cpu_pct), "host_cpu_percent",
	  "CPU busy, percent of all cores", 1 },
	{ F(host_sample, mem_total_mb), "host_memory_bytes",
	  "The host's memory", 1048576 },
	{ F(host_sample, mem_used_mb), "host_memory_used_bytes",
	  "Memory in use (not free, buffers or cache)", 1048576 },
	{ F(host_sample, mem_available_mb), NULL, NULL, 0 },
	{ F(host_sample, vms), "host_vms", "Running domains", 1 },
	{ F(host_sample, vms_balloon_mb), "host_vms_balloon_bytes",
	  "The running domains' balloons, summed", 1048576 },
	{ F(host_sample, rx_bps), "host_rx_bytes_per_second",
	  "Bytes its VMs received", 1 },
	{ F(host_sample, tx_bps), "host_tx_bytes_per_second",
	  "Bytes its VMs sent", 1 },
};
#undef F

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define MAX_FIELDS 16

static double field_get(const void *sample, const struct field *f)
{
	return *(const double *)((const char *)sample + f->off);
}

/* The average of a minute's samples, field by field (NANs left out). */
struct minute {
	int64_t start;			/* seconds; 0 = empty */
	unsigned int n;
	double sum[MAX_FIELDS];
	unsigned int count[MAX_FIELDS];
};

struct vm_entry {
	char uuid[37];
	char name[64];
	struct vm_counters last;
	bool has_last;
	struct guest_report glast;
	bool has_glast;
	struct ring bb, gb;		/* vm_sample, guest_sample */
	struct minute mbb, mgb;
	double seen;
};

struct host_entry {
	char name[64];
	struct host_counters last;
	bool has_last;
	struct ring ring;		/* host_sample */
	struct minute m;
	double seen;
};

struct pending {
	char kind[8];
	char id[64];
	int64_t t;
	char *body;
};

struct stats {
	struct stats_options o;
	struct controldb *db;
	pthread_mutex_t lock;
	size_t cap;			/* samples per ring */
	struct vm_entry **vms;
	size_t nvms, vms_cap;
	struct host_entry **hosts;
	size_t nhosts, hosts_cap;
	struct pending *pending;
	size_t npending, pending_cap;
	double last_trim;
	pthread_t flusher;		/* with a db: stats_flush every 10 s */
	bool flushing;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stop;
};

#define FLUSH_EVERY_S 10

#define PENDING_MAX 100000		/* minute records waiting for the db */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write the minute records out every few seconds, and once at the end. */
static void *flusher(void *arg)
{
	struct stats *s = arg;
	struct timespec until;
	bool stop;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += FLUSH_EVERY_S;
		pthread_mutex_lock(&s->stop_lock);
		while (!s->stop && pthread_cond_timedwait(&s->stop_cond,
				&s->stop_lock, &until) == 0)
			;
		stop = s->stop;
		pthread_mutex_unlock(&s->stop_lock);
		stats_flush(s, now_s());
		if (stop)
			return NULL;
	}
}

struct stats *stats_new(const struct stats_options *o, struct controldb *db,
			struct mb_err *err)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (!s) {
		mb_errf(err, "statistics: out of memory");
		return NULL;
	}
	s->o = *o;
	if (!s->o.interval)
		s->o.interval = 5;
	if (!s->o.window)
		s->o.window = 3600;
	s->db = db;
	s->cap = s->o.window / s->o.interval + 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->stop_lock, NULL);
	pthread_cond_init(&s->stop_cond, NULL);
	if (db) {
		if (pthread_create(&s->flusher, NULL, flusher, s)) {
			stats_free(s);
			mb_errf(err, "statistics: cannot start a thread");
			return NULL;
		}
		s->flushing = true;
	}
	return s;
}

static void vm_entry_free(struct vm_entry *e)
{
	ring_free(&e->bb);
	ring_free(&e->gb);
	free(e);
}

static void host_entry_free(struct host_entry *e)
{
	ring_free(&e->ring);
	free(e);
}

void stats_free(struct stats *s)
{
	size_t i;

	if (!s)
		return;
	if (s->flushing) {
		pthread_mutex_lock(&s->stop_lock);
		s->stop = true;
		pthread_cond_signal(&s->stop_cond);
		pthread_mutex_unlock(&s->stop_lock);
		pthread_join(s->flusher, NULL);
	}
	for (i = 0; i < s->nvms; i++)
		vm_entry_free(s->vms[i]);
	for (i = 0; i < s->nhosts; i++)
		host_entry_free(s->hosts[i]);
	for (i = 0; i < s->npending; i++)
		free(s->pending[i].body);
	free(s->vms);
	free(s->hosts);
	free(s->pending);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->stop_lock);
	pthread_cond_destroy(&s->stop_cond);
	free(s);
}

double stats_rate(int64_t before, int64_t after, double dt)
{
	if (before < 0 || after < 0 || after < before || !(dt > 0))
		return NAN;
	return (double)(after - before) / dt;
}

static double mb_of(int64_t kb)
{
	return kb < 0 ? NAN : kb / 1024.0;
}

/* ---- entities: sorted arrays, binary search ---- */

/*
 * Index of @key in @arr, pointers to entries whose first member is their
 * key, or where it would go as -(pos + 1).
 */
static long search(void *const *arr, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp((const char *)arr[mid], key);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static int insert_at(void ***arr, size_t *n, size_t *cap, size_t pos,
		     void *item)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void **g = realloc(*arr, c * sizeof(*g));

		if (!g)
			return -1;
		*arr = g;
		*cap = c;
	}
	memmove(*arr + pos + 1, *arr + pos, (*n - pos) * sizeof(**arr));
	(*arr)[pos] = item;
	(*n)++;
	return 0;
}

/* A table of entities sorted by key: VMs or hosts. */
struct table {
	void ***arr;
	size_t *n, *cap;
	void *(*make)(struct stats *s, const char *key);
	void (*drop)(void *e);
};

/* The entity of @key in @t; created when @create. Lock held. */
static void *entity_get(struct stats *s, const struct table *t,
			const char *key, bool create)
{
	long i = search(*t->arr, *t->n, key);
	void *e;

	if (i >= 0)
		return (*t->arr)[i];
	if (!create || !(e = t->make(s, key)))
		return NULL;
	if (insert_at(t->arr, t->n, t->cap, (size_t)(-i - 1), e)) {
		t->drop(e);
		return NULL;
	}
	return e;
}

static void *vm_make(struct stats *s, const char *uuid)
{
	struct vm_entry *e = calloc(1, sizeof(*e));

	if (!e || ring_init(&e->bb, sizeof(struct vm_sample), s->cap) ||
	    ring_init(&e->gb, sizeof(struct guest_sample), s->cap)) {
		if (e)
			vm_entry_free(e);
		return NULL;
	}
	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
	return e;
}

static void *host_make(struct stats *s, const char *name)
{
	struct host_entry *e = calloc(1, sizeof(*e));

	if (!e || ring_init(&e->ring, sizeof(struct host_sample), s->cap)) {
		free(e);
		return NULL;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

static void vm_drop(void *e)
{
	vm_entry_free(e);
}

static void host_drop(void *e)
{
	host_entry_free(e);
}

static struct vm_entry *vm_get(struct stats *s, const char *uuid,
			       bool create)
{
	const struct table t = { (void ***)&s->vms, &s->nvms, &s->vms_cap,
				 vm_make, vm_drop };

	return entity_get(s, &t, uuid, create);
}

static struct host_entry *host_get(struct stats *s, const char *name,
				   bool create)
{
	const struct table t = { (void ***)&s->hosts, &s->nhosts,
				 &s->hosts_cap, host_make, host_drop };

	return entity_get(s, &t, name, create);
}

/* ---- JSON of samples and minutes ---- */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *sample_json(const void *sample, double t, const char *host,
			   const struct field *fields, size_t n)
{
	json_t *o = json_object();
	size_t i;

	json_object_set_new(o, "t", json_real(t));
	if (host)
		json_object_set_new(o, "host", json_string(host));
	for (i = 0; i < n; i++)
		json_object_set_new(o, fields[i].name,
				    num(field_get(sample, &fields[i])));
	return o;
}

static void queue_minute(struct stats *s, const char *kind, const char *id,
			 const struct minute *m, const struct field *fields,
			 size_t n)
{
	json_t *o = json_object();
	struct pending *p;
	size_t i;

	if (!s->db || !m->n || s->npending >= PENDING_MAX) {
		json_decref(o);
		return;
	}
	json_object_set_new(o, "t", json_integer(m->start));
	json_object_set_new(o, "samples", json_integer(m->n));
	for (i = 0; i < n; i++)
		json_object_set_new(o, fields[i].name, m->count[i] ?
				    json_real(m->sum[i] / m->count[i]) :
				    json_null());
	if (s->npending == s->pending_cap) {
		size_t c = s->pending_cap ? s->pending_cap * 2 : 64;
		struct pending *g = realloc(s->pending, c * sizeof(*g));

		if (!g) {
			json_decref(o);
			return;
		}
		s->pending = g;
		s->pending_cap = c;
	}
	p = &s->pending[s->npending];
	p->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!p->body)
		return;
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->t = m->start;
	s->npending++;
}

/* Add @sample to the minute it falls in, queueing the previous minute. */
static void minute_add(struct stats *s, struct minute *m, const char *kind,
		       const char *id, const void *sample, double t,
		       const struct field *fields, size_t n)
{
	int64_t start = (int64_t)(t / 60) * 60;
	size_t i;

	if (m->n && m->start != start) {
		queue_minute(s, kind, id, m, fields, n);
		memset(m, 0, sizeof(*m));
	}
	m->start = start;
	m->n++;
	for (i = 0; i < n && i < MAX_FIELDS; i++) {
		double v = field_get(sample, &fields[i]);

		if (isfinite(v)) {
			m->sum[i] += v;
			m->count[i]++;
		}
	}
}

/* ---- adding ---- */

void stats_add_vm(struct stats *s, const char *uuid, const char *name,
		  const struct vm_counters *c)
{
	struct vm_sample v;
	struct vm_entry *e;
	double dt = NAN;

	pthread_mutex_lock(&s->lock);
	e = vm_get(s, uuid, true);
	if (!e)
		goto out;
	if (name && name[0])
		snprintf(e->name, sizeof(e->name), "%s", name);
	/* A new epoch: no rates across a restart or a move. */
	if (e->has_last && e->last.domid == c->domid &&
	    !strcmp(e->last.host, c->host))
		dt = c->t - e->last.t;
	v = (struct vm_sample){
		.t = c->t,
		.cpu_pct = stats_rate(e->last.cpu_time_ns, c->cpu_time_ns, dt) /
			   1e7,
		.vcpus = c->vcpus < 0 ? NAN : (double)c->vcpus,
		.balloon_mb = mb_of(c->balloon_kb),
		.balloon_max_mb = mb_of(c->balloon_max_kb),
		.rss_mb = mb_of(c->rss_kb),
		.usable_mb = mb_of(c->usable_kb),
		.available_mb = mb_of(c->available_kb),
		.unused_mb = mb_of(c->unused_kb),
		.swap_in = stats_rate(e->last.swap_in_kb, c->swap_in_kb, dt) / 4,
		.swap_out = stats_rate(e->last.swap_out_kb, c->swap_out_kb,
				       dt) / 4,
		.major_faults = stats_rate(e->last.major_faults,
					   c->major_faults, dt),
		.minor_faults = stats_rate(e->last.minor_faults,
					   c->minor_faults, dt),
		.rx_bps = stats_rate(e->last.rx_bytes, c->rx_bytes, dt),
		.tx_bps = stats_rate(e->last.tx_bytes, c->tx_bytes, dt),
	};
	snprintf(v.host, sizeof(v.host), "%s", c->host);
	e->last = *c;
	e->has_last = true;
	e->seen = c->t;
	ring_push(&e->bb, &v);
	minute_add(s, &e->mbb, "vm", e->uuid, &v, v.t, vm_fields,
		   NFIELDS(vm_fields));
out:
	pthread_mutex_unlock(&s->lock);
}

static double add(double sum, double v)
{
	return isfinite(v) ? (isfinite(sum) ? sum + v : v) : sum;
}

void stats_add_host(struct stats *s, const char *name,
		    const struct host_counters *c)
{
	struct host_sample h = { .t = c->t };
	struct host_entry *e;
	double dt = NAN, busy, total;
	size_t i;

	pthread_mutex_lock(&s->lock);
	e = host_get(s, name, true);
	if (!e)
		goto out;
	if (e->has_last)
		dt = c->t - e->last.t;
	busy = stats_rate(e->last.cpu_busy_ns, c->cpu_busy_ns, dt);
	total = stats_rate(e->last.cpu_total_ns, c->cpu_total_ns, dt);
	h.cores = c->cores < 0 ? NAN : (double)c->cores;
	h.cpu_pct = total > 0 ? 100.0 * busy / total : NAN;
	h.mem_total_mb = mb_of(c->mem_total_kb);
	h.mem_available_mb = NAN;
	h.mem_used_mb = NAN;
	if (c->mem_free_kb >= 0 && c->mem_total_kb >= 0) {
		int64_t avail = c->mem_free_kb +
				(c->mem_buffers_kb > 0 ? c->mem_buffers_kb : 0) +
				(c->mem_cached_kb > 0 ? c->mem_cached_kb : 0);

		h.mem_available_mb = mb_of(avail);
		h.mem_used_mb = mb_of(c->mem_total_kb - avail);
	}
	/* Its VMs of this round: the newest samples taken on it. */
	h.vms = 0;
	h.vms_balloon_mb = h.rx_bps = h.tx_bps = NAN;
	for (i = 0; i < s->nvms; i++) {
		const struct vm_sample *v = ring_newest(&s->vms[i]->bb);

		if (!v || strcmp(v->host, name) ||
		    v->t < c->t - 1.5 * s->o.interval)
			continue;
		h.vms++;
		h.vms_balloon_mb = add(h.vms_balloon_mb, v->balloon_mb);
		h.rx_bps = add(h.rx_bps, v->rx_bps);
		h.tx_bps = add(h.tx_bps, v->tx_bps);
	}
	e->last = *c;
	e->has_last = true;
	e->seen = c->t;
	ring_push(&e->ring, &h);
	minute_add(s, &e->m, "host", e->name, &h, h.t, host_fields,
		   NFIELDS(host_fields));
out:
	pthread_mutex_unlock(&s->lock);
}

int stats_add_guest(struct stats *s, const char *uuid,
		    const struct guest_report *r, struct mb_err *err)
{
	struct guest_sample g;
	struct vm_entry *e;
	double dt = NAN;
	int i;

	pthread_mutex_lock(&s->lock);
	e = vm_get(s, uuid, true);
	if (!e) {
		pthread_mutex_unlock(&s->lock);
		return mb_errf(err, "statistics: out of memory");
	}
	if (!e->name[0] && r->name[0])
		snprintf(e->name, sizeof(e->name), "%s", r->name);
	/* A reboot (another boot id) starts the counters again. */
	if (e->has_glast && !strcmp(e->glast.boot_id, r->boot_id))
		dt = r->t - e->glast.t;
	g = (struct guest_sample){
		.t = r->t,
		.mem_total_mb = mb_of(r->mem_total_kb),
		.mem_available_mb = mb_of(r->mem_available_kb),
		.committed_as_mb = mb_of(r->committed_as_kb),
		.swap_total_mb = mb_of(r->swap_total_kb),
		.swap_free_mb = mb_of(r->swap_free_kb),
		.swap_in = stats_rate(e->glast.pswpin, r->pswpin, dt),
		.swap_out = stats_rate(e->glast.pswpout, r->pswpout, dt),
		.major_faults = stats_rate(e->glast.pgmajfault, r->pgmajfault,
					   dt),
		.rx_bps = stats_rate(e->glast.net_rx_bytes, r->net_rx_bytes, dt),
		.tx_bps = stats_rate(e->glast.net_tx_bytes, r->net_tx_bytes, dt),
	};
	for (i = 0; i < 3; i++) {
		g.psi_some[i] = r->psi_some[i];
		g.psi_full[i] = r->psi_full[i];
	}
	e->glast = *r;
	e->has_glast = true;
	e->seen = r->t;
	ring_push(&e->gb, &g);
	minute_add(s, &e->mgb, "guest", e->uuid, &g, g.t, guest_fields,
		   NFIELDS(guest_fields));
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ---- the guest's report ---- */

static int get_count(json_t *o, const char *key, int64_t *out,
		     struct mb_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return mb_errf(err, "'%s' must be a non-negative integer", key);
	*out = json_integer_value(v);
	return 0;
}

static int get_number(json_t *o, const char *key, double lo, double hi,
		      double *out, struct mb_err *err)
{
	json_t *v = json_object_get(o, key);
	double d;

	*out = NAN;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return mb_errf(err, "'%s' must be a number", key);
	d = json_number_value(v);
	if (!(d >= lo && d <= hi))
		return mb_errf(err, "'%s' is %g, outside %g..%g", key, d, lo,
			       hi);
	*out = d;
	return 0;
}

static int get_text(json_t *o, const char *key, char *dst, size_t size,
		    struct mb_err *err)
{
	json_t *v = json_object_get(o, key);
	const char *t;
	size_t i;

	dst[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return mb_errf(err, "'%s' must be a string", key);
	t = json_string_value(v);
	if (strlen(t) >= size)
		return mb_errf(err, "'%s' is longer than %zu bytes", key,
			       size - 1);
	for (i = 0; t[i]; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return mb_errf(err, "'%s' holds a control character",
				       key);
	memcpy(dst, t, strlen(t) + 1);
	return 0;
}

static int get_psi(json_t *o, const char *line, double avg[3],
		   int64_t *total, struct mb_err *err)
{
	static const char *const keys[3] = { "avg10", "avg60", "avg300" };
	json_t *l = json_object_get(o, line);
	int i;

	for (i = 0; i < 3; i++)
		avg[i] = NAN;
	*total = -1;
	if (!l || json_is_null(l))
		return 0;
	if (!json_is_object(l))
		return mb_errf(err, "'psi_memory.%s' must be an object", line);
	for (i = 0; i < 3; i++)
		if (get_number(l, keys[i], 0, 100, &avg[i], err))
			return mb_err_prefix(err, "psi_memory.%s", line);
	if (get_count(l, "total_us", total, err))
		return mb_err_prefix(err, "psi_memory.%s", line);
	return 0;
}

int guest_report_parse(const char *text, size_t len, struct guest_report *r,
		       struct mb_err *err)
{
	static const struct {
		const char *key;
		size_t off;
	} counts[] = {
#define C(m) { #m, offsetof(struct guest_report, m) }
		C(mem_total_kb), C(mem_available_kb), C(committed_as_kb),
		C(swap_total_kb), C(swap_free_kb), C(pswpin), C(pswpout),
		C(pgmajfault), C(net_rx_bytes), C(net_tx_bytes),
#undef C
	};
	json_error_t je;
	json_t *o, *psi;
	size_t i;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	mb_json_alloc_failed();
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!o && (mb_json_alloc_failed() ||
		   json_error_code(&je) == json_error_out_of_memory))
		return mb_errf(err, "out of memory");
	if (!o)
		return mb_errf(err, "not JSON: %s (at byte %d)", je.text,
			       je.position);
	if (!json_is_object(o)) {
		mb_errf(err, "not a JSON object");
		goto out;
	}
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (get_count(o, counts[i].key,
			      (int64_t *)((char *)r + counts[i].off), err))
			goto out;
	if (get_text(o, "name", r->name, sizeof(r->name), err) ||
	    get_text(o, "boot_id", r->boot_id, sizeof(r->boot_id), err) ||
	    get_text(o, "trigger", r->trigger, sizeof(r->trigger), err) ||
	    get_number(o, "uptime_s", 0, 1e12, &r->uptime_s, err) ||
	    get_number(o, "trigger_age_ms", 0, 600000, &r->trigger_age_ms,
		       err))
		goto out;
	psi = json_object_get(o, "psi_memory");
	if (psi && !json_is_null(psi) && !json_is_object(psi)) {
		mb_errf(err, "'psi_memory' must be an object");
		goto out;
	}
	if (get_psi(psi, "some", r->psi_some, &r->psi_some_total_us, err) ||
	    get_psi(psi, "full", r->psi_full, &r->psi_full_total_us, err))
		goto out;
	if (r->mem_total_kb >= 0 && r->mem_available_kb > r->mem_total_kb) {
		mb_errf(err, "'mem_available_kb' %lld is more than "
			"'mem_total_kb' %lld", (long long)r->mem_available_kb,
			(long long)r->mem_total_kb);
		goto out;
	}
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* ---- reading ---- */

int stats_vm_latest(struct stats *s, const char *uuid, struct vm_sample *bb,
		    struct guest_sample *gb)
{
	struct vm_entry *e;
	int flags = 0;

	pthread_mutex_lock(&s->lock);
	e = vm_get(s, uuid, false);
	if (e && e->bb.n) {
		if (bb)
			*bb = *(struct vm_sample *)ring_newest(&e->bb);
		flags |= 1;
	}
	if (e && e->gb.n) {
		if (gb)
			*gb = *(struct guest_sample *)ring_newest(&e->gb);
		flags |= 2;
	}
	pthread_mutex_unlock(&s->lock);
	return flags;
}

/* Mean of in + out over the samples of the last @seconds; NAN if none. */
static double ring_swap(const struct ring *r, size_t in_off, size_t out_off,
			double since)
{
	double sum = 0;
	size_t i, n = 0;

	for (i = r->n; i-- > 0;) {
		const char *x = ring_at(r, i);
		double t = *(const double *)x;
		double a = *(const double *)(x + in_off);
		double b = *(const double *)(x + out_off);

		if (t < since)
			break;
		if (isfinite(a) && isfinite(b)) {
			sum += a + b;
			n++;
		}
	}
	return n ? sum / n : NAN;
}

double stats_vm_swap_rate(struct stats *s, const char *uuid, double seconds,
			  const char **source)
{
	struct vm_entry *e;
	double rate = NAN, since;

	pthread_mutex_lock(&s->lock);
	e = vm_get(s, uuid, false);
	if (e) {
		since = e->seen - seconds;
		rate = ring_swap(&e->gb, offsetof(struct guest_sample, swap_in),
				 offsetof(struct guest_sample, swap_out),
				 since);
		if (source)
			*source = "guest stats";
		if (!isfinite(rate)) {
			rate = ring_swap(&e->bb,
					 offsetof(struct vm_sample, swap_in),
					 offsetof(struct vm_sample, swap_out),
					 since);
			if (source)
				*source = "libvirt";
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rate;
}

static json_t *ring_json(const struct ring *r, double since,
			 const struct field *fields, size_t n, bool host,
			 double *oldest)
{
	json_t *arr = json_array();
	size_t i;

	*oldest = INFINITY;
	for (i = 0; i < r->n; i++) {
		const char *x = ring_at(r, i);
		double t = *(const double *)x;

		if (i == 0)
			*oldest = t;
		if (t <= since)
			continue;
		json_array_append_new(arr, sample_json(x, t, host ?
				      ((const struct vm_sample *)x)->host :
				      NULL, fields, n));
	}
	return arr;
}

static int minute_row(void *ctx, int64_t t, const char *body)
{
	json_t *o = json_loads(body, 0, NULL);

	(void)t;
	if (o)
		json_array_append_new(ctx, o);
	return 0;
}

/* Minute records of @kind/@id from @since to @until, from the db. */
static json_t *minutes_json(struct stats *s, const char *kind,
			    const char *id, double since, double until)
{
	json_t *arr = json_array();
	struct mb_err err;

	if (!s->db || !(since < until))
		return arr;
	if (controldb_stats_foreach(s->db, kind, id, (int64_t)ceil(since),
				    isfinite(until) ? (int64_t)until :
				    INT64_MAX, minute_row, arr, &err))
		log_err("%s", err.msg);
	return arr;
}

json_t *stats_vm_json(struct stats *s, const char *uuid, double since)
{
	struct vm_entry *e;
	double obb, ogb;
	json_t *o, *bb, *gb;
	char name[64], id[37];

	pthread_mutex_lock(&s->lock);
	e = vm_get(s, uuid, false);
	if (!e) {
		pthread_mutex_unlock(&s->lock);
		return json_null();
	}
	bb = ring_json(&e->bb, since, vm_fields, NFIELDS(vm_fields), true,
		       &obb);
	gb = ring_json(&e->gb, since, guest_fields, NFIELDS(guest_fields),
		       false, &ogb);
	snprintf(name, sizeof(name), "%s", e->name);
	snprintf(id, sizeof(id), "%s", e->uuid);
	pthread_mutex_unlock(&s->lock);
	/* The db is read without the lock: the rings may move on. */
	o = json_pack("{s:s,s:s,s:i,s:i,s:o,s:o}", "uuid", id, "name", name,
		      "interval_s", (int)s->o.interval,
		      "window_s", (int)s->o.window, "samples", bb,
		      "guest", gb);
	json_object_set_new(o, "minutes", minutes_json(s, "vm", id, since,
						       obb));
	json_object_set_new(o, "guest_minutes",
			    minutes_json(s, "guest", id, since, ogb));
	return o;
}

json_t *stats_host_json(struct stats *s, const char *host, double since)
{
	struct host_entry *e;
	double oldest;
	json_t *o, *arr;
	char name[64];

	pthread_mutex_lock(&s->lock);
	e = host_get(s, host, false);
	if (!e) {
		pthread_mutex_unlock(&s->lock);
		return json_null();
	}
	arr = ring_json(&e->ring, since, host_fields, NFIELDS(host_fields),
			false, &oldest);
	snprintf(name, sizeof(name), "%s", e->name);
	pthread_mutex_unlock(&s->lock);
	o = json_pack("{s:s,s:i,s:i,s:o}", "name", name, "interval_s",
		      (int)s->o.interval, "window_s", (int)s->o.window,
		      "samples", arr);
	json_object_set_new(o, "minutes", minutes_json(s, "host", name, since,
						       oldest));
	return o;
}

json_t *stats_overview_json(struct stats *s)
{
	json_t *hosts = json_array(), *vms = json_array();
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nhosts; i++) {
		const struct host_sample *h = ring_newest(&s->hosts[i]->ring);
		json_t *o;

		if (!h)
			continue;
		o = sample_json(h, h->t, NULL, host_fields,
				NFIELDS(host_fields));
		json_object_set_new(o, "name", json_string(s->hosts[i]->name));
		json_array_append_new(hosts, o);
	}
	for (i = 0; i < s->nvms; i++) {
		const struct vm_entry *e = s->vms[i];
		const struct vm_sample *v = ring_newest(&e->bb);
		const struct guest_sample *g = ring_newest(&e->gb);
		json_t *o = v ? sample_json(v, v->t, v->host, vm_fields,
					    NFIELDS(vm_fields)) :
				json_object();

		json_object_set_new(o, "uuid", json_string(e->uuid));
		json_object_set_new(o, "name", json_string(e->name));
		json_object_set_new(o, "guest", g ? sample_json(g, g->t, NULL,
				    guest_fields, NFIELDS(guest_fields)) :
				    json_null());
		json_array_append_new(vms, o);
	}
	pthread_mutex_unlock(&s->lock);
	return json_pack("{s:i,s:o,s:o}", "interval_s", (int)s->o.interval,
			 "hosts", hosts, "vms", vms);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*v, out);
	}
}

static void gauges(FILE *out, const struct field *f, const char *kind,
		   struct stats *s)
{
	size_t i;

	if (!f->metric)
		return;
	fprintf(out, "# HELP mb_controld_%s %s.\n# TYPE mb_controld_%s gauge\n",
		f->metric, f->help, f->metric);
	if (!strcmp(kind, "host")) {
		for (i = 0; i < s->nhosts; i++) {
			const void *h = ring_newest(&s->hosts[i]->ring);
			double v = h ? field_get(h, f) : NAN;

			if (!isfinite(v))
				continue;
			fprintf(out, "mb_controld_%s{host=\"", f->metric);
			label(out, s->hosts[i]->name);
			fprintf(out, "\"} %.17g\n", v * f->scale);
		}
		return;
	}
	for (i = 0; i < s->nvms; i++) {
		const struct vm_entry *e = s->vms[i];
		const struct vm_sample *bb = ring_newest(&e->bb);
		const void *x = !strcmp(kind, "vm") ? (const void *)bb :
				ring_newest(&e->gb);
		double v = x ? field_get(x, f) : NAN;

		if (!isfinite(v))
			continue;
		fprintf(out, "mb_controld_%s{vm=\"%s\",name=\"", f->metric,
			e->uuid);
		label(out, e->name);
		fprintf(out, "\",host=\"");
		label(out, bb ? bb->host : "");
		fprintf(out, "\"} %.17g\n", v * f->scale);
	}
}

void stats_metrics(struct stats *s, FILE *out)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < NFIELDS(vm_fields); i++)
		gauges(out, &vm_fields[i], "vm", s);
	for (i = 0; i < NFIELDS(guest_fields); i++)
		gauges(out, &guest_fields[i], "guest", s);
	for (i = 0; i < NFIELDS(host_fields); i++)
		gauges(out, &host_fields[i], "host", s);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the minute records ---- */

void stats_flush(struct stats *s, double now)
{
	struct controldb_stats_row *rows = NULL;
	struct pending *batch;
	struct mb_err err;
	size_t i, n;
	int64_t minute = (int64_t)(now / 60) * 60;

	pthread_mutex_lock(&s->lock);
	/* Minutes that are over but had no later sample to close them. */
	for (i = 0; i < s->nvms; i++) {
		struct vm_entry *e = s->vms[i];

		if (e->mbb.n && e->mbb.start < minute) {
			queue_minute(s, "vm", e->uuid, &e->mbb, vm_fields,
				     NFIELDS(vm_fields));
			memset(&e->mbb, 0, sizeof(e->mbb));
		}
		if (e->mgb.n && e->mgb.start < minute) {
			queue_minute(s, "guest", e->uuid, &e->mgb,
				     guest_fields, NFIELDS(guest_fields));
			memset(&e->mgb, 0, sizeof(e->mgb));
		}
		if (e->seen < now - s->o.window) {
			vm_entry_free(e);
			memmove(&s->vms[i], &s->vms[i + 1],
				(s->nvms - i - 1) * sizeof(*s->vms));
			s->nvms--;
			i--;
		}
	}
	for (i = 0; i < s->nhosts; i++) {
		struct host_entry *e = s->hosts[i];

		if (e->m.n && e->m.start < minute) {
			queue_minute(s, "host", e->name, &e->m, host_fields,
				     NFIELDS(host_fields));
			memset(&e->m, 0, sizeof(e->m));
		}
	}
	batch = s->pending;
	n = s->npending;
	s->pending = NULL;
	s->npending = s->pending_cap = 0;
	pthread_mutex_unlock(&s->lock);

	if (n && s->db && (rows = calloc(n, sizeof(*rows)))) {
		for (i = 0; i < n; i++)
			rows[i] = (struct controldb_stats_row){
				batch[i].kind, batch[i].id, batch[i].t,
				batch[i].body };
		if (controldb_stats_add(s->db, rows, n, &err))
			log_err("%s", err.msg);
	}
	for (i = 0; i < n; i++)
		free(batch[i].body);
	free(batch);
	free(rows);
	if (s->db && s->o.keep_days && now - s->last_trim >= 3600) {
		s->last_trim = now;
		if (controldb_stats_trim(s->db, (int64_t)now -
					 (int64_t)s->o.keep_days * 86400, &err))
			log_err("%s", err.msg);
	}
}
