// SPDX-License-Identifier: GPL-2.0
/*
 * bench_ingest - how close mb-controld's ingest comes to the disk.
 *
 * Starts a real mb-controld (fsync on, bearer tokens, --keep 10) on
 * loopback and uploads --uploads traces of a 1 GiB VM (262,144 pages of
 * 32-bit digests, 1,082,664 bytes) from --clients concurrent clients, each
 * a VM of its own with a persistent libcurl connection. Then, in the same
 * run and on the same disk, the baseline: the same number of threads write
 * and fsync the same bytes to files with no HTTP at all. Prints uploads/s,
 * MB/s, p50/p99 latency, the baseline's MB/s and the ratio ingest/raw (the
 * figure of merit). Finally every stored version is compared with what was
 * sent and validated; any loss fails the run.
 *
 * usage: bench_ingest [--controld PATH] [--dir DIR] [--uploads N]
 *                     [--clients N] [--pages N]
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mbt.h"

struct membuf {
	uint8_t *data;
	size_t len, cap;
};

struct client {
	int id;
	char uuid[37];
	char token[64];
	struct membuf trace;
	unsigned int uploads;
	double *latency;		/* seconds, one per upload */
	unsigned int failures;
	char error[256];
	const char *url;
	pthread_t thread;
};

static unsigned int n_uploads = 1000, n_clients = 100;
static uint64_t n_pages = 262144;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int mem_sink(void *ctx, const void *buf, size_t len,
		    struct mb_err *err)
{
	struct membuf *m = ctx;

	if (m->len + len > m->cap) {
		size_t cap = (m->len + len) * 2;
		uint8_t *grown = realloc(m->data, cap);

		if (!grown)
			return mb_errf(err, "out of memory");
		m->data = grown;
		m->cap = cap;
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

/* A trace as memtrace.ko writes it: chunks of 4096 pages, some free. */
static int make_trace(struct client *c, struct mb_err *err)
{
	static __thread uint64_t digests[4096];
	uint8_t bitmap[MBT_BITMAP_BYTES(4096)];
	struct mbt_writer w;
	struct mbt_info info;
	uint64_t pfn, x = 0x9e3779b97f4a7c15ULL * (c->id + 1);
	uint32_t i, count;
	int ret = -1;

	mbt_info_init(&info, MB_ALGO_SUPERFAST);
	info.page_count = n_pages;
	info.chunk_max = 4096;
	info.capture_time_ns = (uint64_t)time(NULL) * 1000000000ULL;
	mb_uuid_parse(c->uuid, info.vm_uuid);
	snprintf(info.vm_name, sizeof(info.vm_name), "bench-%d", c->id);
	if (mbt_writer_begin(&w, &info, mem_sink, &c->trace, err))
		goto out;
	for (pfn = 0; pfn < n_pages; pfn += count) {
		count = n_pages - pfn < 4096 ? n_pages - pfn : 4096;
		memset(bitmap, 0, sizeof(bitmap));
		for (i = 0; i < count; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if ((x & 15) == 0) {
				bitmap[i / 8] |= 1 << (i % 8);
				digests[i] = 0;
			} else {
				digests[i] = x & 0xffffffff;
			}
		}
		if (mbt_writer_chunk(&w, pfn, count, bitmap, digests, err))
			goto out;
	}
	ret = mbt_writer_end(&w, 1000000, err);
out:
	mbt_writer_release(&w);
	return ret;
}

struct reader {
	const struct membuf *m;
	size_t off;
};

static size_t read_cb(char *dst, size_t size, size_t n, void *ctx)
{
	struct reader *r = ctx;
	size_t len = size * n;

	if (len > r->m->len - r->off)
		len = r->m->len - r->off;
	memcpy(dst, r->m->data + r->off, len);
	r->off += len;
	return len;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	char url[256], authz[128];
	struct curl_slist *h = NULL;
	unsigned int i;
	CURL *curl = curl_easy_init();

	snprintf(url, sizeof(url), "%s/v1/vms/%s/traces", c->url, c->uuid);
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", c->token);
	h = curl_slist_append(h, authz);
	h = curl_slist_append(h, "Content-Type: application/x-mbt");
	h = curl_slist_append(h, "Expect:");
	for (i = 0; i < c->uploads; i++) {
		struct reader r = { .m = &c->trace };
		long code = 0;
		double t0;
		CURLcode rc;

		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(curl, CURLOPT_READDATA, &r);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)c->trace.len);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
		t0 = now();
		rc = curl_easy_perform(curl);
		c->latency[i] = now() - t0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		if (rc != CURLE_OK || code != 201) {
			c->failures++;
			snprintf(c->error, sizeof(c->error), "upload %u: %s "
				 "(HTTP %ld)", i, curl_easy_strerror(rc), code);
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return NULL;
}

struct raw_job {
	struct client *c;
	const char *dir;
	double *latency;
	int failed;
};

static void *raw_main(void *arg)
{
	struct raw_job *j = arg;
	char path[4096];
	unsigned int i;
	size_t done;
	ssize_t n;
	int fd;

	for (i = 0; i < j->c->uploads; i++) {
		double t0 = now();

		snprintf(path, sizeof(path), "%s/%d-%u.mbt", j->dir, j->c->id,
			 i + 1);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd < 0) {
			j->failed = 1;
			return NULL;
		}
		for (done = 0; done < j->c->trace.len; done += n) {
			n = write(fd, j->c->trace.data + done,
				  j->c->trace.len - done);
			if (n <= 0) {
				j->failed = 1;
				close(fd);
				return NULL;
			}
		}
		if (fsync(fd))
			j->failed = 1;
		close(fd);
		j->latency[i] = now() - t0;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (n - 1) + 0.5);

	return n ? v[i] : 0;
}

static pid_t start_controld(const char *bin, const char *dir, const char *tokens,
			    unsigned int *port)
{
	char datadir[4096], portfile[4096], logfile[4096];
	unsigned int tries;
	pid_t pid;
	FILE *f;

	snprintf(datadir, sizeof(datadir), "%s/data", dir);
	snprintf(portfile, sizeof(portfile), "%s/ports", dir);
	snprintf(logfile, sizeof(logfile), "%s/controld.log", dir);
	unlink(portfile);
	pid = fork();
	if (pid == 0) {
		int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		execl(bin, bin, "--datadir", datadir, "--port", "0",
		      "--port-file", portfile, "--tokens", tokens, "--keep",
		      "10", "--max-connections", "1024", (char *)NULL);
		_exit(127);
	}
	for (tries = 0; tries < 200; tries++) {
		f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "http %u", port) == 1;

			fclose(f);
			if (ok)
				return pid;
		}
		usleep(25000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static int verify(const char *dir, struct client *clients)
{
	char path[4096];
	struct mbt_trace t;
	struct mb_err err;
	unsigned int i, v, bad = 0, good = 0;
	uint8_t *buf;
	FILE *f;

	buf = malloc(clients[0].trace.len + 1);
	for (i = 0; i < n_clients; i++) {
		for (v = 1; v <= clients[i].uploads; v++) {
			size_t len;

			snprintf(path, sizeof(path), "%s/data/vms/%s/%u.mbt",
				 dir, clients[i].uuid, v);
			f = fopen(path, "rb");
			len = f ? fread(buf, 1, clients[i].trace.len + 1, f)
				: 0;
			if (f)
				fclose(f);
			memset(&t, 0, sizeof(t));
			if (len != clients[i].trace.len ||
			    memcmp(buf, clients[i].trace.data, len) ||
			    mbt_read_mem(buf, len, &t, &err)) {
				if (bad++ < 5)
					fprintf(stderr, "bench_ingest: %s is "
						"missing, different or invalid\n",
						path);
			} else {
				good++;
			}
			mbt_trace_free(&t);
		}
	}
	free(buf);
	printf("verify: %u of %u uploads present, identical and valid\n",
	       good, good + bad);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "controld", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "uploads", required_argument, NULL, 'u' },
		{ "clients", required_argument, NULL, 'n' },
		{ "pages", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *controld = "build/mb-controld", *dir = "build/bench-ingest";
	char tokens[4096], url[64], rawdir[4096], cmd[4200];
	struct client *clients;
	struct raw_job *jobs;
	double *lat, t0, ingest_s, raw_s, mb;
	struct mb_err err;
	unsigned int i, port, total = 0, failures = 0;
	pid_t pid;
	FILE *f;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'c': controld = optarg; break;
		case 'd': dir = optarg; break;
		case 'u': n_uploads = atoi(optarg); break;
		case 'n': n_clients = atoi(optarg); break;
		case 'p': n_pages = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench_ingest [--controld PATH] "
				"[--dir DIR] [--uploads N] [--clients N] "
				"[--pages N]\n");
			return 2;
		}
	}
	if (!n_clients || n_uploads < n_clients || !n_pages) {
		fprintf(stderr, "bench_ingest: need uploads >= clients > 0\n");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	if (system(cmd))
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	clients = calloc(n_clients, sizeof(*clients));
	lat = calloc(n_uploads, sizeof(*lat));
	jobs = calloc(n_clients, sizeof(*jobs));
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	f = fopen(tokens, "w");
	if (!clients || !lat || !jobs || !f || fchmod(fileno(f), 0600))
		return 1;
	for (i = 0; i < n_clients; i++) {
		struct client *c = &clients[i];

		c->id = i;
		snprintf(c->uuid, sizeof(c->uuid),
			 "6d62756c-6265-4e63-8000-%012x", i + 1);
		snprintf(c->token, sizeof(c->token), "bench-token-%08x-%u",
			 (unsigned int)random(), i);
		fprintf(f, "%s %s\n", c->uuid, c->token);
		c->uploads = n_uploads / n_clients +
			     (i < n_uploads % n_clients);
		c->latency = lat + total;
		total += c->uploads;
		if (make_trace(c, &err)) {
			fprintf(stderr, "bench_ingest: %s\n", err.msg);
			return 1;
		}
	}
	fclose(f);
	mb = (double)clients[0].trace.len * n_uploads / 1e6;
	printf("bench_ingest: %u uploads of %zu bytes (%" PRIu64 " pages) "
	       "from %u clients, fsync on\n", n_uploads, clients[0].trace.len,
	       n_pages, n_clients);

	pid = start_controld(controld, dir, tokens, &port);
	if (pid < 0) {
		fprintf(stderr, "bench_ingest: %s did not start (see %s/"
			"controld.log)\n", controld, dir);
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	t0 = now();
	for (i = 0; i < n_clients; i++) {
		clients[i].url = url;
		pthread_create(&clients[i].thread, NULL, client_main,
			       &clients[i]);
	}
	for (i = 0; i < n_clients; i++) {
		pthread_join(clients[i].thread, NULL);
		failures += clients[i].failures;
		if (clients[i].failures)
			fprintf(stderr, "bench_ingest: client %u: %s\n", i,
				clients[i].error);
	}
	ingest_s = now() - t0;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	qsort(lat, n_uploads, sizeof(*lat), cmp_double);
	printf("ingest:   %.1f uploads/s, %.1f MB/s, latency p50 %.1f ms, "
	       "p99 %.1f ms (%.2f s)\n", n_uploads / ingest_s, mb / ingest_s,
	       percentile(lat, n_uploads, 0.5) * 1e3,
	       percentile(lat, n_uploads, 0.99) * 1e3, ingest_s);

	snprintf(rawdir, sizeof(rawdir), "%s/raw", dir);
	mkdir(rawdir, 0755);
	t0 = now();
	for (i = 0; i < n_clients; i++) {
		jobs[i].c = &clients[i];
		jobs[i].dir = rawdir;
		jobs[i].latency = clients[i].latency;
		pthread_create(&clients[i].thread, NULL, raw_main, &jobs[i]);
	}
	for (i = 0; i < n_clients; i++) {
		pthread_join(clients[i].thread, NULL);
		if (jobs[i].failed)
			failures++;
	}
	raw_s = now() - t0;
	qsort(lat, n_uploads, sizeof(*lat), cmp_double);
	printf("raw:      %.1f files/s, %.1f MB/s, write+fsync p50 %.1f ms, "
	       "p99 %.1f ms (%.2f s, %u threads, no HTTP)\n",
	       n_uploads / raw_s, mb / raw_s,
	       percentile(lat, n_uploads, 0.5) * 1e3,
	       percentile(lat, n_uploads, 0.99) * 1e3, raw_s, n_clients);
	printf("ratio ingest/raw: %.2f (goal >= 0.5)\n", raw_s / ingest_s);

	if (failures) {
		fprintf(stderr, "bench_ingest: %u uploads failed\n", failures);
		return 1;
	}
	if (verify(dir, clients))
		return 1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	return 0;
}
