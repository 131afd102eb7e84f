// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_actions.c - the actions of mb-controld seen from the command line:
 *
 *   mbuddy actions      every action (migrations, resizes): GET /v1/actions
 *   mbuddy migrations   the migrations only, as before: GET /v1/migrations
 *   mbuddy resize VM MIB     ask for a resize:    POST /v1/actions
 *   mbuddy migrate VM HOST   ask for a migration: POST /v1/actions
 *
 * with libvirt's error text for failures and where the VM ran afterwards.
 * --wait polls until nothing is queued or running (for the new action
 * only, with resize and migrate), for scripts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl_client.h"

static const char common_usage[] =
"  --wait SECONDS     first wait until no action is planned or running\n"
"                     (exit 1 if some still are after SECONDS)\n"
"  --json             print controld's JSON answer\n"
"  --url URL          controld (default $MB_CONTROLD_URL, else\n"
"                     http://127.0.0.1:8080)\n"
"  --token TOKEN      admin token (default $MB_ADMIN_TOKEN)\n"
"  --token-file FILE  read the admin token from FILE's first line\n"
"  --ca-file FILE     CA certificate(s) for an https URL\n";

struct mode {
	const char *cmd;
	const char *synopsis;
	const char *summary;
	const char *extra;		/* options of this mode */
};

static const struct mode modes[] = {
	{ "actions", "mbuddy actions [--kind migrate|resize] [--wait SECONDS] [--json]",
	  "List mb-controld's actions, migrations and resizes: state (planned,\n"
	  "running, done, failed, aborted), hosts, duration, where the VM runs,\n"
	  "libvirt's error.\n",
	  "  --kind KIND        only migrations or only resizes\n" },
	{ "migrations", "mbuddy migrations [--wait SECONDS] [--json]",
	  "List mb-controld's live migrations (mbuddy actions --kind migrate,\n"
	  "in the JSON form of GET /v1/migrations).\n", "" },
	{ "resize", "mbuddy resize VM MIB [--reason TEXT] [--wait SECONDS] [--json]",
	  "Ask mb-controld to set VM's memory (uuid or name) to MIB MiB through\n"
	  "its balloon; it is queued like any action and carried out at once.\n",
	  "  --reason TEXT      why, kept with the action\n" },
	{ "migrate", "mbuddy migrate VM HOST [--reason TEXT] [--wait SECONDS] [--json]",
	  "Ask mb-controld to move VM (uuid or name) to HOST by live migration.\n",
	  "  --reason TEXT      why, kept with the action\n" },
};

static void usage(const struct mode *m, FILE *out)
{
	fprintf(out, "usage: %s\n       %*s[--url URL] [--token TOKEN | "
		"--token-file FILE] [--ca-file FILE]\n\n%s\n%s%s", m->synopsis,
		(int)strlen("mbuddy "), "", m->summary, m->extra,
		common_usage);
}

static bool unfinished(json_t *a)
{
	return !strcmp(ctl_str(a, "state"), "planned") ||
	       !strcmp(ctl_str(a, "state"), "running");
}

static size_t count_unfinished(json_t *list, long id)
{
	size_t i, n = 0;
	json_t *a;

	json_array_foreach(list, i, a)
		if ((id < 0 || json_integer_value(json_object_get(a, "id")) ==
		     id) && unfinished(a))
			n++;
	return n;
}

static void print_table(json_t *list, bool kinds)
{
	size_t i;
	json_t *a;

	if (kinds)
		printf("%4s %-8s %-16s %-12s %-12s %-8s %9s %-12s\n", "ID",
		       "KIND", "VM", "FROM", "TO", "STATE", "DURATION",
		       "RUNS ON");
	else
		printf("%4s %-16s %-12s %-12s %-8s %9s %-12s\n", "ID", "VM",
		       "FROM", "TO", "STATE", "DURATION", "RUNS ON");
	json_array_foreach(list, i, a) {
		json_t *d = json_object_get(a, "duration_s");
		const char *kind = ctl_str(a, "kind");
		char dur[32] = "-", to[32];

		if (json_is_number(d))
			snprintf(dur, sizeof(dur), "%.1fs",
				 json_number_value(d));
		if (!strcmp(kind, "resize"))
			snprintf(to, sizeof(to), "%.0f MiB", json_number_value(
				 json_object_get(a, "target_mb")));
		else
			snprintf(to, sizeof(to), "%s", ctl_str(a, "to"));
		if (kinds)
			printf("%4lld %-8s ", (long long)json_integer_value(
			       json_object_get(a, "id")), kind);
		else
			printf("%4lld ", (long long)json_integer_value(
			       json_object_get(a, "id")));
		printf("%-16.16s %-12.12s %-12.12s %-8s %9s %-12s\n",
		       ctl_str(a, "name"), ctl_str(a, "from"), to, ctl_str(a, "state"),
		       dur, ctl_str(a, "host"));
		if (json_is_string(json_object_get(a, "error")))
			printf("     error: %s\n", ctl_str(a, "error"));
	}
	if (!json_array_size(list))
		printf("(no %s)\n", kinds ? "actions" : "migrations");
}

/* Ask for one action; returns its id, or -1 (message printed). */
static long submit(struct ctl_client *cl, const struct mode *m, char **args,
		   const char *reason, bool json)
{
	json_t *req, *res, *a;
	char *end;
	long id;

	if (!strcmp(m->cmd, "resize")) {
		double mib = strtod(args[1], &end);

		if (*end || end == args[1] || !(mib > 0)) {
			fprintf(stderr, "mbuddy resize: '%s' is not a size in "
				"MiB\n", args[1]);
			return -2;
		}
		req = json_pack("{s:s,s:s,s:f}", "kind", "resize", "vm",
				args[0], "target_mb", mib);
	} else {
		req = json_pack("{s:s,s:s,s:s}", "kind", "migrate", "vm",
				args[0], "to", args[1]);
	}
	if (reason)
		json_object_set_new(req, "reason", json_string(reason));
	res = ctl_request_body(cl, "POST", "/v1/actions", req);
	json_decref(req);
	if (!res)
		return -1;
	a = json_object_get(res, "action");
	id = (long)json_integer_value(json_object_get(a, "id"));
	if (!json)
		printf("action %ld queued: %s %s %s\n", id, m->cmd, ctl_str(a,
		       "name"), args[1]);
	json_decref(res);
	return id;
}

static int run(const struct mode *m, int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' },
		{ "kind", required_argument, NULL, 'k' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool asking = !strcmp(m->cmd, "resize") || !strcmp(m->cmd, "migrate");
	bool legacy = !strcmp(m->cmd, "migrations");
	const char *kind = NULL, *reason = NULL;
	struct ctl_client cl;
	bool json = false;
	long wait = -1, waited = 0, id = -1;
	json_t *j = NULL, *list;
	char path[64], *end;
	int opt, ret = 1;

	ctl_client_init(&cl, m->cmd);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'w':
			wait = strtol(optarg, &end, 10);
			if (*end || wait < 0) {
				fprintf(stderr, "mbuddy %s: --wait '%s' is not "
					"a number of seconds\n", m->cmd, optarg);
				goto usage_error;
			}
			break;
		case 'k':
			if (strcmp(m->cmd, "actions") ||
			    (strcmp(optarg, "migrate") &&
			     strcmp(optarg, "resize"))) {
				fprintf(stderr, "mbuddy %s: --kind is migrate "
					"or resize (mbuddy actions only)\n",
					m->cmd);
				goto usage_error;
			}
			kind = optarg;
			break;
		case 'r':
			if (!asking)
				goto usage_error;
			reason = optarg;
			break;
		case 'h':
			usage(m, stdout);
			ctl_client_free(&cl);
			return 0;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			/* fall through */
		default:
			goto usage_error;
		}
	}
	if (argc - optind != (asking ? 2 : 0)) {
		fprintf(stderr, "mbuddy %s: %s\n", m->cmd, asking ?
			"expected a VM and a target" : "unexpected argument");
		goto usage_error;
	}
	if (asking) {
		id = submit(&cl, m, argv + optind, reason, json);
		if (id == -2)
			goto usage_error;
		if (id < 0)
			goto out;
	}
	snprintf(path, sizeof(path), "%s%s%s", legacy ? "/v1/migrations" :
		 "/v1/actions", kind ? "?kind=" : "", kind ? kind : "");
	for (;;) {
		j = ctl_request(&cl, "GET", path);
		if (!j)
			goto out;
		list = json_object_get(j, legacy ? "migrations" : "actions");
		if (wait < 0 || !count_unfinished(list, id) || waited >= wait)
			break;
		json_decref(j);
		sleep(1);
		waited++;
	}
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!asking || wait >= 0) {
		print_table(list, !legacy);
	}
	ret = wait >= 0 && count_unfinished(list, id) ? 1 : 0;
	if (ret)
		fprintf(stderr, "mbuddy %s: still %zu unfinished after %ld s\n",
			m->cmd, count_unfinished(list, id), wait);
out:
	json_decref(j);
	ctl_client_free(&cl);
	return ret;
usage_error:
	usage(m, stderr);
	ctl_client_free(&cl);
	return 2;
}

int cmd_actions(int argc, char **argv)
{
	return run(&modes[0], argc, argv);
}

int cmd_migrations(int argc, char **argv)
{
	return run(&modes[1], argc, argv);
}

int cmd_resize(int argc, char **argv)
{
	return run(&modes[2], argc, argv);
}

int cmd_migrate(int argc, char **argv)
{
	return run(&modes[3], argc, argv);
}
