// SPDX-License-Identifier: GPL-2.0
/*
 * scan.c - one host-side trace of one guest (hostd.h).
 *
 * The layout says which host addresses of the QEMU process hold which
 * guest PFNs; the scan walks it in PFN order, reads at most chunk_pages
 * pages per process_vm_readv() into one buffer, digests them with the
 * fastest implementation of the algorithm (mb_digest_pages(): the
 * multi-buffer SIMD variants where the CPU has them), and appends runs of
 * consecutive PFNs to an .mbt writer whose sink is a memfd. Memory is the
 * read buffer, one chunk of digests and the trace itself (4 or 8 bytes
 * per page): a 64 GiB guest costs 1 MiB of buffer and a 64 MiB trace.
 *
 * The guest runs on while it is read, as it does while its own module
 * scans it: a page written during the scan is hashed as it was at the
 * moment of its read. Nothing is written to the process, which is never
 * stopped. Its start time is compared before and after, so that a QEMU
 * that exits and a new process that gets its pid are never mixed up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "digest.h"
#include "hostd.h"

#define PAGE 4096ULL

int scan_read_process(pid_t pid, uint64_t hva, void *buf, size_t size,
		      struct mb_err *err)
{
	size_t done = 0;

	while (done < size) {
		struct iovec local = { (char *)buf + done, size - done };
		struct iovec remote = { (void *)(uintptr_t)(hva + done),
					size - done };
		ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mb_errf(err, "process %d: reading %zu bytes at "
				       "%#" PRIx64 ": %s", (int)pid,
				       size - done, hva + done,
				       errno == ESRCH ? "the process is gone" :
				       strerror(errno));
		if (n == 0)
			return mb_errf(err, "process %d: nothing read at %#"
				       PRIx64, (int)pid, hva + done);
		done += (size_t)n;
	}
	return 0;
}

/* The writer's sink: the memfd. */
static int sink_fd(void *ctx, const void *buf, size_t len, struct mb_err *err)
{
	int fd = *(int *)ctx;
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mb_errf(err, "trace buffer: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* @src into @dst (MBT_NAME_LEN), cut at a UTF-8 character boundary. */
static void copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= MBT_NAME_LEN) {
		n = MBT_NAME_LEN - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct pending {
	uint64_t pfn;			/* of digests[0] */
	uint32_t n, max;
	uint64_t *digests;
};

static int flush(struct mbt_writer *w, struct pending *p, struct mb_err *err)
{
	if (!p->n)
		return 0;
	if (mbt_writer_chunk(w, p->pfn, p->n, NULL, p->digests, err))
		return -1;
	p->n = 0;
	return 0;
}

static void report(const struct scan_request *rq, struct budget *b,
		   struct scan_progress *p)
{
	p->cpu_s = budget_cpu_s(b);
	p->wall_s = budget_wall_s(b);
	p->slept_s = b->slept_s;
	if (rq->progress)
		rq->progress(rq->progress_ctx, p);
}

int scan_run(const struct scan_request *rq, struct scan_result *res,
	     struct mb_err *err)
{
	const struct layout *l = rq->layout;
	uint32_t chunk = rq->chunk_pages ? rq->chunk_pages : 256;
	struct mbt_writer w = { 0 };
	struct pending pend = { 0 };
	struct timespec now;
	struct budget budget;
	uint8_t *buf = NULL;
	const void **pages = NULL;
	uint64_t starttime;
	double next_report;
	size_t s;
	uint32_t i;
	int ret = -1;
	off_t end;

	memset(res, 0, sizeof(*res));
	res->fd = -1;
	if (chunk > MBT_CHUNK_MAX_LIMIT)
		chunk = MBT_CHUNK_MAX_LIMIT;
	mbt_info_init(&res->info, rq->algo);
	res->info.flags = MBT_FLAG_FROM_HOST;
	res->info.page_count = l->pages;
	if (res->info.chunk_max < chunk)
		res->info.chunk_max = chunk;
	memcpy(res->info.vm_uuid, rq->uuid, MBT_UUID_LEN);
	copy_name(res->info.vm_name, rq->name);
	clock_gettime(CLOCK_REALTIME, &now);
	res->info.capture_time_ns = (uint64_t)now.tv_sec * 1000000000ULL +
				    (uint64_t)now.tv_nsec;
	pend.max = res->info.chunk_max;
	buf = malloc((size_t)chunk * PAGE);
	pages = malloc(chunk * sizeof(*pages));
	pend.digests = malloc(pend.max * sizeof(*pend.digests));
	if (!buf || !pages || !pend.digests) {
		mb_errf(err, "out of memory for a %u-page buffer", chunk);
		goto out;
	}
	for (i = 0; i < chunk; i++)
		pages[i] = buf + (size_t)i * PAGE;
	res->fd = memfd_create("mb-hostd-trace", MFD_CLOEXEC);
	if (res->fd < 0) {
		mb_errf(err, "memfd_create: %s", strerror(errno));
		goto out;
	}
	if (mbt_writer_begin(&w, &res->info, sink_fd, &res->fd, err))
		goto out;
	res->done.pages_total = l->pages;
	budget_start(&budget, rq->max_cpu);
	next_report = rq->progress_every_s;
	for (s = 0; s < l->nsegs; s++) {
		const struct segment *g = &l->segs[s];
		uint64_t base = rq->places[g->block].hva + g->block_offset;
		uint64_t k = 0;

		while (k < g->pages) {
			uint32_t n = g->pages - k < chunk ?
				     (uint32_t)(g->pages - k) : chunk;
			uint64_t pfn = g->pfn + k;

			if (rq->stop && *rq->stop) {
				mb_errf(err, "stopped after %" PRIu64 " of %"
					PRIu64 " pages", res->done.pages_done,
					l->pages);
				goto out;
			}
			if (scan_read_process(rq->pid, base + k * PAGE, buf,
					      (size_t)n * PAGE, err)) {
				mb_err_prefix(err, "pfn %#" PRIx64 " (block %s)",
					      pfn, l->blocks[g->block].name);
				goto out;
			}
			if (pend.n && (pend.pfn + pend.n != pfn ||
				       pend.n + n > pend.max) &&
			    flush(&w, &pend, err))
				goto out;
			if (!pend.n)
				pend.pfn = pfn;
			mb_digest_pages(rq->algo, pages, n,
					pend.digests + pend.n);
			pend.n += n;
			k += n;
			res->done.pages_done += n;
			budget_pace(&budget);
			if (rq->progress && next_report > 0 &&
			    budget_wall_s(&budget) >= next_report) {
				report(rq, &budget, &res->done);
				next_report = budget_wall_s(&budget) +
					      rq->progress_every_s;
			}
		}
	}
	if (flush(&w, &pend, err))
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	if (mbt_writer_end(&w, (uint64_t)(budget_wall_s(&budget) * 1e9), err))
		goto out;
	if (proc_starttime(rq->pid, &starttime, err))
		goto out;
	if (starttime != rq->starttime) {
		mb_errf(err, "process %d was replaced during the scan (start "
			"time %" PRIu64 ", was %" PRIu64 ")", (int)rq->pid,
			starttime, rq->starttime);
		goto out;
	}
	end = lseek(res->fd, 0, SEEK_END);
	if (end < 0) {
		mb_errf(err, "trace buffer: %s", strerror(errno));
		goto out;
	}
	res->size = (uint64_t)end;
	res->info.scan_ns = (uint64_t)(budget_wall_s(&budget) * 1e9);
	res->info.used_pages = l->pages;
	report(rq, &budget, &res->done);
	ret = 0;
out:
	mbt_writer_release(&w);
	free(buf);
	free(pages);
	free(pend.digests);
	if (ret)
		scan_result_release(res);
	return ret;
}

void scan_result_release(struct scan_result *res)
{
	if (res->fd >= 0)
		close(res->fd);
	res->fd = -1;
}
