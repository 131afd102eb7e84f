// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_stats.c - live statistics (controld/stats.c): rates from
 * counters, epochs (a restarted domain, a move, a reboot) that never give
 * a negative rate, the bounded rings, the guests' report parser, the
 * served JSON and the minute records in a real control database.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "stats.h"

#define U "6d62756c-6c76-4000-8000-0000000000c1"
#define T0 1800000000.0

static struct vm_counters counters(double t, const char *host, int64_t domid,
				   int64_t cpu_ns, int64_t swap_in_kb)
{
	struct vm_counters c;

	memset(&c, 0xff, sizeof(c));	/* every counter -1 = not reported */
	c.t = t;
	snprintf(c.host, sizeof(c.host), "%s", host);
	c.domid = domid;
	c.cpu_time_ns = cpu_ns;
	c.vcpus = 1;
	c.balloon_kb = 262144;
	c.swap_in_kb = swap_in_kb;
	c.rx_bytes = 1000;
	return c;
}

static struct stats *new_stats(struct controldb *db, unsigned int window)
{
	struct stats_options o = { .interval = 5, .window = window,
				   .keep_days = 7 };
	struct mb_err err;
	struct stats *s = stats_new(&o, db, &err);

	if (!s)
		fail_msg("stats_new: %s", err.msg);
	return s;
}

static void test_rate(void **state)
{
	(void)state;
	assert_true(fabs(stats_rate(100, 300, 2) - 100) < 1e-9);
	assert_true(stats_rate(0, 0, 5) == 0);
	assert_true(isnan(stats_rate(300, 100, 2)));	/* went backwards */
	assert_true(isnan(stats_rate(-1, 100, 2)));	/* not reported */
	assert_true(isnan(stats_rate(100, -1, 2)));
	assert_true(isnan(stats_rate(100, 200, 0)));
	assert_true(isnan(stats_rate(100, 200, NAN)));
}

/* CPU % from cpu.time; a restart (new domain id) or a move: no rate. */
static void test_vm_epochs(void **state)
{
	struct stats *s = new_stats(NULL, 3600);
	struct vm_counters c;
	struct vm_sample v;

	(void)state;
	c = counters(T0, "a", 3, 0, 0);
	stats_add_vm(s, U, "g1", &c);
	assert_int_equal(stats_vm_latest(s, U, &v, NULL), 1);
	assert_true(isnan(v.cpu_pct));		/* one reading: no rate */
	c = counters(T0 + 5, "a", 3, 4500000000LL, 400);
	stats_add_vm(s, U, "g1", &c);
	stats_vm_latest(s, U, &v, NULL);
	assert_true(fabs(v.cpu_pct - 90) < 1e-6);
	assert_true(fabs(v.swap_in - 20) < 1e-6);	/* 400 KiB / 4 / 5 s */
	assert_true(fabs(v.balloon_mb - 256) < 1e-9);
	assert_string_equal(v.host, "a");
	/* The domain restarts: its counters start again from 0. */
	c = counters(T0 + 10, "a", 4, 100000000, 0);
	stats_add_vm(s, U, "g1", &c);
	stats_vm_latest(s, U, &v, NULL);
	assert_true(isnan(v.cpu_pct) && isnan(v.swap_in));
	c = counters(T0 + 15, "a", 4, 600000000, 0);
	stats_add_vm(s, U, "g1", &c);
	stats_vm_latest(s, U, &v, NULL);
	assert_true(fabs(v.cpu_pct - 10) < 1e-6);
	/* Same domain id by chance, but counters went backwards. */
	c = counters(T0 + 20, "a", 4, 500000000, 0);
	stats_add_vm(s, U, "g1", &c);
	stats_vm_latest(s, U, &v, NULL);
	assert_true(isnan(v.cpu_pct));
	/* It moves to host b: a new QEMU, no rate across the move. */
	c = counters(T0 + 25, "b", 4, 900000000, 0);
	stats_add_vm(s, U, "g1", &c);
	stats_vm_latest(s, U, &v, NULL);
	assert_true(isnan(v.cpu_pct));
	assert_string_equal(v.host, "b");
	stats_free(s);
}

/* A long random walk with resets: no rate is ever negative. */
static void test_never_negative(void **state)
{
	struct stats *s = new_stats(NULL, 600);
	struct vm_counters c;
	struct vm_sample v;
	int64_t cpu = 0, domid = 1;
	unsigned int seed = 7;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		if (rand_r(&seed) % 17 == 0) {
			cpu = rand_r(&seed) % 1000;	/* restart */
			if (rand_r(&seed) % 2)
				domid++;
		} else {
			cpu += rand_r(&seed) % 5000000000LL;
		}
		c = counters(T0 + 5 * i, rand_r(&seed) % 13 ? "a" : "b",
			     domid, cpu, cpu / 1000);
		stats_add_vm(s, U, "g1", &c);
		stats_vm_latest(s, U, &v, NULL);
		assert_false(v.cpu_pct < 0);
		assert_false(v.swap_in < 0);
	}
	stats_free(s);
}

static struct guest_report report(double t, const char *boot, int64_t in,
				  int64_t out)
{
	struct guest_report r;
	struct mb_err err;
	char body[512];

	snprintf(body, sizeof(body), "{\"name\":\"g1\",\"boot_id\":\"%s\","
		 "\"mem_total_kb\":262144,\"mem_available_kb\":131072,"
		 "\"committed_as_kb\":200000,\"pswpin\":%lld,\"pswpout\":%lld,"
		 "\"pgmajfault\":10,\"psi_memory\":{\"some\":{\"avg10\":1.5,"
		 "\"avg60\":0.5,\"avg300\":0.1,\"total_us\":1234}}}", boot,
		 (long long)in, (long long)out);
	if (guest_report_parse(body, strlen(body), &r, &err))
		fail_msg("guest_report_parse: %s", err.msg);
	r.t = t;
	return r;
}

/* Gray-box: rates from the guest's counters; a reboot starts over. */
static void test_guest_reports(void **state)
{
	struct stats *s = new_stats(NULL, 3600);
	struct guest_sample g;
	struct guest_report r;
	struct mb_err err;

	(void)state;
	r = report(T0, "boot-1", 100, 0);
	assert_int_equal(stats_add_guest(s, U, &r, &err), 0);
	assert_int_equal(stats_vm_latest(s, U, NULL, &g), 2);
	assert_true(isnan(g.swap_in));
	assert_true(fabs(g.mem_total_mb - 256) < 1e-9);
	assert_true(fabs(g.psi_some[0] - 1.5) < 1e-9);
	assert_true(isnan(g.psi_full[0]));
	r = report(T0 + 5, "boot-1", 600, 50);
	stats_add_guest(s, U, &r, &err);
	stats_vm_latest(s, U, NULL, &g);
	assert_true(fabs(g.swap_in - 100) < 1e-9);
	assert_true(fabs(g.swap_out - 10) < 1e-9);
	{
		const char *from = NULL;

		assert_true(fabs(stats_vm_swap_rate(s, U, 60, &from) - 110) <
			    1e-9);
		assert_string_equal(from, "guest stats");
	}
	/* Rebooted: smaller counters, another boot id. */
	r = report(T0 + 10, "boot-2", 5, 0);
	stats_add_guest(s, U, &r, &err);
	stats_vm_latest(s, U, NULL, &g);
	assert_true(isnan(g.swap_in));
	stats_free(s);
}

static void expect_parse_error(const char *body, const char *part)
{
	struct guest_report r;
	struct mb_err err;

	if (!guest_report_parse(body, strlen(body), &r, &err))
		fail_msg("'%s' was accepted", body);
	if (!strstr(err.msg, part))
		fail_msg("'%s': expected an error with '%s', got '%s'", body,
			 part, err.msg);
}

static void test_report_parser(void **state)
{
	struct guest_report r;
	struct mb_err err;

	(void)state;
	assert_int_equal(guest_report_parse("{}", 2, &r, &err), 0);
	assert_int_equal(r.mem_total_kb, -1);
	assert_true(isnan(r.psi_some[0]));
	assert_int_equal(guest_report_parse("{\"future_field\":[1,2]}", 22,
					    &r, &err), 0);
	expect_parse_error("", "not JSON");
	expect_parse_error("[1]", "not a JSON object");
	expect_parse_error("{\"pswpin\":-4}", "'pswpin' must be a "
			   "non-negative integer");
	expect_parse_error("{\"pswpin\":1.5}", "'pswpin'");
	expect_parse_error("{\"mem_total_kb\":\"lots\"}", "'mem_total_kb'");
	expect_parse_error("{\"name\":7}", "'name' must be a string");
	expect_parse_error("{\"name\":\"a\\u001bb\"}", "control character");
	expect_parse_error("{\"boot_id\":\"0123456789012345678901234567890"
			   "123456789\"}", "'boot_id' is longer");
	expect_parse_error("{\"psi_memory\":3}", "'psi_memory' must be");
	expect_parse_error("{\"psi_memory\":{\"some\":{\"avg10\":250}}}",
			   "psi_memory.some: 'avg10' is 250");
	expect_parse_error("{\"psi_memory\":{\"full\":[]}}",
			   "'psi_memory.full' must be an object");
	expect_parse_error("{\"mem_total_kb\":10,\"mem_available_kb\":20}",
			   "more than 'mem_total_kb'");
	expect_parse_error("{\"pswpin\":1,\"pswpin\":2}", "not JSON");
}

/* The ring keeps one window; ?since= cuts it. */
static void test_ring_and_json(void **state)
{
	struct stats *s = new_stats(NULL, 60);	/* 13 samples at 5 s */
	struct vm_counters c;
	json_t *j, *samples;
	int i;

	(void)state;
	assert_true(json_is_null(stats_vm_json(s, U, 0)));
	for (i = 0; i < 100; i++) {
		c = counters(T0 + 5 * i, "a", 1, i * 1000000000LL, 0);
		stats_add_vm(s, U, "g1", &c);
	}
	j = stats_vm_json(s, U, 0);
	samples = json_object_get(j, "samples");
	assert_int_equal(json_array_size(samples), 13);
	assert_true(json_real_value(json_object_get(json_array_get(samples,
		    12), "t")) == T0 + 5 * 99);
	assert_true(fabs(json_real_value(json_object_get(json_array_get(
		    samples, 12), "cpu_pct")) - 20) < 1e-6);
	assert_true(json_is_null(json_object_get(json_array_get(samples, 0),
						 "swap_out")));
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "g1");
	json_decref(j);
	j = stats_vm_json(s, U, T0 + 5 * 97);
	assert_int_equal(json_array_size(json_object_get(j, "samples")), 2);
	json_decref(j);
	j = stats_overview_json(s);
	assert_int_equal(json_array_size(json_object_get(j, "vms")), 1);
	json_decref(j);
	stats_free(s);
}

/* Host samples: CPU from busy/total, and the sums of its VMs. */
static void test_host(void **state)
{
	struct stats *s = new_stats(NULL, 3600);
	struct host_counters h = { .t = T0, .cores = 2, .cpu_busy_ns = 0,
				   .cpu_total_ns = 0, .mem_total_kb = 1048576,
				   .mem_free_kb = 262144, .mem_buffers_kb = 0,
				   .mem_cached_kb = 262144 };
	struct vm_counters c;
	json_t *j, *last;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	c = counters(T0, "a", 1, 0, 0);
	stats_add_vm(s, U, "g\"1", &c);
	stats_add_host(s, "a", &h);
	h.t = T0 + 5;
	h.cpu_busy_ns = 5000000000LL;
	h.cpu_total_ns = 10000000000LL;
	stats_add_host(s, "a", &h);
	j = stats_host_json(s, "a", 0);
	last = json_array_get(json_object_get(j, "samples"), 1);
	assert_true(fabs(json_real_value(json_object_get(last, "cpu_pct")) -
			 50) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(last,
			 "mem_used_mb")) - 512) < 1e-9);
	json_decref(j);
	j = stats_host_json(s, "a", 0);
	assert_true(fabs(json_real_value(json_object_get(json_array_get(
		json_object_get(j, "samples"), 0), "vms_balloon_mb")) - 256) <
		1e-9);
	json_decref(j);
	assert_true(json_is_null(stats_host_json(s, "zz", 0)));
	/* Gauges, with the quote in the name escaped. */
	f = open_memstream(&text, &len);
	stats_metrics(s, f);
	fclose(f);
	assert_non_null(strstr(text, "mb_controld_host_cpu_percent{host=\"a\"} 50"));
	assert_non_null(strstr(text, "mb_controld_vm_balloon_bytes{vm=\"" U
			       "\",name=\"g\\\"1\",host=\"a\"} 268435456"));
	free(text);
	stats_free(s);
}

/* Minute records: averaged, written to the db, served for old ?since=. */
static void test_minutes_in_db(void **state)
{
	char dir[] = "/tmp/mb-stats.XXXXXX", path[64], cmd[96];
	struct controldb *db;
	struct vm_counters c;
	struct mb_err err;
	struct stats *s;
	json_t *j, *minutes;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.db", dir);
	db = controldb_open(path, &err);
	assert_non_null(db);
	s = new_stats(db, 60);
	/* Ten minutes at 5 s, 50 % CPU throughout. */
	for (i = 0; i <= 120; i++) {
		c = counters(T0 + 5 * i, "a", 1, i * 2500000000LL, 0);
		stats_add_vm(s, U, "g1", &c);
	}
	stats_flush(s, T0 + 5 * 120 + 1);
	j = stats_vm_json(s, U, T0 - 60);
	minutes = json_object_get(j, "minutes");
	assert_true(json_array_size(minutes) >= 9);
	assert_true(fabs(json_real_value(json_object_get(json_array_get(
		minutes, 2), "cpu_pct")) - 50) < 1e-6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		minutes, 2), "samples")), 12);
	json_decref(j);
	/* A since= inside the ring wants no minutes. */
	j = stats_vm_json(s, U, T0 + 5 * 118);
	assert_int_equal(json_array_size(json_object_get(j, "minutes")), 0);
	json_decref(j);
	stats_free(s);
	controldb_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_vm_epochs),
		cmocka_unit_test(test_never_negative),
		cmocka_unit_test(test_guest_reports),
		cmocka_unit_test(test_report_parser),
		cmocka_unit_test(test_ring_and_json),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_minutes_in_db),
	};

	return cmocka_run_group_tests_name("controld_stats", tests, NULL,
					   NULL);
}
