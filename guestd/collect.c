// SPDX-License-Identifier: GPL-2.0
/*
 * collect.c - what mb-guestd gathers: the VM's identity, its memory
 * statistics (read here, parsed by procfs.c), and a trace from
 * /dev/memtrace (loading the module first when needed).
 *
 * Statistics are read by the trace cycle and by the report thread at the
 * same time, so their reading keeps no state between calls.
 *
 * The trace is copied from the device into a memfd while the push parser
 * validates it: the guest keeps exactly one copy (in its page cache), the
 * upload can be retried without rescanning, and the Content-Length is
 * known. A broken trace is caught here, before it costs an upload.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestd.h"
#include "log.h"

/* No statistics file is nearly this big; vmstat is a few KiB. */
#define STATS_FILE_MAX (1 << 20)

/*
 * The whole of a small /proc file, NUL-terminated, in a malloc'ed buffer.
 * NULL with errno set when it cannot be read.
 */
static char *read_small_file(const char *path, size_t *len)
{
	size_t cap = 8192, used = 0;
	char *buf = NULL, *grown;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (!buf || used == cap - 1) {
			if (buf)
				cap *= 2;
			if (cap > STATS_FILE_MAX) {
				errno = EFBIG;
				goto fail;
			}
			grown = realloc(buf, cap);
			if (!grown)
				goto fail;
			buf = grown;
		}
		n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	buf[used] = '\0';
	*len = used;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* The statistics files, and what reads each one's text. */
enum stats_file { MEMINFO, VMSTAT, PRESSURE, UPTIME, BOOT_ID, NET_DEV };

static const char *const stats_files[] = {
	[MEMINFO] = "meminfo",
	[VMSTAT] = "vmstat",
	[PRESSURE] = "pressure/memory",
	[UPTIME] = "uptime",
	[BOOT_ID] = "sys/kernel/random/boot_id",
	[NET_DEV] = "net/dev",
};

static int parse_stats_file(enum stats_file which, const char *path,
			    const char *text, size_t len, struct guest_stats *s,
			    struct mb_err *err)
{
	const struct proc_counter meminfo[] = {
		{ "MemTotal", ':', " kB", &s->mem_total_kb },
		{ "MemAvailable", ':', " kB", &s->mem_available_kb },
		{ "Committed_AS", ':', " kB", &s->committed_as_kb },
		{ "SwapTotal", ':', " kB", &s->swap_total_kb },
		{ "SwapFree", ':', " kB", &s->swap_free_kb },
	};
	const struct proc_counter vmstat[] = {
		{ "pswpin", ' ', NULL, &s->pswpin },
		{ "pswpout", ' ', NULL, &s->pswpout },
		{ "pgmajfault", ' ', NULL, &s->pgmajfault },
	};

	switch (which) {
	case MEMINFO:
		return proc_parse_counters(path, text, len, meminfo,
					   sizeof(meminfo) / sizeof(*meminfo),
					   err);
	case VMSTAT:
		return proc_parse_counters(path, text, len, vmstat,
					   sizeof(vmstat) / sizeof(*vmstat),
					   err);
	case PRESSURE:
		return proc_parse_psi(path, text, len, &s->psi, err);
	case UPTIME:
		return proc_parse_uptime(path, text, len, &s->uptime_s, err);
	case BOOT_ID:
		return proc_parse_boot_id(path, text, len, s->boot_id, err);
	case NET_DEV:
		return proc_parse_net_dev(path, text, len, &s->net_rx_bytes,
					  &s->net_tx_bytes, err);
	}
	return 0;
}

int collect_stats(const char *proc, struct guest_stats *s, struct mb_err *err)
{
	struct mb_err first = { "" }, this;
	char path[PATH_MAX];
	unsigned int i, problems = 0;

	memset(s, 0, sizeof(*s));
	s->mem_total_kb = s->mem_available_kb = s->committed_as_kb = -1;
	s->swap_total_kb = s->swap_free_kb = -1;
	s->pswpin = s->pswpout = s->pgmajfault = -1;
	s->net_rx_bytes = s->net_tx_bytes = -1;
	s->uptime_s = -1;
	for (i = 0; i < sizeof(stats_files) / sizeof(*stats_files); i++) {
		size_t len;
		char *text;
		int bad;

		snprintf(path, sizeof(path), "%s/%s", proc, stats_files[i]);
		text = read_small_file(path, &len);
		if (!text) {
			/* Absent: not in this kernel (no PSI, or psi=0). */
			if (errno == ENOENT || errno == ENOTDIR ||
			    errno == EOPNOTSUPP)
				continue;
			bad = mb_errf(&this, "%s: %s", path, strerror(errno));
		} else {
			bad = parse_stats_file(i, path, text, len, s, &this);
			free(text);
		}
		if (bad && !problems++)
			first = this;
	}
	if (!problems)
		return 0;
	if (problems > 1)
		return mb_errf(err, "%s (and problems in %u more file%s)",
			       first.msg, problems - 1, problems > 2 ? "s" : "");
	return mb_errf(err, "%s", first.msg);
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

int collect_scan(const char *device, struct scan *out, struct mb_err *err)
{
	return collect_scan_keyed(device, NULL, out, err);
}

/* The device's key for this open file, or why it cannot take one. */
static int set_key(int dev, const char *device, const struct memtrace_key *key,
		   struct mb_err *err)
{
	struct memtrace_key k = *key;
	int ret = 0;

	if (ioctl(dev, MEMTRACE_IOC_SET_KEY, &k))
		ret = mb_errf(err, "%s: cannot set the tenant key: %s", device,
			      errno == ENOTTY ? "this memtrace.ko takes no "
			      "keys (update it); no plain trace is sent "
			      "instead" : strerror(errno));
	explicit_bzero(&k, sizeof(k));
	return ret;
}

int collect_scan_keyed(const char *device, const struct memtrace_key *key,
		       struct scan *out, struct mb_err *err)
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
	if (key && set_key(dev, device, key, err))
		goto out;
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
	if (out->info.key_id != (key ? key->key_id : 0)) {
		mb_errf(err, "trace from %s: keyed with key %08x, expected "
			"%08x", device, out->info.key_id,
			key ? key->key_id : 0);
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
