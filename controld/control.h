/* SPDX-License-Identifier: GPL-2.0 */
/*
 * control.h - mb-controld's control loop: inventory, plans, migrations
 * (control.c, inventory.c, plan.c, migrate.c). Started only when hosts are
 * configured; the HTTP API calls the functions below.
 */
#ifndef MB_CONTROLD_CONTROL_H
#define MB_CONTROLD_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalogue.h"
#include "mb_error.h"
#include "store.h"

struct control_options {
	char *const *hosts;
	unsigned int nhosts;
	const char *datadir;		/* DATADIR/control.db */
	unsigned int inventory_interval;
	unsigned int plan_interval;
	double min_gain_mb;
	unsigned int max_moves;
	bool apply;
	unsigned int max_migrations;
	unsigned int migrate_bandwidth;	/* MiB/s */
	unsigned int migrate_timeout;
	unsigned int retry_after;
	double swap_threshold;
};

struct control;

struct control *control_start(const struct control_options *o,
			      struct store *store, struct catalogue *cat,
			      struct mb_err *err);
/* Stop the loop; running migrations go on in libvirt and are recovered at
 * the next start. */
void control_stop(struct control *c);

json_t *control_hosts_json(struct control *c);
void control_annotate_vms(struct control *c, json_t *vms);

/* The latest stored plan (json null when none). */
json_t *control_plan_latest(struct control *c, struct mb_err *err);
/* Make a plan now, store it and return it. */
json_t *control_plan_new(struct control *c, struct mb_err *err);
/*
 * Queue the moves of plan @id (0: the latest) as migrations. Returns the
 * migrations queued; *@status is 404 when there is no such plan.
 */
json_t *control_plan_apply(struct control *c, int64_t id, int *status,
			   struct mb_err *err);
json_t *control_migrations_json(struct control *c, struct mb_err *err);

#endif /* MB_CONTROLD_CONTROL_H */
