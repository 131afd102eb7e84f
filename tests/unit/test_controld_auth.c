// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_auth.c - the tokens file and the access rule: a VM's token
 * writes only its own traces, the admin token reads and writes all,
 * unknown and missing tokens are told apart from forbidden ones, a bad
 * file names the line and keeps the previous table, SIGHUP reloads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "mbt.h"

#define VM_A "6d62756c-6175-4000-8000-00000000000a"
#define VM_B "6d62756c-6175-4000-8000-00000000000b"

static const char table[] =
	"# tokens\n"
	"\n"
	VM_A "  token-of-vm-a\n"
	"  " VM_B "\ttoken-of-vm-b   \n"
	VM_B " rotated-token-b\n"
	"admin the-admin-token\n";

static void test_rules(void **state)
{
	uint8_t a[MBT_UUID_LEN], b[MBT_UUID_LEN];
	struct mb_err err;
	struct auth *au;

	(void)state;
	mb_uuid_parse(VM_A, a);
	mb_uuid_parse(VM_B, b);
	au = auth_new(NULL, false, &err);
	assert_non_null(au);
	assert_int_equal(auth_load_text(au, "t", table, strlen(table), &err),
			 0);
	assert_int_equal(auth_count(au), 4);
	assert_int_equal(auth_check(au, "Bearer token-of-vm-a", a), AUTH_OK);
	assert_int_equal(auth_check(au, "bearer  token-of-vm-a", a), AUTH_OK);
	assert_int_equal(auth_check(au, "Bearer token-of-vm-a", b),
			 AUTH_FORBIDDEN);
	assert_int_equal(auth_check(au, "Bearer token-of-vm-a", NULL),
			 AUTH_FORBIDDEN);
	assert_int_equal(auth_check(au, "Bearer rotated-token-b", b), AUTH_OK);
	assert_int_equal(auth_check(au, "Bearer token-of-vm-b", b), AUTH_OK);
	assert_int_equal(auth_check(au, "Bearer the-admin-token", NULL),
			 AUTH_OK);
	assert_int_equal(auth_check(au, "Bearer the-admin-token", a), AUTH_OK);
	assert_int_equal(auth_check(au, "Bearer token-of-vm-", a),
			 AUTH_UNKNOWN);
	assert_int_equal(auth_check(au, "Bearer token-of-vm-aa", a),
			 AUTH_UNKNOWN);
	assert_int_equal(auth_check(au, "Bearer ", a), AUTH_UNKNOWN);
	assert_int_equal(auth_check(au, "Basic dXNlcjpwYXNz", a),
			 AUTH_MISSING);
	assert_int_equal(auth_check(au, NULL, a), AUTH_MISSING);
	auth_free(au);
}

static void test_bad_files(void **state)
{
	static const char *const bad[] = {
		VM_A "\n",
		"not-a-uuid some-long-token\n",
		VM_A " short\n",
		VM_A " token-one token-two\n",
	};
	static const char *const why[] = {
		":1: no token", ":1: 'not-a-uuid' is neither",
		":1: token must be 8", ":1: more than two fields",
	};
	uint8_t a[MBT_UUID_LEN];
	struct mb_err err;
	struct auth *au = auth_new(NULL, false, &err);
	size_t i;

	(void)state;
	mb_uuid_parse(VM_A, a);
	assert_int_equal(auth_load_text(au, "t", table, strlen(table), &err),
			 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(auth_load_text(au, "tokens", bad[i],
						strlen(bad[i]), &err), -1);
		if (!strstr(err.msg, why[i]))
			fail_msg("'%s': expected '%s' in '%s'", bad[i], why[i],
				 err.msg);
		/* The previous table stays in force. */
		assert_int_equal(auth_check(au, "Bearer token-of-vm-a", a),
				 AUTH_OK);
	}
	auth_free(au);
}

static void test_reload_and_insecure(void **state)
{
	char path[] = "/tmp/mb-auth-test.XXXXXX";
	uint8_t a[MBT_UUID_LEN];
	struct mb_err err;
	struct auth *au;
	FILE *f;
	int fd;

	(void)state;
	mb_uuid_parse(VM_A, a);
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fprintf(f, "%s first-token-a\n", VM_A);
	fclose(f);
	au = auth_new(path, false, &err);
	assert_non_null(au);
	assert_int_equal(auth_check(au, "Bearer first-token-a", a), AUTH_OK);
	f = fopen(path, "w");
	fprintf(f, "%s second-token-a\n", VM_A);
	fclose(f);
	assert_int_equal(auth_reload(au, &err), 0);
	assert_int_equal(auth_check(au, "Bearer first-token-a", a),
			 AUTH_UNKNOWN);
	assert_int_equal(auth_check(au, "Bearer second-token-a", a), AUTH_OK);
	unlink(path);
	assert_int_equal(auth_reload(au, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(auth_check(au, "Bearer second-token-a", a), AUTH_OK);
	auth_free(au);
	assert_null(auth_new(path, false, &err));

	au = auth_new(NULL, true, &err);
	assert_int_equal(auth_check(au, NULL, a), AUTH_OK);
	assert_int_equal(auth_check(au, NULL, NULL), AUTH_OK);
	auth_free(au);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_reload_and_insecure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
