// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_guestd_proc.c - mb-guestd's parsers of /proc text (guestd/procfs.c:
 * pressure/memory, meminfo, vmstat, uptime, net/dev, boot_id), each given the same
 * arbitrary bytes in a buffer of exactly their size, without a NUL at the
 * end. None may crash or read past the end; whatever they report must be
 * in range (PSI averages are percentages, counts are never negative but
 * for -1, "not reported"); a refusal must name the file and a line. The
 * --pressure-trigger check gets the bytes as a string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../guestd/guestd.h"

static void check_message(int ret, const struct mb_err *err, const char *name)
{
	size_t n = strlen(name);

	if (ret == 0)
		return;
	if (ret != -1 || !memchr(err->msg, '\0', sizeof(err->msg)) ||
	    strncmp(err->msg, name, n) || err->msg[n] != ':')
		abort();
}

static void check_psi_line(const struct psi_line *l)
{
	if (!l->reported)
		return;
	if (!(l->avg10 >= 0 && l->avg10 <= 100) ||
	    !(l->avg60 >= 0 && l->avg60 <= 100) ||
	    !(l->avg300 >= 0 && l->avg300 <= 100) || l->total_us < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_stats s;
	const struct proc_counter counters[] = {
		{ "MemTotal", ':', " kB", &s.mem_total_kb },
		{ "MemAvailable", ':', " kB", &s.mem_available_kb },
		{ "pswpin", ' ', NULL, &s.pswpin },
		{ "pgmajfault", ' ', NULL, &s.pgmajfault },
	};
	struct mb_err err;
	char *text = malloc(size ? size : 1);
	size_t i;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);

	ret = proc_parse_psi("memory", text, size, &s.psi, &err);
	check_message(ret, &err, "memory");
	check_psi_line(&s.psi.some);
	check_psi_line(&s.psi.full);

	ret = proc_parse_counters("counters", text, size, counters,
				  sizeof(counters) / sizeof(*counters), &err);
	check_message(ret, &err, "counters");
	for (i = 0; i < sizeof(counters) / sizeof(*counters); i++)
		if (*counters[i].value < -1)
			abort();

	ret = proc_parse_uptime("uptime", text, size, &s.uptime_s, &err);
	check_message(ret, &err, "uptime");
	if (s.uptime_s < 0 && s.uptime_s != -1)
		abort();

	ret = proc_parse_net_dev("dev", text, size, &s.net_rx_bytes,
				 &s.net_tx_bytes, &err);
	check_message(ret, &err, "dev");
	if (s.net_rx_bytes < -1 || s.net_tx_bytes < -1)
		abort();

	ret = proc_parse_boot_id("boot_id", text, size, s.boot_id, &err);
	check_message(ret, &err, "boot_id");
	if (s.boot_id[0] && strlen(s.boot_id) != 36)
		abort();
	free(text);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ret = pressure_trigger_check(text, &err);
	if ((ret != 0 && ret != -1) ||
	    (ret == 0 && strncmp(text, "some ", 5) && strncmp(text, "full ", 5)))
		abort();
	free(text);
	return 0;
}
