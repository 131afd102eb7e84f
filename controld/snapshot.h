/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapshot.h - the input of a plan: the inventory and the trace catalogue
 * joined into one picture of the cluster (snapshot.c).
 *
 * Every running domain of an up host is joined by uuid with its latest
 * trace (of the side --prefer-traces names, when it has both); what
 * cannot be planned (no trace yet, an unreadable trace, a trace of
 * another digest space than most of its tenant's in tenant scope, of all
 * VMs' globally, a trace no running domain has) is listed in "unplanned",
 * never dropped silently. A digest space is an algorithm and a key: plain
 * digests, or keyed ones (MBT_FLAG_KEYED) under one tenant key (keys.h);
 * digests of two spaces never match, so they are never compared. Each planned VM carries
 * its digest set, its swap rate and why it is pinned, if it is.
 *
 * Digest sets come from a cache keyed by (uuid, version): a trace is read
 * and parsed once, when its version first appears, and later plans reuse
 * it. Entries no snapshot used in a whole round are dropped.
 *
 * Tenant scope (--sharing-scope tenant, docs/security.md): when the
 * planned VMs belong to more than one tenant, each VM's set is replaced by
 * a copy in a digest space of its tenant's own, so that no digest of one
 * tenant equals one of another and every sharing estimate (pairs, groups,
 * hosts, and so every policy) counts merging within a tenant only. 32-bit
 * digests are widened to 64 bits with the tenant's number on top: exact.
 * 64-bit ones are mixed with a secret random key per tenant (a bijection,
 * so a tenant's own sharing is unchanged): two tenants' digests then meet
 * only by chance, 2^-64 per pair, like two different pages, and nobody
 * who does not know the key can make them meet. Keyed digests are in a
 * space of their tenant's own already (its secret seed) and are copied,
 * not mixed again.
 */
#ifndef MB_CONTROLD_SNAPSHOT_H
#define MB_CONTROLD_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#include "auth.h"
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
	char (*trace_sources)[16];	/* its source: "http", "host", ... */
	const char **swap_source;	/* "guest stats", "libvirt", "traces" */
	char (*pins)[ACTION_TEXT_LEN];
	char (*tenants)[AUTH_TENANT_MAX];	/* each VM's, "" = none */
	struct mb_digest_set *scoped;	/* tenant-scoped sets, or NULL */
	size_t ntenants;		/* distinct tenants planned */
	json_t *unplanned;		/* [{uuid, name, host, why}] */
};

/*
 * What snapshot_take() needs. @sched, @stats and @balancer may be NULL
 * (no pins; swap rates from the traces only; VMs counted at their
 * configured memory). With a balancer, a VM counts as its balanced target
 * and a host carries the sum of its VMs' CMAs.
 */
/*
 * Which trace of a VM that has both a guest trace (memtrace.ko) and a
 * host-side one (mb-hostd) is planned with (--prefer-traces): the latest
 * of the preferred side, or of the other side when there is none.
 */
enum trace_pref {
	TRACE_PREFER_GUEST,		/* the default: the guest sees free pages */
	TRACE_PREFER_HOST,
	TRACE_PREFER_NEWEST,		/* whichever came last */
};

struct snapshot_sources {
	struct inventory *inv;
	struct catalogue *cat;
	struct store *store;
	struct set_cache *cache;
	struct scheduler *sched;
	struct stats *stats;
	struct balancer *balancer;
	struct auth *tenants;		/* NULL: --sharing-scope global */
	enum trace_pref prefer;		/* --prefer-traces */
};

int snapshot_take(struct snapshot *s, const struct snapshot_sources *src,
		  struct mb_err *err);
void snapshot_free(struct snapshot *s);

/*
 * How much VM @uuid shares with the VMs of host @host (MiB saved by
 * merging, beyond what each holds alone): 0 when either has no trace in
 * @s or @uuid already runs there. For sandpiper's ties.
 */
double snapshot_shared_mb(const struct snapshot *s, const char *uuid,
			  const char *host);

/* The plan's "inputs": each planned VM, its trace version, host, memory. */
json_t *snapshot_inputs_json(const struct snapshot *s);

/*
 * @in as a set in the digest space of tenant number @tenant (1, 2, ...)
 * under the secret @key (see above): 64-bit words, sorted, labelled
 * MB_ALGO_XXH64 and key id 0 whatever @in's algorithm and key (a keyed
 * @in is copied as it is) (the sharing library sizes a
 * set's words by its algorithm; all sets of a scoped plan are scoped, so
 * they stay comparable). @out owns its copy; free it with mb_set_free().
 * 0, or -1 when out of memory.
 */
int snapshot_scope_set(struct mb_digest_set *out,
		       const struct mb_digest_set *in, uint32_t tenant,
		       uint64_t key, struct mb_err *err);

#endif /* MB_CONTROLD_SNAPSHOT_H */
