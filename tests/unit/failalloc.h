/* SPDX-License-Identifier: GPL-2.0 */
/*
 * failalloc.h - allocation-failure injection for unit tests, after
 * SQLite's malloc tests: make the n-th allocation from now fail, run an
 * operation, check it failed cleanly, for n = 1, 2, ... until it runs to
 * the end without meeting the failure.
 *
 * What is counted: every malloc, calloc, realloc, strdup, strndup,
 * asprintf and XXH64_createState called by the code under test (the test
 * binary is linked with -Wl,--wrap= for each, so the real functions of
 * lib/, heuristics/, daemon/ and controld/ are the ones that fail), every
 * allocation SQLite makes for it (through its allocator hook, installed
 * by failalloc_init()) and every allocation of jansson (once the test has
 * called mb_json_alloc_init(), as the daemons do: heuristics/json_alloc.h).
 * Allocations libc makes inside itself (stdio buffers) are not counted.
 *
 * A failed allocation returns NULL with errno ENOMEM. In transient mode
 * only the n-th fails; in persistent mode the n-th and all after it. With
 * FAILALLOC_TRACE=n in the environment, the stack of the n-th allocation
 * is printed whenever it is made to fail (to find who reports it badly).
 */
#ifndef MB_TEST_FAILALLOC_H
#define MB_TEST_FAILALLOC_H

#include <stdbool.h>

#include "mb_error.h"

/* Install the SQLite hook; call once, before SQLite is used. */
void failalloc_init(void);

/* Fail the @n-th counted allocation from now (1: the next one). */
void failalloc_arm(unsigned long n, bool persistent);
void failalloc_disarm(void);
/* Whether a failure was injected since the last failalloc_arm(). */
bool failalloc_fired(void);

/*
 * The operation under test: 0 when it succeeded, -1 when it failed (with
 * @err set). It must free what it allocated either way.
 */
typedef int (*failalloc_op)(void *ctx, struct mb_err *err);

/*
 * Called after each run that met an injected failure, with the result of
 * @op, to check what it left (nothing stored half-way, ...); may be NULL.
 */
typedef void (*failalloc_check)(void *ctx, int ret, const struct mb_err *err);

/*
 * Run @op with the n-th allocation failing, n = 1, 2, ..., in both modes,
 * until it completes without meeting the failure. Every run that met one
 * must either succeed (the failure was absorbed) or fail with a message
 * saying memory ran out; the test fails otherwise, naming @what, n and
 * the message. Returns the number of allocations @op makes when nothing
 * fails.
 */
unsigned long failalloc_sweep(const char *what, failalloc_op op,
			      failalloc_check check, void *ctx);

#endif /* MB_TEST_FAILALLOC_H */
