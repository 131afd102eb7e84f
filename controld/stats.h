/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stats.h - live statistics of every VM and host (stats.c).
 *
 * Three streams come in:
 *   - black-box, per VM, from libvirt (collect.c, every --stats-interval):
 *     CPU time, vCPUs, the balloon and its statistics, interface bytes;
 *   - black-box, per host, from libvirt: CPU time and memory;
 *   - gray-box, per VM, from mb-guestd (POST /v1/vms/{uuid}/stats):
 *     meminfo, vmstat and memory PSI, as the guest sees them.
 * They arrive as counters (struct vm_counters, host_counters,
 * guest_report); stats.c turns them into samples of rates and sizes
 * (struct vm_sample, host_sample, guest_sample) and keeps the last
 * --stats-window seconds of each entity in a ring. A counter that went
 * backwards, a domain that restarted (new domain id) or moved to another
 * host, and a guest that rebooted (new boot id) start a new epoch: no rate
 * is computed across it, so no rate is ever negative.
 *
 * Each minute, the samples of the minute are averaged into one record per
 * entity, written to the control database (kept --stats-keep-days days)
 * by stats_flush().
 *
 * A value that is not known is NAN in a sample and null in JSON. All
 * functions are thread-safe.
 */
#ifndef MB_CONTROLD_STATS_H
#define MB_CONTROLD_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "controldb.h"
#include "mb_error.h"

/* One reading of a domain's libvirt counters; -1 = not reported. */
struct vm_counters {
	double t;			/* seconds since the epoch */
	char host[64];
	int64_t domid;			/* changes when the domain restarts */
	int64_t cpu_time_ns;
	int64_t vcpus;
	int64_t balloon_kb, balloon_max_kb;
	int64_t rss_kb, usable_kb, available_kb, unused_kb;
	int64_t swap_in_kb, swap_out_kb;	/* counters, KiB */
	int64_t major_faults, minor_faults;	/* counters */
	int64_t rx_bytes, tx_bytes;		/* summed over interfaces */
};

/* One reading of a host's counters; -1 = not reported. */
struct host_counters {
	double t;
	int64_t cores;
	int64_t cpu_busy_ns, cpu_total_ns;	/* all CPUs */
	int64_t mem_total_kb, mem_free_kb, mem_buffers_kb, mem_cached_kb;
};

/* One report of mb-guestd (docs/api.md); -1 / NAN = not reported. */
struct guest_report {
	double t;			/* when controld received it */
	char name[64];
	char boot_id[40];
	double uptime_s;
	int64_t mem_total_kb, mem_available_kb, committed_as_kb;
	int64_t swap_total_kb, swap_free_kb;
	int64_t pswpin, pswpout, pgmajfault;	/* counters, pages */
	int64_t net_rx_bytes, net_tx_bytes;	/* counters, all but lo */
	double psi_some[3], psi_full[3];	/* avg10, avg60, avg300, % */
	int64_t psi_some_total_us, psi_full_total_us;
	char trigger[64];		/* pressure reports: what fired */
	double trigger_age_ms;		/* ... how long before sending; NaN */
};

struct vm_sample {
	double t;
	char host[64];
	double cpu_pct;			/* % of one core: 100 = one busy vCPU */
	double vcpus;
	double balloon_mb, balloon_max_mb;
	double rss_mb, usable_mb, available_mb, unused_mb;
	double swap_in, swap_out;	/* pages/s */
	double major_faults, minor_faults;	/* per second */
	double rx_bps, tx_bps;		/* bytes/s */
};

struct guest_sample {
	double t;
	double mem_total_mb, mem_available_mb, committed_as_mb;
	double swap_total_mb, swap_free_mb;
	double swap_in, swap_out;	/* pages/s */
	double major_faults;		/* per second */
	double psi_some[3], psi_full[3];
	double rx_bps, tx_bps;		/* bytes/s, its interfaces but lo */
};

struct host_sample {
	double t;
	double cores;
	double cpu_pct;			/* % of all its cores */
	double mem_total_mb, mem_used_mb, mem_available_mb;
	double vms;			/* running domains */
	double vms_balloon_mb;		/* their balloons, summed */
	double rx_bps, tx_bps;		/* its VMs' traffic, summed */
};

struct stats_options {
	unsigned int interval;		/* seconds between samples */
	unsigned int window;		/* seconds kept in memory */
	unsigned int keep_days;		/* of minute records, in the db */
};

struct stats;

/* @db may be NULL (no minute records). */
struct stats *stats_new(const struct stats_options *o, struct controldb *db,
			struct mb_err *err);
void stats_free(struct stats *s);

void stats_add_vm(struct stats *s, const char *uuid, const char *name,
		  const struct vm_counters *c);
/* After the host's VMs of the same round (their sums go in its sample). */
void stats_add_host(struct stats *s, const char *host,
		    const struct host_counters *c);
int stats_add_guest(struct stats *s, const char *uuid,
		    const struct guest_report *r, struct mb_err *err);

/*
 * Parse the JSON body of POST /v1/vms/{uuid}/stats into @r (r->t is left
 * to the caller). Unknown fields are ignored; a known field of the wrong
 * type or range is an error naming it.
 */
int guest_report_parse(const char *text, size_t len, struct guest_report *r,
		       struct mb_err *err);

/*
 * The rate of a counter between two readings: NAN when either is
 * unknown (< 0), the counter went backwards, or @dt <= 0.
 */
double stats_rate(int64_t before, int64_t after, double dt);

/* The newest samples of VM @uuid: flags 1 (black-box) | 2 (gray-box). */
int stats_vm_latest(struct stats *s, const char *uuid, struct vm_sample *bb,
		    struct guest_sample *gb);

/*
 * VM @uuid's swap traffic (pages/s, in + out) averaged over the last
 * @seconds, from the guest's reports, else from libvirt's balloon
 * statistics (*@source, when not NULL, says which: "guest stats" or
 * "libvirt"); NAN when neither has a rate in that time.
 */
double stats_vm_swap_rate(struct stats *s, const char *uuid, double seconds,
			  const char **source);

/*
 * GET /v1/vms/{uuid}/stats and GET /v1/hosts/{name}/stats: the samples
 * newer than @since (seconds), and when @since is older than what the ring
 * holds, the minute records from the database in between. json null when
 * the entity has no statistics.
 */
json_t *stats_vm_json(struct stats *s, const char *uuid, double since);
json_t *stats_host_json(struct stats *s, const char *host, double since);

/* GET /v1/stats: the newest sample of every host and VM. */
json_t *stats_overview_json(struct stats *s);

/* The Prometheus gauges of the newest samples. */
void stats_metrics(struct stats *s, FILE *out);

/*
 * Write the finished minutes to the database, drop entities silent for a
 * whole window, and once an hour the records older than --stats-keep-days.
 */
void stats_flush(struct stats *s, double now);

#endif /* MB_CONTROLD_STATS_H */
