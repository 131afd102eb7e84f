// SPDX-License-Identifier: GPL-2.0
/*
 * test_scenario.c - scenario files: good ones load with paths relative to
 * the file, the same VMs as legacy text and as .mbt give the same
 * placement, and every kind of bad file is refused with a message naming
 * the entry and the reason.
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

#include "scenario.h"
#include "synth.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Three VMs as legacy text (VMn.txt0) and as .mbt (vmn.mbt). */
static int setup(void **state)
{
	uint64_t base[3000], buf[3000];
	size_t v, i;

	(void)state;
	strcpy(dir, "/tmp/test_scenario.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	mb_synth_base(base, 3000, 0.05, 77);
	for (v = 0; v < 3; v++) {
		char txt[256], mbt[256];
		struct mbt_trace t;
		struct mb_err err;
		FILE *f;

		mb_synth_vm(buf, base, 3000, 0.2 + 0.3 * (double)v, 77, v);
		snprintf(txt, sizeof(txt), "%s/VM%zu.txt0", dir, v);
		snprintf(mbt, sizeof(mbt), "%s/vm%zu.mbt", dir, v);
		f = fopen(txt, "w");
		if (!f)
			return -1;
		for (i = 0; i < 3000; i++)
			fprintf(f, "%u\n", (uint32_t)buf[i]);
		fclose(f);
		memset(&t, 0, sizeof(t));
		if (mb_trace_load(txt, &t, &err) || mbt_write_file(mbt, &t, &err)) {
			fprintf(stderr, "setup: %s\n", err.msg);
			return -1;
		}
		mbt_trace_free(&t);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static const char good_txt[] =
	"{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":20},"
	"{\"name\":\"h1\",\"memory_mb\":20}],"
	"\"vms\":[{\"name\":\"a\",\"trace\":\"VM0.txt0\",\"memory_mb\":11.7,\"host\":\"h0\"},"
	"{\"name\":\"b\",\"trace\":\"VM1.txt0\",\"memory_mb\":11.7,\"host\":\"h1\"},"
	"{\"name\":\"c\",\"trace\":\"VM2.txt0\",\"host\":null}]}";

static const char good_mbt[] =
	"{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":20},"
	"{\"name\":\"h1\",\"memory_mb\":20}],"
	"\"vms\":[{\"name\":\"a\",\"trace\":\"vm0.mbt\",\"memory_mb\":11.7,\"host\":\"h0\"},"
	"{\"name\":\"b\",\"trace\":\"vm1.mbt\",\"memory_mb\":11.7,\"host\":\"h1\"},"
	"{\"name\":\"c\",\"trace\":\"vm2.mbt\",\"host\":null}]}";

static void test_text_and_mbt_give_same_answers(void **state)
{
	char path[256];
	struct mb_scenario s1, s2;
	struct mb_err err;
	int a1[3], a2[3], algo;
	size_t v;

	(void)state;
	write_file("text.json", good_txt);
	write_file("mbt.json", good_mbt);
	snprintf(path, sizeof(path), "%s/text.json", dir);
	if (mb_scenario_load(path, false, &s1, &err))
		fail_msg("text scenario: %s", err.msg);
	snprintf(path, sizeof(path), "%s/mbt.json", dir);
	if (mb_scenario_load(path, false, &s2, &err))
		fail_msg(".mbt scenario: %s", err.msg);
	/* c's memory defaults to its trace: 3000 pages. */
	assert_true(fabs(s1.vms[2].memory_mb - 3000.0 / 256) < 1e-9);
	assert_int_equal(s1.vms[0].host, 0);
	assert_int_equal(s1.vms[2].host, -1);
	for (v = 0; v < 3; v++) {
		assert_int_equal(s1.sets[v].distinct, s2.sets[v].distinct);
		assert_int_equal(mb_set_common(&s1.sets[v], &s2.sets[v]),
				 s1.sets[v].distinct);
	}
	for (algo = 0; algo < MB_PLACE_COUNT; algo++) {
		struct mb_place_eval e1, e2;

		assert_int_equal(mb_place(&s1.problem, algo, a1, NULL), 0);
		assert_int_equal(mb_place(&s2.problem, algo, a2, NULL), 0);
		assert_memory_equal(a1, a2, sizeof(a1));
		assert_int_equal(mb_place_evaluate(&s1.problem, a1, &e1, NULL), 0);
		assert_int_equal(mb_place_evaluate(&s2.problem, a2, &e2, NULL), 0);
		assert_true(fabs(e1.after_total_mb - e2.after_total_mb) < 1e-9);
		assert_true(fabs(e1.saved_mb - e2.saved_mb) < 1e-9);
		mb_place_eval_free(&e1);
		mb_place_eval_free(&e2);
	}
	mb_scenario_free(&s1);
	mb_scenario_free(&s2);
}

struct bad {
	const char *what;
	const char *json;
	const char *message;	/* expected in the error */
};

static const struct bad bad_files[] = {
	{ "missing trace",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":10}],"
	  "\"vms\":[{\"name\":\"a\",\"trace\":\"nope.mbt\"}]}",
	  "vms[0] (\"a\"): " },
	{ "negative memory",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":10}],"
	  "\"vms\":[{\"name\":\"a\",\"trace\":\"VM0.txt0\",\"memory_mb\":-5}]}",
	  "vms[0] (\"a\"): \"memory_mb\" must be a positive number of MiB, not -5" },
	{ "zero host memory",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":0}],\"vms\":[]}",
	  "hosts[0] (\"h0\"): \"memory_mb\" must be a positive" },
	{ "duplicate VM names",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":10}],"
	  "\"vms\":[{\"name\":\"a\",\"trace\":\"VM0.txt0\"},"
	  "{\"name\":\"a\",\"trace\":\"VM1.txt0\"}]}",
	  "vms[1] (\"a\"): duplicate VM name (also vms[0])" },
	{ "duplicate host names",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":10},"
	  "{\"name\":\"h0\",\"memory_mb\":10}],\"vms\":[]}",
	  "hosts[1] (\"h0\"): duplicate host name" },
	{ "unknown host",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":10}],"
	  "\"vms\":[{\"name\":\"a\",\"trace\":\"VM0.txt0\",\"host\":\"h9\"}]}",
	  "vms[0] (\"a\"): unknown host \"h9\"" },
	{ "unknown key",
	  "{\"hosts\":[{\"name\":\"h0\",\"memroy_mb\":10}],\"vms\":[]}",
	  "hosts[0]: unknown key \"memroy_mb\"" },
	{ "no hosts",
	  "{\"hosts\":[],\"vms\":[]}",
	  "\"hosts\" is empty" },
	{ "not JSON",
	  "{\"hosts\": [",
	  "line 1" },
	{ "memory as a string",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":\"10\"}],\"vms\":[]}",
	  "\"memory_mb\" must be a number" },
	{ "VM without a trace",
	  "{\"hosts\":[{\"name\":\"h0\",\"memory_mb\":10}],"
	  "\"vms\":[{\"name\":\"a\"}]}",
	  "vms[0] (\"a\"): missing \"trace\"" },
	{ "array at the top",
	  "[]",
	  "must be a JSON object" },
};

static void test_bad_files_give_clear_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad *b = &bad_files[i];
		struct mb_scenario sc;
		struct mb_err err;
		char path[256];

		write_file("bad.json", b->json);
		snprintf(path, sizeof(path), "%s/bad.json", dir);
		memset(&err, 0, sizeof(err));
		if (!mb_scenario_load(path, false, &sc, &err)) {
			mb_scenario_free(&sc);
			fail_msg("%s: expected an error containing '%s', the "
				 "file loaded", b->what, b->message);
		}
		if (!strstr(err.msg, b->message) || !strstr(err.msg, path))
			fail_msg("%s: expected an error naming %s and "
				 "containing '%s', got '%s'", b->what, path,
				 b->message, err.msg);
	}
}

static void test_missing_file(void **state)
{
	struct mb_scenario sc;
	struct mb_err err;

	(void)state;
	assert_int_equal(mb_scenario_load("/nonexistent/s.json", false, &sc,
					  &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/s.json"));
	assert_non_null(strstr(err.msg, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_mbt_give_same_answers),
		cmocka_unit_test(test_bad_files_give_clear_errors),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests_name("scenario", tests, setup, teardown);
}
