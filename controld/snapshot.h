/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapshot.h - the input of a plan: the inventory and the trace catalogue
 * joined into one picture of the cluster (snapshot.c).
 *
 * Every running domain of an up host is joined by uuid with its latest
 * trace; what cannot be planned (no trace yet, an unreadable trace, a
 * trace of another digest algorithm, a trace no running domain has) is
 * listed in "unplanned", never dropped silently. Each planned VM carries
 * its digest set, its swap rate and why it is pinned, if it is.
 *
 * Digest sets come from a cache keyed by (uuid, version): a trace is read
 * and parsed once, when its version first appears, and later plans reuse
 * it. Entries no snapshot used in a whole round are dropped.
 */
#ifndef MB_CONTROLD_SNAPSHOT_H
#define MB_CONTROLD_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#include "balancer.h"
#include "catalogue.h"
#include "inventory.h"
#include "plan.h"
#include "scheduler.h"
#include "sharing.h"
#include "stats.h"
#include "store.h"

struct set_cache;

struct set_cache *set_cache_new(void);
void set_cache_free(struct set_cache *c);

/*
 * The digest set of trace @r, read from @store on a miss and named @name.
 * Owned by the cache, valid until the next set_cache_sweep(). NULL with
 * @err when the trace cannot be read or parsed.
 */
const struct mb_digest_set *set_cache_get(struct set_cache *c,
					  struct store *store,
					  const struct trace_record *r,
					  const char *name,
					  struct mb_err *err);

/* Drop the entries not asked for since the last sweep. */
void set_cache_sweep(struct set_cache *c);

/* Traces parsed, hits, and sets held now. */
void set_cache_counts(struct set_cache *c, uint64_t *loads, uint64_t *hits,
		      uint64_t *entries);

struct snapshot {
	struct inv_snapshot inv;
	/* The up hosts, as the planner numbers them. */
	size_t nhosts;
	struct plan_host *hosts;
	int *plan_host;			/* inventory index -> plan index, -1 */
	/* The VMs that can be planned. */
	size_t nvms;
	struct plan_vm *vms;
	uint64_t *versions;		/* trace version of each VM */
	const char **swap_source;	/* "guest stats", "libvirt", "traces" */
	char (*pins)[ACTION_TEXT_LEN];
	json_t *unplanned;		/* [{uuid, name, host, why}] */
};

/*
 * What snapshot_take() needs. @sched, @stats and @balancer may be NULL
 * (no pins; swap rates from the traces only; VMs counted at their
 * configured memory). With a balancer, a VM counts as its balanced target
 * and a host carries the sum of its VMs' CMAs.
 */
struct snapshot_sources {
	struct inventory *inv;
	struct catalogue *cat;
	struct store *store;
	struct set_cache *cache;
	struct scheduler *sched;
	struct stats *stats;
	struct balancer *balancer;
};

int snapshot_take(struct snapshot *s, const struct snapshot_sources *src,
		  struct mb_err *err);
void snapshot_free(struct snapshot *s);

/* The plan's "inputs": each planned VM, its trace version, host, memory. */
json_t *snapshot_inputs_json(const struct snapshot *s);

#endif /* MB_CONTROLD_SNAPSHOT_H */
