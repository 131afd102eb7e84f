// SPDX-License-Identifier: GPL-2.0
/*
 * ctl_client.c - how the mbuddy commands that talk to mb-controld (status,
 * plan, actions, top) find it, authenticate and make one JSON request: the
 * options --url, --token, --token-file and --ca-file with their
 * environment defaults, and libcurl for the transfer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl_client.h"

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

void ctl_client_init(struct ctl_client *cl, const char *cmd)
{
	memset(cl, 0, sizeof(*cl));
	cl->cmd = cmd;
	cl->url = getenv("MB_CONTROLD_URL");
	if (getenv("MB_ADMIN_TOKEN"))
		cl->token = strdup(getenv("MB_ADMIN_TOKEN"));
}

void ctl_client_free(struct ctl_client *cl)
{
	free(cl->token);
	cl->token = NULL;
}

int ctl_client_option(struct ctl_client *cl, int opt, const char *arg)
{
	char line[512];
	FILE *f;

	switch (opt) {
	case 'u':
		cl->url = arg;
		return 0;
	case 't':
		free(cl->token);
		cl->token = strdup(arg);
		return 0;
	case 'c':
		cl->ca = arg;
		return 0;
	case 'T':
		f = fopen(arg, "r");
		if (!f || !fgets(line, sizeof(line), f))
			line[0] = '\0';
		if (f)
			fclose(f);
		line[strcspn(line, "\r\n \t")] = '\0';
		if (!line[0]) {
			fprintf(stderr, "mbuddy %s: token file %s: missing "
				"or empty\n", cl->cmd, arg);
			return 2;
		}
		free(cl->token);
		cl->token = strdup(line);
		return 0;
	}
	return 2;
}

json_t *ctl_request(struct ctl_client *cl, const char *method,
		    const char *path)
{
	return ctl_request_body(cl, method, path, NULL);
}

json_t *ctl_request_body(struct ctl_client *cl, const char *method,
			 const char *path, const json_t *send)
{
	const char *url = cl->url ? cl->url : "http://127.0.0.1:8080";
	char full[2048], authz[600], errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	struct buffer body = { 0 };
	char *payload = NULL;
	json_t *j = NULL, *msg;
	size_t len = strlen(url);
	json_error_t je;
	long code = 0;
	CURLcode rc;
	CURL *c;

	while (len && url[len - 1] == '/')
		len--;
	snprintf(full, sizeof(full), "%.*s%s", (int)len, url, path);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(c = curl_easy_init())) {
		fprintf(stderr, "mbuddy %s: libcurl initialisation failed\n",
			cl->cmd);
		return NULL;
	}
	if (cl->token) {
		snprintf(authz, sizeof(authz), "Authorization: Bearer %s",
			 cl->token);
		headers = curl_slist_append(headers, authz);
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (send) {
		payload = json_dumps(send, JSON_COMPACT);
		headers = curl_slist_append(headers,
					    "Content-Type: application/json");
	}
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload ? payload : "");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	if (cl->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, cl->ca);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	free(payload);
	curl_global_cleanup();
	if (rc != CURLE_OK) {
		fprintf(stderr, "mbuddy %s: %s: %s\n", cl->cmd, full,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		free(body.data);
		return NULL;
	}
	if (body.data)
		j = json_loads(body.data, 0, &je);
	if (code < 200 || code > 299) {
		msg = json_object_get(j, "error");
		fprintf(stderr, "mbuddy %s: %s %s: HTTP %ld: %s\n", cl->cmd,
			method, full, code, json_is_string(msg) ?
			json_string_value(msg) : "no error message");
		json_decref(j);
		j = NULL;
	} else if (!j) {
		fprintf(stderr, "mbuddy %s: %s: the answer is not JSON\n",
			cl->cmd, full);
	}
	free(body.data);
	return j;
}
