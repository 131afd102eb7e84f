/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestd.h - the parts of mb-guestd: settings (config.c), what it collects
 * (collect.c: identity, memory statistics, the module, the scan; procfs.c:
 * the parsers of the /proc files), the requests to controld (upload.c:
 * trace uploads, statistics reports and the tenant key), the key's
 * answer (keyed.c) and the statistics reports between traces (report.c:
 * the body, the pace, their thread). main.c runs the trace cycles.
 */
#ifndef MB_GUESTD_H
#define MB_GUESTD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent.h"
#include "mb_error.h"
#include "mbt.h"
#include "memtrace_ioctl.h"
#include "upload.h"

/* Exit statuses of --once and --stats-once (docs/mb-guestd.8). */
enum guestd_exit {
	GUESTD_OK = 0,		/* trace stored (version printed) or report
				   accepted */
	GUESTD_FAILED = 1,	/* unexpected local failure */
	GUESTD_USAGE = 2,	/* bad flags or config file */
	GUESTD_SCAN = 3,	/* no trace: module, device or trace invalid */
	GUESTD_REJECTED = UPLOAD_REJECTED,	/* controld refused it (4xx);
						   not retried */
	GUESTD_UNREACHABLE = UPLOAD_UNREACHABLE,	/* network errors or 5xx
							   (after all retries,
							   for a trace) */
	GUESTD_BUSY = 6,	/* another scan of the device is running */
};

struct guestd_config {
	const char *config_file;
	bool check_only;
	struct agent_options agent;	/* server, token, retries, log */
	unsigned int interval;		/* seconds between cycles */
	bool once;
	unsigned int stats_interval;	/* seconds between reports, 0: none */
	bool stats_once;
	char *pressure_trigger;		/* PSI trigger line, or "off" */
	unsigned int pressure_swapin;	/* pages/s of swap-in that count */
	char *device;
	bool device_given;
	char *module;			/* memtrace.ko to load, or NULL */
	char *vm_uuid;			/* text, or NULL for SMBIOS */
	char *vm_name;			/* NULL: hostname */
	bool keyed;			/* keyed scans with the tenant's key */
};

int guestd_config_parse(struct guestd_config *c, int argc, char **argv,
			struct mb_err *err);
void guestd_config_free(struct guestd_config *c);

/* ---- collect.c ---- */

/*
 * One line of pressure/memory: the share of wall time (percent) in which
 * some (or all) non-idle tasks were stalled waiting for memory, averaged
 * over 10, 60 and 300 s, and the total stall time in microseconds.
 */
struct psi_line {
	bool reported;
	double avg10, avg60, avg300;
	int64_t total_us;
};

struct psi_memory {
	struct psi_line some, full;
};

/* Every field that is not reported is -1 (uptime < 0, boot_id ""). */
struct guest_stats {
	int64_t mem_total_kb, mem_available_kb, committed_as_kb;
	int64_t swap_total_kb, swap_free_kb;
	int64_t pswpin, pswpout, pgmajfault;
	int64_t net_rx_bytes, net_tx_bytes;	/* net/dev, all but lo */
	double uptime_s;
	char boot_id[37];		/* changes at every boot */
	struct psi_memory psi;
};

/*
 * Read meminfo, vmstat, pressure/memory, uptime and
 * sys/kernel/random/boot_id under @proc (normally "/proc"). A file that
 * does not exist (no PSI in this kernel, or PSI off) or a field missing
 * from a file is not reported. Returns 0, or -1 when a file could not be
 * read or had a malformed line: @s is then filled all the same with every
 * field that could be read, and @err names the first file (and line) and
 * the reason.
 */
int collect_stats(const char *proc, struct guest_stats *s, struct mb_err *err);

/* ---- procfs.c: the parsers, on text in memory (@len bytes) ---- */

/* A field of meminfo ("MemTotal:   123 kB") or vmstat ("pswpin 17"). */
struct proc_counter {
	const char *key;
	char separator;			/* ':' in meminfo, ' ' in vmstat */
	const char *unit;		/* " kB", or NULL for none */
	int64_t *value;			/* set to -1 when absent or bad */
};

/*
 * Fill every @want[i].value from the lines of @text that carry its key
 * (the first such line); other lines are ignored. Returns 0, or -1 when a
 * line of a wanted key is malformed (that value stays -1, the others are
 * filled): @err is "@name:line: 'line': expected ...".
 */
int proc_parse_counters(const char *name, const char *text, size_t len,
			const struct proc_counter *want, size_t nwant,
			struct mb_err *err);

/*
 * Parse pressure/memory: a "some" and a "full" line, each
 * "avg10=P avg60=P avg300=P total=N". A line not given is not reported.
 * Returns 0, or -1 for a line that is not one of these (or repeats one):
 * that line is not reported, @err names @name and the line.
 */
int proc_parse_psi(const char *name, const char *text, size_t len,
		   struct psi_memory *out, struct mb_err *err);

/* Parse uptime ("UPTIME IDLE\n", seconds); *uptime_s = -1 when not. */
int proc_parse_uptime(const char *name, const char *text, size_t len,
		      double *uptime_s, struct mb_err *err);

/*
 * Parse net/dev: the bytes received and sent, summed over every interface
 * but "lo" (fields 1 and 9 of its "NAME: ..." line); -1 when there is no
 * such interface. A line with a ':' and too few counts is refused.
 */
int proc_parse_net_dev(const char *name, const char *text, size_t len,
		       int64_t *rx_bytes, int64_t *tx_bytes,
		       struct mb_err *err);

/* Parse boot_id (one uuid line) into lower-case text; "" when not. */
int proc_parse_boot_id(const char *name, const char *text, size_t len,
		       char boot_id[37], struct mb_err *err);

/*
 * The VM's uuid: @override when given, else the SMBIOS system uuid from
 * /sys/class/dmi/id/product_uuid. Fills the canonical text form.
 */
int collect_identity(const char *override, uint8_t uuid[MBT_UUID_LEN],
		     char text[37], struct mb_err *err);

/*
 * Make sure @device exists: when it does not and it is the module's device,
 * load @module (a .ko path) or run "modprobe memtrace", then wait for the
 * node. Returns 0 or -1.
 */
int collect_load_module(const char *device, const char *module,
			struct mb_err *err);

/* A scanned trace held in an anonymous memory file. */
struct scan {
	int fd;				/* memfd, -1 when none */
	uint64_t size;
	struct mbt_info info;
};

/*
 * Read one trace from @device into a memory file, validating it as it
 * streams (one copy in memory). Holds an exclusive flock on the device
 * during the read, so two mb-guestd never scan at once; returns -2 with
 * @err set when another holds it, -1 on other failures.
 */
int collect_scan(const char *device, struct scan *out, struct mb_err *err);

/*
 * collect_scan() with the tenant key @key (NULL: plain): set on the open
 * device (MEMTRACE_IOC_SET_KEY) before the read, and the trace checked to
 * be keyed with it. A module that takes no key fails the scan (-1), so
 * --keyed never uploads a plain trace.
 */
int collect_scan_keyed(const char *device, const struct memtrace_key *key,
		       struct scan *out, struct mb_err *err);
void scan_release(struct scan *s);

/* ---- upload.c (the HTTP part is daemon/upload.h, shared with mb-hostd) ---- */

#define GUESTD_USER_AGENT "mb-guestd/1.0"

/*
 * PUT the scan to controld with @stats in X-MB-* headers, retried
 * (upload_trace_retrying()). Returns GUESTD_OK, GUESTD_REJECTED (4xx
 * other than 408/429) or GUESTD_UNREACHABLE (network, 5xx, 408, 429 after
 * every retry), with @res filled.
 */
int upload_scan(const struct upload_target *t, const struct scan *s,
		const struct guest_stats *stats, unsigned int retries,
		unsigned int max_delay_s, const volatile sig_atomic_t *stop,
		struct upload_result *res);

/*
 * POST the statistics report @json to {server}/v1/vms/{uuid}/stats once
 * (upload_json() with route "stats").
 */
int upload_report(const struct upload_target *t, const char *json,
		  struct upload_result *res);

/*
 * GET /v1/vms/{uuid}/key once: this VM's tenant key into @key (wiped on
 * failure). Returns GUESTD_OK, GUESTD_REJECTED (4xx, or an answer that is
 * not a key: @res->message says why) or GUESTD_UNREACHABLE.
 */
int fetch_key(const struct upload_target *t, struct memtrace_key *key,
	      struct upload_result *res);

/* ---- keyed.c ---- */

/*
 * Parse the @len bytes at @text, the answer of GET /v1/vms/{uuid}/key:
 * exactly {"key_id": 8 hex digits, not 0, "seed": 16 hex digits,
 * "algorithm": "xxh64"} (lower-case hex). 0 with @key filled, or -1 with
 * @err naming the field (never its value) and @key zeroed.
 */
int keyed_parse_answer(const char *text, size_t len, struct memtrace_key *key,
		       struct mb_err *err);

/* ---- report.c ---- */

/*
 * The body of a statistics report (docs/mb-guestd.8): a JSON object with
 * "name" and every reported field of @s. Returns a malloc'ed string, or
 * NULL when out of memory.
 */
char *report_body(const struct guest_stats *s, const char *name);

/* After a 404 (a controld without the route), try every 10th interval. */
#define REPORT_NO_ROUTE_EVERY 10

enum report_outcome {
	REPORT_SKIPPED,			/* no try this interval (the pace) */
	REPORT_ACCEPTED,		/* 2xx */
	REPORT_NO_ROUTE,		/* 404 */
	REPORT_FAILED,			/* anything else */
};

/*
 * Reports every @interval seconds, in a thread of their own so that they
 * go on while a trace is scanned or uploaded. The log says the first
 * failure (warning), later ones at debug level only, and the recovery.
 */
struct reporter {
	struct upload_target target;
	const char *proc;
	unsigned int interval;
	/* the pace and the log, kept by reporter_tick() */
	enum report_outcome last;
	bool no_route_warned;
	unsigned int skip;		/* intervals left before the next try */
	bool collect_failing;		/* the last collect_stats() failed */
	uint64_t sent, accepted;
	/* the thread */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running;
	atomic_bool stop;
};

/*
 * Set up @r to report to @t (copied; its strings must outlive @r) the
 * statistics under @proc every @interval seconds (0: only report_once()).
 * A report's time limit is the smaller of t->timeout and the interval
 * (5 s when @interval is 0). Returns 0 or -1 (@err set).
 */
int reporter_init(struct reporter *r, const struct upload_target *t,
		  const char *proc, unsigned int interval, struct mb_err *err);
void reporter_release(struct reporter *r);

/* One interval: send a report, or skip it when the pace says so. */
enum report_outcome reporter_tick(struct reporter *r);

/* Start the thread (all signals blocked in it) / stop and join it. */
int reporter_start(struct reporter *r, struct mb_err *err);
void reporter_stop(struct reporter *r);

/*
 * --stats-once: send one report, print its body on @out, log the answer.
 * Returns GUESTD_OK, GUESTD_REJECTED, GUESTD_UNREACHABLE or GUESTD_FAILED.
 */
int report_once(struct reporter *r, FILE *out);

/* ---- pressure.c ---- */

/*
 * The emergency path: a thread that waits on a PSI trigger of
 * <proc>/pressure/memory (poll(2), POLLPRI) and checks pswpin every
 * second, and on either sends POST /v1/vms/{uuid}/pressure at once: the
 * statistics report body plus "trigger" (what fired). At most one report
 * per PRESSURE_MIN_GAP_MS.
 */
#define PRESSURE_MIN_GAP_MS 2000

struct pressure_watch {
	struct upload_target target;
	const char *proc;
	char trigger[64];		/* "some 100000 1000000" */
	unsigned int swapin_pages;	/* pages/s of swap-in that count */
	int fd;				/* the trigger, -1 none */
	int64_t last_pswpin;
	uint64_t fired, sent;
	pthread_t thread;
	bool running;
	atomic_bool stop;
};

/*
 * Set up @w: register the trigger @trigger (a PSI trigger line: "some|full
 * STALL_US WINDOW_US") on <@proc>/pressure/memory. A kernel that refuses
 * it (no PSI, no triggers) leaves only the pswpin check, with a warning.
 * Returns 0, or -1 with @err for a malformed @trigger.
 */
int pressure_init(struct pressure_watch *w, const struct upload_target *t,
		  const char *proc, const char *trigger,
		  unsigned int swapin_pages, struct mb_err *err);
int pressure_start(struct pressure_watch *w, struct mb_err *err);
void pressure_stop(struct pressure_watch *w);

/* Check a trigger line's syntax: 0, or -1 with @err saying what is wrong. */
int pressure_trigger_check(const char *trigger, struct mb_err *err);

/*
 * Whether swap-in from @before to @now pages over @ms milliseconds is
 * pressure: at least @pages_per_s pages/s (a counter that went backwards
 * is not).
 */
bool pressure_swapin(int64_t before, int64_t now, unsigned int ms,
		     unsigned int pages_per_s);

#endif /* MB_GUESTD_H */
