// SPDX-License-Identifier: GPL-2.0
/*
 * controldb.c - plans, actions and downsampled statistics in SQLite
 * (controldb.h).
 *
 * Kinds and states are stored by name ("migrate", "running"), so that an
 * operator reading control.db with the sqlite3 shell sees what the API
 * shows. Every state change is written before the controller takes the
 * next step (scheduler.c): after a crash the rows say what was under way.
 * WAL journal, synchronous=FULL: unlike the catalogue, a lost row here is
 * not found again anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "controldb.h"

#define CONTROLDB_SCHEMA_VERSION 2

struct controldb {
	sqlite3 *db;
	pthread_mutex_t lock;
	char *path;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS plans (id INTEGER PRIMARY KEY,"
	" created INTEGER NOT NULL, body TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS plan_actions (plan_id INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, kind TEXT NOT NULL, uuid TEXT NOT NULL,"
	" name TEXT, src TEXT NOT NULL, dst TEXT NOT NULL, target_mb REAL,"
	" from_mb REAL, policy TEXT, reason TEXT, gain_mb REAL,"
	" PRIMARY KEY (plan_id, seq));"
	"CREATE TABLE IF NOT EXISTS actions (id INTEGER PRIMARY KEY,"
	" plan_id INTEGER, kind TEXT NOT NULL, uuid TEXT NOT NULL,"
	" name TEXT, src TEXT NOT NULL, dst TEXT NOT NULL,"
	" target_mb REAL, from_mb REAL, state TEXT NOT NULL,"
	" policy TEXT, reason TEXT, gain_mb REAL,"
	" created INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER,"
	" error TEXT, host TEXT, note TEXT);"
	"CREATE INDEX IF NOT EXISTS actions_uuid ON actions(uuid);"
	"CREATE INDEX IF NOT EXISTS actions_state ON actions(state);"
	"CREATE TABLE IF NOT EXISTS stats (kind TEXT NOT NULL,"
	" id TEXT NOT NULL, t INTEGER NOT NULL, body TEXT NOT NULL,"
	" PRIMARY KEY (kind, id, t));"
	"CREATE INDEX IF NOT EXISTS stats_t ON stats(t);";

/*
 * Schema 1's migrations become migrate actions with the same ids, and its
 * plans' moves (then only in the JSON body) their typed rows.
 */
static const char upgrade_v1[] =
	"INSERT INTO plan_actions (plan_id, seq, kind, uuid, name, src, dst,"
	" policy, reason, gain_mb)"
	" SELECT plans.id, m.key, 'migrate', json_extract(m.value, '$.uuid'),"
	" json_extract(m.value, '$.name'), json_extract(m.value, '$.from'),"
	" json_extract(m.value, '$.to'),"
	" CASE WHEN json_extract(m.value, '$.kind') = 'hotspot'"
	" THEN 'hotspot' ELSE 'buddies' END,"
	" json_extract(m.value, '$.reason'), json_extract(m.value, '$.gain_mb')"
	" FROM plans, json_each(plans.body, '$.moves') AS m"
	" WHERE json_valid(plans.body)"
	" AND json_extract(m.value, '$.uuid') IS NOT NULL"
	" AND json_extract(m.value, '$.from') IS NOT NULL"
	" AND json_extract(m.value, '$.to') IS NOT NULL;"
	"INSERT INTO actions (id, plan_id, kind, uuid, name, src, dst,"
	" state, policy, reason, gain_mb, created, started_ms, finished_ms,"
	" error, host, note)"
	" SELECT id, plan_id, 'migrate', uuid, name, src, dst, state,"
	" CASE WHEN reason LIKE 'hotspot%' THEN 'hotspot' ELSE 'buddies' END,"
	" reason, gain_mb, created, started_ms, finished_ms, error, host, note"
	" FROM migrations;"
	"DROP TABLE migrations;";

#define ACTION_COLS "id, plan_id, kind, uuid, name, src, dst, target_mb," \
	" from_mb, state, policy, reason, gain_mb, created, started_ms," \
	" finished_ms, error, host, note"

static int db_err(struct controldb *c, struct mb_err *err, const char *what)
{
	return mb_errf(err, "%s: %s: %s", c->path, what,
		       sqlite3_errmsg(c->db));
}

static int exec(struct controldb *c, const char *sql, struct mb_err *err,
		const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mb_errf(err, "%s: %s: %s", c->path, what,
			msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static sqlite3_stmt *prepare(struct controldb *c, const char *sql,
			     struct mb_err *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(c, err, "prepare");
		return NULL;
	}
	return st;
}

static int int_query(struct controldb *c, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int ok;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	ok = sqlite3_step(st) == SQLITE_ROW;
	if (ok)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

static int upgrade(struct controldb *c, struct mb_err *err)
{
	int64_t version = 0, old = 0;

	if (int_query(c, "PRAGMA user_version", &version))
		return db_err(c, err, "cannot read the schema version");
	if (version > CONTROLDB_SCHEMA_VERSION)
		return mb_errf(err, "%s: schema version %lld is newer than "
			       "this mb-controld's %d: use a newer one",
			       c->path, (long long)version,
			       CONTROLDB_SCHEMA_VERSION);
	if (exec(c, "BEGIN IMMEDIATE", err, "begin"))
		return -1;
	if (exec(c, schema, err, "create the schema"))
		goto rollback;
	int_query(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		  " AND name = 'migrations'", &old);
	if (old && exec(c, upgrade_v1, err, "move migrations into actions"))
		goto rollback;
	if (exec(c, "PRAGMA user_version = 2", err, "set the schema version") ||
	    exec(c, "COMMIT", err, "commit"))
		goto rollback;
	return 0;
rollback:
	exec(c, "ROLLBACK", NULL, "rollback");
	return -1;
}

int db_file_private(const char *path, struct mb_err *err)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char name[4096];
	struct stat st;
	size_t i;
	int fd;

	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return mb_errf(err, "database %s: %s", path, strerror(errno));
	close(fd);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
		if (lstat(name, &st) || !S_ISREG(st.st_mode) ||
		    !(st.st_mode & 077))
			continue;
		if (chmod(name, st.st_mode & 0700))
			return mb_errf(err, "database %s: chmod: %s", name,
				       strerror(errno));
	}
	return 0;
}

struct controldb *controldb_open(const char *path, struct mb_err *err)
{
	struct controldb *c = calloc(1, sizeof(*c));

	if (!c || !(c->path = strdup(path))) {
		free(c);
		mb_errf(err, "%s: out of memory", path);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	if (db_file_private(path, err))
		goto fail;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		db_err(c, err, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 5000);
	if (exec(c, "PRAGMA journal_mode=WAL", err, "journal mode") ||
	    exec(c, "PRAGMA synchronous=FULL", err, "synchronous") ||
	    upgrade(c, err))
		goto fail;
	return c;
fail:
	controldb_close(c);
	return NULL;
}

void controldb_close(struct controldb *c)
{
	if (!c)
		return;
	if (c->db)
		sqlite3_close(c->db);
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	free(c);
}

/* ---- plans ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *s);
static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int i);

int controldb_plan_add(struct controldb *c, int64_t created,
		       const char *body, const struct action *actions,
		       size_t n, int64_t *id, struct mb_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	if (exec(c, "BEGIN", err, "begin"))
		goto out;
	st = prepare(c, "INSERT INTO plans (created, body) VALUES (?1, ?2)",
		     err);
	if (!st)
		goto rollback;
	sqlite3_bind_int64(st, 1, created);
	sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, err, "store the plan");
		goto rollback;
	}
	*id = sqlite3_last_insert_rowid(c->db);
	sqlite3_finalize(st);
	st = prepare(c, "INSERT INTO plan_actions (plan_id, seq, kind, uuid,"
		     " name, src, dst, target_mb, from_mb, policy, reason,"
		     " gain_mb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		     " ?10, ?11, ?12)", err);
	if (!st)
		goto rollback;
	for (i = 0; i < n; i++) {
		const struct action *a = &actions[i];

		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_text(st, 3, action_kind_name(a->kind), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->uuid, -1, SQLITE_STATIC);
		bind_text(st, 5, a->name);
		sqlite3_bind_text(st, 6, a->src, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, a->dst, -1, SQLITE_STATIC);
		if (a->kind == ACTION_RESIZE) {
			sqlite3_bind_double(st, 8, a->target_mb);
			sqlite3_bind_double(st, 9, a->from_mb);
		}
		bind_text(st, 10, a->policy);
		bind_text(st, 11, a->reason);
		sqlite3_bind_double(st, 12, a->gain_mb);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_err(c, err, "store the plan's actions");
			goto rollback;
		}
	}
	sqlite3_finalize(st);
	/* Plans are history, not state: keep the last ones. */
	st = prepare(c, "DELETE FROM plans WHERE id <= ?1", err);
	if (!st)
		goto rollback;
	sqlite3_bind_int64(st, 1, *id - CONTROLDB_PLANS_KEPT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, err, "drop old plans");
		goto rollback;
	}
	sqlite3_finalize(st);
	st = prepare(c, "DELETE FROM plan_actions WHERE plan_id <= ?1", err);
	if (!st)
		goto rollback;
	sqlite3_bind_int64(st, 1, *id - CONTROLDB_PLANS_KEPT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, err, "drop old plans' actions");
		goto rollback;
	}
	if (exec(c, "COMMIT", err, "commit"))
		goto rollback;
	ret = 0;
	goto out;
rollback:
	exec(c, "ROLLBACK", NULL, "rollback");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_plan_actions(struct controldb *c, int64_t plan_id,
			   int (*fn)(void *ctx, const struct action *a),
			   void *ctx, struct mb_err *err)
{
	sqlite3_stmt *st;
	struct action a;
	int ret = -1, rc, kind;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT kind, uuid, name, src, dst, target_mb,"
		     " from_mb, policy, reason, gain_mb FROM plan_actions"
		     " WHERE plan_id = ?1 ORDER BY seq", err);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, plan_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		kind = action_kind_parse((const char *)
					 sqlite3_column_text(st, 0));
		if (kind < 0) {
			mb_errf(err, "%s: plan %lld has an action of an "
				"unknown kind", c->path, (long long)plan_id);
			goto out;
		}
		a.kind = kind;
		a.plan_id = plan_id;
		copy_text(a.uuid, sizeof(a.uuid), st, 1);
		copy_text(a.name, sizeof(a.name), st, 2);
		copy_text(a.src, sizeof(a.src), st, 3);
		copy_text(a.dst, sizeof(a.dst), st, 4);
		a.target_mb = sqlite3_column_double(st, 5);
		a.from_mb = sqlite3_column_double(st, 6);
		copy_text(a.policy, sizeof(a.policy), st, 7);
		copy_text(a.reason, sizeof(a.reason), st, 8);
		a.gain_mb = sqlite3_column_double(st, 9);
		rc = fn(ctx, &a);
		if (rc) {
			ret = rc;
			goto out;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
	else
		db_err(c, err, "read a plan's actions");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_plan_get(struct controldb *c, int64_t id, int64_t *found_id,
		       char **body, struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1, rc;

	*body = NULL;
	pthread_mutex_lock(&c->lock);
	st = prepare(c, id ? "SELECT id, body FROM plans WHERE id = ?1"
			   : "SELECT id, body FROM plans ORDER BY id DESC"
			     " LIMIT 1", err);
	if (!st)
		goto out;
	if (id)
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
	} else if (rc == SQLITE_ROW) {
		*found_id = sqlite3_column_int64(st, 0);
		*body = strdup((const char *)sqlite3_column_text(st, 1));
		ret = *body ? 1 : mb_errf(err, "%s: out of memory", c->path);
	} else {
		db_err(c, err, "read a plan");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- actions ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && s[0])
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
	if (ms)
		sqlite3_bind_int64(st, i, ms);
	else
		sqlite3_bind_null(st, i);
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", s ? (const char *)s : "");
}

/* A row of ACTION_COLS; -1 when its kind or state is unknown. */
static int row_to_action(sqlite3_stmt *st, struct action *a)
{
	int kind = action_kind_parse((const char *)sqlite3_column_text(st, 2));
	int state = action_state_parse((const char *)
				       sqlite3_column_text(st, 9));

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->plan_id = sqlite3_column_int64(st, 1);
	a->kind = kind < 0 ? ACTION_MIGRATE : (enum action_kind)kind;
	copy_text(a->uuid, sizeof(a->uuid), st, 3);
	copy_text(a->name, sizeof(a->name), st, 4);
	copy_text(a->src, sizeof(a->src), st, 5);
	copy_text(a->dst, sizeof(a->dst), st, 6);
	a->target_mb = sqlite3_column_double(st, 7);
	a->from_mb = sqlite3_column_double(st, 8);
	a->state = state < 0 ? ACTION_FAILED : (enum action_state)state;
	copy_text(a->policy, sizeof(a->policy), st, 10);
	copy_text(a->reason, sizeof(a->reason), st, 11);
	a->gain_mb = sqlite3_column_double(st, 12);
	a->created = sqlite3_column_int64(st, 13);
	a->started_ms = sqlite3_column_int64(st, 14);
	a->finished_ms = sqlite3_column_int64(st, 15);
	copy_text(a->error, sizeof(a->error), st, 16);
	copy_text(a->host, sizeof(a->host), st, 17);
	copy_text(a->note, sizeof(a->note), st, 18);
	return kind < 0 || state < 0 ? -1 : 0;
}

int controldb_action_add(struct controldb *c, struct action *a,
			 struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "INSERT INTO actions (plan_id, kind, uuid, name, src,"
		     " dst, target_mb, from_mb, state, policy, reason, gain_mb,"
		     " created, started_ms, finished_ms, error, host, note)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		     " ?12, ?13, ?14, ?15, ?16, ?17, ?18)", err);
	if (!st)
		goto out;
	if (a->plan_id)
		sqlite3_bind_int64(st, 1, a->plan_id);
	sqlite3_bind_text(st, 2, action_kind_name(a->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->uuid, -1, SQLITE_STATIC);
	bind_text(st, 4, a->name);
	sqlite3_bind_text(st, 5, a->src, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->dst, -1, SQLITE_STATIC);
	if (a->kind == ACTION_RESIZE) {
		sqlite3_bind_double(st, 7, a->target_mb);
		sqlite3_bind_double(st, 8, a->from_mb);
	}
	sqlite3_bind_text(st, 9, action_state_name(a->state), -1,
			  SQLITE_STATIC);
	bind_text(st, 10, a->policy);
	bind_text(st, 11, a->reason);
	sqlite3_bind_double(st, 12, a->gain_mb);
	sqlite3_bind_int64(st, 13, a->created);
	bind_ms(st, 14, a->started_ms);
	bind_ms(st, 15, a->finished_ms);
	bind_text(st, 16, a->error);
	bind_text(st, 17, a->host);
	bind_text(st, 18, a->note);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, err, "record an action");
		goto out;
	}
	a->id = sqlite3_last_insert_rowid(c->db);
	ret = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_action_update(struct controldb *c, const struct action *a,
			    struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "UPDATE actions SET state = ?1, started_ms = ?2,"
		     " finished_ms = ?3, error = ?4, host = ?5, note = ?6"
		     " WHERE id = ?7", err);
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, action_state_name(a->state), -1,
			  SQLITE_STATIC);
	bind_ms(st, 2, a->started_ms);
	bind_ms(st, 3, a->finished_ms);
	bind_text(st, 4, a->error);
	bind_text(st, 5, a->host);
	bind_text(st, 6, a->note);
	sqlite3_bind_int64(st, 7, a->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		mb_errf(err, "%s: record action %lld as %s: %s", c->path,
			(long long)a->id, action_state_name(a->state),
			sqlite3_errmsg(c->db));
		goto out;
	}
	if (sqlite3_changes(c->db) != 1) {
		mb_errf(err, "%s: there is no action %lld", c->path,
			(long long)a->id);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* Step @st for one row: 1 with @a filled, 0 at the end, -1 on error. */
static int step_action(struct controldb *c, sqlite3_stmt *st,
		       struct action *a, struct mb_err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_err(c, err, "read actions");
	if (row_to_action(st, a))
		return mb_errf(err, "%s: action %lld has an unknown kind or "
			       "state", c->path, (long long)a->id);
	return 1;
}

int controldb_action_get(struct controldb *c, int64_t id, struct action *a,
			 struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT " ACTION_COLS " FROM actions WHERE id = ?1",
		     err);
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		ret = step_action(c, st, a, err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_action_last(struct controldb *c, const char *uuid, int kind,
			  struct action *a, struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT " ACTION_COLS " FROM actions WHERE uuid = ?1"
		     " AND (?2 IS NULL OR kind = ?2) ORDER BY id DESC LIMIT 1",
		     err);
	if (st) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		if (kind >= 0)
			sqlite3_bind_text(st, 2, action_kind_name(kind), -1,
					  SQLITE_STATIC);
		ret = step_action(c, st, a, err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_action_foreach(struct controldb *c, int kind, int state,
			     int64_t after_id,
			     int (*fn)(void *ctx, const struct action *a),
			     void *ctx, struct mb_err *err)
{
	struct action a;
	sqlite3_stmt *st;
	int ret = -1, rc;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT " ACTION_COLS " FROM actions WHERE id > ?1"
		     " AND (?2 IS NULL OR kind = ?2)"
		     " AND (?3 IS NULL OR state = ?3) ORDER BY id", err);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, after_id);
	if (kind >= 0)
		sqlite3_bind_text(st, 2, action_kind_name(kind), -1,
				  SQLITE_STATIC);
	if (state >= 0)
		sqlite3_bind_text(st, 3, action_state_name(state), -1,
				  SQLITE_STATIC);
	while ((rc = step_action(c, st, &a, err)) == 1) {
		rc = fn(ctx, &a);
		if (rc) {
			ret = rc;
			goto out;
		}
	}
	ret = rc;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_action_unfinished(struct controldb *c, int64_t *n,
				struct mb_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (int_query(c, "SELECT count(*) FROM actions WHERE state IN"
		      " ('planned', 'running')", n))
		ret = db_err(c, err, "count unfinished actions");
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- statistics ---- */

int controldb_stats_add(struct controldb *c,
			const struct controldb_stats_row *rows, size_t n,
			struct mb_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int ret = -1;

	if (!n)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (exec(c, "BEGIN", err, "begin"))
		goto out;
	st = prepare(c, "INSERT OR REPLACE INTO stats (kind, id, t, body)"
		     " VALUES (?1, ?2, ?3, ?4)", err);
	if (!st)
		goto rollback;
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, rows[i].kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rows[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, rows[i].t);
		sqlite3_bind_text(st, 4, rows[i].body, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_err(c, err, "record statistics");
			goto rollback;
		}
	}
	if (exec(c, "COMMIT", err, "commit"))
		goto rollback;
	ret = 0;
	goto out;
rollback:
	exec(c, "ROLLBACK", NULL, "rollback");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_stats_foreach(struct controldb *c, const char *kind,
			    const char *id, int64_t since, int64_t until,
			    int (*fn)(void *ctx, int64_t t, const char *body),
			    void *ctx, struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1, rc;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT t, body FROM stats WHERE kind = ?1 AND"
		     " id = ?2 AND t >= ?3 AND t < ?4 ORDER BY t", err);
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	sqlite3_bind_int64(st, 4, until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = fn(ctx, sqlite3_column_int64(st, 0),
			(const char *)sqlite3_column_text(st, 1));
		if (rc) {
			ret = rc;
			goto out;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
	else
		db_err(c, err, "read statistics");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int controldb_stats_trim(struct controldb *c, int64_t before,
			 struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "DELETE FROM stats WHERE t < ?1", err);
	if (st) {
		sqlite3_bind_int64(st, 1, before);
		if (sqlite3_step(st) == SQLITE_DONE)
			ret = 0;
		else
			db_err(c, err, "drop old statistics");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}
