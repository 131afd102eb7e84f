/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scheduler.h - the queue of actions and the one state machine they all
 * follow (scheduler.c; the states are in action.h).
 *
 * Actions are submitted as "planned" rows of the control database. Every
 * tick the scheduler starts planned actions while their kind has a free
 * slot (--max-concurrent-migrations, --max-concurrent-resizes) and no
 * running action conflicts with them, each in a worker thread of its own;
 * aborts the ones past their kind's timeout; and settles the rows left
 * "running" by an earlier mb-controld. What an action does is its kind's
 * business, behind struct action_ops: migrate.c and resize.c, one table
 * row each.
 *
 * Invariants the scheduler keeps:
 *   - every state change is written to the database before the next step;
 *   - a VM has at most one unfinished (planned or running) action;
 *   - an action that failed or was aborted pins its VM for that kind of
 *     action for --retry-after seconds (scheduler_pinned()).
 */
#ifndef MB_CONTROLD_SCHEDULER_H
#define MB_CONTROLD_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>

#include "action.h"
#include "controldb.h"
#include "mb_error.h"

/* How an action ended, as its kind reports it. */
struct action_result {
	bool ok;			/* done; else failed, or aborted */
	char error[ACTION_TEXT_LEN];	/* why not, "" when ok */
	char host[ACTION_NAME_LEN];	/* where the VM runs now, "" = none */
	char note[ACTION_TEXT_LEN];	/* what else was seen */
};

/* A running action, as its worker sees it. */
struct action_job {
	struct action a;		/* a copy of the row */
	int src, dst;			/* host indices of a.src, a.dst */
	int abort_requested;		/* atomic: the scheduler wants it to stop */
	void *priv;			/* the scheduler's */
};

/*
 * Call once the action is about to change the cluster (the row becomes
 * "running" and its start time is taken). An action that ends before
 * calling it goes straight from planned to its end state.
 */
void action_job_started(struct action_job *job);

/* Whether the scheduler asked @job to stop (its timeout passed). */
bool action_job_aborting(const struct action_job *job);

struct action_ops {
	const char *name;		/* "migrate" */
	/* Carry the action out; blocks until it has ended. */
	void (*run)(void *env, struct action_job *job,
		    struct action_result *res);
	/*
	 * Ask a running action to stop, from another thread (the timeout).
	 * NULL: run() watches action_job_aborting() itself.
	 */
	void (*abort)(void *env, struct action_job *job);
	/*
	 * Settle a row found "running" at start, whose worker died with the
	 * previous mb-controld: 1 still under way (asked again next tick), 0
	 * ended as @res says, -1 cannot tell now. NULL: the action is
	 * idempotent and simply runs again.
	 */
	int (*resolve)(void *env, const struct action *a, int src, int dst,
		       struct action_result *res);
	/* Whether @a may not start while @other runs (NULL: never). */
	bool (*conflicts)(const struct action_job *a,
			  const struct action_job *other);
};

struct scheduler_options {
	unsigned int max_running[ACTION_KINDS];	/* >= 1 */
	unsigned int timeout[ACTION_KINDS];	/* seconds, then aborted */
	unsigned int retry_after;		/* seconds a failure pins */
};

struct scheduler;

/*
 * @ops[kind] carries out that kind; @env is handed to them; @host_index
 * turns a host name into an index, -1 when it is not configured (any
 * more). @db must outlive the scheduler.
 */
struct scheduler *scheduler_new(const struct scheduler_options *o,
				struct controldb *db,
				const struct action_ops *const ops[ACTION_KINDS],
				void *env,
				int (*host_index)(void *env, const char *name),
				struct mb_err *err);

/*
 * Adopt the rows an earlier mb-controld left "running" (call once, before
 * the first tick). Rows whose hosts are gone from the configuration fail.
 */
int scheduler_recover(struct scheduler *s, struct mb_err *err);

/* Settle adopted rows, abort what is past its timeout, start what can. */
void scheduler_tick(struct scheduler *s);

/*
 * Only start what can start now, from any thread (the balancer calls it
 * after queueing, not to wait for the next tick).
 */
void scheduler_start_queued(struct scheduler *s);

/*
 * Queue @a as planned (a->state, a->id and a->created are set here).
 * Refused, with @err saying why, when the VM is pinned for this kind
 * (scheduler_pinned()). Returns 0, 1 when pinned, -1 on a database error.
 */
int scheduler_submit(struct scheduler *s, struct action *a,
		     struct mb_err *err);

/*
 * Why VM @uuid must not get an action of @kind now ("a migration is
 * running", "its last resize failed; retried in 42 s (--retry-after)"),
 * in @buf; NULL when it may.
 */
const char *scheduler_pinned(struct scheduler *s, const char *uuid,
			     enum action_kind kind, char *buf, size_t size);

/*
 * Whether an action of VM @uuid ended less than @seconds ago (its effect
 * may not show in the statistics yet).
 */
bool scheduler_recently_ended(struct scheduler *s, const char *uuid,
			      unsigned int seconds);

/* Whether any action is planned or running. */
bool scheduler_busy(struct scheduler *s);

/* Actions whose workers are running now. */
size_t scheduler_running(struct scheduler *s);

/*
 * Stop starting actions. Returns true when no worker is left, so @s may be
 * freed; false when workers are still inside their action (their rows stay
 * "running" and are settled at the next start: leave @s, the process is
 * exiting).
 */
bool scheduler_stop(struct scheduler *s);
void scheduler_free(struct scheduler *s);

#endif /* MB_CONTROLD_SCHEDULER_H */
