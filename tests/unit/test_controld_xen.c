// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_xen.c - controld/xen.c up to the hypervisor call: the
 * argument checks, and that without a Xen hypervisor (this build machine)
 * the call fails cleanly with a message saying so. On a real Xen dom0 the
 * last check is skipped (and says so): setting a target there needs a
 * guest domain to try it on, which a unit test must not touch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "xen.h"

static void test_arguments(void **state)
{
	struct mb_err err;

	(void)state;
	assert_int_equal(xen_check_target(1, 256 * 1024, 0, &err), 0);
	assert_int_equal(xen_check_target(7, 512 * 1024, 1024 * 1024, &err), 0);
	assert_int_equal(xen_check_target(0, 256 * 1024, 0, &err), -1);
	assert_non_null(strstr(err.msg, "domain 0"));
	assert_int_equal(xen_check_target(0x7ff0, 256 * 1024, 0, &err), -1);
	assert_non_null(strstr(err.msg, "not a guest domain id"));
	assert_int_equal(xen_check_target(3, 1024, 0, &err), -1);
	assert_non_null(strstr(err.msg, "below"));
	assert_int_equal(xen_check_target(3, 512 * 1024, 256 * 1024, &err), -1);
	assert_non_null(strstr(err.msg, "above the maximum"));
	/* Bad arguments never reach the hypervisor interface. */
	assert_int_equal(xen_set_memory_target(0, 256 * 1024, 0, &err), -1);
	assert_non_null(strstr(err.msg, "domain 0"));
}

static int is_xen_dom0(void)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "control_d") != NULL;
}

static void test_no_hypervisor(void **state)
{
	struct mb_err err;

	(void)state;
	if (is_xen_dom0()) {
		printf("this is a Xen dom0: the no-hypervisor check does not "
		       "apply (and the real call is not tried)\n");
		skip();
	}
	assert_int_equal(xen_set_memory_target(1, 256 * 1024, 0, &err), -1);
	assert_non_null(strstr(err.msg, "Xen hypervisor interface"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_no_hypervisor),
	};

	return cmocka_run_group_tests_name("controld_xen", tests, NULL, NULL);
}
