/* SPDX-License-Identifier: GPL-2.0 */
/*
 * control.h - mb-controld's controller: the loop that ticks, and what the
 * HTTP API asks of it (control.c).
 *
 * The parts it wires together:
 *   inventory.c   libvirt hosts and their domains
 *   collect.c     black-box statistics from libvirt, into stats.c
 *   snapshot.c    inventory x catalogue, the input of a plan
 *   plan.c        the policies (policy_*.c), in order, proposing actions
 *   scheduler.c   the queue and state machine of actions: migrate.c and
 *                 resize.c carry them out
 *   balancer.c    --balance: every --balance-interval, and at once on a
 *                 guest's pressure report, the balance policy's resizes
 *                 (policy_balance.c)
 *   sandpiper.c   --sandpiper: CPU, network and memory hotspots detected
 *                 every statistics round, resolved by migration
 *   controldb.c   plans and actions, DATADIR/control.db
 * Started only when hosts are configured.
 */
#ifndef MB_CONTROLD_CONTROL_H
#define MB_CONTROLD_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "auth.h"
#include "catalogue.h"
#include "controldb.h"
#include "hotspot.h"
#include "mb_error.h"
#include "stats.h"
#include "store.h"

struct control_options {
	char *const *hosts;
	unsigned int nhosts;
	unsigned int inventory_interval;
	unsigned int stats_interval;	/* 0 = no black-box statistics */
	unsigned int plan_interval;	/* 0 = on request only */
	double min_gain_mb;
	unsigned int max_moves;
	bool apply;
	unsigned int max_migrations;
	unsigned int migrate_bandwidth;	/* MiB/s */
	unsigned int migrate_timeout;
	unsigned int max_resizes;
	unsigned int resize_timeout;
	double resize_floor_mb;
	unsigned int retry_after;
	double swap_threshold;
	int balance;			/* enum mb_balance_mode, -1 = off */
	unsigned int balance_interval;
	int sandpiper;			/* enum mb_hs_mode, -1 = off */
	struct mb_hotspot_params sandpiper_params;
	unsigned int sandpiper_holdoff;
	/*
	 * The tenants of the VMs (the tokens file): sharing is counted only
	 * within a tenant (snapshot.h). NULL: across all VMs.
	 */
	struct auth *tenants;
	/* --prefer-traces: a VM's guest or host-side trace (snapshot.h). */
	int prefer_traces;
};

/* How a request went, for the API to turn into a status. */
enum control_status {
	CONTROL_OK = 0,
	CONTROL_INVALID,		/* the request is wrong (400) */
	CONTROL_NOT_FOUND,		/* no such plan, VM or host (404) */
	CONTROL_CONFLICT,		/* the VM is pinned (409) */
	CONTROL_FAILED,			/* a local failure (500) */
};

struct control;

/* @db, @stats, @store and @cat must outlive the controller. */
struct control *control_start(const struct control_options *o,
			      struct controldb *db, struct stats *stats,
			      struct store *store, struct catalogue *cat,
			      struct mb_err *err);
/*
 * Stop the loop; running actions go on in libvirt and are settled at the
 * next start. Returns true when nothing of the controller runs any more
 * (then it is freed, and its database may be closed); false when its loop
 * or an action is stuck in libvirt and it was left to the exiting process.
 */
bool control_stop(struct control *c);

json_t *control_hosts_json(struct control *c);
void control_annotate_vms(struct control *c, json_t *vms);
/* Whether host @name is configured. */
bool control_has_host(struct control *c, const char *name);

/* The inventory of the hosts (for the upload rule of hostside.c). */
struct inventory *control_inventory(struct control *c);

/* The latest stored plan (json null when none). */
json_t *control_plan_latest(struct control *c, struct mb_err *err);
/* Make a plan now, store it and return it. */
json_t *control_plan_new(struct control *c, struct mb_err *err);
/*
 * Queue the actions of plan @id (0: the latest). Returns the actions
 * queued; NULL with *@st and @err on failure (CONTROL_NOT_FOUND: no
 * such plan).
 */
json_t *control_plan_apply(struct control *c, int64_t id,
			   enum control_status *st, struct mb_err *err);

/*
 * Queue one action an operator asks for, from the JSON body of
 * POST /v1/actions: {"kind": "resize", "vm": UUID-or-name, "target_mb": N}
 * or {"kind": "migrate", "vm": ..., "to": HOST}, with an optional
 * "reason". Returns the queued action's record.
 */
json_t *control_action_submit(struct control *c, const json_t *req,
			      enum control_status *st, struct mb_err *err);

/*
 * Every action (@kind -1) or those of one kind, oldest first; with
 * @legacy, in the form of GET /v1/migrations.
 */
json_t *control_actions_json(struct control *c, int kind, bool legacy,
			     struct mb_err *err);

/*
 * VM @uuid reported memory pressure (POST /v1/vms/{uuid}/pressure), its
 * trigger having fired at @fired_at (seconds, our clock): with balancing
 * on, its host is balanced now. Returns false when balancing is off.
 */
bool control_pressure(struct control *c, const char *uuid, double fired_at);

/* GET /v1/balance: the balancer's last decisions ({"mode": "off"} when off). */
json_t *control_balance_json(struct control *c);

/* GET /v1/hotspots: sandpiper's view ({"mode": "off"} when off). */
json_t *control_hotspots_json(struct control *c);

/* Prometheus lines: actions by kind and state, the digest set cache. */
void control_metrics(struct control *c, FILE *out);

#endif /* MB_CONTROLD_CONTROL_H */
