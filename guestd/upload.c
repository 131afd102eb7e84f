// SPDX-License-Identifier: GPL-2.0
/*
 * upload.c - one PUT of a trace to controld with libcurl.
 *
 * The body is read straight from the scan's memfd with pread(), so a
 * retry rewinds for free and nothing is copied into a second buffer.
 * Statistics go in X-MB-* request headers (docs/api.md). The answer's
 * JSON gives the stored version or the error message.
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
	json_t *j, *v;

	a->buf[a->len] = '\0';
	j = json_loads(a->buf, 0, NULL);
	if (!j) {
		if (res->http_status != 201)
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

int upload_once(const struct upload_target *t, const struct scan *s,
		const struct guest_stats *stats, struct upload_result *res)
{
	struct body body = { .scan = s };
	static struct answer answer;
	char url[1024], errbuf[CURL_ERROR_SIZE] = "", line[512];
	struct curl_slist *h = NULL;
	CURLcode rc;
	size_t slen;
	CURL *c;

	memset(res, 0, sizeof(*res));
	answer.len = 0;
	c = curl_easy_init();
	if (!c) {
		snprintf(res->message, sizeof(res->message),
			 "libcurl: cannot create a handle");
		return GUESTD_UNREACHABLE;
	}
	slen = strlen(t->server);
	while (slen && t->server[slen - 1] == '/')
		slen--;
	snprintf(url, sizeof(url), "%.*s/v1/vms/%s/traces", (int)slen,
		 t->server, t->uuid);
	if (t->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
			 t->token);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Content-Type: application/x-mbt");
	snprintf(line, sizeof(line), "X-MB-VM-Name: %s", t->name);
	h = curl_slist_append(h, line);
	h = add_header(h, "X-MB-MemTotal-KiB", stats->mem_total_kb);
	h = add_header(h, "X-MB-MemAvailable-KiB", stats->mem_available_kb);
	h = add_header(h, "X-MB-SwapTotal-KiB", stats->swap_total_kb);
	h = add_header(h, "X-MB-SwapFree-KiB", stats->swap_free_kb);
	h = add_header(h, "X-MB-Pswpin", stats->pswpin);
	h = add_header(h, "X-MB-Pswpout", stats->pswpout);

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(c, CURLOPT_READDATA, &body);
	curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
	curl_easy_setopt(c, CURLOPT_SEEKDATA, &body);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->size);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)t->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mb-guestd/1.0");
	if (t->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
				  &res->http_status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(res->message, sizeof(res->message), "%s: %s", url,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return GUESTD_UNREACHABLE;
	}
	parse_answer(&answer, res);
	if (res->http_status == 201)
		return GUESTD_OK;
	if (!res->message[0])
		snprintf(res->message, sizeof(res->message), "HTTP %ld",
			 res->http_status);
	if (res->http_status >= 500 || res->http_status == 408 ||
	    res->http_status == 429)
		return GUESTD_UNREACHABLE;
	return GUESTD_REJECTED;
}
