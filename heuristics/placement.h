/* SPDX-License-Identifier: GPL-2.0 */
/*
 * placement.h - where each VM should run (docs/placement.md).
 *
 * A problem is a list of hosts (name, memory) and VMs (name, configured
 * memory, current host or none, digest set). A placement maps each VM to a
 * host index or -1 (unplaced). It is feasible when every host's memory in
 * use after sharing fits its capacity:
 *
 *   after_mb(G) = Σ memory_mb(v) - saved(G) * 4 KiB      (saved: sharing.h)
 *
 * Algorithms (all deterministic, ties broken by input order):
 *   first-fit  VMs in input order to the first host whose configured
 *              memory (no sharing counted) still has room: the baseline.
 *   classic    greedy by pair sharing: seed a host with the best-sharing
 *              pair, add the VM with the highest mean common() with the
 *              host's VMs while it fits, then the next host.
 *   buddies    the paper's consolidation: VMs by decreasing memory, each
 *              to the feasible host where it shares the most with the
 *              host's aggregate.
 *   optimal    exhaustive (dynamic programming over VM subsets) for at
 *              most MB_OPTIMAL_MAX_VMS VMs: most VMs placed, then fewest
 *              hosts used, then most memory saved.
 *
 * Nothing here prints; errors through struct mb_err.
 */
#ifndef MB_PLACEMENT_H
#define MB_PLACEMENT_H

#include <stddef.h>

#include "sharing.h"

struct mb_profile;

#define MB_OPTIMAL_MAX_VMS 12
#define MB_OPTIMAL_MAX_HOSTS 64

enum mb_place_algo {
	MB_PLACE_FIRST_FIT,
	MB_PLACE_CLASSIC,
	MB_PLACE_BUDDIES,
	MB_PLACE_OPTIMAL,
	MB_PLACE_COUNT,
};

/* "first-fit", "classic", "buddies", "optimal"; NULL when out of range. */
const char *mb_place_algo_name(int algo);

/* The algorithm called @name, or -1. */
int mb_place_algo_parse(const char *name);

struct mb_place_host {
	const char *name;
	double memory_mb;		/* capacity */
};

struct mb_place_vm {
	const char *name;
	double memory_mb;		/* configured memory */
	int host;			/* current host index, -1 = none */
	const struct mb_digest_set *set;
};

struct mb_placement {
	const struct mb_place_host *hosts;
	size_t nhosts;
	const struct mb_place_vm *vms;
	size_t nvms;
};

/*
 * Place the VMs of @p with @algo: @assign (nvms entries) receives a host
 * index or -1 per VM. Fails when the sets are not comparable, when
 * optimal gets more than MB_OPTIMAL_MAX_VMS VMs or MB_OPTIMAL_MAX_HOSTS
 * hosts, or when out of memory.
 */
int mb_place(const struct mb_placement *p, int algo, int *assign,
	     struct mb_err *err);

/*
 * mb_place() with @prof, the profile (profile.h) of the problem's VMs in
 * their order, for the sharing numbers instead of the sets' digests: the
 * same placement, faster; the sets then need only their pages and
 * distinct counts. NULL: mb_place(). Fails as mb_place() does, and when
 * @prof is not of the problem's number of VMs.
 */
int mb_place_with(const struct mb_placement *p, const struct mb_profile *prof,
		  int algo, int *assign, struct mb_err *err);

/* after_mb of the group of VMs whose indices are @members[0..n-1]. */
double mb_group_after_mb(const struct mb_placement *p, const size_t *members,
			 size_t n);

/* What a placement gives, against the current one (vms[].host). */
struct mb_place_eval {
	double *before_mb;		/* per host, current placement */
	double *after_mb;		/* per host, proposed placement */
	/*
	 * Totals. VMs without a current host count their configured memory
	 * in before_mb; unplaced VMs count theirs in after_mb.
	 */
	double before_total_mb;
	double after_total_mb;
	double saved_mb;		/* before - after */
	size_t placed, unplaced, hosts_used, moves;
	size_t over_capacity;		/* hosts whose after_mb > memory_mb */
};

int mb_place_evaluate(const struct mb_placement *p, const int *assign,
		      struct mb_place_eval *ev, struct mb_err *err);
/* mb_place_evaluate() from the profile @prof, as mb_place_with(). */
int mb_place_evaluate_with(const struct mb_placement *p,
			   const struct mb_profile *prof, const int *assign,
			   struct mb_place_eval *ev, struct mb_err *err);
void mb_place_eval_free(struct mb_place_eval *ev);

#endif /* MB_PLACEMENT_H */
