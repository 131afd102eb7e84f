/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sandpiper.h - the sandpiper policy (sandpiper.c): CPU, network and
 * memory hotspots of hosts, detected on the live statistics and resolved
 * by migration (heuristics/hotspot.h, docs/hotspots.md). One round per
 * statistics round of the controller.
 */
#ifndef MB_CONTROLD_SANDPIPER_H
#define MB_CONTROLD_SANDPIPER_H

#include <jansson.h>
#include <stdbool.h>

#include "controldb.h"
#include "hotspot.h"
#include "inventory.h"
#include "mb_error.h"
#include "scheduler.h"
#include "stats.h"

struct sandpiper_options {
	enum mb_hs_mode mode;		/* --sandpiper black|gray */
	struct mb_hotspot_params params;
	unsigned int holdoff;		/* seconds: no VM moves twice within */
	unsigned int stats_interval;
	bool apply;
};

/*
 * How much VM @uuid shares with the VMs of host @host, in MiB (Memory
 * Buddies' estimate from the traces); the controller provides it.
 */
typedef double (*sandpiper_sharing_fn)(void *ctx, const char *uuid,
				       const char *host);

struct sandpiper;

struct sandpiper *sandpiper_new(const struct sandpiper_options *o,
				struct inventory *inv, struct stats *stats,
				struct scheduler *sched, struct controldb *db,
				sandpiper_sharing_fn sharing, void *ctx,
				struct mb_err *err);
void sandpiper_free(struct sandpiper *sp);

/* Take one observation of every host and VM; detect; mitigate. */
void sandpiper_round(struct sandpiper *sp);

/* GET /v1/hotspots: settings, verdicts, profiles, the last mitigation. */
json_t *sandpiper_json(struct sandpiper *sp);

#endif /* MB_CONTROLD_SANDPIPER_H */
