/* SPDX-License-Identifier: GPL-2.0 */
/*
 * routes.h - matching a request against a table of routes (routes.c):
 * method, path pattern, who may call it, how its body is read.
 *
 * A pattern is a path whose segments are literals or parameters in
 * braces: "/v1/vms/{uuid}/traces/{version}". A parameter matches one
 * segment. When no route matches that way, parameters may span several
 * segments, so that "/v1/vms/../x/traces" reaches the uuid check of the
 * traces route (and is refused as a bad uuid, 400) instead of being an
 * unknown path; the route with the most literal segments wins. HEAD
 * requests match GET routes.
 */
#ifndef MB_CONTROLD_ROUTES_H
#define MB_CONTROLD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

enum route_role {
	ROLE_ANYONE,			/* no token needed */
	ROLE_VM,			/* the token of VM {uuid}, or admin */
	ROLE_VM_OR_HOST,		/* the same, or a host token of the host
					   running VM {uuid} (hostside.h) */
	ROLE_ADMIN,
};

enum route_body {
	BODY_NONE,			/* a body is read and ignored */
	BODY_JSON,			/* read whole (bounded), then handled */
	BODY_STREAM,			/* handed over as it arrives (traces) */
};

#define ROUTE_PARAMS 4

struct route {
	const char *method;
	const char *pattern;
	enum route_role role;
	enum route_body body;
	bool control;			/* needs the control loop (--host) */
	int handler;			/* the caller's handler id */
	const char *what;		/* for messages: "upload traces" */
};

struct route_match {
	char buf[1024];			/* the parameters' values live here */
	size_t nparams;
	const char *names[ROUTE_PARAMS];	/* point into the pattern */
	size_t name_len[ROUTE_PARAMS];
	const char *values[ROUTE_PARAMS];
};

enum route_result {
	ROUTE_FOUND,
	ROUTE_NO_PATH,			/* 404 */
	ROUTE_NO_METHOD,		/* 405; @allow lists the methods */
};

/*
 * Match @method @path against @table. On ROUTE_FOUND *@route and @m are
 * set; on ROUTE_NO_METHOD @allow gets "GET, HEAD, PUT" style text.
 */
enum route_result route_match(const struct route *table, size_t n,
			      const char *method, const char *path,
			      const struct route **route,
			      struct route_match *m, char *allow,
			      size_t allow_size);

/* The value of parameter @name ("uuid"), or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif /* MB_CONTROLD_ROUTES_H */
