/*
 * test_cron_syntax.c - the cron language, evaluated in UTC: every syntax
 * element, leap years and short months, next/prev chains and their mirror
 * properties, rejected expressions, and vectors restated from the published
 * test suites of other cron libraries.
 *
 * Every case is one row of a table and runs as its own named cmocka test,
 * so a failure names the row. Expected instants were worked out by hand
 * from a calendar (and cross-checked with a throwaway brute-force script),
 * never copied from this engine's output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cf_cron.h"
#include "cf_err.h"
#include "cf_time.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * How a row's instant is used. Our next() is strictly after and our prev()
 * is at-or-before; peers that start inclusively or step back exclusively
 * are restated with NEXT_INCL and PREV_EXCL, which query one millisecond
 * earlier, so their facts can be kept exactly as published.
 */
enum dir {
	NEXT,      /* first fire > at */
	NEXT_INCL, /* first fire >= at */
	PREV,      /* last fire <= at */
	PREV_EXCL, /* last fire < at */
};

/* One query: the fire expected, or NULL when there is none (CF_ENOENT). */
struct vec {
	const char *name;
	const char *expr;
	enum dir    dir;
	const char *at;
	const char *want;
};

/* Repeated queries: each answer is the start of the next query. */
struct chain {
	const char *name;
	const char *expr;
	enum dir    dir;
	const char *at;
	const char *want[16]; /* NULL-terminated */
};

/* An expression cf_cron_parse must reject, and what the message names. */
struct bad {
	const char *name;
	const char *expr;
	const char *sub[2]; /* substrings of the message, NULL for none */
};

/* Whether cf_cron_warning has something to say about an expression. */
struct warn {
	const char *name;
	const char *expr;
	int         warns;
};

/*
 * 1. Syntax elements. 2025-01-01 is a Wednesday; 2025 begins Wed, Feb 1
 * and Mar 1 and Nov 1 are Saturdays, Jun 1 and Aug 31 and Nov 30 Sundays,
 * May 31 a Saturday.
 */
static const struct vec syntax_vecs[] = {
	/* "*" in every position. */
	{ "star.every_minute", "* * * * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z" },
	{ "star.mid_minute", "* * * * *", NEXT,
	  "2025-01-01T00:00:30.500Z", "2025-01-01T00:01:00Z" },
	{ "star.prev_mid_minute", "* * * * *", PREV,
	  "2025-01-01T00:00:30.500Z", "2025-01-01T00:00:00Z" },
	{ "star.5f_fires_at_second_0", "* * * * *", NEXT,
	  "2025-01-01T00:00:59.999Z", "2025-01-01T00:01:00Z" },
	{ "star.6f_every_second", "* * * * * *", NEXT,
	  "2025-01-01T00:00:00.250Z", "2025-01-01T00:00:01Z" },

	/* Lists. */
	{ "list.minutes", "5,10,45 * * * *", NEXT,
	  "2025-01-01T00:10:00Z", "2025-01-01T00:45:00Z" },
	{ "list.wraps_hour", "5,10,45 * * * *", NEXT,
	  "2025-01-01T00:45:00Z", "2025-01-01T01:05:00Z" },
	{ "list.unsorted", "0 17,3,9 * * *", NEXT,
	  "2025-01-01T04:00:00Z", "2025-01-01T09:00:00Z" },
	{ "list.of_ranges", "0 0 2-4,7-9 * *", NEXT,
	  "2025-01-04T00:00:00Z", "2025-01-07T00:00:00Z" },

	/* Ranges. */
	{ "range.hours", "0 9-17 * * *", NEXT,
	  "2025-01-01T17:00:00Z", "2025-01-02T09:00:00Z" },
	{ "range.single_value", "0 12-12 * * *", NEXT,
	  "2025-01-01T12:00:00Z", "2025-01-02T12:00:00Z" },

	/* Steps: "* /n", "a-b/n" and "a/n" (a through the field's max). */
	{ "step.star_minute", "*/15 * * * *", NEXT,
	  "2025-01-01T00:16:00Z", "2025-01-01T00:30:00Z" },
	{ "step.star_hour", "0 */6 * * *", NEXT,
	  "2025-01-01T18:00:00Z", "2025-01-02T00:00:00Z" },
	{ "step.star_dom", "0 0 */10 * *", NEXT,
	  "2025-01-21T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "step.star_month", "0 0 1 */4 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-05-01T00:00:00Z" },
	{ "step.star_second", "*/20 * * * * *", NEXT,
	  "2025-01-01T00:00:41Z", "2025-01-01T00:01:00Z" },
	{ "step.range", "10-40/10 * * * *", NEXT,
	  "2025-01-01T00:40:00Z", "2025-01-01T01:10:00Z" },
	{ "step.range_uneven_end", "0 1-10/4 * * *", NEXT,
	  "2025-01-01T09:00:00Z", "2025-01-02T01:00:00Z" },
	{ "step.start_minute", "7/20 * * * *", NEXT,
	  "2025-01-01T00:47:00Z", "2025-01-01T01:07:00Z" },
	{ "step.start_dom", "0 0 25/3 * *", NEXT,
	  "2025-01-28T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "step.start_dom_short_month", "0 0 25/3 * *", NEXT,
	  "2025-01-31T00:00:00Z", "2025-02-25T00:00:00Z" },
	{ "step.start_dow_reaches_7", "0 0 * * 1/2", NEXT,
	  "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "step.dow_range", "0 0 * * 1-5/2", NEXT,
	  "2025-01-03T00:00:00Z", "2025-01-06T00:00:00Z" },
	{ "step.larger_than_range", "*/90 * * * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z" },
	{ "step.start_larger_than_range", "0 5/30 * * *", NEXT,
	  "2025-01-01T05:00:00Z", "2025-01-02T05:00:00Z" },

	/* Month and weekday names in any case, alone, in lists and ranges. */
	{ "name.month_list", "0 0 1 jAn,JUL *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-07-01T00:00:00Z" },
	{ "name.month_range", "0 0 1 Mar-mAY *", NEXT,
	  "2025-05-01T00:00:00Z", "2026-03-01T00:00:00Z" },
	{ "name.month_range_step", "0 0 1 feb-DEC/3 *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-05-01T00:00:00Z" },
	{ "name.dow_range", "0 12 * * mOn-FrI", NEXT,
	  "2025-01-03T12:00:00Z", "2025-01-06T12:00:00Z" },
	{ "name.dow_list", "0 0 * * sun,Sat", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z" },
	{ "name.dow_upper", "0 0 * * WED", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-08T00:00:00Z" },

	/* Weekday 0 and 7 are both Sunday; ranges may end in 7. */
	{ "dow.0_is_sunday", "0 0 * * 0", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "dow.7_is_sunday", "0 0 * * 7", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "dow.7_prev", "0 0 * * 7", PREV,
	  "2025-01-04T23:59:59Z", "2024-12-29T00:00:00Z" },
	{ "dow.5-7_friday", "0 0 * * 5-7", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z" },
	{ "dow.5-7_sunday", "0 0 * * 5-7", NEXT,
	  "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "dow.5-7_skips_midweek", "0 0 * * 5-7", NEXT,
	  "2025-01-05T00:00:00Z", "2025-01-10T00:00:00Z" },
	{ "dow.6-7", "0 0 * * 6-7", NEXT,
	  "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "dow.0-2", "0 0 * * 0-2", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },

	/* Six fields: a leading seconds field. */
	{ "sec.fixed", "30 15 10 * * *", NEXT,
	  "2025-01-01T10:15:30Z", "2025-01-02T10:15:30Z" },
	{ "sec.fixed_just_before", "30 15 10 * * *", NEXT,
	  "2025-01-01T10:15:29.999Z", "2025-01-01T10:15:30Z" },
	{ "sec.list_range", "0,30-32 * * * * *", NEXT,
	  "2025-01-01T00:00:31Z", "2025-01-01T00:00:32Z" },
	{ "sec.all_fields", "5 4 3 2 1 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-02T03:04:05Z" },

	/* Every macro. */
	{ "macro.yearly", "@yearly", NEXT,
	  "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z" },
	{ "macro.yearly_prev", "@yearly", PREV,
	  "2025-06-15T12:00:00Z", "2025-01-01T00:00:00Z" },
	{ "macro.annually", "@annually", NEXT,
	  "2025-06-15T12:00:00Z", "2026-01-01T00:00:00Z" },
	{ "macro.monthly", "@monthly", NEXT,
	  "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z" },
	{ "macro.weekly", "@weekly", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "macro.weekly_from_sunday", "@weekly", NEXT,
	  "2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z" },
	{ "macro.daily", "@daily", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z" },
	{ "macro.midnight", "@midnight", NEXT,
	  "2025-01-01T23:59:59Z", "2025-01-02T00:00:00Z" },
	{ "macro.hourly", "@hourly", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z" },
	{ "macro.hourly_prev", "@hourly", PREV,
	  "2025-01-01T00:59:59Z", "2025-01-01T00:00:00Z" },

	/* "?" is "*" in either day field. */
	{ "qmark.dom", "0 0 ? * MON", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-06T00:00:00Z" },
	{ "qmark.dow", "0 0 15 * ?", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z" },
	{ "qmark.both", "0 0 ? * ?", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z" },
	{ "qmark.6f", "0 0 0 ? 3 ?", NEXT,
	  "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z" },

	/* L: the last day of the month. */
	{ "L.jan", "0 0 L * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "L.feb_common", "0 0 L * *", NEXT,
	  "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z" },
	{ "L.feb_leap", "0 0 L * *", NEXT,
	  "2024-02-01T00:00:00Z", "2024-02-29T00:00:00Z" },
	{ "L.apr", "0 0 L * *", NEXT,
	  "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z" },
	{ "L.prev", "0 0 L * *", PREV,
	  "2025-03-30T00:00:00Z", "2025-02-28T00:00:00Z" },

	/* L-n: n days before the last day, skipped when before the 1st. */
	{ "L-n.L-0", "0 0 L-0 * *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-28T00:00:00Z" },
	{ "L-n.L-1_common_feb", "0 0 L-1 * *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-27T00:00:00Z" },
	{ "L-n.L-1_leap_feb", "0 0 L-1 * *", NEXT,
	  "2024-02-01T00:00:00Z", "2024-02-28T00:00:00Z" },
	{ "L-n.L-15", "0 0 L-15 * *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-13T00:00:00Z" },
	{ "L-n.L-30_is_1st_of_31", "0 0 L-30 * *", NEXT,
	  "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z" },
	{ "L-n.L-30_skips_feb", "0 0 L-30 * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z" },
	{ "L-n.L-30_skips_30_day", "0 0 L-30 * *", NEXT,
	  "2025-03-01T00:00:00Z", "2025-05-01T00:00:00Z" },

	/* LW: the last Monday-to-Friday of the month. */
	{ "LW.friday_end", "0 0 LW * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "LW.saturday_end", "0 0 LW * *", NEXT,
	  "2025-05-01T00:00:00Z", "2025-05-30T00:00:00Z" },
	{ "LW.sunday_end", "0 0 LW * *", NEXT,
	  "2025-08-01T00:00:00Z", "2025-08-29T00:00:00Z" },
	{ "LW.sunday_end_30_day", "0 0 LW * *", NEXT,
	  "2025-11-01T00:00:00Z", "2025-11-28T00:00:00Z" },

	/* nW: the weekday nearest day n, never leaving the month. */
	{ "W.weekday_stays", "0 0 15W * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z" },
	{ "W.saturday_to_friday", "0 0 15W * *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-14T00:00:00Z" },
	{ "W.sunday_to_monday", "0 0 16W * *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-17T00:00:00Z" },
	{ "W.1W_saturday_to_3rd", "0 0 1W * *", NEXT,
	  "2025-01-31T00:00:00Z", "2025-02-03T00:00:00Z" },
	{ "W.1W_saturday_nov", "0 0 1W 11 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-11-03T00:00:00Z" },
	{ "W.1W_sunday_to_2nd", "0 0 1W * *", NEXT,
	  "2025-05-02T00:00:00Z", "2025-06-02T00:00:00Z" },
	{ "W.last_day_sunday_to_friday", "0 0 31W * *", NEXT,
	  "2025-08-01T00:00:00Z", "2025-08-29T00:00:00Z" },
	{ "W.last_day_sunday_30_day", "0 0 30W * *", NEXT,
	  "2025-11-01T00:00:00Z", "2025-11-28T00:00:00Z" },
	{ "W.not_last_day_sunday", "0 0 30W * *", NEXT,
	  "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z" },
	{ "W.31W_skips_30_day_month", "0 0 31W * *", NEXT,
	  "2025-04-01T00:00:00Z", "2025-05-30T00:00:00Z" },
	{ "W.31W_skips_june", "0 0 31W * *", NEXT,
	  "2025-05-30T00:00:00Z", "2025-07-31T00:00:00Z" },
	{ "W.29W_leap_feb", "0 0 29W 2 *", NEXT,
	  "2023-03-01T00:00:00Z", "2024-02-29T00:00:00Z" },
	{ "W.prev", "0 0 1W * *", PREV,
	  "2025-02-02T00:00:00Z", "2025-01-01T00:00:00Z" },

	/* DAY#n and DAY#L, with names or numbers, 0 and 7 for Sunday. */
	{ "nth.1#1", "0 0 * * 1#1", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-06T00:00:00Z" },
	{ "nth.TUE#2", "0 0 * * TUE#2", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-14T00:00:00Z" },
	{ "nth.thu#3_lower", "0 0 * * thu#3", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-16T00:00:00Z" },
	{ "nth.FRI#5_skips_months", "0 0 * * FRI#5", NEXT,
	  "2025-02-01T00:00:00Z", "2025-05-30T00:00:00Z" },
	{ "nth.0#1", "0 0 * * 0#1", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "nth.7#1", "0 0 * * 7#1", NEXT,
	  "2025-01-05T00:00:00Z", "2025-02-02T00:00:00Z" },
	{ "nth.FRI#L", "0 0 * * FRI#L", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "nth.SUN#L", "0 0 * * SUN#L", NEXT,
	  "2025-03-01T00:00:00Z", "2025-03-30T00:00:00Z" },
	{ "nth.3#L", "0 0 * * 3#L", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-26T00:00:00Z" },
	{ "nth.7#L", "0 0 * * 7#L", NEXT,
	  "2025-08-01T00:00:00Z", "2025-08-31T00:00:00Z" },
	{ "nth.prev", "0 0 * * MON#1", PREV,
	  "2025-02-02T00:00:00Z", "2025-01-06T00:00:00Z" },

	/* Special forms mixed with plain values in one list. */
	{ "mix.MON#1,FRI#L", "0 0 * * MON#1,FRI#L", NEXT,
	  "2025-01-06T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "mix.1,FRI#L", "0 0 * * 1,FRI#L", NEXT,
	  "2025-01-27T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "mix.1,15,L", "0 0 1,15,L * *", NEXT,
	  "2025-02-15T00:00:00Z", "2025-02-28T00:00:00Z" },

	/*
	 * Both day fields restricted: either may match (POSIX OR). One of
	 * them "*" or "?": both must match.
	 */
	{ "or.dow_side", "0 0 13 * FRI", NEXT,
	  "2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z" },
	{ "or.dom_side", "0 0 13 * FRI", NEXT,
	  "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z" },
	{ "or.L_or_monday", "0 0 L * MON", NEXT,
	  "2025-01-27T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "or.W_or_last_friday", "0 0 15W * FRI#L", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-14T00:00:00Z" },
	{ "or.W_or_last_friday_b", "0 0 15W * FRI#L", NEXT,
	  "2025-02-14T00:00:00Z", "2025-02-28T00:00:00Z" },
	{ "or.full_range_dom", "0 0 1-31 * MON", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z" },
	/* Vixie cron would AND these "*" /n fields; the contract says OR. */
	{ "or.step_dom_monday", "0 0 */2 * MON", NEXT,
	  "2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z" },
	{ "or.step_dom_odd_day", "0 0 */2 * MON", NEXT,
	  "2025-01-06T00:00:00Z", "2025-01-07T00:00:00Z" },
	{ "or.step_dow_with_dom", "0 0 15 * */3", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z" },
	{ "or.step1_dom_every_day", "0 0 */1 * MON", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z" },
	{ "and.dom_star", "0 0 * 2 MON", NEXT,
	  "2025-01-01T00:00:00Z", "2025-02-03T00:00:00Z" },
	{ "and.dow_star", "0 0 13 * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-13T00:00:00Z" },
	{ "and.qmark_dom", "0 0 ? * FRI", NEXT,
	  "2025-01-10T00:00:00Z", "2025-01-17T00:00:00Z" },
	{ "and.qmark_dow", "0 0 13 * ?", NEXT,
	  "2025-01-13T00:00:00Z", "2025-02-13T00:00:00Z" },

	/* The supported range is [1970-01-01, 2200-01-01) UTC. */
	{ "edge.epoch_is_a_fire", "0 0 1 1 *", PREV,
	  "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
	{ "edge.nothing_before_epoch", "0 0 2 1 *", PREV,
	  "1970-01-01T12:00:00Z", NULL },
	{ "edge.nothing_from_2200", "0 0 1 1 *", NEXT,
	  "2199-06-01T00:00:00Z", NULL },
	{ "edge.last_minute", "59 23 31 12 *", NEXT,
	  "2199-06-01T00:00:00Z", "2199-12-31T23:59:00Z" },
};

/*
 * @every: whole multiples of the interval since 1970-01-01T00:00Z.
 * 2025-01-01T00:00Z is 1735689600 s, a multiple of 90 s and of 5400 s.
 * 2025-03-14T00:00Z is 1741910400 s, 300 s past a multiple of 420 s, so
 * the 7-minute grid that day runs 00:02, 00:09, ... 15:05, 15:12.
 */
static const struct vec every_vecs[] = {
	{ "every.90s", "@every 90s", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T00:01:30Z" },
	{ "every.90s_prev", "@every 90s", PREV,
	  "2025-01-01T00:01:29.999Z", "2025-01-01T00:00:00Z" },
	{ "every.1m30s_is_90s", "@every 1m30s", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T00:01:30Z" },
	{ "every.15m", "@every 15m", NEXT,
	  "2025-01-01T00:07:00Z", "2025-01-01T00:15:00Z" },
	{ "every.2h", "@every 2h", NEXT,
	  "2025-01-01T01:00:00Z", "2025-01-01T02:00:00Z" },
	{ "every.1h30m", "@every 1h30m", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T01:30:00Z" },
	{ "every.1h30m_b", "@every 1h30m", NEXT,
	  "2025-01-01T01:30:00Z", "2025-01-01T03:00:00Z" },
	{ "every.7m_arbitrary", "@every 7m", NEXT,
	  "2025-03-14T15:09:26.535Z", "2025-03-14T15:12:00Z" },
	{ "every.7m_prev", "@every 7m", PREV,
	  "2025-03-14T15:09:26.535Z", "2025-03-14T15:05:00Z" },
	{ "every.7m_prev_on_fire", "@every 7m", PREV,
	  "2025-03-14T15:12:00Z", "2025-03-14T15:12:00Z" },
	{ "every.7m_from_epoch", "@every 7m", NEXT,
	  "1970-01-01T00:00:00Z", "1970-01-01T00:07:00Z" },
	{ "every.1d", "@every 1d", NEXT,
	  "2025-06-15T13:00:00Z", "2025-06-16T00:00:00Z" },
	{ "every.1s", "@every 1s", NEXT,
	  "2025-01-01T00:00:00.001Z", "2025-01-01T00:00:01Z" },
	{ "every.1500ms", "@every 1500ms", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T00:00:01.500Z" },
};

/*
 * 2. Leap years and short months. 2100 is not a leap year (divisible by
 * 100, not by 400); 2000 is.
 */
static const struct vec leap_vecs[] = {
	{ "leap.feb29_from_2025", "0 0 29 2 *", NEXT,
	  "2025-01-01T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "leap.feb29_then_2032", "0 0 29 2 *", NEXT,
	  "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z" },
	{ "leap.feb29_skips_2100", "0 0 29 2 *", NEXT,
	  "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z" },
	{ "leap.feb29_prev_skips_2100", "0 0 29 2 *", PREV,
	  "2104-02-28T23:59:59Z", "2096-02-29T00:00:00Z" },
	{ "leap.feb29_2000", "0 0 29 2 *", NEXT,
	  "1997-01-01T00:00:00Z", "2000-02-29T00:00:00Z" },
	{ "leap.L_feb_2100", "0 0 L 2 *", NEXT,
	  "2099-03-01T00:00:00Z", "2100-02-28T00:00:00Z" },
	{ "leap.L_feb_2000", "0 0 L 2 *", NEXT,
	  "1999-03-01T00:00:00Z", "2000-02-29T00:00:00Z" },
	{ "short.31_skips_feb", "0 0 31 * *", NEXT,
	  "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z" },
	{ "short.31_skips_apr", "0 0 31 * *", NEXT,
	  "2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z" },
	{ "short.31_skips_jun", "0 0 31 * *", NEXT,
	  "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z" },
	{ "short.31_skips_sep", "0 0 31 * *", NEXT,
	  "2025-08-31T00:00:00Z", "2025-10-31T00:00:00Z" },
	{ "short.31_skips_nov", "0 0 31 * *", NEXT,
	  "2025-10-31T00:00:00Z", "2025-12-31T00:00:00Z" },
	{ "short.31_prev_skips_jun", "0 0 31 * *", PREV,
	  "2025-07-30T00:00:00Z", "2025-05-31T00:00:00Z" },
	{ "short.30_skips_leap_feb", "0 0 30 * *", NEXT,
	  "2024-01-30T00:00:00Z", "2024-03-30T00:00:00Z" },
};

/*
 * 3. Chains. Besides the listed answers, run_chain checks that prev() is
 * the mirror of next(): prev(f) == f for each fire f, prev(f - 1ms) is the
 * fire before, and next(prev(t)) == next(t).
 */
static const struct chain chains[] = {
	{ "chain.31_skips_short_months", "0 0 31 * *", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z",
	    "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z",
	    "2025-08-31T00:00:00Z", "2025-10-31T00:00:00Z",
	    "2025-12-31T00:00:00Z", "2026-01-31T00:00:00Z" } },
	{ "chain.feb29", "0 0 29 2 *", NEXT, "2025-01-01T00:00:00Z",
	  { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
	    "2036-02-29T00:00:00Z", "2040-02-29T00:00:00Z" } },
	{ "chain.feb29_over_2100", "0 0 29 2 *", NEXT,
	  "2095-01-01T00:00:00Z",
	  { "2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z",
	    "2108-02-29T00:00:00Z" } },
	{ "chain.quarter_hours_over_midnight", "*/15 * * * *", NEXT,
	  "2025-01-01T23:31:00Z",
	  { "2025-01-01T23:45:00Z", "2025-01-02T00:00:00Z",
	    "2025-01-02T00:15:00Z" } },
	{ "chain.office_hours", "0 9-17/4 * * MON-FRI", NEXT,
	  "2025-01-03T14:00:00Z",
	  { "2025-01-03T17:00:00Z", "2025-01-06T09:00:00Z",
	    "2025-01-06T13:00:00Z", "2025-01-06T17:00:00Z",
	    "2025-01-07T09:00:00Z" } },
	{ "chain.dow_5-7", "0 0 * * 5-7", NEXT, "2025-01-01T00:00:00Z",
	  { "2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z",
	    "2025-01-05T00:00:00Z", "2025-01-10T00:00:00Z",
	    "2025-01-11T00:00:00Z", "2025-01-12T00:00:00Z" } },
	{ "chain.L_2024", "0 0 L * *", NEXT, "2024-01-01T00:00:00Z",
	  { "2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z",
	    "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z",
	    "2024-05-31T00:00:00Z", "2024-06-30T00:00:00Z" } },
	{ "chain.1W_2025", "0 0 1W * *", NEXT, "2025-01-01T00:00:00Z",
	  { "2025-02-03T00:00:00Z", "2025-03-03T00:00:00Z",
	    "2025-04-01T00:00:00Z", "2025-05-01T00:00:00Z",
	    "2025-06-02T00:00:00Z", "2025-07-01T00:00:00Z",
	    "2025-08-01T00:00:00Z", "2025-09-01T00:00:00Z",
	    "2025-10-01T00:00:00Z", "2025-11-03T00:00:00Z",
	    "2025-12-01T00:00:00Z" } },
	{ "chain.step_dom_or_monday", "0 0 */2 * MON", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-03T00:00:00Z", "2025-01-05T00:00:00Z",
	    "2025-01-06T00:00:00Z", "2025-01-07T00:00:00Z",
	    "2025-01-09T00:00:00Z", "2025-01-11T00:00:00Z",
	    "2025-01-13T00:00:00Z", "2025-01-15T00:00:00Z",
	    "2025-01-17T00:00:00Z", "2025-01-19T00:00:00Z",
	    "2025-01-20T00:00:00Z", "2025-01-21T00:00:00Z" } },
	{ "chain.13th_or_friday", "0 0 13 * FRI", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z",
	    "2025-01-13T00:00:00Z", "2025-01-17T00:00:00Z",
	    "2025-01-24T00:00:00Z", "2025-01-31T00:00:00Z",
	    "2025-02-07T00:00:00Z", "2025-02-13T00:00:00Z",
	    "2025-02-14T00:00:00Z" } },
	{ "chain.first_monday_last_friday", "0 0 * * MON#1,FRI#L", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-06T00:00:00Z", "2025-01-31T00:00:00Z",
	    "2025-02-03T00:00:00Z", "2025-02-28T00:00:00Z",
	    "2025-03-03T00:00:00Z", "2025-03-28T00:00:00Z" } },
	{ "chain.every_1h30m", "@every 1h30m", NEXT,
	  "2025-01-01T22:00:00Z",
	  { "2025-01-01T22:30:00Z", "2025-01-02T00:00:00Z",
	    "2025-01-02T01:30:00Z" } },
	{ "chain.prev_L", "0 0 L * *", PREV, "2025-03-15T00:00:00Z",
	  { "2025-02-28T00:00:00Z", "2025-01-31T00:00:00Z",
	    "2024-12-31T00:00:00Z", "2024-11-30T00:00:00Z" } },
	{ "chain.prev_sunday_noon_as_7", "0 12 * * 7", PREV,
	  "2025-01-20T00:00:00Z",
	  { "2025-01-19T12:00:00Z", "2025-01-12T12:00:00Z",
	    "2025-01-05T12:00:00Z", "2024-12-29T12:00:00Z" } },
};

/*
 * 4. Rejected expressions: CF_EINVAL, *out untouched, and a one-line
 * message naming the field and the offending value.
 */
static const struct bad bad_exprs[] = {
	/* Out of range, in each field. */
	{ "bad.second_60", "60 * * * * *", { "second", "60" } },
	{ "bad.minute_60", "60 * * * *", { "minute", "60" } },
	{ "bad.hour_24", "0 24 * * *", { "hour", "24" } },
	{ "bad.dom_32", "0 0 32 * *", { "day-of-month", "32" } },
	{ "bad.dom_0", "0 0 0 * *", { "day-of-month", "0" } },
	{ "bad.month_13", "0 0 1 13 *", { "month", "13" } },
	{ "bad.month_0", "0 0 1 0 *", { "month", "0" } },
	{ "bad.dow_8", "0 0 * * 8", { "day-of-week", "8" } },
	{ "bad.range_end_out", "0 12-36 * * *", { "hour", "36" } },
	{ "bad.list_item_out", "0 0 10-15,40 * *",
	  { "day-of-month", "40" } },
	{ "bad.dow_range_out", "0 0 * * 5-8", { "day-of-week", "8" } },
	{ "bad.huge_number", "0 0 99999999999999999999 * *",
	  { "day-of-month", NULL } },
	{ "bad.leading_dash", "-1 * * * *", { "minute", NULL } },

	/* Reversed ranges. */
	{ "bad.reversed_hour", "0 5-3 * * *", { "hour", "5-3" } },
	{ "bad.reversed_minute", "30-20 * * * *", { "minute", "30-20" } },
	{ "bad.reversed_stepped", "0 0 20-5/5 * *",
	  { "day-of-month", "20-5" } },
	{ "bad.reversed_dow_names", "0 0 * * FRI-MON",
	  { "day-of-week", NULL } },
	{ "bad.reversed_month_names", "0 0 1 DEC-JAN *",
	  { "month", NULL } },

	/* Step 0 and malformed steps. */
	{ "bad.step0_minute", "*/0 * * * *", { "minute", "0" } },
	{ "bad.step0_second", "*/0 * * * * *", { "second", "0" } },
	{ "bad.step0_range", "0 10-20/0 * * *", { "hour", "0" } },
	{ "bad.step0_start", "0 0 1/0 * *", { "day-of-month", "0" } },
	{ "bad.step0_month", "0 0 1 */0 *", { "month", "0" } },
	{ "bad.step0_dow", "0 0 * * */0", { "day-of-week", "0" } },
	{ "bad.step_missing", "*/ * * * *", { "minute", NULL } },
	{ "bad.step_negative", "*/-5 * * * *", { "minute", NULL } },
	{ "bad.step_twice", "5/5/5 * * * *", { "minute", NULL } },

	/* Field counts other than 5 and 6. */
	/* No field at all: any one-line message will do. */
	{ "bad.fields_0", "", { NULL, NULL } },
	{ "bad.fields_0_blank", "   ", { NULL, NULL } },
	{ "bad.fields_1", "*", { "fields", "1" } },
	{ "bad.fields_4", "* * * *", { "fields", "4" } },
	{ "bad.fields_7", "* * * * * * *", { "fields", "7" } },

	/* Unknown names and names in the wrong field. */
	{ "bad.unknown_month", "0 0 1 FOO *", { "month", "FOO" } },
	{ "bad.unknown_dow", "0 0 * * FUN", { "day-of-week", "FUN" } },
	{ "bad.month_name_in_dow", "0 0 * * JAN", { "day-of-week", "JAN" } },
	{ "bad.dow_name_in_month", "0 0 1 MON *", { "month", "MON" } },
	{ "bad.name_in_minute", "MON * * * *", { "minute", NULL } },
	{ "bad.full_month_name", "0 0 1 JANUARY *", { "month", NULL } },

	/* "?" outside the day fields. */
	{ "bad.qmark_second", "? * * * * *", { "second", "?" } },
	{ "bad.qmark_minute", "? * * * *", { "minute", "?" } },
	{ "bad.qmark_hour", "0 ? * * *", { "hour", "?" } },
	{ "bad.qmark_month", "0 0 1 ? *", { "month", "?" } },

	/* #, L and W where they do not belong or out of range. */
	{ "bad.nth_6", "0 0 * * MON#6", { "day-of-week", "6" } },
	{ "bad.nth_0", "0 0 * * 1#0", { "day-of-week", "0" } },
	{ "bad.nth_missing", "0 0 * * 1#", { "day-of-week", NULL } },
	{ "bad.nth_no_day", "0 0 * * #2", { "day-of-week", NULL } },
	{ "bad.nth_day_8", "0 0 * * 8#1", { "day-of-week", "8" } },
	{ "bad.nth_in_dom", "0 0 1#2 * *", { "day-of-month", NULL } },
	{ "bad.L-31", "0 0 L-31 * *", { "day-of-month", "31" } },
	{ "bad.32W", "0 0 32W * *", { "day-of-month", "32" } },
	{ "bad.0W", "0 0 0W * *", { "day-of-month", NULL } },
	{ "bad.W_in_dow", "0 0 * * 2W", { "day-of-week", NULL } },
	{ "bad.L_alone_in_dow", "0 0 * * L", { "day-of-week", NULL } },
	{ "bad.L_in_minute", "L * * * *", { "minute", NULL } },
	{ "bad.LW_in_hour", "0 LW * * *", { "hour", NULL } },
	{ "bad.L_in_month", "0 0 1 L *", { "month", NULL } },
	{ "bad.W_on_range", "0 0 1-5W * *", { "day-of-month", NULL } },

	/* @every needs one or more <int><unit>, at least one second. */
	{ "bad.every_nothing", "@every", { NULL, NULL } },
	{ "bad.every_zero", "@every 0s", { NULL, NULL } },
	{ "bad.every_under_1s", "@every 500ms", { NULL, NULL } },
	{ "bad.every_unknown_unit", "@every 10x", { NULL, NULL } },
	{ "bad.every_no_unit", "@every 5", { NULL, NULL } },
	{ "bad.every_negative", "@every -5m", { NULL, NULL } },
	{ "bad.every_fraction", "@every 1.5h", { NULL, NULL } },
	{ "bad.every_trailing", "@every 5m junk", { NULL, NULL } },

	/* Unknown macros. */
	{ "bad.macro_unknown", "@fortnightly", { "fortnightly", NULL } },
	{ "bad.macro_reboot", "@reboot", { "reboot", NULL } },
	{ "bad.macro_bare", "@", { NULL, NULL } },

	/* Bytes that are no cron at all. */
	{ "bad.garbage_control", "\x01\x02\x03", { NULL, NULL } },
	{ "bad.garbage_high_byte", "0 0 * * \xff", { "day-of-week", NULL } },
	{ "bad.garbage_fullwidth_mon",
	  "0 0 * * \xef\xbc\xad\xef\xbc\xaf\xef\xbc\xae",
	  { "day-of-week", NULL } },
	{ "bad.garbage_bang", "10 ! 12 8 0", { "hour", "!" } },
	{ "bad.garbage_double_comma", "0 0 * * 1,,2",
	  { "day-of-week", NULL } },
	{ "bad.garbage_trailing_dash", "0 0 * * 1-", { "day-of-week", NULL } },
	{ "bad.garbage_decimal", "0 0 * * 1.5", { "day-of-week", NULL } },
	{ "bad.garbage_semicolon", "0 0 * * MON;rm", { "day-of-week", NULL } },

	/* Schedules that can never fire. */
	{ "bad.never_feb_30", "0 0 30 2 *", { "never", NULL } },
	{ "bad.never_feb_30_qmark", "0 0 30 2 ?", { "never", NULL } },
	{ "bad.never_feb_30_31", "0 0 30,31 2 *", { "never", NULL } },
	{ "bad.never_apr_31", "0 0 31 4 *", { "never", NULL } },
	{ "bad.never_31_in_30_day_months", "0 0 31 4,6,9,11 *",
	  { "never", NULL } },
};

/*
 * cf_cron_warning speaks up when a "* /n" day field meets a restricted
 * one (Vixie cron ANDs those, we OR them), and is silent otherwise.
 */
static const struct warn warns[] = {
	{ "warn.step_dom_with_dow", "0 0 */2 * MON", 1 },
	{ "warn.step_dom_with_dow_range", "0 0 */5 * 1-5", 1 },
	{ "warn.step_dow_with_dom", "0 0 15 * */2", 1 },
	{ "warn.step1_dom_with_dow", "0 0 */1 * MON", 1 },
	{ "warn.step_dom_with_nth", "0 0 */2 * FRI#L", 1 },
	{ "warn.none_plain_or", "0 0 13 * FRI", 0 },
	{ "warn.none_list_or", "0 0 1,15 * MON", 0 },
	{ "warn.none_dow_only", "0 0 * * MON", 0 },
	{ "warn.none_minute_step", "*/5 * * * *", 0 },
	{ "warn.none_hour_step_with_dow", "0 */2 * * MON", 0 },
	{ "warn.none_step_dom_star_dow", "0 0 */2 * *", 0 },
	{ "warn.none_step_dom_qmark_dow", "0 0 */2 * ?", 0 },
	{ "warn.none_qmark_dom_step_dow", "0 0 ? * */2", 0 },
	{ "warn.none_macro", "@daily", 0 },
	{ "warn.none_every", "@every 15m", 0 },
};

/*
 * 5. Peer vectors. Facts (expression, start, expected fire) restated from
 * other libraries' published tests, in our syntax: peers' "DAYL" is our
 * "DAY#L". Where a peer's published answer differs from our contract, the
 * row holds OUR answer and says why.
 */

/*
 * HangfireIO/Cronos, tests/Cronos.Tests/CronExpressionFacts.cs. Cronos
 * starts inclusively (NEXT_INCL) and its table is 6-field. Its tables are
 * evaluated in America/New_York; none of these rows is near a DST switch,
 * so the wall-clock facts hold unchanged in UTC.
 */
static const struct vec cronos_vecs[] = {
	{ "cronos.L-1_leap_feb", "* * * L-1 * *", NEXT_INCL,
	  "2016-01-31T00:00:00Z", "2016-02-28T00:00:00Z" },
	{ "cronos.L-1_common_feb", "* * * L-1 * *", NEXT_INCL,
	  "2017-02-01T00:00:00Z", "2017-02-27T00:00:00Z" },
	{ "cronos.L-2_april", "* * * L-2 * *", NEXT_INCL,
	  "2016-04-01T00:00:00Z", "2016-04-28T00:00:00Z" },
	{ "cronos.L-28_skips_common_feb", "* * * L-28 * *", NEXT_INCL,
	  "2017-02-01T00:00:00Z", "2017-03-03T00:00:00Z" },
	{ "cronos.L-28_leap_feb_1st", "* * * L-28 * *", NEXT_INCL,
	  "2016-02-01T00:00:00Z", "2016-02-01T00:00:00Z" },
	{ "cronos.L-29_skips_leap_feb", "* * * L-29 * *", NEXT_INCL,
	  "2016-02-01T00:00:00Z", "2016-03-02T00:00:00Z" },
	{ "cronos.L-30_jan_1st", "* * * L-30 * *", NEXT_INCL,
	  "2016-01-01T00:00:00Z", "2016-01-01T00:00:00Z" },
	{ "cronos.L-30_skips_april", "* * * L-30 * *", NEXT_INCL,
	  "2016-04-01T00:00:00Z", "2016-05-01T00:00:00Z" },
	{ "cronos.L_2099", "* * * L * *", NEXT_INCL,
	  "2099-12-05T00:00:00Z", "2099-12-31T00:00:00Z" },
	{ "cronos.1W_saturday", "* * * 1W * *", NEXT_INCL,
	  "2017-04-01T00:00:00Z", "2017-04-03T00:00:00Z" },
	{ "cronos.7W_saturday", "* * * 7W * *", NEXT_INCL,
	  "2017-01-02T00:00:00Z", "2017-01-06T00:00:00Z" },
	{ "cronos.7W_next_month", "* * * 7W * *", NEXT_INCL,
	  "2017-01-07T00:00:00Z", "2017-02-07T00:00:00Z" },
	{ "cronos.8W_sunday", "* * * 8W * *", NEXT_INCL,
	  "2017-01-02T00:00:00Z", "2017-01-09T00:00:00Z" },
	{ "cronos.30W_last_day_sunday", "* * * 30W * *", NEXT_INCL,
	  "2017-04-27T00:00:00Z", "2017-04-28T00:00:00Z" },
	{ "cronos.30W_next_month", "* * * 30W * *", NEXT_INCL,
	  "2017-04-29T00:00:00Z", "2017-05-30T00:00:00Z" },
	{ "cronos.2W_sunday_time_passed", "0 30 10 2W * *", NEXT_INCL,
	  "2017-04-03T12:00:00Z", "2017-05-02T10:30:00Z" },
	{ "cronos.31W_skips_april", "0 30 17 31W * *", NEXT_INCL,
	  "2018-03-30T17:45:00Z", "2018-05-31T17:30:00Z" },
	{ "cronos.15W_sunday", "0 30 17 15W * *", NEXT_INCL,
	  "2016-12-30T17:45:00Z", "2017-01-16T17:30:00Z" },
	{ "cronos.LW_saturday_end", "* * * LW * *", NEXT_INCL,
	  "2017-09-01T00:00:00Z", "2017-09-29T00:00:00Z" },
	{ "cronos.LW_next_month", "* * * LW * *", NEXT_INCL,
	  "2017-04-29T00:00:00Z", "2017-05-31T00:00:00Z" },
	{ "cronos.5#3", "* * * * * 5#3", NEXT_INCL,
	  "2017-01-21T00:00:00Z", "2017-02-17T00:00:00Z" },
	{ "cronos.2#5", "* * * * * 2#5", NEXT_INCL,
	  "2017-02-01T00:00:00Z", "2017-05-30T00:00:00Z" },
	{ "cronos.0#1", "* * * * * 0#1", NEXT_INCL,
	  "2016-12-10T00:00:00Z", "2017-01-01T00:00:00Z" },
	{ "cronos.SUN#1_on_the_day", "* * * * * SUN#1", NEXT_INCL,
	  "2017-01-01T00:00:00Z", "2017-01-01T00:00:00Z" },
	{ "cronos.7L", "* * * * * 7#L", NEXT_INCL,
	  "2016-12-31T00:00:00Z", "2017-01-29T00:00:00Z" },
	{ "cronos.MONL", "* * * * * MON#L", NEXT_INCL,
	  "2017-01-01T00:00:00Z", "2017-01-30T00:00:00Z" },
	{ "cronos.3L", "* * * * * 3#L", NEXT_INCL,
	  "2017-01-01T00:00:00Z", "2017-01-25T00:00:00Z" },
	{ "cronos.dow_4-7_on_sunday", "* * * * * 4-7", NEXT_INCL,
	  "2016-12-11T00:00:00Z", "2016-12-11T00:00:00Z" },
	{ "cronos.dow_tue/2", "* * * * * tue/2", NEXT_INCL,
	  "2016-12-11T00:00:00Z", "2016-12-13T00:00:00Z" },
	{ "cronos.dow_FRI/3", "* * * * * FRI/3", NEXT_INCL,
	  "2016-12-03T00:00:00Z", "2016-12-09T00:00:00Z" },
	{ "cronos.dow_star/5", "* * * * * */5", NEXT_INCL,
	  "2016-12-10T00:00:00Z", "2016-12-11T00:00:00Z" },
	{ "cronos.dow_thu-sat", "* * * * * thu-sat", NEXT_INCL,
	  "2016-12-04T00:00:00Z", "2016-12-08T00:00:00Z" },
	{ "cronos.qmark_dom_month", "* * * ? 11 *", NEXT_INCL,
	  "2016-10-09T00:00:00Z", "2016-11-01T00:00:00Z" },
	{ "cronos.feb29", "0 0 0 29 2 *", NEXT_INCL,
	  "2016-03-10T00:00:00Z", "2020-02-29T00:00:00Z" },
	{ "cronos.31_skips_april", "0 0 0 31 * *", NEXT_INCL,
	  "2017-04-01T00:00:00Z", "2017-05-31T00:00:00Z" },
	{ "cronos.30-31_skips_leap_feb", "* * * 30-31 * *", NEXT_INCL,
	  "2016-02-27T00:00:00Z", "2016-03-30T00:00:00Z" },
	{ "cronos.dom_star/4", "* * * */4 * *", NEXT_INCL,
	  "2016-12-02T00:00:00Z", "2016-12-05T00:00:00Z" },
	{ "cronos.month_star/4", "* * * * */4 *", NEXT_INCL,
	  "2016-02-09T00:00:00Z", "2016-05-01T00:00:00Z" },
	{ "cronos.month_mixed_list", "* * * * 2-4,JUN,7,SEP-nov *",
	  NEXT_INCL, "2016-08-15T00:00:00Z", "2016-09-01T00:00:00Z" },
	{ "cronos.second_10/5", "10/5 * * * * *", NEXT_INCL,
	  "2016-12-09T17:35:12Z", "2016-12-09T17:35:15Z" },
	{ "cronos.minute_list_of_ranges", "* 5-8,19,20,35-41 * * * *",
	  NEXT_INCL, "2016-12-09T15:42:00Z", "2016-12-09T16:05:00Z" },
	{ "cronos.hour_4/5", "* * 4/5 * * *", NEXT_INCL,
	  "2016-12-09T05:00:00Z", "2016-12-09T09:00:00Z" },
	{ "cronos.minute_steps_in_list",
	  "0 57,20/20,30/20,32-34/2,58 * * * *", NEXT_INCL,
	  "2017-04-17T17:35:00Z", "2017-04-17T17:40:00Z" },
	{ "cronos.minute_steps_in_list_b",
	  "0 57,20/20,30/20,32-34/2,58 * * * *", NEXT_INCL,
	  "2017-04-17T17:51:00Z", "2017-04-17T17:57:00Z" },
	{ "cronos.27W_or_last_monday_agree", "0 30 17 27W * 1#L", NEXT_INCL,
	  "2017-03-10T17:45:00Z", "2017-03-27T17:30:00Z" },
	{ "cronos.all_fields_agree",
	  "50-56 40-50 15-20 5-10 11,12 5,6,7", NEXT_INCL,
	  "2016-12-09T21:50:56Z", "2016-12-10T15:40:50Z" },
	/*
	 * Cronos ANDs the two day fields, so it expects the next Friday the
	 * 13th (2016-05-13 and 2017-01-13). POSIX, which we follow, ORs two
	 * restricted day fields: any 13th or any Friday fires. 2016-01-01
	 * and 2016-09-02 are Fridays.
	 */
	{ "cronos.differs.friday_13th_is_or", "0 5 18 13 * 5", NEXT_INCL,
	  "2016-01-01T00:00:00Z", "2016-01-01T18:05:00Z" },
	{ "cronos.differs.friday_13th_is_or_b", "0 5 18 13 * 5", NEXT_INCL,
	  "2016-09-01T00:00:00Z", "2016-09-02T18:05:00Z" },
	/*
	 * Cronos expects 2017-11-05 (a 5th-10th that is also Fri-Sun). With
	 * OR, Friday 2016-12-16 (not in 5-10) already fires.
	 */
	{ "cronos.differs.all_fields_is_or",
	  "50-56 40-50 15-20 5-10 11,12 5,6,7", NEXT_INCL,
	  "2016-12-11T21:50:56Z", "2016-12-16T15:40:50Z" },
	/*
	 * Cronos lists these as never firing (1W is never a Sunday, LW never
	 * a Saturday, under AND). Under OR they fire on every Sunday or
	 * Saturday as well as on the W day.
	 */
	{ "cronos.differs.1W_or_sunday", "* * 1W * SUN", NEXT,
	  "2025-01-02T00:00:00Z", "2025-01-05T00:00:00Z" },
	{ "cronos.differs.LW_or_saturday", "* * LW * SAT", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z" },
	/*
	 * Cronos rejects a step wider than the field ("1/60" minutes); our
	 * contract accepts it as the start value alone.
	 */
	{ "cronos.differs.step_beyond_range", "1/60 * * * *", NEXT,
	  "2025-01-01T00:01:00Z", "2025-01-01T01:01:00Z" },
};

/*
 * HangfireIO/Cronos, tests/Cronos.Tests/CronExpressionReverseFacts.cs:
 * Cronos's previous occurrence is strictly before its start (PREV_EXCL).
 */
static const struct vec cronos_prev_vecs[] = {
	{ "cronos.prev.L-1", "0 0 L-1 * *", PREV_EXCL,
	  "2016-12-30T00:00:00Z", "2016-11-29T00:00:00Z" },
	{ "cronos.prev.SUN#1", "0 0 * * SUN#1", PREV_EXCL,
	  "2017-02-05T00:00:00Z", "2017-01-01T00:00:00Z" },
	{ "cronos.prev.L", "0 0 L * *", PREV_EXCL,
	  "2017-03-31T00:00:00Z", "2017-02-28T00:00:00Z" },
	{ "cronos.prev.1W", "0 0 1W * *", PREV_EXCL,
	  "2017-03-03T00:00:00Z", "2017-03-01T00:00:00Z" },
	{ "cronos.prev.LW", "0 0 LW * *", PREV_EXCL,
	  "2017-04-01T00:00:00Z", "2017-03-31T00:00:00Z" },
	{ "cronos.prev.6#3", "0 0 * * 6#3", PREV_EXCL,
	  "2017-03-19T00:00:00Z", "2017-03-18T00:00:00Z" },
	{ "cronos.prev.thu-sat", "0 0 * * thu-sat", PREV_EXCL,
	  "2016-12-12T00:00:00Z", "2016-12-10T00:00:00Z" },
	{ "cronos.prev.seconds_range", "10-30 * * * * *", PREV_EXCL,
	  "2017-03-22T17:35:31Z", "2017-03-22T17:35:30Z" },
	{ "cronos.prev.on_the_fire", "*/10 12-20 * DEC 3", PREV,
	  "2017-12-06T12:00:00Z", "2017-12-06T12:00:00Z" },
	/*
	 * Cronos (AND) steps back to Friday 2017-01-13. Under OR the last
	 * Friday before Friday 2017-10-13 is 2017-10-06.
	 */
	{ "cronos.prev.differs.13_or_friday", "0 0 13 * 5", PREV_EXCL,
	  "2017-10-13T00:00:00Z", "2017-10-06T00:00:00Z" },
	{ "cronos.prev.differs.13_or_friday_6f", "0 5 18 13 * 5",
	  PREV_EXCL, "2017-10-13T18:05:00Z", "2017-10-06T18:05:00Z" },
};

static const struct bad cronos_bad[] = {
	/* Cronos: unreachable, and rejected forms. */
	{ "cronos.bad.never_feb_30", "* * 30 2 *", { "never", NULL } },
	{ "cronos.bad.never_L-30_nov", "* * L-30 11 *", { "never", NULL } },
	{ "cronos.bad.never_feb_31", "* * 31 2 *", { "never", NULL } },
	{ "cronos.bad.L-31", "* * L-31 * *", { "day-of-month", "31" } },
	{ "cronos.bad.W_on_range", "* * 1-2W * *", { "day-of-month", NULL } },
	{ "cronos.bad.LW_in_second", "LW * * * * *", { "second", NULL } },
	{ "cronos.bad.hash_in_hour", "* 10#1 * * *", { "hour", NULL } },
	{ "cronos.bad.dow_name_in_dom", "* * MON * *",
	  { "day-of-month", NULL } },
	{ "cronos.bad.range_open_end", "7- * * * *", { "minute", NULL } },
	{ "cronos.bad.list_open_start", ",1 * * * *", { "minute", NULL } },
	/*
	 * Cronos reads 55-5 and sat-tue as wrapping ranges; our contract
	 * rejects every reversed range.
	 */
	{ "cronos.bad.differs.wrapping_seconds", "55-5 * * * * ?",
	  { "second", "55-5" } },
	{ "cronos.bad.differs.wrapping_days", "0 0 ? * sat-tue",
	  { "day-of-week", NULL } },
	{ "cronos.bad.differs.wrapping_months", "0 0 * 12-2 *",
	  { "month", "12-2" } },
};

/*
 * Hexagon/croner: test/pattern.test.ts, test/edge-cases.test.ts,
 * test/croner.test.ts, test/stepping.test.ts. croner's nextRun is strictly
 * after its start. Where a test gave a local-time start we restate it in
 * UTC, as those tests assume.
 */
static const struct vec croner_vecs[] = {
	{ "croner.L_feb_2022", "0 0 0 L 2 *", NEXT,
	  "2022-02-03T23:16:48.380Z", "2022-02-28T00:00:00Z" },
	{ "croner.L_feb_2024", "0 0 0 L 2 *", NEXT,
	  "2023-12-29T23:16:48.380Z", "2024-02-29T00:00:00Z" },
	{ "croner.SUN#L_feb_2024", "0 0 0 * 2 SUN#L", NEXT,
	  "2023-12-29T23:16:48.380Z", "2024-02-25T00:00:00Z" },
	{ "croner.THU#L_feb_2024", "0 0 0 * 2 THU#L", NEXT,
	  "2023-12-29T23:16:48.380Z", "2024-02-29T00:00:00Z" },
	{ "croner.FRI#L_feb_2024", "0 0 0 * 2 FRI#L", NEXT,
	  "2023-12-29T23:16:48.380Z", "2024-02-23T00:00:00Z" },
	{ "croner.15W_weekday", "0 0 0 15W 7 *", NEXT,
	  "2025-07-01T00:00:00Z", "2025-07-15T00:00:00Z" },
	{ "croner.19W_saturday", "0 0 0 19W 7 *", NEXT,
	  "2025-07-01T00:00:00Z", "2025-07-18T00:00:00Z" },
	{ "croner.20W_sunday", "0 0 0 20W 7 *", NEXT,
	  "2025-07-01T00:00:00Z", "2025-07-21T00:00:00Z" },
	{ "croner.1W_sunday_1st", "0 0 0 1W 6 *", NEXT,
	  "2025-05-01T00:00:00Z", "2025-06-02T00:00:00Z" },
	{ "croner.1W_sunday_1st_after", "0 0 1W 6 *", NEXT,
	  "2025-06-01T00:00:01Z", "2025-06-02T00:00:00Z" },
	{ "croner.31W_last_day_sunday", "0 0 0 31W 8 *", NEXT,
	  "2025-08-01T00:00:00Z", "2025-08-29T00:00:00Z" },
	{ "croner.29W_leap_years_only", "0 0 29W 2 *", NEXT,
	  "2025-02-01T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "croner.29W_2024", "0 0 29W 2 *", NEXT,
	  "2024-02-01T00:00:00Z", "2024-02-29T00:00:00Z" },
	{ "croner.15W_wednesday", "0 0 15W 1 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z" },
	{ "croner.18W_saturday", "0 0 18W 1 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-17T00:00:00Z" },
	{ "croner.19W_sunday", "0 0 19W 1 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-20T00:00:00Z" },
	{ "croner.31W_jan_friday", "0 0 31W 1 *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z" },
	{ "croner.LW_feb_2024", "0 0 LW 2 *", NEXT,
	  "2024-02-01T00:00:00Z", "2024-02-29T00:00:00Z" },
	{ "croner.LW_feb_2025", "0 0 LW 2 *", NEXT,
	  "2025-02-01T00:00:00Z", "2025-02-28T00:00:00Z" },
	{ "croner.LW_may_saturday", "0 0 LW 5 *", NEXT,
	  "2025-05-01T00:00:00Z", "2025-05-30T00:00:00Z" },
	{ "croner.LW_aug_sunday", "0 0 LW 8 *", NEXT,
	  "2025-08-01T00:00:00Z", "2025-08-29T00:00:00Z" },
	{ "croner.L_lower_case", "0 0 l * *", NEXT,
	  "2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z" },
	/*
	 * croner, with its domAndDow option, finds no Feb 30 that is a
	 * Saturday and returns null. Our OR (croner's own default) fires on
	 * the first Saturday of February 2022.
	 */
	{ "croner.differs.feb30_or_saturday", "0 0 0 30 2 6", NEXT,
	  "2021-10-12T22:00:00Z", "2022-02-05T00:00:00Z" },
	/*
	 * croner rejects "5/5" (it only allows "* /n" and "a-b/n") and steps
	 * wider than the field; our contract accepts both.
	 */
	{ "croner.differs.start_step_accepted", "* 5/5 * * * *", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z" },
	{ "croner.differs.step_61_is_minute_0", "* */61 * * * *", NEXT,
	  "2025-01-01T00:00:59Z", "2025-01-01T01:00:00Z" },
};

static const struct chain croner_chains[] = {
	{ "croner.chain.15_or_L", "0 0 0 15,L * *", NEXT,
	  "2022-01-01T00:00:00Z",
	  { "2022-01-15T00:00:00Z", "2022-01-31T00:00:00Z",
	    "2022-02-15T00:00:00Z", "2022-02-28T00:00:00Z" } },
	/* croner writes "SAT-SUN#L,SUN#1"; we spell the range out. */
	{ "croner.chain.last_weekend_first_sunday",
	  "0 0 0 * * SAT#L,SUN#L,SUN#1", NEXT, "2023-08-08T23:16:19.072Z",
	  { "2023-08-26T00:00:00Z", "2023-08-27T00:00:00Z",
	    "2023-09-03T00:00:00Z", "2023-09-24T00:00:00Z",
	    "2023-09-30T00:00:00Z" } },
	/* croner writes "SUN-MON#3,MON-TUE#1". */
	{ "croner.chain.third_and_first", "0 0 0 * * SUN#3,MON#3,MON#1,TUE#1",
	  NEXT, "2023-08-08T23:16:19.072Z",
	  { "2023-08-20T00:00:00Z", "2023-08-21T00:00:00Z",
	    "2023-09-04T00:00:00Z", "2023-09-05T00:00:00Z" } },
	{ "croner.chain.LW_2025", "0 0 LW * *", NEXT, "2025-01-01T00:00:00Z",
	  { "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z",
	    "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z",
	    "2025-05-30T00:00:00Z", "2025-06-30T00:00:00Z",
	    "2025-07-31T00:00:00Z", "2025-08-29T00:00:00Z",
	    "2025-09-30T00:00:00Z", "2025-10-31T00:00:00Z",
	    "2025-11-28T00:00:00Z", "2025-12-31T00:00:00Z" } },
	/* croner writes "MONL,FRIL". */
	{ "croner.chain.last_monday_friday", "0 0 * * MON#L,FRI#L", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-27T00:00:00Z", "2025-01-31T00:00:00Z" } },
	{ "croner.chain.hours_star/3", "1 1 */3 * * *", NEXT,
	  "2020-01-01T00:00:00Z",
	  { "2020-01-01T00:01:01Z", "2020-01-01T03:01:01Z",
	    "2020-01-01T06:01:01Z", "2020-01-01T09:01:01Z",
	    "2020-01-01T12:01:01Z", "2020-01-01T15:01:01Z",
	    "2020-01-01T18:01:01Z", "2020-01-01T21:01:01Z",
	    "2020-01-02T00:01:01Z", "2020-01-02T03:01:01Z" } },
	{ "croner.chain.hours_list_on_saturday", "1 1 3-8/2,1,10 * * sat",
	  NEXT, "2020-01-01T00:00:00Z",
	  { "2020-01-04T01:01:01Z", "2020-01-04T03:01:01Z",
	    "2020-01-04T05:01:01Z", "2020-01-04T07:01:01Z",
	    "2020-01-04T10:01:01Z", "2020-01-11T01:01:01Z" } },
	{ "croner.chain.months_star/3", "1 1 1 */3 *", NEXT,
	  "2020-12-31T23:59:59Z",
	  { "2021-01-01T01:01:00Z", "2021-04-01T01:01:00Z",
	    "2021-07-01T01:01:00Z", "2021-10-01T01:01:00Z",
	    "2022-01-01T01:01:00Z" } },
	/*
	 * test/previous-runs.test.ts: croner's previousRuns is strictly
	 * before its reference.
	 */
	{ "croner.chain.prev_2nd_monday", "0 0 * * 1#2", PREV_EXCL,
	  "2024-02-20T12:00:00Z",
	  { "2024-02-12T00:00:00Z", "2024-01-08T00:00:00Z",
	    "2023-12-11T00:00:00Z" } },
	{ "croner.chain.prev_last_friday", "0 0 * * 5#L", PREV_EXCL,
	  "2024-03-01T12:00:00Z",
	  { "2024-02-23T00:00:00Z", "2024-01-26T00:00:00Z",
	    "2023-12-29T00:00:00Z" } },
	{ "croner.chain.prev_L", "0 0 L * *", PREV_EXCL,
	  "2024-03-15T12:00:00Z",
	  { "2024-02-29T00:00:00Z", "2024-01-31T00:00:00Z",
	    "2023-12-31T00:00:00Z" } },
	{ "croner.chain.prev_1_and_15", "0 12 1,15 * *", PREV_EXCL,
	  "2024-02-20T15:00:00Z",
	  { "2024-02-15T12:00:00Z", "2024-02-01T12:00:00Z",
	    "2024-01-15T12:00:00Z", "2024-01-01T12:00:00Z" } },
	{ "croner.chain.prev_dec_31", "0 0 31 12 *", PREV_EXCL,
	  "2024-01-15T12:00:00Z",
	  { "2023-12-31T00:00:00Z", "2022-12-31T00:00:00Z",
	    "2021-12-31T00:00:00Z" } },
	{ "croner.chain.prev_monday_10", "0 10 * * 1", PREV_EXCL,
	  "2024-01-10T15:00:00Z",
	  { "2024-01-08T10:00:00Z", "2024-01-01T10:00:00Z",
	    "2023-12-25T10:00:00Z" } },
	{ "croner.chain.prev_star/5", "*/5 * * * *", PREV_EXCL,
	  "2024-01-01T12:30:00Z",
	  { "2024-01-01T12:25:00Z", "2024-01-01T12:20:00Z",
	    "2024-01-01T12:15:00Z", "2024-01-01T12:10:00Z" } },
};

/*
 * Hexagon/croner: test/croner.test.ts, test/stepping.test.ts,
 * test/pattern.test.ts, test/impossible-patterns.test.ts and
 * test/edge-cases.test.ts.
 */
static const struct bad croner_bad[] = {
	{ "croner.bad.dom_32", "* * * 32 * *", { "day-of-month", "32" } },
	{ "croner.bad.dom_0", "* * * 0 * *", { "day-of-month", "0" } },
	{ "croner.bad.month_13", "* * * * 7-13 *", { "month", "13" } },
	{ "croner.bad.month_0", "* * * * 0-3 *", { "month", "0" } },
	{ "croner.bad.dow_8", "* * * * * 8", { "day-of-week", "8" } },
	{ "croner.bad.dow_negative", "* * * * * -1",
	  { "day-of-week", NULL } },
	{ "croner.bad.hour_24_in_list", "* * 0,23,24 * * *",
	  { "hour", "24" } },
	{ "croner.bad.range_end_70", "* 10-70/5 * * * *",
	  { "minute", "70" } },
	{ "croner.bad.reversed_stepped", "* 50-40/5 * * * *",
	  { "minute", "50-40" } },
	{ "croner.bad.step0", "* */0 * * * *", { "minute", "0" } },
	{ "croner.bad.range_step0", "* 10-20/0 * * * *", { "minute", "0" } },
	{ "croner.bad.step_missing", "* */ * * * *", { "minute", NULL } },
	{ "croner.bad.step_letter", "* */a * * * *", { "minute", NULL } },
	{ "croner.bad.step_star", "* 5/* * * * *", { "minute", NULL } },
	{ "croner.bad.step_twice", "* */5/5 * * * *", { "minute", NULL } },
	{ "croner.bad.W_in_minute", "0 15W * * * *", { "minute", NULL } },
	{ "croner.bad.W_in_dow", "0 0 * * * 2W", { "day-of-week", NULL } },
	{ "croner.bad.W_in_range", "0 0 0 15W-20 * *",
	  { "day-of-month", NULL } },
	{ "croner.bad.unknown_macro", "@wekly", { "wekly", NULL } },
	/* croner returns null from nextRun for these; we refuse them. */
	{ "croner.bad.never_feb_31", "0 0 31 2 *", { "never", NULL } },
	{ "croner.bad.never_apr_31", "0 0 31 4 *", { "never", NULL } },
	{ "croner.bad.never_31W_april", "0 0 31W 4 *", { "never", NULL } },
	{ "croner.bad.never_30W_feb", "0 0 30W 2 *", { "never", NULL } },
};

/*
 * harrisiirak/cron-parser, tests/CronExpressionParser.test.ts and
 * tests/CronExpression.test.ts. next() is strictly after the current
 * date, prev() strictly before it (PREV_EXCL). cron-parser ORs two
 * restricted day fields, as we do.
 */
static const struct vec cronparser_vecs[] = {
	/* cron-parser writes "1L" .. "7L"; 2021-09-30 is a Thursday. */
	{ "cronparser.last_mon", "0 0 0 * * 1#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-27T00:00:00Z" },
	{ "cronparser.last_tue", "0 0 0 * * 2#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-28T00:00:00Z" },
	{ "cronparser.last_wed", "0 0 0 * * 3#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-29T00:00:00Z" },
	{ "cronparser.last_thu", "0 0 0 * * 4#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-30T00:00:00Z" },
	{ "cronparser.last_fri", "0 0 0 * * 5#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-24T00:00:00Z" },
	{ "cronparser.last_sat", "0 0 0 * * 6#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-25T00:00:00Z" },
	{ "cronparser.last_sun_0", "0 0 0 * * 0#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-26T00:00:00Z" },
	{ "cronparser.last_sun_7", "0 0 0 * * 7#L", NEXT,
	  "2021-09-01T00:00:00Z", "2021-09-26T00:00:00Z" },
	{ "cronparser.on_schedule_is_exclusive", "0 0 9 * * *", NEXT,
	  "2023-01-01T09:00:00Z", "2023-01-02T09:00:00Z" },
	{ "cronparser.prev_on_schedule_exclusive", "0 0 9 * * *",
	  PREV_EXCL, "2023-01-01T09:00:00Z", "2022-12-31T09:00:00Z" },
	/* Our prev() includes its instant; cron-parser's excludes it. */
	{ "cronparser.prev_on_schedule_inclusive", "0 0 9 * * *", PREV,
	  "2023-01-01T09:00:00Z", "2023-01-01T09:00:00Z" },
	{ "cronparser.prev_seconds_with_ms", "*/5 * * * * *", PREV_EXCL,
	  "2017-06-13T18:21:25.002Z", "2017-06-13T18:21:25Z" },
	/* A restricted weekday rescues a Feb 31: OR fires on weekdays. */
	{ "cronparser.feb31_or_weekdays", "0 0 31 2 1-5", NEXT,
	  "2025-01-01T00:00:00Z", "2025-02-03T00:00:00Z" },
	/*
	 * cron-parser rejects "0,7" as a duplicate Sunday; our contract has
	 * no duplicate rule, and both spellings mean Sunday.
	 */
	{ "cronparser.differs.sunday_twice", "0 0 * * 0,7", NEXT,
	  "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
};

static const struct chain cronparser_chains[] = {
	{ "cronparser.chain.june_star/5", "0 12 */5 6 *", NEXT,
	  "2019-06-01T11:00:00Z",
	  { "2019-06-01T12:00:00Z", "2019-06-06T12:00:00Z",
	    "2019-06-11T12:00:00Z", "2019-06-16T12:00:00Z",
	    "2019-06-21T12:00:00Z", "2019-06-26T12:00:00Z",
	    "2020-06-01T12:00:00Z" } },
	{ "cronparser.chain.may_star/5", "0 15 */5 5 *", NEXT,
	  "2019-05-01T11:00:00Z",
	  { "2019-05-01T15:00:00Z", "2019-05-06T15:00:00Z",
	    "2019-05-11T15:00:00Z", "2019-05-16T15:00:00Z",
	    "2019-05-21T15:00:00Z", "2019-05-26T15:00:00Z",
	    "2019-05-31T15:00:00Z", "2020-05-01T15:00:00Z" } },
	{ "cronparser.chain.8th_or_3rd_friday", "0 0 0 8 * 5#3", NEXT,
	  "2024-01-01T00:00:00Z",
	  { "2024-01-08T00:00:00Z", "2024-01-19T00:00:00Z",
	    "2024-02-08T00:00:00Z", "2024-02-16T00:00:00Z",
	    "2024-03-08T00:00:00Z", "2024-03-15T00:00:00Z" } },
	{ "cronparser.chain.qmark_wednesdays", "10 2 ? * 3", NEXT,
	  "2023-04-29T00:00:00Z",
	  { "2023-05-03T02:10:00Z", "2023-05-10T02:10:00Z",
	    "2023-05-17T02:10:00Z", "2023-05-24T02:10:00Z",
	    "2023-05-31T02:10:00Z", "2023-06-07T02:10:00Z",
	    "2023-06-14T02:10:00Z", "2023-06-21T02:10:00Z",
	    "2023-06-28T02:10:00Z", "2023-07-05T02:10:00Z" } },
	{ "cronparser.chain.12th_or_weekend_6-7", "10 2 12 8 6-7", NEXT,
	  "2012-12-26T14:38:53Z",
	  { "2013-08-03T02:10:00Z", "2013-08-04T02:10:00Z",
	    "2013-08-10T02:10:00Z", "2013-08-11T02:10:00Z",
	    "2013-08-12T02:10:00Z", "2013-08-17T02:10:00Z",
	    "2013-08-18T02:10:00Z", "2013-08-24T02:10:00Z",
	    "2013-08-25T02:10:00Z", "2013-08-31T02:10:00Z",
	    "2014-08-02T02:10:00Z", "2014-08-03T02:10:00Z",
	    "2014-08-09T02:10:00Z", "2014-08-10T02:10:00Z",
	    "2014-08-12T02:10:00Z" } },
	{ "cronparser.chain.june_tuesdays", "0 0 * 6 2", NEXT,
	  "2021-05-31T12:00:00Z",
	  { "2021-06-01T00:00:00Z", "2021-06-08T00:00:00Z",
	    "2021-06-15T00:00:00Z", "2021-06-22T00:00:00Z",
	    "2021-06-29T00:00:00Z" } },
	{ "cronparser.chain.dom_two_ranges", "0 0 0 2-4,7-31 * *", NEXT,
	  "2012-12-01T14:38:53Z",
	  { "2012-12-02T00:00:00Z", "2012-12-03T00:00:00Z",
	    "2012-12-04T00:00:00Z", "2012-12-07T00:00:00Z",
	    "2012-12-08T00:00:00Z" } },
	{ "cronparser.chain.weekend_6,7", "30 16 * * 6,7", NEXT,
	  "2012-12-26T14:38:53Z",
	  { "2012-12-29T16:30:00Z", "2012-12-30T16:30:00Z",
	    "2013-01-05T16:30:00Z" } },
	{ "cronparser.chain.weekend_7,6", "30 16 * * 7,6", NEXT,
	  "2012-12-26T14:38:53Z",
	  { "2012-12-29T16:30:00Z", "2012-12-30T16:30:00Z",
	    "2013-01-05T16:30:00Z" } },
	{ "cronparser.chain.first_sunday", "0 0 0 ? * 0#1", NEXT,
	  "2019-04-30T00:00:00Z",
	  { "2019-05-05T00:00:00Z", "2019-06-02T00:00:00Z",
	    "2019-07-07T00:00:00Z", "2019-08-04T00:00:00Z" } },
	{ "cronparser.chain.fourth_sunday", "0 0 0 ? * 0#4", NEXT,
	  "2019-04-30T00:00:00Z",
	  { "2019-05-26T00:00:00Z", "2019-06-23T00:00:00Z",
	    "2019-07-28T00:00:00Z", "2019-08-25T00:00:00Z" } },
	{ "cronparser.chain.fifth_sunday", "0 0 0 ? * 0#5", NEXT,
	  "2019-04-30T00:00:00Z",
	  { "2019-06-30T00:00:00Z", "2019-09-29T00:00:00Z",
	    "2019-12-29T00:00:00Z", "2020-03-29T00:00:00Z" } },
	{ "cronparser.chain.mothers_day", "0 0 0 ? MAY 0#2", NEXT,
	  "2023-05-06T00:00:00Z",
	  { "2023-05-14T00:00:00Z", "2024-05-12T00:00:00Z",
	    "2025-05-11T00:00:00Z", "2026-05-10T00:00:00Z",
	    "2027-05-09T00:00:00Z", "2028-05-14T00:00:00Z" } },
	{ "cronparser.chain.16_18_or_3rd_wed", "0 0 0 16,18 * 3#3", NEXT,
	  "2019-04-01T00:00:00Z",
	  { "2019-04-16T00:00:00Z", "2019-04-17T00:00:00Z",
	    "2019-04-18T00:00:00Z", "2019-05-15T00:00:00Z",
	    "2019-05-16T00:00:00Z", "2019-05-18T00:00:00Z" } },
	/* "1-31" is restricted, so OR with Monday: every day. */
	{ "cronparser.chain.1-31_or_monday", "0 12 1-31 * 1", NEXT,
	  "2022-10-30T14:00:00Z",
	  { "2022-10-31T12:00:00Z", "2022-11-01T12:00:00Z",
	    "2022-11-02T12:00:00Z", "2022-11-03T12:00:00Z",
	    "2022-11-04T12:00:00Z", "2022-11-05T12:00:00Z",
	    "2022-11-06T12:00:00Z", "2022-11-07T12:00:00Z" } },
	{ "cronparser.chain.minute_6/23", "6/23 * * * *", NEXT,
	  "2012-12-26T14:38:53Z",
	  { "2012-12-26T14:52:00Z", "2012-12-26T15:06:00Z",
	    "2012-12-26T15:29:00Z", "2012-12-26T15:52:00Z" } },
	{ "cronparser.chain.second_0/30", "0/30 * * * * ?", NEXT,
	  "2012-12-26T14:38:53Z",
	  { "2012-12-26T14:39:00Z", "2012-12-26T14:39:30Z",
	    "2012-12-26T14:40:00Z" } },
	{ "cronparser.chain.second_1/2", "1/2 * * * * ?", NEXT,
	  "2012-12-26T14:38:00Z",
	  { "2012-12-26T14:38:01Z", "2012-12-26T14:38:03Z",
	    "2012-12-26T14:38:05Z" } },
	{ "cronparser.chain.second_20-40/10", "20-40/10 * * * * *", NEXT,
	  "2012-12-26T14:38:00Z",
	  { "2012-12-26T14:38:20Z", "2012-12-26T14:38:30Z",
	    "2012-12-26T14:38:40Z", "2012-12-26T14:39:20Z" } },
	{ "cronparser.chain.minute_star/20", "*/20 * * * *", NEXT,
	  "2012-12-26T14:38:53Z",
	  { "2012-12-26T14:40:00Z", "2012-12-26T15:00:00Z",
	    "2012-12-26T15:20:00Z", "2012-12-26T15:40:00Z",
	    "2012-12-26T16:00:00Z" } },
	/* Day-of-week steps: "2-7/2" is Tue,Thu,Sat; "6/1" Sat,Sun. */
	{ "cronparser.chain.dow_2-7/2", "0 0 * * 2-7/2", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-02T00:00:00Z", "2025-01-04T00:00:00Z",
	    "2025-01-07T00:00:00Z" } },
	{ "cronparser.chain.dow_6/1", "0 0 * * 6/1", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z",
	    "2025-01-11T00:00:00Z" } },
	{ "cronparser.chain.dow_1/2", "0 0 * * 1/2", NEXT,
	  "2025-01-01T00:00:00Z",
	  { "2025-01-03T00:00:00Z", "2025-01-05T00:00:00Z",
	    "2025-01-06T00:00:00Z", "2025-01-08T00:00:00Z" } },
	{ "cronparser.chain.L_2014", "0 0 L * *", NEXT,
	  "2014-01-01T00:00:00Z",
	  { "2014-01-31T00:00:00Z", "2014-02-28T00:00:00Z",
	    "2014-03-31T00:00:00Z", "2014-04-30T00:00:00Z",
	    "2014-05-31T00:00:00Z", "2014-06-30T00:00:00Z",
	    "2014-07-31T00:00:00Z", "2014-08-31T00:00:00Z",
	    "2014-09-30T00:00:00Z", "2014-10-31T00:00:00Z" } },
	{ "cronparser.chain.L_feb", "0 0 L 2 *", NEXT,
	  "2014-01-01T00:00:00Z",
	  { "2014-02-28T00:00:00Z", "2015-02-28T00:00:00Z",
	    "2016-02-29T00:00:00Z" } },
	{ "cronparser.chain.L_in_list_feb", "0 0 1,3,6-8,L 2 *", NEXT,
	  "2014-01-01T00:00:00Z",
	  { "2014-02-01T00:00:00Z", "2014-02-03T00:00:00Z",
	    "2014-02-06T00:00:00Z", "2014-02-07T00:00:00Z",
	    "2014-02-08T00:00:00Z", "2014-02-28T00:00:00Z" } },
	/* cron-parser writes "1L,5L" and "1,5L". */
	{ "cronparser.chain.last_mon_fri", "0 0 0 * * MON#L,FRI#L", NEXT,
	  "2021-09-01T00:00:00Z",
	  { "2021-09-24T00:00:00Z", "2021-09-27T00:00:00Z" } },
	{ "cronparser.chain.mondays_last_friday", "0 0 0 * * 1,5#L", NEXT,
	  "2021-09-01T00:00:00Z",
	  { "2021-09-06T00:00:00Z", "2021-09-13T00:00:00Z",
	    "2021-09-20T00:00:00Z", "2021-09-24T00:00:00Z",
	    "2021-09-27T00:00:00Z" } },
	{ "cronparser.chain.prev_2359", "59 59 23 * * *", PREV_EXCL,
	  "2012-12-26T14:38:53Z",
	  { "2012-12-25T23:59:59Z", "2012-12-24T23:59:59Z",
	    "2012-12-23T23:59:59Z", "2012-12-22T23:59:59Z" } },
};

/* harrisiirak/cron-parser, tests/CronExpressionParser.test.ts. */
static const struct bad cronparser_bad[] = {
	{ "cronparser.bad.second_61", "61 * * * * *", { "second", "61" } },
	{ "cronparser.bad.second_negative", "-1 * * * * *",
	  { "second", NULL } },
	{ "cronparser.bad.reversed_seconds", "30-20 * * * * *",
	  { "second", "30-20" } },
	{ "cronparser.bad.minute_72_in_list", "* 32,72 * * * *",
	  { "minute", "72" } },
	{ "cronparser.bad.hour_range_to_36", "* * 12-36 * * *",
	  { "hour", "36" } },
	{ "cronparser.bad.dom_40_in_list", "* * * 10-15,40 * *",
	  { "day-of-month", "40" } },
	{ "cronparser.bad.month_range_to_13", "* * * * */10,12-13 *",
	  { "month", "13" } },
	{ "cronparser.bad.dow_9", "* * * * * 9", { "day-of-week", "9" } },
	{ "cronparser.bad.fields_8", "* * * * * * * *ASD",
	  { "fields", "8" } },
	{ "cronparser.bad.bang", "10 ! 12 8 0", { "hour", "!" } },
	{ "cronparser.bad.letter", "10 x 12 8 0", { "hour", "x" } },
	{ "cronparser.bad.paren", "10 ) 12 8 0", { "hour", ")" } },
	{ "cronparser.bad.step_letter", "10 */A 12 8 0", { "hour", NULL } },
	{ "cronparser.bad.range_letter", "10 0-z 12 8 0", { "hour", NULL } },
	{ "cronparser.bad.list_letter", "10 0,1,z 12 8 0", { "hour", NULL } },
	{ "cronparser.bad.step0", "0 */0 * * *", { "hour", "0" } },
	{ "cronparser.bad.step_negative", "0 */-5 * * *", { "hour", NULL } },
	{ "cronparser.bad.step_twice", "0 5/5/5 * * *", { "hour", NULL } },
	{ "cronparser.bad.unknown_alias", "15 10 * * MON-TUR",
	  { "day-of-week", "TUR" } },
	{ "cronparser.bad.list_empty", "*/10 * * * * ,",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.list_open_start", "*/10 * * * * ,2",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.nth_empty", "0 0 0 ? * 1#",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.nth_0", "0 0 0 ? * 1#0", { "day-of-week", "0" } },
	{ "cronparser.bad.nth_6", "0 0 0 ? * 4#6", { "day-of-week", "6" } },
	{ "cronparser.bad.nth_double_hash", "0 0 0 ? * 0##4",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.nth_decimal", "0 0 0 ? * 1.2#2",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.L_alone_in_dow", "0 0 0 * * L",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.L_alone_in_dow_list", "0 0 0 * * 1,L",
	  { "day-of-week", NULL } },
	{ "cronparser.bad.never_apr_31", "0 0 31 4 *", { "never", NULL } },
	/* cron-parser pads 4 fields to 6; our contract wants 5 or 6. */
	{ "cronparser.bad.differs.fields_4", "20 15 * *", { "fields", "4" } },
};

/*
 * robfig/cron, spec_test.go. robfig's Next is strictly after its start.
 * Its activation tests ("does spec fire at T?") are restated as next()
 * from one second before T; where robfig says "no", the row holds the
 * fire that does come next.
 *
 * robfig ANDs the day fields when either is "*" or "?", and ORs them
 * otherwise; unlike Vixie cron it treats "* /n" with n > 1 as restricted,
 * so its "* /10 * Sun" row agrees with our OR reading.
 */
static const struct vec robfig_vecs[] = {
	{ "robfig.act.0/15", "0/15 * * * *", NEXT,
	  "2012-07-09T15:44:59Z", "2012-07-09T15:45:00Z" },
	{ "robfig.inact.0/15", "0/15 * * * *", NEXT,
	  "2012-07-09T15:39:59Z", "2012-07-09T15:45:00Z" },
	{ "robfig.act.5/15", "5/15 * * * *", NEXT,
	  "2012-07-09T15:49:59Z", "2012-07-09T15:50:00Z" },
	{ "robfig.act.named_month", "0/15 * * Jul *", NEXT,
	  "2012-07-15T14:59:59Z", "2012-07-15T15:00:00Z" },
	{ "robfig.inact.named_month", "0/15 * * Jun *", NEXT,
	  "2012-07-15T14:59:59Z", "2013-06-01T00:00:00Z" },
	{ "robfig.act.qmark_dom", "30 8 ? Jul Sun", NEXT,
	  "2012-07-15T08:29:59Z", "2012-07-15T08:30:00Z" },
	{ "robfig.inact.qmark_dom", "30 8 ? Jul Sun", NEXT,
	  "2012-07-16T08:29:59Z", "2012-07-22T08:30:00Z" },
	{ "robfig.act.qmark_dow", "30 8 15 Jul ?", NEXT,
	  "2012-07-15T08:29:59Z", "2012-07-15T08:30:00Z" },
	{ "robfig.inact.qmark_dow", "30 8 15 Jul ?", NEXT,
	  "2012-07-16T08:29:59Z", "2013-07-15T08:30:00Z" },
	{ "robfig.act.hourly", "@hourly", NEXT,
	  "2012-07-09T14:59:59Z", "2012-07-09T15:00:00Z" },
	{ "robfig.act.daily", "@daily", NEXT,
	  "2012-07-08T23:59:59Z", "2012-07-09T00:00:00Z" },
	{ "robfig.act.weekly", "@weekly", NEXT,
	  "2012-07-07T23:59:59Z", "2012-07-08T00:00:00Z" },
	{ "robfig.inact.weekly_monday", "@weekly", NEXT,
	  "2012-07-08T23:59:59Z", "2012-07-15T00:00:00Z" },
	{ "robfig.act.monthly", "@monthly", NEXT,
	  "2012-06-30T23:59:59Z", "2012-07-01T00:00:00Z" },
	{ "robfig.or.sunday", "* * 1,15 * Sun", NEXT,
	  "2012-07-14T23:59:59Z", "2012-07-15T00:00:00Z" },
	{ "robfig.or.15th_friday", "* * 1,15 * Sun", NEXT,
	  "2012-06-14T23:59:59Z", "2012-06-15T00:00:00Z" },
	{ "robfig.or.1st_wednesday", "* * 1,15 * Sun", NEXT,
	  "2012-07-31T23:59:59Z", "2012-08-01T00:00:00Z" },
	{ "robfig.or.step_dom_sunday", "* * */10 * Sun", NEXT,
	  "2012-07-14T23:59:59Z", "2012-07-15T00:00:00Z" },
	{ "robfig.and.star_dom_monday", "* * * * Mon", NEXT,
	  "2012-07-14T23:59:59Z", "2012-07-16T00:00:00Z" },
	{ "robfig.and.star_dow", "* * 1,15 * *", NEXT,
	  "2012-07-08T23:59:59Z", "2012-07-15T00:00:00Z" },
	{ "robfig.step_dom_sunday_either", "* * */2 * Sun", NEXT,
	  "2012-07-14T23:59:59Z", "2012-07-15T00:00:00Z" },

	/* TestNext: six fields. */
	{ "robfig.next.0/15", "0 0/15 * * * *", NEXT,
	  "2012-07-09T14:45:00Z", "2012-07-09T15:00:00Z" },
	{ "robfig.next.0/15_late", "0 0/15 * * * *", NEXT,
	  "2012-07-09T14:59:59Z", "2012-07-09T15:00:00Z" },
	{ "robfig.next.wrap_hour", "0 20-35/15 * * * *", NEXT,
	  "2012-07-09T15:45:00Z", "2012-07-09T16:20:00Z" },
	{ "robfig.next.wrap_day", "0 */15 * * * *", NEXT,
	  "2012-07-09T23:46:00Z", "2012-07-10T00:00:00Z" },
	{ "robfig.next.wrap_day_range", "0 20-35/15 * * * *", NEXT,
	  "2012-07-09T23:45:00Z", "2012-07-10T00:20:00Z" },
	{ "robfig.next.seconds_15/35", "15/35 20-35/15 * * * *", NEXT,
	  "2012-07-09T23:35:51Z", "2012-07-10T00:20:15Z" },
	{ "robfig.next.hours_1/2", "15/35 20-35/15 1/2 * * *", NEXT,
	  "2012-07-09T23:35:51Z", "2012-07-10T01:20:15Z" },
	{ "robfig.next.hours_10-12", "15/35 20-35/15 10-12 * * *", NEXT,
	  "2012-07-09T23:35:51Z", "2012-07-10T10:20:15Z" },
	{ "robfig.next.dom_star/2", "15/35 20-35/15 1/2 */2 * *", NEXT,
	  "2012-07-09T23:35:51Z", "2012-07-11T01:20:15Z" },
	{ "robfig.next.dom_9-20", "15/35 20-35/15 * 9-20 * *", NEXT,
	  "2012-07-09T23:35:51Z", "2012-07-10T00:20:15Z" },
	{ "robfig.next.dom_9-20_jul", "15/35 20-35/15 * 9-20 Jul *", NEXT,
	  "2012-07-09T23:35:51Z", "2012-07-10T00:20:15Z" },
	{ "robfig.next.wrap_month", "0 0 0 9 Apr-Oct ?", NEXT,
	  "2012-07-09T23:35:00Z", "2012-08-09T00:00:00Z" },
	{ "robfig.next.step_dom_or_monday", "0 0 0 */5 Apr,Aug,Oct Mon",
	  NEXT, "2012-07-09T23:35:00Z", "2012-08-01T00:00:00Z" },
	{ "robfig.next.step_dom_or_monday_oct", "0 0 0 */5 Oct Mon", NEXT,
	  "2012-07-09T23:35:00Z", "2012-10-01T00:00:00Z" },
	{ "robfig.next.wrap_year", "0 0 0 * Feb Mon", NEXT,
	  "2012-07-09T23:35:00Z", "2013-02-04T00:00:00Z" },
	/*
	 * robfig's Mon/2 stops at Saturday (1,3,5); ours runs to 7 (Mon,
	 * Wed, Fri, Sun). Friday 2013-02-01 answers both.
	 */
	{ "robfig.next.dow_Mon/2", "0 0 0 * Feb Mon/2", NEXT,
	  "2012-07-09T23:35:00Z", "2013-02-01T00:00:00Z" },
	{ "robfig.next.wrap_everything", "0 * * * * *", NEXT,
	  "2012-12-31T23:59:45Z", "2013-01-01T00:00:00Z" },
	{ "robfig.next.leap", "0 0 0 29 Feb ?", NEXT,
	  "2012-07-09T23:35:00Z", "2016-02-29T00:00:00Z" },

	/*
	 * constantdelay_test.go: robfig's "@every" counts from the start
	 * instant (15:14, 16:20); ours fires on the epoch-aligned grid, so
	 * a schedule's fires do not depend on when it was asked.
	 */
	{ "robfig.differs.every_15m", "@every 15m", NEXT,
	  "2012-07-09T14:59:00Z", "2012-07-09T15:00:00Z" },
	{ "robfig.differs.every_35m", "@every 35m", NEXT,
	  "2012-07-09T15:45:00Z", "2012-07-09T16:00:00Z" },
	{ "robfig.every_15s_agrees", "@every 15s", NEXT,
	  "2012-12-31T23:59:45Z", "2013-01-01T00:00:00Z" },
};

/* robfig/cron: spec_test.go and parser_test.go. */
static const struct bad robfig_bad[] = {
	{ "robfig.bad.xyz", "xyz", { "fields", "1" } },
	{ "robfig.bad.minute_60", "60 0 * * *", { "minute", "60" } },
	{ "robfig.bad.hour_60", "0 60 * * *", { "hour", "60" } },
	{ "robfig.bad.dow_XYZ", "0 0 * * XYZ", { "day-of-week", "XYZ" } },
	{ "robfig.bad.hour_j", "* 5 j * * *", { "hour", "j" } },
	{ "robfig.bad.every_Xm", "@every Xm", { NULL, NULL } },
	{ "robfig.bad.unrecognized", "@unrecognized",
	  { "unrecognized", NULL } },
	{ "robfig.bad.fields_4", "* * * *", { "fields", "4" } },
	{ "robfig.bad.empty", "", { NULL, NULL } },
	{ "robfig.bad.slash0", "15/0 * * * *", { "minute", "0" } },
	{ "robfig.bad.two_dashes", "5--5 * * * *", { "minute", NULL } },
	{ "robfig.bad.two_slashes", "*//2 * * * *", { "minute", NULL } },
	{ "robfig.bad.reversed", "0 0 * * 5-3", { "day-of-week", "5-3" } },
	{ "robfig.bad.month_name_junk", "0 0 1 jan-x *", { "month", NULL } },
	{ "robfig.bad.never_feb_30", "0 0 0 30 Feb ?", { "never", NULL } },
	{ "robfig.bad.never_apr_31", "0 0 0 31 Apr ?", { "never", NULL } },
};

/* Helpers. */

static int64_t
instant(const char *s)
{
	int64_t ms = 0;

	if (cf_rfc3339_parse(s, &ms) != 0)
		fail_msg("table holds a bad instant: \"%s\"", s);
	return ms;
}

static const char *
show(int64_t ms, char *buf, size_t len)
{
	if (cf_rfc3339_format(buf, len, ms, 0, 1) < 0)
		snprintf(buf, len, "%lld ms", (long long) ms);
	return buf;
}

/*
 * The schedule under test. A failed assertion jumps out of the test, so
 * the schedule is freed by the teardown rather than by the test itself.
 */
static cf_cron *live_cron;

static int
teardown_cron(void **state)
{
	(void) state;
	cf_cron_free(live_cron);
	live_cron = NULL;
	return 0;
}

static cf_cron *
cron_compile_opts(const char *expr, const cf_cron_opts *opts)
{
	char err[CF_CRON_ERRLEN];
	int rc;

	teardown_cron(NULL);
	err[0] = '\0';
	rc = cf_cron_parse(&live_cron, expr, opts, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse \"%s\": rc %d: %s", expr, rc, err);
	assert_non_null(live_cron);
	return live_cron;
}

static cf_cron *
cron_compile(const char *expr)
{
	return cron_compile_opts(expr, NULL);
}

/* One query as the row's direction asks; fire and flags out. */
static int
cron_query(const cf_cron *c, enum dir d, int64_t at, int64_t *fire,
    unsigned *flags)
{
	switch (d) {
	case NEXT:
		return cf_cron_next(c, at, fire, flags);
	case NEXT_INCL:
		return cf_cron_next(c, at - 1, fire, flags);
	case PREV:
		return cf_cron_prev(c, at, fire, flags);
	case PREV_EXCL:
		return cf_cron_prev(c, at - 1, fire, flags);
	}
	fail_msg("bad direction %d", (int) d);
	return -1;
}

static const char *
dir_name(enum dir d)
{
	static const char *const names[] = { "next", "next-inclusive",
		"prev", "prev-exclusive" };

	return names[d];
}

/*
 * Checks one answer. In UTC there is no DST, so every fire must come
 * with no flags.
 */
static void
expect_fire(const char *expr, enum dir d, int64_t at, int rc, int64_t got,
    unsigned flags, const char *want)
{
	char b1[40], b2[40], b3[40];

	if (want == NULL) {
		if (rc != CF_ENOENT)
			fail_msg("\"%s\" %s(%s): want CF_ENOENT, got rc %d "
			    "fire %s", expr, dir_name(d), show(at, b1, 40), rc,
			    rc == 0 ? show(got, b2, 40) : "-");
		return;
	}
	if (rc != 0)
		fail_msg("\"%s\" %s(%s): want %s, got rc %d", expr,
		    dir_name(d), show(at, b1, 40), want, rc);
	if (got != instant(want))
		fail_msg("\"%s\" %s(%s): want %s, got %s", expr, dir_name(d),
		    show(at, b1, 40), show(instant(want), b2, 40),
		    show(got, b3, 40));
	if (flags != 0)
		fail_msg("\"%s\" %s(%s): fire %s has flags 0x%x in UTC",
		    expr, dir_name(d), show(at, b1, 40), want, flags);
}

/* Runners, one per table shape. */

static void
run_vec(void **state)
{
	const struct vec *v = *state;
	cf_cron *c = cron_compile(v->expr);
	int64_t at = instant(v->at), got = INT64_MIN;
	unsigned flags = 0xffu;
	int rc;

	rc = cron_query(c, v->dir, at, &got, &flags);
	expect_fire(v->expr, v->dir, at, rc, got, flags, v->want);
}

/*
 * Walks the chain, then checks that next() and prev() mirror each other
 * at every fire found.
 */
static void
run_chain(void **state)
{
	const struct chain *ch = *state;
	cf_cron *c = cron_compile(ch->expr);
	int forward = ch->dir == NEXT || ch->dir == NEXT_INCL;
	int64_t at = instant(ch->at), fires[16], got, p;
	char b1[40], b2[40];
	unsigned flags;
	size_t i, n;
	int rc;

	for (n = 0; ch->want[n] != NULL; n++) {
		int64_t from = n == 0 ? at : fires[n - 1];
		enum dir d = n == 0 ? ch->dir : forward ? NEXT : PREV_EXCL;

		flags = 0xffu;
		rc = cron_query(c, d, from, &got, &flags);
		expect_fire(ch->expr, d, from, rc, got, flags, ch->want[n]);
		fires[n] = got;
	}

	for (i = 0; i < n; i++) {
		/* The fire instant is its own prev, and next skips past. */
		rc = cf_cron_prev(c, fires[i], &got, NULL);
		assert_int_equal(rc, 0);
		if (got != fires[i])
			fail_msg("\"%s\": prev(%s) = %s", ch->expr,
			    show(fires[i], b1, 40), show(got, b2, 40));
		rc = cf_cron_next(c, fires[i] - 1, &got, NULL);
		assert_int_equal(rc, 0);
		if (got != fires[i])
			fail_msg("\"%s\": next(%s - 1ms) = %s", ch->expr,
			    show(fires[i], b1, 40), show(got, b2, 40));
		if (i == 0)
			continue;
		/* Neighbours in time, whichever way the chain walked. */
		{
			int64_t lo = forward ? fires[i - 1] : fires[i];
			int64_t hi = forward ? fires[i] : fires[i - 1];

			rc = cf_cron_next(c, lo, &got, NULL);
			assert_int_equal(rc, 0);
			if (got != hi)
				fail_msg("\"%s\": next(%s) = %s", ch->expr,
				    show(lo, b1, 40), show(got, b2, 40));
			rc = cf_cron_prev(c, hi - 1, &got, NULL);
			assert_int_equal(rc, 0);
			if (got != lo)
				fail_msg("\"%s\": prev(%s - 1ms) = %s",
				    ch->expr, show(hi, b1, 40),
				    show(got, b2, 40));
		}
	}

	/*
	 * From the chain's own start: prev(t) <= t, and the fire after
	 * prev(t) is next(t).
	 */
	if (n > 0) {
		int64_t t = at, nx;

		rc = cf_cron_next(c, t, &nx, NULL);
		assert_int_equal(rc, 0);
		rc = cf_cron_prev(c, t, &p, NULL);
		if (rc == 0) {
			assert_true(p <= t);
			rc = cf_cron_next(c, p, &got, NULL);
			assert_int_equal(rc, 0);
			if (got != nx)
				fail_msg("\"%s\": next(prev(%s)) = %s, "
				    "next = %s", ch->expr, show(t, b1, 40),
				    show(got, b2, 40), ch->want[0]);
		} else {
			assert_int_equal(rc, CF_ENOENT);
		}
	}
}

/* The message must hold sub, compared without regard to case. */
static void
expect_sub(const char *expr, const char *err, const char *sub)
{
	size_t i, j, n = strlen(sub);

	for (i = 0; err[i] != '\0'; i++) {
		for (j = 0; j < n && err[i + j] != '\0'; j++) {
			int a = (unsigned char) err[i + j];
			int b = (unsigned char) sub[j];

			if (a >= 'A' && a <= 'Z')
				a += 'a' - 'A';
			if (b >= 'A' && b <= 'Z')
				b += 'a' - 'A';
			if (a != b)
				break;
		}
		if (j == n)
			return;
	}
	fail_msg("\"%s\": message \"%s\" lacks \"%s\"", expr, err, sub);
}

static void
run_bad(void **state)
{
	const struct bad *b = *state;
	static char marker;
	cf_cron *const untouched = (cf_cron *) (void *) &marker;
	cf_cron *c = untouched;
	char err[CF_CRON_ERRLEN], small[24];
	size_t i;
	int rc;

	memset(err, '#', sizeof(err));
	rc = cf_cron_parse(&c, b->expr, NULL, err, sizeof(err));
	if (rc == 0 && c != untouched)
		live_cron = c;
	if (rc != CF_EINVAL)
		fail_msg("\"%s\": want CF_EINVAL, got rc %d", b->expr, rc);
	assert_ptr_equal(c, untouched);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	for (i = 0; i < NELEM(b->sub); i++)
		if (b->sub[i] != NULL)
			expect_sub(b->expr, err, b->sub[i]);

	/* A NULL *out stays NULL. */
	c = NULL;
	rc = cf_cron_parse(&c, b->expr, NULL, err, sizeof(err));
	live_cron = c;
	assert_int_equal(rc, CF_EINVAL);
	assert_null(c);

	/* A short buffer is cut, terminated, and not overrun. */
	memset(small, '#', sizeof(small));
	rc = cf_cron_parse(&c, b->expr, NULL, small, 8);
	live_cron = c;
	assert_int_equal(rc, CF_EINVAL);
	assert_null(c);
	assert_non_null(memchr(small, '\0', 8));
	for (i = 8; i < sizeof(small); i++)
		assert_int_equal(small[i], '#');
}

static void
run_warn(void **state)
{
	const struct warn *w = *state;
	cf_cron *c = cron_compile(w->expr);
	char buf[256];
	int n;

	memset(buf, '#', sizeof(buf));
	n = cf_cron_warning(c, buf, sizeof(buf));
	if (w->warns) {
		if (n <= 0 || buf[0] == '\0')
			fail_msg("\"%s\": want a warning, got none", w->expr);
		assert_true((size_t) n < sizeof(buf));
		assert_int_equal((size_t) n, strlen(buf));
	} else {
		if (n != 0 || buf[0] != '\0')
			fail_msg("\"%s\": want no warning, got \"%s\"",
			    w->expr, buf);
	}
}

/* Single cases that do not fit a table. */

/* next and prev take a NULL flags pointer. */
static void
test_flags_pointer_optional(void **state)
{
	cf_cron *c = cron_compile("0 0 * * *");
	int64_t got = 0;

	(void) state;
	assert_int_equal(cf_cron_next(c, instant("2025-01-01T12:00:00Z"),
	    &got, NULL), 0);
	assert_int_equal(got, instant("2025-01-02T00:00:00Z"));
	assert_int_equal(cf_cron_prev(c, instant("2025-01-01T12:00:00Z"),
	    &got, NULL), 0);
	assert_int_equal(got, instant("2025-01-01T00:00:00Z"));
}

/*
 * @every ignores the zone: in Asia/Kathmandu (UTC+05:45) the 2-hour grid
 * is still 00:00Z, 02:00Z, ... and never DST-flagged.
 */
static void
test_every_is_zone_independent(void **state)
{
	cf_cron_opts opts = { "Asia/Kathmandu", CF_DST_GAP_SHIFT,
		CF_DST_REPEAT_AUTO };
	cf_cron *c = cron_compile_opts("@every 2h", &opts);
	int64_t got = 0;
	unsigned flags = 0xffu;

	(void) state;
	assert_int_equal(cf_cron_is_interval(c), 1);
	assert_int_equal(cf_cron_next(c, instant("2025-01-01T00:30:00Z"),
	    &got, &flags), 0);
	assert_int_equal(got, instant("2025-01-01T02:00:00Z"));
	assert_int_equal(flags, 0);
	assert_int_equal(cf_cron_prev(c, instant("2025-01-01T00:30:00Z"),
	    &got, &flags), 0);
	assert_int_equal(got, instant("2025-01-01T00:00:00Z"));
	assert_int_equal(flags, 0);
}

/* Only @every schedules are intervals; macros are plain cron. */
static void
test_is_interval(void **state)
{
	static const char *const plain[] = { "* * * * *", "@hourly",
		"@daily", "0 0 L * *" };
	cf_cron *c;
	size_t i;

	(void) state;
	for (i = 0; i < NELEM(plain); i++) {
		c = cron_compile(plain[i]);
		assert_int_equal(cf_cron_is_interval(c), 0);
	}
	c = cron_compile("@every 90s");
	assert_int_equal(cf_cron_is_interval(c), 1);
}

/* An explicit "UTC" zone behaves as no zone at all. */
static void
test_utc_opts_same_as_null(void **state)
{
	cf_cron_opts opts = { "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO };
	cf_cron *c = cron_compile_opts("0 0 LW * *", &opts);
	int64_t got = 0;

	(void) state;
	assert_int_equal(cf_cron_next(c, instant("2025-05-01T00:00:00Z"),
	    &got, NULL), 0);
	assert_int_equal(got, instant("2025-05-30T00:00:00Z"));
}

static void
add_vecs(struct CMUnitTest *t, size_t *n, const struct vec *v, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		t[(*n)++] = (struct CMUnitTest){ v[i].name, run_vec, NULL,
			teardown_cron, (void *) (uintptr_t) &v[i] };
}

static void
add_chains(struct CMUnitTest *t, size_t *n, const struct chain *v,
    size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		t[(*n)++] = (struct CMUnitTest){ v[i].name, run_chain, NULL,
			teardown_cron, (void *) (uintptr_t) &v[i] };
}

static void
add_bads(struct CMUnitTest *t, size_t *n, const struct bad *v, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		t[(*n)++] = (struct CMUnitTest){ v[i].name, run_bad, NULL,
			teardown_cron, (void *) (uintptr_t) &v[i] };
}

int
main(void)
{
	static const struct CMUnitTest singles[] = {
		cmocka_unit_test_teardown(test_flags_pointer_optional,
		    teardown_cron),
		cmocka_unit_test_teardown(test_every_is_zone_independent,
		    teardown_cron),
		cmocka_unit_test_teardown(test_is_interval,
		    teardown_cron),
		cmocka_unit_test_teardown(test_utc_opts_same_as_null,
		    teardown_cron),
	};
	static struct CMUnitTest tests[NELEM(syntax_vecs) +
	    NELEM(every_vecs) + NELEM(leap_vecs) + NELEM(chains) +
	    NELEM(bad_exprs) + NELEM(warns) + NELEM(cronos_vecs) +
	    NELEM(cronos_prev_vecs) + NELEM(cronos_bad) +
	    NELEM(croner_vecs) + NELEM(croner_chains) + NELEM(croner_bad) +
	    NELEM(cronparser_vecs) + NELEM(cronparser_chains) +
	    NELEM(cronparser_bad) + NELEM(robfig_vecs) + NELEM(robfig_bad) +
	    NELEM(singles)];
	size_t n = 0, i;

	add_vecs(tests, &n, syntax_vecs, NELEM(syntax_vecs));
	add_vecs(tests, &n, every_vecs, NELEM(every_vecs));
	add_vecs(tests, &n, leap_vecs, NELEM(leap_vecs));
	add_chains(tests, &n, chains, NELEM(chains));
	add_bads(tests, &n, bad_exprs, NELEM(bad_exprs));
	for (i = 0; i < NELEM(warns); i++)
		tests[n++] = (struct CMUnitTest){ warns[i].name, run_warn,
			NULL, teardown_cron, (void *) (uintptr_t) &warns[i] };
	add_vecs(tests, &n, cronos_vecs, NELEM(cronos_vecs));
	add_vecs(tests, &n, cronos_prev_vecs, NELEM(cronos_prev_vecs));
	add_bads(tests, &n, cronos_bad, NELEM(cronos_bad));
	add_vecs(tests, &n, croner_vecs, NELEM(croner_vecs));
	add_chains(tests, &n, croner_chains, NELEM(croner_chains));
	add_bads(tests, &n, croner_bad, NELEM(croner_bad));
	add_vecs(tests, &n, cronparser_vecs, NELEM(cronparser_vecs));
	add_chains(tests, &n, cronparser_chains, NELEM(cronparser_chains));
	add_bads(tests, &n, cronparser_bad, NELEM(cronparser_bad));
	add_vecs(tests, &n, robfig_vecs, NELEM(robfig_vecs));
	add_bads(tests, &n, robfig_bad, NELEM(robfig_bad));
	for (i = 0; i < NELEM(singles); i++)
		tests[n++] = singles[i];

	return _cmocka_run_group_tests("unit.cron.syntax", tests, n, NULL,
	    NULL);
}
