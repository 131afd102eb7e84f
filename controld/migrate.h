/* SPDX-License-Identifier: GPL-2.0 */
/*
 * migrate.h - one live migration through libvirt (migrate.c).
 */
#ifndef MB_CONTROLD_MIGRATE_H
#define MB_CONTROLD_MIGRATE_H

#include <stdbool.h>

#include "inventory.h"

struct migrate_request {
	const char *uuid;
	int src, dst;			/* inventory host indices */
	unsigned int bandwidth;		/* MiB/s, 0 = libvirt's default */
};

struct migrate_result {
	bool ok;
	bool already_there;		/* it ran on dst before we started */
	int located;			/* host index it runs on, -1 = none */
	char error[512];		/* libvirt's message on failure */
	char seen[512];			/* what each host said afterwards */
};

/*
 * Migrate (live, peer-to-peer, persistent on the destination, and the
 * source definition removed when the domain was persistent there) and
 * then ask both hosts where the VM runs. Blocks for the whole migration.
 * @started is called once the migration is about to begin.
 */
void migrate_run(struct inventory *inv, const struct migrate_request *rq,
		 void (*started)(void *ctx), void *ctx,
		 struct migrate_result *res);

/* Abort the migration job of @uuid on host @src (for the timeout). */
int migrate_abort(struct inventory *inv, int src, const char *uuid);

/*
 * Whether the domain @uuid has a job running on host @src: 1 yes, 0 no,
 * -1 cannot tell (host unreachable).
 */
int migrate_job_active(struct inventory *inv, int src, const char *uuid);

#endif /* MB_CONTROLD_MIGRATE_H */
