// SPDX-License-Identifier: GPL-2.0
/*
 * legacy.c - the raw TCP listener for guests still running the old
 * uploader, which connects, writes one decimal digest per line and closes.
 *
 * One accept thread; one detached thread per connection that pushes the
 * bytes through the legacy text push parser as they arrive (bounded by
 * --max-upload). The parser hands its digests over in batches, and they
 * are spooled to an unlinked temporary file in the data directory, 4
 * bytes each, so a connection holds one receive buffer and one batch in
 * memory however long it is. At the end of the stream the spool is read
 * back through an .mbt writer into the normal store path (validated,
 * fsync'ed, renamed, versioned). The old protocol has no answer channel
 * the old uploader reads, but a line "ok <version>" or "error <reason>"
 * is written back before closing for tools that do read it.
 *
 * Who may connect and for how long is the connection table's business
 * (conns.h), with the HTTP listener's rules: --legacy-max-connections at
 * once, of which connections that have not sent a byte yet (the old
 * uploader sends at once) hold three quarters at most, the oldest of the
 * busiest address making room for a new one; per-address limits; the
 * first bytes within --header-timeout; --min-upload-rate; and
 * --legacy-timeout from connect to close. A connection the table cut is
 * never stored, though its stream ended like a finished one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <endian.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "conns.h"
#include "legacy.h"
#include "log.h"

struct legacy {
	int listen_fd;
	int stop_pipe[2];
	unsigned int port;
	char *vm_name;
	char *spool_dir;
	uint64_t max_upload;
	struct conn_table *conns;
	struct store *store;
	struct metrics *metrics;
	pthread_t thread;
	int active;			/* atomic */
	int stopping;			/* atomic */
};

struct legacy_conn {
	struct legacy *l;
	int fd;
	struct conn *entry;		/* in l->conns */
	char peer[INET6_ADDRSTRLEN];
	int spool;			/* the digests so far, 4 bytes each */
	uint64_t spooled;
	uint64_t received;		/* bytes */
};

void legacy_vm_uuid(const char *name, uint8_t uuid[MBT_UUID_LEN])
{
	static const char prefix[] = "memory-buddies legacy vm:";
	char buf[sizeof(prefix) + MBT_NAME_LEN];
	XXH128_canonical_t c;
	size_t len;

	len = snprintf(buf, sizeof(buf), "%s%s", prefix, name);
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	XXH128_canonicalFromHash(&c, XXH3_128bits(buf, len));
	memcpy(uuid, c.digest, MBT_UUID_LEN);
	uuid[6] = (uuid[6] & 0x0f) | 0x80;	/* version 8: custom */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
}

static int store_sink(void *ctx, const void *buf, size_t len,
		      struct mb_err *err)
{
	return store_upload_write(ctx, buf, len, err) == STORE_OK ? 0 : -1;
}

static void reply(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply(int fd, const char *fmt, ...)
{
	char line[MB_ERR_LEN + 32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (send(fd, line, n, MSG_NOSIGNAL) < 0)
		return;
}

/* The parser's sink: append a batch of digests to the spool. */
static int spool_digests(void *ctx, const uint64_t *digests, size_t n,
			 struct mb_err *err)
{
	struct legacy_conn *c = ctx;
	uint32_t le[MB_TEXT_BATCH];
	size_t i, len, done = 0;
	ssize_t w;

	for (i = 0; i < n; i++)
		le[i] = htole32((uint32_t)digests[i]);
	len = n * sizeof(*le);
	while (done < len) {
		w = write(c->spool, (char *)le + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return mb_errf(err, "spooling the digests in %s: %s",
				       c->l->spool_dir,
				       w < 0 ? strerror(errno) : "short write");
		done += w;
	}
	c->spooled += n;
	return 0;
}

static int open_spool(struct legacy_conn *c, struct mb_err *err)
{
	char path[4096];

	c->spool = open(c->l->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c->spool >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/.legacy-spool-XXXXXX",
		 c->l->spool_dir);
	c->spool = mkostemp(path, O_CLOEXEC);
	if (c->spool < 0)
		return mb_errf(err, "spool in %s: %s", c->l->spool_dir,
			       strerror(errno));
	unlink(path);
	return 0;
}

/* Read the whole stream into @p; 0 at a clean end, -1 with @err. */
static int receive(struct legacy_conn *c, struct mb_text_parser *p,
		   struct mb_err *err)
{
	static __thread char buf[65536];
	uint64_t total = 0;
	enum conn_cut cut;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		cut = conn_was_cut(c->l->conns, c->entry);
		if (cut)
			return mb_errf(err, "cut: %s", conn_cut_reason(cut));
		if (n < 0)
			return mb_errf(err, "receive: %s", errno == EAGAIN ?
				       "timed out" : strerror(errno));
		if (n == 0)
			return 0;
		if (!total)
			conn_request(c->l->conns, c->entry, true);
		conn_body(c->l->conns, c->entry, n);
		total += n;
		c->received = total;
		if (total > c->l->max_upload)
			return mb_errf(err, "over the limit of %" PRIu64
				       " bytes", c->l->max_upload);
		if (__atomic_load_n(&c->l->stopping, __ATOMIC_RELAXED) > 1)
			return mb_errf(err, "shutting down");
		if (mb_text_feed(p, buf, n, err))
			return -1;
	}
}

/* Bytes of the .mbt trace of @pages 32-bit digests in full chunks. */
static uint64_t mbt_size(uint64_t pages, uint32_t chunk_max)
{
	uint64_t full = pages / chunk_max, rest = pages % chunk_max;
	uint64_t size = MBT_HEADER_SIZE + MBT_TRAILER_SIZE +
			full * (MBT_CHUNK_HEADER_SIZE +
				MBT_BITMAP_BYTES(chunk_max) + 4ULL * chunk_max);

	if (rest)
		size += MBT_CHUNK_HEADER_SIZE + MBT_BITMAP_BYTES(rest) +
			4 * rest;
	return size;
}

/* The spool, read back into an .mbt trace written to @up. */
static int write_trace(struct legacy_conn *c, const struct mbt_info *info,
		       struct store_upload *up, struct mb_err *err)
{
	struct mbt_writer w;
	uint32_t le[4096];
	uint64_t d[4096], done = 0;
	uint32_t n, i;
	ssize_t r;
	int ret = -1;

	if (mbt_writer_begin(&w, info, store_sink, up, err))
		goto out;
	while (done < info->page_count) {
		n = info->page_count - done < info->chunk_max ?
		    (uint32_t)(info->page_count - done) : info->chunk_max;
		r = pread(c->spool, le, n * sizeof(*le), done * sizeof(*le));
		if (r != (ssize_t)(n * sizeof(*le))) {
			mb_errf(err, "reading the spool back: %s", r < 0 ?
				strerror(errno) : "short read");
			goto out;
		}
		for (i = 0; i < n; i++)
			d[i] = le32toh(le[i]);
		if (mbt_writer_chunk(&w, done, n, NULL, d, err))
			goto out;
		done += n;
	}
	ret = mbt_writer_end(&w, 0, err);
out:
	mbt_writer_release(&w);
	return ret;
}

static int ingest(struct legacy_conn *c, const char *name,
		  struct trace_record *rec, struct mb_err *err)
{
	struct mb_text_parser p;
	struct mbt_info info;
	struct store_upload *up;
	enum store_status st;
	struct timespec now;
	int ret = -1;

	mb_text_init(&p);
	p.sink = spool_digests;
	p.sink_ctx = c;
	if (open_spool(c, err) || receive(c, &p, err) || mb_text_end(&p, err))
		goto out;
	mbt_info_init(&info, MB_ALGO_SUPERFAST);
	info.chunk_max = 4096;
	info.flags = MBT_FLAG_SYNTHETIC_PFN;
	info.page_count = p.count;
	memcpy(info.vm_name, name, strnlen(name, MBT_NAME_LEN - 1));
	clock_gettime(CLOCK_REALTIME, &now);
	info.capture_time_ns = (uint64_t)now.tv_sec * 1000000000ULL +
			       now.tv_nsec;
	legacy_vm_uuid(name, info.vm_uuid);
	up = store_upload_begin(c->l->store, info.vm_uuid,
				mbt_size(info.page_count, info.chunk_max), 0,
				&st, err);
	if (!up)
		goto out;
	if (write_trace(c, &info, up, err)) {
		store_upload_abort(up);
		goto out;
	}
	st = store_upload_commit(up, name, "legacy", NULL, rec, err);
	ret = st == STORE_OK ? 0 : -1;
out:
	mb_text_release(&p);
	return ret;
}

static void *conn_thread(void *arg)
{
	struct legacy_conn *c = arg;
	struct legacy *l = c->l;
	struct trace_record rec;
	char name[MBT_NAME_LEN];
	struct mb_err err;

	if (l->vm_name)
		snprintf(name, sizeof(name), "%s", l->vm_name);
	else
		snprintf(name, sizeof(name), "legacy-%s", c->peer);
	if (ingest(c, name, &rec, &err)) {
		/*
		 * A connection the table closed before it sent a byte is a
		 * flood's, not an upload: the table's summary counts it.
		 */
		bool idle = !c->received && conn_was_cut(l->conns, c->entry);

		if (!idle)
			__atomic_add_fetch(&l->metrics->legacy_errors, 1,
					   __ATOMIC_RELAXED);
		log_msg(idle ? LOG_DEBUG : LOG_WARNING, "legacy upload from %s "
			"(vm %s) rejected: %s", c->peer, name, err.msg);
		reply(c->fd, "error %s", err.msg);
	} else {
		metrics_count_upload(l->metrics, rec.size, 1);
		log_info("legacy upload from %s: vm %s (%s) version %" PRIu64
			 ", %" PRIu64 " pages", c->peer, rec.uuid, rec.name,
			 rec.version, rec.page_count);
		reply(c->fd, "ok %s %" PRIu64, rec.uuid, rec.version);
	}
	if (c->spool >= 0)
		close(c->spool);
	conn_release(l->conns, c->entry);
	close(c->fd);
	free(c);
	__atomic_sub_fetch(&l->active, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void accept_one(struct legacy *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct timeval tv = { 60, 0 };
	struct legacy_conn *c;
	pthread_attr_t attr;
	enum conn_cut why;
	pthread_t t;
	int fd;

	fd = accept4(l->listen_fd, (struct sockaddr *)&ss, &len,
		     SOCK_CLOEXEC);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->entry = conn_admit(l->conns, (struct sockaddr *)&ss, fd, &why);
	if (!c->entry) {
		reply(fd, "error %s", conn_cut_reason(why));
		close(fd);
		free(c);
		return;
	}
	c->l = l;
	c->fd = fd;
	c->spool = -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			  c->peer, sizeof(c->peer));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  c->peer, sizeof(c->peer));
	__atomic_add_fetch(&l->active, 1, __ATOMIC_RELAXED);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_thread, c)) {
		__atomic_sub_fetch(&l->active, 1, __ATOMIC_RELAXED);
		conn_release(l->conns, c->entry);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_thread(void *arg)
{
	struct legacy *l = arg;
	struct pollfd fds[2] = {
		{ .fd = l->listen_fd, .events = POLLIN },
		{ .fd = l->stop_pipe[0], .events = POLLIN },
	};

	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents & POLLIN)
			accept_one(l);
	}
	return NULL;
}

struct legacy *legacy_start(const struct legacy_options *o,
			    struct store *store, struct metrics *metrics,
			    struct mb_err *err)
{
	struct legacy *l = calloc(1, sizeof(*l));
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct conn_limits cl = {
		.listener = "legacy",
		.max = o->max_connections,
		.max_unauthenticated = o->max_connections -
				       o->max_connections / 4,
		.evict = true,
		.per_address = o->max_connections_per_ip,
		.header_timeout = o->header_timeout,
		.min_rate = o->min_rate,
		.deadline = o->timeout,
	};
	socklen_t len;
	int one = 1;

	if (!l) {
		mb_errf(err, "out of memory");
		return NULL;
	}
	l->store = store;
	l->metrics = metrics;
	l->max_upload = o->max_upload;
	l->stop_pipe[0] = l->stop_pipe[1] = -1;
	l->listen_fd = -1;
	if (o->vm_name)
		l->vm_name = strdup(o->vm_name);
	l->spool_dir = strdup(o->spool_dir);
	if (!l->spool_dir || (o->vm_name && !l->vm_name)) {
		mb_errf(err, "legacy listener: out of memory");
		goto fail;
	}
	l->conns = conn_table_new(&cl, err);
	if (!l->conns)
		goto fail;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o->listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(o->port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, o->listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(o->port);
		len = sizeof(*in6);
	} else {
		mb_errf(err, "legacy listener: '%s' is not a numeric address",
			o->listen);
		goto fail;
	}
	l->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->listen_fd < 0) {
		mb_errf(err, "legacy listener: socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(l->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->listen_fd, (struct sockaddr *)&ss, len) ||
	    listen(l->listen_fd, 64)) {
		mb_errf(err, "legacy listener on %s port %u: %s", o->listen,
			o->port, strerror(errno));
		goto fail_fd;
	}
	len = sizeof(ss);
	getsockname(l->listen_fd, (struct sockaddr *)&ss, &len);
	l->port = ntohs(ss.ss_family == AF_INET ? in4->sin_port :
			in6->sin6_port);
	if (pipe2(l->stop_pipe, O_CLOEXEC)) {
		mb_errf(err, "legacy listener: pipe: %s", strerror(errno));
		goto fail_fd;
	}
	if (pthread_create(&l->thread, NULL, accept_thread, l)) {
		mb_errf(err, "legacy listener: cannot start its thread");
		goto fail_fd;
	}
	return l;
fail_fd:
	close(l->listen_fd);
	if (l->stop_pipe[0] >= 0) {
		close(l->stop_pipe[0]);
		close(l->stop_pipe[1]);
	}
fail:
	conn_table_free(l->conns);
	free(l->spool_dir);
	free(l->vm_name);
	free(l);
	return NULL;
}


unsigned int legacy_port(const struct legacy *l)
{
	return l->port;
}

void legacy_stop(struct legacy *l, unsigned int timeout)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned int waited = 0;

	__atomic_store_n(&l->stopping, 1, __ATOMIC_RELAXED);
	if (write(l->stop_pipe[1], "x", 1) < 0)
		log_warn("legacy listener: cannot wake its thread");
	pthread_join(l->thread, NULL);
	close(l->listen_fd);
	while (__atomic_load_n(&l->active, __ATOMIC_RELAXED) > 0 &&
	       waited++ < timeout * 20)
		nanosleep(&tick, NULL);
	/* Connections still open give up at their next read. */
	__atomic_store_n(&l->stopping, 2, __ATOMIC_RELAXED);
	waited = 0;
	while (__atomic_load_n(&l->active, __ATOMIC_RELAXED) > 0 &&
	       waited++ < 100)
		nanosleep(&tick, NULL);
	if (__atomic_load_n(&l->active, __ATOMIC_RELAXED) == 0) {
		close(l->stop_pipe[0]);
		close(l->stop_pipe[1]);
		conn_table_free(l->conns);
		free(l->spool_dir);
		free(l->vm_name);
		free(l);
	}
	/* else: a connection thread still runs; leave @l to it (exiting). */
}
