// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_controld_stats.c - the parser of the guests' statistics reports
 * (guest_report_parse() in controld/stats.c, the body of POST
 * /v1/vms/{uuid}/stats) on arbitrary bytes. It must never crash or
 * overrun; an accepted report must hold only values in range, and adding
 * it to the statistics must give no negative rate.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static struct stats *stats;

static void check_range(double v, double hi)
{
	if (!isnan(v) && (v < 0 || v > hi))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct stats_options o = { .interval = 5, .window = 60 };
	struct guest_report r;
	struct guest_sample g;
	struct mb_err err;
	static double t;
	int i;

	if (!stats && !(stats = stats_new(&o, NULL, &err)))
		abort();
	if (guest_report_parse((const char *)data, size, &r, &err))
		return 0;
	if (r.mem_total_kb < -1 || r.pswpin < -1 || r.pgmajfault < -1 ||
	    strlen(r.name) >= sizeof(r.name) ||
	    strlen(r.boot_id) >= sizeof(r.boot_id))
		abort();
	for (i = 0; i < 3; i++) {
		check_range(r.psi_some[i], 100);
		check_range(r.psi_full[i], 100);
	}
	t += 5;
	r.t = t;
	if (stats_add_guest(stats, "6d62756c-6c76-4000-8000-0000000000c1", &r,
			    &err))
		abort();
	if (stats_vm_latest(stats, "6d62756c-6c76-4000-8000-0000000000c1",
			    NULL, &g) != 2 || g.swap_in < 0 || g.swap_out < 0 ||
	    g.major_faults < 0)
		abort();
	return 0;
}
