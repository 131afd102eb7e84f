/* SPDX-License-Identifier: GPL-2.0 */
/*
 * agent.h - the options both agents take, mb-guestd in a guest and
 * mb-hostd on a hypervisor host: where and how they upload to
 * mb-controld (daemon/upload.h), and how they log. Each agent puts
 * AGENT_OPTIONS into its own getopt_long table, embeds a struct
 * agent_options in its configuration and hands every option to
 * agent_option_apply() first; its --help and man page describe them in
 * its own words.
 */
#ifndef MB_DAEMON_AGENT_H
#define MB_DAEMON_AGENT_H

#include <getopt.h>
#include <stdbool.h>

#include "mb_error.h"

struct agent_options {
	char *server;			/* http(s)://host:port */
	char *token_file;		/* bearer token, first line */
	char *ca_file;			/* CA certificate(s) for https */
	unsigned int retries;		/* after the first attempt */
	unsigned int retry_max_delay;	/* seconds */
	unsigned int timeout;		/* seconds for one upload */
	bool syslog;
	bool verbose;
};

/* getopt values, above those of the agents' own options. */
enum agent_option {
	AGENT_OPT_SERVER = 0x1000,
	AGENT_OPT_TOKEN_FILE,
	AGENT_OPT_CA_FILE,
	AGENT_OPT_RETRIES,
	AGENT_OPT_RETRY_MAX_DELAY,
	AGENT_OPT_TIMEOUT,
	AGENT_OPT_SYSLOG,
	AGENT_OPT_VERBOSE,
};

#define AGENT_OPTIONS \
	{ "server", required_argument, NULL, AGENT_OPT_SERVER }, \
	{ "token-file", required_argument, NULL, AGENT_OPT_TOKEN_FILE }, \
	{ "ca-file", required_argument, NULL, AGENT_OPT_CA_FILE }, \
	{ "retries", required_argument, NULL, AGENT_OPT_RETRIES }, \
	{ "retry-max-delay", required_argument, NULL, \
	  AGENT_OPT_RETRY_MAX_DELAY }, \
	{ "timeout", required_argument, NULL, AGENT_OPT_TIMEOUT }, \
	{ "syslog", no_argument, NULL, AGENT_OPT_SYSLOG }, \
	{ "verbose", no_argument, NULL, AGENT_OPT_VERBOSE }

/* The defaults: 5 retries, at most 60 s apart, 300 s per upload. */
void agent_options_init(struct agent_options *o);

/*
 * Apply option @val with value @arg when it is one of AGENT_OPT_*:
 * returns 0, or -1 with @err naming the option and what is wrong. Returns
 * 1 (and does nothing) for any other @val.
 */
int agent_option_apply(struct agent_options *o, int val, const char *arg,
		       struct mb_err *err);

void agent_options_free(struct agent_options *o);

#endif /* MB_DAEMON_AGENT_H */
