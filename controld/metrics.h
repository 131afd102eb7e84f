/* SPDX-License-Identifier: GPL-2.0 */
/*
 * metrics.h - counters for GET /metrics (Prometheus text format 0.0.4).
 *
 * Counters are plain atomics bumped by the HTTP and legacy code: every
 * HTTP answer is counted by its status. Gauges (VMs, latest trace age per
 * VM, store size) are computed from the catalogue and the store when the
 * page is rendered; the controller and the statistics add their own
 * (control_metrics(), stats_metrics()).
 */
#ifndef MB_CONTROLD_METRICS_H
#define MB_CONTROLD_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "catalogue.h"
#include "store.h"

struct metrics {
	uint64_t uploads;		/* stored versions, both listeners */
	uint64_t legacy_uploads;
	uint64_t upload_bytes;		/* bytes of stored versions */
	uint64_t requests;
	uint64_t status[600];		/* HTTP answers by status code */
	uint64_t legacy_errors;
};

void metrics_count_upload(struct metrics *m, uint64_t bytes, int legacy);
/* Count an HTTP answer with @status (any code, 100..599). */
void metrics_count_status(struct metrics *m, unsigned int status);
void metrics_count_request(struct metrics *m);

/*
 * Render the page; @extra, when not NULL, appends more lines (the
 * controller's and the statistics' gauges) with @ctx. Returns a malloc'ed
 * string or NULL.
 */
char *metrics_render(struct metrics *m, struct catalogue *cat,
		     struct store *store, int64_t now,
		     void (*extra)(void *ctx, FILE *out), void *ctx);

#endif /* MB_CONTROLD_METRICS_H */
