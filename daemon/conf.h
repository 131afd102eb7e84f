/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conf.h - configuration files for the daemons, with the same option names
 * as their command-line flags.
 *
 * A configuration file holds one option per line: the long flag's name
 * without the dashes, then its value (the rest of the line, trimmed), e.g.
 *
 *	# mb-controld.conf
 *	listen 127.0.0.1
 *	port 8080
 *	keep 20
 *	insecure-no-auth
 *
 * Options without a value in getopt_long's table take none in the file
 * either. Blank lines and lines starting with '#' are ignored. Because the
 * file is parsed against the program's own `struct option` table and every
 * option goes through the same apply function as its flag, a name that
 * works on the command line works in the file and vice versa.
 */
#ifndef MB_DAEMON_CONF_H
#define MB_DAEMON_CONF_H

#include <getopt.h>
#include <stdio.h>

#include "mb_error.h"

/*
 * Apply one option: @val is the option's getopt `val`, @arg its value
 * (NULL for options without one). Returns 0, or -1 with @err set (the
 * message names the option and why the value is wrong).
 */
typedef int (*conf_apply_fn)(void *ctx, int val, const char *arg,
			     struct mb_err *err);

/*
 * Read @path and apply each option in it through @apply. Stops at the
 * first error; the message is prefixed with "path:line". Returns 0 or -1.
 */
int conf_load_file(const char *path, const struct option *options,
		   conf_apply_fn apply, void *ctx, struct mb_err *err);

/* Same as conf_load_file() for a file already in memory (@text, @len). */
int conf_load_text(const char *name, const char *text, size_t len,
		   const struct option *options, conf_apply_fn apply,
		   void *ctx, struct mb_err *err);

/* How a daemon's command line is read (conf_parse_cli()). */
struct conf_cli {
	const char *program;		/* "mb-controld": for --version */
	const struct option *options;	/* getopt_long table */
	const char *shortopts;		/* e.g. "f:nh" */
	conf_apply_fn apply;
	void *ctx;
	int version_val;		/* getopt value of --version */
	void (*usage)(FILE *out);	/* prints --help */
};

/*
 * Read a daemon's command line: --help (printed before any file is read,
 * so a broken file cannot hide it) and --version end it early; otherwise
 * the file named by --config (or -f) is applied first, then every flag,
 * --config included, so flags override the file. Returns 0 to run, 1 after --help or --version, -1 on
 * error (@err names the file line or the flag).
 */
int conf_parse_cli(const struct conf_cli *cli, int argc, char **argv,
		   struct mb_err *err);

/*
 * Helpers for apply functions: parse an unsigned decimal number in
 * [min, max] or a boolean ("yes/no/true/false/1/0/on/off"). Errors name
 * @what. Return 0 or -1.
 */
int conf_parse_uint(const char *what, const char *arg, unsigned long long min,
		    unsigned long long max, unsigned long long *out,
		    struct mb_err *err);
int conf_parse_bool(const char *what, const char *arg, int *out,
		    struct mb_err *err);

/*
 * Replace *@dst (freed) with a copy of @arg. 0, or -1 with @err when out
 * of memory.
 */
int conf_set_str(char **dst, const char *arg, struct mb_err *err);

/* An http:// or https:// URL (mb-controld, for the agents). 0 or -1. */
int conf_parse_url(const char *what, const char *arg, struct mb_err *err);

/*
 * Read a secret (a bearer token) from the first line of @path, trailing
 * whitespace removed. Returns a malloc'ed string or NULL with @err set.
 */
char *conf_read_secret(const char *path, struct mb_err *err);

#endif /* MB_DAEMON_CONF_H */
