// SPDX-License-Identifier: GPL-2.0
/*
 * upload.c - mb-guestd's requests to controld with libcurl: the PUT of a
 * trace and the POST of a statistics report. Both go through request(),
 * the one place that sets the URL, the bearer token, the CA, the time
 * limits and the error texts, and reads the answer.
 *
 * A trace body is read straight from the scan's memfd with pread(), so a
 * retry rewinds for free and nothing is copied into a second buffer; its
 * statistics go in X-MB-* request headers (docs/api.md). A report is a
 * small JSON body from memory. The answer's JSON gives the stored version
 * or the error message.
 *
 * Thread-safe: the trace cycle and the report thread each make their own
 * easy handle per request, and nothing here is static but constants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "guestd.h"
#include "log.h"

struct body {
	const struct scan *scan;
	uint64_t offset;
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

	if (b->offset >= b->scan->size)
		return 0;
	if (want > b->scan->size - b->offset)
		want = b->scan->size - b->offset;
	got = pread(b->scan->fd, dst, want, b->offset);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	b->offset += got;
	return got;
}

static int seek_body(void *ctx, curl_off_t offset, int origin)
{
	struct body *b = ctx;

	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > b->scan->size)
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

static struct curl_slist *add_header(struct curl_slist *h, const char *name,
				     int64_t v)
{
	char line[128];

	if (v < 0)
		return h;
	snprintf(line, sizeof(line), "%s: %lld", name, (long long)v);
	return curl_slist_append(h, line);
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

/* What to send: a body from a scan's memfd (PUT) or from memory (POST). */
struct request {
	const char *route;		/* after /v1/vms/{uuid}/ */
	const char *content_type;
	const struct scan *scan;	/* PUT this, or */
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
	struct body body = { .scan = rq->scan };
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
	snprintf(line, sizeof(line), "Content-Type: %s", rq->content_type);
	h = curl_slist_append(h, line);

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (rq->scan) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(c, CURLOPT_READDATA, &body);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &body);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)rq->scan->size);
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
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mb-guestd/1.0");
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
		free(answer);
		return -1;
	}
	parse_answer(answer, res);
	free(answer);
	if (!res->message[0])
		snprintf(res->message, sizeof(res->message), "HTTP %ld",
			 res->http_status);
	return 0;
}

/* The guestd_exit class of an answer that is not the expected success. */
static int failure_class(const struct upload_result *res)
{
	if (res->http_status >= 500 || res->http_status == 408 ||
	    res->http_status == 429)
		return GUESTD_UNREACHABLE;
	return GUESTD_REJECTED;
}

int upload_once(const struct upload_target *t, const struct scan *s,
		const struct guest_stats *stats, struct upload_result *res)
{
	struct request rq = {
		.route = "traces",
		.content_type = "application/x-mbt",
		.scan = s,
	};
	char line[512];
	struct curl_slist *h = NULL;

	snprintf(line, sizeof(line), "X-MB-VM-Name: %s", t->name);
	h = curl_slist_append(h, line);
	h = add_header(h, "X-MB-MemTotal-KiB", stats->mem_total_kb);
	h = add_header(h, "X-MB-MemAvailable-KiB", stats->mem_available_kb);
	h = add_header(h, "X-MB-SwapTotal-KiB", stats->swap_total_kb);
	h = add_header(h, "X-MB-SwapFree-KiB", stats->swap_free_kb);
	h = add_header(h, "X-MB-Pswpin", stats->pswpin);
	h = add_header(h, "X-MB-Pswpout", stats->pswpout);
	rq.headers = h;
	if (request(t, &rq, res))
		return GUESTD_UNREACHABLE;
	return res->http_status == 201 ? GUESTD_OK : failure_class(res);
}

int upload_report(const struct upload_target *t, const char *json,
		  struct upload_result *res)
{
	return upload_json(t, "stats", json, res);
}

int upload_json(const struct upload_target *t, const char *route,
		const char *json, struct upload_result *res)
{
	struct request rq = {
		.route = route,
		.content_type = "application/json",
		.data = json,
		.len = strlen(json),
	};

	if (request(t, &rq, res))
		return GUESTD_UNREACHABLE;
	if (res->http_status >= 200 && res->http_status < 300)
		return GUESTD_OK;
	return failure_class(res);
}
