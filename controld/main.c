// SPDX-License-Identifier: GPL-2.0
/*
 * mb-controld - the Memory Buddies control daemon: receives guests'
 * memory traces over HTTP(S) (and the old raw TCP upload), validates and
 * stores them, and serves them to the analysis tools.
 *
 * This file only wires the parts together:
 *   config.c     flags and config file
 *   catalogue.c  SQLite index of the store
 *   store.c      versioned atomic trace files, reconcile at start
 *   auth.c       bearer tokens, reloaded on SIGHUP
 *   http.c       the HTTP API (libmicrohttpd)
 *   legacy.c     the raw TCP listener
 *   metrics.c    /metrics
 *   controldb.c  plans, actions, statistics history: DATADIR/control.db
 *   stats.c      live statistics of VMs and hosts
 *   control.c    the controller (its parts are listed in control.h), when
 *                hosts are configured
 * Signals are handled synchronously: every thread blocks them and the main
 * thread waits in sigwait(), so no work happens in signal context.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "catalogue.h"
#include "conf.h"
#include "config.h"
#include "control.h"
#include "controldb.h"
#include "http.h"
#include "json_alloc.h"
#include "legacy.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"
#include "store.h"

/* A PEM file; a @secret one (a private key) must not be world-readable. */
static char *read_pem(const char *path, bool secret, struct mb_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t len;

	if (!f) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (secret && auth_secret_file_ok(fileno(f), path, "TLS key", err)) {
		fclose(f);
		return NULL;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		mb_errf(err, "%s: out of memory", path);
		return NULL;
	}
	len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if (!strstr(buf, "-----BEGIN ")) {
		free(buf);
		mb_errf(err, "%s: not a PEM file", path);
		return NULL;
	}
	return buf;
}

static int write_port_file(const char *path, unsigned int http,
			   int legacy, struct mb_err *err)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return mb_errf(err, "port file %s: %s", tmp, strerror(errno));
	fprintf(f, "http %u\n", http);
	if (legacy >= 0)
		fprintf(f, "legacy %d\n", legacy);
	if (fclose(f) || rename(tmp, path))
		return mb_errf(err, "port file %s: %s", path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	struct controld_config cfg;
	struct store_options so;
	struct http_options ho;
	struct metrics metrics = { 0 };
	struct catalogue *cat = NULL;
	struct store *store = NULL;
	struct auth *auth = NULL;
	struct http_server *http = NULL;
	struct legacy *legacy = NULL;
	struct control *control = NULL;
	struct controldb *cdb = NULL;
	struct stats *stats = NULL;
	struct keystore *keys = NULL;
	char *cert = NULL, *key = NULL, *dbpath = NULL, *cdbpath = NULL;
	struct mb_err err;
	sigset_t sigs;
	bool fresh, stopped;
	int sig, ret, status = 1, lock_fd = -1;

	log_init("mb-controld");
	mb_json_alloc_init();
	/* Traces, databases and the lock are the daemon's own (0600/0750). */
	umask(027);
	ret = config_parse(&cfg, argc, argv, &err);
	if (ret) {
		if (ret < 0)
			log_err("%s", err.msg);
		config_free(&cfg);
		return ret < 0 ? 2 : 0;
	}
	if (config_validate(&cfg, &err)) {
		log_err("%s", err.msg);
		config_free(&cfg);
		return 2;
	}
	if (cfg.tls_cert && (!(cert = read_pem(cfg.tls_cert, false, &err)) ||
			     !(key = read_pem(cfg.tls_key, true, &err)))) {
		log_err("%s", err.msg);
		goto out;
	}
	if (cfg.tokens || cfg.insecure_no_auth) {
		auth = auth_new(cfg.tokens, cfg.insecure_no_auth, &err);
		if (!auth) {
			log_err("%s", err.msg);
			goto out;
		}
	}
	if (cfg.check_only) {
		printf("mb-controld: configuration ok\n");
		status = 0;
		goto out;
	}
	if (cfg.syslog)
		log_use_syslog();
	if (cfg.verbose)
		log_set_level(LOG_DEBUG);
	if (cfg.insecure_no_auth)
		log_warn("WARNING: --insecure-no-auth: anyone who can reach "
			 "%s port %u can upload for any VM and read every "
			 "trace; use it for local experiments only",
			 cfg.listen, cfg.port);

	/* Block the signals main waits for before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mkdir(cfg.datadir, 0750) && errno != EEXIST) {
		log_err("data directory %s: %s", cfg.datadir, strerror(errno));
		goto out;
	}
	lock_fd = store_lock_datadir(cfg.datadir, &err);
	if (lock_fd < 0) {
		log_err("%s", err.msg);
		goto out;
	}
	if (asprintf(&dbpath, "%s/catalogue.db", cfg.datadir) < 0)
		goto out;
	cat = catalogue_open(dbpath, &fresh, &err);
	if (!cat) {
		log_err("%s", err.msg);
		goto out;
	}
	if (fresh)
		log_info("catalogue %s is new or was damaged: rebuilding it "
			 "from %s/vms", dbpath, cfg.datadir);
	so = (struct store_options){ .datadir = cfg.datadir, .keep = cfg.keep,
				     .fsync = cfg.fsync };
	store = store_open(&so, cat, &err);
	if (!store) {
		log_err("%s", err.msg);
		goto out;
	}
	keys = keystore_open(cfg.datadir, &err);
	if (!keys) {
		log_err("%s", err.msg);
		goto out;
	}
	if (asprintf(&cdbpath, "%s/control.db", cfg.datadir) < 0)
		goto out;
	cdb = controldb_open(cdbpath, &err);
	if (!cdb) {
		log_err("%s", err.msg);
		goto out;
	}
	{
		struct stats_options sto = {
			.interval = cfg.stats_interval ? cfg.stats_interval : 5,
			.window = cfg.stats_window,
			.keep_days = cfg.stats_keep_days,
		};

		stats = stats_new(&sto, cdb, &err);
		if (!stats) {
			log_err("%s", err.msg);
			goto out;
		}
	}
	if (cfg.nhosts) {
		struct control_options co = {
			.hosts = cfg.hosts, .nhosts = cfg.nhosts,
			.inventory_interval = cfg.inventory_interval,
			.stats_interval = cfg.stats_interval,
			.plan_interval = cfg.plan_interval,
			.min_gain_mb = cfg.min_gain_mb,
			.max_moves = cfg.max_moves, .apply = cfg.apply,
			.max_migrations = cfg.max_migrations,
			.migrate_bandwidth = cfg.migrate_bandwidth,
			.migrate_timeout = cfg.migrate_timeout,
			.max_resizes = cfg.max_resizes,
			.resize_timeout = cfg.resize_timeout,
			.resize_floor_mb = cfg.resize_floor_mb,
			.retry_after = cfg.retry_after,
			.swap_threshold = cfg.swap_threshold,
			.balance = cfg.balance,
			.balance_interval = cfg.balance_interval,
			.sandpiper = cfg.sandpiper,
			.sandpiper_holdoff = cfg.sandpiper_holdoff,
			.tenants = cfg.sharing_global ? NULL : auth,
			.prefer_traces = cfg.prefer_traces,
		};
		int r;

		mb_hotspot_defaults(&co.sandpiper_params);
		co.sandpiper_params.k = cfg.sandpiper_k;
		co.sandpiper_params.n = cfg.sandpiper_n;
		co.sandpiper_params.window = cfg.sandpiper_window;
		co.sandpiper_params.ar_order = cfg.sandpiper_ar_order;
		for (r = 0; r < MB_RESOURCES; r++)
			co.sandpiper_params.threshold[r] =
				cfg.sandpiper_threshold[r] / 100.0;

		control = control_start(&co, cdb, stats, store, cat, &err);
		if (!control) {
			log_err("%s", err.msg);
			goto out;
		}
	}
	ho = (struct http_options){
		.listen = cfg.listen, .port = cfg.port,
		.tls_cert_pem = cert, .tls_key_pem = key,
		.max_upload = cfg.max_upload,
		.max_connections = cfg.max_connections,
		.max_connections_per_ip = cfg.max_connections_per_ip,
		.header_timeout = cfg.header_timeout,
		.min_upload_rate = cfg.min_upload_rate,
		.tls_priority = cfg.tls_priority,
		.verbose = cfg.verbose,
		.control = control,
		.stats = stats,
		.keys = keys,
	};
	http = http_start(&ho, store, cat, auth, &metrics, &err);
	if (!http) {
		log_err("%s", err.msg);
		goto out;
	}
	if (cfg.legacy_enabled) {
		struct legacy_options lo = {
			.listen = cfg.listen, .port = cfg.legacy_port,
			.vm_name = cfg.legacy_vm,
			.max_upload = cfg.max_upload,
			.spool_dir = cfg.datadir,
			.max_connections = cfg.legacy_max_connections,
			.max_connections_per_ip = cfg.max_connections_per_ip,
			.header_timeout = cfg.header_timeout,
			.min_rate = cfg.min_upload_rate,
			.timeout = cfg.legacy_timeout,
		};

		legacy = legacy_start(&lo, store, &metrics, &err);
		if (!legacy) {
			log_err("%s", err.msg);
			goto out;
		}
	}
	if (cfg.port_file &&
	    write_port_file(cfg.port_file, http_port(http),
			    legacy ? (int)legacy_port(legacy) : -1, &err)) {
		log_err("%s", err.msg);
		goto out;
	}
	log_info("listening on %s port %u (%s)%s, store %s, keeping %u "
		 "versions", cfg.listen, http_port(http),
		 cert ? "https" : "http", legacy ? ", legacy upload on" : "",
		 cfg.datadir, cfg.keep);
	if (legacy)
		log_info("legacy upload on %s port %u", cfg.listen,
			 legacy_port(legacy));

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			if (!auth || !cfg.tokens)
				continue;
			if (auth_reload(auth, &err))
				log_err("%s (keeping the previous tokens)",
					err.msg);
			else
				log_info("tokens reloaded: %u entries",
					 auth_count(auth));
			continue;
		}
		log_info("%s: shutting down", strsignal(sig));
		break;
	}
	status = 0;
out:
	if (legacy)
		legacy_stop(legacy, cfg.shutdown_timeout);
	if (http)
		http_shutdown(http, cfg.shutdown_timeout);
	stopped = control_stop(control);
	stats_free(stats);
	/* A controller stuck in libvirt may still use the db: leave it then. */
	if (stopped)
		controldb_close(cdb);
	store_close(store);
	catalogue_close(cat);
	auth_free(auth);
	keystore_close(keys);
	free(dbpath);
	free(cdbpath);
	free(cert);
	free(key);
	config_free(&cfg);
	if (lock_fd >= 0)
		close(lock_fd);
	return status;
}
