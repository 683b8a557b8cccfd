/*
 * schedule.h - the clock's table of jobs and their compiled schedules.
 *
 * Each job has a slot; the table keeps the slot's compiled cron schedule,
 * its policies, and its place in the heap of next fires. The clock's
 * main loop asks for the next due fire, records (and publishes, or
 * skips) it, and advances the job's cursor past it.
 * Not thread-safe: the clock holds its mutex around every call.
 */
#ifndef CLOCK_SCHEDULE_H
#define CLOCK_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "cf_cron.h"
#include "heap.h"

#define CLOCK_NAME_MAX 64
#define CLOCK_EXPR_MAX 256

/* What the clock does with a job's fires it could not publish on time. */
typedef enum clock_misfire {
	CLOCK_MISFIRE_ONCE = 0, /* default: the latest in the window, once */
	CLOCK_MISFIRE_ALL,      /* each fire in the window, in order */
	CLOCK_MISFIRE_SKIP,     /* none: each recorded skipped */
} clock_misfire;

/* What a service does with a fire that arrives while a run is going. */
typedef enum clock_overlap {
	CLOCK_OVERLAP_SKIP = 0, /* default */
	CLOCK_OVERLAP_QUEUE_ONE,
	CLOCK_OVERLAP_ALLOW,
} clock_overlap;

#define CLOCK_WINDOW_DEFAULT_MS (3600 * 1000LL)     /* 1h */
#define CLOCK_WINDOW_MAX_MS (366 * 86400 * 1000LL)  /* a year */
#define CLOCK_TIMEOUT_DEFAULT_MS (300 * 1000LL)     /* 5m */
#define CLOCK_TIMEOUT_MAX_MS (7 * 86400 * 1000LL)   /* a week */
#define CLOCK_RETRIES_MAX 100
#define CLOCK_PRIORITY_MAX 16

/*
 * A job's policies (docs/guarantees.md, "Per-job policies"), as the
 * service registered them ("register ... key=value"). The clock applies
 * misfire, window and the DST policies itself; overlap, timeout,
 * priority and retries are the service's, kept here so that "jobs" and
 * the dashboards show the same values; after names the parent whose
 * success "chain" turns into a fire of this job.
 */
typedef struct clock_policy {
	clock_misfire misfire;
	int64_t       window_ms;  /* catch-up window */
	clock_overlap overlap;
	int64_t       timeout_ms;
	char          priority[CLOCK_PRIORITY_MAX]; /* critical .. low */
	int           retries; /* -1: by priority (see clock_policy_retries) */
	char          after[CLOCK_NAME_MAX]; /* parent job, "" for none */
	cf_dst_gap    gap;    /* spring-forward policy (dst_gap=) */
	cf_dst_repeat repeat; /* fall-back policy (dst_repeat=) */
} clock_policy;

/* The defaults: once, 1h, skip, 5m, medium, retries by priority. */
void clock_policy_init(clock_policy *p);

/*
 * Applies "key=value" options to p, in order; keys: misfire, window,
 * overlap, timeout, priority, retries, after, dst_gap, dst_repeat.
 * Durations are milliseconds, or a duration such as 90s, 30m, 1h30m, 2d.
 * On error returns CF_EINVAL with err naming the option and what it
 * accepts, and p may be partly changed (parse into a copy). Does not
 * check after against the table (see clock_sched_check_after).
 */
int clock_policy_parse(clock_policy *p, const char *const *opts, size_t n,
    char *err, size_t errlen);

/* The retries a job gets: as set, else critical 3, high 2, medium 2, low 1. */
int clock_policy_retries(const clock_policy *p);

/* Names as on the wire and in clock.schedules; never NULL. */
const char *clock_misfire_name(clock_misfire m);
const char *clock_overlap_name(clock_overlap o);
const char *clock_gap_name(cf_dst_gap g);
const char *clock_repeat_name(cf_dst_repeat r);

/* Parse those names back. Return CF_OK or CF_EINVAL. */
int clock_misfire_parse(const char *s, clock_misfire *out);
int clock_overlap_parse(const char *s, clock_overlap *out);
int clock_gap_parse(const char *s, cf_dst_gap *out);
int clock_repeat_parse(const char *s, cf_dst_repeat *out);

/* A job's expression when it has no schedule of its own. */
#define CLOCK_NO_SCHEDULE "-"

typedef struct clock_job {
	char          service[CLOCK_NAME_MAX]; /* owner, e.g. "maintenance" */
	char          name[CLOCK_NAME_MAX];    /* e.g. "health-check" */
	char          expr[CLOCK_EXPR_MAX];    /* effective, or "-" for none */
	char          tz[CLOCK_NAME_MAX];      /* "" means the default zone */
	clock_policy  pol;
	int           enabled; /* from CRONFLEET_JOB_<NAME>_ENABLED */
	int           paused;  /* by a command */
	cf_cron *     cron;    /* the schedule; NULL for "-" */
	/*
	 * The schedule the cursor walks: cron itself, except for a job whose
	 * DST gap policy is skip. Its walk is the same expression with the
	 * gap shifted, so that a fire the gap swallows still comes up (at
	 * its shifted instant) and is recorded as skipped, with its reason.
	 */
	cf_cron *walk;
	/*
	 * The cursor: the earliest fire not yet handled (UTC ms), or -1 if
	 * none (no schedule, disabled, or no fire before year 2200). Paused
	 * jobs and a stopped scheduler keep walking: their fires are
	 * recorded as skipped.
	 */
	int64_t next;
} clock_job;

typedef struct clock_sched {
	clock_job *jobs;
	int        n, cap;
	clock_heap heap;
	char       default_tz[CLOCK_NAME_MAX];
} clock_sched;

/* An empty table whose zone for jobs without one is default_tz. */
int clock_sched_init(clock_sched *s, int cap, const char *default_tz);
void clock_sched_fini(clock_sched *s);

/*
 * Adds (or, if name is already there, updates) a job with policies pol
 * (NULL: the defaults). A new job's cursor is its first fire after
 * now_ms; an updated job keeps its place (the first fire of the new
 * schedule at or after its cursor), so that a re-registration never
 * drops fires the loop has not handled yet. expr "-" is no schedule of
 * its own (a job run by "chain" or by hand). The environment overrides
 * what the service asked for: CRONFLEET_JOB_<NAME>_SCHEDULE, _TZ,
 * _ENABLED, _DST_GAP and _DST_REPEAT, where <NAME> is the job's name in
 * upper case with '-' as '_'; with keep_expr set (a schedule changed at
 * runtime, which outranks the environment) the SCHEDULE override is not
 * applied. The pause flag is kept. Returns the slot (>= 0), or a
 * negative CF_* code with err naming the job and the problem (the table
 * is then unchanged).
 */
int clock_sched_add(clock_sched *s, const char *service, const char *name,
    const char *expr, const char *tz, const clock_policy *pol,
    int64_t now_ms, int keep_expr, char *err, size_t errlen);

/*
 * Checks that job may run after parent: not itself, and no chain of
 * "after" in the table leads from parent back to job (the table's entry
 * for job, if any, is replaced by this "after"). A parent not yet in the
 * table ends the chain. Returns CF_OK, or CF_EINVAL with err spelling the
 * cycle: "cycle: a -> b -> a". parent "" is always fine.
 */
int clock_sched_check_after(const clock_sched *s, const char *job,
    const char *parent, char *err, size_t errlen);

/* The slot of a job by name, or -1. */
int clock_sched_find(const clock_sched *s, const char *name);

/*
 * Replaces a job's expression (validated first: on error nothing
 * changes; "-" removes the schedule) and moves the cursor to the new
 * schedule's first fire after now_ms, or after the old cursor when that
 * is earlier (fires not yet handled are walked with the new schedule).
 */
int clock_sched_set_expr(clock_sched *s, int slot, const char *expr,
    int64_t now_ms, char *err, size_t errlen);

/*
 * Pauses or resumes one job. The cursor does not move: the loop records
 * a paused job's fires as skipped, so resuming goes on from there.
 */
void clock_sched_pause(clock_sched *s, int slot, int paused);

/*
 * The earliest pending fire: returns its slot and sets *at, or -1 when
 * nothing is scheduled.
 */
int clock_sched_peek(const clock_sched *s, int64_t *at);

/* Moves a job's cursor past a fire it has just handled (or skipped). */
void clock_sched_advance(clock_sched *s, int slot, int64_t after_ms);

/*
 * Sets a job's cursor to at (its heap entry follows), -1 for none. For
 * putting back a cursor whose fires could not be recorded, and for
 * catchup_cursors.
 */
void clock_sched_set_cursor(clock_sched *s, int slot, int64_t at);

/*
 * The first fire of the job's walk strictly after after_ms: returns CF_OK
 * and sets *at, and *gap_skipped to 1 when the job's own schedule does
 * not fire there (a fire swallowed by a spring-forward gap under the
 * skip policy, see clock_job.walk), else 0. CF_ENOENT when there is none
 * (also for a job without a schedule).
 */
int clock_sched_walk_next(const clock_sched *s, int slot, int64_t after_ms,
    int64_t *at, int *gap_skipped);

/*
 * Up to n next fires of a job after after_ms (the fires that will be
 * published: not those a DST gap swallows); returns how many.
 */
int clock_sched_upcoming(const clock_sched *s, int slot, int64_t after_ms,
    int64_t *out, unsigned *flags, int n);

#endif /* CLOCK_SCHEDULE_H */
