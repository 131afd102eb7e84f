// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_migrations.c - `mbuddy migrations`: the live migrations mb-controld
 * has queued, is running and has finished (GET /v1/migrations), with
 * libvirt's error text for failures and where the VM runs afterwards.
 * --wait polls until none is queued or running, for scripts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl_client.h"

static const char migrations_usage[] =
"usage: mbuddy migrations [--wait SECONDS] [--json] [--url URL]\n"
"                         [--token TOKEN | --token-file FILE] [--ca-file FILE]\n"
"\n"
"List mb-controld's live migrations: state (planned, running, done,\n"
"failed, aborted), hosts, duration, where the VM runs, libvirt's error.\n"
"\n"
"  --wait SECONDS     first wait until no migration is planned or running\n"
"                     (exit 1 if some still are after SECONDS)\n"
"  --json             print controld's JSON answer\n"
"  --url URL          controld (default $MB_CONTROLD_URL, else\n"
"                     http://127.0.0.1:8080)\n"
"  --token TOKEN      admin token (default $MB_ADMIN_TOKEN)\n"
"  --token-file FILE  read the admin token from FILE's first line\n"
"  --ca-file FILE     CA certificate(s) for an https URL\n";

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static size_t unfinished(json_t *list)
{
	size_t i, n = 0;
	json_t *m;

	json_array_foreach(list, i, m)
		if (!strcmp(str(m, "state"), "planned") ||
		    !strcmp(str(m, "state"), "running"))
			n++;
	return n;
}

static void print_table(json_t *list)
{
	size_t i;
	json_t *m;

	printf("%4s %-16s %-12s %-12s %-8s %9s %-12s\n", "ID", "VM", "FROM",
	       "TO", "STATE", "DURATION", "RUNS ON");
	json_array_foreach(list, i, m) {
		json_t *d = json_object_get(m, "duration_s");
		char dur[32] = "-";

		if (json_is_number(d))
			snprintf(dur, sizeof(dur), "%.1fs",
				 json_number_value(d));
		printf("%4lld %-16.16s %-12.12s %-12.12s %-8s %9s %-12s\n",
		       (long long)json_integer_value(json_object_get(m, "id")),
		       str(m, "name"), str(m, "from"), str(m, "to"),
		       str(m, "state"), dur, str(m, "host"));
		if (json_is_string(json_object_get(m, "error")))
			printf("     error: %s\n", str(m, "error"));
	}
	if (!json_array_size(list))
		printf("(no migrations)\n");
}

int cmd_migrations(int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_client cl;
	bool json = false;
	long wait = -1, waited = 0;
	json_t *j = NULL, *list;
	char *end;
	int opt, ret = 1;

	ctl_client_init(&cl, "migrations");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'w':
			wait = strtol(optarg, &end, 10);
			if (*end || wait < 0) {
				fprintf(stderr, "mbuddy migrations: --wait "
					"'%s' is not a number of seconds\n",
					optarg);
				ctl_client_free(&cl);
				return 2;
			}
			break;
		case 'h':
			fputs(migrations_usage, stdout);
			ctl_client_free(&cl);
			return 0;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			/* fall through */
		default:
			fputs(migrations_usage, stderr);
			ctl_client_free(&cl);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mbuddy migrations: unexpected argument '%s'\n",
			argv[optind]);
		ctl_client_free(&cl);
		return 2;
	}
	for (;;) {
		j = ctl_request(&cl, "GET", "/v1/migrations");
		if (!j)
			goto out;
		list = json_object_get(j, "migrations");
		if (wait < 0 || !unfinished(list) || waited >= wait)
			break;
		json_decref(j);
		sleep(1);
		waited++;
	}
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_table(list);
	}
	ret = wait >= 0 && unfinished(list) ? 1 : 0;
	if (ret)
		fprintf(stderr, "mbuddy migrations: still %zu unfinished after "
			"%ld s\n", unfinished(list), wait);
out:
	json_decref(j);
	ctl_client_free(&cl);
	return ret;
}
