// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_daemon_conf.c - the daemons' config-file parser (daemon/conf.c)
 * with mb-controld's option names: any input either applies options or
 * fails with a message naming the line; never crashes or overflows.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../daemon/conf.h"

static const struct option options[] = {
	{ "listen", required_argument, NULL, 1 },
	{ "port", required_argument, NULL, 2 },
	{ "keep", required_argument, NULL, 3 },
	{ "fsync", required_argument, NULL, 4 },
	{ "insecure-no-auth", no_argument, NULL, 5 },
	{ "legacy-vm", optional_argument, NULL, 6 },
	{ "config", required_argument, NULL, 7 },
	{ NULL, 0, NULL, 0 },
};

static int apply(void *ctx, int val, const char *arg, struct mb_err *err)
{
	unsigned long long v;
	int b;

	(void)ctx;
	switch (val) {
	case 2:
		return conf_parse_uint("port", arg, 0, 65535, &v, err);
	case 3:
		return conf_parse_uint("keep", arg, 1, 1000000, &v, err);
	case 4:
		return conf_parse_bool("fsync", arg, &b, err);
	case 1:
	case 6:
		return arg && strlen(arg) > 4095 ? -1 : 0;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_err err;

	if (conf_load_text("fuzz.conf", (const char *)data, size, options,
			   apply, NULL, &err) &&
	    !memchr(err.msg, '\0', sizeof(err.msg)))
		__builtin_trap();
	return 0;
}
