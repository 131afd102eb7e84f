// SPDX-License-Identifier: GPL-2.0
/*
 * failalloc.c - the allocation-failure injector (failalloc.h). The
 * __wrap_ functions replace the real ones at link time (-Wl,--wrap=...),
 * __real_ reaches the real (or, under ASan, the sanitizer's) allocator;
 * SQLite gets a malloc module that forwards to its default one. jansson
 * allocates through heuristics/json_alloc.c (as in the daemons), whose
 * malloc() is wrapped like the rest. One counter serves them all; tests
 * run in one thread, but the counter is atomic so a worker thread of the
 * code under test counts too.
 */
#include <errno.h>
#include <execinfo.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <xxhash.h>

#include "failalloc.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
XXH64_state_t *__real_XXH64_createState(void);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_asprintf(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
XXH64_state_t *__wrap_XXH64_createState(void);

static unsigned long armed_at;		/* 0: disarmed */
static unsigned long trace_at;		/* $FAILALLOC_TRACE: show its stack */
static unsigned long counted;
static bool persistent, fired;

/* Should this allocation fail? */
static bool inject(void)
{
	unsigned long n;

	if (!__atomic_load_n(&armed_at, __ATOMIC_RELAXED))
		return false;
	n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
	if (n == armed_at || (persistent && n > armed_at)) {
		if (n == armed_at && trace_at == n) {
			void *frames[16];

			backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
		}
		__atomic_store_n(&fired, true, __ATOMIC_RELAXED);
		errno = ENOMEM;
		return true;
	}
	return false;
}

void failalloc_arm(unsigned long n, bool persist)
{
	__atomic_store_n(&counted, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fired, false, __ATOMIC_RELAXED);
	persistent = persist;
	__atomic_store_n(&armed_at, n, __ATOMIC_RELAXED);
}

void failalloc_disarm(void)
{
	__atomic_store_n(&armed_at, 0, __ATOMIC_RELAXED);
}

bool failalloc_fired(void)
{
	return __atomic_load_n(&fired, __ATOMIC_RELAXED);
}

void *__wrap_malloc(size_t size)
{
	return inject() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return inject() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return inject() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
	return inject() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return inject() ? NULL : __real_strndup(s, n);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (inject())
		return -1;
	va_start(ap, fmt);
	ret = vasprintf(out, fmt, ap);
	va_end(ap);
	return ret;
}

XXH64_state_t *__wrap_XXH64_createState(void)
{
	return inject() ? NULL : __real_XXH64_createState();
}

/* ---- SQLite and jansson ---- */

static sqlite3_mem_methods sqlite_default;

static void *sqlite_malloc(int n)
{
	return inject() ? NULL : sqlite_default.xMalloc(n);
}

static void *sqlite_realloc(void *p, int n)
{
	return inject() ? NULL : sqlite_default.xRealloc(p, n);
}

void failalloc_init(void)
{
	static sqlite3_mem_methods ours;

	sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_default);
	ours = sqlite_default;
	ours.xMalloc = sqlite_malloc;
	ours.xRealloc = sqlite_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &ours) != SQLITE_OK)
		fail_msg("failalloc: SQLite refused the malloc hooks "
			 "(called after sqlite3_initialize()?)");
}

/* ---- the sweep ---- */

static bool says_out_of_memory(const char *msg)
{
	return strstr(msg, "out of memory") || strstr(msg, "Out of memory") ||
	       strstr(msg, "Cannot allocate memory");
}

unsigned long failalloc_sweep(const char *what, failalloc_op op,
			      failalloc_check check, void *ctx)
{
	unsigned long n, total = 0;
	struct mb_err err;
	int mode, ret;

	trace_at = getenv("FAILALLOC_TRACE") ?
		   strtoul(getenv("FAILALLOC_TRACE"), NULL, 10) : 0;
	for (mode = 0; mode < 2; mode++) {
		for (n = 1;; n++) {
			memset(&err, 0, sizeof(err));
			failalloc_arm(n, mode == 1);
			ret = op(ctx, &err);
			failalloc_disarm();
			if (!failalloc_fired()) {
				if (ret)
					fail_msg("%s: fails with no injected "
						 "failure: %s", what, err.msg);
				total = n - 1;
				break;
			}
			if (ret && !says_out_of_memory(err.msg))
				fail_msg("%s: allocation %lu failing (%s): "
					 "unclear error \"%s\"", what, n,
					 mode ? "and all after it" : "alone",
					 err.msg);
			if (check)
				check(ctx, ret, &err);
			if (n > 1000000)
				fail_msg("%s: more than a million allocations",
					 what);
		}
	}
	print_message("%s: %lu allocations, each failed in turn (alone, then "
		      "with all after it)\n", what, total);
	return total;
}
