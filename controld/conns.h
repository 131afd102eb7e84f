/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conns.h - who holds the listeners' connections, and for how long
 * (conns.c). One table per listener (HTTP, legacy) keeps every open
 * connection with its peer address and what it is doing, and enforces:
 *
 *   - at most @max connections, and @per_address from any one address;
 *   - a connection without an authenticated request in progress (a new
 *     one, one sending its headers, an idle keep-alive) holds one of at
 *     most @max_unauthenticated slots; the rest are kept for requests
 *     whose token was accepted. When these slots are full, a new
 *     connection takes the slot of the oldest one from the address that
 *     holds the most of them (@evict), so a flood from a few addresses
 *     closes its own connections first, or is refused (!@evict);
 *   - a request's headers (the first bytes, on the legacy listener) must
 *     be complete @header_timeout seconds after the connection opened or
 *     its previous request ended;
 *   - a body must arrive at @min_rate bytes/s at least, counted over each
 *     period of @header_timeout seconds;
 *   - no connection lasts more than @deadline seconds (0: no limit).
 *
 * A connection that breaks a rule is cut: its socket is shut down for
 * reading, so the thread serving it sees the end of the stream and cleans
 * up the usual way (conn_was_cut() tells it the stream did not end by
 * itself). A watchdog thread checks the clocks several times a second.
 *
 * All functions are thread-safe, and take a NULL connection (one that was
 * refused) as a no-op. The socket must stay open until conn_release():
 * the table shuts it down, it never closes it.
 */
#ifndef MB_CONTROLD_CONNS_H
#define MB_CONTROLD_CONNS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "mb_error.h"

struct conn_limits {
	const char *listener;		/* "http", "legacy": for logs, metrics */
	unsigned int max;
	unsigned int max_unauthenticated;	/* <= max */
	bool evict;
	unsigned int per_address;	/* 0: no limit */
	unsigned int header_timeout;	/* seconds, 0: none */
	uint64_t min_rate;		/* bytes/s, 0: none */
	unsigned int deadline;		/* seconds, 0: none */
};

/* Why a connection was closed by the table; counted for /metrics. */
enum conn_cut {
	CONN_NOT_CUT = 0,
	CONN_CUT_HEADERS,		/* headers not complete in time */
	CONN_CUT_RATE,			/* body under the minimum rate */
	CONN_CUT_DEADLINE,		/* connection over its deadline */
	CONN_CUT_EVICTED,		/* slot taken by a newer connection */
	CONN_REFUSED_ADDRESS,		/* its address at --max-connections-per-ip */
	CONN_REFUSED_FULL,		/* no slot left */
	CONN_NREASONS,
};

struct conn_table;
struct conn;

struct conn_table *conn_table_new(const struct conn_limits *l,
				  struct mb_err *err);
/* Stops the watchdog; every connection must have been released. */
void conn_table_free(struct conn_table *t);

/*
 * A connection on socket @fd from @sa. Returns its entry, or NULL when it
 * is refused (*@why says why; the caller closes it). Admitting may cut
 * an older connection (CONN_CUT_EVICTED).
 */
struct conn *conn_admit(struct conn_table *t, const struct sockaddr *sa,
			int fd, enum conn_cut *why);
void conn_release(struct conn_table *t, struct conn *c);

/* The peer address as text ("127.0.0.1", "::1"). */
const char *conn_peer(const struct conn *c);

/*
 * A request's headers are complete: its body follows (the minimum rate
 * applies). @authenticated: its token was accepted, so it leaves the
 * unauthenticated slots until conn_idle(). The legacy listener has no
 * tokens: there a connection counts as authenticated once its upload has
 * begun (its first bytes came), since a client of the old protocol sends
 * at once and only an idle connection is suspect.
 */
void conn_request(struct conn_table *t, struct conn *c, bool authenticated);
/* @bytes more of the body arrived (on the legacy listener: of the upload). */
void conn_body(struct conn_table *t, struct conn *c, uint64_t bytes);
/* The body is read: the answer is being sent, no rate applies. */
void conn_answering(struct conn_table *t, struct conn *c);
/* The request is over: the connection waits for the next one. */
void conn_idle(struct conn_table *t, struct conn *c);

/* Why the table cut @c, or CONN_NOT_CUT. */
enum conn_cut conn_was_cut(struct conn_table *t, const struct conn *c);
const char *conn_cut_reason(enum conn_cut why);

/* Open connections, and of them unauthenticated ones. */
void conn_counts(struct conn_table *t, unsigned int *open,
		 unsigned int *unauthenticated);

/* Prometheus lines: open connections and the closes by reason. */
void conn_table_metrics(struct conn_table *t, FILE *out);

#endif /* MB_CONTROLD_CONNS_H */
