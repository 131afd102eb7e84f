// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - mb-hostd's options: one getopt_long table for the command
 * line and the config file (daemon/conf.h), flags overriding the file;
 * --qmp and --domain add to a list wherever they are given.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "digest.h"
#include "hostd.h"

enum {
	OPT_CONFIG = 'f',
	OPT_CHECK = 'n',
	OPT_HELP = 'h',
	OPT_CONNECT = 256,
	OPT_QMP,
	OPT_DOMAIN,
	OPT_OUTPUT_DIR,
	OPT_INTERVAL,
	OPT_ONCE,
	OPT_ALGO,
	OPT_MAX_CPU,
	OPT_NICE,
	OPT_IONICE,
	OPT_CHUNK_PAGES,
	OPT_UNMAPPED_BLOCKS,
	OPT_METRICS_FILE,
	OPT_VERSION,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "output-dir", required_argument, NULL, OPT_OUTPUT_DIR },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "algo", required_argument, NULL, OPT_ALGO },
	{ "max-cpu", required_argument, NULL, OPT_MAX_CPU },
	{ "nice", required_argument, NULL, OPT_NICE },
	{ "ionice", required_argument, NULL, OPT_IONICE },
	{ "chunk-pages", required_argument, NULL, OPT_CHUNK_PAGES },
	{ "unmapped-blocks", required_argument, NULL, OPT_UNMAPPED_BLOCKS },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	AGENT_OPTIONS,
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: mb-hostd (--server URL | --output-dir DIR) [options]\n"
"\n"
"Hash the memory of every QEMU guest on this host from outside, out of its\n"
"QEMU process, every --interval seconds, and upload each trace to\n"
"mb-controld under the domain's uuid with this host's token. No module in\n"
"the guests is needed. Every option can also be given in the config file,\n"
"one per line, without the dashes.\n"
"\n"
"  -f, --config FILE         read options from FILE (flags override it)\n"
"  -n, --check-config        check the configuration and exit\n"
"      --connect URI         libvirt of the guests (default qemu:///system)\n"
"      --qmp SOCKET          a QEMU's own QMP socket instead of libvirt (may\n"
"                            be given more than once)\n"
"      --domain NAME|UUID    only this domain (may be given more than once)\n"
"      --server URL          controld, e.g. https://control:8080\n"
"      --token-file FILE     this host's bearer token (first line)\n"
"      --ca-file FILE        CA certificate(s) to verify an https server\n"
"      --output-dir DIR      also write each trace to DIR/UUID.mbt (the only\n"
"                            output without --server)\n"
"      --interval SECONDS    time from the start of a cycle over every\n"
"                            domain to the next (default 300)\n"
"      --once                one cycle, then exit with its status\n"
"      --algo NAME           digest: superfast (default), xxh32, xxh64\n"
"      --max-cpu PERCENT     CPU budget of a scan, percent of one CPU\n"
"                            (default 25; 100: no limit)\n"
"      --nice N              scheduling priority, -20..19 (default 10)\n"
"      --ionice CLASS        idle (default), best-effort[:0-7] or off\n"
"      --chunk-pages N       pages per read of guest memory (default 256)\n"
"      --unmapped-blocks include|skip\n"
"                            QEMU's RAM blocks no guest address reaches\n"
"                            (ROM images, firmware tables): in the trace\n"
"                            from PFN 2^40 (default), or left out\n"
"      --metrics-file FILE   write metrics (Prometheus text) to FILE\n"
"      --retries N           retries after a failed upload (default 5)\n"
"      --retry-max-delay S   longest wait between retries (default 60)\n"
"      --timeout SECONDS     limit for one upload (default 300)\n"
"      --syslog              log to syslog instead of stderr\n"
"      --verbose             log every block and every domain's cycle\n"
"  -h, --help                this text\n"
"      --version             print the version\n"
"\n"
"Exit status of --once: 0 every trace stored, 2 usage, 3 a domain could not\n"
"be scanned (or no domain runs), 4 controld refused a trace, 5 controld\n"
"unreachable after all retries, 1 other failure.\n");
}

static int add_str(char ***list, unsigned int *n, const char *arg)
{
	char **g = realloc(*list, (*n + 1) * sizeof(*g));

	if (!g)
		return -1;
	*list = g;
	if (!(g[*n] = strdup(arg)))
		return -1;
	(*n)++;
	return 0;
}

struct parse_state {
	struct hostd_config *c;
	bool connect_given;
};

static int parse_ionice(struct hostd_config *c, const char *arg,
			struct mb_err *err)
{
	unsigned long long v;

	if (!strcmp(arg, "idle")) {
		c->ionice = IONICE_IDLE;
		return 0;
	}
	if (!strcmp(arg, "off")) {
		c->ionice = IONICE_OFF;
		return 0;
	}
	if (!strcmp(arg, "best-effort")) {
		c->ionice = IONICE_BEST_EFFORT;
		c->ionice_level = 7;
		return 0;
	}
	if (!strncmp(arg, "best-effort:", 12)) {
		if (conf_parse_uint("ionice best-effort level", arg + 12, 0, 7,
				    &v, err))
			return -1;
		c->ionice = IONICE_BEST_EFFORT;
		c->ionice_level = (unsigned int)v;
		return 0;
	}
	return mb_errf(err, "ionice: '%s' is not idle, best-effort[:0-7] or "
		       "off", arg);
}

static int apply(void *ctx, int val, const char *arg, struct mb_err *err)
{
	struct parse_state *ps = ctx;
	struct hostd_config *c = ps->c;
	unsigned long long v;
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
	case OPT_CONNECT:
		ps->connect_given = true;
		return conf_set_str(&c->connect, arg, err);
	case OPT_QMP:
		return add_str(&c->qmp, &c->nqmp, arg);
	case OPT_DOMAIN:
		return add_str(&c->domains, &c->ndomains, arg);
	case OPT_OUTPUT_DIR:
		return conf_set_str(&c->output_dir, arg, err);
	case OPT_INTERVAL:
		if (conf_parse_uint("interval", arg, 1, 86400 * 7, &v, err))
			return -1;
		c->interval = (unsigned int)v;
		return 0;
	case OPT_ONCE:
		c->once = true;
		return 0;
	case OPT_ALGO:
		c->algo = mb_algo_parse(arg);
		if (c->algo < 0)
			return mb_errf(err, "algo: '%s' is not one of %s", arg,
				       mb_algo_names());
		return 0;
	case OPT_MAX_CPU:
		if (conf_parse_uint("max-cpu", arg, 1, 100, &v, err))
			return -1;
		c->max_cpu = (unsigned int)v;
		return 0;
	case OPT_NICE: {
		char *end;
		long n = strtol(arg, &end, 10);

		if (!*arg || *end || n < -20 || n > 19)
			return mb_errf(err, "nice: '%s' is not a number in "
				       "-20..19", arg);
		c->nice = (int)n;
		return 0;
	}
	case OPT_IONICE:
		return parse_ionice(c, arg, err);
	case OPT_CHUNK_PAGES:
		if (conf_parse_uint("chunk-pages", arg, 1, 16384, &v, err))
			return -1;
		c->chunk_pages = (unsigned int)v;
		return 0;
	case OPT_UNMAPPED_BLOCKS:
		if (strcmp(arg, "include") && strcmp(arg, "skip"))
			return mb_errf(err, "unmapped-blocks: '%s' is not "
				       "include or skip", arg);
		c->unmapped_blocks = !strcmp(arg, "include");
		return 0;
	case OPT_METRICS_FILE:
		return conf_set_str(&c->metrics_file, arg, err);
	}
	return mb_errf(err, "option not allowed here");
}

int hostd_config_parse(struct hostd_config *c, int argc, char **argv,
		       struct mb_err *err)
{
	struct parse_state ps = { .c = c };
	const struct conf_cli cli = {
		.program = "mb-hostd",
		.options = options,
		.shortopts = "f:nh",
		.apply = apply,
		.ctx = &ps,
		.version_val = OPT_VERSION,
		.usage = usage,
	};
	int ret;

	memset(c, 0, sizeof(*c));
	agent_options_init(&c->agent);
	c->connect = strdup("qemu:///system");
	c->interval = 300;
	c->algo = MB_ALGO_SUPERFAST;
	c->max_cpu = 25;
	c->nice = 10;
	c->ionice = IONICE_IDLE;
	c->chunk_pages = 256;
	c->unmapped_blocks = true;
	ret = conf_parse_cli(&cli, argc, argv, err);
	if (ret)
		return ret;
	if (!c->agent.server && !c->output_dir)
		return mb_errf(err, "no --server (e.g. --server "
			       "https://control:8080) and no --output-dir: "
			       "the traces would go nowhere");
	if (c->nqmp && ps.connect_given)
		return mb_errf(err, "--qmp (QEMUs of their own) and --connect "
			       "(libvirt) exclude each other");
	return 0;
}

void hostd_config_free(struct hostd_config *c)
{
	unsigned int i;

	free(c->connect);
	for (i = 0; i < c->nqmp; i++)
		free(c->qmp[i]);
	free(c->qmp);
	for (i = 0; i < c->ndomains; i++)
		free(c->domains[i]);
	free(c->domains);
	agent_options_free(&c->agent);
	free(c->output_dir);
	free(c->metrics_file);
}
