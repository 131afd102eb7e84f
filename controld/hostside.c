// SPDX-License-Identifier: GPL-2.0
/*
 * hostside.c - the upload rule for traces taken on either side of a VM
 * (hostside.h).
 *
 * A host-side trace (mb-hostd, MBT_FLAG_FROM_HOST) says what a VM's
 * memory holds as its hypervisor reads it; a guest trace (memtrace.ko)
 * what the guest itself reports. Each token may send only its own kind:
 * a guest cannot pass its trace off as the host's, and a host token,
 * which every VM of a host depends on, can only speak for the VMs that
 * host really runs. "Really runs" is the inventory's: the host listed by
 * libvirt as running the domain, asked again at the moment of the upload
 * when the last listing disagrees (a migration that just ended). A host
 * that controld does not manage (--host) has no VM at all.
 */
#include <stdio.h>
#include <string.h>

#include "hostside.h"

void hostside_listed_host(struct inventory *inv, const char *uuid,
			  char *host, size_t size)
{
	struct inv_snapshot snap;
	size_t i, j;

	host[0] = '\0';
	if (inventory_snapshot(inv, &snap))
		return;
	for (i = 0; i < snap.nhosts && !host[0]; i++)
		for (j = 0; j < snap.hosts[i].ndomains; j++)
			if (snap.hosts[i].up &&
			    inv_domain_running(&snap.hosts[i].domains[j]) &&
			    !strcmp(snap.hosts[i].domains[j].uuid, uuid)) {
				snprintf(host, size, "%s",
					 snap.hosts[i].spec.name);
				break;
			}
	inv_snapshot_free(&snap);
}

/* Does host @name run vm @uuid, by the last listing or by asking now? */
static bool host_runs(struct inventory *inv, const char *name,
		      const char *uuid, char *where, size_t size)
{
	char seen[512];
	int i;

	hostside_listed_host(inv, uuid, where, size);
	if (!strcmp(where, name))
		return true;
	i = inventory_locate(inv, uuid, seen, sizeof(seen));
	if (i >= 0)
		snprintf(where, size, "%s", inventory_spec(inv, (size_t)i)->name);
	return i >= 0 && !strcmp(where, name);
}

enum auth_result hostside_authorize(struct auth *a, struct inventory *inv,
				    const char *header,
				    const uint8_t uuid[MBT_UUID_LEN],
				    const char *uuid_text,
				    struct trace_origin *o, char *msg,
				    size_t size)
{
	struct auth_principal p;
	enum auth_result r;
	char where[AUTH_HOST_MAX];

	memset(o, 0, sizeof(*o));
	msg[0] = '\0';
	r = auth_identify(a, header, uuid, &p);
	if (r != AUTH_OK)
		return r;
	switch (p.kind) {
	case PRINCIPAL_ANYONE:
	case PRINCIPAL_ADMIN:
		return AUTH_OK;
	case PRINCIPAL_VM:
		if (!p.vm_match)
			return AUTH_FORBIDDEN;
		o->mask = MBT_FLAG_FROM_HOST;
		o->why = "a vm's token uploads the vm's own traces, not "
			 "host-side ones (FROM_HOST): those need its host's "
			 "token";
		return AUTH_OK;
	case PRINCIPAL_HOST:
		break;
	}
	if (!inv) {
		snprintf(msg, size, "host %s may not upload for vm %s: host "
			 "tokens need the inventory (--host), which says what "
			 "each host runs", p.host, uuid_text);
		return AUTH_FORBIDDEN;
	}
	if (inventory_host_index(inv, p.host) < 0) {
		snprintf(msg, size, "host %s may not upload for vm %s: it is "
			 "not one of controld's hosts (--host)", p.host,
			 uuid_text);
		return AUTH_FORBIDDEN;
	}
	if (!host_runs(inv, p.host, uuid_text, where, sizeof(where))) {
		snprintf(msg, size, "host %s may not upload for vm %s: the "
			 "inventory has it running %s%s", p.host, uuid_text,
			 where[0] ? "on " : "on no host", where);
		return AUTH_FORBIDDEN;
	}
	o->mask = MBT_FLAG_FROM_HOST;
	o->want = MBT_FLAG_FROM_HOST;
	o->why = "a host token uploads host-side traces (mb-hostd, flag "
		 "FROM_HOST) only";
	snprintf(o->host, sizeof(o->host), "%s", p.host);
	return AUTH_OK;
}
