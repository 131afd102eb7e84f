/* SPDX-License-Identifier: GPL-2.0 */
/*
 * catalogue.h - the SQLite catalogue of stored traces.
 *
 * The catalogue is an index, not the truth: the data directory is. It lists
 * the VMs and every stored version with its size, header fields and the
 * guest's memory statistics, so that listings and metrics need not open the
 * trace files. store.c keeps it in step with the files and rebuilds it from
 * them at start when it is missing, damaged or behind (see store.h).
 *
 * All functions are thread-safe (one connection behind a mutex). Functions
 * returning int return 0 on success and -1 with @err set.
 */
#ifndef MB_CONTROLD_CATALOGUE_H
#define MB_CONTROLD_CATALOGUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mb_error.h"
#include "mbt.h"

/* A guest's memory statistics at upload time; -1 = not reported. */
struct vm_stats {
	int64_t mem_total_kb;
	int64_t mem_available_kb;
	int64_t swap_total_kb;
	int64_t swap_free_kb;
	int64_t pswpin;
	int64_t pswpout;
};

void vm_stats_init(struct vm_stats *s);

/* One stored version of one VM's trace. */
struct trace_record {
	char uuid[37];
	uint64_t version;
	uint64_t size;			/* bytes of the .mbt file */
	char name[MBT_NAME_LEN];	/* VM name */
	char kernel[MBT_NAME_LEN];
	int algorithm;
	uint64_t page_count, used_pages, free_pages;
	uint64_t capture_time_ns, scan_ns;
	int64_t upload_time;		/* seconds since the epoch */
	char source[16];		/* "http" or "legacy" */
	struct vm_stats stats;
};

struct catalogue;

/*
 * Open (creating if needed) the catalogue at @path. A file SQLite cannot
 * read or whose integrity check fails is renamed to @path.damaged and a new
 * one is created; *@fresh tells the caller the catalogue starts empty and
 * must be rebuilt from the files. NULL on failure.
 */
struct catalogue *catalogue_open(const char *path, bool *fresh,
				 struct mb_err *err);
void catalogue_close(struct catalogue *c);

/* Insert or replace one version; raises the VM's high-water version. */
int catalogue_add(struct catalogue *c, const struct trace_record *r,
		  struct mb_err *err);

/* Delete one version (no error when absent). */
int catalogue_remove(struct catalogue *c, const char *uuid, uint64_t version,
		     struct mb_err *err);

/* Highest version ever recorded for @uuid (0 if none), kept after removal. */
int catalogue_high_water(struct catalogue *c, const char *uuid,
			 uint64_t *version, struct mb_err *err);

/* Fetch one version. Returns 1 when found, 0 when not, -1 on error. */
int catalogue_get(struct catalogue *c, const char *uuid, uint64_t version,
		  struct trace_record *r, struct mb_err *err);

/*
 * Call @fn for each recorded version of @uuid (all VMs when NULL), in
 * (uuid, version) order. A non-zero return from @fn stops the walk and is
 * returned.
 */
int catalogue_foreach(struct catalogue *c, const char *uuid,
		      int (*fn)(void *ctx, const struct trace_record *r),
		      void *ctx, struct mb_err *err);

/*
 * JSON views for the HTTP API (new references, NULL with @err on failure):
 * the list of VMs with version counts and ages at @now, one VM (json null
 * when unknown), one VM's versions.
 */
json_t *catalogue_vms_json(struct catalogue *c, int64_t now,
			   struct mb_err *err);
json_t *catalogue_vm_json(struct catalogue *c, const char *uuid, int64_t now,
			  struct mb_err *err);
json_t *catalogue_traces_json(struct catalogue *c, const char *uuid,
			      struct mb_err *err);
json_t *trace_record_json(const struct trace_record *r);

#endif /* MB_CONTROLD_CATALOGUE_H */
