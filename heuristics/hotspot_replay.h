/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hotspot_replay.h - Sandpiper offline: a recording of mb-controld's
 * statistics (`mbuddy hotspots --record`) replayed through the tracker,
 * detection and mitigation of hotspot.h, the code the live sandpiper
 * policy runs, one round per statistics round.
 *
 * A recording is one JSON object (docs/hotspots.md):
 *   "sandpiper"  GET /v1/hotspots at the end: the mode, "params" (k, n,
 *                threshold {cpu, net, mem}, window, ar_order, holdoff_s),
 *                "interval_s" and "hosts" with their "capacity"
 *                {cpus, net_mbps, memory_mb};
 *   "hosts"      GET /v1/hosts/{name}/stats of every host;
 *   "vms"        GET /v1/vms/{uuid}/stats of every VM: its black-box
 *                "samples" (t, host, cpu_pct, rx_bps, tx_bps, rss_mb,
 *                balloon_mb, balloon_max_mb) and "guest" samples (t,
 *                mem_total_mb, mem_available_mb, swap_in, rx_bps, tx_bps).
 * The VMs' black-box samples, in time order, make the rounds: those
 * within half an interval of a round's first are that round.
 */
#ifndef MB_HOTSPOT_REPLAY_H
#define MB_HOTSPOT_REPLAY_H

#include <jansson.h>

#include "hotspot.h"

/* What overrides the recording: 0, or -1 for holdoff, or NULL = its own. */
struct mb_hs_replay_opts {
	int k, n;
	int threshold_pct;		/* every resource's */
	int holdoff;			/* seconds */
	const char *mode;		/* "black" or "gray" */
};

struct mb_hs_replay_info {
	struct mb_hotspot_params params;
	enum mb_hs_mode mode;
	unsigned int holdoff;
	double interval;
	size_t hosts, vms, samples;
};

/* One decision: the moves (or unresolved) of round @round at time @t. */
struct mb_hs_decision {
	double t, since_start;
	size_t round;
	const struct mb_hs_result *res;
	const struct mb_hs_tracker *tracker;	/* names of res's indices */
};

typedef void (*mb_hs_decision_fn)(void *ctx, const struct mb_hs_decision *d);

struct mb_hs_replay;

/*
 * Check @rec and prepare its rounds. NULL with @err saying what is wrong
 * (which field of which host or VM) or out of memory. @rec must outlive
 * the replay.
 */
struct mb_hs_replay *mb_hs_replay_open(json_t *rec,
				       const struct mb_hs_replay_opts *o,
				       struct mb_err *err);
const struct mb_hs_replay_info *mb_hs_replay_info(const struct mb_hs_replay *r);
/*
 * Every round: observe, detect, mitigate with the hold-off (a VM a
 * decision moved is held for holdoff seconds, as the live policy holds
 * one moved by any action). @fn is called for each round with moves or
 * an unresolved hotspot. Returns the number of rounds, -1 out of memory.
 */
long mb_hs_replay_run(struct mb_hs_replay *r, mb_hs_decision_fn fn, void *ctx,
		      struct mb_err *err);
void mb_hs_replay_close(struct mb_hs_replay *r);

#endif /* MB_HOTSPOT_REPLAY_H */
