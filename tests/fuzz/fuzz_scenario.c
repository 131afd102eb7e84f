// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_scenario - libFuzzer target for the scenario parser
 * (mb_scenario_parse): any bytes must give either a valid scenario, whose
 * every VM names a listed host or none and has a positive or defaulted
 * memory size, or an error message; never a crash, leak or hang. Traces
 * are not loaded, so no file is touched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_scenario sc;
	struct mb_err err;
	size_t i;

	if (mb_scenario_parse((const char *)data, size, "base", &sc, &err)) {
		if (!err.msg[0])
			abort();	/* a failure must say why */
		return 0;
	}
	if (!sc.nhosts)
		abort();
	for (i = 0; i < sc.nhosts; i++)
		if (!(sc.hosts[i].memory_mb > 0) || !sc.hosts[i].name[0])
			abort();
	for (i = 0; i < sc.nvms; i++) {
		if (sc.vms[i].host >= (int)sc.nhosts || sc.vms[i].host < -1)
			abort();
		if (!(sc.vms[i].memory_mb > 0) && sc.vms[i].memory_mb != -1)
			abort();
		if (!sc.trace_paths[i] || !sc.trace_paths[i][0])
			abort();
	}
	mb_scenario_free(&sc);
	return 0;
}
