// SPDX-License-Identifier: GPL-2.0
/*
 * http.c - routes, authentication and streaming uploads on libmicrohttpd.
 *
 * libmicrohttpd runs one thread per connection, so a request may block on
 * fsync without holding up the others. An upload is handled as it
 * arrives: the first call of the access handler checks the route, the
 * uuid, the token and the announced length; every later call passes the
 * body bytes to the store, which validates them and writes them to a
 * temporary file; the last call commits. Errors found before or during the
 * body are answered once the body has been read (discarding up to
 * --max-upload more bytes, so the client is listening when the answer
 * comes), except a Content-Length over the limit, which is answered at
 * once (before "100 Continue").
 *
 * Routes:
 *   PUT /v1/vms/{uuid}/traces              the VM's token or admin
 *   GET /v1/vms, /v1/vms/{uuid}, /v1/vms/{uuid}/traces,
 *       /v1/vms/{uuid}/traces/{version}, /metrics    admin
 *   GET /v1/health                         anyone
 *   GET /v1/hosts, /v1/plan, /v1/migrations admin (control loop)
 *   POST /v1/plan, /v1/plan/apply[?plan=ID] admin (control loop)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
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

#include "http.h"
#include "log.h"

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
	int shutting_down;		/* atomic */
	int active_uploads;		/* atomic */
	time_t started;
};

struct request {
	bool upload;
	bool post;
	struct store_upload *up;
	unsigned int pending;		/* error status to answer, 0 = none */
	char message[MB_ERR_LEN];
	uint8_t uuid[MBT_UUID_LEN];
	char uuid_text[37];
	char name[MBT_NAME_LEN];
	struct vm_stats stats;
	uint64_t drained;
	bool counted;			/* in active_uploads */
	struct timespec start;
};

static enum MHD_Result respond(struct MHD_Connection *conn,
			       unsigned int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *r;
	enum MHD_Result ret;

	json_decref(body);
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate",
					"Bearer realm=\"mb-controld\"");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_error(struct http_server *h,
				     struct MHD_Connection *conn,
				     unsigned int status, const char *msg)
{
	metrics_count_error(h->metrics, status);
	if (status >= 500 || h->verbose)
		log_msg(status >= 500 ? LOG_ERR : LOG_INFO, "answer %u: %s",
			status, msg);
	return respond(conn, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result respond_text(struct MHD_Connection *conn,
				    unsigned int status, char *text,
				    const char *type)
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
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
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
	case STORE_IO:
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

/*
 * Split "/v1/vms/<a>[/traces[/<b>]]". Returns the number of parts after
 * "/v1/vms" (0..3) or -1 when the path is not under /v1/vms. @a and @b
 * point into @buf.
 */
static int split_vm_path(const char *url, char *buf, size_t size, char **a,
			 char **traces, char **b)
{
	char *p, *slash;
	int n = 0;

	*a = *traces = *b = NULL;
	if (strcmp(url, "/v1/vms") == 0 || strcmp(url, "/v1/vms/") == 0)
		return 0;
	if (strncmp(url, "/v1/vms/", 8) || strlen(url + 8) >= size)
		return -1;
	strcpy(buf, url + 8);
	p = buf;
	/*
	 * The uuid is everything up to "/traces": a '/' or ".." inside it
	 * makes it an invalid uuid (400), not an unknown route.
	 */
	slash = strstr(p, "/traces");
	while (slash && slash[7] && slash[7] != '/')
		slash = strstr(slash + 1, "/traces");
	*a = p;
	n = 1;
	if (!slash)
		return n;
	*slash = '\0';
	*traces = slash + 1;
	n = 2;
	if (slash[7] == '/') {
		slash[7] = '\0';
		*b = slash + 8;
		n = 3;
	}
	return n;
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
	if (name)
		snprintf(req->name, sizeof(req->name), "%s", name);
	return 0;
}

/* ---- uploads ---- */

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

static enum MHD_Result upload_first(struct http_server *h,
				    struct MHD_Connection *conn,
				    struct request *req, const char *vm)
{
	const char *cl, *authz;
	enum store_status st;
	struct mb_err err;
	char msg[MB_ERR_LEN];
	unsigned long long length = 0;
	unsigned int status;
	char *end;

	req->upload = true;
	if (parse_vm_uuid(vm, req->uuid, req->uuid_text, msg, sizeof(msg))) {
		pend(req, MHD_HTTP_BAD_REQUEST, msg);
		return MHD_YES;
	}
	authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					    MHD_HTTP_HEADER_AUTHORIZATION);
	status = auth_status(auth_check(h->auth, authz, req->uuid), msg,
			     sizeof(msg), "upload traces for this vm");
	if (status) {
		pend(req, status, msg);
		return MHD_YES;
	}
	if (parse_stats(conn, req)) {
		pend(req, MHD_HTTP_BAD_REQUEST, req->message);
		return MHD_YES;
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		errno = 0;
		length = strtoull(cl, &end, 10);
		if (errno || *end)
			length = UINT64_MAX;
	}
	req->up = store_upload_begin(h->store, req->uuid, length,
				     h->max_upload, &st, &err);
	if (!req->up) {
		status = status_of(st);
		if (st == STORE_TOO_LARGE) {
			req->pending = status;
			return respond_error(h, conn, status, err.msg);
		}
		pend(req, status, err.msg);
		return MHD_YES;
	}
	req->counted = true;
	__atomic_add_fetch(&h->active_uploads, 1, __ATOMIC_RELAXED);
	return MHD_YES;
}

static enum MHD_Result upload_data(struct http_server *h,
				   struct MHD_Connection *conn,
				   struct request *req, const char *data,
				   size_t size)
{
	enum store_status st;
	struct mb_err err;

	if (req->pending) {
		req->drained += size;
		if (req->drained > h->max_upload)
			return respond_error(h, conn, req->pending,
					     req->message);
		return MHD_YES;
	}
	st = store_upload_write(req->up, data, size, &err);
	if (st == STORE_OK)
		return MHD_YES;
	mb_err_prefix(&err, "trace for vm %s", req->uuid_text);
	/*
	 * Keep reading (and discarding) so the client hears the answer;
	 * upload_data() cuts a body that goes on past --max-upload more.
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

	if (req->pending)
		return respond_error(h, conn, req->pending, req->message);
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
		"vm %s (%s): stored version %" PRIu64 ", %" PRIu64 " bytes",
		rec.uuid, rec.name, rec.version, rec.size);
	body = json_pack("{s:s,s:I,s:I,s:I,s:s}", "uuid", rec.uuid,
			 "version", (json_int_t)rec.version,
			 "size", (json_int_t)rec.size,
			 "page_count", (json_int_t)rec.page_count,
			 "name", rec.name);
	return respond(conn, MHD_HTTP_CREATED, body);
}

/* ---- reads ---- */

static enum MHD_Result get_trace_bytes(struct http_server *h,
				       struct MHD_Connection *conn,
				       const char *uuid, const char *vtext)
{
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
	fd = store_open_trace(h->store, uuid, version, &size, &err);
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
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static bool control_route(const char *url)
{
	return !strcmp(url, "/v1/hosts") || !strcmp(url, "/v1/plan") ||
	       !strcmp(url, "/v1/migrations") ||
	       !strcmp(url, "/v1/plan/apply");
}

static enum MHD_Result no_control(struct http_server *h,
				  struct MHD_Connection *conn)
{
	return respond_error(h, conn, MHD_HTTP_NOT_FOUND,
			     "no hosts are configured (--host): the control "
			     "loop is off");
}

static enum MHD_Result json_or_error(struct http_server *h,
				     struct MHD_Connection *conn, json_t *j,
				     unsigned int status, const char *key,
				     struct mb_err *err)
{
	if (!j)
		return respond_error(h, conn, status, err->msg);
	if (key)
		j = json_pack("{s:o}", key, j);
	return respond(conn, MHD_HTTP_OK, j);
}

/* GET /v1/hosts, /v1/plan, /v1/migrations (admin already checked). */
static enum MHD_Result control_get(struct http_server *h,
				   struct MHD_Connection *conn,
				   const char *url)
{
	struct mb_err err;
	json_t *j;

	if (!h->control)
		return no_control(h, conn);
	if (!strcmp(url, "/v1/hosts"))
		return respond(conn, MHD_HTTP_OK, json_pack("{s:o}", "hosts",
				control_hosts_json(h->control)));
	if (!strcmp(url, "/v1/migrations"))
		return json_or_error(h, conn,
				     control_migrations_json(h->control, &err),
				     MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "migrations", &err);
	if (!strcmp(url, "/v1/plan")) {
		j = control_plan_latest(h->control, &err);
		if (j && json_is_null(j)) {
			json_decref(j);
			return respond_error(h, conn, MHD_HTTP_NOT_FOUND,
					     "no plan yet (POST /v1/plan "
					     "makes one)");
		}
		return json_or_error(h, conn, j,
				     MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
				     &err);
	}
	return respond_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "POST only");
}

/* POST /v1/plan (make one now), /v1/plan/apply[?plan=ID]. */
static enum MHD_Result handle_post(struct http_server *h,
				   struct MHD_Connection *conn,
				   const char *url)
{
	char msg[MB_ERR_LEN];
	struct mb_err err;
	unsigned int status;
	const char *arg;
	long long id = 0;
	char *end;
	int st;
	json_t *j;

	if (!control_route(url))
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND,
				     "no such resource");
	status = auth_status(auth_check(h->auth, MHD_lookup_connection_value(
				conn, MHD_HEADER_KIND,
				MHD_HTTP_HEADER_AUTHORIZATION), NULL),
			     msg, sizeof(msg), "plan (needs an admin token)");
	if (status)
		return respond_error(h, conn, status, msg);
	if (!h->control)
		return no_control(h, conn);
	if (!strcmp(url, "/v1/plan"))
		return json_or_error(h, conn,
				     control_plan_new(h->control, &err),
				     MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
				     &err);
	if (strcmp(url, "/v1/plan/apply"))
		return respond_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				     "GET only");
	arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "plan");
	if (arg) {
		id = strtoll(arg, &end, 10);
		if (*end || id <= 0)
			return respond_error(h, conn, MHD_HTTP_BAD_REQUEST,
					     "plan= wants a plan id");
	}
	j = control_plan_apply(h->control, id, &st, &err);
	return json_or_error(h, conn, j, st == 404 ? MHD_HTTP_NOT_FOUND :
			     MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, &err);
}

static enum MHD_Result handle_get(struct http_server *h,
				  struct MHD_Connection *conn,
				  const char *url)
{
	char buf[512], msg[MB_ERR_LEN], text[37];
	uint8_t bin[MBT_UUID_LEN];
	char *vm, *traces, *version;
	struct mb_err err;
	unsigned int status;
	json_t *j;
	int parts;

	if (!strcmp(url, "/v1/health"))
		return respond(conn, MHD_HTTP_OK, json_pack(
			"{s:s,s:I}", "status", "ok", "uptime_seconds",
			(json_int_t)(time(NULL) - h->started)));
	parts = split_vm_path(url, buf, sizeof(buf), &vm, &traces, &version);
	if (parts < 0 && strcmp(url, "/metrics") && !control_route(url))
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND,
				     "no such resource");
	status = auth_status(auth_check(h->auth, MHD_lookup_connection_value(
				conn, MHD_HEADER_KIND,
				MHD_HTTP_HEADER_AUTHORIZATION), NULL),
			     msg, sizeof(msg), "read (needs an admin token)");
	if (status)
		return respond_error(h, conn, status, msg);
	if (!strcmp(url, "/metrics")) {
		char *page = metrics_render(h->metrics, h->cat, h->store,
					    time(NULL));

		if (!page)
			return MHD_NO;
		return respond_text(conn, MHD_HTTP_OK, page,
				    "text/plain; version=0.0.4");
	}
	if (parts < 0)
		return control_get(h, conn, url);
	if (parts == 0) {
		j = catalogue_vms_json(h->cat, time(NULL), &err);
		if (!j)
			return respond_error(h, conn,
					     MHD_HTTP_INTERNAL_SERVER_ERROR,
					     err.msg);
		if (h->control)
			control_annotate_vms(h->control, j);
		return respond(conn, MHD_HTTP_OK,
			       json_pack("{s:o}", "vms", j));
	}
	if (parse_vm_uuid(vm, bin, text, msg, sizeof(msg)))
		return respond_error(h, conn, MHD_HTTP_BAD_REQUEST, msg);
	if (parts == 3)
		return get_trace_bytes(h, conn, text, version);
	j = catalogue_vm_json(h->cat, text, time(NULL), &err);
	if (!j)
		return respond_error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     err.msg);
	if (json_is_null(j)) {
		snprintf(msg, sizeof(msg), "vm %s has no traces", text);
		return respond_error(h, conn, MHD_HTTP_NOT_FOUND, msg);
	}
	if (parts == 1)
		return respond(conn, MHD_HTTP_OK, j);
	json_decref(j);
	j = catalogue_traces_json(h->cat, text, &err);
	if (!j)
		return respond_error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     err.msg);
	return respond(conn, MHD_HTTP_OK,
		       json_pack("{s:s,s:o}", "uuid", text, "traces", j));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct request *req = *con_cls;
	char buf[512];
	char *vm, *traces, *ver;
	int parts;

	(void)version;
	if (req) {
		if (req->post) {
			if (*data_size) {
				*data_size = 0;
				return MHD_YES;
			}
			return handle_post(h, conn, url);
		}
		if (!req->upload) {
			/* A body on a read is ignored. */
			if (*data_size) {
				*data_size = 0;
				return MHD_YES;
			}
			return handle_get(h, conn, url);
		}
		if (*data_size) {
			size_t size = *data_size;

			*data_size = 0;
			return upload_data(h, conn, req, data, size);
		}
		return upload_done(h, conn, req);
	}
	req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	*con_cls = req;
	metrics_count_request(h->metrics);
	if (h->verbose)
		log_info("%s %s", method, url);
	if (__atomic_load_n(&h->shutting_down, __ATOMIC_RELAXED))
		return respond_error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "shutting down");
	parts = split_vm_path(url, buf, sizeof(buf), &vm, &traces, &ver);
	if (!strcmp(method, MHD_HTTP_METHOD_PUT)) {
		if (parts == 2 && !strcmp(traces, "traces"))
			return upload_first(h, conn, req, vm);
		req->upload = true;
		pend(req, MHD_HTTP_NOT_FOUND,
		     "uploads go to PUT /v1/vms/{uuid}/traces");
		return MHD_YES;
	}
	/*
	 * Reads are answered on the next call: libmicrohttpd closes the
	 * connection after an answer queued before the request is complete.
	 */
	if (!strcmp(method, MHD_HTTP_METHOD_GET) ||
	    !strcmp(method, MHD_HTTP_METHOD_HEAD))
		return MHD_YES;
	if (!strcmp(method, MHD_HTTP_METHOD_POST) && control_route(url)) {
		req->post = true;
		return MHD_YES;
	}
	return respond_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "only GET, HEAD and PUT are served (and POST "
			     "to /v1/plan and /v1/plan/apply)");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct request *req = *con_cls;

	(void)conn;
	if (!req)
		return;
	if (req->up) {
		log_warn("upload for vm %s dropped after %" PRIu64
			 " bytes (%s)", req->uuid_text,
			 store_upload_size(req->up),
			 toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ?
			 "shutting down" : "connection closed");
		store_upload_abort(req->up);
	}
	if (req->counted)
		__atomic_sub_fetch(&h->active_uploads, 1, __ATOMIC_RELAXED);
	free(req);
	*con_cls = NULL;
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

struct http_server *http_start(const struct http_options *o,
			       struct store *store, struct catalogue *cat,
			       struct auth *auth, struct metrics *metrics,
			       struct mb_err *err)
{
	struct http_server *h = calloc(1, sizeof(*h));
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG;

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
	h->started = time(NULL);
	h->listen_fd = listen_socket(o->listen, o->port, &h->port, err);
	if (h->listen_fd < 0) {
		free(h);
		return NULL;
	}
	if (o->tls_cert_pem)
		flags |= MHD_USE_TLS;
	if (o->tls_cert_pem)
		h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
			MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
			MHD_OPTION_NOTIFY_COMPLETED, completed, h,
			MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, 60U,
			MHD_OPTION_HTTPS_MEM_CERT, o->tls_cert_pem,
			MHD_OPTION_HTTPS_MEM_KEY, o->tls_key_pem,
			MHD_OPTION_END);
	else
		h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
			MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
			MHD_OPTION_NOTIFY_COMPLETED, completed, h,
			MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, 60U,
			MHD_OPTION_END);
	if (!h->mhd) {
		mb_errf(err, "cannot start the HTTP%s server on %s port %u",
			o->tls_cert_pem ? "S" : "", o->listen, h->port);
		close(h->listen_fd);
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
	free(h);
}
