// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_routes.c - the route matcher (controld/routes.c) and
 * mb-controld's own route table (controld/http.c): which route a request
 * reaches, its parameters, and 404 / 405 with the Allow list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"

static const struct route *table;
static size_t ntable;

static const struct route *expect_found(const char *method, const char *path,
					const char *pattern,
					struct route_match *m)
{
	char allow[64];
	const struct route *r;
	enum route_result res;

	res = route_match(table, ntable, method, path, &r, m, allow,
			  sizeof(allow));
	if (res != ROUTE_FOUND)
		fail_msg("%s %s: expected route %s, got %s (allow '%s')",
			 method, path, pattern, res == ROUTE_NO_PATH ? "404" :
			 "405", allow);
	if (strcmp(r->pattern, pattern) || (strcmp(r->method, method) &&
					     strcmp(method, "HEAD")))
		fail_msg("%s %s: expected route %s, got %s %s", method, path,
			 pattern, r->method, r->pattern);
	return r;
}

static void expect_status(const char *method, const char *path,
			  enum route_result want, const char *allow_want)
{
	struct route_match m;
	const struct route *r;
	char allow[64];
	enum route_result res;

	res = route_match(table, ntable, method, path, &r, &m, allow,
			  sizeof(allow));
	if (res != want)
		fail_msg("%s %s: expected result %d, got %d (%s)", method,
			 path, want, res, res == ROUTE_FOUND ? r->pattern : "");
	if (allow_want && strcmp(allow, allow_want))
		fail_msg("%s %s: expected Allow '%s', got '%s'", method, path,
			 allow_want, allow);
}

#define U "6d62756c-6c76-4000-8000-0000000000c1"

static void test_every_route_reaches_itself(void **state)
{
	struct route_match m;
	char path[256];
	size_t i, j;

	(void)state;
	for (i = 0; i < ntable; i++) {
		/* The pattern with each {param} filled in. */
		const char *p = table[i].pattern;
		size_t len = 0;

		for (j = 0; p[j]; j++) {
			if (p[j] == '{') {
				len += (size_t)snprintf(path + len,
					sizeof(path) - len, "x%zu", j);
				j = strchr(p + j, '}') - p;
				continue;
			}
			path[len++] = p[j];
		}
		path[len] = '\0';
		expect_found(table[i].method, path, table[i].pattern, &m);
	}
	/* No two routes share a method and pattern. */
	for (i = 0; i < ntable; i++)
		for (j = i + 1; j < ntable; j++)
			assert_false(!strcmp(table[i].method, table[j].method) &&
				     !strcmp(table[i].pattern, table[j].pattern));
}

static void test_parameters(void **state)
{
	struct route_match m;
	const struct route *r;

	(void)state;
	r = expect_found("GET", "/v1/vms/" U "/traces/12",
			 "/v1/vms/{uuid}/traces/{version}", &m);
	assert_int_equal(r->role, ROLE_ADMIN);
	assert_string_equal(route_param(&m, "uuid"), U);
	assert_string_equal(route_param(&m, "version"), "12");
	assert_null(route_param(&m, "name"));
	r = expect_found("PUT", "/v1/vms/" U "/traces",
			 "/v1/vms/{uuid}/traces", &m);
	assert_int_equal(r->role, ROLE_VM_OR_HOST);
	assert_int_equal(r->body, BODY_STREAM);
	r = expect_found("POST", "/v1/vms/" U "/stats", "/v1/vms/{uuid}/stats",
			 &m);
	assert_int_equal(r->role, ROLE_VM);
	assert_int_equal(r->body, BODY_JSON);
	expect_found("GET", "/v1/hosts/h-1/stats", "/v1/hosts/{name}/stats",
		     &m);
	assert_string_equal(route_param(&m, "name"), "h-1");
	/* A trailing slash is the same path; HEAD reaches GET routes. */
	expect_found("GET", "/v1/vms/", "/v1/vms", &m);
	expect_found("HEAD", "/v1/health", "/v1/health", &m);
	r = expect_found("GET", "/v1/health", "/v1/health", &m);
	assert_int_equal(r->role, ROLE_ANYONE);
}

/* Bad uuids still reach their route, to be refused as bad uuids (400). */
static void test_bad_uuids_reach_the_route(void **state)
{
	struct route_match m;

	(void)state;
	expect_found("PUT", "/v1/vms/../traces", "/v1/vms/{uuid}/traces", &m);
	assert_string_equal(route_param(&m, "uuid"), "..");
	expect_found("PUT", "/v1/vms/6d62756c/6c76-4000/traces",
		     "/v1/vms/{uuid}/traces", &m);
	assert_string_equal(route_param(&m, "uuid"), "6d62756c/6c76-4000");
	expect_found("PUT", "/v1/vms/../../x/traces", "/v1/vms/{uuid}/traces",
		     &m);
	assert_string_equal(route_param(&m, "uuid"), "../../x");
	expect_found("GET", "/v1/vms/a/b/traces", "/v1/vms/{uuid}/traces", &m);
	expect_found("GET", "/v1/vms/a/b", "/v1/vms/{uuid}", &m);
	assert_string_equal(route_param(&m, "uuid"), "a/b");
}

static void test_404_and_405(void **state)
{
	(void)state;
	expect_status("GET", "/v2/everything", ROUTE_NO_PATH, "");
	expect_status("GET", "/v1", ROUTE_NO_PATH, "");
	expect_status("GET", "/", ROUTE_NO_PATH, "");
	expect_status("GET", "v1/vms", ROUTE_NO_PATH, "");
	expect_status("GET", "/v1//vms", ROUTE_NO_PATH, "");
	expect_status("DELETE", "/v1/vms/" U "/traces", ROUTE_NO_METHOD,
		      "PUT, GET, HEAD");
	expect_status("PUT", "/v1/vms/" U, ROUTE_NO_METHOD, "GET, HEAD");
	expect_status("DELETE", "/v1/plan", ROUTE_NO_METHOD,
		      "GET, HEAD, POST");
	expect_status("GET", "/v1/plan/apply", ROUTE_NO_METHOD, "POST");
	expect_status("PUT", "/metrics", ROUTE_NO_METHOD, "GET, HEAD");
	expect_status("POST", "/v1/health", ROUTE_NO_METHOD, "GET, HEAD");
}

/* A matcher table of its own: most literals win, params stay segments. */
static void test_matcher_rules(void **state)
{
	static const struct route t[] = {
		{ "GET", "/a/{x}", ROLE_ANYONE, BODY_NONE, false, 1, "" },
		{ "GET", "/a/{x}/b", ROLE_ANYONE, BODY_NONE, false, 2, "" },
		{ "GET", "/a/{x}/{y}", ROLE_ANYONE, BODY_NONE, false, 3, "" },
		{ "GET", "/a/fixed/b", ROLE_ANYONE, BODY_NONE, false, 4, "" },
	};
	struct route_match m;
	const struct route *r;
	char allow[8];

	(void)state;
	assert_int_equal(route_match(t, 4, "GET", "/a/1/b", &r, &m, allow,
				     sizeof(allow)), ROUTE_FOUND);
	assert_int_equal(r->handler, 2);
	assert_int_equal(route_match(t, 4, "GET", "/a/fixed/b", &r, &m, allow,
				     sizeof(allow)), ROUTE_FOUND);
	assert_int_equal(r->handler, 4);
	assert_int_equal(route_match(t, 4, "GET", "/a/1/2", &r, &m, allow,
				     sizeof(allow)), ROUTE_FOUND);
	assert_int_equal(r->handler, 3);
	assert_string_equal(route_param(&m, "y"), "2");
	assert_int_equal(route_match(t, 4, "GET", "/a/1/2/b", &r, &m, allow,
				     sizeof(allow)), ROUTE_FOUND);
	assert_int_equal(r->handler, 2);	/* most literals */
	assert_string_equal(route_param(&m, "x"), "1/2");
	/* A small Allow buffer is cut, never overrun. */
	assert_int_equal(route_match(t, 4, "PUT", "/a/1", &r, &m, allow,
				     sizeof(allow)), ROUTE_NO_METHOD);
	assert_true(strlen(allow) < sizeof(allow));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_reaches_itself),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_bad_uuids_reach_the_route),
		cmocka_unit_test(test_404_and_405),
		cmocka_unit_test(test_matcher_rules),
	};

	table = http_route_table(&ntable);
	return cmocka_run_group_tests_name("controld_routes", tests, NULL,
					   NULL);
}
