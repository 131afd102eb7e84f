/* SPDX-License-Identifier: GPL-2.0 */
/*
 * balancer.h - the balancer (balancer.c): every --balance-interval, and at
 * once when a guest reports memory pressure, the balance policy decides
 * each VM's size from the live statistics, and the resizes go to the
 * scheduler like any action (queued with --apply; shown only, without).
 * Its last decisions are what `mbuddy balance` shows and what plans count
 * a VM's memory as.
 */
#ifndef MB_CONTROLD_BALANCER_H
#define MB_CONTROLD_BALANCER_H

#include <jansson.h>
#include <stdbool.h>

#include "balance.h"
#include "inventory.h"
#include "mb_error.h"
#include "scheduler.h"
#include "stats.h"

struct balancer_options {
	enum mb_balance_mode mode;
	unsigned int interval;		/* seconds between rounds */
	bool apply;			/* queue the resizes (--apply) */
	double floor_mb;		/* --resize-floor-mb */
	unsigned int stats_interval;	/* how fresh a sample must be */
};

struct balancer;

/* @inv, @stats and @sched must outlive the balancer. */
struct balancer *balancer_new(const struct balancer_options *o,
			      struct inventory *inv, struct stats *stats,
			      struct scheduler *sched, struct mb_err *err);

/* Start its thread; stop it (waits for a round under way) and free. */
int balancer_start(struct balancer *b, struct mb_err *err);
void balancer_free(struct balancer *b);

/*
 * VM @uuid reported memory pressure, its trigger having fired at
 * @fired_at (seconds): its host is balanced now, that VM counted as
 * stalling (policy_balance.h). Returns at once.
 */
void balancer_pressure(struct balancer *b, const char *uuid, double fired_at);

/* One round over every host, in the caller's thread (tests, startup). */
void balancer_round(struct balancer *b);

/*
 * What plans take from the last round: VM @uuid's target in MiB (false
 * when it has none), and host @name's sum of CMAs (false when unknown).
 */
bool balancer_vm_target(struct balancer *b, const char *uuid,
			double *target_mb);
bool balancer_host_cma(struct balancer *b, const char *name,
		       double *cma_sum_mb);

/* GET /v1/balance: every host and VM with its CMA, target, decision. */
json_t *balancer_json(struct balancer *b);

#endif /* MB_CONTROLD_BALANCER_H */
