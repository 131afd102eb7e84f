// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - the control loop: inventory -> plan -> migrations.
 *
 * One thread ticks every second. It refreshes the inventory every
 * --inventory-interval, resolves migrations left "running" by an earlier
 * controld, aborts migrations past --migrate-timeout, starts queued
 * migrations while fewer than --max-concurrent-migrations run (never two
 * that cross one host pair in opposite directions), and every
 * --plan-interval makes a plan (applying it with --apply) unless
 * migrations are still queued or running: a plan is made from a settled
 * cluster. Each migration runs in a thread of its own (migrate.c).
 *
 * Plans and migrations live in DATADIR/control.db (SQLite), apart from
 * the trace catalogue: the catalogue can be rebuilt from the trace files,
 * this history cannot. A migration is a row whose state goes
 *   planned -> running -> done | failed | aborted
 * and every change is written before the next step, so after a crash or
 * kill the rows say what was under way. At start, rows still "running"
 * are resolved by asking libvirt: while the source still has a job for the
 * domain the row stays running; then the VM is looked up on every host and
 * the row becomes done (it runs on the destination) or failed (anywhere
 * else), with where it runs. Queued moves of a VM already on its
 * destination are marked done without migrating, so nothing is started
 * twice. A failed move pins its VM for --retry-after seconds; a later plan
 * may propose it again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "control.h"
#include "inventory.h"
#include "log.h"
#include "migrate.h"
#include "plan.h"
#include "sharing.h"

struct running {
	int64_t id;
	int src, dst;
	char uuid[37];
	time_t started;
	bool abort_sent;
	bool worker;			/* false: found running at start */
};

struct control {
	struct control_options o;
	struct store *store;
	struct catalogue *cat;
	struct inventory *inv;
	sqlite3 *db;
	pthread_mutex_t lock;		/* db, running[], plan_now */
	pthread_t thread;
	bool stop;
	time_t next_inventory, next_plan;
	struct running *running;
	size_t nrunning;
	char last_moves[1024];		/* the loop logs a plan when it changes */
};

struct worker_arg {
	struct control *c;
	int64_t id;
	struct migrate_request rq;
	char uuid[37];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS plans (id INTEGER PRIMARY KEY,"
	" created INTEGER NOT NULL, body TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY,"
	" plan_id INTEGER, uuid TEXT NOT NULL, name TEXT, src TEXT NOT NULL,"
	" dst TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,"
	" gain_mb REAL, created INTEGER NOT NULL, started_ms INTEGER,"
	" finished_ms INTEGER, error TEXT, host TEXT, note TEXT);"
	"CREATE INDEX IF NOT EXISTS migrations_uuid ON migrations(uuid);";

/* ---- SQLite helpers (called with c->lock held) ---- */

static int exec(struct control *c, const char *sql, struct mb_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mb_errf(err, "control.db: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Bind "?" parameters: 's' text (NULL = null), 'i' int64, 'd' double. */
static sqlite3_stmt *prepare(struct control *c, const char *sql,
			     const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("control.db: %s: %s", sql, sqlite3_errmsg(c->db));
		return NULL;
	}
	va_start(ap, types);
	for (i = 0; types[i]; i++) {
		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);

			if (s)
				sqlite3_bind_text(st, i + 1, s, -1,
						  SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
		} else if (types[i] == 'i') {
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		} else {
			sqlite3_bind_double(st, i + 1, va_arg(ap, double));
		}
	}
	va_end(ap);
	return st;
}

static int run_stmt(sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void set_state(struct control *c, int64_t id, const char *state,
		      const char *error, const char *host, const char *note)
{
	if (run_stmt(prepare(c, "UPDATE migrations SET state = ?,"
			     " error = coalesce(?, error),"
			     " host = coalesce(?, host),"
			     " note = coalesce(?, note),"
			     " finished_ms = CASE WHEN ? IN ('done', 'failed',"
			     " 'aborted') THEN ? ELSE finished_ms END"
			     " WHERE id = ?", "sssssii", state, error, host,
			     note, state, now_ms(), id)))
		log_err("control.db: cannot record migration %" PRId64
			" as %s: %s", id, state, sqlite3_errmsg(c->db));
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	}
	return json_string(col_text(st, i));
}

/* ---- plans ---- */

struct pair {
	struct trace_record latest, prev;
	bool has_prev;
};

struct pairs {
	struct pair *p;
	size_t n, cap;
};

static int collect_pairs(void *ctx, const struct trace_record *r)
{
	struct pairs *ps = ctx;

	if (ps->n && !strcmp(ps->p[ps->n - 1].latest.uuid, r->uuid)) {
		ps->p[ps->n - 1].prev = ps->p[ps->n - 1].latest;
		ps->p[ps->n - 1].has_prev = true;
		ps->p[ps->n - 1].latest = *r;
		return 0;
	}
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 64;
		struct pair *g = realloc(ps->p, cap * sizeof(*g));

		if (!g)
			return -1;
		ps->p = g;
		ps->cap = cap;
	}
	memset(&ps->p[ps->n], 0, sizeof(ps->p[ps->n]));
	ps->p[ps->n].latest = *r;
	ps->n++;
	return 0;
}

static int load_set(struct control *c, const struct trace_record *r,
		    const char *name, struct mb_digest_set *set,
		    struct mb_err *err)
{
	struct mbt_trace t;
	uint64_t size, done = 0;
	char *buf;
	int fd, ret;

	fd = store_open_trace(c->store, r->uuid, r->version, &size, err);
	if (fd < 0)
		return -1;
	buf = malloc(size ? size : 1);
	if (!buf) {
		close(fd);
		return mb_errf(err, "trace %s/%" PRIu64 ": out of memory",
			       r->uuid, r->version);
	}
	while (done < size) {
		ssize_t n = read(fd, buf + done, size - done);

		if (n <= 0) {
			close(fd);
			free(buf);
			return mb_errf(err, "trace %s/%" PRIu64 ": read: %s",
				       r->uuid, r->version,
				       n ? strerror(errno) : "short file");
		}
		done += n;
	}
	close(fd);
	ret = mbt_read_mem(buf, size, &t, err);
	free(buf);
	if (ret)
		return -1;
	ret = mb_set_from_trace(set, &t, false, name, err);
	mbt_trace_free(&t);
	return ret;
}

static double swap_rate(const struct pair *p)
{
	const struct vm_stats *a = &p->prev.stats, *b = &p->latest.stats;
	int64_t dt = p->latest.upload_time - p->prev.upload_time;

	if (!p->has_prev || dt <= 0 || a->pswpin < 0 || a->pswpout < 0 ||
	    b->pswpin < 0 || b->pswpout < 0)
		return -1;
	return (double)(b->pswpin + b->pswpout - a->pswpin - a->pswpout) /
	       (double)dt;
}

/* Why @uuid must not move now, or NULL. Called with c->lock held. */
static const char *pinned_why(struct control *c, const char *uuid,
			      char *buf, size_t size)
{
	sqlite3_stmt *st;
	const char *why = NULL;

	st = prepare(c, "SELECT state, finished_ms, error FROM migrations"
		     " WHERE uuid = ? ORDER BY id DESC LIMIT 1", "s", uuid);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *state = col_text(st, 0);
		int64_t fin = sqlite3_column_int64(st, 1) / 1000;
		int64_t wait = fin + c->o.retry_after - time(NULL);

		if (!strcmp(state, "planned") || !strcmp(state, "running")) {
			snprintf(buf, size, "a migration is %s", state);
			why = buf;
		} else if ((!strcmp(state, "failed") ||
			    !strcmp(state, "aborted")) && wait > 0) {
			snprintf(buf, size, "its last migration %s; retried "
				 "in %" PRId64 " s (--retry-after)", state,
				 wait);
			why = buf;
		}
	}
	sqlite3_finalize(st);
	return why;
}

static json_t *make_plan(struct control *c, struct mb_err *err)
{
	struct inv_snapshot snap;
	struct pairs ps = { 0 };
	struct plan_host *hosts = NULL;
	struct plan_vm *vms = NULL;
	struct mb_digest_set *sets = NULL;
	char (*pins)[160] = NULL;
	int *hidx = NULL;
	json_t *unplanned = json_array(), *inputs = json_array();
	json_t *plan = NULL, *jh, *jm, *js;
	struct plan_result res;
	struct plan_opts po = { c->o.min_gain_mb, c->o.max_moves,
				c->o.swap_threshold };
	size_t i, j, k, nh = 0, nv = 0, ndom = 0;
	int algo = -1;

	if (inventory_snapshot(c->inv, &snap)) {
		json_decref(unplanned);
		mb_errf(err, "plan: out of memory");
		return NULL;
	}
	if (catalogue_foreach(c->cat, NULL, collect_pairs, &ps, err))
		goto out;
	for (i = 0; i < snap.nhosts; i++)
		ndom += snap.hosts[i].ndomains;
	hosts = calloc(snap.nhosts + 1, sizeof(*hosts));
	hidx = calloc(snap.nhosts + 1, sizeof(*hidx));
	vms = calloc(ndom + 1, sizeof(*vms));
	sets = calloc(ndom + 1, sizeof(*sets));
	pins = calloc(ndom + 1, sizeof(*pins));
	if (!hosts || !hidx || !vms || !sets || !pins) {
		mb_errf(err, "plan: out of memory");
		goto out;
	}
	for (i = 0; i < snap.nhosts; i++) {
		hidx[i] = -1;
		if (!snap.hosts[i].up)
			continue;
		hidx[i] = (int)nh;
		hosts[nh++] = (struct plan_host){ snap.hosts[i].spec.name,
						  snap.hosts[i].capacity_mb };
	}
	/* Domains, joined with their latest trace by uuid. */
	for (i = 0; i < snap.nhosts; i++) {
		struct inv_host_view *h = &snap.hosts[i];

		for (j = 0; j < h->ndomains; j++) {
			struct inv_domain *d = &h->domains[j];
			const struct pair *p = NULL;
			const char *why = NULL;
			struct mb_err lerr;

			if (d->state != 1 && d->state != 2 && d->state != 3)
				continue;	/* not running, blocked, paused */
			for (k = 0; k < ps.n; k++)
				if (!strcmp(ps.p[k].latest.uuid, d->uuid))
					p = &ps.p[k];
			if (!p) {
				why = "no trace uploaded yet";
			} else if (load_set(c, &p->latest, d->name, &sets[nv],
					    &lerr)) {
				why = lerr.msg;
			} else if (algo >= 0 && sets[nv].algorithm != algo) {
				mb_set_free(&sets[nv]);
				why = "its digests use another algorithm";
			}
			if (why) {
				json_array_append_new(unplanned, json_pack(
					"{s:s,s:s,s:s,s:s}", "uuid", d->uuid,
					"name", d->name, "host", h->spec.name,
					"why", why));
				continue;
			}
			algo = sets[nv].algorithm;
			json_array_append_new(inputs, json_pack(
				"{s:s,s:s,s:s,s:I,s:f,s:o}", "uuid", d->uuid,
				"name", d->name, "host", h->spec.name,
				"version", (json_int_t)p->latest.version,
				"memory_mb", d->memory_mb, "swap_pages_per_s",
				swap_rate(p) < 0 ? json_null() :
				json_real(swap_rate(p))));
			pthread_mutex_lock(&c->lock);
			why = pinned_why(c, d->uuid, pins[nv], sizeof(pins[nv]));
			pthread_mutex_unlock(&c->lock);
			vms[nv] = (struct plan_vm){
				.uuid = d->uuid, .name = d->name,
				.memory_mb = d->memory_mb, .host = hidx[i],
				.set = &sets[nv], .swap_rate = swap_rate(p),
				.pinned = why,
			};
			nv++;
		}
	}
	/* Traces of VMs no host runs. */
	for (k = 0; k < ps.n; k++) {
		bool found = false;

		for (i = 0; i < snap.nhosts && !found; i++)
			for (j = 0; j < snap.hosts[i].ndomains; j++)
				if (!strcmp(snap.hosts[i].domains[j].uuid,
					    ps.p[k].latest.uuid))
					found = true;
		if (!found)
			json_array_append_new(unplanned, json_pack(
				"{s:s,s:s,s:n,s:s}", "uuid", ps.p[k].latest.uuid,
				"name", ps.p[k].latest.name, "host",
				"why", "no running domain has this uuid"));
	}
	if (plan_compute(hosts, nh, vms, nv, &po, &res, err))
		goto out;

	jh = json_array();
	for (i = 0; i < snap.nhosts; i++) {
		json_t *names = json_array();
		int x = hidx[i];

		for (k = 0; k < nv; k++)
			if (x >= 0 && vms[k].host == x)
				json_array_append_new(names,
						      json_string(vms[k].name));
		json_array_append_new(jh, json_pack(
			"{s:s,s:b,s:f,s:o,s:o,s:o}", "name",
			snap.hosts[i].spec.name, "up", snap.hosts[i].up,
			"capacity_mb", snap.hosts[i].capacity_mb,
			"before_mb", x >= 0 ? json_real(res.before_mb[x]) :
					      json_null(),
			"after_mb", x >= 0 ? json_real(res.after_mb[x]) :
					     json_null(),
			"vms", names));
	}
	jm = json_array();
	for (i = 0; i < res.nmoves; i++) {
		const struct plan_move *m = &res.moves[i];

		json_array_append_new(jm, json_pack(
			"{s:s,s:s,s:s,s:s,s:f,s:s,s:s}", "uuid",
			vms[m->vm].uuid, "name", vms[m->vm].name,
			"from", hosts[m->from].name, "to", hosts[m->to].name,
			"gain_mb", m->gain_mb,
			"kind", m->hotspot ? "hotspot" : "consolidation",
			"reason", m->reason));
	}
	js = json_array();
	for (i = 0; i < res.nskipped; i++) {
		const struct plan_move *m = &res.skipped[i];

		json_array_append_new(js, json_pack(
			"{s:s,s:s,s:s,s:s,s:f,s:s}", "uuid", vms[m->vm].uuid,
			"name", vms[m->vm].name, "from", hosts[m->from].name,
			"to", hosts[m->to].name, "gain_mb", m->gain_mb,
			"why", m->reason));
	}
	plan = json_pack("{s:I,s:s,s:b,s:f,s:i,s:f,s:o,s:o,s:o,s:O,s:O}",
			 "created", (json_int_t)time(NULL),
			 "algorithm", "buddies", "apply", c->o.apply,
			 "min_gain_mb", c->o.min_gain_mb,
			 "max_moves", (int)c->o.max_moves,
			 "saved_mb", res.saved_mb, "hosts", jh, "moves", jm,
			 "skipped", js, "unplanned", unplanned,
			 "inputs", inputs);
	plan_result_free(&res);
	{
		char *body = json_dumps(plan, JSON_COMPACT);
		int64_t id = -1;

		pthread_mutex_lock(&c->lock);
		if (body && !run_stmt(prepare(c, "INSERT INTO plans (created,"
					      " body) VALUES (?, ?)", "is",
					      (int64_t)time(NULL), body)))
			id = sqlite3_last_insert_rowid(c->db);
		/* Plans are history, not state: keep the last 1000. */
		if (id > 1000)
			run_stmt(prepare(c, "DELETE FROM plans WHERE id <= ?",
					 "i", id - 1000));
		pthread_mutex_unlock(&c->lock);
		free(body);
		if (id < 0) {
			json_decref(plan);
			plan = NULL;
			mb_errf(err, "control.db: cannot store the plan");
			goto out;
		}
		json_object_set_new(plan, "id", json_integer(id));
	}
out:
	json_decref(unplanned);
	json_decref(inputs);
	for (k = 0; k < nv; k++)
		mb_set_free(&sets[k]);
	free(sets);
	free(vms);
	free(pins);
	free(hosts);
	free(hidx);
	free(ps.p);
	inv_snapshot_free(&snap);
	return plan;
}

/* Log @plan; with @c, only when its moves differ from the last logged. */
static void log_plan(struct control *c, json_t *plan)
{
	char moves[1024] = "";
	size_t i, len = 0;
	json_t *m;

	json_array_foreach(json_object_get(plan, "moves"), i, m)
		if (len < sizeof(moves))
			len += snprintf(moves + len, sizeof(moves) - len,
					"%s:%s>%s ", json_string_value(
					json_object_get(m, "uuid")),
					json_string_value(json_object_get(m,
					"from")), json_string_value(
					json_object_get(m, "to")));
	if (c) {
		if (!strcmp(moves, c->last_moves))
			return;
		snprintf(c->last_moves, sizeof(c->last_moves), "%s", moves);
	}
	log_info("plan %" JSON_INTEGER_FORMAT ": %zu move%s, %.0f MiB saved",
		 json_integer_value(json_object_get(plan, "id")),
		 json_array_size(json_object_get(plan, "moves")),
		 json_array_size(json_object_get(plan, "moves")) == 1 ? "" : "s",
		 json_real_value(json_object_get(plan, "saved_mb")));
	json_array_foreach(json_object_get(plan, "moves"), i, m)
		log_info("  move %s from %s to %s: %s",
			 json_string_value(json_object_get(m, "name")),
			 json_string_value(json_object_get(m, "from")),
			 json_string_value(json_object_get(m, "to")),
			 json_string_value(json_object_get(m, "reason")));
}

json_t *control_plan_new(struct control *c, struct mb_err *err)
{
	json_t *p;

	inventory_refresh(c->inv, false);
	p = make_plan(c, err);
	if (p)
		log_plan(NULL, p);
	return p;
}

json_t *control_plan_latest(struct control *c, struct mb_err *err)
{
	sqlite3_stmt *st;
	json_t *p = json_null();

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT id, body FROM plans ORDER BY id DESC LIMIT 1",
		     "");
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		json_error_t je;

		p = json_loads(col_text(st, 1), 0, &je);
		if (p)
			json_object_set_new(p, "id", json_integer(
				sqlite3_column_int64(st, 0)));
		else
			mb_errf(err, "control.db: plan %lld: %s",
				(long long)sqlite3_column_int64(st, 0),
				je.text);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return p;
}

static json_t *migration_row(sqlite3_stmt *st)
{
	static const char *const cols[] = {
		"id", "plan", "uuid", "name", "from", "to", "state",
		"reason", "gain_mb", "created", "started_ms", "finished_ms",
		"error", "host", "note",
	};
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		json_object_set_new(o, cols[i], col_json(st, (int)i));
	if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
	    sqlite3_column_type(st, 11) != SQLITE_NULL)
		json_object_set_new(o, "duration_s", json_real(
			(sqlite3_column_int64(st, 11) -
			 sqlite3_column_int64(st, 10)) / 1000.0));
	return o;
}

#define MIGRATION_COLS "id, plan_id, uuid, name, src, dst, state, reason," \
	" gain_mb, created, started_ms, finished_ms, error, host, note"

json_t *control_plan_apply(struct control *c, int64_t id, int *status,
			   struct mb_err *err)
{
	json_t *plan = NULL, *queued = json_array(), *m;
	sqlite3_stmt *st;
	json_error_t je;
	size_t i;

	*status = 200;
	pthread_mutex_lock(&c->lock);
	st = id ? prepare(c, "SELECT id, body FROM plans WHERE id = ?", "i", id)
		: prepare(c, "SELECT id, body FROM plans ORDER BY id DESC"
			  " LIMIT 1", "");
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		plan = json_loads(col_text(st, 1), 0, &je);
	}
	sqlite3_finalize(st);
	if (!plan) {
		pthread_mutex_unlock(&c->lock);
		json_decref(queued);
		*status = 404;
		mb_errf(err, id ? "no plan %lld" : "no plan yet (POST /v1/plan "
			"makes one)", (long long)id);
		return NULL;
	}
	json_array_foreach(json_object_get(plan, "moves"), i, m) {
		const char *uuid = json_string_value(json_object_get(m, "uuid"));
		char why[160];
		int64_t mid;

		if (!uuid)
			continue;
		if (pinned_why(c, uuid, why, sizeof(why))) {
			log_info("plan %lld: not moving %s: %s", (long long)id,
				 uuid, why);
			continue;
		}
		if (run_stmt(prepare(c, "INSERT INTO migrations (plan_id, uuid,"
			" name, src, dst, state, reason, gain_mb, created)"
			" VALUES (?, ?, ?, ?, ?, 'planned', ?, ?, ?)",
			"isssssdi", id, uuid,
			json_string_value(json_object_get(m, "name")),
			json_string_value(json_object_get(m, "from")),
			json_string_value(json_object_get(m, "to")),
			json_string_value(json_object_get(m, "reason")),
			json_real_value(json_object_get(m, "gain_mb")),
			(int64_t)time(NULL)))) {
			mb_errf(err, "control.db: %s", sqlite3_errmsg(c->db));
			*status = 500;
			break;
		}
		mid = sqlite3_last_insert_rowid(c->db);
		st = prepare(c, "SELECT " MIGRATION_COLS " FROM migrations"
			     " WHERE id = ?", "i", mid);
		if (st && sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(queued, migration_row(st));
		sqlite3_finalize(st);
		log_info("migration %lld queued: %s from %s to %s",
			 (long long)mid,
			 json_string_value(json_object_get(m, "name")),
			 json_string_value(json_object_get(m, "from")),
			 json_string_value(json_object_get(m, "to")));
	}
	pthread_mutex_unlock(&c->lock);
	json_decref(plan);
	if (*status != 200) {
		json_decref(queued);
		return NULL;
	}
	return json_pack("{s:I,s:o}", "plan", (json_int_t)id, "migrations",
			 queued);
}

json_t *control_migrations_json(struct control *c, struct mb_err *err)
{
	json_t *arr = json_array();
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT " MIGRATION_COLS " FROM migrations"
		     " ORDER BY id", "");
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, migration_row(st));
	if (!st) {
		mb_errf(err, "control.db: %s", sqlite3_errmsg(c->db));
		json_decref(arr);
		arr = NULL;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return arr;
}

json_t *control_hosts_json(struct control *c)
{
	return inventory_hosts_json(c->inv);
}

void control_annotate_vms(struct control *c, json_t *vms)
{
	inventory_annotate_vms(c->inv, vms);
}

/* ---- migrations ---- */

static void drop_running(struct control *c, int64_t id)
{
	size_t i;

	for (i = 0; i < c->nrunning; i++)
		if (c->running[i].id == id) {
			c->running[i] = c->running[--c->nrunning];
			return;
		}
}

static void worker_started(void *ctx)
{
	struct worker_arg *a = ctx;

	pthread_mutex_lock(&a->c->lock);
	run_stmt(prepare(a->c, "UPDATE migrations SET state = 'running',"
			 " started_ms = ? WHERE id = ?", "ii", now_ms(),
			 a->id));
	pthread_mutex_unlock(&a->c->lock);
	log_info("migration %lld: %s from %s to %s started", (long long)a->id,
		 a->uuid, inventory_spec(a->c->inv, a->rq.src)->name,
		 inventory_spec(a->c->inv, a->rq.dst)->name);
}

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	struct control *c = a->c;
	struct migrate_result res;
	const char *host, *state;
	bool aborted = false;
	size_t i;

	migrate_run(c->inv, &a->rq, worker_started, a, &res);
	inventory_refresh(c->inv, true);
	/*
	 * Everything that touches @c happens before drop_running(): once
	 * this migration is off the list, control_stop() may free @c.
	 */
	pthread_mutex_lock(&c->lock);
	host = res.located >= 0 ? inventory_spec(c->inv, res.located)->name
				: NULL;
	for (i = 0; i < c->nrunning; i++)
		if (c->running[i].id == a->id)
			aborted = c->running[i].abort_sent;
	state = res.ok ? "done" : aborted ? "aborted" : "failed";
	set_state(c, a->id, state, res.ok ? NULL : res.error, host,
		  res.already_there ? "already on the destination" :
		  res.seen);
	if (res.ok)
		log_info("migration %lld: done, %s runs on %s",
			 (long long)a->id, a->uuid, host);
	else
		log_warn("migration %lld %s: %s; the VM runs on %s",
			 (long long)a->id, state, res.error,
			 host ? host : "no host");
	drop_running(c, a->id);
	pthread_mutex_unlock(&c->lock);
	free(a);
	return NULL;
}

static bool crosses(struct control *c, int src, int dst)
{
	size_t i;

	for (i = 0; i < c->nrunning; i++)
		if (c->running[i].src == dst && c->running[i].dst == src)
			return true;
	return false;
}

static bool is_running(struct control *c, int64_t id)
{
	size_t i;

	for (i = 0; i < c->nrunning; i++)
		if (c->running[i].id == id)
			return true;
	return false;
}

/* Start queued migrations while slots are free. Called with the lock held. */
static void start_queued(struct control *c)
{
	sqlite3_stmt *st;
	int64_t skip = 0;

	while (c->nrunning < c->o.max_migrations) {
		struct worker_arg *a;
		struct running *grown;
		pthread_attr_t attr;
		pthread_t t;
		int src, dst;
		int64_t id;

		st = prepare(c, "SELECT id, uuid, src, dst FROM migrations"
			     " WHERE state = 'planned' AND id > ? ORDER BY id"
			     " LIMIT 1", "i", skip);
		if (!st || sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			return;
		}
		id = sqlite3_column_int64(st, 0);
		src = inventory_host_index(c->inv, col_text(st, 2));
		dst = inventory_host_index(c->inv, col_text(st, 3));
		if (src < 0 || dst < 0) {
			sqlite3_finalize(st);
			set_state(c, id, "failed", "host no longer configured",
				  NULL, NULL);
			continue;
		}
		if (is_running(c, id) || crosses(c, src, dst)) {
			/* Wait for the opposite migration to finish. */
			sqlite3_finalize(st);
			skip = id;
			continue;
		}
		a = calloc(1, sizeof(*a));
		grown = realloc(c->running, (c->nrunning + 1) *
				sizeof(*grown));
		if (!a || !grown) {
			free(a);
			sqlite3_finalize(st);
			return;
		}
		c->running = grown;
		a->c = c;
		a->id = id;
		snprintf(a->uuid, sizeof(a->uuid), "%s", col_text(st, 1));
		sqlite3_finalize(st);
		a->rq = (struct migrate_request){ a->uuid, src, dst,
						  c->o.migrate_bandwidth };
		c->running[c->nrunning++] = (struct running){
			.id = id, .src = src, .dst = dst,
			.started = time(NULL), .worker = true };
		snprintf(c->running[c->nrunning - 1].uuid, 37, "%s", a->uuid);
		/* Not "running" in the db until libvirt is asked (worker). */
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, worker, a)) {
			drop_running(c, id);
			free(a);
			pthread_attr_destroy(&attr);
			return;
		}
		pthread_attr_destroy(&attr);
	}
}

/* Rows "running" with no worker: left by an earlier controld. */
static void recover(struct control *c)
{
	sqlite3_stmt *st;
	size_t i;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT id, uuid, src, dst FROM migrations"
		     " WHERE state = 'running'", "");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct running *g = realloc(c->running, (c->nrunning + 1) *
					    sizeof(*g));

		if (!g)
			break;
		c->running = g;
		g[c->nrunning] = (struct running){
			.id = sqlite3_column_int64(st, 0),
			.src = inventory_host_index(c->inv, col_text(st, 2)),
			.dst = inventory_host_index(c->inv, col_text(st, 3)),
			.started = time(NULL), .worker = false };
		snprintf(g[c->nrunning].uuid, 37, "%s", col_text(st, 1));
		log_info("migration %lld was running when controld stopped: "
			 "asking libvirt", (long long)g[c->nrunning].id);
		c->nrunning++;
	}
	sqlite3_finalize(st);
	for (i = 0; i < c->nrunning; i++)
		if (c->running[i].src < 0 || c->running[i].dst < 0) {
			set_state(c, c->running[i].id, "failed",
				  "host no longer configured", NULL, NULL);
			c->running[i--] = c->running[--c->nrunning];
		}
	pthread_mutex_unlock(&c->lock);
}

static void resolve_orphans(struct control *c)
{
	size_t i;

	for (i = 0; ; i++) {
		struct running r;
		char seen[512];
		const char *host;
		int active, where;

		pthread_mutex_lock(&c->lock);
		while (i < c->nrunning && c->running[i].worker)
			i++;
		if (i >= c->nrunning) {
			pthread_mutex_unlock(&c->lock);
			return;
		}
		r = c->running[i];
		pthread_mutex_unlock(&c->lock);
		active = migrate_job_active(c->inv, r.src, r.uuid);
		if (active != 0)
			continue;	/* still migrating, or cannot tell */
		where = inventory_locate(c->inv, r.uuid, seen, sizeof(seen));
		host = where >= 0 ? inventory_spec(c->inv, where)->name : NULL;
		pthread_mutex_lock(&c->lock);
		if (where == r.dst)
			set_state(c, r.id, "done", NULL, host, "resolved after "
				  "a controld restart");
		else
			set_state(c, r.id, "failed", "controld stopped during "
				  "the migration, which did not complete",
				  host, seen);
		drop_running(c, r.id);
		pthread_mutex_unlock(&c->lock);
		log_info("migration %lld resolved after restart: %s runs on %s",
			 (long long)r.id, r.uuid, host ? host : "no host");
		i--;
	}
}

static void timeouts(struct control *c)
{
	time_t now = time(NULL);
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nrunning; i++) {
		struct running *r = &c->running[i];

		if (!r->worker || r->abort_sent ||
		    now - r->started < (time_t)c->o.migrate_timeout)
			continue;
		r->abort_sent = true;
		log_warn("migration %lld: over --migrate-timeout %u s: "
			 "aborting", (long long)r->id, c->o.migrate_timeout);
		pthread_mutex_unlock(&c->lock);
		migrate_abort(c->inv, r->src, r->uuid);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
}

static bool busy(struct control *c)
{
	sqlite3_stmt *st;
	bool b;

	pthread_mutex_lock(&c->lock);
	st = prepare(c, "SELECT count(*) FROM migrations WHERE state IN"
		     " ('planned', 'running')", "");
	b = !st || sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_int64(st, 0) > 0 || c->nrunning > 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return b;
}

static void *loop(void *arg)
{
	struct control *c = arg;
	struct mb_err err;

	inventory_refresh(c->inv, true);
	recover(c);
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		time_t now = time(NULL);

		if (now >= c->next_inventory) {
			inventory_refresh(c->inv, false);
			c->next_inventory = now + c->o.inventory_interval;
		}
		resolve_orphans(c);
		timeouts(c);
		pthread_mutex_lock(&c->lock);
		start_queued(c);
		pthread_mutex_unlock(&c->lock);
		if (c->o.plan_interval && now >= c->next_plan && !busy(c)) {
			json_t *p = make_plan(c, &err);

			c->next_plan = now + c->o.plan_interval;
			if (!p) {
				log_err("plan: %s", err.msg);
			} else {
				int status;
				json_t *q;

				log_plan(c, p);
				if (c->o.apply && json_array_size(
					json_object_get(p, "moves"))) {
					q = control_plan_apply(c,
						json_integer_value(
						json_object_get(p, "id")),
						&status, &err);
					if (!q)
						log_err("apply: %s", err.msg);
					json_decref(q);
				}
				json_decref(p);
			}
		}
		sleep(1);
	}
	return NULL;
}

struct control *control_start(const struct control_options *o,
			      struct store *store, struct catalogue *cat,
			      struct mb_err *err)
{
	struct control *c = calloc(1, sizeof(*c));
	char *path = NULL;

	if (!c) {
		mb_errf(err, "control: out of memory");
		return NULL;
	}
	c->o = *o;
	c->store = store;
	c->cat = cat;
	pthread_mutex_init(&c->lock, NULL);
	c->inv = inventory_new(o->hosts, o->nhosts, err);
	if (!c->inv)
		goto fail;
	if (asprintf(&path, "%s/control.db", o->datadir) < 0) {
		mb_errf(err, "control: out of memory");
		goto fail;
	}
	if (sqlite3_open(path, &c->db) != SQLITE_OK) {
		mb_errf(err, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 5000);
	if (exec(c, schema, err))
		goto fail;
	/* The first plan after one inventory round. */
	c->next_plan = time(NULL) + (o->plan_interval ? 2 : 0);
	if (pthread_create(&c->thread, NULL, loop, c)) {
		mb_errf(err, "control: cannot start its thread");
		goto fail;
	}
	free(path);
	log_info("control loop: %u host%s, inventory every %u s, %s, %s",
		 o->nhosts, o->nhosts == 1 ? "" : "s", o->inventory_interval,
		 o->plan_interval ? "plans on a timer" : "plans on request",
		 o->apply ? "applying plans (--apply)" : "dry run");
	return c;
fail:
	free(path);
	if (c->db)
		sqlite3_close(c->db);
	inventory_free(c->inv);
	free(c);
	return NULL;
}

void control_stop(struct control *c)
{
	struct timespec limit;

	if (!c)
		return;
	__atomic_store_n(&c->stop, true, __ATOMIC_RELAXED);
	/*
	 * The loop may be inside a libvirt call to a host that hangs: give
	 * it a while, then leave it (the process is exiting).
	 */
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 15;
	if (pthread_timedjoin_np(c->thread, NULL, &limit)) {
		log_warn("the control loop is stuck in a libvirt call; "
			 "exiting without it");
		return;
	}
	/*
	 * Migration workers are detached and may still be inside libvirt;
	 * the process is exiting, and their rows stay "running" to be
	 * resolved at the next start, so the shared state is left alone.
	 */
	pthread_mutex_lock(&c->lock);
	if (c->nrunning) {
		log_warn("stopping with %zu migration%s under way; the next "
			 "start resolves %s", c->nrunning,
			 c->nrunning == 1 ? "" : "s",
			 c->nrunning == 1 ? "it" : "them");
		pthread_mutex_unlock(&c->lock);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	sqlite3_close(c->db);
	inventory_free(c->inv);
	free(c->running);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
