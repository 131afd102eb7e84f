// SPDX-License-Identifier: GPL-2.0
/*
 * catalogue.c - the SQLite index of stored traces (see catalogue.h).
 *
 * Two tables: vms (one row per VM ever seen, with the highest version ever
 * handed out, which survives retention so versions are never reused) and
 * traces (one row per stored file). WAL journal with synchronous=NORMAL:
 * a crash may lose the last rows, never corrupt the file, and whatever is
 * lost is found again in the data directory at the next start.
 *
 * One connection, one mutex: ingest holds it for a single INSERT, which is
 * short next to the fsync of the trace that precedes it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalogue.h"
#include "controldb.h"

#define CATALOGUE_SCHEMA_VERSION 1

struct catalogue {
	sqlite3 *db;
	pthread_mutex_t lock;
	char *path;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS vms ("
	" uuid TEXT PRIMARY KEY,"
	" name TEXT NOT NULL DEFAULT '',"
	" high_water INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS traces ("
	" uuid TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" kernel TEXT NOT NULL,"
	" algorithm INTEGER NOT NULL,"
	" page_count INTEGER NOT NULL,"
	" used_pages INTEGER NOT NULL,"
	" free_pages INTEGER NOT NULL,"
	" capture_time_ns INTEGER NOT NULL,"
	" scan_ns INTEGER NOT NULL,"
	" upload_time INTEGER NOT NULL,"
	" source TEXT NOT NULL,"
	" mem_total_kb INTEGER, mem_available_kb INTEGER,"
	" swap_total_kb INTEGER, swap_free_kb INTEGER,"
	" pswpin INTEGER, pswpout INTEGER,"
	" PRIMARY KEY (uuid, version));";

void vm_stats_init(struct vm_stats *s)
{
	s->mem_total_kb = s->mem_available_kb = -1;
	s->swap_total_kb = s->swap_free_kb = -1;
	s->pswpin = s->pswpout = -1;
}

static int db_err(struct catalogue *c, struct mb_err *err, const char *what)
{
	return mb_errf(err, "catalogue %s: %s: %s", c->path, what,
		       sqlite3_errmsg(c->db));
}

static int exec(struct catalogue *c, const char *sql, struct mb_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mb_errf(err, "catalogue %s: %s", c->path,
			msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* 1 when the database is readable, has our schema and passes quick_check. */
static int looks_healthy(struct catalogue *c)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(c->db, "PRAGMA quick_check", -1, &st, NULL))
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    !strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
		ok = 1;
	sqlite3_finalize(st);
	if (!ok)
		return 0;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL))
		return 0;
	ok = sqlite3_step(st) == SQLITE_ROW &&
	     (sqlite3_column_int(st, 0) == CATALOGUE_SCHEMA_VERSION ||
	      sqlite3_column_int(st, 0) == 0);
	sqlite3_finalize(st);
	return ok;
}

static int open_db(struct catalogue *c, struct mb_err *err)
{
	if (sqlite3_open_v2(c->path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		db_err(c, err, "cannot open");
		sqlite3_close(c->db);
		c->db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(c->db, 5000);
	return 0;
}

static void move_aside(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char from[4096], to[4096];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
		snprintf(to, sizeof(to), "%s.damaged%s", path, suffixes[i]);
		if (rename(from, to) && errno != ENOENT)
			unlink(from);
	}
}

struct catalogue *catalogue_open(const char *path, bool *fresh,
				 struct mb_err *err)
{
	struct catalogue *c = calloc(1, sizeof(*c));
	FILE *probe;

	if (!c || !(c->path = strdup(path))) {
		free(c);
		mb_errf(err, "catalogue %s: out of memory", path);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	probe = fopen(path, "r");
	*fresh = !probe;
	if (probe)
		fclose(probe);
	if (db_file_private(path, err) || open_db(c, err))
		goto fail;
	if (!*fresh && !looks_healthy(c)) {
		sqlite3_close(c->db);
		c->db = NULL;
		move_aside(path);
		*fresh = true;
		if (db_file_private(path, err) || open_db(c, err))
			goto fail;
	}
	if (exec(c, "PRAGMA journal_mode=WAL", err) ||
	    exec(c, "PRAGMA synchronous=NORMAL", err) ||
	    exec(c, schema, err) ||
	    exec(c, "PRAGMA user_version=1", err))
		goto fail;
	return c;
fail:
	catalogue_close(c);
	return NULL;
}

void catalogue_close(struct catalogue *c)
{
	if (!c)
		return;
	if (c->db)
		sqlite3_close(c->db);
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	free(c);
}

static sqlite3_stmt *prepare(struct catalogue *c, const char *sql,
			     struct mb_err *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(c, err, "prepare");
		return NULL;
	}
	return st;
}

static void bind_stat(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

int catalogue_add(struct catalogue *c, const struct trace_record *r,
		  struct mb_err *err)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	if (exec(c, "BEGIN", err))
		goto out;
	st = prepare(c, "INSERT OR REPLACE INTO traces VALUES (?1,?2,?3,?4,"
		     "?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
		     err);
	if (!st)
		goto rollback;
	sqlite3_bind_text(st, 1, r->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->version);
	sqlite3_bind_int64(st, 3, r->size);
	sqlite3_bind_text(st, 4, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->kernel, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, r->algorithm);
	sqlite3_bind_int64(st, 7, r->page_count);
	sqlite3_bind_int64(st, 8, r->used_pages);
	sqlite3_bind_int64(st, 9, r->free_pages);
	sqlite3_bind_int64(st, 10, r->capture_time_ns);
	sqlite3_bind_int64(st, 11, r->scan_ns);
	sqlite3_bind_int64(st, 12, r->upload_time);
	sqlite3_bind_text(st, 13, r->source, -1, SQLITE_STATIC);
	bind_stat(st, 14, r->stats.mem_total_kb);
	bind_stat(st, 15, r->stats.mem_available_kb);
	bind_stat(st, 16, r->stats.swap_total_kb);
	bind_stat(st, 17, r->stats.swap_free_kb);
	bind_stat(st, 18, r->stats.pswpin);
	bind_stat(st, 19, r->stats.pswpout);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, err, "insert trace");
		goto rollback;
	}
	sqlite3_finalize(st);
	st = prepare(c, "INSERT INTO vms (uuid, name, high_water) "
		     "VALUES (?1, ?2, ?3) ON CONFLICT(uuid) DO UPDATE SET "
		     "name = CASE WHEN ?3 >= high_water THEN ?2 ELSE name END,"
		     " high_water = max(high_water, ?3)", err);
	if (!st)
		goto rollback;
	sqlite3_bind_text(st, 1, r->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->version);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(c, err, "update vm");
		goto rollback;
	}
	if (exec(c, "COMMIT", err))
		goto rollback;
	ret = 0;
	goto out;
rollback:
	exec(c, "ROLLBACK", NULL);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int catalogue_remove(struct catalogue *c, const char *uuid, uint64_t version,
		     struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "DELETE FROM traces WHERE uuid = ?1 AND version = ?2",
		     err);
	if (st) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, version);
		if (sqlite3_step(st) == SQLITE_DONE)
			ret = 0;
		else
			db_err(c, err, "delete trace");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int catalogue_high_water(struct catalogue *c, const char *uuid,
			 uint64_t *version, struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1, rc;

	*version = 0;
	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT high_water FROM vms WHERE uuid = ?1", err);
	if (st) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*version = sqlite3_column_int64(st, 0);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			ret = 0;
		else
			db_err(c, err, "read high water");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

#define TRACE_COLUMNS "uuid, version, size, name, kernel, algorithm, " \
	"page_count, used_pages, free_pages, capture_time_ns, scan_ns, " \
	"upload_time, source, mem_total_kb, mem_available_kb, " \
	"swap_total_kb, swap_free_kb, pswpin, pswpout"

static int64_t column_stat(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(st, i);
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", s ? (const char *)s : "");
}

static void row_to_record(sqlite3_stmt *st, struct trace_record *r)
{
	memset(r, 0, sizeof(*r));
	copy_text(r->uuid, sizeof(r->uuid), st, 0);
	r->version = sqlite3_column_int64(st, 1);
	r->size = sqlite3_column_int64(st, 2);
	copy_text(r->name, sizeof(r->name), st, 3);
	copy_text(r->kernel, sizeof(r->kernel), st, 4);
	r->algorithm = sqlite3_column_int(st, 5);
	r->page_count = sqlite3_column_int64(st, 6);
	r->used_pages = sqlite3_column_int64(st, 7);
	r->free_pages = sqlite3_column_int64(st, 8);
	r->capture_time_ns = sqlite3_column_int64(st, 9);
	r->scan_ns = sqlite3_column_int64(st, 10);
	r->upload_time = sqlite3_column_int64(st, 11);
	copy_text(r->source, sizeof(r->source), st, 12);
	r->stats.mem_total_kb = column_stat(st, 13);
	r->stats.mem_available_kb = column_stat(st, 14);
	r->stats.swap_total_kb = column_stat(st, 15);
	r->stats.swap_free_kb = column_stat(st, 16);
	r->stats.pswpin = column_stat(st, 17);
	r->stats.pswpout = column_stat(st, 18);
}

int catalogue_get(struct catalogue *c, const char *uuid, uint64_t version,
		  struct trace_record *r, struct mb_err *err)
{
	sqlite3_stmt *st;
	int ret = -1, rc;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT " TRACE_COLUMNS " FROM traces "
		     "WHERE uuid = ?1 AND version = ?2", err);
	if (st) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, version);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			row_to_record(st, r);
			ret = 1;
		} else if (rc == SQLITE_DONE) {
			ret = 0;
		} else {
			db_err(c, err, "read trace");
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/*
 * Rows are copied out under the lock and @fn is called without it, so a
 * callback may itself use the catalogue (the reconcile pass removes rows).
 */
int catalogue_foreach(struct catalogue *c, const char *uuid,
		      int (*fn)(void *ctx, const struct trace_record *r),
		      void *ctx, struct mb_err *err)
{
	struct trace_record *rows = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *st;
	int ret = 0, rc;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, uuid ?
		     "SELECT " TRACE_COLUMNS " FROM traces WHERE uuid = ?1 "
		     "ORDER BY uuid, version" :
		     "SELECT " TRACE_COLUMNS " FROM traces "
		     "ORDER BY uuid, version", err);
	if (!st) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	if (uuid)
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(rows, cap * sizeof(*rows));
			if (!grown) {
				rc = SQLITE_NOMEM;
				break;
			}
			rows = grown;
		}
		row_to_record(st, &rows[n++]);
	}
	if (rc == SQLITE_NOMEM)
		ret = mb_errf(err, "catalogue %s: list traces: out of memory",
			      c->path);
	else if (rc != SQLITE_DONE)
		ret = db_err(c, err, "list traces");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	for (i = 0; !ret && i < n; i++)
		ret = fn(ctx, &rows[i]);
	free(rows);
	return ret;
}

static json_t *stat_json(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* Built with json_pack(): all of it, or NULL when memory runs out. */
json_t *trace_record_json(const struct trace_record *r)
{
	const char *algo = mb_algo_name(r->algorithm);

	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s,"
			 "s:{s:o,s:o,s:o,s:o,s:o,s:o}}",
			 "version", (json_int_t)r->version,
			 "size", (json_int_t)r->size,
			 "name", r->name,
			 "kernel_release", r->kernel,
			 "algorithm", algo ? algo : "unknown",
			 "page_count", (json_int_t)r->page_count,
			 "used_pages", (json_int_t)r->used_pages,
			 "free_pages", (json_int_t)r->free_pages,
			 "capture_time_ns", (json_int_t)r->capture_time_ns,
			 "scan_ns", (json_int_t)r->scan_ns,
			 "upload_time", (json_int_t)r->upload_time,
			 "source", r->source,
			 "stats",
			 "mem_total_kb", stat_json(r->stats.mem_total_kb),
			 "mem_available_kb", stat_json(r->stats.mem_available_kb),
			 "swap_total_kb", stat_json(r->stats.swap_total_kb),
			 "swap_free_kb", stat_json(r->stats.swap_free_kb),
			 "pswpin", stat_json(r->stats.pswpin),
			 "pswpout", stat_json(r->stats.pswpout));
}

struct vm_walk {
	json_t *list;		/* array of VM objects, or NULL for one VM */
	json_t *vm;		/* VM being filled */
	json_t *versions;	/* its versions, when wanted */
	char uuid[37];		/* of @vm */
	int64_t now;
	uint64_t count, bytes;	/* of @vm */
	bool nomem;
};

/* Rows come in (uuid, version) order, so the last row of a VM is its latest. */
static int vm_walk_row(void *ctx, const struct trace_record *r)
{
	struct vm_walk *w = ctx;
	json_t *latest;
	int bad = 0;

	if (!w->vm || strcmp(w->uuid, r->uuid)) {
		if (!w->list && w->vm)
			json_decref(w->vm);	/* one VM asked for: not this */
		w->vm = json_pack("{s:s}", "uuid", r->uuid);
		if (!w->vm || (w->list && json_array_append_new(w->list,
								w->vm))) {
			w->vm = NULL;
			w->nomem = true;
			return -1;
		}
		snprintf(w->uuid, sizeof(w->uuid), "%s", r->uuid);
		w->count = w->bytes = 0;
	}
	w->count++;
	w->bytes += r->size;
	latest = trace_record_json(r);
	bad |= json_object_set_new(w->vm, "versions",
				   json_integer((json_int_t)w->count));
	bad |= json_object_set_new(w->vm, "bytes",
				   json_integer((json_int_t)w->bytes));
	bad |= json_object_set_new(w->vm, "name", json_string(r->name));
	bad |= json_object_set_new(w->vm, "latest_version",
				   json_integer((json_int_t)r->version));
	bad |= json_object_set_new(w->vm, "latest_upload_time",
				   json_integer(r->upload_time));
	bad |= json_object_set_new(w->vm, "age_seconds",
				   json_integer(w->now - r->upload_time));
	bad |= json_object_set_new(w->vm, "latest", latest);
	if (w->versions)
		bad |= json_array_append_new(w->versions,
				json_integer((json_int_t)r->version));
	if (bad) {
		w->nomem = true;
		return -1;
	}
	return 0;
}

/* The walk's error: memory, or what the catalogue said. */
static json_t *walk_failed(struct catalogue *c, struct vm_walk *w,
			   struct mb_err *err)
{
	if (w->nomem || (!w->list && !w->versions))
		mb_errf(err, "catalogue %s: out of memory", c->path);
	json_decref(w->list);
	if (!w->list)
		json_decref(w->vm);
	json_decref(w->versions);
	return NULL;
}

json_t *catalogue_vms_json(struct catalogue *c, int64_t now,
			   struct mb_err *err)
{
	struct vm_walk w = { .list = json_array(), .now = now };

	if (!w.list || catalogue_foreach(c, NULL, vm_walk_row, &w, err))
		return walk_failed(c, &w, err);
	return w.list;
}

json_t *catalogue_vm_json(struct catalogue *c, const char *uuid, int64_t now,
			  struct mb_err *err)
{
	struct vm_walk w = { .now = now, .versions = json_array() };

	if (!w.versions || catalogue_foreach(c, uuid, vm_walk_row, &w, err))
		return walk_failed(c, &w, err);
	if (!w.vm) {
		json_decref(w.versions);
		return json_null();
	}
	if (json_object_set_new(w.vm, "version_list", w.versions)) {
		json_decref(w.vm);
		mb_errf(err, "catalogue %s: out of memory", c->path);
		return NULL;
	}
	return w.vm;
}

static int traces_row(void *ctx, const struct trace_record *r)
{
	return json_array_append_new(ctx, trace_record_json(r));
}

json_t *catalogue_traces_json(struct catalogue *c, const char *uuid,
			      struct mb_err *err)
{
	json_t *list = json_array();

	/* A row that cannot be added is memory; the walk's own errors say so. */
	mb_errf(err, "catalogue %s: out of memory", c->path);
	if (!list || catalogue_foreach(c, uuid, traces_row, list, err)) {
		json_decref(list);
		return NULL;
	}
	return list;
}
