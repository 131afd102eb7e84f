// SPDX-License-Identifier: GPL-2.0
/*
 * metrics.c - mb-hostd's metrics as a Prometheus textfile (hostd.h).
 *
 * mb-hostd runs as root next to the guests' memory, so it listens on no
 * socket at all: its metrics are a file, rewritten atomically after every
 * domain and every few seconds of a long scan, for node_exporter's
 * textfile collector (--collector.textfile.directory) or anything else
 * that reads files. docs/hostd.md lists the metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "hostd.h"

struct domain_metrics *metrics_domain(struct metrics *m, const char *uuid,
				      const char *name)
{
	struct domain_metrics *d;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->d[i].uuid, uuid)) {
			if (name != m->d[i].name)	/* renamed domain */
				snprintf(m->d[i].name, sizeof(m->d[i].name),
					 "%s", name);
			return &m->d[i];
		}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct domain_metrics *g = realloc(m->d, cap * sizeof(*g));

		if (!g)
			return NULL;
		m->d = g;
		m->cap = cap;
	}
	d = &m->d[m->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

/* A label value: backslash, quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_domain(FILE *f, const struct metrics *m, const char *name,
		       const char *type, const char *help, int which)
{
	size_t i;

	family(f, name, type, help);
	for (i = 0; i < m->n; i++) {
		const struct domain_metrics *d = &m->d[i];

		if (!d->seen)
			continue;
		fprintf(f, "%s{uuid=\"%s\",name=\"", name, d->uuid);
		label(f, d->name);
		fputs("\"} ", f);
		switch (which) {
		case 0: fprintf(f, "%" PRIu64 "\n", d->pages); break;
		case 1: fprintf(f, "%.3f\n", d->scan_s); break;
		case 2: fprintf(f, "%.3f\n", d->cpu_s); break;
		case 3: fprintf(f, "%.3f\n", d->slept_s); break;
		case 4: fprintf(f, "%.0f\n", d->last_success); break;
		case 5: fprintf(f, "%" PRIu64 "\n", d->version); break;
		case 6: fprintf(f, "%" PRIu64 "\n", d->failures); break;
		default: fprintf(f, "%.4f\n", d->progress); break;
		}
	}
}

char *metrics_text(const struct metrics *m)
{
	static const char *const results[3] = { "stored", "rejected",
						"unreachable" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i;

	if (!f)
		return NULL;
	family(f, "mb_hostd_max_cpu_ratio", "gauge",
	       "CPU budget of a scan (--max-cpu), share of one CPU.");
	fprintf(f, "mb_hostd_max_cpu_ratio %.2f\n", m->max_cpu / 100.0);
	family(f, "mb_hostd_pages_hashed_total", "counter",
	       "Guest pages hashed since mb-hostd started.");
	fprintf(f, "mb_hostd_pages_hashed_total %" PRIu64 "\n", m->pages_total);
	family(f, "mb_hostd_cycles_total", "counter",
	       "Cycles over every domain completed.");
	fprintf(f, "mb_hostd_cycles_total %" PRIu64 "\n", m->cycles);
	family(f, "mb_hostd_cycle_seconds", "gauge",
	       "Wall-clock time of the last complete cycle.");
	fprintf(f, "mb_hostd_cycle_seconds %.3f\n", m->last_cycle_s);
	family(f, "mb_hostd_uploads_total", "counter",
	       "Trace uploads by outcome (after retries).");
	for (i = 0; i < 3; i++)
		fprintf(f, "mb_hostd_uploads_total{result=\"%s\"} %" PRIu64
			"\n", results[i], m->uploads[i]);
	family(f, "mb_hostd_scan_failures_total", "counter",
	       "Scans that failed (layout, read, process gone).");
	fprintf(f, "mb_hostd_scan_failures_total %" PRIu64 "\n",
		m->scan_failures);
	per_domain(f, m, "mb_hostd_domain_pages", "gauge",
		   "Pages in the domain's last trace.", 0);
	per_domain(f, m, "mb_hostd_domain_scan_seconds", "gauge",
		   "Wall-clock time of the domain's last scan.", 1);
	per_domain(f, m, "mb_hostd_domain_cpu_seconds", "gauge",
		   "CPU time of the domain's last scan.", 2);
	per_domain(f, m, "mb_hostd_domain_throttled_seconds", "gauge",
		   "Time the last scan slept to stay within --max-cpu.", 3);
	per_domain(f, m, "mb_hostd_domain_last_success_timestamp_seconds",
		   "gauge", "When the domain's last trace was stored.", 4);
	per_domain(f, m, "mb_hostd_domain_trace_version", "gauge",
		   "controld's version of the last trace stored.", 5);
	per_domain(f, m, "mb_hostd_domain_failures_total", "counter",
		   "Scans or uploads of the domain that failed.", 6);
	per_domain(f, m, "mb_hostd_domain_progress_ratio", "gauge",
		   "Share of the domain's pages hashed by the scan running "
		   "(1 when none runs).", 7);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

int metrics_write(const struct metrics *m, struct mb_err *err)
{
	struct mb_atomic_file af;
	char *text;

	if (!m->path)
		return 0;
	text = metrics_text(m);
	if (!text)
		return mb_errf(err, "metrics: out of memory");
	if (mb_atomic_open(&af, m->path, 0644, err)) {
		free(text);
		return mb_err_prefix(err, "metrics file");
	}
	fputs(text, af.f);
	free(text);
	if (mb_atomic_commit(&af, err))
		return mb_err_prefix(err, "metrics file");
	return 0;
}

void metrics_free(struct metrics *m)
{
	free(m->d);
	free(m->path);
	memset(m, 0, sizeof(*m));
}
