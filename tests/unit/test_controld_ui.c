// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_ui.c - the dashboard's files (controld/ui.c): the routes
 * that reach them need no token and carry the file's name, lookup finds
 * exactly the compiled-in files, each with a type and the page's
 * references to its scripts and styles resolvable, and the policy sent
 * with them allows nothing inline and nothing from elsewhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"
#include "ui.h"

static const struct route *reach(const char *path, struct route_match *m)
{
	const struct route *table, *r;
	char allow[64];
	size_t n;

	table = http_route_table(&n);
	if (route_match(table, n, "GET", path, &r, m, allow, sizeof(allow)) !=
	    ROUTE_FOUND)
		fail_msg("GET %s: no route", path);
	return r;
}

static void test_routes(void **state)
{
	struct route_match m;
	const struct route *r;

	(void)state;
	r = reach("/ui/", &m);
	assert_string_equal(r->pattern, "/ui");
	assert_int_equal(r->role, ROLE_ANYONE);
	assert_false(r->control);
	assert_null(route_param(&m, "file"));
	r = reach("/ui", &m);
	assert_string_equal(r->pattern, "/ui");
	r = reach("/ui/app.js", &m);
	assert_string_equal(r->pattern, "/ui/{file}");
	assert_int_equal(r->role, ROLE_ANYONE);
	assert_string_equal(route_param(&m, "file"), "app.js");
	/* A deeper path reaches the route, whose lookup then finds nothing. */
	reach("/ui/../v1/vms", &m);
	assert_null(ui_find(route_param(&m, "file")));
	/* The matrix is an admin's read, like every other view of data. */
	r = reach("/v1/sharing", &m);
	assert_int_equal(r->role, ROLE_ADMIN);
	assert_false(r->control);
}

static void test_lookup(void **state)
{
	const struct ui_asset *index;
	size_t i;

	(void)state;
	index = ui_find(NULL);
	assert_non_null(index);
	assert_string_equal(index->name, "index.html");
	assert_ptr_equal(ui_find(""), index);
	assert_string_equal(index->type, "text/html; charset=utf-8");
	assert_non_null(ui_find("app.js"));
	assert_non_null(ui_find("style.css"));
	assert_null(ui_find("APP.JS"));
	assert_null(ui_find("app.js/"));
	assert_null(ui_find("../ui.c"));
	assert_null(ui_find("/etc/passwd"));
	for (i = 0; i < ui_nassets; i++) {
		assert_true(ui_assets[i].len > 0);
		assert_non_null(strstr(ui_assets[i].type, "/"));
		assert_ptr_equal(ui_find(ui_assets[i].name), &ui_assets[i]);
	}
}

/* Every /ui/ file the page names is compiled in. */
static void test_page_references(void **state)
{
	const struct ui_asset *index = ui_find(NULL);
	char page[16384];
	const char *p;
	size_t found = 0;

	(void)state;
	assert_true(index->len < sizeof(page));
	memcpy(page, index->data, index->len);
	page[index->len] = '\0';
	for (p = strstr(page, "\"/ui/"); p; p = strstr(p + 1, "\"/ui/")) {
		char name[64];
		size_t len = strcspn(p + 5, "\"");

		assert_true(len < sizeof(name));
		memcpy(name, p + 5, len);
		name[len] = '\0';
		if (!ui_find(name))
			fail_msg("index.html names /ui/%s, which is not "
				 "compiled in", name);
		found++;
	}
	assert_int_equal(found, 2);	/* app.js and style.css */
	assert_null(strstr(page, "<script>"));
	assert_null(strstr(page, "<style"));
	assert_null(strstr(page, " style="));
	/* No event handler attribute (onclick= and kin). */
	for (p = strstr(page, " on"); p; p = strstr(p + 1, " on")) {
		size_t letters = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz");

		if (p[3 + letters] == '=')
			fail_msg("index.html has an event handler: %.20s", p);
	}
}

static void test_policy(void **state)
{
	(void)state;
	assert_non_null(strstr(ui_csp, "default-src 'none'"));
	assert_non_null(strstr(ui_csp, "script-src 'self'"));
	assert_non_null(strstr(ui_csp, "connect-src 'self'"));
	assert_non_null(strstr(ui_csp, "frame-ancestors 'none'"));
	assert_null(strstr(ui_csp, "unsafe"));
	assert_null(strstr(ui_csp, "*"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_page_references),
		cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests_name("controld_ui", tests, NULL, NULL);
}
