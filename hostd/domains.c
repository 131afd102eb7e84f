// SPDX-License-Identifier: GPL-2.0
/*
 * domains.c - the guests of this host and their QEMU processes
 * (hostd.h).
 *
 * libvirt names the running domains and holds their monitors, but does
 * not say which process runs each. QEMU does, indirectly: query-cpus-fast
 * gives the thread ids of the vCPUs, and a thread's /proc/TID/status
 * names its thread group, the QEMU process. That works the same for the
 * system and session daemons and for a QEMU no libvirt runs. The process
 * must then carry the domain's uuid on its command line (libvirt always
 * passes -uuid), so a thread id that was reused can never send mb-hostd
 * to another process; its start time is kept to check after the scan.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hostd.h"
#include "log.h"

#define MAX_VCPU_THREADS 1024

static void quiet_libvirt(void *ctx, virErrorPtr e)
{
	(void)ctx, (void)e;	/* errors are read where they happen */
}

static const char *virt_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg ? msg : "unknown libvirt error";
}

static bool wanted(const struct hostd_config *c, const char *name,
		   const char *uuid)
{
	unsigned int i;

	if (!c->ndomains)
		return true;
	for (i = 0; i < c->ndomains; i++)
		if (!strcmp(c->domains[i], name) ||
		    !strcasecmp(c->domains[i], uuid))
			return true;
	return false;
}

/* The QEMU process of @d from its vCPU threads; checks its command line. */
static int resolve_process(struct domain *d, struct mb_err *err)
{
	pid_t tids[MAX_VCPU_THREADS], tgid;
	char *text;
	size_t len;
	json_t *ret;
	int n, ok;

	ret = monitor_qmp(d->mon, "{\"execute\":\"query-cpus-fast\"}", err);
	if (!ret)
		return -1;
	n = qmp_thread_ids(ret, tids, MAX_VCPU_THREADS, err);
	json_decref(ret);
	if (n < 0)
		return -1;
	/* /proc/TID/status exists for every thread, not only leaders. */
	text = proc_read(tids[0], "status", 65536, &len, err);
	if (!text)
		return mb_err_prefix(err, "vCPU thread %d", (int)tids[0]);
	ok = proc_parse_tgid(text, len, &tgid, err);
	free(text);
	if (ok)
		return mb_err_prefix(err, "vCPU thread %d", (int)tids[0]);
	text = proc_read(tgid, "cmdline", 1 << 20, &len, err);
	if (!text)
		return -1;
	ok = proc_cmdline_has_uuid(text, len, d->uuid);
	free(text);
	if (!ok)
		return mb_errf(err, "process %d (of vCPU thread %d) has no "
			       "-uuid %s on its command line: not this "
			       "domain's QEMU", (int)tgid, (int)tids[0],
			       d->uuid);
	d->pid = tgid;
	return proc_starttime(tgid, &d->starttime, err);
}

static int grow(struct domain_list *l, size_t *cap)
{
	struct domain *g;

	if (l->n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 16;
	g = realloc(l->d, *cap * sizeof(*g));
	if (!g)
		return -1;
	l->d = g;
	return 0;
}

static int list_libvirt(const struct hostd_config *c, struct domain_list *out,
			unsigned int *skipped, struct mb_err *err)
{
	virDomainPtr *doms = NULL;
	size_t cap = 0;
	int n, i;

	virSetErrorFunc(NULL, quiet_libvirt);
	out->conn = virConnectOpen(c->connect);
	if (!out->conn)
		return mb_errf(err, "libvirt %s: %s", c->connect, virt_error());
	n = virConnectListAllDomains(out->conn, &doms,
				     VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0)
		return mb_errf(err, "libvirt %s: listing domains: %s",
			       c->connect, virt_error());
	for (i = 0; i < n; i++) {
		struct domain d = { .virt_domain = doms[i] };
		const char *name = virDomainGetName(doms[i]);
		struct mb_err e;

		doms[i] = NULL;
		if (virDomainGetUUIDString(d.virt_domain, d.uuid) || !name) {
			virDomainFree(d.virt_domain);
			continue;
		}
		mb_uuid_parse(d.uuid, d.uuid_bin);
		mb_uuid_format(d.uuid_bin, d.uuid);
		snprintf(d.name, sizeof(d.name), "%s", name);
		if (!wanted(c, d.name, d.uuid)) {
			virDomainFree(d.virt_domain);
			continue;
		}
		d.mon = monitor_libvirt(d.virt_domain);
		if (!d.mon || grow(out, &cap)) {
			monitor_close(d.mon);
			virDomainFree(d.virt_domain);
			free(doms);
			return mb_errf(err, "out of memory");
		}
		if (resolve_process(&d, &e)) {
			log_warn("domain %s (%s): %s; skipped", d.name, d.uuid,
				 e.msg);
			monitor_close(d.mon);
			virDomainFree(d.virt_domain);
			(*skipped)++;
			continue;
		}
		out->d[out->n++] = d;
	}
	free(doms);
	return 0;
}

static int list_qmp(const struct hostd_config *c, struct domain_list *out,
		    unsigned int *skipped, struct mb_err *err)
{
	size_t cap = 0;
	unsigned int i;

	for (i = 0; i < c->nqmp; i++) {
		struct domain d = { 0 };
		const json_t *name;
		json_t *ret;
		struct mb_err e;

		d.mon = monitor_qmp_socket(c->qmp[i], &e);
		if (!d.mon)
			goto skip;
		ret = monitor_qmp(d.mon, "{\"execute\":\"query-uuid\"}", &e);
		if (!ret)
			goto skip;
		if (qmp_uuid(ret, d.uuid_bin, &e)) {
			json_decref(ret);
			goto skip;
		}
		json_decref(ret);
		mb_uuid_format(d.uuid_bin, d.uuid);
		if (mb_uuid_is_zero(d.uuid_bin)) {
			mb_errf(&e, "QEMU was started without -uuid");
			goto skip;
		}
		ret = monitor_qmp(d.mon, "{\"execute\":\"query-name\"}", &e);
		name = json_object_get(ret, "name");
		snprintf(d.name, sizeof(d.name), "%s", json_is_string(name) ?
			 json_string_value(name) : d.uuid);
		json_decref(ret);
		if (!wanted(c, d.name, d.uuid)) {
			monitor_close(d.mon);
			continue;
		}
		if (resolve_process(&d, &e))
			goto skip;
		if (grow(out, &cap)) {
			monitor_close(d.mon);
			return mb_errf(err, "out of memory");
		}
		out->d[out->n++] = d;
		continue;
skip:
		log_warn("QEMU at %s: %s; skipped", c->qmp[i], e.msg);
		monitor_close(d.mon);
		(*skipped)++;
	}
	return 0;
}

int domains_list(const struct hostd_config *c, struct domain_list *out,
		 unsigned int *skipped, struct mb_err *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	*skipped = 0;
	ret = c->nqmp ? list_qmp(c, out, skipped, err) :
			list_libvirt(c, out, skipped, err);
	if (ret)
		domains_free(out);
	return ret;
}

void domains_free(struct domain_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		monitor_close(l->d[i].mon);
		if (l->d[i].virt_domain)
			virDomainFree(l->d[i].virt_domain);
	}
	free(l->d);
	if (l->conn)
		virConnectClose(l->conn);
	memset(l, 0, sizeof(*l));
}

/* ---- the layout of one domain ---- */

struct view_ctx {
	struct domain *d;
};

static int read_host(void *ctx, uint64_t hva, void *buf, size_t size,
		     struct mb_err *err)
{
	struct view_ctx *v = ctx;

	return scan_read_process(v->d->pid, hva, buf, size, err);
}

static int read_guest(void *ctx, uint64_t gpa, uint8_t *page,
		      struct mb_err *err)
{
	struct view_ctx *v = ctx;
	char cmd[64], *text;
	int ret;

	snprintf(cmd, sizeof(cmd), "xp /512gx %#" PRIx64, gpa);
	text = monitor_hmp(v->d->mon, cmd, err);
	if (!text)
		return -1;
	ret = qemu_parse_xp(text, strlen(text), gpa, page, 4096, err);
	free(text);
	return ret;
}

static const char *match_name(enum block_match how)
{
	switch (how) {
	case MATCH_NONE:
		return "not found";
	case MATCH_REPORTED:
		return "address reported by QEMU";
	case MATCH_SIZE:
		return "the only mapping of its size";
	case MATCH_CONTENT:
		return "told apart by content";
	case MATCH_ORDER:
		return "told apart by allocation order";
	}
	return "?";
}

int domain_layout(struct domain *d, bool include_unmapped, struct layout *l,
		  struct block_place **places, struct mb_err *err)
{
	struct view_ctx vc = { .d = d };
	struct memory_view view = { read_host, read_guest, &vc };
	struct ram_block *blocks = NULL;
	struct flat_range *ranges = NULL;
	struct vma *vmas = NULL;
	char *text, warning[MB_ERR_LEN];
	size_t nblocks, nranges, nvmas, len, i;
	int ret = -1;

	*places = NULL;
	memset(l, 0, sizeof(*l));
	text = monitor_hmp(d->mon, "info ramblock", err);
	if (!text)
		return -1;
	ret = qemu_parse_ramblocks(text, strlen(text), &blocks, &nblocks, err);
	free(text);
	if (ret)
		return -1;
	ret = -1;
	text = monitor_hmp(d->mon, "info mtree -f", err);
	if (!text || qemu_parse_flatview(text, strlen(text), "memory",
					 &ranges, &nranges, err)) {
		free(text);
		free(blocks);
		return -1;
	}
	free(text);
	if (layout_build(blocks, nblocks, ranges, nranges, include_unmapped,
			 l, err))
		goto out;
	text = proc_read(d->pid, "smaps", 256 << 20, &len, err);
	if (!text)
		goto out;
	if (maps_parse(text, len, &vmas, &nvmas, err)) {
		free(text);
		mb_err_prefix(err, "process %d", (int)d->pid);
		goto out;
	}
	free(text);
	*places = calloc(l->nblocks, sizeof(**places));
	if (!*places) {
		mb_errf(err, "out of memory");
		goto out;
	}
	if (layout_attach(l, vmas, nvmas, &view, *places, warning,
			  sizeof(warning), err))
		goto out;
	if (warning[0])
		log_warn("domain %s: %s", d->name, warning);
	for (i = 0; i < l->nblocks; i++)
		log_debug("domain %s: RAM block %s, %" PRIu64 " bytes at %#"
			  PRIx64 " (%s%s)", d->name, l->blocks[i].name,
			  l->blocks[i].used, (*places)[i].hva,
			  match_name((*places)[i].how),
			  (*places)[i].samples ? ", checked by content" : "");
	ret = 0;
out:
	free(ranges);
	free(vmas);
	if (ret) {
		layout_free(l);
		free(*places);
		*places = NULL;
	}
	return ret;
}
