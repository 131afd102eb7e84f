// SPDX-License-Identifier: GPL-2.0
/*
 * test_guestd_report.c - mb-guestd's statistics reports, sent by its real
 * sender (report.c, upload.c, libcurl) to a real HTTP server on 127.0.0.1.
 *
 * The server is a small libmicrohttpd one written here: it records each
 * request (method, path, Authorization, Content-Type, body) and answers
 * with the status and body a test sets. It is not a model of mb-controld,
 * whose POST /v1/vms/{uuid}/stats route does not exist yet; it only lets
 * the tests see what the sender puts on the wire and how the sender reacts
 * to 202, 404 (a controld without the route: one warning, then a try
 * every 10th interval), 401 and 500, to a server that does not answer in
 * time, and to a stop while a report is in flight.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "guestd.h"
#include "log.h"

#define UUID "6d62756c-0000-4000-8000-0000000000ab"
#define TOKEN "tok-0123456789"

/* ---- the server ---- */

struct server {
	struct MHD_Daemon *daemon;
	char url[64];
	pthread_mutex_t lock;
	/* what to answer */
	unsigned int status;
	const char *answer;
	unsigned int delay_ms;
	bool release;			/* ends a delay at once */
	/* what came */
	unsigned int requests;
	char method[16], path[256], auth[256], type[64];
	char body[8192];
};

struct upload {
	char buf[8192];
	size_t len;
};

static void copy_header(struct MHD_Connection *c, const char *name,
			char *dst, size_t size)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(dst, size, "%s", v ? v : "");
}

/* Wait @ms before answering, or until the server stops. */
static void delay(struct server *s, unsigned int ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned int waited;
	bool release = false;

	for (waited = 0; waited < ms && !release; waited += 10) {
		nanosleep(&tick, NULL);
		pthread_mutex_lock(&s->lock);
		release = s->release;
		pthread_mutex_unlock(&s->lock);
	}
}

static enum MHD_Result handle(void *ctx, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *data,
			      size_t *data_size, void **req)
{
	struct server *s = ctx;
	struct upload *u = *req;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned int status, ms;

	(void)version;
	if (!u) {
		*req = calloc(1, sizeof(*u));
		return *req ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		size_t n = *data_size < sizeof(u->buf) - 1 - u->len ?
			   *data_size : sizeof(u->buf) - 1 - u->len;

		memcpy(u->buf + u->len, data, n);
		u->len += n;
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	s->requests++;
	snprintf(s->method, sizeof(s->method), "%s", method);
	snprintf(s->path, sizeof(s->path), "%s", url);
	copy_header(c, MHD_HTTP_HEADER_AUTHORIZATION, s->auth, sizeof(s->auth));
	copy_header(c, MHD_HTTP_HEADER_CONTENT_TYPE, s->type, sizeof(s->type));
	u->buf[u->len] = '\0';
	snprintf(s->body, sizeof(s->body), "%s", u->buf);
	status = s->status;
	ms = s->delay_ms;
	r = MHD_create_response_from_buffer(strlen(s->answer),
					    (void *)s->answer,
					    MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&s->lock);
	delay(s, ms);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void done(void *ctx, struct MHD_Connection *c, void **req,
		 enum MHD_RequestTerminationCode code)
{
	(void)ctx, (void)c, (void)code;
	free(*req);
	*req = NULL;
}

static void server_start(struct server *s)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->status = 202;
	s->answer = "{\"accepted\": true}";
	s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_INTERNAL_POLLING_THREAD, 0,
				     NULL, NULL, handle, s,
				     MHD_OPTION_SOCK_ADDR, &addr,
				     MHD_OPTION_NOTIFY_COMPLETED, done, s,
				     MHD_OPTION_END);
	assert_non_null(s->daemon);
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u",
		 (unsigned int)info->port);
}

static void server_answer(struct server *s, unsigned int status,
			  const char *answer, unsigned int delay_ms)
{
	pthread_mutex_lock(&s->lock);
	s->status = status;
	s->answer = answer;
	s->delay_ms = delay_ms;
	pthread_mutex_unlock(&s->lock);
}

static unsigned int server_requests(struct server *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->requests;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void server_stop(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->release = true;
	pthread_mutex_unlock(&s->lock);
	MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
}

/* ---- the guest side ---- */

/* A made-up /proc with a fixed meminfo and boot_id: a known body. */
struct fake_proc {
	char dir[64], meminfo[96], random[96], boot_id[128];
};

static void make_proc(struct fake_proc *p)
{
	char path[96];
	FILE *f;

	snprintf(p->dir, sizeof(p->dir), "/tmp/mb-report-test.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->meminfo, sizeof(p->meminfo), "%s/meminfo", p->dir);
	f = fopen(p->meminfo, "w");
	assert_non_null(f);
	fputs("MemTotal: 4194304 kB\nMemAvailable: 1048576 kB\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/sys", p->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sys/kernel", p->dir);
	mkdir(path, 0700);
	snprintf(p->random, sizeof(p->random), "%s/sys/kernel/random", p->dir);
	mkdir(p->random, 0700);
	snprintf(p->boot_id, sizeof(p->boot_id), "%s/boot_id", p->random);
	f = fopen(p->boot_id, "w");
	assert_non_null(f);
	fputs("0bd1e2f3-aaaa-4bbb-8ccc-123456789abc\n", f);
	fclose(f);
}

static void remove_proc(struct fake_proc *p)
{
	char path[96];

	unlink(p->meminfo);
	unlink(p->boot_id);
	rmdir(p->random);
	snprintf(path, sizeof(path), "%s/sys/kernel", p->dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys", p->dir);
	rmdir(path);
	rmdir(p->dir);
}

struct fixture {
	struct server server;
	struct fake_proc proc;
	struct reporter reporter;
};

static void init_reporter(struct fixture *f, const char *server,
			  unsigned int interval)
{
	struct upload_target t = {
		.server = server, .token = TOKEN, .uuid = UUID,
		.name = "vm-a", .timeout = 300,
	};
	struct mb_err err;

	assert_int_equal(reporter_init(&f->reporter, &t, f->proc.dir, interval,
				       &err), 0);
}

/* Set the fixture's reporter up again, for another server or interval. */
static void reinit_reporter(struct fixture *f, const char *server,
			    unsigned int interval)
{
	reporter_release(&f->reporter);
	init_reporter(f, server, interval);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	server_start(&f->server);
	make_proc(&f->proc);
	init_reporter(f, f->server.url, 5);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	reporter_stop(&f->reporter);
	reporter_release(&f->reporter);
	server_stop(&f->server);
	remove_proc(&f->proc);
	free(f);
	return 0;
}

/* The log lines written between begin and end (stderr goes to a file). */
struct capture {
	int saved;
	char path[64];
};

static void capture_begin(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/mb-report-log.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Ends the capture; returns the text (malloc'ed). */
static char *capture_end(struct capture *c)
{
	char *text = calloc(1, 65536);
	int fd;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	fd = open(c->path, O_RDONLY);
	assert_true(read(fd, text, 65535) >= 0);
	close(fd);
	unlink(c->path);
	return text;
}

static unsigned int count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (; (text = strstr(text, what)); text += strlen(what))
		n++;
	return n;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) +
	       (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ---- the tests ---- */

static void test_accepted_report_on_the_wire(void **state)
{
	struct fixture *f = *state;
	struct guest_stats s;
	struct mb_err err;
	char *want;
	json_t *j;

	assert_int_equal(reporter_tick(&f->reporter), REPORT_ACCEPTED);
	assert_int_equal(server_requests(&f->server), 1);
	assert_string_equal(f->server.method, "POST");
	assert_string_equal(f->server.path, "/v1/vms/" UUID "/stats");
	assert_string_equal(f->server.auth, "Bearer " TOKEN);
	assert_string_equal(f->server.type, "application/json");
	/* The body is the report of the made-up /proc, byte for byte. */
	assert_int_equal(collect_stats(f->proc.dir, &s, &err), 0);
	want = report_body(&s, "vm-a");
	assert_string_equal(f->server.body, want);
	free(want);
	j = json_loads(f->server.body, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "vm-a");
	assert_string_equal(json_string_value(json_object_get(j, "boot_id")),
			    "0bd1e2f3-aaaa-4bbb-8ccc-123456789abc");
	assert_int_equal(json_integer_value(json_object_get(j, "mem_total_kb")),
			 4194304);
	assert_int_equal(json_integer_value(json_object_get(j,
			 "mem_available_kb")), 1048576);
	json_decref(j);
	assert_int_equal(f->reporter.sent, 1);
	assert_int_equal(f->reporter.accepted, 1);
	/* Accepted again: no skipping. */
	assert_int_equal(reporter_tick(&f->reporter), REPORT_ACCEPTED);
	assert_int_equal(server_requests(&f->server), 2);
}

static void test_no_route_warns_once_and_slows_down(void **state)
{
	struct fixture *f = *state;
	enum report_outcome got[40];
	struct capture cap;
	char *log;
	unsigned int i;

	server_answer(&f->server, 404, "{\"error\": \"no such route\"}", 0);
	capture_begin(&cap);
	for (i = 0; i < 31; i++) {
		if (i == 25)	/* the route appears */
			server_answer(&f->server, 202, "{}", 0);
		got[i] = reporter_tick(&f->reporter);
	}
	log = capture_end(&cap);
	/* Tries at ticks 0, 10 and 20 (404), then 30 (accepted). */
	for (i = 0; i < 31; i++) {
		enum report_outcome want = i % REPORT_NO_ROUTE_EVERY ?
			REPORT_SKIPPED : i == 30 ? REPORT_ACCEPTED :
			REPORT_NO_ROUTE;

		if (got[i] != want)
			fail_msg("tick %u: expected outcome %d, got %d", i,
				 want, got[i]);
	}
	assert_int_equal(server_requests(&f->server), 4);
	if (count(log, "has no stats route") != 1)
		fail_msg("expected one warning about the route, got: %s", log);
	assert_non_null(strstr(log, "no such route"));
	assert_non_null(strstr(log, "trying again every 50 s"));
	if (count(log, "accepted again") != 1)
		fail_msg("expected the recovery to be logged once: %s", log);
	assert_int_equal(count(log, "\n"), 2);
	free(log);
}

static void test_failures_warn_then_debug(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char *log;
	unsigned int i;

	server_answer(&f->server, 401, "{\"error\": \"unknown token\"}", 0);
	/* At the default level: the first failure only. */
	capture_begin(&cap);
	for (i = 0; i < 3; i++)
		assert_int_equal(reporter_tick(&f->reporter), REPORT_FAILED);
	log = capture_end(&cap);
	assert_int_equal(server_requests(&f->server), 3);
	if (count(log, "\n") != 1 || !strstr(log, "unknown token") ||
	    !strstr(log, "further failures are logged at debug level"))
		fail_msg("expected one warning naming the reason, got: %s",
			 log);
	free(log);
	/* At debug level the later ones are there, without the warning. */
	log_set_level(LOG_DEBUG);
	capture_begin(&cap);
	server_answer(&f->server, 500, "{\"error\": \"database locked\"}", 0);
	assert_int_equal(reporter_tick(&f->reporter), REPORT_FAILED);
	log = capture_end(&cap);
	log_set_level(LOG_INFO);
	assert_int_equal(count(log, "stats report failed: "), 1);
	assert_non_null(strstr(log, "HTTP 500: database locked"));
	assert_null(strstr(log, "further failures"));
	free(log);
}

static void test_report_once_status(void **state)
{
	static const struct {
		unsigned int status;
		int want;
	} cases[] = {
		{ 202, GUESTD_OK }, { 200, GUESTD_OK }, { 404, GUESTD_REJECTED },
		{ 401, GUESTD_REJECTED }, { 500, GUESTD_UNREACHABLE },
		{ 429, GUESTD_UNREACHABLE },
	};
	struct fixture *f = *state;
	char printed[8192];
	struct capture cap;
	size_t i, n;
	char *log;
	FILE *out;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		server_answer(&f->server, cases[i].status,
			      "{\"error\": \"said by the server\"}", 0);
		out = tmpfile();
		capture_begin(&cap);
		if (report_once(&f->reporter, out) != cases[i].want)
			fail_msg("HTTP %u: expected status %d",
				 cases[i].status, cases[i].want);
		log = capture_end(&cap);
		/* What it printed is what it sent. */
		rewind(out);
		n = fread(printed, 1, sizeof(printed) - 1, out);
		printed[n] = '\0';
		fclose(out);
		assert_true(n > 0 && printed[n - 1] == '\n');
		printed[n - 1] = '\0';
		assert_string_equal(printed, f->server.body);
		if (cases[i].want != GUESTD_OK)
			assert_non_null(strstr(log, "said by the server"));
		free(log);
	}
	assert_int_equal(server_requests(&f->server), 6);
}

static void test_unreachable_and_slow_servers(void **state)
{
	struct fixture *f = *state;
	struct upload_result res;
	struct timespec start;
	struct capture cap;
	double took;
	char *log;

	/* Nobody listens on port 1. */
	reinit_reporter(f, "http://127.0.0.1:1", 5);
	capture_begin(&cap);
	assert_int_equal(reporter_tick(&f->reporter), REPORT_FAILED);
	log = capture_end(&cap);
	assert_non_null(strstr(log, "127.0.0.1:1/v1/vms/" UUID "/stats"));
	free(log);

	/* A server slower than the interval: the report ends at it. */
	reinit_reporter(f, f->server.url, 1);
	server_answer(&f->server, 202, "{}", 4000);
	clock_gettime(CLOCK_MONOTONIC, &start);
	capture_begin(&cap);
	assert_int_equal(reporter_tick(&f->reporter), REPORT_FAILED);
	log = capture_end(&cap);
	took = seconds_since(&start);
	if (took > 2.0)
		fail_msg("a report with a 1 s interval took %.2f s", took);
	assert_non_null(strstr(log, "timed out"));
	free(log);
	/* A server that answers in time again: accepted. */
	server_answer(&f->server, 202, "{}", 0);
	assert_int_equal(upload_report(&f->reporter.target, "{}", &res),
			 GUESTD_OK);
	assert_int_equal(res.http_status, 202);
}

static void test_thread_reports_and_stops(void **state)
{
	struct fixture *f = *state;
	struct timespec start;
	struct mb_err err;
	unsigned int i;
	double took;

	/* Every second, until stopped. */
	reinit_reporter(f, f->server.url, 1);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(reporter_start(&f->reporter, &err), 0);
	for (i = 0; i < 60 && server_requests(&f->server) < 3; i++)
		usleep(100 * 1000);
	took = seconds_since(&start);
	assert_int_equal(server_requests(&f->server), 3);
	/* Three reports one second apart: at 0, 1 and 2 s. */
	if (took < 1.9 || took > 3.5)
		fail_msg("three reports at a 1 s interval took %.2f s", took);
	clock_gettime(CLOCK_MONOTONIC, &start);
	reporter_stop(&f->reporter);
	took = seconds_since(&start);
	if (took > 0.5)
		fail_msg("stopping between reports took %.2f s", took);

	/* A stop while a report waits for its answer cuts it short. */
	reinit_reporter(f, f->server.url, 30);
	server_answer(&f->server, 202, "{}", 20000);
	assert_int_equal(reporter_start(&f->reporter, &err), 0);
	for (i = 0; i < 50 && server_requests(&f->server) < 4; i++)
		usleep(100 * 1000);
	assert_int_equal(server_requests(&f->server), 4);
	clock_gettime(CLOCK_MONOTONIC, &start);
	reporter_stop(&f->reporter);
	took = seconds_since(&start);
	if (took > 2.0)
		fail_msg("stopping during a report took %.2f s", took);
	assert_int_equal(f->reporter.accepted, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepted_report_on_the_wire,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_route_warns_once_and_slows_down, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_failures_warn_then_debug,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_once_status, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_unreachable_and_slow_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_reports_and_stops,
						setup, teardown),
	};
	struct mb_err err;

	log_init("mb-guestd");
	if (upload_global_init(&err))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
