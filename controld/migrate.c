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
 *
 * This is the "migrate" kind of the scheduler (migrate_ops): run, abort on
 * timeout, resolve after a restart, and the one conflict rule.
 */
#include <stdio.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "action_kinds.h"
#include "log.h"
#include "migrate.h"

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

/* Carry out @job: the migration, then ask every host where the VM runs. */
static void migrate_action(void *envp, struct action_job *job,
			   struct action_result *res)
{
	struct action_env *env = envp;
	struct inventory *inv = env->inv;
	const struct inv_host_spec *dst = inventory_spec(inv, job->dst);
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0, rc;
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
			     VIR_MIGRATE_PERSIST_DEST;
	const char *uuid = job->a.uuid;
	virConnectPtr sc = NULL;
	virDomainPtr dom = NULL;
	int where;

	where = inventory_locate(inv, uuid, res->note, sizeof(res->note));
	if (where == job->dst) {
		res->ok = true;
		snprintf(res->host, sizeof(res->host), "%s", dst->name);
		snprintf(res->note, sizeof(res->note), "already on the "
			 "destination");
		return;
	}
	if (where != job->src) {
		snprintf(res->error, sizeof(res->error), "the VM does not run "
			 "on %s (%s)", inventory_spec(inv, job->src)->name,
			 res->note);
		if (where >= 0)
			snprintf(res->host, sizeof(res->host), "%s",
				 inventory_spec(inv, where)->name);
		return;
	}
	/*
	 * A connection of its own: calls on a connection are answered in
	 * order, and the inventory's listings must not wait behind a
	 * migration that takes minutes.
	 */
	sc = virConnectOpen(inventory_spec(inv, job->src)->uri);
	if (!sc || !(dom = virDomainLookupByUUIDString(sc, uuid))) {
		snprintf(res->error, sizeof(res->error), "%s", last_error());
		goto locate;
	}
	if (virDomainIsPersistent(dom) == 1)
		flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
	if (dst->migrate_uri[0] &&
	    virTypedParamsAddString(&params, &nparams, &maxparams,
				    VIR_MIGRATE_PARAM_URI, dst->migrate_uri))
		goto params_failed;
	if (env->migrate_bandwidth &&
	    virTypedParamsAddULLong(&params, &nparams, &maxparams,
				    VIR_MIGRATE_PARAM_BANDWIDTH,
				    env->migrate_bandwidth))
		goto params_failed;
	action_job_started(job);
	rc = virDomainMigrateToURI3(dom, dst->uri, params, nparams, flags);
	if (rc < 0) {
		snprintf(res->error, sizeof(res->error), "%s", last_error());
		inventory_conn_failed(inv, job->src);
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
	where = inventory_locate(inv, uuid, res->note, sizeof(res->note));
	if (where >= 0)
		snprintf(res->host, sizeof(res->host), "%s",
			 inventory_spec(inv, where)->name);
	res->ok = !res->error[0] && where == job->dst;
	if (!res->ok && !res->error[0])
		snprintf(res->error, sizeof(res->error), "libvirt reported "
			 "success but the VM does not run on %s (%s)",
			 dst->name, res->note);
	inventory_refresh(inv, true);
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

/* The timeout: abort the migration job on the source. */
static void migrate_abort(void *envp, struct action_job *job)
{
	struct action_env *env = envp;
	virConnectPtr c;
	virDomainPtr d = lookup(env->inv, job->src, job->a.uuid, &c);

	if (!d)
		return;
	if (virDomainAbortJob(d))
		log_warn("aborting the migration of %s: %s", job->a.uuid,
			 last_error());
	virDomainFree(d);
	virConnectClose(c);
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

/*
 * A row left "running" by an earlier mb-controld: while the source still
 * has a job for the domain it stays running; then the VM is looked up on
 * every host, and the row is done when it runs on the destination.
 */
static int migrate_resolve(void *envp, const struct action *a, int src,
			   int dst, struct action_result *res)
{
	struct action_env *env = envp;
	int active = migrate_job_active(env->inv, src, a->uuid), where;

	if (active != 0)
		return active > 0 ? 1 : -1;
	where = inventory_locate(env->inv, a->uuid, res->note,
				 sizeof(res->note));
	if (where >= 0)
		snprintf(res->host, sizeof(res->host), "%s",
			 inventory_spec(env->inv, where)->name);
	res->ok = where == dst;
	if (res->ok)
		res->note[0] = '\0';
	else
		snprintf(res->error, sizeof(res->error), "controld stopped "
			 "during the migration, which did not complete");
	return 0;
}

/* Never two migrations crossing one host pair in opposite directions. */
static bool migrate_conflicts(const struct action_job *a,
			      const struct action_job *other)
{
	return other->a.kind == ACTION_MIGRATE && other->src == a->dst &&
	       other->dst == a->src;
}

const struct action_ops migrate_ops = {
	.name = "migrate",
	.run = migrate_action,
	.abort = migrate_abort,
	.resolve = migrate_resolve,
	.conflicts = migrate_conflicts,
};
