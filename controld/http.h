/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http.h - the HTTP(S) API of mb-controld (docs/api.md), on libmicrohttpd.
 */
#ifndef MB_CONTROLD_HTTP_H
#define MB_CONTROLD_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "catalogue.h"
#include "control.h"
#include "keys.h"
#include "mb_error.h"
#include "metrics.h"
#include "routes.h"
#include "stats.h"
#include "store.h"

struct http_options {
	const char *listen;		/* numeric IPv4 or IPv6 address */
	unsigned int port;		/* 0 = any free port */
	const char *tls_cert_pem;	/* both NULL: plain HTTP */
	const char *tls_key_pem;
	const char *tls_priority;	/* GnuTLS priority string */
	uint64_t max_upload;
	unsigned int max_connections;
	unsigned int max_connections_per_ip;	/* 0: no limit */
	unsigned int header_timeout;	/* seconds (conns.h) */
	uint64_t min_upload_rate;	/* bytes/s */
	bool verbose;
	struct control *control;	/* NULL: no hosts configured */
	struct stats *stats;		/* live statistics */
	struct keystore *keys;		/* tenant keys (keys.h); NULL: none
					   served, keyed uploads refused */
};

struct http_server;

struct http_server *http_start(const struct http_options *o,
			       struct store *store, struct catalogue *cat,
			       struct auth *auth, struct metrics *metrics,
			       struct mb_err *err);

/* The API's route table (for its unit test): @n routes. */
const struct route *http_route_table(size_t *n);

/* The port actually bound. */
unsigned int http_port(const struct http_server *h);

/*
 * Graceful stop: stop accepting connections, answer new requests on open
 * connections with 503, give uploads in flight up to @timeout seconds to
 * finish, then close everything (unfinished uploads are dropped, their
 * temporary files removed). Frees @h.
 */
void http_shutdown(struct http_server *h, unsigned int timeout);

#endif /* MB_CONTROLD_HTTP_H */
