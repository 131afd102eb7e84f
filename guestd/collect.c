// SPDX-License-Identifier: GPL-2.0
/*
 * collect.c - what one cycle of mb-guestd gathers: the VM's identity, its
 * memory statistics, and a trace from /dev/memtrace (loading the module
 * first when needed).
 *
 * The trace is copied from the device into a memfd while the push parser
 * validates it: the guest keeps exactly one copy (in its page cache), the
 * upload can be retried without rescanning, and the Content-Length is
 * known. A broken trace is caught here, before it costs an upload.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestd.h"
#include "log.h"

static int read_field(const char *path, const char *key, size_t keylen,
		      char sep, int64_t *out)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, keylen) && line[keylen] == sep) {
			*out = strtoll(line + keylen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return 0;
}

int collect_stats(const char *proc, struct guest_stats *s, struct mb_err *err)
{
	char meminfo[512], vmstat[512];

	s->mem_total_kb = s->mem_available_kb = -1;
	s->swap_total_kb = s->swap_free_kb = -1;
	s->pswpin = s->pswpout = -1;
	snprintf(meminfo, sizeof(meminfo), "%s/meminfo", proc);
	snprintf(vmstat, sizeof(vmstat), "%s/vmstat", proc);
#define FIELD(path, key, sep, dst) \
	read_field(path, key, sizeof(key) - 1, sep, dst)
	if (FIELD(meminfo, "MemTotal", ':', &s->mem_total_kb) ||
	    FIELD(meminfo, "MemAvailable", ':', &s->mem_available_kb) ||
	    FIELD(meminfo, "SwapTotal", ':', &s->swap_total_kb) ||
	    FIELD(meminfo, "SwapFree", ':', &s->swap_free_kb))
		return mb_errf(err, "%s: %s", meminfo, strerror(errno));
	if (FIELD(vmstat, "pswpin", ' ', &s->pswpin) ||
	    FIELD(vmstat, "pswpout", ' ', &s->pswpout))
		return mb_errf(err, "%s: %s", vmstat, strerror(errno));
#undef FIELD
	return 0;
}

int collect_identity(const char *override, uint8_t uuid[MBT_UUID_LEN],
		     char text[37], struct mb_err *err)
{
	static const char path[] = "/sys/class/dmi/id/product_uuid";
	char line[128];
	size_t len;
	FILE *f;

	if (override) {
		if (mb_uuid_parse(override, uuid))
			return mb_errf(err, "'%s' is not a uuid", override);
		mb_uuid_format(uuid, text);
		return 0;
	}
	f = fopen(path, "r");
	if (!f)
		return mb_errf(err, "cannot learn the vm uuid from %s: %s "
			       "(give --vm-uuid)", path, strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == ' '))
		line[--len] = '\0';
	if (mb_uuid_parse(line, uuid) || mb_uuid_is_zero(uuid))
		return mb_errf(err, "%s: '%s' is not a usable uuid (give "
			       "--vm-uuid)", path, line);
	mb_uuid_format(uuid, text);
	return 0;
}

static int wait_for(const char *path, unsigned int ms)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned int waited;

	for (waited = 0; waited < ms; waited += 20) {
		if (!access(path, F_OK))
			return 0;
		nanosleep(&tick, NULL);
	}
	return access(path, F_OK);
}

static int run_modprobe(struct mb_err *err)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return mb_errf(err, "fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("modprobe", "modprobe", "memtrace", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return mb_errf(err, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return mb_errf(err, "modprobe memtrace failed (status %d)",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

int collect_load_module(const char *device, const char *module,
			struct mb_err *err)
{
	int fd;

	if (!access(device, F_OK))
		return 0;
	if (module) {
		fd = open(module, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return mb_errf(err, "module %s: %s", module,
				       strerror(errno));
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST) {
			mb_errf(err, "loading %s: %s", module, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		log_info("loaded %s", module);
	} else if (run_modprobe(err)) {
		return -1;
	}
	if (wait_for(device, 5000))
		return mb_errf(err, "%s did not appear after loading the "
			       "module", device);
	return 0;
}

struct scan_ctx {
	const char *device;
};

int collect_scan(const char *device, struct scan *out, struct mb_err *err)
{
	static char buf[1 << 16];
	struct mbt_parser *p = NULL;
	ssize_t n, w;
	size_t done;
	int dev, ret = -1;

	out->fd = -1;
	out->size = 0;
	dev = open(device, O_RDONLY | O_CLOEXEC);
	if (dev < 0)
		return mb_errf(err, "%s: %s", device, strerror(errno));
	if (flock(dev, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -2 : -1;
		mb_errf(err, "%s: %s", device, errno == EWOULDBLOCK ?
			"another scan is in progress" : strerror(errno));
		close(dev);
		return ret;
	}
	out->fd = memfd_create("mb-guestd-trace", MFD_CLOEXEC);
	if (out->fd < 0) {
		mb_errf(err, "memfd_create: %s", strerror(errno));
		goto out;
	}
	p = mbt_parser_new(NULL, NULL, 0);
	if (!p) {
		mb_errf(err, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(dev, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_errf(err, "reading %s: %s", device, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (mbt_parser_feed(p, buf, n, err)) {
			mb_err_prefix(err, "trace from %s", device);
			goto out;
		}
		for (done = 0; done < (size_t)n; done += w) {
			w = write(out->fd, buf + done, n - done);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				mb_errf(err, "keeping the trace in memory: %s",
					strerror(errno));
				goto out;
			}
		}
		out->size += n;
	}
	if (mbt_parser_finish(p, &out->info, err)) {
		mb_err_prefix(err, "trace from %s", device);
		goto out;
	}
	ret = 0;
out:
	mbt_parser_free(p);
	flock(dev, LOCK_UN);
	close(dev);
	if (ret)
		scan_release(out);
	return ret;
}

void scan_release(struct scan *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
