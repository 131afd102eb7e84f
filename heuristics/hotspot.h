/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hotspot.h - Sandpiper's hotspot detection and mitigation (Wood, Shenoy,
 * Venkataramani and Yousif, "Black-box and Gray-box Strategies for
 * Virtual Machine Migration", NSDI 2007), as a library of pure functions:
 * mb-controld's sandpiper policy runs them on live statistics, `mbuddy
 * hotspots` on recorded ones (docs/hotspots.md).
 *
 * Utilisations are fractions of a host's capacity: CPU of its cores,
 * network of its link, memory of its memory. A resource of a host (or a
 * VM) is hot when at least k of its last n observations exceed the
 * threshold and the next value, predicted by an auto-regressive model
 * fitted to a recent window, exceeds it too. Hot hosts are relieved in
 * decreasing volume, moving their VMs in decreasing volume-to-size ratio
 * to the least loaded host that can take them without becoming hot, or
 * swapping a hot VM with colder ones of another host when no single move
 * works.
 *
 * No I/O, no global state, no allocation beyond what a call frees.
 */
#ifndef MB_HOTSPOT_H
#define MB_HOTSPOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"

enum mb_resource { MB_RES_CPU, MB_RES_NET, MB_RES_MEM, MB_RESOURCES };

/* "cpu", "net", "mem". */
const char *mb_resource_name(enum mb_resource r);

struct mb_hotspot_params {
	unsigned int k, n;	/* k of the last n observations over [3, 5] */
	double threshold[MB_RESOURCES];	/* fraction of capacity [0.75 each] */
	unsigned int window;	/* observations the model is fitted to [12] */
	unsigned int ar_order;	/* order p of the AR(p) model [1] */
	double tie;		/* destinations this close in volume are
				 * equally good: sharing decides [0.05] */
};

void mb_hotspot_defaults(struct mb_hotspot_params *p);

/*
 * The next value of the series @x (@len observations, oldest first)
 * predicted by an AR(@order) model fitted to its last @window values
 * (Yule-Walker equations solved by Levinson-Durbin, around the window's
 * mean): x^ = mean + sum phi_i (x_{t-i} - mean). With fewer than
 * order + 2 values, the last value. NaN values are skipped.
 */
double mb_ar_predict(const double *x, size_t len, unsigned int window,
		     unsigned int order);

/* Whether @x is hot for @threshold (k of n, and the forecast). */
struct mb_hot_verdict {
	bool hot;
	unsigned int over;	/* of the last n, how many exceed */
	unsigned int seen;	/* observations among the last n */
	double predicted;
	double last;
};

void mb_hot_check(const double *x, size_t len, double threshold,
		  const struct mb_hotspot_params *p,
		  struct mb_hot_verdict *v);

/* volume = 1 / ((1 - cpu)(1 - net)(1 - mem)), each capped below 1. */
double mb_volume(double cpu, double net, double mem);

/* What is known of a VM at one moment, in absolute units; NaN = unknown. */
struct mb_hs_reading {
	double cpu_cores;	/* CPU time per second, in cores */
	double net_bps;		/* bytes per second, in + out */
	double rss_mb;		/* its process's resident memory on the host */
	double balloon_mb;	/* its allocation */
	double guest_used_mb;	/* gray-box: MemTotal - MemAvailable */
	double swapin_pages;	/* gray-box: pages swapped in per second */
};

enum mb_hs_mode { MB_HS_BLACK, MB_HS_GRAY };

/*
 * Fill @r from a VM's black-box numbers (libvirt's: CPU %, bytes/s in and
 * out, resident and balloon MiB; NaN = unknown), then add what its guest
 * reports: in use (MiB) and swap-in (pages/s), and, in gray mode, its own
 * interface bytes when the black box has none (QEMU user networking).
 * The live policy and the offline replay build readings only so.
 */
void mb_hs_reading_black(struct mb_hs_reading *r, double cpu_pct,
			 double rx_bps, double tx_bps, double rss_mb,
			 double balloon_mb);
void mb_hs_reading_gray(struct mb_hs_reading *r, enum mb_hs_mode mode,
			double used_mb, double swapin_pages, double rx_bps,
			double tx_bps);

/*
 * Utilisations of @r on a host of capacities @cap (cores, Mbit/s, MiB), as
 * fractions: CPU = cores / cores; network = bits/s / link; memory, black
 * box = resident memory (else the allocation) / capacity; gray box = what
 * the guest uses plus what it swapped in over the last 10 s (the memory
 * it is missing, as the paper's gray-box memory model estimates it), when
 * the guest reports, else as black box. Unknown values count 0.
 */
void mb_hs_utilisation(const struct mb_hs_reading *r,
		       const double cap[MB_RESOURCES], enum mb_hs_mode mode,
		       double out[MB_RESOURCES]);

/* One VM's profile: utilisations as fractions of its host's capacities. */
struct mb_hs_vm {
	const char *name;
	int host;			/* index into the hosts */
	double mean[MB_RESOURCES];	/* over the last n observations */
	double peak[MB_RESOURCES];	/* the window's highest */
	double memory_mb;		/* what it needs on a destination */
	bool pinned;			/* must not move (held off, in motion) */
};

/*
 * One host. A VM's utilisation counts on another host scaled by the
 * capacity ratio (a VM using 2 of its host's 4 cores, 0.5, uses 2 of 8,
 * 0.25, elsewhere): @capacity holds the absolute capacities (cores, Mbit/s,
 * MiB).
 */
struct mb_hs_host {
	const char *name;
	double capacity[MB_RESOURCES];
	bool hot[MB_RESOURCES];		/* from detection */
	bool down;			/* takes no VM */
};

/*
 * How much VM @v shares with the VMs of host @h (MiB), for choosing among
 * equally good destinations; may be NULL (no preference).
 */
typedef double (*mb_hs_sharing_fn)(void *ctx, size_t v, int h);

struct mb_hs_move {
	size_t vm;
	int from, to;
	bool swap;			/* part of a swap */
	char reason[240];
};

struct mb_hs_result {
	size_t nmoves;
	struct mb_hs_move moves[64];	/* in the order to carry out */
	bool unresolved;		/* a hot host no move or swap relieves */
	char why[240];			/* when unresolved */
};

/* volume and VSR of VM @v on its host. */
double mb_hs_vm_volume(const struct mb_hs_vm *v);
double mb_hs_vsr(const struct mb_hs_vm *v);

/*
 * Mitigate: hot hosts (any hot[] set) in decreasing volume; from each, VMs
 * in decreasing VSR move to the host of lowest volume that stays below
 * every threshold with the VM's peak and mean added (and has its memory),
 * ties within p->tie broken by @sharing; until the host is below its
 * thresholds. When no single move relieves it, a swap: its hottest VM for
 * the set of colder VMs of one other host that makes both fit, the colder
 * ones moved first when the hot host has memory for them, else the hot
 * one first when the other has memory for it; with neither, no swap (no
 * staging host is used). Fills @r; never fails.
 */
void mb_hs_mitigate(const struct mb_hs_host *hosts, size_t nhosts,
		    const struct mb_hs_vm *vms, size_t nvms,
		    const struct mb_hotspot_params *p,
		    mb_hs_sharing_fn sharing, void *ctx,
		    struct mb_hs_result *r);

/* ---- a tracker: profiles over rounds, for the live and the offline use ---- */

/*
 * The profiles of a cluster over successive observation rounds: each
 * round, every host (its capacities) and every VM on it (a reading);
 * a VM's observation is its utilisation of its host, a host's the sum of
 * its VMs'. A VM not seen in a round is dropped; one seen on another host
 * starts a new profile. mb-controld's sandpiper policy feeds it from the
 * live statistics, `mbuddy hotspots` from recorded ones: both then detect
 * and mitigate the same way.
 */
struct mb_hs_tracker;

struct mb_hs_tracker *mb_hs_tracker_new(const struct mb_hotspot_params *p,
					enum mb_hs_mode mode);
void mb_hs_tracker_free(struct mb_hs_tracker *t);

void mb_hs_round_begin(struct mb_hs_tracker *t);
/* A host of this round; call before its VMs. Returns -1 out of memory. */
int mb_hs_observe_host(struct mb_hs_tracker *t, const char *name,
		       const double capacity[MB_RESOURCES], bool up);
/* A VM on host @host (observed this round) with allocation @memory_mb. */
int mb_hs_observe_vm(struct mb_hs_tracker *t, const char *id,
		     const char *name, const char *host,
		     const struct mb_hs_reading *r, double memory_mb);
/* End the round: detect on every host. Returns whether any is hot. */
bool mb_hs_round_end(struct mb_hs_tracker *t);

/* What the tracker holds, for listings and for turning moves into actions. */
size_t mb_hs_tracker_hosts(const struct mb_hs_tracker *t);
const char *mb_hs_host_name(const struct mb_hs_tracker *t, size_t i);
bool mb_hs_host_up(const struct mb_hs_tracker *t, size_t i);
const double *mb_hs_host_capacity(const struct mb_hs_tracker *t, size_t i);
/* The host's newest observation (NULL before one) and its verdicts. */
const double *mb_hs_host_now(const struct mb_hs_tracker *t, size_t i);
const struct mb_hot_verdict *mb_hs_host_verdict(const struct mb_hs_tracker *t,
						size_t i, enum mb_resource r);
double mb_hs_host_mitigated(const struct mb_hs_tracker *t, size_t i);
size_t mb_hs_tracker_vms(const struct mb_hs_tracker *t);
const char *mb_hs_vm_id(const struct mb_hs_tracker *t, size_t v);
const char *mb_hs_vm_name(const struct mb_hs_tracker *t, size_t v);
const char *mb_hs_vm_host(const struct mb_hs_tracker *t, size_t v);
double mb_hs_vm_memory(const struct mb_hs_tracker *t, size_t v);
const double *mb_hs_vm_now(const struct mb_hs_tracker *t, size_t v);

/*
 * Whether VM @id must not move (the caller's hold-off and pins).
 * @sharing: what VM @id shares with host @host, in MiB (ties); may be NULL.
 */
typedef bool (*mb_hs_pinned_fn)(void *ctx, const char *id);
typedef double (*mb_hs_share_fn)(void *ctx, const char *id,
				 const char *host);

/*
 * Mitigate the hot hosts not mitigated in the last @holdoff seconds
 * before @now: profiles become struct mb_hs_vm (mean over the last n
 * observations, peak over the window), then mb_hs_mitigate(). The moves'
 * vm fields index the tracker's VMs (mb_hs_vm_id()), from/to its hosts.
 * The hot hosts are then marked mitigated at @now when @r has moves.
 * Returns whether some host was due (else @r is empty).
 */
bool mb_hs_tracker_mitigate(struct mb_hs_tracker *t, double now,
			    unsigned int holdoff, mb_hs_pinned_fn pinned,
			    mb_hs_share_fn share, void *ctx,
			    struct mb_hs_result *r);

#endif /* MB_HOTSPOT_H */
