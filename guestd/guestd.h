/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestd.h - the parts of mb-guestd: settings (config.c), what a cycle
 * collects (collect.c: identity, memory statistics, the module, the scan)
 * and the upload (upload.c). main.c runs the cycles.
 */
#ifndef MB_GUESTD_H
#define MB_GUESTD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mb_error.h"
#include "mbt.h"

/* Exit statuses of --once (documented in docs/mb-guestd.8). */
enum guestd_exit {
	GUESTD_OK = 0,		/* trace stored; version printed */
	GUESTD_FAILED = 1,	/* unexpected local failure */
	GUESTD_USAGE = 2,	/* bad flags or config file */
	GUESTD_SCAN = 3,	/* no trace: module, device or trace invalid */
	GUESTD_REJECTED = 4,	/* controld refused it (4xx); not retried */
	GUESTD_UNREACHABLE = 5,	/* network errors or 5xx after all retries */
	GUESTD_BUSY = 6,	/* another scan of the device is running */
};

struct guestd_config {
	const char *config_file;
	bool check_only;
	char *server;			/* http(s)://host:port */
	char *token_file;
	char *ca_file;
	unsigned int interval;		/* seconds between cycles */
	bool once;
	char *device;
	bool device_given;
	char *module;			/* memtrace.ko to load, or NULL */
	char *vm_uuid;			/* text, or NULL for SMBIOS */
	char *vm_name;			/* NULL: hostname */
	unsigned int retries;		/* attempts after the first */
	unsigned int retry_max_delay;	/* seconds */
	unsigned int timeout;		/* seconds per request */
	bool syslog;
	bool verbose;
};

int guestd_config_parse(struct guestd_config *c, int argc, char **argv,
			struct mb_err *err);
void guestd_config_free(struct guestd_config *c);

/* ---- collect.c ---- */

struct guest_stats {
	int64_t mem_total_kb, mem_available_kb;
	int64_t swap_total_kb, swap_free_kb;
	int64_t pswpin, pswpout;	/* -1 = not found */
};

/* Read /proc/meminfo and /proc/vmstat (under @proc, normally "/proc"). */
int collect_stats(const char *proc, struct guest_stats *s, struct mb_err *err);

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
void scan_release(struct scan *s);

/* ---- upload.c ---- */

struct upload_result {
	long http_status;		/* 0: no answer */
	uint64_t version;		/* on 201 */
	char message[MB_ERR_LEN];	/* error text, from controld or curl */
};

struct upload_target {
	const char *server;
	const char *token;		/* NULL: no Authorization header */
	const char *ca_file;
	const char *uuid;
	const char *name;
	unsigned int timeout;
	bool verbose;
};

int upload_global_init(struct mb_err *err);

/*
 * PUT the scan to controld once. Returns GUESTD_OK, GUESTD_REJECTED (4xx
 * other than 408/429) or GUESTD_UNREACHABLE (retryable: network, 5xx,
 * 408, 429), with @res filled.
 */
int upload_once(const struct upload_target *t, const struct scan *s,
		const struct guest_stats *stats, struct upload_result *res);

#endif /* MB_GUESTD_H */
