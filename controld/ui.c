// SPDX-License-Identifier: GPL-2.0
/*
 * ui.c - serving the dashboard's files (ui.h).
 *
 * The files live in controld/ui/ and are compiled in by
 * scripts/embed-assets.py (the table ui_assets[]): nothing is read from
 * disk or fetched at run time, and the sandboxed daemon needs no path of
 * its own for them.
 *
 * The policy allows scripts, styles and API calls from this origin only:
 * no inline script or style, no eval, no frames, no form posts, no other
 * host. The token the operator enters stays in the page's sessionStorage
 * and goes out only in the Authorization header of API calls to this
 * origin, so a script injected elsewhere could not reach it and a
 * cross-site page cannot make the browser send it.
 */
#include <string.h>

#include "ui.h"

const char ui_csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
	"form-action 'none'; frame-ancestors 'none'";

const struct ui_asset *ui_find(const char *name)
{
	size_t i;

	if (!name || !*name)
		name = "index.html";
	for (i = 0; i < ui_nassets; i++)
		if (!strcmp(ui_assets[i].name, name))
			return &ui_assets[i];
	return NULL;
}

struct MHD_Response *ui_response(const struct ui_asset *a)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(a->len, (void *)a->data,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return NULL;
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "Content-Security-Policy", ui_csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy",
				"same-origin");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	return r;
}
