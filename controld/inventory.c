// SPDX-License-Identifier: GPL-2.0
/*
 * inventory.c - which domains run on which libvirt host.
 *
 * Each configured host has one libvirt connection, opened lazily and
 * shared by whoever asks inventory_conn(): the listings, the statistics
 * collector, resizes and lookups (libvirt connections are thread-safe;
 * each caller takes its own reference with virConnectRef). A migration
 * opens a connection of its own (migrate.c), since libvirt answers the
 * calls on one connection in order and a migration takes minutes. A
 * failed open or a dead connection marks the host
 * down at once and schedules the next attempt with exponential backoff
 * (1 s, 2 s, 4 s ... 60 s), so a host that stays down costs one connect
 * attempt a minute and is left out of plans (plan.c only uses up hosts).
 *
 * Every refresh replaces a host's domain list with what
 * virConnectListAllDomains returns (uuid, name, maximum memory, state,
 * persistence). Domains are joined with traces by uuid: the libvirt domain
 * uuid is the guest's SMBIOS system uuid, which mb-guestd uploads under.
 * Both sides are kept when they do not match (inventory_annotate_vms).
 *
 * The cached lists serve listings and plans; decisions about a single VM
 * during a migration (inventory_locate) ask the hosts again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "inventory.h"
#include "log.h"

struct inv_host {
	struct inv_host_spec spec;
	virConnectPtr conn;
	bool up;
	double node_mb;			/* virNodeGetInfo, 0 = not asked yet */
	unsigned int node_cpus;
	unsigned int failures;
	time_t next_try;
	time_t listed;			/* last successful listing */
	char error[256];
	size_t ndomains;
	struct inv_domain *domains;
};

struct inventory {
	pthread_mutex_t lock;
	size_t nhosts;
	struct inv_host *hosts;
};

static void quiet(void *ctx, virErrorPtr e)
{
	(void)ctx;
	(void)e;
}

const char *inv_state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING: return "running";
	case VIR_DOMAIN_BLOCKED: return "blocked";
	case VIR_DOMAIN_PAUSED: return "paused";
	case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
	case VIR_DOMAIN_SHUTOFF: return "shut-off";
	case VIR_DOMAIN_CRASHED: return "crashed";
	case VIR_DOMAIN_PMSUSPENDED: return "suspended";
	}
	return "unknown";
}

bool inv_domain_running(const struct inv_domain *d)
{
	return d->state == VIR_DOMAIN_RUNNING ||
	       d->state == VIR_DOMAIN_BLOCKED || d->state == VIR_DOMAIN_PAUSED;
}

struct inventory *inventory_new(char *const *specs, unsigned int n,
				struct mb_err *err)
{
	struct inventory *inv = calloc(1, sizeof(*inv));
	struct inv_host_spec *parsed = NULL;
	unsigned int i;

	if (!inv || !(inv->hosts = calloc(n ? n : 1, sizeof(*inv->hosts)))) {
		free(inv);
		mb_errf(err, "inventory: out of memory");
		return NULL;
	}
	pthread_mutex_init(&inv->lock, NULL);
	inv->nhosts = n;
	parsed = calloc(n ? n : 1, sizeof(*parsed));
	if (!parsed) {
		mb_errf(err, "inventory: out of memory");
		goto fail;
	}
	if (inv_parse_hosts(specs, n, parsed, err))
		goto fail;
	for (i = 0; i < n; i++) {
		inv->hosts[i].spec = parsed[i];
		snprintf(inv->hosts[i].error, sizeof(inv->hosts[i].error),
			 "not connected yet");
	}
	free(parsed);
	virSetErrorFunc(NULL, quiet);
	return inv;
fail:
	free(parsed);
	free(inv->hosts);
	free(inv);
	return NULL;
}

void inventory_free(struct inventory *inv)
{
	size_t i;

	if (!inv)
		return;
	for (i = 0; i < inv->nhosts; i++) {
		if (inv->hosts[i].conn)
			virConnectClose(inv->hosts[i].conn);
		free(inv->hosts[i].domains);
	}
	free(inv->hosts);
	pthread_mutex_destroy(&inv->lock);
	free(inv);
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

/* Called with the lock held. */
static void host_down(struct inv_host *h, const char *why, time_t now)
{
	unsigned int delay;

	if (h->up)
		log_warn("host %s is down: %s", h->spec.name, why);
	if (h->conn) {
		virConnectClose(h->conn);
		h->conn = NULL;
	}
	h->up = false;
	snprintf(h->error, sizeof(h->error), "%s", why);
	delay = h->failures < 6 ? 1u << h->failures : 60;
	h->failures++;
	h->next_try = now + delay;
}

static int list_domains(virConnectPtr conn, struct inv_domain **out,
			size_t *n)
{
	virDomainPtr *doms = NULL;
	struct inv_domain *d;
	int i, count;

	count = virConnectListAllDomains(conn, &doms, 0);
	if (count < 0)
		return -1;
	d = calloc(count ? count : 1, sizeof(*d));
	if (!d) {
		for (i = 0; i < count; i++)
			virDomainFree(doms[i]);
		free(doms);
		return -1;
	}
	for (i = 0; i < count; i++) {
		virDomainInfo info;
		const char *name = virDomainGetName(doms[i]);
		char *p;

		virDomainGetUUIDString(doms[i], d[i].uuid);
		for (p = d[i].uuid; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p += 'a' - 'A';
		snprintf(d[i].name, sizeof(d[i].name), "%s", name ? name : "");
		if (virDomainGetInfo(doms[i], &info) == 0) {
			d[i].memory_mb = info.maxMem / 1024.0;
			d[i].current_mb = info.memory / 1024.0;
			d[i].state = info.state;
		}
		d[i].persistent = virDomainIsPersistent(doms[i]) == 1;
		virDomainFree(doms[i]);
	}
	free(doms);
	*out = d;
	*n = count;
	return 0;
}

void inventory_refresh(struct inventory *inv, bool force)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < inv->nhosts; i++) {
		struct inv_host *h = &inv->hosts[i];
		struct inv_domain *doms = NULL;
		virConnectPtr conn;
		virNodeInfo ni;
		bool asked;
		size_t n = 0;

		pthread_mutex_lock(&inv->lock);
		if (!h->conn) {
			if (!force && now < h->next_try) {
				pthread_mutex_unlock(&inv->lock);
				continue;
			}
			pthread_mutex_unlock(&inv->lock);
			/* Connecting may take long: not under the lock. */
			conn = virConnectOpen(h->spec.uri);
			pthread_mutex_lock(&inv->lock);
			if (!conn) {
				host_down(h, last_error(), now);
				pthread_mutex_unlock(&inv->lock);
				continue;
			}
			h->conn = conn;
		}
		conn = h->conn;
		virConnectRef(conn);
		asked = h->node_mb > 0;
		pthread_mutex_unlock(&inv->lock);
		/* The node's size is asked once, outside the lock. */
		if (!asked && virNodeGetInfo(conn, &ni) == 0) {
			pthread_mutex_lock(&inv->lock);
			h->node_mb = ni.memory / 1024.0;
			h->node_cpus = ni.cpus;
			pthread_mutex_unlock(&inv->lock);
		}
		if (list_domains(conn, &doms, &n)) {
			char why[256];

			snprintf(why, sizeof(why), "%s", last_error());
			virConnectClose(conn);
			pthread_mutex_lock(&inv->lock);
			if (h->conn == conn)
				host_down(h, why, now);
			pthread_mutex_unlock(&inv->lock);
			continue;
		}
		virConnectClose(conn);
		pthread_mutex_lock(&inv->lock);
		if (!h->up)
			log_info("host %s is up (%s): %zu domain%s",
				 h->spec.name, h->spec.uri, n,
				 n == 1 ? "" : "s");
		h->up = true;
		h->failures = 0;
		h->error[0] = '\0';
		h->listed = now;
		free(h->domains);
		h->domains = doms;
		h->ndomains = n;
		pthread_mutex_unlock(&inv->lock);
	}
}

static double usable_mb(const struct inv_host *h)
{
	double cap = h->spec.capacity_mb ? h->spec.capacity_mb : h->node_mb;

	cap -= h->spec.reserve_mb;
	return cap > 0 ? cap : 0;
}

int inventory_snapshot(struct inventory *inv, struct inv_snapshot *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->hosts = calloc(inv->nhosts ? inv->nhosts : 1, sizeof(*s->hosts));
	if (!s->hosts)
		return -1;
	pthread_mutex_lock(&inv->lock);
	s->nhosts = inv->nhosts;
	for (i = 0; i < inv->nhosts; i++) {
		struct inv_host *h = &inv->hosts[i];
		struct inv_host_view *v = &s->hosts[i];

		v->spec = h->spec;
		v->up = h->up;
		v->capacity_mb = usable_mb(h);
		v->node_mb = h->node_mb;
		v->cpus = h->node_cpus;
		v->domains = calloc(h->ndomains ? h->ndomains : 1,
				    sizeof(*v->domains));
		if (!v->domains) {
			pthread_mutex_unlock(&inv->lock);
			inv_snapshot_free(s);
			return -1;
		}
		if (h->up) {
			memcpy(v->domains, h->domains,
			       h->ndomains * sizeof(*v->domains));
			v->ndomains = h->ndomains;
		}
	}
	pthread_mutex_unlock(&inv->lock);
	return 0;
}

void inv_snapshot_free(struct inv_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		free(s->hosts[i].domains);
	free(s->hosts);
	memset(s, 0, sizeof(*s));
}

int inventory_host_index(struct inventory *inv, const char *name)
{
	size_t i;

	for (i = 0; i < inv->nhosts; i++)
		if (!strcmp(inv->hosts[i].spec.name, name))
			return (int)i;
	return -1;
}

const struct inv_host_spec *inventory_spec(struct inventory *inv, size_t i)
{
	return &inv->hosts[i].spec;
}

virConnectPtr inventory_conn_if_up(struct inventory *inv, size_t i)
{
	virConnectPtr c = NULL;

	pthread_mutex_lock(&inv->lock);
	if (i < inv->nhosts && inv->hosts[i].conn) {
		c = inv->hosts[i].conn;
		virConnectRef(c);
	}
	pthread_mutex_unlock(&inv->lock);
	return c;
}

virConnectPtr inventory_conn(struct inventory *inv, size_t i)
{
	virConnectPtr c = inventory_conn_if_up(inv, i);

	if (!c && i < inv->nhosts) {
		/* Try once now rather than wait for the next refresh. */
		c = virConnectOpen(inv->hosts[i].spec.uri);
		if (c) {
			pthread_mutex_lock(&inv->lock);
			if (!inv->hosts[i].conn) {
				inv->hosts[i].conn = c;
				virConnectRef(c);
			}
			pthread_mutex_unlock(&inv->lock);
		}
	}
	return c;
}

void inventory_conn_failed(struct inventory *inv, size_t i)
{
	virConnectPtr c;

	pthread_mutex_lock(&inv->lock);
	c = inv->hosts[i].conn;
	if (c && virConnectIsAlive(c) != 1)
		host_down(&inv->hosts[i], "connection lost", time(NULL));
	pthread_mutex_unlock(&inv->lock);
}

int inventory_locate(struct inventory *inv, const char *uuid, char *seen,
		     size_t size)
{
	size_t i, len = 0;
	int where = -1;

	if (seen && size)
		seen[0] = '\0';
	for (i = 0; i < inv->nhosts; i++) {
		virConnectPtr c = inventory_conn(inv, i);
		const char *what;
		virDomainPtr d;
		int state = -1, reason;

		if (!c) {
			what = "unreachable";
		} else if (!(d = virDomainLookupByUUIDString(c, uuid))) {
			what = virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ?
			       "no such domain" : last_error();
			if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN)
				inventory_conn_failed(inv, i);
		} else {
			if (virDomainGetState(d, &state, &reason, 0))
				state = -1;
			what = state < 0 ? "state unknown" :
			       inv_state_name(state);
			virDomainFree(d);
			if ((state == VIR_DOMAIN_RUNNING ||
			     state == VIR_DOMAIN_BLOCKED ||
			     (state == VIR_DOMAIN_PAUSED &&
			      reason != VIR_DOMAIN_PAUSED_MIGRATION)) &&
			    where < 0)
				where = (int)i;
		}
		if (c)
			virConnectClose(c);
		if (seen && len < size)
			len += snprintf(seen + len, size - len, "%s%s: %s",
					i ? "; " : "",
					inv->hosts[i].spec.name, what);
	}
	return where;
}

json_t *inventory_hosts_json(struct inventory *inv)
{
	json_t *arr = json_array();
	size_t i, j;

	pthread_mutex_lock(&inv->lock);
	for (i = 0; i < inv->nhosts; i++) {
		struct inv_host *h = &inv->hosts[i];
		json_t *doms = json_array();
		double used = 0;

		for (j = 0; j < h->ndomains && h->up; j++) {
			struct inv_domain *d = &h->domains[j];

			if (inv_domain_running(d))
				used += d->memory_mb;
			json_array_append_new(doms, json_pack(
				"{s:s,s:s,s:f,s:s,s:b}", "uuid", d->uuid,
				"name", d->name, "memory_mb", d->memory_mb,
				"state", inv_state_name(d->state),
				"persistent", d->persistent));
		}
		json_array_append_new(arr, json_pack(
			"{s:s,s:s,s:b,s:f,s:f,s:f,s:f,s:I,s:o,s:o}",
			"name", h->spec.name, "uri", h->spec.uri,
			"up", h->up, "capacity_mb", usable_mb(h),
			"reserve_mb", h->spec.reserve_mb,
			"node_memory_mb", h->node_mb,
			"configured_mb_in_use", used,
			"listed_at", (json_int_t)h->listed,
			"error", h->error[0] ? json_string(h->error) :
				 json_null(),
			"domains", doms));
	}
	pthread_mutex_unlock(&inv->lock);
	return arr;
}

void inventory_annotate_vms(struct inventory *inv, json_t *vms)
{
	size_t i, j, k, n = json_array_size(vms);
	char *seen = calloc(n ? n : 1, 1);

	pthread_mutex_lock(&inv->lock);
	for (k = 0; k < n; k++) {
		json_t *vm = json_array_get(vms, k);

		json_object_set_new(vm, "host", json_null());
		json_object_set_new(vm, "domain_state", json_null());
	}
	for (i = 0; i < inv->nhosts; i++) {
		struct inv_host *h = &inv->hosts[i];

		for (j = 0; j < h->ndomains && h->up; j++) {
			struct inv_domain *d = &h->domains[j];
			json_t *vm = NULL;

			for (k = 0; k < n; k++) {
				const char *u = json_string_value(
					json_object_get(json_array_get(vms, k),
							"uuid"));

				if (u && !strcasecmp(u, d->uuid)) {
					vm = json_array_get(vms, k);
					break;
				}
			}
			/* An inactive definition does not override a running copy. */
			if (vm && seen && seen[k] &&
			    d->state == VIR_DOMAIN_SHUTOFF)
				continue;
			if (!vm) {
				vm = json_pack("{s:s,s:s,s:i,s:n}", "uuid",
					       d->uuid, "name", d->name,
					       "versions", 0, "latest");
				json_array_append_new(vms, vm);
			} else if (seen) {
				seen[k] = 1;
			}
			json_object_set_new(vm, "host",
					    json_string(h->spec.name));
			json_object_set_new(vm, "domain_state",
					    json_string(inv_state_name(d->state)));
			json_object_set_new(vm, "domain_memory_mb",
					    json_real(d->memory_mb));
		}
	}
	pthread_mutex_unlock(&inv->lock);
	free(seen);
}
