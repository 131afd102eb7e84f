/* SPDX-License-Identifier: GPL-2.0 */
/*
 * action_kinds.h - the kinds of action the scheduler carries out, one
 * struct action_ops each: migrate (migrate.c) and resize (resize.c), and
 * what they share: the inventory and their settings.
 */
#ifndef MB_CONTROLD_ACTION_KINDS_H
#define MB_CONTROLD_ACTION_KINDS_H

#include "inventory.h"
#include "scheduler.h"

struct action_env {
	struct inventory *inv;
	unsigned int migrate_bandwidth;	/* MiB/s, 0 = libvirt's default */
	double resize_floor_mb;		/* no balloon goes below this */
	unsigned int resize_poll_ms;	/* how often a resize looks */
};

extern const struct action_ops migrate_ops;
extern const struct action_ops resize_ops;

/* The scheduler's host_index callback: @env is a struct action_env. */
int action_env_host_index(void *env, const char *name);

/*
 * Check a resize of a VM whose configured maximum is @max_mb to @target_mb
 * against that maximum and the floor: 0, or -1 with @err saying which
 * bound and by how much.
 */
int resize_check(const struct action_env *env, const char *vm,
		 double target_mb, double max_mb, struct mb_err *err);

/*
 * How close the balloon must come to its target for a resize to be done:
 * max(4 MiB, 1 % of the target).
 */
double resize_tolerance_mb(double target_mb);

#endif /* MB_CONTROLD_ACTION_KINDS_H */
