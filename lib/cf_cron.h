/*
 * cf_cron.h - the cron engine: parse an expression once, then ask when it
 * fires next (or last fired) in its time zone.
 *
 * Syntax (5 fields, or 6 with a leading seconds field):
 *
 *   [second] minute hour day-of-month month day-of-week
 *
 *   *  a,b  a-b  * /n  a-b/n  a/n   in every field
 *   JAN-DEC, SUN-SAT in any case; day-of-week 0-7 (0 and 7 are Sunday)
 *   day-of-month: L, L-n, LW, nW (nearest weekday in the same month), ?
 *   day-of-week:  DAY#n (n 1-5), DAY#L (last such weekday), ?
 *   @yearly @annually @monthly @weekly @daily @midnight @hourly
 *   @every <duration>  e.g. 90s, 15m, 2h, 1h30m, 1d: fires at the whole
 *                      multiples of the interval since 1970-01-01T00:00Z
 *
 * When both day fields are restricted (neither is "*" nor "?"), a day
 * matches if either matches (POSIX); otherwise both must match.
 *
 * Every schedule is evaluated in an IANA zone (UTC by default). Wall times
 * that fall in a spring-forward gap or repeat in a fall-back are handled by
 * the schedule's DST policy (see cf_cron_opts).
 *
 * A compiled schedule is immutable: next/prev neither allocate nor lock,
 * and one schedule may be shared by any number of threads.
 */
#ifndef CF_CRON_H
#define CF_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "cf_err.h"

typedef struct cf_cron cf_cron;

/* What to do with a wall time that does not exist (spring forward). */
typedef enum cf_dst_gap {
	CF_DST_GAP_SHIFT = 0,     /* default: fire shifted by the gap's length */
	CF_DST_GAP_SKIP,          /* do not fire */
	CF_DST_GAP_AT_TRANSITION, /* fire at the transition instant */
} cf_dst_gap;

/* What to do with a wall time that occurs twice (fall back). */
typedef enum cf_dst_repeat {
	CF_DST_REPEAT_AUTO = 0, /* default: BOTH if the hour field matches all
	                         * 24 hours ("*", "0-23"), else FIRST */
	CF_DST_REPEAT_FIRST,    /* fire at the first occurrence only */
	CF_DST_REPEAT_LAST,     /* fire at the second occurrence only */
	CF_DST_REPEAT_BOTH,     /* fire at both */
} cf_dst_repeat;

typedef struct cf_cron_opts {
	const char *  tz;     /* IANA name; NULL or "" means UTC */
	cf_dst_gap    gap;    /* default CF_DST_GAP_SHIFT */
	cf_dst_repeat repeat; /* default CF_DST_REPEAT_AUTO */
} cf_cron_opts;

/* Flags reported with a fire (cf_cron_next/cf_cron_prev). */
#define CF_FIRE_DST_SHIFTED 0x01u       /* wall time in a gap, moved forward */
#define CF_FIRE_DST_AT_TRANSITION 0x02u /* wall time in a gap, fired at it */
#define CF_FIRE_DST_REPEATED 0x04u      /* wall time occurs twice this day */
#define CF_FIRE_DST_SECOND 0x08u        /* ... and this is its 2nd occurrence */
#define CF_FIRE_DST_DOUBLED 0x10u       /* ... and the schedule fires at both */

/* Room enough for any message cf_cron_parse writes. */
#define CF_CRON_ERRLEN 192

/*
 * Compiles expr. opts may be NULL (UTC, default policies). On success
 * returns 0 and *out owns a schedule the caller frees with cf_cron_free().
 * On failure returns CF_EINVAL (bad expression or a schedule that can never
 * fire), CF_ETZ (unknown zone) or CF_ENOMEM, writes nothing to *out, and
 * puts a one-line message in err that names the field, the value and what
 * is allowed, e.g. "day-of-month: 32 is out of range 1-31".
 */
int cf_cron_parse(cf_cron **out, const char *expr, const cf_cron_opts *opts,
    char *err, size_t errlen);

/* Frees a schedule from cf_cron_parse(); NULL is ignored. */
void cf_cron_free(cf_cron *c);

/*
 * The first fire strictly after after_ms (UTC milliseconds). Returns 0 and
 * sets *fire_ms (and *flags if not NULL, CF_FIRE_* bits), or CF_ENOENT when
 * there is none before CF_TZ_MAX_MS. No allocation, no lock.
 */
int cf_cron_next(
    const cf_cron *c, int64_t after_ms, int64_t *fire_ms, unsigned *flags);

/*
 * The last fire at or before at_ms. Returns 0 and sets *fire_ms (and
 * *flags), or CF_ENOENT when there is none at or after CF_TZ_MIN_MS.
 */
int cf_cron_prev(
    const cf_cron *c, int64_t at_ms, int64_t *fire_ms, unsigned *flags);

/* The zone's name ("UTC" by default). */
const char *cf_cron_tz_name(const cf_cron *c);

/* The zone's UTC offset in seconds at utc_ms, for printing fires. */
int cf_cron_utc_offset(const cf_cron *c, int64_t utc_ms);

/* The expression as given (after trimming), for display. */
const char *cf_cron_expr(const cf_cron *c);

/* 1 for "@every" schedules (zone-independent intervals), else 0. */
int cf_cron_is_interval(const cf_cron *c);

/*
 * A plain-English description: "At 02:30 every day". The zone is not
 * included. Returns the length it needed (like snprintf).
 */
int cf_cron_describe(const cf_cron *c, char *buf, size_t len);

/*
 * A warning for people about a surprising reading of the expression (for
 * now: a "* /n" day field meeting a restricted one, which Vixie cron and
 * cronie read as AND where cronfleet reads OR), or "" if none.
 * Returns the length it needed (like snprintf).
 */
int cf_cron_warning(const cf_cron *c, char *buf, size_t len);

#endif /* CF_CRON_H */
