/* SPDX-License-Identifier: GPL-2.0 */
/*
 * action.h - what the controller does to a VM, as one typed record.
 *
 * Every change mb-controld makes to the cluster is an action: a live
 * migration to another host, or a resize of the VM's memory through its
 * balloon. Policies propose actions (plan.h), the scheduler carries them
 * out (scheduler.h) and the control database keeps them (controldb.h),
 * all through this one struct, whatever the kind. JSON is only how a
 * record is stored in plans and served (action_json()).
 *
 * Every action goes through one state machine:
 *
 *	planned ---> running ---> done | failed | aborted
 *	   \-----------------------^       (ended without running: a host
 *	                                    gone, the VM already there)
 *
 * action_transition_ok() is its only definition.
 */
#ifndef MB_CONTROLD_ACTION_H
#define MB_CONTROLD_ACTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum action_kind {
	ACTION_MIGRATE = 0,
	ACTION_RESIZE,
	ACTION_KINDS
};

enum action_state {
	ACTION_PLANNED = 0,
	ACTION_RUNNING,
	ACTION_DONE,
	ACTION_FAILED,
	ACTION_ABORTED,
	ACTION_STATES
};

#define ACTION_NAME_LEN 64
#define ACTION_TEXT_LEN 512

struct action {
	int64_t id;			/* 0 until stored */
	int64_t plan_id;		/* 0: asked for directly */
	enum action_kind kind;
	enum action_state state;
	char uuid[37];
	char name[ACTION_NAME_LEN];	/* the VM's name when proposed */
	char src[ACTION_NAME_LEN];	/* host it runs on when proposed */
	char dst[ACTION_NAME_LEN];	/* migrate: destination; resize: = src */
	double target_mb;		/* resize: the new balloon size */
	double from_mb;			/* resize: the size when proposed */
	char policy[32];		/* who proposed it ("buddies", "operator") */
	char reason[ACTION_TEXT_LEN];	/* why, in words */
	double gain_mb;			/* expected effect, MiB (see docs/api.md) */
	int64_t created;		/* seconds since the epoch */
	int64_t started_ms, finished_ms;/* 0 = not yet */
	char error[ACTION_TEXT_LEN];	/* "" = none */
	char host[ACTION_NAME_LEN];	/* where the VM ran afterwards, "" = none */
	char note[ACTION_TEXT_LEN];
};

/* "migrate", "resize"; "state" names "planned" ... "aborted". */
const char *action_kind_name(enum action_kind k);
/* The kind as a noun for messages: "migration", "resize". */
const char *action_kind_noun(enum action_kind k);
const char *action_state_name(enum action_state s);
/* The kind or state named @name, or -1. */
int action_kind_parse(const char *name);
int action_state_parse(const char *name);

/* planned or running. */
static inline bool action_unfinished(enum action_state s)
{
	return s == ACTION_PLANNED || s == ACTION_RUNNING;
}

/*
 * What @a does, in words for logs and errors: "migrate g3 from b to a",
 * "resize g3 on a to 512 MiB". Returns @buf.
 */
const char *action_describe(const struct action *a, char *buf, size_t size);

/* Whether the state machine allows @from -> @to. */
bool action_transition_ok(enum action_state from, enum action_state to);

/*
 * The served form (GET /v1/actions): every field, null for the unset
 * ones, plus "duration_s" once started and finished. With @legacy, the
 * form of GET /v1/migrations ("plan", "from", "to"; no resize fields).
 */
json_t *action_json(const struct action *a, bool legacy);

#endif /* MB_CONTROLD_ACTION_H */
