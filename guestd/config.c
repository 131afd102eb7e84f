// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - mb-guestd's options: one getopt_long table for the command
 * line and the config file (daemon/conf.h), flags overriding the file.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "guestd.h"

enum {
	OPT_CONFIG = 'f',
	OPT_CHECK = 'n',
	OPT_HELP = 'h',
	OPT_INTERVAL = 256,
	OPT_ONCE,
	OPT_STATS_INTERVAL,
	OPT_STATS_ONCE,
	OPT_DEVICE,
	OPT_MODULE,
	OPT_VM_UUID,
	OPT_VM_NAME,
	OPT_VERSION,
	OPT_PRESSURE_TRIGGER,
	OPT_PRESSURE_SWAPIN,
	OPT_KEYED,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "stats-once", no_argument, NULL, OPT_STATS_ONCE },
	{ "pressure-trigger", required_argument, NULL, OPT_PRESSURE_TRIGGER },
	{ "pressure-swapin", required_argument, NULL, OPT_PRESSURE_SWAPIN },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "vm-uuid", required_argument, NULL, OPT_VM_UUID },
	{ "vm-name", required_argument, NULL, OPT_VM_NAME },
	{ "keyed", no_argument, NULL, OPT_KEYED },
	AGENT_OPTIONS,
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: mb-guestd --server URL [options]\n"
"\n"
"Scan this VM's memory with memtrace.ko every --interval seconds and upload\n"
"the trace and memory statistics to mb-controld; in between, report memory\n"
"statistics every --stats-interval seconds. Every option can also be given\n"
"in the config file, one per line, without the dashes.\n"
"\n"
"  -f, --config FILE         read options from FILE (flags override it)\n"
"  -n, --check-config        check the configuration and exit\n"
"      --server URL          controld, e.g. https://control:8080\n"
"      --token-file FILE     bearer token for this VM (first line)\n"
"      --ca-file FILE        CA certificate(s) to verify an https server\n"
"      --interval SECONDS    time between scans (default 120)\n"
"      --once                one cycle, then exit with its status (no\n"
"                            statistics reports)\n"
"      --stats-interval S    time between statistics reports (default 5,\n"
"                            0: none)\n"
"      --stats-once          send one statistics report, print it, exit with\n"
"                            its status\n"
"      --pressure-trigger T  report memory pressure at once when this PSI\n"
"                            trigger of /proc/pressure/memory fires\n"
"                            (default \"some 100000 1000000\"; off: none)\n"
"      --pressure-swapin N   report it too at N pages/s swapped in (default\n"
"                            64; 0: not)\n"
"      --device PATH         read the trace from PATH (default /dev/memtrace)\n"
"      --module FILE         memtrace.ko to load when the device is missing\n"
"                            (default: modprobe memtrace)\n"
"      --vm-uuid UUID        identity (default: SMBIOS product_uuid)\n"
"      --vm-name NAME        name sent with the trace (default: hostname)\n"
"      --keyed               keyed scans: fetch this VM's tenant key from\n"
"                            controld before each scan and digest with xxh64\n"
"                            under it, so a leaked trace reveals no known\n"
"                            contents; never a plain trace instead (needs a\n"
"                            memtrace.ko that takes keys; use https)\n"
"      --retries N           retries after a failed upload (default 5)\n"
"      --retry-max-delay S   longest wait between retries (default 60)\n"
"      --timeout SECONDS     limit for one upload (default 300); a report\n"
"                            gets at most its interval\n"
"      --syslog              log to syslog instead of stderr\n"
"      --verbose             log every cycle\n"
"  -h, --help                this text\n"
"      --version             print the version\n"
"\n"
"Exit status of --once: 0 stored, 2 usage, 3 no trace (module, device,\n"
"invalid trace), 4 refused by controld, 5 controld unreachable after all\n"
"retries, 6 another scan is running, 1 other failure. Of --stats-once:\n"
"0 accepted, 2 usage, 4 refused (404: controld has no stats route), 5\n"
"unreachable or 5xx (one try), 1 other failure.\n");
}

static int apply(void *ctx, int val, const char *arg, struct mb_err *err)
{
	struct guestd_config *c = ctx;
	unsigned long long v;
	uint8_t uuid[MBT_UUID_LEN];
	int ret = agent_option_apply(&c->agent, val, arg, err);

	if (ret <= 0)
		return ret;
	switch (val) {
	case OPT_CONFIG:
		c->config_file = arg;
		return 0;
	case OPT_CHECK:
		c->check_only = true;
		return 0;
	case OPT_INTERVAL:
		if (conf_parse_uint("interval", arg, 1, 86400 * 7, &v, err))
			return -1;
		c->interval = v;
		return 0;
	case OPT_ONCE:
		c->once = true;
		return 0;
	case OPT_STATS_INTERVAL:
		if (conf_parse_uint("stats-interval", arg, 0, 86400, &v, err))
			return -1;
		c->stats_interval = v;
		return 0;
	case OPT_STATS_ONCE:
		c->stats_once = true;
		return 0;
	case OPT_PRESSURE_TRIGGER:
		if (strcmp(arg, "off") && pressure_trigger_check(arg, err))
			return -1;
		return conf_set_str(&c->pressure_trigger, arg, err);
	case OPT_PRESSURE_SWAPIN:
		if (conf_parse_uint("pressure-swapin", arg, 0, 1 << 30, &v,
				    err))
			return -1;
		c->pressure_swapin = v;
		return 0;
	case OPT_DEVICE:
		c->device_given = true;
		return conf_set_str(&c->device, arg, err);
	case OPT_MODULE:
		return conf_set_str(&c->module, arg, err);
	case OPT_VM_UUID:
		if (mb_uuid_parse(arg, uuid))
			return mb_errf(err, "vm-uuid: '%s' is not a uuid", arg);
		return conf_set_str(&c->vm_uuid, arg, err);
	case OPT_KEYED:
		c->keyed = true;
		return 0;
	case OPT_VM_NAME:
		if (strlen(arg) >= MBT_NAME_LEN)
			return mb_errf(err, "vm-name: longer than %d bytes",
				       MBT_NAME_LEN - 1);
		return conf_set_str(&c->vm_name, arg, err);
	}
	return mb_errf(err, "option not allowed here");
}

/* Returns 0 to run, 1 after --help/--version, -1 on error. */
int guestd_config_parse(struct guestd_config *c, int argc, char **argv,
			struct mb_err *err)
{
	const struct conf_cli cli = {
		.program = "mb-guestd",
		.options = options,
		.shortopts = "f:nh",
		.apply = apply,
		.ctx = c,
		.version_val = OPT_VERSION,
		.usage = usage,
	};
	int ret;

	memset(c, 0, sizeof(*c));
	agent_options_init(&c->agent);
	c->interval = 120;
	c->stats_interval = 5;
	c->pressure_trigger = strdup("some 100000 1000000");
	c->pressure_swapin = 64;
	c->device = strdup("/dev/memtrace");
	ret = conf_parse_cli(&cli, argc, argv, err);
	if (ret == 0 && !c->agent.server)
		return mb_errf(err, "no --server given (e.g. --server "
			       "http://10.0.2.2:8080)");
	if (ret == 0 && c->once && c->stats_once)
		return mb_errf(err, "--once (a trace) and --stats-once (a "
			       "statistics report) exclude each other");
	return ret;
}

void guestd_config_free(struct guestd_config *c)
{
	agent_options_free(&c->agent);
	free(c->device);
	free(c->module);
	free(c->vm_uuid);
	free(c->vm_name);
	free(c->pressure_trigger);
}
