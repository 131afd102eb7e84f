// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_hotspot_replay - libFuzzer target for the reader of Sandpiper
 * recordings (mb_hs_replay_open) and the replay over what it accepts:
 * any bytes must give either an error that says why or a replay that
 * ends, with every decision's moves naming a VM and two different hosts
 * of the tracker; never a crash, leak or hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotspot_replay.h"

static void check(void *ctx, const struct mb_hs_decision *d)
{
	size_t i;

	(void)ctx;
	if (!d->res->nmoves && !d->res->unresolved)
		abort();	/* only rounds with something to say */
	for (i = 0; i < d->res->nmoves; i++) {
		const struct mb_hs_move *m = &d->res->moves[i];

		if (m->vm >= mb_hs_tracker_vms(d->tracker) ||
		    m->from == m->to || m->from < 0 || m->to < 0 ||
		    (size_t)m->to >= mb_hs_tracker_hosts(d->tracker) ||
		    !m->reason[0])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *rec = json_loadb((const char *)data, size, 0, NULL);
	struct mb_hs_replay *r;
	struct mb_err err;

	if (!rec)
		return 0;
	err.msg[0] = '\0';
	r = mb_hs_replay_open(rec, NULL, &err);
	if (!r) {
		if (!err.msg[0])
			abort();	/* a failure must say why */
	} else {
		if (mb_hs_replay_run(r, check, NULL, &err) < 0 && !err.msg[0])
			abort();
		mb_hs_replay_close(r);
	}
	json_decref(rec);
	return 0;
}
