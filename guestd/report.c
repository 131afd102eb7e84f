// SPDX-License-Identifier: GPL-2.0
/*
 * report.c - the statistics reports between traces: every --stats-interval
 * seconds, POST /v1/vms/{uuid}/stats with the guest's memory statistics
 * as a small JSON object (docs/mb-guestd.8 gives the body).
 *
 * Reports run in a thread of their own: a trace cycle can spend minutes in
 * a scan and in an upload with its retries, and the controller wants a
 * report every few seconds meanwhile. The thread has its own curl handle
 * per request (upload.c) and blocks every signal, so SIGTERM reaches the
 * main thread, which then stops this one with reporter_stop(): the wait
 * between reports ends at once and a request in flight is cut short.
 *
 * A report is never retried: the next one is an interval away. Each has
 * at most one interval to finish, so reports never pile up. A 404 means
 * a controld older than the route: it is said once, as a warning, and the
 * reports then only try every REPORT_NO_ROUTE_EVERY-th interval. Any
 * other failure is a warning the first time, then debug messages until a
 * report gets through again, which is said too. The same rule keeps a
 * malformed /proc file from repeating its warning every interval.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "guestd.h"
#include "log.h"

/* The time limit of a report when there is no interval (--stats-once). */
#define REPORT_DEFAULT_TIMEOUT 5

/* ---- the body ---- */

static void add_count(json_t *o, const char *key, int64_t v)
{
	if (v >= 0)
		json_object_set_new(o, key, json_integer(v));
}

static json_t *psi_object(const struct psi_line *l)
{
	json_t *o = json_object();

	json_object_set_new(o, "avg10", json_real(l->avg10));
	json_object_set_new(o, "avg60", json_real(l->avg60));
	json_object_set_new(o, "avg300", json_real(l->avg300));
	json_object_set_new(o, "total_us", json_integer(l->total_us));
	return o;
}

char *report_body(const struct guest_stats *s, const char *name)
{
	json_t *o = json_object(), *psi;
	char *text;

	if (!o)
		return NULL;
	json_object_set_new(o, "name", json_string(name));
	if (s->boot_id[0])
		json_object_set_new(o, "boot_id", json_string(s->boot_id));
	if (s->uptime_s >= 0)
		json_object_set_new(o, "uptime_s", json_real(s->uptime_s));
	add_count(o, "mem_total_kb", s->mem_total_kb);
	add_count(o, "mem_available_kb", s->mem_available_kb);
	add_count(o, "committed_as_kb", s->committed_as_kb);
	add_count(o, "swap_total_kb", s->swap_total_kb);
	add_count(o, "swap_free_kb", s->swap_free_kb);
	add_count(o, "pswpin", s->pswpin);
	add_count(o, "pswpout", s->pswpout);
	add_count(o, "pgmajfault", s->pgmajfault);
	add_count(o, "net_rx_bytes", s->net_rx_bytes);
	add_count(o, "net_tx_bytes", s->net_tx_bytes);
	if (s->psi.some.reported || s->psi.full.reported) {
		psi = json_object();
		if (s->psi.some.reported)
			json_object_set_new(psi, "some",
					    psi_object(&s->psi.some));
		if (s->psi.full.reported)
			json_object_set_new(psi, "full",
					    psi_object(&s->psi.full));
		json_object_set_new(o, "psi_memory", psi);
	}
	/*
	 * 15 significant digits give back the text the kernel printed
	 * ("0.25", not "0.25000000000000000"), and the same double when read.
	 */
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
			  JSON_REAL_PRECISION(15));
	json_decref(o);
	return text;
}

/* ---- one report ---- */

int reporter_init(struct reporter *r, const struct upload_target *t,
		  const char *proc, unsigned int interval, struct mb_err *err)
{
	unsigned int limit = interval ? interval : REPORT_DEFAULT_TIMEOUT;
	pthread_condattr_t attr;

	memset(r, 0, sizeof(*r));
	r->target = *t;
	if (r->target.timeout > limit)
		r->target.timeout = limit;
	r->target.cancel = &r->stop;
	r->proc = proc;
	r->interval = interval;
	r->last = REPORT_SKIPPED;	/* no report yet */
	atomic_init(&r->stop, false);
	/* The wait between reports is measured on the monotonic clock. */
	if (pthread_condattr_init(&attr) ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&r->wake, &attr))
		return mb_errf(err, "stats reports: cannot set up their timer");
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

void reporter_release(struct reporter *r)
{
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
}

/* Collect and send; @body gets the JSON sent (the caller frees it). */
static int send_report(struct reporter *r, char **body,
		       struct upload_result *res)
{
	struct guest_stats s;
	struct mb_err err;

	if (collect_stats(r->proc, &s, &err)) {
		/* The fields that could be read are sent all the same. */
		log_msg(r->collect_failing ? LOG_DEBUG : LOG_WARNING,
			"stats report: %s", err.msg);
		r->collect_failing = true;
	} else {
		r->collect_failing = false;
	}
	*body = report_body(&s, r->target.name);
	if (!*body) {
		memset(res, 0, sizeof(*res));
		snprintf(res->message, sizeof(res->message), "out of memory");
		return GUESTD_FAILED;
	}
	r->sent++;
	return upload_report(&r->target, *body, res);
}

static enum report_outcome outcome_of(int ret, const struct upload_result *res)
{
	if (ret == GUESTD_OK)
		return REPORT_ACCEPTED;
	if (res->http_status == 404)
		return REPORT_NO_ROUTE;
	return REPORT_FAILED;
}

/* The log lines and the pace after a report (see the top of the file). */
static void note_outcome(struct reporter *r, enum report_outcome now,
			 const struct upload_result *res)
{
	bool failing = r->last == REPORT_NO_ROUTE || r->last == REPORT_FAILED;

	r->skip = 0;
	switch (now) {
	case REPORT_ACCEPTED:
		r->accepted++;
		if (failing)
			log_info("stats reports to %s are accepted again",
				 r->target.server);
		break;
	case REPORT_NO_ROUTE:
		r->skip = REPORT_NO_ROUTE_EVERY - 1;
		if (!r->no_route_warned)
			log_warn("stats report: %s has no stats route (%s; a "
				 "controld older than this mb-guestd?); trying "
				 "again every %u s", r->target.server,
				 res->message,
				 r->interval * REPORT_NO_ROUTE_EVERY);
		else
			log_debug("stats report: still no route (%s)",
				  res->message);
		r->no_route_warned = true;
		break;
	case REPORT_FAILED:
		if (!failing)
			log_warn("stats report failed: %s (further failures "
				 "are logged at debug level)", res->message);
		else
			log_debug("stats report failed: %s", res->message);
		break;
	case REPORT_SKIPPED:
		return;
	}
	r->last = now;
}

enum report_outcome reporter_tick(struct reporter *r)
{
	struct upload_result res;
	enum report_outcome now;
	char *body = NULL;
	int ret;

	if (r->skip) {
		r->skip--;
		return REPORT_SKIPPED;
	}
	ret = send_report(r, &body, &res);
	free(body);
	if (atomic_load(&r->stop))
		return REPORT_SKIPPED;	/* cut short: says nothing */
	now = outcome_of(ret, &res);
	note_outcome(r, now, &res);
	return now;
}

int report_once(struct reporter *r, FILE *out)
{
	struct upload_result res;
	char *body = NULL;
	int ret;

	ret = send_report(r, &body, &res);
	if (body)
		fprintf(out, "%s\n", body);
	free(body);
	if (ret == GUESTD_OK)
		log_msg(r->target.verbose ? LOG_INFO : LOG_DEBUG,
			"stats report accepted (HTTP %ld)", res.http_status);
	else
		log_err("stats report: %s", res.message);
	return ret;
}

/* ---- the thread ---- */

static void add_seconds(struct timespec *t, unsigned int s)
{
	t->tv_sec += s;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *reporter_main(void *arg)
{
	struct reporter *r = arg;
	struct timespec next, now;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->stop)) {
		pthread_mutex_unlock(&r->lock);
		reporter_tick(r);
		pthread_mutex_lock(&r->lock);
		/* Ticks keep their rhythm; one that overran starts the next now. */
		add_seconds(&next, r->interval);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (before(&next, &now))
			next = now;
		while (!atomic_load(&r->stop) &&
		       pthread_cond_timedwait(&r->wake, &r->lock, &next) !=
		       ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int reporter_start(struct reporter *r, struct mb_err *err)
{
	sigset_t all, old;
	int rc;

	if (!r->interval)
		return mb_errf(err, "stats reports: no interval");
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&r->thread, NULL, reporter_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return mb_errf(err, "stats reports: cannot start their "
			       "thread: %s", strerror(rc));
	r->running = true;
	return 0;
}

void reporter_stop(struct reporter *r)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->stop, true);
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->running = false;
}
