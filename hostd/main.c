// SPDX-License-Identifier: GPL-2.0
/*
 * mb-hostd - the Memory Buddies host agent. Every --interval seconds, for
 * every running QEMU guest of this host (libvirt, or QMP sockets): find
 * its RAM in the QEMU process (domains.c, layout.c), hash every page from
 * outside within the CPU budget (scan.c, budget.c), and upload the trace
 * to mb-controld under the domain's uuid with this host's token
 * (daemon/upload.c), or write it to --output-dir.
 *
 * Domains are scanned one after another, never two at once, so the
 * budget holds for the whole host. Each trace lives in a memfd for the
 * length of its domain's turn. SIGTERM and SIGINT end the scan running
 * (it is not uploaded) and the daemon.
 *
 * Parts: config.c (options), qemu.c and procfs.c (parsers), monitor.c
 * and domains.c (QEMU and libvirt), layout.c, scan.c, budget.c,
 * metrics.c. This file runs the cycles.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "conf.h"
#include "digest.h"
#include "hostd.h"
#include "log.h"
#include "stop.h"

#define HOSTD_USER_AGENT "mb-hostd/1.0"
#define PROGRESS_EVERY_S 10.0

static double now_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct hostd {
	struct hostd_config cfg;
	char *token;
	struct metrics metrics;
};

static void write_metrics(struct hostd *h)
{
	struct mb_err err;

	if (metrics_write(&h->metrics, &err))
		log_warn("%s", err.msg);
}

struct progress_ctx {
	struct hostd *h;
	const struct domain *d;
	struct domain_metrics *dm;
};

static void on_progress(void *ctx, const struct scan_progress *p)
{
	struct progress_ctx *pc = ctx;

	if (!p->pages_total)
		return;
	pc->dm->progress = (double)p->pages_done / (double)p->pages_total;
	if (p->pages_done < p->pages_total)
		log_info("domain %s: %.0f %% (%" PRIu64 " of %" PRIu64
			 " pages) after %.1f s, CPU %.1f s", pc->d->name,
			 100.0 * pc->dm->progress, p->pages_done,
			 p->pages_total, p->wall_s, p->cpu_s);
	write_metrics(pc->h);
}

/* The trace into DIR/UUID.mbt, atomically. */
static int write_output(const char *dir, const struct domain *d,
			const struct scan_result *r, struct mb_err *err)
{
	struct mb_atomic_file af;
	char path[4096], buf[65536];
	uint64_t off = 0;

	snprintf(path, sizeof(path), "%s/%s.mbt", dir, d->uuid);
	if (mb_atomic_open(&af, path, 0600, err))
		return -1;
	while (off < r->size) {
		ssize_t n = pread(r->fd, buf, sizeof(buf), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || fwrite(buf, 1, (size_t)n, af.f) != (size_t)n) {
			mb_atomic_abort(&af);
			return mb_errf(err, "%s: %s", path, n < 0 ?
				       strerror(errno) : "short write");
		}
		off += (uint64_t)n;
	}
	return mb_atomic_commit(&af, err);
}

static int upload(struct hostd *h, const struct domain *d,
		  const struct scan_result *r, struct domain_metrics *dm)
{
	struct upload_target t = {
		.server = h->cfg.agent.server, .token = h->token,
		.ca_file = h->cfg.agent.ca_file, .uuid = d->uuid, .name = d->name,
		.user_agent = HOSTD_USER_AGENT, .timeout = h->cfg.agent.timeout,
		.verbose = h->cfg.agent.verbose,
	};
	struct upload_result res;
	int ret;

	ret = upload_trace_retrying(&t, r->fd, r->size, NULL, h->cfg.agent.retries,
				    h->cfg.agent.retry_max_delay, &daemon_stop_requested,
				    &res);
	h->metrics.uploads[ret == UPLOAD_OK ? 0 : ret == UPLOAD_REJECTED ?
			   1 : 2]++;
	if (ret == UPLOAD_OK) {
		dm->version = res.version;
		log_msg(h->cfg.agent.verbose || h->cfg.once ? LOG_INFO : LOG_DEBUG,
			"domain %s (%s): stored as version %" PRIu64, d->name,
			d->uuid, res.version);
	} else if (ret == UPLOAD_REJECTED) {
		log_err("domain %s (%s): controld refused the trace: %s",
			d->name, d->uuid, res.message);
	}
	return ret;
}

/* One domain's turn: layout, scan, output. A HOSTD_* status. */
static int domain_cycle(struct hostd *h, struct domain *d)
{
	struct domain_metrics *dm = metrics_domain(&h->metrics, d->uuid,
						   d->name);
	struct progress_ctx pc = { .h = h, .d = d, .dm = dm };
	struct scan_request rq = {
		.pid = d->pid, .starttime = d->starttime, .algo = h->cfg.algo,
		.chunk_pages = h->cfg.chunk_pages, .max_cpu = h->cfg.max_cpu,
		.uuid = d->uuid_bin, .name = d->name, .progress = on_progress,
		.progress_ctx = &pc, .progress_every_s = PROGRESS_EVERY_S,
		.stop = &daemon_stop_requested,
	};
	struct block_place *places = NULL;
	struct scan_result r;
	struct layout l;
	struct mb_err err;
	double pages_per_cpu_s;
	int ret = HOSTD_OK;

	if (!dm) {
		log_err("out of memory");
		return HOSTD_FAILED;
	}
	dm->seen = true;
	dm->progress = 0;
	if (domain_layout(d, h->cfg.unmapped_blocks, &l, &places, &err)) {
		log_err("domain %s (%s): %s", d->name, d->uuid, err.msg);
		dm->failures++;
		h->metrics.scan_failures++;
		return HOSTD_SCAN;
	}
	log_msg(h->cfg.agent.verbose ? LOG_INFO : LOG_DEBUG, "domain %s (%s): QEMU "
		"process %d, %zu RAM blocks, %" PRIu64 " pages: %" PRIu64
		" addressed by the guest, %" PRIu64 " under other regions, %"
		PRIu64 " of blocks no address reaches, %" PRIu64 " left out",
		d->name, d->uuid, (int)d->pid, l.nblocks, l.pages,
		l.visible_pages, l.hidden_pages, l.unmapped_pages,
		l.skipped_pages);
	rq.layout = &l;
	rq.places = places;
	if (scan_run(&rq, &r, &err)) {
		log_err("domain %s (%s): %s", d->name, d->uuid, err.msg);
		dm->failures++;
		h->metrics.scan_failures++;
		ret = HOSTD_SCAN;
		goto out;
	}
	dm->pages = r.info.page_count;
	dm->scan_s = r.done.wall_s;
	dm->cpu_s = r.done.cpu_s;
	dm->slept_s = r.done.slept_s;
	dm->progress = 1;
	h->metrics.pages_total += r.info.page_count;
	pages_per_cpu_s = r.done.cpu_s > 0 ? r.info.page_count / r.done.cpu_s :
			  0;
	log_info("domain %s (%s): %" PRIu64 " pages (%.0f MiB) hashed with %s "
		 "(%s) in %.2f s, CPU %.2f s (%.0f pages per CPU second), "
		 "slept %.2f s for --max-cpu %u", d->name, d->uuid,
		 r.info.page_count, r.info.page_count / 256.0,
		 mb_algo_name(h->cfg.algo),
		 mb_impl_name(mb_impl_best(h->cfg.algo)), r.done.wall_s,
		 r.done.cpu_s, pages_per_cpu_s, r.done.slept_s,
		 h->cfg.max_cpu);
	if (h->cfg.output_dir &&
	    write_output(h->cfg.output_dir, d, &r, &err)) {
		log_err("domain %s (%s): %s", d->name, d->uuid, err.msg);
		ret = HOSTD_FAILED;
	}
	if (ret == HOSTD_OK && h->cfg.agent.server)
		ret = upload(h, d, &r, dm);
	if (ret == HOSTD_OK)
		dm->last_success = now_s(CLOCK_REALTIME);
	else
		dm->failures++;
	scan_result_release(&r);
out:
	layout_free(&l);
	free(places);
	write_metrics(h);
	return ret;
}

static int cycle(struct hostd *h)
{
	struct domain_list list;
	unsigned int skipped;
	struct mb_err err;
	double t0 = now_s(CLOCK_MONOTONIC);
	size_t i;
	int ret, status = HOSTD_OK;

	if (domains_list(&h->cfg, &list, &skipped, &err)) {
		log_err("%s", err.msg);
		return HOSTD_SCAN;
	}
	for (i = 0; i < h->metrics.n; i++)
		h->metrics.d[i].seen = false;
	if (!list.n && !skipped)
		log_msg(h->cfg.once ? LOG_WARNING : LOG_DEBUG,
			"no running domain%s", h->cfg.ndomains ?
			" of those given with --domain" : "");
	if (!list.n || skipped)
		status = HOSTD_SCAN;
	for (i = 0; i < list.n && !daemon_stop_requested; i++) {
		ret = domain_cycle(h, &list.d[i]);
		if (ret != HOSTD_OK && status == HOSTD_OK)
			status = ret;
	}
	domains_free(&list);
	h->metrics.cycles++;
	h->metrics.last_cycle_s = now_s(CLOCK_MONOTONIC) - t0;
	write_metrics(h);
	return status;
}

int main(int argc, char **argv)
{
	struct hostd h = { 0 };
	struct mb_err err;
	int ret, status = HOSTD_OK;

	log_init("mb-hostd");
	ret = hostd_config_parse(&h.cfg, argc, argv, &err);
	if (ret) {
		if (ret < 0)
			log_err("%s", err.msg);
		hostd_config_free(&h.cfg);
		return ret < 0 ? HOSTD_USAGE : HOSTD_OK;
	}
	if (h.cfg.agent.token_file &&
	    !(h.token = conf_read_secret(h.cfg.agent.token_file, &err))) {
		log_err("%s", err.msg);
		status = HOSTD_USAGE;
		goto out;
	}
	if (h.cfg.check_only) {
		printf("mb-hostd: configuration ok (%s%s, traces to %s%s%s)\n",
		       h.cfg.nqmp ? "QMP sockets" : "libvirt ",
		       h.cfg.nqmp ? "" : h.cfg.connect,
		       h.cfg.agent.server ? h.cfg.agent.server : "",
		       h.cfg.agent.server && h.cfg.output_dir ? " and " : "",
		       h.cfg.output_dir ? h.cfg.output_dir : "");
		goto out;
	}
	if (h.cfg.agent.syslog)
		log_use_syslog();
	if (h.cfg.agent.verbose)
		log_set_level(LOG_DEBUG);
	if (budget_set_priority(h.cfg.nice, h.cfg.ionice, h.cfg.ionice_level,
				&err))
		log_warn("%s", err.msg);
	if (h.cfg.metrics_file &&
	    !(h.metrics.path = strdup(h.cfg.metrics_file))) {
		log_err("out of memory");
		status = HOSTD_FAILED;
		goto out;
	}
	h.metrics.max_cpu = h.cfg.max_cpu;
	if (upload_global_init(&err)) {
		log_err("%s", err.msg);
		status = HOSTD_FAILED;
		goto out;
	}
	daemon_catch_stop();
	if (h.cfg.once) {
		status = cycle(&h);
		goto out;
	}
	log_info("hashing the guests of %s every %u s with %s, at most %u %% "
		 "of a CPU", h.cfg.nqmp ? "the QMP sockets given" :
		 h.cfg.connect, h.cfg.interval, mb_algo_name(h.cfg.algo),
		 h.cfg.max_cpu);
	while (!daemon_stop_requested) {
		double start = now_s(CLOCK_MONOTONIC), spent;

		cycle(&h);
		spent = now_s(CLOCK_MONOTONIC) - start;
		if (spent < h.cfg.interval)
			daemon_sleep_ms((uint64_t)((h.cfg.interval - spent) *
						   1000), &daemon_stop_requested);
	}
	log_info("stopping");
out:
	free(h.token);
	metrics_free(&h.metrics);
	hostd_config_free(&h.cfg);
	return status;
}
