// SPDX-License-Identifier: GPL-2.0
/*
 * upload.c - the agents' requests to controld with libcurl (upload.h).
 * Every request goes through request(), the one place that sets the URL,
 * the bearer token, the CA, the time limits and the error texts, and
 * reads the answer.
 *
 * A trace body is read straight from the caller's file (a memfd) with
 * pread(), so a retry rewinds for free and nothing is copied into a
 * second buffer. A report is a small JSON body from memory. The answer's
 * JSON gives the stored version or the error message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "stop.h"
#include "upload.h"

struct body {
	int fd;
	uint64_t size, offset;
};

struct answer {
	char buf[8192];
	size_t len;
};

static size_t read_body(char *dst, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t want = size * n;
	ssize_t got;

	if (b->offset >= b->size)
		return 0;
	if (want > b->size - b->offset)
		want = b->size - b->offset;
	got = pread(b->fd, dst, want, b->offset);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	b->offset += got;
	return got;
}

static int seek_body(void *ctx, curl_off_t offset, int origin)
{
	struct body *b = ctx;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > b->size)
		return CURL_SEEKFUNC_CANTSEEK;
	b->offset = offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_answer(char *src, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n, room = sizeof(a->buf) - 1 - a->len;

	memcpy(a->buf + a->len, src, len < room ? len : room);
	a->len += len < room ? len : room;
	return len;
}

/* Progress callback: a non-zero return ends the transfer. */
static int check_cancel(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_bool *cancel = ctx;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(cancel);
}

int upload_global_init(struct mb_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return mb_errf(err, "libcurl initialisation failed");
	return 0;
}

static void parse_answer(struct answer *a, struct upload_result *res)
{
	bool success = res->http_status >= 200 && res->http_status < 300;
	json_t *j, *v;

	a->buf[a->len] = '\0';
	j = json_loads(a->buf, 0, NULL);
	if (!j) {
		if (!success)
			snprintf(res->message, sizeof(res->message),
				 "HTTP %ld: %.200s", res->http_status,
				 a->len ? a->buf : "(no body)");
		return;
	}
	v = json_object_get(j, "version");
	if (json_is_integer(v))
		res->version = json_integer_value(v);
	v = json_object_get(j, "error");
	if (json_is_string(v))
		snprintf(res->message, sizeof(res->message), "HTTP %ld: %s",
			 res->http_status, json_string_value(v));
	json_decref(j);
}

/* What to send: a body from a file (PUT), from memory (POST), or none (GET). */
struct request {
	const char *route;		/* after /v1/vms/{uuid}/ */
	bool get;			/* a GET: no body */
	char *keep;			/* GET: a 2xx answer's body goes here */
	size_t keep_size;
	const char *content_type;
	int fd;				/* PUT @size bytes of this, or */
	uint64_t size;
	const char *data;		/* POST these @len bytes */
	size_t len;
	struct curl_slist *headers;	/* more headers; freed here */
};

/*
 * Send @rq to controld once: fills @res (the status, the stored version,
 * the error message from controld's JSON or curl). Returns 0 when an
 * answer came, -1 when none did (message set).
 */
static int request(const struct upload_target *t, struct request *rq,
		   struct upload_result *res)
{
	struct body body = { .fd = rq->fd, .size = rq->size };
	char url[1024], errbuf[CURL_ERROR_SIZE] = "", line[512];
	struct curl_slist *h = rq->headers;
	struct answer *answer;
	CURLcode rc;
	size_t slen;
	CURL *c;

	memset(res, 0, sizeof(*res));
	answer = malloc(sizeof(*answer));
	c = answer ? curl_easy_init() : NULL;
	if (!c) {
		snprintf(res->message, sizeof(res->message),
			 "libcurl: cannot create a handle");
		free(answer);
		curl_slist_free_all(h);
		return -1;
	}
	answer->len = 0;
	slen = strlen(t->server);
	while (slen && t->server[slen - 1] == '/')
		slen--;
	snprintf(url, sizeof(url), "%.*s/v1/vms/%s/%s", (int)slen, t->server,
		 t->uuid, rq->route);
	if (t->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
			 t->token);
		h = curl_slist_append(h, line);
	}
	if (rq->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 rq->content_type);
		h = curl_slist_append(h, line);
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (rq->get) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (rq->fd >= 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(c, CURLOPT_READDATA, &body);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &body);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)rq->size);
	} else {
		/* Small enough for one round trip: no "Expect: 100-continue". */
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)rq->len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)t->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 t->timeout < 10 ? (long)t->timeout : 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
			 t->user_agent ? t->user_agent : "mb-agent");
	if (t->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	if (t->cancel) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_cancel);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, t->cancel);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
				  &res->http_status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(res->message, sizeof(res->message), "%s: %s", url,
			 rc == CURLE_ABORTED_BY_CALLBACK ? "stopped" :
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		explicit_bzero(answer, sizeof(*answer));
		free(answer);
		return -1;
	}
	if (rq->keep && res->http_status >= 200 && res->http_status < 300) {
		/* A kept answer may be a secret (a key): copied, not parsed. */
		answer->buf[answer->len] = '\0';
		if (answer->len >= rq->keep_size || answer->len >=
		    sizeof(answer->buf) - 1)
			snprintf(res->message, sizeof(res->message),
				 "%s: an answer of more than %zu bytes", url,
				 rq->keep_size - 1);
		else
			memcpy(rq->keep, answer->buf, answer->len + 1);
	} else {
		parse_answer(answer, res);
	}
	explicit_bzero(answer, sizeof(*answer));
	free(answer);
	if (!res->message[0])
		snprintf(res->message, sizeof(res->message), "HTTP %ld",
			 res->http_status);
	return 0;
}

/* The class of an answer that is not the expected success. */
static int failure_class(const struct upload_result *res)
{
	if (res->http_status >= 500 || res->http_status == 408 ||
	    res->http_status == 429)
		return UPLOAD_UNREACHABLE;
	return UPLOAD_REJECTED;
}

int upload_trace(const struct upload_target *t, int fd, uint64_t size,
		 const char *const *headers, struct upload_result *res)
{
	struct request rq = {
		.route = "traces",
		.content_type = "application/x-mbt",
		.fd = fd,
		.size = size,
	};
	char line[512];
	struct curl_slist *h = NULL;

	snprintf(line, sizeof(line), "X-MB-VM-Name: %s", t->name);
	h = curl_slist_append(h, line);
	for (; headers && *headers; headers++)
		h = curl_slist_append(h, *headers);
	rq.headers = h;
	if (request(t, &rq, res))
		return UPLOAD_UNREACHABLE;
	return res->http_status == 201 ? UPLOAD_OK : failure_class(res);
}

static uint64_t random_below(uint64_t n)
{
	uint64_t r;

	if (!n)
		return 0;
	if (getentropy(&r, sizeof(r)))
		r = (uint64_t)rand();
	return r % n;
}

uint64_t upload_backoff_ms(unsigned int attempt, unsigned int max_s)
{
	uint64_t d = 1000ULL << (attempt > 20 ? 20 : attempt ? attempt - 1 : 0);

	if (d > max_s * 1000ULL)
		d = max_s * 1000ULL;
	return d / 2 + random_below(d / 2 + 1);
}

int upload_trace_retrying(const struct upload_target *t, int fd,
			  uint64_t size, const char *const *headers,
			  unsigned int retries, unsigned int max_delay_s,
			  const volatile sig_atomic_t *stop,
			  struct upload_result *res)
{
	unsigned int attempt;
	uint64_t ms;
	int ret;

	for (attempt = 0;; attempt++) {
		ret = upload_trace(t, fd, size, headers, res);
		if (ret != UPLOAD_UNREACHABLE)
			return ret;
		if (attempt >= retries || (stop && *stop)) {
			log_err("upload failed %u time%s, giving up: %s",
				attempt + 1, attempt ? "s" : "", res->message);
			return ret;
		}
		ms = upload_backoff_ms(attempt + 1, max_delay_s);
		log_warn("upload failed (%s); retry %u of %u in %llu ms",
			 res->message, attempt + 1, retries,
			 (unsigned long long)ms);
		daemon_sleep_ms(ms, stop);
	}
}

int upload_json(const struct upload_target *t, const char *route,
		const char *json, struct upload_result *res)
{
	struct request rq = {
		.route = route,
		.content_type = "application/json",
		.fd = -1,
		.data = json,
		.len = strlen(json),
	};

	if (request(t, &rq, res))
		return UPLOAD_UNREACHABLE;
	if (res->http_status >= 200 && res->http_status < 300)
		return UPLOAD_OK;
	return failure_class(res);
}

int upload_get(const struct upload_target *t, const char *route, char *body,
	       size_t size, struct upload_result *res)
{
	struct request rq = {
		.route = route,
		.get = true,
		.keep = body,
		.keep_size = size,
		.fd = -1,
	};

	if (size)
		body[0] = '\0';
	if (request(t, &rq, res))
		return UPLOAD_UNREACHABLE;
	if (res->http_status >= 200 && res->http_status < 300)
		return body[0] ? UPLOAD_OK : UPLOAD_REJECTED;
	return failure_class(res);
}
