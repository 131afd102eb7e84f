// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_hostside.c - host tokens (host=NAME in the tokens file)
 * and the upload rule of controld/hostside.c: who may send which kind of
 * trace, against a real inventory of two libvirt test-driver hosts (an
 * in-process hypervisor whose domains a file describes: what libvirt
 * answers, without a QEMU).
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
#include "hostside.h"
#include "inventory.h"
#include "mbt.h"

#define VM_1 "33333333-3333-4333-8333-000000000001"
#define VM_2 "33333333-3333-4333-8333-000000000002"
#define VM_X "33333333-3333-4333-8333-0000000000ff"	/* runs nowhere */

static const char table[] =
	VM_1 " token-of-vm-1\n"
	VM_2 " token-of-vm-2 tenant=red\n"
	"host=h1 token-of-host-1\n"
	"host=h2 token-of-host-2\n"
	"host=h9 token-of-host-9\n"
	"admin the-admin-token\n";

struct fixture {
	char dir[64];
	struct auth *auth;
	struct inventory *inv;
};

static void host_file(const char *path, const char *name, const char *uuid)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "<node><cpu><mhz>2000</mhz><model>i686</model>"
		"<active>1</active><nodes>1</nodes><sockets>1</sockets>"
		"<cores>1</cores><threads>1</threads></cpu>"
		"<memory>1048576</memory><domain type='test'><name>%s</name>"
		"<uuid>%s</uuid><memory>131072</memory><vcpu>1</vcpu>"
		"<os><type arch='i686'>hvm</type></os></domain></node>\n",
		name, uuid);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char a[128], b[128], spec1[256], spec2[256];
	char *specs[2] = { spec1, spec2 };
	struct mb_err err;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mb-hostside.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(a, sizeof(a), "%s/h1.xml", f->dir);
	snprintf(b, sizeof(b), "%s/h2.xml", f->dir);
	host_file(a, "g1", VM_1);
	host_file(b, "g2", VM_2);
	snprintf(spec1, sizeof(spec1), "h1,test://%s", a);
	snprintf(spec2, sizeof(spec2), "h2,test://%s", b);
	f->auth = auth_new(NULL, false, &err);
	assert_non_null(f->auth);
	assert_int_equal(auth_load_text(f->auth, "t", table, strlen(table),
					&err), 0);
	f->inv = inventory_new(specs, 2, &err);
	assert_non_null(f->inv);
	inventory_refresh(f->inv, true);
	unlink(a);
	unlink(b);
	rmdir(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	inventory_free(f->inv);
	auth_free(f->auth);
	free(f);
	return 0;
}

static void test_identify(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	uint8_t v1[MBT_UUID_LEN], v2[MBT_UUID_LEN];
	char tenant[AUTH_TENANT_MAX];

	mb_uuid_parse(VM_1, v1);
	mb_uuid_parse(VM_2, v2);
	assert_int_equal(auth_identify(f->auth, "Bearer token-of-host-1", v1,
				       &p), AUTH_OK);
	assert_int_equal(p.kind, PRINCIPAL_HOST);
	assert_string_equal(p.host, "h1");
	assert_int_equal(auth_identify(f->auth, "Bearer token-of-vm-1", v1,
				       &p), AUTH_OK);
	assert_int_equal(p.kind, PRINCIPAL_VM);
	assert_true(p.vm_match);
	assert_int_equal(auth_identify(f->auth, "Bearer token-of-vm-1", v2,
				       &p), AUTH_OK);
	assert_false(p.vm_match);
	assert_int_equal(auth_identify(f->auth, "Bearer the-admin-token", v1,
				       &p), AUTH_OK);
	assert_int_equal(p.kind, PRINCIPAL_ADMIN);
	assert_int_equal(auth_identify(f->auth, "Bearer nobody's", v1, &p),
			 AUTH_UNKNOWN);
	assert_int_equal(auth_identify(f->auth, NULL, v1, &p), AUTH_MISSING);
	/* A host token is no VM's, no admin's, and in no tenant. */
	assert_int_equal(auth_check(f->auth, "Bearer token-of-host-1", v1),
			 AUTH_FORBIDDEN);
	assert_int_equal(auth_check(f->auth, "Bearer token-of-host-1", NULL),
			 AUTH_FORBIDDEN);
	assert_true(auth_tenant(f->auth, v2, tenant));
	assert_string_equal(tenant, "red");
	/* The all-zero uuid is not a host token's VM. */
	memset(v1, 0, sizeof(v1));
	assert_int_equal(auth_check(f->auth, "Bearer token-of-host-1", v1),
			 AUTH_FORBIDDEN);
	assert_false(auth_tenant(f->auth, v1, tenant));
}

static void test_bad_lines(void **state)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
		{ "host= tok-12345678\n", "t:1: host name must be 1 to 63" },
		{ "host=a/b tok-12345678\n", "t:1: host name 'a/b' has a "
		  "character other than" },
		{ "host=h1 tok-12345678 tenant=red\n", "t:1: a host token "
		  "belongs to no tenant" },
		{ "hostess tok-12345678\n", "t:1: 'hostess' is neither a vm "
		  "uuid, 'admin' nor host=NAME" },
		{ "host=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxx tok-12345678\n", "t:1: host name must be 1 to "
		  "63" },
	};
	struct fixture *f = *state;
	struct mb_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(auth_load_text(f->auth, "t", cases[i].line,
						strlen(cases[i].line), &err),
				 -1);
		if (!strstr(err.msg, cases[i].error))
			fail_msg("line '%s': expected '%s', got '%s'",
				 cases[i].line, cases[i].error, err.msg);
	}
	/* The table in force is still the good one. */
	assert_int_equal(auth_count(f->auth), 6);
}

/* Decide an upload of @vm by @token: the result, @o and @msg filled. */
static enum auth_result decide(struct fixture *f, struct inventory *inv,
			       const char *token, const char *vm,
			       struct trace_origin *o, char *msg)
{
	char header[128];
	uint8_t bin[MBT_UUID_LEN];

	snprintf(header, sizeof(header), "Bearer %s", token);
	mb_uuid_parse(vm, bin);
	return hostside_authorize(f->auth, inv, header, bin, vm, o, msg,
				  MB_ERR_LEN);
}

static void test_rule(void **state)
{
	struct fixture *f = *state;
	struct trace_origin o;
	char msg[MB_ERR_LEN], host[AUTH_HOST_MAX];

	hostside_listed_host(f->inv, VM_1, host, sizeof(host));
	assert_string_equal(host, "h1");
	hostside_listed_host(f->inv, VM_X, host, sizeof(host));
	assert_string_equal(host, "");
	/* The host that runs it: host-side traces only. */
	assert_int_equal(decide(f, f->inv, "token-of-host-1", VM_1, &o, msg),
			 AUTH_OK);
	assert_int_equal(o.mask, MBT_FLAG_FROM_HOST);
	assert_int_equal(o.want, MBT_FLAG_FROM_HOST);
	assert_string_equal(o.host, "h1");
	assert_int_equal(decide(f, f->inv, "token-of-host-2", VM_2, &o, msg),
			 AUTH_OK);
	/* Another host, a host controld does not manage, a VM of none. */
	assert_int_equal(decide(f, f->inv, "token-of-host-2", VM_1, &o, msg),
			 AUTH_FORBIDDEN);
	assert_string_equal(msg, "host h2 may not upload for vm " VM_1 ": the "
			    "inventory has it running on h1");
	assert_int_equal(decide(f, f->inv, "token-of-host-9", VM_1, &o, msg),
			 AUTH_FORBIDDEN);
	assert_non_null(strstr(msg, "it is not one of controld's hosts"));
	assert_int_equal(decide(f, f->inv, "token-of-host-1", VM_X, &o, msg),
			 AUTH_FORBIDDEN);
	assert_non_null(strstr(msg, "running on no host"));
	/* No inventory: no host may upload. */
	assert_int_equal(decide(f, NULL, "token-of-host-1", VM_1, &o, msg),
			 AUTH_FORBIDDEN);
	assert_non_null(strstr(msg, "need the inventory (--host)"));
	/* A VM's token: its own guest traces, never host-side ones. */
	assert_int_equal(decide(f, f->inv, "token-of-vm-1", VM_1, &o, msg),
			 AUTH_OK);
	assert_int_equal(o.mask, MBT_FLAG_FROM_HOST);
	assert_int_equal(o.want, 0);
	assert_string_equal(o.host, "");
	assert_int_equal(decide(f, f->inv, "token-of-vm-1", VM_2, &o, msg),
			 AUTH_FORBIDDEN);
	assert_string_equal(msg, "");
	/* The admin: either kind. */
	assert_int_equal(decide(f, NULL, "the-admin-token", VM_X, &o, msg),
			 AUTH_OK);
	assert_int_equal(o.mask, 0);
	assert_int_equal(decide(f, f->inv, "no-such-token", VM_1, &o, msg),
			 AUTH_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rule, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
