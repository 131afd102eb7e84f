/* SPDX-License-Identifier: GPL-2.0 */
/*
 * inventory.h - the libvirt hosts mb-controld manages and the domains on
 * them, refreshed every --inventory-interval (inventory.c).
 */
#ifndef MB_CONTROLD_INVENTORY_H
#define MB_CONTROLD_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "mb_error.h"

struct _virConnect;

struct inv_domain {
	char uuid[37];			/* lower case */
	char name[64];
	double memory_mb;		/* configured (maximum) memory */
	double current_mb;		/* now, with the balloon */
	int state;			/* virDomainState */
	bool persistent;
};

/*
 * One host as parsed from "NAME,URI[,capacity=MB][,reserve=MB]
 * [,migrate-uri=URI][,balloon=libvirt|xenctrl][,cpus=N][,net-mbps=N]".
 */
struct inv_host_spec {
	char name[64];
	char uri[512];
	char migrate_uri[256];		/* "" = libvirt picks */
	double capacity_mb;		/* 0 = ask virNodeGetInfo */
	double reserve_mb;
	bool xen_balloon;		/* resize through libxenctrl (dom0) */
	double cpus;			/* CPU capacity in cores, 0 = the node's */
	double net_mbps;		/* link speed, 0 = 1000 */
};

int inv_parse_host(const char *spec, struct inv_host_spec *h,
		   struct mb_err *err);
/*
 * Parse @n specs into @out (n entries; NULL: only check them), each
 * name given once. The configuration check (-n) and the inventory run
 * this one.
 */
int inv_parse_hosts(char *const *specs, unsigned int n,
		    struct inv_host_spec *out, struct mb_err *err);

/* A copy of what the inventory knows, for the planner. */
struct inv_host_view {
	struct inv_host_spec spec;
	bool up;
	double capacity_mb;		/* usable: capacity - reserve */
	double node_mb;			/* what libvirt reports, 0 = unknown */
	unsigned int cpus;		/* the node's CPUs, 0 = unknown */
	size_t ndomains;
	struct inv_domain *domains;
};

struct inv_snapshot {
	size_t nhosts;
	struct inv_host_view *hosts;
};

void inv_snapshot_free(struct inv_snapshot *s);

struct inventory;

struct inventory *inventory_new(char *const *specs, unsigned int n,
				struct mb_err *err);
void inventory_free(struct inventory *inv);

/*
 * Connect to hosts that are not (reconnecting with exponential backoff,
 * 1 s to 60 s) and list every connected host's domains. Cheap when
 * nothing is due. Thread-safe.
 */
void inventory_refresh(struct inventory *inv, bool force);

int inventory_snapshot(struct inventory *inv, struct inv_snapshot *s);

/* Index of the host called @name, or -1. */
int inventory_host_index(struct inventory *inv, const char *name);
const struct inv_host_spec *inventory_spec(struct inventory *inv, size_t i);

/*
 * A new reference to host @i's connection (virConnectClose() it), or NULL
 * when the host is down.
 */
struct _virConnect *inventory_conn(struct inventory *inv, size_t i);

/* The same, but NULL without trying to connect when the host is down. */
struct _virConnect *inventory_conn_if_up(struct inventory *inv, size_t i);

/* Report a failed call on host @i's connection: drop it when it is dead. */
void inventory_conn_failed(struct inventory *inv, size_t i);

/*
 * Where @uuid runs now, asking every reachable host directly (not the
 * cached lists): the host index whose domain is running (or paused), -1
 * when none. @seen, when not NULL, receives a short text of what every
 * host said.
 */
int inventory_locate(struct inventory *inv, const char *uuid, char *seen,
		     size_t size);

/* GET /v1/hosts. */
json_t *inventory_hosts_json(struct inventory *inv);

/*
 * Add "host" and "domain_state" to each VM of GET /v1/vms' list (null when
 * no host runs it) and append the domains that have no trace.
 */
void inventory_annotate_vms(struct inventory *inv, json_t *vms);

const char *inv_state_name(int state);

/* Running, blocked or paused: a domain that holds its memory on a host. */
bool inv_domain_running(const struct inv_domain *d);

#endif /* MB_CONTROLD_INVENTORY_H */
