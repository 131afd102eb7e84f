// SPDX-License-Identifier: GPL-2.0
/*
 * metrics.c - the /metrics page. Rendered into a growing buffer with
 * open_memstream; one catalogue walk gives the per-VM gauges.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Error statuses always listed, so that a dashboard sees them at 0. */
static const unsigned int usual_errors[] = {
	400, 401, 403, 404, 405, 409, 413, 500, 503, 507,
};
#define NUSUAL (sizeof(usual_errors) / sizeof(usual_errors[0]))

static int usual(unsigned int status)
{
	size_t i;

	for (i = 0; i < NUSUAL; i++)
		if (usual_errors[i] == status)
			return 1;
	return 0;
}

void metrics_count_upload(struct metrics *m, uint64_t bytes, int legacy)
{
	__atomic_add_fetch(&m->uploads, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->upload_bytes, bytes, __ATOMIC_RELAXED);
	if (legacy)
		__atomic_add_fetch(&m->legacy_uploads, 1, __ATOMIC_RELAXED);
}

void metrics_count_status(struct metrics *m, unsigned int status)
{
	if (status >= 100 && status < 600)
		__atomic_add_fetch(&m->status[status], 1, __ATOMIC_RELAXED);
}

void metrics_count_request(struct metrics *m)
{
	__atomic_add_fetch(&m->requests, 1, __ATOMIC_RELAXED);
}

struct age_walk {
	FILE *out;
	int64_t now;
	char last_uuid[37];
	int64_t last_upload;
	uint64_t vms;
	int printed_header;
};

static void flush_vm(struct age_walk *w)
{
	if (!w->last_uuid[0])
		return;
	fprintf(w->out, "mb_controld_latest_trace_age_seconds{vm=\"%s\"} %"
		PRId64 "\n", w->last_uuid, w->now - w->last_upload);
}

static int age_row(void *ctx, const struct trace_record *r)
{
	struct age_walk *w = ctx;

	if (strcmp(w->last_uuid, r->uuid)) {
		flush_vm(w);
		memcpy(w->last_uuid, r->uuid, sizeof(w->last_uuid));
		w->vms++;
	}
	w->last_upload = r->upload_time;
	return 0;
}

char *metrics_render(struct metrics *m, struct catalogue *cat,
		     struct store *store, int64_t now,
		     void (*extra)(void *ctx, FILE *out), void *ctx)
{
	struct age_walk w = { .now = now };
	char *text = NULL;
	size_t len = 0;
	struct mb_err err;
	unsigned int i;

	w.out = open_memstream(&text, &len);
	if (!w.out)
		return NULL;
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
	fprintf(w.out,
		"# HELP mb_controld_uploads_total Trace versions stored.\n"
		"# TYPE mb_controld_uploads_total counter\n"
		"mb_controld_uploads_total{listener=\"http\"} %" PRIu64 "\n"
		"mb_controld_uploads_total{listener=\"legacy\"} %" PRIu64 "\n"
		"# HELP mb_controld_upload_bytes_total Bytes of stored trace versions.\n"
		"# TYPE mb_controld_upload_bytes_total counter\n"
		"mb_controld_upload_bytes_total %" PRIu64 "\n"
		"# HELP mb_controld_requests_total HTTP requests received.\n"
		"# TYPE mb_controld_requests_total counter\n"
		"mb_controld_requests_total %" PRIu64 "\n"
		"# HELP mb_controld_errors_total Requests answered with an error, by status.\n"
		"# TYPE mb_controld_errors_total counter\n",
		LOAD(m->uploads) - LOAD(m->legacy_uploads),
		LOAD(m->legacy_uploads), LOAD(m->upload_bytes),
		LOAD(m->requests));
	for (i = 400; i < 600; i++)
		if (usual(i) || LOAD(m->status[i]))
			fprintf(w.out, "mb_controld_errors_total{status=\"%u\"} "
				"%" PRIu64 "\n", i, LOAD(m->status[i]));
	fprintf(w.out,
		"mb_controld_errors_total{status=\"legacy\"} %" PRIu64 "\n"
		"# HELP mb_controld_responses_total HTTP answers, by status.\n"
		"# TYPE mb_controld_responses_total counter\n",
		LOAD(m->legacy_errors));
	for (i = 100; i < 600; i++)
		if (LOAD(m->status[i]))
			fprintf(w.out, "mb_controld_responses_total{status="
				"\"%u\"} %" PRIu64 "\n", i, LOAD(m->status[i]));
	fprintf(w.out,
		"# HELP mb_controld_latest_trace_age_seconds Seconds since each VM's latest upload.\n"
		"# TYPE mb_controld_latest_trace_age_seconds gauge\n");
#undef LOAD
	if (catalogue_foreach(cat, NULL, age_row, &w, &err) == 0)
		flush_vm(&w);
	fprintf(w.out,
		"# HELP mb_controld_vms VMs with at least one stored trace.\n"
		"# TYPE mb_controld_vms gauge\n"
		"mb_controld_vms %" PRIu64 "\n"
		"# HELP mb_controld_store_bytes Bytes of trace files in the store.\n"
		"# TYPE mb_controld_store_bytes gauge\n"
		"mb_controld_store_bytes %" PRIu64 "\n",
		w.vms, store_bytes(store));
	if (extra)
		extra(ctx, w.out);
	if (fclose(w.out)) {
		free(text);
		return NULL;
	}
	return text;
}
