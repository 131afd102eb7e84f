/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scenario.h - placement scenarios: hosts and VMs (with their traces) in a
 * JSON file, for offline testing of the placement algorithms.
 *
 *   {"hosts": [{"name": "h0", "memory_mb": 3072}, ...],
 *    "vms":   [{"name": "vm0", "trace": "memtraces/a.mbt",
 *               "memory_mb": 1024, "host": "h0"}, ...]}
 *
 * Rules (each broken one is an error naming the entry and the reason):
 * at least one host; names are non-empty strings, unique among hosts and
 * among VMs; memory_mb is a positive number (a VM's may be left out: it
 * then defaults to the trace's pages, free ones included, times 4 KiB);
 * "trace" is a path, relative to the scenario file's directory unless
 * absolute; "host" (optional, null allowed) names a listed host; no other
 * keys. Traces may be .mbt or the legacy text format.
 */
#ifndef MB_SCENARIO_H
#define MB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "placement.h"
#include "profile.h"
#include "sharing.h"

struct mb_scenario {
	struct mb_place_host *hosts;	/* names owned */
	size_t nhosts;
	struct mb_place_vm *vms;	/* names owned; set -> sets[i] */
	size_t nvms;
	char **trace_paths;		/* resolved paths, owned */
	struct mb_digest_set *sets;	/* after mb_scenario_load_traces() */
	struct mb_placement problem;	/* views of the above */
	/*
	 * After mb_scenario_load_profiled() of at most 64 VMs: the VMs'
	 * profile, and sets[] are descriptions only (pages and distinct
	 * counts, no digests). Otherwise zero (n == 0).
	 */
	struct mb_profile profile;
};

/*
 * Parse and validate the JSON text @json (@len bytes) without touching any
 * trace. Relative trace paths are resolved against @base_dir (NULL or ""
 * = as given). On failure @sc is left empty.
 */
int mb_scenario_parse(const char *json, size_t len, const char *base_dir,
		      struct mb_scenario *sc, struct mb_err *err);

/*
 * Load every VM's trace into its digest set (free pages counted when
 * @include_free) and fill in defaulted memory sizes. Errors name the VM
 * and the trace.
 */
int mb_scenario_load_traces(struct mb_scenario *sc, bool include_free,
			    struct mb_err *err);

/*
 * mb_scenario_load_traces() for mb_place_with(): a scenario of at most 64
 * VMs is loaded into sc->profile (split traces, no sort) and its sets
 * describe the VMs without their digests; more VMs load as by
 * mb_scenario_load_traces().
 */
int mb_scenario_load_traces_profiled(struct mb_scenario *sc,
				     bool include_free, struct mb_err *err);

/* Read @path, parse it, load the traces. Errors start with @path. */
int mb_scenario_load(const char *path, bool include_free,
		     struct mb_scenario *sc, struct mb_err *err);

/* mb_scenario_load() with mb_scenario_load_traces_profiled(). */
int mb_scenario_load_profiled(const char *path, bool include_free,
			      struct mb_scenario *sc, struct mb_err *err);

void mb_scenario_free(struct mb_scenario *sc);

#endif /* MB_SCENARIO_H */
