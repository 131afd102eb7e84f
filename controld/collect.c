// SPDX-License-Identifier: GPL-2.0
/*
 * collect.c - the black-box statistics: one round over every host that is
 * up, every --stats-interval seconds (collect.h).
 *
 * Per host, one virConnectGetAllDomainStats call for its active domains
 * (state, CPU time, vCPUs, balloon, interfaces; NOWAIT, so a domain busy
 * with a migration job is reported with what libvirt has at hand instead
 * of blocking the round), then the node's CPU times and memory
 * (virNodeGetCPUStats, virNodeGetMemoryStats). Domains paused for an
 * incoming migration are left out: the VM is counted where it runs.
 *
 * QEMU refreshes a balloon's guest statistics (swap in/out, faults,
 * usable, available) only when asked to poll: a domain whose statistics
 * carry no "balloon.last-update" gets virDomainSetMemoryStatsPeriod(
 * --stats-interval, AFFECT_LIVE) once, so its running instance reports
 * them; its configuration is not changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "collect.h"
#include "log.h"

struct asked {
	char uuid[37];
	int64_t domid;
};

struct collector {
	struct inventory *inv;
	struct stats *stats;
	unsigned int interval;
	struct asked *asked;		/* balloon periods already set */
	size_t nasked, asked_cap;
};

struct collector *collector_new(struct inventory *inv, struct stats *stats,
				unsigned int interval, struct mb_err *err)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c) {
		mb_errf(err, "statistics collector: out of memory");
		return NULL;
	}
	c->inv = inv;
	c->stats = stats;
	c->interval = interval;
	return c;
}

void collector_free(struct collector *c)
{
	if (!c)
		return;
	free(c->asked);
	free(c);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t ull(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v;
	unsigned int u;

	if (virTypedParamsGetULLong(p, n, name, &v) == 1)
		return (int64_t)v;
	if (virTypedParamsGetUInt(p, n, name, &u) == 1)
		return u;
	return -1;
}

static bool asked_before(struct collector *c, const char *uuid, int64_t id)
{
	size_t i;

	for (i = 0; i < c->nasked; i++)
		if (!strcmp(c->asked[i].uuid, uuid) && c->asked[i].domid == id)
			return true;
	if (c->nasked == c->asked_cap) {
		size_t cap = c->asked_cap ? c->asked_cap * 2 : 16;
		struct asked *g = realloc(c->asked, cap * sizeof(*g));

		if (!g)
			return true;	/* then never ask */
		c->asked = g;
		c->asked_cap = cap;
	}
	/* Bounded: a restarted domain replaces its old entry. */
	for (i = 0; i < c->nasked; i++)
		if (!strcmp(c->asked[i].uuid, uuid))
			break;
	snprintf(c->asked[i].uuid, sizeof(c->asked[i].uuid), "%s", uuid);
	c->asked[i].domid = id;
	if (i == c->nasked)
		c->nasked++;
	return false;
}

static void domain_record(struct collector *c, const char *host,
			  virDomainStatsRecordPtr r, double t)
{
	virTypedParameterPtr p = r->params;
	int n = r->nparams, state = -1, reason = -1, i, count;
	struct vm_counters vc;
	char uuid[VIR_UUID_STRING_BUFLEN], key[64], *q;
	const char *name = virDomainGetName(r->dom);

	virTypedParamsGetInt(p, n, "state.state", &state);
	virTypedParamsGetInt(p, n, "state.reason", &reason);
	if (state == VIR_DOMAIN_PAUSED && (reason == VIR_DOMAIN_PAUSED_MIGRATION ||
					   reason == VIR_DOMAIN_PAUSED_POSTCOPY))
		return;
	if (state != VIR_DOMAIN_RUNNING && state != VIR_DOMAIN_BLOCKED &&
	    state != VIR_DOMAIN_PAUSED)
		return;
	if (virDomainGetUUIDString(r->dom, uuid))
		return;
	for (q = uuid; *q; q++)
		if (*q >= 'A' && *q <= 'F')
			*q += 'a' - 'A';
	memset(&vc, 0, sizeof(vc));
	vc.t = t;
	snprintf(vc.host, sizeof(vc.host), "%s", host);
	vc.domid = (int64_t)virDomainGetID(r->dom);
	vc.cpu_time_ns = ull(p, n, "cpu.time");
	vc.vcpus = ull(p, n, "vcpu.current");
	vc.balloon_kb = ull(p, n, "balloon.current");
	vc.balloon_max_kb = ull(p, n, "balloon.maximum");
	vc.rss_kb = ull(p, n, "balloon.rss");
	vc.usable_kb = ull(p, n, "balloon.usable");
	vc.available_kb = ull(p, n, "balloon.available");
	vc.unused_kb = ull(p, n, "balloon.unused");
	vc.swap_in_kb = ull(p, n, "balloon.swap_in");
	vc.swap_out_kb = ull(p, n, "balloon.swap_out");
	vc.major_faults = ull(p, n, "balloon.major_fault");
	vc.minor_faults = ull(p, n, "balloon.minor_fault");
	count = (int)ull(p, n, "net.count");
	vc.rx_bytes = vc.tx_bytes = count > 0 ? 0 : -1;
	for (i = 0; i < count; i++) {
		int64_t rx, tx;

		snprintf(key, sizeof(key), "net.%d.rx.bytes", i);
		rx = ull(p, n, key);
		snprintf(key, sizeof(key), "net.%d.tx.bytes", i);
		tx = ull(p, n, key);
		vc.rx_bytes = rx < 0 || vc.rx_bytes < 0 ? -1 : vc.rx_bytes + rx;
		vc.tx_bytes = tx < 0 || vc.tx_bytes < 0 ? -1 : vc.tx_bytes + tx;
	}
	stats_add_vm(c->stats, uuid, name, &vc);
	if (vc.balloon_kb >= 0 && ull(p, n, "balloon.last-update") < 0 &&
	    !asked_before(c, uuid, vc.domid)) {
		if (virDomainSetMemoryStatsPeriod(r->dom, (int)c->interval,
						  VIR_DOMAIN_AFFECT_LIVE))
			log_debug("host %s: %s: no balloon statistics: %s",
				  host, name, virGetLastErrorMessage());
		else
			log_debug("host %s: %s: balloon statistics every %u s",
				  host, name, c->interval);
	}
}

static void host_record(struct collector *c, virConnectPtr conn,
			const char *host, unsigned int cpus, double t)
{
	virNodeCPUStatsPtr cs = NULL;
	virNodeMemoryStatsPtr ms = NULL;
	struct host_counters hc;
	int n = 0, i;
	int64_t busy = 0, idle = 0;

	memset(&hc, 0, sizeof(hc));
	hc.t = t;
	hc.cores = cpus ? (int64_t)cpus : -1;
	hc.cpu_busy_ns = hc.cpu_total_ns = -1;
	hc.mem_total_kb = hc.mem_free_kb = -1;
	hc.mem_buffers_kb = hc.mem_cached_kb = -1;
	if (virNodeGetCPUStats(conn, VIR_NODE_CPU_STATS_ALL_CPUS, NULL, &n,
			       0) == 0 && n > 0 &&
	    (cs = calloc(n, sizeof(*cs))) &&
	    virNodeGetCPUStats(conn, VIR_NODE_CPU_STATS_ALL_CPUS, cs, &n,
			       0) == 0) {
		for (i = 0; i < n; i++) {
			if (!strcmp(cs[i].field, VIR_NODE_CPU_STATS_KERNEL) ||
			    !strcmp(cs[i].field, VIR_NODE_CPU_STATS_USER))
				busy += cs[i].value;
			else if (!strcmp(cs[i].field, VIR_NODE_CPU_STATS_IDLE) ||
				 !strcmp(cs[i].field, VIR_NODE_CPU_STATS_IOWAIT))
				idle += cs[i].value;
		}
		hc.cpu_busy_ns = busy;
		hc.cpu_total_ns = busy + idle;
	}
	n = 0;
	if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL,
				  &n, 0) == 0 && n > 0 &&
	    (ms = calloc(n, sizeof(*ms))) &&
	    virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, ms,
				  &n, 0) == 0) {
		for (i = 0; i < n; i++) {
			int64_t v = (int64_t)ms[i].value;

			if (!strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_TOTAL))
				hc.mem_total_kb = v;
			else if (!strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_FREE))
				hc.mem_free_kb = v;
			else if (!strcmp(ms[i].field,
					 VIR_NODE_MEMORY_STATS_BUFFERS))
				hc.mem_buffers_kb = v;
			else if (!strcmp(ms[i].field,
					 VIR_NODE_MEMORY_STATS_CACHED))
				hc.mem_cached_kb = v;
		}
	}
	free(cs);
	free(ms);
	stats_add_host(c->stats, host, &hc);
}

void collector_round(struct collector *c)
{
	struct inv_snapshot snap;
	size_t i;

	if (inventory_snapshot(c->inv, &snap))
		return;
	for (i = 0; i < snap.nhosts; i++) {
		unsigned int flags = VIR_DOMAIN_STATS_STATE |
				     VIR_DOMAIN_STATS_CPU_TOTAL |
				     VIR_DOMAIN_STATS_BALLOON |
				     VIR_DOMAIN_STATS_VCPU |
				     VIR_DOMAIN_STATS_INTERFACE;
		virDomainStatsRecordPtr *recs = NULL;
		virConnectPtr conn;
		double t;
		int n, j;

		if (!snap.hosts[i].up ||
		    !(conn = inventory_conn_if_up(c->inv, i)))
			continue;
		t = now_s();
		n = virConnectGetAllDomainStats(conn, flags, &recs,
			VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE |
			VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
		if (n < 0) {
			log_debug("host %s: domain statistics: %s",
				  snap.hosts[i].spec.name,
				  virGetLastErrorMessage());
			inventory_conn_failed(c->inv, i);
		}
		for (j = 0; j < n; j++)
			domain_record(c, snap.hosts[i].spec.name, recs[j], t);
		if (recs)
			virDomainStatsRecordListFree(recs);
		if (n >= 0)
			host_record(c, conn, snap.hosts[i].spec.name,
				    snap.hosts[i].cpus, t);
		virConnectClose(conn);
	}
	inv_snapshot_free(&snap);
}
