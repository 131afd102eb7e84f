// SPDX-License-Identifier: GPL-2.0
/*
 * policy_balance.c - dynamic memory balancing through the balloon: CAGMA,
 * critical amount guaranteed memory allocation (Wu and Sun, "A Dynamic
 * Memory Allocation Approach for Virtualization Platforms", IEEE
 * BigDataSecurity 2017), or a split in proportion to recent misses (as
 * MEB's balancing does, Zhao and Wang, VEE 2009).
 *
 * Each VM's critical memory amount (CMA) comes from what is observed of it
 * (balancer.c builds struct mb_vm_observed from the guest's reports, or
 * from libvirt's balloon statistics when no mb-guestd runs in it); every
 * VM is then meant to keep at least min(CMA, its maximum), and the rest
 * of the host goes by need. The formulas are in heuristics/balance.h and
 * docs/balancing.md; what this file adds is the controller's view:
 *
 *   - the floor of every VM is min(--resize-floor-mb, its maximum);
 *   - a fixed VM (an action of it unfinished, a resize of it failed
 *     recently) is held at its size: floor = maximum = CMA = its size;
 *   - a VM that reported pressure (POST /v1/vms/{uuid}/pressure) counts
 *     as stalling at least emergency_psi %, which raises its CMA by the
 *     pressure term at once, before its next statistics say so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_balance.h"

void balance_settings_init(struct balance_settings *s,
			   enum mb_balance_mode mode, double floor_mb)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	mb_cma_defaults(&s->cma);
	mb_balance_defaults(&s->alloc);
	s->floor_mb = floor_mb;
	s->emergency_psi = 50;
}

static uint64_t mib(double v)
{
	return v > 0 ? (uint64_t)llround(v) : 0;
}

int policy_balance(const struct balance_in_host *in,
		   const struct balance_settings *s,
		   struct mb_balance_host *host, struct balance_out_vm *out,
		   struct mb_err *err)
{
	struct mb_balance_vm *bv = NULL;
	size_t i;
	int ret;

	memset(host, 0, sizeof(*host));
	host->capacity_mib = mib(in->capacity_mb);
	host->reserve_mib = 0;		/* already taken off the capacity */
	if (!in->nvms)
		return 0;
	for (i = 0; i < in->nvms; i++) {
		const struct balance_in_vm *v = &in->vms[i];
		struct mb_vm_observed o = v->obs;
		uint64_t max = mib(v->max_mb), floor = mib(s->floor_mb);

		if (v->emergency && !(o.psi_some_avg10 >= s->emergency_psi))
			o.psi_some_avg10 = s->emergency_psi;
		mb_balance_vm_prepare(&out[i].bv, &o, &s->cma,
				      floor < max ? floor : max, max,
				      (uint64_t)fmax(0, v->recent_misses),
				      &out[i].parts);
		if (v->fixed) {
			struct mb_balance_vm *b = &out[i].bv;

			b->floor_mib = b->max_mib = b->cma_mib = b->current_mib;
		}
	}
	/* The allocation works on a contiguous array of its own type. */
	bv = calloc(in->nvms, sizeof(*bv));
	if (!bv)
		return mb_errf(err, "balance: out of memory");
	for (i = 0; i < in->nvms; i++)
		bv[i] = out[i].bv;
	ret = mb_balance_allocate(host, bv, in->nvms, s->mode, &s->alloc, err);
	if (ret)
		mb_err_prefix(err, "balance host %s", in->name);
	for (i = 0; i < in->nvms && !ret; i++)
		out[i].bv = bv[i];
	free(bv);
	return ret;
}
