// SPDX-License-Identifier: GPL-2.0
/*
 * hostspec.c - parse a --host value, "NAME,URI[,capacity=MB][,reserve=MB]
 * [,migrate-uri=URI][,balloon=libvirt|xenctrl][,cpus=N][,net-mbps=N]"
 * (inventory.h). Apart from inventory.c so that the
 * fuzzer (tests/fuzz/fuzz_controld_hostspec.c) needs no libvirt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"

static int parse_number(const char *what, const char *unit, const char *v,
			double *out, struct mb_err *err)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || d < 0 || d > 1e9)
		return mb_errf(err, "host: %s '%s' is not a number of %s",
			       what, v, unit);
	*out = d;
	return 0;
}

static int parse_mb(const char *what, const char *v, double *out,
		    struct mb_err *err)
{
	return parse_number(what, "MiB", v, out, err);
}

int inv_parse_host(const char *spec, struct inv_host_spec *h,
		   struct mb_err *err)
{
	char buf[1024], *save = NULL, *tok;
	int field = 0;

	memset(h, 0, sizeof(*h));
	if (strlen(spec) >= sizeof(buf))
		return mb_errf(err, "host: '%.40s...' is too long", spec);
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), field++) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		if (field == 0) {
			if (!*tok || strlen(tok) >= sizeof(h->name) ||
			    strspn(tok, "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
			    strlen(tok))
				return mb_errf(err, "host: name '%s' must be "
					       "1-63 letters, digits, '-', "
					       "'_' or '.'", tok);
			strcpy(h->name, tok);
		} else if (field == 1) {
			if (!strstr(tok, ":/") || strlen(tok) >= sizeof(h->uri))
				return mb_errf(err, "host %s: '%s' is not a "
					       "libvirt URI", h->name, tok);
			strcpy(h->uri, tok);
		} else if (!strncmp(tok, "capacity=", 9)) {
			if (parse_mb("capacity", tok + 9, &h->capacity_mb, err))
				return -1;
		} else if (!strncmp(tok, "reserve=", 8)) {
			if (parse_mb("reserve", tok + 8, &h->reserve_mb, err))
				return -1;
		} else if (!strncmp(tok, "migrate-uri=", 12)) {
			if (strlen(tok + 12) >= sizeof(h->migrate_uri))
				return mb_errf(err, "host %s: migrate-uri is "
					       "too long", h->name);
			strcpy(h->migrate_uri, tok + 12);
		} else if (!strncmp(tok, "cpus=", 5)) {
			if (parse_number("cpus", "cores", tok + 5, &h->cpus,
					 err))
				return -1;
		} else if (!strncmp(tok, "net-mbps=", 9)) {
			if (parse_number("net-mbps", "Mbit/s", tok + 9,
					 &h->net_mbps, err))
				return -1;
		} else if (!strncmp(tok, "balloon=", 8)) {
			if (strcmp(tok + 8, "libvirt") &&
			    strcmp(tok + 8, "xenctrl"))
				return mb_errf(err, "host %s: balloon '%s' is "
					       "not libvirt or xenctrl",
					       h->name, tok + 8);
			h->xen_balloon = !strcmp(tok + 8, "xenctrl");
		} else {
			return mb_errf(err, "host %s: unknown setting '%s' "
				       "(capacity=, reserve=, migrate-uri=, "
				       "balloon=, cpus=, net-mbps=)", h->name,
				       tok);
		}
	}
	if (field < 2)
		return mb_errf(err, "host '%s': expected NAME,URI[,capacity=MB]"
			       "[,reserve=MB][,migrate-uri=URI][,balloon=libvirt|"
			       "xenctrl][,cpus=N][,net-mbps=N]", spec);
	return 0;
}

int inv_parse_hosts(char *const *specs, unsigned int n,
		    struct inv_host_spec *out, struct mb_err *err)
{
	struct inv_host_spec *h = calloc(n ? n : 1, sizeof(*h));
	unsigned int i, j;
	int ret = -1;

	if (!h)
		return mb_errf(err, "hosts: out of memory");
	for (i = 0; i < n; i++) {
		if (inv_parse_host(specs[i], &h[i], err))
			goto out;
		for (j = 0; j < i; j++)
			if (!strcmp(h[j].name, h[i].name)) {
				mb_errf(err, "host %s is given twice",
					h[i].name);
				goto out;
			}
	}
	if (out)
		memcpy(out, h, n * sizeof(*h));
	ret = 0;
out:
	free(h);
	return ret;
}
