/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostside.h - who may upload a VM's trace (PUT /v1/vms/{uuid}/traces):
 * the VM itself, an admin, or the host that runs it, with the trace's
 * origin each may send (hostside.c, docs/security.md).
 */
#ifndef MB_CONTROLD_HOSTSIDE_H
#define MB_CONTROLD_HOSTSIDE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "inventory.h"
#include "mbt.h"

/* What a trace's header must say about where it was taken. */
struct trace_origin {
	uint16_t mask, want;		/* header flags & mask == want */
	const char *why;		/* the refusal when they do not */
	char host[AUTH_HOST_MAX];	/* a host token's host, or "" */
};

/*
 * Decide an upload of vm @uuid_text (@uuid) by the token in @header:
 *   - the VM's own token: a guest trace (no MBT_FLAG_FROM_HOST);
 *   - a host token (host=NAME): a host-side trace (MBT_FLAG_FROM_HOST),
 *     and only while the inventory @inv (NULL: no --host, no inventory)
 *     has the VM running on host NAME; when its last listing says
 *     otherwise, the hosts are asked again (a VM that just migrated);
 *   - an admin token, or no tokens at all (--insecure-no-auth): either.
 * Returns AUTH_OK with @o filled, AUTH_MISSING, AUTH_UNKNOWN, or
 * AUTH_FORBIDDEN with @msg saying why ("" when it is the plain "this
 * token may not" refusal).
 */
enum auth_result hostside_authorize(struct auth *a, struct inventory *inv,
				    const char *header,
				    const uint8_t uuid[MBT_UUID_LEN],
				    const char *uuid_text,
				    struct trace_origin *o, char *msg,
				    size_t size);

/*
 * The host running @uuid per the inventory's last listing: its name into
 * @host, or "" when none does. For hostside_authorize() and its tests.
 */
void hostside_listed_host(struct inventory *inv, const char *uuid,
			  char *host, size_t size);

#endif /* MB_CONTROLD_HOSTSIDE_H */
