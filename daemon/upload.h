/* SPDX-License-Identifier: GPL-2.0 */
/*
 * upload.h - the agents' requests to mb-controld (mb-guestd in a guest,
 * mb-hostd on a hypervisor host): the PUT of a trace to
 * /v1/vms/{uuid}/traces, the POST of a JSON report, and retries with
 * exponential backoff.
 *
 * Linked by the agents only (libcurl); mb-controld does not link it.
 * Thread-safe: every request makes its own easy handle, nothing here is
 * static but constants.
 */
#ifndef MB_DAEMON_UPLOAD_H
#define MB_DAEMON_UPLOAD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mb_error.h"

/*
 * The classes of an outcome. The values are the agents' exit statuses of
 * a single run (--once): docs/mb-guestd.8 and docs/mb-hostd.8.
 */
enum upload_status {
	UPLOAD_OK = 0,		/* stored (trace) or accepted (report) */
	UPLOAD_REJECTED = 4,	/* a 4xx other than 408 and 429: not retried */
	UPLOAD_UNREACHABLE = 5,	/* network error, 5xx, 408 or 429: retried */
};

struct upload_result {
	long http_status;		/* 0: no answer */
	uint64_t version;		/* on 201 */
	char message[MB_ERR_LEN];	/* error text, from controld or curl */
};

struct upload_target {
	const char *server;		/* http(s)://host:port */
	const char *token;		/* NULL: no Authorization header */
	const char *ca_file;
	const char *uuid;		/* the VM, canonical text */
	const char *name;		/* sent as X-MB-VM-Name with a trace */
	const char *user_agent;		/* "mb-guestd/1.0"; NULL: "mb-agent" */
	unsigned int timeout;		/* seconds for the whole request */
	bool verbose;
	const atomic_bool *cancel;	/* when it turns true, the request in
					   flight ends at once; may be NULL */
};

/* curl_global_init(): once, before any thread starts. */
int upload_global_init(struct mb_err *err);

/*
 * PUT the @size bytes of the .mbt trace in @fd (read with pread() from
 * offset 0, so a retry rewinds for free) to {server}/v1/vms/{uuid}/traces
 * once, with X-MB-VM-Name and the NULL-terminated @headers ("Name: value"
 * lines; may be NULL). Returns UPLOAD_OK on 201 (res->version set),
 * UPLOAD_REJECTED or UPLOAD_UNREACHABLE, with @res filled.
 */
int upload_trace(const struct upload_target *t, int fd, uint64_t size,
		 const char *const *headers, struct upload_result *res);

/*
 * upload_trace() until it is stored, refused, or @retries retries after
 * the first attempt have failed, waiting upload_backoff_ms() between
 * attempts (at most @max_delay_s) and logging each failure. *@stop (may be
 * NULL), set by a signal handler, ends the waits and the retries early.
 */
int upload_trace_retrying(const struct upload_target *t, int fd,
			  uint64_t size, const char *const *headers,
			  unsigned int retries, unsigned int max_delay_s,
			  const volatile sig_atomic_t *stop,
			  struct upload_result *res);

/*
 * POST the JSON text @json to {server}/v1/vms/{uuid}/@route ("stats",
 * "pressure") once. Returns UPLOAD_OK for any 2xx, else the classes of
 * upload_trace() (a 404 is UPLOAD_REJECTED with res->http_status 404).
 */
int upload_json(const struct upload_target *t, const char *route,
		const char *json, struct upload_result *res);

/*
 * GET {server}/v1/vms/{uuid}/@route once and copy a 2xx answer's body,
 * NUL-terminated, into @body (@size bytes; nothing is parsed or logged, so
 * the body may be a secret, and the request's own buffer is wiped).
 * Returns UPLOAD_OK when a body came, UPLOAD_REJECTED for a 4xx or a 2xx
 * with no body or one of @size bytes or more (res->message says which),
 * UPLOAD_UNREACHABLE as for upload_json().
 */
int upload_get(const struct upload_target *t, const char *route, char *body,
	       size_t size, struct upload_result *res);

/*
 * Delay before retry @attempt (1-based): min(@max_s, 1 s * 2^(attempt-1)),
 * half of it fixed and half random ("equal jitter"), so agents that lost
 * controld at the same moment do not come back in lock step.
 */
uint64_t upload_backoff_ms(unsigned int attempt, unsigned int max_s);

#endif /* MB_DAEMON_UPLOAD_H */
