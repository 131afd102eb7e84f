// SPDX-License-Identifier: GPL-2.0
/*
 * resize.c - the "resize" kind of action: set a running VM's memory
 * through its balloon, and wait until the balloon gets there.
 *
 * On a libvirt host (the default) the target goes to
 * virDomainSetMemoryFlags(VIR_DOMAIN_AFFECT_LIVE): the running domain
 * only, its configuration is left alone, so a restart brings back its
 * configured memory. On a host given with balloon=xenctrl, controld runs
 * in that host's dom0 and sets the target through libxenctrl and xenstore
 * (xen.c), the domain found by its libvirt id (libxl driver).
 *
 * Either way the guest's balloon driver then inflates or deflates at its
 * own pace, so the action polls the balloon's actual size (libvirt's
 * memory statistics, "actual") every --resize-poll (500 ms) until it is
 * within resize_tolerance_mb() of the target: done. A balloon that does
 * not get there before --resize-timeout ends aborted, with where it
 * stood; a domain that disappears meanwhile ends failed.
 *
 * A resize is idempotent (setting the same target twice is harmless), so
 * after a controld restart a row left running is simply run again
 * (resize_ops has no resolve()).
 *
 * Bounds: never above the domain's maximum memory (virDomainGetMaxMemory),
 * never below --resize-floor-mb; checked when the action is queued
 * (resize_check()) and again when it runs, since the domain may have
 * changed in between.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "action_kinds.h"
#include "log.h"
#include "xen.h"

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

double resize_tolerance_mb(double target_mb)
{
	return fmax(4.0, target_mb * 0.01);
}

int resize_check(const struct action_env *env, const char *vm,
		 double target_mb, double max_mb, struct mb_err *err)
{
	if (!(target_mb > 0) || !isfinite(target_mb))
		return mb_errf(err, "resize %s: target %.0f MiB is not a "
			       "positive size", vm, target_mb);
	if (target_mb < env->resize_floor_mb)
		return mb_errf(err, "resize %s: target %.0f MiB is below the "
			       "floor of %.0f MiB (--resize-floor-mb)", vm,
			       target_mb, env->resize_floor_mb);
	if (max_mb > 0 && target_mb > max_mb + 1e-6)
		return mb_errf(err, "resize %s: target %.0f MiB is above the "
			       "VM's maximum memory of %.0f MiB", vm,
			       target_mb, max_mb);
	return 0;
}

/* The balloon's actual size in MiB, or -1. */
static double balloon_mb(virDomainPtr dom)
{
	virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
	virDomainInfo info;
	int i, n;

	n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
	for (i = 0; i < n; i++)
		if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON)
			return st[i].val / 1024.0;
	if (virDomainGetInfo(dom, &info) == 0)
		return info.memory / 1024.0;
	return -1;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Set the target: libvirt's balloon, or libxenctrl in this host's dom0. */
static int set_target(const struct inv_host_spec *h, virDomainPtr dom,
		      double target_mb, char *error, size_t size)
{
	unsigned long kib = (unsigned long)llround(target_mb * 1024);
	struct mb_err err;
	int id;

	if (!h->xen_balloon) {
		if (virDomainSetMemoryFlags(dom, kib, VIR_DOMAIN_AFFECT_LIVE) == 0)
			return 0;
		snprintf(error, size, "%s", last_error());
		return -1;
	}
	id = (int)virDomainGetID(dom);
	if (id < 0 || xen_set_memory_target((uint32_t)id, kib, 0, &err)) {
		snprintf(error, size, "%s", id < 0 ? last_error() : err.msg);
		return -1;
	}
	return 0;
}

static void resize_action(void *envp, struct action_job *job,
			  struct action_result *res)
{
	struct action_env *env = envp;
	const struct inv_host_spec *h;
	double target = job->a.target_mb, actual = -1, tol;
	struct timespec t0;
	virConnectPtr c = NULL;
	virDomainPtr dom = NULL;
	unsigned long max_kib;
	struct mb_err err;
	int where;

	where = inventory_locate(env->inv, job->a.uuid, res->note,
				 sizeof(res->note));
	if (where < 0) {
		snprintf(res->error, sizeof(res->error), "no host runs the VM "
			 "(%s)", res->note);
		return;
	}
	h = inventory_spec(env->inv, where);
	snprintf(res->host, sizeof(res->host), "%s", h->name);
	c = inventory_conn(env->inv, where);
	if (!c || !(dom = virDomainLookupByUUIDString(c, job->a.uuid))) {
		snprintf(res->error, sizeof(res->error), "%s", last_error());
		goto out;
	}
	max_kib = virDomainGetMaxMemory(dom);
	if (resize_check(env, job->a.name[0] ? job->a.name : job->a.uuid,
			 target, max_kib ? max_kib / 1024.0 : 0, &err)) {
		snprintf(res->error, sizeof(res->error), "%s", err.msg);
		goto out;
	}
	action_job_started(job);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (set_target(h, dom, target, res->error, sizeof(res->error)))
		goto out;
	tol = resize_tolerance_mb(target);
	for (;;) {
		actual = balloon_mb(dom);
		if (actual < 0) {
			virDomainFree(dom);
			dom = virDomainLookupByUUIDString(c, job->a.uuid);
			snprintf(res->error, sizeof(res->error), "%s",
				 dom ? last_error() : "the domain disappeared "
				 "during the resize");
			if (!dom)
				res->host[0] = '\0';
			goto out;
		}
		if (fabs(actual - target) <= tol) {
			res->ok = true;
			snprintf(res->note, sizeof(res->note), "balloon at "
				 "%.0f MiB after %.1f s", actual,
				 elapsed_s(&t0));
			goto out;
		}
		if (action_job_aborting(job)) {
			snprintf(res->error, sizeof(res->error), "the balloon "
				 "was at %.0f MiB of the %.0f MiB target after "
				 "%.0f s (--resize-timeout)", actual, target,
				 elapsed_s(&t0));
			goto out;
		}
		sleep_ms(env->resize_poll_ms ? env->resize_poll_ms : 500);
	}
out:
	if (dom)
		virDomainFree(dom);
	if (c)
		virConnectClose(c);
}

const struct action_ops resize_ops = {
	.name = "resize",
	.run = resize_action,
	/* abort: run() watches action_job_aborting(); resolve: runs again. */
};

int action_env_host_index(void *envp, const char *name)
{
	struct action_env *env = envp;

	return inventory_host_index(env->inv, name);
}
