// SPDX-License-Identifier: GPL-2.0
/*
 * upload.c - mb-guestd's requests to controld: the PUT of a scan with the
 * guest's memory statistics in X-MB-* request headers (docs/api.md), the
 * POST of a statistics report, and the GET of the tenant key (--keyed). The HTTP part is daemon/upload.c,
 * shared with mb-hostd.
 */
#include <stdio.h>
#include <string.h>

#include "guestd.h"

/* "Name: value" into @line, or nothing when @v is not reported. */
static void stat_header(const char **headers, size_t *n, char *line,
			size_t size, const char *name, int64_t v)
{
	if (v < 0)
		return;
	snprintf(line, size, "%s: %lld", name, (long long)v);
	headers[(*n)++] = line;
}

int upload_scan(const struct upload_target *t, const struct scan *s,
		const struct guest_stats *stats, unsigned int retries,
		unsigned int max_delay_s, const volatile sig_atomic_t *stop,
		struct upload_result *res)
{
	static const char *const names[] = {
		"X-MB-MemTotal-KiB", "X-MB-MemAvailable-KiB",
		"X-MB-SwapTotal-KiB", "X-MB-SwapFree-KiB", "X-MB-Pswpin",
		"X-MB-Pswpout",
	};
	const int64_t values[] = {
		stats->mem_total_kb, stats->mem_available_kb,
		stats->swap_total_kb, stats->swap_free_kb, stats->pswpin,
		stats->pswpout,
	};
	char lines[6][128];
	const char *headers[7];
	size_t i, n = 0;

	for (i = 0; i < 6; i++)
		stat_header(headers, &n, lines[i], sizeof(lines[i]), names[i],
			    values[i]);
	headers[n] = NULL;
	return upload_trace_retrying(t, s->fd, s->size, headers, retries,
				     max_delay_s, stop, res);
}

int upload_report(const struct upload_target *t, const char *json,
		  struct upload_result *res)
{
	return upload_json(t, "stats", json, res);
}

int fetch_key(const struct upload_target *t, struct memtrace_key *key,
	      struct upload_result *res)
{
	char body[512];
	struct mb_err err;
	int ret;

	memset(key, 0, sizeof(*key));
	ret = upload_get(t, "key", body, sizeof(body), res);
	if (ret == UPLOAD_OK && keyed_parse_answer(body, strlen(body), key,
						   &err)) {
		snprintf(res->message, sizeof(res->message), "%s", err.msg);
		ret = UPLOAD_REJECTED;
	}
	explicit_bzero(body, sizeof(body));
	return ret;
}
