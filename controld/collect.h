/* SPDX-License-Identifier: GPL-2.0 */
/*
 * collect.h - the black-box statistics collector: libvirt's domain and
 * node statistics of every host that is up, into stats.h (collect.c).
 */
#ifndef MB_CONTROLD_COLLECT_H
#define MB_CONTROLD_COLLECT_H

#include "inventory.h"
#include "mb_error.h"
#include "stats.h"

struct collector;

/* @interval: --stats-interval, also the balloon polling period it sets. */
struct collector *collector_new(struct inventory *inv, struct stats *stats,
				unsigned int interval, struct mb_err *err);
void collector_free(struct collector *c);

/* One round over the hosts; blocks for the libvirt calls. */
void collector_round(struct collector *c);

#endif /* MB_CONTROLD_COLLECT_H */
