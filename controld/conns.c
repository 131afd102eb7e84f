// SPDX-License-Identifier: GPL-2.0
/*
 * conns.c - the connection table of a listener (see conns.h for the
 * rules).
 *
 * Connections sit in one list in the order they were admitted, so the
 * oldest come first; a small open-addressing hash counts them per peer
 * address (IPv4 as IPv4-mapped IPv6), all of them and the unauthenticated
 * ones. Choosing a connection to evict scans the hash for the address
 * with the most unauthenticated connections, then the list for its
 * oldest: both are O(connections), which at the sizes a listener runs
 * with (hundreds) costs far less than the accept() before it.
 *
 * A connection the table cuts stops counting against any limit at once,
 * though its thread may take a moment to notice: the caller's own
 * connection limit (libmicrohttpd's) leaves room for that.
 *
 * The watchdog wakes every 100 ms, cuts what is over its time, and logs
 * one line summing up what was closed or refused: at the first close, then
 * at most every 10 s, so a flood does not flood the log as well.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conns.h"
#include "log.h"

#define TICK_NS (100 * 1000 * 1000LL)
#define SUMMARY_NS (10 * 1000 * 1000 * 1000LL)
#define NS 1000000000LL

enum phase {
	PHASE_WAITING,			/* for a request's headers */
	PHASE_BODY,			/* receiving a body */
	PHASE_ANSWERING,		/* sending the answer */
};

struct conn {
	struct conn *prev, *next;
	int fd;
	uint8_t addr[16];
	char peer[INET6_ADDRSTRLEN];
	enum phase phase;
	bool authenticated;
	bool counted;			/* in the limits (not cut) */
	enum conn_cut cut;
	int64_t opened, since;		/* ns: admitted, phase began */
	int64_t window_start;		/* ns: this rate window began */
	uint64_t window_bytes;
};

struct addr_slot {
	bool used;
	uint8_t addr[16];
	unsigned int total, unauthenticated;
};

struct conn_table {
	struct conn_limits l;
	pthread_mutex_t lock;
	struct conn *head, *tail;
	unsigned int open, unauthenticated;
	struct addr_slot *slots;
	size_t nslots;			/* a power of two > 2 * max */
	uint64_t closed[CONN_NREASONS];
	uint64_t summarized[CONN_NREASONS];
	int64_t last_summary;
	pthread_t watchdog;
	pthread_cond_t wake;
	bool stop;
};

static const char *const reasons[CONN_NREASONS] = {
	[CONN_NOT_CUT] = "not cut",
	[CONN_CUT_HEADERS] = "no complete request in time",
	[CONN_CUT_RATE] = "body under the minimum rate",
	[CONN_CUT_DEADLINE] = "connection over its deadline",
	[CONN_CUT_EVICTED] = "slot taken by a newer connection",
	[CONN_REFUSED_ADDRESS] = "too many connections from its address",
	[CONN_REFUSED_FULL] = "no connection slot left",
};

/* Short names for /metrics. */
static const char *const reason_keys[CONN_NREASONS] = {
	[CONN_CUT_HEADERS] = "header_timeout",
	[CONN_CUT_RATE] = "slow_body",
	[CONN_CUT_DEADLINE] = "deadline",
	[CONN_CUT_EVICTED] = "evicted",
	[CONN_REFUSED_ADDRESS] = "per_address_limit",
	[CONN_REFUSED_FULL] = "full",
};

const char *conn_cut_reason(enum conn_cut why)
{
	return why < CONN_NREASONS ? reasons[why] : "unknown";
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* ---- per-address counts ---- */

static size_t addr_hash(const uint8_t a[16], size_t mask)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ a[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29)) & mask;
}

/* The slot of @a, created when @create; NULL when absent. */
static struct addr_slot *addr_find(struct conn_table *t, const uint8_t a[16],
				   bool create)
{
	size_t mask = t->nslots - 1, i = addr_hash(a, mask);

	while (t->slots[i].used) {
		if (!memcmp(t->slots[i].addr, a, 16))
			return &t->slots[i];
		i = (i + 1) & mask;
	}
	if (!create)
		return NULL;
	t->slots[i].used = true;
	memcpy(t->slots[i].addr, a, 16);
	t->slots[i].total = t->slots[i].unauthenticated = 0;
	return &t->slots[i];
}

/* Remove an empty slot, shifting back the run after it (no tombstones). */
static void addr_remove(struct conn_table *t, struct addr_slot *s)
{
	size_t mask = t->nslots - 1, hole = (size_t)(s - t->slots), i, home;

	t->slots[hole].used = false;
	for (i = (hole + 1) & mask; t->slots[i].used; i = (i + 1) & mask) {
		home = addr_hash(t->slots[i].addr, mask);
		/* Move i into the hole unless its home lies in (hole, i]. */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			t->slots[hole] = t->slots[i];
			t->slots[i].used = false;
			hole = i;
		}
	}
}

/* Take @c out of the counts (cut or released). Lock held. */
static void uncount(struct conn_table *t, struct conn *c)
{
	struct addr_slot *s;

	if (!c->counted)
		return;
	c->counted = false;
	t->open--;
	s = addr_find(t, c->addr, false);
	if (!c->authenticated)
		t->unauthenticated--;
	if (!s)
		return;
	s->total--;
	if (!c->authenticated)
		s->unauthenticated--;
	if (!s->total)
		addr_remove(t, s);
}

static void set_authenticated(struct conn_table *t, struct conn *c, bool yes)
{
	struct addr_slot *s;

	if (!c->counted || c->authenticated == yes)
		return;
	c->authenticated = yes;
	s = addr_find(t, c->addr, false);
	if (yes) {
		t->unauthenticated--;
		if (s)
			s->unauthenticated--;
	} else {
		t->unauthenticated++;
		if (s)
			s->unauthenticated++;
	}
}

/*
 * Cut @c: shut its reading side down (the thread serving it sees the end
 * of the stream; its writing side stays, for a last error line), stop
 * counting it. Lock held.
 */
static void cut(struct conn_table *t, struct conn *c, enum conn_cut why)
{
	if (c->cut)
		return;
	c->cut = why;
	uncount(t, c);
	t->closed[why]++;
	shutdown(c->fd, SHUT_RD);
	log_debug("%s: connection from %s closed: %s", t->l.listener,
		  c->peer, reasons[why]);
}

/* The oldest unauthenticated connection of the busiest address. */
static struct conn *eviction_victim(struct conn_table *t)
{
	struct addr_slot *best = NULL;
	struct conn *c;
	size_t i;

	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].used && t->slots[i].unauthenticated &&
		    (!best || t->slots[i].unauthenticated >
			      best->unauthenticated))
			best = &t->slots[i];
	if (!best)
		return NULL;
	for (c = t->head; c; c = c->next)
		if (c->counted && !c->authenticated &&
		    !memcmp(c->addr, best->addr, 16))
			return c;
	return NULL;
}

static void normalise(const struct sockaddr *sa, uint8_t out[16],
		      char *text, size_t size)
{
	memset(out, 0, 16);
	text[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, text, size);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;

		memcpy(out, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, text, size);
	}
}

struct conn *conn_admit(struct conn_table *t, const struct sockaddr *sa,
			int fd, enum conn_cut *why)
{
	struct addr_slot *s;
	struct conn *c, *victim;
	uint8_t addr[16];
	char peer[INET6_ADDRSTRLEN];

	normalise(sa, addr, peer, sizeof(peer));
	pthread_mutex_lock(&t->lock);
	s = addr_find(t, addr, false);
	if (t->l.per_address && s && s->total >= t->l.per_address) {
		*why = CONN_REFUSED_ADDRESS;
		goto refuse;
	}
	while (t->open >= t->l.max ||
	       t->unauthenticated >= t->l.max_unauthenticated) {
		victim = t->l.evict ? eviction_victim(t) : NULL;
		if (!victim) {
			*why = CONN_REFUSED_FULL;
			goto refuse;
		}
		cut(t, victim, CONN_CUT_EVICTED);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		*why = CONN_REFUSED_FULL;
		goto refuse;
	}
	c->fd = fd;
	memcpy(c->addr, addr, 16);
	memcpy(c->peer, peer, sizeof(peer));
	c->opened = c->since = now_ns();
	c->counted = true;
	s = addr_find(t, addr, true);
	s->total++;
	s->unauthenticated++;
	t->open++;
	t->unauthenticated++;
	c->prev = t->tail;
	if (t->tail)
		t->tail->next = c;
	else
		t->head = c;
	t->tail = c;
	pthread_mutex_unlock(&t->lock);
	return c;
refuse:
	t->closed[*why]++;
	pthread_mutex_unlock(&t->lock);
	log_debug("%s: connection from %s refused: %s", t->l.listener, peer,
		  reasons[*why]);
	return NULL;
}

void conn_release(struct conn_table *t, struct conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&t->lock);
	uncount(t, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->tail = c->prev;
	pthread_mutex_unlock(&t->lock);
	free(c);
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}

void conn_request(struct conn_table *t, struct conn *c, bool authenticated)
{
	if (!c)
		return;
	pthread_mutex_lock(&t->lock);
	c->phase = PHASE_BODY;
	c->since = c->window_start = now_ns();
	c->window_bytes = 0;
	set_authenticated(t, c, authenticated);
	pthread_mutex_unlock(&t->lock);
}

void conn_body(struct conn_table *t, struct conn *c, uint64_t bytes)
{
	if (!c)
		return;
	pthread_mutex_lock(&t->lock);
	c->window_bytes += bytes;
	pthread_mutex_unlock(&t->lock);
}

void conn_answering(struct conn_table *t, struct conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&t->lock);
	c->phase = PHASE_ANSWERING;
	c->since = now_ns();
	pthread_mutex_unlock(&t->lock);
}

void conn_idle(struct conn_table *t, struct conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&t->lock);
	c->phase = PHASE_WAITING;
	c->since = now_ns();
	set_authenticated(t, c, false);
	pthread_mutex_unlock(&t->lock);
}

enum conn_cut conn_was_cut(struct conn_table *t, const struct conn *c)
{
	enum conn_cut why;

	pthread_mutex_lock(&t->lock);
	why = c->cut;
	pthread_mutex_unlock(&t->lock);
	return why;
}

void conn_counts(struct conn_table *t, unsigned int *open,
		 unsigned int *unauthenticated)
{
	pthread_mutex_lock(&t->lock);
	*open = t->open;
	*unauthenticated = t->unauthenticated;
	pthread_mutex_unlock(&t->lock);
}

void conn_table_metrics(struct conn_table *t, FILE *out)
{
	int i;

	pthread_mutex_lock(&t->lock);
	fprintf(out, "mb_controld_connections{listener=\"%s\","
		"state=\"authenticated\"} %u\n", t->l.listener,
		t->open - t->unauthenticated);
	fprintf(out, "mb_controld_connections{listener=\"%s\","
		"state=\"unauthenticated\"} %u\n", t->l.listener,
		t->unauthenticated);
	for (i = 1; i < CONN_NREASONS; i++)
		fprintf(out, "mb_controld_connections_closed_total{listener="
			"\"%s\",reason=\"%s\"} %" PRIu64 "\n", t->l.listener,
			reason_keys[i], t->closed[i]);
	pthread_mutex_unlock(&t->lock);
}

/* ---- the watchdog ---- */

static void check(struct conn_table *t, struct conn *c, int64_t now)
{
	const struct conn_limits *l = &t->l;
	int64_t window = (int64_t)l->header_timeout * NS;

	if (c->cut)
		return;
	if (l->deadline && now - c->opened > (int64_t)l->deadline * NS) {
		cut(t, c, CONN_CUT_DEADLINE);
		return;
	}
	if (!window)
		return;
	if (c->phase == PHASE_WAITING && now - c->since > window) {
		cut(t, c, CONN_CUT_HEADERS);
		return;
	}
	if (c->phase != PHASE_BODY || !l->min_rate ||
	    now - c->window_start < window)
		return;
	if (c->window_bytes < l->min_rate * l->header_timeout) {
		cut(t, c, CONN_CUT_RATE);
		return;
	}
	c->window_start = now;
	c->window_bytes = 0;
}

static void summarize(struct conn_table *t, int64_t now)
{
	char text[512];
	uint64_t total = 0, n;
	size_t len = 0;
	int i;

	if (now - t->last_summary < SUMMARY_NS)
		return;
	for (i = 1; i < CONN_NREASONS; i++) {
		n = t->closed[i] - t->summarized[i];
		if (!n)
			continue;
		total += n;
		len += snprintf(text + len, sizeof(text) - len, "%s%s %" PRIu64,
				len ? ", " : "", reasons[i], n);
		if (len >= sizeof(text))
			len = sizeof(text) - 1;
		t->summarized[i] = t->closed[i];
	}
	if (!total)
		return;
	log_warn("%s: %" PRIu64 " connection%s closed or refused (%s); %u "
		 "open; the next report in %lld s at the earliest",
		 t->l.listener, total, total == 1 ? "" : "s", text, t->open,
		 SUMMARY_NS / NS);
	t->last_summary = now;
}

static void *watchdog(void *arg)
{
	struct conn_table *t = arg;
	struct timespec wake;
	struct conn *c;
	int64_t now;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		now = now_ns();
		for (c = t->head; c; c = c->next)
			check(t, c, now);
		summarize(t, now);
		clock_gettime(CLOCK_MONOTONIC, &wake);
		wake.tv_nsec += TICK_NS;
		if (wake.tv_nsec >= NS) {
			wake.tv_sec++;
			wake.tv_nsec -= NS;
		}
		pthread_cond_timedwait(&t->wake, &t->lock, &wake);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct conn_table *conn_table_new(const struct conn_limits *l,
				  struct mb_err *err)
{
	struct conn_table *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;

	if (!t)
		goto nomem;
	t->l = *l;
	if (!t->l.max)
		t->l.max = 1;
	if (!t->l.max_unauthenticated || t->l.max_unauthenticated > t->l.max)
		t->l.max_unauthenticated = t->l.max;
	t->nslots = 16;
	while (t->nslots <= 2 * (size_t)t->l.max)
		t->nslots *= 2;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots)
		goto nomem;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	t->last_summary = now_ns() - SUMMARY_NS;	/* the first close: at once */
	if (pthread_create(&t->watchdog, NULL, watchdog, t)) {
		mb_errf(err, "%s listener: cannot start the connection "
			"watchdog", l->listener);
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		free(t->slots);
		free(t);
		return NULL;
	}
	return t;
nomem:
	if (t)
		free(t->slots);
	free(t);
	mb_errf(err, "%s listener: out of memory", l->listener);
	return NULL;
}

void conn_table_free(struct conn_table *t)
{
	struct conn *c, *next;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->watchdog, NULL);
	for (c = t->head; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}
