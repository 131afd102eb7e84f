/* SPDX-License-Identifier: GPL-2.0 */
/*
 * metrics.h - counters for GET /metrics (Prometheus text format 0.0.4).
 *
 * Counters are plain atomics bumped by the HTTP and legacy code; gauges
 * (VMs, latest trace age per VM, store size) are computed from the
 * catalogue and the store when the page is rendered.
 */
#ifndef MB_CONTROLD_METRICS_H
#define MB_CONTROLD_METRICS_H

#include <stdint.h>

#include "catalogue.h"
#include "store.h"

struct metrics {
	uint64_t uploads;		/* stored versions, both listeners */
	uint64_t legacy_uploads;
	uint64_t upload_bytes;		/* bytes of stored versions */
	uint64_t requests;
	/* Error answers by class; index by metrics_error_index(). */
	uint64_t errors[8];
	uint64_t legacy_errors;
};

void metrics_count_upload(struct metrics *m, uint64_t bytes, int legacy);
/* Count an HTTP error answer with @status (4xx/5xx). */
void metrics_count_error(struct metrics *m, unsigned int status);
void metrics_count_request(struct metrics *m);

/* Render the page; returns a malloc'ed string or NULL. */
char *metrics_render(struct metrics *m, struct catalogue *cat,
		     struct store *store, int64_t now);

#endif /* MB_CONTROLD_METRICS_H */
