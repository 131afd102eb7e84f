// SPDX-License-Identifier: GPL-2.0
/*
 * budget.c - how much of the host mb-hostd may take (hostd.h).
 *
 * Hashing a large guest is a long run of copies (process_vm_readv) and
 * arithmetic, so the scan paces itself: after every chunk it compares the
 * thread's CPU time (user and system, so the kernel's copy counts) with
 * the time elapsed, and sleeps off whatever is over --max-cpu percent of
 * one CPU. The scheduler's nice value and the I/O class come on top, for
 * the cases the budget cannot see: other work that wants the CPU right
 * now, and guest memory the host has swapped out, which a read brings
 * back in.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hostd.h"

/* <linux/ioprio.h>, which the C library does not wrap. */
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_WHO_PROCESS 1

/* Debts below this are carried, not slept: a sleep costs a system call. */
#define MIN_SLEEP_S 0.002

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void budget_start(struct budget *b, unsigned int percent)
{
	memset(b, 0, sizeof(*b));
	b->share = percent >= 100 ? 1.0 : percent / 100.0;
	clock_gettime(CLOCK_MONOTONIC, &b->wall0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b->cpu0);
}

double budget_cpu_s(const struct budget *b)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return seconds(&b->cpu0, &now);
}

double budget_wall_s(const struct budget *b)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return seconds(&b->wall0, &now);
}

double budget_debt_s(double cpu_s, double wall_s, double share)
{
	double debt;

	if (share >= 1.0 || share <= 0 || cpu_s <= 0)
		return 0;
	/* cpu / (wall + debt) = share */
	debt = cpu_s / share - wall_s;
	return debt > 0 ? debt : 0;
}

double budget_pace(struct budget *b)
{
	double debt = budget_debt_s(budget_cpu_s(b), budget_wall_s(b),
				    b->share);
	struct timespec ts;

	if (debt < MIN_SLEEP_S)
		return 0;
	ts.tv_sec = (time_t)debt;
	ts.tv_nsec = (long)((debt - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	b->slept_s += debt;
	return debt;
}

int budget_set_priority(int nice, enum ionice_class cls, unsigned int level,
			struct mb_err *err)
{
	int prio;

	if (setpriority(PRIO_PROCESS, 0, nice))
		return mb_errf(err, "nice %d: %s", nice, strerror(errno));
	if (cls == IONICE_OFF)
		return 0;
	prio = cls == IONICE_IDLE ? IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT :
	       (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | (int)(level & 7);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio))
		return mb_errf(err, "ionice %s: %s", cls == IONICE_IDLE ?
			       "idle" : "best-effort", strerror(errno));
	return 0;
}
