// SPDX-License-Identifier: GPL-2.0
/*
 * pressure.c - the emergency path of memory balancing, in the guest.
 *
 * The kernel's PSI triggers (Documentation/accounting/psi.rst) wake a
 * poll(2) on /proc/pressure/memory when tasks stalled on memory for more
 * than a threshold within a window: "some 100000 1000000" fires when at
 * least 100 ms of stall happened within one second. That is the moment a
 * guest is short of memory, well before its next statistics report; so
 * this thread waits on such a trigger and, when it fires, sends
 * POST /v1/vms/{uuid}/pressure at once, for controld to grow the VM
 * within a second (docs/balancing.md). Swapping in is the other sign:
 * every second the thread reads pswpin, and swap-in of at least
 * --pressure-swapin pages/s is reported the same way.
 *
 * The body is the statistics report (report_body()) plus "trigger", what
 * fired. Reports are at most one per PRESSURE_MIN_GAP_MS: controld needs
 * one to act, and a guest thrashing must not flood it. A report is not
 * retried: if the condition lasts, the trigger fires again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "guestd.h"
#include "log.h"

bool pressure_swapin(int64_t before, int64_t now, unsigned int ms,
		     unsigned int pages_per_s)
{
	if (before < 0 || now < before || !ms || !pages_per_s)
		return false;
	return (uint64_t)(now - before) * 1000 >=
	       (uint64_t)pages_per_s * ms;
}

static int64_t read_pswpin(const char *proc)
{
	struct guest_stats s;
	struct mb_err err;

	if (collect_stats(proc, &s, &err) && s.pswpin < 0)
		return -1;
	return s.pswpin;
}

int pressure_init(struct pressure_watch *w, const struct upload_target *t,
		  const char *proc, const char *trigger,
		  unsigned int swapin_pages, struct mb_err *err)
{
	char path[512];

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (pressure_trigger_check(trigger, err))
		return -1;
	w->target = *t;
	/* A report must not outlast the reaction it asks for. */
	if (w->target.timeout > 2)
		w->target.timeout = 2;
	w->target.cancel = &w->stop;
	w->proc = proc;
	w->swapin_pages = swapin_pages;
	snprintf(w->trigger, sizeof(w->trigger), "%s", trigger);
	atomic_init(&w->stop, false);
	w->last_pswpin = read_pswpin(proc);
	snprintf(path, sizeof(path), "%s/pressure/memory", proc);
	w->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (w->fd >= 0 && write(w->fd, trigger, strlen(trigger) + 1) < 0) {
		log_warn("%s: the trigger '%s' is refused (%s); watching "
			 "pswpin only", path, trigger, strerror(errno));
		close(w->fd);
		w->fd = -1;
	} else if (w->fd < 0) {
		log_warn("%s: %s; watching pswpin only", path,
			 strerror(errno));
	}
	return 0;
}

static int64_t mono_ms(void);

/*
 * Send one pressure report saying @why, for a trigger that fired at
 * @fired_ms (CLOCK_MONOTONIC): the report says how long ago, so that the
 * controller can time its reaction from the trigger itself.
 */
static void report(struct pressure_watch *w, const char *why,
		   int64_t fired_ms)
{
	struct upload_result res;
	struct guest_stats s;
	struct mb_err err;
	json_t *o;
	char *body, *text;

	collect_stats(w->proc, &s, &err);	/* what could be read is sent */
	body = report_body(&s, w->target.name);
	o = body ? json_loads(body, 0, NULL) : NULL;
	free(body);
	if (!o)
		return;
	json_object_set_new(o, "trigger", json_string(why));
	json_object_set_new(o, "trigger_age_ms",
			    json_integer(mono_ms() - fired_ms));
	text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	if (!text)
		return;
	w->sent++;
	if (upload_json(&w->target, "pressure", text, &res) == GUESTD_OK)
		log_info("memory pressure (%s) reported to %s", why,
			 w->target.server);
	else if (!atomic_load(&w->stop))
		log_warn("memory pressure (%s): the report failed: %s", why,
			 res.message);
	free(text);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *pressure_main(void *arg)
{
	struct pressure_watch *w = arg;
	int64_t last_report = -PRESSURE_MIN_GAP_MS, last_check = mono_ms();
	char why[96];

	while (!atomic_load(&w->stop)) {
		struct pollfd p = { .fd = w->fd, .events = POLLPRI };
		int64_t now, pswpin, fired_ms = 0;
		bool fired = false;
		int rc;

		/* Wake every second for pswpin, and to see the stop flag. */
		rc = poll(&p, w->fd >= 0 ? 1 : 0, 1000);
		if (rc > 0 && (p.revents & POLLERR)) {
			log_warn("the PSI trigger stopped working; watching "
				 "pswpin only");
			close(w->fd);
			w->fd = -1;
		} else if (rc > 0 && (p.revents & POLLPRI)) {
			fired = true;
			fired_ms = mono_ms();
			w->fired++;
			snprintf(why, sizeof(why), "psi %s", w->trigger);
		}
		now = mono_ms();
		if (now - last_check >= 1000) {
			pswpin = read_pswpin(w->proc);
			if (!fired && pressure_swapin(w->last_pswpin, pswpin,
						      (unsigned int)(now -
						      last_check),
						      w->swapin_pages)) {
				fired = true;
				fired_ms = now;
				snprintf(why, sizeof(why), "swap-in %lld pages "
					 "in %lld ms", (long long)(pswpin -
					 w->last_pswpin),
					 (long long)(now - last_check));
			}
			w->last_pswpin = pswpin;
			last_check = now;
		}
		if (fired && now - last_report >= PRESSURE_MIN_GAP_MS) {
			last_report = now;
			report(w, why, fired_ms);
		}
	}
	return NULL;
}

int pressure_start(struct pressure_watch *w, struct mb_err *err)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&w->thread, NULL, pressure_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return mb_errf(err, "pressure watch: cannot start its thread: "
			       "%s", strerror(rc));
	w->running = true;
	return 0;
}

void pressure_stop(struct pressure_watch *w)
{
	if (w->running) {
		atomic_store(&w->stop, true);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
