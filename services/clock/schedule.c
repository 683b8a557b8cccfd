/*
 * schedule.c - the clock's job table: compiled schedules, policies,
 * environment overrides, and the heap of cursors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_config.h"
#include "cf_err.h"
#include "schedule.h"

/* ---- policies ------------------------------------------------------- */

static const char *const misfire_names[] = { "once", "all", "skip" };
static const char *const overlap_names[] = { "skip", "queue_one",
	"allow" };
static const char *const gap_names[] = { "shift", "skip",
	"at-transition" };
static const char *const repeat_names[] = { "auto", "first", "last",
	"both" };
static const char *const priority_names[] = { "critical", "high", "medium",
	"low" };

#define NELEM(a) ((int) (sizeof(a) / sizeof((a)[0])))

static int
name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			return (i);
		}
	}
	return (-1);
}

const char *
clock_misfire_name(clock_misfire m)
{
	return ((int) m >= 0 && (int) m < NELEM(misfire_names)
	        ? misfire_names[m]
	        : "?");
}

const char *
clock_overlap_name(clock_overlap o)
{
	return ((int) o >= 0 && (int) o < NELEM(overlap_names)
	        ? overlap_names[o]
	        : "?");
}

const char *
clock_gap_name(cf_dst_gap g)
{
	return ((int) g >= 0 && (int) g < NELEM(gap_names) ? gap_names[g]
	                                                   : "?");
}

const char *
clock_repeat_name(cf_dst_repeat r)
{
	return ((int) r >= 0 && (int) r < NELEM(repeat_names)
	        ? repeat_names[r]
	        : "?");
}

int
clock_misfire_parse(const char *s, clock_misfire *out)
{
	int i = name_index(misfire_names, NELEM(misfire_names), s);
	if (i < 0) {
		return (CF_EINVAL);
	}
	*out = (clock_misfire) i;
	return (CF_OK);
}

int
clock_overlap_parse(const char *s, clock_overlap *out)
{
	int i = name_index(overlap_names, NELEM(overlap_names), s);
	if (i < 0) {
		return (CF_EINVAL);
	}
	*out = (clock_overlap) i;
	return (CF_OK);
}

int
clock_gap_parse(const char *s, cf_dst_gap *out)
{
	int i = name_index(gap_names, NELEM(gap_names), s);
	if (i < 0) {
		return (CF_EINVAL);
	}
	*out = (cf_dst_gap) i;
	return (CF_OK);
}

int
clock_repeat_parse(const char *s, cf_dst_repeat *out)
{
	int i = name_index(repeat_names, NELEM(repeat_names), s);
	if (i < 0) {
		return (CF_EINVAL);
	}
	*out = (cf_dst_repeat) i;
	return (CF_OK);
}

void
clock_policy_init(clock_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->misfire    = CLOCK_MISFIRE_ONCE;
	p->window_ms  = CLOCK_WINDOW_DEFAULT_MS;
	p->overlap    = CLOCK_OVERLAP_SKIP;
	p->timeout_ms = CLOCK_TIMEOUT_DEFAULT_MS;
	snprintf(p->priority, sizeof(p->priority), "medium");
	p->retries = -1;
	p->gap     = CF_DST_GAP_SHIFT;
	p->repeat  = CF_DST_REPEAT_AUTO;
}

int
clock_policy_retries(const clock_policy *p)
{
	if (p->retries >= 0) {
		return (p->retries);
	}
	if (strcmp(p->priority, "critical") == 0) {
		return (3);
	}
	return (strcmp(p->priority, "low") == 0 ? 1 : 2);
}

/* 1 if s is a job name: 1..CLOCK_NAME_MAX-1 bytes of [A-Za-z0-9_-]. */
static int
sched_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CLOCK_NAME_MAX) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char) s[i]) && s[i] != '_' &&
		    s[i] != '-') {
			return (0);
		}
	}
	return (1);
}

/*
 * A duration: plain digits are milliseconds (what services send),
 * otherwise the units of CF_CONFIG_DURATION ("90s", "1h30m").
 */
static int
parse_ms(const char *v, int64_t *out)
{
	char *end;
	if (*v >= '0' && *v <= '9') {
		long long x;
		errno = 0;
		x     = strtoll(v, &end, 10);
		if (*end == '\0' && errno == 0) {
			*out = x;
			return (CF_OK);
		}
	}
	return (cf_config_parse_duration(v, out));
}

static int
policy_one(clock_policy *p, const char *key, const char *v, char *err,
    size_t errlen)
{
	int64_t ms;

	if (strcmp(key, "misfire") == 0) {
		if (clock_misfire_parse(v, &p->misfire) != CF_OK) {
			goto bad_word;
		}
	} else if (strcmp(key, "overlap") == 0) {
		if (clock_overlap_parse(v, &p->overlap) != CF_OK) {
			goto bad_word;
		}
	} else if (strcmp(key, "dst_gap") == 0) {
		if (clock_gap_parse(v, &p->gap) != CF_OK) {
			goto bad_word;
		}
	} else if (strcmp(key, "dst_repeat") == 0) {
		if (clock_repeat_parse(v, &p->repeat) != CF_OK) {
			goto bad_word;
		}
	} else if (strcmp(key, "priority") == 0) {
		if (name_index(priority_names, NELEM(priority_names), v) < 0) {
			goto bad_word;
		}
		snprintf(p->priority, sizeof(p->priority), "%s", v);
	} else if (strcmp(key, "window") == 0) {
		if (parse_ms(v, &ms) != CF_OK || ms < 0 ||
		    ms > CLOCK_WINDOW_MAX_MS) {
			cf_errf(err, errlen,
			    "option window: '%.40s' is not a duration from 0 "
			    "to 366d (milliseconds, or e.g. 90m, 1h, 2d)",
			    v);
			return (CF_EINVAL);
		}
		p->window_ms = ms;
	} else if (strcmp(key, "timeout") == 0) {
		if (parse_ms(v, &ms) != CF_OK || ms < 1 ||
		    ms > CLOCK_TIMEOUT_MAX_MS) {
			cf_errf(err, errlen,
			    "option timeout: '%.40s' is not a duration from 1ms "
			    "to 7d (milliseconds, or e.g. 30s, 5m)",
			    v);
			return (CF_EINVAL);
		}
		p->timeout_ms = ms;
	} else if (strcmp(key, "retries") == 0) {
		char *end;
		long  n;
		errno = 0;
		n     = strtol(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 ||
		    n > CLOCK_RETRIES_MAX) {
			cf_errf(err, errlen,
			    "option retries: '%.40s' is not a number from 0 "
			    "to %d",
			    v, CLOCK_RETRIES_MAX);
			return (CF_EINVAL);
		}
		p->retries = (int) n;
	} else if (strcmp(key, "after") == 0) {
		if (*v != '\0' && !sched_name_valid(v)) {
			cf_errf(err, errlen,
			    "option after: '%.40s' is not a job name (1 to %d "
			    "characters of [A-Za-z0-9_-])",
			    v, CLOCK_NAME_MAX - 1);
			return (CF_EINVAL);
		}
		snprintf(p->after, sizeof(p->after), "%s", v);
	} else {
		cf_errf(err, errlen,
		    "unknown option '%.40s' (known: misfire, window, overlap, "
		    "timeout, priority, retries, after, dst_gap, dst_repeat)",
		    key);
		return (CF_EINVAL);
	}
	return (CF_OK);
bad_word: {
	/* The accepted words, from the table the parser used. */
	const char *const *names = priority_names;
	int                n     = NELEM(priority_names);
	char               list[128] = "";
	if (strcmp(key, "misfire") == 0) {
		names = misfire_names;
		n     = NELEM(misfire_names);
	} else if (strcmp(key, "overlap") == 0) {
		names = overlap_names;
		n     = NELEM(overlap_names);
	} else if (strcmp(key, "dst_gap") == 0) {
		names = gap_names;
		n     = NELEM(gap_names);
	} else if (strcmp(key, "dst_repeat") == 0) {
		names = repeat_names;
		n     = NELEM(repeat_names);
	}
	for (int i = 0; i < n; i++) {
		strcat(list, i == 0 ? "" : i == n - 1 ? " or " : ", ");
		strcat(list, names[i]);
	}
	cf_errf(err, errlen, "option %s: '%.40s' is not %s", key, v, list);
	return (CF_EINVAL);
}
}

int
clock_policy_parse(clock_policy *p, const char *const *opts, size_t n,
    char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(opts[i], '=');
		char        key[32];
		int         rv;

		if (eq == NULL || eq == opts[i] ||
		    (size_t) (eq - opts[i]) >= sizeof(key)) {
			cf_errf(err, errlen,
			    "'%.60s' is not an option (expected key=value, e.g. "
			    "misfire=all)",
			    opts[i]);
			return (CF_EINVAL);
		}
		memcpy(key, opts[i], (size_t) (eq - opts[i]));
		key[eq - opts[i]] = '\0';
		for (size_t k = 0; k < i; k++) {
			size_t klen = (size_t) (eq - opts[i]) + 1; /* with '=' */
			if (strncmp(opts[k], opts[i], klen) == 0) {
				cf_errf(err, errlen, "option %s is given twice",
				    key);
				return (CF_EINVAL);
			}
		}
		if ((rv = policy_one(p, key, eq + 1, err, errlen)) != CF_OK) {
			return (rv);
		}
	}
	return (CF_OK);
}

/* ---- the table ------------------------------------------------------ */

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
		if (s->jobs[i].walk != s->jobs[i].cron) {
			cf_cron_free(s->jobs[i].walk);
		}
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

static void
job_free_crons(clock_job *j)
{
	if (j->walk != j->cron) {
		cf_cron_free(j->walk);
	}
	cf_cron_free(j->cron);
	j->cron = j->walk = NULL;
}

/*
 * Compiles expr in the job's zone (or the default zone) into *cron, and
 * its walk (see clock_job.walk) into *walk: the same schedule unless the
 * gap policy is skip. "-" compiles to NULL, NULL.
 */
static int
sched_compile(const clock_sched *s, const clock_job *j, const char *expr,
    cf_cron **cron, cf_cron **walk, char *err, size_t errlen)
{
	cf_cron_opts o = { j->tz[0] ? j->tz : s->default_tz, j->pol.gap,
		j->pol.repeat };
	char         why[CF_CRON_ERRLEN];
	int          rv;

	*cron = *walk = NULL;
	if (strcmp(expr, CLOCK_NO_SCHEDULE) == 0) {
		return (CF_OK);
	}
	if ((rv = cf_cron_parse(cron, expr, &o, why, sizeof(why))) != CF_OK) {
		snprintf(err, errlen, "job %s: %s", j->name, why);
		return (rv);
	}
	*walk = *cron;
	if (j->pol.gap == CF_DST_GAP_SKIP) {
		o.gap = CF_DST_GAP_SHIFT;
		if ((rv = cf_cron_parse(walk, expr, &o, why, sizeof(why))) !=
		    CF_OK) {
			cf_cron_free(*cron);
			*cron = *walk = NULL;
			snprintf(err, errlen, "job %s: %s", j->name, why);
			return (rv);
		}
	}
	return (CF_OK);
}

int
clock_sched_walk_next(const clock_sched *s, int slot, int64_t after_ms,
    int64_t *at, int *gap_skipped)
{
	const clock_job *j = &s->jobs[slot];
	int64_t          own;

	*gap_skipped = 0;
	if (j->walk == NULL ||
	    cf_cron_next(j->walk, after_ms, at, NULL) != 0) {
		return (CF_ENOENT);
	}
	if (j->walk != j->cron) {
		/*
		 * A fire of the shifted walk that the job's own schedule does
		 * not have is one the gap swallowed.
		 */
		*gap_skipped =
		    cf_cron_next(j->cron, *at - 1, &own, NULL) != 0 ||
		    own != *at;
	}
	return (CF_OK);
}

void
clock_sched_set_cursor(clock_sched *s, int slot, int64_t at)
{
	clock_job *j = &s->jobs[slot];
	j->next      = at;
	if (at < 0) {
		clock_heap_remove(&s->heap, slot);
	} else {
		clock_heap_set(&s->heap, slot, at);
	}
}

/* Moves the cursor to the first fire strictly after after_ms. */
static void
sched_reschedule(clock_sched *s, int slot, int64_t after_ms)
{
	clock_job *j = &s->jobs[slot];
	int64_t    at;
	int        gap;
	if (!j->enabled ||
	    clock_sched_walk_next(s, slot, after_ms, &at, &gap) != CF_OK) {
		at = -1;
	}
	clock_sched_set_cursor(s, slot, at);
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

/* The environment's DST policies, which outrank the registration's. */
static int
sched_env_dst(const char *name, clock_policy *pol, char *err, size_t errlen)
{
	const char *v;
	if ((v = sched_env(name, "DST_GAP")) != NULL && *v != '\0' &&
	    clock_gap_parse(v, &pol->gap) != CF_OK) {
		snprintf(err, errlen,
		    "job %s: DST_GAP '%.40s' is not one of shift, skip, "
		    "at-transition",
		    name, v);
		return (CF_EINVAL);
	}
	if ((v = sched_env(name, "DST_REPEAT")) != NULL && *v != '\0' &&
	    clock_repeat_parse(v, &pol->repeat) != CF_OK) {
		snprintf(err, errlen,
		    "job %s: DST_REPEAT '%.40s' is not one of auto, first, "
		    "last, both",
		    name, v);
		return (CF_EINVAL);
	}
	return (CF_OK);
}

int
clock_sched_add(clock_sched *s, const char *service, const char *name,
    const char *expr, const char *tz, const clock_policy *pol,
    int64_t now_ms, int keep_expr, char *err, size_t errlen)
{
	clock_job   j = { 0 };
	const char *v;
	int64_t     from;
	int         slot, rv;

	if (!sched_name_valid(name) || strlen(service) >= CLOCK_NAME_MAX) {
		snprintf(err, errlen,
		    "job name '%.80s' is empty, too long, or not of "
		    "[A-Za-z0-9_-]",
		    name);
		return (-CF_EINVAL);
	}
	snprintf(j.service, sizeof(j.service), "%s", service);
	snprintf(j.name, sizeof(j.name), "%s", name);
	if (pol != NULL) {
		j.pol = *pol;
	} else {
		clock_policy_init(&j.pol);
	}
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
	if ((rv = sched_env_dst(name, &j.pol, err, errlen)) != CF_OK) {
		return (-rv);
	}
	if ((rv = clock_sched_check_after(s, name, j.pol.after, err,
	         errlen)) != CF_OK) {
		return (-rv);
	}
	if (strlen(expr) >= CLOCK_EXPR_MAX ||
	    (tz != NULL && strlen(tz) >= CLOCK_NAME_MAX)) {
		snprintf(err, errlen, "job %s: schedule or zone too long", name);
		return (-CF_EINVAL);
	}
	snprintf(j.expr, sizeof(j.expr), "%s", expr);
	snprintf(j.tz, sizeof(j.tz), "%s", tz ? tz : "");
	if ((rv = sched_compile(s, &j, expr, &j.cron, &j.walk, err, errlen)) !=
	    CF_OK) {
		return (-rv);
	}
	from = now_ms;
	if ((slot = clock_sched_find(s, name)) >= 0) {
		clock_job *old = &s->jobs[slot];
		j.paused       = old->paused;
		/*
		 * The cursor stays where it is: fires between it and now have
		 * not been handled yet (a backlog after a restart, or a fire
		 * being recorded right now), and are walked with the new
		 * schedule.
		 */
		if (old->next >= 0 && old->next <= now_ms + 1) {
			from = old->next - 1;
		}
		job_free_crons(old);
	} else if (s->n >= s->cap) {
		job_free_crons(&j);
		snprintf(err, errlen, "job %s: the clock holds at most %d jobs",
		    name, s->cap);
		return (-CF_ETOOBIG);
	} else {
		slot = s->n++;
	}
	s->jobs[slot] = j;
	sched_reschedule(s, slot, from);
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
clock_sched_check_after(const clock_sched *s, const char *job,
    const char *parent, char *err, size_t errlen)
{
	char        path[(CLOCK_NAME_MAX + 4) * 8];
	const char *cur = parent;
	int         steps;

	if (parent == NULL || parent[0] == '\0') {
		return (CF_OK);
	}
	if (strcmp(job, parent) == 0) {
		snprintf(err, errlen,
		    "after=%s: a job cannot run after itself (cycle: %s -> %s)",
		    parent, job, job);
		return (CF_EINVAL);
	}
	/*
	 * The table has no cycle (each registration was checked), so a
	 * cycle through the new edge must come back to job. Each step
	 * follows one "after"; more steps than jobs would mean a cycle
	 * elsewhere, which cannot be, but bounds the walk all the same.
	 */
	for (steps = 0; steps <= s->n; steps++) {
		int slot;
		if (strcmp(cur, job) == 0) {
			break;
		}
		if ((slot = clock_sched_find(s, cur)) < 0 ||
		    s->jobs[slot].pol.after[0] == '\0') {
			return (CF_OK);
		}
		cur = s->jobs[slot].pol.after;
	}
	if (steps > s->n) {
		return (CF_OK);
	}
	/* Spell it: job -> parent -> ... -> job. */
	{
		size_t k = 0;
		k += (size_t) snprintf(path + k, sizeof(path) - k, "%s -> %s",
		    job, parent);
		cur = parent;
		while (strcmp(cur, job) != 0 && k < sizeof(path)) {
			int slot = clock_sched_find(s, cur);
			cur      = s->jobs[slot].pol.after;
			k += (size_t) snprintf(
			    path + k, sizeof(path) - k, " -> %s", cur);
		}
	}
	snprintf(err, errlen, "after=%s: cycle: %s", parent, path);
	return (CF_EINVAL);
}

int
clock_sched_set_expr(clock_sched *s, int slot, const char *expr,
    int64_t now_ms, char *err, size_t errlen)
{
	clock_job *j = &s->jobs[slot];
	cf_cron *  c, *w;
	int64_t    from = now_ms;
	int        rv;

	if (strlen(expr) >= CLOCK_EXPR_MAX) {
		snprintf(err, errlen, "job %s: schedule too long", j->name);
		return (CF_EINVAL);
	}
	if ((rv = sched_compile(s, j, expr, &c, &w, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (j->next >= 0 && j->next - 1 < from) {
		from = j->next - 1;
	}
	job_free_crons(j);
	j->cron = c;
	j->walk = w;
	snprintf(j->expr, sizeof(j->expr), "%s", expr);
	sched_reschedule(s, slot, from);
	return (CF_OK);
}

void
clock_sched_pause(clock_sched *s, int slot, int paused)
{
	s->jobs[slot].paused = paused;
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
	if (s->jobs[slot].cron == NULL) {
		return (0);
	}
	while (k < n &&
	    cf_cron_next(s->jobs[slot].cron, after_ms, &out[k],
	        flags ? &flags[k] : NULL) == CF_OK) {
		after_ms = out[k++];
	}
	return (k);
}
