/*
 * schedule.h - the clock's table of jobs and their compiled schedules.
 *
 * Each job has a slot; the table keeps the slot's compiled cron schedule
 * and its place in the heap of next fires. The clock's main loop asks for
 * the next due fire, publishes it, and advances the job past it.
 * Not thread-safe: the clock's loop owns it.
 */
#ifndef CLOCK_SCHEDULE_H
#define CLOCK_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "cf_cron.h"
#include "heap.h"

#define CLOCK_NAME_MAX 64
#define CLOCK_EXPR_MAX 256

typedef struct clock_job {
	char          service[CLOCK_NAME_MAX]; /* owner, e.g. "maintenance" */
	char          name[CLOCK_NAME_MAX];    /* e.g. "health-check" */
	char          expr[CLOCK_EXPR_MAX];    /* effective expression */
	char          tz[CLOCK_NAME_MAX];      /* "" means the default zone */
	cf_dst_gap    gap;
	cf_dst_repeat repeat;
	int           enabled; /* from CRONFLEET_JOB_<NAME>_ENABLED */
	int           paused;  /* by a command */
	cf_cron *     cron;
	int64_t       next; /* next fire (UTC ms), or -1 if none */
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
 * Adds (or, if service/name is already there, updates) a job and
 * schedules its first fire after now_ms, unless disabled or paused.
 * The environment overrides what the service asked for:
 * CRONFLEET_JOB_<NAME>_SCHEDULE, _TZ and _ENABLED, where <NAME> is the
 * job's name in upper case with '-' as '_'; with keep_expr set (a
 * schedule changed at runtime, which outranks the environment) the
 * SCHEDULE override is not applied. Returns the slot (>= 0), or
 * a negative CF_* code with err naming the job and the problem.
 */
int clock_sched_add(clock_sched *s, const char *service, const char *name,
    const char *expr, const char *tz, int64_t now_ms, int keep_expr,
    char *err, size_t errlen);

/* The slot of a job by name, or -1. */
int clock_sched_find(const clock_sched *s, const char *name);

/*
 * Replaces a job's expression (validated first: on error nothing
 * changes) and reschedules it after now_ms.
 */
int clock_sched_set_expr(clock_sched *s, int slot, const char *expr,
    int64_t now_ms, char *err, size_t errlen);

/* Pauses or resumes one job; resuming schedules after now_ms. */
void clock_sched_pause(clock_sched *s, int slot, int paused, int64_t now_ms);

/*
 * The earliest pending fire: returns its slot and sets *at, or -1 when
 * nothing is scheduled.
 */
int clock_sched_peek(const clock_sched *s, int64_t *at);

/* Moves a job past a fire it has just handled (or skipped). */
void clock_sched_advance(clock_sched *s, int slot, int64_t after_ms);

/* Up to n next fires of a job after after_ms; returns how many. */
int clock_sched_upcoming(const clock_sched *s, int slot, int64_t after_ms,
    int64_t *out, unsigned *flags, int n);

#endif /* CLOCK_SCHEDULE_H */
