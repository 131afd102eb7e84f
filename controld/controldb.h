/* SPDX-License-Identifier: GPL-2.0 */
/*
 * controldb.h - the control database, DATADIR/control.db (SQLite).
 *
 * What the controller has decided and done: plans (each a JSON record and
 * its proposed actions as typed rows), actions (migrations and resizes)
 * and the downsampled statistics. Apart from the trace catalogue,
 * which can be rebuilt from the trace files; this history cannot, so back
 * it up with the data directory.
 *
 * Rows come and go as typed structs (struct action, plan bodies as text);
 * every function returns 0 (or 1 for "found") on success and -1 with @err
 * naming the table and SQLite's reason. Nothing here knows about HTTP.
 * All functions are thread-safe: one connection behind a mutex.
 *
 * Schema versions (PRAGMA user_version): 0/1 had a "migrations" table;
 * version 2 keeps every kind of action in "actions" and each plan's
 * proposals in "plan_actions". Opening a version 1 database moves its
 * migrations into "actions" (same ids) and its plans' moves into
 * "plan_actions", in one transaction, and drops the old table.
 */
#ifndef MB_CONTROLD_CONTROLDB_H
#define MB_CONTROLD_CONTROLDB_H

#include <stddef.h>
#include <stdint.h>

#include "action.h"
#include "mb_error.h"

struct controldb;

struct controldb *controldb_open(const char *path, struct mb_err *err);
void controldb_close(struct controldb *db);

/*
 * Make the SQLite database @path and its -wal and -shm files readable by
 * their owner only: create @path with mode 0600 when it does not exist
 * (SQLite gives the journal files the database's mode) and take group
 * and other permissions off the files that do. Both databases (this one
 * and the trace catalogue) hold VM names, statistics and plans. 0 or -1
 * with @err.
 */
int db_file_private(const char *path, struct mb_err *err);

/* ---- plans: JSON bodies, the last CONTROLDB_PLANS_KEPT kept ---- */

#define CONTROLDB_PLANS_KEPT 1000

/*
 * Store a plan made at @created: @body, its JSON record (what is served),
 * and its @n proposed @actions as typed rows (what is applied; their
 * state and ids are not used). *@id gets the plan's id.
 */
int controldb_plan_add(struct controldb *db, int64_t created,
		       const char *body, const struct action *actions,
		       size_t n, int64_t *id, struct mb_err *err);

/*
 * Call @fn for each action plan @plan_id proposed, in order (a->plan_id
 * set, a->id 0). A non-zero return from @fn stops the walk and is
 * returned; @fn must not call back into @db.
 */
int controldb_plan_actions(struct controldb *db, int64_t plan_id,
			   int (*fn)(void *ctx, const struct action *a),
			   void *ctx, struct mb_err *err);

/*
 * Plan @id (0: the latest). Returns 1 with *@body (malloc'ed, the
 * caller frees it) and *@found_id set, 0 when there is no such plan.
 */
int controldb_plan_get(struct controldb *db, int64_t id, int64_t *found_id,
		       char **body, struct mb_err *err);

/* ---- actions ---- */

/* Insert @a (its id is ignored) and set a->id. */
int controldb_action_add(struct controldb *db, struct action *a,
			 struct mb_err *err);

/* Write what changes as an action runs: state, times, error, host, note. */
int controldb_action_update(struct controldb *db, const struct action *a,
			    struct mb_err *err);

/* Action @id: 1 found, 0 not. */
int controldb_action_get(struct controldb *db, int64_t id, struct action *a,
			 struct mb_err *err);

/*
 * The newest action for VM @uuid, of kind @kind (-1: any kind). 1 found,
 * 0 none.
 */
int controldb_action_last(struct controldb *db, const char *uuid, int kind,
			  struct action *a, struct mb_err *err);

/*
 * Call @fn for each action with id > @after_id, in id order, of kind
 * @kind and state @state (-1: any). A non-zero return from @fn stops the
 * walk and is returned. @fn must not call back into @db.
 */
int controldb_action_foreach(struct controldb *db, int kind, int state,
			     int64_t after_id,
			     int (*fn)(void *ctx, const struct action *a),
			     void *ctx, struct mb_err *err);

/* Number of actions planned or running. */
int controldb_action_unfinished(struct controldb *db, int64_t *n,
				struct mb_err *err);

/* ---- statistics, downsampled (stats.h) ---- */

/* One downsampled record: entity @id ("vm"/"guest" uuid, "host" name). */
struct controldb_stats_row {
	const char *kind;
	const char *id;
	int64_t t;			/* start of its period, seconds */
	const char *body;		/* JSON text */
};

/* Store @n records in one transaction (a record for the same key replaces). */
int controldb_stats_add(struct controldb *db,
			const struct controldb_stats_row *rows, size_t n,
			struct mb_err *err);

/* Records of @kind/@id with @since <= t < @until, in time order. */
int controldb_stats_foreach(struct controldb *db, const char *kind,
			    const char *id, int64_t since, int64_t until,
			    int (*fn)(void *ctx, int64_t t, const char *body),
			    void *ctx, struct mb_err *err);

/* Delete the records older than @before. */
int controldb_stats_trim(struct controldb *db, int64_t before,
			 struct mb_err *err);

#endif /* MB_CONTROLD_CONTROLDB_H */
