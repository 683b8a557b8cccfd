/*
 * schedule.c - the clock's job table: compiled schedules, environment
 * overrides, and the heap of next fires.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_err.h"
#include "schedule.h"

int
clock_sched_init(clock_sched *s, int cap, const char *default_tz)
{
	int rv;
	memset(s, 0, sizeof(*s));
	if ((s->jobs = calloc((size_t) cap, sizeof(*s->jobs))) == NULL) {
		return (CF_ENOMEM);
	}
	if ((rv = clock_heap_init(&s->heap, cap)) != CF_OK) {
		free(s->jobs);
		return (rv);
	}
	s->cap = cap;
	snprintf(s->default_tz, sizeof(s->default_tz), "%s",
	    default_tz ? default_tz : "");
	return (CF_OK);
}

void
clock_sched_fini(clock_sched *s)
{
	for (int i = 0; i < s->n; i++) {
		cf_cron_free(s->jobs[i].cron);
	}
	free(s->jobs);
	clock_heap_fini(&s->heap);
	memset(s, 0, sizeof(*s));
}

/* CRONFLEET_JOB_<NAME>_<what>, NAME upper-cased with '-' and '.' as '_'. */
static const char *
sched_env(const char *name, const char *what)
{
	char var[CLOCK_NAME_MAX + 32];
	int  k = snprintf(var, sizeof(var), "CRONFLEET_JOB_");
	for (const char *p = name; *p != '\0' && k < (int) sizeof(var) - 16;
	     p++) {
		var[k++] = (*p == '-' || *p == '.')
		    ? '_'
		    : (char) toupper((unsigned char) *p);
	}
	snprintf(var + k, sizeof(var) - (size_t) k, "_%s", what);
	return (getenv(var));
}

/* Compiles expr in the job's zone (or the default zone). */
static int
sched_compile(const clock_sched *s, const clock_job *j, const char *expr,
    cf_cron **out, char *err, size_t errlen)
{
	cf_cron_opts o = { j->tz[0] ? j->tz : s->default_tz, j->gap,
		j->repeat };
	char         why[CF_CRON_ERRLEN];
	int          rv = cf_cron_parse(out, expr, &o, why, sizeof(why));
	if (rv != CF_OK) {
		snprintf(err, errlen, "job %s: %s", j->name, why);
	}
	return (rv);
}

static void
sched_reschedule(clock_sched *s, int slot, int64_t after_ms)
{
	clock_job *j = &s->jobs[slot];
	int64_t    at;
	if (!j->enabled || j->paused ||
	    cf_cron_next(j->cron, after_ms, &at, NULL) != CF_OK) {
		j->next = -1;
		clock_heap_remove(&s->heap, slot);
		return;
	}
	j->next = at;
	clock_heap_set(&s->heap, slot, at);
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[]  = { "0", "false", "no", "off" };
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return (0);
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return (0);
		}
	}
	return (-1);
}

int
clock_sched_add(clock_sched *s, const char *service, const char *name,
    const char *expr, const char *tz, int64_t now_ms, int keep_expr,
    char *err, size_t errlen)
{
	clock_job   j = { 0 };
	const char *v;
	int         slot, rv;

	if (strlen(name) == 0 || strlen(name) >= CLOCK_NAME_MAX ||
	    strlen(service) >= CLOCK_NAME_MAX) {
		snprintf(err, errlen, "job name '%.80s' is empty or too long",
		    name);
		return (-CF_EINVAL);
	}
	snprintf(j.service, sizeof(j.service), "%s", service);
	snprintf(j.name, sizeof(j.name), "%s", name);
	j.enabled = 1;
	if (!keep_expr && (v = sched_env(name, "SCHEDULE")) != NULL &&
	    *v != '\0') {
		expr = v;
	}
	if ((v = sched_env(name, "TZ")) != NULL && *v != '\0') {
		tz = v;
	}
	if ((v = sched_env(name, "ENABLED")) != NULL &&
	    parse_bool(v, &j.enabled) != 0) {
		snprintf(err, errlen,
		    "job %s: ENABLED '%.40s' is not one of true, false, 1, 0, "
		    "yes, no, on, off",
		    name, v);
		return (-CF_EINVAL);
	}
	if (strlen(expr) >= CLOCK_EXPR_MAX ||
	    (tz != NULL && strlen(tz) >= CLOCK_NAME_MAX)) {
		snprintf(err, errlen, "job %s: schedule or zone too long", name);
		return (-CF_EINVAL);
	}
	snprintf(j.expr, sizeof(j.expr), "%s", expr);
	snprintf(j.tz, sizeof(j.tz), "%s", tz ? tz : "");
	if ((rv = sched_compile(s, &j, expr, &j.cron, err, errlen)) != CF_OK) {
		return (-rv);
	}
	if ((slot = clock_sched_find(s, name)) >= 0) {
		j.paused = s->jobs[slot].paused;
		cf_cron_free(s->jobs[slot].cron);
	} else if (s->n >= s->cap) {
		cf_cron_free(j.cron);
		snprintf(err, errlen, "job %s: the clock holds at most %d jobs",
		    name, s->cap);
		return (-CF_ETOOBIG);
	} else {
		slot = s->n++;
	}
	s->jobs[slot] = j;
	sched_reschedule(s, slot, now_ms);
	return (slot);
}

int
clock_sched_find(const clock_sched *s, const char *name)
{
	for (int i = 0; i < s->n; i++) {
		if (strcmp(s->jobs[i].name, name) == 0) {
			return (i);
		}
	}
	return (-1);
}

int
clock_sched_set_expr(clock_sched *s, int slot, const char *expr,
    int64_t now_ms, char *err, size_t errlen)
{
	clock_job *j = &s->jobs[slot];
	cf_cron *  c;
	int        rv;

	if (strlen(expr) >= CLOCK_EXPR_MAX) {
		snprintf(err, errlen, "job %s: schedule too long", j->name);
		return (CF_EINVAL);
	}
	if ((rv = sched_compile(s, j, expr, &c, err, errlen)) != CF_OK) {
		return (rv);
	}
	cf_cron_free(j->cron);
	j->cron = c;
	snprintf(j->expr, sizeof(j->expr), "%s", expr);
	sched_reschedule(s, slot, now_ms);
	return (CF_OK);
}

void
clock_sched_pause(clock_sched *s, int slot, int paused, int64_t now_ms)
{
	s->jobs[slot].paused = paused;
	sched_reschedule(s, slot, now_ms);
}

int
clock_sched_peek(const clock_sched *s, int64_t *at)
{
	const clock_heap_entry *t = clock_heap_top(&s->heap);
	if (t == NULL) {
		return (-1);
	}
	*at = t->at;
	return (t->job);
}

void
clock_sched_advance(clock_sched *s, int slot, int64_t after_ms)
{
	sched_reschedule(s, slot, after_ms);
}

int
clock_sched_upcoming(const clock_sched *s, int slot, int64_t after_ms,
    int64_t *out, unsigned *flags, int n)
{
	int k = 0;
	while (k < n &&
	    cf_cron_next(s->jobs[slot].cron, after_ms, &out[k],
	        flags ? &flags[k] : NULL) == CF_OK) {
		after_ms = out[k++];
	}
	return (k);
}
