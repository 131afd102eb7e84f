/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy.h - the interface of a policy, and the working placement all
 * policies of one plan share (plan.c).
 *
 * A policy looks at the cluster as the policies before it left it (the
 * working placement: every VM's host after the moves proposed so far) and
 * proposes actions through plan_propose_move(), which records the action
 * with its reason and expected effect and applies it to the working
 * placement. What it considered and did not propose it reports with
 * plan_skip(). Adding a policy is one file and one row in plan.c's table.
 *
 * Memory in use on a host is mb_group_after_mb() of the VMs on it
 * (placement.h): their configured memory minus what merging their
 * identical pages saves.
 */
#ifndef MB_CONTROLD_POLICY_H
#define MB_CONTROLD_POLICY_H

#include "placement.h"
#include "plan.h"

struct plan_work {
	const struct plan_host *hosts;
	size_t nhosts;
	const struct plan_vm *vms;
	size_t nvms;
	const struct plan_opts *o;
	struct plan_result *r;
	struct mb_placement p;		/* for the heuristics library */
	struct mb_place_vm *pv;		/* p.vms, writable */
	int *cur;			/* working placement: host of each VM */
	size_t *members;		/* scratch */
	size_t nmoves;			/* migrations proposed so far */
	const char *policy;		/* the policy now running */
};

struct policy {
	const char *name;
	/* Propose actions on @w; 0, or -1 with @err. */
	int (*propose)(struct plan_work *w, struct mb_err *err);
};

extern const struct policy policy_hotspot;	/* policy_hotspot.c */
extern const struct policy policy_buddies;	/* policy_buddies.c */

#define PLAN_EPS 1e-6

/* Memory in use on host @h: without VM @minus, with VM @plus (-1: none). */
double plan_after(struct plan_work *w, int h, long minus, long plus);

/*
 * What moving VM @v to host @to saves (the two hosts' memory in use before
 * minus after); *@dst_after gets @to's memory in use after the move.
 */
double plan_move_gain(struct plan_work *w, size_t v, int to,
		      double *dst_after);

/* Propose moving @v to @to and apply it to the working placement. */
int plan_propose_move(struct plan_work *w, size_t v, int to, double gain,
		      bool hotspot, const char *reason, struct mb_err *err);

/* Report a move the policy wanted and did not propose, and why. */
int plan_skip(struct plan_work *w, size_t v, int to, double gain,
	      const char *why, struct mb_err *err);

#endif /* MB_CONTROLD_POLICY_H */
