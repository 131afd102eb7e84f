/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ui.h - the web dashboard at /ui/ (ui.c, docs/dashboard.md): static
 * files compiled into mb-controld, served with a strict
 * Content-Security-Policy. The page holds no data: it asks the API for
 * everything with the admin token the operator enters.
 */
#ifndef MB_CONTROLD_UI_H
#define MB_CONTROLD_UI_H

#include <stddef.h>

#include <microhttpd.h>

/* One compiled-in file (the table is generated from controld/ui/). */
struct ui_asset {
	const char *name;		/* "app.js"; "index.html" is /ui/ */
	const char *type;		/* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_nassets;

/* The Content-Security-Policy every dashboard file is sent with. */
extern const char ui_csp[];

/* The file called @name (NULL or "": the page itself), or NULL. */
const struct ui_asset *ui_find(const char *name);

/*
 * A response for @a with its type and the dashboard's headers (CSP,
 * nosniff, no framing, no referrer, revalidate every time); the data is
 * not copied. NULL when out of memory.
 */
struct MHD_Response *ui_response(const struct ui_asset *a);

#endif /* MB_CONTROLD_UI_H */
