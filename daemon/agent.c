// SPDX-License-Identifier: GPL-2.0
/*
 * agent.c - the options mb-guestd and mb-hostd share (agent.h).
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "conf.h"

void agent_options_init(struct agent_options *o)
{
	memset(o, 0, sizeof(*o));
	o->retries = 5;
	o->retry_max_delay = 60;
	o->timeout = 300;
}

int agent_option_apply(struct agent_options *o, int val, const char *arg,
		       struct mb_err *err)
{
	unsigned long long v;

	switch (val) {
	case AGENT_OPT_SERVER:
		if (conf_parse_url("server", arg, err))
			return -1;
		return conf_set_str(&o->server, arg, err);
	case AGENT_OPT_TOKEN_FILE:
		return conf_set_str(&o->token_file, arg, err);
	case AGENT_OPT_CA_FILE:
		return conf_set_str(&o->ca_file, arg, err);
	case AGENT_OPT_RETRIES:
		if (conf_parse_uint("retries", arg, 0, 1000, &v, err))
			return -1;
		o->retries = (unsigned int)v;
		return 0;
	case AGENT_OPT_RETRY_MAX_DELAY:
		if (conf_parse_uint("retry-max-delay", arg, 1, 86400, &v, err))
			return -1;
		o->retry_max_delay = (unsigned int)v;
		return 0;
	case AGENT_OPT_TIMEOUT:
		if (conf_parse_uint("timeout", arg, 1, 86400, &v, err))
			return -1;
		o->timeout = (unsigned int)v;
		return 0;
	case AGENT_OPT_SYSLOG:
		o->syslog = true;
		return 0;
	case AGENT_OPT_VERBOSE:
		o->verbose = true;
		return 0;
	}
	return 1;
}

void agent_options_free(struct agent_options *o)
{
	free(o->server);
	free(o->token_file);
	free(o->ca_file);
	memset(o, 0, sizeof(*o));
}
