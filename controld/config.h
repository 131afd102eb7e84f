/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config.h - mb-controld's settings, from flags and a config file with the
 * same option names (daemon/conf.h). Flags override the file.
 */
#ifndef MB_CONTROLD_CONFIG_H
#define MB_CONTROLD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mb_error.h"

/*
 * TLS 1.2 and 1.3 only, ECDHE key exchange (forward secrecy) with AEAD
 * ciphers, no SHA-1 signatures; the server's order wins.
 */
#define CONTROLD_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:" \
	"+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-SIGN-RSA-SHA1:" \
	"-SIGN-ECDSA-SHA1:%SERVER_PRECEDENCE"

struct controld_config {
	const char *config_file;
	bool check_only;		/* -n: parse, report, exit */
	char *listen;			/* address to bind, default 127.0.0.1 */
	unsigned int port;		/* default 8080; 0 = any free port */
	char *port_file;		/* write the bound ports here */
	char *datadir;
	unsigned int keep;
	uint64_t max_upload;
	char *tokens;
	bool insecure_no_auth;
	char *tls_cert, *tls_key;
	char *tls_priority;		/* GnuTLS priority string */
	unsigned int legacy_port;	/* 0 = off */
	bool legacy_enabled;
	char *legacy_vm;
	bool syslog;
	bool fsync;
	unsigned int shutdown_timeout;	/* seconds */
	unsigned int max_connections;
	unsigned int max_connections_per_ip;	/* 0 = no limit */
	unsigned int header_timeout;	/* seconds (controld/conns.h) */
	unsigned int min_upload_rate;	/* bytes/s, 0 = none */
	unsigned int legacy_max_connections;
	unsigned int legacy_timeout;	/* seconds a legacy upload may take */
	bool sharing_global;		/* --sharing-scope global */
	int prefer_traces;		/* enum trace_pref (snapshot.h) */
	bool verbose;
	/* The controller (control.h); off without hosts. */
	char **hosts;			/* --host specs, as given */
	unsigned int nhosts;
	unsigned int inventory_interval;/* seconds */
	unsigned int plan_interval;	/* seconds, 0 = on demand only */
	unsigned int min_gain_mb;
	unsigned int max_moves;
	bool apply;			/* carry plans out (default: dry run) */
	unsigned int max_migrations;	/* at once */
	unsigned int migrate_bandwidth;	/* MiB/s, 0 = libvirt's default */
	unsigned int migrate_timeout;	/* seconds, then the job is aborted */
	unsigned int retry_after;	/* seconds before a failed move is retried */
	unsigned int swap_threshold;	/* pages/s swapped in+out: a hotspot */
	unsigned int max_resizes;	/* at once */
	unsigned int resize_timeout;	/* seconds for the balloon to get there */
	unsigned int resize_floor_mb;	/* no VM is resized below this */
	int balance;			/* enum mb_balance_mode, -1 = off */
	unsigned int balance_interval;	/* seconds */
	int sandpiper;			/* enum mb_hs_mode, -1 = off */
	unsigned int sandpiper_k, sandpiper_n, sandpiper_window;
	unsigned int sandpiper_ar_order, sandpiper_holdoff;
	unsigned int sandpiper_threshold[3];	/* percent: cpu, net, mem */
	/* Live statistics (stats.c, collect.c). */
	unsigned int stats_interval;	/* seconds; 0 = no libvirt collection */
	unsigned int stats_window;	/* seconds kept in memory */
	unsigned int stats_keep_days;	/* minute records in control.db */
};

/*
 * Fill @c from defaults, then the config file (from --config), then the
 * flags. Returns 0 to run, 1 when --help/--version was printed, -1 on a
 * usage or config error (message in @err).
 */
int config_parse(struct controld_config *c, int argc, char **argv,
		 struct mb_err *err);

/* Check settings that depend on each other; 0 or -1 with @err. */
int config_validate(const struct controld_config *c, struct mb_err *err);

void config_usage(FILE *out);
void config_free(struct controld_config *c);

#endif /* MB_CONTROLD_CONFIG_H */
