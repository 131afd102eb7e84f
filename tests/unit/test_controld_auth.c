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
#include <sys/stat.h>
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
		VM_A " token-one tenant=a b\n",
		"admin the-admin-token tenant=acme\n",
		VM_A " token-one tenant=\n",
		VM_A " token-one tenant=a/b\n",
		VM_A " token-one tenant=red\n# rotated\n"
		VM_A " token-two tenant=blue\n",
		VM_A " token-one tenant=red\n" VM_A " token-two\n",
	};
	static const char *const why[] = {
		":1: no token", ":1: 'not-a-uuid' is neither",
		":1: token must be 8",
		":1: third field 'token-two' is not tenant=NAME",
		":1: more than three fields",
		":1: an admin token belongs to no tenant",
		":1: third field 'tenant=' is not tenant=NAME",
		":1: tenant name 'a/b' has a character other than",
		":3: vm " VM_A " is in tenant 'blue' here and 'red' on line 1",
		":2: vm " VM_A " is in tenant '' here and 'red' on line 1",
	};
	uint8_t a[MBT_UUID_LEN];
	struct mb_err err;
	struct auth *au = auth_new(NULL, false, &err);
	size_t i;

	(void)state;
	mb_uuid_parse(VM_A, a);
	assert_int_equal(auth_load_text(au, "t", table, strlen(table), &err),
			 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
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

/* The tenant field: looked up per VM; VMs without one are in "". */
static void test_tenants(void **state)
{
	static const char text[] =
		VM_A " token-of-vm-a tenant=acme.prod_1\n"
		VM_A " rotated-token-a tenant=acme.prod_1\n"
		VM_B " token-of-vm-b\n"
		"admin the-admin-token\n";
	uint8_t a[MBT_UUID_LEN], b[MBT_UUID_LEN], c[MBT_UUID_LEN];
	char tenant[AUTH_TENANT_MAX];
	struct mb_err err;
	struct auth *au = auth_new(NULL, false, &err);

	(void)state;
	mb_uuid_parse(VM_A, a);
	mb_uuid_parse(VM_B, b);
	mb_uuid_parse("6d62756c-6175-4000-8000-00000000000c", c);
	assert_int_equal(auth_load_text(au, "t", text, strlen(text), &err), 0);
	assert_true(auth_tenant(au, a, tenant));
	assert_string_equal(tenant, "acme.prod_1");
	assert_true(auth_tenant(au, b, tenant));
	assert_string_equal(tenant, "");
	assert_false(auth_tenant(au, c, tenant));
	assert_string_equal(tenant, "");
	assert_int_equal(auth_check(au, "Bearer rotated-token-a", a), AUTH_OK);
	auth_free(au);
}

/* A tokens file other users can read is refused, and says how to fix it. */
static void test_secret_mode(void **state)
{
	static const char line[] = VM_A " token-of-vm-a\n";
	char path[] = "/tmp/mb-auth-test.XXXXXX";
	struct mb_err err;
	struct auth *au;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_null(auth_new(path, false, &err));
	assert_non_null(strstr(err.msg, "is readable by every user (mode "
				"0644): refusing it; chmod 0600 it"));
	assert_int_equal(fchmod(fd, 0640), 0);
	au = auth_new(path, false, &err);
	assert_non_null(au);
	assert_int_equal(fchmod(fd, 0606), 0);
	assert_int_equal(auth_reload(au, &err), -1);
	assert_non_null(strstr(err.msg, "writable by every user"));
	auth_free(au);
	close(fd);
	unlink(path);
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
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_secret_mode),
		cmocka_unit_test(test_reload_and_insecure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
