// SPDX-License-Identifier: GPL-2.0
/*
 * xen.c - a Xen domain's memory target through libxenctrl and xenstore.
 *
 * The resize action (resize.c) calls it for hosts given with
 * balloon=xenctrl: a controller running in dom0 sets the target itself
 * instead of asking libvirt. When a maximum is given, the maximum
 * reservation is set with xc_domain_setmaxmem() first (the hypervisor
 * refuses pages above it); then the target is written to xenstore, where
 * the guest's balloon driver picks it up and inflates or deflates towards
 * it; for an HVM guest the populate-on-demand target follows
 * (xc_domain_set_pod_target), as the toolstack does, so that a guest
 * started with less memory than its maximum is not given PoD pages beyond
 * its target. This machine has no Xen hypervisor: everything up to
 * xc_interface_open() is tested here, the calls behind it are not.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <xenctrl.h>
#include <xenstore.h>

#include "xen.h"

int xen_check_target(uint32_t domid, uint64_t target_kb, uint64_t max_kb,
		     struct mb_err *err)
{
	if (domid == 0)
		return mb_errf(err, "xen: domain 0 is the control domain; "
			       "its memory is not managed here");
	if (domid >= DOMID_FIRST_RESERVED)
		return mb_errf(err, "xen: %" PRIu32 " is not a guest domain id "
			       "(reserved ids start at %u)", domid,
			       DOMID_FIRST_RESERVED);
	if (target_kb < XEN_MIN_TARGET_KB)
		return mb_errf(err, "xen: domain %" PRIu32 ": target %" PRIu64
			       " KiB is below the %u KiB a guest needs",
			       domid, target_kb, XEN_MIN_TARGET_KB);
	if (max_kb && target_kb > max_kb)
		return mb_errf(err, "xen: domain %" PRIu32 ": target %" PRIu64
			       " KiB is above the maximum %" PRIu64 " KiB",
			       domid, target_kb, max_kb);
	return 0;
}

int xen_set_memory_target(uint32_t domid, uint64_t target_kb, uint64_t max_kb,
			  struct mb_err *err)
{
	char path[64], value[32];
	struct xs_handle *xs = NULL;
	xc_dominfo_t info;
	xc_interface *xch;
	int ret = -1;

	if (xen_check_target(domid, target_kb, max_kb, err))
		return -1;
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xch)
		return mb_errf(err, "xen: cannot open the Xen hypervisor "
			       "interface (%s): is this dom0 of a Xen host?",
			       strerror(errno));
	if (max_kb && xc_domain_setmaxmem(xch, domid, max_kb)) {
		mb_errf(err, "xen: domain %" PRIu32 ": setting the maximum to "
			"%" PRIu64 " KiB: %s", domid, max_kb, strerror(errno));
		goto out;
	}
	xs = xs_open(0);
	if (!xs) {
		mb_errf(err, "xen: cannot open xenstore: %s", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/memory/target",
		 domid);
	snprintf(value, sizeof(value), "%" PRIu64, target_kb);
	if (!xs_write(xs, XBT_NULL, path, value, strlen(value))) {
		mb_errf(err, "xen: writing %s: %s", path, strerror(errno));
		goto out;
	}
	if (xc_domain_getinfo(xch, domid, 1, &info) == 1 &&
	    info.domid == domid && info.hvm &&
	    xc_domain_set_pod_target(xch, domid, target_kb / 4, NULL, NULL,
				     NULL)) {
		mb_errf(err, "xen: domain %" PRIu32 ": populate-on-demand "
			"target %" PRIu64 " KiB: %s", domid, target_kb,
			strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (xs)
		xs_close(xs);
	xc_interface_close(xch);
	return ret;
}
