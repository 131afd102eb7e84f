// SPDX-License-Identifier: GPL-2.0
/*
 * xen.c - a Xen domain's memory target through libxenctrl and xenstore.
 *
 * On hosts driven through libvirt's libxl driver (xen+ssh://, xen+tls://)
 * mb-controld needs none of this: inventory and migration go through
 * libvirt. This is the direct path for a controller running in dom0 of a
 * host libvirt does not manage: the maximum reservation is raised or
 * lowered with xc_domain_setmaxmem() first (the hypervisor refuses pages
 * above it), then the target is written to xenstore, where the guest's
 * balloon driver picks it up and inflates or deflates towards it.
 *
 * Linked only into its unit test for now (not into mb-controld, so the
 * daemon does not depend on the Xen libraries); this machine has no Xen
 * hypervisor, so everything up to xc_interface_open() is tested here and
 * the calls behind it are not.
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
	ret = 0;
out:
	if (xs)
		xs_close(xs);
	xc_interface_close(xch);
	return ret;
}
