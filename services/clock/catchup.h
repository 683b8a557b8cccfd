/*
 * catchup.h - where each job's schedule resumes when a clock starts
 * leading, and what happens to the fires it finds late.
 *
 * See docs/guarantees.md ("Misfires"). The clock keeps one cursor per job,
 * clock_job.next: the earliest fire it has not yet handled. A clock that
 * starts, or takes over from a leader that died, does not know what was
 * published before it; the ledger does.
 */
#ifndef CLOCK_CATCHUP_H
#define CLOCK_CATCHUP_H

#include <stddef.h>
#include <stdint.h>

#include "cf_pg.h"
#include "cf_proto.h"
#include "schedule.h"

/*
 * Sets each job's cursor from the ledger: the first fire after its last
 * entry made by its schedule (published or skipped; manual and dependency
 * fires do not count), or the first fire after now_ms for a job that has
 * no such entry (jobs without a schedule of their own, or disabled, have
 * no cursor). The loop then finds the fires before now_ms due at once
 * and applies the job's misfire policy to them. Called with the table
 * owned by the caller (under the clock's mutex). Returns CF_OK, or the
 * database's error with err saying why (the cursors are then unchanged).
 */
int catchup_cursors(clock_sched *s, cf_pg *pg, int64_t now_ms, char *err,
    size_t errlen);

/*
 * When a fire is late. docs/guarantees.md: reached more than a second
 * (of virtual time) after its instant. With a fast virtual clock a
 * second of virtual time is a fraction of a millisecond of real time,
 * less than a thread takes to wake up on a busy machine; so the bound is
 * also never under CATCHUP_LATE_REAL_MS of real time, or every ordinary
 * wake-up at 3600x would count as a misfire. rate: virtual ms per real
 * ms (1 without virtual time).
 */
#define CATCHUP_LATE_MS 1000
#define CATCHUP_LATE_REAL_MS 100
int64_t catchup_late_ms(int64_t rate);

/* Why a fire was not published: clock.fires.reason (catchup_reason_text). */
typedef enum catchup_reason {
	CATCHUP_PUBLISH = 0,    /* published: no reason */
	CATCHUP_STOPPED,        /* "scheduler stopped" */
	CATCHUP_PAUSED,         /* "paused" */
	CATCHUP_DST_GAP,        /* "dst gap (policy skip)" */
	CATCHUP_OUTSIDE_WINDOW, /* "missed: outside the catch-up window" */
	CATCHUP_COALESCED,      /* "coalesced into <fire_id>" */
	CATCHUP_POLICY_SKIP,    /* "missed (misfire policy skip)" */
} catchup_reason;

/* One due fire of a job, and what becomes of it. */
typedef struct catchup_fire {
	int64_t        at;      /* in: the instant (UTC ms) */
	int            gap;     /* in: swallowed by a DST gap, policy skip */
	catchup_reason why;     /* out: CATCHUP_PUBLISH, or why not */
	cf_trigger     trigger; /* out: schedule, or catchup when late */
	int64_t        into;    /* out: the fire a coalesced one went into */
} catchup_fire;

/* What the decision depends on besides the fires. */
typedef struct catchup_in {
	int64_t       now_ms;
	int           late;    /* the first fire was reached late */
	int           stopped; /* the scheduler is stopped */
	int           paused;  /* the job is paused */
	clock_misfire misfire;
	int64_t       window_ms;
	/*
	 * The backlog's latest fire at or before now_ms (not one a gap
	 * swallowed) when it lies beyond the fires given, i.e. a backlog
	 * too long for one pass was cut; else -1 (it is among them).
	 */
	int64_t latest;
} catchup_in;

/*
 * Decides the fate of one job's due fires f[0..n-1] (instants ascending,
 * none after now_ms). Pure: no clock, no database. The first rule that
 * applies wins: a stopped scheduler, a paused job, a DST gap (policy
 * skip) skip the fire with that reason; a fire that is not late is
 * published (trigger schedule); a late one (trigger catchup) older than
 * the window (before now_ms - window_ms) is skipped as outside the
 * window; then the misfire policy: skip skips it, all publishes it, once
 * publishes only the latest fire in the window and coalesces the others
 * into it.
 */
void catchup_decide(catchup_fire *f, size_t n, const catchup_in *in);

/*
 * The ledger's text for why (for CATCHUP_COALESCED the fire id of job at
 * into). Returns the length needed, like snprintf.
 */
int catchup_reason_text(char *buf, size_t len, catchup_reason why,
    const char *job, int64_t into);

#endif /* CLOCK_CATCHUP_H */
