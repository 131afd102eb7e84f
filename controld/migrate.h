/* SPDX-License-Identifier: GPL-2.0 */
/*
 * migrate.h - one live migration through libvirt (migrate.c), the
 * "migrate" kind of action (migrate_ops in action_kinds.h).
 */
#ifndef MB_CONTROLD_MIGRATE_H
#define MB_CONTROLD_MIGRATE_H

#include <stdbool.h>

#include "inventory.h"

/*
 * Whether the domain @uuid has a job running on host @src: 1 yes, 0 no,
 * -1 cannot tell (host unreachable).
 */
int migrate_job_active(struct inventory *inv, int src, const char *uuid);

#endif /* MB_CONTROLD_MIGRATE_H */
