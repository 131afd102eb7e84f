// SPDX-License-Identifier: GPL-2.0
/*
 * migrate.c - live migration with virDomainMigrateToURI3.
 *
 * Peer-to-peer: controld asks the source libvirtd, which connects to the
 * destination libvirtd itself (the destination host's URI) and moves the
 * memory over the destination's migrate-uri when one is configured (e.g.
 * tcp://10.0.0.2:49152) or the address libvirt picks. Flags: LIVE (the
 * guest keeps running while memory is copied), PEER2PEER, PERSIST_DEST
 * (the domain is defined on the destination) and, for a domain persistent
 * on the source, UNDEFINE_SOURCE, which libvirt performs only after the
 * destination has taken over. Whatever libvirt answers, both hosts are
 * then asked where the VM actually runs: that, not the return code, is
 * recorded as the VM's host.
 */
#include <stdio.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "migrate.h"

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

void migrate_run(struct inventory *inv, const struct migrate_request *rq,
		 void (*started)(void *ctx), void *ctx,
		 struct migrate_result *res)
{
	const struct inv_host_spec *dst = inventory_spec(inv, rq->dst);
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0, rc;
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
			     VIR_MIGRATE_PERSIST_DEST;
	virConnectPtr sc = NULL;
	virDomainPtr dom = NULL;
	int where;

	memset(res, 0, sizeof(*res));
	res->located = -1;
	where = inventory_locate(inv, rq->uuid, res->seen, sizeof(res->seen));
	if (where == rq->dst) {
		res->ok = true;
		res->already_there = true;
		res->located = where;
		return;
	}
	if (where != rq->src) {
		snprintf(res->error, sizeof(res->error), "the VM does not run "
			 "on %s (%s)", inventory_spec(inv, rq->src)->name,
			 res->seen);
		res->located = where;
		return;
	}
	/*
	 * A connection of its own: calls on a connection are answered in
	 * order, and the inventory's listings must not wait behind a
	 * migration that takes minutes.
	 */
	sc = virConnectOpen(inventory_spec(inv, rq->src)->uri);
	if (!sc || !(dom = virDomainLookupByUUIDString(sc, rq->uuid))) {
		snprintf(res->error, sizeof(res->error), "%s", last_error());
		goto locate;
	}
	if (virDomainIsPersistent(dom) == 1)
		flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
	if (dst->migrate_uri[0] &&
	    virTypedParamsAddString(&params, &nparams, &maxparams,
				    VIR_MIGRATE_PARAM_URI, dst->migrate_uri))
		goto params_failed;
	if (rq->bandwidth &&
	    virTypedParamsAddULLong(&params, &nparams, &maxparams,
				    VIR_MIGRATE_PARAM_BANDWIDTH,
				    rq->bandwidth))
		goto params_failed;
	if (started)
		started(ctx);
	rc = virDomainMigrateToURI3(dom, dst->uri, params, nparams, flags);
	if (rc < 0) {
		snprintf(res->error, sizeof(res->error), "%s", last_error());
		inventory_conn_failed(inv, rq->src);
	}
	goto locate;
params_failed:
	snprintf(res->error, sizeof(res->error), "migration parameters: %s",
		 last_error());
locate:
	virTypedParamsFree(params, nparams);
	if (dom)
		virDomainFree(dom);
	if (sc)
		virConnectClose(sc);
	res->located = inventory_locate(inv, rq->uuid, res->seen,
					sizeof(res->seen));
	res->ok = !res->error[0] && res->located == rq->dst;
	if (!res->ok && !res->error[0])
		snprintf(res->error, sizeof(res->error), "libvirt reported "
			 "success but the VM does not run on %s (%s)",
			 dst->name, res->seen);
}

static virDomainPtr lookup(struct inventory *inv, int src, const char *uuid,
			   virConnectPtr *conn)
{
	virDomainPtr d;

	/* Not the shared connection: see migrate_run(). */
	*conn = virConnectOpen(inventory_spec(inv, src)->uri);
	if (!*conn)
		return NULL;
	d = virDomainLookupByUUIDString(*conn, uuid);
	if (!d) {
		virConnectClose(*conn);
		*conn = NULL;
	}
	return d;
}

int migrate_abort(struct inventory *inv, int src, const char *uuid)
{
	virConnectPtr c;
	virDomainPtr d = lookup(inv, src, uuid, &c);
	int rc;

	if (!d)
		return -1;
	rc = virDomainAbortJob(d);
	if (rc)
		log_warn("aborting the migration of %s: %s", uuid,
			 last_error());
	virDomainFree(d);
	virConnectClose(c);
	return rc;
}

int migrate_job_active(struct inventory *inv, int src, const char *uuid)
{
	virConnectPtr c = inventory_conn(inv, src);
	virDomainJobInfo ji;
	virDomainPtr d;
	int rc;

	if (!c)
		return -1;
	d = virDomainLookupByUUIDString(c, uuid);
	if (!d) {
		rc = virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? 0 : -1;
		virConnectClose(c);
		return rc;
	}
	rc = virDomainGetJobInfo(d, &ji) == 0 && ji.type != VIR_DOMAIN_JOB_NONE;
	virDomainFree(d);
	virConnectClose(c);
	return rc;
}
