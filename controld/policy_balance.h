/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy_balance.h - the balance policy (policy_balance.c): one host's VMs
 * as observed in, a target size for each out, with its reason. The CMA
 * and the allocation are heuristics/balance.h's, the same functions
 * `mbuddy balance-sim --policy cagma` runs; this file only maps the
 * controller's view of a VM onto them. Pure computation.
 */
#ifndef MB_CONTROLD_POLICY_BALANCE_H
#define MB_CONTROLD_POLICY_BALANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "balance.h"
#include "mb_error.h"

/* One VM of a host, as the balancing round sees it. */
struct balance_in_vm {
	const char *uuid;
	const char *name;
	struct mb_vm_observed obs;	/* current_mib: its balloon now */
	double max_mb;			/* its configured maximum */
	double recent_misses;		/* faults over the last interval */
	bool fixed;			/* keep its size: an action of it is
					 * unfinished, or resizing it failed */
	bool emergency;			/* it reported pressure since the
					 * last round */
};

struct balance_in_host {
	const char *name;
	double capacity_mb;		/* what its VMs may hold in all */
	size_t nvms;
	struct balance_in_vm *vms;
};

struct balance_settings {
	enum mb_balance_mode mode;
	struct mb_cma_params cma;
	struct mb_balance_params alloc;
	double floor_mb;		/* --resize-floor-mb */
	double emergency_psi;		/* a pressure report counts as at
					 * least this PSI avg10 (%) */
};

struct balance_out_vm {
	struct mb_balance_vm bv;	/* cma_mib, target_mib, action, reason */
	struct mb_cma_parts parts;
};

/* The defaults of balance.h, an emergency PSI of 50 %. */
void balance_settings_init(struct balance_settings *s,
			   enum mb_balance_mode mode, double floor_mb);

/*
 * Decide the next size of every VM of @in into @out (in->nvms entries)
 * and the host's totals into @host. A fixed VM keeps its size (its floor,
 * maximum and CMA are its size); an emergency VM's PSI counts as at least
 * s->emergency_psi, so that its CMA grows by the pressure term and the
 * allocation gives it memory at once, from the host's free memory first,
 * then from VMs above their CMA. 0, or -1 with @err (the bounds cannot
 * hold: fixed VMs alone hold more than the capacity).
 */
int policy_balance(const struct balance_in_host *in,
		   const struct balance_settings *s,
		   struct mb_balance_host *host, struct balance_out_vm *out,
		   struct mb_err *err);

#endif /* MB_CONTROLD_POLICY_BALANCE_H */
