// SPDX-License-Identifier: GPL-2.0
/*
 * scheduler.c - the action queue (scheduler.h).
 *
 * The queue is the control database itself: planned rows in id order.
 * What lives in memory is the list of entries, one per action that a
 * worker thread is carrying out, or that an earlier mb-controld left
 * "running" and that is not settled yet (an "adopted" entry, no worker).
 * The lock guards that list; the database has its own lock, always taken
 * after this one.
 *
 * Workers are detached threads. A worker's entry is freed by the worker
 * itself once its end state is written, so scheduler_stop() can only
 * free the scheduler when no worker is left; otherwise the rows stay
 * "running" and the next start settles them (scheduler_recover()).
 *
 * Settling an adopted row is the kind's resolve(): a migration is asked of
 * libvirt (still a job on the source? where does the VM run now?); an
 * idempotent kind (a resize: setting a balloon target twice is harmless)
 * has no resolve() and simply runs again.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "scheduler.h"

struct entry {
	struct action_job job;
	struct scheduler *s;
	int64_t started;		/* monotonic ms */
	bool worker;			/* false: adopted, not settled yet */
	bool resumed;			/* adopted, and run again */
	bool abort_sent;
};

struct scheduler {
	struct scheduler_options o;
	struct controldb *db;
	const struct action_ops *ops[ACTION_KINDS];
	void *env;
	int (*host_index)(void *env, const char *name);
	pthread_mutex_t lock;		/* entries, stopping */
	struct entry **entries;
	size_t n, cap;
	bool stopping;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct scheduler *scheduler_new(const struct scheduler_options *o,
				struct controldb *db,
				const struct action_ops *const ops[ACTION_KINDS],
				void *env,
				int (*host_index)(void *env, const char *name),
				struct mb_err *err)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	int k;

	if (!s) {
		mb_errf(err, "scheduler: out of memory");
		return NULL;
	}
	s->o = *o;
	s->db = db;
	s->env = env;
	s->host_index = host_index;
	for (k = 0; k < ACTION_KINDS; k++) {
		s->ops[k] = ops[k];
		if (!ops[k] || !ops[k]->run) {
			free(s);
			mb_errf(err, "scheduler: no way to carry out a %s",
				action_kind_noun(k));
			return NULL;
		}
		if (!s->o.max_running[k])
			s->o.max_running[k] = 1;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void scheduler_free(struct scheduler *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->entries[i]);
	free(s->entries);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- the state machine: every change goes through here ---- */

/*
 * Move @a to @to, filling the end fields from @res, and write it.
 * Refuses (and logs) a transition the state machine does not have.
 */
static int set_state(struct scheduler *s, struct action *a,
		     enum action_state to, const struct action_result *res)
{
	struct mb_err err;
	char what[200];

	action_describe(a, what, sizeof(what));
	if (!action_transition_ok(a->state, to)) {
		log_err("action %" PRId64 " (%s): refusing to go from %s to "
			"%s", a->id, what, action_state_name(a->state),
			action_state_name(to));
		return -1;
	}
	a->state = to;
	if (to == ACTION_RUNNING)
		a->started_ms = now_ms();
	else if (!action_unfinished(to))
		a->finished_ms = now_ms();
	if (res) {
		snprintf(a->error, sizeof(a->error), "%s", res->error);
		if (res->host[0])
			snprintf(a->host, sizeof(a->host), "%s", res->host);
		if (res->note[0])
			snprintf(a->note, sizeof(a->note), "%s", res->note);
	}
	if (controldb_action_update(s->db, a, &err)) {
		log_err("%s", err.msg);
		return -1;
	}
	if (to == ACTION_RUNNING)
		log_info("action %" PRId64 " (%s): running", a->id, what);
	else if (to == ACTION_DONE)
		log_info("action %" PRId64 " (%s): done%s%s", a->id, what,
			 a->host[0] ? ", the VM runs on " : "", a->host);
	else
		log_warn("action %" PRId64 " (%s) %s: %s; the VM runs on %s",
			 a->id, what, action_state_name(to),
			 a->error[0] ? a->error : "no reason given",
			 a->host[0] ? a->host : "no host");
	return 0;
}

/* Called with the lock held. */
static void drop_entry(struct scheduler *s, struct entry *e)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->entries[i] == e) {
			s->entries[i] = s->entries[--s->n];
			return;
		}
}

static struct entry *find_entry(struct scheduler *s, int64_t id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->entries[i]->job.a.id == id)
			return s->entries[i];
	return NULL;
}

static int add_entry(struct scheduler *s, struct entry *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct entry **g = realloc(s->entries, cap * sizeof(*g));

		if (!g)
			return -1;
		s->entries = g;
		s->cap = cap;
	}
	s->entries[s->n++] = e;
	return 0;
}

void action_job_started(struct action_job *job)
{
	struct entry *e = job->priv;

	pthread_mutex_lock(&e->s->lock);
	if (job->a.state == ACTION_PLANNED)
		set_state(e->s, &job->a, ACTION_RUNNING, NULL);
	pthread_mutex_unlock(&e->s->lock);
}

bool action_job_aborting(const struct action_job *job)
{
	return __atomic_load_n(&job->abort_requested, __ATOMIC_RELAXED);
}

/* How a run ended: done, or aborted when the scheduler asked, or failed. */
static enum action_state end_state(const struct entry *e,
				   const struct action_result *res)
{
	if (res->ok)
		return ACTION_DONE;
	return e->abort_sent ? ACTION_ABORTED : ACTION_FAILED;
}

static void *worker(void *arg)
{
	struct entry *e = arg;
	struct scheduler *s = e->s;
	struct action_result res;

	memset(&res, 0, sizeof(res));
	s->ops[e->job.a.kind]->run(s->env, &e->job, &res);
	if (!res.ok && !res.error[0])
		snprintf(res.error, sizeof(res.error), "the %s did not "
			 "complete", action_kind_noun(e->job.a.kind));
	if (e->resumed) {
		char note[ACTION_TEXT_LEN];

		snprintf(note, sizeof(note), "run again after a controld "
			 "restart%s%s", res.note[0] ? "; " : "", res.note);
		memcpy(res.note, note, sizeof(note));
	}
	/*
	 * Everything that touches @s happens before the entry is dropped:
	 * once the list is empty, scheduler_stop() may free @s.
	 */
	pthread_mutex_lock(&s->lock);
	set_state(s, &e->job.a, end_state(e, &res), &res);
	drop_entry(s, e);
	pthread_mutex_unlock(&s->lock);
	free(e);
	return NULL;
}

/* Start @e's worker. Called with the lock held; @e is in the list. */
static int spawn(struct entry *e)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	e->worker = true;
	e->started = mono_ms();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, worker, e);
	pthread_attr_destroy(&attr);
	if (rc) {
		e->worker = false;
		log_err("action %" PRId64 ": cannot start a thread for it",
			e->job.a.id);
		return -1;
	}
	return 0;
}

static struct entry *new_entry(struct scheduler *s, const struct action *a,
			       int src, int dst)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->s = s;
	e->job.a = *a;
	e->job.src = src;
	e->job.dst = dst;
	e->job.priv = e;
	return e;
}

/* ---- recovery ---- */

struct rows {
	struct action *a;
	size_t n, cap;
};

static int collect_row(void *ctx, const struct action *a)
{
	struct rows *r = ctx;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct action *g = realloc(r->a, cap * sizeof(*g));

		if (!g)
			return -1;
		r->a = g;
		r->cap = cap;
	}
	r->a[r->n++] = *a;
	return 0;
}

/* Host indices of @a, or -1 with the row failed when one is gone. */
static int resolve_hosts(struct scheduler *s, struct action *a, int *src,
			 int *dst)
{
	struct action_result res;

	*src = s->host_index(s->env, a->src);
	*dst = s->host_index(s->env, a->dst);
	if (*src >= 0 && *dst >= 0)
		return 0;
	memset(&res, 0, sizeof(res));
	snprintf(res.error, sizeof(res.error), "host %s is no longer "
		 "configured", *src < 0 ? a->src : a->dst);
	set_state(s, a, ACTION_FAILED, &res);
	return -1;
}

int scheduler_recover(struct scheduler *s, struct mb_err *err)
{
	struct rows rows = { 0 };
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (controldb_action_foreach(s->db, -1, ACTION_RUNNING, 0, collect_row,
				     &rows, err)) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < rows.n; i++) {
		struct action *a = &rows.a[i];
		struct entry *e;
		char what[200];
		int src, dst;

		if (find_entry(s, a->id))
			continue;
		action_describe(a, what, sizeof(what));
		log_info("action %" PRId64 " (%s) was running when mb-controld "
			 "stopped: %s", a->id, what, s->ops[a->kind]->resolve ?
			 "asking libvirt" : "running it again");
		if (resolve_hosts(s, a, &src, &dst))
			continue;
		e = new_entry(s, a, src, dst);
		if (!e || add_entry(s, e)) {
			free(e);
			ret = mb_errf(err, "scheduler: out of memory");
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&s->lock);
	free(rows.a);
	return ret;
}

/* Settle the adopted entries: resolve() them, or run idempotent kinds again. */
static void settle_adopted(struct scheduler *s)
{
	size_t i;

	for (i = 0;; i++) {
		struct action_result res;
		struct action_job job;
		struct entry *e;
		int rc;

		pthread_mutex_lock(&s->lock);
		while (i < s->n && s->entries[i]->worker)
			i++;
		if (i >= s->n || s->stopping) {
			pthread_mutex_unlock(&s->lock);
			return;
		}
		e = s->entries[i];
		if (!s->ops[e->job.a.kind]->resolve) {
			e->resumed = true;
			spawn(e);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		job = e->job;
		pthread_mutex_unlock(&s->lock);

		memset(&res, 0, sizeof(res));
		rc = s->ops[job.a.kind]->resolve(s->env, &job.a, job.src,
						 job.dst, &res);
		if (rc != 0)
			continue;	/* still under way, or cannot tell */
		pthread_mutex_lock(&s->lock);
		if (!res.note[0])
			snprintf(res.note, sizeof(res.note), "resolved after a "
				 "controld restart");
		set_state(s, &e->job.a, res.ok ? ACTION_DONE : ACTION_FAILED,
			  &res);
		drop_entry(s, e);
		pthread_mutex_unlock(&s->lock);
		free(e);
		i--;
	}
}

/* ---- timeouts ---- */

static void timeouts(struct scheduler *s)
{
	int64_t now = mono_ms();
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++) {
		struct entry *e = s->entries[i];
		const struct action_ops *ops = s->ops[e->job.a.kind];
		unsigned int limit = s->o.timeout[e->job.a.kind];
		struct action_job job;

		if (!e->worker || e->abort_sent || !limit ||
		    now - e->started < (int64_t)limit * 1000)
			continue;
		e->abort_sent = true;
		__atomic_store_n(&e->job.abort_requested, 1, __ATOMIC_RELAXED);
		log_warn("action %" PRId64 ": over its %u s timeout: aborting",
			 e->job.a.id, limit);
		if (!ops->abort)
			continue;
		/*
		 * The abort may wait on libvirt: not under the lock. The
		 * worker cannot free @e meanwhile only if we keep a copy.
		 */
		job = e->job;
		pthread_mutex_unlock(&s->lock);
		ops->abort(s->env, &job);
		pthread_mutex_lock(&s->lock);
		i = (size_t)-1;		/* the list may have changed */
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- starting queued actions ---- */

static size_t running_of(struct scheduler *s, enum action_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->entries[i]->worker && s->entries[i]->job.a.kind == k)
			n++;
	return n;
}

/* Whether @job must wait for one of the entries. Lock held. */
static bool blocked(struct scheduler *s, const struct action_job *job)
{
	const struct action_ops *ops = s->ops[job->a.kind];
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct action_job *o = &s->entries[i]->job;

		if (!strcmp(o->a.uuid, job->a.uuid))
			return true;	/* one action per VM at a time */
		if (ops->conflicts && ops->conflicts(job, o))
			return true;
	}
	return false;
}

void scheduler_start_queued(struct scheduler *s)
{
	struct rows rows = { 0 };
	struct mb_err err;
	size_t i;

	pthread_mutex_lock(&s->lock);
	if (s->stopping)
		goto out;
	if (controldb_action_foreach(s->db, -1, ACTION_PLANNED, 0, collect_row,
				     &rows, &err)) {
		log_err("%s", err.msg);
		goto out;
	}
	for (i = 0; i < rows.n; i++) {
		struct action *a = &rows.a[i];
		struct action_job job;
		struct entry *e;
		int src, dst;

		if (find_entry(s, a->id) ||
		    running_of(s, a->kind) >= s->o.max_running[a->kind])
			continue;
		if (resolve_hosts(s, a, &src, &dst))
			continue;
		memset(&job, 0, sizeof(job));
		job.a = *a;
		job.src = src;
		job.dst = dst;
		if (blocked(s, &job))
			continue;	/* wait for the other one to end */
		e = new_entry(s, a, src, dst);
		if (!e || add_entry(s, e)) {
			free(e);
			break;
		}
		if (spawn(e)) {
			drop_entry(s, e);
			free(e);
			break;
		}
	}
out:
	pthread_mutex_unlock(&s->lock);
	free(rows.a);
}

void scheduler_tick(struct scheduler *s)
{
	settle_adopted(s);
	timeouts(s);
	scheduler_start_queued(s);
}

/* ---- submitting, pinning ---- */

const char *scheduler_pinned(struct scheduler *s, const char *uuid,
			     enum action_kind kind, char *buf, size_t size)
{
	struct action last;
	struct mb_err err;
	int64_t wait;
	int rc;

	rc = controldb_action_last(s->db, uuid, -1, &last, &err);
	if (rc == 1 && action_unfinished(last.state)) {
		snprintf(buf, size, "a %s is %s", action_kind_noun(last.kind),
			 action_state_name(last.state));
		return buf;
	}
	if (rc == 1 && last.kind != kind)
		rc = controldb_action_last(s->db, uuid, kind, &last, &err);
	if (rc < 0) {
		snprintf(buf, size, "its actions cannot be read: %s", err.msg);
		return buf;
	}
	if (rc == 0 || (last.state != ACTION_FAILED &&
			last.state != ACTION_ABORTED))
		return NULL;
	wait = last.finished_ms / 1000 + s->o.retry_after - time(NULL);
	if (wait <= 0)
		return NULL;
	snprintf(buf, size, "its last %s %s; retried in %" PRId64 " s "
		 "(--retry-after)", action_kind_noun(kind),
		 action_state_name(last.state), wait);
	return buf;
}

bool scheduler_recently_ended(struct scheduler *s, const char *uuid,
			      unsigned int seconds)
{
	struct action last;
	struct mb_err err;

	return controldb_action_last(s->db, uuid, -1, &last, &err) == 1 &&
	       !action_unfinished(last.state) &&
	       last.finished_ms + (int64_t)seconds * 1000 > now_ms();
}

int scheduler_submit(struct scheduler *s, struct action *a,
		     struct mb_err *err)
{
	char why[ACTION_TEXT_LEN], what[200];
	int ret = 0;

	/* The lock makes the pin check and the insert one step. */
	pthread_mutex_lock(&s->lock);
	if (scheduler_pinned(s, a->uuid, a->kind, why, sizeof(why))) {
		mb_errf(err, "not queueing (%s): %s",
			action_describe(a, what, sizeof(what)), why);
		ret = 1;
		goto out;
	}
	a->state = ACTION_PLANNED;
	a->started_ms = a->finished_ms = 0;
	if (!a->created)
		a->created = time(NULL);
	if (controldb_action_add(s->db, a, err)) {
		ret = -1;
		goto out;
	}
	log_info("action %" PRId64 " queued: %s", a->id,
		 action_describe(a, what, sizeof(what)));
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

bool scheduler_busy(struct scheduler *s)
{
	struct mb_err err;
	int64_t n = 0;
	bool busy;

	pthread_mutex_lock(&s->lock);
	busy = s->n > 0;
	pthread_mutex_unlock(&s->lock);
	if (busy)
		return true;
	if (controldb_action_unfinished(s->db, &n, &err)) {
		log_err("%s", err.msg);
		return true;
	}
	return n > 0;
}

size_t scheduler_running(struct scheduler *s)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++)
		n += s->entries[i]->worker;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool scheduler_stop(struct scheduler *s)
{
	size_t workers;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	workers = scheduler_running(s);
	if (workers)
		log_warn("stopping with %zu action%s under way; the next "
			 "start settles %s", workers, workers == 1 ? "" : "s",
			 workers == 1 ? "it" : "them");
	return workers == 0;
}
