// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_status.c - `mbuddy status`: ask mb-controld which VMs it has traces
 * for, how many versions, and how old the latest is (GET /v1/vms with an
 * admin token; docs/api.md). A table for people, --json for programs
 * (controld's answer, unchanged).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "ctl_client.h"
#include "textsafe.h"

static const char status_usage[] =
"usage: mbuddy status [--url URL] [--token TOKEN | --token-file FILE]\n"
"                     [--ca-file FILE] [--json]\n"
"\n"
"List the VMs mb-controld holds traces for: versions, latest version, its\n"
"age and page count.\n"
"\n"
"  --url URL          controld (default $MB_CONTROLD_URL, else\n"
"                     http://127.0.0.1:8080)\n"
"  --token TOKEN      admin token (default $MB_ADMIN_TOKEN)\n"
"  --token-file FILE  read the admin token from FILE's first line\n"
"  --ca-file FILE     CA certificate(s) for an https URL\n"
"  --json             print controld's JSON answer\n";

static void format_age(int64_t s, char *out, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, size, "%" PRId64 "s", s);
	else if (s < 7200)
		snprintf(out, size, "%" PRId64 "m", s / 60);
	else if (s < 172800)
		snprintf(out, size, "%" PRId64 "h", s / 3600);
	else
		snprintf(out, size, "%" PRId64 "d", s / 86400);
}

static void print_table(json_t *vms)
{
	size_t i;
	json_t *vm;
	char age[32];

	printf("%-36s  %-20s %8s %7s %8s %10s\n", "VM", "NAME", "VERSIONS",
	       "LATEST", "AGE", "PAGES");
	json_array_foreach(vms, i, vm) {
		format_age(json_integer_value(json_object_get(vm,
				"age_seconds")), age, sizeof(age));
		printf("%-36s  %-20.20s %8" JSON_INTEGER_FORMAT " %7"
		       JSON_INTEGER_FORMAT " %8s %10" JSON_INTEGER_FORMAT "\n",
		       ctl_str(vm, "uuid"),
		       mb_display(json_string_value(json_object_get(vm,
				"name")) ?: ""),
		       json_integer_value(json_object_get(vm, "versions")),
		       json_integer_value(json_object_get(vm,
				"latest_version")),
		       age,
		       json_integer_value(json_object_get(
				json_object_get(vm, "latest"), "page_count")));
	}
	if (!json_array_size(vms))
		printf("(no VM has uploaded a trace yet)\n");
}

int cmd_status(int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_client cl;
	bool json = false;
	json_t *j;
	int opt, ret = 2;

	ctl_client_init(&cl, "status");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(status_usage, stdout);
			ret = 0;
			goto out;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			goto out;
		default:
			fputs(status_usage, stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mbuddy status: unexpected argument '%s'\n",
			argv[optind]);
		goto out;
	}
	ret = 1;
	j = ctl_request(&cl, "GET", "/v1/vms");
	if (!j)
		goto out;
	if (!json_is_array(json_object_get(j, "vms"))) {
		fprintf(stderr, "mbuddy status: the answer is not a VM list\n");
	} else {
		if (json)
			json_dumpf(j, stdout, JSON_INDENT(2)), putchar('\n');
		else
			print_table(json_object_get(j, "vms"));
		ret = 0;
	}
	json_decref(j);
out:
	ctl_client_free(&cl);
	return ret;
}
