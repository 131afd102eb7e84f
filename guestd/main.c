// SPDX-License-Identifier: GPL-2.0
/*
 * mb-guestd - the Memory Buddies guest daemon. Every --interval seconds:
 * make sure memtrace.ko is loaded, read one trace from /dev/memtrace,
 * collect memory statistics, and upload both to mb-controld, retrying
 * network errors and 5xx answers with exponential backoff and jitter.
 * Meanwhile, every --stats-interval seconds, a second thread reports the
 * memory statistics alone (report.c).
 *
 * Scans never overlap: cycles run one after another in the main thread,
 * and the device is flock'ed during the read against other processes.
 * The trace lives in one memfd for the length of a cycle (about 1 MiB per
 * GiB of guest memory with 32-bit digests) and is freed before the next.
 * SIGTERM and SIGINT reach only the main thread (the report thread blocks
 * them), which stops the reports before it exits.
 *
 * Parts: config.c (options), collect.c and procfs.c (identity,
 * statistics, module, scan), upload.c (libcurl), report.c (statistics
 * reports). This file runs the cycles.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "guestd.h"
#include "log.h"
#include "stop.h"

struct guestd {
	struct guestd_config cfg;
	char uuid[37];
	char name[MBT_NAME_LEN];
	char *token;
};

/* Where the trace cycle, the reports and the pressure path send to. */
static struct upload_target target(const struct guestd *g)
{
	return (struct upload_target){
		.server = g->cfg.agent.server, .token = g->token,
		.ca_file = g->cfg.agent.ca_file, .uuid = g->uuid, .name = g->name,
		.timeout = g->cfg.agent.timeout, .verbose = g->cfg.agent.verbose,
		.user_agent = GUESTD_USER_AGENT,
	};
}

/*
 * --keyed: this VM's tenant key, fetched before every scan (controld makes
 * it the first time); GUESTD_OK, or the status of a failed fetch, which
 * skips the cycle rather than upload a plain trace.
 */
static int get_key(struct guestd *g, struct memtrace_key *key)
{
	struct upload_target t = target(g);
	struct upload_result res;
	int ret = fetch_key(&t, key, &res);

	if (ret != GUESTD_OK)
		log_err("no tenant key from controld, so no scan: %s",
			res.message);
	return ret;
}

static int cycle(struct guestd *g)
{
	struct upload_target t = target(g);
	struct memtrace_key key;
	struct guest_stats stats;
	struct upload_result res;
	struct scan scan;
	struct mb_err err;
	uint8_t want[MBT_UUID_LEN];
	char got[37];
	int ret;

	if (!g->cfg.device_given &&
	    collect_load_module(g->cfg.device, g->cfg.module, &err)) {
		log_err("%s", err.msg);
		return GUESTD_SCAN;
	}
	if (g->cfg.keyed && (ret = get_key(g, &key)) != GUESTD_OK)
		return ret;
	ret = collect_scan_keyed(g->cfg.device, g->cfg.keyed ? &key : NULL,
				 &scan, &err);
	explicit_bzero(&key, sizeof(key));
	if (ret) {
		log_err("%s", err.msg);
		return ret == -2 ? GUESTD_BUSY : GUESTD_SCAN;
	}
	mb_uuid_parse(g->uuid, want);
	if (!mb_uuid_is_zero(scan.info.vm_uuid) &&
	    memcmp(scan.info.vm_uuid, want, MBT_UUID_LEN)) {
		mb_uuid_format(scan.info.vm_uuid, got);
		log_warn("the trace says it is from vm %s but this is vm %s; "
			 "controld will refuse it", got, g->uuid);
	}
	if (collect_stats("/proc", &stats, &err))
		log_warn("memory statistics incomplete: %s", err.msg);
	log_msg(g->cfg.agent.verbose ? LOG_INFO : LOG_DEBUG,
		"scanned %llu pages (%llu bytes); uploading to %s",
		(unsigned long long)scan.info.page_count,
		(unsigned long long)scan.size, g->cfg.agent.server);
	if (scan.info.key_id)
		log_msg(g->cfg.agent.verbose ? LOG_INFO : LOG_DEBUG,
			"the trace is keyed with key %08x", scan.info.key_id);
	ret = upload_scan(&t, &scan, &stats, g->cfg.agent.retries,
			  g->cfg.agent.retry_max_delay, &daemon_stop_requested, &res);
	if (ret == GUESTD_OK)
		log_msg(g->cfg.agent.verbose || g->cfg.once ? LOG_INFO : LOG_DEBUG,
			"vm %s: stored as version %llu (%llu pages)", g->uuid,
			(unsigned long long)res.version,
			(unsigned long long)scan.info.page_count);
	else if (ret == GUESTD_REJECTED)
		log_err("controld refused the trace: %s", res.message);
	if (ret == GUESTD_OK && g->cfg.once)
		printf("%llu\n", (unsigned long long)res.version);
	scan_release(&scan);
	return ret;
}

/* --stats-once, or the report thread; false when reports are off. */
static bool setup_reports(struct guestd *g, struct reporter *r)
{
	struct upload_target t = target(g);
	unsigned int interval = g->cfg.stats_once ? 0 : g->cfg.stats_interval;
	struct mb_err err;

	if (!g->cfg.stats_once && (g->cfg.once || !interval))
		return false;
	if (reporter_init(r, &t, "/proc", interval, &err)) {
		log_err("%s", err.msg);
		return false;
	}
	if (g->cfg.stats_once)
		return true;
	if (reporter_start(r, &err)) {
		log_err("%s", err.msg);
		reporter_release(r);
		return false;
	}
	return true;
}

/* The emergency path's watch, unless --pressure-trigger off (or --once). */
static bool setup_pressure(struct guestd *g, struct pressure_watch *w)
{
	struct upload_target t = target(g);
	struct mb_err err;

	if (g->cfg.once || g->cfg.stats_once ||
	    !strcmp(g->cfg.pressure_trigger, "off"))
		return false;
	if (pressure_init(w, &t, "/proc", g->cfg.pressure_trigger,
			  g->cfg.pressure_swapin, &err) ||
	    pressure_start(w, &err)) {
		log_err("%s", err.msg);
		pressure_stop(w);
		return false;
	}
	log_info("memory pressure reported at once (trigger '%s'%s)",
		 g->cfg.pressure_trigger, w->fd < 0 ? ", not available: "
		 "pswpin only" : "");
	return true;
}

int main(int argc, char **argv)
{
	struct guestd g = { 0 };
	struct reporter reports;
	struct pressure_watch pressure;
	bool reporting = false, watching = false;
	struct timespec start, end;
	struct mb_err err;
	uint8_t bin[MBT_UUID_LEN];
	int ret, status = GUESTD_OK;

	log_init("mb-guestd");
	ret = guestd_config_parse(&g.cfg, argc, argv, &err);
	if (ret) {
		if (ret < 0)
			log_err("%s", err.msg);
		guestd_config_free(&g.cfg);
		return ret < 0 ? GUESTD_USAGE : GUESTD_OK;
	}
	if (collect_identity(g.cfg.vm_uuid, bin, g.uuid, &err)) {
		log_err("%s", err.msg);
		status = GUESTD_USAGE;
		goto out;
	}
	if (g.cfg.vm_name)
		snprintf(g.name, sizeof(g.name), "%s", g.cfg.vm_name);
	else if (gethostname(g.name, sizeof(g.name) - 1))
		snprintf(g.name, sizeof(g.name), "unknown");
	if (g.cfg.agent.token_file &&
	    !(g.token = conf_read_secret(g.cfg.agent.token_file, &err))) {
		log_err("%s", err.msg);
		status = GUESTD_USAGE;
		goto out;
	}
	if (g.cfg.check_only) {
		printf("mb-guestd: configuration ok (vm %s, name %s, server "
		       "%s)\n", g.uuid, g.name, g.cfg.agent.server);
		goto out;
	}
	if (g.cfg.agent.syslog)
		log_use_syslog();
	if (upload_global_init(&err)) {
		log_err("%s", err.msg);
		status = GUESTD_FAILED;
		goto out;
	}
	if (g.cfg.keyed && strncmp(g.cfg.agent.server, "https://", 8))
		log_warn("--keyed over %s: the tenant key crosses the network "
			 "unencrypted; use https", g.cfg.agent.server);
	daemon_catch_stop();
	reporting = setup_reports(&g, &reports);
	if (g.cfg.stats_once) {
		status = reporting ? report_once(&reports, stdout) :
			 GUESTD_FAILED;
		goto out;
	}
	if (g.cfg.once) {
		status = cycle(&g);
		goto out;
	}
	log_info("vm %s (%s): uploading %straces to %s every %u s", g.uuid,
		 g.name, g.cfg.keyed ? "keyed " : "", g.cfg.agent.server,
		 g.cfg.interval);
	if (reporting)
		log_info("statistics reports every %u s",
			 g.cfg.stats_interval);
	watching = setup_pressure(&g, &pressure);
	while (!daemon_stop_requested) {
		uint64_t spent_ms;

		clock_gettime(CLOCK_MONOTONIC, &start);
		cycle(&g);
		clock_gettime(CLOCK_MONOTONIC, &end);
		spent_ms = (end.tv_sec - start.tv_sec) * 1000 +
			   (end.tv_nsec - start.tv_nsec) / 1000000;
		if (spent_ms < g.cfg.interval * 1000ULL)
			daemon_sleep_ms(g.cfg.interval * 1000ULL - spent_ms,
					&daemon_stop_requested);
	}
	log_info("stopping");
out:
	if (watching)
		pressure_stop(&pressure);
	if (reporting) {
		reporter_stop(&reports);
		reporter_release(&reports);
	}
	free(g.token);
	guestd_config_free(&g.cfg);
	return status;
}
