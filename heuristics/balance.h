/* SPDX-License-Identifier: GPL-2.0 */
/*
 * balance.h - memory balancing: a VM's critical memory amount (CMA) and the
 * per-host allocation that guarantees it (CAGMA, Wu and Sun 2017), or
 * divides memory in proportion to recent misses (MEB-style).
 *
 * One source for two callers: mb-controld's live `balance` policy feeds
 * these functions with what guests report (meminfo, vmstat, PSI) and
 * libvirt's balloon statistics; `mbuddy balance-sim --policy cagma` feeds
 * them with what its simulation derives (docs/balancing.md gives both
 * mappings). Pure computation: no I/O, no global state (the allocation
 * takes scratch memory and frees it before returning), so the same inputs
 * always give the same decisions in both.
 *
 * Units: memory in MiB, fault rates in pages per second (pages of
 * mb_cma_params.page_kib KiB), PSI in percent (0 to 100). The formulas,
 * the reasoning behind them and the defaults are in docs/balancing.md,
 * "The critical memory amount" and "Allocation on a host".
 */
#ifndef MB_BALANCE_H
#define MB_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"

/*
 * What is known of one VM at one balancing interval. A value the caller
 * cannot observe is NaN (e.g. Committed_AS when only libvirt's balloon
 * statistics are available); it then contributes nothing, except
 * used_mib, which falls back to current_mib (what cannot be seen is not
 * taken away). Negative values count as 0.
 */
struct mb_vm_observed {
	double used_mib;	/* memory in use: MemTotal - MemAvailable */
	double committed_mib;	/* Committed_AS */
	double swapin_rate;	/* pages/s swapped in (pswpin delta / interval) */
	double majfault_rate;	/* pages/s of major faults (pgmajfault delta) */
	double psi_some_avg10;	/* /proc/pressure/memory "some avg10", % */
	double current_mib;	/* the VM's current allocation (balloon actual) */
};

/*
 * Tunables of mb_cma(). mb_cma_defaults() fills the values in brackets,
 * chosen for real guests; the simulator sets its own scale
 * (docs/balancing.md, "Units in the simulator").
 */
struct mb_cma_params {
	double commit_weight;	/* share of Committed_AS above in-use memory counted [0.25] */
	double reserve_mib;	/* headroom added to every CMA [64] ... */
	double reserve_fraction; /* ... or this fraction of the base, if more [0.05] */
	double fault_window_s;	/* seconds of faulting the shortfall is estimated from [10] */
	double fault_growth_max; /* the shortfall is at most this fraction of current [0.5] */
	double psi_gain;	/* pressure term: psi_gain * (avg10 / 100) * current [0.5] */
	double psi_threshold;	/* avg10 below this (%) is noise, not pressure [1] */
	double min_mib;		/* no CMA is below this [128] */
	double page_kib;	/* size of the pages the fault rates count, KiB [4] */
};

/* The terms of one CMA, in MiB, for reasons and documentation. */
struct mb_cma_parts {
	double used;		/* memory in use (or current_mib when unknown) */
	double commit;		/* commit_weight * (Committed_AS - used), >= 0 */
	double shortfall;	/* memory faulted in over fault_window_s, capped */
	double pressure;	/* the PSI term */
	double reserve;		/* the headroom */
};

/* Fill @p with the defaults listed at struct mb_cma_params. */
void mb_cma_defaults(struct mb_cma_params *p);

/*
 * The critical memory amount of a VM in MiB, rounded up to a whole MiB:
 *
 *   base      = used + commit_weight * max(0, committed - used)
 *   shortfall = min(max(swapin, majfault) * page_kib / 1024 * fault_window_s,
 *                   fault_growth_max * current)
 *   pressure  = psi >= psi_threshold ? psi_gain * psi / 100 * current : 0
 *   reserve   = max(reserve_mib, reserve_fraction * base)
 *   CMA       = max(min_mib, base + max(shortfall, pressure) + reserve)
 *
 * The memory the VM holds and will soon touch, what it is missing now
 * (measured twice, by faults and by stall time: the larger counts), and a
 * margin. When @parts is not NULL it receives the terms. Never fails.
 */
uint64_t mb_cma(const struct mb_vm_observed *o, const struct mb_cma_params *p,
		struct mb_cma_parts *parts);

enum mb_balance_mode {
	MB_BALANCE_CAGMA,	/* spare memory to VMs that swap or stall first */
	MB_BALANCE_PROPORTIONAL, /* spare memory in proportion to recent misses */
};

enum mb_balance_action {
	MB_BALANCE_KEEP,
	MB_BALANCE_GROW,
	MB_BALANCE_SHRINK,
};

#define MB_BALANCE_REASON_LEN 128

/* One VM of a host: its needs in, its decision out. */
struct mb_balance_vm {
	/* in */
	uint64_t cma_mib;	/* from mb_cma() */
	uint64_t floor_mib;	/* never below this (the VM's configured minimum) */
	uint64_t max_mib;	/* never above this (its configured maximum) */
	uint64_t current_mib;	/* its size now */
	double fault_rate;	/* pages/s: max(swap-in, major faults) */
	double psi_some_avg10;	/* %, as in struct mb_vm_observed */
	uint64_t recent_misses;	/* faults over the last interval (proportional) */
	/* out */
	uint64_t want_mib;	/* the ideal size, before the step and shrink rules */
	uint64_t target_mib;	/* the size to set; current_mib when kept */
	enum mb_balance_action action;
	bool needy;		/* swapping or under pressure by the thresholds */
	char reason[MB_BALANCE_REASON_LEN]; /* e.g. "grow 96 MiB to its CMA: swapping" */
};

/* Tunables of mb_balance_allocate(); mb_balance_defaults() fills [..]. */
struct mb_balance_params {
	uint64_t step_mib;	/* a change smaller than this is not made [16] */
	double shrink_fraction;	/* share of the excess given back per interval [0.25] */
	double fault_threshold;	/* pages/s from which a VM counts as swapping [1] */
	double psi_threshold;	/* avg10 % from which a VM is under pressure [10] */
};

/* One host: its memory in, its totals out. */
struct mb_balance_host {
	/* in */
	uint64_t capacity_mib;	/* memory the VMs may use in all */
	uint64_t reserve_mib;	/* kept free: targets add up to capacity - reserve at most */
	/* out */
	uint64_t cma_sum;	/* sum of the VMs' CMAs */
	uint64_t want_sum;	/* sum of want_mib */
	uint64_t target_sum;	/* sum of target_mib, <= capacity - reserve */
	bool hotspot;		/* cma_sum > capacity: a memory hotspot */
	bool overcommitted;	/* even min(CMA, current) does not fit: some
				 * VM was left below its CMA */
};

/* Fill @p with the defaults listed at struct mb_balance_params. */
void mb_balance_defaults(struct mb_balance_params *p);

/*
 * Fill the in fields of @bv from what is observed of the VM: its CMA
 * (mb_cma() with @cp; its terms in @parts when not NULL), @floor_mib and
 * @max_mib, current_mib = o->current_mib, fault_rate = the larger of the
 * swap-in and major-fault rates, the PSI, and @recent_misses. The out
 * fields are cleared. Both callers of this header build their VMs so.
 */
void mb_balance_vm_prepare(struct mb_balance_vm *bv,
			   const struct mb_vm_observed *o,
			   const struct mb_cma_params *cp, uint64_t floor_mib,
			   uint64_t max_mib, uint64_t recent_misses,
			   struct mb_cma_parts *parts);

/*
 * Decide the next size of each of the @n VMs of @host (the rules are in
 * docs/balancing.md, "Allocation on a host"):
 *   - every VM is meant to hold at least min(CMA, max), within its floor;
 *   - the memory left over (capacity - reserve - those) goes by need:
 *     MB_BALANCE_CAGMA first to the VMs that swap or are under pressure (in
 *     proportion to their fault rates), the rest in proportion to CMAs;
 *     MB_BALANCE_PROPORTIONAL in proportion to recent_misses;
 *   - a VM grows at once (as far as free memory allows, neediest first)
 *     and shrinks by shrink_fraction of its excess per call, unless the
 *     memory is needed now; changes smaller than step_mib are skipped;
 *   - a VM is never taken below min(CMA, current) to make room for
 *     others, unless even that does not fit (host->overcommitted).
 * Guarantees for every VM: floor_mib <= target_mib <= max_mib, and the
 * targets add up to at most capacity - reserve.
 *
 * Fills the out fields of @host and of every VM (reason is a short
 * sentence without the VM's name). Returns 0, or -1 with @err set when
 * the bounds cannot all hold (a floor above its maximum, a reserve above
 * the capacity, floors that add up to more than capacity - reserve) or
 * when out of memory; the VMs' out fields are then unspecified.
 */
int mb_balance_allocate(struct mb_balance_host *host, struct mb_balance_vm *vms,
			size_t n, enum mb_balance_mode mode,
			const struct mb_balance_params *p, struct mb_err *err);

/* "cagma" or "proportional"; parse returns -1 for anything else. */
const char *mb_balance_mode_name(enum mb_balance_mode mode);
int mb_balance_mode_parse(const char *name, enum mb_balance_mode *mode);

#endif /* MB_BALANCE_H */
