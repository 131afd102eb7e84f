// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_conns.c - the listeners' connection table
 * (controld/conns.c) on real sockets (socket pairs standing for accepted
 * connections, with the peer addresses a listener would see): per-address
 * limits, the unauthenticated share and who is evicted from it, the
 * header timeout and the minimum rate, and what a cut does to the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "conns.h"

#define MAXC 16

struct pair {
	int ours, theirs;
};

static struct pair pairs[MAXC * 2];
static size_t npairs;

static int new_socket(void)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pairs[npairs].ours = sv[0];
	pairs[npairs].theirs = sv[1];
	npairs++;
	return sv[0];
}

static void close_sockets(void)
{
	while (npairs) {
		npairs--;
		close(pairs[npairs].ours);
		close(pairs[npairs].theirs);
	}
}

static struct sockaddr_in from(const char *addr)
{
	struct sockaddr_in in = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, addr, &in.sin_addr), 1);
	return in;
}

static struct conn *admit(struct conn_table *t, const char *addr,
			  enum conn_cut *why)
{
	struct sockaddr_in in = from(addr);

	return conn_admit(t, (struct sockaddr *)&in, new_socket(), why);
}

/* Our side of a cut socket reads the end of the stream at once. */
static bool reads_eof(const struct conn *c, int fd)
{
	char b;

	(void)c;
	return recv(fd, &b, 1, MSG_DONTWAIT) == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void per_address_limit(void **state)
{
	struct conn_limits l = { .listener = "test", .max = MAXC,
				 .max_unauthenticated = MAXC, .evict = true,
				 .per_address = 3 };
	struct conn_table *t = conn_table_new(&l, NULL);
	struct conn *c[4];
	enum conn_cut why = CONN_NOT_CUT;
	unsigned int open, unauth;
	int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 3; i++)
		assert_non_null(c[i] = admit(t, "127.0.0.2", &why));
	assert_null(admit(t, "127.0.0.2", &why));
	assert_int_equal(why, CONN_REFUSED_ADDRESS);
	assert_non_null(c[3] = admit(t, "127.0.0.3", &why));
	assert_string_equal(conn_peer(c[3]), "127.0.0.3");
	conn_counts(t, &open, &unauth);
	assert_int_equal(open, 4);
	/* Released, the address may connect again. */
	conn_release(t, c[0]);
	assert_non_null(c[0] = admit(t, "127.0.0.2", &why));
	for (i = 0; i < 4; i++)
		conn_release(t, c[i]);
	conn_counts(t, &open, &unauth);
	assert_int_equal(open, 0);
	assert_int_equal(unauth, 0);
	conn_table_free(t);
	close_sockets();
}

/*
 * With the unauthenticated share full, a newcomer evicts the oldest
 * connection of the busiest address; authenticated ones are never
 * evicted, and when every slot is theirs newcomers are refused.
 */
static void eviction(void **state)
{
	struct conn_limits l = { .listener = "test", .max = 6,
				 .max_unauthenticated = 4, .evict = true };
	struct conn_table *t = conn_table_new(&l, NULL);
	struct conn *lone, *flood[3], *next, *auth[2];
	enum conn_cut why = CONN_NOT_CUT;
	unsigned int open, unauth;
	size_t first_flood;
	int i;

	(void)state;
	assert_non_null(t);
	lone = admit(t, "127.0.0.1", &why);
	first_flood = npairs;
	for (i = 0; i < 3; i++)
		flood[i] = admit(t, "127.0.0.5", &why);
	assert_non_null(flood[2]);
	/* Share full (4): the oldest of 127.0.0.5 goes, not the lone one. */
	next = admit(t, "127.0.0.6", &why);
	assert_non_null(next);
	assert_int_equal(conn_was_cut(t, flood[0]), CONN_CUT_EVICTED);
	assert_true(reads_eof(flood[0], pairs[first_flood].ours));
	assert_int_equal(conn_was_cut(t, lone), CONN_NOT_CUT);
	assert_int_equal(conn_was_cut(t, flood[1]), CONN_NOT_CUT);
	/* Two authenticate: they leave the share and are safe. */
	conn_request(t, flood[1], true);
	conn_request(t, next, true);
	conn_counts(t, &open, &unauth);
	assert_int_equal(open, 4);
	assert_int_equal(unauth, 2);
	auth[0] = admit(t, "127.0.0.7", &why);
	auth[1] = admit(t, "127.0.0.8", &why);
	assert_non_null(auth[1]);
	conn_request(t, auth[0], true);
	conn_request(t, auth[1], true);
	/* 6 open, 4 of them authenticated: a newcomer evicts the oldest. */
	assert_non_null(admit(t, "127.0.0.9", &why));
	assert_int_equal(conn_was_cut(t, lone), CONN_CUT_EVICTED);
	assert_int_equal(conn_was_cut(t, flood[1]), CONN_NOT_CUT);
	conn_request(t, flood[2], true);
	conn_counts(t, &open, &unauth);
	assert_int_equal(unauth, 1);
	/* The last unauthenticated one is evicted; then all are authentic. */
	assert_non_null(next = admit(t, "127.0.0.10", &why));
	conn_request(t, next, true);
	assert_null(admit(t, "127.0.0.11", &why));
	assert_int_equal(why, CONN_REFUSED_FULL);
	/* A request that ends returns its connection to the share. */
	conn_idle(t, auth[0]);
	conn_counts(t, &open, &unauth);
	assert_int_equal(unauth, 1);
	conn_table_free(t);
	close_sockets();
}

static void without_eviction_newcomers_are_refused(void **state)
{
	struct conn_limits l = { .listener = "test", .max = 2,
				 .max_unauthenticated = 2, .evict = false };
	struct conn_table *t = conn_table_new(&l, NULL);
	enum conn_cut why = CONN_NOT_CUT;
	struct conn *a;

	(void)state;
	a = admit(t, "127.0.0.2", &why);
	assert_non_null(admit(t, "127.0.0.2", &why));
	assert_null(admit(t, "127.0.0.3", &why));
	assert_int_equal(why, CONN_REFUSED_FULL);
	assert_int_equal(conn_was_cut(t, a), CONN_NOT_CUT);
	conn_table_free(t);
	close_sockets();
}

/* Headers not complete in 1 s, a body under 1000 bytes/s: both cut. */
static void timeouts(void **state)
{
	struct conn_limits l = { .listener = "test", .max = 8,
				 .max_unauthenticated = 8, .evict = true,
				 .header_timeout = 1, .min_rate = 1000 };
	struct conn_table *t = conn_table_new(&l, NULL);
	struct conn *waiting, *slow, *fast, *answering;
	enum conn_cut why = CONN_NOT_CUT;
	size_t waiting_pair;
	int i;

	(void)state;
	waiting_pair = npairs;
	waiting = admit(t, "127.0.0.2", &why);
	slow = admit(t, "127.0.0.3", &why);
	fast = admit(t, "127.0.0.4", &why);
	answering = admit(t, "127.0.0.5", &why);
	conn_request(t, slow, true);
	conn_request(t, fast, true);
	conn_request(t, answering, true);
	conn_answering(t, answering);
	for (i = 0; i < 16; i++) {
		conn_body(t, slow, 50);		/* 500 bytes/s */
		conn_body(t, fast, 200);	/* 2000 bytes/s */
		sleep_ms(100);
	}
	assert_int_equal(conn_was_cut(t, waiting), CONN_CUT_HEADERS);
	assert_true(reads_eof(waiting, pairs[waiting_pair].ours));
	assert_int_equal(conn_was_cut(t, slow), CONN_CUT_RATE);
	assert_int_equal(conn_was_cut(t, fast), CONN_NOT_CUT);
	assert_int_equal(conn_was_cut(t, answering), CONN_NOT_CUT);
	conn_table_free(t);
	close_sockets();
}

static void deadline(void **state)
{
	struct conn_limits l = { .listener = "test", .max = 8,
				 .max_unauthenticated = 8, .deadline = 1 };
	struct conn_table *t = conn_table_new(&l, NULL);
	enum conn_cut why = CONN_NOT_CUT;
	struct conn *c;

	(void)state;
	c = admit(t, "127.0.0.2", &why);
	conn_request(t, c, true);
	sleep_ms(1300);
	assert_int_equal(conn_was_cut(t, c), CONN_CUT_DEADLINE);
	assert_string_equal(conn_cut_reason(CONN_CUT_DEADLINE),
			    "connection over its deadline");
	conn_table_free(t);
	close_sockets();
}

/* Many addresses come and go: the per-address hash stays consistent. */
static void many_addresses(void **state)
{
	struct conn_limits l = { .listener = "test", .max = MAXC,
				 .max_unauthenticated = MAXC, .evict = false,
				 .per_address = 1 };
	struct conn_table *t = conn_table_new(&l, NULL);
	struct conn *c[MAXC];
	enum conn_cut why = CONN_NOT_CUT;
	unsigned int open, unauth;
	char addr[32];
	int round, i;

	(void)state;
	for (round = 0; round < 20; round++) {
		for (i = 0; i < MAXC; i++) {
			snprintf(addr, sizeof(addr), "10.%d.%d.1", round, i);
			c[i] = admit(t, addr, &why);
			assert_non_null(c[i]);
			assert_null(admit(t, addr, &why));
			assert_int_equal(why, CONN_REFUSED_ADDRESS);
		}
		for (i = 0; i < MAXC; i += 2)
			conn_release(t, c[i]);
		for (i = 1; i < MAXC; i += 2)
			conn_release(t, c[i]);
		conn_counts(t, &open, &unauth);
		assert_int_equal(open, 0);
		close_sockets();
	}
	conn_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(per_address_limit),
		cmocka_unit_test(eviction),
		cmocka_unit_test(without_eviction_newcomers_are_refused),
		cmocka_unit_test(timeouts),
		cmocka_unit_test(deadline),
		cmocka_unit_test(many_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
