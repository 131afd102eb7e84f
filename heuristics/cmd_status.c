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

#include <curl/curl.h>
#include <jansson.h>

#include "cmd.h"

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

struct buffer {
	char *data;
	size_t len;
};

static size_t collect(char *src, size_t size, size_t n, void *ctx)
{
	struct buffer *b = ctx;
	size_t len = size * n;
	char *grown;

	if (b->len + len > (64u << 20))
		return 0;
	grown = realloc(b->data, b->len + len + 1);
	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, src, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

static char *read_token_file(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f)
		return NULL;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	len = strcspn(line, "\r\n \t");
	line[len] = '\0';
	return len ? strdup(line) : NULL;
}

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
		       json_string_value(json_object_get(vm, "uuid")),
		       json_string_value(json_object_get(vm, "name")) ?: "",
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
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = getenv("MB_CONTROLD_URL"), *ca = NULL;
	char *token = NULL, full[2048], authz[600], errbuf[CURL_ERROR_SIZE];
	struct buffer body = { 0 };
	struct curl_slist *headers = NULL;
	json_t *j = NULL, *msg;
	bool json = false;
	long code = 0;
	size_t len;
	CURLcode rc;
	CURL *c;
	int opt, ret = 1;

	if (getenv("MB_ADMIN_TOKEN"))
		token = strdup(getenv("MB_ADMIN_TOKEN"));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 't':
			free(token);
			token = strdup(optarg);
			break;
		case 'T':
			free(token);
			token = read_token_file(optarg);
			if (!token) {
				fprintf(stderr, "mbuddy status: token file %s: "
					"missing or empty\n", optarg);
				return 2;
			}
			break;
		case 'c':
			ca = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(status_usage, stdout);
			free(token);
			return 0;
		default:
			fputs(status_usage, stderr);
			free(token);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mbuddy status: unexpected argument '%s'\n",
			argv[optind]);
		free(token);
		return 2;
	}
	if (!url)
		url = "http://127.0.0.1:8080";
	len = strlen(url);
	while (len && url[len - 1] == '/')
		len--;
	snprintf(full, sizeof(full), "%.*s/v1/vms", (int)len, url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(c = curl_easy_init())) {
		fprintf(stderr, "mbuddy status: libcurl initialisation failed\n");
		free(token);
		return 1;
	}
	if (token) {
		snprintf(authz, sizeof(authz), "Authorization: Bearer %s",
			 token);
		headers = curl_slist_append(headers, authz);
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		fprintf(stderr, "mbuddy status: %s: %s\n", full,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	j = body.data ? json_loads(body.data, 0, NULL) : NULL;
	if (code != 200) {
		msg = json_object_get(j, "error");
		fprintf(stderr, "mbuddy status: %s: HTTP %ld: %s\n", full, code,
			json_is_string(msg) ? json_string_value(msg) :
			"(no error message)");
		goto out;
	}
	if (!json_is_array(json_object_get(j, "vms"))) {
		fprintf(stderr, "mbuddy status: %s: answer is not a VM list\n",
			full);
		goto out;
	}
	if (json)
		json_dumpf(j, stdout, JSON_INDENT(2)), putchar('\n');
	else
		print_table(json_object_get(j, "vms"));
	ret = 0;
out:
	json_decref(j);
	free(body.data);
	free(token);
	curl_global_cleanup();
	return ret;
}
