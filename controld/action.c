// SPDX-License-Identifier: GPL-2.0
/*
 * action.c - names, the state machine and the served form of an action
 * (action.h).
 */
#include <stdio.h>
#include <string.h>

#include "action.h"

static const char *const kind_names[ACTION_KINDS] = {
	[ACTION_MIGRATE] = "migrate",
	[ACTION_RESIZE] = "resize",
};

static const char *const state_names[ACTION_STATES] = {
	[ACTION_PLANNED] = "planned",
	[ACTION_RUNNING] = "running",
	[ACTION_DONE] = "done",
	[ACTION_FAILED] = "failed",
	[ACTION_ABORTED] = "aborted",
};

const char *action_kind_name(enum action_kind k)
{
	return (unsigned int)k < ACTION_KINDS ? kind_names[k] : "unknown";
}

const char *action_state_name(enum action_state s)
{
	return (unsigned int)s < ACTION_STATES ? state_names[s] : "unknown";
}

const char *action_kind_noun(enum action_kind k)
{
	return k == ACTION_MIGRATE ? "migration" : k == ACTION_RESIZE ?
	       "resize" : "action";
}

const char *action_describe(const struct action *a, char *buf, size_t size)
{
	const char *who = a->name[0] ? a->name : a->uuid;

	if (a->kind == ACTION_RESIZE)
		snprintf(buf, size, "resize %s on %s to %.0f MiB", who, a->src,
			 a->target_mb);
	else
		snprintf(buf, size, "%s %s from %s to %s",
			 action_kind_name(a->kind), who, a->src, a->dst);
	return buf;
}

static int lookup(const char *const *names, int n, const char *name)
{
	int i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

int action_kind_parse(const char *name)
{
	return lookup(kind_names, ACTION_KINDS, name);
}

int action_state_parse(const char *name)
{
	return lookup(state_names, ACTION_STATES, name);
}

bool action_transition_ok(enum action_state from, enum action_state to)
{
	switch (from) {
	case ACTION_PLANNED:
		/*
		 * An action may end without running: its host is no longer
		 * configured, the VM is already where it should be.
		 */
		return to == ACTION_RUNNING || to == ACTION_DONE ||
		       to == ACTION_FAILED || to == ACTION_ABORTED;
	case ACTION_RUNNING:
		return to == ACTION_DONE || to == ACTION_FAILED ||
		       to == ACTION_ABORTED;
	default:
		return false;		/* the end states are final */
	}
}

static json_t *text_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *ms_or_null(int64_t ms)
{
	return ms ? json_integer(ms) : json_null();
}

json_t *action_json(const struct action *a, bool legacy)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "plan", a->plan_id ? json_integer(a->plan_id)
						  : json_null());
	if (!legacy)
		json_object_set_new(o, "kind",
				    json_string(action_kind_name(a->kind)));
	json_object_set_new(o, "uuid", json_string(a->uuid));
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "from", json_string(a->src));
	json_object_set_new(o, "to", json_string(a->dst));
	if (!legacy && a->kind == ACTION_RESIZE) {
		json_object_set_new(o, "target_mb", json_real(a->target_mb));
		json_object_set_new(o, "from_mb", a->from_mb > 0 ?
				    json_real(a->from_mb) : json_null());
	}
	json_object_set_new(o, "state", json_string(
		action_state_name(a->state)));
	if (!legacy)
		json_object_set_new(o, "policy", text_or_null(a->policy));
	json_object_set_new(o, "reason", text_or_null(a->reason));
	json_object_set_new(o, "gain_mb", json_real(a->gain_mb));
	json_object_set_new(o, "created", json_integer(a->created));
	json_object_set_new(o, "started_ms", ms_or_null(a->started_ms));
	json_object_set_new(o, "finished_ms", ms_or_null(a->finished_ms));
	json_object_set_new(o, "error", text_or_null(a->error));
	json_object_set_new(o, "host", text_or_null(a->host));
	json_object_set_new(o, "note", text_or_null(a->note));
	if (a->started_ms && a->finished_ms)
		json_object_set_new(o, "duration_s", json_real(
			(a->finished_ms - a->started_ms) / 1000.0));
	return o;
}
