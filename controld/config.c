// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - mb-controld's options. One getopt_long table serves both the
 * command line and the config file, so the two cannot drift apart; the
 * --help text below and docs/mb-controld.8 list the same options.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "hotspot.h"
#include "conf.h"
#include "config.h"
#include "inventory.h"
#include "snapshot.h"

enum {
	OPT_CONFIG = 'f',
	OPT_CHECK = 'n',
	OPT_HELP = 'h',
	OPT_LISTEN = 256,
	OPT_PORT,
	OPT_PORT_FILE,
	OPT_DATADIR,
	OPT_KEEP,
	OPT_MAX_UPLOAD,
	OPT_TOKENS,
	OPT_INSECURE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_LEGACY_PORT,
	OPT_LEGACY_VM,
	OPT_SYSLOG,
	OPT_FSYNC,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_CONNECTIONS_PER_IP,
	OPT_HEADER_TIMEOUT,
	OPT_MIN_UPLOAD_RATE,
	OPT_TLS_PRIORITY,
	OPT_LEGACY_MAX_CONNECTIONS,
	OPT_LEGACY_TIMEOUT,
	OPT_SHARING_SCOPE,
	OPT_PREFER_TRACES,
	OPT_VERBOSE,
	OPT_VERSION,
	OPT_HOST,
	OPT_INVENTORY_INTERVAL,
	OPT_PLAN_INTERVAL,
	OPT_MIN_GAIN,
	OPT_MAX_MOVES,
	OPT_APPLY,
	OPT_MAX_MIGRATIONS,
	OPT_MIGRATE_BANDWIDTH,
	OPT_MIGRATE_TIMEOUT,
	OPT_RETRY_AFTER,
	OPT_SWAP_THRESHOLD,
	OPT_MAX_RESIZES,
	OPT_RESIZE_TIMEOUT,
	OPT_RESIZE_FLOOR,
	OPT_STATS_INTERVAL,
	OPT_STATS_WINDOW,
	OPT_STATS_KEEP_DAYS,
	OPT_BALANCE,
	OPT_BALANCE_INTERVAL,
	OPT_SANDPIPER,
	OPT_SP_K,
	OPT_SP_N,
	OPT_SP_WINDOW,
	OPT_SP_AR,
	OPT_SP_HOLDOFF,
	OPT_SP_CPU,
	OPT_SP_NET,
	OPT_SP_MEM,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "datadir", required_argument, NULL, OPT_DATADIR },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "max-upload", required_argument, NULL, OPT_MAX_UPLOAD },
	{ "tokens", required_argument, NULL, OPT_TOKENS },
	{ "insecure-no-auth", no_argument, NULL, OPT_INSECURE },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "legacy-port", required_argument, NULL, OPT_LEGACY_PORT },
	{ "legacy-vm", required_argument, NULL, OPT_LEGACY_VM },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "fsync", required_argument, NULL, OPT_FSYNC },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "max-connections-per-ip", required_argument, NULL, OPT_MAX_CONNECTIONS_PER_IP },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "min-upload-rate", required_argument, NULL, OPT_MIN_UPLOAD_RATE },
	{ "tls-priority", required_argument, NULL, OPT_TLS_PRIORITY },
	{ "legacy-max-connections", required_argument, NULL, OPT_LEGACY_MAX_CONNECTIONS },
	{ "legacy-timeout", required_argument, NULL, OPT_LEGACY_TIMEOUT },
	{ "sharing-scope", required_argument, NULL, OPT_SHARING_SCOPE },
	{ "prefer-traces", required_argument, NULL, OPT_PREFER_TRACES },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "inventory-interval", required_argument, NULL, OPT_INVENTORY_INTERVAL },
	{ "plan-interval", required_argument, NULL, OPT_PLAN_INTERVAL },
	{ "min-gain-mb", required_argument, NULL, OPT_MIN_GAIN },
	{ "max-moves", required_argument, NULL, OPT_MAX_MOVES },
	{ "apply", no_argument, NULL, OPT_APPLY },
	{ "max-concurrent-migrations", required_argument, NULL, OPT_MAX_MIGRATIONS },
	{ "migrate-bandwidth", required_argument, NULL, OPT_MIGRATE_BANDWIDTH },
	{ "migrate-timeout", required_argument, NULL, OPT_MIGRATE_TIMEOUT },
	{ "retry-after", required_argument, NULL, OPT_RETRY_AFTER },
	{ "swap-threshold", required_argument, NULL, OPT_SWAP_THRESHOLD },
	{ "max-concurrent-resizes", required_argument, NULL, OPT_MAX_RESIZES },
	{ "resize-timeout", required_argument, NULL, OPT_RESIZE_TIMEOUT },
	{ "resize-floor-mb", required_argument, NULL, OPT_RESIZE_FLOOR },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "stats-window", required_argument, NULL, OPT_STATS_WINDOW },
	{ "stats-keep-days", required_argument, NULL, OPT_STATS_KEEP_DAYS },
	{ "balance", required_argument, NULL, OPT_BALANCE },
	{ "balance-interval", required_argument, NULL, OPT_BALANCE_INTERVAL },
	{ "sandpiper", required_argument, NULL, OPT_SANDPIPER },
	{ "sandpiper-k", required_argument, NULL, OPT_SP_K },
	{ "sandpiper-n", required_argument, NULL, OPT_SP_N },
	{ "sandpiper-window", required_argument, NULL, OPT_SP_WINDOW },
	{ "sandpiper-ar-order", required_argument, NULL, OPT_SP_AR },
	{ "sandpiper-holdoff", required_argument, NULL, OPT_SP_HOLDOFF },
	{ "sandpiper-cpu-threshold", required_argument, NULL, OPT_SP_CPU },
	{ "sandpiper-net-threshold", required_argument, NULL, OPT_SP_NET },
	{ "sandpiper-mem-threshold", required_argument, NULL, OPT_SP_MEM },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void config_usage(FILE *out)
{
	fprintf(out,
"usage: mb-controld [options]\n"
"\n"
"Receive, validate and store Memory Buddies traces (HTTP API, see\n"
"docs/api.md). Every option can also be given in the config file, one per\n"
"line, without the dashes.\n"
"\n"
"  -f, --config FILE         read options from FILE (flags override it)\n"
"  -n, --check-config        check the configuration and exit\n"
"      --listen ADDR         address to listen on (default 127.0.0.1)\n"
"      --port N              HTTP(S) port (default 8080; 0 = any free port)\n"
"      --port-file FILE      write \"http PORT\" (and \"legacy PORT\") here\n"
"      --datadir DIR         trace store and catalogue\n"
"                            (default /var/lib/memory-buddies)\n"
"      --keep N              versions kept per VM (default 10)\n"
"      --max-upload BYTES    largest trace accepted (default 268435456)\n"
"      --tokens FILE         bearer tokens: \"<vm-uuid> TOKEN [tenant=NAME]\"\n"
"                            or \"admin TOKEN\" per line; reloaded on SIGHUP\n"
"      --insecure-no-auth    accept every request without a token\n"
"      --tls-cert FILE       serve HTTPS with this PEM certificate ...\n"
"      --tls-key FILE        ... and this PEM private key\n"
"      --tls-priority STR    GnuTLS priority string (default: TLS 1.2 and 1.3,\n"
"                            forward-secret AEAD suites only)\n"
"      --legacy-port N       also accept the old raw TCP digest upload on N\n"
"      --legacy-vm NAME      VM name for legacy uploads (default: peer address)\n"
"      --legacy-max-connections N  legacy connections at once (default 64)\n"
"      --legacy-timeout S    longest a legacy upload may take (default 600)\n"
"      --syslog              log to syslog instead of stderr\n"
"      --fsync yes|no        fsync traces and directories (default yes)\n"
"      --shutdown-timeout S  seconds SIGTERM waits for uploads (default 10)\n"
"      --max-connections N   concurrent HTTP connections (default 512; a\n"
"                            quarter is kept for authenticated requests)\n"
"      --max-connections-per-ip N  from one address, HTTP and legacy each\n"
"                            (default 32; 0 = no limit)\n"
"      --header-timeout S    a request's headers, or a legacy upload's first\n"
"                            bytes, must come within S s (default 10)\n"
"      --min-upload-rate B   cut bodies slower than B bytes/s over each\n"
"                            --header-timeout period (default 1024; 0 = none)\n"
"      --verbose             log every request\n"
"\n"
"The controller (docs/operations.md; off unless --host is given):\n"
"      --host SPEC           a libvirt host, repeatable: NAME,URI[,capacity=MB]\n"
"                            [,reserve=MB][,migrate-uri=URI]\n"
"                            [,balloon=libvirt|xenctrl][,cpus=N]\n"
"                            [,net-mbps=N] (the last two: --sandpiper)\n"
"      --inventory-interval S  list the hosts' domains every S s (default 30)\n"
"      --plan-interval S     make a plan every S s (default 300; 0 = only\n"
"                            on request)\n"
"      --min-gain-mb N       smallest saving a move must bring (default 64)\n"
"      --max-moves N         moves per plan at most (default 4)\n"
"      --apply               carry plans out (default: dry run, plans are\n"
"                            only shown until POST /v1/plan/apply)\n"
"      --max-concurrent-migrations N  at once (default 1)\n"
"      --migrate-bandwidth MIBS  migration bandwidth limit (default: none)\n"
"      --migrate-timeout S   abort a migration after S s (default 600)\n"
"      --retry-after S       wait before retrying a failed move (default 600)\n"
"      --swap-threshold N    guest pages/s swapped that make a hotspot\n"
"                            (default 100)\n"
"      --max-concurrent-resizes N  balloon resizes at once (default 4)\n"
"      --resize-timeout S    abort a resize whose balloon is not there after\n"
"                            S s (default 120)\n"
"      --resize-floor-mb N   never resize a VM below N MiB (default 256)\n"
"      --balance MODE        balance memory through the balloons: cagma,\n"
"                            proportional or off (default off;\n"
"                            docs/balancing.md)\n"
"      --balance-interval S  a balancing round every S s (default 10)\n"
"      --sandpiper MODE      CPU, network and memory hotspots resolved by\n"
"                            migration: black, gray or off (default off;\n"
"                            docs/hotspots.md)\n"
"      --sandpiper-k N, --sandpiper-n N  hot when k of the last n\n"
"                            observations are over (default 3 of 5)\n"
"      --sandpiper-cpu-threshold P, --sandpiper-net-threshold P,\n"
"      --sandpiper-mem-threshold P  percent of capacity (default 75 each)\n"
"      --sandpiper-window N  observations the forecast is fitted to (12)\n"
"      --sandpiper-ar-order N  order of the forecast's AR model (1)\n"
"      --sandpiper-holdoff S  no VM moves twice within S s (default 120)\n"
"      --sharing-scope tenant|global  count sharing, and colocate for it,\n"
"                            only between VMs of one tenant (default tenant;\n"
"                            docs/security.md)\n"
"      --prefer-traces guest|host|newest  a VM with a guest trace and a\n"
"                            host-side one (mb-hostd) is planned with the\n"
"                            guest's (default), the host's, or the newest\n"
"                            (docs/hostd.md)\n"
"\n"
"Live statistics (docs/api.md, GET /v1/vms/{uuid}/stats):\n"
"      --stats-interval S    libvirt statistics every S s (default 5;\n"
"                            0 = none; guests report on their own)\n"
"      --stats-window S      seconds of samples kept in memory (default 3600)\n"
"      --stats-keep-days N   days of minute averages kept in control.db\n"
"                            (default 7; 0 = forever)\n"
"  -h, --help                this text\n"
"      --version             print the version\n");
}

static int set_str(char **dst, const char *arg, struct mb_err *err)
{
	free(*dst);
	*dst = strdup(arg);
	return *dst ? 0 : mb_errf(err, "out of memory");
}

static int apply_uint(struct controld_config *c, int val, const char *arg,
		      struct mb_err *err);

static int apply(void *ctx, int val, const char *arg, struct mb_err *err)
{
	struct controld_config *c = ctx;
	unsigned long long v;
	int b;

	switch (val) {
	case OPT_CONFIG:
		c->config_file = arg;
		return 0;
	case OPT_CHECK:
		c->check_only = true;
		return 0;
	case OPT_LISTEN:
		return set_str(&c->listen, arg, err);
	case OPT_PORT:
		if (conf_parse_uint("port", arg, 0, 65535, &v, err))
			return -1;
		c->port = v;
		return 0;
	case OPT_PORT_FILE:
		return set_str(&c->port_file, arg, err);
	case OPT_DATADIR:
		return set_str(&c->datadir, arg, err);
	case OPT_KEEP:
		if (conf_parse_uint("keep", arg, 1, 1000000, &v, err))
			return -1;
		c->keep = v;
		return 0;
	case OPT_MAX_UPLOAD:
		if (conf_parse_uint("max-upload", arg, 296, 1ULL << 40, &v,
				    err))
			return -1;
		c->max_upload = v;
		return 0;
	case OPT_TOKENS:
		return set_str(&c->tokens, arg, err);
	case OPT_INSECURE:
		c->insecure_no_auth = true;
		return 0;
	case OPT_TLS_CERT:
		return set_str(&c->tls_cert, arg, err);
	case OPT_TLS_KEY:
		return set_str(&c->tls_key, arg, err);
	case OPT_LEGACY_PORT:
		if (conf_parse_uint("legacy-port", arg, 0, 65535, &v, err))
			return -1;
		c->legacy_port = v;
		c->legacy_enabled = true;
		return 0;
	case OPT_LEGACY_VM:
		return set_str(&c->legacy_vm, arg, err);
	case OPT_SYSLOG:
		c->syslog = true;
		return 0;
	case OPT_FSYNC:
		if (conf_parse_bool("fsync", arg, &b, err))
			return -1;
		c->fsync = b;
		return 0;
	case OPT_SHUTDOWN_TIMEOUT:
		if (conf_parse_uint("shutdown-timeout", arg, 0, 3600, &v, err))
			return -1;
		c->shutdown_timeout = v;
		return 0;
	case OPT_MAX_CONNECTIONS:
		if (conf_parse_uint("max-connections", arg, 1, 100000, &v,
				    err))
			return -1;
		c->max_connections = v;
		return 0;
	case OPT_TLS_PRIORITY:
		return set_str(&c->tls_priority, arg, err);
	case OPT_SHARING_SCOPE:
		if (!strcmp(arg, "tenant") || !strcmp(arg, "global")) {
			c->sharing_global = !strcmp(arg, "global");
			return 0;
		}
		return mb_errf(err, "sharing-scope: '%s' is not tenant or "
			       "global", arg);
	case OPT_PREFER_TRACES:
		if (!strcmp(arg, "guest"))
			c->prefer_traces = TRACE_PREFER_GUEST;
		else if (!strcmp(arg, "host"))
			c->prefer_traces = TRACE_PREFER_HOST;
		else if (!strcmp(arg, "newest"))
			c->prefer_traces = TRACE_PREFER_NEWEST;
		else
			return mb_errf(err, "prefer-traces: '%s' is not guest, "
				       "host or newest", arg);
		return 0;
	case OPT_VERBOSE:
		c->verbose = true;
		return 0;
	case OPT_HOST: {
		char **grown = realloc(c->hosts, (c->nhosts + 1) *
				       sizeof(*grown));

		if (!grown)
			return mb_errf(err, "host: out of memory");
		c->hosts = grown;
		c->hosts[c->nhosts] = strdup(arg);
		if (!c->hosts[c->nhosts])
			return mb_errf(err, "host: out of memory");
		c->nhosts++;
		return 0;
	}
	case OPT_APPLY:
		c->apply = true;
		return 0;
	case OPT_SANDPIPER:
		if (!strcmp(arg, "off"))
			c->sandpiper = -1;
		else if (!strcmp(arg, "black"))
			c->sandpiper = MB_HS_BLACK;
		else if (!strcmp(arg, "gray"))
			c->sandpiper = MB_HS_GRAY;
		else
			return mb_errf(err, "sandpiper: '%s' is not black, "
				       "gray or off", arg);
		return 0;
	case OPT_BALANCE: {
		enum mb_balance_mode m;

		if (!strcmp(arg, "off")) {
			c->balance = -1;
			return 0;
		}
		if (mb_balance_mode_parse(arg, &m))
			return mb_errf(err, "balance: '%s' is not cagma, "
				       "proportional or off", arg);
		c->balance = m;
		return 0;
	}
	}
	return apply_uint(c, val, arg, err);
}

static int apply_uint(struct controld_config *c, int val, const char *arg,
		      struct mb_err *err)
{
	static const struct {
		int val;
		const char *name;
		unsigned long long min, max;
		size_t off;
	} uints[] = {
#define U(v, n, lo, hi, f) { v, n, lo, hi, offsetof(struct controld_config, f) }
		U(OPT_INVENTORY_INTERVAL, "inventory-interval", 1, 86400,
		  inventory_interval),
		U(OPT_PLAN_INTERVAL, "plan-interval", 0, 86400 * 7,
		  plan_interval),
		U(OPT_MIN_GAIN, "min-gain-mb", 0, 1 << 24, min_gain_mb),
		U(OPT_MAX_MOVES, "max-moves", 0, 10000, max_moves),
		U(OPT_MAX_MIGRATIONS, "max-concurrent-migrations", 1, 64,
		  max_migrations),
		U(OPT_MIGRATE_BANDWIDTH, "migrate-bandwidth", 0, 1 << 20,
		  migrate_bandwidth),
		U(OPT_MIGRATE_TIMEOUT, "migrate-timeout", 1, 86400,
		  migrate_timeout),
		U(OPT_RETRY_AFTER, "retry-after", 0, 86400 * 7, retry_after),
		U(OPT_SWAP_THRESHOLD, "swap-threshold", 0, 1 << 30,
		  swap_threshold),
		U(OPT_MAX_RESIZES, "max-concurrent-resizes", 1, 1024,
		  max_resizes),
		U(OPT_RESIZE_TIMEOUT, "resize-timeout", 1, 86400,
		  resize_timeout),
		U(OPT_RESIZE_FLOOR, "resize-floor-mb", 1, 1 << 24,
		  resize_floor_mb),
		U(OPT_STATS_INTERVAL, "stats-interval", 0, 3600,
		  stats_interval),
		U(OPT_STATS_WINDOW, "stats-window", 60, 86400 * 7,
		  stats_window),
		U(OPT_STATS_KEEP_DAYS, "stats-keep-days", 0, 36500,
		  stats_keep_days),
		U(OPT_BALANCE_INTERVAL, "balance-interval", 1, 86400,
		  balance_interval),
		U(OPT_SP_K, "sandpiper-k", 1, 100, sandpiper_k),
		U(OPT_SP_N, "sandpiper-n", 1, 100, sandpiper_n),
		U(OPT_SP_WINDOW, "sandpiper-window", 2, 256, sandpiper_window),
		U(OPT_SP_AR, "sandpiper-ar-order", 0, 8, sandpiper_ar_order),
		U(OPT_SP_HOLDOFF, "sandpiper-holdoff", 0, 86400,
		  sandpiper_holdoff),
		U(OPT_SP_CPU, "sandpiper-cpu-threshold", 1, 100,
		  sandpiper_threshold[0]),
		U(OPT_SP_NET, "sandpiper-net-threshold", 1, 100,
		  sandpiper_threshold[1]),
		U(OPT_SP_MEM, "sandpiper-mem-threshold", 1, 100,
		  sandpiper_threshold[2]),
		U(OPT_MAX_CONNECTIONS_PER_IP, "max-connections-per-ip", 0,
		  100000, max_connections_per_ip),
		U(OPT_HEADER_TIMEOUT, "header-timeout", 1, 3600,
		  header_timeout),
		U(OPT_MIN_UPLOAD_RATE, "min-upload-rate", 0, 1 << 30,
		  min_upload_rate),
		U(OPT_LEGACY_MAX_CONNECTIONS, "legacy-max-connections", 1,
		  100000, legacy_max_connections),
		U(OPT_LEGACY_TIMEOUT, "legacy-timeout", 1, 86400,
		  legacy_timeout),
#undef U
	};
	unsigned long long v;
	size_t i;

	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		if (uints[i].val != val)
			continue;
		if (conf_parse_uint(uints[i].name, arg, uints[i].min,
				    uints[i].max, &v, err))
			return -1;
		*(unsigned int *)((char *)c + uints[i].off) = v;
		return 0;
	}
	return mb_errf(err, "option not allowed here");
}

static void defaults(struct controld_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = strdup("127.0.0.1");
	c->port = 8080;
	c->datadir = strdup("/var/lib/memory-buddies");
	c->keep = 10;
	c->max_upload = 256ULL << 20;
	c->fsync = true;
	c->shutdown_timeout = 10;
	c->max_connections = 512;
	c->max_connections_per_ip = 32;
	c->header_timeout = 10;
	c->min_upload_rate = 1024;
	c->tls_priority = strdup(CONTROLD_TLS_PRIORITY);
	c->legacy_max_connections = 64;
	c->legacy_timeout = 600;
	c->inventory_interval = 30;
	c->plan_interval = 300;
	c->min_gain_mb = 64;
	c->max_moves = 4;
	c->max_migrations = 1;
	c->migrate_timeout = 600;
	c->retry_after = 600;
	c->swap_threshold = 100;
	c->max_resizes = 4;
	c->resize_timeout = 120;
	c->resize_floor_mb = 256;
	c->stats_interval = 5;
	c->stats_window = 3600;
	c->stats_keep_days = 7;
	c->balance = -1;
	c->balance_interval = 10;
	c->sandpiper = -1;
	c->sandpiper_k = 3;
	c->sandpiper_n = 5;
	c->sandpiper_window = 12;
	c->sandpiper_ar_order = 1;
	c->sandpiper_holdoff = 120;
	c->sandpiper_threshold[0] = c->sandpiper_threshold[1] =
		c->sandpiper_threshold[2] = 75;
}

int config_parse(struct controld_config *c, int argc, char **argv,
		 struct mb_err *err)
{
	const struct conf_cli cli = {
		.program = "mb-controld",
		.options = options,
		.shortopts = "f:nh",
		.apply = apply,
		.ctx = c,
		.version_val = OPT_VERSION,
		.usage = config_usage,
	};

	defaults(c);
	return conf_parse_cli(&cli, argc, argv, err);
}

int config_validate(const struct controld_config *c, struct mb_err *err)
{
	if (!c->tokens && !c->insecure_no_auth)
		return mb_errf(err, "no --tokens file given (use "
			       "--insecure-no-auth for local experiments)");
	if (c->tokens && c->insecure_no_auth)
		return mb_errf(err, "--tokens and --insecure-no-auth "
			       "contradict each other");
	if (!c->tls_cert != !c->tls_key)
		return mb_errf(err, "--tls-cert and --tls-key go together");
	if (inv_parse_hosts(c->hosts, c->nhosts, NULL, err))
		return -1;
	if (c->sandpiper >= 0 && (!c->nhosts || !c->stats_interval))
		return mb_errf(err, "--sandpiper needs hosts (--host) and "
			       "their statistics (--stats-interval > 0)");
	if (c->sandpiper >= 0 && c->sandpiper_k > c->sandpiper_n)
		return mb_errf(err, "--sandpiper-k %u is more than "
			       "--sandpiper-n %u", c->sandpiper_k,
			       c->sandpiper_n);
	if (c->balance >= 0 && !c->nhosts)
		return mb_errf(err, "--balance needs the hosts whose VMs it "
			       "balances (--host)");
	if (c->legacy_enabled && c->legacy_port && c->legacy_port == c->port)
		return mb_errf(err, "--legacy-port %u is the HTTP port",
			       c->legacy_port);
	return 0;
}

void config_free(struct controld_config *c)
{
	free(c->listen);
	free(c->port_file);
	free(c->datadir);
	free(c->tokens);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_priority);
	free(c->legacy_vm);
	while (c->nhosts)
		free(c->hosts[--c->nhosts]);
	free(c->hosts);
}
