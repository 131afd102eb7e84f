// SPDX-License-Identifier: GPL-2.0
/*
 * test_config.c - the daemons' config files (daemon/conf.c): the same
 * names as the flags, values with or without '=', flags without values,
 * comments, errors that name the file, the line and the reason; and the
 * number, boolean and secret helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

static const struct option options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "datadir", required_argument, NULL, 'd' },
	{ "once", no_argument, NULL, 'o' },
	{ "config", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

struct seen {
	unsigned long long port;
	char datadir[256];
	int once;
};

static int apply(void *ctx, int val, const char *arg, struct mb_err *err)
{
	struct seen *s = ctx;

	switch (val) {
	case 'p':
		return conf_parse_uint("port", arg, 0, 65535, &s->port, err);
	case 'd':
		snprintf(s->datadir, sizeof(s->datadir), "%s", arg);
		return 0;
	case 'o':
		s->once++;
		return 0;
	}
	return mb_errf(err, "unexpected");
}

static int load(const char *text, struct seen *s, struct mb_err *err)
{
	memset(s, 0, sizeof(*s));
	return conf_load_text("test.conf", text, strlen(text), options, apply,
			      s, err);
}

static void test_good_file(void **state)
{
	struct mb_err err;
	struct seen s;

	(void)state;
	assert_int_equal(load("# comment\n\n  port 8080\n"
			      "datadir = /var/lib/memory buddies  \n"
			      "once\r\n", &s, &err), 0);
	assert_int_equal(s.port, 8080);
	assert_string_equal(s.datadir, "/var/lib/memory buddies");
	assert_int_equal(s.once, 1);
	assert_int_equal(load("port=1", &s, &err), 0);
	assert_int_equal(s.port, 1);
}

static void test_bad_files(void **state)
{
	static const char *const bad[][2] = {
		{ "port 80\nportt 81\n", "test.conf:2: unknown option 'portt'" },
		{ "once yes\n", "test.conf:1: option 'once' takes no value" },
		{ "\n\nport\n", "test.conf:3: option 'port' needs a value" },
		{ "port 70000\n", "test.conf:1: port: 70000 is out of range" },
		{ "port 12ab\n", "test.conf:1: port: '12ab' is not a number" },
		{ "config other.conf\n", "test.conf:1: unknown option 'config'" },
		{ "port -1\n", "is not a number" },
	};
	struct mb_err err;
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i][0], &s, &err), -1);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("'%s': expected '%s' in '%s'", bad[i][0],
				 bad[i][1], err.msg);
	}
}

static void test_helpers(void **state)
{
	char path[] = "/tmp/mb-conf-test.XXXXXX";
	unsigned long long v;
	struct mb_err err;
	char *secret;
	int b, fd;

	(void)state;
	assert_int_equal(conf_parse_bool("x", "yes", &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(conf_parse_bool("x", "Off", &b, &err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(conf_parse_bool("x", NULL, &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(conf_parse_bool("fsync", "maybe", &b, &err), -1);
	assert_string_equal(err.msg, "fsync: 'maybe' is not yes or no");
	assert_int_equal(conf_parse_uint("n", "18446744073709551616", 0,
					 ~0ULL, &v, &err), -1);
	assert_int_equal(conf_parse_uint("n", "5", 6, 9, &v, &err), -1);
	assert_string_equal(err.msg, "n: 5 is out of range 6..9");

	fd = mkstemp(path);
	assert_true(write(fd, "s3cret-token \n# more\n", 21) == 21);
	close(fd);
	secret = conf_read_secret(path, &err);
	assert_string_equal(secret, "s3cret-token");
	free(secret);
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	assert_null(conf_read_secret(path, &err));
	assert_non_null(strstr(err.msg, "empty"));
	unlink(path);
	assert_null(conf_read_secret(path, &err));
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(conf_load_file(path, options, apply, NULL, &err), -1);
	assert_non_null(strstr(err.msg, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
