// SPDX-License-Identifier: GPL-2.0
/*
 * monitor.c - mb-hostd's questions to a QEMU (hostd.h), by one of two
 * ways with the same answers:
 *
 *   - through libvirt, for the domains it runs: virDomainQemuMonitorCommand()
 *     passes a QMP command, or an HMP one with the HMP flag, over the
 *     monitor connection libvirt already holds. libvirt marks the domain
 *     "custom-monitor" tainted in its log the first time; the commands
 *     used only read (docs/hostd.md lists them);
 *   - a QMP socket of QEMU's own (-qmp unix:PATH,server=on,wait=off), for
 *     a QEMU that no libvirt runs (the test beds). QMP is line-based JSON:
 *     a greeting, qmp_capabilities, then one answer per command, with
 *     asynchronous events in between, which are skipped.
 *
 * Answers are bounded (MONITOR_ANSWER_MAX) and every read has a time
 * limit, so a stuck QEMU cannot hold mb-hostd.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hostd.h"

#define MONITOR_ANSWER_MAX (16 << 20)
#define MONITOR_TIMEOUT_MS 30000

struct monitor {
	virDomainPtr dom;		/* through libvirt, or */
	int fd;				/* a QMP socket */
	char path[108];
	char *buf;			/* bytes read, not yet a line */
	size_t len, cap;
};

struct monitor *monitor_libvirt(void *domain)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->dom = domain;
	m->fd = -1;
	return m;
}

/* One line (without '\n'), malloc'ed, or NULL with @err. */
static char *read_line(struct monitor *m, struct mb_err *err)
{
	char *nl, *line;
	struct pollfd p = { .fd = m->fd, .events = POLLIN };
	ssize_t n;
	size_t used;

	for (;;) {
		nl = m->len ? memchr(m->buf, '\n', m->len) : NULL;
		if (nl) {
			used = (size_t)(nl - m->buf);
			line = strndup(m->buf, used);
			memmove(m->buf, nl + 1, m->len - used - 1);
			m->len -= used + 1;
			if (!line)
				mb_errf(err, "QMP %s: out of memory", m->path);
			return line;
		}
		if (m->len == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 65536;
			char *g;

			if (cap > MONITOR_ANSWER_MAX) {
				mb_errf(err, "QMP %s: an answer over %d bytes",
					m->path, MONITOR_ANSWER_MAX);
				return NULL;
			}
			g = realloc(m->buf, cap);
			if (!g) {
				mb_errf(err, "QMP %s: out of memory", m->path);
				return NULL;
			}
			m->buf = g;
			m->cap = cap;
		}
		n = poll(&p, 1, MONITOR_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			mb_errf(err, "QMP %s: no answer in %d s", m->path,
				MONITOR_TIMEOUT_MS / 1000);
			return NULL;
		}
		n = read(m->fd, m->buf + m->len, m->cap - m->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			mb_errf(err, "QMP %s: %s", m->path, n ? strerror(errno) :
				"QEMU closed the connection");
			return NULL;
		}
		m->len += (size_t)n;
	}
}

static int send_all(struct monitor *m, const char *s, struct mb_err *err)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(m->fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mb_errf(err, "QMP %s: %s", m->path,
				       strerror(errno));
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next line that is an answer, not an event: malloc'ed text. */
static char *read_answer(struct monitor *m, struct mb_err *err)
{
	char *line;

	while ((line = read_line(m, err))) {
		if (!strstr(line, "\"event\"") || strstr(line, "\"return\"") ||
		    strstr(line, "\"error\""))
			return line;
		free(line);
	}
	return NULL;
}

/* Send one command (a JSON object) and read its answer line. */
static char *qmp_socket_command(struct monitor *m, const char *command,
				struct mb_err *err)
{
	char *line = malloc(strlen(command) + 2);

	if (!line) {
		mb_errf(err, "QMP %s: out of memory", m->path);
		return NULL;
	}
	sprintf(line, "%s\n", command);
	if (send_all(m, line, err)) {
		free(line);
		return NULL;
	}
	free(line);
	return read_answer(m, err);
}

struct monitor *monitor_qmp_socket(const char *path, struct mb_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct monitor *m;
	char *line;
	json_t *ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		mb_errf(err, "QMP socket path %s is too long", path);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		mb_errf(err, "out of memory");
		return NULL;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	strcpy(sa.sun_path, path);
	m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || connect(m->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		mb_errf(err, "QMP %s: %s", path, strerror(errno));
		goto fail;
	}
	/* The greeting, then leave capabilities negotiation mode. */
	line = read_line(m, err);
	if (!line)
		goto fail;
	if (!strstr(line, "\"QMP\"")) {
		mb_errf(err, "QMP %s: the greeting is not QMP's: %.80s", path,
			line);
		free(line);
		goto fail;
	}
	free(line);
	line = qmp_socket_command(m, "{\"execute\":\"qmp_capabilities\"}",
				  err);
	if (!line)
		goto fail;
	ret = qmp_parse_answer(line, strlen(line), err);
	free(line);
	if (!ret) {
		mb_err_prefix(err, "QMP %s: qmp_capabilities", path);
		goto fail;
	}
	json_decref(ret);
	return m;
fail:
	monitor_close(m);
	return NULL;
}

void monitor_close(struct monitor *m)
{
	if (!m)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m->buf);
	free(m);
}

static const char *virt_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg ? msg : "unknown libvirt error";
}

json_t *monitor_qmp(struct monitor *m, const char *command,
		    struct mb_err *err)
{
	char *answer = NULL;
	json_t *ret;

	if (m->dom) {
		if (virDomainQemuMonitorCommand(m->dom, command, &answer, 0)) {
			mb_errf(err, "libvirt: %s", virt_error());
			return NULL;
		}
	} else if (!(answer = qmp_socket_command(m, command, err))) {
		return NULL;
	}
	ret = qmp_parse_answer(answer, strlen(answer), err);
	free(answer);
	return ret;
}

char *monitor_hmp(struct monitor *m, const char *command, struct mb_err *err)
{
	json_t *j;
	char *text, *answer;

	if (m->dom) {
		if (virDomainQemuMonitorCommand(m->dom, command, &text,
				VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)) {
			mb_errf(err, "libvirt: %s: %s", command, virt_error());
			return NULL;
		}
		return text;
	}
	j = json_pack("{s:s,s:{s:s}}", "execute", "human-monitor-command",
		      "arguments", "command-line", command);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text) {
		mb_errf(err, "out of memory");
		return NULL;
	}
	answer = qmp_socket_command(m, text, err);
	free(text);
	if (!answer)
		return NULL;
	text = qmp_hmp_text(answer, strlen(answer), err);
	free(answer);
	if (!text)
		mb_err_prefix(err, "%s", command);
	return text;
}
