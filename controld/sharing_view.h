/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sharing_view.h - GET /v1/sharing: how much memory the VMs of the store
 * share, pair by pair and per host, as `mbuddy sharing --json` computes it
 * for their latest traces (sharing_view.c).
 *
 * The matrix is the exact one of the heuristics library over every VM's
 * latest trace, without any tenant scope: it is the operators' view (an
 * admin route), while plans count sharing within a tenant only under
 * --sharing-scope tenant; each VM carries its tenant so that the two can
 * be told apart. With the control loop on, each VM carries its host and
 * every host the sharing of the VMs it runs together.
 *
 * A result is kept until an input changes (a new version, a VM moving to
 * another host); digest sets are kept per (uuid, version) between
 * requests, so a new upload costs one parse and one matrix.
 */
#ifndef MB_CONTROLD_SHARING_VIEW_H
#define MB_CONTROLD_SHARING_VIEW_H

#include <jansson.h>

#include "auth.h"
#include "catalogue.h"
#include "control.h"
#include "mb_error.h"
#include "store.h"

struct sharing_view;

/* A view over @store and @cat; @auth names the tenants. NULL when out of memory. */
struct sharing_view *sharing_view_new(struct store *store,
				      struct catalogue *cat,
				      struct auth *auth);
void sharing_view_free(struct sharing_view *v);

/*
 * The answer of GET /v1/sharing (docs/api.md); @control may be NULL (no
 * hosts). A new reference, or NULL with @err when a trace cannot be read
 * or memory runs out.
 */
json_t *sharing_view_json(struct sharing_view *v, struct control *control,
			  struct mb_err *err);

#endif /* MB_CONTROLD_SHARING_VIEW_H */
