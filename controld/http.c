// SPDX-License-Identifier: GPL-2.0
/*
 * http.c - the HTTP API on libmicrohttpd: one route table, authentication,
 * bounded JSON bodies and streaming uploads.
 *
 * Every request is matched against the table below (routes.h): a path
 * that no route has answers 404, a path some route has with another
 * method 405 with an Allow header. Then, in this order: a {uuid} in the
 * path must be a uuid (400), the token must allow the route's role (401,
 * 403), a controller route needs --host (404), and the handler runs.
 *
 * libmicrohttpd runs one thread per connection, so a request may block on
 * fsync without holding up the others. A JSON body is collected up to
 * JSON_BODY_MAX bytes (413 beyond), a trace is handed to the store as it
 * arrives (validated and written to a temporary file; the last call
 * commits).
 *
 * When an answer comes: libmicrohttpd can queue one only before the body
 * or after all of it, and closes the connection after an answer sent
 * before the body. So an error known from the headers (framing, uuid,
 * token, limits) is answered at once, before "100 Continue", when the
 * client waits for that, sends no body, or sends a large or chunked one;
 * a short body (DRAIN_MAX) already on its way is read and dropped first,
 * so that the client is listening when the answer comes. An error found
 * in the body (an invalid trace, a chunked body over the limit) is
 * answered when the body ends, the rest of it read and dropped.
 *
 * Who may hold a connection, and how long, is the connection table's
 * business (conns.h): per-address limits, slots kept for authenticated
 * requests, the header timeout and the minimum body rate.
 *
 * Every answer, whatever its status, is counted for /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "action.h"
#include "conns.h"
#include "hostside.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "routes.h"
#include "sharing_view.h"
#include "textsafe.h"
#include "ui.h"

#define JSON_BODY_MAX (64 * 1024)
/* A body this short is read before an error known from the headers. */
#define DRAIN_MAX (1024 * 1024)
/* A second upload of one VM is told to come back after this many s. */
#define RETRY_AFTER "10"

struct http_server {
	struct MHD_Daemon *mhd;
	int listen_fd;
	unsigned int port;
	struct store *store;
	struct catalogue *cat;
	struct auth *auth;
	struct metrics *metrics;
	uint64_t max_upload;
	bool verbose;
	struct control *control;
	struct stats *stats;
	int shutting_down;		/* atomic */
	int active_uploads;		/* atomic */
	time_t started;
	struct conn_table *conns;
	struct sharing_view *sharing;
	struct keystore *keys;
};

struct request {
	struct conn *conn;		/* NULL: refused by the table */
	bool started;			/* the handler has seen it */
	bool nul_in_url;		/* %00 in the raw URL */
	const struct route *route;
	struct route_match match;
	unsigned int pending;		/* error status to answer, 0 = none */
	char message[MB_ERR_LEN];
	uint8_t uuid[MBT_UUID_LEN];	/* {uuid}, when the route has one */
	char uuid_text[37];
	/* BODY_JSON */
	char *body;
	size_t body_len;
	/* BODY_STREAM: the upload */
	struct store_upload *up;
	char name[MBT_NAME_LEN];
	struct vm_stats stats;
	struct trace_origin origin;	/* what this token may upload */
	uint64_t drained;
	bool counted;			/* in active_uploads */
};

/* ---- answers (every one counted) ---- */

static enum MHD_Result queue(struct http_server *h, struct MHD_Connection *conn,
			     unsigned int status, char *text, const char *type,
			     const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), text,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate",
					"Bearer realm=\"mb-controld\"");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, "Retry-After", RETRY_AFTER);
	metrics_count_status(h->metrics, status);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond(struct http_server *h,
			       struct MHD_Connection *conn,
			       unsigned int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (!text) {
		/* No JSON (out of memory): still an answer, never silence. */
		log_err("answer %u: cannot encode its JSON body", status);
		text = strdup("{\"error\":\"cannot encode the answer\"}");
		if (!text)
			return MHD_NO;
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return queue(h, conn, status, text, "application/json", NULL);
}

static enum MHD_Result respond_error_allow(struct http_server *h,
					   struct MHD_Connection *conn,
					   unsigned int status,
					   const char *msg, const char *allow)
{
	json_t *body = json_pack("{s:s}", "error", msg);
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (status >= 500 || h->verbose)
		log_msg(status >= 500 ? LOG_ERR : LOG_INFO, "answer %u: %s",
			status, msg);
	if (!text)
		return MHD_NO;
	return queue(h, conn, status, text, "application/json", allow);
}

static enum MHD_Result respond_error(struct http_server *h,
				     struct MHD_Connection *conn,
				     unsigned int status, const char *msg)
{
	return respond_error_allow(h, conn, status, msg, NULL);
}

/* A JSON answer, or the error @err with @status when @j is NULL. */
static enum MHD_Result json_or_error(struct http_server *h,
				     struct MHD_Connection *conn, json_t *j,
				     unsigned int status, const char *key,
				     const struct mb_err *err)
{
	if (!j)
		return respond_error(h, conn, status, err->msg);
	if (key)
		j = json_pack("{s:o}", key, j);
	return respond(h, conn, MHD_HTTP_OK, j);
}

static unsigned int status_of(enum store_status st)
{
	switch (st) {
	case STORE_OK:
		return MHD_HTTP_CREATED;
	case STORE_INVALID:
		return MHD_HTTP_BAD_REQUEST;
	case STORE_MISMATCH:
		return MHD_HTTP_CONFLICT;
	case STORE_TOO_LARGE:
		return MHD_HTTP_CONTENT_TOO_LARGE;
	case STORE_NOSPACE:
		return MHD_HTTP_INSUFFICIENT_STORAGE;
	case STORE_BUSY:
		return MHD_HTTP_TOO_MANY_REQUESTS;
	case STORE_FORBIDDEN:
		return MHD_HTTP_FORBIDDEN;
	case STORE_IO:
		break;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static unsigned int control_status_http(enum control_status st)
{
	switch (st) {
	case CONTROL_OK:
		return MHD_HTTP_OK;
	case CONTROL_INVALID:
		return MHD_HTTP_BAD_REQUEST;
	case CONTROL_NOT_FOUND:
		return MHD_HTTP_NOT_FOUND;
	case CONTROL_CONFLICT:
		return MHD_HTTP_CONFLICT;
	case CONTROL_FAILED:
		break;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static unsigned int auth_status(enum auth_result a, char *msg, size_t size,
				const char *what)
{
	switch (a) {
	case AUTH_OK:
		return 0;
	case AUTH_MISSING:
		snprintf(msg, size, "%s needs an 'Authorization: Bearer "
			 "TOKEN' header", what);
		return MHD_HTTP_UNAUTHORIZED;
	case AUTH_UNKNOWN:
		snprintf(msg, size, "unknown token");
		return MHD_HTTP_UNAUTHORIZED;
	case AUTH_FORBIDDEN:
		break;
	}
	snprintf(msg, size, "this token may not %s", what);
	return MHD_HTTP_FORBIDDEN;
}

/* Parse a canonical or any-case uuid; fills the canonical text. */
static int parse_vm_uuid(const char *s, uint8_t bin[MBT_UUID_LEN],
			 char text[37], char *msg, size_t size)
{
	if (strlen(s) != 36 || mb_uuid_parse(s, bin)) {
		snprintf(msg, size, "'%.80s' is not a vm uuid "
			 "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s);
		return -1;
	}
	mb_uuid_format(bin, text);
	return 0;
}

static int parse_stat(struct MHD_Connection *conn, const char *header,
		      int64_t *out, char *msg, size_t size)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    header);
	char *end;
	long long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < 0) {
		snprintf(msg, size, "header %s: '%.40s' is not a "
			 "non-negative number", header, v);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_stats(struct MHD_Connection *conn, struct request *req)
{
	const char *name;

	vm_stats_init(&req->stats);
	if (parse_stat(conn, "X-MB-MemTotal-KiB", &req->stats.mem_total_kb,
		       req->message, sizeof(req->message)) ||
	    parse_stat(conn, "X-MB-MemAvailable-KiB",
		       &req->stats.mem_available_kb, req->message,
		       sizeof(req->message)) ||
	    parse_stat(conn, "X-MB-SwapTotal-KiB", &req->stats.swap_total_kb,
		       req->message, sizeof(req->message)) ||
	    parse_stat(conn, "X-MB-SwapFree-KiB", &req->stats.swap_free_kb,
		       req->message, sizeof(req->message)) ||
	    parse_stat(conn, "X-MB-Pswpin", &req->stats.pswpin, req->message,
		       sizeof(req->message)) ||
	    parse_stat(conn, "X-MB-Pswpout", &req->stats.pswpout,
		       req->message, sizeof(req->message)))
		return -1;
	name = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   "X-MB-VM-Name");
	if (name && !mb_utf8_valid(name, strlen(name))) {
		snprintf(req->message, sizeof(req->message), "header "
			 "X-MB-VM-Name is not valid UTF-8");
		return -1;
	}
	if (name)
		snprintf(req->name, sizeof(req->name), "%s", name);
	return 0;
}


/* Record the first error of @req; it is answered once the body is read. */
static void pend(struct request *req, unsigned int status, const char *msg)
{
	if (req->pending)
		return;
	req->pending = status;
	if (msg != req->message)
		snprintf(req->message, sizeof(req->message), "%s", msg);
	store_upload_abort(req->up);
	req->up = NULL;
}

/* The request's Content-Length; 0 when it has none (no body, chunked). */
static uint64_t content_length(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long length;
	char *end;

	if (!cl)
		return 0;
	errno = 0;
	length = strtoull(cl, &end, 10);
	return errno || *end ? UINT64_MAX : length;
}

static bool has_body(struct MHD_Connection *conn)
{
	return content_length(conn) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/*
 * An error known from the headers: answered now when the client waits
 * for "100 Continue", sends no body or more than DRAIN_MAX bytes of one
 * (libmicrohttpd then closes the connection), else after the body.
 */
static enum MHD_Result refuse(struct http_server *h,
			      struct MHD_Connection *conn,
			      struct request *req, unsigned int status,
			      const char *msg)
{
	const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_EXPECT);
	uint64_t length = content_length(conn);

	if ((expect && !strcasecmp(expect, "100-continue")) ||
	    !has_body(conn) || !length || length > DRAIN_MAX) {
		pend(req, status, msg);
		return respond_error(h, conn, status, req->message);
	}
	pend(req, status, msg);
	return MHD_YES;
}

/* ---- PUT /v1/vms/{uuid}/traces ---- */

static enum MHD_Result upload_first(struct http_server *h,
				    struct MHD_Connection *conn,
				    struct request *req)
{
	uint64_t length = content_length(conn);
	enum store_status st;
	struct mb_err err;

	if (parse_stats(conn, req))
		return refuse(h, conn, req, MHD_HTTP_BAD_REQUEST,
			      req->message);
	req->up = store_upload_begin(h->store, req->uuid, length,
				     h->max_upload, &st, &err);
	if (!req->up) {
		mb_err_prefix(&err, "trace for vm %s", req->uuid_text);
		return refuse(h, conn, req, status_of(st), err.msg);
	}
	if (req->origin.mask)
		store_upload_require_flags(req->up, req->origin.mask,
					   req->origin.want, req->origin.why);
	store_upload_require_key(req->up, h->keys ? keys_vm_key_id(h->keys,
				 h->auth, req->uuid) : 0);
	req->counted = true;
	__atomic_add_fetch(&h->active_uploads, 1, __ATOMIC_RELAXED);
	return MHD_YES;
}

static enum MHD_Result upload_data(struct request *req, const char *data,
				   size_t size)
{
	enum store_status st;
	struct mb_err err;

	st = store_upload_write(req->up, data, size, &err);
	if (st == STORE_OK)
		return MHD_YES;
	mb_err_prefix(&err, "trace for vm %s", req->uuid_text);
	/*
	 * Keep reading (and discarding) so the client hears the answer;
	 * body_data() cuts a body that goes on past --max-upload more.
	 */
	pend(req, status_of(st), err.msg);
	return MHD_YES;
}

static enum MHD_Result upload_done(struct http_server *h,
				   struct MHD_Connection *conn,
				   struct request *req)
{
	struct trace_record rec;
	enum store_status st;
	struct mb_err err;
	json_t *body;

	/* An upload that started before SIGTERM may finish (http_shutdown). */
	st = store_upload_commit(req->up, req->name, "http", &req->stats,
				 &rec, &err);
	req->up = NULL;
	if (st != STORE_OK) {
		mb_err_prefix(&err, "trace for vm %s", req->uuid_text);
		req->pending = status_of(st);
		return respond_error(h, conn, req->pending, err.msg);
	}
	metrics_count_upload(h->metrics, rec.size, 0);
	log_msg(h->verbose ? LOG_INFO : LOG_DEBUG,
		"vm %s (%s): stored version %" PRIu64 ", %" PRIu64 " bytes%s%s",
		rec.uuid, rec.name, rec.version, rec.size,
		req->origin.host[0] ? " from host " : "", req->origin.host);
	body = json_pack("{s:s,s:I,s:I,s:I,s:s}", "uuid", rec.uuid,
			 "version", (json_int_t)rec.version,
			 "size", (json_int_t)rec.size,
			 "page_count", (json_int_t)rec.page_count,
			 "name", rec.name);
	return respond(h, conn, MHD_HTTP_CREATED, body);
}

/* ---- the handlers ---- */

enum handler {
	H_HEALTH,
	H_UPLOAD,
	H_VMS,
	H_VM,
	H_TRACES,
	H_TRACE_BYTES,
	H_VM_STATS_POST,
	H_VM_STATS,
	H_STATS,
	H_METRICS,
	H_HOSTS,
	H_HOST_STATS,
	H_PLAN,
	H_PLAN_NEW,
	H_PLAN_APPLY,
	H_MIGRATIONS,
	H_ACTIONS,
	H_ACTION_NEW,
	H_PRESSURE,
	H_BALANCE,
	H_HOTSPOTS,
	H_SHARING,
	H_KEY,
	H_UI,
};

/* The API, docs/api.md. */
static const struct route routes[] = {
	{ "GET", "/v1/health", ROLE_ANYONE, BODY_NONE, false, H_HEALTH, "" },
	{ "PUT", "/v1/vms/{uuid}/traces", ROLE_VM_OR_HOST, BODY_STREAM, false,
	  H_UPLOAD, "upload traces for this vm" },
	{ "GET", "/v1/vms", ROLE_ADMIN, BODY_NONE, false, H_VMS, "read" },
	{ "GET", "/v1/vms/{uuid}", ROLE_ADMIN, BODY_NONE, false, H_VM, "read" },
	{ "GET", "/v1/vms/{uuid}/traces", ROLE_ADMIN, BODY_NONE, false,
	  H_TRACES, "read" },
	{ "GET", "/v1/vms/{uuid}/traces/{version}", ROLE_ADMIN, BODY_NONE,
	  false, H_TRACE_BYTES, "read" },
	{ "POST", "/v1/vms/{uuid}/stats", ROLE_VM, BODY_JSON, false,
	  H_VM_STATS_POST, "report statistics for this vm" },
	{ "GET", "/v1/vms/{uuid}/stats", ROLE_ADMIN, BODY_NONE, false,
	  H_VM_STATS, "read" },
	{ "GET", "/v1/stats", ROLE_ADMIN, BODY_NONE, false, H_STATS, "read" },
	{ "GET", "/metrics", ROLE_ADMIN, BODY_NONE, false, H_METRICS, "read" },
	{ "GET", "/v1/hosts", ROLE_ADMIN, BODY_NONE, true, H_HOSTS, "read" },
	{ "GET", "/v1/hosts/{name}/stats", ROLE_ADMIN, BODY_NONE, true,
	  H_HOST_STATS, "read" },
	{ "GET", "/v1/plan", ROLE_ADMIN, BODY_NONE, true, H_PLAN, "read" },
	{ "POST", "/v1/plan", ROLE_ADMIN, BODY_NONE, true, H_PLAN_NEW,
	  "plan" },
	{ "POST", "/v1/plan/apply", ROLE_ADMIN, BODY_NONE, true, H_PLAN_APPLY,
	  "plan" },
	{ "GET", "/v1/migrations", ROLE_ADMIN, BODY_NONE, true, H_MIGRATIONS,
	  "read" },
	{ "GET", "/v1/actions", ROLE_ADMIN, BODY_NONE, true, H_ACTIONS,
	  "read" },
	{ "POST", "/v1/actions", ROLE_ADMIN, BODY_JSON, true, H_ACTION_NEW,
	  "act" },
	{ "POST", "/v1/vms/{uuid}/pressure", ROLE_VM, BODY_JSON, true,
	  H_PRESSURE, "report memory pressure for this vm" },
	{ "GET", "/v1/balance", ROLE_ADMIN, BODY_NONE, true, H_BALANCE,
	  "read" },
	{ "GET", "/v1/hotspots", ROLE_ADMIN, BODY_NONE, true, H_HOTSPOTS,
	  "read" },
	{ "GET", "/v1/sharing", ROLE_ADMIN, BODY_NONE, false, H_SHARING,
	  "read" },
	/* keys_answer() then allows the VM's own token only. */
	{ "GET", "/v1/vms/{uuid}/key", ROLE_VM, BODY_NONE, false, H_KEY,
	  "fetch this vm's key" },
	/* The dashboard's files hold no data: the page asks the API. */
	{ "GET", "/ui", ROLE_ANYONE, BODY_NONE, false, H_UI, "" },
	{ "GET", "/ui/{file}", ROLE_ANYONE, BODY_NONE, false, H_UI, "" },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const struct route *http_route_table(size_t *n)
{
	*n = NROUTES;
	return routes;
}

static const char *arg(struct MHD_Connection *conn, const char *key)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result get_trace_bytes(struct http_server *h,
				       struct MHD_Connection *conn,
				       struct request *req)
{
	const char *vtext = route_param(&req->match, "version");
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct mb_err err;
	uint64_t size, version;
	char *end;
	int fd;

	errno = 0;
	version = strtoull(vtext, &end, 10);
	if (errno || !*vtext || *end || *vtext < '1' || *vtext > '9') {
		snprintf(err.msg, sizeof(err.msg), "'%.40s' is not a version "
			 "number", vtext);
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, err.msg);
	}
	fd = store_open_trace(h->store, req->uuid_text, version, &size, &err);
	if (fd < 0)
		return respond_error(h, conn, errno == ENOENT ?
				     MHD_HTTP_NOT_FOUND :
				     MHD_HTTP_INTERNAL_SERVER_ERROR, err.msg);
	r = MHD_create_response_from_fd64(size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/x-mbt");
	metrics_count_status(h->metrics, MHD_HTTP_OK);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result get_vm(struct http_server *h,
			      struct MHD_Connection *conn, struct request *req,
			      bool traces)
{
	struct mb_err err;
	char msg[MB_ERR_LEN];
	json_t *j;

	j = catalogue_vm_json(h->cat, req->uuid_text, time(NULL), &err);
	if (!j)
		return respond_error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     err.msg);
	if (json_is_null(j)) {
		snprintf(msg, sizeof(msg), "vm %s has no traces",
			 req->uuid_text);
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND, msg);
	}
	if (!traces)
		return respond(h, conn, MHD_HTTP_OK, j);
	json_decref(j);
	j = catalogue_traces_json(h->cat, req->uuid_text, &err);
	if (!j)
		return respond_error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     err.msg);
	return respond(h, conn, MHD_HTTP_OK, json_pack("{s:s,s:o}", "uuid",
			req->uuid_text, "traces", j));
}

/* ?since=SECONDS (default 0: everything kept); -1 when malformed. */
static double parse_since(struct MHD_Connection *conn)
{
	const char *v = arg(conn, "since");
	char *end;
	double d;

	if (!v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= 0) || !isfinite(d))
		return -1;
	return d;
}

static enum MHD_Result get_stats(struct http_server *h,
				 struct MHD_Connection *conn,
				 struct request *req, bool host)
{
	double since = parse_since(conn);
	const char *name = route_param(&req->match, "name");
	char msg[MB_ERR_LEN];
	json_t *j;

	if (since < 0)
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, "since= "
				     "wants a time in seconds since the "
				     "epoch");
	if (host && !control_has_host(h->control, name)) {
		snprintf(msg, sizeof(msg), "no host is called '%.64s'", name);
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND, msg);
	}
	j = host ? stats_host_json(h->stats, name, since)
		 : stats_vm_json(h->stats, req->uuid_text, since);
	if (json_is_null(j)) {
		snprintf(msg, sizeof(msg), "%s %s has no statistics yet",
			 host ? "host" : "vm", host ? name : req->uuid_text);
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND, msg);
	}
	return respond(h, conn, MHD_HTTP_OK, j);
}

/*
 * POST /v1/vms/{uuid}/stats and /pressure: the same report; a pressure
 * report is kept as a sample too, then handed to the balancer.
 */
static enum MHD_Result post_vm_stats(struct http_server *h,
				     struct MHD_Connection *conn,
				     struct request *req, bool pressure)
{
	struct guest_report r;
	struct timespec ts;
	struct mb_err err;
	double fired;

	if (guest_report_parse(req->body ? req->body : "", req->body_len, &r,
			       &err)) {
		mb_err_prefix(&err, "statistics for vm %s", req->uuid_text);
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, err.msg);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	r.t = ts.tv_sec + ts.tv_nsec / 1e9;
	if (stats_add_guest(h->stats, req->uuid_text, &r, &err))
		return respond_error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     err.msg);
	if (!pressure)
		return respond(h, conn, MHD_HTTP_ACCEPTED, json_pack(
			"{s:s,s:f}", "uuid", req->uuid_text, "received", r.t));
	log_info("vm %s reports memory pressure%s%s", req->uuid_text,
		 r.trigger[0] ? ": " : "", r.trigger);
	/* When its trigger fired, by our clock (the report's age at sending). */
	fired = isfinite(r.trigger_age_ms) ? r.t - r.trigger_age_ms / 1000 :
		r.t;
	return respond(h, conn, MHD_HTTP_ACCEPTED, json_pack(
		"{s:s,s:f,s:b}", "uuid", req->uuid_text, "received", r.t,
		"balancing", control_pressure(h->control, req->uuid_text,
					      fired)));
}

static void metrics_extra(void *ctx, FILE *out)
{
	struct http_server *h = ctx;

	stats_metrics(h->stats, out);
	conn_table_metrics(h->conns, out);
	if (h->control)
		control_metrics(h->control, out);
}

static enum MHD_Result get_plan(struct http_server *h,
				struct MHD_Connection *conn)
{
	struct mb_err err;
	json_t *j = control_plan_latest(h->control, &err);

	if (j && json_is_null(j)) {
		json_decref(j);
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND, "no plan yet "
				     "(POST /v1/plan makes one)");
	}
	return json_or_error(h, conn, j, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
			     &err);
}

static enum MHD_Result apply_plan(struct http_server *h,
				  struct MHD_Connection *conn)
{
	const char *id_text = arg(conn, "plan");
	enum control_status st;
	struct mb_err err;
	long long id = 0;
	char *end;
	json_t *j;

	if (id_text) {
		errno = 0;
		id = strtoll(id_text, &end, 10);
		if (errno || end == id_text || *end || id <= 0)
			return respond_error(h, conn, MHD_HTTP_BAD_REQUEST,
					     "plan= wants a plan id");
	}
	j = control_plan_apply(h->control, id, &st, &err);
	return json_or_error(h, conn, j, control_status_http(st), NULL, &err);
}

static enum MHD_Result list_actions(struct http_server *h,
				    struct MHD_Connection *conn, bool legacy)
{
	const char *kind_text = arg(conn, "kind");
	struct mb_err err;
	int kind = -1;

	if (!legacy && kind_text && (kind = action_kind_parse(kind_text)) < 0)
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, "kind= is "
				     "migrate or resize");
	if (legacy)
		kind = ACTION_MIGRATE;
	return json_or_error(h, conn, control_actions_json(h->control, kind,
			     legacy, &err), MHD_HTTP_INTERNAL_SERVER_ERROR,
			     legacy ? "migrations" : "actions", &err);
}

static enum MHD_Result new_action(struct http_server *h,
				  struct MHD_Connection *conn,
				  struct request *req)
{
	enum control_status st;
	json_error_t je;
	struct mb_err err;
	json_t *body, *j;

	body = json_loadb(req->body ? req->body : "", req->body_len,
			  JSON_REJECT_DUPLICATES, &je);
	if (!body) {
		snprintf(err.msg, sizeof(err.msg), "the body is not JSON: %s",
			 je.text);
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, err.msg);
	}
	j = control_action_submit(h->control, body, &st, &err);
	json_decref(body);
	if (!j)
		return respond_error(h, conn, control_status_http(st),
				     err.msg);
	return respond(h, conn, MHD_HTTP_ACCEPTED, json_pack("{s:o}",
			"action", j));
}

/* GET /ui/ and its files (ui.h). */
static enum MHD_Result serve_ui(struct http_server *h,
				struct MHD_Connection *conn,
				struct request *req)
{
	const struct ui_asset *a = ui_find(route_param(&req->match, "file"));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!a)
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND, "the "
				     "dashboard has no such file");
	r = ui_response(a);
	if (!r)
		return MHD_NO;
	metrics_count_status(h->metrics, MHD_HTTP_OK);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* The tenant key of VM {uuid} (keys.h), never cached by anyone on the way. */
static enum MHD_Result get_key(struct http_server *h,
			       struct MHD_Connection *conn, struct request *req)
{
	char msg[MB_ERR_LEN], *text;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned int status;
	json_t *body;

	if (!h->keys)
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND,
				     "this controld serves no keys");
	status = keys_answer(h->keys, h->auth, MHD_lookup_connection_value(
				conn, MHD_HEADER_KIND,
				MHD_HTTP_HEADER_AUTHORIZATION),
			     req->uuid, &body, msg, sizeof(msg));
	if (status != MHD_HTTP_OK)
		return respond_error(h, conn, status, msg);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = text ? MHD_create_response_from_buffer(strlen(text), text,
						   MHD_RESPMEM_MUST_COPY) : NULL;
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	metrics_count_status(h->metrics, MHD_HTTP_OK);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result dispatch(struct http_server *h,
				struct MHD_Connection *conn,
				struct request *req)
{
	struct mb_err err;
	char *page;

	switch ((enum handler)req->route->handler) {
	case H_HEALTH:
		return respond(h, conn, MHD_HTTP_OK, json_pack(
			"{s:s,s:I}", "status", "ok", "uptime_seconds",
			(json_int_t)(time(NULL) - h->started)));
	case H_UPLOAD:
		return upload_done(h, conn, req);
	case H_VMS: {
		json_t *j = catalogue_vms_json(h->cat, time(NULL), &err);

		if (j && h->control)
			control_annotate_vms(h->control, j);
		return json_or_error(h, conn, j, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "vms", &err);
	}
	case H_VM:
		return get_vm(h, conn, req, false);
	case H_TRACES:
		return get_vm(h, conn, req, true);
	case H_TRACE_BYTES:
		return get_trace_bytes(h, conn, req);
	case H_VM_STATS_POST:
		return post_vm_stats(h, conn, req, false);
	case H_PRESSURE:
		return post_vm_stats(h, conn, req, true);
	case H_BALANCE:
		return respond(h, conn, MHD_HTTP_OK,
			       control_balance_json(h->control));
	case H_HOTSPOTS:
		return respond(h, conn, MHD_HTTP_OK,
			       control_hotspots_json(h->control));
	case H_VM_STATS:
		return get_stats(h, conn, req, false);
	case H_HOST_STATS:
		return get_stats(h, conn, req, true);
	case H_STATS:
		return respond(h, conn, MHD_HTTP_OK,
			       stats_overview_json(h->stats));
	case H_METRICS:
		page = metrics_render(h->metrics, h->cat, h->store, time(NULL),
				      metrics_extra, h);
		if (!page)
			return MHD_NO;
		return queue(h, conn, MHD_HTTP_OK, page,
			     "text/plain; version=0.0.4", NULL);
	case H_HOSTS:
		return respond(h, conn, MHD_HTTP_OK, json_pack("{s:o}", "hosts",
				control_hosts_json(h->control)));
	case H_PLAN:
		return get_plan(h, conn);
	case H_PLAN_NEW:
		return json_or_error(h, conn,
				     control_plan_new(h->control, &err),
				     MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
				     &err);
	case H_PLAN_APPLY:
		return apply_plan(h, conn);
	case H_MIGRATIONS:
		return list_actions(h, conn, true);
	case H_ACTIONS:
		return list_actions(h, conn, false);
	case H_ACTION_NEW:
		return new_action(h, conn, req);
	case H_SHARING:
		return json_or_error(h, conn, sharing_view_json(h->sharing,
				     h->control, &err),
				     MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, &err);
	case H_KEY:
		return get_key(h, conn, req);
	case H_UI:
		return serve_ui(h, conn, req);
	}
	return respond_error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "route without a handler");
}

/* ---- the request's life ---- */

struct length_headers {
	unsigned int n;
	const char *first;
	bool differ;
};

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct length_headers *l = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
		return MHD_YES;
	if (!l->n++)
		l->first = value;
	else if (strcmp(l->first, value ? value : ""))
		l->differ = true;
	return MHD_YES;
}

/*
 * A request whose body cannot be delimited without guessing: two
 * different Content-Length headers, or one beside Transfer-Encoding (a
 * proxy in front may have read the body the other way). NULL when fine.
 */
static const char *framing_error(struct MHD_Connection *conn)
{
	struct length_headers l = { 0 };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_length, &l);
	if (l.differ)
		return "two different Content-Length headers";
	if (l.n && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
				MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return "both Content-Length and Transfer-Encoding";
	return NULL;
}

/*
 * The first call: framing, route, uuid, token, controller; then the
 * upload's start.
 */
static enum MHD_Result first_call(struct http_server *h,
				  struct MHD_Connection *conn,
				  struct request *req, const char *url,
				  const char *method)
{
	char allow[64], msg[MB_ERR_LEN];
	const struct route *r;
	const char *vm, *bad;
	unsigned int status;

	if (!req->conn)
		return MHD_NO;		/* refused by the connection table */
	conn_request(h->conns, req->conn, false);
	if (__atomic_load_n(&h->shutting_down, __ATOMIC_RELAXED))
		return respond_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "shutting down");
	if ((bad = framing_error(conn)))
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, bad);
	if (req->nul_in_url)
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, "the URL "
				     "holds a NUL byte (%00)");
	switch (route_match(routes, NROUTES, method, url, &r, &req->match,
			    allow, sizeof(allow))) {
	case ROUTE_FOUND:
		break;
	case ROUTE_NO_METHOD:
		snprintf(msg, sizeof(msg), "%s is not served here (%s are)",
			 method, allow);
		return respond_error_allow(h, conn,
					   MHD_HTTP_METHOD_NOT_ALLOWED, msg,
					   allow);
	case ROUTE_NO_PATH:
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND,
				     "no such resource");
	}
	req->route = r;
	vm = route_param(&req->match, "uuid");
	if (vm && parse_vm_uuid(vm, req->uuid, req->uuid_text, msg,
				sizeof(msg)))
		return refuse(h, conn, req, MHD_HTTP_BAD_REQUEST, msg);
	if (r->role == ROLE_VM_OR_HOST) {
		char why[MB_ERR_LEN];

		status = auth_status(hostside_authorize(h->auth, h->control ?
				control_inventory(h->control) : NULL,
				MHD_lookup_connection_value(conn,
					MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION),
				req->uuid, req->uuid_text, &req->origin, why,
				sizeof(why)), msg, sizeof(msg), r->what);
		if (status == MHD_HTTP_FORBIDDEN && why[0])
			snprintf(msg, sizeof(msg), "%s", why);
		if (status)
			return refuse(h, conn, req, status, msg);
		conn_request(h->conns, req->conn, true);
	} else if (r->role != ROLE_ANYONE) {
		status = auth_status(auth_check(h->auth,
				MHD_lookup_connection_value(conn,
					MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION),
				r->role == ROLE_VM ? req->uuid : NULL),
				msg, sizeof(msg), r->what);
		if (status == MHD_HTTP_FORBIDDEN && r->role == ROLE_ADMIN)
			snprintf(msg, sizeof(msg), "this token may not %s "
				 "(needs an admin token)", r->what);
		if (status)
			return refuse(h, conn, req, status, msg);
		conn_request(h->conns, req->conn, true);
	}
	if (r->control && !h->control)
		return refuse(h, conn, req, MHD_HTTP_NOT_FOUND, "no hosts are "
			      "configured (--host): the control loop is off");
	if (r->body == BODY_STREAM)
		return upload_first(h, conn, req);
	return MHD_YES;
}

/* A piece of the body. */
static enum MHD_Result body_data(struct http_server *h,
				 struct MHD_Connection *conn,
				 struct request *req, const char *data,
				 size_t size)
{
	char *grown;

	(void)conn;
	conn_body(h->conns, req->conn, size);
	if (req->pending) {
		/*
		 * Read to its end, however long (the minimum rate still
		 * applies): libmicrohttpd can answer only then.
		 */
		req->drained += size;
		return MHD_YES;
	}
	if (!req->route || req->route->body == BODY_NONE)
		return MHD_YES;		/* a body here is ignored */
	if (req->route->body == BODY_STREAM)
		return upload_data(req, data, size);
	if (req->body_len + size > JSON_BODY_MAX) {
		snprintf(req->message, sizeof(req->message), "the body is "
			 "over the limit of %d bytes", JSON_BODY_MAX);
		pend(req, MHD_HTTP_CONTENT_TOO_LARGE, req->message);
		return MHD_YES;
	}
	grown = realloc(req->body, req->body_len + size + 1);
	if (!grown) {
		pend(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		return MHD_YES;
	}
	req->body = grown;
	memcpy(req->body + req->body_len, data, size);
	req->body_len += size;
	req->body[req->body_len] = '\0';
	return MHD_YES;
}

/* The connection's entry in the table (conns.h), or NULL. */
static struct conn *table_entry(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* %00 anywhere in the raw URL (path or query): unescaped, it cuts it. */
static bool has_escaped_nul(const char *uri)
{
	const char *p;

	for (p = strchr(uri, '%'); p; p = strchr(p + 1, '%'))
		if (p[1] == '0' && p[2] == '0')
			return true;
	return false;
}

/* Before anything else, with the raw URL: the request's state begins. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *req = calloc(1, sizeof(*req));

	(void)cls;
	if (!req)
		return NULL;
	req->conn = table_entry(conn);
	req->nul_in_url = has_escaped_nul(uri);
	return req;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct request *req = *con_cls;

	(void)version;
	if (!req)
		return MHD_NO;		/* out of memory in uri_seen() */
	if (!req->started) {
		req->started = true;
		metrics_count_request(h->metrics);
		if (h->verbose)
			log_info("%s %s", method, url);
		return first_call(h, conn, req, url, method);
	}
	if (*data_size) {
		size_t size = *data_size;

		*data_size = 0;
		return body_data(h, conn, req, data, size);
	}
	conn_answering(h->conns, req->conn);
	if (req->pending)
		return respond_error(h, conn, req->pending, req->message);
	return dispatch(h, conn, req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct request *req = *con_cls;
	enum conn_cut cut;

	(void)conn;
	if (!req)
		return;
	if (req->up) {
		cut = conn_was_cut(h->conns, req->conn);
		log_warn("upload for vm %s dropped after %" PRIu64
			 " bytes (%s)", req->uuid_text,
			 store_upload_size(req->up),
			 toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ?
			 "shutting down" : cut ? conn_cut_reason(cut) :
			 "connection closed");
		store_upload_abort(req->up);
	}
	if (req->counted)
		__atomic_sub_fetch(&h->active_uploads, 1, __ATOMIC_RELAXED);
	conn_idle(h->conns, req->conn);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* A connection opens (into the table, or refused) or closes. */
static void connection_event(void *cls, struct MHD_Connection *conn,
			     void **socket_context,
			     enum MHD_ConnectionNotificationCode code)
{
	struct http_server *h = cls;
	const union MHD_ConnectionInfo *fd, *addr;
	enum conn_cut why;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		conn_release(h->conns, *socket_context);
		*socket_context = NULL;
		return;
	}
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*socket_context = fd && addr ? conn_admit(h->conns, addr->client_addr,
						  fd->connect_fd, &why) : NULL;
	if (!*socket_context && fd)
		shutdown(fd->connect_fd, SHUT_RDWR);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t len;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	/*
	 * Clients that go away and connections the table cut are routine
	 * (a flood makes thousands; the table logs a summary of its own).
	 */
	if (!strncmp(line, "Connection was closed by remote side", 36) ||
	    !strncmp(line, "Application reported internal error", 35) ||
	    strstr(line, "Connection reset by peer"))
		log_debug("http: %s", line);
	else
		log_warn("http: %s", line);
}

static int listen_socket(const char *addr, unsigned int port,
			 unsigned int *bound, struct mb_err *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return mb_errf(err, "listen address '%s' is not a numeric "
			       "IPv4 or IPv6 address", addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mb_errf(err, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 256)) {
		mb_errf(err, "listen on %s port %u: %s", addr, port,
			strerror(errno));
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*bound = ntohs(ss.ss_family == AF_INET ? in4->sin_port :
		       in6->sin6_port);
	return fd;
}

/*
 * Connections a limit of --max-connections N allows: at most 3/4 N of them
 * without an authenticated request, so a flood that is not authenticated
 * always leaves a quarter to the guests and operators that are.
 */
static unsigned int unauthenticated_share(unsigned int max)
{
	unsigned int n = max - max / 4;

	return n ? n : 1;
}

struct http_server *http_start(const struct http_options *o,
			       struct store *store, struct catalogue *cat,
			       struct auth *auth, struct metrics *metrics,
			       struct mb_err *err)
{
	struct http_server *h = calloc(1, sizeof(*h));
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG;
	struct conn_limits cl = {
		.listener = "http",
		.max = o->max_connections,
		.max_unauthenticated = unauthenticated_share(o->max_connections),
		.evict = true,
		.per_address = o->max_connections_per_ip,
		.header_timeout = o->header_timeout,
		.min_rate = o->min_upload_rate,
	};
	struct MHD_OptionItem opts[16];
	size_t n = 0;

	if (!h) {
		mb_errf(err, "out of memory");
		return NULL;
	}
	h->store = store;
	h->cat = cat;
	h->auth = auth;
	h->metrics = metrics;
	h->max_upload = o->max_upload;
	h->verbose = o->verbose;
	h->control = o->control;
	h->stats = o->stats;
	h->keys = o->keys;
	h->started = time(NULL);
	h->conns = conn_table_new(&cl, err);
	h->sharing = sharing_view_new(store, cat, auth);
	if (!h->conns || !h->sharing) {
		if (!h->sharing)
			mb_errf(err, "out of memory");
		conn_table_free(h->conns);
		sharing_view_free(h->sharing);
		free(h);
		return NULL;
	}
	h->listen_fd = listen_socket(o->listen, o->port, &h->port, err);
	if (h->listen_fd < 0) {
		conn_table_free(h->conns);
		sharing_view_free(h->sharing);
		free(h);
		return NULL;
	}
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){ o, (intptr_t)(v), p })
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h);
	OPT(MHD_OPTION_LISTEN_SOCKET, h->listen_fd, NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, uri_seen, h);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, completed, h);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, connection_event, h);
	/*
	 * The table enforces --max-connections; connections it has cut
	 * are still winding down in libmicrohttpd, which needs room.
	 */
	OPT(MHD_OPTION_CONNECTION_LIMIT, o->max_connections +
	    o->max_connections / 4 + 16, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, 60U, NULL);
	if (o->tls_cert_pem) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem);
		if (o->tls_priority)
			OPT(MHD_OPTION_HTTPS_PRIORITIES, 0,
			    (void *)o->tls_priority);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
				  MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!h->mhd) {
		mb_errf(err, "cannot start the HTTP%s server on %s port %u%s",
			o->tls_cert_pem ? "S" : "", o->listen, h->port,
			o->tls_cert_pem ? " (is the TLS priority string "
			"valid? the log above says more)" : "");
		close(h->listen_fd);
		conn_table_free(h->conns);
		sharing_view_free(h->sharing);
		free(h);
		return NULL;
	}
	return h;
}

unsigned int http_port(const struct http_server *h)
{
	return h->port;
}

void http_shutdown(struct http_server *h, unsigned int timeout)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned int waited = 0;
	int fd, active;

	__atomic_store_n(&h->shutting_down, 1, __ATOMIC_RELAXED);
	fd = MHD_quiesce_daemon(h->mhd);
	if (fd >= 0)
		close(fd);
	while ((active = __atomic_load_n(&h->active_uploads,
					 __ATOMIC_RELAXED)) > 0 &&
	       waited < timeout * 20) {
		nanosleep(&tick, NULL);
		waited++;
	}
	if (active > 0)
		log_warn("shutting down with %d upload%s in flight; "
			 "dropping them", active, active == 1 ? "" : "s");
	MHD_stop_daemon(h->mhd);
	conn_table_free(h->conns);
	sharing_view_free(h->sharing);
	free(h);
}
