/*
 * cf_service_policy.c - the pure parts of the job runtime: a job's
 * policies and their environment overrides, retry backoff, and how the
 * sweep judges a fire from its rows (docs/guarantees.md). No threads, no
 * sockets, no database: the unit tests call these directly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_config.h"
#include "cf_service_int.h"

const char *const cf__misfire_names[] = { "once", "all", "skip", NULL };
const char *const cf__overlap_names[] = { "skip", "queue_one", "allow", NULL };

int
cf__retries_for_priority(const char *priority)
{
	if (priority == NULL || strcmp(priority, "medium") == 0
	    || strcmp(priority, "high") == 0) {
		return (2);
	}
	if (strcmp(priority, "critical") == 0) {
		return (3);
	}
	if (strcmp(priority, "low") == 0) {
		return (1);
	}
	return (-1);
}

/* ---- the environment ---------------------------------------------------- */

/* Where one job's variables land; the table's field types. */
typedef struct {
	int     misfire;
	int64_t window_ms;
	int     overlap;
	int64_t timeout_ms;
	int64_t retries;
	int64_t retry_base_ms;
	char   *after;
} policy_env;

#define POLICY_NITEMS 7

typedef struct {
	char var[POLICY_NITEMS][CF_PROTO_MAX_NAME + 40];
	char def_window[24];
	char def_timeout[24];
	char def_retries[16];
	char def_base[24];
} policy_names;

static void
policy_table(cf_config_item *t, policy_names *nm, const char *job,
    const cf__policy *def, const char *def_after)
{
	static const char *const suffix[POLICY_NITEMS]
	    = { "MISFIRE", "CATCHUP_WINDOW", "OVERLAP", "TIMEOUT", "RETRIES",
		      "RETRY_BASE", "AFTER" };
	char   up[CF_PROTO_MAX_NAME + 1];
	size_t i;

	for (i = 0; job[i] != '\0' && i < CF_PROTO_MAX_NAME; i++) {
		up[i] = job[i] == '-' ? '_'
		                      : (char) toupper((unsigned char) job[i]);
	}
	up[i] = '\0';
	for (int k = 0; k < POLICY_NITEMS; k++) {
		snprintf(nm->var[k], sizeof(nm->var[k]), "CRONFLEET_JOB_%s_%s",
		    up, suffix[k]);
	}
	cf_config_format_duration(
	    nm->def_window, sizeof(nm->def_window), def->window_ms);
	cf_config_format_duration(
	    nm->def_timeout, sizeof(nm->def_timeout), def->timeout_ms);
	snprintf(nm->def_retries, sizeof(nm->def_retries), "%d", def->retries);
	cf_config_format_duration(
	    nm->def_base, sizeof(nm->def_base), def->retry_base_ms);

	cf_config_item items[POLICY_NITEMS] = {
		CF_CFG_ENUM(nm->var[0], cf__misfire_names,
		    cf__misfire_names[def->misfire], policy_env, misfire,
		    "What the catch-up sweep does with missed fires."),
		CF_CFG_DURATION(nm->var[1], 1, CF__SVC_WINDOW_MAX_MS,
		    nm->def_window, policy_env, window_ms,
		    "How far back missed fires are caught up."),
		CF_CFG_ENUM(nm->var[2], cf__overlap_names,
		    cf__overlap_names[def->overlap], policy_env, overlap,
		    "A fire that comes while a run is in progress."),
		CF_CFG_DURATION(nm->var[3], 1, CF__SVC_TIMEOUT_MAX_MS,
		    nm->def_timeout, policy_env, timeout_ms,
		    "A run is cancelled and recorded timed_out after this."),
		CF_CFG_INT(nm->var[4], 0, CF_RETRIES_MAX, nm->def_retries,
		    policy_env, retries,
		    "Retries of a failed attempt (0: none)."),
		CF_CFG_DURATION(nm->var[5], 1, CF__SVC_RETRY_CAP_MS,
		    nm->def_base, policy_env, retry_base_ms,
		    "First retry's backoff bound; doubles, capped at 5m."),
		CF_CFG_STRING(nm->var[6], def_after, 0, policy_env, after,
		    "Run when this job succeeds (\"-\": none)."),
	};
	memcpy(t, items, sizeof(items));
}

/* The policies d declares, defaults filled in; CF_EINVAL when d is bad. */
static int
policy_from_def(cf__policy *p, const cf_job_def *d, char *err, size_t errlen)
{
	int by_prio = cf__retries_for_priority(d->priority);

	memset(p, 0, sizeof(*p));
	if (by_prio < 0) {
		cf_errf(err, errlen,
		    "job '%s': priority '%s' is not one of critical, high, "
		    "medium, low",
		    d->name, d->priority);
		return (CF_EINVAL);
	}
	if ((int) d->misfire < 0 || d->misfire > CF_MISFIRE_SKIP
	    || (int) d->overlap < 0 || d->overlap > CF_OVERLAP_ALLOW) {
		cf_errf(err, errlen,
		    "job '%s': misfire or overlap out of range", d->name);
		return (CF_EINVAL);
	}
	if (d->catchup_window_ms < 0
	    || d->catchup_window_ms > CF__SVC_WINDOW_MAX_MS
	    || d->timeout_ms < 0 || d->timeout_ms > CF__SVC_TIMEOUT_MAX_MS
	    || d->retry_base_ms < 0 || d->retry_base_ms > CF__SVC_RETRY_CAP_MS
	    || d->retries < CF_RETRIES_NONE || d->retries > CF_RETRIES_MAX) {
		cf_errf(err, errlen,
		    "job '%s': catch-up window, timeout, retries or retry "
		    "base "
		    "out of range",
		    d->name);
		return (CF_EINVAL);
	}
	p->misfire   = (int) d->misfire;
	p->overlap   = (int) d->overlap;
	p->window_ms = d->catchup_window_ms > 0 ? d->catchup_window_ms
	                                        : CF__SVC_WINDOW_DEFAULT_MS;
	p->timeout_ms
	    = d->timeout_ms > 0 ? d->timeout_ms : CF__SVC_TIMEOUT_DEFAULT_MS;
	p->retries       = d->retries == 0        ? by_prio
	          : d->retries == CF_RETRIES_NONE ? 0
	                                          : d->retries;
	p->retry_base_ms = d->retry_base_ms > 0
	    ? d->retry_base_ms
	    : CF__SVC_RETRY_BASE_DEFAULT_MS;
	return (CF_OK);
}

/* The "after" of a job: NULL or "-" is none, else a valid other name. */
static int
policy_after(cf__policy *p, const char *job, const char *after)
{
	if (after == NULL || strcmp(after, "-") == 0) {
		p->after[0] = '\0';
		return (CF_OK);
	}
	if (!cf_proto_name_valid(after) || strcmp(after, job) == 0) {
		return (CF_EINVAL);
	}
	snprintf(p->after, sizeof(p->after), "%s", after);
	return (CF_OK);
}

int
cf__policy_resolve(cf__policy *out, int *from_env, const cf_job_def *d,
    const char *prefix, char *err, size_t errlen)
{
	cf_config_item t[POLICY_NITEMS];
	policy_names   nm;
	policy_env     env;
	cf__policy     p;
	int            rv;

	*from_env = 0;
	if ((rv = policy_from_def(&p, d, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (d->after != NULL && policy_after(&p, d->name, d->after) != CF_OK) {
		cf_errf(err, errlen,
		    "job '%s': after '%s' is not another job's name", d->name,
		    d->after);
		return (CF_EINVAL);
	}
	memset(&env, 0, sizeof(env));
	policy_table(t, &nm, d->name, &p, d->after);
	if ((rv = cf_config_load(t, POLICY_NITEMS, &env, prefix, err, errlen))
	    != CF_OK) {
		*from_env = rv == CF_EINVAL;
		return (rv);
	}
	p.misfire       = env.misfire;
	p.window_ms     = env.window_ms;
	p.overlap       = env.overlap;
	p.timeout_ms    = env.timeout_ms;
	p.retries       = (int) env.retries;
	p.retry_base_ms = env.retry_base_ms;
	if (policy_after(&p, d->name, env.after) != CF_OK) {
		cf_errf(err, errlen,
		    "%s%s%s: '%.80s' is not another job's name "
		    "([A-Za-z0-9_-], "
		    "1..%d) or -",
		    prefix != NULL ? prefix : "", prefix != NULL ? ": " : "",
		    nm.var[6], env.after, CF_PROTO_MAX_NAME);
		cf_config_free(t, POLICY_NITEMS, &env);
		*from_env = 1;
		return (CF_EINVAL);
	}
	cf_config_free(t, POLICY_NITEMS, &env);
	*out = p;
	return (CF_OK);
}

size_t
cf__policy_options(const cf__policy *p, const char *priority,
    char (*opts)[CF__OPT_LEN], size_t               max)
{
	size_t n = 0;

#define POLICY_OPT(...)                                                       \
	do {                                                                  \
		if (n < max) {                                                \
			snprintf(opts[n++], CF__OPT_LEN, __VA_ARGS__);        \
		}                                                             \
	} while (0)
	POLICY_OPT("misfire=%s", cf__misfire_names[p->misfire]);
	POLICY_OPT("window=%lld", (long long) p->window_ms);
	POLICY_OPT("overlap=%s", cf__overlap_names[p->overlap]);
	POLICY_OPT("timeout=%lld", (long long) p->timeout_ms);
	POLICY_OPT("priority=%s", priority != NULL ? priority : "medium");
	POLICY_OPT("retries=%d", p->retries);
	if (p->after[0] != '\0') {
		POLICY_OPT("after=%s", p->after);
	}
#undef POLICY_OPT
	return (n);
}

/* ---- backoff ------------------------------------------------------------ */

int64_t
cf__backoff_bound(int64_t base_ms, int64_t cap_ms, uint32_t failures)
{
	int64_t b = base_ms;

	if (base_ms <= 0 || cap_ms <= 0) {
		return (0);
	}
	/* Doubling stops at the cap, so nothing overflows. */
	for (uint32_t i = 1; i < failures && b < cap_ms; i++) {
		b *= 2;
	}
	return (b < cap_ms ? b : cap_ms);
}

int64_t
cf__backoff_delay(
    int64_t base_ms, int64_t cap_ms, uint32_t failures, uint64_t rnd)
{
	int64_t bound = cf__backoff_bound(base_ms, cap_ms, failures);
	return ((int64_t) (rnd % ((uint64_t) bound + 1)));
}

/* ---- a fire's rows ------------------------------------------------------ */

int
cf__row_status_parse(const char *s)
{
	static const char *const names[] = { "running", "succeeded", "failed",
		"skipped", "timed_out", "interrupted" };
	for (int i = 0; s != NULL && i < 6; i++) {
		if (strcmp(s, names[i]) == 0) {
			return (i);
		}
	}
	return (-1);
}

cf__fire_class
cf__fire_classify(const cf__fire_row *rows, size_t n, int pending_here,
    uint32_t *next_attempt, uint32_t *failures)
{
	const cf__fire_row *last  = NULL;
	int                 stale = 0, fresh = 0, settled = 0;

	*next_attempt = 1;
	*failures     = 0;
	for (size_t i = 0; i < n; i++) {
		const cf__fire_row *r = &rows[i];
		if (last == NULL || r->attempt > last->attempt) {
			last = r;
		}
		if (r->attempt >= *next_attempt) {
			*next_attempt = r->attempt + 1;
		}
		switch (r->status) {
		case CF__ROW_SUCCEEDED:
		case CF__ROW_SKIPPED:
			settled = 1;
			break;
		case CF__ROW_FAILED:
		case CF__ROW_TIMED_OUT:
			(*failures)++;
			settled |= r->final;
			break;
		case CF__ROW_RUNNING:
			if (r->fresh) {
				fresh = 1;
			} else {
				stale = 1;
			}
			break;
		default: /* interrupted: taken up again, uses no retry */
			break;
		}
	}
	if (settled) {
		return (CF__FIRE_SETTLED);
	}
	if (pending_here || fresh) {
		return (CF__FIRE_BUSY);
	}
	if (stale) {
		return (CF__FIRE_STALE);
	}
	/* A failed attempt whose retry its process still has ahead. */
	if (last != NULL
	    && (last->status == CF__ROW_FAILED
	        || last->status == CF__ROW_TIMED_OUT)
	    && last->retry_pending) {
		return (CF__FIRE_BUSY);
	}
	return (CF__FIRE_UNSETTLED);
}

cf__misfire_act
cf__misfire_decide(const cf__policy *p, int64_t now_ms, int64_t scheduled_for)
{
	if (scheduled_for < now_ms - p->window_ms) {
		return (CF__MISFIRE_SKIP_WINDOW);
	}
	switch (p->misfire) {
	case CF_MISFIRE_SKIP:
		return (CF__MISFIRE_SKIP_POLICY);
	case CF_MISFIRE_ALL:
		return (CF__MISFIRE_RUN);
	default:
		return (CF__MISFIRE_CANDIDATE);
	}
}
