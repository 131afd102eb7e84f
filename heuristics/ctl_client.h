/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl_client.h - the mb-controld client shared by `mbuddy status`,
 * `plan`, `actions` (and `migrations`, `resize`, `migrate`) and `top`:
 * common options and one JSON request.
 */
#ifndef MB_CTL_CLIENT_H
#define MB_CTL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

struct ctl_client {
	const char *url;		/* default $MB_CONTROLD_URL or :8080 */
	char *token;			/* default $MB_ADMIN_TOKEN */
	const char *ca;
	const char *cmd;		/* "status", "plan", ...: for messages */
};

/* The shared options' getopt_long entries and their case labels. */
#define CTL_CLIENT_OPTIONS \
	{ "url", required_argument, NULL, 'u' }, \
	{ "token", required_argument, NULL, 't' }, \
	{ "token-file", required_argument, NULL, 'T' }, \
	{ "ca-file", required_argument, NULL, 'c' }
#define CTL_CLIENT_OPTION_CASES 'u': case 't': case 'T': case 'c'

void ctl_client_init(struct ctl_client *cl, const char *cmd);
void ctl_client_free(struct ctl_client *cl);

/*
 * Handle one of the shared options (--url, --token, --token-file,
 * --ca-file: option values 'u', 't', 'T', 'c'). Returns 0, or 2 (usage).
 */
int ctl_client_option(struct ctl_client *cl, int opt, const char *arg);

/*
 * @method @path ("GET", "/v1/plan") and parse the JSON answer. Returns it
 * on 2xx; otherwise prints controld's error (or the transport error) and
 * returns NULL.
 */
json_t *ctl_request(struct ctl_client *cl, const char *method,
		    const char *path);

/* The same with @body (a JSON object, not consumed) as the request body. */
json_t *ctl_request_body(struct ctl_client *cl, const char *method,
			 const char *path, const json_t *body);

/*
 * The string @key of @o for a human-readable table: "-" when absent, and
 * with control characters escaped (textsafe.h), since names and messages
 * come from the guests. Valid until 16 more calls (mb_display()).
 */
const char *ctl_str(json_t *o, const char *key);

#endif /* MB_CTL_CLIENT_H */
