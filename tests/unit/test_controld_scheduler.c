// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_scheduler.c - the action scheduler (controld/scheduler.c)
 * and the control database under it (controld/controldb.c), on a real
 * SQLite file.
 *
 * The actions here are of a kind made for the test: its run() waits until
 * the test says how it ends, so every transition of the state machine
 * can be reached and observed in the database. Migrations and resizes
 * themselves run against real libvirt daemons in tests/libvirt/.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "scheduler.h"

enum outcome { WAIT, SUCCEED, FAIL, SUCCEED_UNSTARTED };

struct test_env {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum outcome outcome[64];	/* by action id */
	int runs[64];			/* run() calls per id */
	int aborts;
	int resolve_calls;
	int resolve_answer;		/* what resolve() says */
	bool resolve_ok;
	bool crossing;			/* conflicts(): opposite pairs */
};

static struct test_env env;

static void set_outcome(int64_t id, enum outcome o)
{
	pthread_mutex_lock(&env.lock);
	env.outcome[id] = o;
	pthread_cond_broadcast(&env.cond);
	pthread_mutex_unlock(&env.lock);
}

static void test_run(void *e, struct action_job *job,
		     struct action_result *res)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	enum outcome o;

	(void)e;
	pthread_mutex_lock(&env.lock);
	env.runs[job->a.id]++;
	o = env.outcome[job->a.id];
	pthread_mutex_unlock(&env.lock);
	if (o != SUCCEED_UNSTARTED)
		action_job_started(job);
	for (;;) {
		pthread_mutex_lock(&env.lock);
		o = env.outcome[job->a.id];
		pthread_mutex_unlock(&env.lock);
		if (o != WAIT || action_job_aborting(job))
			break;
		nanosleep(&tick, NULL);
	}
	res->ok = o == SUCCEED || o == SUCCEED_UNSTARTED;
	snprintf(res->host, sizeof(res->host), "%s", res->ok ? job->a.dst :
		 job->a.src);
	if (!res->ok)
		snprintf(res->error, sizeof(res->error), "%s",
			 o == FAIL ? "the test said so" : "stopped waiting");
	if (o == SUCCEED_UNSTARTED)
		snprintf(res->note, sizeof(res->note), "already there");
}

static void test_abort(void *e, struct action_job *job)
{
	(void)e;
	(void)job;
	pthread_mutex_lock(&env.lock);
	env.aborts++;
	pthread_mutex_unlock(&env.lock);
}

static int test_resolve(void *e, const struct action *a, int src, int dst,
			struct action_result *res)
{
	(void)e;
	(void)src;
	(void)dst;
	pthread_mutex_lock(&env.lock);
	env.resolve_calls++;
	pthread_mutex_unlock(&env.lock);
	if (env.resolve_answer)
		return env.resolve_answer;
	res->ok = env.resolve_ok;
	snprintf(res->host, sizeof(res->host), "%s", a->dst);
	if (!res->ok)
		snprintf(res->error, sizeof(res->error), "did not complete");
	return 0;
}

static bool test_conflicts(const struct action_job *a,
			   const struct action_job *other)
{
	return env.crossing && other->src == a->dst && other->dst == a->src;
}

static const struct action_ops resolving = {
	.name = "test", .run = test_run, .abort = test_abort,
	.resolve = test_resolve, .conflicts = test_conflicts,
};
static const struct action_ops idempotent = {
	.name = "test-again", .run = test_run,
};

static int host_index(void *e, const char *name)
{
	(void)e;
	return !strcmp(name, "a") ? 0 : !strcmp(name, "b") ? 1 : -1;
}

struct fixture {
	char dir[64];
	char path[128];
	struct controldb *db;
	struct scheduler *s;
	struct scheduler_options o;
};

static struct fixture fx;

static void open_db(void)
{
	struct mb_err err;

	fx.db = controldb_open(fx.path, &err);
	if (!fx.db)
		fail_msg("controldb_open: %s", err.msg);
}

static void start(unsigned int max, unsigned int timeout)
{
	static const struct action_ops *const ops[ACTION_KINDS] = {
		[ACTION_MIGRATE] = &resolving,
		[ACTION_RESIZE] = &idempotent,
	};
	struct mb_err err;
	int k;

	for (k = 0; k < ACTION_KINDS; k++) {
		fx.o.max_running[k] = max;
		fx.o.timeout[k] = timeout;
	}
	fx.o.retry_after = 600;
	fx.s = scheduler_new(&fx.o, fx.db, ops, &env, host_index, &err);
	assert_non_null(fx.s);
	assert_int_equal(scheduler_recover(fx.s, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof(env));
	pthread_mutex_init(&env.lock, NULL);
	pthread_cond_init(&env.cond, NULL);
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/mb-sched.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/control.db", fx.dir);
	open_db();
	return 0;
}

/* Wait (ticking) until action @id reaches @state; its row in @a. */
static void wait_state(int64_t id, enum action_state state, struct action *a)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct mb_err err;
	int i;

	for (i = 0; i < 500; i++) {
		scheduler_tick(fx.s);
		assert_int_equal(controldb_action_get(fx.db, id, a, &err), 1);
		if (a->state == state)
			return;
		nanosleep(&tick, NULL);
	}
	fail_msg("action %lld: expected state %s, still %s",
		 (long long)id, action_state_name(state),
		 action_state_name(a->state));
}

/* Stop the scheduler once its workers are gone, and close the db. */
static int teardown(void **state)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char cmd[128];
	int i;

	(void)state;
	for (i = 0; fx.s && i < 64; i++)
		set_outcome(i, FAIL);
	for (i = 0; fx.s && scheduler_running(fx.s) && i < 500; i++)
		nanosleep(&tick, NULL);
	if (fx.s) {
		assert_true(scheduler_stop(fx.s));
		scheduler_free(fx.s);
	}
	controldb_close(fx.db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct action new_action(enum action_kind kind, const char *uuid,
				const char *src, const char *dst)
{
	struct action a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.uuid, sizeof(a.uuid), "%s", uuid);
	snprintf(a.name, sizeof(a.name), "vm-%c", uuid[0]);
	snprintf(a.src, sizeof(a.src), "%s", src);
	snprintf(a.dst, sizeof(a.dst), "%s", dst);
	snprintf(a.policy, sizeof(a.policy), "test");
	a.target_mb = kind == ACTION_RESIZE ? 512 : 0;
	return a;
}

static int64_t submit(struct action a)
{
	struct mb_err err;

	if (scheduler_submit(fx.s, &a, &err))
		fail_msg("submit: %s", err.msg);
	assert_int_equal(a.state, ACTION_PLANNED);
	return a.id;
}

struct rows {
	struct action *a;
	size_t n;
};

static int collect(void *ctx, const struct action *a)
{
	struct rows *r = ctx;

	r->a = realloc(r->a, (r->n + 1) * sizeof(*r->a));
	assert_non_null(r->a);
	r->a[r->n++] = *a;
	return 0;
}

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define U3 "33333333-3333-4333-8333-333333333333"

/* The state machine, pair by pair: only these transitions exist. */
static void test_transition_table(void **state)
{
	static const bool ok[ACTION_STATES][ACTION_STATES] = {
		/* to:      planned running done  failed aborted */
		[ACTION_PLANNED] = { false, true, true, true, true },
		[ACTION_RUNNING] = { false, false, true, true, true },
	};
	int from, to;

	(void)state;
	for (from = 0; from < ACTION_STATES; from++)
		for (to = 0; to < ACTION_STATES; to++)
			if (action_transition_ok(from, to) != ok[from][to])
				fail_msg("%s -> %s: expected %s",
					 action_state_name(from),
					 action_state_name(to),
					 ok[from][to] ? "allowed" : "refused");
	for (from = 0; from < ACTION_STATES; from++)
		assert_int_equal(action_state_parse(action_state_name(from)),
				 from);
	assert_int_equal(action_kind_parse("resize"), ACTION_RESIZE);
	assert_int_equal(action_kind_parse("teleport"), -1);
}

/* planned -> running -> done, each step in the database. */
static void test_planned_running_done(void **state)
{
	struct action a;
	int64_t id;

	(void)state;
	start(1, 0);
	id = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	assert_int_equal(controldb_action_get(fx.db, id, &a, NULL), 1);
	assert_int_equal(a.state, ACTION_PLANNED);
	assert_true(a.created > 0);
	assert_true(scheduler_busy(fx.s));
	wait_state(id, ACTION_RUNNING, &a);
	assert_true(a.started_ms > 0);
	assert_int_equal(a.finished_ms, 0);
	set_outcome(id, SUCCEED);
	wait_state(id, ACTION_DONE, &a);
	assert_true(a.finished_ms >= a.started_ms);
	assert_string_equal(a.host, "b");
	assert_string_equal(a.error, "");
	assert_false(scheduler_busy(fx.s));
	/* The served form carries the duration and the kind. */
	{
		json_t *j = action_json(&a, false);

		assert_string_equal(json_string_value(json_object_get(j,
				    "kind")), "migrate");
		assert_true(json_is_number(json_object_get(j, "duration_s")));
		json_decref(j);
	}
}

/* An action may end without running: planned -> done. */
static void test_planned_to_done(void **state)
{
	struct action a;
	int64_t id;

	(void)state;
	start(1, 0);
	set_outcome(1, SUCCEED_UNSTARTED);
	id = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	assert_int_equal(id, 1);
	wait_state(id, ACTION_DONE, &a);
	assert_int_equal(a.started_ms, 0);
	assert_string_equal(a.note, "already there");
}

/* running -> failed pins the VM for that kind, for --retry-after. */
static void test_failure_pins(void **state)
{
	char why[ACTION_TEXT_LEN];
	struct action a, b;
	struct mb_err err;
	int64_t id;

	(void)state;
	start(1, 0);
	id = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	wait_state(id, ACTION_RUNNING, &a);
	assert_non_null(scheduler_pinned(fx.s, U1, ACTION_RESIZE, why,
					 sizeof(why)));
	assert_string_equal(why, "a migration is running");
	set_outcome(id, FAIL);
	wait_state(id, ACTION_FAILED, &a);
	assert_string_equal(a.error, "the test said so");
	assert_string_equal(a.host, "a");
	assert_non_null(scheduler_pinned(fx.s, U1, ACTION_MIGRATE, why,
					 sizeof(why)));
	assert_non_null(strstr(why, "its last migration failed; retried in"));
	assert_non_null(strstr(why, "--retry-after"));
	b = new_action(ACTION_MIGRATE, U1, "a", "b");
	assert_int_equal(scheduler_submit(fx.s, &b, &err), 1);
	assert_non_null(strstr(err.msg, "retried in"));
	/* Another kind, another VM: not pinned. */
	assert_null(scheduler_pinned(fx.s, U1, ACTION_RESIZE, why,
				     sizeof(why)));
	assert_null(scheduler_pinned(fx.s, U2, ACTION_MIGRATE, why,
				     sizeof(why)));
}

/* With --retry-after 0 a failure does not pin. */
static void test_retry_after_zero(void **state)
{
	char why[ACTION_TEXT_LEN];
	struct action a;
	int64_t id;

	(void)state;
	start(1, 0);
	scheduler_free(fx.s);
	fx.o.retry_after = 0;
	{
		static const struct action_ops *const ops[ACTION_KINDS] = {
			&resolving, &idempotent };
		struct mb_err err;

		fx.s = scheduler_new(&fx.o, fx.db, ops, &env, host_index,
				     &err);
		assert_non_null(fx.s);
	}
	id = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	set_outcome(id, FAIL);
	wait_state(id, ACTION_FAILED, &a);
	assert_null(scheduler_pinned(fx.s, U1, ACTION_MIGRATE, why,
				     sizeof(why)));
}

/* The timeout: running -> aborted, through the kind's abort(). */
static void test_timeout_aborts(void **state)
{
	struct action a;
	int64_t id;

	(void)state;
	start(1, 1);
	id = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	wait_state(id, ACTION_ABORTED, &a);
	assert_int_equal(env.aborts, 1);
	assert_string_equal(a.error, "stopped waiting");
	assert_true(a.finished_ms - a.started_ms >= 900);
}

/* One at a time per kind; a second VM's action waits its turn. */
static void test_concurrency_limit(void **state)
{
	struct action a, b, c;
	int64_t id1, id2, id3;
	int i;

	(void)state;
	start(1, 0);
	id1 = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	id2 = submit(new_action(ACTION_MIGRATE, U2, "a", "b"));
	id3 = submit(new_action(ACTION_RESIZE, U3, "a", "a"));
	wait_state(id1, ACTION_RUNNING, &a);
	wait_state(id3, ACTION_RUNNING, &c);	/* its own kind's slot */
	for (i = 0; i < 20; i++)
		scheduler_tick(fx.s);
	assert_int_equal(controldb_action_get(fx.db, id2, &b, NULL), 1);
	assert_int_equal(b.state, ACTION_PLANNED);
	assert_int_equal(scheduler_running(fx.s), 2);
	set_outcome(id1, SUCCEED);
	wait_state(id2, ACTION_RUNNING, &b);
	set_outcome(id2, SUCCEED);
	set_outcome(id3, SUCCEED);
	wait_state(id2, ACTION_DONE, &b);
	wait_state(id3, ACTION_DONE, &c);
}

/* A conflict (two migrations crossing a host pair) waits; one per VM. */
static void test_conflicts_and_one_per_vm(void **state)
{
	struct action a, b;
	struct mb_err err;
	int64_t id1, id2;
	int i;

	(void)state;
	env.crossing = true;
	start(4, 0);
	id1 = submit(new_action(ACTION_MIGRATE, U1, "a", "b"));
	id2 = submit(new_action(ACTION_MIGRATE, U2, "b", "a"));
	wait_state(id1, ACTION_RUNNING, &a);
	for (i = 0; i < 20; i++)
		scheduler_tick(fx.s);
	assert_int_equal(controldb_action_get(fx.db, id2, &b, NULL), 1);
	assert_int_equal(b.state, ACTION_PLANNED);
	/* The same VM gets no second action while one is unfinished. */
	b = new_action(ACTION_RESIZE, U1, "a", "a");
	assert_int_equal(scheduler_submit(fx.s, &b, &err), 1);
	assert_non_null(strstr(err.msg, "a migration is running"));
	set_outcome(id1, SUCCEED);
	wait_state(id2, ACTION_RUNNING, &b);
	set_outcome(id2, SUCCEED);
	wait_state(id2, ACTION_DONE, &b);
}

/* A host no longer configured: planned -> failed, with the reason. */
static void test_host_gone(void **state)
{
	struct action a;
	int64_t id;

	(void)state;
	start(1, 0);
	id = submit(new_action(ACTION_MIGRATE, U1, "a", "zz"));
	wait_state(id, ACTION_FAILED, &a);
	assert_string_equal(a.error, "host zz is no longer configured");
	assert_int_equal(env.runs[id], 0);
}

/* Leave rows "running" as a killed controld would. */
static void crash_with_running(enum action_kind kind, int64_t *id)
{
	struct action a = new_action(kind, U1, "a", "b");
	struct mb_err err;

	a.state = ACTION_PLANNED;
	a.created = time(NULL);
	assert_int_equal(controldb_action_add(fx.db, &a, &err), 0);
	a.state = ACTION_RUNNING;
	a.started_ms = 1;
	assert_int_equal(controldb_action_update(fx.db, &a, &err), 0);
	*id = a.id;
}

/* Recovery: resolve() while still running, then its answer. */
static void test_recovery_resolves(void **state)
{
	struct action a;
	int64_t id;
	int i;

	(void)state;
	crash_with_running(ACTION_MIGRATE, &id);
	env.resolve_answer = 1;		/* still under way */
	start(1, 0);
	for (i = 0; i < 5; i++)
		scheduler_tick(fx.s);
	assert_true(env.resolve_calls >= 5);
	assert_int_equal(controldb_action_get(fx.db, id, &a, NULL), 1);
	assert_int_equal(a.state, ACTION_RUNNING);
	assert_true(scheduler_busy(fx.s));
	assert_int_equal(env.runs[id], 0);	/* never started twice */
	env.resolve_answer = 0;
	env.resolve_ok = true;
	wait_state(id, ACTION_DONE, &a);
	assert_string_equal(a.note, "resolved after a controld restart");
	assert_string_equal(a.host, "b");
}

/* Recovery of a kind that ended badly: running -> failed. */
static void test_recovery_fails(void **state)
{
	struct action a;
	int64_t id;

	(void)state;
	crash_with_running(ACTION_MIGRATE, &id);
	env.resolve_ok = false;
	start(1, 0);
	wait_state(id, ACTION_FAILED, &a);
	assert_string_equal(a.error, "did not complete");
}

/* Recovery of an idempotent kind: it runs again, and then ends. */
static void test_recovery_runs_again(void **state)
{
	struct action a;
	int64_t id;
	int i;

	(void)state;
	crash_with_running(ACTION_RESIZE, &id);
	start(1, 0);
	for (i = 0; i < 500 && !env.runs[id]; i++) {
		scheduler_tick(fx.s);
		usleep(10000);
	}
	assert_int_equal(env.runs[id], 1);
	set_outcome(id, SUCCEED);
	wait_state(id, ACTION_DONE, &a);
	assert_string_equal(a.note, "run again after a controld restart");
	assert_int_equal(a.started_ms, 1);	/* its first start is kept */
}

/* A recovered row whose host is gone fails at once. */
static void test_recovery_host_gone(void **state)
{
	struct action a = new_action(ACTION_MIGRATE, U1, "gone", "b");
	struct mb_err err;

	(void)state;
	a.created = time(NULL);
	assert_int_equal(controldb_action_add(fx.db, &a, &err), 0);
	a.state = ACTION_RUNNING;
	assert_int_equal(controldb_action_update(fx.db, &a, &err), 0);
	start(1, 0);
	assert_int_equal(controldb_action_get(fx.db, a.id, &a, NULL), 1);
	assert_int_equal(a.state, ACTION_FAILED);
	assert_string_equal(a.error, "host gone is no longer configured");
}

/* A version 1 database: its migrations become migrate actions. */
static void test_upgrade_from_migrations(void **state)
{
	sqlite3 *db;
	struct action a;
	struct mb_err err;

	(void)state;
	controldb_close(fx.db);
	unlink(fx.path);
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE plans (id INTEGER PRIMARY KEY, created INTEGER"
		" NOT NULL, body TEXT NOT NULL);"
		"CREATE TABLE migrations (id INTEGER PRIMARY KEY, plan_id"
		" INTEGER, uuid TEXT NOT NULL, name TEXT, src TEXT NOT NULL,"
		" dst TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,"
		" gain_mb REAL, created INTEGER NOT NULL, started_ms INTEGER,"
		" finished_ms INTEGER, error TEXT, host TEXT, note TEXT);"
		"INSERT INTO plans VALUES (3, 100, '{\"moves\": [{\"uuid\":"
		" \"" U1 "\", \"name\": \"g3\", \"from\": \"b\", \"to\": \"a\","
		" \"gain_mb\": 96.8, \"kind\": \"consolidation\","
		" \"reason\": \"consolidation (buddies): g3\"}]}');"
		"INSERT INTO plans VALUES (4, 101, 'not json');"
		"INSERT INTO migrations VALUES (7, 3, '" U1 "', 'g3', 'b',"
		" 'a', 'done', 'consolidation (buddies): g3 shares', 96.8,"
		" 100, 100000, 116700, NULL, 'a', NULL);"
		"INSERT INTO migrations VALUES (8, 3, '" U2 "', 'g1', 'a',"
		" 'b', 'failed', 'hotspot: a uses', 10, 101, 1, 2,"
		" 'refused', 'a', 'a: running');", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	open_db();
	assert_int_equal(controldb_action_get(fx.db, 7, &a, &err), 1);
	assert_int_equal(a.kind, ACTION_MIGRATE);
	assert_int_equal(a.state, ACTION_DONE);
	assert_int_equal(a.plan_id, 3);
	assert_string_equal(a.policy, "buddies");
	assert_string_equal(a.src, "b");
	assert_true(a.gain_mb > 96.7 && a.gain_mb < 96.9);
	assert_int_equal(a.finished_ms - a.started_ms, 16700);
	assert_int_equal(controldb_action_get(fx.db, 8, &a, &err), 1);
	assert_string_equal(a.policy, "hotspot");
	assert_string_equal(a.error, "refused");
	assert_string_equal(a.note, "a: running");
	/* The old plan's moves became its typed actions. */
	{
		struct rows r = { 0 };

		assert_int_equal(controldb_plan_actions(fx.db, 3, collect, &r,
							&err), 0);
		assert_int_equal(r.n, 1);
		assert_string_equal(r.a[0].uuid, U1);
		assert_string_equal(r.a[0].src, "b");
		assert_string_equal(r.a[0].dst, "a");
		assert_string_equal(r.a[0].policy, "buddies");
		assert_int_equal(r.a[0].plan_id, 3);
		free(r.a);
		r.n = 0;
		assert_int_equal(controldb_plan_actions(fx.db, 4, collect, &r,
							&err), 0);
		assert_int_equal(r.n, 0);
	}
	/* Opening again changes nothing. */
	controldb_close(fx.db);
	open_db();
	assert_int_equal(controldb_action_get(fx.db, 8, &a, &err), 1);
	/* A newer schema is refused, naming the version. */
	controldb_close(fx.db);
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 9", NULL,
				      NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	fx.db = controldb_open(fx.path, &err);
	assert_null(fx.db);
	assert_non_null(strstr(err.msg, "schema version 9"));
}

/* Plans: the latest, by id, none; their actions as typed rows. */
static void test_plans(void **state)
{
	struct action acts[2] = {
		new_action(ACTION_MIGRATE, U1, "a", "b"),
		new_action(ACTION_RESIZE, U2, "b", "b"),
	};
	struct rows r = { 0 };
	struct mb_err err;
	int64_t id, found;
	char *body;

	(void)state;
	assert_int_equal(controldb_plan_get(fx.db, 0, &found, &body, &err), 0);
	assert_int_equal(controldb_plan_add(fx.db, 5, "{\"a\":1}", NULL, 0,
					    &id, &err), 0);
	acts[1].from_mb = 1024;
	snprintf(acts[1].reason, sizeof(acts[1].reason), "needs memory");
	assert_int_equal(controldb_plan_add(fx.db, 6, "{\"a\":2}", acts, 2,
					    &id, &err), 0);
	assert_int_equal(controldb_plan_get(fx.db, 0, &found, &body, &err), 1);
	assert_int_equal(found, id);
	assert_string_equal(body, "{\"a\":2}");
	free(body);
	assert_int_equal(controldb_plan_get(fx.db, id - 1, &found, &body,
					    &err), 1);
	assert_string_equal(body, "{\"a\":1}");
	free(body);
	assert_int_equal(controldb_plan_get(fx.db, 999, &found, &body, &err),
			 0);
	assert_int_equal(controldb_plan_actions(fx.db, id, collect, &r, &err),
			 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.a[0].kind, ACTION_MIGRATE);
	assert_string_equal(r.a[0].dst, "b");
	assert_int_equal(r.a[1].kind, ACTION_RESIZE);
	assert_true(r.a[1].target_mb == 512 && r.a[1].from_mb == 1024);
	assert_string_equal(r.a[1].reason, "needs memory");
	assert_int_equal(r.a[1].plan_id, id);
	free(r.a);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_transition_table),
		T(test_planned_running_done),
		T(test_planned_to_done),
		T(test_failure_pins),
		T(test_retry_after_zero),
		T(test_timeout_aborts),
		T(test_concurrency_limit),
		T(test_conflicts_and_one_per_vm),
		T(test_host_gone),
		T(test_recovery_resolves),
		T(test_recovery_fails),
		T(test_recovery_runs_again),
		T(test_recovery_host_gone),
		T(test_upgrade_from_migrations),
		T(test_plans),
	};
#undef T

	return cmocka_run_group_tests_name("controld_scheduler", tests, NULL,
					   NULL);
}
