// SPDX-License-Identifier: GPL-2.0
/*
 * ctl_client.c - how the mbuddy commands that talk to mb-controld (status,
 * plan, actions, top) find it, authenticate and make one JSON request: the
 * options --url, --token, --token-file and --ca-file with their
 * environment defaults, and libcurl for the transfer.
 *
 * libcurl is loaded with dlopen() on the first request, not linked: it
 * brings some thirty shared libraries (TLS, HTTP/2, SSH, LDAP, Kerberos)
 * that the dynamic linker would otherwise load and relocate at every start
 * of every mbuddy command, most of which never talk to controld (a few
 * milliseconds each time, more than `mbuddy sharing` takes for a handful
 * of traces).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl_client.h"
#include "textsafe.h"

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

/* The libcurl functions the request uses, from the loaded library. */
struct curl_api {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/*
 * libcurl's API, loaded once: the sonames Debian's flavours install
 * (OpenSSL, GnuTLS, NSS), then the development link. NULL, with the
 * reason printed, when none loads or a function is missing.
 */
static const struct curl_api *curl_api(const char *cmd)
{
	static const char *const sonames[] = {
		"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl-nss.so.4",
		"libcurl.so",
	};
	static struct curl_api api;
	static bool loaded;
	void *lib = NULL;
	size_t i;

	if (loaded)
		return &api;
	for (i = 0; !lib && i < sizeof(sonames) / sizeof(sonames[0]); i++)
		lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "mbuddy %s: cannot load libcurl (%s): install "
			"libcurl4\n", cmd, dlerror());
		return NULL;
	}
#define CURL_SYM(field, name)						\
	do {								\
		*(void **)&api.field = dlsym(lib, name);		\
		if (!api.field) {					\
			fprintf(stderr, "mbuddy %s: libcurl has no %s\n",	\
				cmd, name);				\
			dlclose(lib);					\
			return NULL;					\
		}							\
	} while (0)
	CURL_SYM(global_init, "curl_global_init");
	CURL_SYM(global_cleanup, "curl_global_cleanup");
	CURL_SYM(easy_init, "curl_easy_init");
	CURL_SYM(easy_setopt, "curl_easy_setopt");
	CURL_SYM(easy_perform, "curl_easy_perform");
	CURL_SYM(easy_getinfo, "curl_easy_getinfo");
	CURL_SYM(easy_cleanup, "curl_easy_cleanup");
	CURL_SYM(easy_strerror, "curl_easy_strerror");
	CURL_SYM(slist_append, "curl_slist_append");
	CURL_SYM(slist_free_all, "curl_slist_free_all");
#undef CURL_SYM
	loaded = true;	/* the library stays loaded until exit */
	return &api;
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
	const struct curl_api *cu = curl_api(cl->cmd);
	long code = 0;
	CURLcode rc;
	CURL *c;

	if (!cu)
		return NULL;
	while (len && url[len - 1] == '/')
		len--;
	snprintf(full, sizeof(full), "%.*s%s", (int)len, url, path);
	if (cu->global_init(CURL_GLOBAL_DEFAULT) || !(c = cu->easy_init())) {
		fprintf(stderr, "mbuddy %s: libcurl initialisation failed\n",
			cl->cmd);
		return NULL;
	}
	if (cl->token) {
		snprintf(authz, sizeof(authz), "Authorization: Bearer %s",
			 cl->token);
		headers = cu->slist_append(headers, authz);
	}
	errbuf[0] = '\0';
	cu->easy_setopt(c, CURLOPT_URL, full);
	cu->easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (send) {
		payload = json_dumps(send, JSON_COMPACT);
		headers = cu->slist_append(headers,
					    "Content-Type: application/json");
	}
	if (!strcmp(method, "POST")) {
		cu->easy_setopt(c, CURLOPT_POST, 1L);
		cu->easy_setopt(c, CURLOPT_POSTFIELDS, payload ? payload : "");
	}
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	cu->easy_setopt(c, CURLOPT_WRITEDATA, &body);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	if (cl->ca)
		cu->easy_setopt(c, CURLOPT_CAINFO, cl->ca);
	rc = cu->easy_perform(c);
	cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	cu->slist_free_all(headers);
	cu->easy_cleanup(c);
	free(payload);
	cu->global_cleanup();
	if (rc != CURLE_OK) {
		fprintf(stderr, "mbuddy %s: %s: %s\n", cl->cmd, full,
			errbuf[0] ? errbuf : cu->easy_strerror(rc));
		free(body.data);
		return NULL;
	}
	if (body.data)
		j = json_loads(body.data, 0, &je);
	if (code < 200 || code > 299) {
		msg = json_object_get(j, "error");
		fprintf(stderr, "mbuddy %s: %s %s: HTTP %ld: %s\n", cl->cmd,
			method, full, code, json_is_string(msg) ?
			mb_display(json_string_value(msg)) :
			"no error message");
		json_decref(j);
		j = NULL;
	} else if (!j) {
		fprintf(stderr, "mbuddy %s: %s: the answer is not JSON\n",
			cl->cmd, full);
	}
	free(body.data);
	return j;
}

const char *ctl_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? mb_display(s) : "-";
}
