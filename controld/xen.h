/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xen.h - direct balloon control of a Xen domain from dom0 (xen.c): the
 * resize action on hosts given with balloon=xenctrl. Untested on a real
 * Xen host: see docs/operations.md.
 */
#ifndef MB_CONTROLD_XEN_H
#define MB_CONTROLD_XEN_H

#include <stdint.h>

#include "mb_error.h"

#define XEN_MIN_TARGET_KB (64 * 1024)	/* below this a guest cannot run */

/*
 * Check the arguments of xen_set_memory_target(): 0, or -1 with @err
 * naming the bad one. @max_kb 0 means "leave the maximum alone".
 */
int xen_check_target(uint32_t domid, uint64_t target_kb, uint64_t max_kb,
		     struct mb_err *err);

/*
 * Set domain @domid's balloon target to @target_kb (xenstore
 * /local/domain/<domid>/memory/target, which the guest's balloon driver
 * follows) and, when @max_kb is not 0, its maximum reservation
 * (xc_domain_setmaxmem) first. Must run in dom0 as root. Returns 0, or -1
 * with @err (including when there is no Xen hypervisor interface).
 */
int xen_set_memory_target(uint32_t domid, uint64_t target_kb, uint64_t max_kb,
			  struct mb_err *err);

#endif /* MB_CONTROLD_XEN_H */
